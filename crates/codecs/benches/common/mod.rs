//! The page every benchmark encodes: an A4 300 dpi scan-like page (shared with
//! `scanwire-output`'s pipeline bench).

#![allow(dead_code)]

use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};

pub const W: u32 = 2480;
pub const H: u32 = 3508;

/// The page size: A4 when benchmarking; a small crop of it when `cargo test --benches` runs
/// each benchmark once as a smoke test (debug builds would take minutes on a full page).
pub fn size() -> (u32, u32) {
    if std::env::args().any(|a| a == "--bench") {
        (W, H)
    } else {
        (400, 300)
    }
}

/// A scanned-document-like page: deterministic noise (±3 levels), text bars, gradient, patches.
pub fn a4_page() -> Vec<u8> {
    let (w, h) = size();
    let mut seed = 0x2545_f491_u32;
    let mut noise = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed % 7) as i32 - 3
    };
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (mut r, mut g, mut b) = (245i32, 243i32, 238i32); // paper
            let margin = (150..W - 150).contains(&x) && (200..H - 200).contains(&y);
            if margin {
                let line = (y - 200) % 50;
                // Text: 30-row lines of glyph-like bars separated by 20 rows of paper.
                if line < 30 && y < 2400 && ((x / 6 + y / 50) % 9 < 6) && (x % 6 < 4) {
                    let ink = 30 + ((x / 40) % 3) as i32 * 10;
                    (r, g, b) = (ink, ink, ink + 5);
                }
                // A gray gradient band and colour patches lower down.
                if (2500..2800).contains(&y) {
                    let v = (x * 255 / W) as i32;
                    (r, g, b) = (v, v, v);
                }
                if (2900..3200).contains(&y) {
                    let patch = (x / 310) % 6;
                    (r, g, b) = [
                        (200, 30, 40),
                        (40, 160, 60),
                        (30, 60, 190),
                        (230, 210, 40),
                        (120, 40, 140),
                        (20, 20, 20),
                    ][patch as usize];
                }
            }
            for c in [r, g, b] {
                out.push((c + noise()).clamp(0, 255) as u8);
            }
        }
    }
    out
}

pub fn page(pixel: PixelFormat) -> PageInfo {
    PageInfo {
        number: 1,
        sheet: 1,
        side: Side::Front,
        source: Source::Flatbed,
        data: PageData::Raster {
            pixel,
            width: size().0,
            height: Some(size().1),
        },
        dpi: (300, 300),
    }
}
