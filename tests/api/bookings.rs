use std::time::Duration;

use serde_json::{json, Value};

use flashbook::sale::booking::test_hooks::PANICKING_USER_ID;
use futures_util::future::join_all;

use crate::helpers::{
    assert_problem, lock_event_row, spawn_app, spawn_app_with, AppOptions, TestApp,
};

#[tokio::test]
async fn a_booking_is_created_read_back_and_counted() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let user = app.create_user("a@example.com").await;

    let response = app.book(event, user).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let booking: Value = response.json().await.unwrap();
    assert_eq!(
        (booking["event_id"].as_i64(), booking["user_id"].as_i64()),
        (Some(event), Some(user))
    );
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(location, format!("/bookings/{}", booking["id"]));

    let read: Value = app.get_as(user, &location).await.json().await.unwrap();
    assert_eq!(read, booking);
    let state = app.sale_state(event).await;
    assert_eq!((state.confirmed, state.counter), (1, 1));
}

#[tokio::test]
async fn the_last_seat_sells_once_then_sold_out() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let first = app.create_user("first@example.com").await;
    let second = app.create_user("second@example.com").await;
    assert_eq!(app.book(event, first).await.status(), 201);
    assert_problem(app.book(event, second).await, 409, "sold_out").await;
}

#[tokio::test]
async fn a_user_cannot_book_the_same_event_twice_even_when_sold_out() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let user = app.create_user("once@example.com").await;
    assert_eq!(app.book(event, user).await.status(), 201);
    assert_problem(app.book(event, user).await, 409, "already_booked").await;
}

#[tokio::test]
async fn unknown_event_or_user_is_404_not_a_foreign_key_500() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("u@example.com").await;
    assert_problem(app.book(event + 100, user).await, 404, "event_not_found").await;
    assert_problem(app.book(event, user + 100).await, 404, "user_not_found").await;
    assert_problem(app.book(i64::MAX, user).await, 404, "event_not_found").await;
}

#[tokio::test]
async fn malformed_booking_requests_are_422_and_book_nothing() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "invalid_body"),
        (json!({"event_id": "1"}), "invalid_body"),
        (json!({"event_id": 1.5}), "invalid_body"),
        (json!({"event_id": null}), "invalid_body"),
        (json!({"event_id": event, "seats": 4}), "invalid_body"),
        // The buyer is the token's: a user_id in the body is refused.
        (json!({"event_id": event, "user_id": 1}), "invalid_body"),
        (json!({"event_id": 0}), "invalid_id"),
        (json!([event, 1]), "invalid_body"),
    ];
    for (body, code) in cases {
        assert_problem(app.post_as(1, "/bookings", body).await, 422, code).await;
    }
    for raw in [
        &b"{not json"[..],
        b"",
        b"{\"event_id\": 99999999999999999999}",
        b"{\"event_id\": \xff\xfe}",
    ] {
        let response = app
            .as_buyer(reqwest::Method::POST, 1, "/bookings")
            .header("content-type", "application/json")
            .body(raw.to_vec())
            .send()
            .await
            .unwrap();
        assert_problem(response, 422, "invalid_body").await;
    }
    // A body its Content-Encoding does not decode: said in the client's
    // terms, not the reader's internals.
    let response = app
        .as_buyer(reqwest::Method::POST, 1, "/bookings")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(r#"{"event_id": 1}"#)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "invalid_body").await;
    assert_eq!(
        problem["detail"],
        "the body could not be decoded as its Content-Encoding says"
    );
    assert_eq!(app.sale_state(event).await.confirmed, 0);
}

