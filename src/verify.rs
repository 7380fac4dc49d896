//! The exact-sale check, written once: the event sold no more than its
//! capacity (exactly its capacity when it should have sold out), its counter
//! agrees with its confirmed seats, nobody holds more seats than the event's
//! `max_per_user`, and the clients were told exactly what the database holds.
//!
//! The checkout check ([`check_checkout`], `verify --checkout`) is the second
//! proof's: a sale through holds and the waiting list ended with every seat
//! confirmed, no hold still keeping seats, nobody over the limit, and the
//! waiting list's offers made in list order.
//!
//! The queue check ([`check_queue`], `verify --queue`, in `verify/queue.rs`)
//! is the third proof's: a sale behind the waiting room.
//!
//! The integration tests call [`check`] directly; `run_tests.sh`, `faults/`
//! and `bench/` call it through the `verify` binary (`src/bin/verify.rs`),
//! which reads the database and, optionally, the k6 summary of the load.

mod queue;

use serde::Serialize;
use serde_json::Value;
use tokio_postgres::GenericClient;

pub use queue::{check_queue, QueueState, QueueSummary};

/// One read of the event's seats, consistent within itself (one statement).
const SELECT_SALE_STATE: &str = "
    SELECT e.capacity::BIGINT,
           e.booked::BIGINT,
           (SELECT count(*) FROM bookings b
             WHERE b.event_id = e.id AND b.status = 'confirmed'),
           (SELECT coalesce(sum(b.quantity), 0)::BIGINT FROM bookings b
             WHERE b.event_id = e.id AND b.status = 'confirmed'),
           (SELECT count(*) FROM (SELECT user_id FROM bookings
                                   WHERE event_id = e.id AND status = 'confirmed'
                                   GROUP BY user_id
                                  HAVING sum(quantity) > e.max_per_user) AS over)
      FROM events e WHERE e.id = $1";

/// What the database holds for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SaleState {
    pub event_id: i64,
    pub capacity: i64,
    /// `events.booked`, the counter the booking functions keep: confirmed
    /// seats.
    pub counter: i64,
    /// Confirmed booking rows.
    pub confirmed: i64,
    /// Seats in the confirmed bookings (the rows' quantities; one each in
    /// the one-shot sale).
    pub confirmed_seats: i64,
    /// Users whose confirmed seats exceed the event's `max_per_user`.
    pub users_over_limit: i64,
}

impl SaleState {
    /// `None` when the event does not exist.
    pub async fn read(
        client: &impl GenericClient,
        event_id: i64,
    ) -> Result<Option<Self>, tokio_postgres::Error> {
        let row = client.query_opt(SELECT_SALE_STATE, &[&event_id]).await?;
        row.map(|row| {
            Ok(Self {
                event_id,
                capacity: row.try_get(0)?,
                counter: row.try_get(1)?,
                confirmed: row.try_get(2)?,
                confirmed_seats: row.try_get(3)?,
                users_over_limit: row.try_get(4)?,
            })
        })
        .transpose()
    }
}

/// What the clients of a load were told, counted by answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Responses {
    pub created: i64,
    pub sold_out: i64,
    pub already_booked: i64,
    /// A `409` with any other problem code.
    pub other_conflicts: i64,
    /// Any status but `201` and `409`, or no answer at all.
    pub other: i64,
}

impl Responses {
    pub fn attempts(&self) -> i64 {
        self.created + self.sold_out + self.already_booked + self.other_conflicts + self.other
    }
}

/// A load as `k6/booking.js` summarised it: its answers, its timing, and the
/// thresholds it failed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct K6Summary {
    pub responses: Responses,
    pub duration_seconds: f64,
    pub requests_per_second: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub failed_thresholds: Vec<String>,
}

