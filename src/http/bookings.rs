use actix_web::{delete, get, post};
use actix_web::{web, HttpRequest, HttpResponse};

use super::buyer::Buyer;
use super::error::{ApiError, Problem};
use super::idempotent::{self, respond};
use super::json_object::JsonObject;
use super::waiting_room::{admission, AdmissionPassHeader};
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, Booking, SeatOrder, WholeSegment};
use crate::sale::Sales;

/// Books seats for the token's buyer, all or none: `{"event_id": ..}` books
/// one, `"quantity"` asks for up to the event's `max_per_user`.
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
#[utoipa::path(tag = "bookings", request_body = SeatOrder,
    params(IdempotencyKeyHeader, AdmissionPassHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 201, description = "Booked", body = Booking,
         headers(("Location" = String, description = "the booking: /bookings/{id}")), links(
            ("GetBooking" = (operation_ref = "#/paths/~1bookings~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("CancelBooking" = (operation_ref = "#/paths/~1bookings~1{id}/delete",
                parameters(("id" = "$response.body#/id")))),
            ("GetEvent" = (operation_ref = "#/paths/~1events~1{id}/get",
                parameters(("id" = "$response.body#/event_id")))),
            ("ListMyBookings" = (operation_ref = "#/paths/~1me~1bookings/get")),
        )),
        (status = 401, description = "unauthorized (no token), invalid_token", body = Problem,
         content_type = "application/problem+json"),
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
pub async fn create(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    body: JsonObject<SeatOrder>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().validate(buyer.id)?;
    let pass = admission(&http, &request)?;
    let key = idempotent::key_of(&http)?;
    respond(sales.book(request, pass, key).await?)
}

/// One of the buyer's bookings; another buyer's is `404`.
#[utoipa::path(tag = "bookings",
    params(("id" = i64, Path, minimum = 1)),
    security(("buyer_token" = [])),
    responses(
        (status = 200, body = Booking),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/bookings/{id}")]
pub async fn get(
    pool: web::Data<Pool>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::bookings::find(&client, id, buyer.id).await?))
}

/// Cancels one of the buyer's bookings and puts its seats back on sale (to
/// the waiting list first, in the same transaction). Cancelling an already
/// cancelled booking is not an error: it returns the booking unchanged.
#[utoipa::path(tag = "bookings",
    params(("id" = i64, Path, minimum = 1), IdempotencyKeyHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 200, description = "The cancelled booking", body = Booking, links(
            ("GetBooking" = (operation_ref = "#/paths/~1bookings~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
        )),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "booking_not_found: no such booking, or another buyer's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "request_in_progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/bookings/{id}")]
pub async fn cancel(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    respond(
        sales
            .cancel(id, buyer.id, idempotent::key_of(&http)?)
            .await?,
    )
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
