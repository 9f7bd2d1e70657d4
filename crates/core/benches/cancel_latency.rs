//! Cancel latency at full speed: `cancel()` to `run` returning, while the driver streams pages
//! as fast as it can. Prints percentiles over many runs.
//!
//! `cargo bench -p scanwire-core --bench cancel_latency`

use scanwire_core::device::ScanRequest;
use scanwire_core::transfer::*;
use std::time::{Duration, Instant};

mod common;
use common::*;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; there is nothing to list here.
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let device = share(Box::new(BufferDevice::a4(true)));
    let req = ScanRequest::default();
    let mut lat = Vec::with_capacity(runs);
    for i in 0..runs {
        let cancel = CancelHandle::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let (d2, r2, c2) = (device.clone(), req.clone(), cancel.clone());
        let t = std::thread::spawn(move || {
            let o = run(
                &d2,
                &r2,
                Box::new(App { copy: false }),
                &c2,
                &TransferOptions::default(),
            );
            let done = Instant::now();
            tx.send(done).unwrap();
            o
        });
        // Let it get going mid-page (varying the point), then cancel.
        std::thread::sleep(Duration::from_micros(500 + (i as u64 * 37) % 2000));
        let start = Instant::now();
        cancel.cancel();
        let done = rx.recv().unwrap();
        let o = t.join().unwrap();
        assert!(o.is_cancelled());
        lat.push(done.duration_since(start));
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "cancel latency over {runs} runs: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        lat[lat.len() - 1]
    );
}