impl K6Summary {
    /// Parses the JSON that `k6/booking.js`'s `handleSummary` writes.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let summary: Value = serde_json::from_str(text)?;
        let metrics = &summary["metrics"];
        let value = |metric: &str, key: &str| metrics[metric]["values"][key].as_f64();
        let count = |metric: &str| value(metric, "count").unwrap_or(0.0) as i64;
        Ok(Self {
            responses: Responses {
                created: count("status_201"),
                sold_out: count("status_409_sold_out"),
                already_booked: count("status_409_already_booked"),
                other_conflicts: count("status_409_other_code"),
                other: count("status_other"),
            },
            duration_seconds: summary["state"]["testRunDurationMs"]
                .as_f64()
                .unwrap_or(0.0)
                / 1000.0,
            requests_per_second: value("http_reqs", "rate").unwrap_or(0.0),
            p95_ms: value("booking_duration", "p(95)").unwrap_or(0.0),
            p99_ms: value("booking_duration", "p(99)").unwrap_or(0.0),
            failed_thresholds: failed_thresholds(metrics),
        })
    }
}

/// "metric:expression" for every threshold k6 reports as failed.
fn failed_thresholds(metrics: &Value) -> Vec<String> {
    let mut failed = Vec::new();
    if let Some(metrics) = metrics.as_object() {
        for (metric, body) in metrics {
            let Some(thresholds) = body["thresholds"].as_object() else {
                continue;
            };
            for (expression, result) in thresholds {
                if result["ok"] == Value::Bool(false) {
                    failed.push(format!("{metric}:{}", expression.replace(' ', "")));
                }
            }
        }
    }
    failed
}

/// What this particular sale should have come to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected {
    /// The event's capacity, when the caller knows it.
    pub capacity: Option<i64>,
    /// The sale must have sold every seat.
    pub sold_out: bool,
    /// Booking attempts, each by a different user: then every answer but a
    /// `201` must be `409 sold_out`.
    pub attempts: Option<i64>,
}

/// One row of the verdict table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub label: String,
    pub actual: String,
    pub expected: String,
    pub ok: bool,
}

/// The verdict: every check with its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub state: SaleState,
    pub checks: Vec<Check>,
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    /// "label is actual, expected expected" for every failed check.
    pub fn failures(&self) -> Vec<String> {
        failures(&self.checks)
    }
}

/// "label is actual, expected expected" for every failed check.
pub fn failures(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|check| !check.ok)
        .map(|check| {
            format!(
                "{} is {}, expected {}",
                check.label, check.actual, check.expected
            )
        })
        .collect()
}

/// Compares the database (and, when given, what clients were told) with
/// what an exact sale must look like.
pub fn check(state: &SaleState, told: Option<&Responses>, expected: &Expected) -> Verdict {
    let mut checks = Vec::new();
    if let Some(told) = told {
        if let Some(attempts) = expected.attempts {
            checks.push(Check::equal("booking attempts", told.attempts(), attempts));
        }
        // Every 201 is a confirmed row and every confirmed row was a 201.
        checks.push(Check::equal("201 booked", told.created, state.confirmed));
        if let Some(attempts) = expected.attempts {
            checks.push(Check::equal(
                "409 sold_out",
                told.sold_out,
                attempts - state.confirmed,
            ));
            checks.push(Check::equal("409 already_booked", told.already_booked, 0));
        }
        checks.push(Check::equal(
            "409 with another code",
            told.other_conflicts,
            0,
        ));
        checks.push(Check::equal("other statuses", told.other, 0));
    }
    checks.push(if expected.sold_out {
        Check::equal("confirmed bookings in DB", state.confirmed, state.capacity)
    } else {
        Check {
            label: "confirmed bookings in DB".to_owned(),
            actual: state.confirmed.to_string(),
            expected: format!("<= {}", state.capacity),
            ok: state.confirmed <= state.capacity,
        }
    });
    // The counter counts seats. Within the constraint booked <= capacity,
    // this also bounds the seats when bookings carry several.
    checks.push(Check::equal(
        "events.booked counter",
        state.counter,
        state.confirmed_seats,
    ));
    if let Some(capacity) = expected.capacity {
        checks.push(Check::equal("event capacity", state.capacity, capacity));
    }
    checks.push(Check::equal(
        "users over max_per_user",
        state.users_over_limit,
        0,
    ));
    Verdict {
        state: *state,
        checks,
    }
}

