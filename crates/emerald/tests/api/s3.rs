//! The S3 blob store (issue #3, spec §6): uploads, downloads, thumbnails made on request,
//! refused uploads and deletes against an S3-compatible server, with nothing written to the
//! local media directory. Runs when `EMERALD_TEST_S3_ENDPOINT` names such a server
//! (`scripts/test.sh` starts a moto server from PyPI when it can); otherwise it says it is
//! skipped. The bucket is `EMERALD_TEST_S3_BUCKET` if set (it must exist), else a fresh one
//! made with an unsigned `PUT` (which moto accepts).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::fixtures::*;
use crate::helpers::*;

fn s3_options(endpoint: &str) -> BTreeMap<String, String> {
    let mut o = BTreeMap::new();
    o.insert("endpoint".into(), endpoint.to_owned());
    o.insert("region".into(), std::env::var("EMERALD_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()));
    o.insert(
        "access_key_id".into(),
        std::env::var("EMERALD_TEST_S3_ACCESS_KEY_ID").unwrap_or_else(|_| "testing".into()),
    );
    o.insert(
        "secret_access_key".into(),
        std::env::var("EMERALD_TEST_S3_SECRET_ACCESS_KEY").unwrap_or_else(|_| "testing".into()),
    );
    o.insert("allow_http".into(), "true".into());
    o
}

/// Keys under `prefix` in the bucket, read straight from S3.
async fn objects(store: &dyn ObjectStore, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = store
        .list(Some(&ObjectPath::from(prefix)))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("listing the bucket");
    keys.sort();
    keys
}

#[tokio::test]
async fn s3_blob_store_holds_uploads_thumbnails_and_nothing_refused_or_deleted() {
    let Ok(endpoint) = std::env::var("EMERALD_TEST_S3_ENDPOINT") else {
        eprintln!("SKIPPED: no S3-compatible server (set EMERALD_TEST_S3_ENDPOINT, or let scripts/test.sh start moto)");
        return;
    };
    let bucket = match std::env::var("EMERALD_TEST_S3_BUCKET") {
        Ok(b) => b,
        Err(_) => {
            let b = format!("emerald-test-{}", Uuid::new_v4().simple());
            let r = reqwest::Client::new().put(format!("{endpoint}/{b}")).send().await.expect("creating the bucket");
            assert!(r.status().is_success(), "creating bucket {b}: {}", r.status());
            b
        }
    };
    let prefix = format!("run-{}", Uuid::new_v4().simple());
    let options = s3_options(&endpoint);
    let mut direct = AmazonS3Builder::new().with_bucket_name(&bucket);
    for (k, v) in &options {
        direct = direct.with_config(k.parse::<AmazonS3ConfigKey>().unwrap(), v);
    }
    let direct = direct.build().unwrap();

    let url = format!("s3://{bucket}/{prefix}");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.blob_url = Some(url);
        c.blob_options = options;
    })
    .await;
    let token = app.admin_token.clone();

    // Upload: the originals go to the bucket under the prefix, nothing to the local disk.
    let photo = jpeg(640, 480);
    let payload = json!({"media:tags": {"p": ["photo_selfie"]}}).to_string();
    let r = app
        .upload(
            "/api/folders/",
            &token,
            vec![Part::File("p", "p.jpg", photo.clone()), Part::File("v", "v.mp4", mp4()), Part::Payload(payload)],
        )
        .await;
    r.assert_status(201);
    let folder_id = r.body["folder_id"].as_str().unwrap().to_owned();
    let media = r.body["media"].as_array().unwrap().clone();
    let stored = objects(&direct, &prefix).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().all(|k| k.starts_with(&format!("{prefix}/{folder_id}/"))), "{stored:?}");
    assert!(app.blob_files().is_empty(), "{:?}", app.blob_files());

    // Read back through the authenticated static route.
    let photo_media = media.iter().find(|m| m["media_type"] == "IMAGE_FOLDER").unwrap();
    let (st, ct, bytes) = app.get_bytes(photo_media["original_url"].as_str().unwrap(), Some(&token)).await;
    assert_eq!((st.as_u16(), ct.as_deref()), (200, Some("image/jpeg")));
    assert_eq!(bytes, photo);
    // The thumbnail is made on the first request and kept in the bucket.
    let (st, _, thumb) = app.get_bytes(photo_media["thumb_url"].as_str().unwrap(), Some(&token)).await;
    assert_eq!(st.as_u16(), 200);
    let t = image::load_from_memory(&thumb).unwrap();
    assert_eq!((t.width(), t.height()), (320, 240));
    assert_eq!(objects(&direct, &prefix).await.len(), 3);
    assert_eq!(app.get_bytes(photo_media["thumb_url"].as_str().unwrap(), Some(&token)).await.2, thumb);

    // A refused upload (one corrupt file among good ones) leaves nothing in the bucket.
    let r = app
        .upload(
            "/api/folders/",
            &token,
            vec![Part::File("a", "a.jpg", jpeg(64, 64)), Part::File("b", "broken.jpg", truncated_jpeg())],
        )
        .await;
    r.assert_error(400, 4);
    assert_eq!(objects(&direct, &prefix).await.len(), 3);

    // Deleting the folder deletes its objects, thumbnail included.
    app.delete(&format!("/api/folders/{folder_id}"), &token).await.assert_status(204);
    assert_eq!(objects(&direct, &prefix).await, Vec::<String>::new());
}
