//! Live views of a sale: `GET /events/{id}/live` streams a snapshot of the
//! event every tick as Server-Sent Events (`http::live`), and the
//! dashboard (`http::dashboard`) draws them.
//!
//! One database read per tick per watched event, however many viewers this
//! replica has: the first viewer of an event starts that event's *ticker*, a
//! task that reads the event's row each tick, renders the snapshot once and
//! publishes it on a `tokio::sync::watch` channel; every further viewer
//! subscribes to the same channel. The ticker stops when, after a tick, no
//! viewer is left. "A ticker runs for this event" is "the event has an entry
//! in `tickers`": the entry is inserted when the ticker is spawned and only
//! the ticker's guard removes it, whether the ticker ends normally or by a
//! panic (the batch worker's pattern, `booking::batch`), so a later viewer
//! always finds a live ticker or starts a new one.
//!
//! Snapshots come from PostgreSQL, so `booked`, `held` and `remaining` are
//! exact across replicas and the figures `GET /events/{id}` shows (the same
//! view, `db::events::seats`, and the same `domain::SeatCount::remaining`);
//! `booked_per_s` is the difference of two consecutive snapshots over the
//! database's clock. `refused_per_s` counts this replica's
//! `sold_out` and `already_booked` answers for the event (the database does
//! not record refusals), `p99_ms` this replica's `POST /bookings` latency
//! over the last tick (all events): replica-local figures, labelled so.
//!
//! Bounds: the tick (`FLASHBOOK_LIVE_TICK_MS`) and the open views per
//! replica (`FLASHBOOK_LIVE_MAX_VIEWERS`; over it, `503 too_many_viewers`).
//! [`LiveHub::shut_down`] ends every stream at once, so a graceful shutdown
//! does not wait its full grace period on open dashboards.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::configuration::Limits;
use crate::db::events::Seats;
use crate::db::{self, DbError, Pool};
use crate::metrics::Metrics;

/// One snapshot as sent in a `data:` line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveSnapshot {
    pub event_id: i64,
    pub capacity: i32,
    /// Seats sold (in confirmed bookings).
    pub booked: i32,
    /// Seats in holds (and waiting-list offers) that have not expired.
    pub held: i32,
    /// Seats neither booked nor held: `GET /events/{id}`'s `remaining`.
    pub remaining: i32,
    /// The database's clock when it was read.
    pub at: DateTime<Utc>,
    /// Seats booked per second since the previous snapshot (all replicas).
    pub booked_per_s: f64,
    /// `sold_out` and `already_booked` answers per second for this event,
    /// from this replica only.
    pub refused_per_s: f64,
    /// 99th percentile of this replica's `POST /bookings` latency over the
    /// last tick (bucket upper bound); absent when it served none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}

/// One Server-Sent Event of a live view as an SSE reader sees it: the
/// document gives it as the schema of the `text/event-stream` body, which
/// such a reader (and a client generator of OpenAPI 3.2's SSE) checks each
/// event against.
#[derive(Debug, utoipa::ToSchema)]
pub struct LiveEvent {
    /// One `LiveSnapshot` as JSON.
    #[schema(content_media_type = "application/json")]
    data: String,
}

impl LiveEvent {
    fn of(snapshot: &LiveSnapshot) -> serde_json::Result<Self> {
        Ok(Self {
            data: serde_json::to_string(snapshot)?,
        })
    }

    /// The event as the stream sends it.
    fn frame(&self) -> Bytes {
        Bytes::from(format!("data: {}\n\n", self.data))
    }
}

/// What a ticker publishes.
#[derive(Debug, Clone)]
enum Tick {
    /// The first read has not finished yet.
    Pending,
    /// A rendered `data:` frame, shared by every viewer.
    Frame(Bytes),
    NotFound,
    /// The first read failed; the ticker has stopped.
    Failed,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("this replica already serves {0} live views")]
    TooManyViewers(usize),
    #[error("event not found")]
    EventNotFound,
    #[error("the live view could not read the event")]
    Unavailable,
}

pub struct LiveHub {
    pool: Pool,
    metrics: Arc<Metrics>,
    tick: Duration,
    max_viewers: usize,
    viewers: AtomicUsize,
    /// Each watched event's channel. Held only to look up, insert or remove.
    tickers: Mutex<HashMap<i64, watch::Sender<Tick>>>,
    /// Refusals per watched event, counted by `http::bookings`. Written
    /// only when a ticker starts or stops; the booking path takes the read
    /// lock, and only for a refusal.
    refusals: RwLock<HashMap<i64, Arc<AtomicU64>>>,
    shutdown: watch::Sender<bool>,
}

