//! The waiting room on the request path: which events have one (kept in
//! memory, so `POST /holds` and `POST /bookings` for the others pay one hash
//! lookup and no database round trip), and the gate that checks a request's
//! admission pass (`crate::admission` signs and verifies it).
//!
//! WHICH EVENTS HAVE ONE. Each replica keeps the set of events with an
//! active waiting room. A background task reloads it every
//! [`REFRESH_INTERVAL`] (one small query per replica per interval, whatever
//! the load); the replica that answers `PUT`/`DELETE
//! /events/{id}/waiting-room` updates its own set at once. So after the admin
//! turns a room on, another replica may take requests without a pass for up
//! to one interval (plus the query's time): turn the room on before the sale
//! opens, which is what it is for. Turning it off is seen as late.

use std::collections::HashSet;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use chrono::Utc;

use crate::admission::PassSecret;
use crate::domain::PassRefusal;

/// How often each replica reloads the events that have a waiting room.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The events with an active waiting room, as this replica last saw them,
/// and the pass secret.
pub struct WaitingRooms {
    active: RwLock<HashSet<i64>>,
    secret: PassSecret,
}

impl WaitingRooms {
    pub fn new(active: HashSet<i64>, secret: PassSecret) -> Self {
        Self {
            active: RwLock::new(active),
            secret,
        }
    }

    pub fn secret(&self) -> &PassSecret {
        &self.secret
    }

    /// Whether the event has a waiting room: memory only.
    pub fn is_active(&self, event_id: i64) -> bool {
        let active = self.active.read().unwrap_or_else(PoisonError::into_inner);
        !active.is_empty() && active.contains(&event_id)
    }

    /// Records a change this replica made (PUT or DELETE).
    pub fn set(&self, event_id: i64, active: bool) {
        let mut set = self.active.write().unwrap_or_else(PoisonError::into_inner);
        if active {
            set.insert(event_id);
        } else {
            set.remove(&event_id);
        }
    }

    /// The set as just read from the database (the refresh worker).
    pub fn replace(&self, active: HashSet<i64>) {
        *self.active.write().unwrap_or_else(PoisonError::into_inner) = active;
    }

    /// The gate of `POST /holds` and `POST /bookings`: `None` for an event
    /// without a waiting room (the request goes on as before, whatever pass
    /// it carries); the pass's ticket for an event with one; a refusal when
    /// `pass` (the request's, as sent) is missing or not valid for this event
    /// and user now.
    pub fn admit(
        &self,
        pass: Option<&[u8]>,
        event_id: i64,
        user_id: i64,
    ) -> Result<Option<String>, PassRefusal> {
        if !self.is_active(event_id) {
            return Ok(None);
        }
        let pass = pass.ok_or(PassRefusal::Missing)?;
        let pass = std::str::from_utf8(pass).map_err(|_| PassRefusal::Malformed)?;
        self.secret
            .verify(pass.trim(), event_id, user_id, Utc::now())
            .map(Some)
    }
}
