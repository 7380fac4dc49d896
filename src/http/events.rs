use actix_web::{get, patch, post};
use actix_web::{http::header, web, HttpResponse};

use super::admin::Admin;
use super::error::{ApiError, Problem};
use super::json_object::JsonObject;
use crate::db::{self, Pool};
use crate::domain::{
    ensure_positive_id, Booking, Event, EventChanges, NewEvent, Page, PageQuery, WholeSegment,
};
use crate::sale::Sales;

#[utoipa::path(tag = "events", request_body = NewEvent,
    security(("admin_token" = [])),
    responses(
        (status = 201, body = Event,
         headers(("Location" = String, description = "the event: /events/{id}"))),
        (status = 404, description = "venue_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid input, or capacity_exceeds_venue", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/events")]
pub async fn create(
    _admin: Admin,
    pool: web::Data<Pool>,
    body: JsonObject<NewEvent>,
) -> Result<HttpResponse, ApiError> {
    let event = body.into_inner().validate()?;
    let client = db::client(&pool).await?;
    let venue = db::venues::find(&client, event.venue_id).await?;
    let capacity = event.capacity.unwrap_or(venue.capacity);
    ensure_fits_venue(capacity, venue.capacity)?;
    let event = db::events::insert(&client, &event, capacity).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/events/{}", event.id)))
        .json(event))
}

fn ensure_fits_venue(capacity: i32, venue_capacity: i32) -> Result<(), ApiError> {
    if capacity > venue_capacity {
        return Err(ApiError::invalid(
            "capacity_exceeds_venue",
            format!("capacity {capacity} exceeds the venue's {venue_capacity}"),
        ));
    }
    Ok(())
}

/// Changes an event's name, start, capacity or sale settings. A capacity
/// change is made under the event's lock: it may not fall below the seats
/// booked and held, and new seats go to the waiting list first.
#[utoipa::path(tag = "events", request_body = EventChanges,
    params(("id" = i64, Path, minimum = 1)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Event),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "capacity_below_taken (`taken`: seats booked or held), max_per_user_below_seats", body = Problem,
         content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid input, an empty change, or capacity_exceeds_venue", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/events/{id}")]
pub async fn update(
    _admin: Admin,
    pool: web::Data<Pool>,
    sales: web::Data<Sales>,
    id: web::Path<WholeSegment>,
    body: JsonObject<EventChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let changes = body.into_inner().validate()?;
    if let Some(capacity) = changes.capacity {
        let client = db::client(&pool).await?;
        let event = db::events::find(&client, id).await?;
        let venue = db::venues::find(&client, event.venue_id).await?;
        ensure_fits_venue(capacity, venue.capacity)?;
    }
    let event = sales.change_event(id, changes).await??;
    Ok(HttpResponse::Ok().json(event))
}

/// Every event, oldest first.
#[utoipa::path(tag = "events",
    params(PageQuery),
    responses(
        (status = 200, body = Page<Event>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events")]
pub async fn list(
    pool: web::Data<Pool>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.validate()?;
    let (client, _read) = db::read_client(&pool).await?;
    let items = db::events::list(&client, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}

#[utoipa::path(tag = "events",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The event: its seats booked, held, remaining and asked for by the waiting list, and its sale settings", body = Event),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events/{id}")]
pub async fn get(
    pool: web::Data<Pool>,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::events::find(&client, id).await?))
}

/// The event's bookings (confirmed and cancelled), oldest first (the admin's).
#[utoipa::path(tag = "events",
    params(("id" = i64, Path, minimum = 1), PageQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Page<Booking>),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events/{id}/bookings")]
pub async fn bookings(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<WholeSegment>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let page = query.validate()?;
    let (client, _read) = db::read_client(&pool).await?;
    db::events::ensure_exists(&client, id).await?;
    let items = db::bookings::list_for_event(&client, id, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}
