//! Venues, events and users: the things a booking refers to.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::Keyed;
use super::validation::{
    clean_text, ensure_instant_in_range, ensure_positive_id, InvalidInput, MAX_EMAIL_CHARS,
    MAX_NAME_CHARS,
};
use super::whole_number;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVenue {
    #[schema(
        example = "Main Arena",
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u001f\u007f-\u009f]*[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    #[schema(minimum = 1, example = 1000)]
    #[serde(deserialize_with = "whole_number::i32")]
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

impl Keyed for Venue {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for Event {
    fn key(&self) -> i64 {
        self.id
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[schema(minimum = 1, example = 1)]
    #[serde(deserialize_with = "whole_number::i64")]
    pub venue_id: i64,
    #[schema(
        example = "Opening night",
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u001f\u007f-\u009f]*[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// RFC 3339 timestamp, its year as written 1970 to 9999 (the `pattern`);
    /// an instant after the end of 9999 in UTC is refused too.
    #[schema(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub starts_at: DateTime<FixedOffset>,
    /// Seats on sale; defaults to the venue's capacity and may not exceed it.
    #[schema(minimum = 1, example = 1000)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub capacity: Option<i32>,
    /// Most seats one user may hold plus own in this event (default 1).
    #[schema(minimum = 1, maximum = 100, example = 4)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub max_per_user: Option<i32>,
    /// How long a hold keeps its seats (default 600).
    #[schema(minimum = 1, maximum = 86400, example = 600)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub hold_seconds: Option<i32>,
    /// How long a waiting-list offer keeps its seats (default 900).
    #[schema(minimum = 1, maximum = 86400, example = 900)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub offer_seconds: Option<i32>,
}

/// Defaults of the sale settings. The schema's column defaults agree: they
/// gave events made before V6 these values.
pub const DEFAULT_MAX_PER_USER: i32 = 1;
pub const DEFAULT_HOLD_SECONDS: i32 = 600;
pub const DEFAULT_OFFER_SECONDS: i32 = 900;

impl NewEvent {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        ensure_positive_id("venue_id", self.venue_id)?;
        ensure_instant_in_range("starts_at", &self.starts_at)?;
        ensure_capacity(self.capacity)?;
        ensure_sale_settings(self.max_per_user, self.hold_seconds, self.offer_seconds)?;
        Ok(Self {
            name: clean_text("name", &self.name, MAX_NAME_CHARS)?,
            ..self
        })
    }
}

/// The body of `PATCH /events/{id}`: the fields to change. As in a JSON
/// merge patch (RFC 7396) an absent field is left as it is, and so is a
/// `null` one (no field of an event can be removed); `{}` changes nothing.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventChanges {
    #[schema(
        example = "Opening night",
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u001f\u007f-\u009f]*[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    /// As for `POST /events`.
    #[schema(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub starts_at: Option<DateTime<FixedOffset>>,
    /// At most the venue's capacity, and at least the seats booked and held.
    #[schema(minimum = 1, example = 1000)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub capacity: Option<i32>,
    /// Applies to requests from now on; seats already held or booked stay.
    #[schema(minimum = 1, maximum = 100, example = 4)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub max_per_user: Option<i32>,
    /// Applies to holds made from now on.
    #[schema(minimum = 1, maximum = 86400, example = 600)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub hold_seconds: Option<i32>,
    /// Applies to offers made from now on.
    #[schema(minimum = 1, maximum = 86400, example = 900)]
    #[serde(default, deserialize_with = "whole_number::option_i32")]
    pub offer_seconds: Option<i32>,
}

impl EventChanges {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        if let Some(starts_at) = &self.starts_at {
            ensure_instant_in_range("starts_at", starts_at)?;
        }
        ensure_capacity(self.capacity)?;
        ensure_sale_settings(self.max_per_user, self.hold_seconds, self.offer_seconds)?;
        let name = match &self.name {
            Some(name) => Some(clean_text("name", name, MAX_NAME_CHARS)?),
            None => None,
        };
        Ok(Self { name, ..self })
    }
}

fn ensure_capacity(capacity: Option<i32>) -> Result<(), InvalidInput> {
    match capacity {
        Some(capacity) if capacity <= 0 => Err(InvalidInput::new(
            "invalid_capacity",
            format!("capacity must be a positive integer, got {capacity}"),
        )),
        _ => Ok(()),
    }
}

