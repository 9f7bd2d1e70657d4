//! A request in flight: run on its own thread, waited for on one channel together with the
//! cancel token, so a driver can walk away from a request that hangs.
//!
//! ```text
//! request thread:  Head (Chunk)* (End | Failed)      driver: head(), chunk()*, read_all()
//! cancel hook:     Cancelled, at any point            honoured only when the wait asks
//! ```

use scanwire_core::device::{DeviceError, DeviceErrorKind};
use scanwire_core::transfer::{CancelToken, HookGuard};
use std::io::{ErrorKind, Read};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// Connecting to a scanner on the local network takes milliseconds; 5 s means it is not
/// there.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence between two reads of one answer. NAPS2 waits 120 s for eSCL NextDocument
/// headers: a scanner may warm up and scan a whole page before it answers (RetrieveImage
/// alike).
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Chunk size for body reads (one STATUS message per chunk at most).
const CHUNK: usize = 64 * 1024;

/// The ureq agent both drivers start from: the timeouts above, 30 s to write a request, no
/// redirects (eSCL follows them itself, by quirk; WS-Scan never), Scanwire's user agent.
pub fn agent_builder() -> ureq::AgentBuilder {
    ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .timeout_write(Duration::from_secs(30))
        .redirects(0)
        .user_agent(concat!("scanwire/", env!("CARGO_PKG_VERSION")))
}

/// What a request thread reports.
enum Event<H> {
    Head(H),
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

/// The request thread's side: what it reports to the waiting driver.
pub struct Reporter<H> {
    tx: Sender<Event<H>>,
}

/// Why [`Reporter::pump`] stopped before the body's end.
#[derive(Debug)]
pub enum BodyError {
    /// The body ended before the `Content-Length` it announced.
    Short {
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// Reading failed.
    Read {
        /// Bytes received before.
        received: u64,
        /// What the connection said.
        error: std::io::Error,
    },
}

impl<H> Reporter<H> {
    /// The answer's head. `false`: the driver walked away (a cancel); drop the connection.
    pub fn head(&self, head: H) -> bool {
        self.tx.send(Event::Head(head)).is_ok()
    }

    /// The request failed (before or while the body came).
    pub fn fail(&self, error: DeviceError) {
        let _ = self.tx.send(Event::Failed(error));
    }

    /// Sends `body` on, one chunk per read: whatever has arrived goes on at once, so a slow
    /// page still produces progress (and a chance to cancel) as it streams. With `expected`,
    /// a body that ends short of it is an error. `Ok` once the end was sent, or when the
    /// driver walked away (the connection is then dropped).
    pub fn pump(&self, body: &mut dyn Read, expected: Option<u64>) -> Result<(), BodyError> {
        // Reused: reads return what has arrived (often 8 KiB); zeroing a fresh CHUNK for each
        // cost more than copying out the bytes read.
        let mut buf = vec![0u8; CHUNK];
        let mut received = 0u64;
        loop {
            match body.read(&mut buf) {
                Ok(0) => {
                    if let Some(expected) = expected.filter(|&l| received < l) {
                        return Err(BodyError::Short { received, expected });
                    }
                    let _ = self.tx.send(Event::End);
                    return Ok(());
                }
                Ok(n) => {
                    received += n as u64;
                    if self.tx.send(Event::Chunk(buf[..n].to_vec())).is_err() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(BodyError::Read { received, error }),
            }
        }
    }
}

/// A request in progress, as the driver waits for it.
pub struct InFlight<H> {
    rx: Receiver<Event<H>>,
    /// The head once received (asked for again after a cancel, to wait for the answer).
    head: Option<H>,
    /// The driver's words for an answer that is not what HTTP promises.
    bad_response: Box<dyn Fn(String) -> DeviceError + Send>,
    _hook: Option<HookGuard>,
}

impl<H: Clone + Send + 'static> InFlight<H> {
    /// Runs `run` on a thread named `thread`. With a `cancel` token, a cancel interrupts the
    /// waits that honour it. `bad_response` words what the driver did not expect (`"a body
    /// before its headers"`) as the driver's error.
    pub fn start(
        thread: &str,
        cancel: Option<&CancelToken>,
        bad_response: impl Fn(String) -> DeviceError + Send + 'static,
        run: impl FnOnce(Reporter<H>) + Send + 'static,
    ) -> InFlight<H> {
        let (tx, rx) = mpsc::channel();
        let hook = cancel.map(|c| {
            let tx = tx.clone();
            c.on_cancel(move || {
                let _ = tx.send(Event::Cancelled);
            })
        });
        let reporter = Reporter { tx };
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || run(reporter))
            .expect("spawning an HTTP thread");
        InFlight {
            rx,
            head: None,
            bad_response: Box::new(bad_response),
            _hook: hook,
        }
    }

    fn next(&mut self, honour_cancel: bool) -> Result<Event<H>, Interrupted> {
        loop {
            match self.rx.recv() {
                Ok(Event::Cancelled) if !honour_cancel => continue,
                Ok(Event::Cancelled) => return Err(Interrupted::Cancelled),
                Ok(Event::Failed(e)) => return Err(Interrupted::Failed(e)),
                Ok(e) => return Ok(e),
                // The thread ended without End: it panicked.
                Err(_) => {
                    return Err(Interrupted::Failed((self.bad_response)(
                        "nothing: the HTTP thread ended early".into(),
                    )))
                }
            }
        }
    }

