//! Batched booking: many requests for one event under one lock and one commit.
//!
//! Each event has a queue. A request joins its event's queue; if no batch of
//! that event is running, it starts one at once, so a lone request is never
//! delayed by a window. While a batch holds the event's lock, new requests
//! queue up; when it commits, the next batch takes up to `batch_max` of them
//! in arrival order. Every client is answered only after its batch committed
//! (or failed, in which case nobody in it was booked).
//!
//! Several replicas each batch their own requests; the event row's lock in
//! the database still serialises their batches.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use deadpool_postgres::Pool;
use tokio::sync::oneshot;

use crate::db;
use crate::domain::{BookingOutcome, NewBooking};
use crate::error::ApiError;

type Reply = oneshot::Sender<Result<BookingOutcome, ApiError>>;

pub struct Batcher {
    pool: Pool,
    batch_max: usize,
    queues: Mutex<HashMap<i64, EventQueue>>,
}

#[derive(Default)]
struct EventQueue {
    waiting: VecDeque<(i64, Reply)>,
}

impl Batcher {
    pub fn new(pool: Pool, batch_max: usize) -> Self {
        Self {
            pool,
            batch_max,
            queues: Mutex::new(HashMap::new()),
        }
    }

    pub async fn book(self: &Arc<Self>, request: NewBooking) -> Result<BookingOutcome, ApiError> {
        let (reply, answer) = oneshot::channel();
        let start_worker = {
            let mut queues = self.queues.lock().expect("batch queue lock poisoned");
            // An event with a queue entry has a worker running for it.
            let is_new = !queues.contains_key(&request.event_id);
            queues
                .entry(request.event_id)
                .or_default()
                .waiting
                .push_back((request.user_id, reply));
            is_new
        };
        if start_worker {
            tokio::spawn(Arc::clone(self).drain(request.event_id));
        }
        answer.await.map_err(|_| {
            ApiError::Internal("booking batch worker stopped without answering".into())
        })?
    }

    /// Books the event's queued requests batch after batch until the queue is
    /// empty, then removes the queue so the next request starts a new worker.
    async fn drain(self: Arc<Self>, event_id: i64) {
        loop {
            let batch: Vec<(i64, Reply)> = {
                let mut queues = self.queues.lock().expect("batch queue lock poisoned");
                let Some(queue) = queues.get_mut(&event_id) else {
                    return;
                };
                // A request whose client is gone (disconnected, or answered
                // 503 request_timeout) while it queued is not booked: nobody
                // would learn of the seat.
                queue.waiting.retain(|(_, reply)| !reply.is_closed());
                if queue.waiting.is_empty() {
                    queues.remove(&event_id);
                    return;
                }
                let take = queue.waiting.len().min(self.batch_max);
                queue.waiting.drain(..take).collect()
            };
            log::debug!("booking a batch of {} for event {event_id}", batch.len());
            let user_ids: Vec<i64> = batch.iter().map(|(user_id, _)| *user_id).collect();
            match self.book_batch(event_id, &user_ids).await {
                Ok(outcomes) => {
                    for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                        // A client that went away no longer needs its answer.
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(error) => {
                    log::warn!(
                        "booking batch of {} for event {event_id} failed, none booked: {error}",
                        user_ids.len()
                    );
                    for (_, reply) in batch {
                        let _ = reply.send(Err(error.replicate()));
                    }
                }
            }
        }
    }

    async fn book_batch(
        &self,
        event_id: i64,
        user_ids: &[i64],
    ) -> Result<Vec<BookingOutcome>, ApiError> {
        let client = db::client(&self.pool).await?;
        db::bookings::book_batch(&client, event_id, user_ids).await
    }
}
