//! Spec §4.5, §6.2, §6.6: media of folders — adding, listing, reading, deleting, metadata, and
//! the kinds decided from content.

use serde_json::json;

use crate::both_backends;
use crate::helpers::fixtures::*;
use crate::helpers::*;
use crate::meta::walk_meta_contract;

both_backends! {
    async fn add_list_read_and_delete_media(app) {
        let c = app.company("Media Co").await;
        let (_, _, token) = app.user(Some(c), "CLIENT").await;
        let (_, _, cadmin) = app.user(Some(c), "CLIENT ADMIN").await;
        let f = app.send(reqwest::Method::POST, "/api/folders", Some(&token), None, None).await;
        let folder = f.assert_status(201).id("folder_id");
        let payload = json!({"media:tags": {"shots": ["video_selfie", "video_selfie_blank"]}, "media:meta_data": {"photo": {"side": "front"}}}).to_string();
        let r = app.upload(&format!("/api/folders/{folder}/media/"), &token, vec![
            Part::File("photo", "p.png", png(20, 10)),
            Part::Payload(payload),
            Part::File("shots", "frames.zip", zip(&[("0001.jpg", jpeg(16, 16)), ("0002.jpg", jpeg(16, 16))])),
        ]).await;
        r.assert_status(201);
        let media = r.body.as_array().unwrap().clone();
        assert_eq!(media.iter().map(|m| m["media_type"].clone()).collect::<Vec<_>>(), [json!("IMAGE_FOLDER"), json!("SHOTS_SET_FOLDER")]);
        assert_eq!(media[0]["meta_data"], json!({"side": "front"}));
        assert_eq!(media[1]["tags"], json!(["video_selfie", "video_selfie_blank"]));
        assert_eq!(media[1]["technical_meta_data"]["frames"], json!(2));
        assert!(media[1]["original_url"].as_str().unwrap().ends_with(".zip"));
        // The folder's media, bare array, upload order; the folder was touched.
        let list = app.get(&format!("/api/folders/{folder}/media"), &token).await;
        assert_eq!(list.assert_status(200).body, r.body);
        let got = app.get(&format!("/api/folders/{folder}"), &token).await;
        assert!(got.body["time_updated"].as_f64().unwrap() > f.body["time_updated"].as_f64().unwrap());
        // Global list with filters.
        let page = app.get("/api/media/?media_type=IMAGE", &token).await;
        assert_eq!(page.body["total_count"], json!(1));
        assert_eq!(page.body["items"][0], media[0]);
        assert_eq!(app.get("/api/media/?media_type=shots_set_folder", &token).await.body["total_count"], json!(1));
        assert_eq!(app.get(&format!("/api/media/?folder_id={folder}"), &token).await.body["total_count"], json!(2));
        assert_eq!(app.get("/api/media/?meta_data=side==front", &token).await.body["total_count"], json!(1));
        app.get("/api/media/?media_type=AUDIO", &token).await.assert_error(400, 5);
        let one = media[0]["media_id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/api/media/{one}"), &token).await.assert_status(200).body, media[0]);
        app.get("/api/media/xyz", &token).await.assert_error(400, 4);
        // Media metadata: the same contract as everywhere.
        walk_meta_contract(&app, &format!("/api/media/{one}/meta_data"), &token).await;
        // Deleting one file: CLIENT may not, CLIENT ADMIN may; its files go.
        app.delete(&format!("/api/media/{one}"), &token).await.assert_error(403, 9);
        // Two originals; no thumbnail was asked for, so none was made.
        assert_eq!(app.blob_files().len(), 2);
        app.delete(&format!("/api/media/{one}"), &cadmin).await.assert_status(204);
        app.get(&format!("/api/media/{one}"), &token).await.assert_error(404, 10);
        assert_eq!(app.blob_files().len(), 1);
        assert_eq!(app.get(&format!("/api/folders/{folder}/media"), &token).await.body.as_array().unwrap().len(), 1);
        // Adding to an unknown or foreign folder.
        let (_, _, stranger) = app.user(Some(app.company("Else").await), "CLIENT").await;
        app.upload(&format!("/api/folders/{folder}/media"), &stranger, vec![Part::File("p", "p.png", png(4, 4))]).await.assert_error(404, 10);
        app.upload(&format!("/api/folders/{}/media", uuid::Uuid::new_v4()), &token, vec![Part::File("p", "p.png", png(4, 4))]).await.assert_error(404, 10);
    }

    async fn kinds_come_from_content_not_names(app) {
        let (_, _, token) = app.user(Some(app.company("Kinds").await), "CLIENT").await;
        // A PNG named .mp4, an MP4 named .jpg: the bytes decide.
        let r = app.upload("/api/folders", &token, vec![Part::File("a", "video.mp4", png(8, 8)), Part::File("b", "photo.jpg", mp4())]).await;
        let m = &r.assert_status(201).body["media"];
        assert_eq!((m[0]["media_type"].clone(), m[1]["media_type"].clone()), (json!("IMAGE_FOLDER"), json!("VIDEO_FOLDER")));
        assert!(m[0]["original_url"].as_str().unwrap().ends_with(".png"));
        assert!(m[1]["original_url"].as_str().unwrap().ends_with(".mp4"));
        // A ZIP with too many entries is refused without unpacking it.
        let many: Vec<(String, Vec<u8>)> = (0..2001).map(|i| (format!("{i}.bmp"), b"BM".to_vec())).collect();
        let refs: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        let r = app.upload("/api/folders", &token, vec![Part::File("z", "many.zip", zip(&refs))]).await;
        r.assert_error(400, 4);
        assert!(r.body["error_message"].as_str().unwrap().contains("2000"), "{}", r.text);
    }
}
