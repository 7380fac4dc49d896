//! Integration tests: one binary, every test against the real HTTP API and a
//! fresh PostgreSQL database of its own.

mod accounts;
mod batch;
mod bookings;
mod catalogue;
mod checkout;
mod concurrency;
mod counting;
mod event_settings;
mod helpers;
mod holds;
mod idempotency;
mod limits;
mod live;
mod metrics;
mod operations;
mod pipelined;
mod readme;
mod routes;
mod schema;
mod secrets;
mod sold_out;
mod too_busy;
mod unsafe_booking;
mod waiting_room;
mod waitlist;
