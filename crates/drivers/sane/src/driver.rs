//! [`SaneDriver`] and [`SaneDevice`]: the device model's `Driver` and `Device` over libsane.
//!
//! An acquisition, per page (one `sane_start` per frame, one page per image):
//!
//! ```text
//!  Applying ──ok──> Scanning(page n) ──PageEnd──> (feeder and pages left?) ──yes──> Scanning(n+1)
//!     │                 │  first Data: GetNextStream (Stream | Skip | Cancelled | Failed)
//!     │                 │  each batch of Data: write rows, STATUS(percent, bytes)
//!     │                 ├──NO_DOCS before any data──> feeder table (PAPER_EMPTY | S_OK | END_OF_MEDIA)
//!     │                 ├──CANCELLED / Stopped / S_FALSE──> Cancelled (S_FALSE)
//!     │                 └──other status──> Failed(kind from errors.rs)
//!     └──bad --set / refused option──> Failed(E_INVALIDARG …)
//!  every end ──> Finishing: sane_cancel, restore --set options (on the worker)
//! ```

use crate::affinity::Placement;
use crate::errors::{self, Failure};
use crate::ffi::{self, Parameters};
use crate::frames::Assembler;
use crate::options::{self, Wire};
use crate::worker::{Event, Worker, QUEUE};
use scanwire_core::device::{
    AcquireResult, Capabilities, Completion, Device, DeviceError, DeviceErrorKind, DeviceInfo,
    DeviceOption, Driver, PageData, PageInfo, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{
    CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream, StreamHandle,
};
use scanwire_core::wia::HResult;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// The prefix of SANE device ids: `sane:test:0`.
pub const ID_PREFIX: &str = "sane:";

/// Where libsane and its configuration come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaneConfig {
    /// `SANE_CONFIG_DIR` to set before `sane_init` (tests point it at a directory whose
    /// `dll.conf` lists only `test`). `None` keeps the environment's.
    pub config_dir: Option<PathBuf>,
    /// The library to load; `None` tries `libsane.so.1`, then `libsane.so`.
    pub library: Option<PathBuf>,
    /// Where a page's reading runs: by default on one core (see [`Placement`]).
    pub placement: Placement,
}

/// Every SANE backend, through libsane loaded at run time. Device ids are `sane:<SANE name>`.
#[derive(Clone, Debug, Default)]
pub struct SaneDriver {
    config: SaneConfig,
}

impl SaneDriver {
    /// The system's libsane with the environment's configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// A driver with an explicit configuration. SANE reads its configuration once per
    /// process, at the first use of any driver.
    pub fn with_config(config: SaneConfig) -> Self {
        SaneDriver { config }
    }

    fn sane(&self) -> Result<&'static ffi::Sane, DeviceError> {
        Ok(ffi::sane(
            self.config.config_dir.as_deref(),
            self.config.library.as_deref(),
        )?)
    }

    /// Where libsane was loaded from and its version (`libsane.so.1`, `1.2.1`); loads and
    /// initialises it if needed.
    pub fn library_info(&self) -> Result<(PathBuf, String), DeviceError> {
        let s = self.sane()?;
        Ok((s.path().to_path_buf(), s.version()))
    }

    /// Opens a device by id (`sane:test:0`), as the concrete type.
    pub fn open_device(&self, id: &str) -> Result<SaneDevice, DeviceError> {
        let name = id.strip_prefix(ID_PREFIX).ok_or_else(|| {
            DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!("`{id}` is not a SANE device id; they look like sane:<SANE name>, e.g. sane:test:0"),
            )
        })?;
        if name.is_empty() {
            return Err(DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                "the SANE device name is empty; use sane:<SANE name>, e.g. sane:test:0",
            ));
        }
        let worker = Worker::open(self.sane()?, name, self.config.placement)?;
        // Every use of a device starts with its capabilities: the worker probes them as soon
        // as it is open, instead of waiting to be asked (one thread hand-off less).
        let (tx, probed) = mpsc::channel();
        let model = name.to_string();
        worker.submit(Box::new(move |s| {
            let _ = tx.send(options::capabilities(s, &model));
        }))?;
        Ok(SaneDevice {
            worker,
            probed: Some(probed),
            info: DeviceInfo {
                id: id.to_string(),
                vendor: String::new(),
                model: name.to_string(),
                driver: "sane",
            },
            name: name.to_string(),
            caps: None,
        })
    }
}

