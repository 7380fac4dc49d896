//! Users: sign-up (`POST /users`), the buyer's own account and bookings
//! (`GET /me`, `GET /me/bookings`), and any user's, for the admin.

use actix_web::{get, post};
use actix_web::{web, HttpRequest, HttpResponse};

use super::admin::Admin;
use super::buyer::Buyer;
use super::error::{ApiError, Problem};
use super::json_object::JsonObject;
use super::sessions::limit_client;
use crate::authentication::passwords;
use crate::db::{self, Pool};
use crate::domain::{
    ensure_positive_id, Booking, NewUser, Page, PageQuery, SignUp, User, WholeSegment,
};

/// Signs up. The answer is the same `202` whether the email is new (the
/// account is made) or has an account already (nothing changes), so it does
/// not tell who has one; sign in with `POST /sessions`.
#[utoipa::path(tag = "users", request_body = NewUser,
    responses(
        (status = 202, description = "Accepted: if the email was new, the account exists now", body = SignUp, links(
            ("SignIn" = (operation_ref = "#/paths/~1sessions/post",
                description = "Sign in with the same email and password")),
        )),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_field, invalid_password (8 to 128 characters), invalid_body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_requests: this client's sign-ups and sign-ins are over FLASHBOOK_ACCOUNT_RATE_PER_MINUTE; see Retry-After",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/users")]
pub async fn create(
    http: HttpRequest,
    pool: web::Data<Pool>,
    body: JsonObject<NewUser>,
) -> Result<HttpResponse, ApiError> {
    limit_client(&http)?;
    let user = body.into_inner().validate()?;
    let password = user.password.clone();
    // Hashed whether or not the email is taken: the same work either way.
    let hash = web::block(move || passwords::hash(password.expose()))
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))?
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    let client = db::client(&pool).await?;
    db::users::insert(&client, &user, &hash).await?;
    Ok(HttpResponse::Accepted().json(SignUp {
        status: "accepted".to_owned(),
        detail: "if this email had no account, it has one now: sign in with POST /sessions"
            .to_owned(),
    }))
}

/// The signed-in buyer's account.
#[utoipa::path(tag = "users",
    security(("buyer_token" = [])),
    responses(
        (status = 200, body = User),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found: the token's user is gone", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/me")]
pub async fn me(pool: web::Data<Pool>, buyer: Buyer) -> Result<HttpResponse, ApiError> {
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::users::find(&client, buyer.id).await?))
}

/// The signed-in buyer's bookings (confirmed and cancelled), oldest first.
#[utoipa::path(tag = "users",
    params(PageQuery),
    security(("buyer_token" = [])),
    responses(
        (status = 200, body = Page<Booking>),
        (status = 401, description = "unauthorized, invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/me/bookings")]
pub async fn my_bookings(
    pool: web::Data<Pool>,
    buyer: Buyer,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.validate()?;
    let (client, _read) = db::read_client(&pool).await?;
    let items = db::bookings::list_for_user(&client, buyer.id, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}

/// Any user's account (the admin's).
#[utoipa::path(tag = "users",
    params(("id" = i64, Path, minimum = 1)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = User),
        (status = 401, description = "no bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/users/{id}")]
pub async fn get(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let (client, _read) = db::read_client(&pool).await?;
    Ok(HttpResponse::Ok().json(db::users::find(&client, id).await?))
}

/// Any user's bookings (confirmed and cancelled), oldest first (the admin's).
#[utoipa::path(tag = "users",
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
#[get("/users/{id}/bookings")]
pub async fn bookings(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<WholeSegment>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let page = query.validate()?;
    let (client, _read) = db::read_client(&pool).await?;
    db::users::ensure_exists(&client, id).await?;
    let items = db::bookings::list_for_user(&client, id, page).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, page)))
}
