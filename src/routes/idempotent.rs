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

/// Runs one seat-changing database call once per request: inside the
/// idempotent transaction of the request's `Idempotency-Key` when it has one
/// (`crate::idempotency::run_once`), otherwise as its own implicit
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
        match $crate::idempotency::IdempotencyKey::from_headers($http.headers())? {
            Some(key) => {
                let stored = $crate::idempotency::run_once(
                    &$pool,
                    &key,
                    &$fingerprint,
                    $limits.idempotency_ttl,
                    $success,
                    async |$client| Ok($call.await??),
                )
                .await?;
                Ok($crate::routes::idempotent::respond(stored))
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