impl Driver for SaneDriver {
    fn name(&self) -> &'static str {
        "sane"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        let list = self
            .sane()?
            .devices()?
            .map_err(|s| errors::error(s, "listing SANE devices (sane_get_devices)"))?;
        Ok(list
            .into_iter()
            .map(|d| DeviceInfo {
                id: format!("{ID_PREFIX}{}", d.name),
                vendor: d.vendor,
                model: if d.kind.is_empty() {
                    d.model
                } else {
                    format!("{} ({})", d.model, d.kind)
                },
                driver: "sane",
            })
            .collect())
    }

    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError> {
        Ok(Box::new(self.open_device(id)?))
    }
}

/// An open SANE device. Its handle lives on its own thread; see the crate docs.
pub struct SaneDevice {
    worker: Worker,
    info: DeviceInfo,
    name: String,
    caps: Option<(Capabilities, Wire)>,
    /// Capabilities the worker is probing since the device was opened.
    probed: Option<Receiver<Result<(Capabilities, Wire), DeviceError>>>,
}

/// How one page ended.
enum PageEnd {
    /// Scanned (delivered, or skipped by the application).
    Scanned,
    /// The device had no paper for it.
    NoDocs,
    /// Cancelled, by the application or at the device.
    Cancelled,
}

impl SaneDevice {
    /// The SANE device name (`test:0`).
    pub fn sane_name(&self) -> &str {
        &self.name
    }

    /// Sets SANE options for good (`name` → `value`, as with `--set`): unlike a request's
    /// options, these stay after scans. Errors name the constraint a bad value breaks.
    pub fn set_options(
        &mut self,
        values: &BTreeMap<String, scanwire_core::device::OptionValue>,
    ) -> Result<(), DeviceError> {
        let values = values.clone();
        self.caps = None;
        self.probed = None;
        self.worker.call(move |s| {
            let mut touched = Vec::new();
            let r = options::apply_user_options(s, &values, &mut touched);
            s.snapshot_defaults()?;
            r
        })?
    }

    /// Every option with its type, unit, constraint and current value.
    pub fn option_list(&mut self) -> Result<Vec<DeviceOption>, DeviceError> {
        self.worker
            .call(|s| options::OptionAccess::options(s).map(options::describe))?
    }

    fn caps_and_wire(&mut self) -> Result<&(Capabilities, Wire), DeviceError> {
        if self.caps.is_none() {
            let cw = match self.probed.take().map(|rx| rx.recv()) {
                Some(Ok(r)) => r?,
                // Not probed (options changed since), or the worker stopped: ask (again).
                _ => {
                    let model = self.name.clone();
                    self.worker
                        .call(move |s| options::capabilities(s, &model))??
                }
            };
            self.caps = Some(cw);
        }
        Ok(self.caps.as_ref().expect("just filled"))
    }

    fn stopped(&self, cancel: &CancelToken) -> bool {
        cancel.is_cancelled() || self.worker.gate().is_stopped()
    }

