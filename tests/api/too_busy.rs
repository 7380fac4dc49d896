//! No request waits in vain (`flashbook::sale::booking`'s batcher): a booking
//! whose event queue cannot be booked within its time budget, at the
//! measured batch speed, is answered `503 too_busy` at once.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use serde_json::Value;

use crate::helpers::{spawn_app_with, AppOptions, TestApp};

type Answer = (u16, Option<String>, Option<String>, Duration);

/// Holds the event row's lock, as a slow batch would, for `hold`, while
/// `users` book concurrently; returns each answer's status, problem `code`
/// (if any), `Retry-After` and time taken.
async fn book_while_locked(
    app: &TestApp,
    event: i64,
    users: &[i64],
    hold: Duration,
) -> Vec<Answer> {
    let mut db = app.db().await;
    let transaction = db.transaction().await.unwrap();
    transaction
        .execute("SELECT 1 FROM events WHERE id = $1 FOR UPDATE", &[&event])
        .await
        .unwrap();
    let requests = users.iter().map(|&user| async move {
        let started = Instant::now();
        let response = app.book(event, user).await;
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        let code = body["code"].as_str().map(str::to_owned);
        (status, code, retry_after, started.elapsed())
    });
    let release = async {
        tokio::time::sleep(hold).await;
        transaction.commit().await.unwrap();
    };
    let (answers, ()) = tokio::join!(join_all(requests), release);
    answers
}

#[tokio::test]
async fn a_queue_too_long_for_the_budget_is_refused_at_once_and_books_nothing() {
    // Budget: half of a 2 s request timeout. Batches of 2, so a queue
    // builds quickly.
    let timeout = Duration::from_secs(2);
    let app = spawn_app_with(AppOptions {
        batch_max: Some(2),
        request_timeout: Some(timeout),
        queue_wait_fraction: Some(0.5),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(100).await;
    let users = app.insert_users(23).await;

    // No measurement yet: requests queued behind a slow batch are never
    // refused. Their batches teach the batcher its speed (~0.6 s, then
    // fast: the average is about 0.45 s per batch).
    let first = book_while_locked(&app, event, &users[..3], Duration::from_millis(600)).await;
    assert!(first.iter().all(|(status, ..)| *status == 201), "{first:?}");

    // Now 20 requests behind a batch stuck for 2.5 s, longer than their
    // timeout: every one of them would wait 2 s in vain for
    // `request_timeout`. Position p is expected to wait about
    // (ceil(p / 2) + 1) x 0.45 s, over the 1 s budget from the third on.
    let crowd = &users[3..];
    let answers = book_while_locked(&app, event, crowd, Duration::from_millis(2_500)).await;
    let mut refused = Vec::new();
    for (&user, (status, code, retry_after, took)) in crowd.iter().zip(&answers) {
        match (status, code.as_deref()) {
            (503, Some("too_busy")) => {
                assert!(
                    *took < Duration::from_millis(500),
                    "too_busy after {took:?}"
                );
                let seconds: u64 = retry_after
                    .as_deref()
                    .expect("Retry-After")
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&seconds), "{seconds}");
                refused.push(user);
            }
            // The few within the budget queue, and wait for the lock.
            (503, Some("request_timeout")) | (201, _) => assert!(*took >= timeout / 2),
            other => panic!("unexpected {other:?}: {answers:?}"),
        }
    }
    assert!(refused.len() >= 10, "{answers:?}");
    assert!(refused.len() < crowd.len(), "{answers:?}");

    // Nothing was booked for the refused.
    let refused_bookings: i64 = app
        .db()
        .await
        .query_one(
            "SELECT count(*) FROM bookings WHERE user_id = ANY($1)",
            &[&refused],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(refused_bookings, 0);
    let metrics = app.metrics().await;
    let counted = metrics["flashbook_booking_outcomes_total{outcome=\"too_busy\"}"];
    assert_eq!(counted, refused.len() as f64);

    // Once the stuck batch is through and the queue empty, a request is
    // served again.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match app.book(event, refused[0]).await.status().as_u16() {
            201 => break,
            503 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("still refused: {other}"),
        }
    }
}
