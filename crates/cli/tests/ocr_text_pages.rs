//! Issue 14's first test: the words printed on the virtual scanner's text pages
//! (`--set content=text`, real words in a real font, with their true boxes) are found by
//! `pdftotext` in a `scanwire scan --ocr` PDF, in the right order and in the right place.

mod common;

use common::*;
use scanwire_core::device::{ColorMode, ScanRequest, Source};
use scanwire_virtual::{truth, words};
use std::path::Path;
use std::process::Command;

const DPI: u32 = 300;
const PAGES: u32 = 2;

/// A word `pdftotext -bbox` found: its text (as recall counts it) and box in PDF points.
#[derive(Debug)]
struct Found {
    text: String,
    bbox: [f64; 4],
}

/// The words of each page of `pdf`, by `pdftotext -bbox` (None: skipped, poppler missing).
fn pdftotext_words(pdf: &Path) -> Option<Vec<Vec<Found>>> {
    let html = pdf.with_extension("html");
    match Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg(&html)
        .status()
    {
        Ok(s) => assert!(s.success(), "pdftotext -bbox failed"),
        Err(e) => {
            scanwire_testkit::peer_missing(&format!(
                "pdftotext: {e} (apt-get install poppler-utils)"
            ));
            return None;
        }
    }
    let html = std::fs::read_to_string(&html).unwrap();
    let attr = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let mut pages = Vec::new();
    for page in html.split("<page ").skip(1) {
        let mut found = Vec::new();
        for w in page.split("<word ").skip(1) {
            let (tag, rest) = w.split_once('>').unwrap();
            let text = rest.split("</word>").next().unwrap();
            let text = text
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">");
            let bbox = ["xMin", "yMin", "xMax", "yMax"].map(|n| attr(tag, n));
            // One PDF word may hold several of ours (or none, for punctuation alone).
            for t in words(&text) {
                found.push(Found { text: t, bbox });
            }
        }
        pages.push(found);
    }
    Some(pages)
}

/// Whether two boxes overlap.
fn overlap(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// The length of the longest increasing run (not necessarily contiguous) of `v`.
fn longest_increasing(v: &[usize]) -> usize {
    let mut tails: Vec<usize> = Vec::new();
    for &x in v {
        match tails.binary_search(&x) {
            Ok(_) => {}
            Err(i) if i == tails.len() => tails.push(x),
            Err(i) => tails[i] = x,
        }
    }
    tails.len()
}

#[test]
fn words_on_the_virtual_text_pages_are_found_in_order_and_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(
        &[
            "scan",
            "--source",
            "adf",
            "--pages",
            &PAGES.to_string(),
            "--mode",
            "gray",
            "--resolution",
            &DPI.to_string(),
            "--set",
            "content=text",
            "--ocr",
            "eng",
            "-o",
            "doc.pdf",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    if err.contains("could not be loaded") || err.contains("no Tesseract language data") {
        scanwire_testkit::peer_missing(&format!("needs Tesseract with English: {err}"));
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{err}");
    let Some(pages) = pdftotext_words(&dir.path().join("doc.pdf")) else {
        return;
    };
    assert_eq!(pages.len(), PAGES as usize);

    let table = scanwire_virtual::options::device_options();
    let request = ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: DPI,
        options: scanwire_testkit::set(&table, &[("content", "text")]),
        ..Default::default()
    };
    let points = 72.0 / DPI as f64;
    for (k, found) in pages.iter().enumerate() {
        let t = truth(&request, k as u32 + 1).expect("the page's truth");
        // Each printed word, as recall counts it, with its box in PDF points.
        let printed: Vec<(String, [f64; 4])> = t
            .words
            .iter()
            .flat_map(|(w, region)| {
                let b = region.bounding_rect(u32::MAX, u32::MAX);
                let bbox = [
                    b.x as f64 * points,
                    b.y as f64 * points,
                    (b.x + b.width) as f64 * points,
                    (b.y + b.height) as f64 * points,
                ];
                words(w).into_iter().map(move |w| (w, bbox))
            })
            .collect();
        assert!(printed.len() > 100, "a text page has paragraphs");
        // Each found word matched to the first unmatched printed word with the same text
        // whose box it overlaps: in the right place.
        let mut used = vec![false; printed.len()];
        let mut order = Vec::new();
        for f in found {
            if let Some(i) = (0..printed.len())
                .find(|&i| !used[i] && printed[i].0 == f.text && overlap(printed[i].1, f.bbox))
            {
                used[i] = true;
                order.push(i);
            }
        }
        let recall = order.len() as f64 / printed.len() as f64;
        let in_order = longest_increasing(&order) as f64 / order.len().max(1) as f64;
        eprintln!(
            "page {}: {} of {} printed words found in place ({:.1} %), {:.1} % of them in order",
            k + 1,
            order.len(),
            printed.len(),
            100.0 * recall,
            100.0 * in_order
        );
        assert!(
            recall >= 0.95,
            "page {}: recall in place {recall:.3}",
            k + 1
        );
        assert!(in_order >= 0.99, "page {}: in order {in_order:.3}", k + 1);
    }
}
