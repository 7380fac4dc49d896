use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::Keyed;
use super::validation::{ensure_positive_id, InvalidInput};
use super::waiting_room::PassRefusal;
use super::{whole_number, Resource};

/// The body of `POST /bookings` and `POST /holds`: `{"event_id": ..}`,
/// with an optional `quantity` (default 1). The buyer is the bearer token's
/// user; a `user_id` here is refused as an unknown field.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatOrder {
    #[schema(minimum = 1, example = 1)]
    #[serde(deserialize_with = "whole_number::i64")]
    pub event_id: i64,
    /// Seats, all or none: 1 (the default) up to the event's `max_per_user`.
    #[schema(minimum = 1, maximum = 100, example = 2)]
    #[serde(default = "one_seat", deserialize_with = "whole_number::i32")]
    pub quantity: i32,
}

fn one_seat() -> i32 {
    1
}

impl SeatOrder {
    /// The request of buyer `user_id` (from the token) for these seats.
    pub fn validate(self, user_id: i64) -> Result<SeatRequest, InvalidInput> {
        ensure_positive_id("event_id", self.event_id)?;
        ensure_quantity(self.quantity)?;
        Ok(SeatRequest {
            event_id: self.event_id,
            user_id,
            quantity: self.quantity,
        })
    }
}

/// Seats one buyer asks for: a valid [`SeatOrder`] and its buyer.
#[derive(Debug, Clone, Copy)]
pub struct SeatRequest {
    pub event_id: i64,
    pub user_id: i64,
    pub quantity: i32,
}

/// Most seats one request may ask for: the ceiling of `max_per_user`.
pub const MAX_SEATS_PER_USER: i32 = 100;

/// 1 to [`MAX_SEATS_PER_USER`]; the event's own limit is checked under its lock.
pub fn ensure_quantity(quantity: i32) -> Result<i32, InvalidInput> {
    if (1..=MAX_SEATS_PER_USER).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(InvalidInput::new(
            "invalid_quantity",
            format!("quantity must be between 1 and {MAX_SEATS_PER_USER}, got {quantity}"),
        ))
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
    /// Seats in this booking.
    pub quantity: i32,
    pub status: BookingStatus,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What a seat-changing transaction decided for one request: the thing it
/// made (a booking, a hold, a waiting-list entry) or why it refused.
pub type Outcome<T> = Result<T, BookingRefusal>;

/// Why a request of the buyer flow got no seats. Each has a stable `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefusal {
    #[error("the event is sold out (seats that come back go to its waiting list first)")]
    SoldOut,
    #[error("only {remaining} seat(s) left; none were taken")]
    NotEnoughSeats { remaining: i32 },
    #[error("this would give the user more than the event's limit of {max_per_user} seat(s)")]
    LimitExceeded { max_per_user: i32 },
    #[error("this user already holds a booking for this event")]
    AlreadyBooked,
    #[error("the hold has expired; its seats are back on sale")]
    HoldExpired,
    #[error("the hold was released; its seats are back on sale")]
    HoldReleased,
    #[error("the hold is already confirmed as booking {booking_id}")]
    HoldConfirmed { booking_id: i64 },
    #[error("{remaining} seat(s) are on sale: book them instead of joining the waiting list")]
    SeatsAvailable { remaining: i32 },
    #[error("this user is already on this event's waiting list as entry {entry_id}")]
    AlreadyWaiting { entry_id: i64 },
    #[error("{taken} seats are booked or held; the capacity cannot go below that")]
    CapacityBelowTaken { taken: i32 },
    #[error("a buyer has more seats (booked, held or waited for) than this max_per_user")]
    MaxPerUserBelowSeats,
    #[error("{0} not found")]
    NotFound(Resource),
    /// The event has a waiting room and the request's pass was refused.
    #[error("{0}")]
    AdmissionRequired(PassRefusal),
    /// `POST /events/{id}/queue` for an event without a waiting room.
    #[error("this event has no waiting room: book directly")]
    WaitingRoomOff,
}

impl BookingRefusal {
    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            BookingRefusal::SoldOut => "sold_out",
            BookingRefusal::NotEnoughSeats { .. } => "not_enough_seats",
            BookingRefusal::LimitExceeded { .. } => "limit_exceeded",
            BookingRefusal::AlreadyBooked => "already_booked",
            BookingRefusal::HoldExpired => "hold_expired",
            BookingRefusal::HoldReleased => "hold_released",
            BookingRefusal::HoldConfirmed { .. } => "hold_confirmed",
            BookingRefusal::SeatsAvailable { .. } => "seats_available",
            BookingRefusal::AlreadyWaiting { .. } => "already_waiting",
            BookingRefusal::CapacityBelowTaken { .. } => "capacity_below_taken",
            BookingRefusal::MaxPerUserBelowSeats => "max_per_user_below_seats",
            BookingRefusal::NotFound(resource) => resource.not_found_code(),
            BookingRefusal::AdmissionRequired(_) => "admission_required",
            BookingRefusal::WaitingRoomOff => "waiting_room_off",
        }
    }
}

impl Keyed for Booking {
    fn key(&self) -> i64 {
        self.id
    }
}
