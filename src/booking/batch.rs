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
//!
//! No request waits in vain: a request that joins a queue whose worker is
//! busy is expected to wait `(ceil(position / batch_max) + 1) × batch time`
//! — the batch in flight, then one batch per `batch_max` requests ahead of it
//! and its own; that is its position divided by the measured rate of a busy
//! batcher (`batch_max` requests per batch time). The batch time is measured:
//! an exponentially weighted moving average ([`Pace`]) of every committed
//! batch's duration on this replica, connection checkout included. When the
//! estimate is over the queue budget (`FLASHBOOK_QUEUE_WAIT_FRACTION` of the
//! request timeout) the request is answered `503 too_busy` with
//! `Retry-After` at once and never queued, instead of timing out later.
//! Never refused: a request with no measurement yet, and a request that
//! finds no worker running (it starts one, so the measurement can never get
//! stuck on an old slow figure).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{BookingError, Caller};
use crate::db::{self, Pool};
use crate::domain::{Booking, Outcome, SeatRequest};
use crate::metrics::BookingMetrics;

type Reply = oneshot::Sender<Result<Outcome<Booking>, BookingError>>;
/// A queued request: (user id, quantity), who asked, and where its answer goes.
type Queues = HashMap<i64, VecDeque<Queued>>;

struct Queued {
    request: (i64, i32),
    caller: Caller,
    reply: Reply,
}

pub struct Batcher {
    pool: Pool,
    batch_max: usize,
    metrics: BookingMetrics,
    /// Each event's waiting requests. The lock is held only
    /// to push, take a batch or remove an entry: never across an await.
    queues: Mutex<Queues>,
    /// The measured time of one batch.
    pace: Pace,
    /// Longest expected queue wait a request is queued for.
    queue_budget: Duration,
}

/// An exponentially weighted moving average of batch durations, in
/// nanoseconds; 0 until the first batch commits. Workers of different events
/// may update it at once; a lost update only loses one sample.
#[derive(Default)]
struct Pace(AtomicU64);

impl Pace {
    /// Weight of the newest batch: the average follows a change of speed
    /// within a few batches.
    const WEIGHT: f64 = 0.25;

    fn observe(&self, duration: Duration) {
        let sample = duration.as_nanos().min(u64::MAX as u128) as f64;
        let mean = match self.0.load(Ordering::Relaxed) {
            0 => sample,
            mean => mean as f64 + Self::WEIGHT * (sample - mean as f64),
        };
        self.0.store((mean as u64).max(1), Ordering::Relaxed);
    }

    fn batch_time(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

impl Batcher {
    pub fn new(
        pool: Pool,
        batch_max: usize,
        metrics: BookingMetrics,
        queue_budget: Duration,
    ) -> Self {
        Self {
            pool,
            batch_max,
            metrics,
            queues: Mutex::new(HashMap::new()),
            pace: Pace::default(),
            queue_budget,
        }
    }

    /// Books `request` in its event's next batch. The answer comes once that
    /// batch committed (or failed); a request whose `caller` is gone before
    /// its batch starts is answered [`BookingError::CallerGone`], unbooked.
    pub async fn book(
        self: &Arc<Self>,
        request: SeatRequest,
        caller: Caller,
    ) -> Result<Outcome<Booking>, BookingError> {
        let (reply, answer) = oneshot::channel();
        let start_worker = {
            let mut queues = self.queues();
            let is_new = !queues.contains_key(&request.event_id);
            if let (false, Some(batch_time)) = (is_new, self.pace.batch_time()) {
                let position = queues.get(&request.event_id).map_or(0, VecDeque::len) + 1;
                let batches = position.div_ceil(self.batch_max) + 1;
                let estimated =
                    batch_time.saturating_mul(u32::try_from(batches).unwrap_or(u32::MAX));
                if estimated > self.queue_budget {
                    return Err(BookingError::TooBusy {
                        estimated,
                        budget: self.queue_budget,
                    });
                }
            }
            queues
                .entry(request.event_id)
                .or_default()
                .push_back(Queued {
                    request: (request.user_id, request.quantity),
                    caller,
                    reply,
                });
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
                    // Committed. Each request's task counts its own outcome
                    // and seats (`crate::sale`): it is never dropped before
                    // this answer reaches it.
                    self.batcher.metrics.batch(requests.len(), started);
                    self.batcher.pace.observe(started.elapsed());
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
        // A request whose caller is gone (disconnected, or answered
        // 503 request_timeout) while it queued is not booked: nobody
        // would learn of the seat.
        let (waiting, gone): (VecDeque<Queued>, VecDeque<Queued>) = std::mem::take(queue)
            .into_iter()
            .partition(|queued| !queued.caller.is_gone());
        *queue = waiting;
        for queued in gone {
            let _ = queued.reply.send(Err(BookingError::CallerGone));
        }
        if queue.is_empty() {
            queues.remove(&self.event_id);
            self.finished = true;
            return None;
        }
        let take = queue.len().min(self.batcher.batch_max);
        let (requests, replies) = queue
            .drain(..take)
            .map(|queued| (queued.request, queued.reply))
            .unzip();
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
        for queued in waiting {
            let _ = queued.reply.send(Err(BookingError::NotAttempted));
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
