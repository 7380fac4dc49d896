//! The waiting room: the admin turns it on for an event
//! (`PUT /events/{id}/waiting-room`), buyers join its line
//! (`POST /events/{id}/queue`) and poll their ticket (`GET /queue/{ticket}`)
//! until they are admitted with a pass for one `POST /holds` or
//! `POST /bookings`. How it works: `crate::waiting_room` and
//! migrations/V7__waiting_room.sql.

use actix_web::{delete, get, post, put};
use actix_web::{http::header, web, HttpRequest, HttpResponse};

use super::admin::Admin;
use super::buyer::Buyer;
use super::error::{ApiError, Problem};
use super::is_head;
use super::json_object::JsonObject;
use crate::admission::{is_ticket, new_ticket};
use crate::db::waiting_room::{PassIssue, Standing};
use crate::db::{self, Pool};
use crate::domain::{
    ensure_positive_id, BookingRefusal, QueueTicket, Resource, SeatRequest, TicketStatus,
    WaitingRoom, WaitingRoomSettings, WholeSegment,
};
use crate::waiting_room::WaitingRooms;

/// Turns the event's waiting room on, or changes its settings (its line and
/// counts stay). From then on its holds and bookings need an admission pass.
#[utoipa::path(tag = "waiting room", request_body = WaitingRoomSettings,
    params(("id" = i64, Path, minimum = 1)),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The room's settings and counts", body = WaitingRoom),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "event_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/events/{id}/waiting-room")]
pub async fn put(
    _admin: Admin,
    pool: web::Data<Pool>,
    rooms: web::Data<WaitingRooms>,
    id: web::Path<WholeSegment>,
    body: JsonObject<WaitingRoomSettings>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let settings = body.into_inner().validate()?;
    let client = db::client(&pool).await?;
    let room = db::waiting_room::put(&client, id, &settings).await?;
    rooms.set(id, true);
    Ok(HttpResponse::Ok().json(room))
}

/// Turns the waiting room off: holds and bookings need no pass again.
/// Turning off a room that is off changes nothing.
#[utoipa::path(tag = "waiting room",
    params(("id" = i64, Path, minimum = 1)),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Off"),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "event_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/events/{id}/waiting-room")]
pub async fn delete(
    _admin: Admin,
    pool: web::Data<Pool>,
    rooms: web::Data<WaitingRooms>,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let client = db::client(&pool).await?;
    db::waiting_room::deactivate(&client, id).await?;
    rooms.set(id, false);
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "waiting room",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The room's settings, tickets handed out (`joined`) and admitted so far", body = WaitingRoom),
        (status = 404, description = "event_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "waiting_room_off", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events/{id}/waiting-room")]
pub async fn get(
    pool: web::Data<Pool>,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    match db::waiting_room::find(&client, id).await? {
        Some(room) => Ok(HttpResponse::Ok().json(room)),
        None => {
            db::events::ensure_exists(&client, id).await?;
            Err(BookingRefusal::WaitingRoomOff.into())
        }
    }
}

/// Takes a place in the event's line for the token's buyer (no body). Who joins before `opens_at` is placed
/// at random among the early joiners; later joiners in arrival order, after
/// them. One place per user: joining again answers `200` with the same
/// ticket as it stands now.
#[utoipa::path(tag = "waiting room",
    params(("id" = i64, Path, minimum = 1)),
    security(("buyer_token" = [])),
    responses(
        (status = 201, description = "In line (`waiting`, or `admitted` with its pass at once)", body = QueueTicket,
         headers(("Location" = String, description = "the ticket: /queue/{ticket}"))),
        (status = 200, description = "The user was in line already: their ticket", body = QueueTicket,
         headers(("Location" = String, description = "the ticket: /queue/{ticket}"))),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "event_not_found or user_not_found", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "waiting_room_off: the event has none; book directly", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/events/{id}/queue")]
pub async fn join(
    pool: web::Data<Pool>,
    rooms: web::Data<WaitingRooms>,
    buyer: Buyer,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let client = db::client(&pool).await?;
    let (ticket, joined) = db::waiting_room::join(&client, id, buyer.id, &new_ticket()).await??;
    let standing = db::waiting_room::standing(&client, &ticket, buyer.id, PassIssue::Issue).await?;
    let body = answer(&rooms, ticket, standing)?;
    let mut response = if joined {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header((header::LOCATION, format!("/queue/{}", body.ticket)))
        .json(body))
}

/// The ticket's standing by the database's clock, the same on every
/// replica: `waiting` (position, estimate), `admitted` (the pass, issued at
/// the first `GET` once admitted, never by a `HEAD`, and the same on every
/// read until it expires), `used`, or `expired`.
#[utoipa::path(tag = "waiting room",
    params(("ticket" = String, Path, pattern = "^[0-9a-f]{32}$")),
    security(("buyer_token" = [])),
    responses(
        (status = 200, body = QueueTicket),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "ticket_not_found: no such ticket, or another buyer's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "waiting_room_off: the room was turned off; book directly", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/queue/{ticket}")]
