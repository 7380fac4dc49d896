//! The queue proof (`verify --queue`, `run_tests.sh`'s third sale): a sale
//! behind the waiting room (`k6/queue.js`) sold exactly its capacity, every
//! booking was made with an admission pass (each used once), nobody was let
//! in before their turn, the line's places are 1..joined with no gap or
//! repeat, and every buyer ended with a final answer.

use serde::{Deserialize, Serialize};

use crate::k6::Metrics;
use crate::{Check, Proof, SaleState};

/// What this sale behind the waiting room should have come to: always sold
/// out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Queue {
    /// The event's capacity, when the caller knows it.
    pub capacity: Option<i64>,
}

/// What the database holds for one sale behind the waiting room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    #[serde(flatten)]
    pub sale: SaleState,
    /// Booking rows of the event (any status), and those no pass made.
    pub bookings: i64,
    pub bookings_without_pass: i64,
    /// Holds of the event (the load books directly: none).
    pub holds: i64,
    /// Tickets, and the distinct places among 1..tickets they hold.
    pub tickets: i64,
    pub distinct_places: i64,
    pub early_tickets: i64,
    pub passes_issued: i64,
    pub passes_used: i64,
    /// Passes issued before their place's turn came.
    pub passes_before_turn: i64,
    /// Passes used on an answer other than a seat or sold_out.
    pub passes_other_outcome: i64,
}

/// What the buyers of `k6/queue.js` were told.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueAnswers {
    pub buyers: i64,
    /// Buyers given a ticket by `POST /events/{id}/queue`: a `201`, or a
    /// `200` when a join repeated after a lost answer found the ticket the
    /// first attempt made (each buyer joins once).
    pub joined: i64,
    /// `201`s and `409 sold_out`s to `POST /bookings` with a pass.
    pub booked: i64,
    pub sold_out: i64,
    /// How the buyers ended.
    pub buyers_booked: i64,
    pub buyers_sold_out: i64,
    pub buyers_still_queued: i64,
    /// A pass refused (`403`) or lost, or a buyer without a ticket.
    pub buyers_without_answer: i64,
    /// Answers outside the API's documented ones, `403`s included.
    pub unexpected: i64,
}

