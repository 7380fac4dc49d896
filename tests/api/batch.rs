//! One batch for every kind of seat request (issue 22): plain and keyed
//! bookings and holds queued behind the event's lock are decided together,
//! in arrival order, by the rules each is decided by alone; a request that
//! fails in the database fails alone. (Requests with admission passes in a
//! mixed batch: `waiting_room.rs`.)

use std::time::Duration;

use flashbook::sale::booking::test_hooks::{BREAKING_USER_ID, UNSTORABLE_KEY};
use futures_util::future::join_all;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, behind_the_event_lock, spawn_app, TestApp};
use crate::metrics::samples;

/// `POST path` as buyer `user` with `body`, and an `Idempotency-Key` if given.
fn seats(app: &TestApp, user: i64, path: &str, body: Value, key: Option<&str>) -> RequestBuilder {
    let request = app.as_buyer(Method::POST, user, path).json(&body);
    match key {
        Some(key) => request.header("Idempotency-Key", key),
        None => request,
    }
}

/// The batches the service committed: (how many, requests in them).
async fn batches(app: &TestApp) -> (f64, f64) {
    let metrics = samples(&app.metrics_text().await);
    (
        metrics["flashbook_booking_batch_size_count"],
        metrics["flashbook_booking_batch_size_sum"],
    )
}

async fn replayed(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_request_is_decided_in_arrival_order_inside_one_batch() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(6, json!({"max_per_user": 2, "hold_seconds": 1}))
        .await;
    let other_event = app.create_sale(5).await;
    let users = app.insert_users(8).await;
    let booking = |quantity| json!({"event_id": event, "quantity": quantity});

    // Before the batch: a hold that expires (its seat is free again, swept
    // or not), a keyed booking to replay, and a key used on another event.
    assert_eq!(app.hold(event, users[6], 1).await.status(), 201);
    let early = seats(&app, users[5], "/bookings", booking(1), Some("early"));
    let early: Value = early.send().await.unwrap().json().await.unwrap();
    let elsewhere = json!({"event_id": other_event});
    let elsewhere = seats(&app, users[4], "/bookings", elsewhere, Some("reused"));
    assert_eq!(elsewhere.send().await.unwrap().status(), 201);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let before = batches(&app).await;

    let answers = behind_the_event_lock(
        &app,
        event,
        vec![
            // The first waits on the lock alone; the rest queue behind it.
            seats(&app, users[0], "/bookings", booking(1), None),
            seats(&app, users[1], "/bookings", booking(2), Some("a")),
            seats(&app, users[1], "/holds", booking(1), None),
            seats(&app, users[2], "/holds", booking(1), Some("h")),
            seats(&app, users[4], "/bookings", booking(1), Some("reused")),
            seats(&app, users[5], "/bookings", booking(1), Some("early")),
            seats(&app, users[3], "/bookings", booking(1), None),
            seats(&app, users[7], "/bookings", booking(1), Some("late")),
        ],
    )
    .await;
    let after = batches(&app).await;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (2.0, 8.0),
        "one batch for the first request, one for the seven behind it"
    );
    let [first, keyed, over_limit, keyed_hold, reused, replay, last_seat, sold_out] =
        <[Response; 8]>::try_from(answers).unwrap();

    assert_eq!(first.status(), 201);
    assert_eq!(keyed.status(), 201);
    let keyed: Value = keyed.json().await.unwrap();
    assert_eq!(keyed["quantity"], 2);
    // users[1]'s third seat: over max_per_user, counted with the keyed
    // booking decided just before it in the same batch.
    let limit = assert_problem(over_limit, 409, "limit_exceeded").await;
    assert_eq!(limit["max_per_user"], 2, "{limit}");
    assert_eq!(keyed_hold.status(), 201);
    let keyed_hold: Value = keyed_hold.json().await.unwrap();
    assert_eq!(keyed_hold["status"], "held");
    assert_problem(reused, 422, "idempotency_key_reused").await;
    assert_eq!(replayed(replay, 201).await, early);
    // Seat 6 of 6 (one booked before, four in this batch, one held): free
    // only because the first hold expired.
    assert_eq!(last_seat.status(), 201);
    let sold_out = assert_problem(sold_out, 409, "sold_out").await;

    // The keyed answers were stored in the batch's transaction.
    let again = seats(&app, users[1], "/bookings", booking(2), Some("a"));
    assert_eq!(replayed(again.send().await.unwrap(), 201).await, keyed);
    let again = seats(&app, users[2], "/holds", booking(1), Some("h"));
    assert_eq!(replayed(again.send().await.unwrap(), 201).await, keyed_hold);
    let again = seats(&app, users[7], "/bookings", booking(1), Some("late"));
    assert_eq!(replayed(again.send().await.unwrap(), 409).await, sold_out);

    let state = app.sale_state(event).await;
    assert_eq!((state.confirmed_seats, state.counter), (5, 5));
    assert_eq!(state.users_over_limit, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_fails_in_the_database_fails_alone_and_its_neighbours_are_decided() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(4).await;
    let booking = json!({"event_id": event});

    let answers = behind_the_event_lock(
        &app,
        event,
        vec![
            seats(&app, users[0], "/bookings", booking.clone(), None),
            seats(&app, users[1], "/bookings", booking.clone(), Some("n1")),
            // Its request makes the seat function raise an error: the whole
            // batch statement fails, and the batch is decided again one
            // request at a time.
            seats(&app, BREAKING_USER_ID, "/bookings", booking.clone(), None),
            seats(&app, users[2], "/holds", booking.clone(), None),
            seats(&app, users[3], "/bookings", booking.clone(), None),
        ],
    )
    .await;
    let [first, keyed, broken, hold, plain] = <[Response; 5]>::try_from(answers).unwrap();

    assert_eq!(first.status(), 201);
    assert_eq!(keyed.status(), 201);
    let keyed: Value = keyed.json().await.unwrap();
    assert_problem(broken, 500, "internal_error").await;
    assert_eq!(hold.status(), 201);
    assert_eq!(plain.status(), 201);
    let again = seats(&app, users[1], "/bookings", booking, Some("n1"));
    assert_eq!(replayed(again.send().await.unwrap(), 201).await, keyed);
    let state = app.sale_state(event).await;
    assert_eq!((state.confirmed, state.counter), (3, 3));
}

