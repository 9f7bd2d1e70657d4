//! The one place that does HTTP: each SOAP POST runs on a short-lived thread with `ureq` and
//! its timeouts, as an [`InFlight`] of the drivers' shared `scanwire-network` (the driver
//! waits on one channel for the answer *or* a cancel, and can walk away from a request that
//! hangs). What is WS-Scan's is here: the POST and its SOAP Content-Type, the time limits per
//! operation, a body checked against its Content-Length.

use crate::errors::{self, Operation};
use crate::protocol::Request;
use scanwire_core::device::DeviceError;
use scanwire_core::transfer::CancelToken;
use scanwire_network::flight::BodyError;
pub use scanwire_network::Interrupted;
use scanwire_network::Reporter;
use std::time::Duration;

/// Largest SOAP answer other than an image (the Kyocera's elements are 12 KB).
pub const MAX_MESSAGE: usize = 1 << 20;
/// Largest RetrieveImage answer (a 600 dpi A4 color PNG is about 100 MiB).
pub const MAX_IMAGE: usize = 512 << 20;

/// The whole-request time limit per operation; RetrieveImage has none (an image takes as
/// long as it takes), only the read timeout.
fn overall_timeout(op: Operation) -> Option<Duration> {
    match op {
        Operation::RetrieveImage => None,
        Operation::CreateJob => Some(Duration::from_secs(60)),
        _ => Some(Duration::from_secs(20)),
    }
}

/// The parts of an answer's head the driver uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Length`.
    pub content_length: Option<u64>,
}

/// A request in progress.
pub type InFlight = scanwire_network::InFlight<Head>;

/// An HTTP client for one scan service.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    /// A client POSTing to `url`.
    pub fn new(url: &str) -> Self {
        let agent = scanwire_network::agent_builder().build();
        Client {
            agent,
            url: url.to_string(),
        }
    }

    /// Starts `request` on its own thread; with a `cancel` token a cancel interrupts the waits
    /// of the returned [`InFlight`].
    pub fn start(&self, request: &Request, cancel: Option<&CancelToken>) -> InFlight {
        let agent = self.agent.clone();
        let url = self.url.clone();
        let op = request.op;
        let request = request.clone();
        InFlight::start(
            "wsd-http",
            cancel,
            move |what| errors::bad_response(op, what),
            move |r| run(&agent, &url, &request, &r),
        )
    }

    /// Runs `request` to the end without cancel: head and whole body.
    pub fn fetch(&self, request: &Request) -> Result<(Head, Vec<u8>), DeviceError> {
        self.start(request, None).complete(MAX_MESSAGE)
    }
}

/// The request thread: POSTs, streams the body, checks it arrived whole.
fn run(agent: &ureq::Agent, url: &str, request: &Request, report: &Reporter<Head>) {
    let fail = |detail: String| report.fail(errors::transport(request.op, url, &detail));
    let mut r = agent
        .post(url)
        .set("Content-Type", "application/soap+xml; charset=utf-8");
    if let Some(t) = overall_timeout(request.op) {
        r = r.timeout(t);
    }
    let response = match r.send_bytes(&request.body) {
        Ok(resp) => resp,
        // SOAP faults come with 400 or 500: the body decides.
        Err(ureq::Error::Status(_, resp)) => resp,
        Err(ureq::Error::Transport(t)) => return fail(t.to_string()),
    };
    let header = |name: &str| response.header(name).map(str::to_owned);
    let head = Head {
        status: response.status(),
        content_type: header("Content-Type"),
        content_length: header("Content-Length").and_then(|l| l.trim().parse().ok()),
    };
    let expected = head.content_length;
    if !report.head(head) {
        return;
    }
    match report.pump(&mut response.into_reader(), expected) {
        Ok(()) => {}
        Err(BodyError::Short { received, expected }) => fail(format!(
            "the answer broke off after {received} of {expected} bytes"
        )),
        Err(BodyError::Read { received, error }) => fail(format!(
            "the answer broke off after {received} bytes: {error}"
        )),
    }
}
