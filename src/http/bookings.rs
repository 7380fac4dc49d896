use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, post};
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::{ApiError, Problem};
use super::idempotent::{self, run_once_per_key};
use super::json_object::JsonObject;
use super::waiting_room::{admission, AdmissionPassHeader};
use crate::booking::{self, Booker, BookingError};
use crate::configuration::Limits;
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, Booking, BookingRefusal, SeatRequest};
use crate::idempotency::{self, IdempotencyKey};
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::sold_out::SoldOut;

/// Books seats, all or none: `{"event_id": .., "user_id": ..}` books one,
/// `"quantity"` asks for up to the event's `max_per_user`.
///
/// With an `Idempotency-Key`, a retry of the same request replays the first
/// outcome (header `Idempotent-Replayed: true`) instead of booking again.
///
/// Without one, an event this replica knows to be sold out is answered
/// `409 sold_out` from memory, without the database (stale by at most the
/// delivery of the notification that seats were freed; see the README).
/// While the event has a waiting room, the request needs its admission pass
/// (`Admission-Pass`); the pass is used by this request whatever it answers
/// once it reaches the seats (a `sold_out` uses it too).
#[utoipa::path(tag = "bookings", request_body = SeatRequest,
    params(IdempotencyKeyHeader, AdmissionPassHeader),
    responses(
        (status = 201, description = "Booked", body = Booking, links(
            ("GetBooking" = (operation_ref = "#/paths/~1bookings~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("CancelBooking" = (operation_ref = "#/paths/~1bookings~1{id}/delete",
                parameters(("id" = "$response.body#/id")))),
            ("GetEvent" = (operation_ref = "#/paths/~1events~1{id}/get",
                parameters(("id" = "$response.body#/event_id")))),
            ("ListUserBookings" = (operation_ref = "#/paths/~1users~1{id}~1bookings/get",
                parameters(("id" = "$response.body#/user_id")))),
        )),
        (status = 403, description = "admission_required: the event has a waiting room and the pass is missing, malformed, badly signed, expired, for another user or event, or used (`reason`)",
         body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "event_not_found or user_not_found", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "sold_out, not_enough_seats (`remaining`), limit_exceeded (`max_per_user`), already_booked (where max_per_user is 1), or request_in_progress (same key still in flight; see Retry-After)", body = Problem,
         content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "malformed body, unknown field, non-positive id, invalid_quantity, body too large, invalid_idempotency_key, idempotency_key_reused",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "database_unavailable (no database connection free in time), request_timeout, or too_busy (the event's booking queue is longer than can be booked within the request's time budget at the measured speed: answered at once, nothing booked); see Retry-After",
         body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/bookings")]
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is an actix extractor"
)]
pub async fn create(
    http: HttpRequest,
    pool: web::Data<Pool>,
    booker: web::Data<Booker>,
    limits: web::Data<Limits>,
    metrics: web::Data<Metrics>,
    live: web::Data<LiveHub>,
    sold_out: web::Data<SoldOut>,
    body: JsonObject<SeatRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().validate()?;
    // An event with a waiting room: the pass is used with the seats, in one
    // transaction, never answered from memory.
    if let Some(ticket) = admission(&http, &request)? {
        if idempotent::key_of(&http)?.is_some() {
            let fingerprint = format!(
                "POST /bookings event_id={} user_id={} quantity={} ticket={ticket}",
                request.event_id, request.user_id, request.quantity
            );
            return run_once_per_key!(
                http,
                pool,
                limits,
                fingerprint,
                StatusCode::CREATED,
                |client| db::waiting_room::book(client, request, &ticket)
            );
        }
        // One statement, its own transaction: seats and the pass's use.
        let client = db::client(&pool).await?;
        let outcome = db::waiting_room::book(&client, request, &ticket)
            .await
            .map_err(BookingError::from);
        count_outcome(
            &metrics,
            &live,
            request.event_id,
            booking::outcome_label(&outcome),
        );
        let booking = outcome??;
        metrics.bookings.seats_booked(booking.quantity as u64);
        return Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/bookings/{}", booking.id)))
            .json(booking));
    }
    if let Some(key) = idempotent::key_of(&http)? {
        let stored = book_once(pool.into_inner(), key, request, &limits, &metrics, &live).await?;
        return Ok(idempotent::respond(stored));
    }
    if sold_out.is_sold_out(request.event_id) {
        count_outcome(&metrics, &live, request.event_id, "sold_out");
        return Err(BookingRefusal::SoldOut.into());
    }
    let ticket = sold_out.ticket();
    let outcome = booker.book(&pool, request).await;
    if matches!(outcome, Ok(Err(BookingRefusal::SoldOut))) {
        sold_out.remember(request.event_id, ticket);
    }
    count_outcome(
        &metrics,
        &live,
        request.event_id,
        booking::outcome_label(&outcome),
    );
    let booking = outcome??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/bookings/{}", booking.id)))
        .json(booking))
}

