//! Encoding an A4 page at 300 dpi (2480 x 3508 RGB, 26.1 MB raw) to every format.
//!
//! The page looks like a scanned document: paper white with sensor noise, lines of
//! "text" bars, a gray gradient band, colour patches. Output goes to memory, so the figures
//! are encoder throughput (raw MB per second), not disk speed.
//!
//! `cargo bench -p scanwire-codecs --bench encode`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use scanwire_codecs::*;
use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

const W: u32 = 2480;
const H: u32 = 3508;

/// The page size: A4 when benchmarking; a small crop of it when `cargo test --benches` runs
/// each benchmark once as a smoke test (debug builds would take minutes on a full page).
fn size() -> (u32, u32) {
    if std::env::args().any(|a| a == "--bench") {
        (W, H)
    } else {
        (400, 300)
    }
}

/// A scanned-document-like page: deterministic noise (±3 levels), text bars, gradient, patches.
fn a4_page() -> Vec<u8> {
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

fn page(pixel: PixelFormat) -> PageInfo {
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

/// One page in, the encoded size out (64 KiB writes, as a SANE driver reads).
fn encode(format: Format, opts: &EncodeOptions, data: &[u8]) -> usize {
    let info = page(PixelFormat::Rgb8);
    let mut src = SliceSource::new(data, 64 * 1024);
    if format.is_multi_page() {
        let mut doc = Document::new(format, Cursor::new(Vec::new()), opts, false).unwrap();
        doc.add_page(&info, &mut src).unwrap();
        doc.finish().unwrap().into_inner().len()
    } else {
        encode_page(format, &info, opts, &mut src, Vec::new())
            .unwrap()
            .len()
    }
}

fn bench(c: &mut Criterion) {
    let data = a4_page();
    let mut g = c.benchmark_group("a4-300dpi-color");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    let base = EncodeOptions::default();
    let cases: Vec<(&str, Format, EncodeOptions)> = vec![
        ("pnm", Format::Pnm, base.clone()),
        (
            "png-fastest",
            Format::Png,
            EncodeOptions {
                deflate: DeflateEffort::Fastest,
                ..base.clone()
            },
        ),
        (
            "png-auto",
            Format::Png,
            EncodeOptions {
                png_threads: 0,
                ..base.clone()
            },
        ),
        ("png-auto-1thread", Format::Png, base.clone()),
        (
            "png-wire",
            Format::Png,
            EncodeOptions {
                deflate: DeflateEffort::Wire,
                png_threads: 0,
                ..base.clone()
            },
        ),
        (
            "png-wire-1thread",
            Format::Png,
            EncodeOptions {
                deflate: DeflateEffort::Wire,
                ..base.clone()
            },
        ),
        (
            "png-balanced",
            Format::Png,
            EncodeOptions {
                deflate: DeflateEffort::Balanced,
                ..base.clone()
            },
        ),
        ("jpeg-q85", Format::Jpeg, base.clone()),
        (
            "jpeg-q85-1thread",
            Format::Jpeg,
            EncodeOptions {
                threads: 1,
                ..base.clone()
            },
        ),
        (
            "tiff-deflate-1thread",
            Format::Tiff,
            EncodeOptions {
                threads: 1,
                ..base.clone()
            },
        ),
        ("tiff-deflate", Format::Tiff, base.clone()),
        (
            "tiff-deflate-fast",
            Format::Tiff,
            EncodeOptions {
                deflate: DeflateEffort::Fast,
                ..base.clone()
            },
        ),
        (
            "tiff-deflate-fastest",
            Format::Tiff,
            EncodeOptions {
                deflate: DeflateEffort::Fastest,
                ..base.clone()
            },
        ),
        (
            "tiff-lzw",
            Format::Tiff,
            EncodeOptions {
                tiff: TiffCompression::Lzw,
                ..base.clone()
            },
        ),
        ("pdf-jpeg", Format::Pdf, base.clone()),
        (
            "pdf-lossless",
            Format::Pdf,
            EncodeOptions {
                pdf_lossless: true,
                ..base.clone()
            },
        ),
    ];
    for (name, format, opts) in &cases {
        eprintln!("{name}: {} bytes", encode(*format, opts, &data));
        g.bench_function(*name, |b| {
            b.iter(|| black_box(encode(*format, opts, black_box(&data))))
        });
    }
    g.finish();
}

/// Three pages through `FileOutput` into PNG files, the driver writing 64 KiB at a time as
/// fast as it can (faster than PNG encodes): `pipeline = 0` encodes one page after the other
/// (close waits); `pipeline = 2` lets page k finish on its own thread while page k+1 arrives,
/// but with the default 8 MiB queue the driver can only run 8 MiB ahead of the encoder, so
/// the overlap is the last 8 MiB of each page; a 64 MiB queue lets whole pages overlap.
fn pipeline(c: &mut Criterion) {
    let data = a4_page();
    let mut g = c.benchmark_group("3-pages-to-png-files");
    g.throughput(Throughput::Bytes(3 * data.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(10));
    for (depth, queue) in [(0, 8), (2, 8), (2, 64)] {
        g.bench_function(format!("pipeline-{depth}-queue-{queue}MiB"), |b| {
            b.iter(|| {
                let dir = tempfile::tempdir().unwrap();
                let mut plan =
                    OutputPlan::new(dir.path().join("p-{n}.png").to_str().unwrap(), None).unwrap();
                plan.pipeline = depth;
                plan.queue_bytes = queue << 20;
                let out = plan.start().unwrap();
                for n in 1..=3 {
                    let mut info = page(PixelFormat::Rgb8);
                    info.number = n;
                    let scanwire_core::transfer::AppStream::Stream(mut sink) = out.open_page(&info)
                    else {
                        panic!("no stream")
                    };
                    for chunk in data.chunks(64 * 1024) {
                        sink.write(chunk).unwrap();
                    }
                    assert!(sink.close(scanwire_core::wia::S_OK).is_success());
                }
                let report = out.finish(scanwire_core::wia::S_OK);
                assert_eq!(report.pages, 3);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, pipeline);
criterion_main!(benches);
