//! `GET /events/{id}/live` (Server-Sent Events) and the dashboard page.

use std::time::{Duration, Instant};

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, created_id, spawn_app_with, spawn_app_with_handle, AppOptions, TestApp,
};
use crate::metrics::samples;

const TICK: Duration = Duration::from_millis(100);

async fn spawn_live_app(max_viewers: Option<usize>) -> TestApp {
    spawn_app_with(AppOptions {
        live_tick: Some(TICK),
        live_max_viewers: max_viewers,
        ..AppOptions::default()
    })
    .await
}

/// An open live view, read frame by frame.
struct LiveView {
    response: Response,
    buffer: String,
}

impl LiveView {
    async fn open(app: &TestApp, event: i64) -> Self {
        let response = app.get(&format!("/events/{event}/live")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next snapshot; panics if none comes within 5 s.
    async fn next(&mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let data = frame
                    .lines()
                    .find_map(|line| line.strip_prefix("data: "))
                    .unwrap_or_else(|| panic!("a frame without data: {frame:?}"));
                return serde_json::from_str(data).expect("a JSON snapshot");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk())
                .await
                .expect("a snapshot within 5 s")
                .expect("the stream stays readable")
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Reads snapshots until one satisfies `done`.
    async fn until(&mut self, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..50 {
            last = self.next().await;
            if done(&last) {
                return last;
            }
        }
        panic!("no snapshot matched within 50 ticks; the last: {last}");
    }

    /// Waits for the snapshot with `booked` and `held` seats, then checks
    /// that it and `GET /events/{id}` both show these and `remaining`.
    async fn expect_seats(&mut self, app: &TestApp, booked: i64, held: i64, remaining: i64) {
        let snapshot = self
            .until(|s| s["booked"] == booked && s["held"] == held)
            .await;
        let event = app.event(snapshot["event_id"].as_i64().unwrap()).await;
        for (field, expected) in [("booked", booked), ("held", held), ("remaining", remaining)] {
            assert_eq!(snapshot[field], expected, "live view {field}: {snapshot}");
            assert_eq!(
                event[field], expected,
                "GET /events/{{id}} {field}: {event}"
            );
        }
    }
}

async fn snapshot_reads(app: &TestApp) -> f64 {
    samples(&app.metrics_text().await)
        .get("flashbook_live_snapshot_reads_total")
        .copied()
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_stream_sends_exact_snapshots_as_seats_go() {
    let app = spawn_live_app(None).await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(4).await;
    for &user in &users[..2] {
        assert_eq!(app.book(event, user).await.status(), 201);
    }
    let mut view = LiveView::open(&app, event).await;
    let first = view.next().await;
    assert_eq!(first["event_id"], event);
    assert_eq!(first["capacity"], 5);
    assert_eq!(first["booked"], 2);
    assert_eq!(first["remaining"], 3);
    assert!(first["at"].is_string() && first["booked_per_s"].is_number());

    assert_eq!(app.book(event, users[2]).await.status(), 201);
    assert_eq!(app.book(event, users[2]).await.status(), 409);
    let later = view.until(|s| s["booked"] == 3).await;
    assert_eq!(later["remaining"], 2);
    assert_eq!(later["capacity"], 5);
}

/// A checkout sale: held seats are not remaining, on the live view as on
/// `GET /events/{id}`, until they are confirmed, released or expire.
#[tokio::test]
async fn held_seats_and_remaining_match_get_event_through_a_checkout() {
    let app = spawn_live_app(None).await;
    let event = app.create_sale_with(5, json!({"max_per_user": 2})).await;
    let users = app.insert_users(3).await;
    let mut view = LiveView::open(&app, event).await;
    view.expect_seats(&app, 0, 0, 5).await;

    let paying = created_id(app.hold(event, users[0], 2).await).await;
    let leaving = created_id(app.hold(event, users[1], 1).await).await;
    view.expect_seats(&app, 0, 3, 2).await;

    assert_eq!(app.confirm_hold(paying).await.status(), 201);
    view.expect_seats(&app, 2, 1, 2).await;

    assert_eq!(
        app.delete_as_owner(&format!("/holds/{leaving}"))
            .await
            .status(),
        200
    );
    view.expect_seats(&app, 2, 0, 3).await;

    let response = app
        .patch_as_admin(&format!("/events/{event}"), json!({"hold_seconds": 2}))
        .await;
    assert_eq!(response.status(), 200);
    created_id(app.hold(event, users[2], 1).await).await;
    view.expect_seats(&app, 2, 1, 2).await;
    // Expired at `expires_at`, whether or not the sweeper has run.
    view.expect_seats(&app, 2, 0, 3).await;
}

#[tokio::test]
async fn two_viewers_of_one_event_share_one_read_per_tick() {
    let app = spawn_live_app(None).await;
    let event = app.create_sale(5).await;
    let reads_before = snapshot_reads(&app).await;
    let mut first = LiveView::open(&app, event).await;
    let mut second = LiveView::open(&app, event).await;
    const TICKS: usize = 10;
    let started = Instant::now();
    for _ in 0..TICKS {
        first.next().await;
        second.next().await;
    }
    let reads = snapshot_reads(&app).await - reads_before;
    // One ticker: about one read per tick elapsed. A ticker per viewer would
    // read about twice as often.
    let ticks_elapsed = started.elapsed().as_secs_f64() / TICK.as_secs_f64();
    assert!(
        reads <= ticks_elapsed + 3.0,
        "{reads} reads in {ticks_elapsed:.1} ticks with two viewers"
    );
    assert!(reads >= TICKS as f64, "{reads} reads for {TICKS} snapshots");
    let viewers = samples(&app.metrics_text().await)["flashbook_live_viewers"];
    assert_eq!(viewers, 2.0);

    // Once both leave, the ticker stops reading.
    drop(first);
    drop(second);
    tokio::time::sleep(TICK * 10).await;
    let stopped = snapshot_reads(&app).await;
    tokio::time::sleep(TICK * 5).await;
    assert_eq!(
        snapshot_reads(&app).await,
        stopped,
        "the ticker kept reading"
    );
    let viewers = samples(&app.metrics_text().await)["flashbook_live_viewers"];
    assert_eq!(viewers, 0.0);
}

#[tokio::test]
async fn viewers_over_the_bound_get_503_with_retry_after() {
    let app = spawn_live_app(Some(1)).await;
    let event = app.create_sale(5).await;
    let mut view = LiveView::open(&app, event).await;
    view.next().await;
    let response = app.get(&format!("/events/{event}/live")).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "too_many_viewers").await;
    // The open view is unaffected.
    view.next().await;
}

/// A graceful shutdown ends open streams at once instead of waiting its
/// 10 s grace period for them.
#[tokio::test]
async fn shutdown_ends_open_streams_at_once() {
    let (mut app, shutdown) = spawn_app_with_handle(AppOptions {
        live_tick: Some(TICK),
        ..AppOptions::default()
    })
    .await;
    // No idle keep-alive connections: they, too, would hold the shutdown
    // (until actix's keep-alive timeout), which is not what this tests.
    app.http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let event = app.create_sale(5).await;
    let mut view = LiveView::open(&app, event).await;
    view.next().await;
    let started = Instant::now();
    let stopping = tokio::spawn(async move { shutdown.stop().await });
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(3), view.response.chunk())
            .await
            .expect("the stream ends within 3 s of the shutdown");
        match chunk {
            Ok(Some(_)) => continue, // a frame sent before the shutdown
            Ok(None) => break,       // ended cleanly
            Err(error) => panic!("the stream broke instead of ending: {error}"),
        }
    }
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the server stops well within its 10 s grace period")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_unknown_event_has_no_live_view() {
    let app = spawn_live_app(None).await;
    assert_problem(app.get("/events/424242/live").await, 404, "event_not_found").await;
    assert_problem(app.get("/events/0/live").await, 422, "invalid_id").await;
}

#[tokio::test]
async fn the_dashboard_is_one_page_with_the_contract_ids() {
    let app = spawn_live_app(None).await;
    let response = app.get("/dashboard?event=2").await;
    assert_eq!(response.url().path(), "/dashboard/", "redirected");
    assert_eq!(response.url().query(), Some("event=2"), "the event kept");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    for needle in [
        r#"<input id="event-id" type="number""#,
        r#"<button id="watch""#,
        r#"id="capacity""#,
        r#"id="booked""#,
        r#"id="held""#,
        r#"id="remaining""#,
        r#"id="status""#,
        r#"<canvas id="rate-chart" data-points="0""#,
        r#"id="latency""#,
        "/events/",
        "EventSource",
    ] {
        assert!(page.contains(needle), "the page lacks {needle}");
    }
    // Nothing is fetched from elsewhere.
    assert!(!page.contains("http://") && !page.contains("https://"));
}
