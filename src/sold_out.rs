//! Sold out from memory: each replica remembers which events the database
//! called sold out and refuses their `POST /bookings` and `POST /holds`
//! (those without an `Idempotency-Key`; keyed requests go to the database so
//! their answer is stored) with `409 sold_out` without a database trip.
//!
//! # Why a remembered refusal stays true across replicas
//!
//! Every seat change that can make seats available again — a cancellation,
//! a released hold or offer, leaving the waiting list, a larger capacity,
//! the sweeper's marking of expired holds — runs `make_offers()` in its own
//! transaction, and that publishes the event id on the PostgreSQL channel
//! `seats_freed` (`migrations/functions/make_offers.sql`). Each replica
//! keeps one dedicated connection (not from the pool) that `LISTEN`s there
//! ([`listen`]) and forgets the event as soon as it hears of it.
//!
//! The memory is only ever used to *refuse*; booking itself stays exact under
//! the event's lock in the database, so a stale memory can refuse a buyer it
//! should not have, never sell a seat twice. How stale can a refusal be?
//!
//! - **Seats freed by a transaction** (cancel, release, leave, capacity): the
//!   replica answers from memory until the notification reaches it, which
//!   PostgreSQL sends at commit: the refusal is stale by at most the
//!   notification's delivery time (commit → this replica's listener, a
//!   network round of milliseconds; `tests/api/sold_out.rs` asserts < 2 s).
//! - **Whatever happens**, a remembered sold-out is used for at most
//!   [`MAX_AGE`] (1 s) after the database said so; then one request asks the
//!   database again. This is the bound for seats freed by the clock (a hold
//!   or an offer passing `expires_at` is free at that instant, before
//!   anything is written): stale by at most 1 s, or less when the sweeper's
//!   `expire_holds()` notifies first (every `FLASHBOOK_HOLD_SWEEP_MS`, any
//!   replica's sweeper). It also covers a listening connection that hangs
//!   without breaking and seats changed by hand in SQL. Its cost is one
//!   database answer per sold-out event per second per replica.
//!
//! While the listening connection is down the memory is empty and unused:
//! every request asks the database, as it does without this module. On
//! reconnection (bounded backoff, [`RECONNECT_MAX`]) only answers to requests
//! that started after the new `LISTEN` are remembered.
//!
//! # The race a generation counter closes
//!
//! A request asks the database, the database says sold out, a cancellation
//! commits and its notification is handled, and only then does the request
//! try to remember "sold out": that would keep a refusal no notification
//! will ever clear. So each request takes a [`Ticket`] (the generation)
//! before it asks; a notification for the event, or a lost or new listening
//! connection, moves the event past that generation, and [`SoldOut::remember`]
//! then refuses to store the stale answer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::configuration::DatabaseSettings;
use crate::domain::{BookingRefusal, Outcome};

/// The channel `make_offers()` notifies (payload: the event id).
pub const CHANNEL: &str = "seats_freed";

/// Longest a remembered sold-out is used without asking the database again:
/// the staleness bound for seats freed by the clock (expired holds).
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// First and longest wait between two attempts to reopen the listening
/// connection (doubling in between).
const RECONNECT_MIN: Duration = Duration::from_millis(100);
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// How often the listening connection is checked with a query, so a
/// connection that died without a word is noticed.
const PING_EVERY: Duration = Duration::from_secs(5);

/// `application_name` of the listening connection (`pg_stat_activity`).
pub const APPLICATION_NAME: &str = "flashbook-listener";

/// What the memory holds; one mutex, held for a map operation, never across
/// an await.
#[derive(Default)]
struct State {
    /// Events the database called sold out, and when.
    sold_out: HashMap<i64, Instant>,
    /// Generation of the last notification per event.
    freed_at: HashMap<i64, u64>,
    /// Generation of the last listener change (lost, or listening again):
    /// answers to requests started before it are not remembered.
    reset_at: u64,
    /// Whether the listening connection is up (`LISTEN` done).
    listening: bool,
}

