//! The one seat-taking transaction, `take_seats`
//! (migrations/functions/take_seats.sql), shared by bookings and holds, and
//! the refusal codes every seat-changing function answers with.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::{BookingRefusal, PassRefusal, Resource};

/// Locks the event row (unless it is sold out by its counter) until the
/// transaction commits: when called on its own, one round trip.
const TAKE_SEATS: &str = "
    SELECT ordinal, outcome, detail, id, created_at, expires_at
      FROM take_seats($1, $2, $3, $4)";

/// What `take_seats` makes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Booking,
    Hold,
}

/// One request's seats as taken: the new row's id and timestamps.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub id: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Holds only.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Takes seats for each `(user_id, quantity)` of one event, judged in order,
/// in one transaction; one result per request, in order.
pub async fn take(
    client: &impl GenericClient,
    event_id: i64,
    requests: &[(i64, i32)],
    kind: Kind,
) -> Result<Vec<Result<Taken, BookingRefusal>>, DbError> {
    let (user_ids, quantities): (Vec<i64>, Vec<i32>) = requests.iter().copied().unzip();
    let kind = match kind {
        Kind::Booking => "booking",
        Kind::Hold => "hold",
    };
    let statement = client.prepare_cached(TAKE_SEATS).await?;
    let rows = client
        .query(&statement, &[&event_id, &user_ids, &quantities, &kind])
        .await?;
    if rows.len() != requests.len() {
        return Err(DbError::unexpected(format!(
            "take_seats answered {} of {} requests",
            rows.len(),
            requests.len()
        )));
    }
    rows.iter()
        .map(|row| {
            let outcome: &str = column(row, "outcome")?;
            Ok(match outcome {
                "booked" | "held" => Ok(Taken {
                    id: column(row, "id")?,
                    created_at: column(row, "created_at")?,
                    expires_at: column(row, "expires_at")?,
                }),
                refusal => Err(refusal_from_row(refusal, row)?),
            })
        })
        .collect()
}

/// The refusal a V6 function's `outcome` names. `detail` (seats left, the
/// limit) and an id column (`booking_id`, `entry_id`) complete it where the
/// function returns them.
pub fn refusal_from_row(outcome: &str, row: &Row) -> Result<BookingRefusal, DbError> {
    let detail = || -> Result<i32, DbError> {
        column::<Option<i32>>(row, "detail")?
            .ok_or_else(|| DbError::unexpected(format!("{outcome} came without its detail")))
    };
    let id = |name: &str| -> Result<i64, DbError> {
        column::<Option<i64>>(row, name)?
            .ok_or_else(|| DbError::unexpected(format!("{outcome} came without {name}")))
    };
    Ok(match outcome {
        "sold_out" => BookingRefusal::SoldOut,
        "not_enough_seats" => BookingRefusal::NotEnoughSeats {
            remaining: detail()?,
        },
        "limit_exceeded" => BookingRefusal::LimitExceeded {
            max_per_user: detail()?,
        },
        "already_booked" => BookingRefusal::AlreadyBooked,
        "hold_expired" => BookingRefusal::HoldExpired,
        "hold_released" => BookingRefusal::HoldReleased,
        "hold_confirmed" => BookingRefusal::HoldConfirmed {
            booking_id: id("booking_id")?,
        },
        "seats_available" => BookingRefusal::SeatsAvailable {
            remaining: detail()?,
        },
        "already_waiting" => BookingRefusal::AlreadyWaiting {
            entry_id: id("entry_id")?,
        },
        // The database's waiting-room gate (take_seats, join_waitlist).
        "admission_required" => BookingRefusal::AdmissionRequired(PassRefusal::Missing),
        "event_not_found" => BookingRefusal::NotFound(Resource::Event),
        "user_not_found" => BookingRefusal::NotFound(Resource::User),
        "hold_not_found" => BookingRefusal::NotFound(Resource::Hold),
        "entry_not_found" => BookingRefusal::NotFound(Resource::WaitlistEntry),
        other => {
            return Err(DbError::unexpected(format!(
                "a seat function returned unknown outcome {other:?}"
            )))
        }
    })
}
