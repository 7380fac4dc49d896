use actix_web::get;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::ApiError;
use crate::db::{self, Pool};

/// The process is up and serving HTTP.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "Process alive", example = json!({"status": "ok"}))))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers, so bookings can be taken.
#[utoipa::path(tag = "operations",
    responses(
        (status = 200, description = "Database reachable", example = json!({"status": "ready"})),
        (status = 503, description = "Database unreachable", body = super::error::Problem,
         content_type = "application/problem+json"),
    ))]
#[get("/ready")]
pub async fn ready(pool: web::Data<Pool>) -> Result<HttpResponse, ApiError> {
    db::is_ready(&pool).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
