//! The HTTP edge: the only module (with `startup.rs` and `main.rs`) that
//! knows actix-web or problem+json. Everything a request meets on its way in
//! and out lives here:
//! - the routes, one module per resource, each handler turning HTTP into a
//!   call of a lower layer and its result back into HTTP; [`configure`]
//!   registers each route once, for the router and the OpenAPI document
//!   together (`openapi`);
//! - `error`: [`ApiError`], the one error type, rendered as problem+json, and
//!   the `From` impls that decide what each lower layer's error means to a
//!   client;
//! - `idempotent`: an `Idempotency-Key` request's stored answer, rendered and
//!   replayed (`crate::idempotency` keeps it);
//! - the extractors: `admin::Admin` (the admin token), `buyer::Buyer` (a
//!   buyer token: who the buyer is) and `json_object::JsonObject` (a JSON
//!   object body);
//! - `limits`: per-client abuse limits (request rates, open live views);
//! - the middleware: `metrics::observe_request` (request figures),
//!   `limits::limit_request_rate`,
//!   [`trim_trailing_slash`] and [`bound_request_time`]; the `404`/`405`
//!   answer for requests no route takes ([`fallback`]), and the extractor
//!   settings that turn every malformed request into a problem+json answer.

pub mod admin;
pub mod bookings;
pub mod buyer;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod health;
pub mod holds;
mod idempotent;
mod json_object;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod sessions;
pub mod users;
pub mod venues;
pub mod waiting_room;
pub mod waitlist;

pub use idempotent::HttpWording;

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use actix_web::body::{self, BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::header::{
    HeaderName, CACHE_CONTROL, CONTENT_ENCODING, LOCATION, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, Route};
use utoipa::openapi::{OpenApi, PathItem};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::telemetry::ClientMistake;
use error::ApiError;

/// actix-http reports a request it could not read (a malformed line or
/// header, a body framed two ways, a connection reset) as "stream error" at
/// error level; the client got its `400` (`telemetry::ClientMistake`).
pub const CLIENT_MISTAKES: [ClientMistake; 1] = [ClientMistake {
    target: "actix_http::h1::dispatcher",
    prefix: "stream error",
}];

/// Headers every answer carries unless it sets its own: no browser reads a
/// JSON or text answer as a page or a script (`nosniff`), and no cache keeps
/// one (`no-store`: answers are a buyer's own, and some carry a token or an
/// admission pass). Added by startup.rs's `DefaultHeaders` and, for an answer
/// that leaves a middleware as an error (which passes no middleware on its
/// way out), by `ApiError::error_response`.
pub const SAFE_HEADERS: [(HeaderName, &str); 2] = [
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (CACHE_CONTROL, "no-store"),
];

/// Largest accepted JSON body. Every request body here is a few short fields.
pub const MAX_JSON_BODY_BYTES: usize = 4 * 1024;

/// Every API route, each registered once. A handler carries
/// `#[utoipa::path(..)]` (tag, parameters, responses) above an actix method
/// attribute such as `#[get("/events/{id}")]`, the one place its method and
/// path are written; `service` adds it to the router and to the OpenAPI
/// document in one call, and [`fallback`] reads `405`/`Allow` from that
/// document. A new route goes here and nowhere else; `tests/api/routes.rs`
/// fails if the served routes and the document differ.
///
/// `GET /metrics` is here unless `FLASHBOOK_METRICS_ADDR` gives it a listener
/// of its own (`metrics_on_api_port` false): then the API port and its
/// document do not have it.
pub fn configure(cfg: &mut ServiceConfig, metrics_on_api_port: bool) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_JSON_BODY_BYTES)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    // The router tries routes in this order, each dynamic one by its regex:
    // a sale's requests come first.
    .service(bookings::create)
    .service(holds::create)
    .service(health::health)
    .service(health::ready)
    .service(venues::create)
    .service(venues::list)
    .service(venues::get)
    .service(events::create)
    .service(events::list)
    .service(events::get)
    .service(events::update)
    .service(events::bookings)
    .service(waitlist::join)
    .service(waitlist::get)
    .service(waitlist::leave)
    .service(waiting_room::put)
    .service(waiting_room::delete)
    .service(waiting_room::get)
    .service(waiting_room::join)
    .service(waiting_room::show_ticket)
    .service(users::create)
    .service(sessions::create)
    .service(users::me)
    .service(users::my_bookings)
    .service(users::get)
    .service(users::bookings)
    .service(bookings::get)
    .service(bookings::cancel)
    .service(holds::get)
    .service(holds::confirm)
    .service(holds::release)
    .service(live::live)
    .service(dashboard::dashboard);
    if metrics_on_api_port {
        cfg.service(metrics::metrics);
    }
}

