//! Reading PDFs back with real readers: qpdf checks, poppler renders and extracts words.

use scanwire_ocr::BBox;
use scanwire_testkit::have;
use std::path::Path;
use std::process::Command;

/// `pdftotext -bbox`'s words: text and box in points (top-left origin).
pub fn pdftotext_words(pdf: &Path) -> Vec<(String, [f64; 4])> {
    pdftotext_pages(pdf).concat()
}

/// `pdftotext -bbox`'s words, page by page.
pub fn pdftotext_pages(pdf: &Path) -> Vec<Vec<(String, [f64; 4])>> {
    let out = Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<Vec<(String, [f64; 4])>> = Vec::new();
    for line in html.lines() {
        if line.trim_start().starts_with("<page ") {
            pages.push(Vec::new());
        }
        if !line.trim_start().starts_with("<word ") {
            continue;
        }
        let attr = |name: &str| -> f64 {
            let k = format!("{name}=\"");
            let s = &line[line.find(&k).unwrap() + k.len()..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        let text = &line[line.find('>').unwrap() + 1..line.rfind("</word>").unwrap()];
        let text = text
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'");
        pages.last_mut().expect("a word inside a page").push((
            text,
            [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")],
        ));
    }
    pages
}

pub fn check_pdf_tools() -> bool {
    have("pdftotext", "-v") && have("qpdf", "--version") && have("pdftoppm", "-v")
}

/// Writes the PDF, checks it with qpdf and renders it with poppler (no complaint about the
/// font), and returns pdftotext's words.
pub fn write_and_read(pdf: &[u8], name: &str) -> Vec<(String, [f64; 4])> {
    write_and_read_pages(pdf, name).concat()
}

/// [`write_and_read`], page by page.
pub fn write_and_read_pages(pdf: &[u8], name: &str) -> Vec<Vec<(String, [f64; 4])>> {
    let dir = std::env::temp_dir().join(format!("scanwire-ocr-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("page.pdf");
    std::fs::write(&path, pdf).unwrap();
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "qpdf --check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let render = Command::new("pdftoppm")
        .args(["-r", "20", "-png"])
        .arg(&path)
        .arg(dir.join("render"))
        .output()
        .unwrap();
    assert!(render.status.success());
    let complaints = String::from_utf8_lossy(&render.stderr);
    assert!(complaints.trim().is_empty(), "poppler: {complaints}");
    let words = pdftotext_pages(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    words
}

/// How much of `word` (the printed word) the extracted box `b` covers, and their IoU.
pub fn cover_pt(b: [f64; 4], word: [f64; 4]) -> (f64, f64) {
    let ix = (b[2].min(word[2]) - b[0].max(word[0])).max(0.0);
    let iy = (b[3].min(word[3]) - b[1].max(word[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    (ix * iy / area(word), iou_pt(b, word))
}

pub fn iou_pt(a: [f64; 4], b: [f64; 4]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    ix * iy / (area(a) + area(b) - ix * iy)
}

pub fn to_points(b: &BBox, dpi: f64) -> [f64; 4] {
    let k = 72.0 / dpi;
    [
        b.left as f64 * k,
        b.top as f64 * k,
        b.right as f64 * k,
        b.bottom as f64 * k,
    ]
}
