//! The application's side: [`HostedDevice`], a `Device` whose driver runs in a host process.
//!
//! The relay and its verifier stay here, in the application's process: the host's driver
//! calls a callback whose every `get_next_stream` and `send_message` is answered by the real
//! callback passed to [`Device::acquire`], and whose streams write into the real
//! `StreamHandle`s handed out here. END_OF_* come from that relay, as in process.
//!
//! Supervision happens here too, while a call waits for the host: a host that dies, makes no
//! progress for the watchdog time, or ignores a cancel for `cancel_grace` is reaped or killed,
//! the pages it completed stay delivered (only the stream in flight is released incomplete),
//! and the next call starts a new host (after a back-off when it keeps failing).

use crate::command::{HostCommand, HostOptions};
use crate::exit::describe_exit;
use crate::protocol::{
    write_msg, Frame, FrameReader, OpenedInfo, StreamAnswer, ToChild, ToParent, RING_ENV,
    SOCKET_ENV,
};
use crate::shm::{Ring, RingReader, RING_BYTES};
use crate::status::{Health, HostStatus, State};
use scanwire_core::device::{
    AcquireResult, Capabilities, Completion, Device, DeviceError, DeviceErrorKind, DeviceInfo,
    DeviceOption, ScanRequest,
};
use scanwire_core::transfer::{
    CancelToken, LentBytes, MiniDrvTransferCallback, NextStream, StreamHandle, HRESULT_TIMEOUT,
};
use scanwire_core::wia;
use std::collections::HashMap;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How often a waiting call looks at the clock (cancel grace, watchdog).
const TICK: Duration = Duration::from_millis(20);

/// One running host process.
struct Host {
    child: Child,
    pid: u32,
    /// Requests and answers.
    out: Mutex<UnixStream>,
    /// Cancels and stream failures: the second socket, never behind anything.
    signal: Arc<Mutex<UnixStream>>,
    /// The host's frames, read by whichever call is waiting (with a read timeout of `TICK`).
    frames: FrameReader<UnixStream>,
    /// The last native call the driver entered.
    crumb: Option<String>,
    /// A panic the host reported.
    panicked: Option<String>,
    /// The shared page ring, if it could be made.
    ring: Option<Arc<RingReader>>,
}

impl Host {
    fn send(&self, msg: &ToChild) -> io::Result<()> {
        match msg {
            ToChild::Cancel(_) | ToChild::StreamFailed(..) => {
                write_msg(&mut *lock(&self.signal), msg)
            }
            _ => write_msg(&mut *lock(&self.out), msg),
        }
    }

    /// Kills the process (if still running) and reaps it.
    fn kill(&mut self) -> std::process::ExitStatus {
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(s) => s,
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(9),
        }
    }

    /// Reaps a host that closed its socket, killing it if it is still there after `grace`.
    /// The looks start 50 µs apart and double up to 2 ms: a host told to exit is gone within
    /// about a millisecond (its driver closes the device, the kernel frees its memory), and
    /// `scan --isolate` ends only once it is, so fixed 2 ms naps would add up to 2 ms a run.
    fn reap(&mut self, grace: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + grace;
        let mut nap = Duration::from_micros(50);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(2));
        }
        self.kill()
    }

    /// Publishes in the ring's answer word whether the relay would answer a well-formed
    /// STATUS S_OK now (and nothing refused is waiting for the driver). Called after every
    /// frame, before any answer goes back, so the host reads the relay's state as of the
    /// driver's last answer. A cancel can come at any moment from another thread: its hook
    /// clears the word, and the word is stored before the relay is asked again, so a cancel
    /// between the two leaves it cleared either way.
    fn publish(&self, cb: &dyn MiniDrvTransferCallback, refused: bool) {
        let Some(ring) = self.ring.as_ref().map(|r| r.ring()) else {
            return;
        };
        if !refused && cb.answers_status_at_once() {
            ring.set_status_ok(true);
            if !cb.answers_status_at_once() {
                ring.set_status_ok(false);
            }
        } else {
            ring.set_status_ok(false);
        }
    }

    /// Runs `f` on the next `len` bytes of the ring and gives them back; `None` when there
    /// is no ring or the piece lies outside it.
    fn take<R>(&self, len: u32, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.ring.as_ref()?.take(len as usize, f)
    }

    /// Lends the next `len` bytes of the ring (given back when dropped); `None` as for
    /// [`take`](Self::take).
    fn lend(&self, len: u32) -> Option<LentBytes> {
        let piece = self.ring.as_ref()?.lend(len as usize)?;
        Some(LentBytes::new(piece))
    }
}

