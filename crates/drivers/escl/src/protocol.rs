//! The eSCL job protocol without I/O: for each operation a request builder and a response
//! decoder that returns the next [`Step`] (and how long to wait before it). `http.rs` runs
//! the steps; tests drive this module with recorded documents alone.
//!
//! The WSD driver's `protocol.rs` has the same shape (create, fetch pages, cancel, ask the
//! scanner why it stopped) but not the same states, so the two are kept apart: eSCL learns
//! everything from HTTP status codes (503 and `Retry-After`, NextDocument's 404 at the end)
//! and ScannerStatus' job list, with a job URL to DELETE; WS-Scan from SOAP faults, JobId and
//! JobToken, and GetJobElements' job states. What is not the protocol is shared, in
//! `scanwire-network`.

use crate::errors::{self, Operation};
use crate::quirks::Quirks;
use scanwire_core::device::{AcquireResult, Completion, DeviceError, DeviceErrorKind};
use scanwire_core::wia::HResult;
use scanwire_escl::{Document, ScannerStatus};
use std::time::Duration;

/// Retries of POST ScanJobs answered 503 (sane-airscan allows 10).
pub const CREATE_RETRIES: u32 = 10;
/// Retries of NextDocument answered 503, per page. Our server holds each request ~15 s
/// before answering 503; devices answer at once and want about 1 s between tries.
pub const FETCH_RETRIES: u32 = 60;
/// Delay after a 503 without `Retry-After`.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Longest delay honoured from `Retry-After`: a device asking for more would stall the job.
pub const MAX_RETRY: Duration = Duration::from_secs(5);

/// One HTTP request to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Which protocol operation this is.
    pub op: Operation,
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// The body (ScanSettings XML for POST).
    pub body: Option<Vec<u8>>,
}

impl Request {
    fn get(op: Operation, url: String) -> Self {
        Request {
            op,
            method: "GET",
            url,
            body: None,
        }
    }
}

/// The parts of a response the protocol looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// HTTP status.
    pub status: u16,
    /// `Location`.
    pub location: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Length`.
    pub content_length: Option<u64>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
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
    /// The NextDocument response just received is page `number` (1-based): read its body,
    /// then call [`Job::page_received`].
    Receive {
        /// 1-based page number.
        number: u32,
    },
    /// The job is over.
    Finish(AcquireResult),
}

/// The base of a device: `scheme://authority` and the root path (`/eSCL`), no trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    /// `http://host:port` or `https://host:port`.
    pub origin: String,
    /// `/eSCL`.
    pub root: String,
}

impl Base {
    /// Parses `http://HOST[:PORT][/PATH]` or `https://…` (the port defaults to 80 or 443, the
    /// root to `/eSCL`); the scheme is taken in any case and kept lowercase.
    pub fn parse(url: &str) -> Result<Base, DeviceError> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .map(|(s, r)| (s.to_ascii_lowercase(), r))
            .filter(|(s, _)| s == "http" || s == "https")
            .ok_or_else(|| errors::bad_url(url, "it does not start with http:// or https://"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') || authority.contains(' ') {
            return Err(errors::bad_url(url, "the host is missing or invalid"));
        }
        let path = path.trim_end_matches('/');
        Ok(Base {
            origin: format!("{scheme}://{authority}"),
            root: if path.is_empty() {
                "/eSCL".into()
            } else {
                path.to_string()
            },
        })
    }

