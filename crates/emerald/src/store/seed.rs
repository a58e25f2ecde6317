//! Bulk loading of synthetic folders for benchmarks (`emerald bench-seed`): multi-row inserts
//! in large transactions, straight into `folders` and `meta_index`, the same rows an upload
//! of an empty folder with metadata writes.

use uuid::Uuid;

use super::sql::SqlStore;
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
    pub step: f64,
}

/// Insert the planned folders; calls `progress` after every batch with the number done.
pub async fn seed_folders(store: &SqlStore, plan: SeedPlan, mut progress: impl FnMut(u64)) -> Result<()> {
    let SeedPlan { company, user, start, n, t0, step } = plan;
    let mut done = 0u64;
    while done < n {
        let count = (n - done).min(BATCH as u64);
        let mut folders = String::from(
            "INSERT INTO folders (folder_id, company_id, user_id, resolution_status, is_archive, meta_data, technical_meta_data, time_created, time_updated) VALUES ",
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
            folders.push_str(&format!(
                "(${}, ${}, ${}, 'INITIAL', false, ${}, '{{}}', ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 5
            ));
            rows.push((id, t, meta));
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
            let mut tx = pool.begin().await?;
            let mut q = sqlx::query(&folders);
            for (id, t, meta) in &rows {
                q = q.bind(*id).bind(company).bind(user).bind(sqlx::types::Json(meta.clone())).bind(*t);
            }
            q.execute(&mut *tx).await?;
            let mut q = sqlx::query(&index);
            for (id, _, meta) in &rows {
                for key in ["transaction_id", "iin", "channel"] {
                    q = q.bind(*id).bind(key).bind(meta[key].as_str().unwrap_or_default().to_owned());
                }
            }
            q.execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, crate::domain::Error>(())
        })?;
        done += count;
        progress(done);
    }
    Ok(())
}
