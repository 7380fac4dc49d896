//! The seat-taking calls, `take_seats` (migrations/functions/take_seats.sql)
//! and `take_seats_batch` (bookings and holds mixed, admission passes),
//! shared by bookings and holds, batched or not, and the refusal codes every
//! seat-changing function answers with.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::{
    Booking, BookingRefusal, BookingStatus, Hold, HoldStatus, Outcome, PassRefusal, Resource,
    SeatRequest,
};

/// Locks the event row (unless it is sold out by its counter) until the
/// transaction commits: when called on its own, one round trip. Requests of
/// one kind without a pass: a flash sale's batch.
const TAKE_SEATS: &str = "
    SELECT ordinal, outcome, detail, id, created_at, expires_at
      FROM take_seats($1, $2, $3, $4)";

/// Locks the event row, then the batch's ticket rows, until the transaction
/// commits. Rows in no particular order.
const TAKE_SEATS_BATCH: &str = "
    SELECT ordinal, outcome, detail, id, created_at, expires_at
      FROM take_seats_batch($1, $2, $3, $4, $5)";

/// What `take_seats` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Booking,
    Hold,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Booking => "booking",
            Kind::Hold => "hold",
        }
    }
}

/// One request for seats of an event: for whom, how many, what to make of
/// them, and the ticket of the admission pass it carries.
#[derive(Debug, Clone)]
pub struct SeatAsk {
    pub user_id: i64,
    pub quantity: i32,
    pub kind: Kind,
    pub ticket: Option<String>,
}

impl SeatAsk {
    pub fn new(request: SeatRequest, kind: Kind, ticket: Option<String>) -> Self {
        Self {
            user_id: request.user_id,
            quantity: request.quantity,
            kind,
            ticket,
        }
    }
}

/// One request's seats as taken: the new row's id and timestamps.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub id: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Holds only.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What one request's seats became: a booking or a hold, or why not.
#[derive(Debug, Clone)]
pub enum Made {
    Booking(Outcome<Booking>),
    Hold(Outcome<Hold>),
}

impl Made {
    /// `taken`, the answer to `ask` (a request of event `event_id`).
    fn of(
        event_id: i64,
        ask: &SeatAsk,
        taken: Result<Taken, BookingRefusal>,
    ) -> Result<Self, DbError> {
        Ok(match ask.kind {
            Kind::Booking => Made::Booking(taken.map(|taken| Booking {
                id: taken.id,
                event_id,
                user_id: ask.user_id,
                quantity: ask.quantity,
                status: BookingStatus::Confirmed,
                created_at: taken.created_at,
                cancelled_at: None,
            })),
            Kind::Hold => Made::Hold(match taken {
                Ok(taken) => Ok(Hold {
                    id: taken.id,
                    event_id,
                    user_id: ask.user_id,
                    quantity: ask.quantity,
                    status: HoldStatus::Held,
                    expires_at: taken
                        .expires_at
                        .ok_or_else(|| DbError::unexpected("a hold was made without expires_at"))?,
                    created_at: taken.created_at,
                    booking_id: None,
                }),
                Err(refusal) => Err(refusal),
            }),
        })
    }

    pub fn into_booking(self) -> Result<Outcome<Booking>, DbError> {
        match self {
            Made::Booking(outcome) => Ok(outcome),
            Made::Hold(_) => Err(DbError::unexpected("a booking was answered with a hold")),
        }
    }

    pub fn into_hold(self) -> Result<Outcome<Hold>, DbError> {
        match self {
            Made::Hold(outcome) => Ok(outcome),
            Made::Booking(_) => Err(DbError::unexpected("a hold was answered with a booking")),
        }
    }
}

/// Takes seats for each request of event `event_id`, judged in order, in one
/// statement (its own transaction, or the caller's); one answer per
/// request, in order.
pub async fn take(
    client: &impl GenericClient,
    event_id: i64,
    asks: &[&SeatAsk],
) -> Result<Vec<Made>, DbError> {
    let user_ids: Vec<i64> = asks.iter().map(|ask| ask.user_id).collect();
    let quantities: Vec<i32> = asks.iter().map(|ask| ask.quantity).collect();
    let first_kind = asks.first().map_or(Kind::Booking, |ask| ask.kind);
    let plain = asks
        .iter()
        .all(|ask| ask.kind == first_kind && ask.ticket.is_none());
    let rows = if plain {
        let statement = client.prepare_cached(TAKE_SEATS).await?;
        let kind = first_kind.as_str();
        client
            .query(&statement, &[&event_id, &user_ids, &quantities, &kind])
            .await?
    } else {
        let kinds: Vec<&str> = asks.iter().map(|ask| ask.kind.as_str()).collect();
        let tickets: Vec<Option<&str>> = asks.iter().map(|ask| ask.ticket.as_deref()).collect();
        let statement = client.prepare_cached(TAKE_SEATS_BATCH).await?;
        let rows = client
            .query(
                &statement,
                &[&event_id, &user_ids, &quantities, &kinds, &tickets],
            )
            .await?;
        let mut numbered = rows
            .into_iter()
            .map(|row| Ok((column::<i32>(&row, "ordinal")?, row)))
            .collect::<Result<Vec<_>, DbError>>()?;
        numbered.sort_by_key(|(ordinal, _)| *ordinal);
        numbered.into_iter().map(|(_, row)| row).collect()
    };
    if rows.len() != asks.len() {
        return Err(DbError::unexpected(format!(
            "a seat function answered {} of {} requests",
            rows.len(),
            asks.len()
        )));
    }
    rows.into_iter()
        .zip(asks)
        .map(|(row, ask)| {
            let outcome: &str = column(&row, "outcome")?;
            let taken = match outcome {
                "booked" | "held" => Ok(Taken {
                    id: column(&row, "id")?,
                    created_at: column(&row, "created_at")?,
                    expires_at: column(&row, "expires_at")?,
                }),
                refusal => Err(refusal_from_row(refusal, &row)?),
            };
            Made::of(event_id, ask, taken)
        })
        .collect()
}

/// Takes seats for one request (`take`).
pub async fn take_one(
    client: &impl GenericClient,
    request: SeatRequest,
    kind: Kind,
    ticket: Option<String>,
) -> Result<Made, DbError> {
    let ask = SeatAsk::new(request, kind, ticket);
    let mut made = take(client, request.event_id, &[&ask]).await?;
    Ok(made.remove(0))
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
        // The database's waiting-room gate (take_seats, join_waitlist) and
        // its check of a pass (take_seats_batch).
        "admission_required" => BookingRefusal::AdmissionRequired(PassRefusal::Missing),
        "pass_invalid" => BookingRefusal::AdmissionRequired(PassRefusal::WrongHolder),
        "pass_used" => BookingRefusal::AdmissionRequired(PassRefusal::Used),
        "pass_expired" => BookingRefusal::AdmissionRequired(PassRefusal::Expired),
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
