//! The outputs, checked by real readers: a searchable PDF page read back by poppler's
//! `pdftotext -bbox` and checked by `qpdf --check`, hOCR parsed as XML.

mod common;

use common::pdf::*;
use common::*;
use scanwire_codecs::{Document, EncodeOptions, Format, SliceSource};
use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use scanwire_ocr::{CancelFlag, PageImage, Pixels, Recognized};
use std::io::Cursor;

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