/// One read of a checkout sale (holds and the waiting list), consistent
/// within itself (one statement). "Unexpired" is judged at the statement's
/// `now()`.
///
/// An offer out of order: waiting-list entries A before B (A.id < B.id)
/// where A asked for no more seats than B, B got an offer (hold hb), and A
/// got no offer or a later one (ha.id > hb.id) although it had not left
/// before hb was made. `make_offers` walks the list in id order and offers
/// to every entry whose quantity fits what is free, so when B's quantity fit,
/// A's did too and A was offered first (hold ids are handed out in order).
const SELECT_CHECKOUT_STATE: &str = "
    SELECT e.capacity::BIGINT,
           e.booked::BIGINT,
           e.max_per_user::BIGINT,
           (SELECT count(*) FROM bookings b
             WHERE b.event_id = e.id AND b.status = 'confirmed'),
           (SELECT coalesce(sum(b.quantity), 0)::BIGINT FROM bookings b
             WHERE b.event_id = e.id AND b.status = 'confirmed'),
           (SELECT count(*) FROM holds h
             WHERE h.event_id = e.id AND h.status = 'held' AND h.expires_at > now()),
           (SELECT count(*) FROM (SELECT user_id FROM bookings
                                   WHERE event_id = e.id AND status = 'confirmed'
                                   GROUP BY user_id
                                  HAVING sum(quantity) > e.max_per_user) AS over),
           (SELECT count(*) FROM waitlist_entries w WHERE w.event_id = e.id),
           (SELECT count(*) FROM waitlist_entries w
             WHERE w.event_id = e.id AND w.hold_id IS NOT NULL),
           (SELECT count(*) FROM waitlist_entries b
              JOIN holds hb ON hb.id = b.hold_id
             WHERE b.event_id = e.id
               AND EXISTS (SELECT 1 FROM waitlist_entries a
                            WHERE a.event_id = b.event_id
                              AND a.id < b.id
                              AND a.quantity <= b.quantity
                              AND (a.hold_id IS NULL OR a.hold_id > hb.id)
                              AND (a.left_at IS NULL OR a.left_at > hb.created_at)))
      FROM events e WHERE e.id = $1";

/// What the database holds for one checkout sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckoutState {
    pub event_id: i64,
    pub capacity: i64,
    /// `events.booked`: confirmed seats, as the seat functions keep it.
    pub counter: i64,
    pub max_per_user: i64,
    /// Confirmed booking rows.
    pub confirmed_bookings: i64,
    /// Seats in the confirmed bookings.
    pub confirmed_seats: i64,
    /// Holds still `held` whose `expires_at` is in the future.
    pub unexpired_holds: i64,
    /// Users whose confirmed seats exceed `max_per_user`.
    pub users_over_limit: i64,
    /// Waiting-list entries, and those that were offered seats.
    pub waitlist_entries: i64,
    pub waitlist_offers: i64,
    /// Entries offered seats while an earlier entry that fitted was passed
    /// over (see [`SELECT_CHECKOUT_STATE`]).
    pub offers_out_of_order: i64,
}

impl CheckoutState {
    /// `None` when the event does not exist.
    pub async fn read(
        client: &impl GenericClient,
        event_id: i64,
    ) -> Result<Option<Self>, tokio_postgres::Error> {
        let row = client
            .query_opt(SELECT_CHECKOUT_STATE, &[&event_id])
            .await?;
        row.map(|row| {
            Ok(Self {
                event_id,
                capacity: row.try_get(0)?,
                counter: row.try_get(1)?,
                max_per_user: row.try_get(2)?,
                confirmed_bookings: row.try_get(3)?,
                confirmed_seats: row.try_get(4)?,
                unexpired_holds: row.try_get(5)?,
                users_over_limit: row.try_get(6)?,
                waitlist_entries: row.try_get(7)?,
                waitlist_offers: row.try_get(8)?,
                offers_out_of_order: row.try_get(9)?,
            })
        })
        .transpose()
    }
}

