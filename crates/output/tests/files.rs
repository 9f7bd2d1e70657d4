//! FileOutput through the real relay: temporary names, renames, cancellation, overwriting.

// The page and chart helpers the codec tests use.
#[path = "../../codecs/tests/common/mod.rs"]
mod common;

use common::*;
use scanwire_codecs::{parse_jpeg_header, Format};
use scanwire_core::device::*;
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback,
    NextStream, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_output::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// A test device: delivers the given pages in `chunk`-byte writes (splitting rows), with a
/// STATUS after each write.
struct Pages {
    pages: Vec<(PageInfo, Vec<u8>)>,
    chunk: usize,
}

impl Device for Pages {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "pages".into(),
            vendor: String::new(),
            model: "pages".into(),
            driver: "test",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(Capabilities {
            model: "pages".into(),
            sources: vec![SourceCaps {
                source: Source::Flatbed,
                modes: vec![ColorMode::Color, ColorMode::Gray, ColorMode::Lineart],
                resolutions: Resolutions::Discrete(vec![300]),
                max_area: Area::sized(Length::mm(300), Length::mm(300)),
                min_size: (Length(1), Length(1)),
                encodings: vec![],
                raw: true,
                feeder_capacity: None,
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
        let fail = |hr: HResult| DeviceError::from_hresult(hr, "test device");
        for (page, data) in &self.pages {
            let mut s = match cb.get_next_stream(0, page) {
                NextStream::Stream(s) => s,
                NextStream::Skip => continue,
                NextStream::Cancelled => return Ok(Completion::Cancelled),
                NextStream::Failed(hr) => return Err(fail(hr)),
            };
            let n = data.len().div_ceil(self.chunk);
            for (i, c) in data.chunks(self.chunk).enumerate() {
                s.write(c).map_err(fail)?;
                let pct = ((i + 1) * 100 / n) as i32;
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

fn three_pages(pixel: PixelFormat) -> Vec<(PageInfo, Vec<u8>)> {
    (1..=3)
        .map(|n| {
            let (w, h) = (60 + n * 7, 40 + n * 3);
            (page(n, pixel, w, Some(h), 300), chart(pixel, w, h))
        })
        .collect()
}

/// Runs a transfer of `pages` into `plan`; `cancel_at` cancels (answers S_FALSE) once page
/// `n` is half written. Also checks, at every STATUS, that no final file is incomplete:
/// `watch` lists final names that must not exist while their page is being written.
fn scan(
    plan: OutputPlan,
    pages: Vec<(PageInfo, Vec<u8>)>,
    cancel_at: Option<u32>,
    watch: Vec<PathBuf>,
) -> (transfer::Outcome, OutputReport) {
    let output = plan.start().unwrap();
    let page_no = Arc::new(AtomicU32::new(0));
    let seen_partial = Arc::new(AtomicBool::new(false));
    let (p2, s2) = (page_no.clone(), seen_partial.clone());
    let cb = FileTransfer::new(output.clone()).on_message(move |m: &WiaTransferParams| {
        if m.lMessage == wia::WIA_TRANSFER_MSG_STATUS {
            if m.lPercentComplete < 100 && watch.iter().any(|w| w.exists()) {
                s2.store(true, Ordering::SeqCst);
            }
            if m.lPercentComplete >= 50 && cancel_at == Some(p2.load(Ordering::SeqCst) + 1) {
                return wia::S_FALSE;
            }
        }
        if m.lMessage == wia::WIA_TRANSFER_MSG_END_OF_STREAM {
            p2.fetch_add(1, Ordering::SeqCst);
        }
        wia::S_OK
    });
    let device = transfer::share(Box::new(Pages { pages, chunk: 1001 }));
    let request = ScanRequest::default();
    let outcome = transfer::run(
        &device,
        &request,
        Box::new(cb),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    let report = output.finish(outcome.result);
    assert!(
        !seen_partial.load(Ordering::SeqCst),
        "a final name existed while its file was incomplete"
    );
    (outcome, report)
}

fn no_temporaries(dir: &Path) {
    let left: Vec<String> = listing(dir)
        .into_iter()
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

fn plan(dir: &Path, name: &str) -> OutputPlan {
    OutputPlan::new(dir.join(name).to_str().unwrap(), None).unwrap()
}

fn png_pixels(path: &Path) -> Vec<u8> {
    let mut r = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    buf
}

#[test]
fn one_png_per_page_and_a_cancelled_page_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pages = three_pages(PixelFormat::Rgb8);
    let watch = vec![dir.path().join("page-2.png")];
    let (outcome, report) = scan(
        plan(dir.path(), "page-{n}.png"),
        pages.clone(),
        Some(2),
        watch,
    );
    assert_eq!(outcome.result, wia::S_FALSE);
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.files, vec![dir.path().join("page-1.png")]);
    assert_eq!((report.pages, report.discarded), (1, 1));
    assert_eq!(listing(dir.path()), vec!["page-1.png"]);
    assert_eq!(png_pixels(&dir.path().join("page-1.png")), pages[0].1);
}

#[test]
fn durable_output_keeps_the_same_guarantees() {
    // With fsync before every rename: the same files, a cancelled page and a cancelled
    // document page still leave nothing half-written, and no temporary file remains.
    let dir = tempfile::tempdir().unwrap();
    let pages = three_pages(PixelFormat::Rgb8);
    let mut p = plan(dir.path(), "page-{n}.png");
    p.durable = true;
    let watch = vec![dir.path().join("page-2.png")];
    let (outcome, report) = scan(p, pages.clone(), Some(2), watch);
    assert_eq!(outcome.result, wia::S_FALSE);
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(listing(dir.path()), vec!["page-1.png"]);
    assert_eq!(png_pixels(&dir.path().join("page-1.png")), pages[0].1);
    let mut p = plan(dir.path(), "doc.tiff");
    p.durable = true;
    let watch = vec![dir.path().join("doc.tiff")];
    let (_, report) = scan(p, pages, Some(3), watch);
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.pages, 2);
    assert_eq!(listing(dir.path()), vec!["doc.tiff", "page-1.png"]);
    no_temporaries(dir.path());
}

#[test]
fn printf_patterns_number_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let pages = three_pages(PixelFormat::Gray8);
    for format in [Format::Pnm, Format::Jpeg, Format::Tiff, Format::Pdf] {
        let mut p = OutputPlan::new(
            dir.path().join("scan-%02d.x").to_str().unwrap(),
            Some(format),
        )
        .unwrap();
        p.pipeline = 0;
        let (outcome, report) = scan(p, pages.clone(), None, vec![]);
        assert_eq!(outcome.result, wia::S_OK);
        assert!(report.is_ok(), "{format}: {:?}", report.errors);
        assert_eq!(report.pages, 3);
        assert_eq!(
            listing(dir.path()),
            vec!["scan-01.x", "scan-02.x", "scan-03.x"],
            "{format}"
        );
        for f in &report.files {
            std::fs::remove_file(f).unwrap();
        }
    }
}

fn pdf_pages(path: &Path) -> Option<usize> {
    if !peer("qpdf") {
        return None;
    }
    let p = path.to_str().unwrap();
    let out = run("qpdf", &["--check", p]);
    assert!(
        out.contains("No syntax or stream encoding errors found"),
        "{out}"
    );
    Some(run("qpdf", &["--show-npages", p]).trim().parse().unwrap())
}

#[test]
fn cancelled_pdf_keeps_every_complete_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    let (outcome, report) = scan(
        plan(dir.path(), "doc.pdf"),
        three_pages(PixelFormat::Rgb8),
        Some(3),
        vec![path.clone()],
    );
    assert_eq!(outcome.result, wia::S_FALSE);
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.files, vec![path.clone()]);
    assert_eq!((report.pages, report.discarded), (2, 1));
    assert_eq!(listing(dir.path()), vec!["doc.pdf"]);
    if let Some(n) = pdf_pages(&path) {
        assert_eq!(n, 2);
    }
}

#[test]
fn all_or_nothing_leaves_no_file_after_a_cancel() {
    for name in ["doc.pdf", "doc.tiff", "page-{n}.png"] {
        let dir = tempfile::tempdir().unwrap();
        let mut p = plan(dir.path(), name);
        p.all_or_nothing = true;
        let watch = vec![
            dir.path().join("doc.pdf"),
            dir.path().join("doc.tiff"),
            dir.path().join("page-1.png"),
        ];
        let (outcome, report) = scan(p, three_pages(PixelFormat::Gray8), Some(3), watch);
        assert_eq!(outcome.result, wia::S_FALSE);
        assert!(report.files.is_empty(), "{name}: {:?}", report.files);
        assert_eq!((report.pages, report.discarded), (0, 3), "{name}");
        assert_eq!(listing(dir.path()), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn multi_page_tiff_holds_every_page() {
    use tiff::decoder::{Decoder, DecodingResult};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeder.tif");
    let pages = three_pages(PixelFormat::Rgb16);
    let (outcome, report) = scan(
        plan(dir.path(), "feeder.tif"),
        pages.clone(),
        None,
        vec![path.clone()],
    );
    assert_eq!(outcome.result, wia::S_OK);
    assert!(report.is_ok(), "{:?}", report.errors);
    let mut dec = Decoder::new(std::fs::File::open(&path).unwrap()).unwrap();
    for (i, (_, data)) in pages.iter().enumerate() {
        if i > 0 {
            dec.next_image().unwrap();
        }
        let DecodingResult::U16(v) = dec.read_image().unwrap() else {
            panic!("16-bit")
        };
        let got: Vec<u8> = v.iter().flat_map(|s| s.to_be_bytes()).collect();
        assert_eq!(&got, data);
    }
    assert!(!dec.more_images());
    no_temporaries(dir.path());
    if peer("tiffinfo") {
        let info = run("tiffinfo", &[path.to_str().unwrap()]);
        assert_eq!(info.matches("TIFF Directory").count(), 3, "{info}");
    }
}

#[test]
fn overwriting_is_replace_by_default_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("scan.png");
    std::fs::write(&target, b"old").unwrap();
    // Refused: a single file at start, a numbered file when its page opens.
    let mut p = plan(dir.path(), "scan.png");
    p.overwrite = Overwrite::Refuse;
    let e = p.start().unwrap_err().to_string();
    assert!(e.contains("exists") && e.contains("scan.png"), "{e}");
    std::fs::write(dir.path().join("n-2.png"), b"old").unwrap();
    let mut p = plan(dir.path(), "n-{n}.png");
    p.overwrite = Overwrite::Refuse;
    let (outcome, report) = scan(p, three_pages(PixelFormat::Gray8), None, vec![]);
    assert!(outcome.result.is_failure());
    assert_eq!(report.files, vec![dir.path().join("n-1.png")]);
    assert!(
        report.errors[0]
            .to_string()
            .contains("refusing to overwrite"),
        "{}",
        report.errors[0]
    );
    assert_eq!(std::fs::read(dir.path().join("n-2.png")).unwrap(), b"old");
    // Replaced: atomically, by the complete new file.
    let pages: Vec<_> = three_pages(PixelFormat::Gray8)
        .into_iter()
        .take(1)
        .collect();
    let (outcome, report) = scan(plan(dir.path(), "scan.png"), pages.clone(), None, vec![]);
    assert_eq!(outcome.result, wia::S_OK);
    assert!(report.is_ok());
    assert_eq!(png_pixels(&target), pages[0].1);
    no_temporaries(dir.path());
}

#[test]
fn a_single_file_takes_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, report) = scan(
        plan(dir.path(), "one.jpg"),
        three_pages(PixelFormat::Rgb8),
        None,
        vec![],
    );
    assert!(outcome.result.is_failure());
    assert_eq!(report.files, vec![dir.path().join("one.jpg")]);
    let e = report.errors[0].to_string();
    assert!(e.contains("holds one page") && e.contains("{n}"), "{e}");
}

#[test]
fn unknown_height_pages_are_saved_with_their_real_height() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["hand.pnm", "hand.png", "hand.jpg", "hand.pdf", "hand.tiff"] {
        let (w, h) = (50, 77);
        let data = chart(PixelFormat::Gray8, w, h);
        let pages = vec![(page(1, PixelFormat::Gray8, w, None, 300), data.clone())];
        let (outcome, report) = scan(plan(dir.path(), name), pages, None, vec![]);
        assert_eq!(outcome.result, wia::S_OK, "{name}");
        assert!(report.is_ok(), "{name}: {:?}", report.errors);
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        match name {
            "hand.pnm" => assert_eq!(parse_pnm(&bytes).4, data),
            "hand.png" => assert_eq!(png_pixels(&dir.path().join(name)), data),
            "hand.jpg" => assert_eq!(parse_jpeg_header(&bytes).unwrap().unwrap().height, h),
            "hand.tiff" => {
                let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(&bytes)).unwrap();
                assert_eq!(d.dimensions().unwrap(), (w, h));
            }
            _ => {
                if let Some(n) = pdf_pages(&dir.path().join(name)) {
                    assert_eq!(n, 1);
                }
            }
        }
    }
    no_temporaries(dir.path());
}

#[test]
fn a_page_with_too_much_data_fails_the_transfer_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (64, 40);
    let mut data = chart(PixelFormat::Gray8, w, h);
    data.extend(vec![0; 64 * 500]); // 500 rows more than declared
    for (name, pipeline) in [("x.png", 2), ("x.pdf", 2), ("x.png", 0)] {
        let mut p = plan(dir.path(), name);
        p.pipeline = pipeline;
        let pages = vec![(page(1, PixelFormat::Gray8, w, Some(h), 300), data.clone())];
        let (outcome, report) = scan(p, pages, None, vec![]);
        if pipeline == 0 {
            // Closing waited for the page, so the driver heard of the failure.
            assert!(outcome.result.is_failure(), "{name}: {:?}", outcome.result);
        }
        // Pipelined, the page was closed before its tail was checked: only the report (the
        // authority on files) can say. A later page would have failed the transfer.
        assert!(!report.is_ok(), "{name}");
        let e = report.errors[0].to_string();
        assert!(e.contains("declared 40 rows"), "{e}");
        assert!(
            report.files.is_empty(),
            "{name} {pipeline}: {:?} {:?}",
            report.files,
            report.errors
        );
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }
}