pub async fn show_ticket(
    request: HttpRequest,
    pool: web::Data<Pool>,
    rooms: web::Data<WaitingRooms>,
    buyer: Buyer,
    ticket: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ticket = ticket.into_inner();
    if !is_ticket(&ticket) {
        return Err(ApiError::NotFound(Resource::Ticket));
    }
    let pass = if is_head(&request) {
        PassIssue::Withhold
    } else {
        PassIssue::Issue
    };
    let client = db::client(&pool).await?;
    let standing = db::waiting_room::standing(&client, &ticket, buyer.id, pass).await?;
    Ok(HttpResponse::Ok().json(answer(&rooms, ticket, standing)?))
}

fn answer(
    rooms: &WaitingRooms,
    ticket: String,
    standing: Standing,
) -> Result<QueueTicket, ApiError> {
    let status = match standing.status.as_str() {
        "waiting" => TicketStatus::Waiting,
        "admitted" => TicketStatus::Admitted,
        "used" => TicketStatus::Used,
        "expired" => TicketStatus::Expired,
        "waiting_room_off" => return Err(BookingRefusal::WaitingRoomOff.into()),
        other => {
            return Err(ApiError::Internal(
                format!("queue_ticket_status answered {other:?}").into(),
            ))
        }
    };
    let waiting = |value: Option<i64>| value.filter(|_| status == TicketStatus::Waiting);
    let pass_expires_at = standing
        .pass_expires_at
        .filter(|_| status == TicketStatus::Admitted);
    let pass = pass_expires_at.map(|expires_at| {
        rooms
            .secret()
            .sign(&ticket, standing.event_id, standing.user_id, expires_at)
    });
    Ok(QueueTicket {
        ticket,
        event_id: standing.event_id,
        user_id: standing.user_id,
        status,
        position: waiting(standing.position),
        estimated_wait_seconds: waiting(standing.wait_seconds),
        pass,
        pass_expires_at,
    })
}

/// The gate of `POST /holds` and `POST /bookings`: `None` when the event has
/// no waiting room (a memory lookup, no database round trip: the request
/// goes on exactly as before); the pass's ticket when it has one and the pass
/// is valid for this event and user; `403 admission_required` otherwise.
pub(super) fn admission(
    http: &HttpRequest,
    request: &SeatRequest,
) -> Result<Option<String>, ApiError> {
    let rooms = http
        .app_data::<web::Data<WaitingRooms>>()
        .ok_or_else(|| ApiError::Internal("waiting rooms not configured".into()))?;
    let pass = http
        .headers()
        .get(PASS_HEADER)
        .map(|value| value.as_bytes());
    Ok(rooms.admit(pass, request.event_id, request.user_id)?)
}

/// The request header that carries the pass.
const PASS_HEADER: &str = "Admission-Pass";

/// The `Admission-Pass` request header, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code, reason = "documents a header read from HttpRequest")]
pub(super) struct AdmissionPassHeader {
    /// Needed while the event has a waiting room: the `pass` of
    /// `GET /queue/{ticket}`, good for one request. Ignored otherwise.
    #[param(rename = "Admission-Pass", required = false)]
    admission_pass: String,
}
