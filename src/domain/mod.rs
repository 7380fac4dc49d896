//! The service's vocabulary and the rules its input must obey. No SQL, no
//! HTTP: validation fails with [`InvalidInput`], a booking is refused with a
//! [`BookingRefusal`], and the HTTP edge (`crate::http::error`) turns both into
//! problem+json answers.

mod booking;
mod catalogue;
mod holds;
mod page;
mod validation;
mod waiting_room;
mod whole_number;

pub use booking::{Booking, BookingRefusal, BookingStatus, Outcome, SeatOrder, SeatRequest};
pub use catalogue::{
    Credentials, Event, EventChanges, NewEvent, NewUser, NewVenue, Password, SeatCount, Session,
    SignUp, User, Venue, DEFAULT_HOLD_SECONDS, DEFAULT_MAX_PER_USER, DEFAULT_OFFER_SECONDS,
};
pub use holds::{Hold, HoldStatus, NewWaitlistEntry, WaitlistEntry, WaitlistStatus};
pub use page::{Keyed, Page, PageRequest};
pub use validation::{ensure_positive_id, InvalidInput, PageQuery};
pub use waiting_room::{PassRefusal, QueueTicket, TicketStatus, WaitingRoom, WaitingRoomSettings};
pub use whole_number::WholeSegment;

/// The kinds of thing a client can ask for by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Venue,
    Event,
    User,
    Booking,
    Hold,
    WaitlistEntry,
    Ticket,
}

impl Resource {
    /// The `code` of a `404` for it.
    pub fn not_found_code(&self) -> &'static str {
        match self {
            Resource::Venue => "venue_not_found",
            Resource::Event => "event_not_found",
            Resource::User => "user_not_found",
            Resource::Booking => "booking_not_found",
            Resource::Hold => "hold_not_found",
            Resource::WaitlistEntry => "waitlist_entry_not_found",
            Resource::Ticket => "ticket_not_found",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Resource::Venue => "venue",
            Resource::Event => "event",
            Resource::User => "user",
            Resource::Booking => "booking",
            Resource::Hold => "hold",
            Resource::WaitlistEntry => "waitlist entry",
            Resource::Ticket => "waiting-room ticket",
        })
    }
}
