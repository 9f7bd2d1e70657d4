//! The whole driver conformance suite (scanwire-testkit) for the file driver, on a directory
//! of every format: a color PNG, a color JPEG, a two-page TIFF (8- and 16-bit gray), a PGM,
//! and last a PNG cut short.
//!
//! Faults are files: asking for color meets the gray TIFF (page 3: E_INVALIDARG, two pages
//! kept), and scanning everything meets the cut PNG (page 6: WIA_ERROR_PAPER_PROBLEM, five
//! pages kept).

mod common;

use common::{jpeg, png, put, request, rows, tiff};
use scanwire_codecs::TiffCompression;
use scanwire_core::device::{ColorMode, OptionValue, PixelFormat};
use scanwire_core::transfer;
use scanwire_core::wia;
use scanwire_file::FileDevice;
use scanwire_testkit::{FaultCase, Profile};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The directory, written once per test process.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().to_path_buf();
        let (w, h) = (240, 320);
        let rgb = rows(PixelFormat::Rgb8, w, h, 1);
        put(
            &d,
            "a-color.png",
            &png(PixelFormat::Rgb8, w, h, &rgb, Some(300)),
        );
        put(&d, "b-color.jpg", &jpeg(PixelFormat::Rgb8, w, h, &rgb, 300));
        let pages = [
            (PixelFormat::Gray8, w, h, rows(PixelFormat::Gray8, w, h, 2)),
            (
                PixelFormat::Gray16,
                w,
                h,
                rows(PixelFormat::Gray16, w, h, 3),
            ),
        ];
        put(
            &d,
            "c-gray.tif",
            &tiff(&pages, 300, TiffCompression::Deflate),
        );
        let mut pgm = format!("P5\n{w} {h}\n255\n").into_bytes();
        pgm.extend(rows(PixelFormat::Gray8, w, h, 4));
        put(&d, "d-gray.pgm", &pgm);
        let whole = png(
            PixelFormat::Gray8,
            w,
            h,
            &rows(PixelFormat::Gray8, w, h, 5),
            None,
        );
        put(&d, "e-cut.png", &whole[..whole.len() / 2]);
        (t, d)
    })
    .1
}

fn req(
    mode: ColorMode,
    options: &[(&str, &str)],
    pages: Option<u32>,
) -> scanwire_core::device::ScanRequest {
    let mut r = request(mode, 300, pages);
    for (k, v) in options {
        r.options
            .insert(k.to_string(), OptionValue::Int(v.parse().unwrap()));
    }
    r
}

fn profile() -> Profile {
    Profile {
        name: "file",
        open: Box::new(|| {
            transfer::share(Box::new(FileDevice::open(dir().to_str().unwrap()).unwrap()))
        }),
        flatbed: req(ColorMode::Gray, &[], Some(1)),
        feeder: Some(req(ColorMode::Gray, &[], Some(3))),
        // 30 pages a minute: two seconds for the first page.
        slow: req(ColorMode::Gray, &[("ppm", "30")], Some(1)),
        faults: vec![
            FaultCase {
                name: "a gray page asked for in color",
                request: req(ColorMode::Color, &[], None),
                result: wia::E_INVALIDARG,
                complete_pages: 2,
            },
            FaultCase {
                name: "a PNG cut short",
                request: req(ColorMode::Gray, &[], None),
                result: wia::WIA_ERROR_PAPER_PROBLEM,
                complete_pages: 5,
            },
        ],
    }
}

scanwire_testkit::conformance_suite!(profile());