/// The ranges the schema's CHECKs allow (migrations/V6__buyer_flow.sql).
fn ensure_sale_settings(
    max_per_user: Option<i32>,
    hold_seconds: Option<i32>,
    offer_seconds: Option<i32>,
) -> Result<(), InvalidInput> {
    for (field, value, max) in [
        (
            "max_per_user",
            max_per_user,
            super::booking::MAX_SEATS_PER_USER,
        ),
        ("hold_seconds", hold_seconds, 86_400),
        ("offer_seconds", offer_seconds, 86_400),
    ] {
        if let Some(value) = value.filter(|value| !(1..=max).contains(value)) {
            return Err(InvalidInput::new(
                "invalid_field",
                format!("{field} must be between 1 and {max}, got {value}"),
            ));
        }
    }
    Ok(())
}

/// An event's seats at one instant, as `GET /events/{id}` and the live view
/// (`crate::live`) both report them: the one definition of `remaining`, so
/// the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatCount {
    pub capacity: i32,
    /// Seats sold (in confirmed bookings).
    pub booked: i32,
    /// Seats in holds (and waiting-list offers) that have not expired.
    pub held: i32,
}

impl SeatCount {
    /// Seats neither booked nor held, never below 0.
    pub fn remaining(self) -> i32 {
        (self.capacity - self.booked - self.held).max(0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub venue_id: i64,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub capacity: i32,
    /// Seats sold (in confirmed bookings).
    pub booked: i32,
    /// Seats in holds (and waiting-list offers) that have not expired.
    pub held: i32,
    /// Seats neither booked nor held: `capacity - booked - held`. While
    /// anyone is on the waiting list these go to the list, not to new buyers.
    pub remaining: i32,
    /// Seats asked for by the users waiting on the waiting list.
    pub waiting: i32,
    pub max_per_user: i32,
    pub hold_seconds: i32,
    pub offer_seconds: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(
        example = "ada@example.com",
        min_length = 3,
        max_length = 320,
        pattern = r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^@\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f]+@[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f]+[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub email: String,
    #[schema(
        example = "Ada Lovelace",
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u001f\u007f-\u009f]*[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// 8 to 128 characters.
    #[schema(value_type = String, min_length = 8, max_length = 128, example = "correct horse battery")]
    pub password: Password,
}

impl NewUser {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        Ok(Self {
            email: clean_email(&self.email)?,
            name: clean_text("name", &self.name, MAX_NAME_CHARS)?,
            password: self.password.validate()?,
        })
    }
}

/// Trimmed, `name@domain`, lower case: emails compare case-insensitively in
/// practice, so one spelling is stored and looked up.
fn clean_email(email: &str) -> Result<String, InvalidInput> {
    let email = clean_text("email", email, MAX_EMAIL_CHARS)?;
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
    Ok(email.to_lowercase())
}

/// A password as sent. `Debug` never prints it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(password: String) -> Self {
        Self(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// 8 to 128 characters, any; the upper bound keeps a hash's cost bounded.
    fn validate(self) -> Result<Self, InvalidInput> {
        let chars = self.0.chars().count();
        if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            Ok(self)
        } else {
            Err(InvalidInput::new(
                "invalid_password",
                format!("password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            ))
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Password lengths accepted at sign-up, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The body of `POST /sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(value_type = String, example = "correct horse battery")]
    pub password: Password,
}

impl Credentials {
    /// The email as stored; a malformed one or a password of the wrong
    /// length can match no account and gets the same answer as a wrong one.
    pub fn normalized(self) -> Option<Self> {
        let email = clean_email(&self.email).ok()?;
        let password = self.password.validate().ok()?;
        Some(Self { email, password })
    }
}

/// A buyer's token, from `POST /sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// Send it as `Authorization: Bearer <token>`.
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: i64,
}

/// The answer of `POST /users`, the same whether the email was new or not.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignUp {
    #[schema(example = "accepted")]
    pub status: String,
    pub detail: String,
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
                password: Password::new("long enough".into()),
            };
            assert!(user.validate().is_err(), "{bad}");
        }
        let user = NewUser {
            email: " Ada@Example.COM ".into(),
            name: "Ada".into(),
            password: Password::new("long enough".into()),
        };
        assert_eq!(user.validate().unwrap().email, "ada@example.com");
        for (password, valid) in [
            ("seven!!", false),
            ("eight!!!", true),
            ("é".repeat(128).as_str(), true),
            ("x".repeat(129).as_str(), false),
        ] {
            let user = NewUser {
                email: "a@b".into(),
                name: "A".into(),
                password: Password::new(password.into()),
            };
            assert_eq!(user.validate().is_ok(), valid, "{password}");
        }
    }

    /// Strings either side of every rule of `clean_text` and of emails.
    const SAMPLES: [&str; 22] = [
        "Arena",
        "  Arena ",
        "\tArena\r\n",
        "\u{85}Arena\u{3000}",
        "a b",
        "a\tb",
        "a\nb",
        "",
        "   ",
        "\t\n",
        "a\0b",
        "\0",
        "a\u{1c}b",
        "a\u{7f}",
        "\u{9f}a",
        "é\u{2028}",
        "ada@example.com",
        " ada@example.com\n",
        "a@b@c",
        "@b",
        "a@",
        "a @b",
    ];

    fn schema_pattern<S: utoipa::PartialSchema>(field: &str) -> String {
        let schema = serde_json::to_value(S::schema()).unwrap();
        schema["properties"][field]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{field} has no pattern"))
            .to_owned()
    }

    #[test]
    fn the_documented_patterns_accept_exactly_what_validation_accepts() {
        let text_pattern = schema_pattern::<NewVenue>("name");
        assert_eq!(schema_pattern::<NewEvent>("name"), text_pattern);
        assert_eq!(schema_pattern::<NewUser>("name"), text_pattern);
        assert_eq!(schema_pattern::<EventChanges>("name"), text_pattern);
        assert_eq!(
            schema_pattern::<EventChanges>("starts_at"),
            schema_pattern::<NewEvent>("starts_at")
        );
        let (text, email) = (
            regex::Regex::new(&text_pattern).unwrap(),
            regex::Regex::new(&schema_pattern::<NewUser>("email")).unwrap(),
        );
        for sample in SAMPLES {
            let accepted = clean_text("name", sample, MAX_NAME_CHARS).is_ok();
            assert_eq!(text.is_match(sample), accepted, "name {sample:?}");
            let user = NewUser {
                email: sample.into(),
                name: "A".into(),
                password: Password::new("long enough".into()),
            };
            let accepted = user.validate().is_ok();
            assert_eq!(email.is_match(sample), accepted, "email {sample:?}");
        }
    }

    #[test]
    fn event_capacity_and_date_are_checked() {
        let event = |capacity, starts_at: &str| NewEvent {
            venue_id: 1,
            name: "Gig".into(),
            starts_at: starts_at.parse().unwrap(),
            capacity,
            max_per_user: None,
            hold_seconds: None,
            offer_seconds: None,
        };
        assert!(event(Some(0), "2030-01-01T20:00:00Z").validate().is_err());
        assert!(event(None, "0001-01-01T00:00:00Z").validate().is_err());
        assert!(event(Some(10), "2030-01-01T20:00:00Z").validate().is_ok());
        assert!(event(None, "0246-10-18T07:29:35Z").validate().is_err());
        assert!(event(None, "1969-12-31T23:59:59Z").validate().is_err());
        // The year as written counts, as the document's pattern says.
        assert!(event(None, "1970-01-01T00:30:00+01:00").validate().is_ok());
        assert!(event(None, "9999-12-31T20:00:00+01:00").validate().is_ok());
        assert!(event(None, "9999-12-31T23:00:00-05:00").validate().is_err());
    }

    #[test]
    fn sale_settings_stay_in_their_ranges() {
        assert!(ensure_sale_settings(Some(0), None, None).is_err());
        assert!(ensure_sale_settings(Some(101), None, None).is_err());
        assert!(ensure_sale_settings(None, Some(86_401), None).is_err());
        assert!(ensure_sale_settings(None, None, Some(-5)).is_err());
        assert!(ensure_sale_settings(Some(4), Some(2), Some(86_400)).is_ok());
        assert!(EventChanges::default().validate().is_ok());
    }
}
