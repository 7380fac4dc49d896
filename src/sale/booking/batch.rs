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
//! Every kind of seat request joins the batch: bookings and holds, with an
//! admission pass or not, with an `Idempotency-Key` or not, decided in
//! arrival order by one call of the seat functions (`db::seats::take`). A
//! batch with keyed requests runs in one explicit transaction that claims
//! their keys first (a replay or a reused key is answered without taking
//! seats), takes the seats, and stores each new keyed answer, as its client
//! is told it, before the one commit. A batch that fails in the database is
//! tried again one request at a time, so a request that cannot be booked
//! fails alone and its neighbours are still decided.
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

use super::{BatchAnswer, BatchRequest, BookingError, Caller};
use crate::db::pipelined::PipelinedTransaction;
use crate::db::seats::{self, Made};
use crate::db::{self, DbError, Pool};
use crate::idempotency::{self, Claim, IdempotencyError, KeyedRequest, StoredResponse};
use crate::metrics::BookingMetrics;
use crate::sale::{SaleError, Success, Wording};

type Answered = Result<BatchAnswer, SaleError>;
type Reply = oneshot::Sender<Answered>;
type Queues = HashMap<i64, VecDeque<Queued>>;

/// A queued request, who asked, and where its answer goes.
struct Queued {
    request: BatchRequest,
    caller: Caller,
    reply: Reply,
}

