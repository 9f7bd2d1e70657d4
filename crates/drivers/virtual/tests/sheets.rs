//! The generated pages' options through the real driver: bad values refused before the scan
//! starts, every pixel format cut from the same generated glass, the bytes reproducible and
//! equal to `expected_page`, and the text pages' truth the words of `page_text`.

mod common;

use common::request;
use scanwire_core::device::{
    ColorMode, DeviceErrorKind, OptionValue, PageData, ScanRequest, Source,
};
use scanwire_core::transfer::Outcome;
use scanwire_virtual::{expected_page, page_text, truth, words, PageKind};
use std::collections::BTreeMap;

/// `--set` pairs.
type Set<'a> = &'a [(&'a str, &'a str)];

fn typed(set: &[(&str, &str)]) -> Result<BTreeMap<String, OptionValue>, String> {
    let pairs: Vec<(String, String)> = set
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    scanwire_core::device::parse_settings(&scanwire_virtual::options::device_options(), &pairs)
        .map_err(|e| e.to_string())
}

/// The pages' bytes (`common::scan` checks the transfer's grammar and the verifier).
fn scan(request: &ScanRequest) -> (Outcome, Vec<Vec<u8>>) {
    let (outcome, log) = common::scan(request);
    (outcome, log.pages.into_iter().map(|p| p.data).collect())
}

#[test]
fn bad_values_name_the_option_and_what_is_allowed() {
    let cases: &[(Set, &[&str])] = &[
        (&[("paper", "legal")], &["paper", "a4, a5, a6, b5, letter"]),
        (
            &[("paper", "300x400mm")],
            &["paper", "larger than the glass"],
        ),
        (&[("paper", "10x100")], &["paper", "shorter than 20 mm"]),
        (&[("offset", "5")], &["offset", "X,Ymm"]),
        (&[("offset", "300,10mm")], &["offset", "off the glass"]),
        (&[("blank-sheets", "0")], &["blank-sheets", "1..=50"]),
        (&[("blank-sheets", "2,x")], &["blank-sheets", "`x`"]),
        (&[("blank-sheets", "5-3")], &["blank-sheets", "backwards"]),
        (&[("skew", "40")], &["skew", "-30..=30 deg"]),
        (&[("photos", "7")], &["photos", "0..=6"]),
        (&[("content", "poem")], &["content", "chart|lines|text"]),
        (
            &[("near-blank", "dots")],
            &["near-blank", "nothing|page-number|one-line"],
        ),
    ];
    for (set, needles) in cases {
        let typed_ok = typed(set);
        let message = match typed_ok {
            // Text the driver parses itself passes core and is refused by the driver.
            Ok(options) => {
                let r = ScanRequest {
                    options,
                    ..Default::default()
                };
                let (o, pages) = scan(&r);
                assert!(pages.is_empty());
                let e = o.error.expect("refused");
                assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest, "{e}");
                e.detail().to_string()
            }
            Err(e) => e,
        };
        for n in *needles {
            assert!(message.contains(n), "{set:?}: `{message}` lacks `{n}`");
        }
    }
    // Photos replace the sheet: with a sheet's options it is a contradiction (flatbed only).
    let r = request(
        Source::Flatbed,
        ColorMode::Color,
        75,
        &[("photos", "2"), ("skew", "3")],
    );
    let e = scan(&r).0.error.expect("refused");
    assert!(e.detail().contains("photos"), "{e}");
    let r = request(
        Source::Feeder,
        ColorMode::Color,
        75,
        &[("photos", "2"), ("skew", "3")],
    );
    assert!(scan(&r).0.error.is_none());
    // Generated pages are rendered whole: at most 600 dpi, named.
    let r = request(Source::Flatbed, ColorMode::Gray, 1200, &[("skew", "1")]);
    let e = scan(&r).0.error.expect("refused");
    assert!(
        e.detail().contains("skew") && e.detail().contains("600 dpi"),
        "{e}"
    );
}

