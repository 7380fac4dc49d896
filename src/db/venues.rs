use tokio_postgres::Row;

use crate::domain::{NewVenue, Venue};
use crate::error::{ApiError, Resource};

const INSERT_VENUE: &str = "
    INSERT INTO venues (name, capacity) VALUES ($1, $2)
    RETURNING id, name, capacity, created_at";

const SELECT_VENUE: &str = "
    SELECT id, name, capacity, created_at FROM venues WHERE id = $1";

pub async fn insert(
    client: &deadpool_postgres::Client,
    venue: &NewVenue,
) -> Result<Venue, ApiError> {
    let statement = client.prepare_cached(INSERT_VENUE).await?;
    let row = client
        .query_one(&statement, &[&venue.name, &venue.capacity])
        .await?;
    Ok(from_row(&row))
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<Venue, ApiError> {
    let statement = client.prepare_cached(SELECT_VENUE).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .ok_or(ApiError::NotFound(Resource::Venue))
}

fn from_row(row: &Row) -> Venue {
    Venue {
        id: row.get("id"),
        name: row.get("name"),
        capacity: row.get("capacity"),
        created_at: row.get("created_at"),
    }
}