/// The checkout load as `k6/checkout.js` summarised it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckoutSummary {
    /// `201`s to `POST /holds/{id}/confirm`, and the seats they confirmed.
    pub confirmed: i64,
    pub confirmed_seats: i64,
    /// `201`s to `POST /holds`.
    pub holds: i64,
    /// `409 sold_out` and `409 not_enough_seats` to `POST /holds`.
    pub holds_refused: i64,
    /// `201`s to `POST /events/{id}/waitlist`.
    pub waitlist_joined: i64,
    /// Offers the buyers saw, and those they let expire.
    pub offers_seen: i64,
    pub offers_declined: i64,
    /// Holds whose buyer walked away.
    pub walked_away: i64,
    /// `409 hold_expired` to a confirm: the buyer was too slow.
    pub confirm_too_late: i64,
    /// Buyers that stopped at a loop's count or time bound.
    pub gave_up: i64,
    /// Answers outside the API's documented ones for the request (any other
    /// status, a `409` with another code, no answer).
    pub unexpected: i64,
    pub duration_seconds: f64,
    pub requests_per_second: f64,
    pub failed_thresholds: Vec<String>,
}

impl CheckoutSummary {
    /// Parses the JSON that `k6/checkout.js`'s `handleSummary` writes.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let summary: Value = serde_json::from_str(text)?;
        let metrics = &summary["metrics"];
        let value = |metric: &str, key: &str| metrics[metric]["values"][key].as_f64();
        let count = |metric: &str| value(metric, "count").unwrap_or(0.0) as i64;
        let unexpected = [
            "hold_409_other_code",
            "hold_other",
            "confirm_409_other_code",
            "confirm_other",
            "join_409_other_code",
            "join_other",
            "poll_other",
            "leave_other",
            "event_other",
        ]
        .into_iter()
        .map(count)
        .sum();
        Ok(Self {
            confirmed: count("confirm_201"),
            confirmed_seats: count("confirm_seats"),
            holds: count("hold_201"),
            holds_refused: count("hold_409_sold_out") + count("hold_409_not_enough_seats"),
            waitlist_joined: count("join_201"),
            offers_seen: count("offers_seen"),
            offers_declined: count("offers_declined"),
            walked_away: count("holds_walked_away"),
            confirm_too_late: count("confirm_409_hold_expired"),
            gave_up: count("buyers_gave_up"),
            unexpected,
            duration_seconds: summary["state"]["testRunDurationMs"]
                .as_f64()
                .unwrap_or(0.0)
                / 1000.0,
            requests_per_second: value("http_reqs", "rate").unwrap_or(0.0),
            failed_thresholds: failed_thresholds(metrics),
        })
    }
}

/// Compares a checkout sale in the database (and, when given, what its
/// buyers were told) with what it must have come to: every seat confirmed,
/// the counter agreeing, no hold still keeping seats, nobody over the limit,
/// offers made in list order.
pub fn check_checkout(
    state: &CheckoutState,
    told: Option<&CheckoutSummary>,
    capacity: Option<i64>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(told) = told {
        // Every 201 to a confirm is a confirmed row, and nothing else made one.
        checks.push(Check::equal(
            "201 confirmed (k6)",
            told.confirmed,
            state.confirmed_bookings,
        ));
        checks.push(Check::equal(
            "seats confirmed (k6)",
            told.confirmed_seats,
            state.confirmed_seats,
        ));
        checks.push(Check::equal("unexpected answers (k6)", told.unexpected, 0));
    }
    checks.push(Check::equal(
        "confirmed seats in DB",
        state.confirmed_seats,
        state.capacity,
    ));
    checks.push(Check::equal(
        "events.booked counter",
        state.counter,
        state.confirmed_seats,
    ));
    if let Some(capacity) = capacity {
        checks.push(Check::equal("event capacity", state.capacity, capacity));
    }
    checks.push(Check::equal(
        "unexpired holds left",
        state.unexpired_holds,
        0,
    ));
    checks.push(Check::equal(
        "users over max_per_user",
        state.users_over_limit,
        0,
    ));
    checks.push(Check::equal(
        "offers out of list order",
        state.offers_out_of_order,
        0,
    ));
    checks
}