/// How the driver's `send_message` calls crossed the boundary, counted over a device's life:
/// answered by the host at once and posted (STATUS while the relay's answer was known), or
/// waited for (a round trip). For tests and benchmarks; a clone shares the counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounts(Arc<[AtomicU64; 2]>);

impl CallCounts {
    /// STATUS messages the host answered itself and posted.
    pub fn posted(&self) -> u64 {
        self.0[0].load(Ordering::Relaxed)
    }

    /// Messages that waited for the application's answer.
    pub fn waited(&self) -> u64 {
        self.0[1].load(Ordering::Relaxed)
    }

    fn count(&self, posted: bool) {
        self.0[usize::from(!posted)].fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a call to the host did not get its answer.
enum Lost {
    /// The host died; the reason says how.
    Died(String),
    /// The watchdog expired.
    Hung(Duration),
    /// A cancel was ignored for the grace time.
    IgnoredCancel,
}

/// A device whose driver runs in a driver host process (see the crate's documentation).
pub struct HostedDevice {
    command: HostCommand,
    id: String,
    opts: HostOptions,
    info: DeviceInfo,
    caps: Option<Capabilities>,
    options: Option<Vec<DeviceOption>>,
    host: Option<Host>,
    status: HostStatus,
    failures: u32,
    restart_at: Option<Instant>,
    /// Streams a driver never released; kept until the next transfer so that the relay sees
    /// them unreleased (S22), as it would in process.
    leftover: Vec<StreamHandle>,
    /// Transfers started (the host matches a cancel to its transfer by this number).
    generation: u64,
    /// The next stream id: unique for the device's life, so a late stream failure can never
    /// name a later transfer's stream.
    next_stream: u32,
    counts: CallCounts,
}

impl std::fmt::Debug for HostedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedDevice")
            .field("id", &self.id)
            .field("health", &self.health())
            .finish()
    }
}

impl HostedDevice {
    /// Starts a host with `command`, opens device `id` in it, and returns the device. The
    /// driver's open error comes back as is; a host that cannot start is an Internal error
    /// naming the command.
    pub fn open(command: HostCommand, id: &str, opts: HostOptions) -> Result<Self, DeviceError> {
        let mut dev = HostedDevice {
            command,
            id: id.to_string(),
            opts,
            info: DeviceInfo {
                id: id.to_string(),
                vendor: String::new(),
                model: String::new(),
                driver: "host",
            },
            caps: None,
            options: None,
            host: None,
            status: HostStatus::new(),
            failures: 0,
            restart_at: None,
            leftover: Vec::new(),
            generation: 0,
            next_stream: 0,
            counts: CallCounts::default(),
        };
        let opened = dev.start()?;
        dev.info = DeviceInfo {
            id: opened.id,
            vendor: opened.vendor,
            model: opened.model,
            driver: intern(&opened.driver),
        };
        Ok(dev)
    }

    /// The health now.
    pub fn health(&self) -> Health {
        self.status.health()
    }

    /// A shared view of the health, for a server to show while the device is in a transfer.
    pub fn status(&self) -> HostStatus {
        self.status.clone()
    }

    /// The running host's process id, if one is running.
    pub fn pid(&self) -> Option<u32> {
        self.host.as_ref().map(|h| h.pid)
    }

