//! Rendering speed of the test chart, and a whole scan through the core's relay.
//!
//! `cargo bench -p scanwire-virtual --bench render`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scanwire_core::device::{ColorMode, ScanRequest};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, NullSink, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_virtual::{Chart, VirtualDevice};
use std::hint::black_box;

fn a4_300(mode: ColorMode) -> ScanRequest {
    ScanRequest {
        mode,
        resolution: 300,
        ..Default::default()
    }
}

/// Renders every row of an A4 300 dpi page into one band buffer, as the driver does.
fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render A4 300 dpi");
    for (name, mode) in [
        ("color", ColorMode::Color),
        ("gray", ColorMode::Gray),
        ("lineart", ColorMode::Lineart),
        ("color48", ColorMode::Color48),
    ] {
        let chart = Chart::for_page(&a4_300(mode), 1).expect("valid request");
        let geo = *chart.geometry();
        let bpl = geo.bytes_per_line();
        let band_rows = 35;
        let mut band = vec![0u8; band_rows * bpl];
        g.throughput(Throughput::Bytes(geo.page_bytes()));
        g.bench_function(format!("{name} ({} rows, bytes/s)", geo.height), |b| {
            b.iter(|| {
                let mut y = 0;
                while y < geo.height {
                    let rows = (geo.height - y).min(band_rows as u32);
                    let out = &mut band[..rows as usize * bpl];
                    chart.render_rows(y, out);
                    black_box(&out[..]);
                    y += rows;
                }
            })
        });
    }
    let chart = Chart::for_page(&a4_300(ColorMode::Color), 1).expect("valid request");
    let geo = *chart.geometry();
    let mut row = vec![0u8; geo.bytes_per_line()];
    g.throughput(Throughput::Elements(u64::from(geo.height)));
    g.bench_function("color (rows/s)", |b| {
        b.iter(|| {
            for y in 0..geo.height {
                chart.render_row(y, &mut row);
                black_box(&row);
            }
        })
    });
    g.finish();
}

struct Discard;

impl TransferCallback for Discard {
    fn get_next_stream(&mut self, _page: &scanwire_core::device::PageInfo) -> AppStream {
        AppStream::Stream(Box::<NullSink>::default())
    }
    fn transfer_callback(&mut self, _params: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

/// A whole flatbed scan through `transfer::run` (driver thread, relay, strict verifier).
fn scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan A4 300 dpi");
    let request = a4_300(ColorMode::Color);
    let geo = *Chart::for_page(&request, 1).expect("valid").geometry();
    let device = transfer::share(Box::new(VirtualDevice::new()));
    g.throughput(Throughput::Bytes(geo.page_bytes()));
    g.bench_function("color, strict relay", |b| {
        b.iter(|| {
            let o = transfer::run(
                &device,
                &request,
                Box::new(Discard),
                &CancelHandle::new(),
                &TransferOptions::strict(),
            );
            assert_eq!(o.result, wia::S_OK);
        })
    });
    g.finish();
}

criterion_group!(benches, render, scan);
criterion_main!(benches);
