//! The waiting list: who gets returned seats first. Seats that come back
//! are offered in list order as holds of their own (`status: offered`,
//! `hold_id`), confirmed with `POST /holds/{hold_id}/confirm`.

use actix_web::{delete, get, post};
use actix_web::{web, HttpRequest, HttpResponse};

use super::bookings::IdempotencyKeyHeader;
use super::buyer::Buyer;
use super::error::{ApiError, Problem};
use super::idempotent::{key_of, respond};
use super::json_object::JsonObject;
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, NewWaitlistEntry, WaitlistEntry, WholeSegment};
use crate::sale::Sales;

/// Puts the token's buyer on the event's waiting list, only when fewer seats than asked are
/// available to this user (otherwise book them). `status` is `offered` at
/// once when free seats no earlier entry fits are enough for this one.
#[utoipa::path(tag = "waitlist", request_body = NewWaitlistEntry,
    params(("id" = i64, Path, minimum = 1, description = "The event"), IdempotencyKeyHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 201, description = "On the list", body = WaitlistEntry,
         headers(("Location" = String, description = "the entry: /waitlist/{id}")), links(
            ("GetEntry" = (operation_ref = "#/paths/~1waitlist~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("LeaveWaitlist" = (operation_ref = "#/paths/~1waitlist~1{id}/delete",
                parameters(("id" = "$response.body#/id")))),
        )),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "admission_required: the event's waiting room is on and has not admitted this user",
         body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "event_not_found or user_not_found", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "seats_available (`remaining`), already_waiting (`entry_id`), limit_exceeded (`max_per_user`), already_booked, request_in_progress",
         body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/events/{id}/waitlist")]
pub async fn join(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
    body: JsonObject<NewWaitlistEntry>,
) -> Result<HttpResponse, ApiError> {
    let event_id = ensure_positive_id("id", id.into_inner().0)?;
    let entry = body.into_inner().validate()?;
    respond(
        sales
            .join_waitlist(event_id, buyer.id, entry, key_of(&http)?)
            .await?,
    )
}

/// One of the buyer's waiting-list entries; another buyer's is `404`.
#[utoipa::path(tag = "waitlist",
    params(("id" = i64, Path, minimum = 1)),
    security(("buyer_token" = [])),
    responses(
        (status = 200, description = "The entry: its position while waiting, its offer once offered", body = WaitlistEntry),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/waitlist/{id}")]
pub async fn get(
    pool: web::Data<Pool>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::holds::find_entry(&client, id, buyer.id).await?))
}

/// Leaves the waiting list; an open offer is released and goes to the next
/// entry. Leaving twice changes nothing, and neither does leaving an entry
/// that has already ended (`confirmed`: its offer was taken; `expired`).
#[utoipa::path(tag = "waitlist",
    params(("id" = i64, Path, minimum = 1), IdempotencyKeyHeader),
    security(("buyer_token" = [])),
    responses(
        (status = 200, description = "The entry, left; or as it was, if it had already ended (confirmed, expired)",
         body = WaitlistEntry),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "request_in_progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/waitlist/{id}")]
pub async fn leave(
    http: HttpRequest,
    sales: web::Data<Sales>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    respond(sales.leave_waitlist(id, buyer.id, key_of(&http)?).await?)
}
