//! The waiting room's shapes: the admin's settings, a buyer's place in line,
//! and why an admission pass was not accepted. The rules of the line are in
//! migrations/V7__waiting_room.sql; the pass's signature in
//! `crate::waiting_room`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::{ensure_instant_in_range, InvalidInput};
use super::whole_number;

pub const MAX_ADMISSION_PER_SECOND: i32 = 100_000;
pub const MAX_PASS_SECONDS: i32 = 86_400;

/// The body of `PUT /events/{id}/waiting-room`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitingRoomSettings {
    /// Places in line admitted per second, across all replicas together.
    #[schema(minimum = 1, maximum = 100000, example = 50)]
    #[serde(deserialize_with = "whole_number::i32")]
    pub admission_per_second: i32,
    /// How long an admission pass stays valid once issued.
    #[schema(minimum = 1, maximum = 86400, example = 120)]
    #[serde(deserialize_with = "whole_number::i32")]
    pub pass_seconds: i32,
    /// When admission starts; who joins before it is placed in random order.
    /// RFC 3339 timestamp, its year as written 1970 to 9999 (the `pattern`);
    /// an instant after the end of 9999 in UTC is refused too.
    #[schema(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub opens_at: DateTime<Utc>,
}

impl WaitingRoomSettings {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        if !(1..=MAX_ADMISSION_PER_SECOND).contains(&self.admission_per_second) {
            return Err(InvalidInput::new(
                "invalid_field",
                format!(
                    "admission_per_second must be between 1 and {MAX_ADMISSION_PER_SECOND}, got {}",
                    self.admission_per_second
                ),
            ));
        }
        if !(1..=MAX_PASS_SECONDS).contains(&self.pass_seconds) {
            return Err(InvalidInput::new(
                "invalid_field",
                format!(
                    "pass_seconds must be between 1 and {MAX_PASS_SECONDS}, got {}",
                    self.pass_seconds
                ),
            ));
        }
        ensure_instant_in_range("opens_at", &self.opens_at)?;
        Ok(self)
    }
}

/// An event's waiting room: its settings and how many joined and were let in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WaitingRoom {
    pub event_id: i64,
    pub admission_per_second: i32,
    pub pass_seconds: i32,
    pub opens_at: DateTime<Utc>,
    /// Tickets handed out.
    pub joined: i64,
    /// Of those, admitted so far by the database's clock.
    pub admitted: i64,
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// In line: `position` and `estimated_wait_seconds`.
    Waiting,
    /// Let in: `pass` (send it as `Admission-Pass`) until `pass_expires_at`.
    Admitted,
    /// The pass was spent on a hold or a booking (whatever its answer).
    Used,
    /// The pass expired unused; there is no second one.
    Expired,
}

/// A buyer's place in line: the answer of `POST /events/{id}/queue` and
/// `GET /queue/{ticket}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueTicket {
    /// Opaque and unguessable: whoever has it can read its pass.
    #[schema(example = "9f2c4e0b7d1a4c3e8b5f6a7d9e0c1b2a")]
    pub ticket: String,
    pub event_id: i64,
    pub user_id: i64,
    pub status: TicketStatus,
    /// While waiting: places ahead of this one, plus one (1 = next in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// While waiting: the seconds until the room opens (before then), plus
    /// `position / admission_per_second`, rounded up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_wait_seconds: Option<i64>,
    /// Once admitted: the signed pass for one `POST /holds` or `POST /bookings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_expires_at: Option<DateTime<Utc>>,
}

/// Why a request to an event with a waiting room was refused
/// (`403 admission_required`); the detail says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PassRefusal {
    #[error("this event has a waiting room: join it (POST /events/{{id}}/queue) and send the pass you get as the Admission-Pass header")]
    Missing,
    #[error("the Admission-Pass header is malformed")]
    Malformed,
    #[error("the Admission-Pass signature is not valid")]
    BadSignature,
    #[error("the admission pass has expired")]
    Expired,
    #[error("the admission pass was issued for another user or event")]
    WrongHolder,
    #[error("the admission pass was already used (each pass buys one request)")]
    Used,
}

impl PassRefusal {
    /// The problem's `reason` member.
    pub fn reason(&self) -> &'static str {
        match self {
            PassRefusal::Missing => "missing",
            PassRefusal::Malformed => "malformed",
            PassRefusal::BadSignature => "bad_signature",
            PassRefusal::Expired => "expired",
            PassRefusal::WrongHolder => "wrong_holder",
            PassRefusal::Used => "used",
        }
    }
}
