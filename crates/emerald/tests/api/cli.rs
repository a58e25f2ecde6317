//! The binary itself: first start on an empty database prints the first ADMIN once, and
//! `emerald admin create` adds one from the command line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use emerald::{App, Config};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_emerald");

/// Kills the child server when the test ends, whatever happens.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn first_start_creates_and_prints_the_first_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env_remove("EMERALD_ADMIN_EMAIL")
            .env_remove("EMERALD_ADMIN_PASSWORD")
            .env_remove("EMERALD_DATABASE_URL")
            .env("EMERALD_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Read stdout until the listening line; collect what came before it.
    fn until_listening(child: &mut std::process::Child) -> (Vec<String>, String) {
        let out = child.stdout.take().unwrap();
        let mut lines = Vec::new();
        let mut reader = BufReader::new(out).lines();
        while let Some(line) = reader.next() {
            let line = line.unwrap();
            if let Some(addr) = line.strip_prefix("Emerald listening on ") {
                let addr = addr.to_owned();
                // Keep reading what the server prints next, so that it never blocks on a full pipe.
                std::thread::spawn(move || reader.for_each(drop));
                return (lines, addr);
            }
            lines.push(line);
        }
        panic!("server exited before listening; printed {lines:?}");
    }

    let mut first = Child(start());
    let (printed, base) = until_listening(&mut first.0);
    // Logs to a pipe are plain text: no ANSI colour codes.
    assert!(printed.iter().any(|l| l.contains("INFO")), "{printed:?}");
    assert!(printed.iter().all(|l| !l.contains('\x1b')), "{printed:?}");
    assert!(printed.iter().any(|l| l.starts_with("Web console: http://")), "{printed:?}");
    let line = printed.iter().find(|l| l.starts_with("Created the first ADMIN")).expect("first-admin line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let email = words[words.iter().position(|w| *w == "email").unwrap() + 1];
    let password = words[words.iter().position(|w| *w == "password").unwrap() + 1];
    assert_eq!(email, emerald::DEFAULT_ADMIN_EMAIL);
    assert!(password.len() >= 20);
    let client = reqwest::Client::new();
    let login = json!({"credentials": {"email": email, "password": password}});
    let res = client.post(format!("{base}/api/authorize/auth")).json(&login).send().await.unwrap();
    assert_eq!(res.status(), 200);
    drop(first);

    // Second start: the database has a user, nothing is created or printed.
    let mut second = Child(start());
    let (printed, base) = until_listening(&mut second.0);
    assert!(printed.iter().all(|l| !l.contains("first ADMIN")), "{printed:?}");
    let res = client.post(format!("{base}/api/authorize/auth")).json(&login).send().await.unwrap();
    assert_eq!(res.status(), 200, "the first admin survives a restart");
}

#[tokio::test]
async fn admin_create_adds_an_admin_who_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(BIN)
        .args(["admin", "create", "--email", "ops@example.com", "--password", "ops-password-1", "--data-dir"])
        .arg(dir.path())
        .env_remove("EMERALD_DATABASE_URL")
        .status()
        .unwrap();
    assert!(status.success());
    let bad = Command::new(BIN)
        .args(["admin", "create", "--email", "not-an-email", "--password", "ops-password-1", "--data-dir"])
        .arg(dir.path())
        .env_remove("EMERALD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Invalid email"));

    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        admin_password: Some("unused-password".into()),
        ..Config::default()
    };
    let app = App::build(config).await.unwrap();
    assert!(app.first_admin().is_none(), "a database with an admin gets no generated one");
    let pair = app.domain().login("ops@example.com", "ops-password-1").await.unwrap();
    assert_eq!(pair.user.user_type.as_str(), "ADMIN");
}

