//! The HTTP form of an idempotent request's stored answer.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::idempotency::StoredResponse;

/// Marks a response replayed from a stored outcome.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// The stored answer as sent: JSON on success, problem+json otherwise, and
/// `Idempotent-Replayed: true` when it was given before.
pub fn respond(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = HttpResponse::build(status);
    response.content_type(content_type);
    if stored.replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    response.body(stored.body)
}