    /// Whether the running host's pages cross through the shared-memory ring (else the
    /// socket).
    pub fn shared_ring(&self) -> bool {
        self.host.as_ref().is_some_and(|h| h.ring.is_some())
    }

    /// How the driver's messages crossed (shared: keeps counting after the device is moved).
    pub fn call_counts(&self) -> CallCounts {
        self.counts.clone()
    }

    /// The supervision timings.
    pub fn options_mut(&mut self) -> &mut HostOptions {
        &mut self.opts
    }

    /// Starts a host and opens the device in it.
    fn start(&mut self) -> Result<OpenedInfo, DeviceError> {
        let host = spawn(&self.command, &self.opts)?;
        self.status.set(State::Running(host.pid));
        self.host = Some(host);
        match self.call(ToChild::Open(self.id.clone()), None) {
            Ok(ToParent::Opened(Ok(info))) => Ok(info),
            Ok(ToParent::Opened(Err(e))) => {
                // The driver could not open the device: not the host's failure.
                self.stop();
                Err(e)
            }
            Ok(other) => {
                self.stop();
                Err(protocol_error(&other))
            }
            Err(lost) => Err(self.lost(lost)),
        }
    }

    /// Asks the host to exit and reaps it.
    fn stop(&mut self) {
        if let Some(mut h) = self.host.take() {
            let _ = h.send(&ToChild::Exit);
            h.reap(Duration::from_millis(500));
        }
        self.status.set(State::Stopped);
    }

    /// Makes sure a host is running, waiting out a restart back-off first (cancellable when
    /// `cancel` is given: `Ok(false)` then).
    fn ensure(&mut self, cancel: Option<&CancelToken>) -> Result<bool, DeviceError> {
        if let Some(h) = self.host.as_mut() {
            match h.child.try_wait() {
                Ok(None) => return Ok(true),
                // It died while idle.
                Ok(Some(s)) => {
                    let reason = describe_exit(s, h.crumb.as_deref(), h.panicked.as_deref());
                    self.host = None;
                    self.failed(reason);
                }
                Err(_) => {
                    self.kill_host();
                    self.failed("driver host vanished".into());
                }
            }
        }
        if let Some(at) = self.restart_at {
            let now = Instant::now();
            if at > now {
                match cancel {
                    Some(c) => {
                        if c.sleep(at - now) {
                            return Ok(false);
                        }
                    }
                    None => std::thread::sleep(at - now),
                }
            }
        }
        self.start()?;
        Ok(true)
    }

    fn kill_host(&mut self) -> Option<std::process::ExitStatus> {
        self.host.take().map(|mut h| h.kill())
    }

    /// Records a failed host: counts it, schedules the restart, updates the status.
    fn failed(&mut self, reason: String) {
        self.failures += 1;
        let at = Instant::now() + self.opts.backoff(self.failures);
        self.restart_at = Some(at);
        self.status.set(State::Failed {
            reason,
            failures: self.failures,
            restart_at: at,
        });
    }

    /// A host that ended without answering: reap or kill it and say why, as a DeviceError.
    fn lost(&mut self, lost: Lost) -> DeviceError {
        match lost {
            Lost::Died(reason) => {
                self.failed(reason.clone());
                DeviceError::from_hresult(wia::WIA_ERROR_EXCEPTION_IN_DRIVER, reason)
            }
            Lost::Hung(limit) => {
                let place = self
                    .host
                    .as_ref()
                    .and_then(|h| h.crumb.as_deref())
                    .map(|c| format!(", last in {c}"))
                    .unwrap_or_default();
                self.kill_host();
                let reason = format!(
                    "the driver stopped responding (no progress for {:.1} s{place}); its host process was killed",
                    limit.as_secs_f64()
                );
                self.failed(reason.clone());
                DeviceError::from_hresult(HRESULT_TIMEOUT, reason)
            }
            Lost::IgnoredCancel => {
                self.kill_host();
                let reason = format!(
                    "the driver ignored a cancel for {:.1} s; its host process was killed",
                    self.opts.cancel_grace.as_secs_f64()
                );
                self.failed(reason.clone());
                DeviceError::new(DeviceErrorKind::Internal, reason)
            }
        }
    }

