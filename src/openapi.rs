//! The OpenAPI document, served at `/api-docs/openapi.json` with Swagger UI.

use utoipa::OpenApi;

use crate::domain::{
    Booking, BookingPage, BookingStatus, Event, NewBooking, NewEvent, NewUser, NewVenue, User,
    Venue,
};
use crate::error::Problem;
use crate::routes::{bookings, events, health, users, venues};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "flashbook",
        description = "Flash-sale booking: sells exactly an event's capacity under any number of \
                       concurrent buyers. Every error is RFC 9457 application/problem+json with a \
                       stable `code`."
    ),
    paths(
        health::health,
        health::ready,
        venues::create,
        venues::get,
        events::create,
        events::get,
        events::bookings,
        users::create,
        users::get,
        users::bookings,
        bookings::create,
        bookings::get,
        bookings::cancel,
    ),
    components(schemas(
        Venue,
        NewVenue,
        Event,
        NewEvent,
        User,
        NewUser,
        Booking,
        NewBooking,
        BookingStatus,
        BookingPage,
        Problem
    ))
)]
pub struct ApiDoc;
