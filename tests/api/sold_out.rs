//! Sold out from memory, across replicas (`flashbook::sold_out`): two
//! applications on one database, as replicas are in production.

use std::time::{Duration, Instant};

use flashbook::sold_out::MAX_AGE;
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, created_id, spawn_app, spawn_app_with, spawn_replica, AppOptions, TestApp,
};

const MEMORY_ANSWERS: &str = "flashbook_sold_out_memory_answers_total";
const LISTENER_UP: &str = "flashbook_sold_out_listener_up";

/// The bound asserted for seats freed by a transaction: notification
/// delivery, milliseconds in practice. Well under `MAX_AGE` (1 s), so the
/// test cannot pass by the memory running out instead.
const FREED_SEEN_WITHIN: Duration = Duration::from_millis(500);

async fn metric(app: &TestApp, series: &str) -> f64 {
    app.metrics().await.get(series).copied().unwrap_or(0.0)
}

/// Waits (at most 10 s) until the replica's listening connection is up.
async fn wait_for_listener(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(app, LISTENER_UP).await != 1.0 {
        assert!(Instant::now() < deadline, "the listener never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Books `user` on `app` until it gets a `201`, every 20 ms; the time it took.
async fn book_until_booked(app: &TestApp, event: i64, user: i64, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let response = app.book(event, user).await;
        match response.status().as_u16() {
            201 => return started.elapsed(),
            409 => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "sold_out", "{body}");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(
            started.elapsed() < limit,
            "still sold out {:?} after the seat was freed",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_cancellation_on_one_replica_is_seen_by_another_which_books_the_seat() {
    let a = spawn_app().await;
    let b = spawn_replica(&a, AppOptions::default()).await;
    wait_for_listener(&a).await;
    wait_for_listener(&b).await;
    let event = a.create_sale(1).await;
    let users = a.insert_users(3).await;
    let booking = created_id(a.book(event, users[0]).await).await;

    // B asks the database once, then answers from memory: bookings and
    // holds alike, and without looking at the user (an unknown one too).
    assert_problem(b.book(event, users[1]).await, 409, "sold_out").await;
    assert_eq!(metric(&b, MEMORY_ANSWERS).await, 0.0);
    assert_problem(b.book(event, users[1]).await, 409, "sold_out").await;
    assert_problem(b.hold(event, users[2], 1).await, 409, "sold_out").await;
    assert_problem(b.book(event, users[2] + 1_000).await, 409, "sold_out").await;
    assert_eq!(metric(&b, MEMORY_ANSWERS).await, 3.0);
    // A keyed request still asks the database, so its answer is stored.
    assert_problem(
        b.book_with_key(event, users[1], "k-1").await,
        409,
        "sold_out",
    )
    .await;
    assert_eq!(metric(&b, MEMORY_ANSWERS).await, 3.0);
    // Past MAX_AGE the database is asked again, and the answer remembered
    // afresh: from here a missing notification would keep B refusing ~1 s.
    tokio::time::sleep(MAX_AGE + Duration::from_millis(100)).await;
    assert_problem(b.book(event, users[1]).await, 409, "sold_out").await;
    assert_eq!(metric(&b, MEMORY_ANSWERS).await, 3.0);

    assert_eq!(
        a.delete_as_owner(&format!("/bookings/{booking}"))
            .await
            .status(),
        200
    );
    let waited = book_until_booked(&b, event, users[1], FREED_SEEN_WITHIN).await;
    assert!(waited < FREED_SEEN_WITHIN, "{waited:?}");
    let state = a.sale_state(event).await;
    assert_eq!((state.confirmed, state.counter), (1, 1));
    // Sold out again, and B learns it again.
    let before = metric(&b, MEMORY_ANSWERS).await;
    assert_problem(b.book(event, users[2]).await, 409, "sold_out").await;
    assert_problem(b.book(event, users[2]).await, 409, "sold_out").await;
    assert_eq!(metric(&b, MEMORY_ANSWERS).await, before + 1.0);
}

/// Seats an expired hold frees are free by the clock before anything is
/// written; the sweeper's expire_holds() notifies, within its interval.
#[tokio::test]
async fn seats_of_an_expired_hold_are_sold_by_another_replica_after_the_sweep() {
    let sweep = Duration::from_millis(200);
    let options = || AppOptions {
        hold_sweep: Some(sweep),
        ..AppOptions::default()
    };
    let a = spawn_app_with(options()).await;
    let b = spawn_replica(&a, options()).await;
    wait_for_listener(&b).await;
    let event = a.create_sale_with(1, json!({"hold_seconds": 1})).await;
    let users = a.insert_users(2).await;
    let held_at = Instant::now();
    assert_eq!(a.hold(event, users[0], 1).await.status(), 201);
    assert_problem(b.book(event, users[1]).await, 409, "sold_out").await;
    assert_problem(b.book(event, users[1]).await, 409, "sold_out").await;
    assert_eq!(metric(&b, MEMORY_ANSWERS).await, 1.0);

    let expiry = Duration::from_secs(1).saturating_sub(held_at.elapsed());
    tokio::time::sleep(expiry).await;
    // The README's bound: MAX_AGE, or sweep interval + the sweep + delivery
    // when that is shorter (plus a margin for a loaded machine).
    let bound = MAX_AGE.min(sweep + FREED_SEEN_WITHIN) + Duration::from_millis(300);
    let waited = book_until_booked(&b, event, users[1], bound).await;
    assert!(waited < bound, "{waited:?}");
}

/// A lost listening connection empties the memory; the replica reconnects
/// and only then remembers again.
#[tokio::test]
async fn a_replica_that_loses_its_listener_asks_the_database_until_it_is_back() {
    let app = spawn_app().await;
    wait_for_listener(&app).await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    assert_problem(app.book(event, users[1]).await, 409, "sold_out").await;
    assert_problem(app.book(event, users[1]).await, 409, "sold_out").await;
    assert_eq!(metric(&app, MEMORY_ANSWERS).await, 1.0);

    let db = app.db().await;
    let listener = "SELECT pid FROM pg_stat_activity
                     WHERE application_name = 'flashbook-listener' AND datname = current_database()";
    let old: i32 = db.query_one(listener, &[]).await.unwrap().get(0);
    db.execute("SELECT pg_terminate_backend($1)", &[&old])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids: Vec<i32> = db
            .query(listener, &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        if !pids.is_empty() && !pids.contains(&old) {
            break;
        }
        assert!(Instant::now() < deadline, "the listener never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for_listener(&app).await;
    // Forgotten while the connection was down: the database is asked again.
    assert_problem(app.book(event, users[1]).await, 409, "sold_out").await;
    assert_eq!(metric(&app, MEMORY_ANSWERS).await, 1.0);
    assert_problem(app.book(event, users[1]).await, 409, "sold_out").await;
    assert_eq!(metric(&app, MEMORY_ANSWERS).await, 2.0);
}
