//! Shared test helpers: pages, synthetic charts, peer tools.
#![allow(dead_code)]

use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use std::path::Path;
use std::process::Command;

pub const ALL_PIXELS: [PixelFormat; 5] = [
    PixelFormat::BlackAndWhite1,
    PixelFormat::Gray8,
    PixelFormat::Gray16,
    PixelFormat::Rgb8,
    PixelFormat::Rgb16,
];

pub fn page(
    number: u32,
    pixel: PixelFormat,
    width: u32,
    height: Option<u32>,
    dpi: u32,
) -> PageInfo {
    PageInfo {
        number,
        sheet: number,
        side: Side::Front,
        source: Source::Flatbed,
        data: PageData::Raster {
            pixel,
            width,
            height,
        },
        dpi: (dpi, dpi),
    }
}

/// A deterministic test chart: gradients, text-like bars, a bit of texture.
pub fn chart(pixel: PixelFormat, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let value = |x: usize, y: usize, c: usize| -> u16 {
        let grad = ((x * 65535) / w.max(1)) as u32;
        let vgrad = ((y * 65535) / h.max(1)) as u32;
        // "Text": short dark bars on lines every 12 rows.
        let text = (y % 12) < 7 && (x / 5 + y / 12) % 7 < 4 && (x % 5) < 3;
        let v = match c {
            0 => grad,
            1 => vgrad,
            _ => ((grad + vgrad) / 2) ^ ((x * 31 + y * 17) as u32 & 0x0fff),
        };
        if text {
            (v / 8) as u16
        } else {
            v as u16
        }
    };
    let mut out = Vec::with_capacity(pixel.bytes_per_line(width) * h);
    for y in 0..h {
        match pixel {
            PixelFormat::BlackAndWhite1 => {
                let mut row = vec![0u8; pixel.bytes_per_line(width)];
                for x in 0..w {
                    if value(x, y, 0) < 0x6000 || value(x, y, 2) < 0x3000 {
                        row[x / 8] |= 0x80 >> (x % 8);
                    }
                }
                out.extend_from_slice(&row);
            }
            PixelFormat::Gray8 => out.extend((0..w).map(|x| (value(x, y, 2) >> 8) as u8)),
            PixelFormat::Gray16 => {
                for x in 0..w {
                    out.extend_from_slice(&value(x, y, 2).to_be_bytes());
                }
            }
            PixelFormat::Rgb8 => {
                for x in 0..w {
                    for c in 0..3 {
                        out.push((value(x, y, c) >> 8) as u8);
                    }
                }
            }
            PixelFormat::Rgb16 => {
                for x in 0..w {
                    for c in 0..3 {
                        out.extend_from_slice(&value(x, y, c).to_be_bytes());
                    }
                }
            }
        }
    }
    out
}

/// Whether a peer tool is installed. Missing: a failure with SCANWIRE_REQUIRE_PEERS=1,
/// otherwise a printed note and `false` (the caller skips).
pub fn peer(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        scanwire_testkit::peer_missing(&format!(
            "{tool} not installed; the part of this test that needs it did not run"
        ));
    }
    found
}

/// Runs a tool, panicking with its output if it fails.
pub fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect("tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{tool} {args:?} failed:\n{text}");
    text
}

/// Parses a binary PNM: (magic, width, height, maxval, data).
pub fn parse_pnm(bytes: &[u8]) -> (String, u32, u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    let wanted = if &bytes[..2] == b"P4" { 3 } else { 4 };
    while fields.len() < wanted {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(bytes[start..i].to_vec()).unwrap());
    }
    i += 1; // the single whitespace after the header
    let num = |k: usize| fields.get(k).map(|f| f.parse().unwrap()).unwrap_or(1);
    (
        fields[0].clone(),
        num(1),
        num(2),
        num(3),
        bytes[i..].to_vec(),
    )
}

/// Files in `dir` (names), sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// 8-bit version of a raster (the crate's documented rule), for lossy comparisons.
pub fn to8(pixel: PixelFormat, width: u32, data: &[u8]) -> Vec<u8> {
    match pixel {
        PixelFormat::Gray8 | PixelFormat::Rgb8 => data.to_vec(),
        PixelFormat::Gray16 | PixelFormat::Rgb16 => data
            .chunks_exact(2)
            .map(|s| ((u16::from_be_bytes([s[0], s[1]]) as u32 + 128) / 257) as u8)
            .collect(),
        PixelFormat::BlackAndWhite1 => {
            let bpl = pixel.bytes_per_line(width);
            data.chunks_exact(bpl)
                .flat_map(|row| {
                    (0..width as usize).map(move |x| {
                        if row[x / 8] >> (7 - x % 8) & 1 == 1 {
                            0
                        } else {
                            255
                        }
                    })
                })
                .collect()
        }
    }
}

/// Mean and maximum absolute difference.
pub fn diff(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len(), "sizes differ");
    let mut sum = 0u64;
    let mut max = 0u8;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        sum += d as u64;
        max = max.max(d);
    }
    (sum as f64 / a.len().max(1) as f64, max)
}

/// The bound JPEG output is held to, at the default quality 85 on [`chart`] (gradients,
/// sharp "text" bars, and ±16 levels of pixel noise in one channel), as (mean absolute error
/// per sample, largest error), whichever decoder (zune-jpeg, poppler's libjpeg) reads it:
/// gray within (4, 40); color within (8, 160), because 4:2:0 chroma subsampling averages the
/// noisy channel over 2x2 blocks and decoders upsample chroma differently.
pub const JPEG_GRAY: (f64, u8) = (4.0, 40);
/// See [`JPEG_GRAY`].
pub const JPEG_COLOR: (f64, u8) = (8.0, 160);
