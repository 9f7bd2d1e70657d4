//! The WS-Scan job protocol without I/O: for each operation a request builder and a response
//! decoder that returns the next [`Step`] and its delay. Every request is a SOAP POST to the
//! scan service; `http.rs` runs the steps and tests drive this module with messages alone.
//!
//! Kept apart from the eSCL driver's `protocol.rs`, which has the same shape but other
//! states: WS-Scan learns from SOAP faults (`ClientErrorNoImagesAvailable` ends a job,
//! `ServerErrorNotAcceptingJobs` retries it) and GetJobElements' job states, and cancels with
//! CancelJob by JobId; eSCL from HTTP status codes and a job URL. What is not the protocol is
//! shared, in `scanwire-network`.

use crate::errors::{self, Operation};
use scanwire_core::device::{AcquireResult, Completion, DeviceError, DeviceErrorKind};
use scanwire_core::wia::HResult;
use scanwire_wsd::{
    read_message, Body, Envelope, Fault, Header, JobStatus, Limits, ScanTicket, ScannerStatus,
};
use std::ops::Range;
use std::time::Duration;

/// Retries of CreateScanJob answered with a transient fault (`ServerErrorNotAcceptingJobs`).
pub const CREATE_RETRIES: u32 = 10;
/// Retries of RetrieveImage answered with a transient fault, per image.
pub const FETCH_RETRIES: u32 = 30;
/// Pause before such a retry (sane-airscan waits a second between eSCL retries).
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// One SOAP request: a POST of `body` to the service address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Which operation.
    pub op: Operation,
    /// The envelope.
    pub body: Vec<u8>,
}

/// What the protocol looks at in an HTTP answer.
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The whole body.
    pub body: &'a [u8],
}

/// What to do next.
#[derive(Debug)]
pub enum Step {
    /// Wait `delay`, then send `request`; report `status` as DEVICE_STATUS first, if any.
    Send {
        /// The request.
        request: Request,
        /// How long to wait first.
        delay: Duration,
        /// A DEVICE_STATUS code for what the scanner reported.
        status: Option<HResult>,
    },
    /// The RetrieveImage answer being read carries image `number` (1-based): its envelope
    /// is read, the image follows in the same body. Hand it on as it arrives, then call
    /// [`Job::page_received`] (or [`Job::on_failure`] if the body breaks off or is refused).
    Image {
        /// 1-based image number.
        number: u32,
    },
    /// The job is over.
    Finish(AcquireResult),
}

/// The service address: `http://host:port/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The URL POSTed to.
    pub url: String,
}

impl Service {
    /// Parses `http://HOST[:PORT]/PATH` (the scheme in any case). WS-Scan devices serve plain
    /// HTTP; an https address is refused with a message saying so.
    pub fn parse(url: &str) -> Result<Service, DeviceError> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| errors::bad_url(url, "it does not start with http://"))?;
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(errors::bad_url(
                url,
                "only http:// is supported (WS-Scan devices serve their scan service over plain HTTP)",
            ));
        }
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        if authority.is_empty() || authority.contains(['@', ' ']) {
            return Err(errors::bad_url(url, "the host is missing or invalid"));
        }
        if path.is_empty() || path == "/" {
            return Err(errors::bad_url(
                url,
                "the service path is missing (devices publish it, e.g. /WSDScanner)",
            ));
        }
        Ok(Service {
            url: format!("http://{authority}{path}"),
        })
    }

    fn request(&self, op: Operation, body: Body) -> Request {
        let header = Header::request(&self.url, &body);
        Request {
            op,
            body: Envelope::new(header, body).to_xml().into_bytes(),
        }
    }

    /// GetScannerElements for description, configuration and default ticket, as sane-airscan
    /// asks.
    pub fn elements_request(&self) -> Request {
        self.request(
            Operation::Elements,
            Body::GetScannerElementsRequest(vec![
                "ScannerDescription".into(),
                "ScannerConfiguration".into(),
                "DefaultScanTicket".into(),
            ]),
        )
    }

    /// GetScannerElements for ScannerStatus.
    pub fn status_request(&self) -> Request {
        self.request(
            Operation::Status,
            Body::GetScannerElementsRequest(vec!["ScannerStatus".into()]),
        )
    }
}