    /// Sends `msg` and waits for the reply (any message but a breadcrumb or panic note).
    fn call(&mut self, msg: ToChild, cancel_at: Option<&AtomicU64>) -> Result<ToParent, Lost> {
        let sent = self.host.as_ref().map(|h| h.send(&msg));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.died());
        }
        loop {
            match self.next(cancel_at)? {
                Frame::Msg(m) => return Ok(m),
                // Page bytes or a posted STATUS outside a transfer: a broken host; ignore them.
                Frame::Write(..) | Frame::Posted(..) => {}
                Frame::Shm(_, len) => {
                    if let Some(h) = self.host.as_ref() {
                        h.take(len, |_| ());
                    }
                }
            }
        }
    }

    /// The host died: reap it and describe how.
    fn died(&mut self) -> Lost {
        let Some(mut h) = self.host.take() else {
            return Lost::Died("driver host is not running".into());
        };
        let status = h.reap(Duration::from_secs(2));
        Lost::Died(describe_exit(
            status,
            h.crumb.as_deref(),
            h.panicked.as_deref(),
        ))
    }

    /// The next frame from the host that is not a breadcrumb, under the watchdog and the
    /// cancel grace (`cancel_at`: when the cancel was sent, in µs since `EPOCH`, 0 = not).
    fn next(&mut self, cancel_at: Option<&AtomicU64>) -> Result<Frame<ToParent>, Lost> {
        let watchdog = self.opts.watchdog;
        let grace = self.opts.cancel_grace;
        let mut since = Instant::now();
        loop {
            // Checked before every frame, not only while the host is silent: a driver that
            // goes on scanning after a cancel ignores it too.
            if let Some(at) = cancel_at.map(|c| c.load(Ordering::Acquire)) {
                if at != 0 && micros_now().saturating_sub(at) >= grace.as_micros() as u64 {
                    return Err(Lost::IgnoredCancel);
                }
            }
            let Some(h) = self.host.as_mut() else {
                return Err(Lost::Died("driver host is not running".into()));
            };
            match h.frames.next::<ToParent>() {
                Ok(Some(Frame::Msg(ToParent::Crumb(c)))) => {
                    h.crumb = Some(c);
                    since = Instant::now();
                }
                Ok(Some(Frame::Msg(ToParent::Panicked(p)))) => {
                    h.panicked = Some(p);
                    since = Instant::now();
                }
                Ok(Some(f)) => return Ok(f),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if let Some(limit) = watchdog {
                        if since.elapsed() >= limit {
                            return Err(Lost::Hung(limit));
                        }
                    }
                }
                // The socket closed (the host exited) or broke.
                Ok(None) | Err(_) => return Err(self.died()),
            }
        }
    }

    /// Runs one `acquire` in the host, answering its callback calls with `cb`.
    fn relay(
        &mut self,
        cb: &mut dyn MiniDrvTransferCallback,
        streams: &mut HashMap<u32, StreamHandle>,
        cancel_at: &AtomicU64,
    ) -> Result<AcquireResult, Lost> {
        // A write the application's stream refused, which the driver has not seen yet (writes
        // are not waited for): its next callback call is answered with it, as its write would
        // have been in process, and nothing more of that page reaches the application.
        let mut unseen: Option<wia::HResult> = None;
        loop {
            let frame = self.next(Some(cancel_at))?;
            let Some(h) = self.host.as_ref() else {
                return Err(self.died());
            };
            let reply = match frame {
                Frame::Write(id, data) => {
                    let r = match (unseen, streams.get_mut(&id)) {
                        (Some(_), _) => Ok(()),
                        (None, Some(s)) => s.write(&data),
                        (None, None) => Err(wia::E_UNEXPECTED),
                    };
                    match r {
                        Ok(()) => None,
                        Err(hr) => {
                            unseen = Some(hr);
                            Some(ToChild::StreamFailed(id, hr))
                        }
                    }
                }
                Frame::Shm(id, len) => {
                    // The piece is lent to the application's stream: a sink that queues it
                    // passes the ring's memory on instead of copying it.
                    let r = match (unseen, streams.get_mut(&id)) {
                        (Some(_), _) => h.take(len, |_| Ok(())),
                        (None, Some(s)) => h.lend(len).map(|piece| s.write_lent(piece)),
                        (None, None) => h.take(len, |_| Err(wia::E_UNEXPECTED)),
                    };
                    match r {
                        None => {
                            // A piece outside the ring: the host is broken; stop it.
                            self.kill_host();
                            return Err(Lost::Died(format!(
                                "the driver host announced {len} bytes outside its page ring"
                            )));
                        }
                        Some(Ok(())) => None,
                        Some(Err(hr)) => {
                            unseen = Some(hr);
                            Some(ToChild::StreamFailed(id, hr))
                        }
                    }
                }
                Frame::Msg(ToParent::NextStream(_, _)) if unseen.is_some() => {
                    let hr = unseen.take().unwrap_or(wia::E_UNEXPECTED);
                    Some(ToChild::Stream(StreamAnswer::Failed(hr)))
                }
                Frame::Msg(ToParent::Message(_, _)) if unseen.is_some() => {
                    Some(ToChild::Answer(unseen.take().unwrap_or(wia::E_UNEXPECTED)))
                }
                Frame::Msg(ToParent::NextStream(flags, page)) => {
                    let answer = match cb.get_next_stream(flags, &page) {
                        NextStream::Stream(s) => {
                            let id = self.next_stream;
                            self.next_stream = self.next_stream.wrapping_add(1);
                            streams.insert(id, s);
                            StreamAnswer::Stream(id)
                        }
                        NextStream::Skip => StreamAnswer::Skip,
                        NextStream::Cancelled => StreamAnswer::Cancelled,
                        NextStream::Failed(hr) => StreamAnswer::Failed(hr),
                    };
                    Some(ToChild::Stream(answer))
                }
                Frame::Msg(ToParent::Message(flags, params)) => {
                    self.counts.count(false);
                    Some(ToChild::Answer(cb.send_message(flags, params.as_ref())))
                }
                // Already answered S_OK by the host. After a refused write the driver has not
                // heard of yet, the page is failing and its progress no longer counts (its
                // byte count includes what the application refused): it is dropped, as that
                // STATUS would have been answered with the refusal.
                Frame::Posted(_) if unseen.is_some() => None,
                Frame::Posted(params) => {
                    self.counts.count(true);
                    cb.posted_status(&params);
                    None
                }
                Frame::Msg(ToParent::Seek(id, pos)) => {
                    if let Some(s) = streams.get_mut(&id) {
                        // The host answered the driver from its mirror of the position; the
                        // real handle makes the same move.
                        let _ = s.seek(pos.into());
                    }
                    None
                }
                Frame::Msg(ToParent::Release(id, finished)) => {
                    if let Some(s) = streams.remove(&id) {
                        if finished {
                            s.finish();
                        }
                    }
                    None
                }
                Frame::Msg(ToParent::Done(result)) => {
                    if let Some(r) = h.ring.as_ref() {
                        r.ring().set_status_ok(false);
                    }
                    return Ok(match unseen {
                        Some(hr) => Err(DeviceError::from_hresult(
                            hr,
                            "the application's stream refused a write",
                        )),
                        None => result,
                    });
                }
                Frame::Msg(other) => {
                    return Ok(Err(protocol_error(&other)));
                }
            };
            if let Some(h) = self.host.as_ref() {
                h.publish(&*cb, unseen.is_some());
            }
            if let Some(reply) = reply {
                if self
                    .host
                    .as_ref()
                    .map(|h| h.send(&reply))
                    .is_none_or(|r| r.is_err())
                {
                    return Err(self.died());
                }
            }
        }
    }
}

