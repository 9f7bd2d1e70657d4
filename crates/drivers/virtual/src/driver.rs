//! [`VirtualDriver`] and [`VirtualDevice`]: the `Driver` and `Device` implementations.
//!
//! `acquire` works like a WIA mini-driver's `drvAcquireItemData` (spec §1, §4, and ProdScan in
//! §7):
//!
//! ```text
//! offline? ──> WIA_ERROR_OFFLINE
//! cover open? ──> DEVICE_STATUS(COVER_OPEN) ── S_OK (closed) ──┐   else the answer ends it
//! feeder empty? ──> WIA_ERROR_PAPER_EMPTY                      │
//! warm-up: DEVICE_STATUS(WARMING_UP, 0, 10, …, 100 %) <────────┘
//! per page: get_next_stream ─ Stream ─> (render band, write, STATUS pct/bytes, pace)* finish
//!                            ─ Skip ───> (render band, pace)*   (scanned and discarded)
//!                            ─ S_FALSE ─> Cancelled;  error ─> that error
//! end: S_OK, or WIA_STATUS_END_OF_MEDIA when the feeder ran out before `pages`
//! ```
//!
//! Any answer other than S_OK ends the scan at once: S_FALSE as [`Completion::Cancelled`], an
//! error as a [`DeviceError`] with exactly that HRESULT. A jam or multi-feed is reported as
//! DEVICE_STATUS with its error code first, as WIA drivers do, and then returned.

use crate::chart::PageGeometry;
use crate::errors::{callback_failed, Fault};
use crate::feeder::{self, PageSlot};
use crate::options::{self, Crash, VirtualOptions, DEVICE_ID, MODEL};
use crate::sheet::{self, Painter};
use crate::text;
use ab_glyph::FontVec;
use scanwire_core::device::{
    AcquireResult, Capabilities, Completion, Device, DeviceError, DeviceErrorKind, DeviceInfo,
    DeviceOption, Driver, PageInfo, ScanRequest,
};
use scanwire_core::transfer::{
    CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream, StreamHandle,
};
use scanwire_core::wia;
use std::time::{Duration, Instant};

/// Rows per band are capped by this many bytes (about what a USB scanner returns per read)…
const BAND_BYTES: usize = 256 * 1024;
/// …and by this many rows, so narrow pages still report progress often.
const BAND_ROWS: usize = 64;

/// A paced band takes at most about this long, so progress moves smoothly and the watchdog
/// keeps hearing from the driver even on tiny, slow pages.
const PACED_BAND: Duration = Duration::from_millis(250);

/// How long a scripted hang lasts at least once cancelled. It never ends on its own before:
/// the core's watchdog has to give up on it. The wake-up only keeps a long test run from
/// collecting sleeping threads forever.
const HANG_RELEASE: Duration = Duration::from_secs(600);

/// The virtual scanner's driver: one device, `virtual`, always present.
#[derive(Copy, Clone, Debug, Default)]
pub struct VirtualDriver;

impl VirtualDriver {
    /// The driver.
    pub fn new() -> Self {
        VirtualDriver
    }
}

fn info() -> DeviceInfo {
    DeviceInfo {
        id: DEVICE_ID.into(),
        vendor: "Scanwire".into(),
        model: MODEL.into(),
        driver: DEVICE_ID,
    }
}

impl Driver for VirtualDriver {
    fn name(&self) -> &'static str {
        DEVICE_ID
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        Ok(vec![info()])
    }

    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError> {
        if id == DEVICE_ID {
            Ok(Box::new(VirtualDevice::new()))
        } else {
            Err(DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!("no device \"{id}\" in the virtual driver; it has one: {DEVICE_ID}"),
            ))
        }
    }
}

/// The virtual scanner: flatbed, feeder and duplex feeder, rendering a test chart per page.
/// It keeps no state between scans, so the same request always gives the same bytes.
#[derive(Debug, Default)]
pub struct VirtualDevice {
    _private: (),
}

impl VirtualDevice {
    /// A device, as `VirtualDriver::open("virtual")` gives it.
    pub fn new() -> Self {
        VirtualDevice { _private: () }
    }
}

impl Device for VirtualDevice {
    fn info(&self) -> DeviceInfo {
        info()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(options::capabilities())
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        options::device_options()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        // Everything the user gave is checked before the first callback call.
        let geometry = PageGeometry::for_request(request)?;
        let opts = VirtualOptions::parse(&request.options, request.source)?;
        opts.check(geometry.height)?;
        opts.check_dpi(geometry.dpi)?;
        let font = if sheet::fonts_needed(&opts) {
            Some(text::load_font()?)
        } else {
            None
        };
        let bpl = geometry.bytes_per_line().max(1);
        let mut band_rows = (BAND_BYTES / bpl).clamp(1, BAND_ROWS);
        if let Some(page_time) = opts.page_time() {
            let rows =
                u128::from(geometry.height) * PACED_BAND.as_nanos() / page_time.as_nanos().max(1);
            band_rows = band_rows.min(rows.max(1) as usize);
        }
        let mut scan = Scan {
            request,
            geometry,
            opts: &opts,
            cb,
            cancel,
            band: vec![0; band_rows * bpl],
            band_rows: band_rows as u32,
            font,
        };
        scan.run()
    }
}

