//! The WS-Scan (WSD) service: every served device also answers WS-Scan SOAP requests, for
//! Windows' WSD scan driver and sane-airscan's WSD client (`docs/wsd.md`).
//!
//! Each device is a service at `/WSDScanner/<segment>`, and the default device also at
//! [`WSD_PATH`]; every operation is a POST of a SOAP envelope to that address:
//!
//! ```text
//! GetScannerElements   description, configuration, default ticket, status
//! ValidateScanTicket   the ticket checked as CreateScanJob would
//! CreateScanJob        → JobId + JobToken (a server job, exactly as eSCL's POST ScanJobs)
//! RetrieveImage        → the next image, MTOM/XOP, streamed while it is scanned;
//!                        ClientErrorNoImagesAvailable after the last one
//! CancelJob            cancels the job (the driver sees S_FALSE)
//! GetJobElements / GetActiveJobs   job state
//! WS-Transfer Get      the device metadata, naming the service address
//! ```
//!
//! A job here *is* a server [`Job`]: the same device entry (one job per device, whichever
//! protocol made it), the same page pipeline (each image a slot, encoded as the ticket's
//! format), the same cancel and timeouts. This module only keeps the WS-Scan handles of the
//! jobs it created (numeric JobId, JobToken, the ticket).

mod discovery;
mod mapping;

pub(crate) use discovery::Discovery;

use crate::body::{PageBody, PageFailed, Prefetch};
use crate::device::{DeviceEntry, Refusal};
use crate::error::ApiError;
use crate::job::{CancelReason, EndReason, Job, Next};
use crate::requests::{read_body, wait_for_wind_down};
use crate::state::ServerState;
use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body::Frame;
use scanwire_core::device::DeviceErrorKind;
use scanwire_escl as escl;
use scanwire_wsd::{
    Body, CreatedJob, DeviceMetadata, Envelope, Fault, Header, HostedService, JobElements,
    JobState, JobStatus, QName, ScanTicket, ScannerElements, XopFrame,
};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Where the default device's WS-Scan service is; each device is also at
/// `/WSDScanner/<segment>`. The path real devices use (sane-airscan and Windows take the
/// address from configuration or from the WS-Transfer metadata, any path works).
pub const WSD_PATH: &str = "/WSDScanner";

/// The WS-Scan router for every device of `state` (with basic authentication when
/// configured). Needs no socket: tests call it with `tower::ServiceExt::oneshot`.
/// [`router`](crate::router) merges it in when [`ServerConfig::wsd`](crate::ServerConfig::wsd)
/// is set.
pub fn wsd_router(state: ServerState) -> Router {
    let app = wsd_routes(&state);
    if state.config().auth.is_some() {
        return app.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::requests::auth,
        ));
    }
    app
}

/// The routes without authentication (the eSCL router adds its own layer over both).
pub(crate) fn wsd_routes(state: &ServerState) -> Router {
    let mut app = Router::new();
    let default = state.default_device();
    let mut default_table = None;
    for dev in state.devices() {
        let table = Arc::new(Table::default());
        if Arc::ptr_eq(dev, &default) {
            default_table = Some(table.clone());
        }
        app = app.merge(service(
            state,
            dev,
            table,
            &format!("{WSD_PATH}/{}", dev.segment),
        ));
    }
    // The default device shares its job table between both addresses.
    let table = default_table.unwrap_or_default();
    app.merge(service(state, &default, table, WSD_PATH))
}

fn service(state: &ServerState, dev: &Arc<DeviceEntry>, table: Arc<Table>, path: &str) -> Router {
    let ctx = Ctx {
        app: state.clone(),
        dev: dev.clone(),
        table,
        path: path.into(),
    };
    Router::new().route(path, post(handle)).with_state(ctx)
}

#[derive(Clone)]
struct Ctx {
    app: ServerState,
    dev: Arc<DeviceEntry>,
    table: Arc<Table>,
    /// This service's path.
    path: Arc<str>,
}

/// The WS-Scan handles of the jobs this service created, newest first.
#[derive(Default)]
struct Table {
    jobs: Mutex<VecDeque<Arc<WsdJob>>>,
}

struct WsdJob {
    id: u32,
    token: String,
    ticket: ScanTicket,
    job: Arc<Job>,
}

