//! The HTTP form of an idempotent request (`crate::idempotency`): its key,
//! read from the `Idempotency-Key` header; its answer, rendered here as the
//! status and JSON or problem+json body that are stored; and a stored answer
//! sent again.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use deadpool_postgres::Transaction;
use serde::Serialize;

use super::error::ApiError;
use crate::db::Pool;
use crate::idempotency::{self, IdempotencyKey, StoredResponse};

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

/// The request's `Idempotency-Key`, if it sent one.
pub fn key_of(http: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    let key = http.headers().get(idempotency::HEADER);
    Ok(key
        .map(|value| IdempotencyKey::parse(value.as_bytes()))
        .transpose()?)
}

/// Runs `work` at most once per key (`crate::idempotency::run_once`); its
/// result is stored as the client gets it: `success` with `T` as JSON, or the
/// error's problem+json.
pub async fn run_once<T: Serialize>(
    pool: &Pool,
    key: &IdempotencyKey,
    fingerprint: &str,
    ttl: Duration,
    success: StatusCode,
    work: impl AsyncFnOnce(&Transaction<'_>) -> Result<T, ApiError>,
) -> Result<StoredResponse, ApiError> {
    idempotency::run_once(pool, key, fingerprint, ttl, async |transaction| {
        answer(success, work(transaction).await)
    })
    .await
}

/// Success or a refusal the client can act on (sold out, not found...), both
/// final answers worth storing. `Unavailable`/`Internal` roll back instead.
fn answer<T: Serialize>(
    success: StatusCode,
    outcome: Result<T, ApiError>,
) -> Result<StoredResponse, ApiError> {
    let (status, body) = match outcome {
        Ok(value) => (success, serde_json::to_string(&value)),
        Err(error @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => return Err(error),
        Err(refusal) => (
            refusal.status_code(),
            serde_json::to_string(&refusal.problem()),
        ),
    };
    let body = body.map_err(|error| ApiError::Internal(error.into()))?;
    Ok(StoredResponse::new(status.as_u16(), body))
}

/// Runs one seat-changing database call once per request: inside the
/// idempotent transaction of the request's `Idempotency-Key` when it has one
/// (`run_once`), otherwise as its own implicit
/// transaction on a pooled connection, so that without a key the event lock
/// is held for no more round trips than the call itself.
///
/// `|client| call` is an expression over `client` (a `&impl GenericClient`:
/// the transaction or the connection) that returns
/// `Result<Outcome<T>, DbError>`. The answer is `success` with `T` as JSON, or
/// the refusal's problem+json; with a key, it is stored and replayed.
macro_rules! run_once_per_key {
    ($http:expr, $pool:expr, $limits:expr, $fingerprint:expr, $success:expr,
     |$client:ident| $call:expr) => {{
        match $crate::http::idempotent::key_of(&$http)? {
            Some(key) => {
                let stored = $crate::http::idempotent::run_once(
                    &$pool,
                    &key,
                    &$fingerprint,
                    $limits.idempotency_ttl,
                    $success,
                    async |$client| Ok($call.await??),
                )
                .await?;
                Ok($crate::http::idempotent::respond(stored))
            }
            None => {
                let $client = &$crate::db::client(&$pool).await?;
                let value = $call.await??;
                Ok(actix_web::HttpResponse::build($success).json(value))
            }
        }
    }};
}
pub(crate) use run_once_per_key;
