//! The host process's side: one device, opened and driven on the application's behalf.
//!
//! Two sockets to the application: on the first, requests and the answers to the driver's
//! callback calls, read by the main thread, which runs the device (open, capabilities,
//! options, acquire) and waits for each answer itself; on the second, cancels and stream
//! failures, read by a signal thread that acts on them at once (the driver's CancelToken fires
//! there, so `sane_cancel` runs while the driver is blocked in `sane_read`). Every frame to
//! the application is written under one lock, from whichever thread produced it.

use crate::protocol::{
    read_frame, write_data, write_msg, write_posted, write_shm, Frame, OpenedInfo, StreamAnswer,
    ToChild, ToParent, RING_ENV, SOCKET_ENV,
};
use crate::shm::Ring;
use scanwire_core::device::{Device, DeviceError, DeviceErrorKind, PageInfo};
use scanwire_core::transfer::{
    panic_message, seek_within, CancelHandle, MiniDrvTransferCallback, NextStream, RemoteStream,
    StreamHandle,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use std::collections::HashMap;
use std::io::{self, SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The process's one connection to the application (also reached by the breadcrumb and panic
/// hooks, which are plain functions).
static LINK: OnceLock<Link> = OnceLock::new();

struct Link {
    out: Mutex<Out>,
    /// The thread that sends posted STATUS held for longer than [`HOLD`].
    flusher: std::thread::Thread,
    /// The shared page ring, when the application made one.
    ring: Option<Ring>,
    /// Bytes put into the ring so far; held by the one producer filling the ring (never while
    /// holding `out` across driver code, so a panic hook can always send).
    produced: Mutex<u64>,
    last_crumb: Mutex<&'static str>,
}

/// The host's end of the main socket. A posted STATUS is held and goes out with the next
/// frame of any kind, in the same write: the application's reader then wakes once for a
/// band and its STATUS instead of twice. A STATUS held for [`HOLD`] (a driver that pauses
/// after it) is sent by the flusher thread, so progress never lags further.
struct Out {
    stream: UnixStream,
    held: Vec<u8>,
    held_since: Option<Instant>,
}

/// How long a posted STATUS may wait for the next frame.
const HOLD: Duration = Duration::from_millis(5);

impl Out {
    fn new(stream: UnixStream) -> Self {
        Out {
            stream,
            held: Vec::new(),
            held_since: None,
        }
    }

    /// Holds a posted STATUS (see [`Out`]); wakes the flusher when it is the first held.
    fn hold(&mut self, p: &WiaTransferParams, flusher: &std::thread::Thread) -> io::Result<()> {
        if self.held_since.is_none() {
            self.held_since = Some(Instant::now());
            flusher.unpark();
        }
        write_posted(&mut self.held, p)
    }

    fn flush_held(&mut self) -> io::Result<()> {
        self.held_since = None;
        if self.held.is_empty() {
            return Ok(());
        }
        let r = self.stream.write_all(&self.held);
        self.held.clear();
        r
    }
}

/// Every frame goes through here, after what is held, so the order never changes.
impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.held.is_empty() {
            return self.stream.write(buf);
        }
        self.held.extend_from_slice(buf);
        self.flush_held()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_held()
    }
}

