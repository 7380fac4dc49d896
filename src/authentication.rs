//! Admin protection: routes that change more than one buyer's data (venues,
//! events) need `Authorization: Bearer <FLASHBOOK_ADMIN_TOKEN>`.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use crate::error::ApiError;

/// The admin token. `Debug` never prints it.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// A random token for a process started without one; logged once so the
    /// operator can use it.
    pub fn generate() -> Self {
        Self(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), presented)
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Compares in time that depends only on the lengths, so the response time
/// does not reveal how many leading bytes of a guess were right.
fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    let mut difference = expected.len() ^ presented.len();
    for (index, byte) in expected.iter().enumerate() {
        let other = presented.get(index).copied().unwrap_or(!byte);
        difference |= usize::from(byte ^ other);
    }
    difference == 0
}

/// Proof that the request carried the admin token; take it as a handler
/// argument to protect the route.
pub struct Admin;

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authorize(request).map_err(Into::into))
    }
}

fn authorize(request: &HttpRequest) -> Result<Admin, ApiError> {
    let token = request
        .app_data::<web::Data<AdminToken>>()
        .ok_or_else(|| ApiError::Internal("admin token not configured".into()))?;
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if token.matches(presented) {
        Ok(Admin)
    } else {
        Err(ApiError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_exactly() {
        let token = AdminToken::new("s3cret".into());
        assert!(token.matches(b"s3cret"));
        for wrong in [&b"s3cre"[..], b"s3cret!", b"S3cret", b""] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[test]
    fn generated_tokens_are_long_and_distinct() {
        let (a, b) = (AdminToken::generate(), AdminToken::generate());
        assert!(a.expose().len() >= 32);
        assert_ne!(a.expose(), b.expose());
    }
}
