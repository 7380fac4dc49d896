//! The admission pass of a waiting room: signed and checked here, by any
//! replica that has the secret (its expiry and single use are checked again in
//! the database, migrations/V7__waiting_room.sql).
//!
//! THE PASS is `v1.<ticket>.<event_id>.<user_id>.<expires_unix>.<mac>`, where
//! `mac` is base64url(HMAC-SHA256(secret, everything before it)). It is bound
//! to the ticket, the user and the event and carries its own expiry; nobody
//! without `FLASHBOOK_PASS_SECRET` can make one. Every replica of a sale needs
//! the same secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::PassRefusal;

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
