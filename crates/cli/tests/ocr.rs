//! `scanwire scan --ocr`: usage errors before anything is scanned, and a searchable PDF from
//! the virtual scanner's feeder. (The real scanned pages need the file driver, issue 13.)

mod common;

use common::*;
use scanwire_testkit::have;

/// Whether Tesseract with English is there (else skipped).
fn tesseract(dir: &std::path::Path) -> bool {
    let o = scanwire(&["scan", "--ocr", "eng+qqq", "-o", "probe.pdf"], dir);
    !tesseract_missing(&stderr(&o))
}

#[test]
fn ocr_usage_errors_come_before_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = scanwire(&["scan", "--ocr", "eng", "-o", "page.png"], d);
    exits_with(&o, 2, "--ocr makes a searchable PDF");
    let o = scanwire(&["scan", "--auto-rotate", "-o", "doc.pdf"], d);
    exits_with(&o, 2, "need --ocr");
    let o = scanwire(&["scan", "--ocr", "eng+", "-o", "doc.pdf"], d);
    exits_with(&o, 2, "bad OCR language list");
    if tesseract(d) {
        let o = scanwire(&["scan", "--ocr", "eng+qqq", "-o", "doc.pdf"], d);
        exits_with(&o, 2, "not installed: qqq");
        assert!(stderr(&o).contains("eng"), "{}", stderr(&o));
        assert!(stderr(&o).contains("tesseract-ocr-qqq"), "{}", stderr(&o));
    }
    assert!(!d.join("doc.pdf").exists() && !d.join("page.png").exists());
}

#[test]
fn a_feeder_scan_with_ocr_is_a_searchable_pdf_with_text_hocr_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !tesseract(d) {
        return;
    }
    if !(have("pdftotext", "-v") && have("qpdf", "--version")) {
        return;
    }
    let o = scanwire(
        &[
            "scan",
            "--source",
            "adf",
            "--pages",
            "2",
            "--mode",
            "gray",
            "--resolution",
            "150",
            "--ocr",
            "eng",
            "--ocr-text",
            "doc.txt",
            "--ocr-hocr",
            "doc.hocr",
            "-o",
            "doc.pdf",
            "--json",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pages = report["ocr"].as_array().expect("an ocr array");
    assert_eq!(pages.len(), 2, "{report}");
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["page"], i + 1);
        assert!(p["words"].as_u64().unwrap() > 0, "{p}");
        assert!(p["mean_confidence"].as_f64().unwrap() > 0.0, "{p}");
        assert!(p["ocr_seconds"].as_f64().unwrap() > 0.0, "{p}");
    }
    qpdf_check(&d.join("doc.pdf"));
    let text = pdftotext(&d.join("doc.pdf"));
    assert_eq!(
        text.matches('\u{c}').count(),
        2,
        "two pages of text: {text:?}"
    );
    assert!(
        text.split('\u{c}').take(2).all(|p| !p.trim().is_empty()),
        "{text:?}"
    );
    let sidecar = std::fs::read_to_string(d.join("doc.txt")).unwrap();
    assert_eq!(sidecar.split('\u{c}').count(), 2, "{sidecar:?}");
    let hocr = std::fs::read_to_string(d.join("doc.hocr")).unwrap();
    assert_eq!(hocr.matches("class=\"ocr_page\"").count(), 2, "{hocr}");
    assert!(hocr.contains("ocrx_word") && hocr.trim_end().ends_with("</html>"));
}
