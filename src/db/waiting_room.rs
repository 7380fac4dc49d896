//! The waiting room's rows (migrations/V7__waiting_room.sql) and the calls
//! of its functions (migrations/functions/): the admin's settings, joining the
//! line and a ticket's standing (seats taken with a pass: `super::seats`).

use std::collections::HashSet;

use deadpool_postgres::GenericClient;

use super::{column, DbError};
use crate::domain::{BookingRefusal, Outcome, Resource, WaitingRoom, WaitingRoomSettings};

/// Turns the room on with these settings, or changes them; counts and
/// tickets stay. Locks the room row until the implicit commit.
const UPSERT_ROOM: &str = "
    INSERT INTO waiting_rooms (event_id, admission_per_second, pass_seconds, opens_at)
    SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM events WHERE id = $1)
    ON CONFLICT (event_id) DO UPDATE
       SET active = TRUE, admission_per_second = excluded.admission_per_second,
           pass_seconds = excluded.pass_seconds, opens_at = excluded.opens_at,
           updated_at = clock_timestamp()
    RETURNING event_id";

/// Locks the room row until the implicit commit.
const DEACTIVATE_ROOM: &str = "
    UPDATE waiting_rooms SET active = FALSE, updated_at = clock_timestamp() WHERE event_id = $1";

const SELECT_ROOM: &str = "
    SELECT event_id, active, admission_per_second, pass_seconds, opens_at,
           (early_joined + late_joined)::BIGINT AS joined,
           least(early_joined + late_joined,
                 admitted_places(opens_at, admission_per_second, clock_timestamp())) AS admitted
      FROM waiting_rooms WHERE event_id = $1";

const ACTIVE_ROOMS: &str = "SELECT event_id FROM waiting_rooms WHERE active";

/// Reads only: the active rooms' lines, summed (`SELECT_ROOM`'s figures).
const LINES: &str = "
    SELECT coalesce(sum(joined - admitted), 0)::BIGINT AS waiting,
           coalesce(sum(admitted), 0)::BIGINT AS admitted
      FROM (SELECT early_joined + late_joined AS joined,
                   least(early_joined + late_joined,
                         admitted_places(opens_at, admission_per_second, clock_timestamp())) AS admitted
              FROM waiting_rooms WHERE active) rooms";

/// Locks the room row until the implicit commit (joins of one event queue
/// on it; its bookings do not).
const JOIN_QUEUE: &str =
    "SELECT out_outcome AS outcome, out_ticket AS ticket FROM join_queue($1, $2, $3)";

/// May lock the room row once (ranking the early joiners at the opening)
/// and writes the ticket once (issuing its pass, when `$3`); otherwise
/// reads. `$2`, the asking user: another user's ticket is no row.
const TICKET_STATUS: &str = "
    SELECT out_event_id AS event_id, out_user_id AS user_id, out_status AS status,
           out_position AS position, out_wait_seconds AS wait_seconds,
           out_pass_expires_at AS pass_expires_at
      FROM queue_ticket_status($1, $2, $3)";

/// Whether reading a ticket's standing issues the pass of a ticket just
/// admitted: its buyer's `GET` does, a `HEAD` (a monitor, a proxy) does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassIssue {
    Issue,
    Withhold,
}

