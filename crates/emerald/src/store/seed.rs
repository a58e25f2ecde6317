//! Bulk loading of synthetic folders for benchmarks (`emerald bench-seed`): multi-row inserts
//! in large transactions, straight into `folders` and `meta_index`, the same rows an upload
//! of an empty folder with metadata writes — and, with [`SeedShape::analyses`], finished
//! analyses beside them with a production-like mix of types and outcomes (the console's
//! orders-list benchmark filters on both).

use uuid::Uuid;

use super::sql::{BeginWrite, SqlStore};
use crate::domain::Result;

/// Folders per transaction / multi-row INSERT.
const BATCH: usize = 2000;

/// The metadata of synthetic folder `i`: a unique `transaction_id`, a person id `iin` shared by
/// about three folders, and a constant.
pub fn seed_meta(i: u64) -> serde_json::Value {
    serde_json::json!({ "transaction_id": format!("tx-{i:09}"), "iin": format!("{:012}", i / 3), "channel": "web" })
}

/// What to load: folders `start .. start + n` of `user` (in `company`), created `step`
/// seconds apart from `t0`.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub company: Option<Uuid>,
    pub user: Uuid,
    pub start: u64,
    pub n: u64,
    pub t0: f64,
    pub shape: SeedShape,
}

/// How the synthetic folders look beyond their metadata.
#[derive(Debug, Clone, Copy)]
pub struct SeedShape {
    /// Seconds between two folders' creation times.
    pub step: f64,
    /// Give every folder finished analyses (see [`folder_outcome`]) and its folder result.
    pub analyses: bool,
}

/// SplitMix64: a well-mixed 64-bit hash of the folder index, so the synthetic mix has no
/// periodic pattern a filter could exploit.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The synthetic outcome of folder `i`: its `system_resolution` and the analysis types it
/// holds. QUALITY always; BIOMETRY in 60 %, COLLECTION in 20 %, DOCUMENTS in 10 % of
/// folders. Results: 88 % SUCCESS, 8 % DECLINED, 1 % OPERATOR_REQUIRED, 3 % FAILED — roughly
/// what a KYC service sees, and what makes `OPERATOR_REQUIRED` a rare filter value.
pub fn folder_outcome(i: u64) -> (&'static str, Vec<&'static str>) {
    let h = mix(i);
    let r = h % 100;
    let result = match r {
        0 => "OPERATOR_REQUIRED",
        1..=8 => "DECLINED",
        9..=11 => "FAILED",
        _ => "SUCCESS",
    };
    let mut types = vec!["QUALITY"];
    if (h >> 8) % 10 < 6 {
        types.push("BIOMETRY");
    }
    if (h >> 16) % 10 < 2 {
        types.push("COLLECTION");
    }
    if (h >> 24) % 10 < 1 {
        types.push("DOCUMENTS");
    }
    (result, types)
}

/// Analyses rows per multi-row INSERT (7 parameters each, under SQLite's variable limit).
const ANALYSES_BATCH: usize = 2000;

