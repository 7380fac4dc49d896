//! The checkout proof (`verify --checkout`, `run_tests.sh`'s second sale):
//! buyers hold seats, confirm or walk away, and wait on the waiting list
//! (`k6/checkout.js`). The sale must end with every seat confirmed and the
//! counter agreeing, no hold still keeping seats, nobody over the limit, and
//! the waiting list's offers made in list order.

use serde::{Deserialize, Serialize};

use crate::k6::Metrics;
use crate::{Check, Proof, SaleState};

/// What this checkout sale should have come to: always sold out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checkout {
    /// The event's capacity, when the caller knows it.
    pub capacity: Option<i64>,
}

/// What the database holds for one checkout sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutState {
    #[serde(flatten)]
    pub sale: SaleState,
    /// Holds still `held` whose `expires_at` is in the future (at the
    /// statement's `now()`).
    pub unexpired_holds: i64,
    /// Waiting-list entries, and those that were offered seats.
    pub waitlist_entries: i64,
    pub waitlist_offers: i64,
    /// Entries offered seats while an earlier entry that fitted was passed
    /// over (see [`Checkout::COLUMNS`]).
    pub offers_out_of_order: i64,
}

/// What the buyers of `k6/checkout.js` were told.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckoutAnswers {
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
}

impl Proof for Checkout {
    type State = CheckoutState;
    type Told = CheckoutAnswers;
    const SCRIPT: &'static str = "k6/checkout.js";
    const LATENCY: Option<&'static str> = Some("checkout_request_duration");
    /// An offer out of order: waiting-list entries A before B (A.id < B.id)
    /// where A asked for no more seats than B, B got an offer (hold hb), and
    /// A got no offer or a later one (ha.id > hb.id) although it had not
    /// left before hb was made. `make_offers` walks the list in id order and
    /// offers to every entry whose quantity fits what is free, so when B's
    /// quantity fit, A's did too and A was offered first (hold ids are
    /// handed out in order).
    const COLUMNS: &'static [&'static str] = &[
        "(SELECT count(*) FROM holds h
           WHERE h.event_id = e.id AND h.status = 'held'
             AND h.expires_at > now()) AS unexpired_holds",
        "(SELECT count(*) FROM waitlist_entries w WHERE w.event_id = e.id) AS waitlist_entries",
        "(SELECT count(*) FROM waitlist_entries w
           WHERE w.event_id = e.id AND w.hold_id IS NOT NULL) AS waitlist_offers",
        "(SELECT count(*) FROM waitlist_entries b
            JOIN holds hb ON hb.id = b.hold_id
           WHERE b.event_id = e.id
             AND EXISTS (SELECT 1 FROM waitlist_entries a
                          WHERE a.event_id = b.event_id
                            AND a.id < b.id
                            AND a.quantity <= b.quantity
                            AND (a.hold_id IS NULL OR a.hold_id > hb.id)
                            AND (a.left_at IS NULL OR a.left_at > hb.created_at)))
         AS offers_out_of_order",
    ];

    fn told(metrics: &Metrics) -> CheckoutAnswers {
        CheckoutAnswers {
            confirmed: metrics.count("confirm_201"),
            confirmed_seats: metrics.count("confirm_seats"),
            holds: metrics.count("hold_201"),
            holds_refused: metrics.sum(&["hold_409_sold_out", "hold_409_not_enough_seats"]),
            waitlist_joined: metrics.count("join_201"),
            offers_seen: metrics.count("offers_seen"),
            offers_declined: metrics.count("offers_declined"),
            walked_away: metrics.count("holds_walked_away"),
            confirm_too_late: metrics.count("confirm_409_hold_expired"),
            gave_up: metrics.count("buyers_gave_up"),
            unexpected: metrics.sum(&[
                "hold_409_other_code",
                "hold_other",
                "confirm_409_other_code",
                "confirm_other",
                "join_409_other_code",
                "join_other",
                "poll_other",
                "leave_other",
                "event_other",
            ]),
        }
    }

    fn checks(&self, state: &CheckoutState, told: Option<&CheckoutAnswers>) -> Vec<Check> {
        let sale = &state.sale;
        let mut checks = Vec::new();
        if let Some(told) = told {
            // Every 201 to a confirm is a confirmed row, and nothing else
            // made one.
            checks.push(Check::equal(
                "201 confirmed (k6)",
                told.confirmed,
                sale.confirmed,
            ));
            checks.push(Check::equal(
                "seats confirmed (k6)",
                told.confirmed_seats,
                sale.confirmed_seats,
            ));
            checks.push(Check::equal("unexpected answers (k6)", told.unexpected, 0));
        }
        checks.push(Check::equal(
            "confirmed seats in DB",
            sale.confirmed_seats,
            sale.capacity,
        ));
        checks.extend(sale.kept_rules(self.capacity));
        checks.push(Check::equal(
            "unexpired holds left",
            state.unexpired_holds,
            0,
        ));
        checks.push(Check::equal(
            "offers out of list order",
            state.offers_out_of_order,
            0,
        ));
        checks
    }

    fn state_figures(state: &CheckoutState) -> Vec<(&'static str, i64)> {
        vec![
            ("event max_per_user", state.sale.max_per_user),
            ("confirmed bookings", state.sale.confirmed),
            ("waiting-list entries", state.waitlist_entries),
            ("waiting-list offers", state.waitlist_offers),
        ]
    }

    fn told_figures(told: &CheckoutAnswers) -> Vec<(&'static str, i64)> {
        vec![
            ("201 holds (k6)", told.holds),
            ("holds refused (k6)", told.holds_refused),
            ("holds walked away (k6)", told.walked_away),
            ("waiting list joined (k6)", told.waitlist_joined),
            ("offers seen (k6)", told.offers_seen),
            ("offers declined (k6)", told.offers_declined),
            ("confirms too late (k6)", told.confirm_too_late),
            ("buyers at a bound (k6)", told.gave_up),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{failed_labels, SOLD_OUT};

    /// 1,000 seats in 400 bookings of up to 4.
    const CHECKED_OUT: CheckoutState = CheckoutState {
        sale: SaleState {
            max_per_user: 4,
            confirmed: 400,
            ..SOLD_OUT
        },
        unexpired_holds: 0,
        waitlist_entries: 600,
        waitlist_offers: 150,
        offers_out_of_order: 0,
    };

    fn told() -> CheckoutAnswers {
        CheckoutAnswers {
            confirmed: 400,
            confirmed_seats: 1000,
            ..CheckoutAnswers::default()
        }
    }

    fn failed(state: CheckoutState, told: Option<&CheckoutAnswers>) -> Vec<String> {
        let proof = Checkout {
            capacity: Some(1000),
        };
        failed_labels(proof.checks(&state, told))
    }

    #[test]
    fn a_finished_checkout_passes_and_each_violation_is_caught() {
        assert!(failed(CHECKED_OUT, Some(&told())).is_empty());
        let sale = CHECKED_OUT.sale;
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
                    sale: SaleState {
                        users_over_limit: 1,
                        ..sale
                    },
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
                    sale: SaleState {
                        counter: 999,
                        ..sale
                    },
                    ..CHECKED_OUT
                },
                "events.booked counter",
            ),
        ];
        for (state, label) in cases {
            assert_eq!(failed(state, None), [label]);
        }
        let unsold = CheckoutState {
            sale: SaleState {
                counter: 998,
                confirmed_seats: 998,
                confirmed: 399,
                ..sale
            },
            ..CHECKED_OUT
        };
        assert_eq!(
            failed(unsold, Some(&told())),
            [
                "201 confirmed (k6)",
                "seats confirmed (k6)",
                "confirmed seats in DB"
            ]
        );
        let odd = CheckoutAnswers {
            unexpected: 3,
            ..told()
        };
        assert_eq!(failed(CHECKED_OUT, Some(&odd)), ["unexpected answers (k6)"]);
    }

    #[test]
    fn the_summary_counts_every_unexpected_answer() {
        let load = Checkout::load(
            r#"{"state": {"testRunDurationMs": 60000},
                "metrics": {
                  "confirm_201": {"values": {"count": 400}},
                  "confirm_seats": {"values": {"count": 1000}},
                  "hold_409_sold_out": {"values": {"count": 500}},
                  "hold_409_not_enough_seats": {"values": {"count": 3}},
                  "hold_other": {"values": {"count": 1}},
                  "poll_other": {"values": {"count": 2}},
                  "join_409_other_code": {"values": {"count": 4}}}}"#,
        )
        .unwrap();
        let told = load.told;
        assert_eq!(
            (told.confirmed, told.confirmed_seats, told.holds_refused),
            (400, 1000, 503)
        );
        assert_eq!(told.unexpected, 7);
    }

    #[test]
    fn the_state_reads_from_the_json_the_columns_name() {
        let row = r#"{"event_id": 1, "capacity": 1000, "counter": 1000, "max_per_user": 4,
                      "confirmed": 400, "confirmed_seats": 1000, "users_over_limit": 0,
                      "unexpired_holds": 0, "waitlist_entries": 600, "waitlist_offers": 150,
                      "offers_out_of_order": 0}"#;
        let state: CheckoutState = serde_json::from_str(row).unwrap();
        assert_eq!(state, CHECKED_OUT);
        assert_eq!(
            serde_json::to_value(state).unwrap(),
            serde_json::from_str::<serde_json::Value>(row).unwrap()
        );
    }
}
