//! Preview (WIA's IWiaPreview idea): a fast low-resolution scan of the whole glass, and
//! where the paper and the photos on it are, in millimetres, so the page can draw them and
//! let the user drag a region for the real scan.
//!
//! The scan holds the device like any job (busy for eSCL clients meanwhile); its page is
//! kept whole (a 100 dpi A4 colour page is about 2.5 MB) to run `scanwire_imaging`'s
//! detectors on, and as a PNG for the page to show.

use super::devices::{parse_source, source_name};
use super::error::{json, parse_json};
use super::{Web, WebError};
use crate::device::{DeviceEntry, Holder};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use scanwire_codecs::Format;
use scanwire_core::device::{ColorMode, DeviceErrorKind, PageData, ScanRequest, Source};
use scanwire_core::transfer::{self, CancelHandle, Event, Outcome};
use scanwire_imaging::{detect_paper, segment_photos, Image, Region};
use scanwire_pipeline::{Memory, PageImage, Pipeline, PipelineOptions, Stage, StageError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Previews kept for the page to fetch (the newest).
const KEPT: usize = 8;
/// The highest resolution a preview scans at.
const PREVIEW_DPI: u32 = 100;

/// The latest previews' PNGs, by id.
#[derive(Default)]
pub(crate) struct Previews(Mutex<VecDeque<(String, Arc<Vec<u8>>)>>);

impl Previews {
    fn put(&self, id: String, png: Vec<u8>) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        q.push_back((id, Arc::new(png)));
        while q.len() > KEPT {
            q.pop_front();
        }
    }

    fn get(&self, id: &str) -> Option<Arc<Vec<u8>>> {
        let q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().find(|(i, _)| i == id).map(|(_, p)| p.clone())
    }
}

pub(super) fn routes(web: &Arc<Web>) -> Router {
    Router::new()
        .route("/devices/{segment}/preview", post(preview))
        .route("/previews/{file}", get(image))
        .with_state(web.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    source: Option<String>,
}

/// The device a path segment or id names.
pub(super) fn find_device(web: &Web, name: &str) -> Result<Arc<DeviceEntry>, WebError> {
    web.server
        .devices()
        .iter()
        .find(|d| d.segment == name || d.id == name)
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = web
                .server
                .devices()
                .iter()
                .map(|d| d.segment.as_str())
                .collect();
            WebError::not_found(format!(
                "there is no device {name:?}; served: {}",
                names.join(", ")
            ))
        })
}

/// Holds the device while a preview scans.
struct PreviewHold(AtomicBool);

impl Holder for PreviewHold {
    fn is_active(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn doing(&self) -> String {
        "making a preview for the web page".into()
    }
}

async fn preview(
    State(web): State<Arc<Web>>,
    Path(segment): Path<String>,
    body: Bytes,
) -> Result<Response, WebError> {
    web.server.sweep();
    let dev = find_device(&web, &segment)?;
    let body: PreviewBody = parse_json(&body)?;
    let source = match body.source.as_deref() {
        None => dev
            .caps
            .source(Source::Flatbed)
            .or(dev.caps.sources.first())
            .map(|s| s.source)
            .ok_or_else(|| WebError::invalid(format!("{} has no source", dev.make_and_model)))?,
        Some(s) => parse_source(s).ok_or_else(|| {
            WebError::bad_request(format!(
                "source {s:?} is not known; allowed: flatbed, feeder, duplex"
            ))
        })?,
    };
    let Some(sc) = dev.caps.source(source) else {
        let have: Vec<&str> = dev
            .caps
            .sources
            .iter()
            .map(|s| source_name(s.source))
            .collect();
        return Err(WebError::invalid(format!(
            "{} has no {} source; it has: {}",
            dev.make_and_model,
            source_name(source),
            have.join(", ")
        )));
    };
    let allowed = sc.resolutions.to_discrete();
    let dpi = allowed
        .iter()
        .copied()
        .filter(|d| *d <= PREVIEW_DPI)
        .max()
        .or_else(|| allowed.iter().copied().min())
        .or_else(|| sc.resolutions.nearest(PREVIEW_DPI))
        .ok_or_else(|| WebError::invalid(format!("{} offers no resolution", dev.make_and_model)))?;
    let mode = [ColorMode::Color, ColorMode::Gray]
        .into_iter()
        .find(|m| sc.modes.contains(m))
        .or(sc.modes.first().copied())
        .ok_or_else(|| {
            WebError::invalid(format!("{} offers no colour mode", dev.make_and_model))
        })?;
    let request = ScanRequest {
        source,
        mode,
        resolution: dpi,
        area: None,
        // One sheet's side from a feeder; the glass is one page anyway.
        pages: source.is_feeder().then_some(1),
        options: dev.options.clone(),
        ..ScanRequest::default()
    };
    request
        .validate(&dev.caps)
        .map_err(|e| WebError::invalid(e.to_string()))?;
    let hold = Arc::new(PreviewHold(AtomicBool::new(true)));
    let holder: Arc<dyn Holder> = hold.clone();
    dev.hold(holder.clone()).map_err(WebError::from)?;
    let settings = web.server.config().transfer;
    let run = {
        let dev = dev.clone();
        tokio::task::spawn_blocking(move || {
            let r = scan(&dev, &request, &settings);
            hold.0.store(false, Ordering::Release);
            dev.release(&holder, &r.1);
            r
        })
    };
    let (page, outcome, png) = run.await.map_err(|e| {
        WebError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "failed",
            e.to_string(),
        )
    })?;
    let (Some(page), Some(png)) = (page, png) else {
        return Err(outcome_error(&dev, &outcome));
    };
    let (pixel, width, height) = page.layout();
    let dpi = page.page.dpi;
    let img = Image::new(pixel, width, height, dpi, page.data).map_err(|e| {
        WebError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "failed",
            e.to_string(),
        )
    })?;
    // The detectors are a few milliseconds at this resolution, but still not for the runtime.
    let found = tokio::task::spawn_blocking(move || {
        let paper = detect_paper(&img).ok().flatten();
        let photos = segment_photos(&img).unwrap_or_default();
        (paper, photos)
    })
    .await
    .unwrap_or((None, Vec::new()));
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    web.previews.put(id.clone(), png);
    let mm = |px: u32, d: u32| px as f64 * 25.4 / d.max(1) as f64;
    Ok(json(json!({
        "image": format!("/api/previews/{id}.png"),
        "width_px": width,
        "height_px": height,
        "dpi": dpi.0,
        "width_mm": round1(mm(width, dpi.0)),
        "height_mm": round1(mm(height, dpi.1)),
        "paper": found.0.map(|r| region_mm(&r, dpi)),
        "photos": found.1.iter().map(|r| region_mm(r, dpi)).collect::<Vec<_>>(),
    })))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A region found in the preview's pixels, in millimetres from the glass's top-left
