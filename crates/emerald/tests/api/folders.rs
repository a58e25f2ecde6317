//! Spec §6: folders — upload (all or nothing), reading, lists, tenancy, deletion, metadata,
//! reports.

use std::io::{Read, Write};

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::fixtures::*;
use crate::helpers::*;
use crate::meta::walk_meta_contract;

const VOLATILE: &[&str] = &[
    "folder_id",
    "media_id",
    "user_id",
    "company_id",
    "time_created",
    "time_updated",
    "sha256",
    "original_url",
    "video_url",
    "thumb_url",
];

/// A CLIENT in a fresh company: (company, user_id, token).
async fn client(app: &TestApp) -> (Uuid, Uuid, String) {
    let c = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
    let (u, _, t) = app.user(Some(c), "CLIENT").await;
    (c, u, t)
}

/// A folder with one JPEG, created by `token`, with `meta`.
async fn folder_with_photo(app: &TestApp, token: &str, meta: Value) -> Value {
    let payload = json!({"folder:meta_data": meta, "media:tags": {"photo1": ["photo_selfie"]}}).to_string();
    app.upload("/api/folders/", token, vec![Part::File("photo1", "selfie.jpg", jpeg(64, 48)), Part::Payload(payload)])
        .await
        .assert_status(201)
        .body
        .clone()
}

