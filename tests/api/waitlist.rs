//! The waiting list: who gets returned seats first, as offers (holds of
//! their own) in list order.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, created_id, spawn_app, spawn_app_with, AppOptions, TestApp};

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp, got {value}"))
        .parse()
        .unwrap()
}

/// (status, position)
async fn standing(app: &TestApp, entry: i64) -> (String, Option<i64>) {
    let entry = app.waitlist_entry(entry).await;
    (
        entry["status"].as_str().unwrap().to_owned(),
        entry["position"].as_i64(),
    )
}

fn waiting(position: i64) -> (String, Option<i64>) {
    ("waiting".to_owned(), Some(position))
}

fn no_position(status: &str) -> (String, Option<i64>) {
    (status.to_owned(), None)
}

/// The id of the booking `user` just made.
async fn booking_id(response: reqwest::Response) -> i64 {
    created_id(response).await
}

#[tokio::test]
async fn joining_while_seats_are_available_is_refused() {
    let app = spawn_app().await;
    let event = app.create_sale_with(3, json!({"max_per_user": 3})).await;
    let users = app.insert_users(2).await;

    let body = assert_problem(
        app.join_waitlist(event, users[0], 1).await,
        409,
        "seats_available",
    )
    .await;
    assert_eq!(body["remaining"], 3);
    assert_eq!(app.book_seats(event, users[1], 2).await.status(), 201);
    let body = assert_problem(
        app.join_waitlist(event, users[0], 1).await,
        409,
        "seats_available",
    )
    .await;
    assert_eq!(body["remaining"], 1);
    assert_eq!(app.event(event).await["waiting"], 0);

    // Fewer seats than asked: the user may queue.
    let response = app.join_waitlist(event, users[0], 2).await;
    assert_eq!(response.status(), 201);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(
        (entry["status"].as_str(), entry["position"].as_i64()),
        (Some("waiting"), Some(1))
    );
    assert_eq!(entry["quantity"], 2);
}

#[tokio::test]
async fn a_sold_out_event_queues_buyers_in_arrival_order() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(4).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);

    let mut entries = Vec::new();
    for (place, &user) in users[1..].iter().enumerate() {
        let response = app.join_waitlist(event, user, 1).await;
        assert_eq!(response.status(), 201);
        let entry: Value = response.json().await.unwrap();
        assert_eq!(
            (
                entry["event_id"].as_i64(),
                entry["user_id"].as_i64(),
                entry["quantity"].as_i64()
            ),
            (Some(event), Some(user), Some(1))
        );
        assert_eq!(entry["status"], "waiting");
        assert_eq!(entry["position"].as_i64(), Some(place as i64 + 1));
        assert!(entry["hold_id"].is_null() && entry["expires_at"].is_null());
        let id = entry["id"].as_i64().unwrap();
        assert_eq!(app.waitlist_entry(id).await, entry);
        entries.push(id);
    }
    assert_eq!(app.event(event).await["waiting"], 3);

    let body = assert_problem(
        app.join_waitlist(event, users[1], 1).await,
        409,
        "already_waiting",
    )
    .await;
    assert_eq!(body["entry_id"], entries[0]);
    assert_eq!(app.event(event).await["waiting"], 3);
}

