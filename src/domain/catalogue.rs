//! Venues, events and users: the things a booking refers to.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::{
    clean_text, ensure_positive_id, InvalidInput, MAX_EMAIL_CHARS, MAX_NAME_CHARS,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVenue {
    #[schema(example = "Main Arena", min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(minimum = 1, example = 1000)]
    pub capacity: i32,
}

impl NewVenue {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        if self.capacity <= 0 {
            return Err(InvalidInput::new(
                "invalid_capacity",
                format!("capacity must be a positive integer, got {}", self.capacity),
            ));
        }
        Ok(Self {
            name: clean_text("name", &self.name, MAX_NAME_CHARS)?,
            capacity: self.capacity,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Venue {
    pub id: i64,
    pub name: String,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[schema(minimum = 1, example = 1)]
    pub venue_id: i64,
    #[schema(example = "Opening night", min_length = 1, max_length = 200)]
    pub name: String,
    /// RFC 3339 timestamp, years 1970 to 9999.
    pub starts_at: DateTime<Utc>,
    /// Seats on sale; defaults to the venue's capacity and may not exceed it.
    #[schema(minimum = 1, example = 1000)]
    pub capacity: Option<i32>,
}

impl NewEvent {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        ensure_positive_id("venue_id", self.venue_id)?;
        if !(1970..=9999).contains(&self.starts_at.year()) {
            return Err(InvalidInput::new(
                "invalid_field",
                "starts_at must fall between the years 1970 and 9999",
            ));
        }
        if let Some(capacity) = self.capacity.filter(|&c| c <= 0) {
            return Err(InvalidInput::new(
                "invalid_capacity",
                format!("capacity must be a positive integer, got {capacity}"),
            ));
        }
        Ok(Self {
            name: clean_text("name", &self.name, MAX_NAME_CHARS)?,
            ..self
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub venue_id: i64,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub capacity: i32,
    /// Seats sold (confirmed bookings).
    pub booked: i32,
    /// Seats still on sale: `capacity - booked`.
    pub remaining: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(
        example = "ada@example.com",
        min_length = 3,
        max_length = 320,
        pattern = r"^\s*[^@\s]+@[^@\s]+\s*$"
    )]
    pub email: String,
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 200)]
    pub name: String,
}

impl NewUser {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        let email = clean_text("email", &self.email, MAX_EMAIL_CHARS)?;
        let well_formed = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && !email.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(InvalidInput::new(
                "invalid_field",
                "email must look like name@domain",
            ));
        }
        Ok(Self {
            // Emails compare case-insensitively in practice; store one spelling.
            email: email.to_lowercase(),
            name: clean_text("name", &self.name, MAX_NAME_CHARS)?,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        for bad in ["plain", "@example.com", "a@", "a b@example.com"] {
            let user = NewUser {
                email: bad.into(),
                name: "A".into(),
            };
            assert!(user.validate().is_err(), "{bad}");
        }
        let user = NewUser {
            email: " Ada@Example.COM ".into(),
            name: "Ada".into(),
        };
        assert_eq!(user.validate().unwrap().email, "ada@example.com");
    }

    #[test]
    fn event_capacity_and_date_are_checked() {
        let event = |capacity, starts_at: &str| NewEvent {
            venue_id: 1,
            name: "Gig".into(),
            starts_at: starts_at.parse().unwrap(),
            capacity,
        };
        assert!(event(Some(0), "2030-01-01T20:00:00Z").validate().is_err());
        assert!(event(None, "0001-01-01T00:00:00Z").validate().is_err());
        assert!(event(Some(10), "2030-01-01T20:00:00Z").validate().is_ok());
    }
}
