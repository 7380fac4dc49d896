//! Sign-in: `POST /sessions` trades an email and password for a buyer
//! token. With sign-up (`POST /users`) it is rate limited per client
//! address ([`AccountLimit`]), and neither answer nor its time tells whether
//! an email has an account.

use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::DateTime;

use super::error::{ApiError, Problem};
use super::json_object::JsonObject;
use super::limits::{ClientKey, RateLimiter};
use crate::authentication::passwords::Passwords;
use crate::authentication::tokens::Tokens;
use crate::db::{self, Pool};
use crate::domain::{Credentials, Session};

/// The rate limit of sign-ups and sign-ins, shared by both.
pub struct AccountLimit(pub RateLimiter);

/// Takes one request from the client's account limit, or answers `429`.
/// The client is the connection's peer address (someone signing up has no
/// token yet; a forwarded-for header is the client's to write).
pub(super) fn limit_client(http: &HttpRequest) -> Result<(), ApiError> {
    let limit = http
        .app_data::<web::Data<AccountLimit>>()
        .ok_or_else(|| ApiError::Internal("account limit not configured".into()))?;
    limit.0.admit(ClientKey::address(http))
}

/// Signs in: a buyer token for `Authorization: Bearer <token>`, valid until
/// `expires_at` (`FLASHBOOK_TOKEN_TTL_SECS`). An unknown email and a wrong
/// password get the same `401 invalid_credentials`, in about the same time.
#[utoipa::path(tag = "sessions", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "invalid_credentials", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_requests: this client's sign-ups and sign-ins are over FLASHBOOK_ACCOUNT_RATE_PER_MINUTE; see Retry-After",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/sessions")]
pub async fn create(
    http: HttpRequest,
    pool: web::Data<Pool>,
    passwords: web::Data<Passwords>,
    tokens: web::Data<Tokens>,
    body: JsonObject<Credentials>,
) -> Result<HttpResponse, ApiError> {
    limit_client(&http)?;
    let credentials = body.into_inner().normalized();
    let account = match &credentials {
        Some(credentials) => {
            let (client, _read) = db::read_client(&pool).await?;
            db::users::credentials(&client, &credentials.email).await?
        }
        None => None,
    };
    let (user_id, stored) = account.map_or((None, None), |(id, hash)| (Some(id), hash));
    let password = credentials.map(|credentials| credentials.password);
    let matches = web::block(move || {
        let password = password.as_ref().map_or("", |password| password.expose());
        passwords.verify(stored.as_deref(), password)
    })
    .await
    .map_err(|error| ApiError::Internal(Box::new(error)))?;
    let user_id = user_id
        .filter(|_| matches)
        .ok_or(ApiError::InvalidCredentials)?;
    let issued = tokens
        .issue(user_id)
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    let expires_at =
        DateTime::from_timestamp(i64::try_from(issued.expires_at).unwrap_or(i64::MAX), 0)
            .ok_or_else(|| ApiError::Internal("token expiry out of range".into()))?;
    Ok(HttpResponse::Ok().json(Session {
        token: issued.token,
        token_type: "Bearer".to_owned(),
        expires_at,
        user_id,
    }))
}
