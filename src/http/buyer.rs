//! The `Buyer` extractor: routes that act for a buyer take it as an
//! argument and so need `Authorization: Bearer <token>`, a buyer token
//! (`crate::authentication::tokens`). The buyer is the token's user, never a
//! field of the body.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::authentication::tokens::{TokenRefusal, Tokens};

/// The buyer a valid token names; take it as a handler argument to protect
/// the route and learn who is asking.
#[derive(Debug, Clone, Copy)]
pub struct Buyer {
    pub id: i64,
}

impl FromRequest for Buyer {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(request).map_err(Into::into))
    }
}

/// The buyer the request's bearer token names, or why there is none.
pub(super) fn authenticate(request: &HttpRequest) -> Result<Buyer, ApiError> {
    let tokens = request
        .app_data::<web::Data<Tokens>>()
        .ok_or_else(|| ApiError::Internal("buyer tokens not configured".into()))?;
    let token = bearer_token(request)?.ok_or(ApiError::Unauthorized)?;
    let token = std::str::from_utf8(token).map_err(|_| TokenRefusal::Malformed)?;
    Ok(Buyer {
        id: tokens.verify(token)?,
    })
}

/// The token of the request's `Authorization: Bearer <token>` header, if it
/// has one (the scheme's name in any case, as RFC 9110 reads it). Two
/// `Authorization` headers are refused: which one a proxy on the way reads
/// is anyone's guess, so neither is taken.
pub(super) fn bearer_token(request: &HttpRequest) -> Result<Option<&[u8]>, TokenRefusal> {
    let mut values = request.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenRefusal::SeveralAuthorizations);
    }
    const SCHEME: &[u8] = b"bearer ";
    let value = value.as_bytes();
    Ok(match value.split_at_checked(SCHEME.len()) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case(SCHEME) => Some(token),
        _ => None,
    })
}
