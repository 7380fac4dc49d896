use crate::domain::InvalidInput;

/// The request header that carries the key.
pub const HEADER: &str = "Idempotency-Key";
const MAX_LENGTH: usize = 255;

/// 1 to 255 visible ASCII characters, as the client sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &[u8]) -> Result<Self, InvalidInput> {
        let visible_ascii = value.iter().all(|byte| (0x21..=0x7e).contains(byte));
        if value.is_empty() || value.len() > MAX_LENGTH || !visible_ascii {
            return Err(InvalidInput::new(
                "invalid_idempotency_key",
                format!("{HEADER} must be 1 to {MAX_LENGTH} visible ASCII characters"),
            ));
        }
        // Visible ASCII is valid UTF-8.
        Ok(Self(String::from_utf8_lossy(value).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse(b"order-42_retry:1").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 255]).is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 256],
            b"has space",
            b"tab\t",
            "caf\u{e9}".as_bytes(),
            b"\x7f",
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
