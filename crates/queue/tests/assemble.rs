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
            let r = PageResult {
                job: m.job.clone(),
                document: 1,
                name: m.name.clone(),
                page: m.page,
                output: s.output.clone(),
                outputs,
            };
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
