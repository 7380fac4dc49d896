//! The exact-sale check, written once: the event sold no more than its
//! capacity (exactly its capacity when it should have sold out), its counter
//! agrees with its confirmed booking rows, nobody holds two seats, and the
//! clients were told exactly what the database holds.
//!
//! The integration tests call [`check`] directly; `run_tests.sh`, `faults/`
//! and `bench/` call it through the `verify` binary (`src/bin/verify.rs`),
//! which reads the database and, optionally, the k6 summary of the load.

use serde::Serialize;
use serde_json::Value;
use tokio_postgres::GenericClient;

/// One read of the event's seats, consistent within itself (one statement).
const SELECT_SALE_STATE: &str = "
    SELECT e.capacity::BIGINT,
           e.booked::BIGINT,
           (SELECT count(*) FROM bookings b
             WHERE b.event_id = e.id AND b.status = 'confirmed'),
           (SELECT count(*) FROM (SELECT user_id FROM bookings
                                   WHERE event_id = e.id AND status = 'confirmed'
                                   GROUP BY user_id HAVING count(*) > 1) AS doubled)
      FROM events e WHERE e.id = $1";

/// What the database holds for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SaleState {
    pub event_id: i64,
    pub capacity: i64,
    /// `events.booked`, the counter the booking functions keep.
    pub counter: i64,
    /// Confirmed booking rows.
    pub confirmed: i64,
    pub users_booked_twice: i64,
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
                users_booked_twice: row.try_get(3)?,
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
        let mut failed_thresholds = Vec::new();
        if let Some(metrics) = metrics.as_object() {
            for (metric, body) in metrics {
                let Some(thresholds) = body["thresholds"].as_object() else {
                    continue;
                };
                for (expression, result) in thresholds {
                    if result["ok"] == Value::Bool(false) {
                        failed_thresholds.push(format!("{metric}:{}", expression.replace(' ', "")));
                    }
                }
            }
        }
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
            failed_thresholds,
        })
    }
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
        self.checks
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
    checks.push(Check::equal(
        "events.booked counter",
        state.counter,
        state.confirmed,
    ));
    if let Some(capacity) = expected.capacity {
        checks.push(Check::equal("event capacity", state.capacity, capacity));
    }
    checks.push(Check::equal(
        "users with 2+ bookings",
        state.users_booked_twice,
        0,
    ));
    Verdict {
        state: *state,
        checks,
    }
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
        users_booked_twice: 0,
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
            ..SOLD_OUT
        };
        assert_eq!(
            failed_labels(undersold, TOLD),
            ["201 booked", "409 sold_out", "confirmed bookings in DB"]
        );
        let twice = SaleState {
            users_booked_twice: 1,
            ..SOLD_OUT
        };
        assert_eq!(failed_labels(twice, TOLD), ["users with 2+ bookings"]);
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
            ..SOLD_OUT
        };
        assert!(check(&half, None, &Expected::default()).is_ok());
        let over = SaleState {
            counter: 1001,
            confirmed: 1001,
            ..SOLD_OUT
        };
        let verdict = check(&over, None, &Expected::default());
        assert_eq!(
            verdict.failures(),
            ["confirmed bookings in DB is 1001, expected <= 1000"]
        );
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
