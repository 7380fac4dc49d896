use actix_web::{get, post};
use actix_web::{http::header, web, HttpResponse};

use super::json_object::JsonObject;
use crate::authentication::Admin;
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, Booking, Event, NewEvent, Page, PageQuery};
use crate::error::{ApiError, Problem};

#[utoipa::path(tag = "events", request_body = NewEvent,
    security(("admin_token" = [])),
    responses(
        (status = 201, body = Event),
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
    if capacity > venue.capacity {
        return Err(ApiError::invalid(
            "capacity_exceeds_venue",
            format!("capacity {capacity} exceeds the venue's {}", venue.capacity),
        ));
    }
    let event = db::events::insert(&client, &event, capacity).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/events/{}", event.id)))
        .json(event))
}

#[utoipa::path(tag = "events",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The event with capacity, booked and remaining seats", body = Event),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events/{id}")]
pub async fn get(pool: web::Data<Pool>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let client = db::client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::events::find(&client, id).await?))
}

/// The event's bookings (confirmed and cancelled), oldest first.
#[utoipa::path(tag = "events",
    params(("id" = i64, Path, minimum = 1), PageQuery),
    responses(
        (status = 200, body = Page<Booking>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events/{id}/bookings")]
pub async fn bookings(
    pool: web::Data<Pool>,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let page = query.validate()?;
    let client = db::client(&pool).await?;
    db::events::ensure_exists(&client, id).await?;
    let items = db::bookings::list_for_event(&client, id, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}
