//! send_message cost (inline, decoupled, and a naive Mutex+Condvar relay as the baseline) and
//! relay throughput against a plain memcpy of the same page.
//!
//! `cargo bench -p scanwire-core --bench transfer`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use scanwire_core::device::*;
use scanwire_core::transfer::*;
use scanwire_core::wia::*;
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex};

mod common;
use common::*;

fn page_info() -> PageInfo {
    PageInfo {
        number: 1,
        sheet: 1,
        side: Side::Front,
        source: Source::Flatbed,
        data: PageData::Raster {
            pixel: PixelFormat::Gray8,
            width: 1,
            height: None,
        },
        dpi: (300, 300),
    }
}

/// The baseline: every message goes through a mutex-protected queue and wakes a reader.
struct NaiveRelay {
    q: Arc<(Mutex<VecDeque<WiaTransferParams>>, Condvar)>,
}

impl NaiveRelay {
    fn send(&self, p: &WiaTransferParams) -> HResult {
        let (m, cv) = &*self.q;
        m.lock().unwrap().push_back(*p);
        cv.notify_one();
        S_OK
    }
}

fn send_message(c: &mut Criterion) {
    let mut g = c.benchmark_group("send_message(STATUS)");

    // Inline: the application's transfer_callback runs inside send_message.
    let mut inline = Relay::new(
        Box::new(App { copy: false }),
        CancelHandle::new(),
        &TransferOptions::default(),
    );
    let _s1 = match inline.get_next_stream(0, &page_info()) {
        NextStream::Stream(s) => s,
        _ => unreachable!(),
    };
    let p = WiaTransferParams::status(50, 0);
    g.bench_function("inline", |b| {
        b.iter(|| black_box(inline.send_message(0, Some(black_box(&p)))))
    });

    // Decoupled: STATUS lands in the progress cell.
    let cell = Arc::new(ProgressCell::new());
    let mut dec = Relay::new(
        Box::new(App { copy: false }),
        CancelHandle::new(),
        &TransferOptions::default(),
    )
    .with_progress_cell(cell.clone());
    let _s2 = match dec.get_next_stream(0, &page_info()) {
        NextStream::Stream(s) => s,
        _ => unreachable!(),
    };
    g.bench_function("decoupled", |b| {
        b.iter(|| black_box(dec.send_message(0, Some(black_box(&p)))))
    });

    // Naive relay with a reader thread draining the queue.
    let q = Arc::new((Mutex::new(VecDeque::new()), Condvar::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (q2, stop2) = (q.clone(), stop.clone());
    let reader = std::thread::spawn(move || {
        let (m, cv) = &*q2;
        let mut g = m.lock().unwrap();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            g.clear();
            g = cv
                .wait_timeout(g, std::time::Duration::from_millis(1))
                .unwrap()
                .0;
        }
    });
    let naive = NaiveRelay { q };
    g.bench_function("naive_mutex_condvar", |b| {
        b.iter(|| black_box(naive.send(black_box(&p))))
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    g.finish();
}

fn throughput(c: &mut Criterion) {
    let dev = BufferDevice::a4(false);
    let bytes = dev.page.len() as u64;
    let src = dev.page.clone();
    let device = share(Box::new(dev));
    let req = ScanRequest::default();
    let mut g = c.benchmark_group("A4 300 dpi RGB page");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("memcpy", |b| {
        b.iter_batched_ref(
            || vec![0u8; src.len()],
            |dst| dst.copy_from_slice(black_box(&src)),
            BatchSize::LargeInput,
        )
    });
    for (name, copy) in [
        ("relay_to_null_sink", false),
        ("relay_to_copying_sink", true),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let o = run(
                    &device,
                    &req,
                    Box::new(App { copy }),
                    &CancelHandle::new(),
                    &TransferOptions::default(),
                );
                assert_eq!(o.pages, 1, "{:?}", o.error);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, send_message, throughput);
criterion_main!(benches);
