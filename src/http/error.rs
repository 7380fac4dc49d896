//! The one error type of the HTTP API, rendered as RFC 9457
//! `application/problem+json` with a stable machine-readable `code`.
//!
//! The layers below have errors of their own — [`InvalidInput`] and
//! [`BookingRefusal`] in `domain`, [`DbError`] in `db`, [`BookingError`] in
//! `booking`, [`LiveError`] in `live`, [`IdempotencyError`] in
//! `idempotency` — and know nothing of HTTP; this is the one place that
//! decides what each means to a client: the `From` impls at the bottom.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::authentication::tokens::TokenRefusal;
use crate::db::DbError;
use crate::domain::{BookingRefusal, InvalidInput, PassRefusal, Resource};
use crate::idempotency::IdempotencyError;
use crate::live::LiveError;
use crate::sale::booking::BookingError;
use crate::sale::SaleError;
use crate::telemetry::error_chain;

/// Seconds a client is asked to wait before retrying a `503`.
const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `sold_out`, `not_enough_seats`, `hold_expired`, ...: the buyer
    /// flow's refusals, each with its own code.
    #[error(transparent)]
    Refused(BookingRefusal),
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("{detail}")]
    UnsupportedMediaType { detail: String },
    #[error("a request with this Idempotency-Key is still in progress; retry shortly")]
    RequestInProgress,
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("this route needs Authorization: Bearer <token>")]
    Unauthorized,
    /// A bearer token that is not a valid buyer token.
    #[error("{0}")]
    InvalidToken(TokenRefusal),
    /// `POST /sessions` with an email and password that match no account.
    #[error("the email and password match no account")]
    InvalidCredentials,
    #[error("the admin token is not valid")]
    Forbidden,
    /// The handler was abandoned; a booking or cancellation already handed to
    /// the database may still commit, which the detail says.
    #[error("the request did not finish within {0:?}; a booking or cancellation may still have completed: retry with the same Idempotency-Key, or check GET /me/bookings")]
    RequestTimeout(std::time::Duration),
    /// The request's body did not all arrive in time (`json_object`):
    /// nothing was tried.
    #[error(
        "the request body did not all arrive within {0:?}; nothing was done: send it again, whole"
    )]
    BodyTimeout(std::time::Duration),
    /// A batch worker stopped (a bug) while booking this request.
    #[error("{0}; check GET /me/bookings before booking again")]
    BookingInterrupted(BookingError),
    /// A batch worker stopped before this request was tried. Safe to retry.
    #[error("{0}: retry")]
    BookingNotAttempted(BookingError),
    /// The event's booking queue would not reach this request within its
    /// budget (`crate::sale::booking::batch`): refused at once, nothing booked.
    #[error("{0}")]
    TooBusy(BookingError),
    /// The replica's bound on open live views (`FLASHBOOK_LIVE_MAX_VIEWERS`).
    #[error("this replica already serves its maximum of {0} live views; retry shortly")]
    TooManyViewers(usize),
    /// Over a per-client rate (`http::limits`); `retry_after` is when the
    /// next request would pass.
    #[error("too many requests from this client; retry after the Retry-After seconds")]
    TooManyRequests { retry_after: std::time::Duration },
    /// Over a per-client cap of things open at once (live views).
    #[error("this client already has {0} open; close one first")]
    TooManyOpen(usize),
    #[error("no route for this method and path")]
    RouteNotFound,
    #[error("this method is not allowed on this path")]
    MethodNotAllowed { allow: String },
    /// The database could not serve the request in time: no free connection,
    /// a lost connection, a statement or lock timeout. Safe to retry.
    #[error("the database is busy or unreachable, retry shortly")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// RFC 9457 problem details, plus the stable `code` clients switch on.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[schema(example = "/problems/sold_out")]
    #[serde(rename = "type")]
    pub problem_type: String,
    #[schema(example = "Conflict")]
    pub title: String,
    #[schema(example = 409)]
    pub status: u16,
    #[schema(example = "the event is sold out")]
    pub detail: String,
    /// Stable machine-readable code, e.g. `sold_out`, `already_booked`,
    /// `event_not_found`, `invalid_body`, `database_unavailable`.
    #[schema(example = "sold_out")]
    pub code: String,
    /// `not_enough_seats`, `seats_available`: seats left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<i32>,
    /// `limit_exceeded`: the event's limit per user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_user: Option<i32>,
    /// `hold_confirmed`: the booking the hold became.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<i64>,
    /// `already_waiting`: the user's entry on the waiting list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<i64>,
    /// `capacity_below_taken`: seats booked or held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken: Option<i32>,
    /// `admission_required`: why the pass was refused (`missing`,
    /// `malformed`, `bad_signature`, `expired`, `wrong_holder`, `used`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// The problem details a client receives for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let code = self.code();
        let mut problem = Problem {
            problem_type: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code,
            remaining: None,
            max_per_user: None,
            booking_id: None,
            entry_id: None,
            taken: None,
            reason: None,
        };
        if let ApiError::Refused(refusal) = self {
            match *refusal {
                BookingRefusal::NotEnoughSeats { remaining }
                | BookingRefusal::SeatsAvailable { remaining } => {
                    problem.remaining = Some(remaining)
                }
                BookingRefusal::LimitExceeded { max_per_user } => {
                    problem.max_per_user = Some(max_per_user)
                }
                BookingRefusal::HoldConfirmed { booking_id } => {
                    problem.booking_id = Some(booking_id)
                }
                BookingRefusal::AlreadyWaiting { entry_id } => problem.entry_id = Some(entry_id),
                BookingRefusal::CapacityBelowTaken { taken } => problem.taken = Some(taken),
                BookingRefusal::AdmissionRequired(refusal) => {
                    problem.reason = Some(refusal.reason())
                }
                _ => {}
            }
        }
        problem
    }

    pub fn code(&self) -> String {
        match self {
            ApiError::Refused(refusal) => refusal.code().into(),
            ApiError::NotFound(resource) => resource.not_found_code().into(),
            ApiError::Invalid { code, .. } => (*code).into(),
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type".into(),
            ApiError::RequestInProgress => "request_in_progress".into(),
            ApiError::IdempotencyKeyReused => "idempotency_key_reused".into(),
            ApiError::Unauthorized => "unauthorized".into(),
            ApiError::InvalidToken(_) => "invalid_token".into(),
            ApiError::InvalidCredentials => "invalid_credentials".into(),
            ApiError::Forbidden => "forbidden".into(),
            ApiError::RequestTimeout(_) => "request_timeout".into(),
            ApiError::BodyTimeout(_) => "body_timeout".into(),
            ApiError::RouteNotFound => "not_found".into(),
            ApiError::TooManyViewers(_) => "too_many_viewers".into(),
            ApiError::TooManyRequests { .. } => "too_many_requests".into(),
            ApiError::TooManyOpen(_) => "too_many_open".into(),
            ApiError::TooBusy(_) => "too_busy".into(),
            ApiError::MethodNotAllowed { .. } => "method_not_allowed".into(),
            ApiError::BookingInterrupted(_) => "booking_interrupted".into(),
            ApiError::BookingNotAttempted(_) => "booking_not_attempted".into(),
            ApiError::Unavailable(_) => "database_unavailable".into(),
            ApiError::Internal(_) => "internal_error".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Refused(BookingRefusal::NotFound(_)) => StatusCode::NOT_FOUND,
            ApiError::Refused(BookingRefusal::AdmissionRequired(_)) => StatusCode::FORBIDDEN,
            ApiError::Refused(_) | ApiError::RequestInProgress => StatusCode::CONFLICT,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized | ApiError::InvalidToken(_) | ApiError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::RequestTimeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } | ApiError::TooManyOpen(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable(_)
            | ApiError::BookingNotAttempted(_)
            | ApiError::TooBusy(_)
            | ApiError::TooManyViewers(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) | ApiError::BookingInterrupted(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // The cause chain goes to the log only; the client gets the summary.
            ApiError::Internal(_) | ApiError::BookingInterrupted(_) => {
                log::error!("{}", error_chain(self))
            }
            ApiError::Unavailable(_)
            | ApiError::RequestTimeout(_)
            | ApiError::BookingNotAttempted(_) => {
                log::warn!("{}", error_chain(self))
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        // An answer that leaves a middleware as an error passes no
        // middleware on its way out (startup.rs's `safe_headers`).
        for header in super::SAFE_HEADERS {
            response.insert_header(header);
        }
        if matches!(
            self,
            ApiError::Unavailable(_)
                | ApiError::RequestTimeout(_)
                | ApiError::RequestInProgress
                | ApiError::BookingNotAttempted(_)
                | ApiError::TooManyViewers(_)
                | ApiError::TooManyOpen(_)
        ) {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        if let ApiError::TooBusy(BookingError::TooBusy { estimated, .. }) = self {
            // About when the queue ahead of it will have been booked.
            let seconds = estimated.as_secs_f64().ceil().clamp(1.0, 60.0) as u64;
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let ApiError::TooManyRequests { retry_after } = self {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::InvalidToken(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
            }
            _ => {}
        }
        if let ApiError::MethodNotAllowed { allow } = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        response.json(self.problem())
    }
}

impl From<TokenRefusal> for ApiError {
    fn from(refusal: TokenRefusal) -> Self {
        ApiError::InvalidToken(refusal)
    }
}

impl From<InvalidInput> for ApiError {
    fn from(error: InvalidInput) -> Self {
        ApiError::Invalid {
            code: error.code,
            detail: error.detail,
        }
    }
}

impl From<BookingRefusal> for ApiError {
    fn from(refusal: BookingRefusal) -> Self {
        match refusal {
            BookingRefusal::NotFound(resource) => ApiError::NotFound(resource),
            refusal => ApiError::Refused(refusal),
        }
    }
}

impl From<PassRefusal> for ApiError {
    fn from(refusal: PassRefusal) -> Self {
        ApiError::Refused(BookingRefusal::AdmissionRequired(refusal))
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(_) => ApiError::Unavailable(Box::new(error)),
            DbError::NotFound(resource) => ApiError::NotFound(resource),
            // Past a seat function's own check: a bug, logged as one.
            DbError::Failed(_) | DbError::OverMaxPerUser(_) => ApiError::Internal(Box::new(error)),
        }
    }
}

impl From<LiveError> for ApiError {
    fn from(error: LiveError) -> Self {
        match error {
            LiveError::TooManyViewers(max) => ApiError::TooManyViewers(max),
            LiveError::EventNotFound => ApiError::NotFound(Resource::Event),
            LiveError::Unavailable => ApiError::Unavailable(Box::new(error)),
        }
    }
}

impl From<SaleError> for ApiError {
    fn from(error: SaleError) -> Self {
        match error {
            SaleError::Booking(error) => error.into(),
            SaleError::Idempotency(error) => error.into(),
            SaleError::Answer(error) => ApiError::Internal(error.into()),
        }
    }
}

impl From<BookingError> for ApiError {
    fn from(error: BookingError) -> Self {
        match error {
            BookingError::Database(error) => error.into(),
            BookingError::WorkerStopped => ApiError::BookingInterrupted(error),
            BookingError::NotAttempted | BookingError::CallerGone => {
                ApiError::BookingNotAttempted(error)
            }
            BookingError::TooBusy { .. } => ApiError::TooBusy(error),
        }
    }
}

impl From<IdempotencyError> for ApiError {
    fn from(error: IdempotencyError) -> Self {
        match error {
            IdempotencyError::InProgress => ApiError::RequestInProgress,
            IdempotencyError::KeyReused => ApiError::IdempotencyKeyReused,
            IdempotencyError::Database(error) => error.into(),
        }
    }
}