/// A keyed booking: booked in its own transaction, which also stores the key
/// (`crate::idempotency`). It runs in a task of its own, so the seat is
/// counted once committed even if the client leaves meanwhile.
async fn book_once(
    pool: Arc<Pool>,
    key: IdempotencyKey,
    request: SeatRequest,
    limits: &Limits,
    metrics: &web::Data<Metrics>,
    live: &web::Data<LiveHub>,
) -> Result<idempotency::StoredResponse, ApiError> {
    let ttl = limits.idempotency_ttl;
    let (metrics, live) = (web::Data::clone(metrics), web::Data::clone(live));
    let task = tokio::spawn(async move {
        // A request without `quantity` keeps the fingerprint it had before
        // quantities existed, so keys stored then still replay.
        let fingerprint = match request.quantity {
            1 => format!(
                "POST /bookings event_id={} user_id={}",
                request.event_id, request.user_id
            ),
            quantity => format!(
                "POST /bookings event_id={} user_id={} quantity={quantity}",
                request.event_id, request.user_id
            ),
        };
        let (mut outcome, mut seats) = (None, 0);
        let stored = idempotent::run_once(
            &pool,
            &key,
            &fingerprint,
            ttl,
            StatusCode::CREATED,
            async |transaction| {
                let result = db::bookings::book(transaction, request).await;
                let result = result.map_err(BookingError::from);
                outcome = Some(booking::outcome_label(&result));
                let booking = result??;
                seats = booking.quantity;
                Ok(booking)
            },
        )
        .await;
        let bookings = &metrics.bookings;
        match &stored {
            Ok(stored) if stored.replayed => bookings.replayed(),
            Ok(stored) => {
                // Committed: the outcome and, if booked, its seat.
                if stored.status == StatusCode::CREATED.as_u16() {
                    bookings.seats_booked(seats as u64);
                }
                let outcome = outcome.unwrap_or("booked");
                count_outcome(&metrics, &live, request.event_id, outcome);
            }
            // Nothing committed, whatever the work decided: the client is
            // told the error.
            Err(error) => bookings.outcome(error_label(error)),
        }
        stored
    });
    task.await
        .map_err(|error| ApiError::Internal(Box::new(error)))?
}

/// Counts one answered booking request by outcome; a refusal also feeds the
/// event's live view (its refusals per second).
fn count_outcome(metrics: &Metrics, live: &LiveHub, event_id: i64, outcome: &'static str) {
    metrics.bookings.outcome(outcome);
    if matches!(
        outcome,
        "sold_out" | "not_enough_seats" | "limit_exceeded" | "already_booked"
    ) {
        live.record_refusal(event_id);
    }
}

/// The outcome label of a keyed request that committed nothing.
fn error_label(error: &ApiError) -> &'static str {
    match error {
        ApiError::RequestInProgress => "request_in_progress",
        ApiError::IdempotencyKeyReused => "idempotency_key_reused",
        ApiError::Unavailable(_) => "database_unavailable",
        _ => "internal_error",
    }
}

#[utoipa::path(tag = "bookings",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, body = Booking),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/bookings/{id}")]
pub async fn get(pool: web::Data<Pool>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let client = db::client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::bookings::find(&client, id).await?))
}

/// Cancels a booking and puts its seats back on sale (to the waiting list
/// first, in the same transaction). Cancelling an already
/// cancelled booking is not an error: it returns the booking unchanged.
#[utoipa::path(tag = "bookings",
    params(("id" = i64, Path, minimum = 1), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The cancelled booking", body = Booking, links(
            ("GetBooking" = (operation_ref = "#/paths/~1bookings~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "request_in_progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/bookings/{id}")]
pub async fn cancel(
    http: HttpRequest,
    pool: web::Data<Pool>,
    limits: web::Data<Limits>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    if let Some(key) = idempotent::key_of(&http)? {
        let fingerprint = format!("DELETE /bookings/{id}");
        let stored = idempotent::run_once(
            &pool,
            &key,
            &fingerprint,
            limits.idempotency_ttl,
            StatusCode::OK,
            async |transaction| Ok(db::bookings::cancel(transaction, id).await?),
        )
        .await?;
        return Ok(idempotent::respond(stored));
    }
    let client = db::client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::bookings::cancel(&client, id).await?))
}

/// The optional `Idempotency-Key` request header, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code, reason = "documents a header read from HttpRequest")]
pub(super) struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters; kept 24 h (FLASHBOOK_IDEMPOTENCY_TTL_SECS).
    #[param(
        rename = "Idempotency-Key",
        required = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]{1,255}$"
    )]
    idempotency_key: String,
}
