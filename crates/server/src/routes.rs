//! The HTTP side: [`router`] builds every route for every device, and the handlers turn
//! requests into job operations.
//!
//! Each device is served under `/eSCL/<segment>`, and the default device also under `/eSCL`:
//!
//! ```text
//! GET    {root}/ScannerCapabilities
//! GET    {root}/ScannerStatus
//! POST   {root}/ScanJobs                      → 201, Location: {root}/ScanJobs/{id}
//! GET    {root}/ScanJobs/{id}/NextDocument    → 200 (chunked) | 404 | 409 | 410 | 503
//! GET    {root}/ScanJobs/{id}/ScanImageInfo
//! DELETE {root}/ScanJobs/{id}
//! ```
//!
//! The web page and its API (`/`, `/web/*`, `/api/*`) are merged in from `web/`.

use crate::body::{PageBody, Prefetch};
use crate::device::{DeviceEntry, Refusal};
use crate::error::ApiError;
use crate::job::{EndReason, Job, Next};
use crate::mapping;
use crate::requests::{auth, read_body, wait_for_wind_down};
use crate::state::ServerState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use scanwire_escl::{Document, ErrorKind, ScanSettings};
use std::sync::Arc;

/// What a handler of one device's routes holds.
#[derive(Clone)]
struct Ctx {
    app: ServerState,
    dev: Arc<DeviceEntry>,
    /// The path prefix this route set is under (`/eSCL` or `/eSCL/<segment>`).
    root: Arc<str>,
}

/// The eSCL router for every device of `state`. Needs no socket: tests call it with
/// `tower::ServiceExt::oneshot`.
pub fn router(state: ServerState) -> Router {
    let mut app = Router::new();
    let default = state.default_device();
    for dev in state.devices() {
        app = app.merge(device_routes(
            &state,
            dev,
            &format!("/eSCL/{}", dev.segment),
        ));
    }
    app = app.merge(device_routes(&state, &default, "/eSCL"));
    if state.config().wsd {
        app = app.merge(crate::wsd::wsd_routes(&state));
    }
    if let Some(web) = &state.config().web {
        app = app.merge(crate::web::routes(&state, web));
    }
    if state.config().auth.is_some() {
        app = app.layer(middleware::from_fn_with_state(state.clone(), auth));
    }
    app
}

fn device_routes(state: &ServerState, dev: &Arc<DeviceEntry>, root: &str) -> Router {
    let ctx = Ctx {
        app: state.clone(),
        dev: dev.clone(),
        root: root.into(),
    };
    Router::new()
        .route(&format!("{root}/ScannerCapabilities"), get(capabilities))
        .route(&format!("{root}/ScannerStatus"), get(status))
        .route(&format!("{root}/ScanJobs"), axum::routing::post(create_job))
        .route(
            &format!("{root}/ScanJobs/{{id}}"),
            get(job_status).delete(delete_job),
        )
        .route(
            &format!("{root}/ScanJobs/{{id}}/NextDocument"),
            get(next_document),
        )
        .route(
            &format!("{root}/ScanJobs/{{id}}/ScanImageInfo"),
            get(image_info),
        )
        .with_state(ctx)
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"))],
        body,
    )
        .into_response()
}

async fn capabilities(State(c): State<Ctx>) -> Response {
    xml(c.dev.caps_xml.clone())
}

/// ScannerStatus. While the device's driver is being restarted, the reason (what failed, when
/// it is back) is in the `X-Scanwire-Reason` header: eSCL's status has no free-text element.
async fn status(State(c): State<Ctx>) -> Response {
    c.app.sweep();
    let mut r = xml(c.dev.status(&c.app.config().timing).to_xml());
    with_health_reason(&c.dev, &mut r);
    r
}

fn with_health_reason(dev: &DeviceEntry, r: &mut Response) {
    let reason = dev
        .health()
        .restarting()
        .map(|(reason, _)| reason)
        .or_else(|| {
            // `serve --queue` with the queue full: the scan waits for workers (the job's
            // JobStateReasons add ResourcesAreNotReady).
            dev.active_job()
                .and_then(|j| j.queue_view())
                .filter(|q| q.waiting)
                .map(|_| {
                    "waiting for workers: the queue is full; the scan goes on as they take pages"
                        .to_string()
                })
        });
    if let Some(reason) = reason {
        if let Ok(v) = HeaderValue::from_str(&crate::error::header_text(&reason)) {
            r.headers_mut().insert(crate::error::REASON_HEADER, v);
        }
    }
}