impl Check {
    fn equal(label: &str, actual: i64, expected: i64) -> Self {
        Self {
            label: label.to_owned(),
            actual: actual.to_string(),
            expected: expected.to_string(),
            ok: actual == expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLD_OUT: SaleState = SaleState {
        event_id: 1,
        capacity: 1000,
        counter: 1000,
        confirmed: 1000,
        confirmed_seats: 1000,
        users_over_limit: 0,
    };
    const TOLD: Responses = Responses {
        created: 1000,
        sold_out: 9000,
        already_booked: 0,
        other_conflicts: 0,
        other: 0,
    };
    const PROOF: Expected = Expected {
        capacity: Some(1000),
        sold_out: true,
        attempts: Some(10_000),
    };

    fn failed_labels(state: SaleState, told: Responses) -> Vec<String> {
        check(&state, Some(&told), &PROOF)
            .checks
            .into_iter()
            .filter(|check| !check.ok)
            .map(|check| check.label)
            .collect()
    }

    #[test]
    fn an_exact_sale_passes() {
        let verdict = check(&SOLD_OUT, Some(&TOLD), &PROOF);
        assert!(verdict.is_ok(), "{:?}", verdict.failures());
    }

    #[test]
    fn every_kind_of_wrong_sale_is_caught() {
        let oversold = SaleState {
            counter: 1000,
            confirmed: 1001,
            confirmed_seats: 1001,
            ..SOLD_OUT
        };
        let oversold_told = Responses {
            created: 1001,
            sold_out: 8999,
            ..TOLD
        };
        assert_eq!(
            failed_labels(oversold, oversold_told),
            ["confirmed bookings in DB", "events.booked counter"]
        );
        let undersold = SaleState {
            counter: 999,
            confirmed: 999,
            confirmed_seats: 999,
            ..SOLD_OUT
        };
        assert_eq!(
            failed_labels(undersold, TOLD),
            ["201 booked", "409 sold_out", "confirmed bookings in DB"]
        );
        let over_limit = SaleState {
            users_over_limit: 1,
            ..SOLD_OUT
        };
        assert_eq!(failed_labels(over_limit, TOLD), ["users over max_per_user"]);
        let drifted = SaleState {
            counter: 999,
            ..SOLD_OUT
        };
        assert_eq!(failed_labels(drifted, TOLD), ["events.booked counter"]);
        let errors = Responses {
            sold_out: 8990,
            other: 10,
            ..TOLD
        };
        assert_eq!(
            failed_labels(SOLD_OUT, errors),
            ["409 sold_out", "other statuses"]
        );
    }

    #[test]
    fn a_sale_that_need_not_sell_out_only_stays_within_capacity() {
        let half = SaleState {
            counter: 500,
            confirmed: 500,
            confirmed_seats: 500,
            ..SOLD_OUT
        };
        assert!(check(&half, None, &Expected::default()).is_ok());
        let over = SaleState {
            counter: 1001,
            confirmed: 1001,
            confirmed_seats: 1001,
            ..SOLD_OUT
        };
        let verdict = check(&over, None, &Expected::default());
        assert_eq!(
            verdict.failures(),
            ["confirmed bookings in DB is 1001, expected <= 1000"]
        );
    }

    const CHECKED_OUT: CheckoutState = CheckoutState {
        event_id: 2,
        capacity: 1000,
        counter: 1000,
        max_per_user: 4,
        confirmed_bookings: 400,
        confirmed_seats: 1000,
        unexpired_holds: 0,
        users_over_limit: 0,
        waitlist_entries: 600,
        waitlist_offers: 150,
        offers_out_of_order: 0,
    };

    fn checkout_failures(state: CheckoutState, told: Option<&CheckoutSummary>) -> Vec<String> {
        check_checkout(&state, told, Some(1000))
            .into_iter()
            .filter(|check| !check.ok)
            .map(|check| check.label)
            .collect()
    }

    #[test]
    fn a_finished_checkout_passes_and_each_violation_is_caught() {
        let told = CheckoutSummary {
            confirmed: 400,
            confirmed_seats: 1000,
            ..CheckoutSummary::default()
        };
        assert!(checkout_failures(CHECKED_OUT, Some(&told)).is_empty());
        let cases = [
            (
                CheckoutState {
                    unexpired_holds: 1,
                    ..CHECKED_OUT
                },
                "unexpired holds left",
            ),
            (
                CheckoutState {
                    users_over_limit: 1,
                    ..CHECKED_OUT
                },
                "users over max_per_user",
            ),
            (
                CheckoutState {
                    offers_out_of_order: 2,
                    ..CHECKED_OUT
                },
                "offers out of list order",
            ),
            (
                CheckoutState {
                    counter: 999,
                    ..CHECKED_OUT
                },
                "events.booked counter",
            ),
        ];
        for (state, label) in cases {
            assert_eq!(checkout_failures(state, None), [label]);
        }
        let unsold = CheckoutState {
            counter: 998,
            confirmed_seats: 998,
            confirmed_bookings: 399,
            ..CHECKED_OUT
        };
        assert_eq!(
            checkout_failures(unsold, Some(&told)),
            [
                "201 confirmed (k6)",
                "seats confirmed (k6)",
                "confirmed seats in DB"
            ]
        );
        let odd = CheckoutSummary {
            unexpected: 3,
            ..told
        };
        assert_eq!(
            checkout_failures(CHECKED_OUT, Some(&odd)),
            ["unexpected answers (k6)"]
        );
    }

    #[test]
    fn the_checkout_summary_counts_every_unexpected_answer() {
        let summary = CheckoutSummary::from_json(
            r#"{"state": {"testRunDurationMs": 60000},
                "metrics": {
                  "confirm_201": {"values": {"count": 400}},
                  "confirm_seats": {"values": {"count": 1000}},
                  "hold_409_sold_out": {"values": {"count": 500}},
                  "hold_409_not_enough_seats": {"values": {"count": 3}},
                  "hold_other": {"values": {"count": 1}},
                  "poll_other": {"values": {"count": 2}},
                  "join_409_other_code": {"values": {"count": 4}},
                  "unexpected": {"values": {"rate": 0.01},
                                 "thresholds": {"rate == 0": {"ok": false}}}}}"#,
        )
        .unwrap();
        assert_eq!(
            (
                summary.confirmed,
                summary.confirmed_seats,
                summary.holds_refused
            ),
            (400, 1000, 503)
        );
        assert_eq!(summary.unexpected, 7);
        assert_eq!(summary.duration_seconds, 60.0);
        assert_eq!(summary.failed_thresholds, ["unexpected:rate==0"]);
    }

    #[test]
    fn the_k6_summary_is_read_with_its_failed_thresholds() {
        let summary = K6Summary::from_json(
            r#"{"state": {"testRunDurationMs": 2500},
                "metrics": {
                  "status_201": {"values": {"count": 1000}},
                  "status_409_sold_out": {"values": {"count": 9000}},
                  "http_reqs": {"values": {"count": 10000, "rate": 4000.5}},
                  "booking_duration": {"values": {"p(95)": 300.0, "p(99)": 350.0}},
                  "unexpected_status": {"values": {"rate": 0.01},
                                        "thresholds": {"rate == 0": {"ok": false}}}}}"#,
        )
        .unwrap();
        assert_eq!(summary.responses, TOLD);
        assert_eq!(summary.duration_seconds, 2.5);
        assert_eq!(summary.failed_thresholds, ["unexpected_status:rate==0"]);
    }
}
