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
            .env("EMERALD_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Read stdout until the listening line; collect what came before it.
    fn until_listening(child: &mut std::process::Child) -> (Vec<String>, String) {
        let out = child.stdout.take().unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            if let Some(addr) = line.strip_prefix("Emerald listening on ") {
                return (lines, addr.to_owned());
            }
            lines.push(line);
        }
        panic!("server exited before listening; printed {lines:?}");
    }

    let mut first = Child(start());
    let (printed, base) = until_listening(&mut first.0);
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