#[test]
fn sinks_used_directly_discard_incomplete_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(dir.path(), "d-{n}.pnm");
    p.pipeline = 0;
    let output = p.start().unwrap();
    let info = page(1, PixelFormat::Gray8, 10, Some(10), 300);
    let AppStream::Stream(mut sink) = output.open_page(&info) else {
        panic!("a stream")
    };
    sink.write(&[7; 55]).unwrap();
    // Mid-page: only the temporary file exists.
    assert!(listing(dir.path()).iter().all(|n| n.ends_with(".part")));
    assert_eq!(sink.close(wia::S_FALSE), wia::S_OK);
    let info2 = page(2, PixelFormat::Gray8, 10, Some(10), 300);
    let AppStream::Stream(mut sink) = output.open_page(&info2) else {
        panic!("a stream")
    };
    sink.write(&[9; 100]).unwrap();
    assert_eq!(sink.close(wia::S_OK), wia::S_OK);
    // pipeline = 0: the file is in place when close returns.
    assert_eq!(listing(dir.path()), vec!["d-2.pnm"]);
    let report = output.finish(wia::S_OK);
    assert_eq!((report.pages, report.discarded), (1, 1));
    assert_eq!(
        parse_pnm(&std::fs::read(dir.path().join("d-2.pnm")).unwrap()).4,
        vec![9; 100]
    );
}

