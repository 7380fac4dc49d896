//! Per-client abuse limits, for a service that faces its clients directly
//! (behind deploy/haproxy.cfg the balancer's stick tables limit each client
//! address first). Two kinds, both keyed by [`ClientKey`]:
//! - [`RateLimiter`]: a token bucket per key (a rate sustained, a burst on
//!   top); over it, `429 too_many_requests` with `Retry-After` (when the
//!   next request would pass). [`limit_request_rate`], wrapped once in
//!   `startup.rs`, applies two to every request: one per peer address, one
//!   per bearer token. Any other limit (sign-up, sessions) builds its own
//!   `RateLimiter` and calls [`RateLimiter::admit`].
//! - [`ClientSlots`]: things a client holds open at once (live views); over
//!   the cap, `429 too_many_open` until one of them closes.
//!
//! A client is its bearer token when the request has one (a buyer behind a
//! NAT or a balancer shares the address with thousands of others), else its
//! peer address. A token is kept only as a keyed hash: the maps hold no
//! secrets, and a client that invents tokens is still held by its address's
//! bucket. A slot is kept by the buyer of a verified token, else by the
//! address: invented tokens take no slots beyond the address's. Buckets that
//! have filled up again are the same as no bucket and are dropped, at most
//! once a second, so the maps hold only the clients of the last few seconds.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use super::buyer::{authenticate, bearer_token};
use super::error::ApiError;
use crate::configuration::Rate;

/// Who a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A keyed hash of the bearer token.
    Token(u64),
    /// The buyer a verified token names.
    Buyer(i64),
    Address(IpAddr),
}

impl ClientKey {
    /// The peer's address. A request without one (a test's in-process
    /// request) counts as the unspecified address.
    pub fn address(request: &HttpRequest) -> Self {
        let address = request
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
        ClientKey::Address(address)
    }

    /// The bearer token's key, when the request has one.
    pub fn token(request: &HttpRequest, hasher: &TokenHasher) -> Option<Self> {
        let token = bearer_token(request).ok().flatten()?;
        Some(ClientKey::Token(hasher.0.hash_one(token)))
    }

    /// The buyer's key when the request's bearer token is a valid buyer
    /// token, else the address's: a made-up token is not a new client.
    pub fn buyer_or_address(request: &HttpRequest) -> Self {
        authenticate(request).map_or_else(
            |_| Self::address(request),
            |buyer| ClientKey::Buyer(buyer.id),
        )
    }
}

/// The per-process key of the tokens' hashes, shared by every limit so one
/// token is one client everywhere.
#[derive(Debug, Default, Clone)]
pub struct TokenHasher(RandomState);

/// A token bucket per client.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    by_client: HashMap<ClientKey, Bucket>,
    pruned_at: Instant,
}

