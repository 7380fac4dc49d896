//! The HTTP form of a sale's answer (`crate::sale::Answer`): the request's
//! `Idempotency-Key`, read from its header; the wording of an answer to store
//! ([`HttpWording`]: the status and the JSON or problem+json body the client
//! is told); and the answer sent, stored or not.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use super::error::ApiError;
use crate::domain::BookingRefusal;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::sale::{Answer, Success, Wording};

/// Marks a response replayed from a stored outcome.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// The request's `Idempotency-Key`, if it sent one.
pub fn key_of(http: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut keys = http.headers().get_all(idempotency::HEADER);
    let key = keys.next();
    if keys.next().is_some() {
        // Which of two keys names the request is a guess; the client is told.
        return Err(ApiError::Invalid {
            code: "invalid_idempotency_key",
            detail: format!("send one {} header, not several", idempotency::HEADER),
        });
    }
    Ok(key
        .map(|value| IdempotencyKey::parse(value.as_bytes()))
        .transpose()?)
}

/// A sale's answer as sent: the thing made (`201`) or changed (`200`) as
/// JSON, the refusal's problem+json, or the stored answer of a key.
pub fn respond<T: Serialize>(answer: Answer<T>) -> Result<HttpResponse, ApiError> {
    match answer {
        Answer::Decided(success, outcome) => {
            Ok(HttpResponse::build(status(success)).json(outcome?))
        }
        Answer::Stored(stored) => Ok(stored_answer(stored)),
    }
}

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

fn status(success: Success) -> StatusCode {
    match success {
        Success::Made => StatusCode::CREATED,
        Success::Changed => StatusCode::OK,
    }
}

/// How a keyed request's answer is stored: exactly as [`respond`] sends it.
pub struct HttpWording;

impl Wording for HttpWording {
    fn success(&self, success: Success, body: String) -> StoredResponse {
        StoredResponse::new(status(success).as_u16(), body)
    }

    fn refusal(&self, refusal: BookingRefusal) -> Result<StoredResponse, serde_json::Error> {
        let error = ApiError::from(refusal);
        let body = serde_json::to_string(&error.problem())?;
        Ok(StoredResponse::new(error.status_code().as_u16(), body))
    }
}
