//! A transaction whose `BEGIN` travels with its first statement and whose
//! `COMMIT` with its last, each pair in one round trip (tokio-postgres sends
//! requests in the order they are first polled and answers them in order).
//! A keyed batch (`crate::sale::booking`) is five round trips with
//! `Client::transaction` and a separate commit, three this way; the last
//! two of them are spent holding the event's lock.
//!
//! The one hazard of a pipelined `COMMIT`: after a failed statement,
//! PostgreSQL answers it `ROLLBACK`, which is not an error. So
//! [`PipelinedTransaction::commit_with`] reports the statement's own result
//! first, and sends `COMMIT` only once the statement was sent (a prepared
//! statement is sent when first polled; one that fails before it is sent
//! stops the pair before the `COMMIT`).
//!
//! A transaction that did not end by [`commit`](PipelinedTransaction::commit),
//! [`commit_with`](PipelinedTransaction::commit_with) or
//! [`rollback`](PipelinedTransaction::rollback) (a failed `COMMIT` round trip,
//! a panic, a dropped future) takes its connection out of the pool when
//! dropped: closing it is the one way to end a transaction without a round
//! trip, and a pooled connection left inside a transaction would run its
//! next user's statements in it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::Object;
use futures_util::future::try_join;
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

use super::DbError;

pub struct PipelinedTransaction {
    /// `None` only once dropped.
    client: Option<Object>,
    /// Whether a `BEGIN` was sent that no `COMMIT` or `ROLLBACK` ended yet
    /// (as far as this side knows).
    open: AtomicBool,
}

impl PipelinedTransaction {
    /// A transaction on `client`, not begun yet: nothing is sent until
    /// [`begin_with`](Self::begin_with).
    pub fn new(client: Object) -> Self {
        Self {
            client: Some(client),
            open: AtomicBool::new(false),
        }
    }

    /// The connection, for the statements inside the transaction.
    pub fn client(&self) -> &Object {
        self.client
            .as_ref()
            .expect("the client is taken only on drop")
    }

    /// Sends `BEGIN` and then `first` (a future of statements on
    /// [`client`](Self::client), created but not yet polled), and answers
    /// `first`'s result.
    pub async fn begin_with<T>(
        &self,
        first: impl Future<Output = Result<T, DbError>>,
    ) -> Result<T, DbError> {
        self.open.store(true, Ordering::Relaxed);
        let begin = async {
            self.client()
                .batch_execute("BEGIN")
                .await
                .map_err(DbError::from)
        };
        let ((), answer) = try_join(begin, first).await?;
        Ok(answer)
    }

    /// Sends `statement` and `COMMIT` in one round trip; committed only when
    /// both succeeded. `statement` is prepared, so it is sent when first
    /// polled, before the `COMMIT`.
    pub async fn commit_with(
        &self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, DbError> {
        let client = self.client();
        let last = async {
            client
                .execute(statement, params)
                .await
                .map_err(DbError::from)
        };
        let commit = async { client.batch_execute("COMMIT").await.map_err(DbError::from) };
        // `try_join` polls `last` first and stops at its error: a statement
        // that fails unsent leaves the COMMIT unsent, and one that fails
        // once sent is reported instead of the COMMIT's `ROLLBACK`. Either
        // way the transaction's end is unknown here, so `open` stays set.
        let (rows, ()) = try_join(last, commit).await?;
        self.open.store(false, Ordering::Relaxed);
        Ok(rows)
    }

    /// Commits with nothing more to send.
    pub async fn commit(&self) -> Result<(), DbError> {
        self.end("COMMIT").await
    }

    /// Rolls back at once, releasing the transaction's locks (an advisory
    /// lock on an idempotency key among them) before anybody retries. A
    /// rollback that fails leaves the transaction open, and its drop closes
    /// the connection, which ends it too: a caller already answering a
    /// failure need not look at this one.
    pub async fn rollback(&self) -> Result<(), DbError> {
        self.end("ROLLBACK").await
    }

    async fn end(&self, command: &str) -> Result<(), DbError> {
        self.client().batch_execute(command).await?;
        self.open.store(false, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for PipelinedTransaction {
    fn drop(&mut self) {
        if let (true, Some(client)) = (*self.open.get_mut(), self.client.take()) {
            log::warn!("a transaction did not end cleanly; closing its connection");
            drop(Object::take(client));
        }
    }
}
