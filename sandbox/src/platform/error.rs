//! Error answers: an HTTP status and a body with a stable code (docs/platform-api.md).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use starpos_protocol::wire::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A signed request's JSON body, or `invalid_request` naming the body.
pub fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("invalid_request", "body", format!("unreadable body: {e}")))
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, body: Box::new(ErrorBody::new(code, message)) }
    }

    pub fn invalid(code: &str, field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, code, message);
        e.body.field = Some(field.into());
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn tries_left(mut self, n: u32) -> Self {
        self.body.tries_left = Some(n);
        self
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "sandbox database error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the platform failed; try again")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::debug!(status = %self.status, code = %self.body.code, "refused");
        (self.status, Json(*self.body)).into_response()
    }
}

/// A JSON body whose rejections (malformed JSON, wrong content type, missing fields) answer
/// with the documented `invalid_request` error body rather than axum's plain text.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let mut e = ApiError::new(rejection.status(), "invalid_request", rejection.body_text());
                e.body.field = Some("body".into());
                Err(e)
            }
        }
    }
}
