use actix_web::get;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::db::{self, Pool};

/// The body of `/health` (`ok`) and `/ready` (`ready`).
#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up and serving HTTP.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "Process alive: `ok`", body = Status)))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// The database answers, so bookings can be taken.
#[utoipa::path(tag = "operations",
    responses(
        (status = 200, description = "Database reachable: `ready`", body = Status),
        (status = 503, description = "Database unreachable", body = super::error::Problem,
         content_type = "application/problem+json"),
    ))]
#[get("/ready")]
pub async fn ready(pool: web::Data<Pool>) -> Result<HttpResponse, ApiError> {
    db::is_ready(&pool).await?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}
