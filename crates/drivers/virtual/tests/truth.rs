//! Property tests of the generated pages: many seeded cases scanned through the real driver
//! (the core's runner, strict verifier), each checked against [`scanwire_virtual::truth`] with
//! the imaging crate's detectors, at the tolerances issue 13 asks for:
//! - deskew: the angle found differs from the sheet's skew (−15..15°) by at most 0.1°, and the
//!   page turned back by it measures within 0.1° of straight;
//! - crop: every corner of the sheet found against the lid within 2 px of the truth at
//!   150 dpi (0.34 mm), its angle within 0.1°;
//! - photos: each photo found, none extra, corners within 3 px at 150 dpi, angles within 0.2°;
//! - blank: no false positive or negative over the blank / near-blank matrix.
//!
//! Cases are drawn from a seeded generator (no proptest in the workspace; the seed of a
//! failing case is in its message, so it replays exactly).

mod common;

use scanwire_core::device::{ColorMode, PageData, ScanRequest, Source};
use scanwire_imaging::synth::{self, RegionError, Rng};
use scanwire_imaging::{
    blank_score, blank_score_in, deskew, detect_paper, detect_paper_in, detect_skew,
    segment_photos, Image, Sensitivity, Thumbnail,
};
use scanwire_virtual::{truth, PageKind};

/// Resolution of the cases: the imaging crate's tolerances are stated at 150 dpi.
const DPI: u32 = 150;

fn request(source: Source, mode: ColorMode, set: &[(&str, String)]) -> ScanRequest {
    let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::request(source, mode, DPI, &set)
}

/// Every page the real driver delivers for `request`, as images (`common::scan` checks the
/// transfer's grammar and the verifier).
fn scan(request: &ScanRequest) -> Vec<Image> {
    let (outcome, log) = common::scan(request);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    log.pages
        .into_iter()
        .map(|p| {
            let PageData::Raster {
                pixel,
                width,
                height,
            } = p.info.data
            else {
                panic!("raw pages")
            };
            Image {
                pixel,
                width,
                height: height.expect("known height"),
                dpi: p.info.dpi,
                data: p.data,
            }
        })
        .collect()
}

fn font_present() -> bool {
    std::path::Path::new(scanwire_virtual::text::FONT_PATH).exists()
}

/// One sheet case: skew in −15..15°, a paper size (named or random) placed at a random
/// offset that keeps the turned sheet 4 mm inside the glass, the flatbed or the feeder, gray
/// or colour, letter-like lines or (every fourth case, with the font) real text.
fn sheet_case(seed: u64) -> (ScanRequest, f64) {
    let mut rng = Rng::new(seed.wrapping_mul(7919) + 17);
    let skew = rng.range(-15.0, 15.0);
    let (s, c) = (skew.to_radians().sin().abs(), skew.to_radians().cos());
    let (gw, gh) = (215.9, 297.0);
    let fits = |w: f64, h: f64| w * c + h * s <= gw - 10.0 && w * s + h * c <= gh - 10.0;
    let (w, h, paper) = match seed % 4 {
        0 => (148.0, 210.0, "a5".to_string()),
        1 => (105.0, 148.0, "a6".to_string()),
        _ => {
            let (mut w, mut h) = (rng.range(120.0, 175.0), rng.range(150.0, 235.0));
            while !fits(w, h) {
                w *= 0.95;
                h *= 0.95;
            }
            // What the option holds: one decimal.
            let (w, h) = ((w * 10.0f64).round() / 10.0, (h * 10.0f64).round() / 10.0);
            (w, h, format!("{w:.1}x{h:.1}mm"))
        }
    };
    let (bw, bh) = (w * c + h * s, w * s + h * c);
    let cx = rng.range(bw / 2.0 + 4.0, gw - bw / 2.0 - 4.0);
    let cy = rng.range(bh / 2.0 + 4.0, gh - bh / 2.0 - 4.0);
    let offset = format!("{:.2},{:.2}mm", cx - w / 2.0, cy - h / 2.0);
    let text = seed % 4 == 3 && font_present();
    let content = if text { "text" } else { "lines" };
    let source = if rng.chance(0.5) {
        Source::Flatbed
    } else {
        Source::Feeder
    };
    let mode = if rng.chance(0.5) {
        ColorMode::Color
    } else {
        ColorMode::Gray
    };
    let set = [
        ("skew", format!("{skew:.3}")),
        ("paper", paper),
        ("offset", offset),
        ("content", content.to_string()),
        ("seed", seed.to_string()),
        ("sheets", "1".to_string()),
    ];
    let skew = (skew * 1000.0).round() / 1000.0;
    (request(source, mode, &set), skew)
}

