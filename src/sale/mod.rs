//! The sale: every way seats change hands goes through one object,
//! [`Sales`]. It knows no HTTP; the handlers (`crate::http`) turn a request into
//! one call and its answer back into a response.
//!
//! **One choice.** [`Sales::book`] and [`Sales::hold`] refuse a plain
//! request for a sold-out event from the sold-out memory
//! (`crate::sold_out`) at once; every other one reaches the database one way,
//! chosen in one place (`take_now`): with batching on, in the event's batch
//! (`booking`) whatever its pass and key; with it off, in a transaction of
//! its own (its key's, when it has one).
//!
//! **Counted once, where it committed.** Each call that reaches the
//! database runs in a task of its own and counts what it did there, after
//! the commit: the outcome, the seats booked or cancelled, the holds and
//! offers made or ended (`crate::metrics`). The request's future can be dropped at any await
//! (`bound_request_time` drops it at the request timeout, a client can
//! disconnect); a spawned task is not, so a seat booked is a seat counted.
//! The caller's being gone still matters in one place: a batched request
//! still queued when its caller left is not booked ([`Caller`]).
//!
//! What a call changed beyond its answer (the offers `make_offers()` made,
//! whether a release or cancellation changed anything) is read back in its
//! own transaction (`db::changes`), so calls that free seats run in an
//! explicit transaction; the hot calls (a booking, a hold) stay one
//! statement each (a keyed batch: one transaction), their answer saying all
//! there is to count.
//!
//! Background work (batch workers, the sweeper, the sold-out listener, the
//! waiting-room refresh) starts in one place: [`Workers::start`].

pub mod booking;
pub mod workers;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Object;
use serde::Serialize;

use crate::db::changes::{self, Changes, Held};
use crate::db::pipelined::PipelinedTransaction;
use crate::db::seats::{Kind, Made, SeatAsk};
use crate::db::{self, DbError, Pool};
use crate::domain::{
    Booking, BookingRefusal, Event, EventChanges, Hold, NewWaitlistEntry, Outcome, SeatRequest,
    WaitlistEntry,
};
use crate::idempotency::{self, IdempotencyError, IdempotencyKey, StoredResponse};
use crate::live::LiveHub;
use crate::metrics::{HoldChange, Metrics};
use crate::sold_out::SoldOut;
use booking::{BatchAnswer, BatchRequest, Batcher, BookingError, Caller};

pub use workers::Workers;

/// What a sale call answers.
#[derive(Debug)]
pub enum Answer<T> {
    /// Decided now, for a request without an `Idempotency-Key`: what was
    /// made or changed, or why not.
    Decided(Success, Outcome<T>),
    /// The answer stored with the request's `Idempotency-Key`: new, or a
    /// replay of the first request's (`replayed`).
    Stored(StoredResponse),
}

/// What a call that succeeded did: made something new (a booking, a hold,
/// a waiting-list entry) or changed something that was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    Made,
    Changed,
}

/// How a keyed request's answer is written down to be replayed: as its
/// client is told it. The HTTP edge words it (`http::idempotent`); the sale
/// stores what it is given and knows nothing of statuses or problem+json.
pub trait Wording: Send + Sync {
    /// The answer of a success; `body` is what it made or changed, as JSON.
    fn success(&self, success: Success, body: String) -> StoredResponse;
    /// The answer of a refusal, a final answer too.
    fn refusal(&self, refusal: BookingRefusal) -> Result<StoredResponse, serde_json::Error>;
}

