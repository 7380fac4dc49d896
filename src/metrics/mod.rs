//! Prometheus metrics, served by `GET /metrics` (`http::metrics`).
//!
//! Each application owns one [`Metrics`] with its own registry (the crate is
//! `prometheus-client`): nothing is process-global, so the integration tests,
//! which start many applications in one process, read exact figures for the
//! one they talk to. Names follow the OpenTelemetry HTTP conventions and
//! Prometheus naming: base units, `_total` on counters, `flashbook_` on ours.
//!
//! No label carries an id or anything a client chose: the route is the
//! router's template (`/bookings/{id}`), the method one of the standard
//! ones or `_OTHER`, outcomes and error kinds fixed names.
//!
//! Where each figure is taken:
//! - HTTP: `http::metrics::observe_request`, the outermost middleware
//!   (`startup.rs`), through [`Metrics::request_started`] and
//!   [`Metrics::request_finished`];
//! - booking outcomes, replays, seats booked and cancelled, holds, offers:
//!   `crate::sale`, once per request, after the commit, inside the task that
//!   ran it, so a client that left or timed out cannot make it miss one;
//!   the sweeper's expiries where it runs (`sale::workers`);
//! - pool wait and timeouts: `db::client`; connections in use and idle, and
//!   the process figures: read at scrape time ([`PoolCollector`],
//!   [`process::ProcessCollector`]).

mod process;
mod sale;

pub use sale::{HoldChange, SaleMetrics};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::db::{DbError, Pool};

/// `http_route` of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Bounds of the latency histograms, in seconds: 100 us to ~13 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.000_1, 2.0, 18)
}

fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    http_request_method: &'static str,
    http_route: String,
    http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The figures the booking path records; cheap to clone (shared counters).
#[derive(Clone, Debug)]
pub struct BookingMetrics {
    outcomes: Family<OutcomeLabels, Counter>,
    seats: Counter,
    batch_size: Histogram,
    batch_duration: Histogram,
    replays: Counter,
}

impl BookingMetrics {
    /// One answered booking request, by its outcome label.
    pub fn outcome(&self, outcome: &'static str) {
        self.outcomes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Seats committed by this process. Call only after the commit.
    pub fn seats_booked(&self, seats: u64) {
        if seats > 0 {
            self.seats.inc_by(seats);
        }
    }

    /// One batch transaction of `size` requests that took `started.elapsed()`.
    pub fn batch(&self, size: usize, started: Instant) {
        self.batch_size.observe(size as f64);
        self.batch_duration.observe(started.elapsed().as_secs_f64());
    }

    pub fn replayed(&self) {
        self.replays.inc();
    }
}

/// Figures of the live views (`crate::live`).
#[derive(Clone, Debug, Default)]
pub struct LiveMetrics {
    /// Snapshot reads from PostgreSQL: one per tick per watched event.
    pub reads: Counter,
    pub viewers: Gauge,
}

/// Booking latency as seen by this replica, in the same buckets as the
/// histogram, kept apart so a live view can take the p99 of the last tick
/// from two readings (`prometheus-client` does not expose bucket counts).
#[derive(Debug)]
pub struct BookingLatency {
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>,
}

impl BookingLatency {
    fn new() -> Self {
        let bounds: Vec<f64> = latency_buckets().collect();
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self { bounds, counts }
    }

    fn observe(&self, seconds: f64) {
        let bucket = self.bounds.partition_point(|&bound| bound < seconds);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// The count in each bucket so far.
    pub fn counts(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }

    /// The upper bound (ms) of the bucket holding the 99th percentile of the
    /// requests between two readings of `counts`; `None` without requests.
    pub fn p99_ms(&self, before: &[u64], after: &[u64]) -> Option<f64> {
        let window: Vec<u64> = after
            .iter()
            .zip(before)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        let total: u64 = window.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (total * 99).div_ceil(100);
        let mut seen = 0;
        for (bucket, count) in window.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let bound = self.bounds.get(bucket).copied();
                // The last bucket has no upper bound: report the largest one.
                return Some(bound.unwrap_or(*self.bounds.last()?) * 1_000.0);
            }
        }
        None
    }
}

/// Every metric of one application and the registry that exports them.
pub struct Metrics {
    registry: Registry,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    http_active: Gauge,
    db_errors: Family<KindLabels, Counter>,
    pub bookings: BookingMetrics,
    /// Cancellations, holds, offers and the waiting room (`crate::sale`).
    pub sale: SaleMetrics,
    pub booking_latency: BookingLatency,
    pub live: LiveMetrics,
    /// Refusals answered from the sold-out memory (`crate::sold_out`).
    pub sold_out_memory_answers: Counter,
    /// 1 while the sold-out memory's listening connection is up.
    pub sold_out_listener_up: Gauge,
}

impl Metrics {
    pub fn new(pool: &Pool) -> Self {
        let mut registry = Registry::default();
        let http_duration =
            Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP server requests, by method, route template and status code",
            Unit::Seconds,
            http_duration.clone(),
        );
        let http_active = Gauge::default();
        registry.register(
            "http_server_active_requests",
            "HTTP server requests in flight",
            http_active.clone(),
        );

