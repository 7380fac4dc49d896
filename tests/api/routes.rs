//! The router and the OpenAPI document list the same routes: every documented
//! operation is served, and every other method on a documented path gets
//! `405` with exactly the document's methods in `Allow`.

use std::collections::BTreeSet;

use reqwest::{Method, Response};
use serde_json::{json, Value};

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
        // HEAD is served wherever GET is (RFC 9110), documented or not.
        let documented: BTreeSet<&str> = METHODS
            .into_iter()
            .filter(|method| {
                item.get(method.to_lowercase()).is_some()
                    || (*method == "HEAD" && item.get("get").is_some())
            })
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

/// Swagger UI's Authorize button sends a token only to operations that
/// declare its scheme: every operation that refuses a request without a
/// token (`401`) declares one (`admin_token` or `buyer_token`, both bearer),
/// and every operation that declares one refuses a request without it.
#[tokio::test]
async fn every_protected_operation_declares_its_bearer_scheme() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let schemes = &document["components"]["securitySchemes"];
    for scheme in ["admin_token", "buyer_token"] {
        assert_eq!(schemes[scheme]["type"], "http", "{scheme}");
        assert_eq!(schemes[scheme]["scheme"], "bearer", "{scheme}");
    }
    let mut protected = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method.to_lowercase()) else {
                continue;
            };
            let declared: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            assert!(
                declared.iter().all(|scheme| schemes.get(scheme).is_some()),
                "{method} {path} declares {declared:?}"
            );
            let status = app.request(method, &concrete(path)).await.status();
            assert_eq!(
                status == 401,
                !declared.is_empty(),
                "{method} {path} answered {status} without a token and declares {declared:?}"
            );
            protected += usize::from(!declared.is_empty());
        }
    }
    assert!(protected >= 20, "only {protected} protected operations");
}

/// Every `201` says where the thing it made is (`Location`), and the
/// document says so too.
#[tokio::test]
async fn every_created_answer_declares_its_location() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let mut created = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(response) = item
                .get(method.to_lowercase())
                .and_then(|operation| operation["responses"].get("201"))
            else {
                continue;
            };
            assert!(
                response["headers"].get("Location").is_some(),
                "{method} {path}: its 201 declares no Location"
            );
            created += 1;
        }
    }
    assert!(created >= 7, "only {created} operations answer 201");
}

/// Every documented route answers with a trailing slash as without one: the
/// same handler, the same `405` and `Allow`.
#[tokio::test]
async fn a_trailing_slash_changes_nothing() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    for (path, item) in document["paths"].as_object().unwrap() {
        if path.ends_with('/') {
            continue; // a route with its slash (`/dashboard/`)
        }
        let url = format!("{}/", concrete(path));
        for method in METHODS {
            let (bare, slashed) = (
                app.request(method, &concrete(path)).await,
                app.request(method, &url).await,
            );
            assert_eq!(bare.status(), slashed.status(), "{method} {url}");
            assert_eq!(
                bare.headers().get("allow"),
                slashed.headers().get("allow"),
                "{method} {url}"
            );
            if item.get(method.to_lowercase()).is_some() {
                assert_served(slashed, method, path).await;
            }
        }
    }
}

#[tokio::test]
async fn a_booking_posted_to_bookings_slash_is_booked() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    let user = app.create_user("slash@example.com").await;

    let response = app
        .post_as(user, "/bookings/", json!({"event_id": event}))
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let booking: Value = response.json().await.unwrap();
    assert_eq!(booking["status"], "confirmed");
    let read: Value = app
        .get_as(user, &format!("{location}/"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, booking);

    let response = app.get(&format!("/events/{event}/")).await;
    assert_eq!(response.status(), 200);
    let event: Value = response.json().await.unwrap();
    assert_eq!(
        (event["booked"].as_i64(), event["remaining"].as_i64()),
        (Some(1), Some(4))
    );
    let page: Value = app
        .get_as_admin(&format!("/users/{user}/bookings/?limit=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0], booking);
    assert_problem(app.get("/nowhere/").await, 404, "not_found").await;
}

/// A HEAD is answered as its GET, without the body: the same status and
/// headers, the length the body would have had.
#[tokio::test]
async fn head_answers_as_get_without_the_body() {
    let app = spawn_app().await;
    let event = app.create_sale(5).await;
    for path in [
        "/health".to_owned(),
        format!("/events/{event}"),
        "/events".to_owned(),
        "/api-docs/openapi.json".to_owned(),
        "/dashboard/".to_owned(),
        "/events/999999".to_owned(),
    ] {
        let get = app.request("GET", &path).await;
        let head = app.request("HEAD", &path).await;
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        for header in ["content-type", "content-length"] {
            assert_eq!(
                head.headers().get(header),
                get.headers().get(header),
                "HEAD {path}: {header}"
            );
        }
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} sent a body"
        );
    }
    let me = app.request("HEAD", "/me").await;
    assert_eq!(
        me.status(),
        401,
        "HEAD of a buyer's route needs the token too"
    );

    // A live view's stream ends only when its client goes: a HEAD's is
    // dropped at once, with the client's slot (8 a client by default).
    let live = format!("/events/{event}/live");
    for _ in 0..10 {
        let head = app.request("HEAD", &live).await;
        assert_eq!(head.status(), 200, "HEAD {live}");
        assert_eq!(head.headers()["content-type"], "text/event-stream");
    }
    let get = app.request("GET", &live).await;
    assert_eq!(get.status(), 200, "the HEADs kept no slot");
}

/// The documented operation reached a handler: whatever it answered (here
/// mostly 401, 404 for a missing id, 415 for a missing body), it was not the
/// router's `404 not_found` or `405`.
async fn assert_served(response: Response, method: &str, path: &str) {
    let status = response.status().as_u16();
    assert_ne!(status, 405, "{method} {path} is documented but refused");
    // A HEAD answer has no body to read; its GET's is read.
    if status == 404 && method != "HEAD" {
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

/// Every `$ref` in the document names a schema it holds (generic schemas
/// such as `Page<T>` included), and every link names an operation it has.
#[tokio::test]
async fn every_reference_in_the_document_resolves() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut references = Vec::new();
    collect(&document, "$ref", &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
        assert!(schemas.contains_key(name), "dangling $ref {reference}");
    }
    let mut links = Vec::new();
    collect(&document, "operationRef", &mut links);
    assert!(links.len() >= 8, "{links:?}");
    for link in links {
        let pointer = link.strip_prefix('#').unwrap().replace("~1", "/");
        let (path, method) = pointer
            .strip_prefix("/paths/")
            .and_then(|rest| rest.rsplit_once('/'))
            .unwrap();
        assert!(
            document["paths"][path][method].is_object(),
            "link to a missing operation: {link}"
        );
    }
    let page = &document["paths"]["/venues"]["get"]["responses"]["200"];
    assert_eq!(
        page["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Page_Venue"
    );
}

fn collect(value: &Value, key: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (name, value) in map {
                match value.as_str() {
                    Some(text) if name == key => found.push(text.to_owned()),
                    _ => collect(value, key, found),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|value| collect(value, key, found)),
        _ => {}
    }
}

/// OpenAPI wants every `operationId` unique (`openapi::served` makes them so).
#[tokio::test]
async fn operation_ids_are_unique() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let mut ids = Vec::new();
    collect(&document, "operationId", &mut ids);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}