pub struct Batcher {
    pool: Pool,
    batch_max: usize,
    metrics: BookingMetrics,
    /// Words a keyed request's answer for storing.
    wording: Arc<dyn Wording>,
    idempotency_ttl: Duration,
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
        wording: Arc<dyn Wording>,
        idempotency_ttl: Duration,
    ) -> Self {
        Self {
            pool,
            batch_max,
            metrics,
            wording,
            idempotency_ttl,
            queues: Mutex::new(HashMap::new()),
            pace: Pace::default(),
            queue_budget,
        }
    }

    /// Decides `request` for event `event_id` in the event's next batch. The
    /// answer comes once that batch committed (or failed); a request whose
    /// `caller` is gone before its batch starts is answered
    /// [`BookingError::CallerGone`], untried.
    pub async fn decide(
        self: &Arc<Self>,
        event_id: i64,
        request: BatchRequest,
        caller: Caller,
    ) -> Answered {
        #[cfg(feature = "test-hooks")]
        let request = test_hooks::break_if_asked(request);
        let (reply, answer) = oneshot::channel();
        let start_worker = {
            let mut queues = self.queues();
            let is_new = !queues.contains_key(&event_id);
            if let (false, Some(batch_time)) = (is_new, self.pace.batch_time()) {
                let position = queues.get(&event_id).map_or(0, VecDeque::len) + 1;
                let batches = position.div_ceil(self.batch_max) + 1;
                let estimated =
                    batch_time.saturating_mul(u32::try_from(batches).unwrap_or(u32::MAX));
                if estimated > self.queue_budget {
                    return Err(BookingError::TooBusy {
                        estimated,
                        budget: self.queue_budget,
                    }
                    .into());
                }
            }
            queues.entry(event_id).or_default().push_back(Queued {
                request,
                caller,
                reply,
            });
            is_new
        };
        if start_worker {
            let worker = Worker {
                batcher: Arc::clone(self),
                event_id,
                in_flight: Vec::new(),
                finished: false,
            };
            tokio::spawn(worker.drain());
        }
        // The worker's guard answers every request it takes, so a closed
        // channel can only mean the runtime is shutting down.
        answer
            .await
            .unwrap_or(Err(BookingError::WorkerStopped.into()))
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
    /// Decides the event's queued requests batch after batch until the queue
    /// is empty, then removes the queue so the next request starts a new
    /// worker.
    async fn drain(mut self) {
        while let Some(requests) = self.take_batch() {
            log::debug!(
                "deciding a batch of {} for event {}",
                requests.len(),
                self.event_id
            );
            let started = Instant::now();
            let outcome = self.decide_batch(&requests).await;
            let answers = match outcome {
                Ok(answers) => {
                    // Committed. Each request's task counts its own outcome
                    // and seats (`crate::sale`): it is never dropped before
                    // this answer reaches it.
                    self.batcher.metrics.batch(requests.len(), started);
                    self.batcher.pace.observe(started.elapsed());
                    answers
                }
                Err(error) if requests.len() > 1 && !is_unavailable(&error) => {
                    log::warn!(
                        "batch of {} for event {} failed, none decided ({error}); \
                         deciding each request alone",
                        requests.len(),
                        self.event_id
                    );
                    let mut answers = Vec::with_capacity(requests.len());
                    for request in &requests {
                        let alone = self.decide_batch(std::slice::from_ref(request)).await;
                        answers.push(
                            alone.map_or_else(|error| Err(error.into()), |mut one| one.remove(0)),
                        );
                    }
                    answers
                }
                Err(error) => {
                    log::warn!(
                        "batch of {} for event {} failed, none decided: {error}",
                        requests.len(),
                        self.event_id
                    );
                    requests
                        .iter()
                        .map(|_| Err(error.replicate().into()))
                        .collect()
                }
            };
            let replies = std::mem::take(&mut self.in_flight);
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A client that went away no longer needs its answer.
                let _ = reply.send(answer);
            }
        }
    }

    /// Moves the next batch's replies into `in_flight` and returns its
    /// requests; `None` (and the entry removed) when nothing is left.
    fn take_batch(&mut self) -> Option<Vec<BatchRequest>> {
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
            let _ = queued.reply.send(Err(BookingError::CallerGone.into()));
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

    /// Decides `requests` in one transaction: one answer per request, in
    /// order, or the error that committed none of them.
    async fn decide_batch(&self, requests: &[BatchRequest]) -> Result<Vec<Answered>, BookingError> {
        #[cfg(feature = "test-hooks")]
        test_hooks::panic_if_asked(requests);
        let asks: Vec<&seats::SeatAsk> = requests.iter().map(|request| &request.ask).collect();
        let client = db::client(&self.batcher.pool).await?;
        if requests.iter().all(|request| request.key.is_none()) {
            // One statement, its own transaction: the flash sale's batch.
            let made = seats::take(&client, self.event_id, &asks).await?;
            return Ok(made
                .into_iter()
                .map(|made| Ok(BatchAnswer::Decided(made)))
                .collect());
        }
        let transaction = PipelinedTransaction::new(client);
        let decided = self.decide_keyed(&transaction, requests, &asks).await;
        if decided.is_err() {
            // At once, not when the connection is next used: the keys' locks
            // must be free before these requests are tried again.
            let _ = transaction.rollback().await;
        }
        decided
    }

    /// The keyed batch's transaction: claim the keys (sent with `BEGIN`),
    /// take the seats of every request not answered by its key, store the
    /// keyed answers (sent with `COMMIT`).
    async fn decide_keyed(
        &self,
        transaction: &PipelinedTransaction,
        requests: &[BatchRequest],
        asks: &[&seats::SeatAsk],
    ) -> Result<Vec<Answered>, BookingError> {
        let keyed: Vec<(usize, KeyedRequest<'_>)> = requests
            .iter()
            .enumerate()
            .filter_map(|(index, request)| {
                let (key, fingerprint) = request.key.as_ref()?;
                let keyed = KeyedRequest {
                    owner: request.ask.user_id,
                    key,
                    fingerprint,
                };
                Some((index, keyed))
            })
            .collect();
        let keys: Vec<KeyedRequest<'_>> = keyed.iter().map(|(_, keyed)| *keyed).collect();
        let claim =
            idempotency::claim_all(transaction.client(), &keys, self.batcher.idempotency_ttl);
        let claims = transaction.begin_with(claim).await?;
        let mut answers: Vec<Option<Answered>> = requests.iter().map(|_| None).collect();
        let mut claimed = HashMap::new();
        for ((index, keyed), claim) in keyed.into_iter().zip(claims) {
            let refused = |error| Some(Err(SaleError::Idempotency(error)));
            answers[index] = match claim {
                Claim::Claimed => {
                    claimed.insert(index, keyed);
                    None
                }
                Claim::InProgress => refused(IdempotencyError::InProgress),
                Claim::Reused => refused(IdempotencyError::KeyReused),
                Claim::Replay(stored) => Some(Ok(BatchAnswer::Stored { stored, made: None })),
            };
        }
        let to_take: Vec<usize> = (0..requests.len())
            .filter(|&index| answers[index].is_none())
            .collect();
        let asks: Vec<&seats::SeatAsk> = to_take.iter().map(|&index| asks[index]).collect();
        let made = match asks.is_empty() {
            true => Vec::new(),
            false => seats::take(transaction.client(), self.event_id, &asks).await?,
        };
        let mut stored_keys = Vec::new();
        for (index, made) in to_take.into_iter().zip(made) {
            let answer = match claimed.remove(&index) {
                None => BatchAnswer::Decided(made),
                Some(keyed) => {
                    let stored = self.word(&made)?;
                    #[cfg(feature = "test-hooks")]
                    let stored = test_hooks::spoil_if_asked(keyed.key, stored);
                    stored_keys.push((index, keyed));
                    BatchAnswer::Stored {
                        stored,
                        made: Some(made),
                    }
                }
            };
            answers[index] = Some(Ok(answer));
        }
        // Everything that can fail is done before the commit: a batch that
        // failed after it would be decided again, one request at a time.
        let answers = answers
            .into_iter()
            .map(|answer| {
                answer.ok_or_else(|| {
                    DbError::unexpected("a batched request was left without an answer").into()
                })
            })
            .collect::<Result<Vec<Answered>, BookingError>>()?;
        let to_store = stored_keys
            .into_iter()
            .map(|(index, keyed)| match &answers[index] {
                Ok(BatchAnswer::Stored { stored, .. }) => Ok((keyed, stored)),
                _ => Err(DbError::unexpected(
                    "a keyed answer to store was not worded",
                )),
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        idempotency::store_and_commit(transaction, &to_store).await?;
        Ok(answers)
    }

    /// A keyed request's answer as its client is told it, to store.
    fn word(&self, made: &Made) -> Result<StoredResponse, BookingError> {
        let wording = &*self.batcher.wording;
        let worded = match made {
            Made::Booking(outcome) => crate::sale::word(wording, Success::Made, outcome),
            Made::Hold(outcome) => crate::sale::word(wording, Success::Made, outcome),
        };
        worded.map_err(|error| {
            DbError::unexpected(format!("cannot write the answer to store as JSON: {error}")).into()
        })
    }
}

/// A failure of the database as a whole, which trying each request of the
/// batch alone would only repeat.
fn is_unavailable(error: &BookingError) -> bool {
    matches!(error, BookingError::Database(DbError::Unavailable(_)))
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
            let _ = reply.send(Err(BookingError::WorkerStopped.into()));
        }
        for queued in waiting {
            let _ = queued.reply.send(Err(BookingError::NotAttempted.into()));
        }
    }
}

/// Ways for the integration tests to make a batch fail from inside the
/// worker, compiled only with the `test-hooks` feature (which the tests
/// enable for themselves; release builds never have it).
#[cfg(feature = "test-hooks")]
pub mod test_hooks {
    use crate::idempotency::{IdempotencyKey, StoredResponse};
    use crate::sale::booking::BatchRequest;

    /// A batch holding this user id panics before it reaches the database.
    pub const PANICKING_USER_ID: i64 = i64::MAX - 7;
    /// A request of this user id reaches the database asking for 0 seats,
    /// which the seat functions refuse with an error: the whole statement,
    /// and the batch's transaction with it, fails.
    pub const BREAKING_USER_ID: i64 = i64::MAX - 8;

    /// A keyed request with this key gets an answer PostgreSQL refuses to
    /// store (a NUL character in its text): the statement storing its
    /// batch's answers fails after the batch's seats were taken, and the
    /// `COMMIT` sent with it answers `ROLLBACK`.
    pub const UNSTORABLE_KEY: &str = "test-hook-unstorable";

    pub(super) fn spoil_if_asked(
        key: &IdempotencyKey,
        mut stored: StoredResponse,
    ) -> StoredResponse {
        if key.as_str() == UNSTORABLE_KEY {
            stored.body.push('\0');
        }
        stored
    }

    pub(super) fn panic_if_asked(requests: &[BatchRequest]) {
        if requests
            .iter()
            .any(|request| request.ask.user_id == PANICKING_USER_ID)
        {
            panic!("test hook: a booking batch fails inside the worker");
        }
    }

    pub(super) fn break_if_asked(mut request: BatchRequest) -> BatchRequest {
        if request.ask.user_id == BREAKING_USER_ID {
            request.ask.quantity = 0;
        }
        request
    }
}
