//! How a booking request reaches the database: one transaction per request,
//! or batched with the other requests for the same event that queue up while
//! its previous batch holds the lock (see `batch.rs`).

mod batch;

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::db;
use crate::domain::{BookingOutcome, NewBooking};
use crate::error::ApiError;

pub use batch::Batcher;

#[derive(Clone)]
pub enum Booker {
    /// `book_seat`: one request, one transaction, one lock acquisition.
    OnePerTransaction,
    /// `book_seats`: up to `batch_max` queued requests per transaction.
    Batched(Arc<Batcher>),
}

impl Booker {
    /// `batch_max` of 1 books every request in its own transaction.
    pub fn new(pool: Pool, batch_max: usize) -> Self {
        if batch_max > 1 {
            Booker::Batched(Arc::new(Batcher::new(pool, batch_max)))
        } else {
            Booker::OnePerTransaction
        }
    }

    pub async fn book(&self, pool: &Pool, request: NewBooking) -> Result<BookingOutcome, ApiError> {
        match self {
            Booker::OnePerTransaction => {
                let client = db::client(pool).await?;
                db::bookings::book(&client, request).await
            }
            Booker::Batched(batcher) => batcher.book(request).await,
        }
    }
}