/// Requests a client may still send at once, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self::with(rate.per_second as f64, rate.burst as f64)
    }

    /// `per_minute` requests a minute, at most that many at once: for what
    /// a person does a few times, not a second (sign-up, sign-in).
    pub fn per_minute(per_minute: usize) -> Self {
        let burst = per_minute.max(1) as f64;
        Self::with(burst / 60.0, burst)
    }

    fn with(per_second: f64, burst: f64) -> Self {
        Self {
            per_second,
            burst,
            buckets: Mutex::new(Buckets {
                by_client: HashMap::new(),
                pruned_at: Instant::now(),
            }),
        }
    }

    /// Takes one request from the client's bucket, or refuses it with
    /// `429 too_many_requests` and the wait until one would pass.
    pub fn admit(&self, client: ClientKey) -> Result<(), ApiError> {
        self.take(client, Instant::now())
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })
    }

    fn take(&self, client: ClientKey, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets();
        if now.duration_since(buckets.pruned_at) >= Duration::from_secs(1) {
            buckets
                .by_client
                .retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
            buckets.pruned_at = now;
        }
        let bucket = buckets.by_client.entry(client).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = self.refilled(*bucket, now);
        let (left, outcome) = if tokens >= 1.0 {
            (tokens - 1.0, Ok(()))
        } else {
            let wait = Duration::from_secs_f64((1.0 - tokens) / self.per_second);
            (tokens, Err(wait))
        };
        *bucket = Bucket {
            tokens: left,
            at: now,
        };
        outcome
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// The map, even after a panic elsewhere poisoned it: every critical
    /// section leaves it consistent.
    fn buckets(&self) -> MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The two rates every request is held to (`FLASHBOOK_RATE_PER_ADDRESS`,
/// `FLASHBOOK_RATE_PER_TOKEN` and their bursts).
#[derive(Debug)]
pub struct RequestRates {
    pub per_address: RateLimiter,
    pub per_token: RateLimiter,
    pub hasher: TokenHasher,
}

/// Counts the request against its address, then its bearer token (when it
/// has one; the token is checked by the route, not here). Wrapped once in
/// `startup.rs`, before routing, so every path is limited alike.
pub async fn limit_request_rate(
    rates: web::Data<RequestRates>,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let http = request.request();
    rates.per_address.admit(ClientKey::address(http))?;
    if let Some(token) = ClientKey::token(http, &rates.hasher) {
        rates.per_token.admit(token)?;
    }
    next.call(request).await
}

/// At most `max` things open at once per client.
#[derive(Debug)]
pub struct ClientSlots {
    max: usize,
    open: Mutex<HashMap<ClientKey, usize>>,
}

/// One open thing of a client; its slot is free again when this drops.
#[derive(Debug)]
pub struct ClientSlot {
    slots: Arc<ClientSlots>,
    client: ClientKey,
}

impl ClientSlots {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for the client, or `429 too_many_open` when it holds `max`.
    pub fn take(self: &Arc<Self>, client: ClientKey) -> Result<ClientSlot, ApiError> {
        let mut open = self.open();
        let count = open.entry(client).or_insert(0);
        if *count >= self.max {
            return Err(ApiError::TooManyOpen(self.max));
        }
        *count += 1;
        Ok(ClientSlot {
            slots: Arc::clone(self),
            client,
        })
    }

    fn open(&self) -> MutexGuard<'_, HashMap<ClientKey, usize>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open();
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: ClientKey = ClientKey::Address(IpAddr::V4(Ipv4Addr::LOCALHOST));
    const OTHER: ClientKey = ClientKey::Token(7);

    #[test]
    fn a_bucket_passes_its_burst_then_its_rate_per_client() {
        let limiter = RateLimiter::new(Rate {
            per_second: 10,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(ONE, start), Ok(()));
        }
        let wait = limiter.take(ONE, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert_eq!(limiter.take(OTHER, start), Ok(()), "another client");
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.take(ONE, later), Ok(()), "one refilled");
        assert!(limiter.take(ONE, later).is_err());
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let limiter = RateLimiter::new(Rate {
            per_second: 10,
            burst: 10,
        });
        let start = Instant::now();
        limiter.take(ONE, start).unwrap();
        for _ in 0..10 {
            limiter
                .take(OTHER, start + Duration::from_millis(500))
                .unwrap();
        }
        // A second on, ONE is full again (and gone), OTHER half full.
        let third = ClientKey::Token(8);
        limiter.take(third, start + Duration::from_secs(1)).unwrap();
        let mut clients = limiter
            .buckets()
            .by_client
            .keys()
            .copied()
            .collect::<Vec<_>>();
        clients.sort_by_key(|client| format!("{client:?}"));
        assert_eq!(clients, [OTHER, third]);
    }

    #[test]
    fn a_slot_is_given_back_when_dropped() {
        let slots = Arc::new(ClientSlots::new(2));
        let first = slots.take(ONE).unwrap();
        let _second = slots.take(ONE).unwrap();
        assert!(matches!(slots.take(ONE), Err(ApiError::TooManyOpen(2))));
        let _other = slots.take(OTHER).unwrap();
        drop(first);
        slots.take(ONE).unwrap();
    }
}
