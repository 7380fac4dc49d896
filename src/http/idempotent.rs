//! The HTTP form of a sale's answer (`crate::sale::Answer`): the request's
//! `Idempotency-Key`, read from its header; the wording of an answer to store
//! ([`HttpWording`]: the status and the JSON or problem+json body the client
//! is told); and the answer sent, stored or not.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::domain::{Booking, BookingRefusal, Hold, WaitlistEntry};
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

/// What a sale's answer makes or changes: found at `{COLLECTION}/{id}`, the
/// `Location` of a `201`.
pub trait Located {
    const COLLECTION: &'static str;
    fn id(&self) -> i64;
}

impl Located for Booking {
    const COLLECTION: &'static str = "/bookings";
    fn id(&self) -> i64 {
        self.id
    }
}

impl Located for Hold {
    const COLLECTION: &'static str = "/holds";
    fn id(&self) -> i64 {
        self.id
    }
}

impl Located for WaitlistEntry {
    const COLLECTION: &'static str = "/waitlist";
    fn id(&self) -> i64 {
        self.id
    }
}

/// A sale's answer as sent: the thing made (`201`, with its `Location`) or
/// changed (`200`) as JSON, the refusal's problem+json, or the stored answer
/// of a key (a stored `201` with the `Location` of the thing it made, read
/// from its body, so a replay says what the first answer said).
pub fn respond<T: Serialize + Located>(answer: Answer<T>) -> Result<HttpResponse, ApiError> {
    match answer {
        Answer::Decided(success, outcome) => {
            let made = outcome?;
            let mut response = HttpResponse::build(status(success));
            if success == Success::Made {
                response.insert_header((header::LOCATION, location::<T>(made.id())));
            }
            Ok(response.json(made))
        }
        Answer::Stored(stored) => {
            let location = (stored.status == StatusCode::CREATED.as_u16())
                .then(|| serde_json::from_str::<Made>(&stored.body).ok())
                .flatten()
                .map(|made| location::<T>(made.id));
            Ok(stored_answer(stored, location))
        }
    }
}

/// The one field of a stored `201`'s body that `respond` reads.
#[derive(Deserialize)]
struct Made {
    id: i64,
}

fn location<T: Located>(id: i64) -> String {
    format!("{}/{id}", T::COLLECTION)
}

/// The stored answer as sent: JSON on success, problem+json otherwise, and
/// `Idempotent-Replayed: true` when it was given before.
fn stored_answer(stored: StoredResponse, location: Option<String>) -> HttpResponse {
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
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
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
