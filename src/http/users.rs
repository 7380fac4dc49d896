use actix_web::{get, post};
use actix_web::{http::header, web, HttpResponse};

use super::error::{ApiError, Problem};
use super::json_object::JsonObject;
use crate::db::{self, Pool};
use crate::domain::{ensure_positive_id, Booking, NewUser, Page, PageQuery, User};

#[utoipa::path(tag = "users", request_body = NewUser,
    responses(
        (status = 201, body = User, links(
            ("GetUser" = (operation_ref = "#/paths/~1users~1{id}/get",
                parameters(("id" = "$response.body#/id")))),
            ("ListUserBookings" = (operation_ref = "#/paths/~1users~1{id}~1bookings/get",
                parameters(("id" = "$response.body#/id")))),
            ("BookForUser" = (operation_ref = "#/paths/~1bookings/post",
                description = "Book a seat for this user (`user_id` from the new user; `event_id` yours)",
                request_body = json!({"user_id": "$response.body#/id"}))),
            ("HoldForUser" = (operation_ref = "#/paths/~1holds/post",
                description = "Hold seats for this user (`user_id` from the new user; `event_id` yours)",
                request_body = json!({"user_id": "$response.body#/id"}))),
        )),
        (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/users")]
pub async fn create(
    pool: web::Data<Pool>,
    body: JsonObject<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let user = body.into_inner().validate()?;
    let client = db::client(&pool).await?;
    let user = db::users::insert(&client, &user).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/users/{}", user.id)))
        .json(user))
}

#[utoipa::path(tag = "users",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, body = User),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/users/{id}")]
pub async fn get(pool: web::Data<Pool>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::users::find(&client, id).await?))
}

/// The user's bookings (confirmed and cancelled), oldest first.
#[utoipa::path(tag = "users",
    params(("id" = i64, Path, minimum = 1), PageQuery),
    responses(
        (status = 200, body = Page<Booking>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/users/{id}/bookings")]
pub async fn bookings(
    pool: web::Data<Pool>,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner())?;
    let page = query.validate()?;
    let (client, _read) = db::read_client(&pool).await?;
    db::users::ensure_exists(&client, id).await?;
    let items = db::bookings::list_for_user(&client, id, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}
