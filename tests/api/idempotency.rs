//! Idempotency-Key on booking and cancelling.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_retried_booking_replays_the_first_answer_and_books_once() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("retry@example.com").await;

    let first = app.book_with_key(event, user, "order-1").await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    assert_eq!(location, format!("/bookings/{}", first["id"]).as_str());

    let retry = app.book_with_key(event, user, "order-1").await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(
        retry.headers()["location"],
        location,
        "the replay says where, too"
    );
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(app.sale_state(event).await.confirmed, 1);

    // Without the key, the same request is a new attempt.
    assert_problem(app.book(event, user).await, 409, "already_booked").await;
}

#[tokio::test]
async fn refusals_are_replayed_too() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    assert_problem(
        app.book_with_key(event, users[1], "late").await,
        409,
        "sold_out",
    )
    .await;
    let replay = app.book_with_key(event, users[1], "late").await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_problem(replay, 409, "sold_out").await;
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_422() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let other = app.create_sale(5).await;
    let users = app.insert_users(1).await;
    assert_eq!(
        app.book_with_key(event, users[0], "k-1").await.status(),
        201
    );
    assert_problem(
        app.book_with_key(other, users[0], "k-1").await,
        422,
        "idempotency_key_reused",
    )
    .await;
    let cancel_with_same_key = app
        .as_buyer(reqwest::Method::DELETE, users[0], "/bookings/1")
        .header("Idempotency-Key", "k-1")
        .send()
        .await
        .unwrap();
    assert_problem(cancel_with_same_key, 422, "idempotency_key_reused").await;
    assert_eq!(app.sale_state(event).await.confirmed, 1);
}

#[tokio::test]
async fn invalid_keys_are_422() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("k@example.com").await;
    for key in ["has space".to_owned(), "k".repeat(256)] {
        assert_problem(
            app.book_with_key(event, user, &key).await,
            422,
            "invalid_idempotency_key",
        )
        .await;
    }
    // Two keys: which one names the request is a guess, so neither is taken.
    let response = app
        .as_buyer(reqwest::Method::POST, user, "/bookings")
        .header("Idempotency-Key", "first")
        .header("Idempotency-Key", "second")
        .json(&json!({"event_id": event}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "invalid_idempotency_key").await;
    assert_eq!(app.sale_state(event).await.confirmed, 0);
}

#[tokio::test]
async fn a_repeat_while_the_first_is_in_flight_is_409_with_retry_after() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("flight@example.com").await;
    let admin = app.db().await;
    // Holding the buyer's key's advisory lock is exactly what an in-flight
    // request does (src/idempotency/persistence.rs).
    admin
        .execute(
            "SELECT pg_advisory_lock(hashtextextended('busy-key', $1))",
            &[&user],
        )
        .await
        .unwrap();
    let response = app.book_with_key(event, user, "busy-key").await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(response, 409, "request_in_progress").await;
    admin
        .execute("SELECT pg_advisory_unlock_all()", &[])
        .await
        .unwrap();
    assert_eq!(
        app.book_with_key(event, user, "busy-key").await.status(),
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_book_exactly_once() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("storm@example.com").await;
    let responses = join_all((0..20).map(|_| app.book_with_key(event, user, "storm"))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(app.sale_state(event).await.confirmed, 1);
    // Once the first has finished, every retry gets its answer.
    assert_eq!(app.book_with_key(event, user, "storm").await.status(), 201);
}

#[tokio::test]
async fn a_retried_cancel_replays_and_a_new_booking_is_untouched() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("cancel@example.com").await;
    let booking: Value = app.book(event, user).await.json().await.unwrap();
    let path = format!("/bookings/{}", booking["id"]);
    let cancel = || {
        app.as_buyer(reqwest::Method::DELETE, user, &path)
            .header("Idempotency-Key", "cancel-1")
            .send()
    };
    let first = cancel().await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "cancelled");
    let retry = cancel().await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(app.sale_state(event).await.counter, 0);
}

#[tokio::test]
async fn expired_keys_are_swept_and_may_be_used_again() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(1).await;
    assert_eq!(
        app.book_with_key(event, users[0], "old").await.status(),
        201
    );
    let db = app.db().await;
    db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'",
        &[],
    )
    .await
    .unwrap();
    // An expired key counts as new: this is another booking of the buyer's.
    let other = app.create_sale(5).await;
    let response = app.book_with_key(other, users[0], "old").await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("idempotent-replayed").is_none());

    db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'",
        &[],
    )
    .await
    .unwrap();
    let settings = crate::helpers::settings_for(&app.database_url, &Default::default());
    let pool = flashbook::db::build_pool(&settings.database).unwrap();
    let deleted =
        flashbook::idempotency::delete_expired(&pool, std::time::Duration::from_secs(86_400))
            .await
            .unwrap();
    assert_eq!(deleted, 1);
    let left: i64 = db
        .query_one("SELECT count(*) FROM idempotency_keys", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// A key is its buyer's: another buyer's `order-42` is a request of its own,
/// neither refused as a reuse nor answered with the first buyer's booking,
/// and each replays only to its own buyer.
#[tokio::test]
async fn two_buyers_with_the_same_key_never_meet() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(2).await;
    let first = app.book_with_key(event, users[0], "order-42").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let second = app.book_with_key(event, users[1], "order-42").await;
    assert_eq!(second.status(), 201);
    assert!(second.headers().get("idempotent-replayed").is_none());
    let second: Value = second.json().await.unwrap();
    assert_eq!(
        (first["user_id"].as_i64(), second["user_id"].as_i64()),
        (Some(users[0]), Some(users[1]))
    );
    for (user, booking) in [(users[0], &first), (users[1], &second)] {
        let replay = app.book_with_key(event, user, "order-42").await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        assert_eq!(&replay.json::<Value>().await.unwrap(), booking);
    }
    assert_eq!(app.sale_state(event).await.confirmed, 2);
    let keys: i64 = app
        .db()
        .await
        .query_one(
            "SELECT count(*) FROM idempotency_keys WHERE key = 'order-42'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 2);
}
