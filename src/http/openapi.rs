//! The OpenAPI document, served at `/api-docs/openapi.json` with Swagger UI.
//!
//! `ApiDoc` holds what no route carries: the info and the security schemes
//! (the admin token, buyer tokens). Each path, and every schema it uses, enters the document when its
//! route is registered (`http::configure`), so the two cannot differ.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerSchemes),
    // What each live-view event's `data` holds as JSON (`LiveEvent`): no
    // route's body names it, so it is listed here.
    components(schemas(crate::live::LiveSnapshot)),
    info(
        title = "flashbook",
        description = "Flash-sale booking: sells exactly an event's capacity under any number of \
                       concurrent buyers. Every error is RFC 9457 application/problem+json with a \
                       stable `code`."
    )
)]
pub struct ApiDoc;

/// Declares the bearer schemes: `admin_token` for the admin routes,
/// `buyer_token` (a JWT from `POST /sessions`) for the buyer's.
struct BearerSchemes;

impl utoipa::Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("FLASHBOOK_ADMIN_TOKEN"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "buyer_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A buyer token: the `token` of POST /sessions (sign up with POST /users)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as served at `/api-docs/openapi.json`: the registered
/// routes' document, with these corrections made here, in one place:
/// - utoipa 5's `Link` serialises its fields in snake case (`operation_ref`,
///   `request_body`), which OpenAPI readers ignore; the routes write their
///   `links(..)` in `#[utoipa::path]` as usual and they are renamed here;
/// - an `operationId` defaults to the handler's name, and several modules
///   have a `create` or a `get`, while OpenAPI wants each id unique: each is
///   prefixed with the operation's tag, its resource (`bookings_create`);
/// - every operation can be answered `429 too_many_requests` by the rate
///   limit in front of all routes (`http::limits`), `500` by a bug, and an
///   operation with a body `408 body_timeout` when the body stops arriving
///   (`http::json_object`): each response is added to each operation that
///   does not document its own.
pub fn served(document: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut document = serde_json::to_value(document).unwrap_or_else(|error| {
        // Serialising a tree of maps and strings cannot fail.
        unreachable!("the OpenAPI document does not serialise: {error}")
    });
    if let Some(paths) = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        let operations = paths
            .values_mut()
            .filter_map(serde_json::Value::as_object_mut)
            .flat_map(|item| item.values_mut())
            .filter_map(serde_json::Value::as_object_mut);
        let mut responses = Vec::new();
        for operation in operations {
            prefix_operation_id(operation);
            let takes_body = operation.contains_key("requestBody");
            if let Some(map) = operation
                .get_mut("responses")
                .and_then(serde_json::Value::as_object_mut)
            {
                map.entry("429").or_insert_with(too_many_requests);
                map.entry("500").or_insert_with(internal_error);
                if takes_body {
                    map.entry("408").or_insert_with(body_timeout);
                }
                responses.extend(map.values_mut());
            }
        }
        for response in responses {
            let links = response
                .get_mut("links")
                .and_then(serde_json::Value::as_object_mut);
            for link in links.into_iter().flat_map(|links| links.values_mut()) {
                if let Some(link) = link.as_object_mut() {
                    camel_case_link(link);
                }
            }
        }
    }
    document
}

fn too_many_requests() -> serde_json::Value {
    let mut response = problem(
        "too_many_requests: over this client's request rate (per address, per bearer token); \
         retry after Retry-After seconds",
    );
    response["headers"] =
        serde_json::json!({"Retry-After": {"schema": {"type": "integer", "minimum": 1}}});
    response
}

fn internal_error() -> serde_json::Value {
    problem(
        "internal_error: a bug, its cause logged and never sent; for POST /bookings and POST \
         /holds also booking_interrupted: whether the request took its seats is unknown (check \
         GET /me/bookings, or retry with the same Idempotency-Key)",
    )
}

fn body_timeout() -> serde_json::Value {
    problem(
        "body_timeout: the body did not arrive within half the request's time bound; nothing \
         was tried",
    )
}

fn problem(description: &str) -> serde_json::Value {
    serde_json::json!({
        "description": description,
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}
        }},
    })
}

fn prefix_operation_id(operation: &mut serde_json::Map<String, serde_json::Value>) {
    let tag = operation
        .get("tags")
        .and_then(|tags| tags.get(0))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    if let (Some(tag), Some(serde_json::Value::String(id))) =
        (tag, operation.get_mut("operationId"))
    {
        *id = format!("{tag}_{id}");
    }
}

fn camel_case_link(link: &mut serde_json::Map<String, serde_json::Value>) {
    for (snake, camel) in [
        ("operation_ref", "operationRef"),
        ("operation_id", "operationId"),
        ("request_body", "requestBody"),
    ] {
        if let Some(value) = link.remove(snake) {
            link.insert(camel.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::path::{OperationBuilder, PathItemBuilder};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::{HttpMethod, OpenApiBuilder, PathsBuilder, ResponseBuilder};

    #[test]
    fn links_and_operation_ids_are_served_as_openapi_wants() {
        let link = LinkBuilder::new()
            .operation_ref("#/paths/~1a/get")
            .request_body(Some(serde_json::json!({"id": "$response.body#/id"})))
            .build();
        let response = ResponseBuilder::new().description("ok").link("Next", link);
        let operation = OperationBuilder::new()
            .tag("things")
            .operation_id(Some("create"))
            .response("201", response);
        let item = PathItemBuilder::new()
            .operation(HttpMethod::Post, operation)
            .build();
        let with_body = PathItemBuilder::new()
            .operation(
                HttpMethod::Post,
                OperationBuilder::new().request_body(Some(RequestBodyBuilder::new().build())),
            )
            .build();
        let document = OpenApiBuilder::new()
            .paths(PathsBuilder::new().path("/a", item).path("/b", with_body))
            .build();
        let served = super::served(&document);
        let link = &served["paths"]["/a"]["post"]["responses"]["201"]["links"]["Next"];
        assert_eq!(link["operationRef"], "#/paths/~1a/get");
        assert_eq!(link["requestBody"]["id"], "$response.body#/id");
        assert!(link.get("operation_ref").is_none(), "{link}");
        assert_eq!(
            served["paths"]["/a"]["post"]["operationId"],
            "things_create"
        );
        let limited = &served["paths"]["/a"]["post"]["responses"]["429"];
        assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
        let responses = &served["paths"]["/a"]["post"]["responses"];
        assert!(responses["500"]["description"].is_string(), "{responses}");
        assert!(
            responses.get("408").is_none(),
            "no body, no body_timeout: {responses}"
        );
        let timed_out = &served["paths"]["/b"]["post"]["responses"]["408"];
        assert!(timed_out["description"].is_string(), "{timed_out}");
    }
}