/// A request's generation, taken before it asks the database.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// The memory of one replica, shared by its workers and its listener.
pub struct SoldOut {
    state: Mutex<State>,
    generation: AtomicU64,
    answers: Counter,
    listener_up: Gauge,
}

impl SoldOut {
    /// `answers` counts refusals from memory, `listener_up` is 1 while the
    /// listening connection is up (`crate::metrics`).
    pub fn new(answers: Counter, listener_up: Gauge) -> Self {
        Self {
            state: Mutex::new(State::default()),
            generation: AtomicU64::new(0),
            answers,
            listener_up,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the maps consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Take before asking the database; give to [`remember`](Self::remember).
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::SeqCst))
    }

    /// Whether to refuse a request for `event_id` now, without the database.
    /// Counts the refusal when it says so.
    pub fn is_sold_out(&self, event_id: i64) -> bool {
        let mut state = self.state();
        let Some(&since) = state.sold_out.get(&event_id) else {
            return false;
        };
        if since.elapsed() > MAX_AGE {
            state.sold_out.remove(&event_id);
            return false;
        }
        drop(state);
        self.answers.inc();
        true
    }

    /// The database called `event_id` sold out to a request that took
    /// `ticket` before asking. Remembered only while listening, and only if
    /// no notification for the event and no listener change came since.
    pub fn remember(&self, event_id: i64, ticket: Ticket) {
        let mut state = self.state();
        let freed_since = state
            .freed_at
            .get(&event_id)
            .is_some_and(|&at| at > ticket.0);
        if state.listening && ticket.0 >= state.reset_at && !freed_since {
            state.sold_out.insert(event_id, Instant::now());
        }
    }

    /// Runs `call`, a database call for `event_id` that may answer
    /// `sold_out`, and remembers that answer (with `ticket`, taken before).
    pub async fn learn<T, E>(
        &self,
        event_id: i64,
        ticket: Ticket,
        call: impl Future<Output = Result<Outcome<T>, E>>,
    ) -> Result<Outcome<T>, E> {
        let result = call.await;
        if matches!(result, Ok(Err(BookingRefusal::SoldOut))) {
            self.remember(event_id, ticket);
        }
        result
    }

    /// Seats of `event_id` may be free again (a notification).
    pub fn freed(&self, event_id: i64) {
        let mut state = self.state();
        let generation = self.next_generation();
        state.freed_at.insert(event_id, generation);
        state.sold_out.remove(&event_id);
    }

    /// The listening connection is up (`true`, after `LISTEN`) or lost:
    /// either way nothing remembered before is trusted.
    fn set_listening(&self, listening: bool) {
        let mut state = self.state();
        state.reset_at = self.next_generation();
        state.listening = listening;
        state.sold_out.clear();
        // Older notifications are covered by `reset_at` now.
        state.freed_at.clear();
        self.listener_up.set(i64::from(listening));
    }

    /// Events remembered as sold out now (for tests and logs).
    pub fn remembered(&self) -> usize {
        self.state().sold_out.len()
    }
}

