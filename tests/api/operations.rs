use std::time::Duration;

use flashbook::startup::Application;
use serde_json::Value;

use crate::helpers::{assert_problem, settings_for, spawn_app, AppOptions};

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn ready_answers_ok_while_the_database_answers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/ready").await.status(), 200);
}

/// Ends every session of `dbname` that started before this call and waits
/// until none is left (bounded). A setting just changed on a database reaches
/// only the sessions that start after it, and `pg_terminate_backend` misses
/// a session the app was opening as the change ran: it shows up a moment
/// later, still with the old setting.
async fn end_earlier_sessions(admin: &tokio_postgres::Client, dbname: &str) {
    let since: chrono::DateTime<chrono::Utc> = admin
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .unwrap()
        .get(0);
    for _ in 0..50 {
        let left: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
                  WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_start < $2",
                &[&dbname, &since],
            )
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sessions of {dbname} started before {since} outlived 50 rounds of termination");
}

#[tokio::test]
async fn ready_is_503_with_retry_after_when_the_database_refuses_connections() {
    let app = spawn_app().await;
    let dbname = app.database_url.rsplit('/').next().unwrap().to_owned();
    let admin = app.admin_db().await;
    admin
        .batch_execute(&format!("ALTER DATABASE {dbname} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    end_earlier_sessions(&admin, &dbname).await;
    let response = app.get("/ready").await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "database_unavailable").await;
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    // Which paths it lists, and that they match the router: routes.rs.
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(document["paths"]
        .as_object()
        .is_some_and(|paths| !paths.is_empty()));
    let ui = app.get("/swagger-ui/").await;
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects
        .get(app.url("/swagger-ui"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/swagger-ui/");
    let redirect = no_redirects
        .get(app.url("/swagger-ui?url=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        redirect.headers()["location"],
        "/swagger-ui/?url=x",
        "the query kept"
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/nowhere").await, 404, "not_found").await;
    let response = app.http.put(app.url("/bookings")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn start_up_fails_with_a_clear_message_when_the_database_is_unreachable() {
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = settings_for(
        &format!("postgres://postgres@127.0.0.1:{unused_port}/flashbook"),
        &AppOptions::default(),
    );
    settings.database.startup_wait = Duration::ZERO;
    let error = Application::build(settings)
        .await
        .err()
        .expect("start-up must fail");
    let message = flashbook::telemetry::error_chain(&error);
    assert!(
        message.contains("cannot connect to PostgreSQL"),
        "{message}"
    );
    assert!(message.contains(&unused_port.to_string()), "{message}");
}

/// A database that accepts no writes (a standby during a failover, here a
/// database set read-only): `/ready` says not ready and a booking is a `503`
/// to retry, never a `500`; once writes are accepted again, booking works
/// without a restart.
#[tokio::test]
async fn a_read_only_database_is_not_ready_and_bookings_are_503() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let user = app.create_user("standby@example.com").await;
    let dbname = app.database_url.rsplit('/').next().unwrap().to_owned();
    let admin = app.admin_db().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {dbname} SET default_transaction_read_only = on"
        ))
        .await
        .unwrap();
    end_earlier_sessions(&admin, &dbname).await;

    let response = app.get("/ready").await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "database_unavailable").await;
    let response = app.book(event, user).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "database_unavailable").await;

    admin
        .batch_execute(&format!(
            "ALTER DATABASE {dbname} RESET default_transaction_read_only"
        ))
        .await
        .unwrap();
    end_earlier_sessions(&admin, &dbname).await;
    // The terminated sessions are replaced on checkout (the first answers
    // may still be 503 while that happens).
    let mut status = 0;
    for _ in 0..50 {
        status = app.book(event, user).await.status().as_u16();
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 201);
    assert_eq!(app.get("/ready").await.status(), 200);
}
