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
    /// The event's queue is longer than the batcher can book within the
    /// request's time budget, at its measured speed: refused at once,
    /// nothing booked (`batch.rs`, "No request waits in vain").
    #[error("the booking queue of this event would take about {estimated:?} to reach this request, more than its budget of {budget:?}; nothing was booked: retry later")]
    TooBusy {
        estimated: std::time::Duration,
        budget: std::time::Duration,
    },
}

impl BookingError {
    /// The same error for every request of a failed batch.
    pub fn replicate(&self) -> Self {
        match self {
            BookingError::Database(error) => BookingError::Database(error.replicate()),
            BookingError::WorkerStopped => BookingError::WorkerStopped,
            BookingError::NotAttempted => BookingError::NotAttempted,
            BookingError::TooBusy { estimated, budget } => BookingError::TooBusy {
                estimated: *estimated,
                budget: *budget,
            },
        }
    }
}

/// The `outcome` label (`flashbook_booking_outcomes_total`) of a booking
/// attempt's result.
pub fn outcome_label(result: &Result<Outcome<Booking>, BookingError>) -> &'static str {
    match result {
        Ok(Ok(_)) => "booked",
        Ok(Err(refusal)) => refusal.code(),
        Err(BookingError::Database(DbError::Unavailable(_))) => "database_unavailable",
        Err(BookingError::Database(_)) => "internal_error",
        Err(BookingError::WorkerStopped) => "booking_interrupted",
        Err(BookingError::NotAttempted) => "booking_not_attempted",
        Err(BookingError::TooBusy { .. }) => "too_busy",
    }
}

impl Booker {
    /// `batch_max` of 1 books every request in its own transaction.
    /// `metrics` counts the seats each path commits (`flashbook_seats_booked`).
    /// `queue_budget`: the longest a batched request may be expected to wait
    /// in its event's queue before it is refused `too_busy` instead.
    pub fn new(
        pool: Pool,
        batch_max: usize,
        metrics: BookingMetrics,
        queue_budget: std::time::Duration,
    ) -> Self {
        if batch_max > 1 {
            Booker::Batched(Arc::new(Batcher::new(
                pool,
                batch_max,
                metrics,
                queue_budget,
            )))
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
