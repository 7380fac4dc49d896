//! Holds: seats kept while the buyer pays, confirmed into a booking, given
//! back, or expired.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, created_id, spawn_app, spawn_app_with, AppOptions, TestApp};

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp, got {value}"))
        .parse()
        .unwrap()
}

/// (booked, held, remaining)
async fn counts(app: &TestApp, event: i64) -> (i64, i64, i64) {
    let event = app.event(event).await;
    let n = |field: &str| event[field].as_i64().unwrap();
    (n("booked"), n("held"), n("remaining"))
}

#[tokio::test]
async fn a_hold_keeps_its_seats_for_hold_seconds() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(5, json!({"max_per_user": 3, "hold_seconds": 60}))
        .await;
    let user = app.create_user("holder@example.com").await;

    let before = Utc::now();
    let response = app.hold(event, user, 2).await;
    assert_eq!(response.status(), 201);
    let hold: Value = response.json().await.unwrap();
    assert_eq!(
        (
            hold["event_id"].as_i64(),
            hold["user_id"].as_i64(),
            hold["quantity"].as_i64()
        ),
        (Some(event), Some(user), Some(2))
    );
    assert_eq!(hold["status"], "held");
    assert!(hold["booking_id"].is_null());
    let expires_at = time(&hold["expires_at"]);
    let created_at = time(&hold["created_at"]);
    assert_eq!(
        (expires_at - created_at).num_milliseconds(),
        60_000,
        "{hold}"
    );
    let slack = chrono::Duration::seconds(5);
    assert!(
        expires_at > before + chrono::Duration::seconds(60) - slack
            && expires_at < Utc::now() + chrono::Duration::seconds(60) + slack,
        "{hold}"
    );

    let read: Value = app
        .get_as_owner(&format!("/holds/{}", hold["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, hold);
    assert_eq!(counts(&app, event).await, (0, 2, 3));
}

#[tokio::test]
async fn a_confirmed_hold_becomes_one_booking_of_its_seats() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(5, json!({"max_per_user": 3, "hold_seconds": 60}))
        .await;
    let user = app.create_user("payer@example.com").await;
    let hold = created_id(app.hold(event, user, 3).await).await;

    let response = app.confirm_hold(hold).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].clone();
    let booking: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/bookings/{}", booking["id"]).as_str());
    assert_eq!(
        (
            booking["event_id"].as_i64(),
            booking["user_id"].as_i64(),
            booking["quantity"].as_i64()
        ),
        (Some(event), Some(user), Some(3))
    );
    assert_eq!(booking["status"], "confirmed");
    let booking_id = booking["id"].as_i64().unwrap();
    let read: Value = app
        .get_as_owner(&format!("/bookings/{booking_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, booking);
    assert_eq!(counts(&app, event).await, (3, 0, 2));

    let again = assert_problem(app.confirm_hold(hold).await, 409, "hold_confirmed").await;
    assert_eq!(again["booking_id"], booking_id);
    let released = assert_problem(
        app.delete_as_owner(&format!("/holds/{hold}")).await,
        409,
        "hold_confirmed",
    )
    .await;
    assert_eq!(released["booking_id"], booking_id);

    let read: Value = app
        .get_as_owner(&format!("/holds/{hold}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "confirmed");
    assert_eq!(read["booking_id"], booking_id);
    assert_eq!(counts(&app, event).await, (3, 0, 2));
    let state = app.sale_state(event).await;
    assert_eq!(state.counter, 3);
}

#[tokio::test]
async fn a_released_hold_frees_its_seats_and_releasing_twice_changes_nothing() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(2, json!({"max_per_user": 2, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(2).await;
    let hold = created_id(app.hold(event, users[0], 2).await).await;
    assert_problem(app.hold(event, users[1], 1).await, 409, "sold_out").await;
    let path = format!("/holds/{hold}");

    let response = app.delete_as(users[0], &path).await;
    assert_eq!(response.status(), 200);
    let released: Value = response.json().await.unwrap();
    assert_eq!(released["status"], "released");
    assert_eq!(released["quantity"], 2);
    assert_eq!(counts(&app, event).await, (0, 0, 2));

    let again = app.delete_as(users[0], &path).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), released);

    assert_problem(app.confirm_hold(hold).await, 409, "hold_released").await;
    assert_eq!(counts(&app, event).await, (0, 0, 2));
    assert_eq!(app.hold(event, users[1], 2).await.status(), 201);
}

/// The sweeper runs once an hour here: the expired hold's seats are free
/// because the seat functions judge expiry themselves.
#[tokio::test]
async fn an_expired_hold_frees_its_seats_before_the_sweeper_marks_it() {
    let app = spawn_app_with(AppOptions {
        hold_sweep: Some(Duration::from_secs(3_600)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale_with(1, json!({"hold_seconds": 1})).await;
    let users = app.insert_users(2).await;
    let hold = created_id(app.hold(event, users[0], 1).await).await;
    assert_problem(app.hold(event, users[1], 1).await, 409, "sold_out").await;
    assert_problem(app.book(event, users[1]).await, 409, "sold_out").await;

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let read: Value = app
        .get_as_owner(&format!("/holds/{hold}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "expired");
    assert_eq!(counts(&app, event).await, (0, 0, 1));
    let marked: String = app
        .db()
        .await
        .query_one("SELECT status FROM holds WHERE id = $1", &[&hold])
        .await
        .unwrap()
        .get(0);
    assert_eq!(marked, "held", "the sweeper has not run");

    let other = created_id(app.hold(event, users[1], 1).await).await;
    assert_problem(app.confirm_hold(hold).await, 409, "hold_expired").await;
    assert_eq!(app.confirm_hold(other).await.status(), 201);
    assert_eq!(counts(&app, event).await, (1, 0, 0));

    // Releasing an expired hold changes nothing and shows it expired.
    let response = app.delete_as_owner(&format!("/holds/{hold}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "expired");
    assert_eq!(counts(&app, event).await, (1, 0, 0));
}

#[tokio::test]
async fn holds_are_refused_as_bookings_are() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(3, json!({"max_per_user": 2, "hold_seconds": 60}))
        .await;
    let single = app.create_sale_with(5, json!({"hold_seconds": 60})).await;
    let users = app.insert_users(3).await;

    assert_problem(
        app.hold(event + 100, users[0], 1).await,
        404,
        "event_not_found",
    )
    .await;
    assert_problem(
        app.hold(event, users[2] + 100, 1).await,
        404,
        "user_not_found",
    )
    .await;
    for (body, code) in [
        (
            json!({"event_id": event, "quantity": 0}),
            "invalid_quantity",
        ),
        (
            json!({"event_id": event, "quantity": 101}),
            "invalid_quantity",
        ),
        (json!({"event_id": event, "quantity": "1"}), "invalid_body"),
        (json!({"event_id": 0}), "invalid_id"),
        (json!({"quantity": 1}), "invalid_body"),
        (
            json!({"event_id": event, "user_id": users[1]}),
            "invalid_body",
        ),
    ] {
        assert_problem(app.post_as(users[0], "/holds", body).await, 422, code).await;
    }

    let body = assert_problem(app.hold(event, users[0], 3).await, 409, "limit_exceeded").await;
    assert_eq!(body["max_per_user"], 2);
    assert_eq!(app.hold(event, users[0], 1).await.status(), 201);
    // Held seats count against the limit as booked ones do.
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    let body = assert_problem(app.hold(event, users[0], 1).await, 409, "limit_exceeded").await;
    assert_eq!(body["max_per_user"], 2);

    let body = assert_problem(app.hold(event, users[1], 2).await, 409, "not_enough_seats").await;
    assert_eq!(body["remaining"], 1);
    assert_eq!(app.hold(event, users[1], 1).await.status(), 201);
    assert_problem(app.hold(event, users[2], 1).await, 409, "sold_out").await;

    // Where max_per_user is 1, a second seat is already_booked, held or not.
    assert_eq!(app.hold(single, users[0], 1).await.status(), 201);
    assert_problem(app.hold(single, users[0], 1).await, 409, "already_booked").await;
    assert_problem(app.book(single, users[0]).await, 409, "already_booked").await;
}

#[tokio::test]
async fn unknown_and_invalid_hold_ids() {
    let app = spawn_app().await;
    assert_problem(app.get_as(1, "/holds/424242").await, 404, "hold_not_found").await;
    let confirm = |id: &str| {
        app.as_buyer(Method::POST, 1, &format!("/holds/{id}/confirm"))
            .send()
    };
    assert_problem(confirm("424242").await.unwrap(), 404, "hold_not_found").await;
    assert_problem(
        app.delete_as(1, "/holds/424242").await,
        404,
        "hold_not_found",
    )
    .await;
    for id in ["0", "-1"] {
        assert_problem(
            app.get_as(1, &format!("/holds/{id}")).await,
            422,
            "invalid_id",
        )
        .await;
        assert_problem(confirm(id).await.unwrap(), 422, "invalid_id").await;
        assert_problem(
            app.delete_as(1, &format!("/holds/{id}")).await,
            422,
            "invalid_id",
        )
        .await;
    }
}

/// Sends `method path` with an Idempotency-Key (and a JSON body if given).
async fn send_with_key(
    app: &TestApp,
    user: i64,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: &str,
) -> reqwest::Response {
    let mut request = app
        .as_buyer(method, user, path)
        .header("Idempotency-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn idempotency_keys_replay_holds_confirmations_and_releases() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(5, json!({"max_per_user": 2, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(2).await;
    let hold_body = json!({"event_id": event, "quantity": 2});

    let first = send_with_key(
        &app,
        users[0],
        Method::POST,
        "/holds",
        Some(hold_body.clone()),
        "h-1",
    )
    .await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let retry = send_with_key(
        &app,
        users[0],
        Method::POST,
        "/holds",
        Some(hold_body.clone()),
        "h-1",
    )
    .await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(counts(&app, event).await, (0, 2, 3), "held once");

    let hold = first["id"].as_i64().unwrap();
    let confirm = format!("/holds/{hold}/confirm");
    let booked = send_with_key(&app, users[0], Method::POST, &confirm, None, "c-1").await;
    assert_eq!(booked.status(), 201);
    let booked: Value = booked.json().await.unwrap();
    let retry = send_with_key(&app, users[0], Method::POST, &confirm, None, "c-1").await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), booked);
    assert_eq!(counts(&app, event).await, (2, 0, 3), "booked once");

    let other = created_id(app.hold(event, users[1], 1).await).await;
    let release = format!("/holds/{other}");
    let released = send_with_key(&app, users[1], Method::DELETE, &release, None, "d-1").await;
    assert_eq!(released.status(), 200);
    let released: Value = released.json().await.unwrap();
    assert_eq!(released["status"], "released");
    let retry = send_with_key(&app, users[1], Method::DELETE, &release, None, "d-1").await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), released);

    // A key belongs to one request.
    let other_quantity = json!({"event_id": event, "quantity": 1});
    for response in [
        send_with_key(
            &app,
            users[0],
            Method::POST,
            "/holds",
            Some(other_quantity),
            "h-1",
        )
        .await,
        send_with_key(&app, users[0], Method::POST, &confirm, None, "h-1").await,
        send_with_key(&app, users[0], Method::DELETE, &release, None, "c-1").await,
        send_with_key(
            &app,
            users[1],
            Method::POST,
            &format!("/holds/{other}/confirm"),
            None,
            "d-1",
        )
        .await,
    ] {
        assert_problem(response, 422, "idempotency_key_reused").await;
    }

    // Refusals are replayed too.
    let refused = send_with_key(&app, users[0], Method::POST, &confirm, None, "c-2").await;
    let body = assert_problem(refused, 409, "hold_confirmed").await;
    let replayed = send_with_key(&app, users[0], Method::POST, &confirm, None, "c-2").await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(assert_problem(replayed, 409, "hold_confirmed").await, body);
    assert_eq!(counts(&app, event).await, (2, 0, 3));
}
