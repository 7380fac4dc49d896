//! The HTTP form of a sale's answer (`crate::sale::Answer`), stored or not.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use crate::error::ApiError;
use crate::idempotency::StoredResponse;
use crate::sale::Answer;

/// Marks a response replayed from a stored outcome.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// The stored answer as sent: JSON on success, problem+json otherwise, and
/// `Idempotent-Replayed: true` when it was given before.
pub fn stored_answer(stored: StoredResponse) -> HttpResponse {
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

/// A sale's answer as sent: `success` with the thing made as JSON, the
/// refusal's problem+json, or the stored answer of an `Idempotency-Key`.
pub fn respond<T: Serialize>(
    answer: Answer<T>,
    success: StatusCode,
) -> Result<HttpResponse, ApiError> {
    match answer {
        Answer::Decided(outcome) => Ok(HttpResponse::build(success).json(outcome?)),
        Answer::Stored(stored) => Ok(stored_answer(stored)),
    }
}
