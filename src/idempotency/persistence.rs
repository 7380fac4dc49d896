use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::{IdempotencyKey, StoredResponse};
use crate::db::pipelined::PipelinedTransaction;
use crate::db::{column, DbError, Pool};

/// Holds each claimed key until the transaction ends
/// (migrations/functions/claim_idempotency_keys.sql).
const CLAIM: &str = "
    SELECT ordinal, claim, response_status, response_body
      FROM claim_idempotency_keys($1, $2, $3, $4)";

/// An expired row with the same key is replaced.
const STORE: &str = "
    INSERT INTO idempotency_keys (user_id, key, request_fingerprint, response_status, response_body)
    SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::SMALLINT[], $5::TEXT[])
    ON CONFLICT (user_id, key) DO UPDATE
       SET request_fingerprint = EXCLUDED.request_fingerprint,
           response_status = EXCLUDED.response_status,
           response_body = EXCLUDED.response_body,
           created_at = now()";

/// Small chunks keep each delete short; it takes no lock a booking needs.
const DELETE_EXPIRED: &str = "
    DELETE FROM idempotency_keys
     WHERE (user_id, key) IN (SELECT user_id, key FROM idempotency_keys
                               WHERE created_at <= now() - make_interval(secs => $1)
                               LIMIT 1000)";

/// What a key's claim found.
#[derive(Debug)]
pub enum Claim {
    /// No answer yet: the key is this transaction's until it ends.
    Claimed,
    /// Another transaction holds the key (or an earlier request of the same
    /// batch): the first request is still in flight.
    InProgress,
    /// The stored answer is for a different request.
    Reused,
    Replay(StoredResponse),
}

/// One keyed request: its buyer, key and fingerprint.
#[derive(Debug, Clone, Copy)]
pub struct KeyedRequest<'a> {
    pub owner: i64,
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
}

/// Claims every request's key in `client`'s transaction, in one statement;
/// one claim per request, in order.
pub async fn claim_all(
    client: &impl GenericClient,
    requests: &[KeyedRequest<'_>],
    ttl: Duration,
) -> Result<Vec<Claim>, DbError> {
    let owners: Vec<i64> = requests.iter().map(|request| request.owner).collect();
    let keys: Vec<&str> = requests
        .iter()
        .map(|request| request.key.as_str())
        .collect();
    let fingerprints: Vec<&str> = requests.iter().map(|request| request.fingerprint).collect();
    let statement = client.prepare_cached(CLAIM).await?;
    let rows = client
        .query(
            &statement,
            &[&owners, &keys, &fingerprints, &ttl.as_secs_f64()],
        )
        .await?;
    let mut claims = rows
        .iter()
        .map(|row| {
            let claim = match column::<&str>(row, "claim")? {
                "claimed" => Claim::Claimed,
                "in_progress" => Claim::InProgress,
                "reused" => Claim::Reused,
                "replay" => Claim::Replay(StoredResponse {
                    status: column::<i16>(row, "response_status")? as u16,
                    body: column(row, "response_body")?,
                    replayed: true,
                }),
                other => {
                    return Err(DbError::unexpected(format!(
                        "claim_idempotency_keys answered {other:?}"
                    )))
                }
            };
            Ok((column::<i32>(row, "ordinal")?, claim))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    if claims.len() != requests.len() {
        return Err(DbError::unexpected(format!(
            "claim_idempotency_keys answered {} of {} keys",
            claims.len(),
            requests.len()
        )));
    }
    claims.sort_by_key(|(ordinal, _)| *ordinal);
    Ok(claims.into_iter().map(|(_, claim)| claim).collect())
}

/// Stores each claimed request's answer, in one statement sent with the
/// transaction's `COMMIT`: the answers are stored exactly when what they
/// tell of is committed.
pub async fn store_and_commit(
    transaction: &PipelinedTransaction,
    answers: &[(KeyedRequest<'_>, &StoredResponse)],
) -> Result<(), DbError> {
    if answers.is_empty() {
        return transaction.commit().await;
    }
    let owners: Vec<i64> = answers.iter().map(|(request, _)| request.owner).collect();
    let keys: Vec<&str> = answers
        .iter()
        .map(|(request, _)| request.key.as_str())
        .collect();
    let fingerprints: Vec<&str> = answers
        .iter()
        .map(|(request, _)| request.fingerprint)
        .collect();
    let statuses: Vec<i16> = answers
        .iter()
        .map(|(_, answer)| answer.status as i16)
        .collect();
    let bodies: Vec<&str> = answers
        .iter()
        .map(|(_, answer)| answer.body.as_str())
        .collect();
    let statement = transaction.client().prepare_cached(STORE).await?;
    transaction
        .commit_with(
            &statement,
            &[&owners, &keys, &fingerprints, &statuses, &bodies],
        )
        .await?;
    Ok(())
}

/// Deletes keys older than `ttl`, chunk by chunk; returns how many.
pub async fn delete_expired(pool: &Pool, ttl: Duration) -> Result<u64, DbError> {
    let client = crate::db::client(pool).await?;
    let statement = client.prepare_cached(DELETE_EXPIRED).await?;
    let ttl_seconds = ttl.as_secs_f64();
    let mut deleted = 0;
    loop {
        let chunk = client.execute(&statement, &[&ttl_seconds]).await?;
        deleted += chunk;
        if chunk == 0 {
            return Ok(deleted);
        }
    }
}
