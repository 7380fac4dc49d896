use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};

use super::{IdempotencyKey, StoredResponse};
use crate::db::{column, DbError, Pool};

/// Holds the user's key until the transaction ends (the hash is seeded with
/// the user, so another user's same key is another lock); fails at once when
/// another transaction holds it (the first request is still in flight).
const TRY_LOCK_KEY: &str = "SELECT pg_try_advisory_xact_lock(hashtextextended($2, $1))";

const SELECT_STORED: &str = "
    SELECT request_fingerprint, response_status, response_body
      FROM idempotency_keys
     WHERE user_id = $1 AND key = $2 AND created_at > now() - make_interval(secs => $3)";

/// An expired row with the same key is replaced.
const STORE: &str = "
    INSERT INTO idempotency_keys (user_id, key, request_fingerprint, response_status, response_body)
    VALUES ($1, $2, $3, $4, $5)
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

pub enum Claim {
    Claimed,
    InProgress,
    Reused,
    Replay(StoredResponse),
}

pub async fn claim(
    transaction: &Transaction<'_>,
    owner: i64,
    key: &IdempotencyKey,
    fingerprint: &str,
    ttl: Duration,
) -> Result<Claim, DbError> {
    let statement = transaction.prepare_cached(TRY_LOCK_KEY).await?;
    let row = transaction
        .query_one(&statement, &[&owner, &key.as_str()])
        .await?;
    let locked: bool = column(&row, "pg_try_advisory_xact_lock")?;
    if !locked {
        return Ok(Claim::InProgress);
    }
    let statement = transaction.prepare_cached(SELECT_STORED).await?;
    let ttl_seconds = ttl.as_secs_f64();
    let Some(row) = transaction
        .query_opt(&statement, &[&owner, &key.as_str(), &ttl_seconds])
        .await?
    else {
        return Ok(Claim::Claimed);
    };
    let stored_fingerprint: &str = column(&row, "request_fingerprint")?;
    if stored_fingerprint != fingerprint {
        return Ok(Claim::Reused);
    }
    let status: i16 = column(&row, "response_status")?;
    Ok(Claim::Replay(StoredResponse {
        status: status as u16,
        body: column(&row, "response_body")?,
        replayed: true,
    }))
}

pub async fn save(
    transaction: &Transaction<'_>,
    owner: i64,
    key: &IdempotencyKey,
    fingerprint: &str,
    response: &StoredResponse,
) -> Result<(), DbError> {
    let statement = transaction.prepare_cached(STORE).await?;
    let status = response.status as i16;
    transaction
        .execute(
            &statement,
            &[&owner, &key.as_str(), &fingerprint, &status, &response.body],
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