/// corner: the unturned rectangle's corner and size, and its turn around its centre.
pub(super) fn region_mm(r: &Region, dpi: (u32, u32)) -> Value {
    let kx = 25.4 / dpi.0.max(1) as f64;
    let ky = 25.4 / dpi.1.max(1) as f64;
    let (w, h) = (r.size.0 * kx, r.size.1 * ky);
    json!({
        "x_mm": round1(r.center.0 * kx - w / 2.0),
        "y_mm": round1(r.center.1 * ky - h / 2.0),
        "w_mm": round1(w),
        "h_mm": round1(h),
        "angle_deg": (r.angle_deg * 100.0).round() / 100.0,
    })
}

/// The sentence for a preview that brought no page.
fn outcome_error(dev: &DeviceEntry, o: &Outcome) -> WebError {
    match &o.error {
        Some(e) if matches!(e.kind(), DeviceErrorKind::Busy | DeviceErrorKind::WarmingUp) => {
            WebError::busy(format!("{}: {e}", dev.make_and_model))
        }
        Some(e) => WebError::new(
            axum::http::StatusCode::CONFLICT,
            "device",
            format!("the preview failed: {e}"),
        ),
        None => WebError::new(
            axum::http::StatusCode::CONFLICT,
            "device",
            "the preview brought no page (is there paper in the feeder?)",
        ),
    }
}

/// Keeps the first page whole for the detectors, as it goes on to be encoded.
struct Keep(Arc<Mutex<Option<PageImage>>>);

impl Stage for Keep {
    fn name(&self) -> &str {
        "preview"
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() && matches!(page.page.data, PageData::Raster { .. }) {
            *slot = Some(page.clone());
        }
        Ok(vec![page])
    }
}

/// Scans one page: the page whole, the outcome, the page as PNG.
fn scan(
    dev: &DeviceEntry,
    request: &ScanRequest,
    settings: &scanwire_core::transfer::TransferOptions,
) -> (Option<PageImage>, Outcome, Option<Vec<u8>>) {
    let kept = Arc::new(Mutex::new(None));
    let cancel = CancelHandle::new();
    let opts = PipelineOptions {
        stages: vec![Arc::new(Keep(kept.clone()))],
        cancel: Some(cancel.clone()),
        direct: false,
        ..PipelineOptions::new(Format::Png)
    };
    let pipeline = match Pipeline::new(Memory::default(), opts) {
        Ok(p) => p,
        Err(e) => {
            let o = failed(e.to_string());
            return (None, o, None);
        }
    };
    let t = transfer::spawn(
        &dev.shared,
        request,
        Box::new(pipeline.clone()),
        None,
        &cancel,
        settings,
    );
    let mut outcome = failed("the transfer ended without an outcome".into());
    for ev in t.events.iter() {
        if let Event::Finished(o) = ev {
            outcome = o;
            break;
        }
    }
    pipeline.finish(outcome.result);
    let png = pipeline.destination().pages().into_iter().next();
    let page = kept.lock().unwrap_or_else(|p| p.into_inner()).take();
    (page, outcome, png)
}

fn failed(message: String) -> Outcome {
    Outcome {
        result: scanwire_core::wia::E_FAIL,
        error: Some(scanwire_core::device::DeviceError::new(
            DeviceErrorKind::Internal,
            message,
        )),
        pages: 0,
        incomplete: 0,
        skipped: 0,
        violations: Vec::new(),
    }
}

async fn image(
    State(web): State<Arc<Web>>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let id = file.strip_suffix(".png").unwrap_or(&file);
    let png = web.previews.get(id).ok_or_else(|| {
        WebError::not_found(format!(
            "there is no preview {id:?} (only the last {KEPT} are kept)"
        ))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        png.as_ref().clone(),
    )
        .into_response())
}