/// The flusher thread: parked while nothing is held; otherwise looks every [`HOLD`] and sends
/// what has waited that long.
fn flush_held_status() {
    loop {
        std::thread::park();
        loop {
            std::thread::sleep(HOLD);
            let Some(link) = LINK.get() else { break };
            let mut out = lock(&link.out);
            match out.held_since {
                Some(t) if t.elapsed() >= HOLD => {
                    // The application gone ends this process elsewhere (its reader).
                    let _ = out.flush_held();
                }
                Some(_) => {}
                None => break,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Link {
    fn send(&self, msg: &ToParent) -> bool {
        write_msg(&mut *lock(&self.out), msg).is_ok()
    }
}

fn send(msg: &ToParent) -> bool {
    LINK.get().is_some_and(|l| l.send(msg))
}

/// The breadcrumb observer: passes a new native call's name on; repeats cost nothing.
fn crumb(name: &'static str) {
    let Some(link) = LINK.get() else { return };
    {
        let mut last = lock(&link.last_crumb);
        if std::ptr::eq(*last, name) || *last == name {
            return;
        }
        *last = name;
    }
    link.send(&ToParent::Crumb(name.to_string()));
}

type Failures = Arc<Mutex<HashMap<u32, HResult>>>;

/// What the signal thread and the transfer share: the transfer's cancel, by generation (a
/// cancel may arrive on its socket before the transfer's request arrives on the other).
#[derive(Default)]
struct Signals {
    current: Option<(u64, CancelHandle)>,
    cancelled: u64,
}

type SharedSignals = Arc<Mutex<Signals>>;

/// The child's entry: connects to the application (the socket named by
/// `SCANWIRE_HOST_SOCKET`, twice: requests and answers on the first, cancels on the second),
/// opens the device it names with `open`, and serves it until told to exit or until the
/// application goes away. The CLI's hidden `driver-host` subcommand calls this with the
/// registry's `open`; tests call it from a re-executed test binary. Returns 2 when not started
/// by a `HostedDevice` (no socket), 70 ([`EXIT_AFTER_PANIC`]) after a driver panic, else 0.
pub fn run_host(open: impl FnOnce(&str) -> Result<Box<dyn Device>, DeviceError>) -> ExitCode {
    let Some(path) = std::env::var_os(SOCKET_ENV) else {
        eprintln!(
            "scanwire driver-host: {SOCKET_ENV} is not set; this command is started by scanwire itself, not by hand"
        );
        return ExitCode::from(2);
    };
    // Mapped before connecting: the application removes the file once we are connected.
    let ring = std::env::var_os(RING_ENV).and_then(|p| Ring::open(std::path::Path::new(&p)).ok());
    let connect = || -> std::io::Result<(UnixStream, UnixStream, UnixStream)> {
        let main = UnixStream::connect(&path)?;
        let signal = UnixStream::connect(&path)?;
        Ok((main.try_clone()?, main, signal))
    };
    let (reader, writer, signal) = match connect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "scanwire driver-host: cannot connect to {}: {e}",
                std::path::Path::new(&path).display()
            );
            return ExitCode::from(2);
        }
    };
    let flusher = std::thread::Builder::new()
        .name("scanwire-host-flush".into())
        .spawn(flush_held_status)
        .expect("the flusher thread starts");
    let _ = LINK.set(Link {
        out: Mutex::new(Out::new(writer)),
        flusher: flusher.thread().clone(),
        ring,
        produced: Mutex::new(0),
        last_crumb: Mutex::new(""),
    });
    scanwire_core::native::observe(crumb);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        send(&ToParent::Panicked(format!(
            "{}{place}",
            panic_message(info.payload())
        )));
        default_hook(info);
    }));

    let failures: Failures = Arc::default();
    let signals: SharedSignals = Arc::default();
    {
        let (failures, signals) = (failures.clone(), signals.clone());
        std::thread::Builder::new()
            .name("scanwire-host-signals".into())
            .spawn(move || signal_loop(signal, signals, failures))
            .expect("the signal thread starts");
    }
    serve(open, reader, signals, failures)
}

/// Reads the application's cancels and stream failures, and acts on them at once.
fn signal_loop(mut socket: UnixStream, signals: SharedSignals, failures: Failures) {
    loop {
        match read_frame::<ToChild>(&mut socket, Vec::new()) {
            Ok(Some(Frame::Msg(ToChild::Cancel(generation)))) => {
                let handle = {
                    let mut g = lock(&signals);
                    g.cancelled = g.cancelled.max(generation);
                    g.current
                        .as_ref()
                        .filter(|(n, _)| *n == generation)
                        .map(|(_, h)| h.clone())
                };
                // The driver's cancel hooks (sane_cancel) run here, on this thread.
                if let Some(h) = handle {
                    h.cancel();
                }
            }
            Ok(Some(Frame::Msg(ToChild::StreamFailed(id, hr)))) => {
                lock(&failures).insert(id, hr);
            }
            Ok(Some(_)) => {}
            // The application is gone: nobody is left to serve.
            Ok(None) | Err(_) => std::process::exit(0),
        }
    }
}

