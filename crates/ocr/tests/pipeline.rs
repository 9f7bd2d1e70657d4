//! OCR in the page pipeline, through a real transfer: a test feeder whose pages are words
//! printed in a real font (DejaVu Sans), the relay in strict mode, the OCR stage (and the
//! orientation stage) on the pipeline, one PDF out, read back by qpdf and poppler.

mod common;

use common::pdf::*;
use common::*;
use scanwire_codecs::Format;
use scanwire_core::device::*;
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback,
    NextStream, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_ocr::{
    AutoRotate, BBox, CancelFlag, OcrConfig, OcrError, OcrPool, OcrStage, PageImage as OcrImage,
};
use scanwire_pipeline::{Memory, PageImage, Pipeline, PipelineOptions, Report, Stage, StageError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The three pages' text.
const PAGES: [&[&str]; 3] = [
    &["Scanwire reads every page", "while the feeder still runs"],
    &["quick brown foxes jump", "over lazy dogs"],
    &["invoice number 2026", "total amount due"],
];

/// A feeder that delivers gray 300 dpi pages in 64 KiB writes, a STATUS after each.
struct Feeder {
    pages: Vec<OcrImage>,
}

impl Device for Feeder {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "text-feeder".into(),
            vendor: String::new(),
            model: "text feeder".into(),
            driver: "test",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(Capabilities {
            model: "text feeder".into(),
            sources: vec![SourceCaps {
                source: Source::Feeder,
                modes: vec![ColorMode::Gray],
                resolutions: Resolutions::Discrete(vec![300]),
                max_area: Area::sized(Length::mm(300), Length::mm(300)),
                min_size: (Length(1), Length(1)),
                encodings: vec![],
                raw: true,
                feeder_capacity: Some(50),
            }],
            processing: Default::default(),
        })
    }

    fn acquire(
        &mut self,
        _req: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        _cancel: &CancelToken,
    ) -> AcquireResult {
        let fail = |hr: HResult| DeviceError::from_hresult(hr, "text feeder");
        for (i, img) in self.pages.iter().enumerate() {
            let n = i as u32 + 1;
            let page = PageInfo {
                number: n,
                sheet: n,
                side: Side::Front,
                source: Source::Feeder,
                data: PageData::Raster {
                    pixel: PixelFormat::Gray8,
                    width: img.width,
                    height: Some(img.height),
                },
                dpi: (300, 300),
            };
            let mut s = match cb.get_next_stream(0, &page) {
                NextStream::Stream(s) => s,
                NextStream::Skip => continue,
                NextStream::Cancelled => return Ok(Completion::Cancelled),
                NextStream::Failed(hr) => return Err(fail(hr)),
            };
            let data = img.pixels.data();
            let chunks = data.len().div_ceil(64 << 10);
            for (k, c) in data.chunks(64 << 10).enumerate() {
                s.write(c).map_err(fail)?;
                let pct = ((k + 1) * 100 / chunks) as i32;
                match cb.progress(pct, s.bytes_written()).map_err(fail)? {
                    Flow::Continue => {}
                    Flow::Cancelled => return Ok(Completion::Cancelled),
                }
            }
            s.finish();
        }
        Ok(Completion::Done)
    }
}

struct App(Pipeline<Memory>);

impl TransferCallback for App {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.0.open_page(page)
    }

    fn transfer_callback(&mut self, _: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

/// A page's words and where they are printed.
type Truth = Vec<(String, BBox)>;

/// The pages rendered (each page's lines `repeat` times), each turned clockwise by its entry
/// in `turns`, and the words' true boxes on the upright page.
fn render(turns: [u8; 3], repeat: usize) -> Option<(Vec<OcrImage>, Vec<Truth>)> {
    let mut pages = Vec::new();
    let mut truth = Vec::new();
    for (lines, t) in PAGES.iter().zip(turns) {
        let lines: Vec<&str> = lines
            .iter()
            .copied()
            .cycle()
            .take(lines.len() * repeat)
            .collect();
        let (img, words) = synthetic_page(&lines, 50.0, 1400)?;
        pages.push(img.rotated(t));
        truth.push(words);
    }
    Some((pages, truth))
}

/// A pool of two English engines, or None (skipped) without Tesseract.
fn pool() -> Option<Arc<OcrPool>> {
    match OcrPool::new(&OcrConfig::new("eng").unwrap(), 2) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            skip(&format!("needs Tesseract with English ({e})"));
            None
        }
    }
}