/// The `Allow` value of each path in the OpenAPI document, keyed by the path
/// as written there (`/bookings/{id}`), which is the route's actix pattern.
#[derive(Clone, Debug)]
pub struct AllowedMethods(Rc<HashMap<String, String>>);

impl AllowedMethods {
    /// Reads the registered routes' document (`UtoipaApp::split_for_parts`).
    pub fn from_document(document: &OpenApi) -> Self {
        let allow = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| (path.clone(), allow_header(item)))
            .collect();
        Self(Rc::new(allow))
    }

    /// The methods the route with this pattern answers, e.g. `GET, DELETE`.
    pub fn get(&self, pattern: &str) -> Option<&str> {
        self.0.get(pattern).map(String::as_str)
    }

    /// Whether some documented route has this path (`/bookings/7`).
    pub fn routes(&self, path: &str) -> bool {
        self.template_of(path).is_some()
    }

    /// The documented pattern a path matches (`/bookings/7` →
    /// `/bookings/{id}`), segment by segment; literal segments win over
    /// parameters. For the rare answer that no longer has its routed request.
    pub fn template_of(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .keys()
            .filter_map(|pattern| {
                let parts: Vec<&str> = pattern.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') && !segment.is_empty() {
                        continue;
                    }
                    if part != segment {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, pattern))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, pattern)| pattern.clone())
    }
}

/// The documented methods of a path item, and `HEAD` wherever `GET` is
/// ([`head_as_get`]).
fn allow_header(item: &PathItem) -> String {
    [
        ("GET", item.get.is_some()),
        ("HEAD", item.get.is_some() || item.head.is_some()),
        ("PUT", item.put.is_some()),
        ("POST", item.post.is_some()),
        ("DELETE", item.delete.is_some()),
        ("OPTIONS", item.options.is_some()),
        ("PATCH", item.patch.is_some()),
        ("TRACE", item.trace.is_some()),
    ]
    .into_iter()
    .filter(|(_, served)| *served)
    .map(|(method, _)| method)
    .collect::<Vec<_>>()
    .join(", ")
}

/// `HEAD` is `GET` without the body (RFC 9110 §9.3.2), so a `HEAD` request
/// is routed as a `GET`: actix-web's HTTP/1 encoder remembers the method it
/// read and sends the answer's status and headers (its `Content-Length`
/// too) without the body. A streamed body is dropped here instead: the
/// encoder would poll it to its end, which a live view never reaches, and
/// the view would keep its client's slot after the client left. Wrapped
/// once, in `startup.rs`, before routing.
///
/// A `GET` that writes (`GET /queue/{ticket}` issues the pass of a ticket
/// just admitted) asks [`is_head`] and only reads for a `HEAD`: a monitor's
/// `HEAD` must not start the clock of a pass its buyer has not seen.
pub async fn head_as_get<B: MessageBody + 'static>(
    mut request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, body::None>>, actix_web::Error> {
    let head = request.method() == Method::HEAD;
    if head {
        request.head_mut().method = Method::GET;
        request.extensions_mut().insert(HeadRequest);
    }
    let response = next.call(request).await?;
    if head && matches!(response.response().body().size(), BodySize::Stream) {
        return Ok(response.map_body(|_, _| EitherBody::right(body::None::new())));
    }
    Ok(response.map_into_left_body())
}

/// Marks a `HEAD` request that [`head_as_get`] routed as a `GET`.
struct HeadRequest;

/// Whether `request` came as a `HEAD` (its method now reads `GET`).
pub fn is_head(request: &HttpRequest) -> bool {
    request.extensions().contains::<HeadRequest>()
}

/// `from` redirects to `to` (`/dashboard` to `/dashboard/`) with the
/// request's query kept: `/dashboard?event=2` opens the dashboard on event 2.
pub fn redirect_keeping_query(
    from: &'static str,
    to: &'static str,
    status: StatusCode,
) -> actix_web::Resource {
    web::resource(from).to(move |request: HttpRequest| async move {
        let location = match request.query_string() {
            "" => to.to_owned(),
            query => format!("{to}?{query}"),
        };
        HttpResponse::build(status)
            .insert_header((LOCATION, location))
            .finish()
    })
}

