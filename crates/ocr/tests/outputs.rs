//! The outputs, checked by real readers: a searchable PDF page read back by poppler's
//! `pdftotext -bbox` and checked by `qpdf --check`, hOCR parsed as XML.

mod common;

use common::*;
use scanwire_codecs::{Document, EncodeOptions, Format, SliceSource};
use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use scanwire_ocr::{BBox, CancelFlag, PageImage, Pixels, Recognized};
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

/// A one-page PDF from Scanwire's PDF writer: the page image, and the text layer over it.
fn searchable_pdf(page: &PageImage, rec: &Recognized, dpi: u32) -> Vec<u8> {
    let pixel = match &page.pixels {
        Pixels::BlackAndWhite1(_) => PixelFormat::BlackAndWhite1,
        Pixels::Gray8(_) => PixelFormat::Gray8,
        Pixels::Rgb8(_) => PixelFormat::Rgb8,
    };
    let info = PageInfo {
        number: 1,
        sheet: 1,
        side: Side::Front,
        source: Source::Flatbed,
        data: PageData::Raster {
            pixel,
            width: page.width,
            height: Some(page.height),
        },
        dpi: (dpi, dpi),
    };
    let opts = EncodeOptions {
        pdf_lossless: true,
        ..EncodeOptions::default()
    };
    let mut doc = Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
    let layer = rec.text_layer();
    doc.add_page_with_text(
        &info,
        &mut SliceSource::new(page.pixels.data(), 1 << 20),
        Some(&layer),
    )
    .unwrap();
    doc.finish().unwrap().into_inner()
}

