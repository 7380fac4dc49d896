//! Holds: seats kept for a buyer while they pay (`POST /holds`), then
//! confirmed into a booking or given back. Waiting-list offers are holds too.

use actix_web::{delete, get, post};
use actix_web::{web, HttpRequest, HttpResponse};

use super::bookings::IdempotencyKeyHeader;
use super::buyer::Buyer;
use super::error::{ApiError, Problem};
use super::idempotent::{key_of, respond};
use super::json_object::JsonObject;
use super::waiting_room::{admission, AdmissionPassHeader};
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, Booking, Hold, SeatOrder, WholeSegment};
use crate::sale::Sales;

/// Holds seats for `hold_seconds` (the event's setting): confirm them with
/// `POST /holds/{id}/confirm` before `expires_at`, or they go back on sale.
/// Same refusals as `POST /bookings`, `sold_out` from memory included, and
/// the same admission pass while the event has a waiting room.
#[utoipa::path(tag = "holds", request_body = SeatOrder,
    params(IdempotencyKeyHeader, AdmissionPassHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 201, description = "Held", body = Hold,
         headers(("Location" = String, description = "the hold: /holds/{id}")), links(
            ("ConfirmHold" = (operation_ref = "#/paths/~1holds~1{id}~1confirm/post",
                parameters(("id" = "$response.body#/id")))),
            ("GetHold" = (operation_ref = "#/paths/~1holds~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("ReleaseHold" = (operation_ref = "#/paths/~1holds~1{id}/delete",
                parameters(("id" = "$response.body#/id")))),
        )),
        (status = 401, description = "unauthorized (no token), invalid_token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "admission_required: the event has a waiting room and the pass is missing, malformed, badly signed, expired, for another user or event, or used (`reason`)",
         body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "event_not_found or user_not_found", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "sold_out, not_enough_seats (`remaining`), limit_exceeded (`max_per_user`), already_booked, request_in_progress",
         body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "malformed body, invalid_quantity, invalid_idempotency_key, idempotency_key_reused",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "database_unavailable, request_timeout; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/holds")]
pub async fn create(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    body: JsonObject<SeatOrder>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().validate(buyer.id)?;
    let pass = admission(&http, &request)?;
    respond(sales.hold(request, pass, key_of(&http)?).await?)
}

/// One of the buyer's holds; another buyer's is `404`.
#[utoipa::path(tag = "holds",
    params(("id" = i64, Path, minimum = 1)),
    security(("buyer_token" = [])),
    responses(
        (status = 200, description = "The hold; `expired` as soon as `expires_at` passes", body = Hold),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/holds/{id}")]
pub async fn get(
    pool: web::Data<Pool>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::holds::find(&client, id, buyer.id).await?))
}

/// Turns the hold's seats into a booking. No capacity check can fail here:
/// the seats were reserved.
#[utoipa::path(tag = "holds",
    params(("id" = i64, Path, minimum = 1), IdempotencyKeyHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 201, description = "The booking of the held seats", body = Booking,
         headers(("Location" = String, description = "the booking: /bookings/{id}")), links(
            ("GetBooking" = (operation_ref = "#/paths/~1bookings~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("CancelBooking" = (operation_ref = "#/paths/~1bookings~1{id}/delete",
                parameters(("id" = "$response.body#/id")))),
        )),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "hold_not_found: no such hold, or another buyer's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "hold_expired, hold_released, hold_confirmed (a repeat: `booking_id`), request_in_progress",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/holds/{id}/confirm")]
pub async fn confirm(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    respond(sales.confirm(id, buyer.id, key_of(&http)?).await?)
}

/// Gives the held seats back (to the waiting list first). Releasing a hold
/// that is released or expired already changes nothing and returns it.
#[utoipa::path(tag = "holds",
    params(("id" = i64, Path, minimum = 1), IdempotencyKeyHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 200, description = "The hold, released (or expired)", body = Hold),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "hold_not_found: no such hold, or another buyer's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "hold_confirmed (`booking_id`: cancel the booking instead), request_in_progress",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/holds/{id}")]
pub async fn release(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    respond(sales.release(id, buyer.id, key_of(&http)?).await?)
}
