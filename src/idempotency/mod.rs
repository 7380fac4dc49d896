//! Idempotent retries of `POST /bookings` and `DELETE /bookings/{id}`.
//!
//! This is part of the HTTP edge: what it stores and replays is the answer a
//! client got (status and body). It returns a [`StoredResponse`]; the route
//! turns it into an HTTP response (`routes::idempotent`).
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
use actix_web::ResponseError;
use deadpool_postgres::Transaction;
use serde::Serialize;

use crate::db::{self, Pool};
use crate::error::ApiError;

pub use key::IdempotencyKey;
pub use persistence::delete_expired;

/// A response as stored for replay.
#[derive(Debug)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// True when this is a stored answer given again, not a new one.
    pub replayed: bool,
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
                replayed: false,
            }),
            Err(error @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => Err(error),
            Err(refusal) => Ok(Self {
                status: refusal.status_code().as_u16(),
                body: serde_json::to_string(&refusal.problem())
                    .map_err(|e| ApiError::Internal(e.into()))?,
                replayed: false,
            }),
        }
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
) -> Result<StoredResponse, ApiError>
where
    T: Serialize,
    F: AsyncFnOnce(&Transaction<'_>) -> Result<T, ApiError>,
{
    let mut client = db::client(pool).await?;
    let transaction = client.transaction().await.map_err(db::DbError::from)?;
    let answer = match persistence::claim(&transaction, key, fingerprint, ttl).await? {
        persistence::Claim::InProgress => Err(ApiError::RequestInProgress),
        persistence::Claim::Reused => Err(ApiError::IdempotencyKeyReused),
        persistence::Claim::Replay(stored) => Ok(stored),
        persistence::Claim::Claimed => {
            let stored = StoredResponse::from_outcome(success, work(&transaction).await)?;
            persistence::save(&transaction, key, fingerprint, &stored).await?;
            transaction.commit().await.map_err(db::DbError::from)?;
            return Ok(stored);
        }
    };
    // Release the key's lock before answering: a transaction merely dropped
    // rolls back later, and until then a retry on another connection would
    // be told the request is still in progress.
    transaction.rollback().await.map_err(db::DbError::from)?;
    answer
}
