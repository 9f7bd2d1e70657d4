//! `--deskew`, `--crop`, `--split-photos`, `--blank`, `--blank-sensitivity`, `--rotate`,
//! `--brightness`, `--contrast`: WIA 2.0's image processing (docs/processing.md) as a stage
//! on the scan's pipeline, and what it found on each page for `--json`.

use crate::args::{BlankArg, ScanArgs};
use crate::exit::usage;
use anyhow::Result;
use scanwire_core::device::{BlankPages, DeviceProcessing, DeviceProcessingRequest};
use scanwire_imaging::{
    Blank, Crop, PageReport, Processing, ProcessingReport, QuarterTurns, Rect, Region, Sensitivity,
    SkewFinding,
};
use scanwire_output::OutputPlan;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// The processing of one scan: what it found, page by page.
pub struct Processed {
    settings: Processing,
    report: Arc<ProcessingReport>,
    /// What the device was asked to do itself (set once the device is open).
    device: OnceLock<DeviceProcessingRequest>,
}

/// The settings the flags ask for; every bad value is a usage error naming what is allowed.
pub fn settings(args: &ScanArgs) -> Result<Processing> {
    let rotate = match args.rotate.unwrap_or(0) {
        0 => QuarterTurns::None,
        90 => QuarterTurns::Ccw90,
        180 => QuarterTurns::Half,
        270 => QuarterTurns::Ccw270,
        other => {
            return Err(usage(format!(
                "--rotate {other}: allowed 0, 90, 180 or 270 (degrees counterclockwise)"
            )))
        }
    };
    let sensitivity = match args.blank_sensitivity {
        Some(s) => Sensitivity::new(s).map_err(|e| usage(format!("--blank-sensitivity: {e}")))?,
        None => Sensitivity::default(),
    };
    let p = Processing {
        brightness: args.brightness.unwrap_or(0),
        contrast: args.contrast.unwrap_or(0),
        rotate,
        deskew: args.deskew,
        crop: if args.split_photos {
            Crop::Photos
        } else if args.crop {
            Crop::Paper
        } else {
            Crop::Off
        },
        blank: match args.blank {
            None => Blank::Keep,
            Some(BlankArg::Skip) => Blank::Skip,
            Some(BlankArg::Split) => Blank::Split,
        },
        sensitivity,
    };
    p.validate().map_err(|e| usage(format!("--{e}")))?;
    Ok(p)
}

/// Puts the processing stage on `plan` when a flag asks for it: before OCR (the last stage,
/// when `ocr`), after `--auto-rotate`, so a page is straightened, cut and turned before it is
/// recognised.
pub fn plan(args: &ScanArgs, plan: &mut OutputPlan, ocr: bool) -> Result<Option<Processed>> {
    let settings = settings(args)?;
    if settings.is_none() {
        return Ok(None);
    }
    if settings.crop == Crop::Photos && !plan.takes_many_pages() {
        return Err(usage(format!(
            "--split-photos may make several pages, but -o {} names one file; use a pattern \
             such as photo-{{n}}.jpg, or a .pdf or .tif file",
            args.output.display()
        )));
    }
    let report = ProcessingReport::new();
    let stages = settings.stages(&report).map_err(usage)?;
    let at = if ocr {
        plan.stages.len().saturating_sub(1)
    } else {
        plan.stages.len()
    };
    plan.stages.splice(at..at, stages);
    // Pages are processed in parallel, one per core, while the driver scans the next.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    plan.pipeline = plan.pipeline.max(cores);
    Ok(Some(Processed {
        settings,
        report,
        device: OnceLock::new(),
    }))
}

impl Processed {
    /// Hands the device the part it does itself (an eSCL scanner that advertises AutoCrop,
    /// blank-page removal, brightness or contrast) and leaves the rest to the stage here.
    pub fn split(&self, caps: &DeviceProcessing) -> DeviceProcessingRequest {
        let (device, local) = self.settings.split(caps);
        self.report.run_here(local);
        let _ = self.device.set(device.clone());
        device
    }

    /// The findings, for the progress display.
    pub fn findings(&self) -> Arc<ProcessingReport> {
        self.report.clone()
    }

