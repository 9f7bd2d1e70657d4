//! The one place that does HTTP: each request runs on a short-lived thread with `ureq` and
//! its timeouts, and reports its status line and body chunks over a channel, so the driver
//! waits on one channel for the answer *or* a cancel (the cancel token's hook posts into
//! the same channel) and can walk away from a request that hangs.

use crate::errors::{self, Operation};
use crate::protocol::{Head, Request};
use crate::quirks::Quirks;
use scanwire_core::device::DeviceError;
use scanwire_core::transfer::{CancelToken, HookGuard};
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// Connecting to a scanner on the local network takes milliseconds; 5 s means it is not
/// there.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence between two reads of one response. NAPS2 waits 120 s for NextDocument
/// headers: a scanner may warm up and scan a whole page before answering.
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Redirects followed per request.
const MAX_REDIRECTS: u32 = 5;
/// Chunk size for body reads (one STATUS message per chunk).
const CHUNK: usize = 64 * 1024;
/// Largest XML document accepted (ScannerCapabilities of real devices are under 64 KiB).
pub const MAX_DOCUMENT: usize = 1 << 20;

/// The whole-request time limit for each operation; NextDocument has none (a page takes as
/// long as it takes), only the read timeout.
fn overall_timeout(op: Operation) -> Option<Duration> {
    match op {
        Operation::Capabilities | Operation::Status => Some(Duration::from_secs(20)),
        Operation::CreateJob => Some(Duration::from_secs(30)),
        Operation::CancelJob => Some(Duration::from_secs(10)),
        Operation::NextDocument => None,
    }
}

/// What a request thread reports.
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

/// An HTTP client for one device.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    quirks: Quirks,
}

impl Client {
    /// A client applying `quirks`.
    pub fn new(quirks: Quirks) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .timeout_write(Duration::from_secs(30))
            .redirects(0)
            .user_agent(concat!("scanwire/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent, quirks }
    }

    /// Replaces the quirks (once the capabilities named the model).
    pub fn set_quirks(&mut self, quirks: Quirks) {
        self.quirks = quirks;
    }

    /// Starts `request` on its own thread. With a `cancel` token, a cancel interrupts the
    /// waits of the returned [`InFlight`].
    pub fn start(&self, request: &Request, cancel: Option<&CancelToken>) -> InFlight {
        let (tx, rx) = mpsc::channel();
        let hook = cancel.map(|c| {
            let tx = tx.clone();
            c.on_cancel(move || {
                let _ = tx.send(Event::Cancelled);
            })
        });
        let agent = self.agent.clone();
        let quirks = self.quirks;
        let request = request.clone();
        std::thread::Builder::new()
            .name("escl-http".into())
            .spawn(move || run(&agent, quirks, &request, &tx))
            .expect("spawning an HTTP thread");
        InFlight { rx, _hook: hook }
    }

    /// Runs `request` to the end without cancel: status line and whole body.
    pub fn fetch(&self, request: &Request) -> Result<(Head, Vec<u8>), DeviceError> {
        let mut f = self.start(request, None);
        let head = f.head(false).map_err(expect_failure)?;
        let body = f.read_all(false, MAX_DOCUMENT).map_err(expect_failure)?;
        Ok((head, body))
    }
}

fn expect_failure(i: Interrupted) -> DeviceError {
    match i {
        Interrupted::Failed(e) => e,
        Interrupted::Cancelled => DeviceError::new(
            scanwire_core::device::DeviceErrorKind::Internal,
            "a request without cancel token was cancelled",
        ),
    }
}

/// A request in progress.
pub struct InFlight {
    rx: Receiver<Event>,
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
                // The thread ended without End: it panicked.
                Err(_) => {
                    return Err(Interrupted::Failed(errors::bad_response(
                        "nothing: the HTTP thread ended early",
                    )))
                }
            }
        }
    }

    /// Waits for the status line and headers.
    pub fn head(&mut self, honour_cancel: bool) -> Result<Head, Interrupted> {
        match self.next(honour_cancel)? {
            Event::Head(h) => Ok(h),
            _ => Err(Interrupted::Failed(errors::bad_response(
                "a body before its headers",
            ))),
        }
    }

    /// The next body chunk; `None` at the end.
    pub fn chunk(&mut self, honour_cancel: bool) -> Result<Option<Vec<u8>>, Interrupted> {
        match self.next(honour_cancel)? {
            Event::Chunk(c) => Ok(Some(c)),
            Event::End => Ok(None),
            _ => Err(Interrupted::Failed(errors::bad_response("headers twice"))),
        }
    }

    /// The rest of the body, at most `limit` bytes.
    pub fn read_all(&mut self, honour_cancel: bool, limit: usize) -> Result<Vec<u8>, Interrupted> {
        let mut body = Vec::new();
        while let Some(c) = self.chunk(honour_cancel)? {
            body.extend_from_slice(&c);
            if body.len() > limit {
                return Err(Interrupted::Failed(errors::bad_response(format!(
                    "a body larger than {limit} bytes"
                ))));
            }
        }
        Ok(body)
    }
}

