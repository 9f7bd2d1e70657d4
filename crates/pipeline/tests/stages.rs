//! The stage extension point through a real transfer: the virtual scanner's feeder job, the
//! relay in strict mode, and stages that count, invert, discard and split pages.

use scanwire_codecs::{decode::decode, Format};
use scanwire_core::device::{ColorMode, PageData, ScanRequest, Source};
use scanwire_core::transfer::{self, AppStream, CancelHandle, TransferCallback, TransferOptions};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_pipeline::{
    Memory, PageImage, Pipeline, PipelineOptions, Report, Stage, StageError, StageOutput,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// The application: every page into the pipeline.
struct App(Pipeline<Memory>);

impl TransferCallback for App {
    fn get_next_stream(&mut self, page: &scanwire_core::device::PageInfo) -> AppStream {
        self.0.open_page(page)
    }

    fn transfer_callback(&mut self, _: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

/// Scans three gray 75 dpi feeder pages through `stages` into `format`.
fn scan(format: Format, stages: Vec<Arc<dyn Stage>>) -> (Report, Vec<Vec<u8>>) {
    scan_pages(format, stages, 3)
}

/// Scans `pages` gray 75 dpi feeder pages through `stages` into `format`.
fn scan_pages(format: Format, stages: Vec<Arc<dyn Stage>>, pages: u32) -> (Report, Vec<Vec<u8>>) {
    let device = transfer::share(Box::new(scanwire_virtual::VirtualDevice::new()));
    let mut request = ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: 75,
        pages: Some(pages),
        ..ScanRequest::default()
    };
    // Enough sheets in the feeder.
    request.options.insert(
        "sheets".into(),
        scanwire_core::device::OptionValue::Int(pages.into()),
    );
    request.area = Some(scanwire_core::device::Area::sized(
        scanwire_core::device::Length::mm(40),
        scanwire_core::device::Length::mm(30),
    ));
    let opts = PipelineOptions {
        stages,
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
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    let report = pipeline.finish(outcome.result);
    (report, pipeline.destination().pages())
}

/// Counts the pages it sees and passes them on.
struct Count(AtomicU32);

impl Stage for Count {
    fn name(&self) -> &str {
        "count"
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(vec![page])
    }
}

/// Turns a page into its negative.
struct Invert;

impl Stage for Invert {
    fn name(&self) -> &str {
        "invert"
    }
    fn process(&self, mut page: PageImage) -> Result<Vec<PageImage>, StageError> {
        page.data.iter_mut().for_each(|b| *b = !*b);
        Ok(vec![page])
    }
}

/// Drops the driver's page 2 (as blank-page removal will).
struct DropSecond;

impl Stage for DropSecond {
    fn name(&self) -> &str {
        "drop-second"
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        Ok(if page.page.number == 2 {
            vec![]
        } else {
            vec![page]
        })
    }
}

/// Cuts each page into its top and bottom halves (as photo segmentation will).
struct Halves;

impl Stage for Halves {
    fn name(&self) -> &str {
        "halves"
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let (pixel, width, height) = page.layout();
        let bpl = pixel.bytes_per_line(width);
        let top = height / 2;
        let half = |rows: std::ops::Range<u32>| {
            let mut p = page.clone();
            p.page.data = PageData::Raster {
                pixel,
                width,
                height: Some(rows.len() as u32),
            };
            p.data = page.data[rows.start as usize * bpl..rows.end as usize * bpl].to_vec();
            p
        };
        Ok(vec![half(0..top), half(top..height)])
    }
}

fn gray(png: &[u8]) -> Vec<u8> {
    decode(png, None).unwrap().data
}

#[test]
fn a_counting_stage_sees_every_page_and_an_inverting_one_changes_them() {
    let (plain_report, plain) = scan(Format::Png, vec![]);
    assert_eq!((plain_report.pages, plain.len()), (3, 3));
    let count = Arc::new(Count(AtomicU32::new(0)));
    let (report, inverted) = scan(Format::Png, vec![count.clone(), Arc::new(Invert)]);
    assert_eq!(count.0.load(Ordering::SeqCst), 3);
    assert_eq!(
        (report.pages, report.discarded, report.errors.len()),
        (3, 0, 0)
    );
    for (a, b) in plain.iter().zip(&inverted) {
        let (a, b) = (gray(a), gray(b));
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| *x == !*y));
    }
}

#[test]
fn stages_discard_and_split_pages_and_outputs_are_numbered_in_order() {
    let (plain_report, plain) = scan(Format::Png, vec![]);
    assert_eq!(plain_report.pages, 3);
    // Page 2 discarded: two outputs, the driver's pages 1 and 3.
    let (report, kept) = scan(Format::Png, vec![Arc::new(DropSecond)]);
    assert_eq!((report.pages, report.discarded, kept.len()), (2, 1, 2));
    assert_eq!(gray(&kept[0]), gray(&plain[0]));
    assert_eq!(gray(&kept[1]), gray(&plain[2]));
    // Every page split in two: six outputs, in page order.
    let (report, halves) = scan(Format::Png, vec![Arc::new(Halves)]);
    assert_eq!((report.pages, halves.len()), (6, 6));
    for (i, whole) in plain.iter().enumerate() {
        let whole = gray(whole);
        let joined = [gray(&halves[2 * i]), gray(&halves[2 * i + 1])].concat();
        assert_eq!(joined, whole, "page {}", i + 1);
    }
    // Into one document: the same six pages.
    let (report, doc) = scan(Format::Tiff, vec![Arc::new(Halves)]);
    assert_eq!((report.pages, doc.len()), (6, 1));
    let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(&doc[0])).unwrap();
    let mut pages = 1;
    while decoder.more_images() {
        decoder.next_image().unwrap();
        pages += 1;
    }
    assert_eq!(pages, 6);
}

