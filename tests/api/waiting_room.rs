//! The waiting room (issue 14, point 3): settings, fair places, admission at
//! the event's rate from the database's clock on every replica, and the
//! admission pass that `POST /holds` and `POST /bookings` need, once.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use flashbook::admission::PassSecret;
use flashbook::startup::Application;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, behind_the_event_lock, settings_for, spawn_app, TestApp, ADMIN_TOKEN,
};

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn put_room(
    app: &TestApp,
    event_id: i64,
    rate: i64,
    pass_seconds: i64,
    opens_at: DateTime<Utc>,
) -> Response {
    put_room_settings(
        app,
        event_id,
        json!({"admission_per_second": rate, "pass_seconds": pass_seconds, "opens_at": rfc3339(opens_at)}),
    )
    .await
}

async fn put_room_settings(app: &TestApp, event_id: i64, settings: Value) -> Response {
    app.http
        .put(app.url(&format!("/events/{event_id}/waiting-room")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&settings)
        .send()
        .await
        .unwrap()
}

async fn open_room(
    app: &TestApp,
    event_id: i64,
    rate: i64,
    pass_seconds: i64,
    opens_at: DateTime<Utc>,
) {
    let response = put_room(app, event_id, rate, pass_seconds, opens_at).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn join(app: &TestApp, event_id: i64, user_id: i64) -> Response {
    let path = format!("/events/{event_id}/queue");
    app.as_buyer(Method::POST, user_id, &path)
        .send()
        .await
        .unwrap()
}

/// Joins and returns the ticket's body (201).
async fn joined(app: &TestApp, event_id: i64, user_id: i64) -> Value {
    let response = join(app, event_id, user_id).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn ticket(app: &TestApp, ticket: &str) -> Value {
    let response = app.get_as_owner(&format!("/queue/{ticket}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn room(app: &TestApp, event_id: i64) -> Value {
    let response = app.get(&format!("/events/{event_id}/waiting-room")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `POST /bookings` (or `/holds`) with an `Admission-Pass` header.
async fn take_with_pass(
    app: &TestApp,
    path: &str,
    event_id: i64,
    user_id: i64,
    pass: &str,
) -> Response {
    app.as_buyer(Method::POST, user_id, path)
        .header("Admission-Pass", pass)
        .json(&json!({"event_id": event_id}))
        .send()
        .await
        .unwrap()
}

async fn refused(response: Response, reason: &str) {
    let body = assert_problem(response, 403, "admission_required").await;
    assert_eq!(body["reason"], reason, "{body}");
}

/// The places the database gave, by user, in line order. After the opening,
/// fixes the early joiners' places first, as the first read would.
async fn places(app: &TestApp, event_id: i64) -> Vec<(i64, i32, bool)> {
    let db = app.db().await;
    db.execute("SELECT rank_early($1)", &[&event_id])
        .await
        .unwrap();
    db.query(
        "SELECT user_id, place, early FROM queue_tickets WHERE event_id = $1 ORDER BY place",
        &[&event_id],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2)))
    .collect()
}

/// A joined ticket that was admitted at once (the room opened long ago at a
/// high rate): its pass.
async fn admitted_pass(app: &TestApp, event_id: i64, user_id: i64) -> (String, String) {
    let body = joined(app, event_id, user_id).await;
    assert_eq!(body["status"], "admitted", "{body}");
    (
        body["ticket"].as_str().unwrap().to_owned(),
        body["pass"].as_str().unwrap().to_owned(),
    )
}

fn long_ago() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::seconds(3600)
}

#[tokio::test]
async fn the_admin_turns_a_waiting_room_on_reads_it_and_turns_it_off() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let opens_at = Utc::now() + chrono::Duration::seconds(60);
    let response = app
        .http
        .put(app.url(&format!("/events/{event}/waiting-room")))
        .json(
            &json!({"admission_per_second": 5, "pass_seconds": 60, "opens_at": rfc3339(opens_at)}),
        )
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "unauthorized").await;
    assert_problem(
        put_room(&app, 999_999, 5, 60, opens_at).await,
        404,
        "event_not_found",
    )
    .await;
    assert_problem(
        put_room(&app, event, 0, 60, opens_at).await,
        422,
        "invalid_field",
    )
    .await;
    assert_problem(
        put_room(&app, event, 5, 0, opens_at).await,
        422,
        "invalid_field",
    )
    .await;
    // An instant PostgreSQL cannot store was a 500; one it can but an
    // answer could not write back as RFC 3339 was stored.
    for opens_at in [
        "-4714-11-23T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "+262142-01-01T00:00:00Z",
    ] {
        let settings = json!({"admission_per_second": 5, "pass_seconds": 60, "opens_at": opens_at});
        assert_problem(
            put_room_settings(&app, event, settings).await,
            422,
            "invalid_field",
        )
        .await;
    }
    assert_problem(
        app.get(&format!("/events/{event}/waiting-room")).await,
        409,
        "waiting_room_off",
    )
    .await;

    let response = put_room(&app, event, 5, 60, opens_at).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["admission_per_second"], 5);
    assert_eq!(body["pass_seconds"], 60);
    assert_eq!(body["joined"], 0);
    assert_eq!(body["admitted"], 0);
    let user = app.create_user("a@example.com").await;
    joined(&app, event, user).await;
    let body = room(&app, event).await;
    assert_eq!(
        (body["joined"].as_i64(), body["admitted"].as_i64()),
        (Some(1), Some(0))
    );

    let response = app
        .http
        .delete(app.url(&format!("/events/{event}/waiting-room")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&format!("/events/{event}/waiting-room")).await,
        409,
        "waiting_room_off",
    )
    .await;
    // Off again: bookings need no pass.
    assert_eq!(app.book(event, user).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn joining_needs_a_room_a_known_event_and_user_and_gives_one_place_per_user() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let user = app.create_user("a@example.com").await;
    assert_problem(join(&app, event, user).await, 409, "waiting_room_off").await;
    open_room(
        &app,
        event,
        5,
        60,
        Utc::now() + chrono::Duration::seconds(60),
    )
    .await;
    assert_problem(join(&app, 999_999, user).await, 404, "event_not_found").await;
    assert_problem(join(&app, event, 999_999).await, 404, "user_not_found").await;
    assert_problem(
        app.get_as(1, "/queue/0123456789abcdef0123456789abcdef")
            .await,
        404,
        "ticket_not_found",
    )
    .await;
    assert_problem(app.get_as(1, "/queue/1").await, 404, "ticket_not_found").await;

    let first = joined(&app, event, user).await;
    let ticket_id = first["ticket"].as_str().unwrap();
    assert_eq!(ticket_id.len(), 32, "128-bit hex: {first}");
    assert_eq!(first["status"], "waiting");
    assert_eq!(first["position"], 1);
    // The room opens in 60 s; then the first place is in after 1/5 s.
    let wait = first["estimated_wait_seconds"].as_i64().unwrap();
    assert!((59..=61).contains(&wait), "the opening counts: {first}");
    // A repeat: 200 and the same ticket.
    let again = join(&app, event, user).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["ticket"], first["ticket"]);
    assert_eq!(room(&app, event).await["joined"], 1);
}

#[tokio::test]
async fn early_joiners_are_placed_at_random_and_later_ones_in_arrival_order_after_them() {
    let app = spawn_app().await;
    let event = app.create_sale(100).await;
    let users = app.insert_users(23).await;
    let opens_at = Utc::now() + chrono::Duration::milliseconds(2500);
    // One admission a second: the line hardly moves during the test.
    open_room(&app, event, 1, 60, opens_at).await;
    let mut early_positions = Vec::new();
    for &user in &users[..20] {
        joined(&app, event, user).await;
    }
    let tickets: Vec<Value> = {
        let rows = app
            .db()
            .await
            .query(
                "SELECT ticket FROM queue_tickets WHERE event_id = $1 ORDER BY joined_at",
                &[&event],
            )
            .await
            .unwrap();
        let mut tickets = Vec::new();
        for row in rows {
            tickets.push(ticket(&app, row.get(0)).await);
        }
        tickets
    };
    for body in &tickets {
        assert_eq!(body["status"], "waiting");
        early_positions.push(body["position"].as_i64().unwrap());
    }
    // Before the opening: a provisional order, every place once.
    let mut sorted = early_positions.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=20).collect::<Vec<_>>());

    tokio::time::sleep_until(
        tokio::time::Instant::now() + (opens_at - Utc::now()).to_std().unwrap_or_default(),
    )
    .await;
    for &user in &users[20..] {
        joined(&app, event, user).await;
    }
    let places = places(&app, event).await;
    let order: Vec<i64> = places.iter().map(|(user, _, _)| *user).collect();
    assert_eq!(
        places
            .iter()
            .map(|(_, place, _)| *place)
            .collect::<Vec<_>>(),
        (1..=23).collect::<Vec<_>>()
    );
    assert!(places[..20].iter().all(|(_, _, early)| *early));
    assert_ne!(
        &order[..20],
        &users[..20],
        "20 early joiners kept their arrival order: the draw is not random"
    );
    assert_eq!(
        order[..20].iter().collect::<HashSet<_>>(),
        users[..20].iter().collect::<HashSet<_>>()
    );
    assert_eq!(&order[20..], &users[20..], "late joiners in arrival order");
    // Provisional order before the opening was the final one.
    for (body, user) in tickets.iter().zip(&users[..20]) {
        let place = places.iter().find(|(u, _, _)| u == user).unwrap().1;
        assert_eq!(body["position"].as_i64().unwrap(), i64::from(place));
    }
}