    /// Whether the device is reached over HTTPS.
    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// The URL of an endpoint under the root (`ScannerCapabilities`, `ScanJobs`, …).
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}{}/{name}", self.origin, self.root)
    }

    /// GET ScannerCapabilities.
    pub fn capabilities_request(&self) -> Request {
        Request::get(
            Operation::Capabilities,
            self.endpoint("ScannerCapabilities"),
        )
    }

    /// GET ScannerStatus.
    pub fn status_request(&self) -> Request {
        Request::get(Operation::Status, self.endpoint("ScannerStatus"))
    }

    /// The job URL a POST's `Location` names: absolute (scheme and host replaced by the
    /// request's when [`Quirks::keep_request_host`]), an absolute path, a bare `urn:uuid:` id
    /// (Kyocera), or a path relative to `ScanJobs`.
    pub fn job_url(&self, location: &str, quirks: &Quirks) -> Result<String, DeviceError> {
        let loc = location.trim().trim_end_matches('/');
        if loc.is_empty() {
            return Err(errors::bad_response("an empty job Location"));
        }
        let lower = loc.to_ascii_lowercase();
        if let Some(rest) = ["http://", "https://"]
            .iter()
            .find(|s| lower.starts_with(*s))
            .map(|s| &loc[s.len()..])
        {
            if !quirks.keep_request_host {
                if self.is_https() && lower.starts_with("http://") {
                    return Err(errors::bad_response(format!(
                        "a job Location on plain http from an https scanner: {loc}"
                    )));
                }
                return Ok(loc.to_string());
            }
            let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return Ok(format!("{}{path}", self.origin));
        }
        if loc.starts_with('/') {
            return Ok(format!("{}{loc}", self.origin));
        }
        if loc.to_ascii_lowercase().starts_with("urn:") && !quirks.urn_uuid_job_ids {
            return Err(errors::bad_response(format!(
                "a job Location that is not a URL: {loc}"
            )));
        }
        // Relative references resolve against the POST URL `{root}/ScanJobs`, i.e. `{root}/`;
        // a bare id (`urn:uuid:…`, `12`) means a job under ScanJobs.
        if loc.starts_with("ScanJobs/") {
            Ok(format!("{}{}/{loc}", self.origin, self.root))
        } else {
            Ok(format!("{}/{loc}", self.endpoint("ScanJobs")))
        }
    }
}

/// Why a ScannerStatus is being read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Check {
    /// NextDocument answered 503: report what the scanner says, then retry.
    Waiting { attempt: u32, delay: Duration },
    /// NextDocument answered this status: find out why the job stopped.
    Stopped(u16),
    /// POST answered this status.
    Refused(u16),
    /// A page's body broke off (connection reset, cut short): the scanner may say why (a
    /// jam mid-page); if not, this error stands.
    Broken(DeviceError),
}

// The job state machine. Every transition consumes the old state; `Finish` ends the job.
//
//   start ─POST─▶ Creating ──201 + Location──────────────▶ Fetching ◀─────────────────────┐
//                  │ ▲  │                                    │ │ │ │                       │
//                  └─┘  │ other status, or 503 × 10          │ │ │ └─200─▶ Receiving ─────┤ page read,
//            503: wait  ▼                                    │ │ │           │ │ │        │ feeder wants more
//            Retry-After  Checking(Refused) ─▶ Finish(err)   │ │ │           │ │ └─body broke─▶ Checking(Broken)
//                                                            │ │ │           │ │     ADF fault or the error:
//      ┌──── 503 (× 60) ─────────────────────────────────────┘ │ │           │ │     Cleaning ─DELETE─▶ Finish(err)
//      ▼                                                       │ │           │ │
//   Checking(Waiting): job listed Aborted/Canceled ─▶ Finish   │ │           │ └─feeder: enough pages
//                      else wait, report status ─▶ Fetching    │ │           │    Cleaning ─DELETE, any answer─▶ Finish(Done)
//                                                              │ │           └─platen: its page
//   404 after ≥ 1 page: Finish(Done | EndOfMedia) ◀────────────┘ │              Ending ─NextDocument─▶ 404: Finish(Done)
//   404 before a page, 409, 410, 5xx: Checking(Stopped) ◀────────┘                       other: Cleaning ─DELETE─▶ Finish(Done)
//        ─▶ Finish(ADF fault | job reasons | table)
//
//   Cancellation (S_FALSE from the application or the cancel handle) has states of its own:
//
//      Creating ──cancel──▶ CancelOnCreated ──201 + Location──▶ Cancelling ─DELETE, any answer─▶ Finish(Cancelled)
//                                  └───────anything else──────────────────────────────────────▶ Finish(Cancelled)
//      Fetching | Receiving | Checking ──cancel──▶ Cancelling ─DELETE, any answer─▶ Finish(Cancelled)
//      Cleaning | Cancelling ──cancel──▶ (unchanged: the DELETE is already on its way)
//      Ending ──cancel──▶ Finish(Done) (every page is in; nothing is left to stop)
//
//   The application failing a page (its stream or a callback returned an error) aborts:
//      Fetching | Receiving | Checking ──abort──▶ Cleaning(err) ─DELETE─▶ Finish(err)
/// Where a job is; each state names what it waits for.
#[derive(Debug)]
enum State {
    /// POST ScanJobs sent; waiting for 201 + Location.
    Creating { attempt: u32 },
    /// Cancelled while POST was in flight: DELETE the job its answer creates.
    CancelOnCreated,
    /// NextDocument sent; waiting for its status line.
    Fetching { attempt: u32 },
    /// A page body is being read.
    Receiving,
    /// ScannerStatus sent to learn why.
    Checking(Check),
    /// DELETE sent after the wanted pages (or an abort); the job ends with `result`
    /// whatever it answers.
    Cleaning(AcquireResult),
    /// NextDocument sent after the platen's page; waiting for the 404 that ends the job.
    Ending,
    /// DELETE sent to cancel; waiting for any answer.
    Cancelling,
    /// Over.
    Finished,
}