/// The next request or answer on the main socket; the application going away (or speaking
/// nonsense) ends the process.
fn next_message(reader: &mut UnixStream) -> ToChild {
    match read_frame::<ToChild>(reader, Vec::new()) {
        Ok(Some(Frame::Msg(m))) => m,
        Ok(Some(Frame::Write(..) | Frame::Shm(..) | Frame::Posted(..))) | Ok(None) | Err(_) => {
            std::process::exit(0)
        }
    }
}

fn serve(
    open: impl FnOnce(&str) -> Result<Box<dyn Device>, DeviceError>,
    mut reader: UnixStream,
    signals: SharedSignals,
    failures: Failures,
) -> ExitCode {
    let mut open = Some(open);
    let mut device: Option<Box<dyn Device>> = None;
    loop {
        match next_message(&mut reader) {
            ToChild::Open(id) => {
                let r = match open.take() {
                    Some(f) => f(&id),
                    None => Err(DeviceError::new(
                        DeviceErrorKind::Internal,
                        "a driver host opens one device",
                    )),
                };
                let answer = r.map(|d| {
                    let info = d.info();
                    device = Some(d);
                    OpenedInfo {
                        id: info.id,
                        vendor: info.vendor,
                        model: info.model,
                        driver: info.driver.to_string(),
                    }
                });
                send(&ToParent::Opened(answer));
            }
            ToChild::Capabilities => {
                let r = match device.as_mut() {
                    Some(d) => d.capabilities(),
                    None => Err(not_open()),
                };
                send(&ToParent::Capabilities(r));
            }
            ToChild::Options => {
                let r = device.as_mut().map(|d| d.options()).unwrap_or_default();
                send(&ToParent::Options(r));
            }
            ToChild::Acquire(generation, request) => {
                let Some(d) = device.as_mut() else {
                    send(&ToParent::Done(Err(not_open())));
                    continue;
                };
                let cancel = CancelHandle::new();
                {
                    let mut g = lock(&signals);
                    g.current = Some((generation, cancel.clone()));
                    if g.cancelled >= generation {
                        drop(g);
                        cancel.cancel();
                    }
                }
                let mut cb = HostCallback {
                    reader: &mut reader,
                    failures: &failures,
                    current: None,
                };
                let token = cancel.token();
                let r = catch_unwind(AssertUnwindSafe(|| d.acquire(&request, &mut cb, &token)));
                lock(&signals).current = None;
                match r {
                    Ok(result) => {
                        send(&ToParent::Done(result));
                    }
                    Err(panic) => {
                        send(&ToParent::Done(Err(DeviceError::from_hresult(
                            wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
                            format!("the driver panicked: {}", panic_message(panic.as_ref())),
                        ))));
                        // The driver's state is unknown after a panic: the next transfer gets
                        // a fresh process.
                        return ExitCode::from(EXIT_AFTER_PANIC);
                    }
                }
            }
            ToChild::Exit => break,
            // Answers, cancels and stream failures out of turn: nothing to do.
            ToChild::Stream(_)
            | ToChild::Answer(_)
            | ToChild::Cancel(_)
            | ToChild::StreamFailed(..) => {}
        }
    }
    ExitCode::SUCCESS
}

/// The exit status of a host that ends itself after its driver panicked.
pub const EXIT_AFTER_PANIC: u8 = 70;

fn not_open() -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::Internal,
        "the driver host has no open device",
    )
}

/// The driver's `MiniDrvTransferCallback`: every call is answered by the application's
/// real callback, in the other process; the answer is read here, on the driver's thread.
struct HostCallback<'a> {
    reader: &'a mut UnixStream,
    failures: &'a Failures,
    /// The stream handed out last, while the driver holds it.
    current: Option<Arc<Mirror>>,
}

