//! flashbook: a flash-sale booking service that sells exactly an event's
//! capacity, however many buyers press "book" in the same second.
//!
//! A request goes `routes` (HTTP: parse, call, answer) → `booking` (one
//! transaction per request, or batched per event) → `db::bookings` (the
//! booking transaction and its SQL). `domain` holds the vocabulary and its
//! rules; each layer has its own error type and `error` alone turns them into
//! problem+json. README.md's "Layout" says where a new route or check goes.

pub mod authentication;
pub mod booking;
pub mod configuration;
pub mod db;
pub mod domain;
pub mod error;
pub mod idempotency;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod sold_out;
pub mod startup;
pub mod waiting_room;
