//! Re-encodes a binary PNM file (P4/P5/P6, as `scanimage --format=pnm` writes) into any
//! format, to compare our files with other tools' on the same image:
//!
//! `cargo run --release -p scanwire-codecs --example convert -- in.pnm out.png [auto|fastest|fast|balanced|high|wire] [qN] [tN] [xN]`
//!
//! `qN` sets the JPEG quality (default 85), `tN` the threads, `xN` encodes N times (to profile
//! or time the encoder alone; the times printed are the median and the minimum).

use scanwire_codecs::*;
use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use std::io::Cursor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err(
            "usage: convert IN.pnm OUT.{pnm,png,jpg,tiff,pdf} [auto|fastest|fast|balanced|high|wire] \
             [qQUALITY] [tTHREADS] [xREPEATS]"
                .into(),
        );
    }
    let bytes = std::fs::read(&args[1])?;
    let (pixel, width, height, body) = parse_pnm(&bytes)?;
    let mut opts = EncodeOptions::default();
    let mut repeats = 1usize;
    for arg in &args[3..] {
        let num = |s: &str| s.parse::<usize>().map_err(|e| format!("bad '{arg}': {e}"));
        match arg.as_str() {
            "auto" => opts.deflate = DeflateEffort::Auto,
            "fast" => opts.deflate = DeflateEffort::Fast,
            "fastest" => opts.deflate = DeflateEffort::Fastest,
            "balanced" => opts.deflate = DeflateEffort::Balanced,
            "high" => opts.deflate = DeflateEffort::High,
            "wire" => opts.deflate = DeflateEffort::Wire,
            a if a.starts_with('q') => opts.jpeg_quality = num(&a[1..])? as u8,
            a if a.starts_with('t') => {
                opts.threads = num(&a[1..])?;
                opts.png_threads = opts.threads;
            }
            a if a.starts_with('x') => repeats = num(&a[1..])?.max(1),
            other => return Err(format!("unknown argument '{other}'").into()),
        }
    }
    let format = Format::from_extension(&args[2])?;
    let page = PageInfo {
        number: 1,
        sheet: 1,
        side: Side::Front,
        source: Source::Flatbed,
        data: PageData::Raster {
            pixel,
            width,
            height: Some(height),
        },
        dpi: (300, 300),
    };
    let mut times = Vec::new();
    let mut out = Vec::new();
    for _ in 0..repeats {
        let mut src = SliceSource::new(body, 64 * 1024);
        let t = std::time::Instant::now();
        out = if format.is_multi_page() {
            let mut doc = Document::new(format, Cursor::new(Vec::new()), &opts, false)?;
            doc.add_page(&page, &mut src)?;
            doc.finish()?.into_inner()
        } else {
            encode_page(format, &page, &opts, &mut src, Vec::new())?
        };
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    std::fs::write(&args[2], &out)?;
    eprintln!(
        "{}: {} bytes in {:.1} ms (median of {repeats}; min {:.1} ms)",
        args[2],
        out.len(),
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}

/// Header fields of a binary PNM, and its samples.
fn parse_pnm(bytes: &[u8]) -> Result<(PixelFormat, u32, u32, &[u8]), String> {
    let mut fields: Vec<&str> = Vec::new();
    let mut i = 0;
    let magic = bytes.get(..2).ok_or("empty file")?;
    let wanted = if magic == b"P4" { 3 } else { 4 };
    while fields.len() < wanted {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if bytes.get(i) == Some(&b'#') {
            while bytes.get(i).is_some_and(|b| *b != b'\n') {
                i += 1;
            }
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
            i += 1;
        }
        fields.push(std::str::from_utf8(&bytes[start..i]).map_err(|e| e.to_string())?);
    }
    let num = |k: usize| {
        fields[k]
            .parse::<u32>()
            .map_err(|e| format!("bad header field '{}': {e}", fields[k]))
    };
    let (w, h) = (num(1)?, num(2)?);
    let max = if wanted == 4 { num(3)? } else { 1 };
    let pixel = match (fields[0], max) {
        ("P4", _) => PixelFormat::BlackAndWhite1,
        ("P5", 255) => PixelFormat::Gray8,
        ("P5", 65535) => PixelFormat::Gray16,
        ("P6", 255) => PixelFormat::Rgb8,
        ("P6", 65535) => PixelFormat::Rgb16,
        (m, x) => return Err(format!("unsupported PNM {m} with maxval {x}")),
    };
    Ok((pixel, w, h, &bytes[i + 1..]))
}