/// Every pixel format is the same generated page: 16-bit samples are the 8-bit ones twice,
/// lineart is gray below mid-level; two scans give the same bytes, which `expected_page`
/// predicts.
#[test]
fn every_format_is_cut_from_the_same_page_and_reproducible() {
    let set: &[(&str, &str)] = &[
        ("skew", "-4.5"),
        ("paper", "a5"),
        ("offset", "30,40mm"),
        ("content", "lines"),
        ("blank-sheets", "2"),
        ("near-blank", "page-number"),
        ("seed", "9"),
    ];
    let gray = request(Source::FeederDuplex, ColorMode::Gray, 75, set);
    let (o, g8) = scan(&gray);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(g8.len(), 10);
    assert_eq!(scan(&gray).1, g8);
    for (i, page) in g8.iter().enumerate() {
        assert_eq!(
            &expected_page(&gray, i as u32 + 1).unwrap(),
            page,
            "page {}",
            i + 1
        );
    }
    let (_, g16) = scan(&ScanRequest {
        mode: ColorMode::Gray16,
        ..gray.clone()
    });
    let (_, bw) = scan(&ScanRequest {
        mode: ColorMode::Lineart,
        ..gray.clone()
    });
    let PageData::Raster { width, .. } = scanwire_virtual::PageGeometry::for_request(&gray)
        .unwrap()
        .page_data()
    else {
        unreachable!()
    };
    for p in 0..g8.len() {
        assert!(g16[p]
            .chunks_exact(2)
            .zip(&g8[p])
            .all(|(s, &v)| s == [v, v]));
        let bpl = (width as usize).div_ceil(8);
        for (y, row) in g8[p].chunks_exact(width as usize).enumerate() {
            for (x, &v) in row.iter().enumerate() {
                let bit = bw[p][y * bpl + x / 8] >> (7 - x % 8) & 1;
                assert_eq!(bit == 1, v < 128, "page {p} x {x} y {y}");
            }
        }
    }
    let color = ScanRequest {
        mode: ColorMode::Color,
        ..gray.clone()
    };
    let (_, c8) = scan(&color);
    let (_, c16) = scan(&ScanRequest {
        mode: ColorMode::Color48,
        ..gray.clone()
    });
    assert!(c16[0]
        .chunks_exact(2)
        .zip(&c8[0])
        .all(|(s, &v)| s == [v, v]));
    // A sub-area is the same pixels as the whole page's corresponding region.
    let mut part = color.clone();
    part.area = Some(scanwire_core::device::Area {
        left: scanwire_core::device::Length::mm(20),
        top: scanwire_core::device::Length::mm(30),
        width: scanwire_core::device::Length::mm(50),
        height: scanwire_core::device::Length::mm(40),
    });
    let (_, sub) = scan(&part);
    let full_w = scanwire_core::device::Length(215_900).to_pixels(75) as usize;
    let (l, t) = (
        scanwire_core::device::Length::mm(20).to_pixels(75) as usize,
        scanwire_core::device::Length::mm(30).to_pixels(75) as usize,
    );
    let w = scanwire_core::device::Length::mm(50).to_pixels(75) as usize;
    for (y, row) in sub[0].chunks_exact(w * 3).enumerate() {
        let start = ((t + y) * full_w + l) * 3;
        assert_eq!(row, &c8[0][start..start + w * 3], "row {y}");
    }
    // The truth follows the area: the sheet's centre moves by the area's corner.
    let whole = truth(&color, 1).unwrap().paper.unwrap();
    let moved = truth(&part, 1).unwrap().paper.unwrap();
    assert!((whole.center.0 - moved.center.0 - l as f64).abs() < 1e-9);
    assert!((whole.center.1 - moved.center.1 - t as f64).abs() < 1e-9);
    // Blank sheet 2, both sides; page numbers keep them blank.
    let blank: Vec<bool> = (1..=10).map(|n| truth(&gray, n).unwrap().blank).collect();
    assert_eq!(
        blank,
        [false, false, true, true, false, false, false, false, false, false]
    );
    // Without the options the chart is untouched.
    let chart = request(
        Source::Feeder,
        ColorMode::Gray,
        75,
        &[("blank-sheets", "2")],
    );
    assert_eq!(truth(&chart, 1).unwrap().kind, PageKind::Chart);
    assert_eq!(
        scan(&chart).1[0],
        scanwire_virtual::Chart::for_page(&chart, 1)
            .unwrap()
            .render_page()
    );
}

