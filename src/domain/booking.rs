use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::Keyed;
use super::validation::{ensure_positive_id, InvalidInput};
use super::{whole_number, Resource};

/// The body of `POST /bookings`, exactly as flash-sale load scripts send it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBooking {
    #[schema(minimum = 1, example = 1)]
    #[serde(deserialize_with = "whole_number::i64")]
    pub event_id: i64,
    #[schema(minimum = 1, example = 42)]
    #[serde(deserialize_with = "whole_number::i64")]
    pub user_id: i64,
}

impl NewBooking {
    pub fn validate(self) -> Result<Self, InvalidInput> {
        ensure_positive_id("event_id", self.event_id)?;
        ensure_positive_id("user_id", self.user_id)?;
        Ok(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Booking {
    pub id: i64,
    pub event_id: i64,
    pub user_id: i64,
    pub status: BookingStatus,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What the booking transaction decided for one request.
#[derive(Debug, Clone)]
pub enum BookingOutcome {
    Booked(Booking),
    SoldOut,
    AlreadyBooked,
    EventNotFound,
    UserNotFound,
}

/// Why a booking request got no seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefusal {
    #[error("the event is sold out")]
    SoldOut,
    #[error("this user already holds a booking for this event")]
    AlreadyBooked,
    #[error("{0} not found")]
    NotFound(Resource),
}

impl BookingOutcome {
    pub fn into_result(self) -> Result<Booking, BookingRefusal> {
        match self {
            BookingOutcome::Booked(booking) => Ok(booking),
            BookingOutcome::SoldOut => Err(BookingRefusal::SoldOut),
            BookingOutcome::AlreadyBooked => Err(BookingRefusal::AlreadyBooked),
            BookingOutcome::EventNotFound => Err(BookingRefusal::NotFound(Resource::Event)),
            BookingOutcome::UserNotFound => Err(BookingRefusal::NotFound(Resource::User)),
        }
    }
}

impl Keyed for Booking {
    fn key(&self) -> i64 {
        self.id
    }
}