#[tokio::test]
async fn waiting_list_refusals() {
    let app = spawn_app().await;
    let event = app.create_sale_with(1, json!({"max_per_user": 2})).await;
    let single = app.create_sale(1).await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    assert_eq!(app.book(single, users[0]).await.status(), 201);

    let body = assert_problem(
        app.join_waitlist(event, users[1], 3).await,
        409,
        "limit_exceeded",
    )
    .await;
    assert_eq!(body["max_per_user"], 2);
    // The user's booked seat counts: 1 + 2 > 2.
    let body = assert_problem(
        app.join_waitlist(event, users[0], 2).await,
        409,
        "limit_exceeded",
    )
    .await;
    assert_eq!(body["max_per_user"], 2);
    assert_problem(
        app.join_waitlist(single, users[0], 1).await,
        409,
        "already_booked",
    )
    .await;

    assert_problem(
        app.join_waitlist(424_242, users[1], 1).await,
        404,
        "event_not_found",
    )
    .await;
    assert_problem(
        app.join_waitlist(event, 424_242, 1).await,
        404,
        "user_not_found",
    )
    .await;
    let path = format!("/events/{event}/waitlist");
    for (body, code) in [
        (json!({"quantity": 0}), "invalid_quantity"),
        (json!({"quantity": 101}), "invalid_quantity"),
        (json!({"quantity": 1.5}), "invalid_body"),
        (json!({"event_id": event}), "invalid_body"),
        // The buyer is the token's: a user_id in the body is refused.
        (json!({"user_id": users[1]}), "invalid_body"),
    ] {
        assert_problem(app.post_as(users[1], &path, body).await, 422, code).await;
    }
    assert_problem(
        app.post_as(users[1], "/events/0/waitlist", json!({})).await,
        422,
        "invalid_id",
    )
    .await;
    assert_problem(
        app.get_as(1, "/waitlist/424242").await,
        404,
        "waitlist_entry_not_found",
    )
    .await;
    assert_problem(
        app.delete_as(1, "/waitlist/424242").await,
        404,
        "waitlist_entry_not_found",
    )
    .await;
    assert_problem(app.get_as(1, "/waitlist/0").await, 422, "invalid_id").await;
    assert_problem(app.delete_as(1, "/waitlist/-1").await, 422, "invalid_id").await;
    assert_eq!(app.event(event).await["waiting"], 0);

    // Default quantity 1.
    let response = app.post_as(users[1], &path, json!({})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["quantity"], 1);
}