/// A keyed batch stores its answers in the statement sent with its `COMMIT`,
/// and PostgreSQL answers a `COMMIT` after a failed statement with `ROLLBACK`,
/// not an error. A batch whose answers cannot be stored is acknowledged to
/// nobody: decided again one request at a time, only the request whose answer
/// cannot be stored fails, booking nothing, and its neighbours are booked
/// with their answers stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_answers_cannot_be_stored_acknowledges_nothing_it_did_not_commit() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(4).await;
    let booking = json!({"event_id": event});

    let answers = behind_the_event_lock(
        &app,
        event,
        vec![
            seats(&app, users[0], "/bookings", booking.clone(), None),
            seats(&app, users[1], "/bookings", booking.clone(), Some("k1")),
            seats(
                &app,
                users[2],
                "/bookings",
                booking.clone(),
                Some(UNSTORABLE_KEY),
            ),
            seats(&app, users[3], "/holds", booking.clone(), Some("k3")),
        ],
    )
    .await;
    let [first, keyed, unstorable, keyed_hold] = <[Response; 4]>::try_from(answers).unwrap();

    assert_eq!(first.status(), 201);
    assert_eq!(keyed.status(), 201);
    let keyed: Value = keyed.json().await.unwrap();
    assert_problem(unstorable, 500, "internal_error").await;
    assert_eq!(keyed_hold.status(), 201);
    let keyed_hold: Value = keyed_hold.json().await.unwrap();
    let again = seats(&app, users[1], "/bookings", booking.clone(), Some("k1"));
    assert_eq!(replayed(again.send().await.unwrap(), 201).await, keyed);
    let again = seats(&app, users[3], "/holds", booking, Some("k3"));
    assert_eq!(replayed(again.send().await.unwrap(), 201).await, keyed_hold);

    let state = app.sale_state(event).await;
    assert_eq!((state.confirmed, state.counter), (2, 2));
    let db = app.db().await;
    let unstored: i64 = db
        .query_one(
            "SELECT (SELECT count(*) FROM bookings WHERE user_id = $1)
                  + (SELECT count(*) FROM holds WHERE user_id = $1)
                  + (SELECT count(*) FROM idempotency_keys WHERE user_id = $1)",
            &[&users[2]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unstored, 0, "the unstorable request left nothing behind");
}

/// Holds of one seat, all at once, are batched and take the set-based path
/// bookings take: exactly the free seats are held, each hold its buyer's and
/// kept for `hold_seconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_one_seat_holds_holds_exactly_the_free_seats() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(10, json!({"max_per_user": 1, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(40).await;
    let hold = json!({"event_id": event});
    let answers = join_all(users.iter().map(|&user| {
        let request = seats(&app, user, "/holds", hold.clone(), None);
        async move { request.send().await.unwrap() }
    }))
    .await;
    let mut held = Vec::new();
    for (&user, answer) in users.iter().zip(answers) {
        match answer.status().as_u16() {
            201 => held.push((user, answer.json::<Value>().await.unwrap())),
            _ => drop(assert_problem(answer, 409, "sold_out").await),
        }
    }
    assert_eq!(held.len(), 10);
    let db = app.db().await;
    for (user, hold) in held {
        assert_eq!(hold["user_id"], user, "{hold}");
        let created = chrono::DateTime::parse_from_rfc3339(hold["created_at"].as_str().unwrap());
        let expires = chrono::DateTime::parse_from_rfc3339(hold["expires_at"].as_str().unwrap());
        assert_eq!(
            (expires.unwrap() - created.unwrap()).num_seconds(),
            60,
            "{hold}"
        );
        let owner: i64 = db
            .query_one(
                "SELECT user_id FROM holds WHERE id = $1",
                &[&hold["id"].as_i64().unwrap()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(owner, user);
    }
    assert_eq!(app.event(event).await["booked"], 0);
}
