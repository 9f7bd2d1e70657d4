//! `--ocr`, `--auto-rotate`, `--ocr-text`, `--ocr-hocr`: the OCR stages on the scan's pipeline, and what
//! they found for the report.

use crate::args::ScanArgs;
use crate::exit::Usage;
use anyhow::{anyhow, Context, Result};
use scanwire_codecs::Format;
use scanwire_core::transfer::{CancelHandle, HookGuard};
use scanwire_ocr::{
    check_installed, find_tessdata, AutoRotate, CancelFlag, Languages, OcrConfig, OcrPool,
    OcrStage, PageOcr,
};
use scanwire_output::OutputPlan;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// The OCR of one scan: its stage (for the per-page report) and the hook that stops it on
/// Ctrl-C.
pub struct Ocr {
    stage: Arc<OcrStage>,
    text: Option<PathBuf>,
    hocr: Option<PathBuf>,
    _cancel: HookGuard,
}

/// Puts the OCR stages on `plan` when `--ocr` asks for them. Every problem that can be known
/// before scanning (no Tesseract, a missing language, an output without room for text) is a
/// usage error, so nothing is scanned for nothing.
pub fn plan(args: &ScanArgs, plan: &mut OutputPlan, cancel: &CancelHandle) -> Result<Option<Ocr>> {
    let Some(langs) = args.ocr.as_deref() else {
        if args.auto_rotate || args.ocr_text.is_some() || args.ocr_hocr.is_some() {
            return Err(
                Usage("--auto-rotate, --ocr-text and --ocr-hocr need --ocr LANGS".into()).into(),
            );
        }
        return Ok(None);
    };
    if plan.format != Format::Pdf && args.ocr_text.is_none() && args.ocr_hocr.is_none() {
        return Err(Usage(format!(
            "--ocr makes a searchable PDF, but {} files hold only the image; write a .pdf, \
             or add --ocr-text FILE (or --ocr-hocr FILE) for the text",
            plan.format
        ))
        .into());
    }
    let usage = |e: scanwire_ocr::OcrError| anyhow::Error::from(Usage(e.to_string()));
    let config = OcrConfig::new(langs).map_err(usage)?;
    if args.auto_rotate {
        let tessdata = find_tessdata(None).map_err(usage)?;
        check_installed(&Languages::parse("osd").map_err(usage)?, &tessdata)
            .map_err(|e| Usage(format!("--auto-rotate needs orientation data: {e}")))?;
    }
    // One engine per core for a feeder job: Tesseract is single-threaded here
    // (OMP_THREAD_LIMIT=1). One page needs one engine, and each costs its language data's
    // loading time (BENCHMARKS.md, "Searchable PDF").
    // Without --source the device decides; every device but a `file:` one (a feeder) then
    // scans its flatbed.
    let one_page = args.pages == Some(1)
        || match args.source.as_deref() {
            Some(source) => source == "flatbed",
            None => !args.device.starts_with("file:"),
        };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = if one_page { 1 } else { cores };
    let pool = Arc::new(OcrPool::new(&config, workers).map_err(usage)?);
    let flag = CancelFlag::new();
    let hook = {
        let flag = flag.clone();
        cancel.token().on_cancel(move || flag.cancel())
    };
    if args.auto_rotate {
        plan.stages
            .push(Arc::new(AutoRotate::new(pool.clone(), flag.clone())));
    }
    let stage = Arc::new(OcrStage::new(pool.clone(), flag));
    plan.stages.push(stage.clone());
    // Enough pages at once to keep every engine busy while the driver scans on.
    plan.pipeline = plan.pipeline.max(pool.workers() + 1);
    Ok(Some(Ocr {
        stage,
        text: args.ocr_text.clone(),
        hocr: args.ocr_hocr.clone(),
        _cancel: hook,
    }))
}

impl Ocr {
    /// Writes `--ocr-text` (each page's text, pages separated by a form feed, as
    /// `tesseract` and OCRmyPDF's `--sidecar` do) and `--ocr-hocr` (one hOCR document).
    pub fn write_text(&self) -> Result<()> {
        let pages: Vec<_> = self
            .stage
            .pages()
            .into_iter()
            .map(|p| p.recognized)
            .collect();
        let outputs = [
            (
                &self.text,
                scanwire_ocr::text::plain_document as fn(&_) -> String,
            ),
            (&self.hocr, scanwire_ocr::hocr::document),
        ];
        for (path, render) in outputs {
            if let Some(path) = path {
                std::fs::write(path, render(&pages))
                    .with_context(|| format!("writing the text to {}", path.display()))
                    .map_err(|e| anyhow!("{e:#}"))?;
            }
        }
        Ok(())
    }

    /// Per page: words, mean word confidence, recognition time.
    pub fn report(&self) -> Value {
        let pages: Vec<Value> = self.stage.pages().iter().map(page_json).collect();
        json!(pages)
    }
}

fn page_json(p: &PageOcr) -> Value {
    json!({
        "page": p.page,
        "words": p.words,
        "mean_confidence": (f64::from(p.mean_confidence) * 10.0).round() / 10.0,
        "ocr_seconds": (p.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
    })
}