    /// Scanned pages left out as blank (skipped, or separating documents).
    pub fn blank_pages(&self) -> usize {
        self.report
            .pages()
            .iter()
            .filter(|p| p.findings.blank.is_some_and(|b| b.blank))
            .count()
    }

    /// Per scanned page: the pages it became, and what each stage found.
    pub fn report(&self) -> Value {
        let pages = self.report.pages();
        json!(pages
            .iter()
            .map(|p| page_json(&self.settings, self.device.get(), p))
            .collect::<Vec<_>>())
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn rect_json(r: &Rect) -> Value {
    json!({ "x": r.x, "y": r.y, "width": r.width, "height": r.height })
}

/// A turned rectangle: its bounding box in the scanned page's pixels, its own size and angle.
fn region_json(r: &Region, page: (u32, u32)) -> Value {
    let b = r.bounding_rect(page.0, page.1);
    json!({
        "box": rect_json(&b),
        "width": round(r.size.0, 1),
        "height": round(r.size.1, 1),
        "angle": round(r.angle_deg, 2),
    })
}

/// Where each asked step ran: "device" (the scanner did it) or "local" (this machine).
fn where_json(settings: &Processing, device: Option<&DeviceProcessingRequest>) -> Value {
    let d = device.cloned().unwrap_or_default();
    let at = |on_device: bool| if on_device { "device" } else { "local" };
    let mut o = serde_json::Map::new();
    let mut put = |step: &str, asked: bool, on_device: bool| {
        if asked {
            o.insert(step.into(), json!(at(on_device)));
        }
    };
    put(
        "brightness",
        settings.brightness != 0,
        d.brightness.is_some(),
    );
    put("contrast", settings.contrast != 0, d.contrast.is_some());
    put("crop", settings.crop == Crop::Paper, d.auto_crop);
    put("photos", settings.crop == Crop::Photos, false);
    // The device's auto-crop straightens the sheet too.
    put("deskew", settings.deskew, d.auto_crop);
    put(
        "blank",
        settings.blank != Blank::Keep,
        d.blank_pages == BlankPages::Remove,
    );
    put("rotate", settings.rotate != QuarterTurns::None, false);
    Value::Object(o)
}

fn page_json(
    settings: &Processing,
    device: Option<&DeviceProcessingRequest>,
    p: &PageReport,
) -> Value {
    let f = &p.findings;
    let mut v = json!({
        "scanned": f.scanned,
        "sheet": f.sheet,
        "side": f.side.to_string(),
        // Where each step ran: on the device (asked for it, eSCL) or here.
        "processed": where_json(settings, device),
        "pages": p.delivered,
        "document": p.document,
    });
    let o = v.as_object_mut().expect("an object");
    if let Some(s) = f.skew {
        o.insert(
            "deskew".into(),
            match s {
                SkewFinding::Text {
                    angle_deg,
                    confidence,
                } => json!({
                    "angle": round(angle_deg, 2),
                    "confidence": round(confidence, 2),
                    "from": "text",
                }),
                SkewFinding::Sheet { angle_deg } => json!({
                    "angle": round(angle_deg, 2),
                    "from": "sheet",
                }),
                SkewFinding::NotEnoughStructure => json!({
                    "angle": null,
                    "reason": "not enough structure",
                }),
            },
        );
    }
    // The sheet: its bounding box in the scanned page's pixels, its own size and angle; null: no background
    // showed around it, the page was kept whole. (A blank page is not cut.)
    if settings.crop == Crop::Paper && f.blank.is_none_or(|b| !b.blank) {
        let crop = match &f.crop {
            Some(r) => region_json(r, f.size),
            None => Value::Null,
        };
        o.insert("crop".into(), crop);
    }
    if let Some(b) = f.blank {
        o.insert(
            "blank".into(),
            json!({ "blank": b.blank, "coverage": round(b.coverage, 6) }),
        );
    }
    if let Some(photos) = &f.photos {
        let page = f.size;
        o.insert(
            "photos".into(),
            json!(photos
                .iter()
                .map(|r| region_json(r, page))
                .collect::<Vec<_>>()),
        );
    }
    v
}
