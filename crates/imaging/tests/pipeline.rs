//! The processing stage in the page pipeline, through real transfers: the virtual scanner's
//! feeder placing skewed A5 sheets and blank sheets (with texture, noise, holes and
//! bleed-through), the relay in strict mode, pages processed while the next one scans.

use scanwire_codecs::{decode::decode, Format};
use scanwire_core::device::{Area, ColorMode, Length, OptionValue, PageInfo, ScanRequest, Source};
use scanwire_core::transfer::{self, AppStream, CancelHandle, TransferCallback, TransferOptions};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_imaging::{Blank, Crop, Processing, ProcessingReport, SkewFinding};
use scanwire_pipeline::{Memory, Pipeline, PipelineOptions, Report};
use std::sync::Arc;

struct App(Pipeline<Memory>);

impl TransferCallback for App {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.0.open_page(page)
    }
    fn transfer_callback(&mut self, _: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

/// Five 100 dpi gray feeder sheets: A5 turned by 2.5°, sheets 2 and 4 blank.
fn scan(format: Format, processing: &Processing) -> (Report, Vec<Vec<u8>>, Arc<ProcessingReport>) {
    let device = transfer::share(Box::new(scanwire_virtual::VirtualDevice::new()));
    let mut request = ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: 100,
        ..ScanRequest::default()
    };
    request.area = Some(Area::sized(Length::mm(210), Length::mm(297)));
    for (k, v) in [
        ("sheets", OptionValue::Int(5)),
        ("skew", OptionValue::Fixed(2.5)),
        ("paper", OptionValue::Text("a5".into())),
        ("blank-sheets", OptionValue::Text("2,4".into())),
    ] {
        request.options.insert(k.into(), v);
    }
    let report = ProcessingReport::new();
    let opts = PipelineOptions {
        stages: processing.stages(&report).unwrap(),
        ..PipelineOptions::new(format)
    };
    let pipeline = Pipeline::new(Memory::default(), opts).unwrap();
    let outcome = transfer::run(
        &device,
        &request,
        Box::new(App(pipeline.clone())),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert!(
        outcome.result == wia::S_OK || outcome.result == wia::WIA_STATUS_END_OF_MEDIA,
        "{:?}",
        outcome.error
    );
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    let r = pipeline.finish(outcome.result);
    (r, pipeline.destination().pages(), report)
}

fn tiff_pages(doc: &[u8]) -> usize {
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(doc)).unwrap();
    let mut n = 1;
    while d.more_images() {
        d.next_image().unwrap();
        n += 1;
    }
    n
}

#[test]
fn skewed_sheets_are_straightened_cut_out_and_blank_ones_skipped() {
    let p = Processing {
        deskew: true,
        crop: Crop::Paper,
        blank: Blank::Skip,
        ..Processing::default()
    };
    let (report, pages, found) = scan(Format::Png, &p);
    assert_eq!(
        (report.pages, report.discarded),
        (3, 2),
        "{:?}",
        report.errors
    );
    for png in &pages {
        let d = decode(png, None).unwrap();
        // A5 at 100 dpi: 582.7 x 826.8.
        assert!(
            d.width.abs_diff(583) <= 3 && d.height.abs_diff(827) <= 3,
            "{}x{}",
            d.width,
            d.height
        );
    }
    let found = found.pages();
    assert_eq!(found.len(), 5);
    for f in &found {
        let blank = f.findings.blank.unwrap().blank;
        assert_eq!(blank, [2, 4].contains(&f.findings.scanned), "{f:?}");
        if !blank {
            let Some(SkewFinding::Sheet { angle_deg }) = f.findings.skew else {
                panic!("{f:?}")
            };
            assert!((angle_deg - 2.5).abs() < 0.1, "{f:?}");
        }
    }
    let delivered: Vec<Vec<u32>> = found.iter().map(|f| f.delivered.clone()).collect();
    assert_eq!(delivered, [vec![1], vec![], vec![2], vec![], vec![3]]);
}

#[test]
fn blank_sheets_split_the_job_into_documents() {
    let p = Processing {
        blank: Blank::Split,
        ..Processing::default()
    };
    let (report, docs, found) = scan(Format::Tiff, &p);
    assert_eq!(
        (report.pages, report.discarded),
        (3, 2),
        "{:?}",
        report.errors
    );
    let counts: Vec<usize> = docs.iter().map(|d| tiff_pages(d)).collect();
    assert_eq!(counts, [1, 1, 1]);
    let docs: Vec<Option<u32>> = found.pages().iter().map(|f| f.document).collect();
    assert_eq!(docs, [Some(1), None, Some(2), None, Some(3)]);
}