impl LiveHub {
    pub fn new(pool: Pool, metrics: Arc<Metrics>, limits: &Limits) -> Self {
        Self {
            pool,
            metrics,
            tick: limits.live_tick,
            max_viewers: limits.live_max_viewers,
            viewers: AtomicUsize::new(0),
            tickers: Mutex::new(HashMap::new()),
            refusals: RwLock::new(HashMap::new()),
            shutdown: watch::Sender::new(false),
        }
    }

    /// Counts a `sold_out` or `already_booked` answer, if the event is watched.
    pub fn record_refusal(&self, event_id: i64) {
        let refusals = self.refusals.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = refusals.get(&event_id) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ends every open stream and ticker; new views are refused from now on.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// A stream of `data:` frames for the event, starting with the current
    /// snapshot; it ends on shutdown.
    pub async fn watch(
        self: &Arc<Self>,
        event_id: i64,
    ) -> Result<impl Stream<Item = Result<Bytes, Infallible>> + 'static, LiveError> {
        if *self.shutdown.borrow() {
            return Err(LiveError::Unavailable);
        }
        let viewer = Viewer::admit(self)?;
        let mut ticks = self.subscribe(event_id);
        let first = ticks
            .wait_for(|tick| !matches!(tick, Tick::Pending))
            .await
            .map_err(|_| LiveError::Unavailable)?
            .clone();
        let first = match first {
            Tick::Frame(frame) => frame,
            Tick::NotFound => return Err(LiveError::EventNotFound),
            Tick::Failed | Tick::Pending => return Err(LiveError::Unavailable),
        };
        let state = ViewerState {
            first: Some(first),
            ticks,
            shutdown: self.shutdown.subscribe(),
            _viewer: viewer,
        };
        Ok(futures_util::stream::unfold(state, next_frame))
    }

    /// The event's channel, starting its ticker if none runs.
    fn subscribe(self: &Arc<Self>, event_id: i64) -> watch::Receiver<Tick> {
        let mut tickers = self.tickers();
        if let Some(sender) = tickers.get(&event_id) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(Tick::Pending);
        tickers.insert(event_id, sender.clone());
        self.refusals
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(event_id, Arc::default());
        let ticker = Ticker {
            hub: Arc::clone(self),
            event_id,
            finished: false,
        };
        tokio::spawn(ticker.run(sender));
        receiver
    }

    /// Called with `tickers` locked, like the insert in `subscribe`, so a
    /// stopping ticker never removes its successor's counter.
    fn forget_refusals(&self, event_id: i64) {
        self.refusals
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&event_id);
    }

    /// The map, even after a panic elsewhere poisoned it: every critical
    /// section leaves it consistent.
    fn tickers(&self) -> MutexGuard<'_, HashMap<i64, watch::Sender<Tick>>> {
        self.tickers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The one database read of a tick (`flashbook_live_snapshot_reads_total`).
    async fn read(&self, event_id: i64) -> Result<Option<Seats>, DbError> {
        self.metrics.live.reads.inc();
        let client = db::client(&self.pool).await?;
        db::events::seats(&client, event_id).await
    }
}

/// One open view; counted in `viewers` until dropped.
struct Viewer(Arc<LiveHub>);

impl Viewer {
    fn admit(hub: &Arc<LiveHub>) -> Result<Self, LiveError> {
        let before = hub.viewers.fetch_add(1, Ordering::SeqCst);
        if before >= hub.max_viewers {
            hub.viewers.fetch_sub(1, Ordering::SeqCst);
            return Err(LiveError::TooManyViewers(hub.max_viewers));
        }
        hub.metrics.live.viewers.inc();
        Ok(Self(Arc::clone(hub)))
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Ordering::SeqCst);
        self.0.metrics.live.viewers.dec();
    }
}

/// What one viewer's stream holds between frames.
struct ViewerState {
    first: Option<Bytes>,
    ticks: watch::Receiver<Tick>,
    shutdown: watch::Receiver<bool>,
    _viewer: Viewer,
}

