//! Batched booking: many requests for one event under one lock and one commit.
//!
//! Each event has a queue. A request joins its event's queue; if no batch of
//! that event is running, it starts a worker at once, so a lone request is
//! never delayed by a window. While a batch holds the event's lock, new
//! requests queue up; when it commits, the next batch takes up to `batch_max`
//! of them in arrival order. Every client is answered only after its batch
//! committed (or failed, in which case nobody in it was booked).
//!
//! "A worker runs for this event" is "the event has a queue entry". The
//! worker owns that entry through [`Worker`], whose `Drop` removes it and
//! answers every request still in it however the worker ends — a normal
//! return, an error, or a panic — so an event can never be left with
//! requests and no worker (which would make every later booking for it wait
//! for its timeout). This is mini-redis's `DbDropGuard` idea.
//!
//! Several replicas each batch their own requests; the event row's lock in
//! the database still serialises their batches.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;

use super::BookingError;
use crate::db::{self, Pool};
use crate::domain::{Booking, Outcome, SeatRequest};
use crate::metrics::BookingMetrics;

type Reply = oneshot::Sender<Result<Outcome<Booking>, BookingError>>;
/// A queued request: (user id, quantity), and where its answer goes.
type Queues = HashMap<i64, VecDeque<((i64, i32), Reply)>>;

pub struct Batcher {
    pool: Pool,
    batch_max: usize,
    metrics: BookingMetrics,
    /// Each event's waiting requests ((user id, quantity), reply). The lock is held only
    /// to push, take a batch or remove an entry: never across an await.
    queues: Mutex<Queues>,
}

impl Batcher {
    pub fn new(pool: Pool, batch_max: usize, metrics: BookingMetrics) -> Self {
        Self {
            pool,
            batch_max,
            metrics,
            queues: Mutex::new(HashMap::new()),
        }
    }

    pub async fn book(
        self: &Arc<Self>,
        request: SeatRequest,
    ) -> Result<Outcome<Booking>, BookingError> {
        let (reply, answer) = oneshot::channel();
        let start_worker = {
            let mut queues = self.queues();
            let is_new = !queues.contains_key(&request.event_id);
            queues
                .entry(request.event_id)
                .or_default()
                .push_back(((request.user_id, request.quantity), reply));
            is_new
        };
        if start_worker {
            let worker = Worker {
                batcher: Arc::clone(self),
                event_id: request.event_id,
                in_flight: Vec::new(),
                finished: false,
            };
            tokio::spawn(worker.drain());
        }
        // The worker's guard answers every request it takes, so a closed
        // channel can only mean the runtime is shutting down.
        answer.await.map_err(|_| BookingError::WorkerStopped)?
    }

    /// The queues, even after a panic elsewhere poisoned the mutex: every
    /// critical section leaves the map consistent, so poisoning carries no
    /// information here and must not spread the panic to every request.
    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The one worker of one event; owns the event's queue entry until dropped.
struct Worker {
    batcher: Arc<Batcher>,
    event_id: i64,
    /// Replies of the batch handed to the database and not yet answered.
    in_flight: Vec<Reply>,
    /// Set when the worker removed its entry itself, with nothing waiting.
    finished: bool,
}

impl Worker {
    /// Books the event's queued requests batch after batch until the queue is
    /// empty, then removes the queue so the next request starts a new worker.
    async fn drain(mut self) {
        while let Some(requests) = self.take_batch() {
            log::debug!(
                "booking a batch of {} for event {}",
                requests.len(),
                self.event_id
            );
            let started = Instant::now();
            let outcome = self.book_batch(&requests).await;
            let replies = std::mem::take(&mut self.in_flight);
            match outcome {
                Ok(outcomes) => {
                    // Committed: count the seats before anyone hears of them.
                    let metrics = &self.batcher.metrics;
                    metrics.batch(requests.len(), started);
                    let seats: i32 = outcomes
                        .iter()
                        .flatten()
                        .map(|booking| booking.quantity)
                        .sum();
                    metrics.seats_booked(seats as u64);
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        // A client that went away no longer needs its answer.
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(error) => {
                    log::warn!(
                        "booking batch of {} for event {} failed, none booked: {error}",
                        requests.len(),
                        self.event_id
                    );
                    for reply in replies {
                        let _ = reply.send(Err(error.replicate()));
                    }
                }
            }
        }
    }

    /// Moves the next batch's replies into `in_flight` and returns its
    /// requests; `None` (and the entry removed) when nothing is left.
    fn take_batch(&mut self) -> Option<Vec<(i64, i32)>> {
        let mut queues = self.batcher.queues();
        let queue = queues.get_mut(&self.event_id)?;
        // A request whose client is gone (disconnected, or answered
        // 503 request_timeout) while it queued is not booked: nobody
        // would learn of the seat.
        queue.retain(|(_, reply)| !reply.is_closed());
        if queue.is_empty() {
            queues.remove(&self.event_id);
            self.finished = true;
            return None;
        }
        let take = queue.len().min(self.batcher.batch_max);
        let (requests, replies) = queue.drain(..take).unzip();
        self.in_flight = replies;
        Some(requests)
    }

    async fn book_batch(
        &self,
        requests: &[(i64, i32)],
    ) -> Result<Vec<Outcome<Booking>>, BookingError> {
        #[cfg(feature = "test-hooks")]
        test_hooks::fail_if_asked(requests);
        let client = db::client(&self.batcher.pool).await?;
        Ok(db::bookings::book_batch(&client, self.event_id, requests).await?)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Only a panic (or the runtime dropping the task) gets here: the
        // entry is still this worker's, since no other worker starts while
        // it exists.
        let waiting = self.batcher.queues().remove(&self.event_id);
        let waiting = waiting.unwrap_or_default();
        log::error!(
            "the booking worker of event {} stopped unexpectedly; answering {} request(s) of its batch \
             (outcome unknown) and {} waiting request(s) (not booked)",
            self.event_id,
            self.in_flight.len(),
            waiting.len()
        );
        for reply in self.in_flight.drain(..) {
            let _ = reply.send(Err(BookingError::WorkerStopped));
        }
        for (_, reply) in waiting {
            let _ = reply.send(Err(BookingError::NotAttempted));
        }
    }
}

/// A way for the integration tests to make a batch fail from inside the
/// worker, compiled only with the `test-hooks` feature (which the tests
/// enable for themselves; release builds never have it).
#[cfg(feature = "test-hooks")]
pub mod test_hooks {
    /// A batch holding this user id panics before it reaches the database.
    pub const PANICKING_USER_ID: i64 = i64::MAX - 7;

    pub(super) fn fail_if_asked(requests: &[(i64, i32)]) {
        if requests
            .iter()
            .any(|&(user_id, _)| user_id == PANICKING_USER_ID)
        {
            panic!("test hook: a booking batch fails inside the worker");
        }
    }
}
