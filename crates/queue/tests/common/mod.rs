//! What the queue tests share: pages from the virtual scanner, the local run a queue's
//! document must equal, page messages.
#![allow(dead_code)]

use scanwire_codecs::{EncodeOptions, Format};
use scanwire_core::device::{ColorMode, OptionValue, PageData, PageInfo, ScanRequest, Source};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, Recorder, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_imaging::{Processing, ProcessingReport};
use scanwire_ocr::{CancelFlag, OcrPool, OcrStage};
use scanwire_pipeline::{Memory, Pipeline, PipelineOptions, Stages};
use scanwire_queue::wire::sha256_hex;
use scanwire_queue::{
    names, ImageEncoding, ImageRef, JobSettings, OutputSettings, PageCount, PageMessage,
    PixelSetting, ProcessingSettings, SideSetting, VERSION,
};
use std::sync::Arc;

/// The jobs' creation date: fixed, so that the queue's document and the local one match.
pub const CREATED: u64 = 1_765_000_000;

/// Feeder sheets of text from the virtual scanner, A5 turned 2°, some blank.
pub fn request(sheets: u32, dpi: u32, blank: &str) -> ScanRequest {
    let mut r = ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: dpi,
        ..ScanRequest::default()
    };
    for (k, v) in [
        ("sheets", OptionValue::Int(sheets as i64)),
        ("skew", OptionValue::Fixed(2.0)),
        ("paper", OptionValue::Text("a5".into())),
        ("content", OptionValue::Text("text".into())),
        ("blank-sheets", OptionValue::Text(blank.into())),
    ] {
        if !(k == "blank-sheets" && blank.is_empty()) {
            r.options.insert(k.into(), v);
        }
    }
    r
}

pub fn device() -> transfer::SharedDevice {
    transfer::share(Box::new(scanwire_virtual::VirtualDevice::new()))
}

pub fn scanned(result: HResult) {
    assert!(
        result == wia::S_OK || result == wia::WIA_STATUS_END_OF_MEDIA,
        "the scan failed: {result}"
    );
}

/// The raw pages a producer would publish.
pub fn raw_pages(req: &ScanRequest) -> Vec<(PageInfo, Vec<u8>)> {
    let (app, log) = Recorder::new();
    let outcome = transfer::run(
        &device(),
        req,
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    scanned(outcome.result);
    log.snapshot()
        .complete_pages()
        .into_iter()
        .map(|p| (p.info.clone(), p.data.clone()))
        .collect()
}

pub struct App(pub Pipeline<Memory>);

impl TransferCallback for App {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.0.open_page(page)
    }
    fn transfer_callback(&mut self, _: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

/// The same scan run locally through the page pipeline into a PDF: the reference.
pub fn local_pdf(req: &ScanRequest, processing: &Processing, ocr: Option<Arc<OcrPool>>) -> Vec<u8> {
    let mut docs = local_docs(req, processing, ocr);
    assert_eq!(docs.len(), 1, "one local document");
    docs.remove(0)
}

/// The local run's documents (several when blank pages split the job).
pub fn local_docs(
    req: &ScanRequest,
    processing: &Processing,
    ocr: Option<Arc<OcrPool>>,
) -> Vec<Vec<u8>> {
    let mut stages: Stages = processing.stages(&ProcessingReport::new()).unwrap();
    if let Some(pool) = ocr {
        stages.push(Arc::new(OcrStage::new(pool, CancelFlag::new())));
    }
    let opts = PipelineOptions {
        stages,
        encode: EncodeOptions {
            created: Some(CREATED),
            ..EncodeOptions::default()
        },
        ..PipelineOptions::new(Format::Pdf)
    };
    let pipeline = Pipeline::new(Memory::default(), opts).unwrap();
    let outcome = transfer::run(
        &device(),
        req,
        Box::new(App(pipeline.clone())),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    scanned(outcome.result);
    pipeline.finish(outcome.result);
    pipeline.destination().pages()
}

pub fn settings(processing: &Processing, ocr: Option<&str>) -> JobSettings {
    JobSettings {
        processing: ProcessingSettings::from(processing),
        ocr: ocr.map(String::from),
        output: OutputSettings::pdf(&EncodeOptions::default(), CREATED),
    }
}

pub fn message(
    job: &str,
    n: u32,
    pages: PageCount,
    s: &JobSettings,
    info: &PageInfo,
    data: &[u8],
) -> PageMessage {
    let PageData::Raster {
        pixel,
        width,
        height,
    } = info.data
    else {
        panic!("the virtual scanner sends raster pages");
    };
    PageMessage {
        version: VERSION,
        job: job.into(),
        document: 1,
        name: "scan".into(),
        page: n,
        pages,
        settings: s.clone(),
        image: ImageRef {
            object: names::page_object(job, 1, n),
            size: data.len() as u64,
            sha256: sha256_hex(data),
            encoding: ImageEncoding::Raw,
            pixel: PixelSetting::of(pixel),
            width,
            height: height.unwrap_or((data.len() / pixel.bytes_per_line(width)) as u32),
            dpi: info.dpi,
            sheet: info.sheet,
            side: SideSetting::Front,
        },
    }
}