/// Where an answer's attachment is in its body, and its Content-Type.
pub type Attachment = (Range<usize>, Option<String>);

/// Decodes an answer: the envelope (a fault is an `Ok` body here) and where the attachment
/// is. An answer that does not parse is the scanner's error, unless its HTTP status already
/// says what went wrong.
pub fn decode(
    op: Operation,
    url: &str,
    r: &Response<'_>,
) -> Result<(Body, Option<Attachment>), DeviceError> {
    match read_message(r.content_type, r.body, &Limits::DEFAULT) {
        Ok(m) => {
            let at = m.attachment.map(|p| {
                let start = p.body.as_ptr() as usize - r.body.as_ptr() as usize;
                (start..start + p.body.len(), p.mime())
            });
            Ok((m.envelope.body, at))
        }
        Err(e) => Err(unreadable(op, url, r.status, &e)),
    }
}

/// An answer that does not parse is the scanner's error, unless its HTTP status already says
/// what went wrong.
fn unreadable(op: Operation, url: &str, status: u16, e: &scanwire_wsd::Error) -> DeviceError {
    if (200..300).contains(&status) {
        errors::bad_response(op, format!("a message that does not parse: {e}"))
    } else {
        errors::http_status(op, status, url)
    }
}

/// Why the scanner's state is being read.
#[derive(Debug)]
enum Check {
    /// RetrieveImage answered a transient fault: report what the scanner says, then retry.
    Waiting { attempt: u32 },
    /// CreateScanJob or RetrieveImage failed with this error; a condition may explain it.
    Stopped(DeviceError),
}

// The job state machine. Every transition consumes the old state; `Finish` ends the job.
//
//   start ─CreateScanJob─▶ Creating ──response (JobId, JobToken)──▶ Retrieving ◀────────────┐
//                           │ ▲  │                                    │ │ │ │                │
//                           └─┘  │ fault / error                      │ │ │ └─image─▶ Delivering
//        transient fault: retry  ▼                                    │ │ │     page_received: feeder wants more ┘
//                       Status(Stopped) ─▶ Finish(err)                │ │ │     feeder, enough: Cleaning ─CancelJob─▶ Finish(Done)
//                                                                     │ │ │     platen: Finish(Done)
//   NoImagesAvailable after ≥ 1 image: Finish(Done | EndOfMedia) ◀────┘ │ │
//   transient fault (× 30): Status(Waiting) ─▶ report, retry ◀──────────┘ │
//   other fault, broken or bad answer, NoImages before an image:          │
//       Status(Stopped) ─▶ condition? else Job(error) ─▶ Cleaning ─CancelJob─▶ Finish(err | Cancelled)
//
//   Cancellation:
//      Creating ──cancel──▶ CancelOnCreated ──response──▶ Cancelling ─CancelJob, any answer─▶ Finish(Cancelled)
//      Retrieving | Delivering | Status | Job ──cancel──▶ Cancelling
//      Cleaning | Cancelling ──cancel──▶ (unchanged: the CancelJob is on its way)
//   The application failing a page aborts: ──abort──▶ Cleaning(err) ─CancelJob─▶ Finish(err)
/// Where a job is; each state names what it waits for.
#[derive(Debug)]
enum State {
    /// CreateScanJob sent.
    Creating { attempt: u32 },
    /// Cancelled while CreateScanJob was in flight: cancel the job its answer creates.
    CancelOnCreated,
    /// RetrieveImage sent.
    Retrieving { attempt: u32 },
    /// An image is being handed on.
    Delivering,
    /// GetScannerElements(ScannerStatus) sent.
    Status(Check),
    /// GetJobElements(JobStatus) sent; `error` stands unless the job's state explains more.
    Job(DeviceError),
    /// CancelJob sent after the wanted images or a failure; ends with `result` whatever it
    /// answers.
    Cleaning(AcquireResult),
    /// CancelJob sent to cancel.
    Cancelling,
    /// Over.
    Finished,
}

/// One WS-Scan job from CreateScanJob to the last image.
#[derive(Debug)]
pub struct Job {
    service: Service,
    ticket: ScanTicket,
    state: State,
    job: Option<(u32, String)>,
    feeder: bool,
    wanted: Option<u32>,
    images: u32,
    retry_delay: Duration,
}

