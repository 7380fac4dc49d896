//! Bookings: taking seats, cancelling, reading.
//!
//! Booking runs as one call of `take_seats` (migrations/functions/take_seats.sql,
//! through `super::seats`), for one request or a batch: it takes `SELECT ...
//! FOR UPDATE` on the event row, judges each request against the capacity,
//! the unexpired holds, the waiting list and the buyer's limit under that
//! lock, inserts, and bumps the counter. Called on its own, the call is its
//! own implicit transaction and the lock is held for that one round trip
//! plus the commit. Called inside an idempotent request's transaction
//! (`crate::idempotency`), the lock is held until that transaction commits:
//! two more round trips (storing the response, COMMIT). V6's header comment
//! explains why no interleaving can oversell.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::seats::{self, Kind};
use super::{column, DbError};
use crate::domain::{Booking, BookingStatus, Outcome, PageRequest, Resource, SeatRequest};

/// Locks the event row, then the booking row, until the implicit commit;
/// offers the freed seats to the waiting list in the same transaction.
/// `$2`, the acting user: another user's booking is no row.
const CANCEL_BOOKING: &str = "
    SELECT id, event_id, user_id, quantity, status, created_at, cancelled_at
      FROM cancel_booking($1, $2)";

const BOOKING_COLUMNS: &str =
    "SELECT id, event_id, user_id, quantity, status, created_at, cancelled_at FROM bookings";

/// Books one request in its own transaction (or the caller's).
pub async fn book(
    client: &impl GenericClient,
    request: SeatRequest,
) -> Result<Outcome<Booking>, DbError> {
    let mut outcomes = book_batch(
        client,
        request.event_id,
        &[(request.user_id, request.quantity)],
    )
    .await?;
    Ok(outcomes.remove(0))
}

/// Books a batch of `(user_id, quantity)` for one event in one transaction;
/// outcomes in request order.
pub async fn book_batch(
    client: &impl GenericClient,
    event_id: i64,
    requests: &[(i64, i32)],
) -> Result<Vec<Outcome<Booking>>, DbError> {
    let taken = seats::take(client, event_id, requests, Kind::Booking).await?;
    Ok(taken
        .into_iter()
        .zip(requests)
        .map(|(taken, &(user_id, quantity))| {
            taken.map(|taken| Booking {
                id: taken.id,
                event_id,
                user_id,
                quantity,
                status: BookingStatus::Confirmed,
                created_at: taken.created_at,
                cancelled_at: None,
            })
        })
        .collect())
}

/// Cancels user `user_id`'s booking; cancelling a cancelled booking returns
/// it unchanged.
pub async fn cancel(
    client: &impl GenericClient,
    id: i64,
    user_id: i64,
) -> Result<Booking, DbError> {
    let statement = client.prepare_cached(CANCEL_BOOKING).await?;
    let row = client.query_opt(&statement, &[&id, &user_id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Booking)))
}

/// User `user_id`'s booking `id`; another user's is not found.
pub async fn find(client: &impl GenericClient, id: i64, user_id: i64) -> Result<Booking, DbError> {
    let sql = format!("{BOOKING_COLUMNS} WHERE id = $1 AND user_id = $2");
    let statement = client.prepare_cached(&sql).await?;
    let row = client.query_opt(&statement, &[&id, &user_id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Booking)))
}

pub async fn list_for_event(
    client: &deadpool_postgres::Client,
    event_id: i64,
    page: PageRequest,
) -> Result<Vec<Booking>, DbError> {
    let sql = format!("{BOOKING_COLUMNS} WHERE event_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    list(client, &sql, event_id, page).await
}

pub async fn list_for_user(
    client: &deadpool_postgres::Client,
    user_id: i64,
    page: PageRequest,
) -> Result<Vec<Booking>, DbError> {
    let sql = format!("{BOOKING_COLUMNS} WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    list(client, &sql, user_id, page).await
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
        quantity: column(row, "quantity")?,
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
