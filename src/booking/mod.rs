//! How a booking request reaches the database: one transaction per request,
//! or batched with the other requests for the same event that queue up while
//! its previous batch holds the lock (see `batch.rs`). The transaction
//! itself, and its SQL, is `crate::db::bookings`.

mod batch;

use std::sync::Arc;

use crate::db::{self, DbError, Pool};
use crate::domain::{Booking, Outcome, SeatRequest};
use crate::metrics::BookingMetrics;

#[cfg(feature = "test-hooks")]
pub use batch::test_hooks;
pub use batch::Batcher;

#[derive(Clone)]
pub enum Booker {
    /// `take_seats` for one request: one transaction, one lock acquisition.
    OnePerTransaction(BookingMetrics),
    /// `take_seats` for up to `batch_max` queued requests per transaction.
    Batched(Arc<Batcher>),
}

/// Why a booking request got no outcome from the database.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error(transparent)]
    Database(#[from] DbError),
    /// The worker booking this request's batch stopped (a bug); the batch
    /// may or may not have committed.
    #[error(
        "the booking worker stopped while booking this request; whether it was booked is unknown"
    )]
    WorkerStopped,
    /// The worker stopped before this request's batch began: nothing was
    /// booked and the next request starts a new worker.
    #[error("the booking worker stopped before this request was tried; nothing was booked")]
    NotAttempted,
}

impl BookingError {
    /// The same error for every request of a failed batch.
    pub fn replicate(&self) -> Self {
        match self {
            BookingError::Database(error) => BookingError::Database(error.replicate()),
            BookingError::WorkerStopped => BookingError::WorkerStopped,
            BookingError::NotAttempted => BookingError::NotAttempted,
        }
    }
}

impl Booker {
    /// `batch_max` of 1 books every request in its own transaction.
    /// `metrics` counts the seats each path commits (`flashbook_seats_booked`).
    pub fn new(pool: Pool, batch_max: usize, metrics: BookingMetrics) -> Self {
        if batch_max > 1 {
            Booker::Batched(Arc::new(Batcher::new(pool, batch_max, metrics)))
        } else {
            Booker::OnePerTransaction(metrics)
        }
    }

    pub async fn book(
        &self,
        pool: &Pool,
        request: SeatRequest,
    ) -> Result<Outcome<Booking>, BookingError> {
        match self {
            Booker::OnePerTransaction(metrics) => {
                // Its own task, so the seat is counted once committed even
                // when the client leaves or its request times out meanwhile.
                let (pool, metrics) = (pool.clone(), metrics.clone());
                let booking = tokio::spawn(async move {
                    let client = db::client(&pool).await?;
                    let outcome = db::bookings::book(&client, request).await?;
                    if let Ok(booking) = &outcome {
                        metrics.seats_booked(booking.quantity as u64);
                    }
                    Ok::<_, DbError>(outcome)
                });
                Ok(booking.await.map_err(|_| BookingError::WorkerStopped)??)
            }
            Booker::Batched(batcher) => batcher.book(request).await,
        }
    }
}
