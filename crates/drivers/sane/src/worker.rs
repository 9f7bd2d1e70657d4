//! One thread per open device. Every SANE call for a handle runs on it (the standard makes
//! no handle thread-safe, and some backends keep per-thread state), except `sane_cancel`,
//! which the [`Gate`] calls from whichever thread cancels, while a `sane_start` or
//! `sane_read` blocks.
//!
//! Commands are closures sent over a channel and run in order on the worker's [`Session`].
//! A page scan streams [`Event`]s back over a bounded channel, so the device is read while
//! the previous band is written (at most [`QUEUE`] + 2 bands of [`BAND_SIZE`] in flight).
//!
//! ```text
//!  driver thread                          worker thread ("sane-worker")
//!  acquire ── call(apply) ──────────────> options::apply (source, mode, …, --set)
//!          ── submit(page) ─────────────> sane_start, sane_get_parameters  ─┐ per frame
//!          <── Frame / Data… / FrameEnd ── sane_read until EOF              ─┘
//!          <── PageEnd | Failed | Stopped
//!          ── call(finish) ─────────────> sane_cancel, restore --set options
//!  cancel hook (any thread) ── Gate::stop ── sane_cancel if start/read is blocking
//! ```

use crate::affinity::Placement;
use crate::errors::{self, Status};
use crate::ffi::{Canceller, Handle, OptionValue, Parameters, Sane, ValueType, CAP_SOFT_DETECT};
use crate::options::{self, OptionAccess, SaneOption, SetValue, Wire};
use scanwire_core::device::{DeviceError, DeviceErrorKind, ScanRequest};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The largest band handed to the driver thread. `sane_read` returns at most what the
/// backend has (the test backend: 32 KiB, half its pipe), so a band takes several reads.
/// Each band costs a thread hand-off (a futex wake and two context switches when the driver
/// thread waits, as it does for a fast device); at 64 KiB an A4 600 dpi page made 6,400
/// context switches and cost 20 ms more CPU than at 256 KiB, which costs 0.3 MB more peak
/// RSS (bench/sane-vs-scanimage.sh; larger bands gain little more).
pub(crate) const BAND_SIZE: usize = 256 * 1024;

/// A band is handed over at the latest this long after its first byte, so slow devices still
/// report progress several times a second.
pub(crate) const BAND_TIME: Duration = Duration::from_millis(20);

/// Bands queued between the worker and the driver thread, besides the band being read and
/// the one being written. One: the driver usually writes a band faster than the device
/// fills the next, but a write that stalls (writeback started on a disk) then does not stop
/// the device at once. A rendezvous saved 0.25 MB of peak RSS, for less even timing.
pub(crate) const QUEUE: usize = 1;

/// `SANE_INFO_RELOAD_OPTIONS`: setting an option changed others.
const INFO_RELOAD_OPTIONS: i32 = 2;

/// Options beyond this count are not read (no real backend has more than a few hundred).
const MAX_OPTIONS: i32 = 4096;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a page scan reports, in order: per frame `Frame`, `Data`*, `FrameEnd`; then `PageEnd`.
/// `Failed` or `Stopped` end it early.
#[derive(Debug)]
pub(crate) enum Event {
    /// A frame started (`sane_start` and `sane_get_parameters` succeeded).
    Frame(Parameters),
    /// Bytes from `sane_read`: the first `.1` bytes of the buffer. Buffers keep their full
    /// size on their round trip, so they are never cleared again.
    Data(Vec<u8>, usize),
    /// `sane_read` returned EOF.
    FrameEnd,
    /// The last frame ended.
    PageEnd,
    /// A SANE call failed with this status.
    Failed(Status, &'static str),
    /// The scan was stopped through the gate.
    Stopped,
}

struct GateState {
    generation: u64,
    stop: bool,
    busy: bool,
}

/// Stops a scan from any thread: sets a flag the worker checks between SANE calls, and calls
/// `sane_cancel` if the worker is inside `sane_start` or `sane_read`, so a blocking call ends
/// promptly. Each acquisition arms it with a new generation, so a late cancel hook of an
/// earlier one cannot stop a later one.
pub(crate) struct Gate {
    state: Mutex<GateState>,
    canceller: Arc<Canceller>,
}

impl Gate {
    fn new(canceller: Arc<Canceller>) -> Self {
        Gate {
            state: Mutex::new(GateState {
                generation: 0,
                stop: false,
                busy: false,
            }),
            canceller,
        }
    }

