//! Running a device's `acquire` on its own thread, with a watchdog and panic containment,
//! in either delivery mode.

use super::callback::{AppStream, ErrorHandler, TransferCallback};
use super::cancel::CancelHandle;
use super::options::TransferOptions;
use super::progress::ProgressCell;
use super::relay::{Outcome, Relay, Shared};
use super::stream::PageSink;
use crate::device::{Device, DeviceError, DeviceErrorKind, PageInfo, ScanRequest};
use crate::sync::Arc;
use crate::wia::{self, HResult, WiaTransferParams};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Mutex, TryLockError};
use std::time::{Duration, Instant};

/// A device several transfers (or a server) may use in turn.
pub type SharedDevice = Arc<Mutex<Box<dyn Device>>>;

/// Wraps an open device for [`run`] and [`spawn`].
pub fn share(device: Box<dyn Device>) -> SharedDevice {
    Arc::new(Mutex::new(device))
}

pub use crate::wia::HRESULT_TIMEOUT;

/// Runs one transfer, inline: the application's callback is called on the driver's thread
/// and its answers are what the driver sees. Blocks until the transfer ends.
///
/// The request is validated against the device's capabilities first; a bad request ends the
/// transfer at once (END_OF_TRANSFER with E_INVALIDARG) without calling the driver. A driver
/// that panics ends it with WIA_ERROR_EXCEPTION_IN_DRIVER; one that makes no callback call
/// for `opts.watchdog` ends it with [`HRESULT_TIMEOUT`], and its thread is abandoned (it can
/// never reach the application again).
pub fn run(
    device: &SharedDevice,
    request: &ScanRequest,
    app: Box<dyn TransferCallback>,
    cancel: &CancelHandle,
    opts: &TransferOptions,
) -> Outcome {
    let relay = Relay::new(app, cancel.clone(), opts);
    run_relay(device, request, relay, cancel, opts)
}

/// [`run`] with a relay the caller built (to add an error handler or a progress cell).
pub fn run_relay(
    device: &SharedDevice,
    request: &ScanRequest,
    mut relay: Relay,
    cancel: &CancelHandle,
    opts: &TransferOptions,
) -> Outcome {
    let shared = relay.shared();
    let (tx, rx) = mpsc::channel::<Outcome>();
    let device = device.clone();
    let request = request.clone();
    let token = cancel.token();
    let spawned = std::thread::Builder::new()
        .name("scanwire-driver".into())
        .spawn(move || {
            let result = {
                let mut guard = match device.try_lock() {
                    Ok(g) => g,
                    Err(TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(TryLockError::WouldBlock) => {
                        let e = DeviceError::new(
                            DeviceErrorKind::Busy,
                            "the device is busy with another transfer (or a previous one hung)",
                        );
                        let _ = tx.send(relay.finish(&Err(e)));
                        return;
                    }
                };
                let dev: &mut dyn Device = &mut **guard;
                match dev.capabilities() {
                    Err(e) => Err(e),
                    Ok(caps) => match request.validate(&caps) {
                        Err(e) => Err(DeviceError::new(
                            DeviceErrorKind::InvalidRequest,
                            e.to_string(),
                        )),
                        Ok(()) => match catch_unwind(AssertUnwindSafe(|| {
                            dev.acquire(&request, &mut relay, &token)
                        })) {
                            Ok(r) => r,
                            Err(panic) => Err(DeviceError::from_hresult(
                                wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
                                format!("the driver panicked: {}", panic_message(panic.as_ref())),
                            )),
                        },
                    },
                }
                // The device is released here, before anyone hears the transfer is over, so
                // the next transfer can start the moment this one's outcome arrives.
            };
            let _ = tx.send(relay.finish(&result));
        });
    if let Err(e) = spawned {
        return shared.abandon(DeviceError::new(
            DeviceErrorKind::Internal,
            format!("cannot start the driver thread: {e}"),
        ));
    }
    supervise(&shared, &rx, opts.watchdog)
}

/// The message of a caught panic (`catch_unwind`'s payload), or `unknown panic`. Public for the
/// COM layer, which contains a driver's panics the same way.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Waits for the outcome, watching the driver's heartbeat.
fn supervise(
    shared: &Arc<Shared>,
    rx: &mpsc::Receiver<Outcome>,
    watchdog: Option<Duration>,
) -> Outcome {
    let tick = watchdog
        .map(|w| (w / 10).clamp(Duration::from_millis(5), Duration::from_millis(250)))
        .unwrap_or(Duration::from_secs(3600));
    let mut last = shared.heartbeat();
    let mut since = Instant::now();
    loop {
        match rx.recv_timeout(tick) {
            Ok(outcome) => return outcome,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The thread ended without an outcome: something panicked outside `acquire`
                // (in the application's callback, while finishing).
                return shared.abandon(DeviceError::from_hresult(
                    wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
                    "the transfer thread panicked",
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let Some(limit) = watchdog else { continue };
                let now = shared.heartbeat();
                if now != last || now.1 {
                    // Activity, or the application is busy (not the driver's fault).
                    last = now;
                    since = Instant::now();
                } else if since.elapsed() >= limit {
                    return shared.abandon(DeviceError::from_hresult(
                        HRESULT_TIMEOUT,
                        format!(
                            "the driver stopped responding (no progress for {:.1} s)",
                            limit.as_secs_f64()
                        ),
                    ));
                }
            }
        }
    }
}

/// What a decoupled transfer tells its reader, in order. `Finished` is always last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A stream was opened for this page.
    Stream(PageInfo),
    /// The page was skipped.
    Skipped(PageInfo),
    /// NEW_PAGE, END_OF_STREAM or END_OF_TRANSFER, as the application would see them.
    Message(WiaTransferParams),
    /// A DEVICE_STATUS the driver reported, and the chain's answer.
    DeviceStatus {
        /// The code.
        status: HResult,
        /// Its percent.
        percent: i32,
    },
    /// The transfer is over.
    Finished(Outcome),
}

/// The synchronous part of a decoupled application: opening page streams happens on the
/// driver's thread (it must be quick: a file, a bounded channel).
pub trait StreamFactory: Send {
    /// A stream for `page`, or skip, cancel or fail.
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream;
}

impl<F: FnMut(&PageInfo) -> AppStream + Send> StreamFactory for F {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self(page)
    }
}