    /// The pages of one acquisition.
    fn scan(
        &mut self,
        request: &ScanRequest,
        dpi: (u32, u32),
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        let (events_tx, events) = mpsc::sync_channel::<Event>(QUEUE);
        let (recycle, recycled) = mpsc::channel::<Vec<u8>>();
        let recycled = Arc::new(Mutex::new(recycled));
        let feeder = request.source.is_feeder();
        let limit = if feeder { request.pages } else { Some(1) };
        let mut done = 0u32;
        loop {
            if limit.is_some_and(|n| done >= n) {
                return Ok(Completion::Done);
            }
            if self.stopped(cancel) {
                return Ok(Completion::Cancelled);
            }
            let tx = events_tx.clone();
            let rx = recycled.clone();
            self.worker.submit(Box::new(move |s| {
                let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
                s.scan_page(&tx, &rx);
            }))?;
            let page = PageRun {
                number: done + 1,
                request,
                dpi,
                device: &self.name,
                events: &events,
                recycle: &recycle,
            };
            match page.run(cb, cancel, self)? {
                PageEnd::Scanned => done += 1,
                PageEnd::NoDocs => return errors::no_docs(done, limit, &self.name),
                PageEnd::Cancelled => return Ok(Completion::Cancelled),
            }
            if !feeder {
                return Ok(Completion::Done);
            }
        }
    }
}

/// One page's events, turned into a stream for the application.
struct PageRun<'a> {
    number: u32,
    request: &'a ScanRequest,
    dpi: (u32, u32),
    device: &'a str,
    events: &'a Receiver<Event>,
    recycle: &'a Sender<Vec<u8>>,
}

enum Target {
    /// Not asked yet (no data so far).
    Unasked,
    Stream(StreamHandle),
    Skip,
}

