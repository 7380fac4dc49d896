//! `GET /metrics`: exact counters for the app a test talks to (each app has
//! its own registry), route templates rather than raw paths, and the
//! separate listener of `FLASHBOOK_METRICS_ADDR`.

use std::collections::HashMap;

use crate::concurrency::book_all_at_once;
use crate::helpers::{assert_problem, spawn_app_with, AppOptions, TestApp};

/// The samples of an exposition: `name{labels}` exactly as written → value.
pub fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

impl TestApp {
    /// The exposition text, from the API port or the metrics listener.
    pub async fn metrics_text(&self) -> String {
        let base = self.metrics_address.as_deref().unwrap_or(&self.address);
        let response = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        response.text().await.unwrap()
    }

    pub async fn metrics(&self) -> HashMap<String, f64> {
        samples(&self.metrics_text().await)
    }
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

fn outcome(samples: &HashMap<String, f64>, outcome: &str) -> f64 {
    value(
        samples,
        &format!("flashbook_booking_outcomes_total{{outcome=\"{outcome}\"}}"),
    )
}

#[tokio::test]
async fn booking_outcomes_and_seats_are_counted_exactly_one_per_transaction() {
    booking_outcomes_and_seats_are_counted_exactly(1).await;
}

#[tokio::test]
async fn booking_outcomes_and_seats_are_counted_exactly_batched() {
    booking_outcomes_and_seats_are_counted_exactly(256).await;
}

async fn booking_outcomes_and_seats_are_counted_exactly(batch_max: usize) {
    let app = spawn_app_with(AppOptions {
        batch_max: Some(batch_max),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(3).await;
    let users = app.insert_users(4).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    assert_eq!(app.book(event, users[0]).await.status(), 409); // already_booked
    assert_eq!(app.book_with_key(event, users[1], "k1").await.status(), 201);
    let replay = app.book_with_key(event, users[1], "k1").await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let booked = app.book(event, users[2]).await;
    assert_eq!(booked.status(), 201);
    let booking_id = crate::helpers::created_id(booked).await;
    // Asked before the sold_out answer: from then on this replica answers
    // the event sold_out from memory, whoever asks (crate::sold_out).
    assert_eq!(app.book(event, users[3] + 1000).await.status(), 404);
    assert_eq!(app.book(event, users[3]).await.status(), 409); // sold_out
                                                               // The database said sold out; this one is answered from memory.
    assert_eq!(app.book(event, users[3]).await.status(), 409);
    assert_eq!(app.book(event + 1000, users[3]).await.status(), 404);
    assert_eq!(
        app.get_as_owner(&format!("/bookings/{booking_id}"))
            .await
            .status(),
        200
    );
    assert_eq!(app.get("/no/such/route").await.status(), 404);

    let metrics = app.metrics().await;
    assert_eq!(value(&metrics, "flashbook_seats_booked_total"), 3.0);
    assert_eq!(app.sale_state(event).await.confirmed, 3);
    assert_eq!(outcome(&metrics, "booked"), 3.0);
    assert_eq!(outcome(&metrics, "already_booked"), 1.0);
    assert_eq!(outcome(&metrics, "sold_out"), 2.0);
    assert_eq!(outcome(&metrics, "event_not_found"), 1.0);
    assert_eq!(outcome(&metrics, "user_not_found"), 1.0);
    assert_eq!(value(&metrics, "flashbook_idempotent_replays_total"), 1.0);
    // 201s: two plain bookings, one keyed and its replay.
    let created = "http_server_request_duration_seconds_count{http_request_method=\"POST\",\
                   http_route=\"/bookings\",http_response_status_code=\"201\"}";
    assert_eq!(value(&metrics, created), 4.0, "{metrics:#?}");
    // The route is the template, never the path with the id in it.
    let get_booking = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                       http_route=\"/bookings/{id}\",http_response_status_code=\"200\"}";
    assert_eq!(value(&metrics, get_booking), 1.0, "{metrics:#?}");
    let unmatched = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                     http_route=\"unmatched\",http_response_status_code=\"404\"}";
    assert_eq!(value(&metrics, unmatched), 1.0, "{metrics:#?}");
    assert!(
        !metrics
            .keys()
            .any(|series| series.contains(&format!("/{booking_id}\""))
                || series.contains("/no/such/route")),
        "a raw path became a label: {metrics:#?}"
    );
    if batch_max > 1 {
        assert!(value(&metrics, "flashbook_booking_batch_size_count") >= 5.0);
        assert!(value(&metrics, "flashbook_booking_batch_duration_seconds_count") >= 5.0);
    } else {
        assert_eq!(value(&metrics, "flashbook_booking_batch_size_count"), 0.0);
    }
    // Read at scrape time.
    for series in [
        "flashbook_db_pool_connections{state=\"in_use\"}",
        "flashbook_db_pool_connections{state=\"idle\"}",
        "http_server_active_requests",
        "flashbook_db_pool_timeouts_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(
            metrics.contains_key(series),
            "{series} missing: {metrics:#?}"
        );
    }
    assert!(value(&metrics, "flashbook_db_pool_wait_seconds_count") >= 1.0);
    // The scrape itself is in flight while it is rendered.
    assert_eq!(value(&metrics, "http_server_active_requests"), 1.0);
}

/// The compose proof sums `flashbook_seats_booked_total` over the replicas
/// and compares it with the database: under a real rush, in both modes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seats_booked_equals_the_database_after_a_rush() {
    for batch_max in [1, 256] {
        let app = spawn_app_with(AppOptions {
            batch_max: Some(batch_max),
            ..AppOptions::default()
        })
        .await;
        let event = app.create_sale(20).await;
        let users = app.insert_users(200).await;
        let tally = book_all_at_once(&app, &app.address, event, &users).await;
        assert_eq!(tally.created, 20, "{tally:?}");
        let metrics = app.metrics().await;
        let state = app.sale_state(event).await;
        assert_eq!(
            value(&metrics, "flashbook_seats_booked_total"),
            state.confirmed as f64,
            "batch_max {batch_max}"
        );
        assert_eq!(outcome(&metrics, "booked"), 20.0);
        assert_eq!(outcome(&metrics, "sold_out"), 180.0);
    }
}

#[tokio::test]
async fn a_metrics_address_moves_metrics_off_the_api_port() {
    let app = spawn_app_with(AppOptions {
        metrics_addr: Some("127.0.0.1:0".to_owned()),
        ..AppOptions::default()
    })
    .await;
    assert!(app.metrics_address.is_some());
    let event = app.create_sale(1).await;
    let user = app.insert_users(1).await[0];
    assert_eq!(app.book(event, user).await.status(), 201);

    assert_problem(app.get("/metrics").await, 404, "not_found").await;
    let document = app.openapi_document().await;
    assert!(document["paths"].get("/metrics").is_none());

    let metrics = app.metrics().await;
    assert_eq!(value(&metrics, "flashbook_seats_booked_total"), 1.0);
}

#[tokio::test]
async fn prometheus_gets_openmetrics_when_it_asks() {
    let app = spawn_app_with(AppOptions::default()).await;
    let response = app
        .http
        .get(app.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(response.text().await.unwrap().ends_with("# EOF\n"));
}
