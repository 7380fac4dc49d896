//! The queue check (`verify --queue`), the third proof's: a sale behind the
//! waiting room (k6/queue.js) sold exactly its capacity, every booking was
//! made with an admission pass (each used once), nobody was let in before
//! their turn, the line's places are 1..joined with no gap or repeat, and
//! every buyer ended with a final answer.

use serde::Serialize;
use serde_json::Value;
use tokio_postgres::GenericClient;

use super::{failed_thresholds, Check};

/// One read of the event and its line (one statement, one snapshot).
/// "Before their turn": a pass issued (expiry − pass_seconds) before the
/// instant its place was admitted, opens_at + place / rate (less 1 ms for
/// the rounding of that instant to microseconds).
const SELECT_QUEUE_STATE: &str = "
    SELECT e.capacity::BIGINT,
           e.booked::BIGINT,
           (SELECT coalesce(sum(b.quantity), 0)::BIGINT FROM bookings b
             WHERE b.event_id = e.id AND b.status = 'confirmed'),
           (SELECT count(*) FROM bookings b WHERE b.event_id = e.id),
           (SELECT count(*) FROM bookings b
             WHERE b.event_id = e.id
               AND NOT EXISTS (SELECT 1 FROM queue_tickets q WHERE q.booking_id = b.id)),
           (SELECT count(*) FROM holds h WHERE h.event_id = e.id),
           (SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id),
           (SELECT count(DISTINCT q.place) FROM queue_tickets q
             WHERE q.event_id = e.id AND q.place BETWEEN 1 AND
                   (SELECT count(*) FROM queue_tickets t WHERE t.event_id = e.id)),
           (SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id AND q.early),
           (SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id
               AND q.pass_expires_at IS NOT NULL),
           (SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id
               AND q.pass_used_at IS NOT NULL),
           (SELECT count(*) FROM queue_tickets q JOIN waiting_rooms w USING (event_id)
             WHERE q.event_id = e.id AND q.pass_expires_at IS NOT NULL
               AND q.pass_expires_at - make_interval(secs => w.pass_seconds)
                   < w.opens_at + make_interval(secs => q.place::FLOAT8 / w.admission_per_second)
                     - INTERVAL '1 millisecond'),
           (SELECT count(*) FROM queue_tickets q WHERE q.event_id = e.id
               AND q.pass_outcome IS NOT NULL AND q.pass_outcome NOT IN ('booked', 'sold_out'))
      FROM events e WHERE e.id = $1";

/// What the database holds for one sale behind the waiting room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueState {
    pub event_id: i64,
    pub capacity: i64,
    /// `events.booked`.
    pub counter: i64,
    pub confirmed_seats: i64,
    /// Booking rows of the event, and those no pass made.
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

impl QueueState {
    /// `None` when the event does not exist.
    pub async fn read(
        client: &impl GenericClient,
        event_id: i64,
    ) -> Result<Option<Self>, tokio_postgres::Error> {
        // After the opening, places are fixed at the first read; fix them.
        client
            .execute(
                "SELECT rank_early($1) FROM waiting_rooms WHERE event_id = $1",
                &[&event_id],
            )
            .await?;
        let row = client.query_opt(SELECT_QUEUE_STATE, &[&event_id]).await?;
        row.map(|row| {
            Ok(Self {
                event_id,
                capacity: row.try_get(0)?,
                counter: row.try_get(1)?,
                confirmed_seats: row.try_get(2)?,
                bookings: row.try_get(3)?,
                bookings_without_pass: row.try_get(4)?,
                holds: row.try_get(5)?,
                tickets: row.try_get(6)?,
                distinct_places: row.try_get(7)?,
                early_tickets: row.try_get(8)?,
                passes_issued: row.try_get(9)?,
                passes_used: row.try_get(10)?,
                passes_before_turn: row.try_get(11)?,
                passes_other_outcome: row.try_get(12)?,
            })
        })
        .transpose()
    }
}

/// The queue load as `k6/queue.js` summarised it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueSummary {
    pub buyers: i64,
    /// `201`s to `POST /events/{id}/queue`.
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
    pub duration_seconds: f64,
    pub requests_per_second: f64,
    pub failed_thresholds: Vec<String>,
}