#[tokio::test]
async fn oversized_bodies_and_wrong_content_types_are_refused() {
    let app = spawn_app().await;
    let padding = " ".repeat(8 * 1024);
    let response = app
        .as_buyer(reqwest::Method::POST, 1, "/bookings")
        .header("content-type", "application/json")
        .body(format!("{{\"event_id\": 1,{padding} \"quantity\": 1}}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "body_too_large").await;

    let response = app
        .as_buyer(reqwest::Method::POST, 1, "/bookings")
        .header("content-type", "text/plain")
        .body(r#"{"event_id": 1}"#)
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn cancelling_puts_the_seat_back_and_twice_changes_nothing() {
    let app = spawn_app().await;
    let event = app.create_sale(1).await;
    let holder = app.create_user("holder@example.com").await;
    let waiting = app.create_user("waiting@example.com").await;
    let booking: Value = app.book(event, holder).await.json().await.unwrap();
    let path = format!("/bookings/{}", booking["id"]);

    let cancelled = app.delete_as(holder, &path).await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled_at"].is_string());

    let again = app.delete_as(holder, &path).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), cancelled);
    let state = app.sale_state(event).await;
    assert_eq!((state.confirmed, state.counter), (0, 0));

    assert_eq!(app.book(event, waiting).await.status(), 201);
    assert_eq!(
        app.book(event, holder).await.status(),
        409,
        "the freed seat went to the waiting user"
    );
}

#[tokio::test]
async fn a_user_may_book_again_after_cancelling() {
    let app = spawn_app().await;
    let event = app.create_sale(3).await;
    let user = app.create_user("back@example.com").await;
    let booking: Value = app.book(event, user).await.json().await.unwrap();
    app.delete_as_owner(&format!("/bookings/{}", booking["id"]))
        .await;
    assert_eq!(app.book(event, user).await.status(), 201);
    let state = app.sale_state(event).await;
    assert_eq!(
        (state.confirmed, state.counter, state.users_over_limit),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn missing_bookings_are_404() {
    let app = spawn_app().await;
    assert_problem(
        app.get_as(1, "/bookings/31337").await,
        404,
        "booking_not_found",
    )
    .await;
    assert_problem(
        app.delete_as(1, "/bookings/31337").await,
        404,
        "booking_not_found",
    )
    .await;
    assert_problem(app.delete_as(1, "/bookings/-1").await, 422, "invalid_id").await;
    assert_problem(
        app.get_as(1, "/bookings/99999999999999999999").await,
        422,
        "invalid_id",
    )
    .await;
}

#[tokio::test]
async fn bookings_are_listed_per_event_and_per_user_page_by_page() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let users = app.insert_users(5).await;
    for &user in &users {
        assert_eq!(app.book(event, user).await.status(), 201);
    }

    let mut seen = Vec::new();
    let mut path = format!("/events/{event}/bookings?limit=2");
    loop {
        let page: Value = app.get_as_admin(&path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|b| b["user_id"].as_i64().unwrap()));
        match page["next_after_id"].as_i64() {
            Some(after) => path = format!("/events/{event}/bookings?limit=2&after_id={after}"),
            None => break,
        }
    }
    assert_eq!(seen, users);

    let page: Value = app
        .get_as_admin(&format!("/users/{}/bookings", users[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["event_id"], event);
    assert!(page["next_after_id"].is_null());

    assert_problem(
        app.get_as_admin("/events/999/bookings").await,
        404,
        "event_not_found",
    )
    .await;
    assert_problem(
        app.get_as_admin("/users/999/bookings").await,
        404,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.get_as_admin(&format!("/events/{event}/bookings?limit=0"))
            .await,
        422,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get_as_admin(&format!("/events/{event}/bookings?limit=5000"))
            .await,
        422,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get_as_admin(&format!("/events/{event}/bookings?after_id=-1"))
            .await,
        422,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get_as_admin(&format!("/events/{event}/bookings?limit=ten"))
            .await,
        422,
        "invalid_query",
    )
    .await;
}

/// One pooled connection, stuck behind a lock held from outside: the request
/// holding it ends at the lock timeout, the one waiting for it at the pool
/// wait; both as 503 with Retry-After, neither hangs, nothing is booked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_gives_503_with_retry_after_within_the_bounds() {
    let app = spawn_app_with(AppOptions {
        pool_size: Some(1),
        pool_wait: Some(Duration::from_millis(300)),
        lock_timeout: Some(Duration::from_millis(1_500)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(2).await;

    let mut blocker = app.db().await;
    let lock = lock_event_row(&mut blocker, event).await;

    let started = std::time::Instant::now();
    let (holding, waiting) = book_one_then_another(&app, event, &users).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    for response in [holding, waiting] {
        assert_eq!(response.headers()["retry-after"], "1");
        assert_problem(response, 503, "database_unavailable").await;
    }
    lock.rollback().await.unwrap();
    assert_eq!(app.sale_state(event).await.confirmed, 0);
    assert_eq!(
        app.book(event, users[0]).await.status(),
        201,
        "the service recovers"
    );
}

/// A client that stops sending its body is told so (`408 body_timeout`,
/// nothing tried) at half the request's budget, before the budget's `503
/// request_timeout`, whose detail warns that a booking may have gone through.
#[tokio::test]
async fn a_body_that_stops_arriving_is_408_and_books_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let timeout = Duration::from_millis(600);
    let app = spawn_app_with(AppOptions {
        request_timeout: Some(timeout),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(5).await;
    let user = app.create_user("slow@example.com").await;
    let address = app.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = format!("{{\"event_id\": {event}}}");
    let head = format!(
        "POST /bookings HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.token(user),
        body.len() + 10
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("the service answered")
        .unwrap();
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"body_timeout""#), "{answer}");
    assert!(
        took < timeout,
        "answered after {took:?}, past the request's budget"
    );
    assert_eq!(app.sale_state(event).await.confirmed, 0);
}

/// A request that outlives the request timeout is answered 503. One still
/// waiting in the batch queue is then never booked; one whose batch was
/// already running may still commit, as the answer's detail warns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_requests_still_queued_are_not_booked() {
    let app = spawn_app_with(AppOptions {
        request_timeout: Some(Duration::from_millis(300)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(2).await;

    let mut blocker = app.db().await;
    let lock = lock_event_row(&mut blocker, event).await;
    let (in_flight, queued) = book_one_then_another(&app, event, &users).await;
    for response in [in_flight, queued] {
        let body = assert_problem(response, 503, "request_timeout").await;
        assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    }
    lock.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let booked: Vec<i64> = app
        .db()
        .await
        .query(
            "SELECT user_id FROM bookings WHERE event_id = $1",
            &[&event],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        !booked.contains(&users[1]),
        "a request dropped from the queue was booked"
    );
    let state = app.sale_state(event).await;
    assert_eq!(state.counter, state.confirmed);
    // The seat of the abandoned in-flight request is counted by the worker
    // that committed it, and the timeouts keep their route template.
    let metrics = crate::metrics::samples(&app.metrics_text().await);
    assert_eq!(
        metrics["flashbook_seats_booked_total"],
        state.confirmed as f64
    );
    let timeouts = "http_server_request_duration_seconds_count{http_request_method=\"POST\",\
                    http_route=\"/bookings\",http_response_status_code=\"503\"}";
    assert_eq!(metrics.get(timeouts), Some(&2.0), "{metrics:#?}");
}

/// A batch that fails inside its worker (a panic, forced through the
/// `test-hooks` feature) answers every request it had taken and every request
/// queued behind it, and the event books again at once: nothing waits for a
/// worker that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_worker_that_fails_does_not_wedge_its_event() {
    // Batches of two; a wedged event would answer 503 request_timeout.
    let app = spawn_app_with(AppOptions {
        batch_max: Some(2),
        request_timeout: Some(Duration::from_secs(3)),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(5).await;
    let users = app.insert_users(4).await;

    // Batch 1 (users[0]) waits on the lock in the database while batch 2
    // (the failing one, with users[1]) and the start of batch 3 (users[2])
    // queue behind it, in this order.
    let mut blocker = app.db().await;
    let lock = lock_event_row(&mut blocker, event).await;
    let queued_in_order = [users[0], PANICKING_USER_ID, users[1], users[2]];
    let answers = join_all(queued_in_order.iter().enumerate().map(|(place, &user)| {
        let app = &app;
        async move {
            tokio::time::sleep(Duration::from_millis(100 * place as u64)).await;
            app.book(event, user).await
        }
    }));
    let release = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        lock.rollback().await.unwrap();
    };
    let (answers, ()) = tokio::join!(answers, release);
    let [first, failing, same_batch, queued_behind] = <[_; 4]>::try_from(answers).unwrap();

    assert_eq!(first.status(), 201);
    for response in [failing, same_batch] {
        let body = assert_problem(response, 500, "booking_interrupted").await;
        assert!(
            body["detail"].as_str().unwrap().contains("unknown"),
            "{body}"
        );
    }
    assert_eq!(queued_behind.headers()["retry-after"], "1");
    assert_problem(queued_behind, 503, "booking_not_attempted").await;

    assert_eq!(
        app.book(event, users[3]).await.status(),
        201,
        "the next booking for the event gets a new worker"
    );
    let state = app.sale_state(event).await;
    assert_eq!((state.confirmed, state.counter), (2, 2));
}

/// Books `users[0]`, and 100 ms later `users[1]`, concurrently.
async fn book_one_then_another(
    app: &TestApp,
    event: i64,
    users: &[i64],
) -> (reqwest::Response, reqwest::Response) {
    let first = app.book(event, users[0]);
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.book(event, users[1]).await
    };
    tokio::join!(first, second)
}

/// (booked, remaining)
async fn booked_and_remaining(app: &TestApp, event: i64) -> (i64, i64) {
    let event = app.event(event).await;
    (
        event["booked"].as_i64().unwrap(),
        event["remaining"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_booking_takes_one_seat_by_default_or_its_quantity() {
    let app = spawn_app().await;
    let event = app.create_sale_with(10, json!({"max_per_user": 4})).await;
    let users = app.insert_users(2).await;

    let response = app.book(event, users[0]).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["quantity"], 1);
    let response = app.book_seats(event, users[1], 4).await;
    assert_eq!(response.status(), 201);
    let booking: Value = response.json().await.unwrap();
    assert_eq!(booking["quantity"], 4);
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(booked_and_remaining(&app, event).await, (5, 5));
    let state = app.sale_state(event).await;
    assert_eq!(state.counter, 5);
}

#[tokio::test]
async fn invalid_quantities_are_422_and_book_nothing() {
    let app = spawn_app().await;
    let event = app.create_sale_with(10, json!({"max_per_user": 4})).await;
    let user = app.create_user("qty@example.com").await;
    for (quantity, code) in [
        (json!(0), "invalid_quantity"),
        (json!(-2), "invalid_quantity"),
        (json!(101), "invalid_quantity"),
        (json!("2"), "invalid_body"),
        (json!(2.5), "invalid_body"),
        (json!(null), "invalid_body"),
        (json!(3_000_000_000i64), "invalid_body"),
    ] {
        let body = json!({"event_id": event, "quantity": quantity});
        assert_problem(app.post_as(user, "/bookings", body).await, 422, code).await;
    }
    assert_eq!(booked_and_remaining(&app, event).await, (0, 10));
}

#[tokio::test]
async fn seats_over_the_per_user_limit_are_limit_exceeded() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(10, json!({"max_per_user": 3, "hold_seconds": 60}))
        .await;
    let single = app.create_sale(10).await;
    let user = app.create_user("greedy@example.com").await;

    let body = assert_problem(app.book_seats(event, user, 4).await, 409, "limit_exceeded").await;
    assert_eq!(body["max_per_user"], 3);
    assert_eq!(app.book_seats(event, user, 2).await.status(), 201);
    let body = assert_problem(app.book_seats(event, user, 2).await, 409, "limit_exceeded").await;
    assert_eq!(body["max_per_user"], 3);
    assert_eq!(app.book_seats(event, user, 1).await.status(), 201);
    let body = assert_problem(app.book(event, user).await, 409, "limit_exceeded").await;
    assert_eq!(body["max_per_user"], 3);
    assert_eq!(booked_and_remaining(&app, event).await, (3, 7));

    // With the default limit of 1: two seats at once exceed it; a second
    // booking is already_booked, as before quantities.
    let body = assert_problem(app.book_seats(single, user, 2).await, 409, "limit_exceeded").await;
    assert_eq!(body["max_per_user"], 1);
    assert_eq!(app.book(single, user).await.status(), 201);
    assert_problem(app.book(single, user).await, 409, "already_booked").await;
    assert_problem(app.book_seats(single, user, 1).await, 409, "already_booked").await;
}

#[tokio::test]
async fn not_enough_seats_says_how_many_remain_then_sold_out() {
    let app = spawn_app().await;
    let event = app.create_sale_with(3, json!({"max_per_user": 5})).await;
    let users = app.insert_users(3).await;

    let body = assert_problem(
        app.book_seats(event, users[0], 4).await,
        409,
        "not_enough_seats",
    )
    .await;
    assert_eq!(body["remaining"], 3);
    assert_eq!(app.book_seats(event, users[0], 2).await.status(), 201);
    let body = assert_problem(
        app.book_seats(event, users[1], 2).await,
        409,
        "not_enough_seats",
    )
    .await;
    assert_eq!(body["remaining"], 1);
    assert_eq!(app.book_seats(event, users[1], 1).await.status(), 201);
    assert_problem(app.book_seats(event, users[2], 2).await, 409, "sold_out").await;
    assert_problem(app.book(event, users[2]).await, 409, "sold_out").await;
    assert_eq!(booked_and_remaining(&app, event).await, (3, 0));
}

#[tokio::test]
async fn cancelling_a_booking_returns_all_its_seats() {
    let app = spawn_app().await;
    let event = app.create_sale_with(3, json!({"max_per_user": 3})).await;
    let users = app.insert_users(2).await;
    let booking: Value = app
        .book_seats(event, users[0], 3)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(booked_and_remaining(&app, event).await, (3, 0));

    let response = app
        .delete_as_owner(&format!("/bookings/{}", booking["id"]))
        .await;
    assert_eq!(response.status(), 200);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["quantity"], 3);
    assert_eq!(booked_and_remaining(&app, event).await, (0, 3));
    assert_eq!(app.sale_state(event).await.counter, 0);
    assert_eq!(app.book_seats(event, users[1], 3).await.status(), 201);
}

/// Concurrent requests for several seats share batches: all or none per
/// request, in arrival order, never more than the capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_multi_seat_bookings_never_oversell() {
    let app = spawn_app().await;
    let event = app.create_sale_with(5, json!({"max_per_user": 2})).await;
    let users = app.insert_users(10).await;
    let responses = join_all(users.iter().map(|&user| app.book_seats(event, user, 2))).await;
    let mut booked = 0;
    for response in responses {
        if response.status() == 201 {
            booked += 1;
            continue;
        }
        let body = assert_problem(response, 409, "not_enough_seats").await;
        assert_eq!(body["remaining"], 1);
    }
    assert_eq!(booked, 2);
    assert_eq!(booked_and_remaining(&app, event).await, (4, 1));
    let state = app.sale_state(event).await;
    assert_eq!(state.counter, 4);
}

/// One user's concurrent requests are judged against each other too, even
/// inside one batch: max_per_user holds across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_concurrent_bookings_stay_within_the_limit() {
    let app = spawn_app().await;
    let event = app.create_sale_with(20, json!({"max_per_user": 3})).await;
    let user = app.create_user("rapid@example.com").await;
    let responses = join_all((0..6).map(|_| app.book_seats(event, user, 2))).await;
    let mut booked = 0;
    for response in responses {
        if response.status() == 201 {
            booked += 1;
            continue;
        }
        let body = assert_problem(response, 409, "limit_exceeded").await;
        assert_eq!(body["max_per_user"], 3);
    }
    assert_eq!(booked, 1);
    assert_eq!(booked_and_remaining(&app, event).await, (2, 18));
}

#[tokio::test]
async fn a_keyed_booking_of_several_seats_replays_and_its_key_fits_one_quantity() {
    let app = spawn_app().await;
    let event = app.create_sale_with(10, json!({"max_per_user": 4})).await;
    let users = app.insert_users(2).await;
    let send = |user: i64, quantity: Option<i64>, key: &'static str| {
        let mut body = json!({"event_id": event});
        if let Some(quantity) = quantity {
            body["quantity"] = json!(quantity);
        }
        app.as_buyer(reqwest::Method::POST, user, "/bookings")
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send(users[0], Some(3), "multi").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["quantity"], 3);
    let retry = send(users[0], Some(3), "multi").await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_problem(
        send(users[0], Some(1), "multi").await.unwrap(),
        422,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(booked_and_remaining(&app, event).await, (3, 7));

    // An explicit quantity of 1 is the same request as none.
    assert_eq!(send(users[1], None, "one").await.unwrap().status(), 201);
    let retry = send(users[1], Some(1), "one").await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(booked_and_remaining(&app, event).await, (4, 6));
}
