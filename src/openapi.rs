//! The OpenAPI document, served at `/api-docs/openapi.json` with Swagger UI.
//!
//! `ApiDoc` holds what no route carries: the info and the admin security
//! scheme. Each path, and every schema it uses, enters the document when its
//! route is registered (`routes::configure`), so the two cannot differ.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    modifiers(&AdminTokenScheme),
    info(
        title = "flashbook",
        description = "Flash-sale booking: sells exactly an event's capacity under any number of \
                       concurrent buyers. Every error is RFC 9457 application/problem+json with a \
                       stable `code`."
    )
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
