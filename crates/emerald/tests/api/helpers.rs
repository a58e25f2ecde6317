//! `TestApp`: the real server (`App::build`) on 127.0.0.1:0 with a fresh data dir, talking
//! HTTP. On PostgreSQL each app gets its own schema, dropped afterwards.

use std::net::SocketAddr;

use emerald::{App, Config, Plugins};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "admin@test.local";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "user-password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run each listed test on SQLite and, when `DATABASE_URL` names a PostgreSQL server, on
/// PostgreSQL (without it the PostgreSQL twins return at once; `scripts/test.sh` says so).
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    if !$crate::helpers::postgres_available() {
                        return;
                    }
                    let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await;
                    $body
                }
            )*
        }
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))
}

pub fn postgres_available() -> bool {
    postgres_url().is_some()
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The console's own listener (`EMERALD_CONSOLE_LISTEN`), when it has one.
    pub console_addr: Option<SocketAddr>,
    pub backend: Backend,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub data_dir: tempfile::TempDir,
    /// The running app's domain (for driving the queue and reading the store directly).
    pub domain: emerald::domain::Domain,
    pub workers: emerald::jobs::WorkerSettings,
    pub config: Config,
    pg_schema: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A response: status, headers and the parsed body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Res {
    /// Assert the Oz error envelope with this code and status.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: u64) -> &Self {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.text);
        assert_eq!(self.body["error_code"], json!(code), "error_code of {}", self.text);
        assert!(self.body["error_message"].is_string(), "error_message in {}", self.text);
        assert_eq!(self.body["error_details"], self.body["details"], "details twins in {}", self.text);
        self
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.text);
        self
    }

    pub fn id(&self, key: &str) -> Uuid {
        Uuid::parse_str(self.body[key].as_str().unwrap_or_else(|| panic!("{key} in {}", self.text))).unwrap()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_full(backend, tweak, Plugins::default()).await
    }

    pub async fn spawn_full(backend: Backend, tweak: impl FnOnce(&mut Config), plugins: Plugins) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.path().to_path_buf(),
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            ..Config::default()
        };
        let pg_schema = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let (url, schema) = fresh_pg_schema().await;
                config.database_url = Some(url);
                Some(schema)
            }
        };
        tweak(&mut config);
        Self::start(backend, config, data_dir, pg_schema, plugins).await
    }

    async fn start(
        backend: Backend,
        config: Config,
        data_dir: tempfile::TempDir,
        pg_schema: Option<String>,
        plugins: Plugins,
    ) -> TestApp {
        Self::start_app(backend, config, data_dir, pg_schema, Some(plugins)).await
    }

    /// `plugins` None: [`App::build`]'s defaults.
    async fn start_app(
        backend: Backend,
        config: Config,
        data_dir: tempfile::TempDir,
        pg_schema: Option<String>,
        plugins: Option<Plugins>,
    ) -> TestApp {
        let app = match plugins {
            Some(p) => App::build_with(config.clone(), p).await.expect("App::build_with"),
            None => App::build(config.clone()).await.expect("App::build"),
        };
        let addr = app.addr();
        let console_addr = app.console_addr();
        let domain = app.domain().clone();
        let workers = app.worker_settings().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder().build().unwrap();
        let mut t = TestApp {
            addr,
            console_addr,
            backend,
            client,
            admin_token: String::new(),
            data_dir,
            domain,
            workers,
            config,
            pg_schema,
            shutdown: Some(tx),
            server: Some(server),
        };
        t.admin_token = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200).body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        t
    }

    /// Stop the server and its workers (after the jobs in hand), and wait for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("server task").expect("server");
        }
    }

    /// Stop this app and start a new one on the same data dir and database, with `tweak`
    /// applied to the same configuration.
    pub async fn restart(self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        tweak(&mut config);
        self.respawn(config, Plugins::default()).await
    }

    /// Stop this app and start it again as [`App::build`] builds it (the default plugins:
    /// COLLECTION analyses search the collections gallery).
    pub async fn respawn_default(mut self) -> TestApp {
        self.stop().await;
        let config = self.config.clone();
        let pg_schema = self.pg_schema.take();
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        Self::start_app(self.backend, config, data_dir, pg_schema, None).await
    }

    /// Stop this app and start one with `config` and `plugins` on the same data dir and database.
    pub async fn respawn(mut self, config: Config, plugins: Plugins) -> TestApp {
        self.stop().await;
        let pg_schema = self.pg_schema.take();
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        Self::start(self.backend, config, data_dir, pg_schema, plugins).await
    }

    /// A second app on the same database (and, for SQLite, data dir, through the shared
    /// configuration), as another server process would be. Its own `data_dir` is an empty
    /// placeholder.
    pub async fn sibling(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        tweak(&mut config);
        Self::start(self.backend, config, tempfile::tempdir().expect("temp dir"), None, Plugins::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Any request; `body` is sent as JSON text with whatever `content_type` is given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        content_type: Option<&str>,
    ) -> Res {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.header("X-Forensic-Access-Token", t);
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        if let Some(b) = body {
            req = req.body(serde_json::to_vec(b).unwrap());
        }
        let res = req.send().await.expect("request");
        into_res(res).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.send(Method::GET, path, Some(token), None, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Res {
        self.send(Method::POST, path, Some(token), Some(&body), Some("application/json")).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Res {
        self.send(Method::PATCH, path, Some(token), Some(&body), Some("application/json")).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Res {
        self.send(Method::DELETE, path, Some(token), None, None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Res {
        let body = json!({"credentials": {"email": email, "password": password}});
        self.send(Method::POST, "/api/authorize/auth", None, Some(&body), Some("application/json")).await
    }

    pub async fn token_of(&self, email: &str, password: &str) -> String {
        self.login(email, password).await.assert_status(200).body["access_token"].as_str().unwrap().to_owned()
    }

    /// A new company (as ADMIN).
    pub async fn company(&self, name: &str) -> Uuid {
        self.post("/api/companies/", &self.admin_token, json!({"name": name})).await.assert_status(201).id("company_id")
    }

    /// A new user of `user_type` in `company` (as ADMIN), logged in: (user_id, email, token).
    pub async fn user(&self, company: Option<Uuid>, user_type: &str) -> (Uuid, String, String) {
        let email = format!("{}@example.com", Uuid::new_v4().simple());
        let body = json!({"email": email, "password": PASSWORD, "user_type": user_type, "company_id": company,
            "first_name": "Test", "last_name": user_type});
        let id = self.post("/api/users/", &self.admin_token, body).await.assert_status(201).id("user_id");
        let token = self.token_of(&email, PASSWORD).await;
        (id, email, token)
    }
}

pub async fn into_res(res: reqwest::Response) -> Res {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res { status, headers, text, body }
}

async fn fresh_pg_schema() -> (String, String) {
    use sqlx::Connection;
    let base = postgres_url().expect("DATABASE_URL");
    let schema = format!("emerald_test_{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base).await.expect("connect to DATABASE_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    // The schema's name is also the server's application_name, so that the drop can end the
    // sessions a stopped server left behind.
    (format!("{base}{sep}options=-c%20search_path%3D{schema}&application_name={schema}"), schema)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let (Some(schema), Some(url)) = (self.pg_schema.take(), postgres_url()) {
            // Drop the schema from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                        // The stopped server's sessions first. Its tasks run on the test's
                        // runtime, which this join blocks: a transaction one of them had open
                        // (an analysis' result, cut off mid-way) can neither finish nor roll
                        // back, and would hold the schema's locks for ever. Then the drop,
                        // bounded all the same; a schema left behind is harmless.
                        let _ = sqlx::query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        )
                        .bind(&schema)
                        .execute(&mut c)
                        .await;
                        let _ = sqlx::query("SET lock_timeout = '10s'").execute(&mut c).await;
                        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c).await;
                    }
                });
            })
            .join();
        }
    }
}