/// Deskew and crop over 30 sheets placed as people do.
#[test]
fn deskew_and_crop_match_the_truth() {
    let (mut worst_skew, mut worst_after, mut worst_corner, mut worst_angle) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for seed in 0..30u64 {
        let (req, skew) = sheet_case(seed);
        let truth = truth(&req, 1).expect("truth");
        assert_eq!(truth.kind, PageKind::Sheet);
        let paper = truth.paper.expect("a sheet");
        assert!((truth.skew_deg() - skew).abs() < 1e-9, "seed {seed}");
        let page = &scan(&req)[0];
        let found = detect_skew(page).unwrap_or_else(|e| panic!("seed {seed} skew {skew:.3}: {e}"));
        let residual = (found.angle_deg - skew).abs();
        worst_skew = worst_skew.max(residual);
        assert!(
            residual <= 0.1,
            "seed {seed} {:?}: skew {skew:.3}° found {:.3}° (residual {residual:.3}°)",
            req.options,
            found.angle_deg
        );
        if seed % 6 == 0 {
            // Turned back by what was found, the page measures straight.
            let straight = deskew(page, found.angle_deg).expect("deskew");
            let again = detect_skew(&straight).expect("still text").angle_deg;
            worst_after = worst_after.max(again.abs());
            assert!(again.abs() <= 0.1, "seed {seed}: after deskew {again:.3}°");
        }
        let sheet = detect_paper(page)
            .expect("valid image")
            .unwrap_or_else(|| panic!("seed {seed}: no sheet found ({:?})", req.options));
        let e = RegionError::between(&sheet, &paper);
        worst_corner = worst_corner.max(e.corner_px);
        worst_angle = worst_angle.max(e.angle_deg);
        assert!(
            e.within(2.0, 0.1),
            "seed {seed} {:?}: truth {paper:?} found {sheet:?}: {:.2} px, {:.3}°",
            req.options,
            e.corner_px,
            e.angle_deg
        );
    }
    eprintln!(
        "30 sheets: worst skew residual {worst_skew:.3}°, after deskew {worst_after:.3}°; crop: worst corner {worst_corner:.2} px, angle {worst_angle:.3}°"
    );
}

/// Photos: 1 to 6 on the glass, 12 platens.
#[test]
fn photo_boxes_match_the_truth() {
    let mut worst: f64 = 0.0;
    for seed in 0..12u64 {
        let count = 1 + seed % 6;
        let req = request(
            Source::Flatbed,
            ColorMode::Color,
            &[
                ("photos", count.to_string()),
                ("seed", (500 + seed).to_string()),
            ],
        );
        let truth = truth(&req, 1).expect("truth");
        assert_eq!(truth.kind, PageKind::Photos);
        assert_eq!(truth.photos.len() as u64, count);
        let page = &scan(&req)[0];
        let found = segment_photos(page).expect("valid image");
        assert_eq!(
            found.len() as u64,
            count,
            "seed {seed}: found {found:?}\ntruth {:?}",
            truth.photos
        );
        for t in &truth.photos {
            let (best, e) = synth::nearest(t, &found).expect("some");
            worst = worst.max(e.corner_px);
            assert!(
                e.within(3.0, 0.2),
                "seed {seed}: truth {t:?} found {best:?}: {:.2} px, {:.3}°",
                e.corner_px,
                e.angle_deg
            );
        }
    }
    eprintln!("photos: worst corner error {worst:.2} px over 12 platens");
}

/// The blank matrix: feeder jobs (duplex edge to edge, simplex on the lid) whose second sheet is blank (texture, noise, punched
/// holes, bleed-through; with nothing, a page number, or one line of text), the first showing
/// the chart, lines or text; edge to edge or placed on the lid with a small skew; gray and
/// colour. At the default sensitivity every page is blank exactly when the truth says so.
#[test]
fn blank_matrix_has_no_false_positive_or_negative() {
    let s = Sensitivity::default();
    let (mut max_blank, mut min_content): (f64, f64) = (0.0, 1.0);
    let mut pages = 0;
    for (i, near) in ["nothing", "page-number", "one-line"]
        .into_iter()
        .enumerate()
    {
        for placed in [false, true] {
            for (j, mode) in [ColorMode::Gray, ColorMode::Color].into_iter().enumerate() {
                let case = (i * 4 + usize::from(placed) * 2 + j) as u64;
                let content = ["chart", "lines", "text"][(case % 3) as usize];
                let content = if content == "text" && !font_present() {
                    "lines"
                } else {
                    content
                };
                let mut set = vec![
                    ("sheets", "2".to_string()),
                    ("blank-sheets", "2".to_string()),
                    ("near-blank", near.to_string()),
                    ("content", content.to_string()),
                    ("seed", (700 + case).to_string()),
                ];
                if placed {
                    let mut rng = Rng::new(case);
                    set.push(("paper", "a5".to_string()));
                    set.push(("skew", format!("{:.2}", rng.range(-5.0, 5.0))));
                    set.push((
                        "offset",
                        format!(
                            "{:.1},{:.1}mm",
                            rng.range(20.0, 45.0),
                            rng.range(20.0, 60.0)
                        ),
                    ));
                }
                let source = if placed {
                    Source::Feeder
                } else {
                    Source::FeederDuplex
                };
                let req = request(source, mode, &set);
                for (k, page) in scan(&req).iter().enumerate() {
                    let number = k as u32 + 1;
                    let t = truth(&req, number).expect("truth");
                    let result = if placed {
                        let thumb = Thumbnail::of(page).expect("thumbnail");
                        let region = detect_paper_in(page, &thumb).expect("a sheet on the lid");
                        blank_score_in(&thumb, Some(&region))
                    } else {
                        blank_score(page).expect("valid image")
                    };
                    if t.blank {
                        max_blank = max_blank.max(result.coverage);
                    } else {
                        min_content = min_content.min(result.coverage);
                    }
                    assert_eq!(
                        result.is_blank(s),
                        t.blank,
                        "page {number} of {set:?}: coverage {:.5}, threshold {:.5}",
                        result.coverage,
                        s.threshold()
                    );
                    pages += 1;
                }
            }
        }
    }
    assert_eq!(pages, 36);
    eprintln!(
        "blank matrix, 36 pages: most ink on a blank side {:.5}%, least on a page with content {:.5}%",
        100.0 * max_blank,
        100.0 * min_content
    );
}
