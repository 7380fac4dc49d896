//! The waiting room on the request path: which events have one (kept in
//! memory, so `POST /holds` and `POST /bookings` for the others pay one hash
//! lookup and no database round trip), and the admission pass (signed here,
//! checked here; its expiry and single use are checked again in the
//! database, migrations/V7__waiting_room.sql).
//!
//! WHICH EVENTS HAVE ONE. Each replica keeps the set of events with an
//! active waiting room. A background task reloads it every
//! [`REFRESH_INTERVAL`] (one small query per replica per interval, whatever
//! the load); the replica that answers `PUT`/`DELETE
//! /events/{id}/waiting-room` updates its own set at once. So after the admin
//! turns a room on, another replica may take requests without a pass for up
//! to one interval (plus the query's time): turn the room on before the sale
//! opens, which is what it is for. Turning it off is seen as late.
//!
//! THE PASS is `v1.<ticket>.<event_id>.<user_id>.<expires_unix>.<mac>`, where
//! `mac` is base64url(HMAC-SHA256(secret, everything before it)). It is bound
//! to the ticket, the user and the event and carries its own expiry; nobody
//! without `FLASHBOOK_PASS_SECRET` can make one. Every replica of a sale needs
//! the same secret.

use std::collections::HashSet;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::PassRefusal;

/// The request header that carries the pass.
pub const PASS_HEADER: &str = "Admission-Pass";

/// How often each replica reloads the events that have a waiting room.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

const PASS_VERSION: &str = "v1";

/// The key admission passes are signed with. `Debug` never prints it.
#[derive(Clone)]
pub struct PassSecret(Vec<u8>);

impl PassSecret {
    pub fn new(secret: String) -> Self {
        Self(secret.into_bytes())
    }

    /// A random secret for a process started without one: its passes are
    /// valid on this process only, until it restarts.
    pub fn generate() -> Self {
        Self::new(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }

    /// The pass of an admitted ticket.
    pub fn sign(
        &self,
        ticket: &str,
        event_id: i64,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> String {
        let payload = format!(
            "{PASS_VERSION}.{ticket}.{event_id}.{user_id}.{}",
            expires_at.timestamp()
        );
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// Checks a pass for this event and user at `now`; returns its ticket.
    pub fn verify(
        &self,
        pass: &str,
        event_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<String, PassRefusal> {
        let (payload, signature) = pass.rsplit_once('.').ok_or(PassRefusal::Malformed)?;
        let fields: Vec<&str> = payload.split('.').collect();
        let [version, ticket, pass_event, pass_user, expires] = fields[..] else {
            return Err(PassRefusal::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| PassRefusal::Malformed)?;
        if version != PASS_VERSION || !is_ticket(ticket) {
            return Err(PassRefusal::Malformed);
        }
        let parse = |field: &str| field.parse::<i64>().map_err(|_| PassRefusal::Malformed);
        let (pass_event, pass_user, expires) =
            (parse(pass_event)?, parse(pass_user)?, parse(expires)?);
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        // Constant time: the answer's timing says nothing about the MAC.
        mac.verify_slice(&signature)
            .map_err(|_| PassRefusal::BadSignature)?;
        if pass_event != event_id || pass_user != user_id {
            return Err(PassRefusal::WrongHolder);
        }
        if expires <= now.timestamp() {
            return Err(PassRefusal::Expired);
        }
        Ok(ticket.to_owned())
    }
}

impl std::fmt::Debug for PassSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassSecret(<redacted>)")
    }
}

/// A new ticket: 122 random bits (a v4 UUID) as 32 lowercase hex digits.
pub fn new_ticket() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// 32 lowercase hex digits, the only shape a ticket has.
pub fn is_ticket(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

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
    /// without a waiting room (the request goes on as before, whatever
    /// headers it has); the pass's ticket for an event with one; a refusal
    /// when its pass is missing or not valid for this event and user now.
    pub fn admit(
        &self,
        headers: &HeaderMap,
        event_id: i64,
        user_id: i64,
    ) -> Result<Option<String>, PassRefusal> {
        if !self.is_active(event_id) {
            return Ok(None);
        }
        let pass = headers.get(PASS_HEADER).ok_or(PassRefusal::Missing)?;
        let pass = pass.to_str().map_err(|_| PassRefusal::Malformed)?;
        self.secret
            .verify(pass.trim(), event_id, user_id, Utc::now())
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_valid_only_for_its_holder_until_it_expires() {
        let secret = PassSecret::new("s3cret".into());
        let ticket = new_ticket();
        let now = Utc::now();
        let expires = now + chrono::Duration::seconds(60);
        let pass = secret.sign(&ticket, 7, 42, expires);
        assert_eq!(secret.verify(&pass, 7, 42, now), Ok(ticket.clone()));
        assert_eq!(
            secret.verify(&pass, 8, 42, now),
            Err(PassRefusal::WrongHolder)
        );
        assert_eq!(
            secret.verify(&pass, 7, 43, now),
            Err(PassRefusal::WrongHolder)
        );
        assert_eq!(
            secret.verify(&pass, 7, 42, expires),
            Err(PassRefusal::Expired)
        );
        let other = PassSecret::new("other".into());
        assert_eq!(
            other.verify(&pass, 7, 42, now),
            Err(PassRefusal::BadSignature)
        );
        let forged = pass.replace(".7.42.", ".7.43.");
        assert_eq!(
            secret.verify(&forged, 7, 43, now),
            Err(PassRefusal::BadSignature)
        );
        for malformed in [
            "",
            "v1",
            "x.y",
            &pass.replacen("v1", "v2", 1),
            "v1.a.1.2.3.!!",
        ] {
            assert_eq!(
                secret.verify(malformed, 7, 42, now),
                Err(PassRefusal::Malformed),
                "{malformed}"
            );
        }
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn tickets_are_random_hex() {
        let (a, b) = (new_ticket(), new_ticket());
        assert!(is_ticket(&a) && is_ticket(&b));
        assert_ne!(a, b);
        assert!(!is_ticket("1234"));
    }
}