/// Holds each page for a while, the first page longest (so later pages finish first), and
/// records how many pages it held at once.
struct Slow {
    now: AtomicU32,
    most: AtomicU32,
}

impl Stage for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        let ms = 400u64.saturating_sub(150 * u64::from(page.page.number));
        std::thread::sleep(std::time::Duration::from_millis(ms));
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(vec![page])
    }
}

fn tiff_pages(doc: &[u8]) -> Vec<Vec<u8>> {
    let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(doc)).unwrap();
    let mut pages = Vec::new();
    loop {
        match decoder.read_image().unwrap() {
            tiff::decoder::DecodingResult::U8(v) => pages.push(v),
            other => panic!(
                "8-bit gray pages expected, got {:?}",
                std::mem::discriminant(&other)
            ),
        }
        if !decoder.more_images() {
            return pages;
        }
        decoder.next_image().unwrap();
    }
}

#[test]
fn document_pages_are_processed_in_parallel_and_kept_in_order() {
    let (_, plain) = scan(Format::Png, vec![]);
    let slow = Arc::new(Slow {
        now: AtomicU32::new(0),
        most: AtomicU32::new(0),
    });
    let (report, doc) = scan(Format::Tiff, vec![slow.clone()]);
    assert_eq!(
        (
            report.pages,
            report.discarded,
            report.errors.len(),
            doc.len()
        ),
        (3, 0, 0, 1)
    );
    // Two pages in flight (the default): page 2 is processed while page 1 still is.
    assert_eq!(slow.most.load(Ordering::SeqCst), 2);
    let pages = tiff_pages(&doc[0]);
    assert_eq!(pages.len(), 3);
    for (i, (p, png)) in pages.iter().zip(&plain).enumerate() {
        assert_eq!(p, &gray(png), "page {}", i + 1);
    }
}

/// Turns the driver's pages in its list into job separators (as `--blank split` does with
/// blank sheets), and inverts the rest so they are told apart from the plain scan.
struct Separate(Vec<u32>);

impl Stage for Separate {
    fn name(&self) -> &str {
        "separate"
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        Ok(vec![page])
    }
    fn process_outputs(&self, page: PageImage) -> Result<Vec<StageOutput>, StageError> {
        Ok(if self.0.contains(&page.page.number) {
            vec![StageOutput::Separator]
        } else {
            vec![StageOutput::Page(page)]
        })
    }
}

#[test]
fn separators_start_new_documents_never_an_empty_one() {
    let (_, plain) = scan_pages(Format::Png, vec![], 7);
    let plain: Vec<Vec<u8>> = plain.iter().map(|p| gray(p)).collect();
    // A separator first (no empty document), two in a row (one split), one last (nothing
    // after it): documents [2] and [5, 6].
    let separate = || -> Vec<Arc<dyn Stage>> { vec![Arc::new(Separate(vec![1, 3, 4, 7]))] };
    let (report, docs) = scan_pages(Format::Tiff, separate(), 7);
    assert_eq!(
        (
            report.pages,
            report.discarded,
            report.errors.len(),
            docs.len()
        ),
        (3, 4, 0, 2),
        "{:?}",
        report.errors
    );
    let docs: Vec<Vec<Vec<u8>>> = docs.iter().map(|d| tiff_pages(d)).collect();
    assert_eq!(docs[0], [plain[1].clone()]);
    assert_eq!(docs[1], [plain[4].clone(), plain[5].clone()]);
    // A page per output: the same three pages, numbered on.
    let (report, pages) = scan_pages(Format::Png, separate(), 7);
    assert_eq!((report.pages, pages.len()), (3, 3));
    let pages: Vec<Vec<u8>> = pages.iter().map(|p| gray(p)).collect();
    assert_eq!(
        pages,
        [plain[1].clone(), plain[4].clone(), plain[5].clone()]
    );
    // Only separators: no document at all.
    let (report, docs) = scan_pages(Format::Tiff, vec![Arc::new(Separate(vec![1, 2]))], 2);
    assert_eq!((report.pages, docs.len()), (0, 0));
}
