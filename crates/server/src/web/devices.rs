//! `GET /api/devices`: what each served device can do (its capabilities, nothing more),
//! what it is doing, and what the server adds (OCR, processing, the archive).

use super::error::json;
use super::Web;
use crate::device::{Activity, DeviceEntry};
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use scanwire_core::device::{ColorMode, Source, SourceCaps};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

pub(super) fn routes(web: &Arc<Web>) -> Router {
    Router::new()
        .route("/devices", get(devices))
        .route("/events", get(device_events))
        .with_state(web.clone())
}

async fn devices(State(web): State<Arc<Web>>) -> Response {
    web.server.sweep();
    let devices: Vec<Value> = web.server.devices().iter().map(device).collect();
    let config = web.server.config();
    let languages = config
        .job_stages
        .as_ref()
        .map(|s| s.languages())
        .unwrap_or_default();
    json(json!({
        "devices": devices,
        "ocr": {"available": config.job_stages.is_some(), "languages": languages},
        "processing": ["deskew", "crop", "photos", "blank", "rotate"],
        "archive": web.library.archive(),
    }))
}

/// The page's name for a source.
pub(super) fn source_name(s: Source) -> &'static str {
    match s {
        Source::Flatbed => "flatbed",
        Source::Feeder => "feeder",
        Source::FeederDuplex => "duplex",
    }
}

/// A source from the page's name (the CLI's names are taken too).
pub(super) fn parse_source(s: &str) -> Option<Source> {
    match s {
        "flatbed" | "platen" => Some(Source::Flatbed),
        "feeder" | "adf" => Some(Source::Feeder),
        "duplex" | "adf-duplex" => Some(Source::FeederDuplex),
        _ => None,
    }
}

/// The page offers color, gray and lineart; 16-bit modes are the CLI's.
fn mode_name(m: ColorMode) -> Option<&'static str> {
    match m {
        ColorMode::Color => Some("color"),
        ColorMode::Gray => Some("gray"),
        ColorMode::Lineart => Some("lineart"),
        ColorMode::Gray16 | ColorMode::Color48 => None,
    }
}

fn source(s: &SourceCaps) -> Value {
    let modes: Vec<&str> = s.modes.iter().filter_map(|m| mode_name(*m)).collect();
    json!({
        "source": source_name(s.source),
        "modes": modes,
        "resolutions": s.resolutions.to_discrete(),
        "max_width_mm": round2(s.max_area.width.as_mm()),
        "max_height_mm": round2(s.max_area.height.as_mm()),
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn device(d: &Arc<DeviceEntry>) -> Value {
    let (state, status) = match d.activity() {
        Activity::Idle => ("idle", "Idle".to_string()),
        Activity::Down => (
            "down",
            "Offline: the last scan could not reach it".to_string(),
        ),
        Activity::Busy(what) => ("busy", format!("Busy: {what}")),
        Activity::Restarting(reason) => ("restarting", format!("Not available: {reason}")),
    };
    let sources: Vec<Value> = d.caps.sources.iter().map(source).collect();
    // `serve --queue`: where each recent eSCL or WS-Scan job's pages are across the workers.
    let queue: Vec<Value> = d
        .queue_jobs()
        .iter()
        .map(|(job, v)| {
            json!({
                "job": job.id,
                "published": v.progress.published,
                "queued": v.progress.queued,
                "in_work": v.progress.in_work,
                "done": v.progress.done,
                "waiting_for_workers": v.waiting,
                "finished": v.finished,
            })
        })
        .collect();
    json!({
        "id": d.id,
        "segment": d.segment,
        "name": d.make_and_model,
        "state": state,
        "status": status,
        "capabilities": {
            "sources": sources,
            "formats": ["pdf", "png", "jpeg", "tiff"],
        },
        "queue": queue,
    })
}

/// `GET /api/events`: a `device` event for every device at once, then one whenever a
/// device's state or status changes (a job or a web scan takes or frees it).
async fn device_events(State(web): State<Arc<Web>>) -> Response {
    let devices: Vec<Arc<DeviceEntry>> = web.server.devices().to_vec();
    let watches: Vec<_> = devices.iter().map(|d| d.watch()).collect();
    let sent: Vec<Option<String>> = vec![None; devices.len()];
    let stream = futures_util::stream::unfold(
        (devices, watches, sent, VecDeque::<String>::new()),
        |(devices, mut watches, mut sent, mut queue)| async move {
            loop {
                if let Some(data) = queue.pop_front() {
                    let ev = SseEvent::default().event("device").data(data);
                    return Some((Ok::<_, Infallible>(ev), (devices, watches, sent, queue)));
                }
                for (d, last) in devices.iter().zip(sent.iter_mut()) {
                    let now = device(d).to_string();
                    if last.as_ref() != Some(&now) {
                        *last = Some(now.clone());
                        queue.push_back(now);
                    }
                }
                if !queue.is_empty() {
                    continue;
                }
                let changes = watches.iter_mut().map(|w| Box::pin(w.changed()));
                if let (Err(_), _, _) = futures_util::future::select_all(changes).await {
                    return None;
                }
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