/// Queue size for structural events. NEW_PAGE, END_OF_STREAM and DEVICE_STATUS come a few per
/// page, so only a reader hundreds of pages behind ever makes the driver wait; STATUS never
/// goes through the queue.
pub const EVENT_QUEUE: usize = 1024;

struct DecoupledApp {
    streams: Box<dyn StreamFactory>,
    handler: Option<Box<dyn ErrorHandler>>,
    events: mpsc::SyncSender<Event>,
}

impl TransferCallback for DecoupledApp {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        let a = self.streams.get_next_stream(page);
        let ev = match &a {
            AppStream::Stream(_) => Some(Event::Stream(page.clone())),
            AppStream::Skip => Some(Event::Skipped(page.clone())),
            _ => None,
        };
        if let Some(ev) = ev {
            let _ = self.events.send(ev);
        }
        a
    }

    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult {
        let _ = self.events.send(Event::Message(*params));
        wia::S_OK
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        let answer = match self.handler.as_mut() {
            Some(h) => h.report_status(status, percent),
            None => wia::WIA_STATUS_NOT_HANDLED,
        };
        if status != wia::WIA_STATUS_CLEAR {
            let _ = self.events.send(Event::DeviceStatus { status, percent });
        }
        answer
    }
}

/// A transfer running in the background, delivering decoupled.
pub struct DecoupledTransfer {
    /// Structural events, lossless and in order; ends with [`Event::Finished`].
    pub events: mpsc::Receiver<Event>,
    /// The latest STATUS.
    pub progress: Arc<ProgressCell>,
    /// Cancels it.
    pub cancel: CancelHandle,
}

/// Starts a transfer in the background with decoupled delivery: STATUS lands in a progress
/// cell, everything else in a bounded lossless queue, and `send_message` never waits for the
/// reader. `handler` answers DEVICE_STATUS (on the driver's thread); without one, WIA's
/// default applies (errors stop the transfer, informational codes go on).
pub fn spawn(
    device: &SharedDevice,
    request: &ScanRequest,
    streams: Box<dyn StreamFactory>,
    handler: Option<Box<dyn ErrorHandler>>,
    cancel: &CancelHandle,
    opts: &TransferOptions,
) -> DecoupledTransfer {
    let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
    let progress = Arc::new(ProgressCell::new());
    let app = DecoupledApp {
        streams,
        handler,
        events: tx.clone(),
    };
    let relay =
        Relay::new(Box::new(app), cancel.clone(), opts).with_progress_cell(progress.clone());
    let device = device.clone();
    let request = request.clone();
    let cancel2 = cancel.clone();
    let opts = *opts;
    let started = std::thread::Builder::new()
        .name("scanwire-transfer".into())
        .spawn(move || {
            let outcome = run_relay(&device, &request, relay, &cancel2, &opts);
            let _ = tx.send(Event::Finished(outcome));
        });
    if let Err(e) = started {
        // No thread, no transfer: say so through the same channel the reader watches.
        let (tx, rx2) = mpsc::sync_channel(1);
        let _ = tx.send(Event::Finished(Outcome {
            result: wia::E_OUTOFMEMORY,
            error: Some(DeviceError::new(
                DeviceErrorKind::Internal,
                format!("cannot start the transfer thread: {e}"),
            )),
            pages: 0,
            incomplete: 0,
            skipped: 0,
            violations: Vec::new(),
        }));
        return DecoupledTransfer {
            events: rx2,
            progress,
            cancel: cancel.clone(),
        };
    }
    DecoupledTransfer {
        events: rx,
        progress,
        cancel: cancel.clone(),
    }
}

/// A sink that throws the page away (benchmarks, `--dry-run` style uses).
#[derive(Debug, Default)]
pub struct NullSink {
    bytes: u64,
}

impl PageSink for NullSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.bytes += data.len() as u64;
        Ok(())
    }
    fn close(self: Box<Self>, _status: HResult) -> HResult {
        wia::S_OK
    }
}
