//! `GET /dashboard/`: one HTML page (CSS and JavaScript inline, compiled into
//! the binary, nothing fetched at run time) that watches an event through
//! `GET /events/{id}/live` and draws the rates on a canvas. `/dashboard`
//! redirects here (`startup.rs`). Documented as `text/html` so the route is
//! registered once, like every other, and the route test covers it.
//!
//! The page is sent with a strict Content-Security-Policy: its one inline
//! `<style>` and `<script>` run because their SHA-256 hashes are named in
//! it (computed from the page itself, once), and nothing else may load,
//! run, frame it or be posted from it; the stream and the problem lookups
//! go to this origin only (`connect-src 'self'`).

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{get, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

const PAGE: &str = include_str!("dashboard.html");

static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src {}; script-src {}; connect-src 'self'; img-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        inline_hash("style"),
        inline_hash("script"),
    )
});

/// `'sha256-…'` of the text of the page's one `<tag>` element, as CSP
/// hashes an inline block. A page without it is a build mistake the
/// dashboard's tests catch: the policy then names no hash and the browser
/// refuses the block.
fn inline_hash(tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let text = PAGE
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(text, _)| text);
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(text)))
}

/// The live dashboard of a sale (`?event=N` starts watching event N).
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String)))]
#[get("/dashboard/")]
pub async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.as_str(),
        ))
        .body(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_hashes_of_the_inline_style_and_script() {
        let empty = format!("'sha256-{}'", STANDARD.encode(Sha256::digest("")));
        for tag in ["style", "script"] {
            let hash = inline_hash(tag);
            assert_ne!(hash, empty, "the page has no <{tag}> block");
            assert!(CONTENT_SECURITY_POLICY.contains(&hash), "{tag}");
        }
    }
}