/// One multipart part of an upload.
pub enum Part {
    /// A file part: (part name, file name, bytes).
    File(&'static str, &'static str, Vec<u8>),
    /// The `payload` part as plain text (no filename, no content type).
    Payload(String),
}

impl TestApp {
    /// A multipart POST with these parts, in this order.
    pub async fn upload(&self, path: &str, token: &str, parts: Vec<Part>) -> Res {
        let mut form = reqwest::multipart::Form::new();
        for p in parts {
            form = match p {
                Part::File(name, file, bytes) => {
                    form.part(name, reqwest::multipart::Part::bytes(bytes).file_name(file))
                }
                Part::Payload(text) => form.part("payload", reqwest::multipart::Part::text(text)),
            };
        }
        let res = self
            .client
            .post(self.url(path))
            .header("X-Forensic-Access-Token", token)
            .multipart(form)
            .send()
            .await
            .expect("request");
        into_res(res).await
    }

    /// GET raw bytes (for `/static/…`).
    pub async fn get_bytes(&self, url: &str, token: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>) {
        let mut req = self.client.get(url);
        if let Some(t) = token {
            req = req.header("X-Forensic-Access-Token", t);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, ct, res.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    }

    /// Files under the media directory (blobs), recursively.
    pub fn blob_files(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else {
                        out.push(p);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data_dir.path().join("media"), &mut out);
        out
    }

    /// Files left in the upload spool directory.
    pub fn spool_files(&self) -> usize {
        std::fs::read_dir(self.data_dir.path().join("tmp")).map(|rd| rd.count()).unwrap_or(0)
    }
}

/// The real face photos of `scripts/fetch-test-images.sh` with the face models of
/// `scripts/fetch-models.sh`, or None after printing that `test` is SKIPPED and why: such a
/// test never passes silently without them.
pub fn face_photos(test: &str, names: &[&str]) -> Option<Vec<Vec<u8>>> {
    if let Err(why) = emerald::engine::load(None, emerald::config::Embedder::Fused) {
        println!("SKIPPED {test}: the face models are not installed ({why}); run scripts/fetch-models.sh");
        return None;
    }
    let dir = test_images_dir();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => out.push(bytes),
            Err(e) => {
                println!(
                    "SKIPPED {test}: test image {} is missing ({e}); run scripts/fetch-test-images.sh",
                    dir.join(name).display()
                );
                return None;
            }
        }
    }
    Some(out)
}

