//! A JSON body extractor that accepts only a JSON object.
//!
//! serde's derived `Deserialize` also takes a struct as an array of its
//! fields, so `[1, 42]` would pass for `{"event_id": 1, "user_id": 42}`.
//! Every body of this API is an object; anything else is a client mistake.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::error::ApiError;
use crate::configuration::Limits;

pub struct JsonObject<T>(pub T);

/// How long a body may take to arrive: half the request's time budget
/// (`FLASHBOOK_REQUEST_TIMEOUT_MS`), so a client that stops sending hears
/// `408 body_timeout` (nothing was tried) before the budget's `503
/// request_timeout` (which cannot say whether a booking went through).
fn body_deadline(request: &HttpRequest) -> Result<Duration, ApiError> {
    let limits = request
        .app_data::<web::Data<Limits>>()
        .ok_or_else(|| ApiError::Internal("limits not configured".into()))?;
    Ok(limits.request_timeout / 2)
}

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // `web::Json` checks the content type and the size and parses; the
        // raw text then shows whether it is an object (it is trimmed of white
        // space) and is read into `T` without building a map of it first:
        // this is on the path of every refusal in a sale.
        let raw = web::Json::<Box<RawValue>>::from_request(request, payload);
        let deadline = body_deadline(request);
        Box::pin(async move {
            let deadline = deadline?;
            let raw = tokio::time::timeout(deadline, raw)
                .await
                .map_err(|_| ApiError::BodyTimeout(deadline))??
                .into_inner();
            if !raw.get().starts_with('{') {
                return Err(
                    ApiError::invalid("invalid_body", "the body must be a JSON object").into(),
                );
            }
            serde_json::from_str(raw.get())
                .map(JsonObject)
                .map_err(|error| ApiError::invalid("invalid_body", error.to_string()).into())
        })
    }
}
