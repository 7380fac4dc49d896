//! Every way seats change hands is counted once (issue 20, items 1 and 5):
//! one test per booking path, each comparing `/metrics` with what the
//! database holds, and requests that time out after their seats were booked.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, created_id, spawn_app_with, AppOptions, TestApp, ADMIN_TOKEN,
};
use crate::metrics::samples;

/// One figure of the exposition (0 when absent).
fn figure(metrics: &HashMap<String, f64>, series: &str) -> i64 {
    metrics.get(series).copied().unwrap_or(0.0) as i64
}

fn labelled(metric: &str, label: &str, value: &str) -> String {
    format!("{metric}{{{label}=\"{value}\"}}")
}

/// The counters against the database's rows: every seat booked (confirmed
/// holds included) and cancelled, every hold and offer by what became of it,
/// every booking request's outcome; and seats left by the README's PromQL
/// (capacity − sold − held) against `GET /events/{id}`. One app, one
/// database: the sums over replicas of a real deployment are these figures.
async fn assert_counted_once(app: &TestApp, event: i64) {
    let metrics = samples(&app.metrics_text().await);
    let db = app.db().await;
    let one = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let booked = one("SELECT coalesce(sum(quantity), 0)::BIGINT FROM bookings").await;
    let cancelled =
        one("SELECT coalesce(sum(quantity), 0)::BIGINT FROM bookings WHERE status = 'cancelled'")
            .await;
    let bookings_cancelled = one("SELECT count(*) FROM bookings WHERE status = 'cancelled'").await;
    let seats = |name: &str| figure(&metrics, name);
    assert_eq!(
        (
            seats("flashbook_seats_booked_total"),
            seats("flashbook_seats_cancelled_total"),
            seats("flashbook_bookings_cancelled_total"),
        ),
        (booked, cancelled, bookings_cancelled),
        "seats booked, seats and bookings cancelled: /metrics vs the database"
    );

    // Holds and offers (a hold named by a waiting-list entry), by status.
    let rows = db
        .query(
            "SELECT EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.hold_id = h.id) AS offer,
                    h.status, count(*), sum(h.quantity)::BIGINT
               FROM holds h GROUP BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let mut in_db: HashMap<(bool, String), (i64, i64)> = HashMap::new();
    for row in rows {
        in_db.insert((row.get(0), row.get(1)), (row.get(2), row.get(3)));
    }
    let held = |offer: bool, status: &str| in_db.get(&(offer, status.into())).copied();
    let (holds, _) = held(false, "held").unwrap_or_default();
    let (offers, _) = held(true, "held").unwrap_or_default();
    let mut holds_made = holds;
    let mut offers_made = offers;
    for (status, hold_change, offer_change) in [
        ("confirmed", "confirmed", "taken"),
        ("released", "released", "declined"),
        ("expired", "expired", "expired"),
    ] {
        let (count, _) = held(false, status).unwrap_or_default();
        holds_made += count;
        let hold_series = labelled("flashbook_holds_total", "change", hold_change);
        assert_eq!(figure(&metrics, &hold_series), count, "{hold_series}");
        let (count, _) = held(true, status).unwrap_or_default();
        offers_made += count;
        let offer_series = labelled("flashbook_offers_total", "change", offer_change);
        assert_eq!(figure(&metrics, &offer_series), count, "{offer_series}");
    }
    let created = labelled("flashbook_holds_total", "change", "created");
    assert_eq!(figure(&metrics, &created), holds_made, "{created}");
    let made = labelled("flashbook_offers_total", "change", "made");
    assert_eq!(figure(&metrics, &made), offers_made, "{made}");
    // Seats held now, by the counters and by the rows still marked held.
    let seats_through = |change| {
        figure(
            &metrics,
            &labelled("flashbook_held_seats_total", "change", change),
        )
    };
    let held_now = seats_through("created")
        - seats_through("confirmed")
        - seats_through("released")
        - seats_through("expired");
    let held_rows =
        one("SELECT coalesce(sum(quantity), 0)::BIGINT FROM holds WHERE status = 'held'").await;
    assert_eq!(held_now, held_rows, "seats held: /metrics vs the database");

    // Booking requests: each booking row a booked outcome (the confirmed
    // holds' bookings apart: they are no POST /bookings).
    let bookings_made = one("SELECT count(*) FROM bookings b
                              WHERE NOT EXISTS (SELECT 1 FROM holds h WHERE h.booking_id = b.id)")
    .await;
    let outcome = labelled("flashbook_booking_outcomes_total", "outcome", "booked");
    assert_eq!(figure(&metrics, &outcome), bookings_made, "{outcome}");

    // Seats left, as the README computes them. A hold past its expiry that
    // the sweeper has not marked yet is free for GET /events/{id} and still
    // held for the counters (README, "Example PromQL"): compared only
    // when there is none.
    let unswept =
        one("SELECT count(*) FROM holds WHERE status = 'held' AND expires_at <= now()").await;
    if unswept == 0 {
        let sold = seats("flashbook_seats_booked_total") - seats("flashbook_seats_cancelled_total");
        let shown = app.event(event).await;
        let capacity = shown["capacity"].as_i64().unwrap();
        assert_eq!(
            capacity - sold - held_now,
            shown["remaining"].as_i64().unwrap(),
            "seats left by /metrics vs GET /events/{event}: {shown}"
        );
    }
}

fn outcome(metrics: &HashMap<String, f64>, outcome: &str) -> i64 {
    figure(
        metrics,
        &labelled("flashbook_booking_outcomes_total", "outcome", outcome),
    )
}

/// Books, is refused (already booked, sold out from the database, not
/// found), and checks the counts: the two unkeyed paths without a pass.
async fn plain_bookings_are_counted_once(batch_max: usize) {
    let app = spawn_app_with(AppOptions {
        batch_max: Some(batch_max),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale_with(3, json!({"max_per_user": 2})).await;
    let users = app.insert_users(3).await;
    assert_eq!(app.book_seats(event, users[0], 2).await.status(), 201);
    assert_eq!(app.book_seats(event, users[0], 1).await.status(), 409); // limit
    assert_eq!(app.book_seats(event, users[1], 2).await.status(), 409); // not enough
    assert_eq!(app.book(event, users[1]).await.status(), 201);
    assert_eq!(app.book(event, users[2]).await.status(), 409); // sold out
    assert_counted_once(&app, event).await;
    let metrics = app.metrics().await;
    assert_eq!(outcome(&metrics, "limit_exceeded"), 1);
    assert_eq!(outcome(&metrics, "not_enough_seats"), 1);
    assert_eq!(outcome(&metrics, "sold_out"), 1);
}

#[tokio::test]
async fn batched_bookings_are_counted_once() {
    plain_bookings_are_counted_once(256).await;
}

#[tokio::test]
async fn bookings_one_per_transaction_are_counted_once() {
    plain_bookings_are_counted_once(1).await;
}

#[tokio::test]
async fn keyed_bookings_are_counted_once_and_replays_apart() {
    let app = spawn_app_with(AppOptions::default()).await;
    let event = app.create_sale(2).await;
    let users = app.insert_users(3).await;
    assert_eq!(app.book_with_key(event, users[0], "a").await.status(), 201);
    let replay = app.book_with_key(event, users[0], "a").await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(app.book_with_key(event, users[1], "b").await.status(), 201);
    assert_eq!(app.book_with_key(event, users[2], "c").await.status(), 409);
    // The same buyer's key for another request: refused, nothing committed.
    let other = app.create_sale(2).await;
    assert_eq!(app.book_with_key(other, users[0], "a").await.status(), 422);
    assert_counted_once(&app, event).await;
    let metrics = app.metrics().await;
    assert_eq!(figure(&metrics, "flashbook_idempotent_replays_total"), 1);
    assert_eq!(outcome(&metrics, "sold_out"), 1);
    assert_eq!(outcome(&metrics, "idempotency_key_reused"), 1);
}

/// An event with a waiting room that admits everyone at once, and an
/// admission pass for each of `users`.
async fn passes(app: &TestApp, event: i64, users: &[i64]) -> Vec<String> {
    let opened = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let response = app
        .http
        .put(app.url(&format!("/events/{event}/waiting-room")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"admission_per_second": 1000, "pass_seconds": 600, "opens_at": opened}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut passes = Vec::new();
    for &user in users {
        let path = format!("/events/{event}/queue");
        let ticket: Value = app
            .as_buyer(reqwest::Method::POST, user, &path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ticket["status"], "admitted", "{ticket}");
        passes.push(ticket["pass"].as_str().unwrap().to_owned());
    }
    passes
}

/// `POST {path}` with a pass and, if given, an `Idempotency-Key`.
async fn with_pass(
    app: &TestApp,
    path: &str,
    event: i64,
    user: i64,
    pass: &str,
    key: Option<&str>,
) -> Response {
    let mut request = app
        .as_buyer(reqwest::Method::POST, user, path)
        .header("Admission-Pass", pass)
        .json(&json!({"event_id": event}));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

async fn pass_bookings_are_counted_once(keyed: bool) {
    let app = spawn_app_with(AppOptions::default()).await;
    let event = app.create_sale(2).await;
    let users = app.insert_users(3).await;
    let passes = passes(&app, event, &users).await;
    let key = |name: &'static str| keyed.then_some(name);
    let booked = with_pass(&app, "/bookings", event, users[0], &passes[0], key("a")).await;
    assert_eq!(booked.status(), 201);
    let held = with_pass(&app, "/holds", event, users[1], &passes[1], key("b")).await;
    let hold = created_id(held).await;
    assert_eq!(app.confirm_hold(hold).await.status(), 201);
    let refused = with_pass(&app, "/bookings", event, users[2], &passes[2], key("c")).await;
    assert_problem(refused, 409, "sold_out").await;
    if keyed {
        let replay = with_pass(&app, "/bookings", event, users[0], &passes[0], key("a")).await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
    }
    assert_counted_once(&app, event).await;
    let metrics = app.metrics().await;
    assert_eq!(outcome(&metrics, "sold_out"), 1);
}

#[tokio::test]
async fn bookings_with_a_pass_are_counted_once() {
    pass_bookings_are_counted_once(false).await;
}

#[tokio::test]
async fn bookings_with_a_pass_and_a_key_are_counted_once() {
    pass_bookings_are_counted_once(true).await;
}

#[tokio::test]
async fn refusals_from_the_sold_out_memory_are_counted_once() {
    let app = spawn_app_with(AppOptions::default()).await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(4).await;
    // The listener must be up for the memory to remember.
    wait_for(&app, "flashbook_sold_out_listener_up", 1).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    assert_eq!(app.book(event, users[1]).await.status(), 409); // the database's
    for &user in &users[2..] {
        assert_problem(app.book(event, user).await, 409, "sold_out").await;
    }
    assert_counted_once(&app, event).await;
    let metrics = app.metrics().await;
    assert_eq!(outcome(&metrics, "sold_out"), 3);
    assert_eq!(
        figure(&metrics, "flashbook_sold_out_memory_answers_total"),
        2
    );
}

#[tokio::test]
async fn holds_confirmed_released_and_expired_are_counted_once() {
    let app = spawn_app_with(AppOptions {
        hold_sweep: Some(Duration::from_millis(200)),
        ..AppOptions::default()
    })
    .await;
    let event = app
        .create_sale_with(10, json!({"max_per_user": 4, "hold_seconds": 1}))
        .await;
    let users = app.insert_users(4).await;
    let confirmed = created_id(app.hold(event, users[0], 2).await).await;
    let released = created_id(app.hold(event, users[1], 3).await).await;
    let keyed = app
        .as_buyer(reqwest::Method::POST, users[3], "/holds")
        .header("Idempotency-Key", "hold")
        .json(&json!({"event_id": event, "quantity": 1}))
        .send()
        .await
        .unwrap();
    let keyed = created_id(keyed).await;
    assert_eq!(app.confirm_hold(confirmed).await.status(), 201);
    // A repeat changes nothing and counts nothing.
    assert_problem(app.confirm_hold(confirmed).await, 409, "hold_confirmed").await;
    for _ in 0..2 {
        let response = app.delete_as_owner(&format!("/holds/{released}")).await;
        assert_eq!(response.status(), 200);
    }
    let confirm_keyed = app
        .as_buyer(
            reqwest::Method::POST,
            users[3],
            &format!("/holds/{keyed}/confirm"),
        )
        .header("Idempotency-Key", "confirm")
        .send()
        .await
        .unwrap();
    assert_eq!(confirm_keyed.status(), 201);
    // This one expires; the sweeper marks and counts it.
    created_id(app.hold(event, users[2], 4).await).await;
    assert_counted_once(&app, event).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    wait_for(&app, "flashbook_holds_total{change=\"expired\"}", 1).await;
    assert_counted_once(&app, event).await;
}

#[tokio::test]
async fn cancellations_and_offers_are_counted_once() {
    let app = spawn_app_with(AppOptions {
        hold_sweep: Some(Duration::from_millis(200)),
        ..AppOptions::default()
    })
    .await;
    let event = app
        .create_sale_with(2, json!({"max_per_user": 2, "offer_seconds": 1}))
        .await;
    let users = app.insert_users(4).await;
    let first = created_id(app.book_seats(event, users[0], 2).await).await;
    let entry = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let late = created_id(app.join_waitlist(event, users[2], 1).await).await;
    // Cancelled twice (the second with a key): counted once; its two seats
    // become two offers.
    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{first}"))
            .await
            .status(),
        200
    );
    let again = app
        .as_buyer(
            reqwest::Method::DELETE,
            users[0],
            &format!("/bookings/{first}"),
        )
        .header("Idempotency-Key", "cancel")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let offer = app.waitlist_entry(entry).await;
    assert_eq!(offer["status"], "offered", "{offer}");
    let taken = offer["hold_id"].as_i64().unwrap();
    assert_eq!(app.confirm_hold(taken).await.status(), 201);
    // The other offer is declined by leaving; its seat is offered to no one
    // (nobody waits), then booked.
    assert_eq!(app.waitlist_entry(late).await["status"], "offered");
    assert_eq!(
        app.delete_as_owner(&format!("/waitlist/{late}"))
            .await
            .status(),
        200
    );
    assert_counted_once(&app, event).await;
    // An offer that lapses: made on a cancellation, marked by the sweeper.
    let taken_booking = app.get_as_owner(&format!("/holds/{taken}")).await;
    let taken_booking: Value = taken_booking.json().await.unwrap();
    let booking = taken_booking["booking_id"].as_i64().unwrap();
    created_id(app.join_waitlist(event, users[3], 2).await).await;
    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{booking}"))
            .await
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    wait_for(&app, "flashbook_offers_total{change=\"expired\"}", 1).await;
    assert_counted_once(&app, event).await;
}

/// Waits up to 10 s for `series` to reach `value`.
async fn wait_for(app: &TestApp, series: &str, value: i64) {
    for _ in 0..100 {
        if figure(&app.metrics().await, series) >= value {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{series} did not reach {value} within 10 s");
}

/// A request answered `503 request_timeout` while the database still books
/// its seat (the event row locked past the request timeout, released after):
/// the seat and its outcome are counted all the same, on every path whose
/// request reaches the database at once.
async fn a_booking_that_times_out_is_still_counted(path: TimedOutPath) {
    let app = spawn_app_with(AppOptions {
        batch_max: Some(if path == TimedOutPath::Batched { 16 } else { 1 }),
        request_timeout: Some(Duration::from_millis(300)),
        lock_timeout: Some(Duration::from_secs(10)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(1).await;
    let pass = match path {
        TimedOutPath::Pass => passes(&app, event, &users).await.pop(),
        _ => None,
    };
    let mut blocker = app.db().await;
    let lock = blocker.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM events WHERE id = $1 FOR UPDATE", &[&event])
        .await
        .unwrap();
    let response = match &pass {
        Some(pass) => with_pass(&app, "/bookings", event, users[0], pass, None).await,
        None => app.book(event, users[0]).await,
    };
    assert_problem(response, 503, "request_timeout").await;
    lock.rollback().await.unwrap();
    // The booking commits once the lock is gone.
    for _ in 0..100 {
        if app.sale_state(event).await.confirmed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.sale_state(event).await.confirmed,
        1,
        "the seat was booked"
    );
    wait_for(&app, "flashbook_seats_booked_total", 1).await;
    assert_counted_once(&app, event).await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimedOutPath {
    OnePerTransaction,
    Batched,
    Pass,
}

#[tokio::test]
async fn a_booking_with_a_pass_that_times_out_is_still_counted() {
    a_booking_that_times_out_is_still_counted(TimedOutPath::Pass).await;
}

#[tokio::test]
async fn a_booking_in_its_own_transaction_that_times_out_is_still_counted() {
    a_booking_that_times_out_is_still_counted(TimedOutPath::OnePerTransaction).await;
}

#[tokio::test]
async fn a_batched_booking_that_times_out_in_flight_is_still_counted() {
    a_booking_that_times_out_is_still_counted(TimedOutPath::Batched).await;
}

#[tokio::test]
async fn offers_made_by_a_larger_capacity_are_counted_once() {
    let app = spawn_app_with(AppOptions::default()).await;
    let venue = app.create_venue(10).await;
    let event = app.create_event(venue, 1).await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    let entry = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let response = app
        .patch_as_admin(&format!("/events/{event}"), json!({"capacity": 2}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.waitlist_entry(entry).await["status"], "offered");
    assert_counted_once(&app, event).await;
}