/// A ticket's standing as the database computed it.
#[derive(Debug, Clone)]
pub struct Standing {
    pub event_id: i64,
    pub user_id: i64,
    /// `waiting`, `admitted`, `used`, `expired` or `waiting_room_off`.
    pub status: String,
    pub position: Option<i64>,
    /// While waiting: the seconds until admitted, the opening's included.
    pub wait_seconds: Option<i64>,
    pub pass_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn put(
    client: &impl GenericClient,
    event_id: i64,
    settings: &WaitingRoomSettings,
) -> Result<WaitingRoom, DbError> {
    let statement = client.prepare_cached(UPSERT_ROOM).await?;
    let row = client
        .query_opt(
            &statement,
            &[
                &event_id,
                &settings.admission_per_second,
                &settings.pass_seconds,
                &settings.opens_at,
            ],
        )
        .await?;
    if row.is_none() {
        return Err(DbError::NotFound(Resource::Event));
    }
    find(client, event_id)
        .await?
        .ok_or_else(|| DbError::unexpected("the waiting room just written is gone"))
}

/// Turns the room off; an event without one is left as it is.
pub async fn deactivate(client: &deadpool_postgres::Client, event_id: i64) -> Result<(), DbError> {
    super::events::ensure_exists(client, event_id).await?;
    let statement = client.prepare_cached(DEACTIVATE_ROOM).await?;
    client.execute(&statement, &[&event_id]).await?;
    Ok(())
}

/// The event's active room; `None` when it has none (or it is off).
pub async fn find(
    client: &impl GenericClient,
    event_id: i64,
) -> Result<Option<WaitingRoom>, DbError> {
    let statement = client.prepare_cached(SELECT_ROOM).await?;
    let Some(row) = client.query_opt(&statement, &[&event_id]).await? else {
        return Ok(None);
    };
    if !column::<bool>(&row, "active")? {
        return Ok(None);
    }
    Ok(Some(WaitingRoom {
        event_id: column(&row, "event_id")?,
        admission_per_second: column(&row, "admission_per_second")?,
        pass_seconds: column(&row, "pass_seconds")?,
        opens_at: column(&row, "opens_at")?,
        joined: column(&row, "joined")?,
        admitted: column(&row, "admitted")?,
    }))
}

pub async fn active_events(client: &impl GenericClient) -> Result<HashSet<i64>, DbError> {
    let statement = client.prepare_cached(ACTIVE_ROOMS).await?;
    let rows = client.query(&statement, &[]).await?;
    rows.iter().map(|row| column(row, "event_id")).collect()
}

/// The active waiting rooms' lines, all events together.
#[derive(Debug, Clone, Copy)]
pub struct Lines {
    /// Buyers in line, not yet admitted.
    pub waiting: i64,
    /// Places admitted so far.
    pub admitted: i64,
}

pub async fn lines(client: &impl GenericClient) -> Result<Lines, DbError> {
    let statement = client.prepare_cached(LINES).await?;
    let row = client.query_one(&statement, &[]).await?;
    Ok(Lines {
        waiting: column(&row, "waiting")?,
        admitted: column(&row, "admitted")?,
    })
}

/// Joins the line with `ticket`; the ticket the user holds (`Ok(false)` when
/// they had one already, which is returned instead).
pub async fn join(
    client: &impl GenericClient,
    event_id: i64,
    user_id: i64,
    ticket: &str,
) -> Result<Outcome<(String, bool)>, DbError> {
    let statement = client.prepare_cached(JOIN_QUEUE).await?;
    let row = client
        .query_one(&statement, &[&event_id, &user_id, &ticket])
        .await?;
    let ticket = || -> Result<String, DbError> {
        column::<Option<String>>(&row, "ticket")?
            .ok_or_else(|| DbError::unexpected("join_queue answered without a ticket"))
    };
    Ok(match column::<&str>(&row, "outcome")? {
        "joined" => Ok((ticket()?, true)),
        "already_queued" => Ok((ticket()?, false)),
        "waiting_room_off" => Err(BookingRefusal::WaitingRoomOff),
        "event_not_found" => Err(BookingRefusal::NotFound(Resource::Event)),
        "user_not_found" => Err(BookingRefusal::NotFound(Resource::User)),
        other => {
            return Err(DbError::unexpected(format!(
                "join_queue answered {other:?}"
            )))
        }
    })
}

/// Where user `user_id`'s ticket stands; another user's is not found.
pub async fn standing(
    client: &impl GenericClient,
    ticket: &str,
    user_id: i64,
    pass: PassIssue,
) -> Result<Standing, DbError> {
    let statement = client.prepare_cached(TICKET_STATUS).await?;
    let issue = pass == PassIssue::Issue;
    let Some(row) = client
        .query_opt(&statement, &[&ticket, &user_id, &issue])
        .await?
    else {
        return Err(DbError::NotFound(Resource::Ticket));
    };
    Ok(Standing {
        event_id: column(&row, "event_id")?,
        user_id: column(&row, "user_id")?,
        status: column(&row, "status")?,
        position: column(&row, "position")?,
        wait_seconds: column(&row, "wait_seconds")?,
        pass_expires_at: column(&row, "pass_expires_at")?,
    })
}
