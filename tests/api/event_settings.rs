//! An event's sale settings (max_per_user, hold_seconds, offer_seconds), its
//! seat counts, the event list, and PATCH /events/{id}.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, created_id, spawn_app, ADMIN_TOKEN};

fn event_body(venue: i64, capacity: i64) -> Value {
    json!({"venue_id": venue, "name": "Gig", "starts_at": "2030-06-01T20:00:00Z", "capacity": capacity})
}

fn with(mut body: Value, extra: Value) -> Value {
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

fn settings(event: &Value) -> (i64, i64, i64) {
    (
        event["max_per_user"].as_i64().unwrap(),
        event["hold_seconds"].as_i64().unwrap(),
        event["offer_seconds"].as_i64().unwrap(),
    )
}

/// (capacity, booked, held, remaining, waiting)
fn seats(event: &Value) -> (i64, i64, i64, i64, i64) {
    let n = |field: &str| event[field].as_i64().unwrap();
    (
        n("capacity"),
        n("booked"),
        n("held"),
        n("remaining"),
        n("waiting"),
    )
}

#[tokio::test]
async fn sale_settings_default_to_1_600_900_and_are_stored_when_given() {
    let app = spawn_app().await;
    let venue = app.create_venue(10).await;

    let plain = app.create_event(venue, 10).await;
    let shown = app.event(plain).await;
    assert_eq!(settings(&shown), (1, 600, 900));
    assert_eq!(seats(&shown), (10, 0, 0, 10, 0));

    let body = with(
        event_body(venue, 10),
        json!({"max_per_user": 4, "hold_seconds": 30, "offer_seconds": 45}),
    );
    let response = app.post_as_admin("/events", body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(settings(&created), (4, 30, 45));
    let shown = app.event(created["id"].as_i64().unwrap()).await;
    assert_eq!(shown, created);

    let body = with(
        event_body(venue, 10),
        json!({"max_per_user": 100, "hold_seconds": 86_400, "offer_seconds": 1}),
    );
    let id = created_id(app.post_as_admin("/events", body).await).await;
    assert_eq!(settings(&app.event(id).await), (100, 86_400, 1));
}

#[tokio::test]
async fn sale_settings_out_of_range_are_422_invalid_field() {
    let app = spawn_app().await;
    let venue = app.create_venue(10).await;
    let event = app.create_event(venue, 10).await;
    for extra in [
        json!({"max_per_user": 0}),
        json!({"max_per_user": 101}),
        json!({"max_per_user": -1}),
        json!({"hold_seconds": 0}),
        json!({"hold_seconds": 86_401}),
        json!({"offer_seconds": 0}),
        json!({"offer_seconds": 86_401}),
    ] {
        let body = with(event_body(venue, 10), extra.clone());
        assert_problem(
            app.post_as_admin("/events", body).await,
            422,
            "invalid_field",
        )
        .await;
        assert_problem(
            app.patch_as_admin(&format!("/events/{event}"), extra).await,
            422,
            "invalid_field",
        )
        .await;
    }
    assert_problem(
        app.post_as_admin(
            "/events",
            with(event_body(venue, 10), json!({"max_per_user": "2"})),
        )
        .await,
        422,
        "invalid_body",
    )
    .await;
    assert_eq!(settings(&app.event(event).await), (1, 600, 900));
}

#[tokio::test]
async fn an_event_shows_booked_held_remaining_and_waiting_seats() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(4, json!({"max_per_user": 3, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(3).await;

    assert_eq!(app.book_seats(event, users[0], 2).await.status(), 201);
    assert_eq!(seats(&app.event(event).await), (4, 2, 0, 2, 0));
    assert_eq!(app.hold(event, users[1], 2).await.status(), 201);
    assert_eq!(seats(&app.event(event).await), (4, 2, 2, 0, 0));
    assert_eq!(
        app.join_waitlist(event, users[2], 3).await.status(),
        201,
        "sold out: the third user queues"
    );
    assert_eq!(seats(&app.event(event).await), (4, 2, 2, 0, 3));
}

#[tokio::test]
async fn events_are_listed_oldest_first_page_by_page() {
    let app = spawn_app().await;
    let venue = app.create_venue(10).await;
    let mut ids = Vec::new();
    for capacity in [3, 4, 5] {
        ids.push(app.create_event(venue, capacity).await);
    }
    let user = app.create_user("lister@example.com").await;
    assert_eq!(app.book(ids[1], user).await.status(), 201);

    let first: Value = app.get("/events?limit=2").await.json().await.unwrap();
    let items = first["items"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|e| e["id"].as_i64()).collect::<Vec<_>>(),
        vec![Some(ids[0]), Some(ids[1])]
    );
    assert_eq!(first["next_after_id"].as_i64(), Some(ids[1]));
    assert_eq!(
        items[1],
        app.event(ids[1]).await,
        "same shape as GET /events/{{id}}"
    );
    assert_eq!(seats(&items[1]), (4, 1, 0, 3, 0));

    let second: Value = app
        .get(&format!("/events?limit=2&after_id={}", ids[1]))
        .await
        .json()
        .await
        .unwrap();
    let items = second["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"].as_i64(), Some(ids[2]));
    assert!(second["next_after_id"].is_null());

    let all: Value = app.get("/events").await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert!(all["next_after_id"].is_null());

    for query in ["limit=0", "limit=1001", "after_id=-1", "limit=two"] {
        assert_problem(
            app.get(&format!("/events?{query}")).await,
            422,
            "invalid_query",
        )
        .await;
    }
}

#[tokio::test]
async fn patching_an_event_needs_the_admin_token() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let path = app.url(&format!("/events/{event}"));
    let change = json!({"name": "Renamed"});

    let response = app.http.patch(&path).json(&change).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    let response = app
        .http
        .patch(&path)
        .bearer_auth("not-the-token")
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;
    assert_eq!(app.event(event).await["name"], "Gig");

    let response = app
        .http
        .patch(&path)
        .bearer_auth(ADMIN_TOKEN)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn patch_changes_only_the_fields_given() {
    let app = spawn_app().await;
    let venue = app.create_venue(10).await;
    let event = app.create_event(venue, 5).await;
    let before = app.event(event).await;

    let response = app
        .patch_as_admin(
            &format!("/events/{event}"),
            json!({"name": "  Late show ", "starts_at": "2031-01-02T21:00:00Z", "capacity": 8,
                   "max_per_user": 4, "hold_seconds": 120, "offer_seconds": 60}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["name"], "Late show");
    assert_eq!(changed["starts_at"], "2031-01-02T21:00:00Z");
    assert_eq!(settings(&changed), (4, 120, 60));
    assert_eq!(seats(&changed), (8, 0, 0, 8, 0));
    assert_eq!(changed["created_at"], before["created_at"]);
    assert_eq!(changed, app.event(event).await);

    let response = app
        .patch_as_admin(&format!("/events/{event}"), json!({"hold_seconds": 30}))
        .await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(settings(&changed), (4, 30, 60));
    assert_eq!(changed["name"], "Late show");
    assert_eq!(changed["capacity"], 8);

    // The new limit applies at once.
    let user = app.create_user("four@example.com").await;
    assert_eq!(app.book_seats(event, user, 4).await.status(), 201);
}

#[tokio::test]
async fn bad_patches_are_refused() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let path = format!("/events/{event}");
    // Nothing to change is no error: the event comes back as it is.
    for body in [json!({}), json!({"name": null})] {
        let response = app.patch_as_admin(&path, body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap()["name"], "Gig");
    }
    for (body, code) in [
        (json!({"vip": true}), "invalid_body"),
        (json!({"name": ""}), "invalid_field"),
        (
            json!({"starts_at": "0001-01-01T00:00:00Z"}),
            "invalid_field",
        ),
        (json!({"capacity": 0}), "invalid_capacity"),
    ] {
        assert_problem(app.patch_as_admin(&path, body).await, 422, code).await;
    }
    assert_problem(
        app.patch_as_admin("/events/424242", json!({"name": "X"}))
            .await,
        404,
        "event_not_found",
    )
    .await;
    assert_problem(
        app.patch_as_admin("/events/424242", json!({"capacity": 3}))
            .await,
        404,
        "event_not_found",
    )
    .await;
    assert_problem(
        app.patch_as_admin("/events/0", json!({"name": "X"})).await,
        422,
        "invalid_id",
    )
    .await;
    assert_eq!(app.event(event).await["name"], "Gig");
}

#[tokio::test]
async fn capacity_may_not_fall_below_the_seats_booked_and_held() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(6, json!({"max_per_user": 3, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book_seats(event, users[0], 2).await.status(), 201);
    assert_eq!(app.hold(event, users[1], 1).await.status(), 201);

    let path = format!("/events/{event}");
    let body = assert_problem(
        app.patch_as_admin(&path, json!({"capacity": 2, "name": "Smaller"}))
            .await,
        409,
        "capacity_below_taken",
    )
    .await;
    assert_eq!(body["taken"], 3);
    let unchanged = app.event(event).await;
    assert_eq!(seats(&unchanged), (6, 2, 1, 3, 0));
    assert_eq!(unchanged["name"], "Gig", "a refused change changes nothing");

    let response = app.patch_as_admin(&path, json!({"capacity": 3})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        seats(&response.json::<Value>().await.unwrap()),
        (3, 2, 1, 0, 0)
    );
}

/// A lower max_per_user must leave every buyer within it, counting what they
/// wait for: their offers must fit when they come (the schema's rule,
/// migrations/functions/check_seats_within_max_per_user.sql).
#[tokio::test]
async fn max_per_user_may_not_fall_below_a_buyers_seats() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(3, json!({"max_per_user": 3, "hold_seconds": 60}))
        .await;
    let users = app.insert_users(2).await;
    assert_eq!(app.book_seats(event, users[0], 1).await.status(), 201);
    assert_eq!(app.hold(event, users[0], 1).await.status(), 201);
    assert_eq!(app.book_seats(event, users[1], 1).await.status(), 201);
    let entry = created_id(app.join_waitlist(event, users[1], 2).await).await;

    let path = format!("/events/{event}");
    for max in [1, 2] {
        let refused = app
            .patch_as_admin(&path, json!({"max_per_user": max}))
            .await;
        assert_problem(refused, 409, "max_per_user_below_seats").await;
    }
    assert_eq!(
        settings(&app.event(event).await).0,
        3,
        "a refused change changes nothing"
    );

    assert_eq!(
        app.delete_as_owner(&format!("/waitlist/{entry}"))
            .await
            .status(),
        200
    );
    let lowered = app.patch_as_admin(&path, json!({"max_per_user": 2})).await;
    assert_eq!(
        lowered.status(),
        200,
        "nobody has more than 2 seats or waits for more"
    );
}

#[tokio::test]
async fn capacity_may_not_exceed_the_venue() {
    let app = spawn_app().await;
    let venue = app.create_venue(5).await;
    let event = app.create_event(venue, 3).await;
    let path = format!("/events/{event}");
    assert_problem(
        app.patch_as_admin(&path, json!({"capacity": 6})).await,
        422,
        "capacity_exceeds_venue",
    )
    .await;
    assert_eq!(app.event(event).await["capacity"], 3);
    let response = app.patch_as_admin(&path, json!({"capacity": 5})).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_capacity_increase_offers_the_new_seats_to_the_waiting_list() {
    let app = spawn_app().await;
    let venue = app.create_venue(10).await;
    let body = with(event_body(venue, 1), json!({"offer_seconds": 300}));
    let event = created_id(app.post_as_admin("/events", body).await).await;
    let users = app.insert_users(3).await;
    assert_eq!(app.book(event, users[0]).await.status(), 201);
    let first = created_id(app.join_waitlist(event, users[1], 1).await).await;
    let second = created_id(app.join_waitlist(event, users[2], 1).await).await;
    assert_eq!(seats(&app.event(event).await), (1, 1, 0, 0, 2));

    let response = app
        .patch_as_admin(&format!("/events/{event}"), json!({"capacity": 2}))
        .await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(seats(&changed), (2, 1, 1, 0, 1), "{changed}");

    let offered = app.waitlist_entry(first).await;
    assert_eq!(offered["status"], "offered", "{offered}");
    assert!(offered["hold_id"].is_i64());
    let waiting = app.waitlist_entry(second).await;
    assert_eq!(
        (waiting["status"].as_str(), waiting["position"].as_i64()),
        (Some("waiting"), Some(1))
    );
}
