//! Image files written for the tests: every format the driver reads, with known pixels, by
//! real writers (the `png` crate, Scanwire's own JPEG and TIFF encoders) or by hand where a
//! broken or unusual file is the point.

#![allow(dead_code)]

use scanwire_codecs::{encode_page, Document, EncodeOptions, Format, SliceSource, TiffCompression};
use scanwire_core::device::{
    ColorMode, PageData, PageInfo, PixelFormat, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{self, CancelHandle, Outcome, Recorder, Recording, TransferOptions};
use std::io::Cursor;
use std::path::Path;

/// Deterministic rows of `pixel` (lineart padding bits clear).
pub fn rows(pixel: PixelFormat, w: u32, h: u32, seed: u32) -> Vec<u8> {
    let bpl = pixel.bytes_per_line(w);
    let mut data: Vec<u8> = (0..bpl * h as usize)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect();
    if pixel == PixelFormat::BlackAndWhite1 && w % 8 != 0 {
        let mask = 0xffu8 << (8 - w % 8);
        for row in data.chunks_exact_mut(bpl) {
            row[bpl - 1] &= mask;
        }
    }
    data
}

/// A PNG of `rows` (lineart: 1-bit gray, 1 = white in PNG, so the bits are inverted).
pub fn png(pixel: PixelFormat, w: u32, h: u32, data: &[u8], dpi: Option<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    let (color, depth) = match pixel {
        PixelFormat::BlackAndWhite1 => (png::ColorType::Grayscale, png::BitDepth::One),
        PixelFormat::Gray8 => (png::ColorType::Grayscale, png::BitDepth::Eight),
        PixelFormat::Gray16 => (png::ColorType::Grayscale, png::BitDepth::Sixteen),
        PixelFormat::Rgb8 => (png::ColorType::Rgb, png::BitDepth::Eight),
        PixelFormat::Rgb16 => (png::ColorType::Rgb, png::BitDepth::Sixteen),
    };
    e.set_color(color);
    e.set_depth(depth);
    if let Some(dpi) = dpi {
        e.set_pixel_dims(Some(png::PixelDimensions {
            xppu: (f64::from(dpi) / 0.0254).round() as u32,
            yppu: (f64::from(dpi) / 0.0254).round() as u32,
            unit: png::Unit::Meter,
        }));
    }
    let body: Vec<u8> = if pixel == PixelFormat::BlackAndWhite1 {
        data.iter().map(|b| !b).collect()
    } else {
        data.to_vec()
    };
    let mut w = e.write_header().unwrap();
    w.write_image_data(&body).unwrap();
    w.finish().unwrap();
    out
}

fn page(pixel: PixelFormat, w: u32, h: u32, dpi: u32) -> PageInfo {
    PageInfo {
        number: 1,
        sheet: 1,
        side: Side::Front,
        source: Source::Feeder,
        data: PageData::Raster {
            pixel,
            width: w,
            height: Some(h),
        },
        dpi: (dpi, dpi),
    }
}

/// A JPEG by Scanwire's own encoder (JFIF density = `dpi`).
pub fn jpeg(pixel: PixelFormat, w: u32, h: u32, data: &[u8], dpi: u32) -> Vec<u8> {
    encode_page(
        Format::Jpeg,
        &page(pixel, w, h, dpi),
        &EncodeOptions::default(),
        &mut SliceSource::new(data, 4096),
        Vec::new(),
    )
    .unwrap()
}

/// A multi-page TIFF by Scanwire's own writer: one page per `(pixel, w, h, rows)`.
pub fn tiff(pages: &[(PixelFormat, u32, u32, Vec<u8>)], dpi: u32, c: TiffCompression) -> Vec<u8> {
    let opts = EncodeOptions {
        tiff: c,
        ..EncodeOptions::default()
    };
    let mut doc = Document::new(Format::Tiff, Cursor::new(Vec::new()), &opts, true).unwrap();
    for (pixel, w, h, data) in pages {
        doc.add_page(
            &page(*pixel, *w, *h, dpi),
            &mut SliceSource::new(data, 4096),
        )
        .unwrap();
    }
    doc.finish().unwrap().into_inner()
}

/// A little-endian one-strip TIFF written by hand: `entries` are (tag, type, value) with
/// SHORT (3) or LONG (4) values; StripOffsets is filled in.
pub fn tiff_by_hand(entries: &[(u16, u16, u32)], strip: &[u8]) -> Vec<u8> {
    let mut all: Vec<(u16, u16, u32)> = entries.to_vec();
    let n = all.len() as u32 + 1;
    let ifd_len = 2 + n * 12 + 4;
    let strip_at = 8 + ifd_len;
    all.push((273, 4, strip_at));
    all.sort_by_key(|e| e.0);
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(n as u16).to_le_bytes());
    for (tag, ty, v) in all {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if ty == 3 {
            out.extend_from_slice(&(v as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(strip);
    out
}

/// Writes `bytes` to `dir/name`.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A feeder request.
pub fn request(mode: ColorMode, dpi: u32, pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source: Source::Feeder,
        mode,
        resolution: dpi,
        pages,
        ..Default::default()
    }
}

/// Scans `spec` (what follows `file:`) with the strict verifier; checks the grammar.
pub fn scan(spec: &str, request: &ScanRequest) -> (Outcome, Recording) {
    let device = scanwire_file::FileDevice::open(spec).unwrap();
    let (app, log) = Recorder::new();
    let outcome = transfer::run(
        &transfer::share(Box::new(device)),
        request,
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    let rec = log.snapshot();
    rec.check_grammar().expect("the message grammar");
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    (outcome, rec)
}
