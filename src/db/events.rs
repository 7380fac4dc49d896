use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::Resource;
use crate::domain::{Event, NewEvent};

const INSERT_EVENT: &str = "
    INSERT INTO events (venue_id, name, starts_at, capacity) VALUES ($1, $2, $3, $4)
    RETURNING id, venue_id, name, starts_at, capacity, booked, created_at";

const SELECT_EVENT: &str = "
    SELECT id, venue_id, name, starts_at, capacity, booked, created_at
      FROM events WHERE id = $1";

const EVENT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)";

/// A live view's snapshot (`crate::live`); locks nothing.
const SELECT_SNAPSHOT: &str = "SELECT capacity, booked, now() AS at FROM events WHERE id = $1";

/// An event's seats at one instant of the database's clock.
#[derive(Debug, Clone, Copy)]
pub struct Seats {
    pub capacity: i32,
    pub booked: i32,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Inserts an event whose capacity is already checked against its venue.
pub async fn insert(
    client: &deadpool_postgres::Client,
    event: &NewEvent,
    capacity: i32,
) -> Result<Event, DbError> {
    let statement = client.prepare_cached(INSERT_EVENT).await?;
    let row = client
        .query_one(
            &statement,
            &[&event.venue_id, &event.name, &event.starts_at, &capacity],
        )
        .await?;
    from_row(&row)
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<Event, DbError> {
    let statement = client.prepare_cached(SELECT_EVENT).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Event)))
}

pub async fn ensure_exists(client: &deadpool_postgres::Client, id: i64) -> Result<(), DbError> {
    let statement = client.prepare_cached(EVENT_EXISTS).await?;
    let exists: bool = column(&client.query_one(&statement, &[&id]).await?, "exists")?;
    exists
        .then_some(())
        .ok_or(DbError::NotFound(Resource::Event))
}

/// The event's capacity and booked seats now; `None` for an unknown event.
pub async fn seats(client: &deadpool_postgres::Client, id: i64) -> Result<Option<Seats>, DbError> {
    let statement = client.prepare_cached(SELECT_SNAPSHOT).await?;
    let Some(row) = client.query_opt(&statement, &[&id]).await? else {
        return Ok(None);
    };
    Ok(Some(Seats {
        capacity: column(&row, "capacity")?,
        booked: column(&row, "booked")?,
        at: column(&row, "at")?,
    }))
}

fn from_row(row: &Row) -> Result<Event, DbError> {
    let capacity: i32 = column(row, "capacity")?;
    let booked: i32 = column(row, "booked")?;
    Ok(Event {
        id: column(row, "id")?,
        venue_id: column(row, "venue_id")?,
        name: column(row, "name")?,
        starts_at: column(row, "starts_at")?,
        capacity,
        booked,
        remaining: capacity - booked,
        created_at: column(row, "created_at")?,
    })
}
