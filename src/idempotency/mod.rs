//! Idempotent retries of `POST /bookings`, `DELETE /bookings/{id}` and the
//! other seat-changing requests.
//!
//! What it stores and replays is the answer a client got (status and body),
//! but it knows nothing of HTTP: the caller's work renders its own answer
//! (the HTTP edge, `http::idempotent`, turns a result into a status and a
//! JSON or problem+json body), and a refusal to run comes back as an
//! [`IdempotencyError`].
//!
//! A key is its buyer's: the table's key is (user, key) and the user is part
//! of the fingerprint, so two buyers who both send `order-42` never meet.
//!
//! A request with an `Idempotency-Key` runs in one explicit transaction:
//! take the key's advisory lock (held → [`IdempotencyError::InProgress`]),
//! look for a stored answer (same request → replay it; different request →
//! [`IdempotencyError::KeyReused`]), otherwise do the work and store its
//! answer, then commit both together. A retry after a lost response replays;
//! a retry after a failure (nothing committed) runs again. Either way the
//! client ends with exactly one booking. [`run_once`] does this for one
//! request; a batch of bookings and holds (`crate::sale::booking`) claims
//! all its keys with [`claim_all`] and stores all its answers with
//! [`store_and_commit`], the same two statements, in the batch's one
//! transaction. Either way the claim travels with the `BEGIN` and the stored
//! answer with the `COMMIT` (`db::pipelined`).

mod key;
mod persistence;

use std::time::Duration;

use deadpool_postgres::Object;

use crate::db::pipelined::PipelinedTransaction;
use crate::db::{self, DbError, Pool};

pub use key::{IdempotencyKey, HEADER};
pub use persistence::{claim_all, delete_expired, store_and_commit, Claim, KeyedRequest};

/// Why a keyed request was not run (nothing was done, nothing stored).
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// Another transaction holds the key: the first request is still in
    /// flight.
    #[error("a request with this key is still in progress")]
    InProgress,
    /// The key's stored answer is for a different request.
    #[error("this key was already used with a different request")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] DbError),
}

/// An answer as stored for replay.
#[derive(Debug)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// True when this is a stored answer given again, not a new one.
    pub replayed: bool,
}

impl StoredResponse {
    /// A new answer, to be stored with the key.
    pub fn new(status: u16, body: String) -> Self {
        Self {
            status,
            body,
            replayed: false,
        }
    }
}

/// Runs `work` at most once per key of user `owner`: replays, refuses, or
/// runs and stores.
/// `work` gets the connection of the transaction that will also store the
/// key, and returns
/// the answer to store (a success or a final refusal, both worth replaying)
/// or an error, which rolls everything back and is returned as it is.
pub async fn run_once<E, F>(
    pool: &Pool,
    owner: i64,
    key: &IdempotencyKey,
    fingerprint: &str,
    ttl: Duration,
    work: F,
) -> Result<StoredResponse, E>
where
    E: From<IdempotencyError>,
    F: AsyncFnOnce(&Object) -> Result<StoredResponse, E>,
{
    let client = db::client(pool).await.map_err(failed)?;
    let transaction = PipelinedTransaction::new(client);
    let request = KeyedRequest {
        owner,
        key,
        fingerprint,
    };
    let claim = transaction
        .begin_with(claim_all(transaction.client(), &[request], ttl))
        .await
        .map(|mut claims| claims.remove(0));
    let answer = match claim {
        Err(error) => Err(failed(error)),
        Ok(Claim::InProgress) => Err(IdempotencyError::InProgress.into()),
        Ok(Claim::Reused) => Err(IdempotencyError::KeyReused.into()),
        Ok(Claim::Replay(stored)) => Ok(stored),
        Ok(Claim::Claimed) => match work(transaction.client()).await {
            Ok(stored) => {
                store_and_commit(&transaction, &[(request, &stored)])
                    .await
                    .map_err(failed)?;
                return Ok(stored);
            }
            Err(error) => Err(error),
        },
    };
    // Release the key's lock before answering: until the transaction ends,
    // a retry on another connection would be told the request is still in
    // progress.
    let _ = transaction.rollback().await;
    answer
}

/// A database failure of the key's own work, in the caller's error type.
fn failed<E: From<IdempotencyError>>(error: impl Into<DbError>) -> E {
    IdempotencyError::Database(error.into()).into()
}