/// `emerald collections import`: one folder per person, `person.json` metadata, rejected photos
/// reported with reasons, a second run skips what the first imported; a server running on the
/// same database sees the new persons at its next search.
#[tokio::test]
async fn collections_import_is_resumable_and_reports_rejections() {
    use crate::helpers::{face_photos, Backend, TestApp};
    let Some(p) = face_photos(
        "collections_import_is_resumable_and_reports_rejections",
        &["obama.jpg", "obama2.jpg", "biden.jpg", "obama3.jpg"],
    ) else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let company = app.company("Import").await;
    let (_, _, token) = app.user(Some(company), "CLIENT ADMIN").await;
    let cid = app
        .post("/api/collections", &token, json!({"alias": "blacklist"}))
        .await
        .assert_status(201)
        .id("collection_id");

    let dir = tempfile::tempdir().unwrap();
    let put = |rel: &str, bytes: &[u8]| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    put("obama/a.jpg", &p[0]);
    put("obama/b.jpg", &p[1]);
    put("obama/person.json", br#"{"person_info": {"last_name": "Obama"}}"#);
    put("biden/biden.jpg", &p[2]);
    // A photo without a face: a plain gradient.
    let no_face = crate::helpers::fixtures::jpeg(320, 240);
    put("biden/landscape.jpg", &no_face);
    put("nobody/landscape.jpg", &no_face);
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();

    let run = || {
        Command::new(BIN)
            .args(["collections", "import", "--quiet", "--collection", &cid.to_string(), "--data-dir"])
            .arg(app.data_dir.path())
            .arg(dir.path())
            .env_remove("EMERALD_DATABASE_URL")
            .env_remove("EMERALD_MODELS_DIR")
            .env("EMERALD_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("imported 2 persons (3 photos); 0 already imported, skipped; 3 rejected"), "{stdout}");
    assert!(stdout.contains("biden/landscape.jpg: no face found in the media"), "{stdout}");
    assert!(stdout.contains("nobody/landscape.jpg: no face found in the media"), "{stdout}");
    assert!(stdout.contains("empty: no photo to enrol"), "{stdout}");

    let again = run();
    let stdout = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(stdout.contains("imported 0 persons (0 photos); 2 already imported, skipped; 2 rejected"), "{stdout}");

    let persons = app.get(&format!("/api/collections/{cid}/persons"), &token).await;
    let persons = persons.assert_status(200).body.as_array().unwrap().clone();
    let mut keys: Vec<(String, usize)> = persons
        .iter()
        .map(|p| (p["meta_data"]["import_key"].as_str().unwrap().to_owned(), p["images"].as_array().unwrap().len()))
        .collect();
    keys.sort();
    assert_eq!(keys, [("biden".to_owned(), 1), ("obama".to_owned(), 2)]);
    let obama = persons.iter().find(|p| p["meta_data"]["import_key"] == json!("obama")).unwrap();
    assert_eq!(obama["meta_data"]["person_info"], json!({"last_name": "Obama"}));
    assert_eq!(obama["images"][0]["tags"], json!(["photo_selfie", "orientation_portrait"]));
    let (st, _, _) = app.get_bytes(obama["images"][0]["original_url"].as_str().unwrap(), Some(&token)).await;
    assert_eq!(st.as_u16(), 200);

    // The running server did not enrol these itself: its next search reloads the gallery.
    let probe = app.domain.faces().unwrap().enrol(&p[3]).unwrap().template;
    let hits = app.domain.search_collections(Some(company), None, &probe, 1, Some(0.85)).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(json!(hits[0].person_id), obama["person_id"]);
}

/// After an embedder change, 1:N searches over templates of the old model are refused (they
/// would miss those people) until `emerald collections reindex` has remade them from the stored
/// photos; a second run finds nothing left to do.
#[tokio::test]
async fn collections_reindex_remakes_templates_after_an_embedder_change() {
    use crate::helpers::{face_photos, Backend, TestApp};
    use emerald::config::Embedder;
    let Some(p) = face_photos(
        "collections_reindex_remakes_templates_after_an_embedder_change",
        &["obama.jpg", "biden.jpg", "obama2.jpg"],
    ) else {
        return;
    };
    // Enrolled with fr_feature (Emerald's embedder before the fusion).
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.embedder = Embedder::FrFeature).await;
    let company = app.company("Reindex").await;
    let (_, _, token) = app.user(Some(company), "CLIENT ADMIN").await;
    let cid = app
        .post("/api/collections", &token, json!({"alias": "blacklist"}))
        .await
        .assert_status(201)
        .id("collection_id");
    for (name, photo) in [("obama.jpg", &p[0]), ("biden.jpg", &p[1])] {
        let part = crate::helpers::Part::File("image1", name, photo.clone());
        app.upload(&format!("/api/collections/{cid}/persons/"), &token, vec![part]).await.assert_status(201);
    }
    let old = app.domain.faces().unwrap().models().embedder;

    // The same database under the fused embedder.
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: app.data_dir.path().to_path_buf(),
        embedder: Embedder::Fused,
        ..Config::default()
    };
    let fused = App::build(config).await.unwrap();
    let domain = fused.domain().clone();
    let probe = domain.faces().unwrap().enrol(&p[2]).unwrap().template;
    assert_ne!(probe.model_id, old);
    let refused = domain.search_collections(Some(company), None, &probe, 1, Some(0.85)).await.unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("emerald collections reindex") && message.contains(&old), "{message}");
    assert_eq!(domain.templates_to_reindex().await.unwrap(), 2);

    let run = || {
        Command::new(BIN)
            .args(["collections", "reindex", "--quiet", "--data-dir"])
            .arg(app.data_dir.path())
            .env_remove("EMERALD_DATABASE_URL")
            .env_remove("EMERALD_MODELS_DIR")
            .env("EMERALD_EMBEDDER", "fused")
            .env("EMERALD_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("remade 2 of 2 templates"), "{stdout}");
    assert_eq!(domain.templates_to_reindex().await.unwrap(), 0);
    // The running fused server sees the remade templates at its next search: Obama is found
    // with another photo, and only Obama.
    let hits = domain.search_collections(Some(company), None, &probe, 2, Some(0.85)).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let persons = app.get(&format!("/api/collections/{cid}/persons"), &token).await.assert_status(200).body.clone();
    let obama =
        persons.as_array().unwrap().iter().find(|x| x["images"][0]["original_name"] == json!("obama.jpg")).unwrap();
    assert_eq!(json!(hits[0].person_id), obama["person_id"]);
    // Nothing left: a second run remakes nothing.
    let again = String::from_utf8_lossy(&run().stdout).into_owned();
    assert!(again.contains("remade 0 of 0 templates"), "{again}");
}