#[tokio::test]
async fn while_someone_waits_new_buyers_are_sold_out_even_with_seats_free() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(2, json!({"max_per_user": 2, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(4).await;
    let cancelled = booking_id(app.book(event, users[0]).await).await;
    assert_eq!(app.book(event, users[1]).await.status(), 201);
    let entry = created_id(app.join_waitlist(event, users[2], 2).await).await;

    // One seat back: not enough for the entry, which keeps waiting.
    let response = app.delete_as_owner(&format!("/bookings/{cancelled}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(standing(&app, entry).await, waiting(1));
    let shown = app.event(event).await;
    assert_eq!(
        (shown["remaining"].as_i64(), shown["waiting"].as_i64()),
        (Some(1), Some(2))
    );

    assert_problem(app.book(event, users[3]).await, 409, "sold_out").await;
    assert_problem(app.book_seats(event, users[3], 1).await, 409, "sold_out").await;
    assert_problem(app.hold(event, users[3], 1).await, 409, "sold_out").await;
    assert_eq!(app.event(event).await["booked"], 1);

    // The second seat back: the entry gets both.
    let other = app
        .get_as_admin(&format!("/users/{}/bookings", users[1]))
        .await;
    let other: Value = other.json().await.unwrap();
    let other = other["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{other}"))
            .await
            .status(),
        200
    );
    assert_eq!(standing(&app, entry).await, no_position("offered"));
    let shown = app.event(event).await;
    assert_eq!(
        (
            shown["held"].as_i64(),
            shown["remaining"].as_i64(),
            shown["waiting"].as_i64()
        ),
        (Some(2), Some(0), Some(0))
    );
}

#[tokio::test]
async fn a_cancellation_offers_its_seats_to_the_first_entry_and_the_offer_confirms() {
    let app = spawn_app().await;
    let event = app.create_sale_with(1, json!({"offer_seconds": 120})).await;
    let users = app.insert_users(3).await;
    let booking = booking_id(app.book(event, users[0]).await).await;
    let first = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let second = created_id(app.join_waitlist(event, users[2], 1).await).await;

    let before = Utc::now();
    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{booking}"))
            .await
            .status(),
        200
    );
    let offered = app.waitlist_entry(first).await;
    assert_eq!(offered["status"], "offered", "{offered}");
    assert!(offered["position"].is_null());
    let hold_id = offered["hold_id"].as_i64().expect("an offer has a hold");
    let expires_at = time(&offered["expires_at"]);
    let slack = chrono::Duration::seconds(5);
    assert!(
        expires_at > before + chrono::Duration::seconds(120) - slack
            && expires_at < Utc::now() + chrono::Duration::seconds(120) + slack,
        "{offered}"
    );
    assert_eq!(standing(&app, second).await, waiting(1));

    let hold: Value = app
        .get_as_owner(&format!("/holds/{hold_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            hold["status"].as_str(),
            hold["user_id"].as_i64(),
            hold["quantity"].as_i64()
        ),
        (Some("held"), Some(users[1]), Some(1))
    );
    assert_eq!(time(&hold["expires_at"]), expires_at);
    let shown = app.event(event).await;
    assert_eq!(
        (
            shown["booked"].as_i64(),
            shown["held"].as_i64(),
            shown["remaining"].as_i64(),
            shown["waiting"].as_i64()
        ),
        (Some(0), Some(1), Some(0), Some(1))
    );
    // The offered seat is the entry's: the canceller cannot take it back.
    assert_problem(app.book(event, users[0]).await, 409, "sold_out").await;

    let response = app.confirm_hold(hold_id).await;
    assert_eq!(response.status(), 201);
    let booked: Value = response.json().await.unwrap();
    assert_eq!(
        (booked["user_id"].as_i64(), booked["quantity"].as_i64()),
        (Some(users[1]), Some(1))
    );
    let confirmed = app.waitlist_entry(first).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert!(confirmed["position"].is_null() && confirmed["expires_at"].is_null());
    assert_eq!(confirmed["hold_id"], hold_id);
    assert_eq!(app.event(event).await["booked"], 1);
    assert_eq!(standing(&app, second).await, waiting(1));
}

#[tokio::test]
async fn a_released_hold_is_offered_to_the_waiting_list() {
    let app = spawn_app().await;
    let event = app.create_sale_with(1, json!({"hold_seconds": 60})).await;
    let users = app.insert_users(2).await;
    let hold = created_id(app.hold(event, users[0], 1).await).await;
    let entry = created_id(app.join_waitlist(event, users[1], 1).await).await;

    assert_eq!(
        app.delete_as_owner(&format!("/holds/{hold}"))
            .await
            .status(),
        200
    );
    let offered = app.waitlist_entry(entry).await;
    assert_eq!(offered["status"], "offered", "{offered}");
    assert_ne!(offered["hold_id"], hold);
    assert_problem(app.hold(event, users[0], 1).await, 409, "sold_out").await;
}

/// The sweeper runs every 200 ms: an offer not confirmed in its
/// offer_seconds goes to the next entry.
#[tokio::test]
async fn an_expired_offer_goes_to_the_next_entry() {
    let app = spawn_app_with(AppOptions {
        hold_sweep: Some(Duration::from_millis(200)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale_with(1, json!({"offer_seconds": 1})).await;
    let users = app.insert_users(3).await;
    let booking = booking_id(app.book(event, users[0]).await).await;
    let first = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let second = created_id(app.join_waitlist(event, users[2], 1).await).await;
    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{booking}"))
            .await
            .status(),
        200
    );
    let offer = app.waitlist_entry(first).await;
    assert_eq!(offer["status"], "offered");
    let first_hold = offer["hold_id"].as_i64().unwrap();
    let lapses = Instant::now() + Duration::from_secs(1);

    let deadline = lapses + Duration::from_secs(2);
    let next = loop {
        let next = app.waitlist_entry(second).await;
        if next["status"] == "offered" {
            break next;
        }
        assert!(
            Instant::now() < deadline,
            "the second entry was not offered within 2 s of the first offer's expiry: {next}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(next["hold_id"].as_i64(), Some(first_hold));
    assert_eq!(standing(&app, first).await, no_position("expired"));
    assert_problem(app.confirm_hold(first_hold).await, 409, "hold_expired").await;
    let hold: Value = app
        .get_as_owner(&format!("/holds/{first_hold}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hold["status"], "expired");
    assert_eq!(
        app.confirm_hold(next["hold_id"].as_i64().unwrap())
            .await
            .status(),
        201
    );
    assert_eq!(standing(&app, second).await, no_position("confirmed"));
}

#[tokio::test]
async fn leaving_the_waiting_list_and_leaving_with_an_open_offer() {
    let app = spawn_app().await;
    let event = app.create_sale_with(1, json!({"offer_seconds": 120})).await;
    let users = app.insert_users(4).await;
    let booking = booking_id(app.book(event, users[0]).await).await;
    let quitter = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let offered = created_id(app.join_waitlist(event, users[2], 1).await).await;
    let last = created_id(app.join_waitlist(event, users[3], 1).await).await;
    assert_eq!(standing(&app, last).await, waiting(3));

    let path = format!("/waitlist/{quitter}");
    let response = app.delete_as(users[1], &path).await;
    assert_eq!(response.status(), 200);
    let left: Value = response.json().await.unwrap();
    assert_eq!(left["status"], "left");
    assert!(left["position"].is_null());
    let again = app.delete_as(users[1], &path).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), left);
    assert_eq!(standing(&app, offered).await, waiting(1));
    assert_eq!(standing(&app, last).await, waiting(2));
    assert_eq!(app.event(event).await["waiting"], 2);
    // Having left, the user may join again, at the back.
    let rejoined = created_id(app.join_waitlist(event, users[1], 1).await).await;
    assert_eq!(standing(&app, rejoined).await, waiting(3));

    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{booking}"))
            .await
            .status(),
        200
    );
    let offer = app.waitlist_entry(offered).await;
    assert_eq!(offer["status"], "offered");
    let offer_hold = offer["hold_id"].as_i64().unwrap();
    assert_eq!(standing(&app, last).await, waiting(1));

    // Leaving with an open offer releases it to the next entry at once.
    let response = app.delete_as_owner(&format!("/waitlist/{offered}")).await;
    assert_eq!(response.status(), 200);
    let left: Value = response.json().await.unwrap();
    assert_eq!(left["status"], "left");
    let hold: Value = app
        .get_as_owner(&format!("/holds/{offer_hold}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hold["status"], "released");
    assert_problem(app.confirm_hold(offer_hold).await, 409, "hold_released").await;
    let next = app.waitlist_entry(last).await;
    assert_eq!(next["status"], "offered", "{next}");
    assert_eq!(standing(&app, rejoined).await, waiting(1));
    let shown = app.event(event).await;
    assert_eq!(
        (shown["held"].as_i64(), shown["waiting"].as_i64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn declining_an_offer_passes_it_on() {
    let app = spawn_app().await;
    let event = app.create_sale_with(1, json!({"offer_seconds": 120})).await;
    let users = app.insert_users(3).await;
    let booking = booking_id(app.book(event, users[0]).await).await;
    let first = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let second = created_id(app.join_waitlist(event, users[2], 1).await).await;
    app.delete_as_owner(&format!("/bookings/{booking}")).await;
    let hold = app.waitlist_entry(first).await["hold_id"].as_i64().unwrap();

    assert_eq!(
        app.delete_as_owner(&format!("/holds/{hold}"))
            .await
            .status(),
        200
    );
    assert_eq!(standing(&app, first).await, no_position("declined"));
    assert_eq!(standing(&app, second).await, no_position("offered"));
}

/// First come, first served among those who fit: 1 seat back skips the
/// entry that wants 3, which keeps its place at the head of the list.
#[tokio::test]
async fn a_returned_seat_goes_to_the_earliest_entry_it_fits() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(3, json!({"max_per_user": 3, "offer_seconds": 120}))
        .await;
    let users = app.insert_users(4).await;
    assert_eq!(app.book_seats(event, users[0], 2).await.status(), 201);
    let single = booking_id(app.book(event, users[1]).await).await;
    let wants_three = created_id(app.join_waitlist(event, users[2], 3).await).await;
    let wants_one = created_id(app.join_waitlist(event, users[3], 1).await).await;
    assert_eq!(standing(&app, wants_one).await, waiting(2));

    assert_eq!(
        app.delete_as_owner(&format!("/bookings/{single}"))
            .await
            .status(),
        200
    );
    let offered = app.waitlist_entry(wants_one).await;
    assert_eq!(offered["status"], "offered", "{offered}");
    assert_eq!(standing(&app, wants_three).await, waiting(1));
    let shown = app.event(event).await;
    assert_eq!(
        (
            shown["booked"].as_i64(),
            shown["held"].as_i64(),
            shown["remaining"].as_i64(),
            shown["waiting"].as_i64()
        ),
        (Some(2), Some(1), Some(0), Some(3))
    );
}

#[tokio::test]
async fn idempotency_keys_replay_joining_and_leaving() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    let path = format!("/events/{event}/waitlist");
    let join = || {
        app.as_buyer(reqwest::Method::POST, users[1], &path)
            .header("Idempotency-Key", "join-1")
            .json(&json!({}))
            .send()
    };
    let first = join().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = join().await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);

    let leave_path = format!("/waitlist/{}", first["id"]);
    let leave = |key: &'static str| {
        app.as_buyer(reqwest::Method::DELETE, users[1], &leave_path)
            .header("Idempotency-Key", key)
            .send()
    };
    let left = leave("leave-1").await.unwrap();
    assert_eq!(left.status(), 200);
    let retry = leave("leave-1").await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_problem(
        leave("join-1").await.unwrap(),
        422,
        "idempotency_key_reused",
    )
    .await;
}

/// An open offer keeps its user on the list: joining again is
/// already_waiting (the offered entry); once the offer lapses they may queue
/// again.
#[tokio::test]
async fn a_user_with_an_open_offer_is_already_waiting() {
    let app = spawn_app_with(AppOptions {
        hold_sweep: Some(Duration::from_secs(3_600)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale_with(1, json!({"offer_seconds": 1})).await;
    let users = app.insert_users(3).await;
    let booking = booking_id(app.book(event, users[0]).await).await;
    let entry = created_id(app.join_waitlist(event, users[1], 1).await).await;
    app.delete_as_owner(&format!("/bookings/{booking}")).await;
    assert_eq!(standing(&app, entry).await, no_position("offered"));

    let body = assert_problem(
        app.join_waitlist(event, users[1], 1).await,
        409,
        "already_waiting",
    )
    .await;
    assert_eq!(body["entry_id"], entry);

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(standing(&app, entry).await, no_position("expired"));
    // The lapsed offer's seat is free (nobody waits); the user may book it.
    assert_eq!(app.event(event).await["remaining"], 1);
    assert_eq!(app.book(event, users[1]).await.status(), 201);
    let again = app.join_waitlist(event, users[2], 1).await;
    assert_eq!(again.status(), 201);
}

/// Free seats that the head of the list does not fit go to a newcomer who
/// fits, at once: the join answers `offered`.
#[tokio::test]
async fn a_newcomer_who_fits_free_seats_is_offered_them_at_once() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(2, json!({"max_per_user": 2, "offer_seconds": 120}))
        .await;
    let users = app.insert_users(4).await;
    let cancelled = booking_id(app.book(event, users[0]).await).await;
    assert_eq!(app.book(event, users[1]).await.status(), 201);
    let head = created_id(app.join_waitlist(event, users[2], 2).await).await;
    app.delete_as_owner(&format!("/bookings/{cancelled}")).await;
    assert_eq!(standing(&app, head).await, waiting(1));

    let response = app.join_waitlist(event, users[3], 1).await;
    assert_eq!(response.status(), 201);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(entry["status"], "offered", "{entry}");
    assert!(entry["hold_id"].is_i64() && entry["expires_at"].is_string());
    assert_eq!(standing(&app, head).await, waiting(1));
    assert_eq!(app.event(event).await["remaining"], 0);
}

/// A plain hold that lapses while people wait is offered by the sweeper.
#[tokio::test]
async fn an_expired_hold_is_offered_to_the_waiting_list_by_the_sweeper() {
    let app = spawn_app_with(AppOptions {
        hold_sweep: Some(Duration::from_millis(200)),
        ..AppOptions::default()
    })
    .await;
    let event = app
        .create_sale_with(1, json!({"hold_seconds": 1, "offer_seconds": 120}))
        .await;
    let users = app.insert_users(2).await;
    let hold = created_id(app.hold(event, users[0], 1).await).await;
    let entry = created_id(app.join_waitlist(event, users[1], 1).await).await;

    let deadline = Instant::now() + Duration::from_secs(3);
    while standing(&app, entry).await.0 != "offered" {
        assert!(Instant::now() < deadline, "no offer within 2 s of expiry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_problem(app.confirm_hold(hold).await, 409, "hold_expired").await;
    let swept: Value = app
        .get_as_owner(&format!("/holds/{hold}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(swept["status"], "expired");
}

/// Leaving is for people still waiting or holding an open offer. An entry
/// whose offer was confirmed has ended: DELETE changes nothing and it stays
/// `confirmed` (the user has the seats; "left" would say otherwise).
#[tokio::test]
async fn leaving_after_confirming_the_offer_changes_nothing() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(2).await;
    let booking = booking_id(app.book(event, users[0]).await).await;
    let entry = created_id(app.join_waitlist(event, users[1], 1).await).await;
    app.delete_as_owner(&format!("/bookings/{booking}")).await;
    let hold = app.waitlist_entry(entry).await["hold_id"].as_i64().unwrap();
    assert_eq!(app.confirm_hold(hold).await.status(), 201);
    let confirmed = app.waitlist_entry(entry).await;
    assert_eq!(confirmed["status"], "confirmed");

    let response = app.delete_as_owner(&format!("/waitlist/{entry}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), confirmed);
    assert_eq!(app.waitlist_entry(entry).await, confirmed);
    assert_eq!(app.event(event).await["booked"], 1);
}