/// POST ScanJobs. The body is read whatever its Content-Type: sane-backends' escl sends the
/// XML as `application/x-www-form-urlencoded`, others send `text/xml` or nothing.
async fn create_job(State(c): State<Ctx>, req: Request) -> Result<Response, ApiError> {
    c.app.sweep();
    let body = read_body(&c.app, req).await?;
    let settings = ScanSettings::from_xml(&body).map_err(|e| match e.kind() {
        ErrorKind::Limit => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        _ => ApiError::bad_request(format!("the ScanSettings document is invalid: {e}")),
    })?;
    let cfg = c.app.config();
    let req = mapping::job_request(&settings, &c.dev.caps, &c.dev.options, &cfg.limits)
        .map_err(|e| ApiError::conflict(e.0))?;
    wait_for_wind_down(&c.dev).await;
    let job = c
        .dev
        .create_job(&c.root, req, c.app.job_settings(), cfg.limits.max_history)
        .map_err(|refusal| match refusal {
            Refusal::Busy(why) => ApiError::unavailable(why, cfg.timing.retry_after),
            Refusal::Restarting {
                reason,
                retry_after,
            } => ApiError::unavailable(reason, retry_after),
        })?;
    let location = HeaderValue::from_str(&job.uri)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "bad job path"))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

fn find_job(c: &Ctx, id: &str) -> Result<Arc<Job>, ApiError> {
    c.dev
        .job(id)
        .ok_or_else(|| ApiError::not_found(format!("no job {id} on this scanner")))
}

/// GET {job}: the job's JobInfo inside a ScannerStatus (a convenience; clients read status).
async fn job_status(State(c): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let job = find_job(&c, &id)?;
    let mut st = c.dev.status(&c.app.config().timing);
    st.jobs = vec![job.info()];
    let mut r = xml(st.to_xml());
    with_health_reason(&c.dev, &mut r);
    Ok(r)
}

async fn delete_job(State(c): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let job = find_job(&c, &id)?;
    job.cancel(crate::job::CancelReason::Client);
    Ok(StatusCode::OK.into_response())
}

async fn image_info(State(c): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let job = find_job(&c, &id)?;
    Ok(xml(job.image_info().to_xml()))
}

/// GET {job}/NextDocument: starts the job on the first call, holds the request until the
/// next page starts (up to [`Timing::hold`](crate::Timing::hold)), then streams it.
async fn next_document(State(c): State<Ctx>, Path(id): Path<String>) -> Result<Response, ApiError> {
    c.app.sweep();
    let job = find_job(&c, &id).map_err(ApiError::headers_only)?;
    let _live = job.live();
    // One request at a time per job: each page goes to exactly one of them.
    let _turn = job.fetch.lock().await;
    let mut changes = job.subscribe();
    job.start();
    let timing = &c.app.config().timing;
    let deadline = tokio::time::Instant::now() + timing.hold;
    loop {
        match job.next_document() {
            Next::Document(rx) => {
                let mut body = PageBody::new(rx, job.clone(), None);
                return match body.prefetch(deadline).await {
                    Prefetch::Stream => Ok(document(&job, Body::new(body))),
                    Prefetch::Empty => Ok(document(&job, Body::empty())),
                    Prefetch::Failed => {
                        let why = job
                            .end_reason()
                            .unwrap_or(EndReason::Failed("the page failed".into()));
                        Err(end_response(why, timing.retry_after))
                    }
                };
            }
            Next::End(why) => return Err(end_response(why, timing.retry_after)),
            Next::Wait => {}
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            // The sender lives in the job, which we hold: cannot close. Time is up.
            Ok(Err(_)) | Err(_) => {
                return Err(ApiError::unavailable(
                    "the page has not started yet; retry",
                    timing.retry_after,
                )
                .headers_only())
            }
        }
    }
}

fn document(job: &Job, body: Body) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(job.mime()))],
        body,
    )
        .into_response()
}

fn end_response(why: EndReason, retry_after: u32) -> ApiError {
    let e = match why {
        EndReason::Done => ApiError::not_found("no more pages in this job"),
        EndReason::Cancelled => ApiError::new(StatusCode::GONE, "the job was cancelled"),
        EndReason::Expired => ApiError::new(
            StatusCode::GONE,
            "the job's pages were dropped: nobody fetched them in time",
        ),
        EndReason::Paper(why) => ApiError::conflict(why),
        EndReason::Busy(why) => ApiError::unavailable(why, retry_after),
        EndReason::Failed(why) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, why),
    };
    e.headers_only()
}