impl QueueSummary {
    /// Parses the JSON that `k6/queue.js`'s `handleSummary` writes.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let summary: Value = serde_json::from_str(text)?;
        let metrics = &summary["metrics"];
        let value = |metric: &str, key: &str| metrics[metric]["values"][key].as_f64();
        let count = |metric: &str| value(metric, "count").unwrap_or(0.0) as i64;
        let unexpected = [
            "join_other",
            "poll_other",
            "book_403",
            "book_409_other_code",
            "book_other",
        ]
        .into_iter()
        .map(count)
        .sum();
        Ok(Self {
            buyers: count("buyers"),
            joined: count("join_201"),
            booked: count("book_201"),
            sold_out: count("book_409_sold_out"),
            buyers_booked: count("buyers_booked"),
            buyers_sold_out: count("buyers_sold_out"),
            buyers_still_queued: count("buyers_still_queued"),
            buyers_without_answer: count("buyers_without_answer") + count("buyers_pass_lost"),
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

/// Compares a sale behind the waiting room in the database (and, when
/// given, what its buyers were told) with what it must have come to.
pub fn check_queue(
    state: &QueueState,
    told: Option<&QueueSummary>,
    capacity: Option<i64>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(told) = told {
        checks.push(Check::equal(
            "tickets (k6 201 joins)",
            told.joined,
            state.tickets,
        ));
        checks.push(Check::equal("201 booked (k6)", told.booked, state.bookings));
        checks.push(Check::equal(
            "passes used (k6 201 + 409)",
            told.booked + told.sold_out,
            state.passes_used,
        ));
        checks.push(Check::equal(
            "buyers with a final answer",
            told.buyers_booked + told.buyers_sold_out + told.buyers_still_queued,
            told.buyers,
        ));
        checks.push(Check::equal("unexpected answers (k6)", told.unexpected, 0));
    }
    if let Some(capacity) = capacity {
        checks.push(Check::equal("event capacity", state.capacity, capacity));
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
    checks.push(Check::equal(
        "bookings without a pass",
        state.bookings_without_pass,
        0,
    ));
    checks.push(Check::equal("holds (none taken)", state.holds, 0));
    checks.push(Check::equal(
        "places 1..tickets, once each",
        state.distinct_places,
        state.tickets,
    ));
    checks.push(Check::equal(
        "passes issued before turn",
        state.passes_before_turn,
        0,
    ));
    checks.push(Check::equal(
        "passes used, other answer",
        state.passes_other_outcome,
        0,
    ));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLD: QueueState = QueueState {
        event_id: 3,
        capacity: 1000,
        counter: 1000,
        confirmed_seats: 1000,
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

    fn told() -> QueueSummary {
        QueueSummary {
            buyers: 10_000,
            joined: 10_000,
            booked: 1000,
            sold_out: 5000,
            buyers_booked: 1000,
            buyers_sold_out: 5000,
            buyers_still_queued: 4000,
            ..QueueSummary::default()
        }
    }

    fn failed(state: QueueState, told: QueueSummary) -> Vec<String> {
        check_queue(&state, Some(&told), Some(1000))
            .into_iter()
            .filter(|check| !check.ok)
            .map(|check| check.label)
            .collect()
    }

    #[test]
    fn an_exact_queue_sale_passes() {
        assert!(failed(SOLD, told()).is_empty());
    }

    #[test]
    fn each_broken_rule_fails_its_check() {
        let cases: [(QueueState, QueueSummary, &str); 7] = [
            (
                QueueState {
                    confirmed_seats: 1001,
                    counter: 1001,
                    bookings: 1001,
                    ..SOLD
                },
                QueueSummary {
                    booked: 1001,
                    buyers_booked: 1001,
                    buyers_still_queued: 3999,
                    ..told()
                },
                "confirmed seats in DB",
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
                QueueSummary {
                    buyers_still_queued: 3999,
                    ..told()
                },
                "buyers with a final answer",
            ),
            (
                SOLD,
                QueueSummary {
                    booked: 999,
                    ..told()
                },
                "201 booked (k6)",
            ),
            (
                SOLD,
                QueueSummary {
                    unexpected: 1,
                    ..told()
                },
                "unexpected answers (k6)",
            ),
        ];
        for (state, summary, label) in cases {
            let failed = failed(state, summary);
            assert!(failed.iter().any(|l| l == label), "{label}: {failed:?}");
        }
    }
}
