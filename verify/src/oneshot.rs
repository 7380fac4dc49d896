//! The one-shot proof (`verify`, `run_tests.sh`'s first sale, `bench/`,
//! `faults/` and the integration tests): buyers ask for seats at once
//! (`k6/booking.js`), and the event must have sold no more than its capacity
//! (exactly its capacity when it should have sold out), its counter must
//! agree with its confirmed seats, nobody may hold more than `max_per_user`,
//! and the clients must have been told exactly what the database holds.

use serde::Serialize;

use crate::k6::Metrics;
use crate::{Check, Proof, SaleState};

/// What this one-shot sale should have come to.
#[derive(Debug, Clone, Copy, Default)]
pub struct OneShot {
    /// The event's capacity, when the caller knows it.
    pub capacity: Option<i64>,
    /// The sale must have sold every seat.
    pub sold_out: bool,
    /// Booking attempts, each by a different user: then every answer but a
    /// `201` must be `409 sold_out`.
    pub attempts: Option<i64>,
}

/// What the clients of a one-shot load were told, counted by answer.
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

impl Proof for OneShot {
    type State = SaleState;
    type Told = Responses;
    const SCRIPT: &'static str = "k6/booking.js";
    const LATENCY: Option<&'static str> = Some("booking_duration");
    const COLUMNS: &'static [&'static str] = &[];

    fn told(metrics: &Metrics) -> Responses {
        Responses {
            created: metrics.count("status_201"),
            sold_out: metrics.count("status_409_sold_out"),
            already_booked: metrics.count("status_409_already_booked"),
            other_conflicts: metrics.count("status_409_other_code"),
            other: metrics.count("status_other"),
        }
    }

    fn checks(&self, state: &SaleState, told: Option<&Responses>) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(told) = told {
            if let Some(attempts) = self.attempts {
                checks.push(Check::equal("booking attempts", told.attempts(), attempts));
            }
            // Every 201 is a confirmed row and every confirmed row was a 201.
            checks.push(Check::equal("201 booked", told.created, state.confirmed));
            if let Some(attempts) = self.attempts {
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
        // Rows, one seat each in this sale; the counter's check below
        // bounds the seats when bookings carry several.
        checks.push(if self.sold_out {
            Check::equal("confirmed bookings in DB", state.confirmed, state.capacity)
        } else {
            Check::at_most("confirmed bookings in DB", state.confirmed, state.capacity)
        });
        checks.extend(state.kept_rules(self.capacity));
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{failed_labels, failures, SOLD_OUT};
    const TOLD: Responses = Responses {
        created: 1000,
        sold_out: 9000,
        already_booked: 0,
        other_conflicts: 0,
        other: 0,
    };
    const PROOF: OneShot = OneShot {
        capacity: Some(1000),
        sold_out: true,
        attempts: Some(10_000),
    };

    fn failed(state: SaleState, told: Responses) -> Vec<String> {
        failed_labels(PROOF.checks(&state, Some(&told)))
    }

    #[test]
    fn an_exact_sale_passes() {
        let verdict = PROOF.verdict(SOLD_OUT, None);
        assert!(verdict.ok, "{:?}", verdict.failures);
        assert!(failed(SOLD_OUT, TOLD).is_empty());
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
            failed(oversold, oversold_told),
            ["confirmed bookings in DB", "events.booked counter"]
        );
        let undersold = SaleState {
            counter: 999,
            confirmed: 999,
            confirmed_seats: 999,
            ..SOLD_OUT
        };
        assert_eq!(
            failed(undersold, TOLD),
            ["201 booked", "409 sold_out", "confirmed bookings in DB"]
        );
        let over_limit = SaleState {
            users_over_limit: 1,
            ..SOLD_OUT
        };
        assert_eq!(failed(over_limit, TOLD), ["users over max_per_user"]);
        let drifted = SaleState {
            counter: 999,
            ..SOLD_OUT
        };
        assert_eq!(failed(drifted, TOLD), ["events.booked counter"]);
        let errors = Responses {
            sold_out: 8990,
            other: 10,
            ..TOLD
        };
        assert_eq!(failed(SOLD_OUT, errors), ["409 sold_out", "other statuses"]);
        let other_event = OneShot {
            capacity: Some(999),
            ..PROOF
        };
        assert_eq!(
            failures(&other_event.checks(&SOLD_OUT, None)),
            ["event capacity is 1000, expected 999"]
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
        assert!(OneShot::default().verdict(half, None).ok);
        let over = SaleState {
            counter: 1001,
            confirmed: 1001,
            confirmed_seats: 1001,
            ..SOLD_OUT
        };
        assert_eq!(
            OneShot::default().verdict(over, None).failures,
            ["confirmed bookings in DB is 1001, expected <= 1000"]
        );
    }

    #[test]
    fn a_failed_k6_threshold_fails_the_verdict() {
        let load = OneShot::load(
            r#"{"metrics": {
                  "status_201": {"values": {"count": 1000}},
                  "status_409_sold_out": {"values": {"count": 9000}},
                  "unexpected_status": {"values": {"rate": 0.01},
                                        "thresholds": {"rate == 0": {"ok": false}}}}}"#,
        )
        .unwrap();
        assert_eq!(load.told, TOLD);
        let verdict = PROOF.verdict(SOLD_OUT, Some(load));
        assert!(verdict.checks.iter().all(|check| check.ok));
        assert_eq!(
            verdict.failures,
            ["k6 thresholds failed: unexpected_status:rate==0"]
        );
        assert!(!verdict.ok);
    }
}