impl Job {
    /// A job creating `ticket`; `feeder` applies the feeder outcome table, `wanted` is the
    /// number of images asked for (`None` = all). Returns the job and its first step.
    pub fn start(
        service: Service,
        ticket: ScanTicket,
        feeder: bool,
        wanted: Option<u32>,
    ) -> (Job, Step) {
        let job = Job {
            service,
            ticket,
            state: State::Creating { attempt: 0 },
            job: None,
            feeder,
            wanted: if feeder { wanted } else { Some(1) },
            images: 0,
            retry_delay: RETRY_DELAY,
        };
        let first = send(job.create(), Duration::ZERO);
        (job, first)
    }

    /// Replaces [`RETRY_DELAY`] (tests).
    pub fn set_retry_delay(&mut self, delay: Duration) {
        self.retry_delay = delay;
    }

    /// The scanner's JobId, once created.
    pub fn job_id(&self) -> Option<u32> {
        self.job.as_ref().map(|(id, _)| *id)
    }

    /// Images received in full.
    pub fn images(&self) -> u32 {
        self.images
    }

    /// Whether the job is over.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    fn create(&self) -> Request {
        self.service.request(
            Operation::CreateJob,
            Body::CreateScanJobRequest(self.ticket.clone()),
        )
    }

    fn retrieve(&self, delay: Duration) -> Step {
        let (job_id, job_token) = self.job.clone().unwrap_or_default();
        send(
            self.service.request(
                Operation::RetrieveImage,
                Body::RetrieveImageRequest {
                    job_id,
                    job_token,
                    document_name: Some(format!("IMAGE{:03}", self.images + 1)),
                },
            ),
            delay,
        )
    }

    fn cancel_job(&self) -> Step {
        let job_id = self.job_id().unwrap_or_default();
        send(
            self.service
                .request(Operation::CancelJob, Body::CancelJobRequest { job_id }),
            Duration::ZERO,
        )
    }

    fn status(&mut self, why: Check, delay: Duration) -> Step {
        self.state = State::Status(why);
        send(self.service.status_request(), delay)
    }

    fn finish(&mut self, result: AcquireResult) -> Step {
        self.state = State::Finished;
        Step::Finish(result)
    }

    /// CancelJob (if the scanner created a job), then end with `result`: whatever the job
    /// still holds is released and the scanner is left idle.
    fn clean_up(&mut self, result: AcquireResult) -> Step {
        if self.job.is_some() {
            self.state = State::Cleaning(result);
            self.cancel_job()
        } else {
            self.finish(result)
        }
    }

    /// How a job that ran out of images ends (the feeder table): Done, or END_OF_MEDIA
    /// when fewer than asked for.
    fn end_of_images(&self) -> AcquireResult {
        match self.wanted {
            Some(w) if self.images < w => Ok(Completion::EndOfMedia),
            _ => Ok(Completion::Done),
        }
    }

    /// Decodes the answer to the last [`Step::Send`].
    pub fn on_response(&mut self, r: &Response<'_>) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let url = self.service.url.clone();
        match state {
            State::Creating { attempt } => match decode(Operation::CreateJob, &url, r) {
                Ok((Body::CreateScanJobResponse(j), _)) => {
                    self.job = Some((j.job_id, j.job_token));
                    self.state = State::Retrieving { attempt: 0 };
                    self.retrieve(Duration::ZERO)
                }
                Ok((Body::Fault(f), _)) if errors::is_transient(&f) && attempt < CREATE_RETRIES => {
                    self.state = State::Creating {
                        attempt: attempt + 1,
                    };
                    send(self.create(), self.retry_delay)
                }
                Ok((Body::Fault(f), _)) => {
                    let e = errors::fault_error(Operation::CreateJob, &f);
                    self.status(Check::Stopped(e), Duration::ZERO)
                }
                Ok((other, _)) => self.finish(Err(unexpected(Operation::CreateJob, &other))),
                Err(e) => self.status(Check::Stopped(e), Duration::ZERO),
            },
            State::CancelOnCreated => match decode(Operation::CreateJob, &url, r) {
                Ok((Body::CreateScanJobResponse(j), _)) => {
                    self.job = Some((j.job_id, j.job_token));
                    self.state = State::Cancelling;
                    self.cancel_job()
                }
                _ => self.finish(Ok(Completion::Cancelled)),
            },
            State::Retrieving { attempt } => match decode(Operation::RetrieveImage, &url, r) {
                Ok((Body::RetrieveImageResponse { .. }, Some(_))) => {
                    self.state = State::Delivering;
                    Step::Image {
                        number: self.images + 1,
                    }
                }
                Ok((Body::Fault(f), _)) => self.retrieve_fault(&f, attempt),
                Ok((other, _)) => {
                    let e = unexpected(Operation::RetrieveImage, &other);
                    self.status(Check::Stopped(e), Duration::ZERO)
                }
                Err(e) => self.status(Check::Stopped(e), Duration::ZERO),
            },
            State::Status(why) => {
                let status = match decode(Operation::Status, &url, r) {
                    Ok((Body::GetScannerElementsResponse(e), _)) => e.status,
                    _ => None,
                };
                self.decide(why, status.as_ref())
            }
            State::Job(error) => {
                let job = match decode(Operation::JobStatus, &url, r) {
                    Ok((Body::GetJobElementsResponse(j), _)) => j.status,
                    _ => None,
                };
                self.after_job_state(error, job.as_ref())
            }
            State::Cleaning(result) => self.finish(result),
            State::Cancelling => self.finish(Ok(Completion::Cancelled)),
            State::Delivering | State::Finished => {
                self.state = state;
                Step::Finish(Err(DeviceError::new(
                    DeviceErrorKind::Internal,
                    "WS-Scan job: a response arrived with no request outstanding",
                )))
            }
        }
    }

    /// The envelope of a RetrieveImage answer read as it arrives (an MTOM/XOP body whose
    /// image follows), or why it could not be read; `status` is the answer's HTTP status.
    pub fn on_envelope(&mut self, status: u16, read: Result<Body, scanwire_wsd::Error>) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let State::Retrieving { attempt } = state else {
            self.state = state;
            return Step::Finish(Err(DeviceError::new(
                DeviceErrorKind::Internal,
                "WS-Scan job: an image answer arrived with no RetrieveImage outstanding",
            )));
        };
        let url = self.service.url.clone();
        match read {
            Ok(Body::RetrieveImageResponse { .. }) => {
                self.state = State::Delivering;
                Step::Image {
                    number: self.images + 1,
                }
            }
            Ok(Body::Fault(f)) => self.retrieve_fault(&f, attempt),
            Ok(other) => {
                let e = unexpected(Operation::RetrieveImage, &other);
                self.status(Check::Stopped(e), Duration::ZERO)
            }
            Err(e) => {
                let e = unreadable(Operation::RetrieveImage, &url, status, &e);
                self.status(Check::Stopped(e), Duration::ZERO)
            }
        }
    }

    fn retrieve_fault(&mut self, f: &Fault, attempt: u32) -> Step {
        if f.is("ClientErrorNoImagesAvailable") {
            if self.images > 0 {
                // The normal end of a feeder batch: the job is over at the scanner.
                let r = self.end_of_images();
                return self.finish(r);
            }
            // Nothing came: an empty feeder, or a jam on the first sheet (the status says).
            let e = if self.feeder {
                DeviceError::new(
                    DeviceErrorKind::FeederEmpty,
                    format!("the feeder delivered no image (RetrieveImage: {f})"),
                )
            } else {
                errors::bad_response(
                    Operation::RetrieveImage,
                    format!("no image for a platen job ({f})"),
                )
            };
            return self.status(Check::Stopped(e), Duration::ZERO);
        }
        if errors::is_cancelled(f) {
            return self.clean_up(Ok(Completion::Cancelled));
        }
        if errors::is_transient(f) && attempt < FETCH_RETRIES {
            return self.status(
                Check::Waiting {
                    attempt: attempt + 1,
                },
                Duration::ZERO,
            );
        }
        let e = errors::fault_error(Operation::RetrieveImage, f);
        self.status(Check::Stopped(e), Duration::ZERO)
    }

    fn decide(&mut self, why: Check, status: Option<&ScannerStatus>) -> Step {
        let fault = status.and_then(|s| errors::status_fault(s, self.feeder));
        match why {
            Check::Waiting { attempt } => {
                if let Some(e) = fault {
                    return self.clean_up(Err(e));
                }
                self.state = State::Retrieving { attempt };
                match self.retrieve(self.retry_delay) {
                    Step::Send { request, delay, .. } => Step::Send {
                        request,
                        delay,
                        status: status.and_then(errors::device_status),
                    },
                    other => other,
                }
            }
            Check::Stopped(error) => match fault {
                Some(e) => self.clean_up(Err(e)),
                None if self.job.is_some() => {
                    // The job's own state may say more: cancelled at the panel, aborted with a
                    // reason.
                    self.state = State::Job(error);
                    let job_id = self.job_id().unwrap_or_default();
                    send(
                        self.service.request(
                            Operation::JobStatus,
                            Body::GetJobElementsRequest {
                                job_id,
                                names: vec!["JobStatus".into()],
                            },
                        ),
                        Duration::ZERO,
                    )
                }
                None => self.finish(Err(error)),
            },
        }
    }

    fn after_job_state(&mut self, error: DeviceError, job: Option<&JobStatus>) -> Step {
        let result = match job.and_then(errors::job_outcome) {
            Some(Ok(())) => Ok(Completion::Cancelled),
            Some(Err(e)) => Err(e),
            None => Err(error),
        };
        self.clean_up(result)
    }

    /// The image of the last [`Step::Image`] was handed on in full.
    pub fn page_received(&mut self) -> Step {
        self.images += 1;
        if !self.feeder {
            // The platen's one image: the job is complete at the scanner.
            return self.finish(Ok(Completion::Done));
        }
        if self.wanted.is_some_and(|w| self.images >= w) {
            // Enough: stop the feeder.
            self.state = State::Cleaning(Ok(Completion::Done));
            return self.cancel_job();
        }
        self.state = State::Retrieving { attempt: 0 };
        self.retrieve(Duration::ZERO)
    }

    /// The application failed the transfer: cancel the job, end with `error`.
    pub fn abort(&mut self, error: DeviceError) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Creating { .. }
            | State::CancelOnCreated
            | State::Cleaning(_)
            | State::Cancelling
            | State::Finished => self.finish(Err(error)),
            _ => self.clean_up(Err(error)),
        }
    }

    /// The application cancelled. `None`: keep waiting for the answer in flight and pass it
    /// to [`Job::on_response`] (a CreateScanJob, whose job must then be cancelled; or the
    /// CancelJob already sent). `Some(step)`: drop the request in flight and do `step`.
    pub fn cancel(&mut self) -> Option<Step> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Creating { .. } => {
                self.state = State::CancelOnCreated;
                None
            }
            State::Cleaning(_) | State::Cancelling | State::CancelOnCreated => {
                self.state = state;
                None
            }
            State::Finished => Some(Step::Finish(Ok(Completion::Cancelled))),
            _ if self.job.is_some() => {
                self.state = State::Cancelling;
                Some(self.cancel_job())
            }
            _ => Some(self.finish(Ok(Completion::Cancelled))),
        }
    }

    /// The request of the last step failed below HTTP (or its body broke off).
    pub fn on_failure(&mut self, error: DeviceError) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Cleaning(result) => self.finish(result),
            State::Cancelling | State::CancelOnCreated => self.finish(Ok(Completion::Cancelled)),
            State::Status(why) => self.decide(why, None),
            State::Job(e) => self.after_job_state(e, None),
            // The answer or its image broke off: ask the scanner why (a jam mid-page shows in
            // its status).
            State::Retrieving { .. } | State::Delivering => {
                self.status(Check::Stopped(error), Duration::ZERO)
            }
            _ => self.finish(Err(error)),
        }
    }
}

fn unexpected(op: Operation, body: &Body) -> DeviceError {
    errors::bad_response(op, format!("an unexpected <{}>", body.name()))
}

fn send(request: Request, delay: Duration) -> Step {
    Step::Send {
        request,
        delay,
        status: None,
    }
}