#[test]
fn finishing_with_a_page_still_open_keeps_the_complete_ones() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan(dir.path(), "open.tiff").start().unwrap();
    let data = chart(PixelFormat::Gray8, 30, 20);
    let AppStream::Stream(mut one) =
        output.open_page(&page(1, PixelFormat::Gray8, 30, Some(20), 300))
    else {
        panic!("a stream")
    };
    one.write(&data).unwrap();
    assert_eq!(one.close(wia::S_OK), wia::S_OK);
    let AppStream::Stream(mut two) =
        output.open_page(&page(2, PixelFormat::Gray8, 30, Some(20), 300))
    else {
        panic!("a stream")
    };
    two.write(&data[..100]).unwrap();
    // The application gives up (say its driver hung) before page 2 is closed.
    let report = output.finish(wia::S_FALSE);
    assert_eq!(
        (report.pages, report.discarded),
        (1, 1),
        "{:?}",
        report.errors
    );
    assert_eq!(listing(dir.path()), vec!["open.tiff"]);
    let mut d =
        tiff::decoder::Decoder::new(std::fs::File::open(dir.path().join("open.tiff")).unwrap())
            .unwrap();
    assert_eq!(d.dimensions().unwrap(), (30, 20));
    assert!(!d.more_images());
    // The late close is told the page could not be kept.
    assert!(two.close(wia::S_OK).is_failure());
}

