//! `scanwire scan -d file:…` end to end: real scanned pages (`$SCANWIRE_FIXTURES/scans`)
//! through the file driver into a searchable PDF whose words `pdftotext` finds as well as the
//! `tesseract` command line finds them on the same image (issue 14: within 0.5 percentage
//! points); a feeder job of many files (and TIFF pages) into one PDF with the right page
//! count; a bad file midway ending the job with its name, the pages before it kept.

mod common;

use common::*;
use scanwire_testkit::have;
use scanwire_testkit::ocr::{imgsrc002_truth, recall, tesseract_cli, words, TYPEWRITER};
use std::path::Path;
use std::process::Command;

/// Pages in a PDF, by qpdf and by pdfinfo (they must agree).
fn page_count(pdf: &Path) -> u32 {
    let q = Command::new("qpdf")
        .arg("--show-npages")
        .arg(pdf)
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    let n: u32 = String::from_utf8_lossy(&q.stdout).trim().parse().unwrap();
    let info = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|v| v.trim().parse::<u32>().unwrap());
    assert_eq!(pages, Some(n), "pdfinfo and qpdf disagree: {info}");
    n
}

/// Scans one fixture page through the file driver with `--ocr eng` and compares the PDF's
/// words (pdftotext) with the `tesseract` command line's on the same image.
fn searchable(name: &str, truth: &str) {
    let Some(scans) = scanwire_testkit::fixtures_dir("scans") else {
        return;
    };
    if !(have("pdftotext", "-v") && have("qpdf", "--version") && have("tesseract", "--version")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = scans.join(name);
    let device = format!("file:{}", image.display());
    let o = scanwire(
        &[
            "scan", "-d", &device, "--source", "adf", "--mode", "lineart", "--ocr", "eng", "-o",
            "out.pdf",
        ],
        d,
    );
    let err = stderr(&o);
    if tesseract_missing(&err) {
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{err}");
    for chatter in ["Estimating resolution", "diacritics", "Warning"] {
        assert!(
            !err.contains(chatter),
            "Tesseract's chatter on stderr: {err}"
        );
    }
    assert_eq!(page_count(&d.join("out.pdf")), 1);
    let ours = pdftotext(&d.join("out.pdf"));
    let cli = tesseract_cli(&image, "eng").unwrap_or_else(|why| panic!("{why}"));
    let truth = words(truth);
    let (r_ours, r_cli) = (recall(&truth, &words(&ours)), recall(&truth, &words(&cli)));
    eprintln!(
        "{name}: word recall through file: and the PDF {:.2} %, tesseract CLI {:.2} %",
        r_ours * 100.0,
        r_cli * 100.0
    );
    assert!(
        (r_ours - r_cli).abs() <= 0.005,
        "{name}: recall {:.2} % vs the CLI's {:.2} %\n{ours}",
        r_ours * 100.0,
        r_cli * 100.0
    );
    assert!(r_ours > 0.8, "{name}: recall {r_ours}\n{ours}");
}

#[test]
fn the_typewriter_page_comes_out_searchable() {
    searchable("ocrmypdf-typewriter.png", TYPEWRITER);
}

#[test]
fn unpapers_text_page_comes_out_searchable() {
    searchable("unpaper-imgsrc002.png", &imgsrc002_truth());
}

/// A PNG of `w`×`h` gray pixels (a gradient), 300 dpi.
fn gray_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    e.set_pixel_dims(Some(png::PixelDimensions {
        xppu: 11811,
        yppu: 11811,
        unit: png::Unit::Meter,
    }));
    let data: Vec<u8> = (0..w * h).map(|i| (i % w * 255 / w) as u8).collect();
    let mut wr = e.write_header().unwrap();
    wr.write_image_data(&data).unwrap();
    wr.finish().unwrap();
    out
}

#[test]
fn a_feeder_job_of_many_files_is_one_pdf_with_every_page() {
    if !(have("qpdf", "--version") && have("pdfinfo", "-v")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inbox = d.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    for name in ["p1.png", "p2.png", "p3.png"] {
        std::fs::write(inbox.join(name), gray_png(120, 160)).unwrap();
    }
    // A two-page TIFF, written by scanwire itself from the virtual scanner's feeder.
    let o = scanwire(
        &[
            "scan",
            "--source",
            "adf",
            "--pages",
            "2",
            "--mode",
            "gray",
            "-o",
            "inbox/p4.tif",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(inbox.join("README.txt"), "not a page").unwrap();
    let o = scanwire(
        &[
            "scan",
            "-d",
            "file:inbox",
            "--source",
            "adf",
            "--mode",
            "gray",
            "-o",
            "all.pdf",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(page_count(&d.join("all.pdf")), 5);
    // `--pages` takes the first ones; a pattern picks files.
    let o = scanwire(
        &[
            "scan",
            "-d",
            "file:inbox/p[12].png",
            "--source",
            "adf",
            "--mode",
            "gray",
            "-o",
            "two.pdf",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(page_count(&d.join("two.pdf")), 2);
    // The real scanned pages, all of them, in lineart.
    if let Some(scans) = scanwire_testkit::fixtures_dir("scans") {
        let device = format!("file:{}", scans.display());
        let o = scanwire(
            &[
                "scan", "-d", &device, "--source", "adf", "--mode", "lineart", "-o", "real.pdf",
            ],
            d,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(page_count(&d.join("real.pdf")), 5);
    }
}

#[test]
fn a_bad_file_midway_names_itself_and_keeps_the_pages_before() {
    if !(have("qpdf", "--version") && have("pdfinfo", "-v")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inbox = d.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::write(inbox.join("1.png"), gray_png(64, 64)).unwrap();
    std::fs::write(inbox.join("2.png"), gray_png(64, 64)).unwrap();
    let whole = gray_png(64, 64);
    std::fs::write(inbox.join("3.png"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(inbox.join("4.png"), gray_png(64, 64)).unwrap();
    let o = scanwire(
        &[
            "scan",
            "-d",
            "file:inbox",
            "--source",
            "adf",
            "--mode",
            "gray",
            "-o",
            "doc.pdf",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("3.png: PNG"), "{}", stderr(&o));
    assert_eq!(page_count(&d.join("doc.pdf")), 2);
    // What a request cannot have is said before anything is written: exit status 2.
    let o = scanwire(
        &[
            "scan",
            "-d",
            "file:inbox",
            "--source",
            "adf",
            "--mode",
            "color",
            "-o",
            "c.pdf",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("allowed: gray, lineart"),
        "{}",
        stderr(&o)
    );
    let o = scanwire(&["scan", "-d", "file:nowhere/*.png", "-o", "x.pdf"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no image files"), "{}", stderr(&o));
}

/// `--pdfa`: the same searchable file, marked and equipped as PDF/A-2b (structure checked
/// with qpdf; no PDF/A validator is packaged, see crates/codecs/tests/pdfa.rs).
#[test]
fn pdfa_with_ocr_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = scanwire(&["scan", "--pdfa", "-o", "page.png"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("use a .pdf file"), "{}", stderr(&o));
    let Some(scans) = scanwire_testkit::fixtures_dir("scans") else {
        return;
    };
    if !(have("pdftotext", "-v") && have("qpdf", "--version")) {
        return;
    }
    let device = format!("file:{}", scans.join("unpaper-imgsrc002.png").display());
    let o = scanwire(
        &[
            "scan",
            "-d",
            &device,
            "--source",
            "adf",
            "--mode",
            "lineart",
            "--ocr",
            "eng",
            "--pdfa",
            "--title",
            "Some text",
            "-o",
            "a.pdf",
        ],
        d,
    );
    let err = stderr(&o);
    if tesseract_missing(&err) {
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{err}");
    qpdf_check(&d.join("a.pdf"));
    let catalog = Command::new("qpdf")
        .args(["--show-object=1", "a.pdf"])
        .current_dir(d)
        .output()
        .unwrap();
    let catalog = String::from_utf8_lossy(&catalog.stdout);
    assert!(
        catalog.contains("/S /GTS_PDFA1") && catalog.contains("/Metadata"),
        "{catalog}"
    );
    let text = pdftotext(&d.join("a.pdf"));
    assert!(text.contains("Additionally, even more text"), "{text}");
}
