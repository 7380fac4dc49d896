//! Who a request is: the admin token, which admin routes compare
//! `Authorization: Bearer ...` with (the check itself is the HTTP edge's
//! `Admin` extractor, `http::admin`); buyers' tokens (`tokens`, checked by
//! the edge's `Buyer` extractor) and passwords (`passwords`).

pub mod passwords;
pub mod tokens;

use subtle::ConstantTimeEq;

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

    /// Whether `presented` is the token. `subtle` compares in time that
    /// depends only on the lengths, so the response time does not reveal
    /// how many leading bytes of a guess were right.
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
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
