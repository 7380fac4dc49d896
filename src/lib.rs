//! flashbook: a flash-sale booking service that sells exactly an event's
//! capacity, however many buyers press "book" in the same second.
//!
//! The modules form layers; each imports only from the layers below it, so
//! the import graph has no cycle (`tests/api/layers.rs` checks both):
//! - `http`, the edge: routes, the one error type rendered as problem+json
//!   (`http::error`), the stored-answer replay, the admin and JSON-body
//!   extractors, the metrics middleware and `GET /metrics`, the OpenAPI
//!   document. With `startup` (which builds the server and starts the
//!   background tasks) and `main`, the only code that knows actix-web.
//! - the services a route calls: `sale` (every seat change, one transaction
//!   per request or batched per event in `sale::booking`), `idempotency` (a
//!   keyed request runs once),
//!   `sold_out` (the sold-out memory), `waiting_room` (which events have one
//!   and the pass gate), `live` (the live views); each with its own error
//!   enum, none knowing HTTP.
//! - `metrics`: the Prometheus registry and its figures (it reads the pool).
//! - `db`: one module per table family, each with its SQL (the seat-taking
//!   call is `db::seats`); it returns `db::DbError`.
//! - the ground floor: `domain` (the vocabulary and its rules),
//!   `configuration`, `authentication` (the admin token, buyer tokens and
//!   passwords), `admission` (the admission pass), `telemetry` (logging).
//!
//! README.md's "Layout" says where a new route or check goes.

pub mod admission;
pub mod authentication;
pub mod configuration;
pub mod db;
pub mod domain;
pub mod http;
pub mod idempotency;
pub mod live;
pub mod metrics;
pub mod sale;
pub mod sold_out;
pub mod startup;
pub mod telemetry;
pub mod waiting_room;