async fn next_frame(mut state: ViewerState) -> Option<(Result<Bytes, Infallible>, ViewerState)> {
    if let Some(first) = state.first.take() {
        return Some((Ok(first), state));
    }
    let ended = tokio::select! {
        // Err: the ticker stopped (shutdown, or the event was deleted).
        changed = state.ticks.changed() => changed.is_err(),
        _ = state.shutdown.wait_for(|stopping| *stopping) => true,
    };
    if ended {
        return None;
    }
    let frame = match &*state.ticks.borrow_and_update() {
        Tick::Frame(frame) => frame.clone(),
        _ => return None,
    };
    Some((Ok(frame), state))
}

/// The task that reads one event each tick for all its viewers.
struct Ticker {
    hub: Arc<LiveHub>,
    event_id: i64,
    /// Set when the ticker removed its entry itself (no viewer left).
    finished: bool,
}

/// The previous snapshot, for the rates.
struct Previous {
    booked: i32,
    at: DateTime<Utc>,
    refused: u64,
    latency: Vec<u64>,
}

impl Ticker {
    async fn run(mut self, sender: watch::Sender<Tick>) {
        let refused = self
            .hub
            .refusals
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.event_id)
            .cloned()
            .unwrap_or_default();
        let mut shutdown = self.hub.shutdown.subscribe();
        let mut interval = tokio::time::interval(self.hub.tick);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut previous: Option<Previous> = None;
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let latency = self.hub.metrics.booking_latency.counts();
            let refused_so_far = refused.load(Ordering::Relaxed);
            match self.hub.read(self.event_id).await {
                Ok(Some(seats)) => {
                    let snapshot =
                        self.snapshot(previous.as_ref(), seats, refused_so_far, &latency);
                    previous = Some(Previous {
                        booked: seats.count.booked,
                        at: seats.at,
                        refused: refused_so_far,
                        latency,
                    });
                    match LiveEvent::of(&snapshot) {
                        Ok(event) => {
                            sender.send_replace(Tick::Frame(event.frame()));
                        }
                        Err(error) => log::error!("cannot render a live snapshot: {error}"),
                    }
                }
                Ok(None) => {
                    sender.send_replace(Tick::NotFound);
                    return;
                }
                Err(error) if previous.is_none() => {
                    log::warn!(
                        "live view of event {} cannot read it: {}",
                        self.event_id,
                        crate::telemetry::error_chain(&error)
                    );
                    sender.send_replace(Tick::Failed);
                    return;
                }
                // Viewers keep the last snapshot and get the next good one.
                Err(error) => log::warn!(
                    "live view of event {} skipped a tick: {}",
                    self.event_id,
                    crate::telemetry::error_chain(&error)
                ),
            }
            // Checked and removed under the map's lock, so no viewer can
            // subscribe to a ticker that is about to stop.
            let mut tickers = self.hub.tickers();
            if sender.receiver_count() == 0 {
                tickers.remove(&self.event_id);
                self.hub.forget_refusals(self.event_id);
                self.finished = true;
                return;
            }
        }
    }

    fn snapshot(
        &self,
        previous: Option<&Previous>,
        Seats { count, at }: Seats,
        refused: u64,
        latency: &[u64],
    ) -> LiveSnapshot {
        let (booked_per_s, refused_per_s, p99_ms) = match previous {
            Some(previous) => {
                let seconds = (at - previous.at).num_microseconds().unwrap_or(0) as f64 / 1e6;
                let per_second = |delta: f64| {
                    if seconds > 0.0 {
                        (delta / seconds).max(0.0)
                    } else {
                        0.0
                    }
                };
                (
                    per_second(f64::from(count.booked - previous.booked)),
                    per_second(refused.saturating_sub(previous.refused) as f64),
                    self.hub
                        .metrics
                        .booking_latency
                        .p99_ms(&previous.latency, latency),
                )
            }
            None => (0.0, 0.0, None),
        };
        LiveSnapshot {
            event_id: self.event_id,
            capacity: count.capacity,
            booked: count.booked,
            held: count.held,
            remaining: count.remaining(),
            at,
            booked_per_s,
            refused_per_s,
            p99_ms,
        }
    }
}

impl Drop for Ticker {
    /// However the ticker ends, its entry goes, so the next viewer starts a
    /// new one; the channel closes and every open stream of it ends.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Still this ticker's entry: no other starts while it exists.
        let mut tickers = self.hub.tickers();
        tickers.remove(&self.event_id);
        self.hub.forget_refusals(self.event_id);
    }
}
