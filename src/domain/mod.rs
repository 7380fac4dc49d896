//! The service's vocabulary and the rules its input must obey. No SQL, no HTTP.

mod booking;
mod catalogue;
mod validation;

pub use booking::{Booking, BookingOutcome, BookingPage, BookingStatus, NewBooking, PageRequest};
pub use catalogue::{Event, NewEvent, NewUser, NewVenue, User, Venue};
pub use validation::{ensure_positive_id, PageQuery};