/// `EMERALD_TEST_IMAGES_DIR`, else `~/.cache/emerald/test-images`.
pub fn test_images_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("EMERALD_TEST_IMAGES_DIR").filter(|d| !d.is_empty()) {
        return d.into();
    }
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| ".".into())
        .join(".cache/emerald/test-images")
}

/// Small real media, generated (documented here rather than committed as binaries).
pub mod fixtures {
    use std::io::{Cursor, Write};

    /// A `w`×`h` JPEG of a colour gradient.
    pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    /// A JPEG of noise: it barely compresses (about a byte per pixel).
    pub fn noisy_jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let img = image::RgbImage::from_fn(w, h, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let [r, g, b, ..] = state.to_le_bytes();
            image::Rgb([r, g, b])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    pub fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(y % 256) as u8, 64, (x % 256) as u8]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// The head of an MP4 (an `ftyp` box and an empty `mdat`): enough for the container check.
    pub fn mp4() -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftypmp42");
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(b"mp42isom");
        v.extend_from_slice(&[0, 0, 0, 8]);
        v.extend_from_slice(b"mdat");
        v.extend(std::iter::repeat_n(0u8, 1000));
        v
    }

    /// A ZIP holding these entries.
    pub fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            for (name, bytes) in entries {
                z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
                z.write_all(bytes).unwrap();
            }
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    /// A JPEG cut in half: right magic, corrupt body.
    pub fn truncated_jpeg() -> Vec<u8> {
        let mut j = jpeg(64, 64);
        j.truncate(j.len() / 2);
        j
    }
}

/// Replace the volatile values of an object (ids, times, URLs' host) for whole-body asserts.
pub fn redact(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if keys.contains(&k.as_str()) && !val.is_null() {
                    *val = json!("<redacted>");
                } else {
                    redact(val, keys);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, keys)),
        _ => {}
    }
}
