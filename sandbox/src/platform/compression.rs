//! gzip'd bodies both ways (the data saver, `starpos_protocol::compress`): a request sent
//! with `Content-Encoding: gzip` is inflated (at most 64 KiB) before anything reads it, so the
//! signature check sees the JSON the phone signed; a JSON answer of at least 256 bytes is
//! deflated for a client that sent `Accept-Encoding: gzip`. Streamed answers (the lost-answer
//! fault) pass through untouched.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use starpos_protocol::compress::{gunzip, gzip};

use super::error::ApiError;

const MAX_REQUEST: usize = 64 * 1024;

fn is_gzip(v: Option<&HeaderValue>) -> bool {
    v.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
}

pub async fn gzip_bodies(req: Request, next: Next) -> Response {
    let accepts = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().eq_ignore_ascii_case("gzip")));
    let req = if is_gzip(req.headers().get(header::CONTENT_ENCODING)) {
        let (mut parts, body) = req.into_parts();
        let Ok(packed) = axum::body::to_bytes(body, MAX_REQUEST).await else {
            return ApiError::invalid("invalid_request", "body", "request body unreadable or too large")
                .into_response();
        };
        let Ok(json) = gunzip(&packed, MAX_REQUEST) else {
            let mut e = ApiError::invalid("invalid_request", "body", "gzip body corrupt or over 64 KiB inflated");
            e.status = StatusCode::BAD_REQUEST;
            return e.into_response();
        };
        parts.headers.remove(header::CONTENT_ENCODING);
        parts.headers.remove(header::CONTENT_LENGTH);
        Request::from_parts(parts, Body::from(json))
    } else {
        req
    };
    let response = next.run(req).await;
    if !accepts {
        return response;
    }
    let json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let size = response.body().size_hint().exact();
    if !json || size.is_none_or(|n| (n as usize) < starpos_protocol::compress::COMPRESS_FROM) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "answer unreadable").into_response();
    };
    match gzip(&bytes) {
        Some(packed) => {
            parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(packed))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}
