use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::Resource;
use crate::domain::{NewUser, User};

const INSERT_USER: &str = "
    INSERT INTO users (email, name) VALUES ($1, $2)
    RETURNING id, email, name, created_at";

const SELECT_USER: &str = "SELECT id, email, name, created_at FROM users WHERE id = $1";

const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";

pub async fn insert(client: &deadpool_postgres::Client, user: &NewUser) -> Result<User, DbError> {
    let statement = client.prepare_cached(INSERT_USER).await?;
    match client
        .query_one(&statement, &[&user.email, &user.name])
        .await
    {
        Ok(row) => from_row(&row),
        Err(error) if is_email_taken(&error) => Err(DbError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<User, DbError> {
    let statement = client.prepare_cached(SELECT_USER).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::User)))
}

pub async fn ensure_exists(client: &deadpool_postgres::Client, id: i64) -> Result<(), DbError> {
    let statement = client.prepare_cached(USER_EXISTS).await?;
    let exists: bool = column(&client.query_one(&statement, &[&id]).await?, "exists")?;
    exists
        .then_some(())
        .ok_or(DbError::NotFound(Resource::User))
}

fn is_email_taken(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && error.as_db_error().and_then(|db| db.constraint()) == Some("users_email_key")
}

fn from_row(row: &Row) -> Result<User, DbError> {
    Ok(User {
        id: column(row, "id")?,
        email: column(row, "email")?,
        name: column(row, "name")?,
        created_at: column(row, "created_at")?,
    })
}