/// The request thread: sends, follows allowed redirects, streams the body.
fn run(agent: &ureq::Agent, quirks: Quirks, request: &Request, tx: &Sender<Event>) {
    let fail = |unreachable: bool, url: &str, detail: String| {
        let _ = tx.send(Event::Failed(errors::transport(
            request.op,
            url,
            unreachable,
            &detail,
        )));
    };
    let mut url = request.url.clone();
    let mut redirects = 0;
    let response = loop {
        let mut r = agent.request(request.method, &url);
        if let Some(t) = overall_timeout(request.op) {
            r = r.timeout(t);
        }
        if quirks.connection_close {
            r = r.set("Connection", "close");
        }
        let result = match &request.body {
            Some(b) => r.set("Content-Type", "text/xml").send_bytes(b),
            None => r.call(),
        };
        let response = match result {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => {
                let unreachable = matches!(
                    t.kind(),
                    ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed
                );
                return fail(unreachable, &url, t.to_string());
            }
        };
        let status = response.status();
        let location = response.header("Location").map(str::to_owned);
        match (status, location) {
            (301 | 302 | 303 | 307 | 308, Some(target)) => {
                if target.starts_with("https://") {
                    return fail(
                        true,
                        &url,
                        format!("the scanner redirects to {target} (quirk: HTTPS redirect, e.g. HP's \"redirect HTTP to HTTPS\" setting); this driver speaks plain HTTP only, without TLS: turn that setting off on the device"),
                    );
                }
                if !quirks.follow_redirects || redirects >= MAX_REDIRECTS {
                    return fail(
                        false,
                        &url,
                        format!("too many redirects (last to {target})"),
                    );
                }
                redirects += 1;
                url = if target.starts_with("http://") {
                    target
                } else if let Some(path) = target.strip_prefix('/') {
                    let origin_end = url[7..].find('/').map(|i| i + 7).unwrap_or(url.len());
                    format!("{}/{path}", &url[..origin_end])
                } else {
                    return fail(
                        false,
                        &url,
                        format!("a redirect to an unusable place: {target}"),
                    );
                };
            }
            _ => break response,
        }
    };
    let header = |name: &str| response.header(name).map(str::to_owned);
    let gzip_header = header("Content-Encoding").is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
    let mut head = Head {
        status: response.status(),
        location: header("Location"),
        content_type: header("Content-Type"),
        content_length: header("Content-Length").and_then(|l| l.trim().parse().ok()),
        retry_after: header("Retry-After").and_then(|l| l.trim().parse().ok()),
    };
    let mut reader = BufReader::with_capacity(CHUNK, response.into_reader());
    // gzip: announced, or recognised by its magic bytes (no image or XML starts with 1f 8b).
    let sniffed = quirks.gzip_bodies
        && reader
            .fill_buf()
            .map(|b| b.starts_with(&[0x1f, 0x8b]))
            .unwrap_or(false);
    let gzip = quirks.gzip_bodies && (gzip_header || sniffed);
    if gzip {
        // The length is of the compressed bytes: useless for progress.
        head.content_length = None;
    }
    if tx.send(Event::Head(head)).is_err() {
        return;
    }
    let mut body: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    // Reused: reads return what has arrived (often 8 KiB); zeroing a fresh CHUNK for each
    // cost more than copying out the bytes read.
    let mut buf = vec![0u8; CHUNK];
    loop {
        // One chunk per read: whatever has arrived goes on at once, so a slow page still
        // produces progress (and a chance to cancel) as it streams.
        match body.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Event::End);
                return;
            }
            Ok(n) => {
                if tx.send(Event::Chunk(buf[..n].to_vec())).is_err() {
                    // The driver walked away (cancel): drop the connection.
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return fail(false, &url, format!("reading the body: {e}")),
        }
    }
}
