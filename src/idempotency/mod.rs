//! Idempotent retries of `POST /bookings` and `DELETE /bookings/{id}`.
//!
//! A request with an `Idempotency-Key` runs in one explicit transaction:
//! take the key's advisory lock (held → `409 request_in_progress`), look for
//! a stored outcome (same request → replay it; different request →
//! `422 idempotency_key_reused`), otherwise do the work and store its
//! outcome, then commit both together. A retry after a lost response replays;
//! a retry after a failure (nothing committed) runs again. Either way the
//! client ends with exactly one booking.

mod key;
mod persistence;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use deadpool_postgres::{Pool, Transaction};
use serde::Serialize;

use crate::db;
use crate::error::ApiError;

pub use key::IdempotencyKey;
pub use persistence::delete_expired;

/// Marks a response replayed from a stored outcome.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A response as stored for replay.
#[derive(Debug)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

impl StoredResponse {
    /// Success or a business refusal (sold out, not found...), both final
    /// answers worth replaying. `Unavailable`/`Internal` roll back instead.
    fn from_outcome<T: Serialize>(
        status: StatusCode,
        outcome: Result<T, ApiError>,
    ) -> Result<Self, ApiError> {
        match outcome {
            Ok(value) => Ok(Self {
                status: status.as_u16(),
                body: serde_json::to_string(&value).map_err(|e| ApiError::Internal(e.into()))?,
            }),
            Err(error @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => Err(error),
            Err(refusal) => Ok(Self {
                status: refusal.status_code().as_u16(),
                body: serde_json::to_string(&refusal.problem())
                    .map_err(|e| ApiError::Internal(e.into()))?,
            }),
        }
    }

    pub fn into_response(self, replayed: bool) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = if status.is_success() {
            "application/json"
        } else {
            "application/problem+json"
        };
        let mut response = HttpResponse::build(status);
        response.content_type(content_type);
        if replayed {
            response.insert_header((REPLAYED_HEADER, "true"));
        }
        response.body(self.body)
    }
}

/// Runs `work` at most once per key: replays, refuses, or runs and stores.
/// `work` gets the transaction that will also store the key.
pub async fn run_once<T, F>(
    pool: &Pool,
    key: &IdempotencyKey,
    fingerprint: &str,
    ttl: Duration,
    success: StatusCode,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize,
    F: AsyncFnOnce(&Transaction<'_>) -> Result<T, ApiError>,
{
    let mut client = db::client(pool).await?;
    let transaction = client.transaction().await?;
    match persistence::claim(&transaction, key, fingerprint, ttl).await? {
        persistence::Claim::InProgress => Err(ApiError::RequestInProgress),
        persistence::Claim::Reused => Err(ApiError::IdempotencyKeyReused),
        persistence::Claim::Replay(stored) => Ok(stored.into_response(true)),
        persistence::Claim::Claimed => {
            let stored = StoredResponse::from_outcome(success, work(&transaction).await)?;
            persistence::save(&transaction, key, fingerprint, &stored).await?;
            transaction.commit().await?;
            Ok(stored.into_response(false))
        }
    }
}