    /// Starts an acquisition; returns its generation.
    pub(crate) fn arm(&self) -> u64 {
        let mut g = lock(&self.state);
        g.generation += 1;
        g.stop = false;
        g.generation
    }

    /// Stops acquisition `generation` (nothing if another one has started since).
    pub(crate) fn stop(&self, generation: u64) {
        let mut g = lock(&self.state);
        if g.generation != generation {
            return;
        }
        g.stop = true;
        if g.busy {
            // Under the lock, so the worker cannot leave the call and start another between
            // our check and the cancel.
            self.canceller.cancel();
        }
    }

    fn stop_any(&self) {
        let generation = lock(&self.state).generation;
        self.stop(generation);
    }

    /// Whether the current acquisition was stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        lock(&self.state).stop
    }

    /// Before a blocking call: false if stopped.
    fn enter(&self) -> bool {
        let mut g = lock(&self.state);
        if g.stop {
            return false;
        }
        g.busy = true;
        true
    }

    fn leave(&self) {
        lock(&self.state).busy = false;
    }
}

/// The worker's side: the open handle and what it knows about its options.
pub(crate) struct Session {
    handle: Handle,
    name: String,
    gate: Arc<Gate>,
    cache: Option<Vec<SaneOption>>,
    /// Option values at open (or after `set_option`), to undo a scan's `--set` options.
    defaults: Vec<(i32, OptionValue)>,
    spare: Vec<Vec<u8>>,
    placement: Placement,
}

impl Session {
    fn load(&mut self) -> Result<Vec<SaneOption>, DeviceError> {
        let n = self.handle.option_count().map_err(|s| {
            errors::error(
                s,
                &format!("reading the number of options of {}", self.name),
            )
        })?;
        Ok((1..n.clamp(0, MAX_OPTIONS))
            .filter_map(|index| self.read_option(index))
            .collect())
    }

    /// One option's descriptor and (if it can be read) value; `None` without a descriptor.
    fn read_option(&mut self, index: i32) -> Option<SaneOption> {
        let desc = self.handle.descriptor(index)?;
        let readable = desc.is_active()
            && desc.cap & CAP_SOFT_DETECT != 0
            && matches!(
                desc.kind,
                ValueType::Bool | ValueType::Int | ValueType::Fixed | ValueType::String
            );
        let value = if readable {
            self.handle.get(index, &desc).ok()
        } else {
            None
        };
        Some(SaneOption { index, desc, value })
    }

    /// After `index` was set without SANE_INFO_RELOAD_OPTIONS: only it may have changed
    /// (its value rounded, say), so only it is read again.
    fn refresh(&mut self, index: i32) {
        let Some(pos) = self
            .cache
            .as_ref()
            .and_then(|c| c.iter().position(|o| o.index == index))
        else {
            self.cache = None;
            return;
        };
        match self.read_option(index) {
            Some(o) => {
                if let Some(c) = self.cache.as_mut() {
                    c[pos] = o;
                }
            }
            None => self.cache = None,
        }
    }

    /// Remembers the current values as the ones to go back to after a scan.
    pub(crate) fn snapshot_defaults(&mut self) -> Result<(), DeviceError> {
        let defaults = self
            .options()?
            .iter()
            .filter_map(|o| Some((o.index, o.value.clone()?)))
            .collect();
        self.defaults = defaults;
        Ok(())
    }