/// What happens partway through a page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Event {
    MultiFeed,
    Jam,
    Panic,
    Hang,
    Crash,
}

/// One acquisition in progress.
struct Scan<'a> {
    request: &'a ScanRequest,
    geometry: PageGeometry,
    opts: &'a VirtualOptions,
    cb: &'a mut dyn MiniDrvTransferCallback,
    cancel: &'a CancelToken,
    band: Vec<u8>,
    band_rows: u32,
    /// The font of `content=text` pages, loaded once before the first page.
    font: Option<FontVec>,
}

impl Scan<'_> {
    fn run(&mut self) -> AcquireResult {
        if self.opts.offline {
            return Err(Fault::Offline.error());
        }
        if self.opts.cover_open {
            // Recoverable: an error handler answering S_OK means the user closed the cover.
            match self.report(Fault::CoverOpen, 0)? {
                Some(Flow::Continue) => {}
                Some(Flow::Cancelled) => return Ok(Completion::Cancelled),
                None => return Err(Fault::CoverOpen.error()),
            }
        }
        let plan = feeder::plan(self.request.source, self.request.pages, self.opts.sheets)
            .map_err(|f| f.error())?;
        if self.warm_up()? == Flow::Cancelled {
            return Ok(Completion::Cancelled);
        }
        for slot in plan.pages {
            if self.page(slot)? == Flow::Cancelled {
                return Ok(Completion::Cancelled);
            }
        }
        Ok(plan.completion)
    }

    /// Sends DEVICE_STATUS with a fault's code. `Some(Continue)`: a handler answered S_OK;
    /// `Some(Cancelled)`: S_FALSE; `None`: the fault itself came back (nobody handled it).
    /// Any other error is passed on as is.
    fn report(&mut self, fault: Fault, percent: i32) -> Result<Option<Flow>, DeviceError> {
        match self.cb.device_status(fault.hresult(), percent) {
            Ok(flow) => Ok(Some(flow)),
            Err(hr) if hr == fault.hresult() => Ok(None),
            Err(hr) => Err(callback_failed(
                hr,
                format!("the error handler answered {hr} to {}", fault.hresult()),
            )),
        }
    }

    fn warm_up(&mut self) -> Result<Flow, DeviceError> {
        const STEPS: u32 = 10;
        let total = self.opts.warmup;
        if total.is_zero() {
            return Ok(Flow::Continue);
        }
        for i in 0..=STEPS {
            let pct = (i * 100 / STEPS) as i32;
            match self.cb.device_status(wia::WIA_STATUS_WARMING_UP, pct) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Cancelled) => return Ok(Flow::Cancelled),
                Err(hr) => return Err(callback_failed(hr, "warming up")),
            }
            if i < STEPS && self.cancel.sleep(total / STEPS) {
                return Ok(Flow::Cancelled);
            }
        }
        Ok(Flow::Continue)
    }

    /// The first scripted event on page `number`, and the row it happens at.
    fn event(&self, number: u32) -> Option<(u32, Event)> {
        let o = self.opts;
        let mid = self.geometry.height / 2;
        let at = |page: Option<u32>| page == Some(number);
        [
            // A double feed is sensed as the sheet enters, before any row of it is read.
            at(o.multi_feed_at_page).then_some((0, Event::MultiFeed)),
            at(o.jam_at_page).then_some((o.jam_at_row.unwrap_or(mid), Event::Jam)),
            at(o.panic_at_page).then_some((mid, Event::Panic)),
            at(o.hang_at_page).then_some((mid, Event::Hang)),
            at(o.crash_at_page).then_some((o.crash_at_row.unwrap_or(mid), Event::Crash)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(row, _)| *row)
    }

    fn page(&mut self, slot: PageSlot) -> Result<Flow, DeviceError> {
        let geo = self.geometry;
        let source = self.request.source;
        let info = PageInfo {
            number: slot.number,
            sheet: slot.sheet,
            side: slot.side,
            source,
            data: geo.page_data(),
            dpi: (geo.dpi, geo.dpi),
        };
        if self.opts.crash_at_page == Some(slot.number) && self.opts.crash_at_row == Some(0) {
            // Between pages: the previous page is complete, this one not yet asked for.
            crash(self.opts.crash);
        }
        let mut stream = match self.cb.get_next_stream(0, &info) {
            NextStream::Stream(s) => Some(s),
            // Skipped: scanned all the same (the paper moves through), and discarded.
            NextStream::Skip => None,
            NextStream::Cancelled => return Ok(Flow::Cancelled),
            NextStream::Failed(hr) => {
                return Err(callback_failed(
                    hr,
                    format!("opening a stream for page {}", slot.number),
                ))
            }
        };
        // A generated page is drawn before its first row, as part of its scan time.
        let started = Instant::now();
        let painter = Painter::new(geo, source, slot, self.opts, self.font.as_ref())?;
        let event = self.event(slot.number);
        let bpl = geo.bytes_per_line();
        let mut y = 0;
        loop {
            if let Some((row, ev)) = event.filter(|(row, _)| *row == y) {
                return self.fire(ev, slot, row, stream);
            }
            if y >= geo.height {
                break;
            }
            let stop = event.map_or(geo.height, |(row, _)| row.min(geo.height));
            let rows = (stop - y).min(self.band_rows);
            let band = &mut self.band[..rows as usize * bpl];
            if let Some(s) = stream.as_mut() {
                // Rendered straight into the stream's memory where it has some to lend (a
                // driver host's page ring), else into the band and written from there.
                s.write_in_place(band, |out| {
                    painter.render_rows(y, out);
                    out.len()
                })
                .map_err(|hr| callback_failed(hr, format!("writing page {}", slot.number)))?;
                y += rows;
                let pct = (u64::from(y) * 100 / u64::from(geo.height)) as i32;
                match self.cb.progress(pct, s.bytes_written()) {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Cancelled) => return Ok(Flow::Cancelled),
                    Err(hr) => {
                        return Err(callback_failed(
                            hr,
                            format!("reporting progress of page {}", slot.number),
                        ))
                    }
                }
            } else {
                painter.render_rows(y, band);
                y += rows;
                if self.cancel.is_cancelled() {
                    return Ok(Flow::Cancelled);
                }
            }
            if self.pace(started, y) {
                return Ok(Flow::Cancelled);
            }
        }
        if let Some(s) = stream {
            s.finish();
        }
        Ok(Flow::Continue)
    }

    /// Waits until `rows` rows of the page are due at `ppm`. Returns true if cancelled.
    fn pace(&self, started: Instant, rows: u32) -> bool {
        let Some(page_time) = self.opts.page_time() else {
            return false;
        };
        let due = started + page_time.mul_f64(f64::from(rows) / f64::from(self.geometry.height));
        let now = Instant::now();
        due > now && self.cancel.sleep(due - now)
    }

    /// A scripted event at `row` of page `slot`. The page's stream (if any) is released
    /// incomplete when this returns.
    fn fire(
        &mut self,
        event: Event,
        slot: PageSlot,
        row: u32,
        stream: Option<StreamHandle>,
    ) -> Result<Flow, DeviceError> {
        let pct = (u64::from(row) * 100 / u64::from(self.geometry.height.max(1))) as i32;
        let fault = match event {
            Event::Jam => Fault::PaperJam {
                page: slot.number,
                row,
            },
            Event::MultiFeed => Fault::MultiFeed { page: slot.number },
            Event::Panic => panic!(
                "scripted driver panic at page {} row {row} (--set panic-at-page={})",
                slot.number, slot.number
            ),
            Event::Crash => crash(self.opts.crash),
            Event::Hang => {
                hang(self.cancel);
                drop(stream);
                return Ok(Flow::Cancelled);
            }
        };
        // As WIA drivers do: tell the error handlers, then fail with the fault whatever they
        // answer (the sheet is lost), unless they cancel or answer another error.
        let answer = self.report(fault.clone(), pct)?;
        drop(stream);
        match answer {
            Some(Flow::Cancelled) => Ok(Flow::Cancelled),
            Some(Flow::Continue) | None => Err(fault.error()),
        }
    }
}

/// Ends the whole process from a real signal, as a C backend does when it crashes (the
/// `crash-at-page` fault, for driver hosts): never returns, and nothing unwinds.
fn crash(how: Crash) -> ! {
    #[cfg(unix)]
    if how == Crash::Segv {
        use nix::sys::signal::{raise, Signal};
        loop {
            // Rust's runtime handles the first SIGSEGV (it looks for a stack overflow), finds
            // none and restores the default action; the next one ends the process.
            let _ = raise(Signal::SIGSEGV);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = how;
    std::process::abort()
}

/// Blocks like a driver stuck in I/O: cancel does not end it. Only after a cancel *and*
/// [`HANG_RELEASE`] does it return (the process exiting ends it too, as it is a plain sleep).
fn hang(cancel: &CancelToken) {
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if cancel.is_cancelled() && start.elapsed() >= HANG_RELEASE {
            return;
        }
    }
}
