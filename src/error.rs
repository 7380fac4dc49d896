//! The one error type of the HTTP API, rendered as RFC 9457
//! `application/problem+json` with a stable machine-readable `code`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use deadpool_postgres::PoolError;
use serde::Serialize;
use tokio_postgres::error::SqlState;
use utoipa::ToSchema;

/// Seconds a client is asked to wait before retrying a `503`.
const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the event is sold out")]
    SoldOut,
    #[error("this user already holds a booking for this event")]
    AlreadyBooked,
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("{detail}")]
    UnsupportedMediaType { detail: String },
    #[error("a request with this Idempotency-Key is still in progress; retry shortly")]
    RequestInProgress,
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("this route needs Authorization: Bearer <admin token>")]
    Unauthorized,
    #[error("the admin token is not valid")]
    Forbidden,
    /// The handler was abandoned; a booking or cancellation already handed to
    /// the database may still commit, which the detail says.
    #[error("the request did not finish within {0:?}; a booking or cancellation may still have completed: retry with the same Idempotency-Key, or check GET /users/{{id}}/bookings")]
    RequestTimeout(std::time::Duration),
    #[error("no route for this method and path")]
    RouteNotFound,
    #[error("this method is not allowed on this path")]
    MethodNotAllowed { allow: &'static str },
    /// The database could not serve the request in time: no free connection,
    /// a lost connection, a statement or lock timeout. Safe to retry.
    #[error("the database is busy or unreachable, retry shortly")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Venue,
    Event,
    User,
    Booking,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Resource::Venue => "venue",
            Resource::Event => "event",
            Resource::User => "user",
            Resource::Booking => "booking",
        })
    }
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
}

impl ApiError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// The same answer for another client of a failed batch. The cause is
    /// kept as text: it has been logged once already.
    pub fn replicate(&self) -> ApiError {
        match self {
            ApiError::Unavailable(cause) => ApiError::Unavailable(cause.to_string().into()),
            ApiError::Internal(cause) => ApiError::Internal(cause.to_string().into()),
            ApiError::SoldOut => ApiError::SoldOut,
            ApiError::AlreadyBooked => ApiError::AlreadyBooked,
            ApiError::NotFound(resource) => ApiError::NotFound(*resource),
            other => ApiError::Internal(other.to_string().into()),
        }
    }

    /// The problem details a client receives for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let code = self.code();
        Problem {
            problem_type: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code,
        }
    }

    pub fn code(&self) -> String {
        match self {
            ApiError::SoldOut => "sold_out".into(),
            ApiError::AlreadyBooked => "already_booked".into(),
            ApiError::NotFound(resource) => format!("{resource}_not_found"),
            ApiError::EmailTaken => "email_taken".into(),
            ApiError::Invalid { code, .. } => (*code).into(),
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type".into(),
            ApiError::RequestInProgress => "request_in_progress".into(),
            ApiError::IdempotencyKeyReused => "idempotency_key_reused".into(),
            ApiError::Unauthorized => "unauthorized".into(),
            ApiError::Forbidden => "forbidden".into(),
            ApiError::RequestTimeout(_) => "request_timeout".into(),
            ApiError::RouteNotFound => "not_found".into(),
            ApiError::MethodNotAllowed { .. } => "method_not_allowed".into(),
            ApiError::Unavailable(_) => "database_unavailable".into(),
            ApiError::Internal(_) => "internal_error".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::SoldOut
            | ApiError::AlreadyBooked
            | ApiError::EmailTaken
            | ApiError::RequestInProgress => StatusCode::CONFLICT,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::RequestTimeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // The cause chain goes to the log only; the client gets the summary.
            ApiError::Internal(_) => log::error!("{}", error_chain(self)),
            ApiError::Unavailable(_) | ApiError::RequestTimeout(_) => {
                log::warn!("{}", error_chain(self))
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if matches!(
            self,
            ApiError::Unavailable(_) | ApiError::RequestTimeout(_) | ApiError::RequestInProgress
        ) {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::MethodNotAllowed { allow } = self {
            response.insert_header((header::ALLOW, *allow));
        }
        response.json(self.problem())
    }
}

impl From<PoolError> for ApiError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Timeout(_) | PoolError::Backend(_) | PoolError::Closed => {
                ApiError::Unavailable(Box::new(error))
            }
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        let transient = match error.code() {
            // No SQLSTATE: the connection broke or the server went away.
            None => true,
            Some(code) => {
                [
                    SqlState::QUERY_CANCELED,
                    SqlState::LOCK_NOT_AVAILABLE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                    // A server that is (or became) a read-only standby, as
                    // during a failover: the write was refused, nothing changed.
                    SqlState::READ_ONLY_SQL_TRANSACTION,
                ]
                .contains(code)
                    || code.code().starts_with("08")
            }
        };
        if transient {
            ApiError::Unavailable(Box::new(error))
        } else {
            ApiError::Internal(Box::new(error))
        }
    }
}

/// Renders an error and all its sources on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
