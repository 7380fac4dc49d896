//! Bookings: cancelling and reading them. Taking seats, for bookings and
//! holds alike, one request or a batch, is `super::seats`: one call of the
//! seat functions under the event row's `SELECT ... FOR UPDATE`, in its own
//! implicit transaction or a keyed batch's. V6's header comment explains
//! why no interleaving can oversell.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::{Booking, BookingStatus, PageRequest, Resource};

/// Locks the event row, then the booking row, until the implicit commit;
/// offers the freed seats to the waiting list in the same transaction.
/// `$2`, the acting user: another user's booking is no row.
const CANCEL_BOOKING: &str = "
    SELECT id, event_id, user_id, quantity, status, created_at, cancelled_at
      FROM cancel_booking($1, $2)";

const BOOKING_COLUMNS: &str =
    "SELECT id, event_id, user_id, quantity, status, created_at, cancelled_at FROM bookings";

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
