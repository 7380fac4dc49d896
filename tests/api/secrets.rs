//! Closed by default (issue 21, point 6): the service refuses short and
//! published secrets at start-up, and admin routes take only the exact token.

use std::process::Command;

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, ADMIN_TOKEN};

/// The service binary itself, started with one secret set to `value`: it
/// must exit with an error naming the variable before touching the database
/// (no database is reachable at the address given), and never print the
/// value.
fn start_up_error(name: &str, value: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_flashbook"))
        .env_clear()
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("FLASHBOOK_STARTUP_DB_WAIT_MS", "1")
        .env(name, value)
        .output()
        .expect("the service binary runs");
    assert!(!output.status.success(), "{name}={value:?} was accepted");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(log.contains(name), "{log}");
    assert!(!log.contains(value), "the secret was printed: {log}");
    log
}

#[test]
fn published_defaults_and_short_secrets_stop_the_start() {
    for name in ["FLASHBOOK_ADMIN_TOKEN", "FLASHBOOK_PASS_SECRET"] {
        // The defaults docker-compose.yml and the README once printed.
        for published in ["change-me-admin-token", "change-me-pass-secret"] {
            let log = start_up_error(name, published);
            assert!(log.contains("published"), "{log}");
        }
        let log = start_up_error(name, &"x".repeat(31));
        assert!(log.contains("is 31 bytes"), "{log}");
        assert!(log.contains("at least 32"), "{log}");
    }
}

#[test]
fn long_random_secrets_pass_the_check() {
    // Gets past the secret checks to the database, which is not there.
    let secret = "0123456789abcdef0123456789abcdef";
    for name in ["FLASHBOOK_ADMIN_TOKEN", "FLASHBOOK_PASS_SECRET"] {
        let output = Command::new(env!("CARGO_BIN_EXE_flashbook"))
            .env_clear()
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("FLASHBOOK_STARTUP_DB_WAIT_MS", "1")
            .env(name, secret)
            .output()
            .expect("the service binary runs");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(!log.contains(name), "{log}");
        assert!(log.contains("database"), "{log}");
    }
}

#[tokio::test]
async fn admin_routes_take_only_the_exact_token() {
    let app = spawn_app().await;
    let venue = json!({"name": "Arena", "capacity": 10});
    let mut last_byte_changed = ADMIN_TOKEN.to_owned();
    last_byte_changed.pop();
    last_byte_changed.push('?');
    let near_misses = [
        ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1].to_owned(),
        last_byte_changed,
        format!("{ADMIN_TOKEN}x"),
        ADMIN_TOKEN.to_uppercase(),
    ];
    for token in near_misses {
        let response = app
            .http
            .post(app.url("/venues"))
            .bearer_auth(&token)
            .json(&venue)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
    }
    assert_eq!(app.post_as_admin("/venues", venue).await.status(), 201);
}
