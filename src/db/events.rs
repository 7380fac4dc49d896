//! Events: their rows, their seat counts (the `event_seats` view of
//! migrations/V6__buyer_flow.sql) and changes to their sale settings.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::changes::{self, Held};
use super::{column, DbError};
use crate::domain::{
    BookingRefusal, Event, EventChanges, NewEvent, Outcome, PageRequest, Resource, SeatCount,
    DEFAULT_HOLD_SECONDS, DEFAULT_MAX_PER_USER, DEFAULT_OFFER_SECONDS,
};

const INSERT_EVENT: &str = "
    INSERT INTO events (venue_id, name, starts_at, capacity, max_per_user, hold_seconds, offer_seconds)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING id";

const EVENT_COLUMNS: &str = "
    SELECT id, venue_id, name, starts_at, capacity, booked, held, waiting,
           max_per_user, hold_seconds, offer_seconds, created_at
      FROM event_seats";

const EVENT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)";

/// A live view's snapshot (`crate::live`): the seat columns of the view
/// `GET /events/{id}` reads (`EVENT_COLUMNS`), so both count held seats the
/// same way. Locks nothing.
const SELECT_SNAPSHOT: &str =
    "SELECT capacity, booked, held, now() AS at FROM event_seats WHERE id = $1";

/// Locks the event row until the transaction ends (V6's `lock_event`).
const LOCK_EVENT: &str = "SELECT capacity, booked, held FROM lock_event($1)";

const UPDATE_EVENT: &str = "
    UPDATE events SET name = coalesce($2, name), starts_at = coalesce($3, starts_at),
                      capacity = coalesce($4, capacity), max_per_user = coalesce($5, max_per_user),
                      hold_seconds = coalesce($6, hold_seconds),
                      offer_seconds = coalesce($7, offer_seconds)
     WHERE id = $1";

/// Offers seats a larger capacity freed to the waiting list; needs the lock.
const MAKE_OFFERS: &str = "SELECT make_offers($1)";

/// An event's seats at one instant of the database's clock.
#[derive(Debug, Clone, Copy)]
pub struct Seats {
    pub count: SeatCount,
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
            &[
                &event.venue_id,
                &event.name,
                &event.starts_at,
                &capacity,
                &event.max_per_user.unwrap_or(DEFAULT_MAX_PER_USER),
                &event.hold_seconds.unwrap_or(DEFAULT_HOLD_SECONDS),
                &event.offer_seconds.unwrap_or(DEFAULT_OFFER_SECONDS),
            ],
        )
        .await?;
    find(client, column(&row, "id")?).await
}

pub async fn find(client: &impl GenericClient, id: i64) -> Result<Event, DbError> {
    let sql = format!("{EVENT_COLUMNS} WHERE id = $1");
    let statement = client.prepare_cached(&sql).await?;
    let row = client.query_opt(&statement, &[&id]).await?;
    row.map(|row| from_row(&row))
        .unwrap_or(Err(DbError::NotFound(Resource::Event)))
}

/// Events in id order, keyset-paginated.
pub async fn list(
    client: &deadpool_postgres::Client,
    page: PageRequest,
) -> Result<Vec<Event>, DbError> {
    let sql = format!("{EVENT_COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2");
    let statement = client.prepare_cached(&sql).await?;
    let rows = client
        .query(&statement, &[&page.after_id, &page.limit])
        .await?;
    rows.iter().map(from_row).collect()
}

/// Applies `changes` under the event's lock. A capacity may not fall below
/// the seats booked and held (`capacity_below_taken`), a max_per_user not
/// below a buyer's seats (`max_per_user_below_seats`); a larger capacity offers
/// its new seats to the waiting list in the same transaction. The venue
/// bound is the caller's (`venue_capacity`).
pub async fn update(
    client: &mut deadpool_postgres::Client,
    id: i64,
    changes: &EventChanges,
) -> Result<Outcome<(Event, Held)>, DbError> {
    let transaction = client.transaction().await?;
    let statement = transaction.prepare_cached(LOCK_EVENT).await?;
    let Some(row) = transaction.query_opt(&statement, &[&id]).await? else {
        return Err(DbError::NotFound(Resource::Event));
    };
    let taken = column::<i32>(&row, "booked")? + column::<i32>(&row, "held")?;
    if let Some(capacity) = changes.capacity.filter(|&capacity| capacity < taken) {
        log::info!("event {id}: capacity {capacity} refused, {taken} seats booked or held");
        return Ok(Err(BookingRefusal::CapacityBelowTaken { taken }));
    }
    let statement = transaction.prepare_cached(UPDATE_EVENT).await?;
    let updated = transaction
        .execute(
            &statement,
            &[
                &id,
                &changes.name,
                &changes.starts_at,
                &changes.capacity,
                &changes.max_per_user,
                &changes.hold_seconds,
                &changes.offer_seconds,
            ],
        )
        .await;
    // The schema's per-user limit refuses a max_per_user below a buyer's
    // seats (migrations/functions/check_seats_within_max_per_user.sql).
    match updated.map_err(DbError::from) {
        Ok(_) => {}
        Err(DbError::OverMaxPerUser(cause)) => {
            log::info!("event {id}: max_per_user refused: {cause}");
            return Ok(Err(BookingRefusal::MaxPerUserBelowSeats));
        }
        Err(error) => return Err(error),
    }
    let statement = transaction.prepare_cached(MAKE_OFFERS).await?;
    transaction.execute(&statement, &[&id]).await?;
    let offers = changes::read(&transaction, id, None, None)
        .await?
        .offers_made;
    if offers.holds > 0 {
        log::info!(
            "event {id}: changed; {} waiting-list offer(s) made",
            offers.holds
        );
    }
    transaction.commit().await?;
    Ok(Ok((find(client, id).await?, offers)))
}

pub async fn ensure_exists(client: &deadpool_postgres::Client, id: i64) -> Result<(), DbError> {
    let statement = client.prepare_cached(EVENT_EXISTS).await?;
    let exists: bool = column(&client.query_one(&statement, &[&id]).await?, "exists")?;
    exists
        .then_some(())
        .ok_or(DbError::NotFound(Resource::Event))
}

/// The event's seats now; `None` for an unknown event.
pub async fn seats(client: &deadpool_postgres::Client, id: i64) -> Result<Option<Seats>, DbError> {
    let statement = client.prepare_cached(SELECT_SNAPSHOT).await?;
    let Some(row) = client.query_opt(&statement, &[&id]).await? else {
        return Ok(None);
    };
    Ok(Some(Seats {
        count: seat_count(&row)?,
        at: column(&row, "at")?,
    }))
}

/// The seat columns of an `event_seats` row.
fn seat_count(row: &Row) -> Result<SeatCount, DbError> {
    Ok(SeatCount {
        capacity: column(row, "capacity")?,
        booked: column(row, "booked")?,
        held: column(row, "held")?,
    })
}

fn from_row(row: &Row) -> Result<Event, DbError> {
    let seats = seat_count(row)?;
    Ok(Event {
        id: column(row, "id")?,
        venue_id: column(row, "venue_id")?,
        name: column(row, "name")?,
        starts_at: column(row, "starts_at")?,
        capacity: seats.capacity,
        booked: seats.booked,
        held: seats.held,
        remaining: seats.remaining(),
        waiting: column(row, "waiting")?,
        max_per_user: column(row, "max_per_user")?,
        hold_seconds: column(row, "hold_seconds")?,
        offer_seconds: column(row, "offer_seconds")?,
        created_at: column(row, "created_at")?,
    })
}