/// Why a sale call has no answer to give (nothing was committed, or, for
/// `BookingError::WorkerStopped`, it is unknown whether it was).
#[derive(Debug, thiserror::Error)]
pub enum SaleError {
    #[error(transparent)]
    Booking(#[from] BookingError),
    /// The `Idempotency-Key` refused the request (in progress, reused).
    #[error(transparent)]
    Idempotency(IdempotencyError),
    /// The answer to store could not be written as JSON (a bug).
    #[error("cannot write the answer to store as JSON")]
    Answer(#[source] serde_json::Error),
}

impl From<IdempotencyError> for SaleError {
    fn from(error: IdempotencyError) -> Self {
        match error {
            IdempotencyError::Database(error) => error.into(),
            refusal => SaleError::Idempotency(refusal),
        }
    }
}

impl From<DbError> for SaleError {
    fn from(error: DbError) -> Self {
        SaleError::Booking(BookingError::Database(error))
    }
}

/// The one way seats are booked, held, confirmed, released, cancelled and
/// waited for. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Sales(Arc<Inner>);

struct Inner {
    pool: Pool,
    /// `None`: every booking in a transaction of its own.
    batcher: Option<Arc<Batcher>>,
    sold_out: Arc<SoldOut>,
    metrics: Arc<Metrics>,
    live: Arc<LiveHub>,
    wording: Arc<dyn Wording>,
    idempotency_ttl: Duration,
}

/// Settings of [`Sales::new`].
pub struct SalesSettings {
    /// Requests per batch transaction; 1 books each in its own.
    pub batch_max: usize,
    /// The longest a batched request may be expected to queue before it is
    /// refused `too_busy` instead.
    pub queue_budget: Duration,
    pub idempotency_ttl: Duration,
}

impl Sales {
    pub fn new(
        pool: Pool,
        sold_out: Arc<SoldOut>,
        metrics: Arc<Metrics>,
        live: Arc<LiveHub>,
        wording: Arc<dyn Wording>,
        settings: SalesSettings,
    ) -> Self {
        let batcher = (settings.batch_max > 1).then(|| {
            Arc::new(Batcher::new(
                pool.clone(),
                settings.batch_max,
                metrics.bookings.clone(),
                settings.queue_budget,
                Arc::clone(&wording),
                settings.idempotency_ttl,
            ))
        });
        Self(Arc::new(Inner {
            pool,
            batcher,
            sold_out,
            metrics,
            live,
            wording,
            idempotency_ttl: settings.idempotency_ttl,
        }))
    }

    /// Books `request`'s seats, all or none. `pass`: the admission pass's
    /// ticket, for an event with a waiting room (checked by the caller).
    pub async fn book(
        &self,
        request: SeatRequest,
        pass: Option<String>,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<Booking>, SaleError> {
        // A plain booking for a sold-out event is answered from memory here:
        // nothing of it can outlive its caller, so it needs no task of its
        // own (a spawn was 3 % of the sold-out answer's CPU).
        if pass.is_none() && key.is_none() && self.0.sold_out.is_sold_out(request.event_id) {
            let refused = Err(BookingRefusal::SoldOut);
            self.count_booking(request.event_id, Counted::decided(&refused));
            return Ok(Answer::Decided(Success::Made, refused));
        }
        let (caller, _waiting) = Caller::new();
        self.in_own_task(move |sales| async move {
            let (answer, counted) = sales.book_now(request, pass, key, caller).await;
            sales.count_booking(request.event_id, counted);
            answer
        })
        .await
    }

    /// What a booking request counts, beside its answer.
    async fn book_now(
        &self,
        request: SeatRequest,
        pass: Option<String>,
        key: Option<IdempotencyKey>,
        caller: Caller,
    ) -> (Result<Answer<Booking>, SaleError>, Counted) {
        let (answer, decided) = self
            .take_now(
                Kind::Booking,
                request,
                pass,
                key,
                caller,
                Made::into_booking,
            )
            .await;
        let counted = Counted::of(&answer, decided.as_ref());
        (answer, counted)
    }

    /// The one choice of path for a booking or a hold: the event's batch for
    /// every request when batching is on, else a transaction of its own (the
    /// key's, when it has one). Returns the answer and, when this request
    /// decided it now, its outcome (`None`: a replay, or no decision).
    async fn take_now<T: Serialize + Clone>(
        &self,
        kind: Kind,
        request: SeatRequest,
        pass: Option<String>,
        key: Option<IdempotencyKey>,
        caller: Caller,
        made_into: fn(Made) -> Result<Outcome<T>, DbError>,
    ) -> (Result<Answer<T>, SaleError>, Option<Outcome<T>>) {
        let Inner {
            pool,
            batcher,
            sold_out,
            ..
        } = &*self.0;
        let event_id = request.event_id;
        let Some(key) = key else {
            // Decided now; a sold-out answer is remembered.
            let ticket = sold_out.ticket();
            let decided = async {
                let made = match batcher {
                    Some(batcher) => {
                        let ask = SeatAsk::new(request, kind, pass);
                        let request = BatchRequest { ask, key: None };
                        match batcher.decide(event_id, request, caller).await? {
                            BatchAnswer::Decided(made) => made,
                            BatchAnswer::Stored { .. } => {
                                return Err(SaleError::from(DbError::unexpected(
                                    "a request without a key was answered with a stored answer",
                                )))
                            }
                        }
                    }
                    None => {
                        let client = db::client(pool).await?;
                        db::seats::take_one(&client, request, kind, pass).await?
                    }
                };
                Ok(made_into(made)?)
            };
            return match sold_out.learn(event_id, ticket, decided).await {
                Ok(outcome) => (
                    Ok(Answer::Decided(Success::Made, outcome.clone())),
                    Some(outcome),
                ),
                Err(error) => (Err(error), None),
            };
        };
        // Only a keyed request needs its fingerprint.
        let route = match kind {
            Kind::Booking => "POST /bookings",
            Kind::Hold => "POST /holds",
        };
        let fingerprint = seat_fingerprint(route, request, pass.as_deref());
        let Some(batcher) = batcher else {
            let user_id = request.user_id;
            return self
                .keyed(user_id, &key, &fingerprint, Success::Made, async |tx| {
                    let made = db::seats::take_one(tx, request, kind, pass).await?;
                    let outcome = made_into(made)?;
                    Ok((outcome.clone(), outcome))
                })
                .await;
        };
        let answered = async {
            let ask = SeatAsk::new(request, kind, pass);
            let request = BatchRequest {
                ask,
                key: Some((key, fingerprint)),
            };
            match batcher.decide(event_id, request, caller).await? {
                BatchAnswer::Stored { stored, made } => {
                    Ok((Answer::Stored(stored), made.map(made_into).transpose()?))
                }
                BatchAnswer::Decided(_) => Err(SaleError::from(DbError::unexpected(
                    "a keyed request was answered without its stored answer",
                ))),
            }
        };
        match answered.await {
            Ok((answer, decided)) => (Ok(answer), decided),
            Err(error) => (Err(error), None),
        }
    }

    /// Counts one answered booking request: its outcome and seats, or its
    /// replay; a refusal also feeds the event's live view.
    fn count_booking(&self, event_id: i64, counted: Counted) {
        let bookings = &self.0.metrics.bookings;
        let Counted::Outcome { outcome, seats } = counted else {
            bookings.replayed();
            return;
        };
        bookings.outcome(outcome);
        bookings.seats_booked(seats);
        if matches!(
            outcome,
            "sold_out" | "not_enough_seats" | "limit_exceeded" | "already_booked"
        ) {
            self.0.live.record_refusal(event_id);
        }
    }

    /// Holds `request`'s seats for the event's `hold_seconds`, with the same
    /// refusals (the sold-out memory's included) as [`book`](Self::book).
    pub async fn hold(
        &self,
        request: SeatRequest,
        pass: Option<String>,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<Hold>, SaleError> {
        if pass.is_none() && key.is_none() && self.0.sold_out.is_sold_out(request.event_id) {
            return Ok(Answer::Decided(Success::Made, Err(BookingRefusal::SoldOut)));
        }
        let (caller, _waiting) = Caller::new();
        self.in_own_task(move |sales| async move {
            let (answer, decided) = sales
                .take_now(Kind::Hold, request, pass, key, caller, Made::into_hold)
                .await;
            if let Some(Ok(hold)) = decided {
                let held = Held {
                    holds: 1,
                    seats: seats(hold.quantity),
                };
                sales.0.metrics.sale.holds(false, HoldChange::Created, held);
            }
            answer
        })
        .await
    }

    /// Turns buyer `user_id`'s hold `id`'s seats into a booking.
    pub async fn confirm(
        &self,
        id: i64,
        user_id: i64,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<Booking>, SaleError> {
        let fingerprint = format!("POST /holds/{id}/confirm user_id={user_id}");
        self.in_own_task(move |sales| async move {
            sales
                .changing(user_id, key, &fingerprint, Success::Made, async move |tx| {
                    let outcome = db::holds::confirm(tx, id, user_id).await?;
                    let changes = match &outcome {
                        Ok(booking) => changes::read(tx, booking.event_id, None, Some(id)).await?,
                        Err(_) => Changes::default(),
                    };
                    Ok((outcome, changes))
                })
                .await
        })
        .await
    }

    /// Gives buyer `user_id`'s hold `id`'s seats back (to the waiting list
    /// first).
    pub async fn release(
        &self,
        id: i64,
        user_id: i64,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<Hold>, SaleError> {
        let fingerprint = format!("DELETE /holds/{id} user_id={user_id}");
        self.in_own_task(move |sales| async move {
            sales
                .changing(
                    user_id,
                    key,
                    &fingerprint,
                    Success::Changed,
                    async move |tx| {
                        let outcome = db::holds::release(tx, id, user_id).await?;
                        let changes = match &outcome {
                            Ok(hold) => changes::read(tx, hold.event_id, None, Some(id)).await?,
                            Err(_) => Changes::default(),
                        };
                        Ok((outcome, changes))
                    },
                )
                .await
        })
        .await
    }

    /// Cancels buyer `user_id`'s booking `id` (its seats to the waiting list
    /// first); cancelling a cancelled booking returns it unchanged.
    pub async fn cancel(
        &self,
        id: i64,
        user_id: i64,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<Booking>, SaleError> {
        let fingerprint = format!("DELETE /bookings/{id} user_id={user_id}");
        self.in_own_task(move |sales| async move {
            sales
                .changing(
                    user_id,
                    key,
                    &fingerprint,
                    Success::Changed,
                    async move |tx| {
                        // Not found is a final answer, stored like a refusal.
                        let booking = match db::bookings::cancel(tx, id, user_id).await {
                            Ok(booking) => booking,
                            Err(DbError::NotFound(resource)) => {
                                return Ok((
                                    Err(BookingRefusal::NotFound(resource)),
                                    Changes::default(),
                                ))
                            }
                            Err(error) => return Err(error),
                        };
                        let changes = changes::read(tx, booking.event_id, Some(id), None).await?;
                        Ok((Ok(booking), changes))
                    },
                )
                .await
        })
        .await
    }

    /// Puts a buyer on the event's waiting list (offered seats at once when
    /// free seats no earlier entry fits are enough).
    pub async fn join_waitlist(
        &self,
        event_id: i64,
        user_id: i64,
        entry: NewWaitlistEntry,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<WaitlistEntry>, SaleError> {
        let fingerprint = format!(
            "POST /events/{event_id}/waitlist user_id={user_id} quantity={}",
            entry.quantity
        );
        self.in_own_task(move |sales| async move {
            sales
                .changing(user_id, key, &fingerprint, Success::Made, async move |tx| {
                    let outcome = db::holds::join_waitlist(tx, event_id, user_id, entry).await?;
                    let changes = match &outcome {
                        Ok(_) => changes::read(tx, event_id, None, None).await?,
                        Err(_) => Changes::default(),
                    };
                    Ok((outcome, changes))
                })
                .await
        })
        .await
    }

    /// Takes entry `id` off the waiting list; an open offer is declined and
    /// its seats go to the next entries.
    pub async fn leave_waitlist(
        &self,
        id: i64,
        user_id: i64,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer<WaitlistEntry>, SaleError> {
        let fingerprint = format!("DELETE /waitlist/{id} user_id={user_id}");
        self.in_own_task(move |sales| async move {
            sales
                .changing(
                    user_id,
                    key,
                    &fingerprint,
                    Success::Changed,
                    async move |tx| {
                        let outcome = db::holds::leave_waitlist(tx, id, user_id).await?;
                        let changes = match &outcome {
                            Ok(entry) => {
                                changes::read(tx, entry.event_id, None, entry.hold_id).await?
                            }
                            Err(_) => Changes::default(),
                        };
                        Ok((outcome, changes))
                    },
                )
                .await
        })
        .await
    }

    /// Changes an event's settings (the admin's); new seats go to the
    /// waiting list first, and the offers made are counted.
    pub async fn change_event(
        &self,
        id: i64,
        changes: EventChanges,
    ) -> Result<Outcome<Event>, SaleError> {
        self.in_own_task(move |sales| async move {
            let mut client = db::client(&sales.0.pool).await?;
            let changed = db::events::update(&mut client, id, &changes).await?;
            Ok(changed.map(|(event, offers)| {
                let sale = &sales.0.metrics.sale;
                sale.holds(true, HoldChange::Created, offers);
                event
            }))
        })
        .await
    }

    /// One round of the sweeper: marks expired holds and offers (their
    /// seats were free already, by the clock) and offers their seats on;
    /// counts what it marked. Returns the holds and offers marked.
    pub async fn expire_holds(&self) -> Result<u64, DbError> {
        let mut client = db::client(&self.0.pool).await?;
        let swept = db::holds::expire_all(&mut client).await?;
        let sale = &self.0.metrics.sale;
        sale.holds(false, HoldChange::Expired, swept.holds);
        sale.holds(true, HoldChange::Expired, swept.offers);
        sale.holds(true, HoldChange::Created, swept.offers_made);
        Ok(swept.holds.holds + swept.offers.holds)
    }

    /// Runs `work` in a task of its own, which the caller's future being
    /// dropped does not stop.
    async fn in_own_task<T, F>(&self, work: impl FnOnce(Sales) -> F) -> Result<T, SaleError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, SaleError>> + Send + 'static,
    {
        tokio::spawn(work(self.clone()))
            .await
            .unwrap_or_else(|_| Err(BookingError::WorkerStopped.into()))
    }

    /// A call of buyer `user_id` that frees or confirms seats, in an
    /// explicit transaction (its key's, or one of its own) that also reads
    /// what it changed; counted once committed.
    async fn changing<T: Serialize>(
        &self,
        user_id: i64,
        key: Option<IdempotencyKey>,
        fingerprint: &str,
        success: Success,
        call: impl AsyncFnOnce(&Object) -> Result<(Outcome<T>, Changes), DbError>,
    ) -> Result<Answer<T>, SaleError> {
        let (answer, changes) = match key {
            Some(key) => self.keyed(user_id, &key, fingerprint, success, call).await,
            None => match self.in_transaction(call).await {
                Ok((outcome, changes)) => (Ok(Answer::Decided(success, outcome)), Some(changes)),
                Err(error) => (Err(error.into()), None),
            },
        };
        if let Some(changes) = changes {
            self.count_changes(&changes);
        }
        answer
    }

    async fn in_transaction<R>(
        &self,
        call: impl AsyncFnOnce(&Object) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let client = db::client(&self.0.pool).await?;
        let transaction = PipelinedTransaction::new(client);
        match transaction.begin_with(call(transaction.client())).await {
            Ok(result) => {
                transaction.commit().await?;
                Ok(result)
            }
            Err(error) => {
                let _ = transaction.rollback().await;
                Err(error)
            }
        }
    }

    /// Counts what a committed call changed.
    fn count_changes(&self, changes: &Changes) {
        let Metrics { bookings, sale, .. } = &*self.0.metrics;
        if changes.cancelled_seats > 0 {
            sale.cancelled(changes.cancelled_seats);
        }
        if let Some(hold) = &changes.hold {
            let change = match hold.status.as_str() {
                "confirmed" => {
                    bookings.seats_booked(hold.seats);
                    HoldChange::Confirmed
                }
                "released" => HoldChange::Released,
                "expired" => HoldChange::Expired,
                _ => HoldChange::Created,
            };
            let held = Held {
                holds: 1,
                seats: hold.seats,
            };
            sale.holds(hold.offer, change, held);
        }
        sale.holds(true, HoldChange::Created, changes.offers_made);
    }

    /// Runs `call` once per key of buyer `user_id` (`crate::idempotency`):
    /// in the key's transaction, which stores its answer as the edge words
    /// it; a repeat replays it. Returns the stored answer and, when this
    /// request committed it, what `call` reported to count.
    async fn keyed<T: Serialize, C>(
        &self,
        user_id: i64,
        key: &IdempotencyKey,
        fingerprint: &str,
        success: Success,
        call: impl AsyncFnOnce(&Object) -> Result<(Outcome<T>, C), DbError>,
    ) -> (Result<Answer<T>, SaleError>, Option<C>) {
        let Inner {
            pool,
            wording,
            idempotency_ttl,
            ..
        } = &*self.0;
        let mut counted = None;
        let stored = idempotency::run_once(pool, user_id, key, fingerprint, *idempotency_ttl, {
            async |transaction| {
                let (outcome, count) = call(transaction).await?;
                let answer = word(&**wording, success, &outcome).map_err(SaleError::Answer)?;
                counted = Some(count);
                Ok::<_, SaleError>(answer)
            }
        })
        .await;
        match stored {
            Ok(stored) if stored.replayed => (Ok(Answer::Stored(stored)), None),
            Ok(stored) => (Ok(Answer::Stored(stored)), counted),
            // Nothing committed, whatever the call decided.
            Err(error) => (Err(error), None),
        }
    }
}

/// What one booking request counts.
#[derive(Debug, Clone, Copy)]
enum Counted {
    /// Its outcome label (`flashbook_booking_outcomes_total`) and the seats
    /// it booked (committed).
    Outcome { outcome: &'static str, seats: u64 },
    /// A stored answer given again: nothing new happened.
    Replayed,
}

impl Counted {
    /// A request's count: what it decided now (`decided`), else a replay of
    /// a stored answer, or the label of the error that decided nothing.
    fn of(answer: &Result<Answer<Booking>, SaleError>, decided: Option<&Outcome<Booking>>) -> Self {
        match (answer, decided) {
            (_, Some(outcome)) => Self::decided(outcome),
            (Ok(_), None) => Counted::Replayed,
            (Err(error), None) => Counted::Outcome {
                outcome: error.label(),
                seats: 0,
            },
        }
    }

    fn decided(outcome: &Outcome<Booking>) -> Self {
        match outcome {
            Ok(booking) => Counted::Outcome {
                outcome: "booked",
                seats: seats(booking.quantity),
            },
            Err(refusal) => Counted::Outcome {
                outcome: refusal.code(),
                seats: 0,
            },
        }
    }
}

impl SaleError {
    /// The outcome label of a request that committed nothing.
    fn label(&self) -> &'static str {
        match self {
            SaleError::Booking(error) => error.label(),
            SaleError::Idempotency(IdempotencyError::InProgress) => "request_in_progress",
            SaleError::Idempotency(IdempotencyError::KeyReused) => "idempotency_key_reused",
            SaleError::Idempotency(IdempotencyError::Database(_)) | SaleError::Answer(_) => {
                "internal_error"
            }
        }
    }
}

/// An answer as its client is told it, to store with its key.
pub fn word<T: Serialize>(
    wording: &dyn Wording,
    success: Success,
    outcome: &Outcome<T>,
) -> Result<StoredResponse, serde_json::Error> {
    match outcome {
        Ok(value) => Ok(wording.success(success, serde_json::to_string(value)?)),
        Err(refusal) => wording.refusal(*refusal),
    }
}

/// The fingerprint of a keyed booking or hold (`route`). A booking of one
/// seat without a pass keeps the one it had before quantities existed, so
/// keys stored then still replay.
fn seat_fingerprint(route: &str, request: SeatRequest, pass: Option<&str>) -> String {
    let SeatRequest {
        event_id,
        user_id,
        quantity,
    } = request;
    let named = format!("{route} event_id={event_id} user_id={user_id}");
    match (route, quantity, pass) {
        ("POST /bookings", 1, None) => named,
        (_, _, None) => format!("{named} quantity={quantity}"),
        (_, _, Some(ticket)) => format!("{named} quantity={quantity} ticket={ticket}"),
    }
}

/// A seat count from a quantity, which the schema keeps positive.
fn seats(quantity: i32) -> u64 {
    u64::try_from(quantity).unwrap_or(0)
}
