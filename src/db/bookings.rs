//! The booking transaction and the booking queries.
//!
//! Booking and cancelling each run as one call of a server-side function
//! (`book_seat` and `cancel_booking` in migrations/V2__booking_functions.sql,
//! `book_seats` for a batch in V3): the function takes `SELECT ... FOR
//! UPDATE` on the event row, checks capacity and the user's active booking
//! under that lock, inserts, and bumps the counter. Called on its own, the
//! call is its own implicit transaction and the lock is held for that one
//! round trip plus the commit. Called inside an idempotent request's
//! transaction (`crate::idempotency`), the lock is held until that
//! transaction commits: two more round trips (storing the response, COMMIT).
//! V2's header comment explains why no interleaving can oversell.

use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::{Booking, BookingOutcome, BookingStatus, NewBooking, PageRequest, Resource};

/// Locks the event row until this statement's implicit transaction commits.
const BOOK_SEAT: &str = "SELECT outcome, booking_id, booked_at FROM book_seat($1, $2)";

/// Locks the event row (unless it is sold out) until the implicit commit.
const BOOK_SEATS: &str = "
    SELECT ordinal, outcome, booking_id, booked_at FROM book_seats($1, $2)";

/// Locks the event row, then the booking row, until the implicit commit.
const CANCEL_BOOKING: &str = "
    SELECT id, event_id, user_id, status, created_at, cancelled_at
      FROM cancel_booking($1)";

const SELECT_BOOKING: &str = "
    SELECT id, event_id, user_id, status, created_at, cancelled_at
      FROM bookings WHERE id = $1";

const SELECT_EVENT_BOOKINGS: &str = "
    SELECT id, event_id, user_id, status, created_at, cancelled_at
      FROM bookings WHERE event_id = $1 AND id > $2
     ORDER BY id LIMIT $3";

const SELECT_USER_BOOKINGS: &str = "
    SELECT id, event_id, user_id, status, created_at, cancelled_at
      FROM bookings WHERE user_id = $1 AND id > $2
     ORDER BY id LIMIT $3";

pub async fn book(
    client: &impl GenericClient,
    request: NewBooking,
) -> Result<BookingOutcome, DbError> {
    let statement = client.prepare_cached(BOOK_SEAT).await?;
    let row = match client
        .query_one(&statement, &[&request.event_id, &request.user_id])
        .await
    {
        Ok(row) => row,
        Err(error) => return backstop_outcome(error),
    };
    outcome_from_row(&row, request.event_id, request.user_id)
}

fn outcome_from_row(row: &Row, event_id: i64, user_id: i64) -> Result<BookingOutcome, DbError> {
    let outcome: &str = column(row, "outcome")?;
    Ok(match outcome {
        "booked" => BookingOutcome::Booked(Booking {
            id: column(row, "booking_id")?,
            event_id,
            user_id,
            status: BookingStatus::Confirmed,
            created_at: column(row, "booked_at")?,
            cancelled_at: None,
        }),
        "sold_out" => BookingOutcome::SoldOut,
        "already_booked" => BookingOutcome::AlreadyBooked,
        "event_not_found" => BookingOutcome::EventNotFound,
        "user_not_found" => BookingOutcome::UserNotFound,
        other => {
            return Err(DbError::unexpected(format!(
                "booking function returned unknown outcome {other:?}"
            )))
        }
    })
}

/// Books a batch for one event in one transaction; outcomes in `user_ids` order.
pub async fn book_batch(
    client: &deadpool_postgres::Client,
    event_id: i64,
    user_ids: &[i64],
) -> Result<Vec<BookingOutcome>, DbError> {
    let statement = client.prepare_cached(BOOK_SEATS).await?;
    let rows = client.query(&statement, &[&event_id, &user_ids]).await?;
    if rows.len() != user_ids.len() {
        return Err(DbError::unexpected(format!(
            "book_seats answered {} of {} requests",
            rows.len(),
            user_ids.len()
        )));
    }
    rows.iter()
        .zip(user_ids)
        .map(|(row, &user_id)| outcome_from_row(row, event_id, user_id))
        .collect()
}

/// The schema's constraints are a second line behind the lock. Should one
/// ever fire, the transaction has rolled back and the client still gets the
/// answer the constraint stands for.
fn backstop_outcome(error: tokio_postgres::Error) -> Result<BookingOutcome, DbError> {
    let constraint = error.as_db_error().and_then(|db| db.constraint());
    match (error.code(), constraint) {
        (Some(&SqlState::UNIQUE_VIOLATION), Some("bookings_one_active_per_user_and_event")) => {
            log::warn!("unique index caught a double booking: {error}");
            Ok(BookingOutcome::AlreadyBooked)
        }
        (Some(&SqlState::CHECK_VIOLATION), Some("events_booked_within_capacity")) => {
            log::warn!("capacity check caught an oversell: {error}");
            Ok(BookingOutcome::SoldOut)
        }
        _ => Err(error.into()),
    }
}

/// Cancels a booking; cancelling a cancelled booking returns it unchanged.
pub async fn cancel(client: &impl GenericClient, id: i64) -> Result<Booking, DbError> {
    let statement = client.prepare_cached(CANCEL_BOOKING).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Booking)))
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<Booking, DbError> {
    let statement = client.prepare_cached(SELECT_BOOKING).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Booking)))
}

pub async fn list_for_event(
    client: &deadpool_postgres::Client,
    event_id: i64,
    page: PageRequest,
) -> Result<Vec<Booking>, DbError> {
    list(client, SELECT_EVENT_BOOKINGS, event_id, page).await
}

pub async fn list_for_user(
    client: &deadpool_postgres::Client,
    user_id: i64,
    page: PageRequest,
) -> Result<Vec<Booking>, DbError> {
    list(client, SELECT_USER_BOOKINGS, user_id, page).await
}

async fn list(
    client: &deadpool_postgres::Client,
    sql: &str,
    owner_id: i64,
    page: PageRequest,
) -> Result<Vec<Booking>, DbError> {
    let statement = client.prepare_cached(sql).await?;
    let rows = client
        .query(&statement, &[&owner_id, &page.after_id, &page.limit])
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &Row) -> Result<Booking, DbError> {
    Ok(Booking {
        id: column(row, "id")?,
        event_id: column(row, "event_id")?,
        user_id: column(row, "user_id")?,
        status: status_from_column(column(row, "status")?)?,
        created_at: column(row, "created_at")?,
        cancelled_at: column(row, "cancelled_at")?,
    })
}

/// The `bookings.status` column; its CHECK allows exactly these two.
fn status_from_column(value: &str) -> Result<BookingStatus, DbError> {
    match value {
        "confirmed" => Ok(BookingStatus::Confirmed),
        "cancelled" => Ok(BookingStatus::Cancelled),
        other => Err(DbError::unexpected(format!(
            "bookings.status holds {other:?}"
        ))),
    }
}
