//! The deliberately unsafe booking path, written once: the `unsafe_booking`
//! example (`./run_tests.sh --race-demo`) serves it, and the integration
//! tests (`tests/api/unsafe_booking.rs`) include this file to show that the
//! exact-sale check catches it. Never part of the service or its image.
//!
//! The classic trap, read-check-write: the seats sold are counted without a
//! lock, so every buyer that reads before the others write sees a free seat.
//! Writing the event's counter from that stale count (a lost update) keeps it
//! within the capacity, so its CHECK constraint never stops the oversell, and
//! anything that shows the counter — the dashboard — watches this sale too.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct BookingRequest {
    event_id: i64,
    user_id: i64,
}

/// `POST /bookings` the unsafe way, and `GET /ready` for the scripts that
/// wait for a server to answer. The pool must be in the app data.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/bookings", web::post().to(read_check_write))
        .route("/ready", web::get().to(ready));
}

async fn ready(pool: web::Data<Pool>) -> HttpResponse {
    match pool.get().await {
        Ok(_) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({"code": "database_unavailable"})),
    }
}

async fn read_check_write(
    pool: web::Data<Pool>,
    request: web::Json<BookingRequest>,
) -> HttpResponse {
    let unavailable =
        || HttpResponse::ServiceUnavailable().json(json!({"code": "database_unavailable"}));
    let Ok(client) = pool.get().await else {
        return unavailable();
    };
    let Ok(row) = client
        .query_one(
            "SELECT (SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'confirmed'),
                    (SELECT capacity::BIGINT FROM events WHERE id = $1)",
            &[&request.event_id],
        )
        .await
    else {
        return unavailable();
    };
    let (sold, capacity): (i64, Option<i64>) = (row.get(0), row.get(1));
    let Some(capacity) = capacity else {
        return HttpResponse::NotFound().json(json!({"code": "event_not_found"}));
    };
    if sold >= capacity {
        return HttpResponse::Conflict().json(json!({"code": "sold_out"}));
    }
    // The time a real service spends between its read and its write, made
    // long enough that the race shows however loaded the machine is.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let inserted = client
        .execute(
            "INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)",
            &[&request.event_id, &request.user_id],
        )
        .await;
    if inserted.is_err() {
        // The unique index (one confirmed booking per user and event).
        return HttpResponse::Conflict().json(json!({"code": "already_booked"}));
    }
    // Locks the event's row for this one autocommitted statement only; the
    // count it writes was read long before, without the lock.
    let stale_count = i32::try_from(sold + 1).unwrap_or(i32::MAX);
    if client
        .execute(
            "UPDATE events SET booked = $2 WHERE id = $1",
            &[&request.event_id, &stale_count],
        )
        .await
        .is_err()
    {
        return unavailable();
    }
    HttpResponse::Created().json(json!({"event_id": request.event_id, "user_id": request.user_id}))
}
