//! Every background task of one application, started here and nowhere else,
//! and each stopped by a guard however the application ends.
//!
//! Long-lived, one each per application, started by [`Workers::start`]:
//! - the **hold sweeper**: marks expired holds and offers and offers their
//!   seats on, every `FLASHBOOK_HOLD_SWEEP_MS` ([`Sales::expire_holds`],
//!   which counts what it marked);
//! - the **idempotency sweeper**: deletes keys older than their TTL;
//! - the **sold-out listener**: its own connection `LISTEN`ing for freed
//!   seats (`crate::sold_out::listen`);
//! - the **waiting-room refresh**: reloads which events have a waiting room,
//!   and the line's figures for `/metrics`, every second.
//!
//! On demand, one per event while there is work, each ended by its own guard
//! (mini-redis's `DbDropGuard` idea) whether it returns or panics:
//! - a **batch worker** per event with queued bookings (`booking::batch`,
//!   its `Worker` guard answers every request it still holds);
//! - a **live ticker** per watched event (`crate::live`, its `Ticker`
//!   guard), all ended by `LiveHub::shut_down`.
//!
//! [`Workers`] is the guard of the long-lived ones: dropping it (the
//! application stopped, or dropped without stopping) aborts them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::Sales;
use crate::configuration::{DatabaseSettings, Limits};
use crate::db::{self, Pool};
use crate::idempotency;
use crate::metrics::SaleMetrics;
use crate::sold_out::{self, SoldOut};
use crate::waiting_room::{self, WaitingRooms};

/// How often keys older than the idempotency TTL are deleted.
const IDEMPOTENCY_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// The long-lived background tasks; dropping this stops them.
pub struct Workers {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

/// What the workers serve.
pub struct Served<'a> {
    pub sales: &'a Sales,
    pub pool: &'a Pool,
    pub rooms: &'a Arc<WaitingRooms>,
    pub sold_out: &'a Arc<SoldOut>,
    pub metrics: &'a SaleMetrics,
    pub database: &'a DatabaseSettings,
    pub limits: &'a Limits,
}

impl Workers {
    pub fn start(served: Served<'_>) -> Self {
        let mut workers = Workers { tasks: Vec::new() };
        workers.spawn(
            "hold sweeper",
            sweep_expired_holds(served.sales.clone(), served.limits.hold_sweep),
        );
        workers.spawn(
            "idempotency sweeper",
            sweep_expired_idempotency_keys(served.pool.clone(), served.limits.idempotency_ttl),
        );
        // Its own connection, outside the pool.
        workers.spawn(
            "sold-out listener",
            sold_out::listen(Arc::clone(served.sold_out), served.database.clone()),
        );
        workers.spawn(
            "waiting-room refresh",
            refresh_waiting_rooms(
                Arc::clone(served.rooms),
                served.pool.clone(),
                served.metrics.clone(),
            ),
        );
        workers
    }

    fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push((name, tokio::spawn(task)));
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (name, task) in &self.tasks {
            log::debug!("stopping the {name}");
            task.abort();
        }
    }
}

/// Marks expired holds and offers their seats to the waiting list. Their
/// seats were free the moment they expired (the seat functions treat
/// `expires_at <= now` as free); this tidies, makes the offers, and is where
/// expiries are counted. Every replica runs one: the event lock serialises
/// them, and the second finds nothing left to do.
async fn sweep_expired_holds(sales: Sales, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match sales.expire_holds().await {
            Ok(0) => {}
            Ok(expired) => log::info!("{expired} hold(s) expired; their seats went back on sale"),
            Err(error) => log::warn!("sweeping expired holds failed: {error}"),
        }
    }
}

async fn sweep_expired_idempotency_keys(pool: Pool, ttl: Duration) {
    let mut interval = tokio::time::interval(IDEMPOTENCY_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        match idempotency::delete_expired(&pool, ttl).await {
            Ok(0) => {}
            Ok(deleted) => log::info!("deleted {deleted} expired idempotency keys"),
            Err(error) => log::warn!("deleting expired idempotency keys failed: {error}"),
        }
    }
}

/// Reloads the events with a waiting room every
/// [`waiting_room::REFRESH_INTERVAL`], and the lines' figures; a failed read
/// keeps the last set (and the booking it would gate needs the database
/// anyway).
async fn refresh_waiting_rooms(rooms: Arc<WaitingRooms>, pool: Pool, metrics: SaleMetrics) {
    let mut interval = tokio::time::interval(waiting_room::REFRESH_INTERVAL);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let read = async {
            let client = db::client(&pool).await?;
            let active = db::waiting_room::active_events(&client).await?;
            let lines = db::waiting_room::lines(&client).await?;
            Ok::<_, db::DbError>((active, lines))
        };
        match read.await {
            Ok((active, lines)) => {
                rooms.replace(active);
                metrics.queue_length.set(lines.waiting);
                metrics.admitted.set(lines.admitted);
            }
            Err(error) => log::warn!("reloading the events with a waiting room failed: {error}"),
        }
    }
}
