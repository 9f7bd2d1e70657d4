//! Scans from the web page. A web scan is a transfer on the device exactly as an eSCL job's
//! is: it holds the device through the device entry (eSCL clients see it busy, and the page
//! sees their jobs), runs the core transfer decoupled (`transfer::spawn`), and takes its
//! pages through the page pipeline, whose destination hands each finished, processed page to
//! the document store ([`PageStore`]).
//!
//! ```text
//!  driver ─► relay ─► ProgressCell ──► progress thread ─► `status` events
//!                  └► Event queue ───► pump thread ─────► `device`, then `done`
//!            pipeline: page worker ─► [processing, OCR] ─► Capture (thumbnail) ─► PNG
//!                      ─► ToLibrary::keep_page ─► store.add_page ─► `page` event
//! ```
//!
//! Events are kept per scan (a late subscriber gets the history first) and sent as SSE.
//! STATUS is read from the relay's progress cell by a thread that sleeps on it (never by
//! asking the scanner): an event when the percent moves, at most one per [`STATUS_GAP`].

use super::devices::{parse_source, source_name};
use super::error::{json_status, parse_json};
use super::preview::find_device;
use super::store::{NewPage, PageStore, Pass};
use super::{Web, WebError};
use crate::device::{DeviceEntry, Holder};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use scanwire_codecs::{encode_page, EncodeError, EncodeOptions, Format, SliceSource, TextLayer};
use scanwire_core::device::{
    Area, ColorMode, Completion, DeviceErrorKind, Length, PageData, PageInfo, PixelFormat,
    ScanRequest, Side,
};
use scanwire_core::transfer::{self, CancelHandle, Event, Outcome, Progress, ProgressCell};
use scanwire_core::wia::{self, HResult};
use scanwire_imaging::{Blank, Crop, Processing, ProcessingReport, QuarterTurns, Sensitivity};
use scanwire_pipeline::{Destination, PageImage, Pipeline, PipelineOptions, Stage, StageError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Least time between two `status` events of a scan: a driver reports STATUS every few
/// rows, a progress bar needs far fewer.
const STATUS_GAP: Duration = Duration::from_millis(20);
/// Longest side of a page's thumbnail, in pixels.
pub(crate) const THUMBNAIL_SIDE: u32 = 256;

/// The scans the server knows: running ones, and the latest finished ones for their event
/// streams.
#[derive(Default)]
pub(crate) struct Scans(Mutex<VecDeque<Arc<Scan>>>);

impl Scans {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Arc<Scan>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, scan: Arc<Scan>, keep: usize) {
        let mut q = self.lock();
        q.push_back(scan);
        let mut finished = q.iter().filter(|s| !s.is_active()).count();
        q.retain(|s| {
            if finished > keep && !s.is_active() {
                finished -= 1;
                false
            } else {
                true
            }
        });
    }

    fn get(&self, id: &str) -> Result<Arc<Scan>, WebError> {
        self.lock()
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or_else(|| WebError::not_found(format!("there is no scan {id:?}")))
    }
}

pub(super) fn routes(web: &Arc<Web>) -> Router {
    Router::new()
        .route("/scans", post(create))
        .route("/scans/{id}", axum::routing::delete(cancel))
        .route("/scans/{id}/events", get(events))
        .with_state(web.clone())
}

/// POST /api/scans's body (the contract's fields).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    device: Option<String>,
    source: Option<String>,
    mode: Option<String>,
    resolution: Option<u32>,
    area_mm: Option<AreaMm>,
    processing: Option<ProcessingBody>,
    ocr: Option<bool>,
    document: Option<String>,
    duplex_pass: Option<String>,
    preset: Option<String>,
}

