//! Errors: [`ServerError`] for starting a server, and the one place where request failures
//! become HTTP responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No device to serve.
    #[error("no device to serve; give at least one device")]
    NoDevices,
    /// `default_device` names no served device.
    #[error("default device `{wanted}` is not among the served devices: {available}")]
    UnknownDevice {
        /// The id asked for.
        wanted: String,
        /// The ids served.
        available: String,
    },
    /// Two devices with the same id.
    #[error("device `{0}` is listed twice")]
    DuplicateDevice(String),
    /// A device could not describe itself.
    #[error("cannot read the capabilities of `{id}`: {source}")]
    Capabilities {
        /// The device id.
        id: String,
        /// What the device said.
        #[source]
        source: scanwire_core::device::DeviceError,
    },
    /// `request_options` do not fit a device's options (checked at start, not per job).
    #[error("--set for `{id}`: {source}")]
    Options {
        /// The device id.
        id: String,
        /// What is wrong, naming what is allowed.
        #[source]
        source: scanwire_core::device::OptionError,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not be started (blocking use).
    #[error("cannot start the server's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The mDNS announcement could not be made.
    #[error("cannot announce over mDNS: {0}")]
    Mdns(String),
    /// The WS-Discovery responder could not start.
    #[error("cannot announce over WS-Discovery: {0}")]
    WsDiscovery(String),
    /// Accepting connections failed for good.
    #[error("the server stopped: {0}")]
    Accept(#[source] std::io::Error),
}

/// A request that failed, with its status and reason. eSCL clients mostly act on the status;
/// the reason is for people (and logs).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub reason: String,
    /// Seconds for `Retry-After` (503).
    pub retry_after: Option<u32>,
    /// Send the reason in the body. `NextDocument` errors carry it in a header only:
    /// sane-backends' escl writes any body it receives into the image file.
    pub in_body: bool,
}

/// The header that carries the reason when the body cannot.
pub(crate) const REASON_HEADER: &str = "x-scanwire-reason";

impl ApiError {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            reason: reason.into(),
            retry_after: None,
            in_body: true,
        }
    }

    /// 400: the request is not a valid eSCL document.
    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    /// 409: valid, but it does not fit this scanner (or the feeder is not ready).
    pub(crate) fn conflict(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, reason)
    }

    /// 404.
    pub(crate) fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, reason)
    }

    /// 503 with `Retry-After`.
    pub(crate) fn unavailable(reason: impl Into<String>, retry_after: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, reason)
        }
    }

    /// Reason in a header, empty body.
    pub(crate) fn headers_only(mut self) -> Self {
        self.in_body = false;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = if self.in_body {
            let mut body = self.reason.clone();
            body.push('\n');
            (self.status, body).into_response()
        } else {
            self.status.into_response()
        };
        let h = resp.headers_mut();
        if self.in_body {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        if let Ok(v) = HeaderValue::from_str(&header_text(&self.reason)) {
            h.insert(REASON_HEADER, v);
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// A reason as a header value: visible ASCII only (anything else becomes '?'), at most 300
/// characters.
pub(crate) fn header_text(reason: &str) -> String {
    reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(300)
        .collect()
}