/// Routes a path with trailing slashes like the same path without them
/// (`POST /bookings/` books like `POST /bookings`), for every documented
/// route: the request's path is rewritten before the router sees it, so the
/// handler, `405`/`Allow` and the metrics' route template are those of the
/// route itself. Unlike `NormalizePath::trim`, it leaves alone paths that are
/// routes with their slash (`/dashboard/`, `/swagger-ui/`), which trimming
/// would send round their redirects. Wrapped once, in `startup.rs`.
pub async fn trim_trailing_slash(
    allowed: AllowedMethods,
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = request.path();
    let trimmed = path.trim_end_matches('/');
    if trimmed.len() != path.len() && !allowed.routes(path) && allowed.routes(trimmed) {
        let path_and_query = match request.query_string() {
            "" => trimmed.to_owned(),
            query => format!("{trimmed}?{query}"),
        };
        let mut parts = request.head().uri.clone().into_parts();
        // A prefix of a valid path is a valid path.
        if let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) {
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                request.match_info_mut().get_mut().update(&uri);
                request.head_mut().uri = uri;
            }
        }
    }
    next.call(request).await
}

/// Answers `503 request_timeout` when a request outlives its bound. The
/// database side is bounded too (statement and lock timeouts), so an abandoned
/// transaction rolls back on its own.
pub async fn bound_request_time(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(response) => response,
        Err(_) => Err(ApiError::RequestTimeout(limit).into()),
    }
}

/// Answers every request no route took: a problem+json `405` with `Allow` when
/// a documented route has this path (the router still knows its pattern after
/// the route's method guard refused the request), else `404 not_found`.
pub fn fallback(allowed: AllowedMethods) -> Route {
    web::to(move |request: HttpRequest| {
        let allow = request
            .match_pattern()
            .and_then(|pattern| allowed.get(&pattern).map(str::to_owned));
        async move {
            Err::<HttpResponse, _>(match allow {
                Some(allow) => ApiError::MethodNotAllowed { allow },
                None => ApiError::RouteNotFound,
            })
        }
    })
}

fn json_error(error: JsonPayloadError, request: &HttpRequest) -> actix_web::Error {
    let encoded = request.headers().contains_key(CONTENT_ENCODING);
    let problem = match &error {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType {
            detail: "send the body with Content-Type: application/json".to_owned(),
        },
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::invalid(
            "body_too_large",
            format!("request body is larger than {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(cause) => {
            ApiError::invalid("invalid_body", cause.to_string())
        }
        // The reader's own words name its internals; the client gets what
        // went wrong with what it sent. A decoder's error comes as an
        // incomplete body.
        JsonPayloadError::Payload(PayloadError::EncodingCorrupted)
        | JsonPayloadError::Payload(PayloadError::Incomplete(Some(_)))
            if encoded =>
        {
            ApiError::invalid(
                "invalid_body",
                "the body could not be decoded as its Content-Encoding says",
            )
        }
        JsonPayloadError::Payload(PayloadError::Incomplete(_)) => {
            ApiError::invalid("invalid_body", "the body ended before its announced length")
        }
        _ => ApiError::invalid("invalid_body", "the body could not be read"),
    };
    problem.into()
}

fn path_error(_error: PathError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::invalid("invalid_id", "path id must be a positive integer").into()
}

fn query_error(error: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    let detail = match error {
        QueryPayloadError::Deserialize(cause) => format!("the query string is not valid: {cause}"),
        _ => "the query string is not valid".to_owned(),
    };
    ApiError::invalid("invalid_query", detail).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_maps_to_its_documented_template() {
        let routes = AllowedMethods(Rc::new(
            [
                "/bookings",
                "/bookings/{id}",
                "/events/{id}/live",
                "/dashboard/",
            ]
            .into_iter()
            .map(|pattern| (pattern.to_owned(), "GET".to_owned()))
            .collect(),
        ));
        assert_eq!(
            routes.template_of("/bookings").as_deref(),
            Some("/bookings")
        );
        assert_eq!(
            routes.template_of("/bookings/42").as_deref(),
            Some("/bookings/{id}")
        );
        assert_eq!(
            routes.template_of("/events/3/live").as_deref(),
            Some("/events/{id}/live")
        );
        assert_eq!(
            routes.template_of("/dashboard/").as_deref(),
            Some("/dashboard/")
        );
        assert_eq!(routes.template_of("/bookings/42/x"), None);
        assert_eq!(routes.template_of("/bookings/"), None);
    }
}
