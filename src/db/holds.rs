//! Holds and the waiting list: the calls of the seat functions
//! (migrations/functions/) that keep seats for a buyer, turn them
//! into a booking, give them back, or queue for them. Each function takes
//! the event row's lock first (`lock_event`), then the rows it changes.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::changes::{self, Held};
use super::seats::refusal_from_row;
use super::{bookings, column, DbError};
use crate::domain::{
    Booking, Hold, HoldStatus, NewWaitlistEntry, Outcome, Resource, WaitlistEntry, WaitlistStatus,
};

/// Locks the event row, then the hold's, until the transaction commits.
/// `$2`, the acting user: another user's hold is `hold_not_found`.
const CONFIRM_HOLD: &str = "SELECT outcome, booking_id FROM confirm_hold($1, $2)";

/// Locks the event row, then the hold's; offers the freed seats to the
/// waiting list in the same transaction.
/// Another user's hold is `hold_not_found`.
const RELEASE_HOLD: &str = "SELECT outcome, booking_id FROM release_hold($1, $2)";

const SELECT_HOLD: &str = "
    SELECT id, event_id, user_id, quantity, status, expires_at, created_at, booking_id
      FROM hold_states WHERE id = $1 AND user_id = $2";

/// Locks the event row; may offer seats to the new entry at once.
const JOIN_WAITLIST: &str = "SELECT outcome, detail, entry_id FROM join_waitlist($1, $2, $3)";

/// Locks the event row, then the entry's; releases an open offer. Another
/// user's entry is `entry_not_found`.
const LEAVE_WAITLIST: &str = "SELECT outcome FROM leave_waitlist($1, $2)";

const SELECT_ENTRY: &str = "
    SELECT id, event_id, user_id, quantity, status, position, hold_id, offer_expires_at, created_at
      FROM waitlist_states WHERE id = $1 AND user_id = $2";

/// Marks one event's expired holds and offers their seats (the sweeper's).
const EXPIRE_HOLDS: &str = "SELECT expire_holds($1)";

/// Events with a hold past its expiry that is still marked `held`.
const EVENTS_WITH_EXPIRED_HOLDS: &str = "
    SELECT DISTINCT event_id FROM holds
     WHERE status = 'held' AND expires_at <= clock_timestamp()";

/// User `user_id`'s hold's seats become a booking.
pub async fn confirm(
    client: &impl GenericClient,
    id: i64,
    user_id: i64,
) -> Result<Outcome<Booking>, DbError> {
    let statement = client.prepare_cached(CONFIRM_HOLD).await?;
    let row = client.query_one(&statement, &[&id, &user_id]).await?;
    match column::<&str>(&row, "outcome")? {
        "confirmed" => {
            let booking_id = column(&row, "booking_id")?;
            Ok(Ok(bookings::find(client, booking_id, user_id).await?))
        }
        refusal => Ok(Err(refusal_from_row(refusal, &row)?)),
    }
}

/// Gives user `user_id`'s hold's seats back; a hold no longer held is
/// returned as it is.
pub async fn release(
    client: &impl GenericClient,
    id: i64,
    user_id: i64,
) -> Result<Outcome<Hold>, DbError> {
    let statement = client.prepare_cached(RELEASE_HOLD).await?;
    let row = client.query_one(&statement, &[&id, &user_id]).await?;
    match column::<&str>(&row, "outcome")? {
        "released" | "expired" => Ok(Ok(find(client, id, user_id).await?)),
        refusal => Ok(Err(refusal_from_row(refusal, &row)?)),
    }
}

/// User `user_id`'s hold `id`; another user's is not found.
pub async fn find(client: &impl GenericClient, id: i64, user_id: i64) -> Result<Hold, DbError> {
    let statement = client.prepare_cached(SELECT_HOLD).await?;
    let row = client.query_opt(&statement, &[&id, &user_id]).await?;
    let Some(row) = row else {
        return Err(DbError::NotFound(Resource::Hold));
    };
    Ok(Hold {
        id: column(&row, "id")?,
        event_id: column(&row, "event_id")?,
        user_id: column(&row, "user_id")?,
        quantity: column(&row, "quantity")?,
        status: match column::<&str>(&row, "status")? {
            "held" => HoldStatus::Held,
            "confirmed" => HoldStatus::Confirmed,
            "released" => HoldStatus::Released,
            "expired" => HoldStatus::Expired,
            other => return Err(DbError::unexpected(format!("holds.status holds {other:?}"))),
        },
        expires_at: column(&row, "expires_at")?,
        created_at: column(&row, "created_at")?,
        booking_id: column(&row, "booking_id")?,
    })
}

