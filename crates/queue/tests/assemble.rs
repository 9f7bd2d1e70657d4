//! Assembly without a queue: each raw page through `process_page` (the worker's stages),
//! then `assemble`, gives the local pipeline's documents byte for byte, also when blank
//! pages split the job into several documents.

use scanwire_imaging::{Blank, Processing};
use scanwire_queue::{assemble, process_page, PageCount, PageResult};

mod common;
use common::*;

fn through_the_worker(processing: &Processing, req: &scanwire_core::device::ScanRequest) -> usize {
    let pages = raw_pages(req);
    let s = settings(processing, None);
    let n = pages.len() as u32;
    let results: Vec<PageResult> = pages
        .iter()
        .enumerate()
        .map(|(i, (info, data))| {
            let m = message("j", i as u32 + 1, PageCount::Known(n), &s, info, data);
            let outputs = process_page(&m, data.clone(), None).unwrap();
            let r = PageResult::new(&m.job, 1, &m.name, m.page, &s.output, outputs).unwrap();
            // Stored and read back, as between a worker and the assembler.
            PageResult::decode(&r.encode()).unwrap()
        })
        .collect();
    let files = assemble("scan", &s.output, &results).unwrap();
    let local = local_docs(req, processing, None);
    assert_eq!(files.len(), local.len());
    for (k, (f, l)) in files.iter().zip(&local).enumerate() {
        let name = match k {
            0 => "scan.pdf".to_string(),
            k => format!("scan-{}.pdf", k + 1),
        };
        assert_eq!(f.file_name, name);
        assert!(
            f.bytes == *l,
            "{name} differs from the local run's document {}",
            k + 1
        );
        // The job's creation date, not the time of assembly (CREATED is
        // 2025-12-06 05:46:40 UTC).
        assert!(
            f.bytes.windows(16).any(|w| w == b"D:20251206054640"),
            "{name} does not carry the job's creation date"
        );
    }
    files.len()
}

#[test]
fn blank_pages_that_split_the_job_make_the_same_documents() {
    // Sheets 3 and 4 blank: two separators in a row separate once; sheet 7 blank: a third.
    let req = request(8, 100, "3,4,7");
    let p = Processing {
        deskew: true,
        blank: Blank::Split,
        ..Processing::default()
    };
    assert_eq!(through_the_worker(&p, &req), 3);
}

#[test]
fn kept_and_skipped_blank_pages_make_the_same_document() {
    let req = request(4, 100, "2");
    for blank in [Blank::Keep, Blank::Skip] {
        let p = Processing {
            blank,
            ..Processing::default()
        };
        assert_eq!(through_the_worker(&p, &req), 1);
    }
}

/// A file output that tells how many bytes have reached it.
struct Watched {
    inner: std::io::Cursor<Vec<u8>>,
    seen: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::io::Write for Watched {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        let end = self.inner.position();
        self.seen
            .fetch_max(end, std::sync::atomic::Ordering::SeqCst);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for Watched {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

impl scanwire_codecs::DocumentOutput for Watched {
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.get_mut().truncate(len as usize);
        Ok(())
    }
}

/// Assembly is page by page: each page's image is in the file as soon as the page is added
/// (the assembler keeps no page), so a worker's memory does not grow with the document; and
/// the result is the local run's file.
#[test]
fn a_document_is_written_as_its_pages_come() {
    use scanwire_queue::{Assembler, ResultOutput};
    let req = request(12, 100, "");
    let p = Processing::default();
    let s = settings(&p, None);
    let pages = raw_pages(&req);
    let n = pages.len() as u32;
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let make = {
        let seen = seen.clone();
        move || {
            Ok(Watched {
                inner: std::io::Cursor::new(Vec::new()),
                seen: seen.clone(),
            })
        }
    };
    let mut a = Assembler::new("scan", &s.output, make).unwrap();
    let mut images = 0u64;
    for (i, (info, data)) in pages.iter().enumerate() {
        let m = message("j", i as u32 + 1, PageCount::Known(n), &s, info, data);
        let outputs = process_page(&m, data.clone(), None).unwrap();
        let r = PageResult::new(&m.job, 1, &m.name, m.page, &s.output, outputs).unwrap();
        let r = PageResult::decode(&r.encode()).unwrap();
        for o in &r.outputs {
            match o {
                ResultOutput::Pdf { image, .. } => images += image.data.len() as u64,
                o => panic!("a PDF job's result holds {o:?}"),
            }
        }
        a.add(&r).unwrap();
        let now = seen.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            now >= images,
            "after page {}: {now} bytes in the file, {images} bytes of images added",
            i + 1
        );
    }
    let files = a.finish().unwrap();
    assert_eq!(files.len(), 1);
    let local = local_docs(&req, &p, None);
    assert!(
        files[0].output.inner.get_ref() == &local[0],
        "differs from the local run"
    );
}