/// JobIds, unique in the process (WS-Scan JobIds are integers).
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Table {
    fn find(&self, id: u32) -> Option<Arc<WsdJob>> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter().find(|j| j.id == id).cloned()
    }

    fn add(&self, j: Arc<WsdJob>, keep: usize) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.push_front(j);
        while jobs.len() > keep.max(1) {
            match jobs.back() {
                Some(old) if !old.job.is_active() => {
                    jobs.pop_back();
                }
                _ => break,
            }
        }
    }

    fn active(&self) -> Vec<Arc<WsdJob>> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter().filter(|j| j.job.is_active()).cloned().collect()
    }
}

const SOAP_TYPE: &str = "application/soap+xml; charset=utf-8";

/// A SOAP answer to `request`.
fn soap(status: StatusCode, request: &Header, body: Body) -> Response {
    let env = Envelope::new(Header::reply(request, &body), body);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(SOAP_TYPE))],
        env.to_xml(),
    )
        .into_response()
}

/// A fault, with the SOAP 1.2 HTTP binding's status: Sender → 400, Receiver → 500.
fn fault(request: &Header, f: Fault) -> Response {
    let status = if f.code == "Sender" {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    soap(status, request, Body::Fault(f))
}

/// Every operation: one POST, dispatched on the body's element.
async fn handle(State(c): State<Ctx>, req: Request) -> Response {
    c.app.sweep();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(String::from);
    let bytes = match read_body(&c.app, req).await {
        Ok(b) => b,
        Err(e) => return api_fault(e),
    };
    let env = match Envelope::from_xml(&bytes) {
        Ok(e) => e,
        Err(e) => {
            return fault(
                &Header::default(),
                Fault::sender("InvalidArgs", &format!("the SOAP message is invalid: {e}")),
            )
        }
    };
    let h = env.header;
    match env.body {
        Body::GetScannerElementsRequest(names) => soap(
            StatusCode::OK,
            &h,
            Body::GetScannerElementsResponse(elements(&c, &names)),
        ),
        Body::ValidateScanTicketRequest(ticket) => {
            let cfg = c.app.config();
            let valid =
                mapping::job_request(&ticket, &c.dev.caps, &c.dev.options, &cfg.limits).is_ok();
            soap(
                StatusCode::OK,
                &h,
                Body::ValidateScanTicketResponse {
                    valid_as_is: valid,
                    ticket: (!valid).then(|| mapping::default_ticket(&c.dev.caps)),
                },
            )
        }
        Body::CreateScanJobRequest(ticket) => create_job(&c, &h, ticket).await,
        Body::RetrieveImageRequest {
            job_id, job_token, ..
        } => retrieve_image(&c, &h, job_id, &job_token).await,
        Body::CancelJobRequest { job_id } => match c.table.find(job_id) {
            Some(j) if j.job.is_active() => {
                j.job.cancel(CancelReason::Client);
                soap(StatusCode::OK, &h, Body::CancelJobResponse)
            }
            Some(_) => fault(
                &h,
                Fault::sender(
                    "ClientErrorJobIdNotFound",
                    &format!("job {job_id} is already over"),
                ),
            ),
            None => no_job(&h, job_id),
        },
        Body::GetJobElementsRequest { job_id, names } => match c.table.find(job_id) {
            Some(j) => {
                let all = names.is_empty();
                let want = |n: &str| all || names.iter().any(|x| x == n);
                soap(
                    StatusCode::OK,
                    &h,
                    Body::GetJobElementsResponse(JobElements {
                        status: want("JobStatus").then(|| job_status(&j)),
                        ticket: want("ScanTicket").then(|| j.ticket.clone()),
                    }),
                )
            }
            None => no_job(&h, job_id),
        },
        Body::GetActiveJobsRequest => soap(
            StatusCode::OK,
            &h,
            Body::GetActiveJobsResponse(
                c.table
                    .active()
                    .iter()
                    .map(|j| JobElements {
                        status: Some(job_status(j)),
                        ticket: Some(j.ticket.clone()),
                    })
                    .collect(),
            ),
        ),
        Body::TransferGet => soap(
            StatusCode::OK,
            &h,
            Body::TransferGetResponse(metadata(&c, host)),
        ),
        other => fault(
            &h,
            Fault::sender(
                "ActionNotSupported",
                &format!("{} is not an operation of this scan service", other.name()),
            ),
        ),
    }
}

/// An HTTP-level refusal (body too large, too slow) as a fault.
fn api_fault(e: ApiError) -> Response {
    let mut r = fault(&Header::default(), Fault::sender("InvalidArgs", &e.reason));
    *r.status_mut() = e.status;
    r
}

fn no_job(h: &Header, id: u32) -> Response {
    fault(
        h,
        Fault::sender(
            "ClientErrorJobIdNotFound",
            &format!("no job {id} on this scanner"),
        ),
    )
}

fn elements(c: &Ctx, names: &[String]) -> ScannerElements {
    let all = names.is_empty();
    let want = |n: &str| all || names.iter().any(|x| x == n);
    ScannerElements {
        description: want("ScannerDescription")
            .then(|| mapping::description(&c.dev.make_and_model)),
        configuration: want("ScannerConfiguration").then(|| mapping::configuration(&c.dev.caps)),
        status: want("ScannerStatus")
            .then(|| mapping::status(&c.dev.status(&c.app.config().timing))),
        default_ticket: want("DefaultScanTicket").then(|| mapping::default_ticket(&c.dev.caps)),
    }
}

fn metadata(c: &Ctx, host: Option<String>) -> DeviceMetadata {
    let scheme = if c.app.config().tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = host.unwrap_or_else(|| c.app.config().listen.to_string());
    DeviceMetadata {
        manufacturer: Some("Scanwire".into()),
        model: Some(c.dev.make_and_model.clone()),
        friendly_name: Some(c.dev.make_and_model.clone()),
        hosted: vec![HostedService {
            addresses: vec![format!("{scheme}://{host}{}", c.path)],
            types: vec![QName::scanner_service_type()],
            service_id: Some(format!("urn:uuid:{}", c.dev.uuid)),
        }],
    }
}

async fn create_job(c: &Ctx, h: &Header, ticket: ScanTicket) -> Response {
    let cfg = c.app.config();
    let req = match mapping::job_request(&ticket, &c.dev.caps, &c.dev.options, &cfg.limits) {
        Ok(r) => r,
        Err(e) => return fault(h, Fault::sender(e.subcode, &e.reason)),
    };
    wait_for_wind_down(&c.dev).await;
    let job = match c
        .dev
        .create_job(&c.path, req, c.app.job_settings(), cfg.limits.max_history)
    {
        Ok(j) => j,
        Err(Refusal::Busy(why) | Refusal::Restarting { reason: why, .. }) => {
            return fault(h, Fault::receiver("ServerErrorNotAcceptingJobs", &why))
        }
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let token = uuid::Uuid::new_v4().simple().to_string();
    let info = mapping::image_info(&job.req.geometry);
    let duplex = job.req.request.source == scanwire_core::device::Source::FeederDuplex;
    let created = CreatedJob {
        job_id: id,
        job_token: token.clone(),
        front_image: Some(info),
        back_image: duplex.then_some(info),
        final_params: Some(mapping::final_params(&job.req, &ticket)),
    };
    c.table.add(
        Arc::new(WsdJob {
            id,
            token,
            ticket,
            job,
        }),
        cfg.limits.max_history,
    );
    soap(StatusCode::OK, h, Body::CreateScanJobResponse(created))
}

/// RetrieveImage: starts the job on the first call, holds the request until the next image
/// starts (up to [`Timing::hold`](crate::Timing::hold)), then streams it as the second part
/// of an MTOM answer.
async fn retrieve_image(c: &Ctx, h: &Header, id: u32, token: &str) -> Response {
    let Some(w) = c.table.find(id) else {
        return no_job(h, id);
    };
    if w.token != token {
        return fault(
            h,
            Fault::sender(
                "ClientErrorInvalidJobToken",
                &format!("JobToken {token:?} is not the token of job {id}"),
            ),
        );
    }
    let job = w.job.clone();
    let _live = job.live();
    // One request at a time per job: each image goes to exactly one of them.
    let _turn = job.fetch.lock().await;
    let mut changes = job.subscribe();
    job.start();
    let timing = &c.app.config().timing;
    let deadline = tokio::time::Instant::now() + timing.hold;
    loop {
        match job.next_document() {
            Next::Document(rx) => {
                let mut page = PageBody::new(rx, job.clone(), None);
                return match page.prefetch(deadline).await {
                    Prefetch::Stream => image(h, job.mime(), Some(page)),
                    Prefetch::Empty => image(h, job.mime(), None),
                    Prefetch::Failed => {
                        let why = job
                            .end_reason()
                            .unwrap_or(EndReason::Failed("the image failed".into()));
                        fault(h, end_fault(&job, why))
                    }
                };
            }
            Next::End(why) => return fault(h, end_fault(&job, why)),
            Next::Wait => {}
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => {
                return fault(
                    h,
                    Fault::receiver(
                        "ServerErrorTemporaryError",
                        "the image has not started yet; retry",
                    ),
                )
            }
        }
    }
}

/// The fault that tells a WS-Scan client why a job has no more images.
fn end_fault(job: &Job, why: EndReason) -> Fault {
    match why {
        EndReason::Done => {
            Fault::sender("ClientErrorNoImagesAvailable", "no more images in this job")
        }
        EndReason::Cancelled => Fault::sender("ClientErrorJobCancelled", "the job was cancelled"),
        EndReason::Expired => Fault::sender(
            "ClientErrorJobIdNotFound",
            "the job's images were dropped: nobody fetched them in time",
        ),
        // An empty feeder is the end of the images; other paper problems abort the job, and
        // ScannerStatus names the condition (MediaJam, …).
        EndReason::Paper(why) if job.error_kind() == Some(DeviceErrorKind::FeederEmpty) => {
            Fault::sender("ClientErrorNoImagesAvailable", &why)
        }
        EndReason::Paper(why) => Fault::receiver("ServerErrorInternalError", &why),
        EndReason::Busy(why) => Fault::receiver("ServerErrorNotAcceptingJobs", &why),
        EndReason::Failed(why) => Fault::receiver("ServerErrorInternalError", &why),
    }
}

/// The MTOM answer around an image that is still being produced.
fn image(h: &Header, mime: &str, page: Option<PageBody>) -> Response {
    let frame = XopFrame::new(h, mime);
    let body = XopBody {
        head: Some(Bytes::from(frame.head)),
        page,
        tail: Some(Bytes::from(frame.tail)),
    };
    let ct = HeaderValue::from_str(&frame.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("multipart/related"));
    ([(header::CONTENT_TYPE, ct)], AxumBody::new(body)).into_response()
}

/// The envelope part, the image as the encoder produces it, the closing delimiter. A page
/// that fails cuts the response off before the closing delimiter, so no client takes it for
/// complete; dropping it early (the client left) cancels the job, as for eSCL.
struct XopBody {
    head: Option<Bytes>,
    page: Option<PageBody>,
    tail: Option<Bytes>,
}

impl http_body::Body for XopBody {
    type Data = Bytes;
    type Error = PageFailed;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, PageFailed>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if let Some(page) = self.page.as_mut() {
            match Pin::new(page).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(f))) => return Poll::Ready(Some(Ok(f))),
                Poll::Ready(Some(Err(e))) => {
                    self.tail = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => self.page = None,
            }
        }
        Poll::Ready(self.tail.take().map(|t| Ok(Frame::data(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.page.is_none() && self.tail.is_none()
    }
}

/// A job's state in WS-Scan terms, from the state eSCL reports (one truth for both).
fn job_status(j: &WsdJob) -> JobStatus {
    use escl::JobStateReason as R;
    let info = j.job.info();
    let state = match info.job_state {
        Some(escl::JobState::Pending) => JobState::Pending,
        Some(escl::JobState::Completed) => JobState::Completed,
        Some(escl::JobState::Aborted) => JobState::Aborted,
        Some(escl::JobState::Canceled) => JobState::Canceled,
        _ => JobState::Processing,
    };
    let reasons = info
        .job_state_reasons
        .iter()
        .filter_map(|r| {
            Some(match r {
                R::JobScanning => "JobScanning",
                R::JobScanningAndTransferring => "JobScanningAndTransferring",
                R::JobTransferring => "JobTransferring",
                R::JobCompletedWithErrors => "JobCompletedWithErrors",
                R::InvalidScanTicket => "InvalidScanTicket",
                // A paper problem; its condition is in ScannerStatus. (An offline or busy
                // scanner has no WS-Scan reason: the job is just Aborted.)
                R::ErrorsDetected => "ScannerStopped",
                R::AbortedBySystem if state == JobState::Aborted => "ImageTransferError",
                _ => return None,
            })
        })
        .map(String::from)
        .collect();
    JobStatus {
        job_id: j.id,
        state,
        reasons,
        scans_completed: info.images_completed,
    }
}
