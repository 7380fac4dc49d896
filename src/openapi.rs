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
    modifiers(&AdminTokenScheme),
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

/// Declares the bearer scheme admin routes use.
struct AdminTokenScheme;

impl utoipa::Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