/// Scans `pages` through `stages` into one PDF; `cancel` is the transfer's.
fn scan_pdf(
    pages: Vec<OcrImage>,
    stages: Vec<Arc<dyn Stage>>,
    cancel: &CancelHandle,
) -> (transfer::Outcome, Report, Vec<u8>) {
    let device = transfer::share(Box::new(Feeder { pages }));
    let request = ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: 300,
        pages: Some(3),
        ..ScanRequest::default()
    };
    let opts = PipelineOptions {
        stages,
        cancel: Some(cancel.clone()),
        ..PipelineOptions::new(Format::Pdf)
    };
    let pipeline = Pipeline::new(Memory::default(), opts).unwrap();
    let outcome = transfer::run(
        &device,
        &request,
        Box::new(App(pipeline.clone())),
        cancel,
        &TransferOptions::strict(),
    );
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    let report = pipeline.finish(outcome.result);
    let mut docs = pipeline.destination().pages();
    assert!(docs.len() <= 1);
    (outcome, report, docs.pop().unwrap_or_default())
}

fn to_pt(b: &BBox) -> [f64; 4] {
    let k = 72.0 / 300.0;
    [
        b.left as f64 * k,
        b.top as f64 * k,
        b.right as f64 * k,
        b.bottom as f64 * k,
    ]
}

/// Every page's words, in order, where they are printed.
fn assert_searchable(pdf: &[u8], name: &str, truth: &[Truth]) {
    let pages = write_and_read_pages(pdf, name);
    assert_eq!(pages.len(), truth.len(), "pages");
    for (i, (found, truth)) in pages.iter().zip(truth).enumerate() {
        let words: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
        let expected: Vec<&str> = truth.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            words,
            expected,
            "page {}: pdftotext's words in order",
            i + 1
        );
        for ((text, b), (_, printed)) in found.iter().zip(truth) {
            let (cover, iou) = cover_pt(*b, to_pt(printed));
            assert!(
                cover > 0.9 && iou > 0.4,
                "page {}, {text}: pdftotext {b:?} vs printed {:?} (covers {cover:.2}, IoU {iou:.2})",
                i + 1,
                to_pt(printed)
            );
        }
    }
}

#[test]
fn a_feeder_job_becomes_a_searchable_pdf() {
    if !check_pdf_tools() {
        return;
    }
    let Some(pool) = pool() else { return };
    let Some((pages, truth)) = render([0, 0, 0], 1) else {
        return;
    };
    let ocr = Arc::new(OcrStage::new(pool, CancelFlag::new()));
    let (outcome, report, pdf) = scan_pdf(pages, vec![ocr.clone()], &CancelHandle::new());
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!((report.pages, report.errors.len()), (3, 0), "{report:?}");
    assert_searchable(&pdf, "feeder", &truth);
    let stats = ocr.pages();
    assert_eq!(stats.iter().map(|p| p.page).collect::<Vec<_>>(), [1, 2, 3]);
    for (s, t) in stats.iter().zip(&truth) {
        assert_eq!(s.words, t.len());
        assert!(s.mean_confidence > 50.0, "{s:?}");
        assert!(s.elapsed > Duration::ZERO);
    }
}

#[test]
fn auto_rotate_turns_pages_upright() {
    if !check_pdf_tools() {
        return;
    }
    let Some(pool) = pool() else { return };
    // Printed a quarter, a half and three quarters turned clockwise; a page of text each
    // (orientation detection needs some to be sure).
    let Some((pages, truth)) = render([1, 2, 3], 5) else {
        return;
    };
    let cancel = CancelFlag::new();
    let stages: Vec<Arc<dyn Stage>> = vec![
        Arc::new(AutoRotate::new(pool.clone(), cancel.clone())),
        Arc::new(OcrStage::new(pool, cancel)),
    ];
    let (outcome, report, pdf) = scan_pdf(pages, stages, &CancelHandle::new());
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!((report.pages, report.errors.len()), (3, 0), "{report:?}");
    assert_searchable(&pdf, "rotated", &truth);
}

