use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use crate::domain::{NewUser, User};
use crate::error::{ApiError, Resource};

const INSERT_USER: &str = "
    INSERT INTO users (email, name) VALUES ($1, $2)
    RETURNING id, email, name, created_at";

const SELECT_USER: &str = "SELECT id, email, name, created_at FROM users WHERE id = $1";

const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";

pub async fn insert(client: &deadpool_postgres::Client, user: &NewUser) -> Result<User, ApiError> {
    let statement = client.prepare_cached(INSERT_USER).await?;
    match client
        .query_one(&statement, &[&user.email, &user.name])
        .await
    {
        Ok(row) => Ok(from_row(&row)),
        Err(error) if is_email_taken(&error) => Err(ApiError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

pub async fn find(client: &deadpool_postgres::Client, id: i64) -> Result<User, ApiError> {
    let statement = client.prepare_cached(SELECT_USER).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .ok_or(ApiError::NotFound(Resource::User))
}

pub async fn ensure_exists(client: &deadpool_postgres::Client, id: i64) -> Result<(), ApiError> {
    let statement = client.prepare_cached(USER_EXISTS).await?;
    let exists: bool = client.query_one(&statement, &[&id]).await?.get(0);
    exists
        .then_some(())
        .ok_or(ApiError::NotFound(Resource::User))
}

fn is_email_taken(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && error.as_db_error().and_then(|db| db.constraint()) == Some("users_email_key")
}

fn from_row(row: &Row) -> User {
    User {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        created_at: row.get("created_at"),
    }
}
