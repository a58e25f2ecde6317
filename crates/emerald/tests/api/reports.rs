//! Reports (spec §16 [I]): `GET /api/reports/folders.csv` (GAP-7), the folder list's filters
//! as a CSV report of every matching folder, streamed in keyset-paged chunks.

use std::collections::HashSet;

use emerald::domain::model::media::{Folder, FolderStatus};
use emerald::domain::model::metadata::MetaData;
use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::*;

/// Folders per chunk of the streamed report (`api::reports::REPORT_CHUNK`).
const CHUNK: usize = emerald::api::reports::REPORT_CHUNK as usize;

/// `n` folders of `user` straight into the store (uploads would take minutes): created in
/// groups of 7 sharing one `time_created` (ties the keyset paging breaks by `folder_id`, also
/// across chunk boundaries); `time_updated` takes 101 values; every fifth FINISHED/DECLINED.
async fn seed(app: &TestApp, company: Uuid, user: Uuid, n: usize, t0: f64) {
    for i in 0..n {
        let declined = i % 5 == 0;
        let f = Folder {
            folder_id: Uuid::new_v4(),
            company_id: Some(company),
            user_id: user,
            resolution_status: if declined { FolderStatus::Finished } else { FolderStatus::Initial },
            system_resolution: declined.then(|| "DECLINED".to_owned()),
            resolution_comment: None,
            is_archive: false,
            meta_data: MetaData::from_stored(json!({"iin": format!("{}", i % 3), "n": i})),
            technical_meta_data: MetaData::default(),
            time_created: t0 + (i / 7) as f64,
            time_updated: t0 + ((i * 13) % 101) as f64,
        };
        app.domain.store.insert_folder(&f, &[], &[]).await.unwrap();
    }
}

/// GET `path` as text: (status, content-type, whether a content-length was sent, body).
async fn get_text(app: &TestApp, path: &str, token: &str) -> (u16, String, bool, String) {
    let res = app.client.get(app.url(path)).header("X-Forensic-Access-Token", token).send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let sized = res.headers().contains_key("content-length");
    (status, ctype, sized, res.text().await.unwrap())
}

/// The folder ids of a CSV report, in order (first column of every data line).
fn csv_ids(text: &str) -> Vec<String> {
    text.split("\r\n").skip(1).filter(|l| !l.is_empty()).map(|l| l.split(',').next().unwrap().to_owned()).collect()
}

/// The folder ids of `GET /api/folders/?limit=-1&{query}`, in order.
async fn list_ids(app: &TestApp, query: &str, token: &str) -> Vec<String> {
    let r = app.get(&format!("/api/folders/?limit=-1&total_omit=true&{query}"), token).await;
    r.assert_status(200);
    r.body["items"].as_array().unwrap().iter().map(|f| f["folder_id"].as_str().unwrap().to_owned()).collect()
}

