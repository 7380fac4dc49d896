//! flashbook: a flash-sale booking service that sells exactly an event's
//! capacity, however many buyers press "book" in the same second.

pub mod authentication;
pub mod booking;
pub mod configuration;
pub mod db;
pub mod domain;
pub mod error;
pub mod idempotency;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod verify;