/// What the host knows of a stream it handed out: enough to check a STATUS's form.
struct Mirror {
    id: u32,
    /// Bytes the driver wrote (all accepted by the host; a refusal arrives later).
    end: AtomicU64,
    /// Not yet released.
    live: AtomicBool,
}

impl HostCallback<'_> {
    fn ask(&mut self, msg: &ToParent) -> Option<ToChild> {
        if !send(msg) {
            return None;
        }
        Some(next_message(self.reader))
    }
}

impl HostCallback<'_> {
    /// Whether `p` is a STATUS the relay would answer S_OK without asking anyone: its form is
    /// what the verifier accepts (percent in range, the bytes this stream was given; lFlags is
    /// checked by the caller), the stream is open and has had no write refused, and the
    /// application's answer word allows it. Everything else waits for the real answer.
    fn may_post(&self, p: &WiaTransferParams) -> bool {
        let Some(m) = self.current.as_ref() else {
            return false;
        };
        p.lMessage == wia::WIA_TRANSFER_MSG_STATUS
            && (0..=100).contains(&p.lPercentComplete)
            && m.live.load(Ordering::Relaxed)
            && p.ulTransferredBytes == m.end.load(Ordering::Relaxed)
            && LINK
                .get()
                .and_then(|l| l.ring.as_ref())
                .is_some_and(|r| r.status_ok())
            && !lock(self.failures).contains_key(&m.id)
    }
}

impl MiniDrvTransferCallback for HostCallback<'_> {
    fn get_next_stream(&mut self, flags: i32, page: &PageInfo) -> NextStream {
        match self.ask(&ToParent::NextStream(flags, page.clone())) {
            Some(ToChild::Stream(StreamAnswer::Stream(id))) => {
                let mirror = Arc::new(Mirror {
                    id,
                    end: AtomicU64::new(0),
                    live: AtomicBool::new(true),
                });
                self.current = Some(mirror.clone());
                NextStream::Stream(StreamHandle::remote(
                    page.number,
                    Box::new(ChildStream {
                        id,
                        position: 0,
                        end: 0,
                        mirror,
                        failures: self.failures.clone(),
                    }),
                ))
            }
            answer => {
                self.current = None;
                match answer {
                    Some(ToChild::Stream(StreamAnswer::Skip)) => NextStream::Skip,
                    Some(ToChild::Stream(StreamAnswer::Cancelled)) => NextStream::Cancelled,
                    Some(ToChild::Stream(StreamAnswer::Failed(hr))) => NextStream::Failed(hr),
                    _ => NextStream::Failed(wia::E_UNEXPECTED),
                }
            }
        }
    }

    fn send_message(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult {
        if let Some(p) = params.filter(|p| flags == 0 && self.may_post(p)) {
            // The application's relay would answer S_OK (its answer word says so) and the
            // message is well formed: answer now, and post it in order with the page data.
            let sent = LINK
                .get()
                .is_some_and(|l| lock(&l.out).hold(p, &l.flusher).is_ok());
            return if sent { wia::S_OK } else { wia::E_UNEXPECTED };
        }
        match self.ask(&ToParent::Message(flags, params.copied())) {
            Some(ToChild::Answer(hr)) => hr,
            _ => wia::E_UNEXPECTED,
        }
    }
}

/// A page stream whose real handle is in the application's process. Writes and seeks are
/// passed on without waiting (the application's verdict on a write arrives as
/// `StreamFailed` and is returned by the next write); the position is mirrored here so
/// `seek` and `bytes_written` answer at once, as the real handle would.
struct ChildStream {
    id: u32,
    position: u64,
    end: u64,
    mirror: Arc<Mirror>,
    failures: Failures,
}

/// Page bytes are sent in frames of at most this much.
const MAX_WRITE: usize = 16 << 20;

