//! Holds (seats kept for a buyer while they pay) and the waiting list (who
//! gets returned seats first). The rules are enforced under the event's lock
//! in migrations/V6__buyer_flow.sql; these are their shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::booking::ensure_quantity;
use super::validation::InvalidInput;
use super::whole_number;

/// `held` until confirmed, released or past `expires_at`. A hold past its
/// `expires_at` is `expired` at once, whether or not the sweeper has marked
/// it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HoldStatus {
    Held,
    Confirmed,
    Released,
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub id: i64,
    pub event_id: i64,
    pub user_id: i64,
    pub quantity: i32,
    pub status: HoldStatus,
    /// Until then the seats are this buyer's; confirm before it.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The booking the hold became, once confirmed.
    pub booking_id: Option<i64>,
}

/// The body of `POST /events/{id}/waitlist` (the buyer is the token's user;
/// a `user_id` here is refused as an unknown field).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWaitlistEntry {
    /// Seats wanted, all or none (default 1).
    #[schema(minimum = 1, maximum = 100, example = 2)]
    #[serde(default = "one_seat", deserialize_with = "whole_number::i32")]
    pub quantity: i32,
}

fn one_seat() -> i32 {
    1
}

impl NewWaitlistEntry {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        ensure_quantity(self.quantity)?;
        Ok(self)
    }
}

/// Where a waiting-list entry stands. `offered`: seats are held for the
/// user (`hold_id`) until `expires_at`; confirm with
/// `POST /holds/{hold_id}/confirm`. What became of an offer: `confirmed`,
/// `declined` (released), `expired` (went to the next entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaitlistStatus {
    Waiting,
    Offered,
    Confirmed,
    Declined,
    Expired,
    Left,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WaitlistEntry {
    pub id: i64,
    pub event_id: i64,
    pub user_id: i64,
    pub quantity: i32,
    pub status: WaitlistStatus,
    /// 1 for the first in line; only while `waiting`.
    pub position: Option<i64>,
    /// The offer's hold, once offered.
    pub hold_id: Option<i64>,
    /// When the offer lapses, while `offered`.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
