//! `GET /events/{id}/live`: Server-Sent Events, one snapshot per tick
//! (`crate::live` explains how one read per tick serves every viewer).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::error::{ApiError, Problem};
use super::limits::{ClientKey, ClientSlots};
use crate::domain::{ensure_positive_id, WholeSegment};
use crate::live::LiveHub;

/// Watches an event: a `text/event-stream` whose every `data:` line is one
/// `LiveSnapshot` (JSON), the first at once, then one per tick
/// (`FLASHBOOK_LIVE_TICK_MS`, 1 s by default). `booked`, `held` and
/// `remaining` are read from the database as `GET /events/{id}` reads them,
/// so they are exact across replicas and agree with it. One client (the
/// buyer of a valid buyer token, else the address) may have
/// `FLASHBOOK_LIVE_MAX_VIEWERS_PER_CLIENT` views open at once on a replica.
#[utoipa::path(tag = "events",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "Server-Sent Events, one per tick; the schema is each \
         event's, whose data is one LiveSnapshot (#/components/schemas/LiveSnapshot) as JSON",
         body = crate::live::LiveEvent, content_type = "text/event-stream"),
        (status = 404, description = "event_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_open: this client's views (FLASHBOOK_LIVE_MAX_VIEWERS_PER_CLIENT), or too_many_requests; see Retry-After",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "too_many_viewers (FLASHBOOK_LIVE_MAX_VIEWERS) or database_unavailable; see Retry-After",
         body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/events/{id}/live")]
pub async fn live(
    request: HttpRequest,
    hub: web::Data<LiveHub>,
    viewers: web::Data<ClientSlots>,
    id: web::Path<WholeSegment>,
) -> Result<HttpResponse, ApiError> {
    let id = ensure_positive_id("id", id.into_inner().0)?;
    let viewers: Arc<ClientSlots> = viewers.into_inner();
    let view = viewers.take(ClientKey::buyer_or_address(&request))?;
    let hub: Arc<LiveHub> = hub.into_inner();
    // The stream keeps the client's slot until it ends.
    let frames = hub.watch(id).await?.inspect(move |_| {
        let _open = &view;
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Proxies (nginx and the like) must pass each frame on at once.
        .insert_header(("X-Accel-Buffering", "no"))
        // A stream ends only on shutdown (or when the event goes): close
        // the connection then, so an idle keep-alive does not hold the
        // graceful shutdown.
        .force_close()
        .streaming(frames))
}
