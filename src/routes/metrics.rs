//! `GET /metrics`: the Prometheus exposition of `crate::metrics`. On the API
//! port by default; `FLASHBOOK_METRICS_ADDR` serves it on a listener of its
//! own instead (`startup.rs`), and then the API port does not have it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::metrics::Metrics;

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
        (status = 500, body = crate::error::Problem, content_type = "application/problem+json"),
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