/// `pdftotext -bbox`'s words: text and box in points (top-left origin).
fn pdftotext_words(pdf: &Path) -> Vec<(String, [f64; 4])> {
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
    let mut words = Vec::new();
    for line in html
        .lines()
        .filter(|l| l.trim_start().starts_with("<word "))
    {
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
        words.push((
            text,
            [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")],
        ));
    }
    words
}

fn check_pdf_tools() -> bool {
    have("pdftotext", "-v") && have("qpdf", "--version") && have("pdftoppm", "-v")
}

/// Writes the PDF, checks it with qpdf and renders it with poppler (no complaint about the
/// font), and returns pdftotext's words.
fn write_and_read(pdf: &[u8], name: &str) -> Vec<(String, [f64; 4])> {
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
    let words = pdftotext_words(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    words
}

/// How much of `word` (the printed word) the extracted box `b` covers, and their IoU.
fn cover_pt(b: [f64; 4], word: [f64; 4]) -> (f64, f64) {
    let ix = (b[2].min(word[2]) - b[0].max(word[0])).max(0.0);
    let iy = (b[3].min(word[3]) - b[1].max(word[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    (ix * iy / area(word), iou_pt(b, word))
}

fn iou_pt(a: [f64; 4], b: [f64; 4]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    ix * iy / (area(a) + area(b) - ix * iy)
}

fn to_points(b: &BBox, dpi: f64) -> [f64; 4] {
    let k = 72.0 / dpi;
    [
        b.left as f64 * k,
        b.top as f64 * k,
        b.right as f64 * k,
        b.bottom as f64 * k,
    ]
}

#[test]
fn pdf_text_layer_is_found_where_the_words_are_printed() {
    if !check_pdf_tools() {
        return;
    }
    let Some(mut engine) = engine() else { return };
    let Some((page, truth)) = synthetic_page(LINES, 50.0, 1800) else {
        return;
    };
    let rec = engine.recognize(&page, &CancelFlag::new()).unwrap();
    let words = write_and_read(&searchable_pdf(&page, &rec, 300), "synthetic");
    let found: Vec<&str> = words.iter().map(|(t, _)| t.as_str()).collect();
    let expected: Vec<&str> = truth.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(found, expected, "pdftotext's words in order");
    for ((text, b), (_, true_box)) in words.iter().zip(&truth) {
        let t = to_points(true_box, 300.0);
        let (cover, iou) = cover_pt(*b, t);
        assert!(
            cover > 0.9 && iou > 0.4,
            "{text}: pdftotext {b:?} vs printed {t:?} (covers {cover:.2}, IoU {iou:.2})"
        );
    }
}

#[test]
fn real_scan_comes_out_searchable() {
    if !check_pdf_tools() {
        return;
    }
    let Some(mut engine) = engine() else { return };
    let Some(path) = fixture("ocrmypdf-typewriter.png") else {
        return;
    };
    let page = png_page::load_png(&path).unwrap();
    let rec = engine.recognize(&page, &CancelFlag::new()).unwrap();
    // The scan has no resolution; 400 dpi makes it a 10 × 7.16 inch page.
    let words = write_and_read(&searchable_pdf(&page, &rec, 400), "typewriter");
    // Every recognised word is found, on its box. (The order is pdftotext's: its layout
    // analysis reads "kerrie, zout", far right of a short line, as a column beside the
    // paragraph below; the synthetic page checks the order.)
    assert_eq!(words.len(), rec.words.len());
    let mut unused = words.clone();
    for w in &rec.words {
        let printed = to_points(&w.bbox, 400.0);
        let (i, (cover, iou)) = unused
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| *t == w.text)
            .map(|(i, (_, b))| (i, cover_pt(*b, printed)))
            .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .unwrap_or_else(|| panic!("{} not found by pdftotext", w.text));
        assert!(
            cover > 0.9 && iou > 0.3,
            "{}: covers {cover:.2}, IoU {iou:.2}",
            w.text
        );
        unused.remove(i);
    }
}

#[test]
fn hocr_is_xhtml_with_pages_lines_and_words() {
    use quick_xml::events::Event;
    use quick_xml::XmlVersion;
    let Some(mut engine) = engine() else { return };
    let Some((page, truth)) = synthetic_page(LINES, 50.0, 1800) else {
        return;
    };
    let mut rec = engine.recognize(&page, &CancelFlag::new()).unwrap();
    // Markup in a word must be escaped.
    rec.words[0].text = "<a&b>".into();
    let doc = scanwire_ocr::hocr::document(std::slice::from_ref(&rec));
    let mut reader = quick_xml::Reader::from_str(&doc);
    let (mut classes, mut titles, mut texts) = (Vec::new(), Vec::new(), Vec::new());
    let mut in_word = false;
    let mut word = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let mut class = String::new();
                for a in e.attributes() {
                    let a = a.unwrap();
                    let v = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned();
                    match a.key.as_ref() {
                        b"class" => class = v,
                        b"title" if class == "ocrx_word" => titles.push(v),
                        b"xmlns" => assert_eq!(v, "http://www.w3.org/1999/xhtml"),
                        _ => {}
                    }
                }
                in_word = class == "ocrx_word";
                word.clear();
                if !class.is_empty() {
                    classes.push(class);
                }
            }
            Event::Text(t) if in_word => {
                word.push_str(&t.xml_content(XmlVersion::Implicit1_0).unwrap())
            }
            Event::GeneralRef(r) if in_word => {
                let name = String::from_utf8(r.to_vec()).unwrap();
                word.push_str(match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "#39" => "'",
                    other => panic!("unexpected entity {other}"),
                });
            }
            Event::End(_) => {
                if in_word {
                    texts.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let count = |c: &str| classes.iter().filter(|x| *x == c).count();
    assert_eq!(count("ocr_page"), 1);
    assert_eq!(count("ocr_line"), LINES.len());
    assert_eq!(count("ocrx_word"), truth.len());
    assert!(count("ocr_par") >= 1);
    assert_eq!(texts[0], "<a&b>");
    for (t, w) in titles.iter().zip(&rec.words) {
        let b = w.bbox;
        let expected = format!(
            "bbox {} {} {} {}; x_wconf {}",
            b.left,
            b.top,
            b.right,
            b.bottom,
            w.confidence.round() as i32
        );
        assert_eq!(t, &expected);
    }
    assert!(doc.contains(&format!(
        "title=\"bbox 0 0 {} {}; ppageno 0\"",
        page.width, page.height
    )));
    // And the plain text, in reading order.
    assert_eq!(
        texts[1..],
        truth[1..]
            .iter()
            .map(|(t, _)| t.clone())
            .collect::<Vec<_>>()[..]
    );
}
