use tokio_postgres::Row;

use super::{column, DbError};
use crate::domain::Resource;
use crate::domain::{NewUser, User};

/// A taken email inserts nothing and is no error: sign-up answers the same
/// either way, so it does not tell who has an account.
const INSERT_USER: &str = "
    INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
    ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING";

const SELECT_CREDENTIALS: &str = "SELECT id, password_hash FROM users WHERE email = $1";

const SELECT_USER: &str = "SELECT id, email, name, created_at FROM users WHERE id = $1";

const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";

/// Adds the user unless the email has one already.
pub async fn insert(
    client: &deadpool_postgres::Client,
    user: &NewUser,
    password_hash: &str,
) -> Result<(), DbError> {
    let statement = client.prepare_cached(INSERT_USER).await?;
    client
        .execute(&statement, &[&user.email, &user.name, &password_hash])
        .await?;
    Ok(())
}

/// The id and password hash of the user with this email, if any.
pub async fn credentials(
    client: &deadpool_postgres::Client,
    email: &str,
) -> Result<Option<(i64, Option<String>)>, DbError> {
    let statement = client.prepare_cached(SELECT_CREDENTIALS).await?;
    let row = client.query_opt(&statement, &[&email]).await?;
    row.map(|row| Ok((column(&row, "id")?, column(&row, "password_hash")?)))
        .transpose()
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

fn from_row(row: &Row) -> Result<User, DbError> {
    Ok(User {
        id: column(row, "id")?,
        email: column(row, "email")?,
        name: column(row, "name")?,
        created_at: column(row, "created_at")?,
    })
}