#[tokio::test]
async fn places_are_admitted_at_the_rate_and_positions_and_estimates_count_down() {
    let app = spawn_app().await;
    let event = app.create_sale(100).await;
    let users = app.insert_users(30).await;
    let opens_at = Utc::now() + chrono::Duration::seconds(1);
    open_room(&app, event, 10, 60, opens_at).await;
    let mut tickets = Vec::new();
    for &user in &users {
        tickets.push(
            joined(&app, event, user).await["ticket"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let place_of = places(&app, event).await;
    for round in 0..3 {
        let before = room(&app, event).await["admitted"].as_i64().unwrap();
        let mut answers = Vec::new();
        for ticket_id in &tickets {
            answers.push(ticket(&app, ticket_id).await);
        }
        let after = room(&app, event).await["admitted"].as_i64().unwrap();
        assert!(
            before >= 1 && after <= 30,
            "round {round}: {before}..{after}"
        );
        for answer in &answers {
            let user = answer["user_id"].as_i64().unwrap();
            let place = i64::from(place_of.iter().find(|(u, _, _)| *u == user).unwrap().1);
            if place <= before {
                assert_eq!(
                    answer["status"], "admitted",
                    "place {place}, {before} in: {answer}"
                );
                assert!(answer["pass"].is_string());
            } else if place > after {
                assert_eq!(
                    answer["status"], "waiting",
                    "place {place}, {after} in: {answer}"
                );
                let position = answer["position"].as_i64().unwrap();
                assert!(
                    (place - after..=place - before).contains(&position),
                    "{answer}"
                );
                assert_eq!(
                    answer["estimated_wait_seconds"].as_i64().unwrap(),
                    (position + 9) / 10
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // Time moves the line: by now at least 2 s of admissions at 10 a second.
    assert!(room(&app, event).await["admitted"].as_i64().unwrap() >= 20);
}

#[tokio::test]
async fn bookings_and_holds_need_a_valid_pass_while_the_room_is_on() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let other_event = app.create_sale(10).await;
    let users = app.insert_users(4).await;
    open_room(&app, event, 1000, 60, long_ago()).await;
    open_room(&app, other_event, 1000, 60, long_ago()).await;
    let (_, pass) = admitted_pass(&app, event, users[0]).await;
    let (_, other_pass) = admitted_pass(&app, other_event, users[0]).await;

    refused(app.book(event, users[0]).await, "missing").await;
    refused(app.hold(event, users[0], 1).await, "missing").await;
    refused(
        take_with_pass(&app, "/bookings", event, users[0], "nonsense").await,
        "malformed",
    )
    .await;
    let forged = PassSecret::new("not the server's".into()).sign(
        &"a".repeat(32),
        event,
        users[0],
        Utc::now() + chrono::Duration::seconds(60),
    );
    refused(
        take_with_pass(&app, "/bookings", event, users[0], &forged).await,
        "bad_signature",
    )
    .await;
    let tampered = pass.replacen(&format!(".{}.", users[0]), &format!(".{}.", users[1]), 1);
    refused(
        take_with_pass(&app, "/bookings", event, users[1], &tampered).await,
        "bad_signature",
    )
    .await;
    // Another's pass, or one for another event.
    refused(
        take_with_pass(&app, "/bookings", event, users[1], &pass).await,
        "wrong_holder",
    )
    .await;
    refused(
        take_with_pass(&app, "/bookings", event, users[0], &other_pass).await,
        "wrong_holder",
    )
    .await;
    // None of these used the pass.
    let response = take_with_pass(&app, "/bookings", event, users[0], &pass).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // A hold with a pass of its own.
    let (_, hold_pass) = admitted_pass(&app, event, users[1]).await;
    let response = take_with_pass(&app, "/holds", event, users[1], &hold_pass).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let hold: Value = response.json().await.unwrap();
    // Confirming the admitted hold needs no second pass.
    let hold_id = hold["id"].as_i64().unwrap();
    assert_eq!(
        app.confirm_hold(hold_id).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.event(event).await["booked"], 2);
}

#[tokio::test]
async fn each_pass_is_used_once_even_by_concurrent_requests_and_by_a_sold_out_answer() {
    let app = spawn_app().await;
    let event = app.create_sale_with(1, json!({"max_per_user": 1})).await;
    let users = app.insert_users(3).await;
    open_room(&app, event, 1000, 60, long_ago()).await;
    let (ticket_a, pass_a) = admitted_pass(&app, event, users[0]).await;
    // The same pass twice at once: one request gets the seat.
    let (first, second) = tokio::join!(
        take_with_pass(&app, "/bookings", event, users[0], &pass_a),
        take_with_pass(&app, "/bookings", event, users[0], &pass_a),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 403]);
    let loser = if first.status() == StatusCode::FORBIDDEN {
        first
    } else {
        second
    };
    refused(loser, "used").await;
    let body = ticket(&app, &ticket_a).await;
    assert_eq!(body["status"], "used", "{body}");
    assert!(body.get("pass").is_none(), "never a second pass: {body}");
    refused(
        take_with_pass(&app, "/holds", event, users[0], &pass_a).await,
        "used",
    )
    .await;

    // Sold out: the answer still uses the pass.
    let (ticket_b, pass_b) = admitted_pass(&app, event, users[1]).await;
    assert_problem(
        take_with_pass(&app, "/bookings", event, users[1], &pass_b).await,
        409,
        "sold_out",
    )
    .await;
    assert_eq!(ticket(&app, &ticket_b).await["status"], "used");
    refused(
        take_with_pass(&app, "/bookings", event, users[1], &pass_b).await,
        "used",
    )
    .await;
    let recorded = app
        .db()
        .await
        .query_one(
            "SELECT pass_outcome, booking_id IS NOT NULL FROM queue_tickets WHERE ticket = $1",
            &[&ticket_b],
        )
        .await
        .unwrap();
    assert_eq!(recorded.get::<_, &str>(0), "sold_out");
    assert!(!recorded.get::<_, bool>(1));
    assert_eq!(app.event(event).await["booked"], 1);
}

/// Passes in a batch beside keyed requests and holds: each is checked and
/// used in the batch's transaction, in arrival order; a pass sent twice in
/// one batch is used once; a sold-out answer uses its pass too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_are_checked_and_used_inside_a_mixed_batch() {
    let app = spawn_app().await;
    let event = app.create_sale_with(4, json!({"max_per_user": 2})).await;
    let users = app.insert_users(5).await;
    open_room(&app, event, 1000, 60, long_ago()).await;
    let mut passes = Vec::new();
    for &user in &users {
        passes.push(admitted_pass(&app, event, user).await);
    }
    let pass = |n: usize| passes[n].1.as_str();
    let with_pass = |path: &str, n: usize| {
        app.as_buyer(Method::POST, users[n], path)
            .header("Admission-Pass", pass(n))
            .json(&json!({"event_id": event}))
    };
    // users[3]'s pass is spent before the batch.
    assert_eq!(
        take_with_pass(&app, "/bookings", event, users[3], pass(3))
            .await
            .status(),
        201
    );

    let answers = behind_the_event_lock(
        &app,
        event,
        vec![
            with_pass("/bookings", 0),
            with_pass("/holds", 1).header("Idempotency-Key", "hold-1"),
            with_pass("/bookings", 3),
            with_pass("/bookings", 4),
            with_pass("/bookings", 4),
            with_pass("/bookings", 2),
        ],
    )
    .await;
    let [booked, keyed_hold, spent, seat_4, pass_reused, sold_out] =
        <[Response; 6]>::try_from(answers).unwrap();
    assert_eq!(booked.status(), 201);
    assert_eq!(keyed_hold.status(), 201);
    refused(spent, "used").await;
    assert_eq!(seat_4.status(), 201);
    refused(pass_reused, "used").await;
    assert_problem(sold_out, 409, "sold_out").await;

    let outcomes: Vec<(i64, String, bool)> = app
        .db()
        .await
        .query(
            "SELECT user_id, pass_outcome, coalesce(booking_id, hold_id) IS NOT NULL
               FROM queue_tickets WHERE event_id = $1 ORDER BY user_id",
            &[&event],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let expected = [
        ("booked", true),
        ("held", true),
        ("sold_out", false),
        ("booked", true),
        ("booked", true),
    ];
    let expected: Vec<(i64, String, bool)> = users
        .iter()
        .zip(expected)
        .map(|(&user, (outcome, made))| (user, outcome.to_owned(), made))
        .collect();
    assert_eq!(outcomes, expected);
    let replay = with_pass("/holds", 1).header("Idempotency-Key", "hold-1");
    let replay = replay.send().await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(app.event(event).await["booked"], 3);
}

#[tokio::test]
async fn an_expired_pass_is_refused_and_never_replaced() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let user = app.insert_users(1).await[0];
    open_room(&app, event, 1000, 1, long_ago()).await;
    let (ticket_id, pass) = admitted_pass(&app, event, user).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    refused(
        take_with_pass(&app, "/bookings", event, user, &pass).await,
        "expired",
    )
    .await;
    let body = ticket(&app, &ticket_id).await;
    assert_eq!(body["status"], "expired", "{body}");
    assert!(body.get("pass").is_none());
}

#[tokio::test]
async fn a_head_of_an_admitted_ticket_leaves_its_pass_unissued() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let user = app.insert_users(1).await[0];
    open_room(
        &app,
        event,
        1000,
        60,
        Utc::now() + chrono::Duration::seconds(1),
    )
    .await;
    let body = joined(&app, event, user).await;
    assert_eq!(
        body["status"], "waiting",
        "joined before the opening: {body}"
    );
    let ticket_id = body["ticket"].as_str().unwrap().to_owned();
    let path = format!("/queue/{ticket_id}");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let issued = async || -> Option<DateTime<Utc>> {
        app.db()
            .await
            .query_one(
                "SELECT pass_expires_at FROM queue_tickets WHERE ticket = $1",
                &[&ticket_id],
            )
            .await
            .unwrap()
            .get(0)
    };
    for _ in 0..3 {
        let head = app
            .as_buyer(Method::HEAD, user, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(issued().await, None, "a HEAD issued the pass");
    }
    let asked_at = Utc::now();
    let body = ticket(&app, &ticket_id).await;
    assert_eq!(body["status"], "admitted", "{body}");
    assert!(body["pass"].is_string(), "{body}");
    let expires_at = issued().await.expect("the GET issued the pass");
    assert!(
        expires_at >= asked_at + chrono::Duration::seconds(59),
        "the pass's minute counts from the buyer's GET: {expires_at} for a GET at {asked_at}"
    );
}

/// A replica of `app`'s database signing with `secret`.
async fn replica(app: &TestApp, secret: &str) -> TestApp {
    let mut settings = settings_for(&app.database_url, &Default::default());
    settings.pass_secret = Some(PassSecret::new(secret.to_owned()));
    let application = Application::build(settings).await.expect("replica starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        metrics_address: None,
        database_url: app.database_url.clone(),
        http: app.http.clone(),
        tokens: app.tokens.clone(),
    }
}

#[tokio::test]
async fn two_replicas_agree_on_places_admissions_and_passes() {
    let app = spawn_app().await;
    let (a, b) = (replica(&app, "shared").await, replica(&app, "shared").await);
    let event = app.create_sale(100).await;
    let users = app.insert_users(12).await;
    // Far enough out for 12 joins and 24 ticket reads on a loaded machine.
    let opens_at = Utc::now() + chrono::Duration::milliseconds(3000);
    // The room turned on through A reaches B's gate within its refresh.
    open_room(&a, event, 4, 60, opens_at).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    refused(b.book(event, users[0]).await, "missing").await;

    let mut tickets = Vec::new();
    for (index, &user) in users.iter().enumerate() {
        let replica = if index % 2 == 0 { &a } else { &b };
        tickets.push(
            joined(replica, event, user).await["ticket"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Before the opening: the same provisional positions on both.
    for ticket_id in &tickets {
        assert_eq!(
            ticket(&a, ticket_id).await["position"],
            ticket(&b, ticket_id).await["position"]
        );
    }
    assert!(
        Utc::now() < opens_at,
        "the joins and reads outlasted the time before the opening"
    );
    // 1.5 s after the opening at 4 a second: about 6 admitted of the 12.
    let after_opening = (opens_at - Utc::now()).to_std().unwrap() + Duration::from_millis(1500);
    tokio::time::sleep(after_opening).await;
    // One line, one rate: both count the same admissions (within the
    // instants between two reads), and both give an admitted ticket the
    // same pass.
    let (in_a, in_b) = (room(&a, event).await, room(&b, event).await);
    let (admitted_a, admitted_b) = (
        in_a["admitted"].as_i64().unwrap(),
        in_b["admitted"].as_i64().unwrap(),
    );
    assert!(
        admitted_a >= 4 && admitted_b >= admitted_a && admitted_b <= admitted_a + 2,
        "{in_a} {in_b}"
    );
    assert_eq!(in_a["joined"], 12);
    let places = places(&app, event).await;
    let first_user = places[0].0;
    let first_ticket = &tickets[users.iter().position(|u| *u == first_user).unwrap()];
    let (from_a, from_b) = (
        ticket(&a, first_ticket).await,
        ticket(&b, first_ticket).await,
    );
    assert_eq!(from_a["status"], "admitted");
    assert_eq!(from_a["pass"], from_b["pass"]);
    let last_user = places[11].0;
    let last_ticket = &tickets[users.iter().position(|u| *u == last_user).unwrap()];
    let (from_a, from_b) = (ticket(&a, last_ticket).await, ticket(&b, last_ticket).await);
    assert_eq!(from_a["status"], "waiting");
    let (position_a, position_b) = (
        from_a["position"].as_i64().unwrap(),
        from_b["position"].as_i64().unwrap(),
    );
    assert!(
        position_b <= position_a && position_a - position_b <= 2,
        "{from_a} {from_b}"
    );
    // A's pass, sent to both at once, books once: two batches in two
    // transactions, ordered by the event's lock (no ticket row is locked).
    let pass = from_b_pass(&a, first_ticket).await;
    let (on_a, on_b) = tokio::join!(
        take_with_pass(&a, "/bookings", event, first_user, &pass),
        take_with_pass(&b, "/bookings", event, first_user, &pass),
    );
    let (booked, loser) = if on_a.status() == StatusCode::CREATED {
        (on_a, on_b)
    } else {
        (on_b, on_a)
    };
    assert_eq!(booked.status(), StatusCode::CREATED);
    refused(loser, "used").await;
    assert_eq!(app.event(event).await["booked"], 1);
}

async fn from_b_pass(app: &TestApp, ticket_id: &str) -> String {
    ticket(app, ticket_id).await["pass"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn events_without_a_waiting_room_book_as_before() {
    let app = spawn_app().await;
    let gated = app.create_sale(10).await;
    let open = app.create_sale(10).await;
    let users = app.insert_users(3).await;
    open_room(&app, gated, 1000, 60, long_ago()).await;
    assert_eq!(app.book(open, users[0]).await.status(), StatusCode::CREATED);
    // A pass header on an event without a room is ignored.
    let response = take_with_pass(&app, "/bookings", open, users[1], "anything").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        app.hold(open, users[2], 1).await.status(),
        StatusCode::CREATED
    );
    refused(app.book(gated, users[0]).await, "missing").await;
}

/// The gate is the database's too: a room switched on behind the replica's
/// back (its in-memory set reloads only every second, and keeps the old set
/// when a reload fails) still stops bookings, holds and waiting-list joins
/// without a pass, in the seat functions themselves; nothing is written.
#[tokio::test]
async fn the_database_keeps_the_gate_that_the_replicas_may_not_know_of_yet() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(1).await;
    let db = app.db().await;
    db.execute(
        "INSERT INTO waiting_rooms (event_id, admission_per_second, pass_seconds, opens_at)
         VALUES ($1, 1000, 60, now())",
        &[&event],
    )
    .await
    .unwrap();
    for call in [
        "SELECT outcome FROM take_seats($1, ARRAY[$2::BIGINT], ARRAY[1], 'booking')",
        "SELECT outcome FROM take_seats($1, ARRAY[$2::BIGINT], ARRAY[1], 'hold')",
        "SELECT outcome FROM join_waitlist($1, $2, 1)",
    ] {
        let outcome: String = db
            .query_one(call, &[&event, &users[0]])
            .await
            .unwrap()
            .get(0);
        assert_eq!(outcome, "admission_required", "{call}");
    }
    // Through the API, whichever of the two gates answers first.
    refused(app.book(event, users[0]).await, "missing").await;
    refused(app.hold(event, users[0], 1).await, "missing").await;
    refused(app.join_waitlist(event, users[0], 1).await, "missing").await;
    let written: i64 = db
        .query_one(
            "SELECT (SELECT count(*) FROM bookings) + (SELECT count(*) FROM holds)
                  + (SELECT count(*) FROM waitlist_entries)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(written, 0);
}

/// While the room is on, the waiting list is for those it admitted: a buyer
/// who came through the room and found the event sold out may wait for
/// returned seats; one who never queued may not.
#[tokio::test]
async fn only_admitted_buyers_join_the_waiting_list_while_the_room_is_on() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let users = app.insert_users(3).await;
    open_room(&app, event, 1000, 60, long_ago()).await;
    let (_, pass) = admitted_pass(&app, event, users[0]).await;
    let response = take_with_pass(&app, "/bookings", event, users[0], &pass).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    admitted_pass(&app, event, users[1]).await;
    assert_eq!(
        app.join_waitlist(event, users[1], 1).await.status(),
        StatusCode::CREATED
    );
    refused(app.join_waitlist(event, users[2], 1).await, "missing").await;
}