both_backends! {
    async fn a_folder_deleted_while_it_and_its_file_are_edited_gives_no_server_error(app) {
        // A folder's deletion sent with edits of the folder and of its file, thirty times: each
        // answers its success or 404 — on PostgreSQL a deletion that locked the index rows before
        // the folder's row deadlocked with the edits (500); every transaction on a folder now
        // locks its row first.
        let (c, _, token) = client(&app).await;
        let (_, _, admin) = app.user(Some(c), "CLIENT ADMIN").await;
        let (_, _, operator) = app.user(Some(c), "CLIENT OPERATOR").await;
        for round in 0..30 {
            let f = folder_with_photo(&app, &token, json!({"round": round})).await;
            let id = f["folder_id"].as_str().unwrap().to_owned();
            let media = f["media"][0]["media_id"].as_str().unwrap().to_owned();
            let (folder_url, media_url) = (format!("/api/folders/{id}"), format!("/api/media/{media}"));
            let (folder_meta_url, media_meta_url) = (format!("{folder_url}/meta_data"), format!("{media_url}/meta_data"));
            let (folder_meta, media_meta, comment, media_gone, folder_gone) = tokio::join!(
                app.patch(&folder_meta_url, &token, json!({"k": round})),
                app.patch(&media_meta_url, &token, json!({"k": round})),
                app.patch(&folder_url, &operator, json!({"resolution_comment": "c"})),
                app.delete(&media_url, &admin),
                app.delete(&folder_url, &admin),
            );
            for r in [folder_meta, media_meta, comment, media_gone, folder_gone] {
                assert!(matches!(r.status.as_u16(), 200 | 204 | 404), "round {round}: {} {}", r.status, r.text);
            }
            app.get(&folder_url, &token).await.assert_error(404, 10);
        }
    }

    async fn create_folder_with_media_and_payload(app) {
        let (company, user, token) = client(&app).await;
        // Payload after the files, pretty-printed, with no filename or content type.
        let payload = serde_json::to_string_pretty(&json!({
            "folder:meta_data": {"transaction_id": "abc-123", "nested": {"k": [1, 2]}},
            "media:tags": {"video1": ["video_selfie", "video_selfie_blank", "orientation_portrait"], "photo1": ["photo_id", "photo_id_front"]},
            "media:meta_data": {"video1": {"source": "mobile"}}
        })).unwrap();
        let r = app.upload("/api/folders/", &token, vec![
            Part::File("video1", "video1.mp4", mp4()),
            Part::File("photo1", "front.jpg", jpeg(640, 480)),
            Part::Payload(payload),
        ]).await;
        r.assert_status(201);
        let mut body = r.body.clone();
        let folder_id = r.id("folder_id");
        assert_eq!(body["company_id"], json!(company.to_string()));
        assert_eq!(body["user_id"], json!(user.to_string()));
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["folder_id", "company_id", "user_id", "time_created", "time_updated", "resolution_status", "system_resolution",
            "resolution_comment", "is_archive", "meta_data", "technical_meta_data", "media"]);
        let media = body["media"].as_array().unwrap().clone();
        let photo_id = media[1]["media_id"].as_str().unwrap().to_owned();
        let base = format!("http://{}/static/{folder_id}/", app.addr);
        assert_eq!(media[0]["original_url"], json!(format!("{base}{}.mp4", media[0]["media_id"].as_str().unwrap())));
        assert_eq!(media[0]["video_url"], media[0]["original_url"]);
        assert_eq!(media[1]["original_url"], json!(format!("{base}{photo_id}.jpg")));
        assert_eq!(media[1]["thumb_url"], json!(format!("{base}{photo_id}_thumb.jpg")));
        redact(&mut body, VOLATILE);
        assert_eq!(body, json!({
            "folder_id": "<redacted>", "company_id": "<redacted>", "user_id": "<redacted>",
            "time_created": "<redacted>", "time_updated": "<redacted>",
            "resolution_status": "INITIAL", "system_resolution": null, "resolution_comment": null, "is_archive": false,
            "meta_data": {"transaction_id": "abc-123", "nested": {"k": [1, 2]}}, "technical_meta_data": {},
            "media": [
                {"media_id": "<redacted>", "folder_id": "<redacted>", "media_type": "VIDEO_FOLDER", "original_name": "video1.mp4",
                 "original_url": "<redacted>", "video_url": "<redacted>", "preview_url": null, "thumb_url": null,
                 "tags": ["video_selfie", "video_selfie_blank", "orientation_portrait"],
                 "time_created": "<redacted>", "time_updated": "<redacted>", "meta_data": {"source": "mobile"},
                 "technical_meta_data": {"size": 1032, "sha256": "<redacted>"}},
                {"media_id": "<redacted>", "folder_id": "<redacted>", "media_type": "IMAGE_FOLDER", "original_name": "front.jpg",
                 "original_url": "<redacted>", "video_url": null, "preview_url": null, "thumb_url": "<redacted>",
                 "tags": ["photo_id", "photo_id_front"],
                 "time_created": "<redacted>", "time_updated": "<redacted>", "meta_data": {},
                 "technical_meta_data": {"width": 640, "height": 480, "size": media[1]["technical_meta_data"]["size"], "sha256": "<redacted>"}}
            ]
        }));
        // The single GET shows the same folder.
        let got = app.get(&format!("/api/folders/{folder_id}/"), &token).await;
        got.assert_status(200);
        assert_eq!(got.body, r.body);
        // Files come back through the authenticated static route.
        let (st, ct, bytes) = app.get_bytes(media[1]["original_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!((st.as_u16(), ct.as_deref()), (200, Some("image/jpeg")));
        assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 640);
        // The thumbnail is made on its first request, then kept and served as stored.
        assert_eq!(app.blob_files().len(), 2);
        let (st, _, thumb) = app.get_bytes(media[1]["thumb_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!(st.as_u16(), 200);
        let t = image::load_from_memory_with_format(&thumb, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((t.width(), t.height()), (320, 240));
        assert_eq!(app.blob_files().len(), 3);
        let (st, _, again) = app.get_bytes(media[1]["thumb_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!((st.as_u16(), again), (200, thumb));
        let (st, _, _) = app.get_bytes(media[1]["original_url"].as_str().unwrap(), None).await;
        assert_eq!(st.as_u16(), 401);
        let (st, _, bytes) = app.get_bytes(media[0]["original_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!((st.as_u16(), bytes), (200, mp4()));
        assert_eq!(app.blob_files().len(), 3);
    }

    async fn empty_creates_and_files_without_payload(app) {
        let (_, _, token) = client(&app).await;
        // Bare POST, form-urlencoded POST, and an empty JSON body: empty folders.
        for (body, ct) in [(None, None), (Some(json!({})), Some("application/x-www-form-urlencoded")), (Some(json!({})), Some("application/json"))] {
            let r = app.send(Method::POST, "/api/folders", Some(&token), body.as_ref(), ct).await;
            r.assert_status(201);
            assert_eq!(r.body["media"], json!([]));
            assert_eq!(r.body["meta_data"], json!({}));
        }
        // Files under any names, no payload: untagged media.
        let r = app.upload("/api/folders", &token, vec![Part::File("media_key1", "a.png", png(10, 10)), Part::File("video_0", "b.jpg", jpeg(8, 8))]).await;
        r.assert_status(201);
        assert_eq!(r.body["media"].as_array().unwrap().iter().map(|m| (m["media_type"].clone(), m["tags"].clone(), m["original_name"].clone())).collect::<Vec<_>>(),
            vec![(json!("IMAGE_FOLDER"), json!([]), json!("a.png")), (json!("IMAGE_FOLDER"), json!([]), json!("b.jpg"))]);
        // The payload may come first.
        let r = app.upload("/api/folders", &token, vec![Part::Payload(r#"{"media:tags": {"p": ["photo_selfie"]}}"#.into()), Part::File("p", "p.jpg", jpeg(8, 8))]).await;
        assert_eq!(r.assert_status(201).body["media"][0]["tags"], json!(["photo_selfie"]));
        assert_eq!(app.get("/api/folders/", &token).await.body["total_count"], json!(5));
    }

    async fn a_bad_file_stores_nothing(app) {
        let (_, _, token) = client(&app).await;
        let r = app.upload("/api/folders", &token, vec![
            Part::File("photo1", "a.jpg", jpeg(16, 16)),
            Part::File("video1", "v.mp4", mp4()),
            Part::File("photo2", "broken.jpg", truncated_jpeg()),
        ]).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("broken.jpg"), "{}", r.text);
        assert_eq!(r.body["error_details"]["key_path"], json!("photo2"));
        for (name, bytes, needle) in [
            ("notes.txt", b"hello, not media".to_vec(), "unsupported"),
            ("empty.jpg", Vec::new(), "empty"),
            ("frames.zip", zip(&[("a.png", png(4, 4)), ("readme.txt", b"text".to_vec())]), "readme.txt"),
            ("broken.zip", b"PK\x03\x04garbage".to_vec(), "ZIP"),
        ] {
            let r = app.upload("/api/folders", &token, vec![Part::File("photo1", "ok.jpg", jpeg(8, 8)), Part::File("f", name, bytes)]).await;
            r.assert_error(400, 4);
            assert!(r.body["error_message"].as_str().unwrap().contains(needle), "{name}: {}", r.text);
        }
        assert_eq!(app.get("/api/folders", &app.admin_token).await.body["total_count"], json!(0));
        assert_eq!(app.get("/api/media", &app.admin_token).await.body["total_count"], json!(0));
        assert!(app.blob_files().is_empty(), "{:?}", app.blob_files());
        assert_eq!(app.spool_files(), 0);
    }

    async fn a_large_photo_is_stored_byte_for_byte_and_checked_to_its_end(app) {
        use sha2::Digest;
        let (_, _, token) = client(&app).await;
        // A noisy photo of several MiB: the body arrives in many chunks and is spooled in
        // several batches, and the JPEG walk sees it piece by piece.
        let photo = noisy_jpeg(1800, 1500);
        assert!(photo.len() > 2 * 1024 * 1024 + 1000, "{}", photo.len());
        let r = app.upload("/api/folders", &token, vec![Part::File("photo1", "big.jpg", photo.clone())]).await;
        r.assert_status(201);
        let m = &r.body["media"][0];
        assert_eq!(m["media_type"], json!("IMAGE_FOLDER"));
        assert_eq!((m["technical_meta_data"]["width"].clone(), m["technical_meta_data"]["height"].clone()), (json!(1800), json!(1500)));
        assert_eq!(m["technical_meta_data"]["size"], json!(photo.len()));
        assert_eq!(m["technical_meta_data"]["sha256"], json!(hex::encode(sha2::Sha256::digest(&photo))));
        let (status, _, stored) = app.get_bytes(m["original_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!(status.as_u16(), 200);
        assert!(stored == photo, "the stored file differs from the upload ({} bytes against {})", stored.len(), photo.len());
        // The same through the page cache (direct I/O turned off).
        let buffered = app.sibling(|c| c.spool_direct_io = false).await;
        let r = buffered.upload("/api/folders", &token, vec![Part::File("photo1", "big.jpg", photo.clone())]).await;
        let (status, _, stored) = buffered.get_bytes(r.assert_status(201).body["media"][0]["original_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!(status.as_u16(), 200);
        assert!(stored == photo, "through the page cache: {} bytes stored against {}", stored.len(), photo.len());
        buffered.upload("/api/folders", &token, vec![Part::File("photo1", "a.jpg", jpeg(8, 8))]).await.assert_status(201);
        // Damage past the first batch is found: a stray marker deep in the scan, or a cut.
        let sos = photo.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
        assert!(sos < 1024 * 1024);
        let mut stray = photo.clone();
        let at = photo.len() - 100_000;
        stray[at] = 0xFF;
        stray[at + 1] = 0xD8;
        let mut cut = photo.clone();
        cut.truncate(photo.len() - 3);
        for (name, bytes, needle) in [("stray.jpg", stray, "second start-of-image"), ("cut.jpg", cut, "cut short")] {
            let r = app.upload("/api/folders", &token, vec![Part::File("photo1", name, bytes)]).await;
            r.assert_error(400, 4);
            let message = r.body["error_message"].as_str().unwrap();
            assert!(message.contains(name) && message.contains(needle), "{name}: {message}");
        }
        assert_eq!(app.get("/api/folders", &token).await.body["total_count"], json!(3));
        assert_eq!(app.blob_files().len(), 3, "{:?}", app.blob_files());
        assert_eq!(app.spool_files(), 0);
    }

    async fn payload_errors(app) {
        let (_, _, token) = client(&app).await;
        let photo = || Part::File("photo1", "a.jpg", jpeg(8, 8));
        let cases = [
            ("{not json", 400, 3),
            ("[1, 2]", 400, 3),
            (r#"{"folder:meta_data": [1]}"#, 400, 5),
            (r#"{"media:tags": {"photo1": "photo_selfie"}}"#, 400, 5),
            (r#"{"media:tags": {"nofile": ["photo_selfie"]}}"#, 400, 4),
            (r#"{"media:meta_data": {"nofile": {"a": 1}}}"#, 400, 4),
            (r#"{"media:meta_data": {"photo1": "x"}}"#, 400, 5),
            (r#"{"media:tags": {"photo1": [""]}}"#, 400, 4),
        ];
        for (payload, status, code) in cases {
            let r = app.upload("/api/folders", &token, vec![photo(), Part::Payload(payload.into())]).await;
            r.assert_error(status, code);
        }
        let big = json!({"folder:meta_data": {"x": "y".repeat(70 * 1024)}}).to_string();
        app.upload("/api/folders", &token, vec![Part::Payload(big)]).await.assert_error(400, 4);
        assert_eq!(app.get("/api/folders", &token).await.body["total_count"], json!(0));
        assert!(app.blob_files().is_empty());
    }

    async fn folder_reads_with_user_company_and_analyses(app) {
        let (company, user, token) = client(&app).await;
        let f = folder_with_photo(&app, &token, json!({"a": 1})).await;
        let id = f["folder_id"].as_str().unwrap();
        let r = app.get(&format!("/api/folders/{id}?with_analyses=true&with_user=true&with_company=true"), &token).await;
        r.assert_status(200);
        assert_eq!(r.body["analyses"], json!([]));
        assert_eq!(r.body["user"]["user_id"], json!(user.to_string()));
        assert_eq!(r.body["company"]["company_id"], json!(company.to_string()));
        assert!(r.body["user"].get("password").is_none());
        let plain = app.get(&format!("/api/folders/{id}"), &token).await;
        assert!(plain.body.get("analyses").is_none() && plain.body.get("user").is_none() && plain.body.get("company").is_none());
        // ids
        app.get("/api/folders/not-a-uuid", &token).await.assert_error(400, 4);
        app.get(&format!("/api/folders/{}", Uuid::new_v4()), &token).await.assert_error(404, 10);
        app.get("/api/folders/?with_media=maybe", &token).await.assert_error(400, 5);
    }

    async fn folder_list_embeds_owner_and_company_for_the_page(app) {
        // GAP-9 [I]: `with_user` / `with_company` on the list embed each folder's owner as
        // `user` and its company as `company` (the detail's objects), for the page's folders.
        let acme = app.company(&format!("Acme {}", Uuid::new_v4().simple())).await;
        let beta = app.company(&format!("Beta {}", Uuid::new_v4().simple())).await;
        let (_, e1, t1) = app.user(Some(acme), "CLIENT").await;
        let (_, e2, t2) = app.user(Some(acme), "CLIENT").await;
        let (_, e3, t3) = app.user(Some(beta), "CLIENT").await;
        let (_, op_email, op) = app.user(Some(acme), "CLIENT OPERATOR").await;
        for (t, k) in [(&t1, 1), (&t1, 2), (&t2, 3), (&t3, 4), (&app.admin_token, 5)] {
            folder_with_photo(&app, t, json!({"k": k})).await;
        }
        let acme_name = app.get(&format!("/api/companies/{acme}"), &app.admin_token).await.body["name"].clone();
        let beta_name = app.get(&format!("/api/companies/{beta}"), &app.admin_token).await.body["name"].clone();
        let r = app.get("/api/folders/?with_user=true&with_company=true&sorting=time_created{asc}", &app.admin_token).await;
        r.assert_status(200);
        let items = r.body["items"].as_array().unwrap();
        let want = [(e1.as_str(), &acme_name), (&e1, &acme_name), (&e2, &acme_name), (&e3, &beta_name), (ADMIN_EMAIL, &Value::Null)];
        assert_eq!(items.len(), want.len(), "{}", r.text);
        for (item, (email, company)) in items.iter().zip(want) {
            assert_eq!(item["user"]["email"], json!(email.to_lowercase()), "{item}");
            assert_eq!(item["user"]["user_id"], item["user_id"]);
            assert!(item["user"].get("password").is_none());
            assert_eq!(item["company"]["name"], *company, "{item}");
            if company.is_null() {
                assert_eq!(item["company"], Value::Null, "a folder without a company: company null");
            } else {
                assert_eq!(item["company"]["company_id"], item["company_id"]);
            }
        }
        // Without the flags neither key; with one, only its key.
        let r = app.get("/api/folders/", &app.admin_token).await;
        assert!(r.body["items"].as_array().unwrap().iter().all(|f| f.get("user").is_none() && f.get("company").is_none()));
        let r = app.get("/api/folders/?with_company=1&limit=2&offset=1&sorting=time_created{asc}", &app.admin_token).await;
        let items = r.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|f| f.get("user").is_none() && f["company"]["name"] == acme_name), "{}", r.text);
        // A CLIENT OPERATOR: its company's folders with their owners; a CLIENT: its own.
        let r = app.get("/api/folders/?with_user=true&with_company=true&sorting=time_created{asc}", &op).await;
        let emails: Vec<String> = r.body["items"].as_array().unwrap().iter().map(|f| f["user"]["email"].as_str().unwrap().to_owned()).collect();
        assert_eq!(emails, [&e1, &e1, &e2].map(|e| e.to_lowercase()));
        let r = app.get("/api/folders/?with_user=true&with_company=true", &t3).await;
        assert_eq!(r.body["items"][0]["user"]["email"], json!(e3.to_lowercase()));
        assert_eq!(r.body["items"][0]["company"]["name"], beta_name);
        // The console's orders list shows both columns.
        let (console, _) = crate::console::console_login(&app, &op_email, PASSWORD).await;
        let (_, _, page) = console.get(&app, "/console").await;
        let acme_name = acme_name.as_str().unwrap();
        assert_eq!(page.matches(&format!("<td class=\"company\">{acme_name}</td>")).count(), 3, "{page}");
        assert_eq!(page.matches(&format!("<td class=\"user\">{}</td>", e1.to_lowercase())).count(), 2, "{page}");
        assert!(!page.contains(&e3.to_lowercase()));
        app.get("/api/folders/?with_user=maybe", &t1).await.assert_error(400, 5);
        app.get("/api/folders/?with_company=maybe", &t1).await.assert_error(400, 5);
    }

    async fn list_grammar(app) {
        let (_, _, token) = client(&app).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let f = folder_with_photo(&app, &token, json!({"transaction_id": format!("tx-{i}"), "n": i, "iin": format!("p{}", i % 2)})).await;
            ids.push(f["folder_id"].as_str().unwrap().to_owned());
        }
        let r = app.get("/api/folders/?limit=2&offset=1", &token).await;
        r.assert_status(200);
        let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["total_count", "offset", "limit", "items"]);
        assert_eq!((r.body["total_count"].clone(), r.body["offset"].clone(), r.body["limit"].clone()), (json!(5), json!(1), json!(2)));
        // Newest first by default; lists carry no media unless asked.
        let items: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|f| f["folder_id"].as_str().unwrap()).collect();
        assert_eq!(items, [ids[3].as_str(), ids[2].as_str()]);
        assert!(r.body["items"][0].get("media").is_none());
        let r = app.get("/api/folders/?sorting=time_created{asc}&limit=-1&with_media=true&with_analyses=true", &token).await;
        assert_eq!(r.body["limit"], json!(null));
        assert_eq!(r.body["items"][0]["folder_id"], json!(ids[0]));
        assert_eq!(r.body["items"][0]["media"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["items"][0]["analyses"], json!([]));
        let r = app.get("/api/folders/?meta_data=transaction_id==tx-3", &token).await;
        assert_eq!((r.body["total_count"].clone(), r.body["items"][0]["folder_id"].clone()), (json!(1), json!(ids[3])));
        assert_eq!(app.get("/api/folders/?meta_data=n>=3", &token).await.body["total_count"], json!(2));
        assert_eq!(app.get("/api/folders/?meta_data=iin==p1,n<3", &token).await.body["total_count"], json!(1));
        assert_eq!(app.get(&format!("/api/folders/?folder_id={},{}", ids[0], ids[4]), &token).await.body["total_count"], json!(2));
        assert_eq!(app.get("/api/folders/?resolution_status=INITIAL", &token).await.body["total_count"], json!(5));
        assert_eq!(app.get("/api/folders/?resolution_status=success,declined", &token).await.body["total_count"], json!(0));
        assert_eq!(app.get("/api/folders/?analyse.type=COLLECTION", &token).await.body["total_count"], json!(0));
        assert_eq!(app.get("/api/folders/?time_created.min=now", &token).await.body["total_count"], json!(0));
        assert_eq!(app.get("/api/folders/?time_created.max=now&total_omit=true", &token).await.body["total_count"], json!(null));
        app.get("/api/folders/?resolution_status=MAYBE", &token).await.assert_error(400, 4);
        app.get("/api/folders/?limit=-5", &token).await.assert_error(400, 4);
        app.get("/api/folders/?offset=-1", &token).await.assert_error(400, 4);
        app.get("/api/folders/?sorting=colour{asc}", &token).await.assert_error(400, 4);
        app.get("/api/folders/?time_created.min=yesterday-ish", &token).await.assert_error(400, 4);
        app.get("/api/folders/?meta_data=novalue", &token).await.assert_error(400, 3);
        app.get("/api/folders/?folder_id=nope", &token).await.assert_error(400, 5);
    }

    async fn tenancy_and_roles(app) {
        let (mine, _, client_a) = client(&app).await;
        let (_, _, client_b) = app.user(Some(mine), "CLIENT").await;
        let (_, _, cadmin) = app.user(Some(mine), "CLIENT ADMIN").await;
        let (_, _, cop) = app.user(Some(mine), "CLIENT OPERATOR").await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        let (_, _, stranger) = client(&app).await;
        let f = folder_with_photo(&app, &client_a, json!({"k": "v"})).await;
        let id = f["folder_id"].as_str().unwrap().to_owned();
        let media_id = f["media"][0]["media_id"].as_str().unwrap().to_owned();
        let thumb = f["media"][0]["thumb_url"].as_str().unwrap().to_owned();
        // Another company, and another CLIENT of the same company, see nothing.
        for t in [&stranger, &client_b] {
            app.get(&format!("/api/folders/{id}"), t).await.assert_error(404, 10);
            app.get(&format!("/api/folders/{id}/media"), t).await.assert_error(404, 10);
            app.get(&format!("/api/folders/{id}/meta_data"), t).await.assert_error(404, 10);
            app.get(&format!("/api/media/{media_id}"), t).await.assert_error(404, 10);
            app.patch(&format!("/api/folders/{id}/meta_data"), t, json!({"x": 1})).await.assert_error(404, 10);
            app.delete(&format!("/api/folders/{id}"), t).await.assert_error(404, 10);
            assert_eq!(app.get("/api/folders", t).await.body["total_count"], json!(0));
            assert_eq!(app.get("/api/media", t).await.body["total_count"], json!(0));
            assert_eq!(app.get_bytes(&thumb, Some(t)).await.0.as_u16(), 404);
        }
        // Company readers and global readers see it.
        for t in [&cadmin, &cop, &operator, &app.admin_token] {
            app.get(&format!("/api/folders/{id}"), t).await.assert_status(200);
            assert_eq!(app.get("/api/folders", t).await.body["total_count"], json!(1));
            assert_eq!(app.get_bytes(&thumb, Some(t)).await.0.as_u16(), 200);
        }
        // Readers may not write; operators may not create; clients may not delete.
        app.patch(&format!("/api/folders/{id}/meta_data"), &cop, json!({"x": 1})).await.assert_error(403, 9);
        app.patch(&format!("/api/folders/{id}/meta_data"), &operator, json!({"x": 1})).await.assert_error(403, 9);
        app.send(Method::POST, "/api/folders", Some(&operator), None, None).await.assert_error(403, 9);
        app.send(Method::POST, "/api/folders", Some(&cop), None, None).await.assert_error(403, 9);
        app.delete(&format!("/api/folders/{id}"), &client_a).await.assert_error(403, 9);
        app.delete(&format!("/api/folders/{id}"), &cop).await.assert_error(403, 9);
        app.delete(&format!("/api/media/{media_id}"), &client_a).await.assert_error(403, 9);
        // The CLIENT ADMIN deletes: media, rows and files go.
        assert_eq!(app.blob_files().len(), 2);
        app.delete(&format!("/api/folders/{id}/"), &cadmin).await.assert_status(204);
        app.get(&format!("/api/folders/{id}"), &app.admin_token).await.assert_error(404, 10);
        app.get(&format!("/api/media/{media_id}"), &app.admin_token).await.assert_error(404, 10);
        assert!(app.blob_files().is_empty());
        assert_eq!(app.get("/api/folders/?meta_data=k==v", &app.admin_token).await.body["total_count"], json!(0));
        // ADMIN folders belong to no company.
        let r = app.send(Method::POST, "/api/folders", Some(&app.admin_token), None, None).await;
        assert_eq!(r.assert_status(201).body["company_id"], json!(null));
        app.get(&format!("/api/folders/{}", r.body["folder_id"].as_str().unwrap()), &cadmin).await.assert_error(404, 10);
    }

    async fn operators_comment_on_a_folders_resolution(app) {
        let (mine, _, client_a) = client(&app).await;
        let (_, _, cadmin) = app.user(Some(mine), "CLIENT ADMIN").await;
        let (_, _, cop) = app.user(Some(mine), "CLIENT OPERATOR").await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        let (stranger_co, _, _) = client(&app).await;
        let (_, _, stranger_cop) = app.user(Some(stranger_co), "CLIENT OPERATOR").await;
        let f = folder_with_photo(&app, &client_a, json!({"k": "v"})).await;
        let id = f["folder_id"].as_str().unwrap().to_owned();
        let url = format!("/api/folders/{id}");
        // Who: the reviewers (OPERATOR, CLIENT OPERATOR of the company); the owner side may
        // not, another company does not see the folder.
        for t in [&client_a, &cadmin, &app.admin_token] {
            app.patch(&url, t, json!({"resolution_comment": "x"})).await.assert_error(403, 9);
        }
        app.patch(&url, &stranger_cop, json!({"resolution_comment": "x"})).await.assert_error(404, 10);
        app.patch(&format!("/api/folders/{}", Uuid::new_v4()), &operator, json!({"resolution_comment": "x"})).await.assert_error(404, 10);
        app.patch("/api/folders/nope", &operator, json!({"resolution_comment": "x"})).await.assert_status(400);
        // What: a string (or null to clear), nothing else, not too long.
        app.patch(&url, &cop, json!({"comment": "x"})).await.assert_error(400, 4);
        app.patch(&url, &cop, json!({"resolution_comment": 7})).await.assert_error(400, 5);
        app.patch(&url, &cop, json!(["resolution_comment"])).await.assert_error(400, 3);
        let r = app.patch(&url, &cop, json!({"resolution_comment": "y".repeat(4097)})).await;
        r.assert_error(400, 4);
        assert_eq!(r.body["error_details"]["limit"], json!(4096));
        assert_eq!(app.get(&url, &client_a).await.body["resolution_comment"], json!(null), "a refused change changes nothing");
        // The comment, as JSON sent with the wrong content type, path with a trailing slash.
        let before = app.get(&url, &client_a).await.body["time_updated"].as_f64().unwrap();
        let body = json!({"resolution_comment": "  the ID photo is a screen  "});
        let r = app.send(Method::PATCH, &format!("{url}/"), Some(&cop), Some(&body), Some("text/plain")).await;
        r.assert_status(200);
        assert_eq!(r.body["resolution_comment"], "the ID photo is a screen", "{}", r.text);
        assert_eq!(r.body["folder_id"], json!(id));
        assert_eq!(r.body["media"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["meta_data"], json!({"k": "v"}));
        let seen = app.get(&url, &client_a).await;
        assert_eq!(seen.body["resolution_comment"], "the ID photo is a screen");
        assert!(seen.body["time_updated"].as_f64().unwrap() >= before);
        assert_eq!(app.get("/api/folders/?meta_data=k==v", &client_a).await.body["items"][0]["resolution_comment"], "the ID photo is a screen");
        // A global OPERATOR replaces it; null (or an empty string) clears it.
        app.patch(&url, &operator, json!({"resolution_comment": "checked again"})).await.assert_status(200);
        assert_eq!(app.get(&url, &cadmin).await.body["resolution_comment"], "checked again");
        assert_eq!(app.patch(&url, &operator, json!({"resolution_comment": null})).await.assert_status(200).body["resolution_comment"], json!(null));
        app.patch(&url, &operator, json!({"resolution_comment": "again"})).await.assert_status(200);
        assert_eq!(app.patch(&url, &cop, json!({"resolution_comment": " "})).await.assert_status(200).body["resolution_comment"], json!(null));
    }

    async fn a_thumbnail_made_while_its_media_is_deleted_is_not_left_behind(app) {
        let (_, _, token) = client(&app).await;
        // Large enough that making the thumbnail takes a while; the deletes land at different
        // moments of it.
        let photo = noisy_jpeg(1600, 1200);
        for round in 0..12u64 {
            let payload = json!({"media:tags": {"p": ["photo_selfie"]}}).to_string();
            let f = app.upload("/api/folders/", &token, vec![Part::File("p", "p.jpg", photo.clone()), Part::Payload(payload)]).await;
            let f = f.assert_status(201).body.clone();
            let media_id = f["media"][0]["media_id"].as_str().unwrap().to_owned();
            let thumb = f["media"][0]["thumb_url"].as_str().unwrap().to_owned();
            let fetch = {
                let request = app.client.get(&thumb).header("X-Forensic-Access-Token", &token);
                tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
            };
            tokio::time::sleep(std::time::Duration::from_millis(round * 3)).await;
            app.delete(&format!("/api/media/{media_id}"), &app.admin_token).await.assert_status(204);
            let status = fetch.await.unwrap();
            assert!(status == 200 || status == 404, "{status}");
            let left: Vec<_> = app.blob_files().into_iter().filter(|p| p.to_string_lossy().contains(&media_id)).collect();
            assert!(left.is_empty(), "round {round}: {left:?} left behind (the thumbnail request answered {status})");
        }
    }

    async fn folder_meta_data_contract(app) {
        let (_, _, token) = client(&app).await;
        let f = folder_with_photo(&app, &token, json!({})).await;
        let id = f["folder_id"].as_str().unwrap();
        walk_meta_contract(&app, &format!("/api/folders/{id}/meta_data/"), &token).await;
        walk_meta_contract(&app, &format!("/api/folders/{id}/meta_data"), &app.admin_token).await;
        app.patch(&format!("/api/folders/{id}/meta_data"), &token, json!({"transaction_id": "late"})).await.assert_status(200);
        let r = app.get("/api/folders/?meta_data=transaction_id==late", &token).await;
        assert_eq!(r.body["items"][0]["folder_id"], json!(id));
        assert_eq!(r.body["items"][0]["meta_data"], json!({"keep": 1, "transaction_id": "late"}));
    }

    async fn limits_are_configurable_and_clear(app) {
        drop(app);
        let app = TestApp::spawn_with(Backend::Sqlite, |c| { c.max_files_per_request = 2; c.max_file_bytes = 2000; }).await;
        let (_, _, token) = client(&app).await;
        let r = app.upload("/api/folders", &token, vec![Part::File("a", "a.jpg", jpeg(8, 8)), Part::File("b", "b.jpg", jpeg(8, 8)), Part::File("c", "c.jpg", jpeg(8, 8))]).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("at most 2 files"), "{}", r.text);
        let r = app.upload("/api/folders", &token, vec![Part::File("big", "big.png", png(300, 300))]).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("2000 bytes"), "{}", r.text);
        assert_eq!(app.get("/api/folders", &token).await.body["total_count"], json!(0));
        assert!(app.blob_files().is_empty());
        assert_eq!(app.spool_files(), 0);
    }

    async fn an_aborted_upload_leaves_nothing(app) {
        let (_, _, token) = client(&app).await;
        let boundary = "XyZboundary";
        let mut head = Vec::new();
        write!(head, "--{boundary}\r\nContent-Disposition: form-data; name=\"photo1\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").unwrap();
        head.extend_from_slice(&jpeg(64, 64));
        write!(head, "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"video1\"; filename=\"v.mp4\"\r\n\r\n").unwrap();
        head.extend_from_slice(&mp4()[..200]);
        let declared = head.len() + 100_000;
        let addr = app.addr;
        let token2 = token.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(s, "POST /api/folders/ HTTP/1.1\r\nHost: {addr}\r\nX-Forensic-Access-Token: {token2}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n").unwrap();
            s.write_all(&head).unwrap();
            s.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            // Abort mid-body.
            s.shutdown(std::net::Shutdown::Both).unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        }).await.unwrap();
        // Wait (with a deadline) until the server has dropped the half-received files.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while app.spool_files() > 0 {
            assert!(std::time::Instant::now() < deadline, "spooled files of the aborted upload were not removed");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(app.get("/api/folders", &token).await.body["total_count"], json!(0));
        assert!(app.blob_files().is_empty());
        // The server is fine afterwards.
        folder_with_photo(&app, &token, json!({})).await;
    }

    async fn csv_report_and_unique_persons(app) {
        let (_, _, token) = client(&app).await;
        let (_, _, stranger) = client(&app).await;
        for (iin, tx) in [("111", "a"), ("111", "b"), ("222", "c,with \"comma\""), ("333", "d")] {
            folder_with_photo(&app, &token, json!({"iin": iin, "transaction_id": tx})).await;
        }
        folder_with_photo(&app, &token, json!({"other": 1})).await;
        folder_with_photo(&app, &stranger, json!({"iin": "999"})).await;
        let res = app.client.get(app.url("/api/folders/?format=csv&meta_keys=iin,transaction_id&sorting=time_created{asc}&with_media=true"))
            .header("X-Forensic-Access-Token", &token).send().await.unwrap();
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let text = res.text().await.unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "folder_id,time_created,time_updated,user_id,company_id,resolution_status,system_resolution,media_count,meta_data.iin,meta_data.transaction_id");
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[1].ends_with(",INITIAL,,1,111,a"), "{}", lines[1]);
        assert!(lines[3].ends_with(",222,\"c,with \"\"comma\"\"\""), "{}", lines[3]);
        assert!(lines[5].ends_with(",INITIAL,,1,,"), "{}", lines[5]);
        // Accept: text/csv works too.
        let res = app.client.get(app.url("/api/folders/")).header("X-Forensic-Access-Token", &token).header("Accept", "text/csv").send().await.unwrap();
        assert!(res.text().await.unwrap().starts_with("folder_id,"));
        let r = app.get("/api/statistics/unique_persons?key=iin", &token).await;
        assert_eq!(r.assert_status(200).body, json!({"key": "iin", "folders": 4, "unique_persons": 3, "folders_per_person": 4.0 / 3.0}));
        let r = app.get("/api/statistics/unique_persons?key=iin&time_created.min=now", &token).await;
        assert_eq!(r.body, json!({"key": "iin", "folders": 0, "unique_persons": 0, "folders_per_person": null}));
        assert_eq!(app.get("/api/statistics/unique_persons", &app.admin_token).await.body["unique_persons"], json!(4));
        app.get("/api/statistics/unique_persons?time_created.max=soon", &token).await.assert_error(400, 4);
        // Cells a spreadsheet would run as a formula are defused with a leading quote.
        folder_with_photo(&app, &stranger, json!({"iin": "=HYPERLINK(\"http://evil\",\"x\")", "transaction_id": "@SUM(A1)",
            "n": "-2+3", "plus": "+1", "tab": "\tx", "plain": "a-b"})).await;
        let res = app.client.get(app.url("/api/folders/?format=csv&meta_keys=iin,transaction_id,n,plus,tab,plain&sorting=time_created{desc}"))
            .header("X-Forensic-Access-Token", &stranger).send().await.unwrap();
        let text2 = res.text().await.unwrap();
        let row = text2.split("\r\n").nth(1).unwrap();
        assert!(row.ends_with(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",'@SUM(A1),'-2+3,'+1,'\tx,a-b"), "{row}");
    }
}

/// PostgreSQL: tables autovacuum has not analysed yet (a bulk load just before start) get
/// statistics from the store's refresh, so metadata lookups are not planned blind.
#[tokio::test]
async fn postgres_tables_never_analysed_are_analysed() {
    if !postgres_available() {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let (_, _, token) = client(&app).await;
    for i in 0..20 {
        folder_with_photo(&app, &token, json!({"transaction_id": format!("tx-{i}")})).await;
    }
    let pool = sqlx::PgPool::connect(app.config.database_url.as_deref().unwrap()).await.unwrap();
    let analysed = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname = 'meta_index'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    // Activity counters reach pg_stat_user_tables within about a second of the commits.
    let mut done = false;
    for _ in 0..50 {
        app.domain.store.refresh_statistics().await.unwrap();
        if analysed().await {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done, "meta_index was never analysed");
}