pub async fn join_waitlist(
    client: &impl GenericClient,
    event_id: i64,
    user_id: i64,
    entry: NewWaitlistEntry,
) -> Result<Outcome<WaitlistEntry>, DbError> {
    let statement = client.prepare_cached(JOIN_WAITLIST).await?;
    let row = client
        .query_one(&statement, &[&event_id, &user_id, &entry.quantity])
        .await?;
    match column::<&str>(&row, "outcome")? {
        "joined" => Ok(Ok(
            find_entry(client, column(&row, "entry_id")?, user_id).await?
        )),
        refusal => Ok(Err(refusal_from_row(refusal, &row)?)),
    }
}

/// Takes the entry off the list (releasing an open offer); leaving twice
/// changes nothing.
pub async fn leave_waitlist(
    client: &impl GenericClient,
    id: i64,
    user_id: i64,
) -> Result<Outcome<WaitlistEntry>, DbError> {
    let statement = client.prepare_cached(LEAVE_WAITLIST).await?;
    let row = client.query_one(&statement, &[&id, &user_id]).await?;
    match column::<&str>(&row, "outcome")? {
        "left" => Ok(Ok(find_entry(client, id, user_id).await?)),
        refusal => Ok(Err(refusal_from_row(refusal, &row)?)),
    }
}

/// User `user_id`'s entry `id`; another user's is not found.
pub async fn find_entry(
    client: &impl GenericClient,
    id: i64,
    user_id: i64,
) -> Result<WaitlistEntry, DbError> {
    let statement = client.prepare_cached(SELECT_ENTRY).await?;
    let Some(row) = client.query_opt(&statement, &[&id, &user_id]).await? else {
        return Err(DbError::NotFound(Resource::WaitlistEntry));
    };
    entry_from_row(&row)
}

fn entry_from_row(row: &Row) -> Result<WaitlistEntry, DbError> {
    let status = match column::<&str>(row, "status")? {
        "waiting" => WaitlistStatus::Waiting,
        "offered" => WaitlistStatus::Offered,
        "confirmed" => WaitlistStatus::Confirmed,
        "declined" => WaitlistStatus::Declined,
        "expired" => WaitlistStatus::Expired,
        "left" => WaitlistStatus::Left,
        other => {
            return Err(DbError::unexpected(format!(
                "waitlist_states.status holds {other:?}"
            )))
        }
    };
    let offer_expires_at = column(row, "offer_expires_at")?;
    Ok(WaitlistEntry {
        id: column(row, "id")?,
        event_id: column(row, "event_id")?,
        user_id: column(row, "user_id")?,
        quantity: column(row, "quantity")?,
        status,
        position: column(row, "position")?,
        hold_id: column(row, "hold_id")?,
        expires_at: (status == WaitlistStatus::Offered)
            .then_some(offer_expires_at)
            .flatten(),
        created_at: column(row, "created_at")?,
    })
}

/// What one sweeper round marked expired, and the offers it made of their
/// seats (read back in each event's transaction, `super::changes`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub holds: Held,
    pub offers: Held,
    pub offers_made: Held,
}

/// The sweeper's round: marks expired holds and offers their seats, event by
/// event, each in its own transaction under its own lock.
pub async fn expire_all(client: &mut deadpool_postgres::Client) -> Result<Swept, DbError> {
    let statement = client.prepare_cached(EVENTS_WITH_EXPIRED_HOLDS).await?;
    let events = client.query(&statement, &[]).await?;
    let mut swept = Swept::default();
    for event in events {
        let event_id: i64 = column(&event, "event_id")?;
        let transaction = client.transaction().await?;
        let statement = transaction.prepare_cached(EXPIRE_HOLDS).await?;
        transaction.execute(&statement, &[&event_id]).await?;
        let (holds, offers) = changes::expired(&transaction, event_id).await?;
        let made = changes::read(&transaction, event_id, None, None).await?;
        transaction.commit().await?;
        swept.holds.add(holds);
        swept.offers.add(offers);
        swept.offers_made.add(made.offers_made);
    }
    Ok(swept)
}