/// Insert the planned folders; calls `progress` after every batch with the number done.
pub async fn seed_folders(store: &SqlStore, plan: SeedPlan, mut progress: impl FnMut(u64)) -> Result<()> {
    let SeedPlan { company, user, start, n, t0, shape: SeedShape { step, analyses } } = plan;
    let mut done = 0u64;
    while done < n {
        let count = (n - done).min(BATCH as u64);
        let mut folders = String::from(
            "INSERT INTO folders (folder_id, company_id, user_id, resolution_status, system_resolution, is_archive, meta_data, technical_meta_data, time_created, time_updated) VALUES ",
        );
        let mut index =
            String::from("INSERT INTO meta_index (object_kind, object_id, path, value_text, value_num) VALUES ");
        let mut rows = Vec::with_capacity(count as usize);
        for k in 0..count {
            let i = start + done + k;
            let id = Uuid::new_v4();
            let t = t0 + i as f64 * step;
            let meta = seed_meta(i);
            let b = (k as usize) * 5;
            if k > 0 {
                folders.push_str(", ");
            }
            let (status, result) = match analyses {
                true => ("'FINISHED'", format!("'{}'", folder_outcome(i).0)),
                false => ("'INITIAL'", "NULL".to_owned()),
            };
            folders.push_str(&format!(
                "(${}, ${}, ${}, {status}, {result}, false, ${}, '{{}}', ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 5
            ));
            rows.push((i, id, t, meta));
        }
        // meta_index: three string leaves per folder, 3 parameters each (kind is a literal).
        let mut first = true;
        let mut p = 0usize;
        for _ in &rows {
            for _ in 0..3 {
                if !first {
                    index.push_str(", ");
                }
                first = false;
                index.push_str(&format!("('folder', ${}, ${}, ${}, NULL)", p + 1, p + 2, p + 3));
                p += 3;
            }
        }
        on_db!(store.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query(&folders);
            for (_, id, t, meta) in &rows {
                q = q.bind(*id).bind(company).bind(user).bind(sqlx::types::Json(meta.clone())).bind(*t);
            }
            q.execute(&mut *tx).await?;
            let mut q = sqlx::query(&index);
            for (_, id, _, meta) in &rows {
                for key in ["transaction_id", "iin", "channel"] {
                    q = q.bind(*id).bind(key).bind(meta[key].as_str().unwrap_or_default().to_owned());
                }
            }
            q.execute(&mut *tx).await?;
            if analyses {
                let all: Vec<_> = rows
                    .iter()
                    .flat_map(|(i, id, t, _)| {
                        let (result, types) = folder_outcome(*i);
                        types.into_iter().enumerate().map(move |(k, kind)| {
                            // The first analysis carries the folder's result; the others passed.
                            (*id, *t, kind, if k == 0 { result } else { "SUCCESS" })
                        })
                    })
                    .collect();
                for chunk in all.chunks(ANALYSES_BATCH) {
                    let sql = analyses_insert(chunk);
                    let mut q = sqlx::query(&sql);
                    for (folder, _, kind, result) in chunk {
                        // The analysis' own results_data (what the score histograms read) and
                        // the same per media, as the engine writes them.
                        let results = synthetic_result(kind, result);
                        let media = serde_json::json!([{
                            "source_media_id": Uuid::new_v4(),
                            "results_data": results,
                            "output_images": [],
                        }]);
                        q = q
                            .bind(Uuid::new_v4())
                            .bind(*folder)
                            .bind(company)
                            .bind(user)
                            .bind(Uuid::new_v4())
                            .bind(sqlx::types::Json(media))
                            .bind(sqlx::types::Json(results));
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok::<_, crate::domain::Error>(())
        })?;
        done += count;
        progress(done);
    }
    Ok(())
}

/// The multi-row INSERT of `rows` finished analyses: ids, owner and results bound (7 each),
/// the kind, outcome and times as literals (they come from [`folder_outcome`], not input).
fn analyses_insert(rows: &[(Uuid, f64, &str, &str)]) -> String {
    let mut sql = String::from(
        "INSERT INTO analyses (analyse_id, folder_id, company_id, user_id, group_id, results_media, type, state, \
         results_data, resolution_status, threshold, time_created, time_updated, time_finished) VALUES ",
    );
    for (k, (_, t, kind, result)) in rows.iter().enumerate() {
        let b = k * 7;
        let state = if *result == "FAILED" { "FAILED" } else { "FINISHED" };
        if k > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, '{kind}', '{state}', ${}, '{result}', 0.5, {t}, {}, {})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            t + 2.0,
            t + 2.0
        ));
    }
    sql
}

/// A per-media result of the shape the engine writes, with a score on the right side of
/// the threshold for `result`.
fn synthetic_result(kind: &str, result: &str) -> serde_json::Value {
    let passed = result == "SUCCESS";
    match kind {
        "QUALITY" => serde_json::json!({ "confidence_spoofing": if passed { 0.04 } else { 0.93 } }),
        "DOCUMENTS" => serde_json::json!({ "mrz_valid": passed }),
        _ => {
            serde_json::json!({ "min_confidence": if passed { 0.97 } else { 0.31 }, "max_confidence": if passed { 0.97 } else { 0.31 } })
        }
    }
}