        let bookings = BookingMetrics {
            outcomes: Family::default(),
            seats: Counter::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            batch_duration: latency_histogram(),
            replays: Counter::default(),
        };
        registry.register(
            "flashbook_booking_outcomes",
            "Answered POST /bookings requests by outcome (booked, sold_out, already_booked, \
             event_not_found, user_not_found, or an error code)",
            bookings.outcomes.clone(),
        );
        registry.register(
            "flashbook_seats_booked",
            "Seats booked and committed by this process: POST /bookings and confirmed holds \
             (POST /holds/{id}/confirm); cancellations are flashbook_seats_cancelled_total",
            bookings.seats.clone(),
        );
        registry.register(
            "flashbook_booking_batch_size",
            "Booking requests per batch transaction",
            bookings.batch_size.clone(),
        );
        registry.register_with_unit(
            "flashbook_booking_batch_duration",
            "Duration of one batch transaction, connection checkout included",
            Unit::Seconds,
            bookings.batch_duration.clone(),
        );
        registry.register(
            "flashbook_idempotent_replays",
            "Booking requests answered by replaying a stored Idempotency-Key outcome",
            bookings.replays.clone(),
        );

        let sale = SaleMetrics::register(&mut registry);

        let db_errors = Family::default();
        registry.register(
            "flashbook_db_errors",
            "Requests answered with a database failure, by kind (pool_timeout, connection, \
             query_canceled, lock_not_available, or the SQLSTATE class)",
            db_errors.clone(),
        );
        let pool_metrics = pool.metrics();
        registry.register_with_unit(
            "flashbook_db_pool_wait",
            "Time spent waiting for a database connection from the pool",
            Unit::Seconds,
            pool_metrics.wait.clone(),
        );
        registry.register(
            "flashbook_db_pool_timeouts",
            "Requests that found no free database connection within FLASHBOOK_POOL_WAIT_MS",
            pool_metrics.timeouts.clone(),
        );
        registry.register_collector(Box::new(PoolCollector((**pool).clone())));

        let live = LiveMetrics::default();
        registry.register(
            "flashbook_live_snapshot_reads",
            "Snapshot reads of live views from PostgreSQL (one per tick per watched event)",
            live.reads.clone(),
        );
        registry.register(
            "flashbook_live_viewers",
            "Open live views (GET /events/{id}/live) on this replica",
            live.viewers.clone(),
        );
        registry.register_collector(Box::new(process::ProcessCollector));

        let sold_out_memory_answers = Counter::default();
        registry.register(
            "flashbook_sold_out_memory_answers",
            "POST /bookings and POST /holds answered 409 sold_out from this replica's memory, \
             without the database (also counted in flashbook_booking_outcomes_total for bookings)",
            sold_out_memory_answers.clone(),
        );
        let sold_out_listener_up = Gauge::default();
        registry.register(
            "flashbook_sold_out_listener_up",
            "1 while this replica's LISTEN connection for freed seats is up (sold-out memory on)",
            sold_out_listener_up.clone(),
        );

        Self {
            registry,
            http_duration,
            http_active,
            db_errors,
            bookings,
            sale,
            booking_latency: BookingLatency::new(),
            live,
            sold_out_memory_answers,
            sold_out_listener_up,
        }
    }

    /// The exposition in the OpenMetrics text format, which Prometheus also
    /// reads as its classic text format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// One request in flight until the returned guard drops, however the
    /// request ends (a dropped future included).
    pub fn request_started(&self) -> ActiveRequest<'_> {
        self.http_active.inc();
        ActiveRequest(&self.http_active)
    }

    /// One answered request: `method` is already a bounded label (the
    /// standard methods or `_OTHER`), `route` the router's template.
    pub fn request_finished(
        &self,
        method: &'static str,
        route: Option<String>,
        status: u16,
        seconds: f64,
    ) {
        let route = route.unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
        if method == "POST" && route == "/bookings" {
            self.booking_latency.observe(seconds);
        }
        self.http_duration
            .get_or_create(&HttpLabels {
                http_request_method: method,
                http_route: route,
                http_response_status_code: status,
            })
            .observe(seconds);
    }

    /// One request answered with a database failure, by its kind.
    pub fn database_failed(&self, error: &DbError) {
        self.db_errors
            .get_or_create(&KindLabels { kind: error.kind() })
            .inc();
    }
}

/// Counts a request in flight while it lives ([`Metrics::request_started`]).
pub struct ActiveRequest<'a>(&'a Gauge);

impl Drop for ActiveRequest<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `flashbook_db_pool_connections{state}` from deadpool's status at scrape time.
struct PoolCollector(deadpool_postgres::Pool);

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolCollector")
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.0.status();
        let in_use = status.size.saturating_sub(status.available);
        let mut metric = encoder.encode_descriptor(
            "flashbook_db_pool_connections",
            "Database connections of this process's pool, by state (in_use, idle)",
            None,
            MetricType::Gauge,
        )?;
        for (state, value) in [("in_use", in_use), ("idle", status.available)] {
            let labels = [("state", state)];
            ConstGauge::new(value as i64).encode(metric.encode_family(&labels)?)?;
        }
        encode_one(
            &mut encoder,
            "flashbook_db_pool_max_connections",
            "The pool's size limit (FLASHBOOK_POOL_SIZE)",
            None,
            &ConstGauge::new(status.max_size as i64),
        )?;
        encode_one(
            &mut encoder,
            "flashbook_db_pool_waiting_requests",
            "Requests waiting for a database connection right now",
            None,
            &ConstGauge::new(status.waiting as i64),
        )
    }
}

/// One metric without labels, as a collector reads it at scrape time.
fn encode_one(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_the_bucket_of_the_99th_percentile_of_the_window() {
        let latency = BookingLatency::new();
        let before = latency.counts();
        for _ in 0..98 {
            latency.observe(0.000_05); // first bucket, <= 0.1 ms
        }
        latency.observe(0.003); // <= 3.2 ms
        latency.observe(0.003);
        let after = latency.counts();
        let p99 = latency.p99_ms(&before, &after).unwrap();
        assert!((p99 - 3.2).abs() < 1e-9, "{p99}");
        assert_eq!(latency.p99_ms(&after, &after), None);
    }
}
