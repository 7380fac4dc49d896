//! The `Admin` extractor: routes that change more than one buyer's data
//! (venues, events, waiting rooms) take it as an argument and so need
//! `Authorization: Bearer <FLASHBOOK_ADMIN_TOKEN>`.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::buyer::bearer_token;
use super::error::ApiError;
use crate::authentication::AdminToken;

/// Proof that the request carried the admin token; take it as a handler
/// argument to protect the route.
pub struct Admin;

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authorize(request).map_err(Into::into))
    }
}

fn authorize(request: &HttpRequest) -> Result<Admin, ApiError> {
    let token = request
        .app_data::<web::Data<AdminToken>>()
        .ok_or_else(|| ApiError::Internal("admin token not configured".into()))?;
    let presented = bearer_token(request)?.ok_or(ApiError::Unauthorized)?;
    if token.matches(presented) {
        Ok(Admin)
    } else {
        Err(ApiError::Forbidden)
    }
}
