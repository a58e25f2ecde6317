//! Spec §12 (collections guide) end to end over HTTP, every refusal, and the 1:N search the
//! COLLECTION analysis will call. Tests that need real faces use the photos of
//! `scripts/fetch-test-images.sh` and the models of `scripts/fetch-models.sh`, and print
//! "SKIPPED …" when those are absent.

use std::io::Cursor;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::fixtures::*;
use crate::helpers::*;
use crate::meta::walk_meta_contract;
use emerald::domain::model::collection::CollectionMatchRecord;

/// A company with a CLIENT ADMIN: (company, token).
async fn company_admin(app: &TestApp) -> (Uuid, String) {
    let c = app.company(&format!("Co {}", Uuid::new_v4().simple())).await;
    let (_, _, t) = app.user(Some(c), "CLIENT ADMIN").await;
    (c, t)
}

async fn collection(app: &TestApp, token: &str, alias: &str) -> Uuid {
    app.post("/api/collections/", token, json!({"alias": alias})).await.assert_status(201).id("collection_id")
}

fn persons_url(cid: Uuid) -> String {
    format!("/api/collections/{cid}/persons/")
}

/// Add a person with these photos (part names `image1…`) and metadata.
async fn add_person(app: &TestApp, token: &str, cid: Uuid, photos: &[(&'static str, Vec<u8>)], meta: Value) -> Res {
    let mut parts: Vec<Part> = photos
        .iter()
        .enumerate()
        .map(|(i, &(name, ref bytes))| Part::File(PART_NAMES[i], name, bytes.clone()))
        .collect();
    let tags: serde_json::Map<String, Value> = (0..photos.len())
        .map(|i| (PART_NAMES[i].to_owned(), json!(["photo_selfie", "orientation_portrait"])))
        .collect();
    parts.push(Part::Payload(json!({"media:tags": tags, "person:meta_data": meta}).to_string()));
    app.upload(&persons_url(cid), token, parts).await
}

const PART_NAMES: [&str; 4] = ["image1", "image2", "image3", "image4"];

/// Two faces side by side: `a` and `b` scaled to the same height.
/// `main` in the middle of a wide grey canvas and `bystander`, scaled to a fifth of its height,
/// in the top-right corner: one dominant face and a small one in the background.
fn with_bystander(main: &[u8], bystander: &[u8]) -> Vec<u8> {
    let a = image::load_from_memory(main).unwrap().to_rgb8();
    let b = image::load_from_memory(bystander).unwrap().to_rgb8();
    let small = image::imageops::resize(&b, b.width() / 5, b.height() / 5, image::imageops::FilterType::Triangle);
    let (w, h) = (a.width() * 2, a.height());
    let mut out = image::RgbImage::from_pixel(w, h, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut out, &a, (w / 4) as i64, 0);
    image::imageops::replace(&mut out, &small, (w - small.width()) as i64, 0);
    let mut bytes = Cursor::new(Vec::new());
    out.write_to(&mut bytes, image::ImageFormat::Jpeg).unwrap();
    bytes.into_inner()
}

fn two_faces(a: &[u8], b: &[u8]) -> Vec<u8> {
    let a = image::load_from_memory(a).unwrap().to_rgb8();
    let b = image::load_from_memory(b).unwrap().to_rgb8();
    let h = a.height().min(b.height());
    let scale = |img: &image::RgbImage| {
        image::imageops::resize(img, img.width() * h / img.height(), h, image::imageops::FilterType::Triangle)
    };
    let (a, b) = (scale(&a), scale(&b));
    let mut out = image::RgbImage::new(a.width() + b.width(), h);
    image::imageops::replace(&mut out, &a, 0, 0);
    image::imageops::replace(&mut out, &b, a.width() as i64, 0);
    let mut bytes = Cursor::new(Vec::new());
    out.write_to(&mut bytes, image::ImageFormat::Jpeg).unwrap();
    bytes.into_inner()
}

/// The template the engine makes of a photo (what a COLLECTION analysis would search with).
fn template_of(app: &TestApp, photo: &[u8]) -> emerald::domain::model::face::Template {
    app.domain.faces().expect("engine").enrol(photo).expect("one usable face").template
}

const VOLATILE: &[&str] = &[
    "collection_id",
    "company_id",
    "person_id",
    "person_image_id",
    "media_id",
    "time_created",
    "time_updated",
    "sha256",
    "size",
    "original_url",
    "thumb_url",
    "width",
    "height",
    "model_id",
    "face_box",
];

both_backends! {
    async fn the_collection_guide_end_to_end(app) {
        let Some(photos) = face_photos("the_collection_guide_end_to_end", &["obama.jpg", "obama2.jpg", "obama3.jpg"]) else { return };
        let (company, token) = company_admin(&app).await;
        // Step 2: create (company_id given explicitly, as the guide does).
        let r = app.post("/api/collections/", &token, json!({"alias": "blacklist", "company_id": company, "meta_data": {"purpose": "fraud"}})).await;
        r.assert_status(201);
        let cid = r.id("collection_id");
        let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["collection_id", "alias", "company_id", "time_created", "time_updated", "meta_data", "technical_meta_data", "persons_count"]);
        assert_eq!((r.body["alias"].clone(), r.body["company_id"].clone(), r.body["meta_data"].clone()), (json!("blacklist"), json!(company), json!({"purpose": "fraud"})));
        assert_eq!(app.get(&format!("/api/collections/{cid}"), &token).await.assert_status(200).body, r.body);
        let list = app.get("/api/collections", &token).await;
        assert_eq!(list.assert_status(200).body, json!([r.body]));

        // Step 3: a person with two photos and metadata.
        let meta = json!({"person_info": {"first_name": "John", "middle_name": "Jameson", "last_name": "Doe"}});
        let r = add_person(&app, &token, cid, &[("obama.jpg", photos[0].clone()), ("obama2.jpg", photos[1].clone())], meta.clone()).await;
        r.assert_status(201);
        let pid = r.id("person_id");
        let mut body = r.body.clone();
        redact(&mut body, VOLATILE);
        let image = |name: &str| json!({
            "person_image_id": "<redacted>", "media_id": "<redacted>", "person_id": "<redacted>", "collection_id": "<redacted>",
            "media_type": "IMAGE_FOLDER", "original_name": name, "original_url": "<redacted>", "thumb_url": "<redacted>",
            "tags": ["photo_selfie", "orientation_portrait"], "time_created": "<redacted>", "time_updated": "<redacted>",
            "meta_data": {}, "technical_meta_data": {"width": "<redacted>", "height": "<redacted>", "size": "<redacted>", "sha256": "<redacted>", "model_id": "<redacted>", "face_box": "<redacted>"}
        });
        assert_eq!(body, json!({
            "person_id": "<redacted>", "collection_id": "<redacted>", "time_created": "<redacted>", "time_updated": "<redacted>",
            "meta_data": meta, "technical_meta_data": {}, "images": [image("obama.jpg"), image("obama2.jpg")]
        }));
        assert_eq!(r.body["images"][0]["person_id"], json!(pid));
        assert_eq!(app.get(&format!("/api/collections/{cid}/persons/{pid}"), &token).await.assert_status(200).body, r.body);

        // Step 4: one more photo.
        let r = app.upload(&format!("/api/collections/{cid}/persons/{pid}/images/"), &token, vec![Part::File("image1", "obama3.jpg", photos[2].clone())]).await;
        r.assert_status(201);
        assert_eq!(r.body.as_array().unwrap().len(), 1);
        assert_eq!(r.body[0]["original_name"], json!("obama3.jpg"));

        // Step 5: list persons and photos.
        let persons = app.get(&persons_url(cid), &token).await;
        assert_eq!(persons.assert_status(200).body.as_array().unwrap().len(), 1);
        assert_eq!(persons.body[0]["images"].as_array().unwrap().len(), 3);
        let images = app.get(&format!("/api/collections/{cid}/persons/{pid}/images"), &token).await;
        let images = images.assert_status(200).body.as_array().unwrap().clone();
        assert_eq!(images.iter().map(|i| i["original_name"].clone()).collect::<Vec<_>>(), [json!("obama.jpg"), json!("obama2.jpg"), json!("obama3.jpg")]);
        // The files: authenticated, original and thumbnail.
        let url = images[0]["original_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("http://{}/static/collections/{cid}/", app.addr)), "{url}");
        let (st, ct, bytes) = app.get_bytes(url, Some(&token)).await;
        assert_eq!((st.as_u16(), ct.as_deref(), bytes), (200, Some("image/jpeg"), photos[0].clone()));
        let (st, _, thumb) = app.get_bytes(images[0]["thumb_url"].as_str().unwrap(), Some(&token)).await;
        assert_eq!(st.as_u16(), 200);
        assert!(image::load_from_memory(&thumb).unwrap().width() <= 320);
        assert_eq!(app.get_bytes(url, None).await.0.as_u16(), 401);
        // Three originals and the one thumbnail asked for (made on that first request).
        assert_eq!(app.blob_files().len(), 4);

        // Readers of the company read persons and photos, and change nothing.
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let person_url = format!("/api/collections/{cid}/persons/{pid}");
        assert_eq!(app.get(&person_url, &client).await.assert_status(200).body["person_id"], json!(pid));
        assert_eq!(app.get_bytes(url, Some(&client)).await.0.as_u16(), 200);
        app.delete(&person_url, &client).await.assert_error(403, 9);
        app.delete(&format!("{person_url}/images/{}", images[0]["media_id"].as_str().unwrap()), &client).await.assert_error(403, 9);
        app.patch(&format!("{person_url}/meta_data"), &client, json!({"a": 1})).await.assert_error(403, 9);
        app.upload(&format!("{person_url}/images"), &client, vec![Part::File("image1", "x.jpg", photos[2].clone())]).await.assert_error(403, 9);
        // Another company sees none of it, files included.
        let (_, stranger) = company_admin(&app).await;
        app.get(&person_url, &stranger).await.assert_error(404, 10);
        app.delete(&person_url, &stranger).await.assert_error(404, 10);
        assert_eq!(app.get_bytes(url, Some(&stranger)).await.0.as_u16(), 404);

        // Step 7: delete photos, by media_id (the guide's way) and by person_image_id.
        let by_media = format!("/api/collections/{cid}/persons/{pid}/images/{}/", images[0]["media_id"].as_str().unwrap());
        app.delete(&by_media, &token).await.assert_status(204);
        app.delete(&by_media, &token).await.assert_error(404, 10);
        assert_eq!(app.get_bytes(url, Some(&token)).await.0.as_u16(), 404);
        let by_image = format!("/api/collections/{cid}/persons/{pid}/images/{}", images[1]["person_image_id"].as_str().unwrap());
        assert_eq!(app.get(&by_image, &token).await.assert_status(200).body["original_name"], json!("obama2.jpg"));
        app.delete(&by_image, &token).await.assert_status(204);
        assert_eq!(app.get(&format!("/api/collections/{cid}/persons/{pid}/images"), &token).await.body.as_array().unwrap().len(), 1);
        assert_eq!(app.blob_files().len(), 1);

        // Step 8 before step 6: a collection with persons is not deleted.
        let r = app.delete(&format!("/api/collections/{cid}/"), &token).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("not empty"), "{}", r.text);
        // Step 6: delete the person (its last photo goes with it), then the collection.
        app.delete(&format!("/api/collections/{cid}/persons/{pid}/"), &token).await.assert_status(204);
        app.get(&format!("/api/collections/{cid}/persons/{pid}"), &token).await.assert_error(404, 10);
        assert!(app.blob_files().is_empty(), "{:?}", app.blob_files());
        app.delete(&format!("/api/collections/{cid}"), &token).await.assert_status(204);
        app.get(&format!("/api/collections/{cid}"), &token).await.assert_error(404, 10);
        assert_eq!(app.get("/api/collections", &token).await.body, json!([]));
    }

    async fn photos_without_exactly_one_usable_face_store_nothing(app) {
        let Some(mut p) = face_photos("photos_without_exactly_one_usable_face_store_nothing", &["obama.jpg", "biden.jpg"]) else { return };
        p.push(jpeg(640, 480)); // a photo without a face: a plain gradient
        let (_, token) = company_admin(&app).await;
        let cid = collection(&app, &token, "blacklist").await;
        let refused = |r: &Res, needles: &[&str]| {
            r.assert_error(400, 4);
            let msg = r.body["error_message"].as_str().unwrap();
            for n in needles {
                assert!(msg.contains(n), "{n:?} not in {msg:?}");
            }
        };
        // No face (a gradient), two faces, a corrupt file, a video: each named with its reason.
        let r = add_person(&app, &token, cid, &[("landscape.jpg", p[2].clone())], json!({})).await;
        refused(&r, &["\"landscape.jpg\"", "no face"]);
        assert_eq!(r.body["error_details"]["rejected"][0]["file_name"], json!("landscape.jpg"));
        // A small bystander does not make a photo ambiguous: the dominant face is enrolled, and
        // the face left aside is reported.
        let r = add_person(&app, &token, cid, &[("crowd.jpg", with_bystander(&p[0], &p[1]))], json!({})).await;
        r.assert_status(201);
        let facts = &r.body["images"][0]["technical_meta_data"];
        assert_eq!(facts["face_box"].as_array().map(Vec::len), Some(4), "{facts}");
        assert_eq!(facts["other_faces"].as_array().map(Vec::len), Some(1), "{facts}");
        let crowd = r.id("person_id");
        app.delete(&format!("/api/collections/{cid}/persons/{crowd}/"), &token).await.assert_status(204);
        // Two faces of the same size side by side: neither dominates.
        let r = add_person(&app, &token, cid, &[("pair.jpg", two_faces(&p[0], &p[0]))], json!({})).await;
        refused(&r, &["\"pair.jpg\"", "2 faces of comparable size and position found"]);
        let r = add_person(&app, &token, cid, &[("broken.jpg", truncated_jpeg())], json!({})).await;
        refused(&r, &["\"broken.jpg\""]);
        let r = add_person(&app, &token, cid, &[("clip.mp4", mp4())], json!({})).await;
        refused(&r, &["\"clip.mp4\"", "enrolment takes photos"]);
        // One bad photo among good ones: nothing at all is stored, and every bad one is named.
        let r = add_person(&app, &token, cid, &[("good.jpg", p[0].clone()), ("landscape.jpg", p[2].clone()), ("broken.jpg", truncated_jpeg())], json!({"k": 1})).await;
        refused(&r, &["\"landscape.jpg\"", "\"broken.jpg\""]);
        assert!(!r.body["error_message"].as_str().unwrap().contains("good.jpg"));
        assert_eq!(r.body["error_details"]["rejected"].as_array().unwrap().len(), 2);
        assert_eq!(app.get(&persons_url(cid), &token).await.body, json!([]));
        assert!(app.blob_files().is_empty(), "{:?}", app.blob_files());
        assert_eq!(app.spool_files(), 0);
        // The same rule when adding photos to a person.
        let pid = add_person(&app, &token, cid, &[("good.jpg", p[0].clone())], json!({})).await.assert_status(201).id("person_id");
        let r = app.upload(&format!("{}{pid}/images", persons_url(cid)), &token, vec![Part::File("a", "ok.jpg", p[1].clone()), Part::File("b", "landscape.jpg", p[2].clone())]).await;
        refused(&r, &["\"landscape.jpg\""]);
        assert_eq!(app.get(&format!("{}{pid}/images", persons_url(cid)), &token).await.body.as_array().unwrap().len(), 1);
        assert_eq!(app.blob_files().len(), 1);
    }

    async fn bad_requests_are_clear_errors(app) {
        let (_, token) = company_admin(&app).await;
        let cid = collection(&app, &token, "blacklist").await;
        let url = persons_url(cid);
        // Payload problems are caught before any face is looked at.
        app.upload(&url, &token, vec![Part::File("image1", "a.jpg", jpeg(64, 64)), Part::Payload("{not json".into())]).await.assert_error(400, 3);
        app.upload(&url, &token, vec![Part::File("image1", "a.jpg", jpeg(64, 64)), Part::Payload(r#"{"person:meta_data": [1]}"#.into())]).await.assert_error(400, 5);
        app.upload(&url, &token, vec![Part::File("image1", "a.jpg", jpeg(64, 64)), Part::Payload(r#"{"media:tags": {"nope": ["x"]}}"#.into())]).await.assert_error(400, 4);
        app.upload(&format!("{url}batch"), &token, vec![Part::File("image1", "a.jpg", jpeg(64, 64)), Part::Payload(r#"{"persons": [{"files": ["zz"]}]}"#.into())]).await.assert_error(400, 4);
        app.upload(&format!("{url}batch"), &token, vec![Part::File("image1", "a.jpg", jpeg(64, 64))]).await.assert_error(400, 3);
        // Bodies and ids.
        app.post("/api/collections", &token, json!({"alias": ""})).await.assert_error(400, 4);
        app.post("/api/collections", &token, json!({})).await.assert_error(400, 3);
        app.post("/api/collections", &token, json!({"alias": 5})).await.assert_error(400, 5);
        app.post("/api/collections", &token, json!({"alias": "x", "company_id": "zzz"})).await.assert_error(400, 4);
        app.post("/api/collections", &token, json!({"alias": "blacklist"})).await.assert_error(400, 4);
        app.get("/api/collections/zzz", &token).await.assert_error(400, 4);
        app.get(&format!("/api/collections/{cid}/persons/zzz"), &token).await.assert_error(400, 4);
        app.get(&format!("/api/collections/{}", Uuid::new_v4()), &token).await.assert_error(404, 10);
        app.get(&format!("/api/collections/{cid}/persons/{}", Uuid::new_v4()), &token).await.assert_error(404, 10);
        app.delete(&format!("/api/collections/{cid}/persons/{}/images/{}", Uuid::new_v4(), Uuid::new_v4()), &token).await.assert_error(404, 10);
        app.get("/api/collections?limit=-5", &token).await.assert_error(400, 4);
        let (st, _, _) = app.get_bytes(&app.url(&format!("/static/collections/{cid}/{}.jpg", Uuid::new_v4())), Some(&token)).await;
        assert_eq!(st.as_u16(), 404);
    }

    async fn roles_and_company_scoping(app) {
        let (company, cadmin) = company_admin(&app).await;
        let (_, client) = {
            let (id, _, t) = app.user(Some(company), "CLIENT").await;
            (id, t)
        };
        let (_, _, cop) = app.user(Some(company), "CLIENT OPERATOR").await;
        let (_, _, service) = app.user(Some(company), "CLIENT SERVICE").await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        let (other_company, stranger) = company_admin(&app).await;
        let cid = collection(&app, &cadmin, "blacklist").await;
        let url = format!("/api/collections/{cid}");

        // Readers read; only ADMIN and the company's CLIENT ADMIN write.
        for t in [&client, &cop, &service, &operator, &app.admin_token] {
            app.get(&url, t).await.assert_status(200);
            app.get(&persons_url(cid), t).await.assert_status(200);
            app.get(&format!("{url}/meta_data"), t).await.assert_status(200);
        }
        for t in [&client, &cop, &service, &operator] {
            app.post("/api/collections", t, json!({"alias": "mine", "company_id": company})).await.assert_error(403, 9);
            app.delete(&url, t).await.assert_error(403, 9);
            app.patch(&format!("{url}/meta_data"), t, json!({"a": 1})).await.assert_error(403, 9);
            app.upload(&persons_url(cid), t, vec![Part::File("image1", "a.jpg", jpeg(64, 64))]).await.assert_error(403, 9);
        }
        // Another company's collection does not exist for this company, and vice versa.
        for path in [url.clone(), persons_url(cid), format!("{url}/meta_data"), format!("{url}/persons/{}/images", Uuid::new_v4())] {
            app.get(&path, &stranger).await.assert_error(404, 10);
        }
        app.delete(&url, &stranger).await.assert_error(404, 10);
        app.upload(&persons_url(cid), &stranger, vec![Part::File("image1", "a.jpg", jpeg(64, 64))]).await.assert_error(404, 10);
        app.post("/api/collections", &cadmin, json!({"alias": "theirs", "company_id": other_company})).await.assert_error(404, 10);
        assert_eq!(app.get("/api/collections", &stranger).await.body, json!([]));
        // ADMIN names the company; without one there is none to default to.
        app.post("/api/collections", &app.admin_token, json!({"alias": "global"})).await.assert_error(400, 3);
        let theirs = app.post("/api/collections", &app.admin_token, json!({"alias": "blacklist", "company_id": other_company})).await;
        assert_eq!(theirs.assert_status(201).body["company_id"], json!(other_company));
        app.post("/api/collections", &app.admin_token, json!({"alias": "x", "company_id": Uuid::new_v4()})).await.assert_error(404, 10);
        // A company with collections (and no user) cannot be deleted.
        let lone = app.company("Lone").await;
        app.post("/api/collections", &app.admin_token, json!({"alias": "blacklist", "company_id": lone})).await.assert_status(201);
        let r = app.delete(&format!("/api/companies/{lone}"), &app.admin_token).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("collections"), "{}", r.text);
        // The company sees its own only; ADMIN and OPERATOR see all.
        assert_eq!(app.get("/api/collections", &client).await.body.as_array().unwrap().len(), 1);
        assert_eq!(app.get("/api/collections", &operator).await.body.as_array().unwrap().len(), 3);
    }

    async fn collections_are_renamed_by_whoever_may_create_them(app) {
        let (company, cadmin) = company_admin(&app).await;
        let (_, _, client) = app.user(Some(company), "CLIENT").await;
        let (_, _, operator) = app.user(None, "OPERATOR").await;
        let (_, stranger) = company_admin(&app).await;
        let cid = collection(&app, &cadmin, "blacklist").await;
        let other = collection(&app, &cadmin, "vip").await;
        let url = format!("/api/collections/{cid}/");
        let before = app.get(&url, &cadmin).await.body;
        // The company's CLIENT ADMIN renames it (trimmed, like on create); the answer is the
        // collection as read, and the list and the single read agree.
        let r = app.patch(&url, &cadmin, json!({"alias": "  watchlist "})).await;
        r.assert_status(200);
        assert_eq!(r.body["alias"], "watchlist", "{}", r.text);
        assert_eq!(r.body["collection_id"], json!(cid));
        assert_eq!(r.body["persons_count"], json!(0), "{}", r.text);
        assert!(r.body["time_updated"].as_f64().unwrap() >= before["time_updated"].as_f64().unwrap());
        assert_eq!(r.body["time_created"], before["time_created"]);
        assert_eq!(app.get(&url, &client).await.body["alias"], "watchlist");
        let listed = app.get("/api/collections?alias=watchlist", &cadmin).await.body;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(app.get("/api/collections?alias=blacklist", &cadmin).await.body, json!([]));
        // The old alias is free again; ADMIN renames any company's (without a trailing slash too).
        collection(&app, &cadmin, "blacklist").await;
        app.patch(&format!("/api/collections/{cid}"), &app.admin_token, json!({"alias": "fraud"})).await.assert_status(200);
        // Audited with the old and the new alias.
        let audit = app.get(&format!("/api/audit?object_id={cid}&event=update"), &app.admin_token).await;
        let events = audit.assert_status(200).body["items"].as_array().unwrap();
        assert!(events.iter().all(|e| e["object_type"] == "collection"), "{}", audit.text);
        let renames: Vec<(Value, Value)> = events.iter().map(|e| (e["before"].clone(), e["after"].clone())).collect();
        assert!(renames.contains(&(json!("blacklist"), json!("watchlist"))), "{}", audit.text);
        assert!(renames.contains(&(json!("watchlist"), json!("fraud"))), "{}", audit.text);
        assert_eq!(renames.len(), 2, "{}", audit.text);
        // The same alias again changes nothing and records nothing.
        app.patch(&url, &cadmin, json!({"alias": "fraud"})).await.assert_status(200);
        assert_eq!(app.get(&format!("/api/audit?object_id={cid}&event=update"), &app.admin_token).await.body, audit.body);
        // The alias rules of create.
        app.patch(&url, &cadmin, json!({"alias": "vip"})).await.assert_error(400, 4);
        app.patch(&url, &cadmin, json!({"alias": "  "})).await.assert_error(400, 4);
        app.patch(&url, &cadmin, json!({"alias": "x".repeat(257)})).await.assert_error(400, 4);
        app.patch(&url, &cadmin, json!({"alias": 5})).await.assert_error(400, 5);
        app.patch(&url, &cadmin, json!({})).await.assert_error(400, 3);
        app.patch(&url, &cadmin, json!(["watchlist"])).await.assert_error(400, 3);
        let raw = app.send(reqwest::Method::PATCH, &url, Some(&cadmin), None, Some("application/json")).await;
        raw.assert_error(400, 3);
        let r = app.client.patch(app.url(&url)).header("X-Forensic-Access-Token", &cadmin)
            .header("Content-Type", "application/json").body("{not json").send().await.unwrap();
        into_res(r).await.assert_error(400, 3);
        app.patch(&url, &cadmin, json!({"alias": "y".repeat(256)})).await.assert_status(200);
        app.patch("/api/collections/zzz/", &cadmin, json!({"alias": "x"})).await.assert_error(400, 4);
        // Readers may not; another company's collection and an unknown one do not exist.
        for t in [&client, &operator] {
            app.patch(&url, t, json!({"alias": "mine"})).await.assert_error(403, 9);
        }
        app.patch(&url, &stranger, json!({"alias": "theirs"})).await.assert_error(404, 10);
        app.patch(&format!("/api/collections/{}/", Uuid::new_v4()), &cadmin, json!({"alias": "x"})).await.assert_error(404, 10);
        assert_eq!(app.get(&url, &cadmin).await.body["alias"], "y".repeat(256));
        assert_eq!(app.get(&format!("/api/collections/{other}"), &cadmin).await.body["alias"], "vip");
    }

    async fn collection_lists_filter_and_metadata_follow_the_contract(app) {
        let (company, token) = company_admin(&app).await;
        let a = app.post("/api/collections", &token, json!({"alias": "alpha", "meta_data": {"kind": "fraud", "n": 1}})).await.assert_status(201).id("collection_id");
        let b = app.post("/api/collections", &token, json!({"alias": "beta", "meta_data": {"kind": "vip", "n": 2}})).await.assert_status(201).id("collection_id");
        let ids = |r: Res| r.body.as_array().unwrap().iter().map(|c| c["collection_id"].clone()).collect::<Vec<_>>();
        assert_eq!(ids(app.get("/api/collections?alias=beta", &token).await), [json!(b)]);
        assert_eq!(ids(app.get("/api/collections?meta_data=kind==fraud", &token).await), [json!(a)]);
        assert_eq!(ids(app.get("/api/collections?meta_data=n>=2", &token).await), [json!(b)]);
        assert_eq!(ids(app.get(&format!("/api/collections?company_id={company}&sorting=alias{{desc}}"), &token).await), [json!(b), json!(a)]);
        assert_eq!(ids(app.get("/api/collections?limit=1&offset=1", &token).await), [json!(b)]);
        walk_meta_contract(&app, &format!("/api/collections/{a}/meta_data"), &token).await;
        walk_meta_contract(&app, &format!("/api/collections/{b}/meta_data/"), &app.admin_token).await;
        assert_eq!(ids(app.get("/api/collections?meta_data=keep==1", &token).await), [json!(a), json!(b)]);
    }

    async fn person_lists_metadata_and_batch_enrolment(app) {
        let Some(p) = face_photos("person_lists_metadata_and_batch_enrolment", &["obama.jpg", "obama2.jpg", "biden.jpg"]) else { return };
        let (_, token) = company_admin(&app).await;
        let cid = collection(&app, &token, "blacklist").await;
        // Two persons in one request: file keys say whose photo is whose.
        let payload = json!({
            "media:tags": {"o1": ["photo_selfie"], "b1": ["photo_selfie"]},
            "persons": [
                {"files": ["o1", "o2"], "person:meta_data": {"person_info": {"last_name": "Obama"}, "n": 44}},
                {"files": ["b1"], "person:meta_data": {"person_info": {"last_name": "Biden"}, "n": 46}}
            ]
        });
        let r = app.upload(&format!("{}batch/", persons_url(cid)), &token, vec![
            Part::File("o1", "o1.jpg", p[0].clone()), Part::File("b1", "b1.jpg", p[2].clone()), Part::File("o2", "o2.jpg", p[1].clone()),
            Part::Payload(payload.to_string()),
        ]).await;
        r.assert_status(201);
        let persons = r.body.as_array().unwrap();
        assert_eq!(persons.iter().map(|p| p["images"].as_array().unwrap().len()).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(persons[0]["images"].as_array().unwrap().iter().map(|i| i["original_name"].clone()).collect::<Vec<_>>(), [json!("o1.jpg"), json!("o2.jpg")]);
        assert_eq!(persons[1]["images"][0]["tags"], json!(["photo_selfie"]));
        let (obama, biden) = (persons[0]["person_id"].as_str().unwrap().to_owned(), persons[1]["person_id"].as_str().unwrap().to_owned());
        // A batch with one bad photo stores nobody.
        let r = app.upload(&format!("{}batch", persons_url(cid)), &token, vec![
            Part::File("x", "x.jpg", p[0].clone()), Part::File("y", "y.jpg", truncated_jpeg()),
            Part::Payload(json!({"persons": [{"files": ["x"]}, {"files": ["y"]}]}).to_string()),
        ]).await;
        r.assert_error(400, 4);

        let ids = |r: Res| r.assert_status(200).body.as_array().unwrap().iter().map(|p| p["person_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let list = |q: &str| {
            let (app, token, url) = (&app, &token, format!("{}?{q}", persons_url(cid)));
            async move { app.get(&url, token).await }
        };
        // Persons of one batch share their creation time: the id breaks the tie, stably.
        let all = ids(list("").await);
        let mut sorted = all.clone();
        sorted.sort();
        let mut expected = vec![obama.clone(), biden.clone()];
        expected.sort();
        assert_eq!(sorted, expected);
        assert_eq!(ids(list("meta_data=person_info.last_name==Biden").await), std::slice::from_ref(&biden));
        assert_eq!(ids(list("meta_data=n>45").await), std::slice::from_ref(&biden));
        assert_eq!([ids(list("limit=1").await), ids(list("offset=1").await)].concat(), all);
        assert_eq!(ids(list("sorting=time_created{desc}&limit=-1").await).len(), 2);
        list("offset=-1").await.assert_error(400, 4);
        // Person metadata: the one contract, and its search follows every change.
        let meta_url = format!("{}{obama}/meta_data", persons_url(cid));
        walk_meta_contract(&app, &meta_url, &token).await;
        assert_eq!(ids(list("meta_data=keep==1").await), std::slice::from_ref(&obama));
        // Through another collection's path the person does not exist.
        let other = collection(&app, &token, "other").await;
        app.get(&format!("{}{obama}/meta_data", persons_url(other)), &token).await.assert_error(404, 10);
        app.get(&format!("{}{obama}", persons_url(other)), &token).await.assert_error(404, 10);
        app.delete(&format!("{}{obama}", persons_url(other)), &token).await.assert_error(404, 10);
    }

    async fn matched_persons_and_photos_cannot_be_deleted(app) {
        let Some(p) = face_photos("matched_persons_and_photos_cannot_be_deleted", &["obama.jpg", "obama2.jpg", "obama3.jpg"]) else { return };
        let (_, token) = company_admin(&app).await;
        let cid = collection(&app, &token, "blacklist").await;
        let r = add_person(&app, &token, cid, &[("1.jpg", p[0].clone()), ("2.jpg", p[1].clone()), ("3.jpg", p[2].clone())], json!({})).await;
        let pid = r.assert_status(201).id("person_id");
        let image_ids: Vec<Uuid> = r.body["images"].as_array().unwrap().iter().map(|i| Uuid::parse_str(i["person_image_id"].as_str().unwrap()).unwrap()).collect();
        // Matches recorded through the domain, as a finishing COLLECTION analysis records them
        // (tests/api/analyses.rs runs real COLLECTION analyses against the same rule).
        let (a1, a2) = (Uuid::new_v4(), Uuid::new_v4());
        let record = |analyse_id, person_image_id| CollectionMatchRecord { analyse_id, person_id: pid, person_image_id, collection_id: cid };
        app.domain.record_collection_match(&record(a1, Some(image_ids[0]))).await.unwrap();
        app.domain.record_collection_match(&record(a2, None)).await.unwrap();
        let image_url = |i: Uuid| format!("{}{pid}/images/{i}", persons_url(cid));
        let r = app.delete(&image_url(image_ids[0]), &token).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains(&a1.to_string()), "{}", r.text);
        assert_eq!(r.body["error_details"]["analyse_ids"], json!([a1]));
        // A photo no analysis matched goes; the person, matched by both analyses, stays.
        app.delete(&image_url(image_ids[1]), &token).await.assert_status(204);
        let r = app.delete(&format!("{}{pid}", persons_url(cid)), &token).await;
        r.assert_error(400, 4);
        let mut named = vec![json!(a1), json!(a2)];
        named.sort_by_key(|v| v.as_str().unwrap().to_owned());
        let mut got = r.body["error_details"]["analyse_ids"].as_array().unwrap().clone();
        got.sort_by_key(|v| v.as_str().unwrap().to_owned());
        assert_eq!(got, named);
        assert!(r.body["error_message"].as_str().unwrap().starts_with("Person has related analyses"), "{}", r.text);
        assert_eq!(app.get(&format!("{}{pid}/images", persons_url(cid)), &token).await.body.as_array().unwrap().len(), 2);
        app.delete(&format!("/api/collections/{cid}"), &token).await.assert_error(400, 4);
    }

    async fn search_finds_the_enrolled_person(app) {
        let Some(p) = face_photos("search_finds_the_enrolled_person", &["obama.jpg", "biden.jpg", "obama2.jpg"]) else { return };
        let (company, token) = company_admin(&app).await;
        let cid = collection(&app, &token, "blacklist").await;
        let obama = add_person(&app, &token, cid, &[("obama.jpg", p[0].clone())], json!({})).await.assert_status(201).id("person_id");
        let biden = add_person(&app, &token, cid, &[("biden.jpg", p[1].clone())], json!({})).await.assert_status(201).id("person_id");
        // A third photo of one of them, as a COLLECTION analysis would search with it.
        let probe = template_of(&app, &p[2]);
        let hits = app.domain.search_collections(Some(company), None, &probe, 5, None).await.unwrap();
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert_eq!((hits[0].person_id, hits[0].collection_id, hits[0].alias.as_str()), (obama, cid, "blacklist"));
        assert!(hits[0].confidence >= 0.85 && hits[1].confidence < 0.85, "{hits:?}");
        assert_eq!(hits[1].person_id, biden);
        // The threshold, the collection filter and tenancy.
        let found = app.domain.search_collections(Some(company), Some(&[cid]), &probe, 5, Some(0.85)).await.unwrap();
        assert_eq!(found.iter().map(|h| h.person_id).collect::<Vec<_>>(), [obama]);
        let (other, _) = company_admin(&app).await;
        assert!(app.domain.search_collections(Some(other), None, &probe, 5, None).await.unwrap().is_empty());
        assert!(app.domain.search_collections(Some(other), Some(&[cid]), &probe, 5, None).await.is_err());
        assert_eq!(app.domain.search_collections(None, None, &probe, 1, None).await.unwrap()[0].person_id, obama);
        // Deleting is seen by the very next search.
        app.delete(&format!("{}{obama}", persons_url(cid)), &token).await.assert_status(204);
        let after = app.domain.search_collections(Some(company), None, &probe, 5, None).await.unwrap();
        assert_eq!(after.iter().map(|h| h.person_id).collect::<Vec<_>>(), [biden]);
        assert_eq!(app.domain.gallery.len(), 1);
    }

    async fn other_nodes_replay_the_change_feed_and_restarts_use_the_snapshot(app) {
        use emerald::domain::collections::gallery::GallerySync;
        let Some(p) = face_photos("other_nodes_replay_the_change_feed_and_restarts_use_the_snapshot", &["obama.jpg", "biden.jpg", "obama2.jpg"]) else { return };
        let (company, token) = company_admin(&app).await;
        let cid = collection(&app, &token, "blacklist").await;
        // A second server on the same database: it loaded the gallery at start.
        let other = app.sibling(|_| {}).await;
        assert_eq!(other.domain.sync_gallery().await.unwrap(), GallerySync::UpToDate);
        let obama = add_person(&app, &token, cid, &[("obama.jpg", p[0].clone())], json!({})).await.assert_status(201).id("person_id");
        let r = add_person(&app, &token, cid, &[("biden.jpg", p[1].clone())], json!({})).await;
        let biden = r.assert_status(201).id("person_id");
        // Enrolled on the first node: the other replays two feed rows (no full reload) and finds them.
        assert_eq!(other.domain.sync_gallery().await.unwrap(), GallerySync::Replayed(2));
        let probe = template_of(&app, &p[2]);
        let hits = other.domain.search_collections(Some(company), None, &probe, 5, None).await.unwrap();
        assert_eq!(hits.iter().map(|h| h.person_id).collect::<Vec<_>>(), [obama, biden]);
        // A deletion on the first node is replayed too; deleted templates never come back.
        app.delete(&format!("{}{obama}", persons_url(cid)), &token).await.assert_status(204);
        assert_eq!(other.domain.sync_gallery().await.unwrap(), GallerySync::Replayed(1));
        let hits = other.domain.search_collections(Some(company), None, &probe, 5, None).await.unwrap();
        assert_eq!(hits.iter().map(|h| h.person_id).collect::<Vec<_>>(), [biden]);
        assert_eq!(other.domain.gallery.len(), 1);
        // A fresh process on the same data directory starts from the snapshot written when the
        // gallery was first loaded, and replays the feed since: no full reload.
        let snapshots: Vec<_> = std::fs::read_dir(&app.config.data_dir).unwrap().flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("gallery-")).collect();
        assert_eq!(snapshots.len(), 1, "one snapshot file, named after the database");
        let fresh = emerald::open_domain(&app.config).await.unwrap();
        assert_eq!(fresh.sync_gallery().await.unwrap(), GallerySync::Replayed(3));
        assert_eq!(fresh.gallery.len(), 1);
        let hits = fresh.search_collections(Some(company), None, &probe, 5, None).await.unwrap();
        assert_eq!(hits.iter().map(|h| h.person_id).collect::<Vec<_>>(), [biden]);
        // A feed pruned past a server's generation makes it reload everything.
        let r = add_person(&app, &token, cid, &[("obama2.jpg", p[2].clone())], json!({})).await;
        r.assert_status(201);
        app.domain.store.prune_gallery_changes(0).await.unwrap();
        assert_eq!(other.domain.sync_gallery().await.unwrap(), GallerySync::Reloaded);
        assert_eq!(other.domain.gallery.len(), 2);
    }
}

/// Without model files the server starts; enrolment answers code 2 naming what is missing.
#[tokio::test]
async fn enrolment_without_models_answers_code_2() {
    let models = tempfile::tempdir().unwrap();
    let dir = models.path().to_path_buf();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c| c.models_dir = Some(dir)).await;
    let (_, token) = company_admin(&app).await;
    let cid = collection(&app, &token, "blacklist").await;
    let r = app.upload(&persons_url(cid), &token, vec![Part::File("image1", "a.jpg", jpeg(64, 64))]).await;
    r.assert_error(501, 2);
    assert!(r.body["error_message"].as_str().unwrap().contains("fetch-models"), "{}", r.text);
    assert!(app
        .domain
        .search_collections(
            None,
            None,
            &emerald::domain::model::face::Template { model_id: "m".into(), vector: vec![1.0; 512] },
            1,
            None
        )
        .await
        .is_err());
    // Everything else about collections works.
    app.get(&persons_url(cid), &token).await.assert_status(200);
    app.delete(&format!("/api/collections/{cid}"), &token).await.assert_status(204);
}
