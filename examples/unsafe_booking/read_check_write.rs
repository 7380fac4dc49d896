//! The deliberately unsafe booking path, written once: the `unsafe_booking`
//! example (`./run_tests.sh --race-demo`) serves it, and the integration
//! tests (`tests/api/unsafe_booking.rs`) include this file to show that the
//! exact-sale check catches it. Never part of the service or its image.
//!
//! The classic trap, read-check-write: the seats sold are counted without a
//! lock, so every buyer that reads before the others write sees a free seat.
//! The same trap with holds (`POST /holds`, `POST /holds/{id}/confirm`): a
//! cart checks it has not expired, pauses, then books; a new buyer who
//! arrives after the expiry counts the cart's seats as free meanwhile, and
//! both get them.
//! Writing the event's counter from that stale count (a lost update) keeps it
//! within the capacity, so its CHECK constraint never stops the oversell, and
//! anything that shows the counter — the dashboard — watches this sale too.
//! It reads the buyer from the bearer token as the service does, but without
//! checking the token's signature: it is unsafe, not a second way in.

use std::time::Duration;

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct BookingRequest {
    event_id: i64,
}

/// The buyer claim of a token, read unverified.
#[derive(Deserialize)]
struct BuyerClaim {
    flashbook_user_id: i64,
}

/// The user the request's bearer token names (its signature unchecked).
fn buyer(http: &HttpRequest) -> Option<i64> {
    let token = http
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let claims = jsonwebtoken::dangerous::insecure_decode_claims::<BuyerClaim>(token).ok()?;
    Some(claims.flashbook_user_id)
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"code": "unauthorized"}))
}

/// The time a real service spends between its read and its write, made
/// long enough that the race shows however loaded the machine is: longer
/// than the margin by which a cart confirms before its expiry.
const PAUSE_BETWEEN_READ_AND_WRITE: Duration = Duration::from_millis(300);

/// `POST /bookings` the unsafe way, and `GET /ready` for the scripts that
/// wait for a server to answer. The pool must be in the app data.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/bookings", web::post().to(read_check_write))
        .route("/holds", web::post().to(hold_unlocked))
        .route("/holds/{id}/confirm", web::post().to(confirm_unlocked))
        .route("/ready", web::get().to(ready));
}

async fn ready(pool: web::Data<Pool>) -> HttpResponse {
    match pool.get().await {
        Ok(_) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({"code": "database_unavailable"})),
    }
}

async fn read_check_write(
    http: HttpRequest,
    pool: web::Data<Pool>,
    request: web::Json<BookingRequest>,
) -> HttpResponse {
    let Some(user_id) = buyer(&http) else {
        return unauthorized();
    };
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
    // The pause between read and write; short here, as thousands race.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let inserted = client
        .execute(
            "INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)",
            &[&request.event_id, &user_id],
        )
        .await;
    if inserted.is_err() {
        // A foreign key: no such user.
        return HttpResponse::NotFound().json(json!({"code": "user_not_found"}));
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
    HttpResponse::Created().json(json!({"event_id": request.event_id, "user_id": user_id}))
}

/// Holds a seat if the unlocked count of confirmed and unexpired held seats
/// leaves one.
async fn hold_unlocked(
    http: HttpRequest,
    pool: web::Data<Pool>,
    request: web::Json<BookingRequest>,
) -> HttpResponse {
    let Some(user_id) = buyer(&http) else {
        return unauthorized();
    };
    let Ok(client) = pool.get().await else {
        return HttpResponse::ServiceUnavailable().json(json!({"code": "database_unavailable"}));
    };
    let inserted = client
        .query_opt(
            "INSERT INTO holds (event_id, user_id, quantity, expires_at)
             SELECT e.id, $2, 1, clock_timestamp() + make_interval(secs => e.hold_seconds)
               FROM events e
              WHERE e.id = $1
                AND e.capacity > (SELECT count(*) FROM bookings b
                                   WHERE b.event_id = e.id AND b.status = 'confirmed')
                               + (SELECT count(*) FROM holds h WHERE h.event_id = e.id
                                     AND h.status = 'held' AND h.expires_at > clock_timestamp())
             RETURNING id",
            &[&request.event_id, &user_id],
        )
        .await;
    match inserted {
        Ok(Some(row)) => HttpResponse::Created().json(json!({"id": row.get::<_, i64>(0)})),
        Ok(None) => HttpResponse::Conflict().json(json!({"code": "sold_out"})),
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({"code": "database_unavailable"})),
    }
}

/// Confirms a hold that was live when read, after the pause: by then it may
/// have expired and its seat gone to someone else. The hold row is left as
/// it is (its status may no longer change once expired), the booking and a
/// stale counter are written.
async fn confirm_unlocked(pool: web::Data<Pool>, id: web::Path<i64>) -> HttpResponse {
    let unavailable =
        || HttpResponse::ServiceUnavailable().json(json!({"code": "database_unavailable"}));
    let Ok(client) = pool.get().await else {
        return unavailable();
    };
    let Ok(Some(hold)) = client
        .query_opt(
            "SELECT h.event_id, h.user_id, e.booked FROM holds h JOIN events e ON e.id = h.event_id
              WHERE h.id = $1 AND h.status = 'held' AND h.expires_at > clock_timestamp()",
            &[&id.into_inner()],
        )
        .await
    else {
        return HttpResponse::Conflict().json(json!({"code": "hold_expired"}));
    };
    let (event_id, user_id, booked): (i64, i64, i32) = (hold.get(0), hold.get(1), hold.get(2));
    tokio::time::sleep(PAUSE_BETWEEN_READ_AND_WRITE).await;
    let written = client
        .batch_execute(&format!(
            "INSERT INTO bookings (event_id, user_id) VALUES ({event_id}, {user_id});
             UPDATE events SET booked = least({booked} + 1, capacity) WHERE id = {event_id};"
        ))
        .await;
    match written {
        Ok(()) => HttpResponse::Created().json(json!({"event_id": event_id, "user_id": user_id})),
        Err(_) => unavailable(),
    }
}
