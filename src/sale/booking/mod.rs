//! Batched seat requests (see `batch.rs`): bookings and holds for the same
//! event that queue up while its previous batch holds the lock are decided
//! together. Which requests take this way is `crate::sale`'s choice; the
//! seat-taking SQL is `crate::db::seats`, the keys' `crate::idempotency`.

mod batch;

use std::convert::Infallible;

use tokio::sync::oneshot;

use crate::db::seats::{Made, SeatAsk};
use crate::db::DbError;
use crate::idempotency::{IdempotencyKey, StoredResponse};

#[cfg(feature = "test-hooks")]
pub use batch::test_hooks;
pub use batch::Batcher;

/// One request of an event's batch: the seats it asks for, and its
/// `Idempotency-Key` with the fingerprint of the request it names.
#[derive(Debug)]
pub struct BatchRequest {
    pub ask: SeatAsk,
    pub key: Option<(IdempotencyKey, String)>,
}

/// A batched request's answer.
#[derive(Debug)]
pub enum BatchAnswer {
    /// A request without a key: what its seats became, or why not.
    Decided(Made),
    /// A keyed request's stored answer; `made`: what this request did, when
    /// it committed now (`None`: a replay of the first request's answer).
    Stored {
        stored: StoredResponse,
        made: Option<Made>,
    },
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
    /// The request's caller went away while it queued: not tried, nothing
    /// booked. Nobody hears this answer; it is counted.
    #[error("the caller went away before this request was tried; nothing was booked")]
    CallerGone,
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
            BookingError::CallerGone => BookingError::CallerGone,
            BookingError::TooBusy { estimated, budget } => BookingError::TooBusy {
                estimated: *estimated,
                budget: *budget,
            },
        }
    }
}

impl BookingError {
    /// The `outcome` label (`flashbook_booking_outcomes_total`) of a request
    /// that got this error.
    pub fn label(&self) -> &'static str {
        match self {
            BookingError::Database(DbError::Unavailable(_)) => "database_unavailable",
            BookingError::Database(_) => "internal_error",
            BookingError::WorkerStopped => "booking_interrupted",
            BookingError::NotAttempted => "booking_not_attempted",
            BookingError::CallerGone => "caller_gone",
            BookingError::TooBusy { .. } => "too_busy",
        }
    }
}

/// Whether the request that asked is still waiting for its answer. The
/// request's own future keeps the [`Waiting`] end, so it is dropped with that
/// future: a client that went away, or a request answered `request_timeout`.
/// A request still queued when its caller is gone is not booked (nobody would
/// learn of the seat).
#[derive(Debug)]
pub struct Caller(oneshot::Sender<Infallible>);

/// The request future's end of a [`Caller`]; holds nothing else.
#[derive(Debug)]
pub struct Waiting(
    #[allow(dead_code, reason = "held only to be dropped")] oneshot::Receiver<Infallible>,
);

impl Caller {
    pub fn new() -> (Caller, Waiting) {
        let (caller, waiting) = oneshot::channel();
        (Caller(caller), Waiting(waiting))
    }

    pub fn is_gone(&self) -> bool {
        self.0.is_closed()
    }
}
