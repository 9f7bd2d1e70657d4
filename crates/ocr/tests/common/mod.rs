//! Shared by the OCR tests: fixtures, the skip-or-fail rule for peers, a synthetic page.
#![allow(dead_code)]

pub mod pdf;
pub mod png_page;

use scanwire_ocr::{BBox, Engine, OcrConfig, PageImage};
use std::path::PathBuf;

/// Skips (prints why, returns false) or fails under SCANWIRE_REQUIRE_PEERS=1.
pub fn skip(why: &str) -> bool {
    scanwire_testkit::peer_missing(&format!("this test {why}"));
    false
}

/// An English engine, or None (skipped) when Tesseract or its English data is missing.
pub fn engine() -> Option<Engine> {
    match Engine::new(&OcrConfig::new("eng").unwrap()) {
        Ok(e) => Some(e),
        Err(e) => {
            skip(&format!("needs Tesseract with English ({e})"));
            None
        }
    }
}

/// A scanned page from the shared fixtures, or None (skipped) when absent.
pub fn fixture(name: &str) -> Option<PathBuf> {
    scanwire_testkit::fixtures_dir("scans").map(|d| d.join(name))
}

/// What `tesseract IMAGE - -l LANG` prints, or None (skipped) when it cannot run.
pub fn tesseract_cli(image: &std::path::Path, lang: &str) -> Option<String> {
    scanwire_testkit::ocr::tesseract_cli(image, lang)
        .map_err(|why| skip(&format!("needs {why}")))
        .ok()
}

/// The font the synthetic pages are set in (Debian's fonts-dejavu-core).
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// A white 300 dpi page with `lines` of words set in DejaVu Sans at `px` pixels, black, and
/// each word's true ink box; None (skipped) without the font.
pub fn synthetic_page(
    lines: &[&str],
    px: f32,
    width: u32,
) -> Option<(PageImage, Vec<(String, BBox)>)> {
    use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
    let Ok(bytes) = std::fs::read(FONT) else {
        skip(&format!("needs the font {FONT} (fonts-dejavu-core)"));
        return None;
    };
    let font = FontRef::try_from_slice(&bytes).expect("DejaVu Sans parses");
    let scaled = font.as_scaled(PxScale::from(px));
    let line_height = (px * 1.6).ceil() as u32;
    let margin = (px * 2.0) as u32;
    let height = margin * 2 + line_height * lines.len() as u32;
    let mut pix = vec![255u8; (width * height) as usize];
    let mut truth = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let baseline = (margin + line_height * i as u32) as f32 + scaled.ascent();
        let mut x = margin as f32;
        for word in line.split(' ') {
            let mut bbox: Option<BBox> = None;
            for c in word.chars() {
                let id = font.glyph_id(c);
                let glyph =
                    id.with_scale_and_position(PxScale::from(px), ab_glyph::point(x, baseline));
                if let Some(outlined) = font.outline_glyph(glyph) {
                    let b = outlined.px_bounds();
                    outlined.draw(|gx, gy, cov| {
                        let (px_x, px_y) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                        if px_x >= 0 && px_y >= 0 && (px_x as u32) < width && (px_y as u32) < height
                        {
                            let p = &mut pix[(px_y as u32 * width + px_x as u32) as usize];
                            *p = (*p as f32 * (1.0 - cov.clamp(0.0, 1.0))) as u8;
                        }
                    });
                    let gb = BBox {
                        left: b.min.x.floor() as u32,
                        top: b.min.y.floor() as u32,
                        right: b.max.x.ceil() as u32,
                        bottom: b.max.y.ceil() as u32,
                    };
                    bbox = Some(bbox.map_or(gb, |bb| bb.union(&gb)));
                }
                x += scaled.h_advance(id);
            }
            truth.push((word.to_string(), bbox.expect("a word with ink")));
            x += scaled.h_advance(font.glyph_id(' '));
        }
    }
    Some((
        PageImage::gray(width, height, Some(300), pix).unwrap(),
        truth,
    ))
}

/// Intersection over union of two boxes.
pub fn iou(a: &BBox, b: &BBox) -> f64 {
    let ix = (a.right.min(b.right) as i64 - a.left.max(b.left) as i64).max(0);
    let iy = (a.bottom.min(b.bottom) as i64 - a.top.max(b.top) as i64).max(0);
    let inter = (ix * iy) as f64;
    let area = |b: &BBox| b.width() as f64 * b.height() as f64;
    inter / (area(a) + area(b) - inter)
}

/// The synthetic page's text.
pub const LINES: &[&str] = &[
    "Scanwire reads every page",
    "while the feeder still runs",
    "quick brown foxes jump over lazy dogs",
    "invoice number 2026 total amount",
];
