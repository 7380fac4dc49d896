use actix_web::{http::header, web, HttpResponse};
use deadpool_postgres::Pool;

use super::json_object::JsonObject;
use crate::booking::Booker;
use crate::db;
use crate::domain::{ensure_positive_id, Booking, NewBooking};
use crate::error::{ApiError, Problem};

/// Books one seat. The body is exactly `{"event_id": .., "user_id": ..}`.
#[utoipa::path(post, path = "/bookings", tag = "bookings", request_body = NewBooking,
    responses(
        (status = 201, description = "Booked", body = Booking),
        (status = 404, description = "event_not_found or user_not_found", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "sold_out or already_booked", body = Problem,
         content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "malformed body, unknown field, non-positive id, body too large",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "no database connection free in time; see Retry-After",
         body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    pool: web::Data<Pool>,
    booker: web::Data<Booker>,
    body: JsonObject<NewBooking>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().validate()?;
    let booking = booker.book(&pool, request).await?.into_result()?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/bookings/{}", booking.id)))
        .json(booking))
}

#[utoipa::path(get, path = "/bookings/{id}", tag = "bookings",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, body = Booking),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(pool: web::Data<Pool>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let client = db::client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::bookings::find(&client, id).await?))
}

/// Cancels a booking and puts its seat back on sale. Cancelling an already
/// cancelled booking is not an error: it returns the booking unchanged.
#[utoipa::path(delete, path = "/bookings/{id}", tag = "bookings",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "The cancelled booking", body = Booking),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(pool: web::Data<Pool>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let client = db::client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::bookings::cancel(&client, id).await?))
}
