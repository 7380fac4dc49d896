//! Venues, events and users.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn venues_are_created_and_read_back() {
    let app = spawn_app().await;
    let response = app
        .post_as_admin(
            "/venues",
            json!({"name": "  Main Arena ", "capacity": 1000}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Main Arena");
    let read: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(read, created);
}

#[tokio::test]
async fn invalid_venues_are_refused() {
    let app = spawn_app().await;
    for (body, code) in [
        (json!({"name": "A", "capacity": 0}), "invalid_capacity"),
        (json!({"name": "A", "capacity": -5}), "invalid_capacity"),
        (json!({"name": "", "capacity": 5}), "invalid_field"),
        (
            json!({"name": "x".repeat(201), "capacity": 5}),
            "invalid_field",
        ),
        (
            json!({"name": "nul\u{0}byte", "capacity": 5}),
            "invalid_field",
        ),
        (json!({"name": "A"}), "invalid_body"),
        (json!({"name": "A", "capacity": "many"}), "invalid_body"),
        (
            json!({"name": "A", "capacity": 3_000_000_000i64}),
            "invalid_body",
        ),
        (
            json!({"name": "A", "capacity": 5, "vip": true}),
            "invalid_body",
        ),
    ] {
        assert_problem(app.post_as_admin("/venues", body).await, 422, code).await;
    }
    assert_problem(app.get("/venues/999").await, 404, "venue_not_found").await;
    assert_problem(app.get("/venues/0").await, 422, "invalid_id").await;
    assert_problem(app.get("/venues/abc").await, 422, "invalid_id").await;
    assert_problem(app.get("/venues/1.5").await, 422, "invalid_id").await;
    // An integer as JSON Schema reads one: a whole value, however written.
    let venue = app.create_venue(10).await;
    for path in [format!("/venues/{venue}.0"), format!("/venues/{venue}e0")] {
        assert_eq!(app.get(&path).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn events_show_capacity_booked_and_remaining() {
    let app = spawn_app().await;
    let venue = app.create_venue(100).await;
    let response = app
        .post_as_admin(
            "/events",
            json!({"venue_id": venue, "name": "Gig", "starts_at": "2030-06-01T20:00:00Z"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let event: Value = response.json().await.unwrap();
    assert_eq!(
        (
            event["capacity"].as_i64(),
            event["booked"].as_i64(),
            event["remaining"].as_i64()
        ),
        (Some(100), Some(0), Some(100))
    );

    let event_id = event["id"].as_i64().unwrap();
    let user = app.create_user("fan@example.com").await;
    assert_eq!(app.book(event_id, user).await.status(), 201);
    let event: Value = app
        .get(&format!("/events/{event_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (event["booked"].as_i64(), event["remaining"].as_i64()),
        (Some(1), Some(99))
    );
}

#[tokio::test]
async fn invalid_events_are_refused() {
    let app = spawn_app().await;
    let venue = app.create_venue(10).await;
    let event = |venue_id: i64, capacity: Value, starts_at: &str| json!({"venue_id": venue_id, "name": "Gig", "starts_at": starts_at, "capacity": capacity});
    let when = "2030-06-01T20:00:00Z";
    assert_problem(
        app.post_as_admin("/events", event(venue, json!(11), when))
            .await,
        422,
        "capacity_exceeds_venue",
    )
    .await;
    assert_problem(
        app.post_as_admin("/events", event(venue, json!(0), when))
            .await,
        422,
        "invalid_capacity",
    )
    .await;
    assert_problem(
        app.post_as_admin("/events", event(999, json!(5), when))
            .await,
        404,
        "venue_not_found",
    )
    .await;
    assert_problem(
        app.post_as_admin("/events", event(-1, json!(5), when))
            .await,
        422,
        "invalid_id",
    )
    .await;
    assert_problem(
        app.post_as_admin("/events", event(venue, json!(5), "tomorrow"))
            .await,
        422,
        "invalid_body",
    )
    .await;
    assert_problem(
        app.post_as_admin("/events", event(venue, json!(5), "0001-01-01T00:00:00Z"))
            .await,
        422,
        "invalid_field",
    )
    .await;
    assert_problem(app.get("/events/424242").await, 404, "event_not_found").await;
}

#[tokio::test]
async fn sql_looking_text_is_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    let name = "Robert'); DROP TABLE users; --";
    let user = app.sign_up("bobby@example.com").await;
    app.db()
        .await
        .execute(
            "UPDATE users SET name = $1 WHERE id = $2",
            &[&name, &user.id],
        )
        .await
        .unwrap();
    let read: Value = app.get_as(user.id, "/me").await.json().await.unwrap();
    assert_eq!(read["name"], name);
    let body = json!({"email": "robert@example.com", "name": name, "password": "long enough"});
    assert_eq!(app.post("/users", body).await.status(), 202);
}

#[tokio::test]
async fn creating_venues_and_events_needs_the_admin_token() {
    let app = spawn_app().await;
    let venue = json!({"name": "Arena", "capacity": 10});
    let response = app.post("/venues", venue.clone()).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    for header in [
        "Bearer wrong-token",
        "Bearer test-admin-toke",
        "Basic dGVzdA==",
        "Bearer ",
    ] {
        let response = app
            .http
            .post(app.url("/venues"))
            .header("authorization", header)
            .json(&venue)
            .send()
            .await
            .unwrap();
        let expected = if header.starts_with("Bearer ") && header.len() > "Bearer ".len() {
            (403, "forbidden")
        } else {
            (401, "unauthorized")
        };
        assert_problem(response, expected.0, expected.1).await;
    }
    let event = json!({"venue_id": 1, "name": "Gig", "starts_at": "2030-06-01T20:00:00Z"});
    assert_problem(app.post("/events", event).await, 401, "unauthorized").await;
    assert_eq!(app.post_as_admin("/venues", venue).await.status(), 201);
}

#[tokio::test]
async fn venues_are_listed_page_by_page() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for capacity in [10, 20, 30, 40, 50] {
        created.push(app.create_venue(capacity).await);
    }
    let mut listed = Vec::new();
    let mut path = "/venues?limit=2".to_owned();
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        listed.extend(items.iter().map(|venue| venue["id"].as_i64().unwrap()));
        match page["next_after_id"].as_i64() {
            Some(after) => path = format!("/venues?limit=2&after_id={after}"),
            None => break,
        }
    }
    assert_eq!(listed, created, "every venue once, oldest first");

    let page: Value = app.get("/venues").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["items"][0]["capacity"], 10);
    assert!(page["next_after_id"].is_null());
    let last = created[4];
    let after_last: Value = app
        .get(&format!("/venues?after_id={last}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after_last, json!({"items": [], "next_after_id": null}));

    for query in ["limit=0", "limit=1001", "after_id=-1", "limit=x"] {
        assert_problem(
            app.get(&format!("/venues?{query}")).await,
            422,
            "invalid_query",
        )
        .await;
    }
}
