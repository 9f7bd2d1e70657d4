//! Three pages through `FileOutput` into PNG files: how much the page pipeline overlaps
//! encoding with the driver's writes.
//!
//! `cargo bench -p scanwire-output --bench pipeline`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scanwire_core::device::PixelFormat;
use scanwire_output::OutputPlan;
use std::time::Duration;

#[path = "../../codecs/benches/common/mod.rs"]
mod common;
use common::*;

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

criterion_group!(benches, pipeline);
criterion_main!(benches);