impl Proof for Queue {
    type State = QueueState;
    type Told = QueueAnswers;
    const SCRIPT: &'static str = "k6/queue.js";
    const LATENCY: Option<&'static str> = None;
    /// "Before their turn": a pass issued (expiry − pass_seconds) before the
    /// instant its place was admitted, opens_at + place / rate (less 1 ms for
    /// the rounding of that instant to microseconds).
    const COLUMNS: &'static [&'static str] = &[
        "(SELECT count(*) FROM bookings b WHERE b.event_id = e.id) AS bookings",
        "(SELECT count(*) FROM bookings b
           WHERE b.event_id = e.id
             AND NOT EXISTS (SELECT 1 FROM queue_tickets q WHERE q.booking_id = b.id))
         AS bookings_without_pass",
        "(SELECT count(*) FROM holds h WHERE h.event_id = e.id) AS holds",
        "(SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id) AS tickets",
        "(SELECT count(DISTINCT q.place) FROM queue_tickets q
           WHERE q.event_id = e.id AND q.place BETWEEN 1 AND
                 (SELECT count(*) FROM queue_tickets t WHERE t.event_id = e.id))
         AS distinct_places",
        "(SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id AND q.early)
         AS early_tickets",
        "(SELECT count(*) FROM queue_tickets q
           WHERE q.event_id = e.id AND q.pass_expires_at IS NOT NULL) AS passes_issued",
        "(SELECT count(*) FROM queue_tickets q
           WHERE q.event_id = e.id AND q.pass_used_at IS NOT NULL) AS passes_used",
        "(SELECT count(*) FROM queue_tickets q JOIN waiting_rooms w USING (event_id)
           WHERE q.event_id = e.id AND q.pass_expires_at IS NOT NULL
             AND q.pass_expires_at - make_interval(secs => w.pass_seconds)
                 < w.opens_at + make_interval(secs => q.place::FLOAT8 / w.admission_per_second)
                   - INTERVAL '1 millisecond')
         AS passes_before_turn",
        "(SELECT count(*) FROM queue_tickets q
           WHERE q.event_id = e.id AND q.pass_outcome IS NOT NULL
             AND q.pass_outcome NOT IN ('booked', 'sold_out')) AS passes_other_outcome",
    ];
    /// After the opening, places are fixed at the first read; fix them.
    const SETTLE: Option<&'static str> =
        Some("SELECT rank_early($1) FROM waiting_rooms WHERE event_id = $1");

    fn told(metrics: &Metrics) -> QueueAnswers {
        QueueAnswers {
            buyers: metrics.count("buyers"),
            joined: metrics.sum(&["join_201", "join_200"]),
            booked: metrics.count("book_201"),
            sold_out: metrics.count("book_409_sold_out"),
            buyers_booked: metrics.count("buyers_booked"),
            buyers_sold_out: metrics.count("buyers_sold_out"),
            buyers_still_queued: metrics.count("buyers_still_queued"),
            buyers_without_answer: metrics.sum(&["buyers_without_answer", "buyers_pass_lost"]),
            unexpected: metrics.sum(&[
                "join_other",
                "poll_other",
                "book_403",
                "book_409_other_code",
                "book_other",
            ]),
        }
    }

    fn checks(&self, state: &QueueState, told: Option<&QueueAnswers>) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(told) = told {
            checks.extend([
                Check::equal("tickets (k6 201 + 200 joins)", told.joined, state.tickets),
                Check::equal("201 booked (k6)", told.booked, state.bookings),
                Check::equal(
                    "passes used (k6 201 + 409)",
                    told.booked + told.sold_out,
                    state.passes_used,
                ),
                Check::equal(
                    "buyers with a final answer",
                    told.buyers_booked + told.buyers_sold_out + told.buyers_still_queued,
                    told.buyers,
                ),
                Check::equal("unexpected answers (k6)", told.unexpected, 0),
            ]);
        }
        checks.push(Check::equal(
            "confirmed seats in DB",
            state.sale.confirmed_seats,
            state.sale.capacity,
        ));
        checks.extend(state.sale.kept_rules(self.capacity));
        checks.extend([
            Check::equal("bookings without a pass", state.bookings_without_pass, 0),
            Check::equal("holds (none taken)", state.holds, 0),
            Check::equal(
                "places 1..tickets, once each",
                state.distinct_places,
                state.tickets,
            ),
            Check::equal("passes issued before turn", state.passes_before_turn, 0),
            Check::equal("passes used, other answer", state.passes_other_outcome, 0),
        ]);
        checks
    }

    fn state_figures(state: &QueueState) -> Vec<(&'static str, i64)> {
        vec![
            ("tickets joined early", state.early_tickets),
            ("passes issued", state.passes_issued),
            ("passes used", state.passes_used),
        ]
    }

    fn told_figures(told: &QueueAnswers) -> Vec<(&'static str, i64)> {
        vec![
            ("buyers (k6)", told.buyers),
            ("booked (k6)", told.buyers_booked),
            ("sold out (k6)", told.buyers_sold_out),
            ("still queued (k6)", told.buyers_still_queued),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{failed_labels, SOLD_OUT};

    const SOLD: QueueState = QueueState {
        sale: SOLD_OUT,
        bookings: 1000,
        bookings_without_pass: 0,
        holds: 0,
        tickets: 10_000,
        distinct_places: 10_000,
        early_tickets: 5_000,
        passes_issued: 6_000,
        passes_used: 6_000,
        passes_before_turn: 0,
        passes_other_outcome: 0,
    };

    fn told() -> QueueAnswers {
        QueueAnswers {
            buyers: 10_000,
            joined: 10_000,
            booked: 1000,
            sold_out: 5000,
            buyers_booked: 1000,
            buyers_sold_out: 5000,
            buyers_still_queued: 4000,
            ..QueueAnswers::default()
        }
    }

    fn failed(state: QueueState, told: QueueAnswers) -> Vec<String> {
        let proof = Queue {
            capacity: Some(1000),
        };
        failed_labels(proof.checks(&state, Some(&told)))
    }

    #[test]
    fn an_exact_queue_sale_passes() {
        assert!(failed(SOLD, told()).is_empty());
    }

    #[test]
    fn each_broken_rule_fails_its_check() {
        let oversold = SaleState {
            confirmed_seats: 1001,
            counter: 1001,
            confirmed: 1001,
            ..SOLD.sale
        };
        let cases: [(QueueState, QueueAnswers, &str); 8] = [
            (
                QueueState {
                    sale: oversold,
                    bookings: 1001,
                    ..SOLD
                },
                QueueAnswers {
                    booked: 1001,
                    buyers_booked: 1001,
                    buyers_still_queued: 3999,
                    ..told()
                },
                "confirmed seats in DB",
            ),
            (
                QueueState {
                    sale: SaleState {
                        users_over_limit: 1,
                        ..SOLD.sale
                    },
                    ..SOLD
                },
                told(),
                "users over max_per_user",
            ),
            (
                QueueState {
                    bookings_without_pass: 1,
                    ..SOLD
                },
                told(),
                "bookings without a pass",
            ),
            (
                QueueState {
                    passes_before_turn: 3,
                    ..SOLD
                },
                told(),
                "passes issued before turn",
            ),
            (
                QueueState {
                    distinct_places: 9_999,
                    ..SOLD
                },
                told(),
                "places 1..tickets, once each",
            ),
            (
                SOLD,
                QueueAnswers {
                    buyers_still_queued: 3999,
                    ..told()
                },
                "buyers with a final answer",
            ),
            (
                SOLD,
                QueueAnswers {
                    booked: 999,
                    ..told()
                },
                "201 booked (k6)",
            ),
            (
                SOLD,
                QueueAnswers {
                    unexpected: 1,
                    ..told()
                },
                "unexpected answers (k6)",
            ),
        ];
        for (state, answers, label) in cases {
            let failed = failed(state, answers);
            assert!(failed.iter().any(|l| l == label), "{label}: {failed:?}");
        }
    }
}
