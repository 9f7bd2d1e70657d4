//! Page processing in served jobs: the eSCL elements real devices advertise for it
//! (`AutoCrop`, `BlankPageDetection`, `BlankPageDetectionAndRemoval`,
//! `BlankPageSensitivitySupport`, `BrightnessSupport`, `ContrastSupport`) advertised and
//! honoured by running Scanwire's stages on the job's pipeline, and the server's own extra
//! stages (`serve --ocr`: searchable PDFs) fetched over eSCL and read by pdftotext.

mod common;

use axum::http::StatusCode;
use axum::Router;
use common::*;
use scanwire_codecs::Format;
use scanwire_core::transfer::{share, CancelHandle, HookGuard};
use scanwire_ocr::{CancelFlag, OcrConfig, OcrPool, OcrStage};
use scanwire_server::{
    router, JobStages, PageImage, ServerConfig, ServerState, Stage, StageError, Stages,
};
use scanwire_testkit::peer_missing;
use scanwire_virtual::VirtualDevice;
use std::sync::Arc;

fn app_with(options: &[(&str, &str)], config: ServerConfig) -> Router {
    let config = ServerConfig {
        request_options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..config
    };
    let state = ServerState::new(
        config,
        vec![("virtual".into(), share(Box::new(VirtualDevice::new())))],
    )
    .expect("state");
    router(state)
}

/// OCR on every PDF job, as `serve --ocr eng` sets it up (crates/cli/src/serve_plan.rs).
struct Ocr(Arc<OcrPool>);

impl std::fmt::Debug for Ocr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ocr")
    }
}

struct JobOcr(OcrStage, #[allow(dead_code)] HookGuard);

impl Stage for JobOcr {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        self.0.process(page)
    }
}

impl JobStages for Ocr {
    fn stages(&self, format: Format, cancel: &CancelHandle) -> Stages {
        if format != Format::Pdf {
            return Vec::new();
        }
        let flag = CancelFlag::new();
        let f = flag.clone();
        let hook = cancel.token().on_cancel(move || f.cancel());
        vec![Arc::new(JobOcr(OcrStage::new(self.0.clone(), flag), hook))]
    }
}

fn have(program: &str, arg: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok();
    if !ok {
        peer_missing(&format!("needs {program}"));
    }
    ok
}

/// `pdftotext -layout` of a PDF.
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&f)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A feeder job asked for as PDF over eSCL, from a server with OCR stages, comes back
/// searchable: pdftotext finds each page's printed heading ("PAGE 1", "PAGE 2" in the
/// virtual scanner's chart) on its page. Without the stages the same job has no text.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_with_ocr_serves_searchable_pdfs() {
    if !have("pdftotext", "-v") {
        return;
    }
    let pool = match OcrPool::new(&OcrConfig::new("eng").unwrap(), 2) {
        Ok(p) => Arc::new(p),
        Err(e) => return peer_missing(&format!("needs Tesseract with English ({e})")),
    };
    // The top 2 inches of the sheet, where the chart prints its page heading, at 300 dpi.
    let xml = settings_xml(
        "Feeder",
        "Grayscale8",
        300,
        "application/pdf",
        Some((0, 0, 2550, 600)),
    );
    let config = ServerConfig {
        job_stages: Some(Arc::new(Ocr(pool))),
        ..ServerConfig::default()
    };
    let app = app_with(&[("sheets", "2")], config);
    let loc = create(&app, "/eSCL", xml.clone()).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(pdf_pages(&docs[0]), 2);
    qpdf_check(&docs[0]);
    let text = pdftotext(&docs[0]);
    let pages: Vec<&str> = text.split('\u{c}').collect();
    for (i, page) in pages.iter().take(2).enumerate() {
        // The chart's 5x7 block font: Tesseract may read the gap as no space at all.
        let heading = format!("PAGE{}", i + 1);
        let squeezed: String = page.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            squeezed.contains(&heading),
            "page {}: {heading:?} not found in {page:?}",
            i + 1
        );
    }
    // The same job without OCR: an image-only PDF.
    let app = app_with(&[("sheets", "2")], ServerConfig::default());
    let loc = create(&app, "/eSCL", xml).await;
    let (docs, _) = drain_job(&app, &loc).await;
    assert!(!pdftotext(&docs[0]).contains("PAGE"));
}
