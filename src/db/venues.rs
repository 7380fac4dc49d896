use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::Resource;
use crate::domain::{NewVenue, PageRequest, Venue};

const INSERT_VENUE: &str = "
    INSERT INTO venues (name, capacity) VALUES ($1, $2)
    RETURNING id, name, capacity, created_at";

const SELECT_VENUE: &str = "
    SELECT id, name, capacity, created_at FROM venues WHERE id = $1";

/// One page of venues after `$1`, oldest first (the primary key's order).
const SELECT_VENUES: &str = "
    SELECT id, name, capacity, created_at FROM venues
    WHERE id > $1 ORDER BY id LIMIT $2";

pub async fn insert(
    client: &deadpool_postgres::Client,
    venue: &NewVenue,
) -> Result<Venue, DbError> {
    let statement = client.prepare_cached(INSERT_VENUE).await?;
    let row = client
        .query_one(&statement, &[&venue.name, &venue.capacity])
        .await?;
    from_row(&row)
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<Venue, DbError> {
    let statement = client.prepare_cached(SELECT_VENUE).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Venue)))
}

pub async fn list(
    client: &deadpool_postgres::Client,
    page: PageRequest,
) -> Result<Vec<Venue>, DbError> {
    let statement = client.prepare_cached(SELECT_VENUES).await?;
    let rows = client
        .query(&statement, &[&page.after_id, &page.limit])
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &Row) -> Result<Venue, DbError> {
    Ok(Venue {
        id: column(row, "id")?,
        name: column(row, "name")?,
        capacity: column(row, "capacity")?,
        created_at: column(row, "created_at")?,
    })
}