#[test]
fn a_missing_language_names_what_is_missing_and_installed() {
    let e = match OcrPool::new(&OcrConfig::new("eng+qqq").unwrap(), 1) {
        Err(e @ OcrError::MissingLanguages { .. }) => e,
        Err(e @ (OcrError::LibraryMissing { .. } | OcrError::NoLanguageData { .. })) => {
            skip(&format!("needs Tesseract ({e})"));
            return;
        }
        other => panic!("expected MissingLanguages, got {:?}", other.map(|_| ())),
    };
    let msg = e.to_string();
    assert!(msg.contains("qqq") && msg.contains("eng"), "{msg}");
    assert!(msg.contains("tesseract-ocr-qqq"), "{msg}");
}

/// Cancels the transfer (as Ctrl-C does) just after page 1 is recognised, while page 2 (whose
/// recognition started beside page 1's and takes seconds) is being recognised.
struct CancelAfterPage1 {
    cancel: CancelHandle,
    started: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl Stage for CancelAfterPage1 {
    fn name(&self) -> &str {
        "cancel-after-page-1"
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        if page.page.number == 1 {
            let cancel = self.cancel.clone();
            let started = self.started.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(150));
                *started.lock().unwrap() = Some(Instant::now());
                cancel.cancel();
            });
        }
        Ok(vec![page])
    }
}

#[test]
fn cancel_mid_ocr_returns_at_once_and_keeps_the_finished_pages() {
    if !check_pdf_tools() {
        return;
    }
    let Some(pool) = pool() else { return };
    let Some((mut pages, truth)) = render([0, 0, 0], 1) else {
        return;
    };
    // Page 2 long enough that recognising it takes seconds: 40 lines.
    let long: Vec<&str> = PAGES
        .iter()
        .flat_map(|p| p.iter().copied())
        .cycle()
        .take(40)
        .collect();
    let Some((big, _)) = synthetic_page(&long, 50.0, 1400) else {
        return;
    };
    // How long page 2 takes to recognise uncancelled, measured now: "at once" is judged
    // against that, so a loaded machine slows both sides alike.
    let Some(mut engine) = common::engine() else {
        return;
    };
    let t = Instant::now();
    engine.recognize(&big, &CancelFlag::new()).unwrap();
    let page2 = t.elapsed();
    pages[1] = big;
    let handle = CancelHandle::new();
    let flag = CancelFlag::new();
    let hook_flag = flag.clone();
    let _hook = handle.token().on_cancel(move || hook_flag.cancel());
    let started = Arc::new(std::sync::Mutex::new(None));
    let stages: Vec<Arc<dyn Stage>> = vec![
        Arc::new(OcrStage::new(pool, flag)),
        Arc::new(CancelAfterPage1 {
            cancel: handle.clone(),
            started: started.clone(),
        }),
    ];
    let (outcome, report, pdf) = scan_pdf(pages, stages, &handle);
    let cancelled_at = started.lock().unwrap().expect("page 1 was recognised");
    let after = cancelled_at.elapsed();
    assert!(
        after < page2 / 3,
        "the pipeline took {after:?} to end after the cancel; page 2 alone takes {page2:?}"
    );
    // The driver may have delivered every page before the cancel (OCR is slower than the
    // scan), so the transfer either finished or was cancelled; either way the pages under
    // recognition are dropped, not failed.
    assert!(
        [wia::S_OK, wia::S_FALSE].contains(&outcome.result),
        "{:?}",
        outcome.error
    );
    assert_eq!((report.pages, report.errors.len()), (1, 0), "{report:?}");
    assert_eq!(report.discarded, 2, "{report:?}");
    assert_searchable(&pdf, "cancelled", &truth[..1]);
}