fn protocol_error(msg: &ToParent) -> DeviceError {
    DeviceError::from_hresult(
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        format!("the driver host sent {msg:?} out of turn"),
    )
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Microseconds since a process-wide start, never 0 (0 means "not cancelled").
fn micros_now() -> u64 {
    let e = *EPOCH.get_or_init(Instant::now);
    (e.elapsed().as_micros() as u64).max(1)
}

/// A driver's name for `DeviceInfo::driver`, which is `&'static str`: each distinct name is
/// leaked once.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = lock(&NAMES);
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(n);
    n
}

/// Starts a host process and waits for it to connect.
fn spawn(command: &HostCommand, opts: &HostOptions) -> Result<Host, DeviceError> {
    let timeout = opts.start_timeout;
    let fail = |what: String| {
        DeviceError::new(
            DeviceErrorKind::Internal,
            format!(
                "cannot start the driver host `{}`: {what}",
                command.program.display()
            ),
        )
    };
    let dir =
        private_dir(&std::env::temp_dir()).map_err(|e| fail(format!("a socket directory: {e}")))?;
    let path = dir.join("host.sock");
    let listener =
        UnixListener::bind(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let _cleanup = RemoveDir(dir.clone());
    listener
        .set_nonblocking(true)
        .map_err(|e| fail(e.to_string()))?;
    // The page ring lives in memory (/dev/shm) where there is one; without a ring, pages
    // travel through the socket.
    let shm_dir = (opts.shared_ring && Path::new("/dev/shm").is_dir())
        .then(|| private_dir(Path::new("/dev/shm")).ok())
        .flatten();
    let _shm_cleanup = shm_dir.clone().map(RemoveDir);
    let ring_path = shm_dir.as_ref().unwrap_or(&dir).join("ring");
    let ring = opts
        .shared_ring
        .then(|| Ring::create(&ring_path, RING_BYTES).ok())
        .flatten();
    let mut cmd = Command::new(&command.program);
    cmd.args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .env(SOCKET_ENV, &path)
        .stdin(Stdio::null())
        // Standard output may be the application's data (`scan -o -`): a driver's chatter
        // goes to standard error.
        .stdout(Stdio::from(std::io::stderr()))
        // Its own process group: a Ctrl-C at the terminal is the application's to handle (as
        // a cancel), not a signal that kills the driver mid page.
        .process_group(0);
    if ring.is_some() {
        cmd.env(RING_ENV, &ring_path);
    }
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    let deadline = Instant::now() + timeout;
    let mut accepted = Vec::new();
    while accepted.len() < 2 {
        match listener.accept() {
            Ok((s, _)) => accepted.push(s),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(fail(format!(
                        "it ended before connecting ({})",
                        describe_exit(status, None, None)
                    )));
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!(
                        "it did not connect within {:.1} s",
                        timeout.as_secs_f64()
                    )));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(e.to_string()));
            }
        }
    }
    // The host connects its main socket first, then the signal socket.
    let signal = accepted.pop().expect("two connections");
    let stream = accepted.pop().expect("two connections");
    let setup = || -> io::Result<(UnixStream, UnixStream)> {
        stream.set_nonblocking(false)?;
        signal.set_nonblocking(false)?;
        let reader = stream.try_clone()?;
        Ok((reader, stream.try_clone()?))
    };
    let (reader, writer) = match setup() {
        Ok(p) => p,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(e.to_string()));
        }
    };
    if let Err(e) = reader.set_read_timeout(Some(TICK)) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(fail(e.to_string()));
    }
    let pid = child.id();
    Ok(Host {
        child,
        pid,
        out: Mutex::new(writer),
        signal: Arc::new(Mutex::new(signal)),
        frames: FrameReader::new(reader),
        crumb: None,
        panicked: None,
        ring: ring.map(|r| Arc::new(RingReader::new(r))),
    })
}