    /// Puts options a scan's `--set` changed back to their defaults (best effort, latest
    /// change first).
    fn restore(&mut self, touched: &[i32]) {
        let mut seen = Vec::new();
        for &index in touched.iter().rev() {
            if seen.contains(&index) {
                continue;
            }
            seen.push(index);
            let Some(value) = self
                .defaults
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, v)| v.clone())
            else {
                continue;
            };
            let current = self
                .options()
                .ok()
                .and_then(|o| o.iter().find(|o| o.index == index).cloned());
            if let Some(o) = current {
                if o.desc.is_active() && o.desc.is_settable() && o.value.as_ref() != Some(&value) {
                    let _ = self.set(index, &SetValue::Value(value));
                }
            }
        }
    }

    /// Applies a request; returns the resolution read back and the options `--set` touched
    /// (also when it fails part-way, so they can be restored).
    pub(crate) fn apply(
        &mut self,
        request: &ScanRequest,
        wire: &Wire,
    ) -> (Result<(u32, u32), DeviceError>, Vec<i32>) {
        let mut touched = Vec::new();
        let r = options::apply(self, request, wire, &mut touched);
        (r, touched)
    }

    /// Ends an acquisition: `sane_cancel` (which also ends a feeder batch), then the `--set`
    /// options go back to their defaults.
    pub(crate) fn finish(&mut self, touched: &[i32]) {
        self.handle.cancel();
        self.cache = None;
        self.restore(touched);
    }

    fn send(events: &SyncSender<Event>, e: Event) -> bool {
        events.send(e).is_ok()
    }

    /// Scans one page: `sane_start` per frame, reads until EOF, and reports what happened.
    /// Returns early (without `sane_cancel`; the finish job does that) when stopped or when
    /// the driver stops listening.
    pub(crate) fn scan_page(&mut self, events: &SyncSender<Event>, recycled: &Receiver<Vec<u8>>) {
        let _pinned = self.placement.pin();
        let gate = self.gate.clone();
        loop {
            if !gate.enter() {
                Self::send(events, Event::Stopped);
                return;
            }
            let started = self.handle.start();
            gate.leave();
            if gate.is_stopped() {
                Self::send(events, Event::Stopped);
                return;
            }
            if let Err(s) = started {
                Self::send(events, Event::Failed(s, "sane_start"));
                return;
            }
            let params = match self.handle.parameters() {
                Ok(p) => p,
                Err(s) => {
                    Self::send(events, Event::Failed(s, "sane_get_parameters"));
                    return;
                }
            };
            if !Self::send(events, Event::Frame(params)) {
                return;
            }
            if !self.read_frame(events, recycled, &gate) {
                return;
            }
            if !Self::send(events, Event::FrameEnd) {
                return;
            }
            if params.last_frame {
                Self::send(events, Event::PageEnd);
                return;
            }
        }
    }
}

impl Session {
    /// Reads one frame until EOF, sending bands of up to [`BAND_SIZE`] bytes. A band is
    /// sent when full or [`BAND_TIME`] after its first byte, whichever comes first, so a fast
    /// device costs few thread handoffs and a slow one still reports progress often. Returns
    /// false when the page ended (failure, stop, or nobody listening).
    fn read_frame(
        &mut self,
        events: &SyncSender<Event>,
        recycled: &Receiver<Vec<u8>>,
        gate: &Gate,
    ) -> bool {
        let mut empty_reads = 0u32;
        let mut buf: Option<Vec<u8>> = None;
        let mut filled = 0usize;
        let mut first_byte = Instant::now();
        loop {
            let b = buf.get_or_insert_with(|| {
                recycled
                    .try_recv()
                    .ok()
                    .or_else(|| self.spare.pop())
                    .unwrap_or_else(|| vec![0; BAND_SIZE])
            });
            if !gate.enter() {
                Self::send(events, Event::Stopped);
                return false;
            }
            let r = self.handle.read(&mut b[filled..]);
            gate.leave();
            if gate.is_stopped() {
                // Whatever the read returned (a backend may report EOF when cancelled),
                // the page is not complete.
                Self::send(events, Event::Stopped);
                return false;
            }
            match r {
                Ok(0) => {
                    // Blocking backends should not return 0 bytes; some do while the device
                    // is busy. Do not spin.
                    empty_reads += 1;
                    if empty_reads > 3 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                Ok(n) => {
                    empty_reads = 0;
                    if filled == 0 {
                        first_byte = Instant::now();
                    }
                    filled += n;
                    if filled == b.len() || first_byte.elapsed() >= BAND_TIME {
                        let full = buf.take().unwrap_or_default();
                        if !Self::send(events, Event::Data(full, filled)) {
                            return false;
                        }
                        filled = 0;
                    }
                }
                Err(status) => {
                    // Bytes read before the end (or a failure) go first: a failure after
                    // data is a failure mid-page.
                    if filled > 0 {
                        let part = buf.take().unwrap_or_default();
                        if !Self::send(events, Event::Data(part, filled)) {
                            return false;
                        }
                    }
                    if let Some(b) = buf.take() {
                        self.spare.push(b);
                    }
                    if status == Status::Eof {
                        return true;
                    }
                    Self::send(events, Event::Failed(status, "sane_read"));
                    return false;
                }
            }
        }
    }
}

impl OptionAccess for Session {
    fn options(&mut self) -> Result<&[SaneOption], DeviceError> {
        if self.cache.is_none() {
            self.cache = Some(self.load()?);
        }
        Ok(self.cache.as_deref().unwrap_or(&[]))
    }

