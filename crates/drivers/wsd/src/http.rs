//! The one place that does HTTP: each SOAP POST runs on a short-lived thread with `ureq` and
//! its timeouts, and reports its status line and body chunks over a channel, so the driver
//! waits on one channel for the answer *or* a cancel (the cancel token's hook posts into the
//! same channel) and can walk away from a request that hangs.

use crate::errors::{self, Operation};
use crate::protocol::Request;
use scanwire_core::device::{DeviceError, DeviceErrorKind};
use scanwire_core::transfer::{CancelToken, HookGuard};
use std::io::Read;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// Connecting to a scanner on the local network takes milliseconds; 5 s means it is not
/// there.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence between two reads of one answer: a scanner may warm up and scan a whole
/// page before it answers RetrieveImage.
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Chunk size for body reads.
const CHUNK: usize = 64 * 1024;
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

enum Event {
    Head(Head),
    Chunk(Vec<u8>),
    End,
    Failed(DeviceError),
    Cancelled,
}

/// Why a wait ended without the answer.
#[derive(Debug)]
pub enum Interrupted {
    /// The cancel token fired.
    Cancelled,
    /// The request failed.
    Failed(DeviceError),
}

/// An HTTP client for one scan service.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    /// A client POSTing to `url`.
    pub fn new(url: &str) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .timeout_write(Duration::from_secs(30))
            .redirects(0)
            .user_agent(concat!("scanwire/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent,
            url: url.to_string(),
        }
    }

    /// Starts `request` on its own thread; with a `cancel` token a cancel interrupts the waits
    /// of the returned [`InFlight`].
    pub fn start(&self, request: &Request, cancel: Option<&CancelToken>) -> InFlight {
        let (tx, rx) = mpsc::channel();
        let hook = cancel.map(|c| {
            let tx = tx.clone();
            c.on_cancel(move || {
                let _ = tx.send(Event::Cancelled);
            })
        });
        let agent = self.agent.clone();
        let url = self.url.clone();
        let op = request.op;
        let request = request.clone();
        std::thread::Builder::new()
            .name("wsd-http".into())
            .spawn(move || run(&agent, &url, &request, &tx))
            .expect("spawning an HTTP thread");
        InFlight {
            rx,
            op,
            head: None,
            _hook: hook,
        }
    }

    /// Runs `request` to the end without cancel: head and whole body.
    pub fn fetch(&self, request: &Request) -> Result<(Head, Vec<u8>), DeviceError> {
        let mut f = self.start(request, None);
        let head = f.head(false).map_err(expect_failure)?;
        let body = f.read_all(false, MAX_MESSAGE).map_err(expect_failure)?;
        Ok((head, body))
    }
}

fn expect_failure(i: Interrupted) -> DeviceError {
    match i {
        Interrupted::Failed(e) => e,
        Interrupted::Cancelled => DeviceError::new(
            DeviceErrorKind::Internal,
            "a request without cancel token was cancelled",
        ),
    }
}

/// A request in progress.
pub struct InFlight {
    rx: Receiver<Event>,
    op: Operation,
    /// The head once received (asked for again after a cancel).
    head: Option<Head>,
    _hook: Option<HookGuard>,
}

impl InFlight {
    fn next(&mut self, honour_cancel: bool) -> Result<Event, Interrupted> {
        loop {
            match self.rx.recv() {
                Ok(Event::Cancelled) if !honour_cancel => continue,
                Ok(Event::Cancelled) => return Err(Interrupted::Cancelled),
                Ok(Event::Failed(e)) => return Err(Interrupted::Failed(e)),
                Ok(e) => return Ok(e),
                Err(_) => {
                    return Err(Interrupted::Failed(errors::bad_response(
                        self.op,
                        "nothing: the HTTP thread ended early",
                    )))
                }
            }
        }
    }

    /// Waits for the status line and headers (at once when they are in already).
    pub fn head(&mut self, honour_cancel: bool) -> Result<Head, Interrupted> {
        if let Some(h) = &self.head {
            return Ok(h.clone());
        }
        match self.next(honour_cancel)? {
            Event::Head(h) => {
                self.head = Some(h.clone());
                Ok(h)
            }
            _ => Err(Interrupted::Failed(errors::bad_response(
                self.op,
                "a body before its headers",
            ))),
        }
    }

    /// The next body chunk; `None` at the end.
    pub fn chunk(&mut self, honour_cancel: bool) -> Result<Option<Vec<u8>>, Interrupted> {
        match self.next(honour_cancel)? {
            Event::Chunk(c) => Ok(Some(c)),
            Event::End => Ok(None),
            _ => Err(Interrupted::Failed(errors::bad_response(
                self.op,
                "headers twice",
            ))),
        }
    }

    /// The rest of the body, at most `limit` bytes.
    pub fn read_all(&mut self, honour_cancel: bool, limit: usize) -> Result<Vec<u8>, Interrupted> {
        let mut body = Vec::new();
        while let Some(c) = self.chunk(honour_cancel)? {
            body.extend_from_slice(&c);
            if body.len() > limit {
                return Err(Interrupted::Failed(errors::bad_response(
                    self.op,
                    format!("an answer larger than {limit} bytes"),
                )));
            }
        }
        Ok(body)
    }
}

/// The request thread: POSTs, streams the body, checks it arrived whole.
fn run(agent: &ureq::Agent, url: &str, request: &Request, tx: &Sender<Event>) {
    let fail = |detail: String| {
        let _ = tx.send(Event::Failed(errors::transport(request.op, url, &detail)));
    };
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
    if tx.send(Event::Head(head)).is_err() {
        return;
    }
    let mut body = response.into_reader();
    let mut buf = vec![0u8; CHUNK];
    let mut received = 0u64;
    loop {
        match body.read(&mut buf) {
            Ok(0) => {
                if let Some(len) = expected.filter(|&l| received < l) {
                    return fail(format!(
                        "the answer broke off after {received} of {len} bytes"
                    ));
                }
                let _ = tx.send(Event::End);
                return;
            }
            Ok(n) => {
                received += n as u64;
                if tx.send(Event::Chunk(buf[..n].to_vec())).is_err() {
                    // The driver walked away (cancel): drop the connection.
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return fail(format!("the answer broke off after {received} bytes: {e}")),
        }
    }
}