/// One eSCL scan job from POST to the last page.
#[derive(Debug)]
pub struct Job {
    base: Base,
    quirks: Quirks,
    settings: Vec<u8>,
    state: State,
    job_url: Option<String>,
    feeder: bool,
    wanted: Option<u32>,
    pages: u32,
}

impl Job {
    /// A job posting `settings_xml`; `feeder` applies the feeder outcome table, `wanted` is
    /// the page count asked for (`None` = all). Returns the job and its first step.
    pub fn start(
        base: Base,
        quirks: Quirks,
        settings_xml: String,
        feeder: bool,
        wanted: Option<u32>,
    ) -> (Job, Step) {
        let job = Job {
            base,
            quirks,
            settings: settings_xml.into_bytes(),
            state: State::Creating { attempt: 0 },
            job_url: None,
            feeder,
            // A flatbed job is one page.
            wanted: if feeder { wanted } else { Some(1) },
            pages: 0,
        };
        let first = send(job.post());
        (job, first)
    }

    /// The job URL, once the scanner has created the job.
    pub fn job_url(&self) -> Option<&str> {
        self.job_url.as_deref()
    }

    /// Pages received in full.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Whether the job is over.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    fn next_document(&self, delay: Duration) -> Step {
        let url = format!(
            "{}/NextDocument",
            self.job_url.as_deref().unwrap_or_default()
        );
        Step::Send {
            request: Request::get(Operation::NextDocument, url),
            delay,
            status: None,
        }
    }

    fn delete(&self) -> Step {
        send(Request {
            op: Operation::CancelJob,
            method: "DELETE",
            url: self.job_url.clone().unwrap_or_default(),
            body: None,
        })
    }

    fn check(&mut self, why: Check, delay: Duration) -> Step {
        self.state = State::Checking(why);
        Step::Send {
            request: self.base.status_request(),
            delay,
            status: None,
        }
    }

    fn finish(&mut self, result: AcquireResult) -> Step {
        self.state = State::Finished;
        Step::Finish(result)
    }

    /// How a job that ran out of pages ends (the feeder outcome table): after at least one
    /// page, Done, or END_OF_MEDIA when fewer than asked for; before any page, an empty
    /// feeder (flatbed: the scanner delivered nothing).
    fn end_of_pages(&self) -> AcquireResult {
        match (self.pages, self.wanted) {
            (0, _) if self.feeder => Err(DeviceError::new(
                DeviceErrorKind::FeederEmpty,
                "the feeder delivered no page",
            )),
            (0, _) => Err(errors::bad_response(
                "no page for a flatbed job (NextDocument answered 404)",
            )),
            (n, Some(w)) if n < w => Ok(Completion::EndOfMedia),
            _ => Ok(Completion::Done),
        }
    }

    /// Decodes the answer to the last [`Step::Send`]. `body` is the whole body, except for a
    /// 200 to NextDocument, whose body is the page (pass an empty slice and read it after
    /// [`Step::Receive`]).
    pub fn on_response(&mut self, head: &Head, body: &[u8]) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Creating { attempt } => match head.status {
                201 => match head
                    .location
                    .as_deref()
                    .map(|l| self.base.job_url(l, &self.quirks))
                {
                    Some(Ok(url)) => {
                        self.job_url = Some(url);
                        self.state = State::Fetching { attempt: 0 };
                        self.next_document(Duration::ZERO)
                    }
                    Some(Err(e)) => self.finish(Err(e)),
                    None => self.finish(Err(errors::http_status(
                        Operation::CreateJob,
                        201,
                        &self.base.endpoint("ScanJobs"),
                    ))),
                },
                503 if attempt < CREATE_RETRIES => {
                    self.state = State::Creating {
                        attempt: attempt + 1,
                    };
                    Step::Send {
                        request: self.post(),
                        delay: retry_delay(head),
                        status: None,
                    }
                }
                other => self.check(Check::Refused(other), Duration::ZERO),
            },
            State::CancelOnCreated => match head
                .location
                .as_deref()
                .map(|l| self.base.job_url(l, &self.quirks))
            {
                Some(Ok(url)) if head.status == 201 => {
                    self.job_url = Some(url);
                    self.state = State::Cancelling;
                    self.delete()
                }
                _ => self.finish(Ok(Completion::Cancelled)),
            },
            State::Fetching { attempt } => match head.status {
                200 => {
                    self.state = State::Receiving;
                    Step::Receive {
                        number: self.pages + 1,
                    }
                }
                503 if attempt < FETCH_RETRIES => self.check(
                    Check::Waiting {
                        attempt: attempt + 1,
                        delay: retry_delay(head),
                    },
                    Duration::ZERO,
                ),
                // The normal end of a feeder batch; no status read, no DELETE: the job is over.
                404 if self.pages > 0 => {
                    let r = self.end_of_pages();
                    self.finish(r)
                }
                other => self.check(Check::Stopped(other), Duration::ZERO),
            },
            State::Checking(why) => {
                let status = if head.status == 200 {
                    ScannerStatus::from_xml(body).ok()
                } else {
                    None
                };
                self.decide(why, status.as_ref())
            }
            State::Cleaning(result) => self.finish(result),
            // 404: over. Anything else (another document, an error after the page was
            // delivered): the page stands; delete whatever the job still holds.
            State::Ending if head.status == 404 => self.finish(Ok(Completion::Done)),
            State::Ending => self.clean_up(Ok(Completion::Done)),
            State::Cancelling => self.finish(Ok(Completion::Cancelled)),
            State::Receiving | State::Finished => {
                self.state = state;
                Step::Finish(Err(DeviceError::new(
                    DeviceErrorKind::Internal,
                    "eSCL job: a response arrived with no request outstanding",
                )))
            }
        }
    }

    fn post(&self) -> Request {
        Request {
            op: Operation::CreateJob,
            method: "POST",
            url: self.base.endpoint("ScanJobs"),
            body: Some(self.settings.clone()),
        }
    }

    fn decide(&mut self, why: Check, status: Option<&ScannerStatus>) -> Step {
        let answered = match &why {
            Check::Waiting { .. } => 503,
            Check::Refused(code) | Check::Stopped(code) => *code,
            // Nothing was answered: the body broke off after 200.
            Check::Broken(_) => 200,
        };
        let fault = status
            .and_then(|s| errors::status_fault(s, self.job_url.as_deref(), answered, self.feeder));
        match why {
            Check::Waiting { attempt, delay } => {
                // The job itself may be over (aborted or cancelled at the device) while
                // NextDocument keeps answering 503: its entry says so, retries would not.
                let job = status.and_then(|s| errors::job_fault(s, self.job_url.as_deref(), 503));
                match job {
                    Some(Err(e)) => return self.finish(Err(e)),
                    Some(Ok(())) => return self.finish(Ok(Completion::Cancelled)),
                    None => {}
                }
                // While waiting only informational states are reported; a feeder state here may
                // be stale (devices keep showing Empty from the last job until paper moves).
                let code = status
                    .and_then(errors::device_status)
                    .filter(|c| c.is_success());
                self.state = State::Fetching { attempt };
                match self.next_document(delay) {
                    Step::Send { request, delay, .. } => Step::Send {
                        request,
                        delay,
                        status: code,
                    },
                    other => other,
                }
            }
            Check::Refused(code) => {
                let e = match fault {
                    Some(Err(e)) => e,
                    _ => errors::http_status(
                        Operation::CreateJob,
                        code,
                        &self.base.endpoint("ScanJobs"),
                    ),
                };
                self.finish(Err(e))
            }
            Check::Stopped(code) => {
                let url = format!(
                    "{}/NextDocument",
                    self.job_url.as_deref().unwrap_or_default()
                );
                let result = match fault {
                    // An empty feeder after pages is the normal end of a batch (the feeder
                    // table), not a failure.
                    Some(Err(e)) if e.kind() == DeviceErrorKind::FeederEmpty && self.pages > 0 => {
                        self.end_of_pages()
                    }
                    Some(Err(e)) => Err(e),
                    Some(Ok(())) => Ok(Completion::Cancelled),
                    // Gone (cancelled or expired elsewhere) or no more pages: the table decides.
                    None if matches!(code, 404 | 410) => self.end_of_pages(),
                    None => Err(errors::http_status(Operation::NextDocument, code, &url)),
                };
                self.finish(result)
            }
            Check::Broken(error) => {
                // Only a paper problem the scanner reports explains a broken page; the job
                // may still run on the scanner, so it is deleted either way.
                let adf = status
                    .filter(|_| self.feeder)
                    .and_then(|s| s.adf_state.as_ref());
                let result = match adf.and_then(errors::adf_fault) {
                    Some(e) => Err(e),
                    None => Err(error),
                };
                self.clean_up(result)
            }
        }
    }

    /// DELETE the job (if the scanner created one), then end with `result`.
    fn clean_up(&mut self, result: AcquireResult) -> Step {
        if self.job_url.is_some() {
            self.state = State::Cleaning(result);
            self.delete()
        } else {
            self.finish(result)
        }
    }

    /// The application failed the transfer (its stream or a callback returned `error`):
    /// drop the request in flight, DELETE the job, end with `error`.
    pub fn abort(&mut self, error: DeviceError) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            // No job to delete yet, or a DELETE already sent: end now.
            State::Creating { .. }
            | State::CancelOnCreated
            | State::Cleaning(_)
            | State::Ending
            | State::Cancelling
            | State::Finished => self.finish(Err(error)),
            State::Fetching { .. } | State::Receiving | State::Checking(_) => {
                self.clean_up(Err(error))
            }
        }
    }

    /// The page announced by [`Step::Receive`] was read in full.
    pub fn page_received(&mut self) -> Step {
        self.pages += 1;
        if !self.feeder {
            // The platen's one page: ask once more, as sane-airscan does; the scanner ends
            // the job with 404 (no DELETE needed: nothing is left to stop).
            self.state = State::Ending;
            return self.next_document(Duration::ZERO);
        }
        if self.wanted.is_some_and(|w| self.pages >= w) {
            // Enough: tell the scanner to stop feeding.
            self.state = State::Cleaning(Ok(Completion::Done));
            return self.delete();
        }
        self.state = State::Fetching { attempt: 0 };
        self.next_document(Duration::ZERO)
    }

    /// The application cancelled (S_FALSE or the cancel handle). `None`: keep waiting for
    /// the answer to the request in flight and pass it to [`Job::on_response`] (a POST, whose
    /// job must then be deleted; or the final DELETE). `Some(step)`: drop the request in
    /// flight, if any, and do `step`.
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
            // Every page is in: a cancel now has nothing left to stop.
            State::Ending => Some(self.finish(Ok(Completion::Done))),
            State::Fetching { .. } | State::Receiving | State::Checking(_)
                if self.job_url.is_some() =>
            {
                self.state = State::Cancelling;
                Some(self.delete())
            }
            _ => Some(self.finish(Ok(Completion::Cancelled))),
        }
    }

    /// The request of the last step failed below HTTP (or its page did not arrive whole).
    pub fn on_failure(&mut self, error: DeviceError) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Cleaning(result) => self.finish(result),
            // The page is in; the scanner not answering afterwards changes nothing.
            State::Ending => self.finish(Ok(Completion::Done)),
            State::Cancelling | State::CancelOnCreated => self.finish(Ok(Completion::Cancelled)),
            // A status read for a diagnosis failed: fall back to what was known.
            State::Checking(why) => self.decide(why, None),
            // The page broke off: ask the scanner why (a jam mid-page shows in its status).
            State::Receiving => self.check(Check::Broken(error), Duration::ZERO),
            _ => self.finish(Err(error)),
        }
    }
}

fn send(request: Request) -> Step {
    Step::Send {
        request,
        delay: Duration::ZERO,
        status: None,
    }
}

fn retry_delay(head: &Head) -> Duration {
    head.retry_after
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_RETRY)
        .clamp(Duration::from_millis(100), MAX_RETRY)
}