    fn set(&mut self, index: i32, value: &SetValue) -> Result<i32, Status> {
        // Some backends refuse to touch an option whose descriptor was not fetched since:
        // fetch it afresh. A change that may change other options says so
        // (SANE_INFO_RELOAD_OPTIONS): then everything is read again next time, otherwise
        // just this option (a scan sets a dozen options; reading all 50-odd of the test
        // backend's after each cost 1,000 descriptor and 400 option calls per scan).
        let desc = self.handle.descriptor(index).ok_or_else(|| {
            self.cache = None;
            Status::Inval
        })?;
        let r = match value {
            SetValue::Value(v) => self.handle.set(index, &desc, v),
            SetValue::Auto => self.handle.set_auto(index, &desc),
        };
        match r {
            Ok(info) if info & INFO_RELOAD_OPTIONS == 0 => self.refresh(index),
            _ => self.cache = None,
        }
        r
    }

    fn device_name(&self) -> &str {
        &self.name
    }
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The driver's handle on a worker thread.
pub(crate) struct Worker {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    gate: Arc<Gate>,
    name: String,
}

fn open_error(status: Status, name: &str) -> DeviceError {
    match status {
        Status::DeviceBusy => DeviceError::new(
            DeviceErrorKind::Busy,
            format!("SANE device `{name}` is in use (by this or another program)"),
        ),
        // SANE cannot tell a name that never existed from a scanner unplugged since: either
        // way the user fixes it by naming a device that is there.
        Status::Inval => DeviceError::new(
            DeviceErrorKind::InvalidRequest,
            format!(
                "there is no SANE device `{name}` (`scanwire devices` lists them): {}",
                errors::describe(status)
            ),
        ),
        s => errors::error(s, &format!("opening SANE device `{name}`")),
    }
}

impl Worker {
    /// Starts a worker thread and opens `name` on it.
    pub(crate) fn open(
        sane: &'static Sane,
        name: &str,
        placement: Placement,
    ) -> Result<Worker, DeviceError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Arc<Gate>, DeviceError>>();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let owned = name.to_string();
        let thread = std::thread::Builder::new()
            .name("sane-worker".into())
            .spawn(move || {
                let handle = match Handle::open(sane, &owned) {
                    Ok(Ok(h)) => h,
                    Ok(Err(s)) => {
                        let _ = ready_tx.send(Err(open_error(s, &owned)));
                        return;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                let gate = Arc::new(Gate::new(handle.canceller()));
                let mut session = Session {
                    handle,
                    name: owned,
                    gate: gate.clone(),
                    cache: None,
                    defaults: Vec::new(),
                    spare: Vec::new(),
                    placement,
                };
                if let Err(e) = session.snapshot_defaults() {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let _ = ready_tx.send(Ok(gate));
                while let Ok(job) = jobs_rx.recv() {
                    // A panicking job drops its reply channel, which its caller reports; the
                    // handle stays open for the next command.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&mut session)));
                }
                // `session` drops here: sane_close on this thread.
            })
            .map_err(|e| {
                DeviceError::new(
                    DeviceErrorKind::Internal,
                    format!("cannot start a thread for SANE device `{name}`: {e}"),
                )
            })?;
        let gate = match ready_rx.recv() {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(DeviceError::new(
                    DeviceErrorKind::Internal,
                    format!(
                        "the thread opening SANE device `{name}` stopped (a backend panicked?)"
                    ),
                ));
            }
        };
        Ok(Worker {
            jobs: Some(jobs_tx),
            thread: Some(thread),
            gate,
            name: name.to_string(),
        })
    }

    fn gone(&self) -> DeviceError {
        DeviceError::new(
            DeviceErrorKind::Internal,
            format!("the thread serving SANE device `{}` stopped", self.name),
        )
    }

    /// The gate that stops this device's scans.
    pub(crate) fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    /// Queues a job without waiting for it.
    pub(crate) fn submit(&self, job: Job) -> Result<(), DeviceError> {
        self.jobs
            .as_ref()
            .and_then(|j| j.send(job).ok())
            .ok_or_else(|| self.gone())
    }

    /// Runs `f` on the worker and waits for its result.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> R + Send + 'static,
    ) -> Result<R, DeviceError> {
        let (tx, rx) = mpsc::channel();
        self.submit(Box::new(move |s| {
            let _ = tx.send(f(s));
        }))?;
        rx.recv().map_err(|_| self.gone())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Unblock a scan that might still be reading, then let the thread finish its queue
        // and close the handle.
        self.gate.stop_any();
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