/// `content=text` prints page N's words: on a sheet the size of the glass, all of them, and
/// the truth says which.
#[test]
fn text_pages_print_the_words_of_page_text() {
    if !std::path::Path::new(scanwire_virtual::text::FONT_PATH).exists() {
        scanwire_testkit::peer_missing("needs DejaVu Serif (apt-get install fonts-dejavu-core)");
        return;
    }
    let r = request(
        Source::Feeder,
        ColorMode::Gray,
        100,
        &[("content", "text"), ("sheets", "2")],
    );
    let (o, pages) = scan(&r);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(pages.len(), 2);
    for n in 1..=2 {
        let t = truth(&r, n).unwrap();
        assert_eq!(t.kind, PageKind::Sheet);
        assert!(!t.blank);
        assert_eq!(words(&t.text.unwrap()), words(&page_text(n)));
    }
    assert_ne!(pages[0], pages[1]);
    // Ink: a text page is a few percent dark pixels, all inside the margins.
    let width = scanwire_core::device::Length(215_900).to_pixels(100) as usize;
    let dark = pages[0].iter().filter(|&&v| v < 128).count();
    let share = dark as f64 / pages[0].len() as f64;
    assert!((0.01..0.2).contains(&share), "{share}");
    let margin = scanwire_core::device::Length::mm(20).to_pixels(100) as usize;
    for row in pages[0].chunks_exact(width) {
        assert!(row[..margin].iter().all(|&v| v > 150));
    }
}

/// The word boxes of the truth are where the words are: on a turned text sheet every box
/// holds ink, and every dark pixel on the sheet lies in a box (grown by 1.5 px for the
/// anti-aliased edges of the glyphs).
#[test]
fn word_boxes_hold_the_ink_of_their_words() {
    if !std::path::Path::new(scanwire_virtual::text::FONT_PATH).exists() {
        scanwire_testkit::peer_missing("needs DejaVu Serif (apt-get install fonts-dejavu-core)");
        return;
    }
    let r = request(
        Source::Flatbed,
        ColorMode::Gray,
        150,
        &[
            ("content", "text"),
            ("paper", "a5"),
            ("skew", "6.5"),
            ("offset", "30,40mm"),
        ],
    );
    let t = truth(&r, 1).unwrap();
    assert_eq!(words(&t.text.clone().unwrap()).len(), t.words.len());
    let page = &scan(&r).1[0];
    let g = scanwire_virtual::PageGeometry::for_request(&r).unwrap();
    let (w, h) = (g.width as usize, g.height as usize);
    let inside = |reg: &scanwire_imaging::Region, x: usize, y: usize, grow: f64| {
        let (u, v) = reg.from_image(x as f64 + 0.5, y as f64 + 0.5);
        u.abs() <= reg.size.0 / 2.0 + grow && v.abs() <= reg.size.1 / 2.0 + grow
    };
    let mut in_a_word = vec![false; w * h];
    for (word, reg) in &t.words {
        let b = reg.bounding_rect(g.width, g.height);
        let mut darkest = 255;
        for y in b.y as usize..(b.y + b.height + 2).min(g.height) as usize {
            for x in b.x as usize..(b.x + b.width + 2).min(g.width) as usize {
                if inside(reg, x, y, 1.5) {
                    in_a_word[y * w + x] = true;
                }
                if inside(reg, x, y, 0.0) {
                    darkest = darkest.min(page[y * w + x]);
                }
            }
        }
        assert!(darkest < 100, "no ink in the box of `{word}` at {reg:?}");
    }
    let paper = t.paper.unwrap();
    let mut stray = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if page[y * w + x] < 100 && inside(&paper, x, y, -3.0) && !in_a_word[y * w + x] {
                stray.push((x, y));
            }
        }
    }
    assert!(
        stray.is_empty(),
        "{} dark pixels outside every word box, e.g. {:?}",
        stray.len(),
        &stray[..stray.len().min(10)]
    );
}
