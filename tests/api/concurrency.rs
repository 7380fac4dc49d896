//! The oversell proof: hundreds of simultaneous buyers over HTTP, then the
//! database must hold exactly the capacity. `unsafe_booking` runs the same
//! requests and the same check through a path without the lock, to show this
//! check catches an oversell.

use futures_util::future::join_all;
use serde_json::{json, Value};

use flashbook_verify::{failures, OneShot, Proof, Responses};

use crate::helpers::{spawn_app_with, AppOptions, SaleState, TestApp};
use crate::unsafe_booking::spawn_unsafe_booking_server;

#[derive(Debug, Default)]
pub struct Tally {
    pub created: i64,
    pub sold_out: i64,
    pub already_booked: i64,
    pub other: Vec<String>,
}

/// Sends one `POST /bookings` per entry of `users` (each with the user's
/// token from `app`) to the server at `base`, all at once.
pub async fn book_all_at_once(app: &TestApp, base: &str, event: i64, users: &[i64]) -> Tally {
    let requests = users.iter().map(|&user| async move {
        let response = app
            .http
            .post(format!("{base}/bookings"))
            .bearer_auth(app.token(user))
            .json(&json!({"event_id": event}))
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body["code"].as_str().unwrap_or_default().to_owned())
            }
            Err(error) => (0, error.to_string()),
        }
    });
    let mut tally = Tally::default();
    for (status, code) in join_all(requests).await {
        match (status, code.as_str()) {
            (201, _) => tally.created += 1,
            (409, "sold_out") => tally.sold_out += 1,
            (409, "already_booked") => tally.already_booked += 1,
            _ => tally.other.push(format!("{status} {code}")),
        }
    }
    tally
}

impl Tally {
    /// The answers as the exact-sale check counts them.
    pub fn responses(&self) -> Responses {
        Responses {
            created: self.created,
            sold_out: self.sold_out,
            already_booked: self.already_booked,
            other_conflicts: 0,
            other: self.other.len() as i64,
        }
    }
}

/// The flash-sale contract, checked by the checker's one implementation
/// (`flashbook_verify`, the same the `verify` binary runs for
/// `run_tests.sh`): never more than `capacity`, exactly `capacity` when
/// `sold_out`, the counter agrees with the rows, every 201 is a row, nobody
/// holds two seats, no other status.
pub fn check_exact_sale(
    capacity: i64,
    sold_out: bool,
    tally: &Tally,
    state: &SaleState,
) -> Result<(), String> {
    let proof = OneShot {
        capacity: Some(capacity),
        sold_out,
        attempts: None,
    };
    let failed = failures(&proof.checks(state, Some(&tally.responses())));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}; other answers: {:?}",
            failed.join("; "),
            tally.other
        ))
    }
}

async fn sale_of_50_to_500_buyers(app: &TestApp, base: &str) -> (Tally, SaleState) {
    let event = app.create_sale(50).await;
    let users = app.insert_users(500).await;
    let tally = book_all_at_once(app, base, event, &users).await;
    (tally, app.sale_state(event).await)
}

/// The service in each booking mode: 1 = one transaction per request.
async fn spawn_app_batching(batch_max: usize) -> TestApp {
    spawn_app_with(AppOptions {
        batch_max: Some(batch_max),
        ..AppOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_buyers_for_fifty_seats_get_exactly_fifty_one_per_transaction() {
    five_hundred_buyers_for_fifty_seats(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_buyers_for_fifty_seats_get_exactly_fifty_batched() {
    five_hundred_buyers_for_fifty_seats(256).await;
}

async fn five_hundred_buyers_for_fifty_seats(batch_max: usize) {
    let app = spawn_app_batching(batch_max).await;
    let (tally, state) = sale_of_50_to_500_buyers(&app, &app.address).await;
    check_exact_sale(50, true, &tally, &state).unwrap();
    assert_eq!(
        (tally.created, tally.sold_out, tally.already_booked),
        (50, 450, 0)
    );
    assert_eq!(state.confirmed, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_check_catches_an_unsafe_read_check_write_path() {
    let app = spawn_app_batching(1).await;
    let unsafe_base = spawn_unsafe_booking_server(&app.database_url).await;
    let (tally, state) = sale_of_50_to_500_buyers(&app, &unsafe_base).await;
    let failure =
        check_exact_sale(50, true, &tally, &state).expect_err("the unsafe path must be caught");
    assert!(
        failure.contains("confirmed bookings in DB is") && failure.contains("expected 50"),
        "{failure}"
    );
    assert!(
        tally.created > 50,
        "the unsafe path sold {} seats",
        tally.created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_buyers_get_already_booked_one_per_transaction() {
    repeated_buyers_get_already_booked_never_a_second_seat(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_buyers_get_already_booked_batched() {
    repeated_buyers_get_already_booked_never_a_second_seat(256).await;
}

async fn repeated_buyers_get_already_booked_never_a_second_seat(batch_max: usize) {
    let app = spawn_app_batching(batch_max).await;
    let event = app.create_sale(200).await;
    let users = app.insert_users(100).await;
    let five_times_each: Vec<i64> = users.iter().flat_map(|&u| [u; 5]).collect();
    let tally = book_all_at_once(&app, &app.address, event, &five_times_each).await;
    let state = app.sale_state(event).await;
    check_exact_sale(200, false, &tally, &state).unwrap();
    assert_eq!(
        (tally.created, tally.already_booked, tally.sold_out),
        (100, 400, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancels_and_bookings_keep_the_counter_exact_one_per_transaction() {
    concurrent_cancels_and_bookings_keep_the_counter_exact(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancels_and_bookings_keep_the_counter_exact_batched() {
    concurrent_cancels_and_bookings_keep_the_counter_exact(256).await;
}

async fn concurrent_cancels_and_bookings_keep_the_counter_exact(batch_max: usize) {
    let app = spawn_app_batching(batch_max).await;
    let event = app.create_sale(20).await;
    let holders = app.insert_users(20).await;
    let mut booking_ids = Vec::new();
    for &user in &holders {
        let booking: Value = app.book(event, user).await.json().await.unwrap();
        booking_ids.push(booking["id"].as_i64().unwrap());
    }
    let newcomers = app.insert_users(100).await;
    let paths: Vec<String> = booking_ids
        .iter()
        .map(|id| format!("/bookings/{id}"))
        .collect();
    let cancels = join_all(paths.iter().map(|path| app.delete_as_owner(path)));
    let (cancelled, tally) = tokio::join!(
        cancels,
        book_all_at_once(&app, &app.address, event, &newcomers)
    );
    assert!(cancelled.iter().all(|r| r.status() == 200));
    let state = app.sale_state(event).await;
    assert!(tally.other.is_empty(), "{:?}", tally.other);
    assert!(state.confirmed <= 20 && state.confirmed == tally.created);
    assert_eq!(state.counter, state.confirmed);
}