/// The fields a preset's settings may give.
const PRESET_FIELDS: [&str; 7] = [
    "source",
    "mode",
    "resolution",
    "area_mm",
    "processing",
    "ocr",
    "duplex_pass",
];

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct AreaMm {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProcessingBody {
    deskew: Option<bool>,
    crop: Option<String>,
    blank: Option<String>,
    sensitivity: Option<u32>,
    rotate: Option<i32>,
    brightness: Option<i32>,
    contrast: Option<i32>,
}

/// A checked scan request.
struct Plan {
    dev: Arc<DeviceEntry>,
    request: ScanRequest,
    /// What Scanwire's own stage does (the device's part is in the request).
    local: Processing,
    ocr: bool,
    document: Option<String>,
    pass: Option<Pass>,
    preset: Option<String>,
}

/// The body with a preset's settings under it: a field the body gives (not null) wins.
fn merge_preset(web: &Web, mut body: Value) -> Result<Value, WebError> {
    let Some(name) = body
        .get("preset")
        .and_then(|p| p.as_str())
        .map(str::to_string)
    else {
        return Ok(body);
    };
    let preset = web
        .library
        .preset(&name)
        .ok_or_else(|| WebError::not_found(format!("there is no preset {name:?}")))?;
    let obj = body
        .as_object_mut()
        .ok_or_else(|| WebError::bad_request("the request body must be a JSON object"))?;
    if let Some(settings) = preset.get("settings").and_then(|s| s.as_object()) {
        for (k, v) in settings {
            if !PRESET_FIELDS.contains(&k.as_str()) {
                continue;
            }
            if obj.get(k).is_none_or(|x| x.is_null()) {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(dev) = preset.get("device").filter(|d| !d.is_null()) {
        if obj.get("device").is_none_or(|x| x.is_null()) {
            obj.insert("device".into(), dev.clone());
        }
    }
    Ok(body)
}

fn plan(web: &Web, body: &[u8]) -> Result<Plan, WebError> {
    let value: Value = parse_json(body)?;
    if !value.is_object() {
        return Err(WebError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let value = merge_preset(web, value)?;
    let b: ScanBody = serde_json::from_value(value)
        .map_err(|e| WebError::bad_request(format!("the scan request is not valid: {e}")))?;
    let dev = match &b.device {
        Some(d) => find_device(web, d)?,
        None => web.server.default_device(),
    };
    let model = &dev.make_and_model;
    let caps = &dev.caps;
    let source = match b.source.as_deref() {
        None => caps
            .default_source()
            .ok_or_else(|| WebError::invalid(format!("{model} has no source")))?,
        Some(s) => parse_source(s).ok_or_else(|| {
            WebError::bad_request(format!(
                "source {s:?} is not known; allowed: flatbed, feeder, duplex"
            ))
        })?,
    };
    let sc = caps.source(source).ok_or_else(|| {
        let have: Vec<&str> = caps.sources.iter().map(|s| source_name(s.source)).collect();
        WebError::invalid(format!(
            "{model} has no {} source; it has: {}",
            source_name(source),
            have.join(", ")
        ))
    })?;
    let mode = match b.mode.as_deref() {
        None => *sc
            .modes
            .first()
            .ok_or_else(|| WebError::invalid(format!("{model} offers no colour mode")))?,
        Some(m) => m.parse::<ColorMode>().map_err(|_| {
            WebError::bad_request(format!(
                "mode {m:?} is not known; allowed: color, gray, lineart"
            ))
        })?,
    };
    let resolution = match b.resolution {
        Some(r) => r,
        None => sc.resolutions.nearest(300).unwrap_or(300),
    };
    let area = b.area_mm.map(|a| -> Result<Area, WebError> {
        for (what, v) in [("x", a.x), ("y", a.y), ("w", a.w), ("h", a.h)] {
            if !v.is_finite() || v < 0.0 {
                return Err(WebError::bad_request(format!(
                    "area_mm.{what} is {v}; it must be a number of millimetres, 0 or more"
                )));
            }
        }
        Ok(Area {
            left: Length::from_mm(a.x),
            top: Length::from_mm(a.y),
            width: Length::from_mm(a.w),
            height: Length::from_mm(a.h),
        })
    });
    let area = area.transpose()?;
    let processing = processing(b.processing.unwrap_or_default())?;
    processing
        .validate()
        .map_err(|e| WebError::invalid(e.to_string()))?;
    let (on_device, local) = processing.split(&caps.processing);
    let request = ScanRequest {
        source,
        mode,
        resolution,
        area,
        pages: None,
        encoding: None,
        options: dev.options.clone(),
        processing: on_device,
    };
    request
        .validate(caps)
        .map_err(|e| WebError::invalid(e.to_string()))?;
    let limits = &web.server.config().limits;
    let a = request.effective_area(caps).unwrap_or_default();
    let (w, h) = (
        a.width.to_pixels(resolution),
        a.height.to_pixels(resolution),
    );
    let bytes = PixelFormat::for_mode(mode).bytes_per_line(w) as u64 * h as u64;
    if bytes > limits.max_page_bytes {
        return Err(WebError::invalid(format!(
            "a {w} x {h} pixel {mode} page is {bytes} bytes, more than this server's limit of {} bytes; choose a lower resolution or a smaller area",
            limits.max_page_bytes
        )));
    }
    let ocr = b.ocr.unwrap_or(false);
    if ocr && web.server.config().job_stages.is_none() {
        return Err(WebError::invalid(
            "OCR is not available on this server (start it with serve --ocr LANGS)",
        ));
    }
    let pass = match b.duplex_pass.as_deref() {
        None => None,
        Some("fronts") => Some(Pass::Fronts),
        Some("backs") => Some(Pass::Backs),
        Some(p) => {
            return Err(WebError::bad_request(format!(
                "duplex_pass {p:?} is not known; allowed: fronts, backs, or null"
            )))
        }
    };
    if let Some(doc) = &b.document {
        if !web.library.has_document(doc) {
            return Err(WebError::not_found(format!("there is no document {doc:?}")));
        }
    }
    Ok(Plan {
        dev,
        request,
        local,
        ocr,
        document: b.document,
        pass,
        preset: b.preset,
    })
}

fn processing(p: ProcessingBody) -> Result<Processing, WebError> {
    let crop = match p.crop.as_deref() {
        None | Some("off") => Crop::Off,
        Some("paper") => Crop::Paper,
        Some("photos") => Crop::Photos,
        Some(c) => {
            return Err(WebError::bad_request(format!(
                "processing.crop {c:?} is not known; allowed: off, paper, photos"
            )))
        }
    };
    let blank = match p.blank.as_deref() {
        None | Some("keep") => Blank::Keep,
        Some("skip") => Blank::Skip,
        Some(b) => {
            return Err(WebError::bad_request(format!(
                "processing.blank {b:?} is not known; allowed: keep, skip"
            )))
        }
    };
    let sensitivity = match p.sensitivity {
        None => Sensitivity::default(),
        Some(s) => Sensitivity::new(s).map_err(|e| WebError::invalid(e.to_string()))?,
    };
    let rotate = QuarterTurns::from_degrees(p.rotate.unwrap_or(0))
        .map_err(|e| WebError::invalid(format!("processing.rotate: {e}")))?;
    Ok(Processing {
        brightness: p.brightness.unwrap_or(0),
        contrast: p.contrast.unwrap_or(0),
        rotate,
        deskew: p.deskew.unwrap_or(false),
        crop,
        blank,
        sensitivity,
    })
}

async fn create(State(web): State<Arc<Web>>, body: Bytes) -> Result<Response, WebError> {
    web.server.sweep();
    // The store reads and writes files: not on the runtime's threads.
    tokio::task::spawn_blocking(move || create_blocking(&web, &body))
        .await
        .map_err(|e| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "failed", e.to_string()))?
}

fn create_blocking(web: &Arc<Web>, body: &[u8]) -> Result<Response, WebError> {
    let plan = plan(web, body)?;
    let scan = Arc::new(Scan {
        id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        document: Mutex::new(String::new()),
        dev: plan.dev.clone(),
        cancel: CancelHandle::new(),
        active: AtomicBool::new(true),
        page: AtomicU32::new(0),
        log: Mutex::new(Log::default()),
        changed: watch::channel(0).0,
        library: web.library.clone(),
        pass: plan.pass,
        extras: Mutex::new(HashMap::new()),
        report: ProcessingReport::new(),
        stored: AtomicU32::new(0),
        started: Instant::now(),
        held_document: Mutex::new(None),
    });
    let holder: Arc<dyn Holder> = scan.clone();
    plan.dev.hold(holder.clone()).map_err(WebError::from)?;
    // Only now: a refused scan leaves no empty document behind.
    let document = match &plan.document {
        Some(d) => d.clone(),
        None => match web.library.create_document(None, plan.preset.as_deref()) {
            Ok(d) => d,
            Err(e) => {
                scan.active.store(false, Ordering::Release);
                plan.dev.release(&holder, &not_run());
                return Err(WebError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store",
                    e.to_string(),
                ));
            }
        },
    };
    *scan.document.lock().unwrap_or_else(|p| p.into_inner()) = document.clone();
    *scan.held_document.lock().unwrap_or_else(|p| p.into_inner()) =
        web.library.hold_document(&document);
    web.scans.add(scan.clone(), web.config.scans_kept);
    if let Err(e) = scan.start(web, &plan, holder.clone()) {
        scan.finish_unstarted(&holder, e);
    }
    Ok(json_status(
        StatusCode::CREATED,
        json!({
            "scan": scan.id,
            "document": document,
            "events": format!("/api/scans/{}/events", scan.id),
        }),
    ))
}

async fn cancel(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Result<Response, WebError> {
    let scan = web.scans.get(&id)?;
    scan.cancel.cancel();
    Ok(json_status(
        StatusCode::ACCEPTED,
        json!({"scan": scan.id, "cancelling": scan.is_active()}),
    ))
}

async fn events(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let scan = web.scans.get(&id)?;
    // EventSource reconnects with the last id it saw: go on from there.
    let from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(0, |n| n + 1);
    let rx = scan.changed.subscribe();
    let stream = futures_util::stream::unfold(
        (scan, rx, from, false),
        |(scan, mut rx, mut next, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let item = {
                    let g = scan.lock_log();
                    match g.events.get(next) {
                        Some((kind, data)) => Some((*kind, data.clone())),
                        None if g.done => return None,
                        None => None,
                    }
                };
                if let Some((kind, data)) = item {
                    let ev = SseEvent::default()
                        .event(kind)
                        .id(next.to_string())
                        .data(data);
                    next += 1;
                    let ended = kind == "done";
                    return Some((Ok::<_, Infallible>(ev), (scan, rx, next, ended)));
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Not buffered by a proxy in between.
    r.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(r)
}

/// One scan's event history.
#[derive(Default)]
struct Log {
    events: Vec<(&'static str, String)>,
    done: bool,
}

/// What the capture stage learned of a page before it was encoded.
struct Extra {
    thumbnail: Vec<u8>,
    text: Option<Arc<TextLayer>>,
}

/// One web scan.
pub(crate) struct Scan {
    pub id: String,
    document: Mutex<String>,
    dev: Arc<DeviceEntry>,
    pub cancel: CancelHandle,
    active: AtomicBool,
    /// The page the driver is on.
    page: AtomicU32,
    log: Mutex<Log>,
    changed: watch::Sender<u64>,
    library: Arc<dyn PageStore>,
    pass: Option<Pass>,
    /// Thumbnails and text of processed pages not yet stored, by (sheet, back side): the
    /// pipeline renumbers pages after its stages, the sheet and side stay.
    extras: Mutex<HashMap<(u32, bool), VecDeque<Extra>>>,
    report: Arc<ProcessingReport>,
    stored: AtomicU32,
    started: Instant,
    /// The store's guard keeping the document while pages are added.
    held_document: Mutex<Option<Box<dyn Send + Sync>>>,
}

impl Holder for Scan {
    fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    fn doing(&self) -> String {
        match self.page.load(Ordering::Relaxed) {
            0 => "starting a scan for the web page".into(),
            n => format!("scanning page {n} for the web page"),
        }
    }
}

impl Scan {
    fn lock_log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn document(&self) -> String {
        self.document
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records an event and wakes the subscribers. Nothing after `done`.
    fn push(&self, kind: &'static str, data: Value) {
        {
            let mut g = self.lock_log();
            if g.done {
                return;
            }
            g.events.push((kind, data.to_string()));
            if kind == "done" {
                g.done = true;
            }
        }
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Starts the transfer and its readers.
    fn start(
        self: &Arc<Self>,
        web: &Web,
        plan: &Plan,
        holder: Arc<dyn Holder>,
    ) -> Result<(), String> {
        let config = web.server.config();
        let mut stages = self.local_stages(&plan.local);
        if plan.ocr {
            if let Some(extra) = &config.job_stages {
                // The OCR stages `serve --ocr` gives PDF jobs: the store makes searchable PDFs.
                stages.extend(extra.stages(Format::Pdf, &self.cancel));
            }
        }
        stages.push(Arc::new(Capture {
            scan: Arc::downgrade(self),
        }));
        let done_hook: scanwire_pipeline::PageDone = {
            let scan = Arc::downgrade(self);
            Arc::new(move |page: &PageInfo, hr: HResult| {
                if let Some(s) = scan.upgrade() {
                    s.page_settled(page, hr);
                }
            })
        };
        let opts = PipelineOptions {
            encode: config.encode.clone(),
            stages,
            // Pages are held whole while processed: one per core and one being scanned.
            pages_in_flight: Some(std::thread::available_parallelism().map_or(1, |n| n.get()) + 1),
            cancel: Some(self.cancel.clone()),
            direct: false,
            page_done: Some(done_hook),
            ..PipelineOptions::new(Format::Png)
        };
        let pipeline = Pipeline::new(
            ToLibrary {
                scan: Arc::downgrade(self),
            },
            opts,
        )
        .map_err(|e| e.to_string())?;
        let t = transfer::spawn(
            &self.dev.shared,
            &plan.request,
            Box::new(pipeline.clone()),
            None,
            &self.cancel,
            &config.transfer,
        );
        let progress = t.progress.clone();
        let scan = self.clone();
        std::thread::Builder::new()
            .name("scanwire-web-progress".into())
            .spawn(move || scan.read_progress(&progress))
            .map_err(|e| format!("cannot start the progress thread: {e}"))?;
        let scan = self.clone();
        let events = t.events;
        std::thread::Builder::new()
            .name("scanwire-web-scan".into())
            .spawn(move || scan.pump(events, pipeline, holder))
            .map(|_| ())
            .map_err(|e| {
                self.cancel.cancel();
                format!("cannot start the scan's thread: {e}")
            })
    }

    fn local_stages(&self, local: &Processing) -> scanwire_pipeline::Stages {
        self.report.run_here(*local);
        local.stages(&self.report).unwrap_or_default()
    }

    /// The scan could not start: free the device, say so.
    fn finish_unstarted(&self, holder: &Arc<dyn Holder>, why: String) {
        self.active.store(false, Ordering::Release);
        self.dev.release(holder, &not_run());
        self.held_document
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.push(
            "done",
            json!({"outcome": "failed", "pages": 0, "message": why}),
        );
    }

    /// STATUS as it changes, from the relay's progress cell (sleeping on it).
    fn read_progress(&self, cell: &ProgressCell) {
        let mut last = Progress::default();
        let mut sent = Progress::default();
        while self.is_active() {
            let now = cell.wait_change(last, Duration::from_millis(100));
            if now == last {
                continue;
            }
            last = now;
            if now.page == 0 || !self.is_active() {
                continue;
            }
            // An event per percent moved (and the page's first bytes): the history a late
            // subscriber replays stays about a hundred events a page, however long the scan.
            let moved = (now.page, now.percent) != (sent.page, sent.percent)
                || (sent.bytes == 0 && now.bytes > 0);
            if !moved {
                continue;
            }
            sent = now;
            self.page.store(now.page, Ordering::Relaxed);
            self.push(
                "status",
                json!({"page": now.page, "percent": now.percent, "bytes": now.bytes}),
            );
            // Not after a page's start: its first STATUS follows at once and is the one a
            // person waits to see move.
            if now.bytes > 0 {
                std::thread::sleep(STATUS_GAP);
            }
        }
    }

    /// The transfer's structural events until it ends; then the pages settle and `done`.
    fn pump(
        self: Arc<Self>,
        events: std::sync::mpsc::Receiver<Event>,
        pipeline: Pipeline<ToLibrary>,
        holder: Arc<dyn Holder>,
    ) {
        let mut outcome = None;
        for ev in events.iter() {
            match ev {
                Event::Stream(p) => {
                    self.page.store(p.number, Ordering::Relaxed);
                    // "scanning page N" for the device list.
                    self.dev.notify();
                }
                Event::DeviceStatus { status, percent } => self.device_status(status, percent),
                Event::Finished(o) => {
                    outcome = Some(o);
                    break;
                }
                _ => {}
            }
        }
        let outcome = outcome.unwrap_or_else(|| Outcome {
            result: wia::E_UNEXPECTED,
            error: Some(scanwire_core::device::DeviceError::new(
                DeviceErrorKind::Internal,
                "the transfer ended without an outcome",
            )),
            ..not_run()
        });
        // The device is free as soon as the driver is done; pages may still be processed.
        self.active.store(false, Ordering::Release);
        self.dev.release(&holder, &outcome);
        let report = pipeline.finish(outcome.result);
        let pages = self.stored.load(Ordering::Relaxed);
        let cancelled =
            self.cancel.is_cancelled() || matches!(outcome.completion(), Ok(Completion::Cancelled));
        let (kind, mut message) = if cancelled {
            (
                "cancelled",
                format!("Cancelled; {} kept", pages_word(pages)),
            )
        } else if let Err(e) = outcome.completion() {
            ("failed", format!("{e}; {} kept", pages_word(pages)))
        } else if let Some(e) = report.errors.first() {
            ("failed", format!("a page could not be stored: {}", e.error))
        } else {
            let secs = self.started.elapsed().as_secs_f32();
            (
                "completed",
                format!("{} scanned in {secs:.1} s", pages_word(pages)),
            )
        };
        // A preset that archives: the finished document lands in the archive folder before
        // `done` (and while still held, so nothing evicts it meanwhile).
        let archived = match kind {
            "completed" => match self.library.scan_completed(&self.document()) {
                Ok(file) => file,
                Err(e) => {
                    message = format!("{message}; not archived: {e}");
                    None
                }
            },
            _ => None,
        };
        self.held_document
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.push(
            "done",
            json!({"outcome": kind, "pages": pages, "message": message, "archived": archived}),
        );
    }

    fn device_status(&self, status: HResult, percent: i32) {
        let page = self.page.load(Ordering::Relaxed).max(1);
        let (code, message) = device_words(status, percent, page);
        self.push(
            "device",
            json!({"code": code, "message": message, "percent": percent}),
        );
    }

    /// A driver page is settled: a blank page a stage dropped is reported.
    fn page_settled(&self, page: &PageInfo, hr: HResult) {
        if hr != wia::S_OK {
            return;
        }
        let Some(f) = self.report.page(page.number) else {
            return;
        };
        if f.outputs == 0 && f.blank.is_some_and(|b| b.blank) {
            self.push("discarded", json!({"page": page.number, "reason": "blank"}));
        }
    }

    /// A processed, encoded page: to the store, then the `page` event.
    fn store(&self, page: &PageInfo, png: Vec<u8>) -> Result<(), EncodeError> {
        let key = (page.sheet, page.side == Side::Back);
        let extra = self
            .extras
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&key)
            .and_then(|q| q.pop_front());
        let Some(extra) = extra else {
            return Err(EncodeError::io("the page's thumbnail")(
                std::io::Error::other("the capture stage saw no such page"),
            ));
        };
        let (width, height) = match page.data {
            PageData::Raster { width, height, .. } => (width, height.unwrap_or(0)),
            PageData::Encoded(_) => (0, 0),
        };
        let doc = self.document();
        let id = self
            .library
            .add_page(
                &doc,
                NewPage {
                    png,
                    thumbnail: extra.thumbnail,
                    width_px: width,
                    height_px: height,
                    dpi: page.dpi.0,
                    pass: self.pass,
                    text: extra.text,
                },
            )
            .map_err(|e| {
                EncodeError::io("the document store")(std::io::Error::other(e.to_string()))
            })?;
        self.stored.fetch_add(1, Ordering::Relaxed);
        self.push(
            "page",
            json!({
                "page": page.number,
                "page_id": id,
                "thumbnail": format!("/api/documents/{doc}/pages/{id}/thumbnail.jpg"),
                "width_px": width,
                "height_px": height,
            }),
        );
        Ok(())
    }
}

fn pages_word(n: u32) -> String {
    if n == 1 {
        "1 page".into()
    } else {
        format!("{n} pages")
    }
}

fn not_run() -> Outcome {
    Outcome {
        result: wia::S_FALSE,
        error: None,
        pages: 0,
        incomplete: 0,
        skipped: 0,
        violations: Vec::new(),
    }
}

/// DEVICE_STATUS in words: a code the page can act on and a sentence.
pub(crate) fn device_words(status: HResult, percent: i32, page: u32) -> (&'static str, String) {
    if status == wia::WIA_STATUS_WARMING_UP {
        return if percent >= 100 {
            ("lamp_warm", "The lamp is warm".into())
        } else {
            ("warming_up", format!("Warming up ({percent} %)"))
        };
    }
    if status == wia::WIA_STATUS_CALIBRATING {
        return ("calibrating", "Calibrating".into());
    }
    if !status.is_failure() {
        return ("ready", "Ready".into());
    }
    match DeviceErrorKind::from_hresult(status) {
        DeviceErrorKind::PaperJam => ("paper_jam", format!("Paper jam on page {page}")),
        DeviceErrorKind::FeederEmpty => ("feeder_empty", "The feeder is empty".into()),
        DeviceErrorKind::MultiFeed => (
            "multi_feed",
            format!("Two sheets were pulled in at once on page {page}"),
        ),
        DeviceErrorKind::PaperProblem => {
            ("paper_problem", format!("A paper problem on page {page}"))
        }
        DeviceErrorKind::CoverOpen => ("cover_open", "The cover is open".into()),
        DeviceErrorKind::LampOff => ("lamp_off", "The lamp is off".into()),
        DeviceErrorKind::Busy => ("busy", "The scanner is busy".into()),
        DeviceErrorKind::WarmingUp => ("warming_up", "Warming up".into()),
        DeviceErrorKind::Offline => ("offline", "The scanner does not answer".into()),
        DeviceErrorKind::Communication => (
            "communication",
            "The connection to the scanner failed".into(),
        ),
        other => ("error", format!("{other}")),
    }
}

/// The last stage: a page's thumbnail (on the page's worker, while the next page scans) and
/// its text, put aside for [`ToLibrary`].
struct Capture {
    scan: Weak<Scan>,
}

impl Stage for Capture {
    fn name(&self) -> &str {
        "web-thumbnail"
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let Some(scan) = self.scan.upgrade() else {
            return Ok(vec![page]);
        };
        let thumbnail =
            thumbnail_jpeg(&page).map_err(|e| StageError::new(self.name(), e.to_string()))?;
        scan.extras
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((page.page.sheet, page.page.side == Side::Back))
            .or_default()
            .push_back(Extra {
                thumbnail,
                text: page.text.clone(),
            });
        Ok(vec![page])
    }
}

/// A small JPEG of a page, its longest side at most [`THUMBNAIL_SIDE`]: each pixel the
/// mean of 4 x 4 samples spread over its block (enough against aliasing in a thumbnail, and
/// a fixed cost whatever the resolution).
pub(crate) fn thumbnail_jpeg(page: &PageImage) -> Result<Vec<u8>, EncodeError> {
    let (pixel, width, height) = page.layout();
    let long = width.max(height).max(1);
    let factor = long.div_ceil(THUMBNAIL_SIDE).max(1);
    let (tw, th) = ((width / factor).max(1), (height / factor).max(1));
    let color = pixel.channels() == 3;
    let bpl = pixel.bytes_per_line(width);
    let sample = |x: u32, y: u32| -> [u8; 3] {
        let x = x.min(width.saturating_sub(1)) as usize;
        let y = y.min(height.saturating_sub(1)) as usize;
        let row = &page.data[y * bpl..];
        match pixel {
            PixelFormat::BlackAndWhite1 => {
                let v = if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                    0
                } else {
                    255
                };
                [v; 3]
            }
            PixelFormat::Gray8 => [row[x]; 3],
            PixelFormat::Gray16 => [row[2 * x]; 3],
            PixelFormat::Rgb8 => [row[3 * x], row[3 * x + 1], row[3 * x + 2]],
            PixelFormat::Rgb16 => [row[6 * x], row[6 * x + 2], row[6 * x + 4]],
        }
    };
    let steps = factor.min(4);
    let mut out = Vec::with_capacity((tw * th * if color { 3 } else { 1 }) as usize);
    if page.data.len() < bpl * height as usize {
        return Err(EncodeError::Unsupported(
            "the page is shorter than its size".into(),
        ));
    }
    for ty in 0..th {
        for tx in 0..tw {
            let mut acc = [0u32; 3];
            for sy in 0..steps {
                for sx in 0..steps {
                    let x = tx * factor + (2 * sx + 1) * factor / (2 * steps);
                    let y = ty * factor + (2 * sy + 1) * factor / (2 * steps);
                    let s = sample(x, y);
                    for c in 0..3 {
                        acc[c] += s[c] as u32;
                    }
                }
            }
            let n = steps * steps;
            if color {
                out.extend(acc.iter().map(|a| (a / n) as u8));
            } else {
                out.push((acc[0] / n) as u8);
            }
        }
    }
    let info = PageInfo {
        data: PageData::Raster {
            pixel: if color {
                PixelFormat::Rgb8
            } else {
                PixelFormat::Gray8
            },
            width: tw,
            height: Some(th),
        },
        dpi: (
            (page.page.dpi.0 / factor).max(1),
            (page.page.dpi.1 / factor).max(1),
        ),
        ..page.page.clone()
    };
    let opts = EncodeOptions {
        jpeg_quality: 80,
        threads: 1,
        ..EncodeOptions::default()
    };
    let mut src = SliceSource::new(&out, 1 << 20);
    encode_page(Format::Jpeg, &info, &opts, &mut src, Vec::new())
}

/// The pipeline's destination: each encoded page to the scan's document.
struct ToLibrary {
    scan: Weak<Scan>,
}

impl Destination for ToLibrary {
    type Page = Vec<u8>;
    type Document = Cursor<Vec<u8>>;

    fn open_page(&self, _page: &PageInfo) -> Result<Vec<u8>, EncodeError> {
        Ok(Vec::new())
    }

    fn keep_page(&self, page: &PageInfo, out: Vec<u8>) -> Result<(), EncodeError> {
        match self.scan.upgrade() {
            Some(scan) => scan.store(page, out),
            None => Ok(()),
        }
    }

    fn drop_page(&self, page: &PageInfo, _out: Vec<u8>, _why: &EncodeError) {
        // Its thumbnail will not be used.
        if let Some(scan) = self.scan.upgrade() {
            let key = (page.sheet, page.side == Side::Back);
            if let Some(q) = scan
                .extras
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&key)
            {
                q.pop_front();
            }
        }
    }

    fn open_document(&self) -> Result<Cursor<Vec<u8>>, EncodeError> {
        Err(EncodeError::Unsupported(
            "web scans store pages one by one (PNG)".into(),
        ))
    }

    fn keep_document(
        &self,
        _doc: Cursor<Vec<u8>>,
        _pages: u32,
        _t: HResult,
    ) -> Result<bool, EncodeError> {
        Ok(false)
    }

    fn drop_document(&self, _why: &EncodeError) {}
}