#[test]
fn a_dropped_output_still_completes_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan(dir.path(), "dropped.pdf").start().unwrap();
    let data = chart(PixelFormat::Gray8, 30, 20);
    let AppStream::Stream(mut one) =
        output.open_page(&page(1, PixelFormat::Gray8, 30, Some(20), 300))
    else {
        panic!("a stream")
    };
    one.write(&data).unwrap();
    assert_eq!(one.close(wia::S_OK), wia::S_OK);
    // The application goes away without `finish`: the encoder thread must not hang on to the
    // output; it keeps the complete page and exits.
    drop(output);
    let path = dir.path().join("dropped.pdf");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the document was never completed"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(listing(dir.path()), vec!["dropped.pdf"]);
    if let Some(n) = pdf_pages(&path) {
        assert_eq!(n, 1);
    }
}

#[test]
fn sinks_dropped_or_left_open_never_hang_the_output() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["k-{n}.png", "k.pdf"] {
        let mut p = plan(dir.path(), name);
        p.pipeline = 1;
        let output = p.start().unwrap();
        let data = chart(PixelFormat::Gray8, 30, 20);
        // Page 1 is dropped without close: incomplete, discarded.
        let AppStream::Stream(mut one) =
            output.open_page(&page(1, PixelFormat::Gray8, 30, Some(20), 300))
        else {
            panic!("a stream")
        };
        one.write(&data[..50]).unwrap();
        drop(one);
        // Page 2 completes (its open waits for page 1's thread, which must have ended).
        let AppStream::Stream(mut two) =
            output.open_page(&page(2, PixelFormat::Gray8, 30, Some(20), 300))
        else {
            panic!("a stream")
        };
        two.write(&data).unwrap();
        assert_eq!(two.close(wia::S_OK), wia::S_OK);
        // Page 3 is still open when the output is finished.
        let AppStream::Stream(mut three) =
            output.open_page(&page(3, PixelFormat::Gray8, 30, Some(20), 300))
        else {
            panic!("a stream")
        };
        three.write(&data[..10]).unwrap();
        let report = output.finish(wia::S_FALSE);
        assert_eq!(
            (report.pages, report.discarded),
            (1, 2),
            "{name}: {:?}",
            report.errors
        );
        assert!(report.is_ok(), "{name}: {:?}", report.errors);
        drop(three);
        no_temporaries(dir.path());
    }
    assert_eq!(listing(dir.path()), vec!["k-2.png", "k.pdf"]);
}
