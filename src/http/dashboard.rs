//! `GET /dashboard/`: one HTML page (CSS and JavaScript inline, compiled into
//! the binary, nothing fetched at run time) that watches an event through
//! `GET /events/{id}/live` and draws the rates on a canvas. `/dashboard`
//! redirects here (`startup.rs`). Documented as `text/html` so the route is
//! registered once, like every other, and the route test covers it.

use actix_web::http::header;
use actix_web::{get, HttpResponse};

const PAGE: &str = include_str!("dashboard.html");

/// The live dashboard of a sale (`?event=N` starts watching event N).
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String)))]
#[get("/dashboard/")]
pub async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}
