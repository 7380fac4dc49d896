//! The HTTP side of `crate::metrics`: the middleware that times every
//! request and counts its database failures, and `GET /metrics`, the
//! Prometheus exposition. `GET /metrics` is on the API port by default;
//! `FLASHBOOK_METRICS_ADDR` serves it on a listener of its own instead
//! (`startup.rs`), and then the API port does not have it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::AllowedMethods;
use crate::db::DbError;
use crate::metrics::Metrics;
use crate::sale::booking::BookingError;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Metrics in the Prometheus text format: HTTP requests by route template,
/// booking outcomes, seats booked, batches, the connection pool, database
/// errors and the process. A client that accepts
/// `application/openmetrics-text` (Prometheus does) gets that content type;
/// the text is the same.
#[utoipa::path(tag = "operations",
    responses(
        (status = 200, description = "Prometheus exposition", content(
            (String = "text/plain"),
            (String = "application/openmetrics-text"),
        )),
        (status = 500, body = super::error::Problem, content_type = "application/problem+json"),
    ))]
#[get("/metrics")]
pub async fn metrics(
    request: HttpRequest,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let text = metrics
        .render()
        .map_err(|error| ApiError::Internal(error.into()))?;
    let openmetrics = request
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"));
    Ok(HttpResponse::Ok()
        .content_type(if openmetrics {
            OPENMETRICS
        } else {
            PROMETHEUS_TEXT
        })
        .body(text))
}

/// The outermost middleware: times every request and labels it with its
/// route template. The router's own answer is read after the call
/// (`match_pattern` of a routed request follows the matched resource, no
/// second matching); when an inner layer answered with an error instead (the
/// request timeout), the request is gone and the template is looked up from
/// the path in `routes`, the documented routes. The request itself must not
/// be cloned across the call: routing needs it unshared.
pub async fn observe_request(
    figures: web::Data<Metrics>,
    routes: AllowedMethods,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    // A shared handle to the URI's bytes, no copy.
    let uri = request.uri().clone();
    let _active = figures.request_started();
    let result = next.call(request).await;
    let (status, error, route) = match &result {
        Ok(response) => (
            response.status(),
            response.response().error(),
            response.request().match_pattern(),
        ),
        Err(error) => (
            error.as_response_error().status_code(),
            Some(error),
            routes.template_of(uri.path()),
        ),
    };
    if let Some(error) = error.and_then(database_failure) {
        figures.database_failed(error);
    }
    let seconds = started.elapsed().as_secs_f64();
    figures.request_finished(method, route, status.as_u16(), seconds);
    result
}

/// The database failure an answer reports, if it reports one.
fn database_failure(error: &actix_web::Error) -> Option<&DbError> {
    match error.as_error::<ApiError>()? {
        ApiError::Unavailable(cause) | ApiError::Internal(cause) => cause.downcast_ref(),
        ApiError::BookingInterrupted(BookingError::Database(error))
        | ApiError::BookingNotAttempted(BookingError::Database(error)) => Some(error),
        _ => None,
    }
}

/// `http_request_method`: the standard methods, everything else `_OTHER`
/// (the OpenTelemetry convention), so a client cannot mint label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_outside_the_standard_ones_is_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").unwrap()),
            "_OTHER"
        );
    }
}