both_backends! {
    async fn folder_report_streams_every_matching_folder_in_the_lists_order(app) {
        let a = app.company("Report A").await;
        let b = app.company("Report B").await;
        let (ua, ea, ta) = app.user(Some(a), "CLIENT").await;
        let (ub, _, tb) = app.user(Some(b), "CLIENT").await;
        let t0 = 1_700_000_000.0;
        let n = 2 * CHUNK + 203;
        seed(&app, a, ua, n, t0).await;
        seed(&app, b, ub, 3, t0).await;

        // Everything A sees, newest first: streamed (no content-length), every folder once, in
        // the list's order (ties on time_created broken the same way across chunk boundaries).
        let (status, ctype, sized, text) = get_text(&app, "/api/reports/folders.csv", &ta).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(ctype, "text/csv; charset=utf-8");
        assert!(!sized, "the report is streamed, not sized in advance");
        assert!(text.starts_with("folder_id,time_created,time_updated,user_id,company_id,resolution_status,system_resolution,media_count\r\n"), "{}", &text[..200]);
        let ids = csv_ids(&text);
        assert_eq!(ids.len(), n);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n, "no folder twice");
        assert_eq!(ids, list_ids(&app, "", &ta).await);
        // The same columns and cells as the list's CSV (one page of the same folders).
        let (_, _, _, page) = get_text(&app, "/api/folders/?format=csv&limit=-1&with_media=true&meta_keys=iin,n", &ta).await;
        let (_, _, _, report) = get_text(&app, "/api/reports/folders.csv?meta_keys=iin,n&offset=7&limit=3", &ta).await;
        assert_eq!(report, page, "offset and limit are ignored; same lines as the list's CSV");

        // The console's export streams the same way (its own columns), filters applied.
        let (console, _) = crate::console::console_login(&app, &ea, PASSWORD).await;
        let (status, headers, text) = console.get(&app, "/console/export.csv").await;
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(text.starts_with("folder_id,time_created,company_id,user_id,"), "{}", &text[..100]);
        assert_eq!(csv_ids(&text), ids, "every order, newest first");
        // Gzip-compressed to a browser that accepts it, complete: the gzip trailer's ISIZE is
        // the plain export's length (a stream polled past its end once killed the response).
        let res = crate::console::browser()
            .get(app.url("/console/export.csv"))
            .header("Cookie", console.cookie())
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
        let zipped = res.bytes().await.expect("the whole compressed export");
        assert_eq!(&zipped[..2], &[0x1f, 0x8b]);
        let isize = u32::from_le_bytes(zipped[zipped.len() - 4..].try_into().unwrap());
        assert_eq!(isize as usize, text.len(), "{} gzipped bytes", zipped.len());
        let (_, _, text) = console.get(&app, "/console/export.csv?resolution_status=DECLINED&meta_data=iin%3D%3D1").await;
        assert_eq!(csv_ids(&text), list_ids(&app, "resolution_status=DECLINED&meta_data=iin==1", &ta).await);

        // Other orders, mixed directions (ties on time_updated), and the list's filters.
        for query in [
            "sorting=time_created{asc}",
            "sorting=time_updated{asc},time_created{desc}",
            "sorting=time_updated",
            "meta_data=iin==1&resolution_status=DECLINED",
            &format!("time_created.min={}&time_created.max={}&sorting=time_updated{{asc}}", t0 + 40.0, t0 + 120.0),
            "resolution_status=INITIAL&meta_data=n>=700",
        ] {
            let (status, _, _, text) = get_text(&app, &format!("/api/reports/folders.csv?{query}"), &ta).await;
            assert_eq!(status, 200, "{query}: {text}");
            let ids = csv_ids(&text);
            assert!(!ids.is_empty(), "{query}");
            assert_eq!(ids, list_ids(&app, query, &ta).await, "{query}");
        }
        let (_, _, _, text) = get_text(&app, "/api/reports/folders.csv?meta_data=iin==none", &ta).await;
        assert_eq!(text, "folder_id,time_created,time_updated,user_id,company_id,resolution_status,system_resolution,media_count\r\n");

        // Tenancy: B sees its 3; the ADMIN sees both companies and filters on one.
        assert_eq!(csv_ids(&get_text(&app, "/api/reports/folders.csv", &tb).await.3).len(), 3);
        let admin = &app.admin_token;
        assert_eq!(csv_ids(&get_text(&app, "/api/reports/folders.csv", admin).await.3).len(), n + 3);
        let only_b = csv_ids(&get_text(&app, &format!("/api/reports/folders.csv?company_id={b}"), admin).await.3);
        assert_eq!(only_b, list_ids(&app, &format!("company_id={b}"), &tb).await);

        // Bad input: the error envelope before anything is streamed.
        for (query, code) in [("time_created.min=soon", 4), ("sorting=folder_id", 4), ("resolution_status=BOGUS", 4)] {
            app.get(&format!("/api/reports/folders.csv?{query}"), &ta).await.assert_error(400, code);
        }
        let too_many: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
        app.get(&format!("/api/reports/folders.csv?meta_keys={}", too_many.join(",")), &ta).await.assert_error(400, 4);
        let r = app.client.get(app.url("/api/reports/folders.csv")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }

    async fn folder_report_cells_cannot_be_formulas(app) {
        let c = app.company("Report C").await;
        let (u, _, token) = app.user(Some(c), "CLIENT").await;
        let f = Folder {
            folder_id: Uuid::new_v4(),
            company_id: Some(c),
            user_id: u,
            resolution_status: FolderStatus::Initial,
            system_resolution: None,
            resolution_comment: None,
            is_archive: false,
            meta_data: MetaData::from_stored(json!({"iin": "=HYPERLINK(\"http://evil\",\"x\")", "tx": "@SUM(A1)", "n": "-2+3",
                "plain": "a-b", "nested": {"k": [1, "+x"]}})),
            technical_meta_data: MetaData::default(),
            time_created: 1_700_000_000.0,
            time_updated: 1_700_000_000.0,
        };
        app.domain.store.insert_folder(&f, &[], &[]).await.unwrap();
        let (status, _, _, text) =
            get_text(&app, "/api/reports/folders.csv?meta_keys=iin,tx,n,plain,nested.k.1,nested", &token).await;
        assert_eq!(status, 200);
        let row = text.split("\r\n").nth(1).unwrap();
        assert!(row.starts_with(&format!("{},", f.folder_id)), "{row}");
        assert!(row.ends_with(",INITIAL,,0,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",'@SUM(A1),'-2+3,a-b,'+x,\"{\"\"k\"\":[1,\"\"+x\"\"]}\""), "{row}");
    }
}
