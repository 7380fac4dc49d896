//! HTTP routes, one module per resource, and the extractor settings that turn
//! every malformed request into a problem+json answer.

pub mod bookings;
pub mod events;
pub mod health;
mod idempotent;
mod json_object;
pub mod users;
pub mod venues;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// Largest accepted JSON body. Every request body here is a few short fields.
pub const MAX_JSON_BODY_BYTES: usize = 4 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_JSON_BODY_BYTES)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .service(web::resource("/swagger-ui").to(|| async {
        HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, "/swagger-ui/"))
            .finish()
    }))
    .service(resource("/health", "GET").route(web::get().to(health::health)))
    .service(resource("/ready", "GET").route(web::get().to(health::ready)))
    .service(resource("/venues", "POST").route(web::post().to(venues::create)))
    .service(resource("/venues/{id}", "GET").route(web::get().to(venues::get)))
    .service(resource("/events", "POST").route(web::post().to(events::create)))
    .service(resource("/events/{id}", "GET").route(web::get().to(events::get)))
    .service(resource("/events/{id}/bookings", "GET").route(web::get().to(events::bookings)))
    .service(resource("/users", "POST").route(web::post().to(users::create)))
    .service(resource("/users/{id}", "GET").route(web::get().to(users::get)))
    .service(resource("/users/{id}/bookings", "GET").route(web::get().to(users::bookings)))
    .service(resource("/bookings", "POST").route(web::post().to(bookings::create)))
    .service(
        resource("/bookings/{id}", "GET, DELETE")
            .route(web::get().to(bookings::get))
            .route(web::delete().to(bookings::cancel)),
    );
}

/// A resource whose unmatched methods get a problem+json `405` naming the
/// methods it `allow`s.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<String, _>(ApiError::MethodNotAllowed { allow })
    }))
}

/// Answer for any path no route matches.
pub async fn route_not_found() -> Result<String, ApiError> {
    Err(ApiError::RouteNotFound)
}

fn json_error(error: JsonPayloadError, _request: &HttpRequest) -> actix_web::Error {
    let problem = match &error {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType {
            detail: "send the body with Content-Type: application/json".to_owned(),
        },
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::invalid(
            "body_too_large",
            format!("request body is larger than {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(cause) => {
            ApiError::invalid("invalid_body", cause.to_string())
        }
        other => ApiError::invalid("invalid_body", other.to_string()),
    };
    problem.into()
}

fn path_error(error: PathError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::invalid(
        "invalid_id",
        format!("path id must be a positive integer: {error}"),
    )
    .into()
}

fn query_error(error: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::invalid("invalid_query", error.to_string()).into()
}
