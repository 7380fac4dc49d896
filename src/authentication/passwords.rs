//! Buyers' passwords: argon2id (the `argon2` crate's defaults, OWASP's
//! recommended 19 MiB, 2 passes), PHC strings in `users.password_hash`.
//!
//! A check against an email nobody has costs the same as one against a
//! wrong password: it verifies against a hash made at start-up, so the time
//! of `POST /sessions` does not tell which emails exist. Both are CPU work
//! of tens of milliseconds; the HTTP edge runs them off the async workers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
#[error("cannot hash a password: {0}")]
pub struct PasswordError(String);

/// Hashes and checks passwords.
pub struct Passwords {
    /// The hash an unknown email's password is checked against.
    stand_in: String,
}

impl Passwords {
    pub fn new() -> Result<Self, PasswordError> {
        let stand_in = hash(&uuid::Uuid::new_v4().simple().to_string())?;
        Ok(Self { stand_in })
    }

    /// Whether `password` is the one `stored` was made from; `None` (no such
    /// user, or a user without a password) takes as long and is `false`.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> bool {
        let matches = |hash: &str| {
            PasswordHash::new(hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        };
        match stored {
            Some(hash) => matches(hash),
            None => {
                matches(&self.stand_in);
                false
            }
        }
    }
}

/// A new PHC string for `password`, with a random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    // 16 random bytes (a v4 UUID's come from the OS's generator).
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|error| PasswordError(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordError(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_password_matches() {
        let passwords = Passwords::new().unwrap();
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(passwords.verify(Some(&stored), "correct horse"));
        assert!(!passwords.verify(Some(&stored), "correct horsE"));
        assert!(!passwords.verify(None, "correct horse"));
    }
}
