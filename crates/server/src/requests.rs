//! What every HTTP route shares, eSCL's and WS-Scan's: basic authentication, request bodies
//! within the server's limits, and waiting for a finished job that is winding down.

use crate::device::DeviceEntry;
use crate::error::ApiError;
use crate::state::ServerState;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next as MwNext;
use axum::response::{IntoResponse, Response};

/// HTTP basic authentication, when configured.
pub(crate) async fn auth(State(state): State<ServerState>, req: Request, next: MwNext) -> Response {
    if state.authorized(req.headers().get(header::AUTHORIZATION)) {
        return next.run(req).await;
    }
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "authentication required").into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"scanwire\", charset=\"UTF-8\""),
    );
    r
}

/// The largest refused body that is still read (and dropped) so its client gets the answer.
const LINGER_MAX: u64 = 1 << 20;

/// The request body, at most [`Limits::max_body`](crate::Limits::max_body) bytes: a larger
/// `Content-Length` is refused without being kept, and a body that does not arrive
/// within [`Timing::header_timeout`](crate::Timing::header_timeout) gets 408 (hyper has no
/// body timeout of its own, and a stalled body would hold its connection for ever).
pub(crate) async fn read_body(app: &ServerState, req: Request) -> Result<Bytes, ApiError> {
    let limit = app.config().limits.max_body;
    let too_large = |n: Option<u64>| {
        let size = n.map(|n| format!(" ({n} bytes)")).unwrap_or_default();
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body{size} is larger than the limit of {limit} bytes"),
        )
    };
    let declared = declared_length(&req);
    let timeout = app.config().timing.header_timeout;
    if declared.is_some_and(|n| n > limit as u64) {
        linger(req, timeout).await;
        return Err(too_large(declared));
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(req.into_body(), limit)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large(None)),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "cannot read the request body: {e}"
        ))),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                timeout.as_secs_f32()
            ),
        )),
    }
}

/// The `Content-Length` of `req`, when it says one.
pub(crate) fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads and drops the body of a request about to be refused, when it declares at most
/// [`LINGER_MAX`] bytes (and arrives within `timeout`): answered unread, hyper closes the
/// connection with the body still arriving, the kernel resets it, and the client sees a
/// broken pipe instead of the refusal (nginx's lingering close exists for the same reason).
/// A larger body is refused at once.
pub(crate) async fn linger(req: Request, timeout: std::time::Duration) {
    if declared_length(&req).is_some_and(|n| n <= LINGER_MAX) {
        let drain = axum::body::to_bytes(req.into_body(), LINGER_MAX as usize);
        let _ = tokio::time::timeout(timeout, drain).await;
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// How long a POST waits for a finished flatbed job's transfer to wind down before it is
/// refused as busy.
const WIND_DOWN: std::time::Duration = std::time::Duration::from_secs(2);

/// A client that got the last page (and its 404) may post the next job while the previous
/// transfer is still returning from the driver: wait for that rather than answer 503.
pub(crate) async fn wait_for_wind_down(dev: &DeviceEntry) {
    let Some(job) = dev.active_job().filter(|j| j.is_winding_down()) else {
        return;
    };
    let mut changes = job.subscribe();
    let deadline = tokio::time::Instant::now() + WIND_DOWN;
    while job.is_active() {
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}
