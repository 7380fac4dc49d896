//! What the current transaction changed in an event's seats, read back for
//! the counters (`crate::sale`), inside the transaction that made the change.
//!
//! The seat functions of V6 do not report everything a counter needs:
//! `make_offers()` is `PERFORM`ed and its count dropped by `cancel_booking`,
//! `release_hold`, `leave_waitlist`, `join_waitlist` and `expire_holds`;
//! `release_hold` and `cancel_booking` answer a repeat the same way as the
//! first call. So the rows themselves are asked: PostgreSQL stamps each row
//! version with the id of the transaction that wrote it (`xmin`), and
//! `pg_current_xact_id()` is this transaction's. None of these PL/pgSQL
//! functions has an `EXCEPTION` block, so none opens a subtransaction and
//! every row they write carries the top-level id.
//!
//! Cost: one statement more under the event lock, already held by the call
//! before it. Rows are found by primary key, except the offers, which scan
//! the event's waiting-list entries; the expired holds of [`expired`] scan
//! the event's holds (the sweeper's round, off the request path).

use deadpool_postgres::GenericClient;

use super::{column, DbError};

/// Reads only (no lock). `$1` the event, `$2` a booking, `$3` a hold (either
/// may be NULL): the booking's seats if this transaction cancelled it; the
/// hold's status and seats if this transaction wrote it, and whether it is
/// a waiting-list offer; and the offers this transaction made.
const CHANGES: &str = "
    SELECT (SELECT b.quantity FROM bookings b
             WHERE b.id = $2 AND b.status = 'cancelled'
               AND b.xmin = pg_current_xact_id()::xid) AS cancelled_seats,
           h.status AS hold_status, h.quantity AS hold_seats,
           EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.hold_id = h.id) AS hold_is_offer,
           o.offers, o.offer_seats
      FROM (SELECT count(*) AS offers, coalesce(sum(w.quantity), 0)::BIGINT AS offer_seats
              FROM waitlist_entries w
             WHERE w.event_id = $1 AND w.status = 'offered'
               AND w.xmin = pg_current_xact_id()::xid) o
      LEFT JOIN holds h ON h.id = $3 AND h.xmin = pg_current_xact_id()::xid";

/// Reads only (no lock): the event's holds this transaction marked expired,
/// plain holds and offers apart, with their seats.
const EXPIRED: &str = "
    SELECT count(*) FILTER (WHERE w.id IS NULL) AS holds,
           coalesce(sum(h.quantity) FILTER (WHERE w.id IS NULL), 0)::BIGINT AS hold_seats,
           count(*) FILTER (WHERE w.id IS NOT NULL) AS offers,
           coalesce(sum(h.quantity) FILTER (WHERE w.id IS NOT NULL), 0)::BIGINT AS offer_seats
      FROM holds h LEFT JOIN waitlist_entries w ON w.hold_id = h.id
     WHERE h.event_id = $1 AND h.status = 'expired'
       AND h.xmin = pg_current_xact_id()::xid";

/// Holds (or offers) and their seats.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub holds: u64,
    pub seats: u64,
}

impl Held {
    pub fn add(&mut self, other: Held) {
        self.holds += other.holds;
        self.seats += other.seats;
    }
}

/// A hold this transaction wrote: its status now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldChange {
    /// `held` (made now), `confirmed`, `released` or `expired`.
    pub status: String,
    pub seats: u64,
    /// The hold is a waiting-list offer.
    pub offer: bool,
}

/// What one seat-changing call did, beyond its answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Seats of the booking this transaction cancelled (0: none).
    pub cancelled_seats: u64,
    pub hold: Option<HoldChange>,
    /// Offers `make_offers()` made in this transaction.
    pub offers_made: Held,
}

/// What this transaction changed: the booking `booking_id` cancelled, the
/// hold `hold_id` written, and the offers made for `event_id`.
pub async fn read(
    client: &impl GenericClient,
    event_id: i64,
    booking_id: Option<i64>,
    hold_id: Option<i64>,
) -> Result<Changes, DbError> {
    let statement = client.prepare_cached(CHANGES).await?;
    let row = client
        .query_one(&statement, &[&event_id, &booking_id, &hold_id])
        .await?;
    let cancelled: Option<i32> = column(&row, "cancelled_seats")?;
    let hold_status: Option<String> = column(&row, "hold_status")?;
    let hold = match hold_status {
        Some(status) => Some(HoldChange {
            status,
            seats: count(column::<i32>(&row, "hold_seats")?.into()),
            offer: column(&row, "hold_is_offer")?,
        }),
        None => None,
    };
    Ok(Changes {
        cancelled_seats: count(cancelled.unwrap_or(0).into()),
        hold,
        offers_made: Held {
            holds: count(column(&row, "offers")?),
            seats: count(column(&row, "offer_seats")?),
        },
    })
}

/// The holds and the offers this transaction marked expired in `event_id`.
pub async fn expired(client: &impl GenericClient, event_id: i64) -> Result<(Held, Held), DbError> {
    let statement = client.prepare_cached(EXPIRED).await?;
    let row = client.query_one(&statement, &[&event_id]).await?;
    let held = |holds, seats| -> Result<Held, DbError> {
        Ok(Held {
            holds: count(column(&row, holds)?),
            seats: count(column(&row, seats)?),
        })
    };
    Ok((held("holds", "hold_seats")?, held("offers", "offer_seats")?))
}

/// A count from SQL, never negative.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
