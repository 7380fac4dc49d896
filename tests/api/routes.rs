//! The router and the OpenAPI document list the same routes: every documented
//! operation is served, and every other method on a documented path gets
//! `405` with exactly the document's methods in `Allow`.

use std::collections::BTreeSet;

use reqwest::{Method, Response};
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, TestApp};

/// Every method an OpenAPI path item can hold.
const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

#[tokio::test]
async fn every_documented_route_is_served_and_other_methods_get_405() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let paths = document["paths"].as_object().expect("document has paths");
    assert!(paths.len() >= 12, "only {} paths documented", paths.len());

    for (path, item) in paths {
        let url = concrete(path);
        let documented: BTreeSet<&str> = METHODS
            .into_iter()
            .filter(|method| item.get(method.to_lowercase()).is_some())
            .collect();
        assert!(!documented.is_empty(), "{path} has no operation");

        for method in METHODS {
            let response = app.request(method, &url).await;
            if documented.contains(method) {
                assert_served(response, method, path).await;
                continue;
            }
            let status = response.status();
            assert_eq!(
                status, 405,
                "{method} {path} is not in the document, yet answered {status}"
            );
            let allow = response
                .headers()
                .get("allow")
                .unwrap_or_else(|| panic!("{method} {url}: 405 without Allow"))
                .to_str()
                .unwrap()
                .to_owned();
            let allowed: BTreeSet<&str> = allow.split(", ").collect();
            assert_eq!(allowed, documented, "{method} {url}: Allow: {allow}");
            if method != "HEAD" {
                assert_problem(response, 405, "method_not_allowed").await;
            }
        }
    }
}

/// The documented operation reached a handler: whatever it answered (here
/// mostly 401, 404 for a missing id, 415 for a missing body), it was not the
/// router's `404 not_found` or `405`.
async fn assert_served(response: Response, method: &str, path: &str) {
    let status = response.status().as_u16();
    assert_ne!(status, 405, "{method} {path} is documented but refused");
    if status == 404 {
        let body: Value = response.json().await.unwrap();
        assert_ne!(
            body["code"], "not_found",
            "{method} {path} is documented but not routed"
        );
    }
}

/// The path with each `{parameter}` segment set to 1.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl TestApp {
    async fn request(&self, method: &str, path: &str) -> Response {
        self.http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                self.url(path),
            )
            .send()
            .await
            .unwrap()
    }
}