impl PageRun<'_> {
    fn info(&self, asm: &Assembler) -> PageInfo {
        let l = asm.layout();
        let duplex = self.request.source == Source::FeederDuplex;
        PageInfo {
            number: self.number,
            sheet: if duplex {
                self.number.div_ceil(2)
            } else {
                self.number
            },
            side: if duplex && self.number % 2 == 0 {
                Side::Back
            } else {
                Side::Front
            },
            source: self.request.source,
            data: PageData::Raster {
                pixel: l.pixel,
                width: l.width,
                height: l.height,
            },
            dpi: self.dpi,
        }
    }

    fn app_error(&self, hr: HResult, what: &str) -> DeviceError {
        DeviceError::from_hresult(hr, format!("{what} page {}", self.number))
    }

    fn run(
        &self,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
        dev: &SaneDevice,
    ) -> Result<PageEnd, DeviceError> {
        let mut asm: Option<Assembler> = None;
        let mut target = Target::Unasked;
        let mut pending: Option<Event> = None;
        let mut last_percent = -1;
        loop {
            let event = match pending.take() {
                Some(e) => e,
                None => self.events.recv().map_err(|_| {
                    DeviceError::new(
                        DeviceErrorKind::Internal,
                        format!(
                            "the thread serving SANE device `{}` stopped mid-page",
                            self.device
                        ),
                    )
                })?,
            };
            match event {
                Event::Frame(p) => match asm.as_mut() {
                    None => asm = Some(self.first_frame(&p)?),
                    Some(a) => a.start_frame(&p)?,
                },
                Event::Data(first, len) => {
                    let Some(a) = asm.as_mut() else {
                        return Err(internal("data before a frame"));
                    };
                    if let Target::Unasked = target {
                        target = match cb.get_next_stream(0, &self.info(a)) {
                            NextStream::Stream(s) => Target::Stream(s),
                            NextStream::Skip => Target::Skip,
                            NextStream::Cancelled => return Ok(PageEnd::Cancelled),
                            NextStream::Failed(hr) => {
                                return Err(self.app_error(hr, "the application refused"))
                            }
                        };
                    }
                    // Write this band and those already queued (at most a queue's worth, so
                    // progress keeps coming when the application is the slower side), then
                    // one STATUS.
                    let mut band = Some((first, len));
                    let mut failed: Option<HResult> = None;
                    let mut batch = 0;
                    while let Some((buf, len)) = band.take() {
                        batch += 1;
                        let data = &buf[..len.min(buf.len())];
                        if failed.is_none() {
                            let r = match &mut target {
                                Target::Stream(s) => a.push(data, &mut |rows| s.write(rows)),
                                _ => a.push::<HResult>(data, &mut |_| Ok(())),
                            };
                            failed = r.err();
                        }
                        let _ = self.recycle.send(buf);
                        if batch > QUEUE {
                            break;
                        }
                        match self.events.try_recv() {
                            Ok(Event::Data(next, len)) => band = Some((next, len)),
                            Ok(other) => pending = Some(other),
                            Err(_) => {}
                        }
                    }
                    if let Some(hr) = failed {
                        return Err(self.app_error(hr, "the application could not store"));
                    }
                    let percent = a.percent();
                    let bytes = match &target {
                        Target::Stream(s) => s.bytes_written(),
                        _ => 0,
                    };
                    match cb.progress(percent, bytes) {
                        Ok(Flow::Continue) => last_percent = percent,
                        Ok(Flow::Cancelled) => return Ok(PageEnd::Cancelled),
                        Err(hr) => return Err(self.app_error(hr, "the application failed during")),
                    }
                }
                Event::FrameEnd => {
                    if dev.stopped(cancel) {
                        return Ok(PageEnd::Cancelled);
                    }
                    asm.as_mut()
                        .ok_or_else(|| internal("end of a frame that never started"))?
                        .end_frame()?;
                }
                Event::PageEnd => {
                    if dev.stopped(cancel) {
                        return Ok(PageEnd::Cancelled);
                    }
                    let a = asm
                        .as_ref()
                        .ok_or_else(|| internal("a page without frames"))?;
                    a.finish()?;
                    if last_percent < 100 {
                        let bytes = match &target {
                            Target::Stream(s) => s.bytes_written(),
                            _ => 0,
                        };
                        match cb.progress(100, bytes) {
                            Ok(Flow::Continue) => {}
                            Ok(Flow::Cancelled) => return Ok(PageEnd::Cancelled),
                            Err(hr) => {
                                return Err(self.app_error(hr, "the application failed during"))
                            }
                        }
                    }
                    if let Target::Stream(s) = target {
                        s.finish();
                    }
                    return Ok(PageEnd::Scanned);
                }
                Event::Stopped => return Ok(PageEnd::Cancelled),
                Event::Failed(status, call) => {
                    if dev.stopped(cancel) {
                        return Ok(PageEnd::Cancelled);
                    }
                    let what = format!("{call} on {} (page {})", self.device, self.number);
                    return match errors::classify(status, &what) {
                        Failure::Cancelled => {
                            // Cancelled at the device (its cancel button): a cancel from the
                            // driver side, so the application hears of it too.
                            cancel.cancel();
                            Ok(PageEnd::Cancelled)
                        }
                        // No paper before this page's first byte: the feeder table decides.
                        Failure::NoDocs if matches!(target, Target::Unasked) => Ok(PageEnd::NoDocs),
                        Failure::NoDocs => Err(errors::error(status, &what)),
                        Failure::Error(e) => Err(e),
                    };
                }
            }
        }
    }

    fn first_frame(&self, p: &Parameters) -> Result<Assembler, DeviceError> {
        Assembler::new(p, self.device)
    }
}

fn internal(what: &str) -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::Internal,
        format!("SANE driver bug: {what}"),
    )
}

impl Device for SaneDevice {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(self.caps_and_wire()?.0.clone())
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        self.option_list().unwrap_or_default()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        if cancel.is_cancelled() {
            return Ok(Completion::Cancelled);
        }
        let wire = self.caps_and_wire()?.1.clone();
        let gate = self.worker.gate().clone();
        let generation = gate.arm();
        let hook_gate = gate.clone();
        let _hook = cancel.on_cancel(move || hook_gate.stop(generation));
        let req = request.clone();
        let (applied, touched) = self.worker.call(move |s| s.apply(&req, &wire))?;
        let result = match applied {
            Ok(dpi) => self.scan(request, dpi, cb, cancel),
            Err(e) => Err(e),
        };
        // Whatever happened, the worker must not keep reading: stop it (sane_cancel if it is
        // blocked; the event channel is already gone), then end the batch and restore.
        gate.stop(generation);
        let finished = self.worker.call(move |s| s.finish(&touched));
        match (result, finished) {
            (Ok(c), Err(e)) if c != Completion::Cancelled => Err(e),
            (r, _) => r,
        }
    }
}