/// Keeps this replica's listening connection: connects, `LISTEN`s, forgets
/// events as notifications arrive, and on any failure clears the memory and
/// reconnects with a doubling backoff up to [`RECONNECT_MAX`]. Runs for the
/// life of the process.
pub async fn listen(memory: Arc<SoldOut>, settings: DatabaseSettings) {
    let mut config = settings.connection.clone();
    config
        .application_name(APPLICATION_NAME)
        .connect_timeout(settings.connect_timeout);
    let mut backoff = RECONNECT_MIN;
    let mut was_up = true; // the first failure is logged
    loop {
        match listen_once(&memory, &config, settings.connect_timeout).await {
            ListenError::Never(error) => {
                if was_up {
                    log::warn!(
                        "sold-out memory off: cannot open the listening connection ({error}); \
                         retrying every {RECONNECT_MIN:?} to {RECONNECT_MAX:?}"
                    );
                }
                was_up = false;
            }
            ListenError::Lost(error) => {
                log::warn!(
                    "sold-out memory off: the listening connection was lost ({error}); reconnecting"
                );
                backoff = RECONNECT_MIN;
                was_up = false;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

/// Why [`listen_once`] returned: it returns only when listening ends.
enum ListenError {
    /// The connection or its `LISTEN` failed: memory never turned on.
    Never(String),
    /// The connection was up and is gone: memory turned off.
    Lost(String),
}

async fn listen_once(
    memory: &Arc<SoldOut>,
    config: &tokio_postgres::Config,
    timeout: Duration,
) -> ListenError {
    let never = |error: &dyn std::fmt::Display| ListenError::Never(error.to_string());
    let (client, mut connection) = match config.connect(NoTls).await {
        Ok(connected) => connected,
        Err(error) => return never(&error),
    };
    // The connection's messages, notifications among them, are read by this
    // task for as long as the connection lives; its end is the listener's.
    let reader_memory = Arc::clone(memory);
    let mut reader = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(note))) => match note.payload().parse() {
                    Ok(event_id) => reader_memory.freed(event_id),
                    Err(_) => log::warn!("ignoring {CHANNEL} payload {:?}", note.payload()),
                },
                Some(Ok(_)) => {}
                Some(Err(error)) => return error.to_string(),
                None => return "the server closed it".to_owned(),
            }
        }
    });
    let listen = format!("LISTEN {CHANNEL}");
    match tokio::time::timeout(timeout, client.batch_execute(&listen)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            reader.abort();
            return never(&error);
        }
        Err(_) => {
            reader.abort();
            return never(&"LISTEN timed out");
        }
    }
    memory.set_listening(true);
    log::info!("sold-out memory on: listening on {CHANNEL}");
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let lost = loop {
        tokio::select! {
            ended = &mut reader => {
                break ended.unwrap_or_else(|error| error.to_string());
            }
            _ = ping.tick() => {
                match tokio::time::timeout(timeout, client.simple_query("SELECT 1")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => break error.to_string(),
                    Err(_) => break format!("no answer to a ping within {timeout:?}"),
                }
            }
        }
    };
    memory.set_listening(false);
    reader.abort();
    ListenError::Lost(lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> SoldOut {
        let memory = SoldOut::new(Counter::default(), Gauge::default());
        memory.set_listening(true);
        memory
    }

    #[test]
    fn a_sold_out_answer_is_remembered_until_the_event_is_freed() {
        let memory = memory();
        let ticket = memory.ticket();
        memory.remember(1, ticket);
        assert!(memory.is_sold_out(1));
        assert!(!memory.is_sold_out(2));
        memory.freed(1);
        assert!(!memory.is_sold_out(1));
    }

    #[test]
    fn an_answer_older_than_a_notification_is_not_remembered() {
        let memory = memory();
        let ticket = memory.ticket();
        memory.freed(1); // arrives while the request is at the database
        memory.remember(1, ticket);
        assert!(!memory.is_sold_out(1));
        // Another event's notification does not matter.
        let ticket = memory.ticket();
        memory.freed(2);
        memory.remember(1, ticket);
        assert!(memory.is_sold_out(1));
    }

    #[test]
    fn nothing_is_remembered_or_used_without_the_listener() {
        let memory = memory();
        memory.remember(1, memory.ticket());
        let before_loss = memory.ticket();
        memory.set_listening(false);
        assert!(!memory.is_sold_out(1));
        memory.remember(1, memory.ticket());
        assert!(!memory.is_sold_out(1));
        memory.set_listening(true);
        // Asked before the listener came back: notifications may be missed.
        memory.remember(1, before_loss);
        assert!(!memory.is_sold_out(1));
        memory.remember(1, memory.ticket());
        assert!(memory.is_sold_out(1));
    }
}