impl RemoteStream for ChildStream {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Some(hr) = lock(&self.failures).get(&self.id) {
            return Err(*hr);
        }
        let Some(link) = LINK.get() else {
            return Err(wia::E_UNEXPECTED);
        };
        match &link.ring {
            Some(ring) => put_in_ring(link, ring, self.id, data)?,
            None => {
                let mut out = lock(&link.out);
                for chunk in data.chunks(MAX_WRITE) {
                    write_data(&mut *out, self.id, chunk).map_err(|_| wia::E_UNEXPECTED)?;
                }
            }
        }
        self.wrote(data.len());
        Ok(())
    }

    fn lend(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> Option<Result<usize, HResult>> {
        if let Some(hr) = lock(&self.failures).get(&self.id) {
            return Some(Err(*hr));
        }
        let link = LINK.get()?;
        let ring = link.ring.as_ref()?;
        let cap = ring.cap() as u64;
        let mut produced = lock(&link.produced);
        // Lent in one piece or not at all: at the ring's end (once per lap) or for a piece
        // larger than half the ring, the driver's own buffer and `write` do it.
        if len == 0 || len as u64 > cap / 2 || (cap - *produced % cap) < len as u64 {
            return None;
        }
        wait_for_space(ring, *produced, len as u64);
        let n = ring.fill(*produced, len, fill);
        if n > 0 {
            let sent = write_shm(&mut *lock(&link.out), self.id, n as u32);
            if sent.is_err() {
                return Some(Err(wia::E_UNEXPECTED));
            }
            *produced += n as u64;
        }
        drop(produced);
        self.wrote(n);
        Some(Ok(n))
    }

    fn seek(&mut self, pos: SeekFrom) -> Result<u64, HResult> {
        let t = seek_within(self.position, self.end, pos).ok_or(wia::E_INVALIDARG)?;
        send(&ToParent::Seek(self.id, pos.into()));
        self.position = t;
        Ok(t)
    }

    fn bytes_written(&self) -> u64 {
        self.end
    }

    fn release(&mut self, finished: bool) {
        self.mirror.live.store(false, Ordering::Relaxed);
        send(&ToParent::Release(self.id, finished));
    }
}

impl ChildStream {
    fn wrote(&mut self, n: usize) {
        self.end += n as u64;
        self.position = self.end;
        self.mirror.end.store(self.end, Ordering::Relaxed);
    }
}

/// Puts `data` into the shared ring piece by piece (never across its end), waiting for the
/// application to consume space, and announces each piece. The application going away ends
/// this process (the reader thread), so the wait cannot outlive it.
fn put_in_ring(link: &Link, ring: &Ring, id: u32, data: &[u8]) -> Result<(), HResult> {
    let cap = ring.cap() as u64;
    let mut produced = lock(&link.produced);
    let mut rest = data;
    while !rest.is_empty() {
        let contiguous = cap - *produced % cap;
        let n = (rest.len() as u64).min(contiguous).min(cap / 2) as usize;
        wait_for_space(ring, *produced, n as u64);
        ring.put(*produced, &rest[..n]);
        write_shm(&mut *lock(&link.out), id, n as u32).map_err(|_| wia::E_UNEXPECTED)?;
        *produced += n as u64;
        rest = &rest[n..];
    }
    Ok(())
}

/// Waits until the application has consumed enough of the ring for `n` more bytes after
/// `produced`. The application going away ends this process (the signal thread), so the wait
/// cannot outlive it.
///
/// The ring is full only when the application's side is the slower one, with the rest of the
/// ring still queued for it: a short yield first, then sleeps that double up to a millisecond
/// (far less than the queued bytes take to read), so a long wait costs a few wake-ups rather
/// than one every few microseconds.
fn wait_for_space(ring: &Ring, produced: u64, n: u64) {
    let cap = ring.cap() as u64;
    let mut spins = 0u32;
    let mut nap = Duration::from_micros(20);
    while cap - (produced - ring.consumed()) < n {
        spins += 1;
        if spins < 10 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(1));
        }
    }
}