    /// Whether the answer's head has been received (its body may be arriving).
    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }

    /// Waits for the status line and headers (at once when they are in already).
    pub fn head(&mut self, honour_cancel: bool) -> Result<H, Interrupted> {
        if let Some(h) = &self.head {
            return Ok(h.clone());
        }
        match self.next(honour_cancel)? {
            Event::Head(h) => {
                self.head = Some(h.clone());
                Ok(h)
            }
            _ => Err(Interrupted::Failed((self.bad_response)(
                "a body before its headers".into(),
            ))),
        }
    }

    /// The next body chunk; `None` at the end.
    pub fn chunk(&mut self, honour_cancel: bool) -> Result<Option<Vec<u8>>, Interrupted> {
        match self.next(honour_cancel)? {
            Event::Chunk(c) => Ok(Some(c)),
            Event::End => Ok(None),
            _ => Err(Interrupted::Failed((self.bad_response)(
                "headers twice".into(),
            ))),
        }
    }

    /// The rest of the body, at most `limit` bytes.
    pub fn read_all(&mut self, honour_cancel: bool, limit: usize) -> Result<Vec<u8>, Interrupted> {
        let mut body = Vec::new();
        while let Some(c) = self.chunk(honour_cancel)? {
            body.extend_from_slice(&c);
            if body.len() > limit {
                return Err(Interrupted::Failed((self.bad_response)(format!(
                    "an answer larger than {limit} bytes"
                ))));
            }
        }
        Ok(body)
    }

    /// Head and whole body (at most `limit` bytes) of a request started without a cancel
    /// token.
    pub fn complete(mut self, limit: usize) -> Result<(H, Vec<u8>), DeviceError> {
        let head = self.head(false).map_err(expect_failure)?;
        let body = self.read_all(false, limit).map_err(expect_failure)?;
        Ok((head, body))
    }
}

/// A wait that does not honour cancel can only fail.
fn expect_failure(i: Interrupted) -> DeviceError {
    match i {
        Interrupted::Failed(e) => e,
        Interrupted::Cancelled => DeviceError::new(
            DeviceErrorKind::Internal,
            "a request without cancel token was cancelled",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::transfer::CancelHandle;

    fn bad(what: String) -> DeviceError {
        DeviceError::new(DeviceErrorKind::Communication, format!("sent {what}"))
    }

    #[test]
    fn head_body_and_end_arrive_in_order() {
        let flight = InFlight::start("test-http", None, bad, |r: Reporter<u16>| {
            assert!(r.head(200));
            r.pump(&mut &b"hello"[..], Some(5)).unwrap();
        });
        let (head, body) = flight.complete(1024).unwrap();
        assert_eq!((head, body.as_slice()), (200, &b"hello"[..]));
    }

    #[test]
    fn a_short_body_and_an_oversized_one_are_errors() {
        let flight = InFlight::start("test-http", None, bad, |r: Reporter<u16>| {
            assert!(r.head(200));
            match r.pump(&mut &b"abc"[..], Some(10)) {
                Err(BodyError::Short {
                    received: 3,
                    expected: 10,
                }) => r.fail(bad("3 of 10 bytes".into())),
                other => panic!("{other:?}"),
            }
        });
        let e = flight.complete(1024).unwrap_err();
        assert!(e.to_string().contains("3 of 10 bytes"), "{e}");
        let flight = InFlight::start("test-http", None, bad, |r: Reporter<u16>| {
            r.head(200);
            let _ = r.pump(&mut &[0u8; 100][..], None);
        });
        let e = flight.complete(10).unwrap_err();
        assert!(e.to_string().contains("larger than 10 bytes"), "{e}");
    }

    #[test]
    fn a_cancel_interrupts_a_wait_that_honours_it_and_the_head_is_kept() {
        let handle = CancelHandle::new();
        let (go, wait) = mpsc::channel::<()>();
        let mut flight = InFlight::start(
            "test-http",
            Some(&handle.token()),
            bad,
            move |r: Reporter<u16>| {
                r.head(204);
                let _ = wait.recv();
                let _ = r.pump(&mut &b"late"[..], None);
            },
        );
        assert_eq!(flight.head(true).unwrap(), 204);
        handle.cancel();
        assert!(matches!(flight.chunk(true), Err(Interrupted::Cancelled)));
        go.send(()).unwrap();
        // After a cancel the driver may still wait for the answer: the head again, then the
        // body.
        assert_eq!(flight.head(false).unwrap(), 204);
        assert_eq!(flight.read_all(false, 100).unwrap(), b"late");
    }

    #[test]
    fn a_thread_that_dies_is_a_bad_response() {
        let mut flight = InFlight::start("test-http", None, bad, |_r: Reporter<u16>| {});
        match flight.head(false) {
            Err(Interrupted::Failed(e)) => assert!(e.to_string().contains("ended early"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
