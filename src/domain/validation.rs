use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

/// Input that breaks a rule; `code` is the stable name clients switch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct InvalidInput {
    pub code: &'static str,
    pub detail: String,
}

impl InvalidInput {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EMAIL_CHARS: usize = 320;
pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 1_000;

/// Ids are positive; anything else can only be a client mistake.
pub fn ensure_positive_id(field: &str, id: i64) -> Result<i64, InvalidInput> {
    if id > 0 {
        Ok(id)
    } else {
        Err(InvalidInput::new(
            "invalid_id",
            format!("{field} must be a positive integer, got {id}"),
        ))
    }
}

/// An instant between the years 1970 and 9999, as written and in UTC: the
/// written year is what the document's pattern can state; the UTC year is
/// what PostgreSQL stores and an answer writes back as RFC 3339 (a year of
/// four digits). Anything else is refused here, not by the database.
pub fn ensure_instant_in_range<Tz: TimeZone>(
    field: &str,
    at: &DateTime<Tz>,
) -> Result<(), InvalidInput> {
    let utc_year = at.with_timezone(&Utc).year();
    if (1970..=9999).contains(&at.year()) && utc_year <= 9999 {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "invalid_field",
            format!("{field} must fall between the years 1970 and 9999"),
        ))
    }
}

/// Trims and checks a human-readable text field. PostgreSQL text cannot hold
/// NUL, so control characters are refused here rather than failing in SQL.
/// The length bound applies to the text as sent, as the OpenAPI schema says.
/// The schemas' `pattern`s say the rest exactly (the tests of `catalogue`
/// hold them to it): around the text any White_Space character (what `trim`
/// removes, listed one by one, as regex engines disagree on `\s`); inside,
/// at least one character that is neither, and no `Cc` control character.
pub fn clean_text(field: &str, value: &str, max_chars: usize) -> Result<String, InvalidInput> {
    let sent_chars = value.chars().count();
    let value = value.trim();
    let chars = value.chars().count();
    if chars == 0 || sent_chars > max_chars {
        return Err(InvalidInput::new(
            "invalid_field",
            format!("{field} must be 1 to {max_chars} characters, got {sent_chars}"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "invalid_field",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Keyset pagination: `after_id` is the last id of the previous page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Return items with an id greater than this (default 0: from the start).
    #[param(minimum = 0)]
    pub after_id: Option<i64>,
}

impl PageQuery {
    pub fn validate(&self) -> Result<crate::domain::PageRequest, InvalidInput> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(InvalidInput::new(
                "invalid_query",
                format!("limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}"),
            ));
        }
        let after_id = self.after_id.unwrap_or(0);
        if after_id < 0 {
            return Err(InvalidInput::new(
                "invalid_query",
                format!("after_id must not be negative, got {after_id}"),
            ));
        }
        Ok(crate::domain::PageRequest { limit, after_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert_eq!(ensure_positive_id("event_id", 1).unwrap(), 1);
        assert_eq!(
            ensure_positive_id("event_id", 0).unwrap_err().code,
            "invalid_id"
        );
        assert_eq!(
            ensure_positive_id("event_id", -7).unwrap_err().code,
            "invalid_id"
        );
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(clean_text("name", "  Arena ", 10).unwrap(), "Arena");
        assert!(clean_text("name", "   ", 10).is_err());
        assert!(clean_text("name", "a\0b", 10).is_err());
        assert!(clean_text("name", &"é".repeat(11), 10).is_err());
        assert!(clean_text("name", &format!("  {}", "é".repeat(9)), 10).is_err());
        assert_eq!(
            clean_text("name", "'; DROP TABLE users; --", 50).unwrap(),
            "'; DROP TABLE users; --"
        );
    }

    #[test]
    fn page_bounds_are_enforced() {
        let page = PageQuery::default().validate().unwrap();
        assert_eq!((page.limit, page.after_id), (DEFAULT_PAGE_SIZE, 0));
        for limit in [0, -1, MAX_PAGE_SIZE + 1] {
            let query = PageQuery {
                limit: Some(limit),
                after_id: None,
            };
            assert!(query.validate().is_err(), "limit {limit}");
        }
        let query = PageQuery {
            limit: None,
            after_id: Some(-1),
        };
        assert!(query.validate().is_err());
    }
}
