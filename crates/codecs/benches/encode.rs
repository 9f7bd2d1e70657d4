//! Encoding an A4 page at 300 dpi (2480 x 3508 RGB, 26.1 MB raw) to every format.
//!
//! The page looks like a scanned document: paper white with sensor noise, lines of
//! "text" bars, a gray gradient band, colour patches. Output goes to memory, so the figures
//! are encoder throughput (raw MB per second), not disk speed.
//!
//! `cargo bench -p scanwire-codecs --bench encode`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scanwire_codecs::*;
use scanwire_core::device::PixelFormat;
use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

mod common;
use common::*;

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

criterion_group!(benches, bench);
criterion_main!(benches);
