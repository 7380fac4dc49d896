//! The service's vocabulary and the rules its input must obey. No SQL, no
//! HTTP: validation fails with [`InvalidInput`], a booking is refused with a
//! [`BookingRefusal`], and the HTTP edge (`crate::error`) turns both into
//! problem+json answers.

mod booking;
mod catalogue;
mod page;
mod validation;
mod whole_number;

pub use booking::{Booking, BookingOutcome, BookingRefusal, BookingStatus, NewBooking};
pub use catalogue::{Event, NewEvent, NewUser, NewVenue, User, Venue};
pub use page::{Keyed, Page, PageRequest};
pub use validation::{ensure_positive_id, InvalidInput, PageQuery};

/// The kinds of thing a client can ask for by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Venue,
    Event,
    User,
    Booking,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Resource::Venue => "venue",
            Resource::Event => "event",
            Resource::User => "user",
            Resource::Booking => "booking",
        })
    }
}