/// A new directory under `base` only this user can enter, for the host's socket or ring.
fn private_dir(base: &Path) -> io::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    for _ in 0..100 {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!(
            "scanwire-host-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free name"))
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Device for HostedDevice {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        // While a restart waits out its back-off, the last answer stands: the transfer that
        // follows waits (cancellably) in `acquire`, not here.
        if self.host.is_none() {
            if let Some(c) = &self.caps {
                return Ok(c.clone());
            }
        }
        if !self.ensure(None)? {
            return Err(DeviceError::new(DeviceErrorKind::Busy, "cancelled"));
        }
        match self.call(ToChild::Capabilities, None) {
            Ok(ToParent::Capabilities(r)) => {
                if let Ok(c) = &r {
                    self.caps = Some(c.clone());
                }
                r
            }
            Ok(other) => Err(protocol_error(&other)),
            Err(lost) => Err(self.lost(lost)),
        }
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        if self.host.is_none() {
            if let Some(o) = &self.options {
                return o.clone();
            }
        }
        if !matches!(self.ensure(None), Ok(true)) {
            return self.options.clone().unwrap_or_default();
        }
        match self.call(ToChild::Options, None) {
            Ok(ToParent::Options(o)) => {
                self.options = Some(o.clone());
                o
            }
            Ok(_) => self.options.clone().unwrap_or_default(),
            Err(lost) => {
                self.lost(lost);
                self.options.clone().unwrap_or_default()
            }
        }
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        self.leftover.clear();
        if !self.ensure(Some(cancel))? {
            return Ok(Completion::Cancelled);
        }
        let cancel_at = Arc::new(AtomicU64::new(0));
        let Some(host) = self.host.as_ref() else {
            return Err(DeviceError::new(
                DeviceErrorKind::Internal,
                "the driver host is not running",
            ));
        };
        host.publish(&*cb, false);
        self.generation += 1;
        let generation = self.generation;
        if host
            .send(&ToChild::Acquire(generation, Box::new(request.clone())))
            .is_err()
        {
            let lost = self.died();
            return Err(self.lost(lost));
        }
        // A cancel crosses at once, from the cancelling thread, on the socket that carries
        // nothing else the host could be behind on.
        let _hook = {
            let out = host.signal.clone();
            let at = cancel_at.clone();
            let ring = host.ring.clone();
            cancel.on_cancel(move || {
                // The host answers no STATUS itself from here on (before the driver can
                // hear of the cancel).
                if let Some(r) = &ring {
                    r.ring().set_status_ok(false);
                }
                at.store(micros_now(), Ordering::Release);
                let _ = write_msg(&mut *lock(&out), &ToChild::Cancel(generation));
            })
        };
        let mut streams = HashMap::new();
        let outcome = self.relay(cb, &mut streams, &cancel_at);
        match outcome {
            Ok(result) => {
                self.leftover.extend(streams.into_values());
                // A panic the driver caught itself leaves the host running; one that reached
                // the host ends it (the result says so).
                let escaped =
                    matches!(&result, Err(e) if e.hresult() == wia::WIA_ERROR_EXCEPTION_IN_DRIVER);
                let panicked = match self.host.as_mut() {
                    Some(h) if escaped => h.panicked.is_some(),
                    Some(h) => {
                        h.panicked = None;
                        false
                    }
                    None => false,
                };
                if panicked {
                    // The host ends itself after a driver panic: reap it now.
                    let lost = self.died();
                    if let Lost::Died(reason) = lost {
                        self.failed(reason);
                    }
                } else {
                    self.failures = 0;
                    self.restart_at = None;
                    if let Some(h) = &self.host {
                        self.status.set(State::Running(h.pid));
                    }
                }
                result
            }
            Err(lost) => {
                // The page in flight is released incomplete; completed pages stay delivered.
                drop(streams);
                let cancelled = matches!(lost, Lost::IgnoredCancel);
                let e = self.lost(lost);
                if cancelled {
                    Ok(Completion::Cancelled)
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl Drop for HostedDevice {
    fn drop(&mut self) {
        self.leftover.clear();
        self.stop();
    }
}
