use actix_web::{get, post};
use actix_web::{http::header, web, HttpResponse};

use super::admin::Admin;
use super::error::{ApiError, Problem};
use super::json_object::JsonObject;
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, NewVenue, Page, PageQuery, Venue, WholeSegment};

#[utoipa::path(tag = "venues", request_body = NewVenue,
    security(("admin_token" = [])),
    responses(
        (status = 201, body = Venue,
         headers(("Location" = String, description = "the venue: /venues/{id}")), links(
            ("GetVenue" = (operation_ref = "#/paths/~1venues~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("CreateEvent" = (operation_ref = "#/paths/~1events/post",
                description = "Put on an event at this venue (`venue_id` from the new venue)",
                request_body = json!({"venue_id": "$response.body#/id"}))),
        )),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/venues")]
pub async fn create(
    _admin: Admin,
    pool: web::Data<Pool>,
    body: JsonObject<NewVenue>,
) -> Result<HttpResponse, ApiError> {
    let venue = body.into_inner().validate()?;
    let client = db::client(&pool).await?;
    let venue = db::venues::insert(&client, &venue).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/venues/{}", venue.id)))
        .json(venue))
}

#[utoipa::path(tag = "venues",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, body = Venue),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/venues/{id}")]
pub async fn get(
    pool: web::Data<Pool>,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::venues::find(&client, id).await?))
}

/// Every venue, oldest first.
#[utoipa::path(tag = "venues",
    params(PageQuery),
    responses(
        (status = 200, body = Page<Venue>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/venues")]
pub async fn list(
    pool: web::Data<Pool>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.validate()?;
    let (client, _read) = db::read_client(&pool).await?;
    let items = db::venues::list(&client, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}
