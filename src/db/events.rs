use tokio_postgres::Row;

use crate::domain::{Event, NewEvent};
use crate::error::{ApiError, Resource};

const INSERT_EVENT: &str = "
    INSERT INTO events (venue_id, name, starts_at, capacity) VALUES ($1, $2, $3, $4)
    RETURNING id, venue_id, name, starts_at, capacity, booked, created_at";

const SELECT_EVENT: &str = "
    SELECT id, venue_id, name, starts_at, capacity, booked, created_at
      FROM events WHERE id = $1";

const EVENT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)";

/// Inserts an event whose capacity is already checked against its venue.
pub async fn insert(
    client: &deadpool_postgres::Client,
    event: &NewEvent,
    capacity: i32,
) -> Result<Event, ApiError> {
    let statement = client.prepare_cached(INSERT_EVENT).await?;
    let row = client
        .query_one(
            &statement,
            &[&event.venue_id, &event.name, &event.starts_at, &capacity],
        )
        .await?;
    Ok(from_row(&row))
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<Event, ApiError> {
    let statement = client.prepare_cached(SELECT_EVENT).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .ok_or(ApiError::NotFound(Resource::Event))
}

pub async fn ensure_exists(client: &deadpool_postgres::Client, id: i64) -> Result<(), ApiError> {
    let statement = client.prepare_cached(EVENT_EXISTS).await?;
    let exists: bool = client.query_one(&statement, &[&id]).await?.get(0);
    exists
        .then_some(())
        .ok_or(ApiError::NotFound(Resource::Event))
}

fn from_row(row: &Row) -> Event {
    let capacity: i32 = row.get("capacity");
    let booked: i32 = row.get("booked");
    Event {
        id: row.get("id"),
        venue_id: row.get("venue_id"),
        name: row.get("name"),
        starts_at: row.get("starts_at"),
        capacity,
        booked,
        remaining: capacity - booked,
        created_at: row.get("created_at"),
    }
}
