//! The API's one error shape: `{"error": "<code>", "message": "<a sentence>"}`.

use crate::device::Refusal;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A refused API request.
#[derive(Debug)]
pub(crate) struct WebError {
    pub status: StatusCode,
    /// A short code the page acts on (`invalid`, `busy`, `cross-site`, ...).
    pub code: &'static str,
    /// For a person: what was wrong and what is allowed.
    pub message: String,
    /// Seconds for a 503's `Retry-After` (`None`: 2).
    pub retry_after: Option<u32>,
}

impl WebError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WebError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request's JSON or a field is malformed.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        WebError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    /// 404.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        WebError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 409: a request the device (or document) cannot do.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        WebError::new(StatusCode::CONFLICT, "invalid", message)
    }

    /// 503: the device is busy.
    pub(crate) fn busy(message: impl Into<String>) -> Self {
        WebError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
    }
}

impl From<Refusal> for WebError {
    /// Why the device cannot take a scan now: busy, or its driver being restarted after a
    /// failure (the reason says what happened and when it is expected back).
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Busy(why) => WebError::busy(why),
            Refusal::Restarting {
                reason,
                retry_after,
            } => WebError {
                retry_after: Some(retry_after),
                ..WebError::new(StatusCode::SERVICE_UNAVAILABLE, "restarting", reason)
            },
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message}).to_string();
        let mut r = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after.unwrap_or(2)),
            );
        }
        r
    }
}

/// Any `/api` path no route takes.
pub(crate) async fn not_found(uri: axum::http::Uri) -> WebError {
    WebError::not_found(format!("there is no API route {}", uri.path()))
}

/// A JSON body, read as the route's type; a malformed one is a 400 naming what is wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    if body.is_empty() {
        return serde_json::from_slice(b"{}")
            .map_err(|e| WebError::bad_request(format!("the request needs a JSON body: {e}")));
    }
    serde_json::from_slice(body).map_err(|e| {
        WebError::bad_request(format!(
            "the request body is not valid JSON for this route: {e}"
        ))
    })
}

/// JSON `value` with status 200.
pub(crate) fn json(value: serde_json::Value) -> Response {
    json_status(StatusCode::OK, value)
}

/// JSON `value` with `status`.
pub(crate) fn json_status(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        value.to_string(),
    )
        .into_response()
}
