//! The cost of a driver host (issue 17's budget), measured with the virtual scanner:
//! - startup: `HostedDevice::open` (spawn, connect, open the device), median of 15;
//! - one A4 300 dpi colour page, in process and through a host, in [`PAIRS`] back-to-back
//!   pairs (the median of the pairs' differences, with its quartiles), as `serve`
//!   runs it (decoupled, `transfer::spawn`; with an application that discards the bytes, so
//!   in process they never leave the driver's core, and with one that reads every byte, as
//!   an encoder or an HTTP response does), as `scan` runs it (inline with STATUS into a
//!   progress cell, `run_relay`) and inline with the application answering every STATUS
//!   (`transfer::run`), with how the hosted page's messages crossed (answered by the host and
//!   posted, or waited for);
//! - relay throughput: a driver writing 1 GiB in 4 MiB bands from memory, in process and
//!   through a host (the transfer's own cost, no rendering; the application discards the
//!   bytes, so in process nothing is copied at all), best of 5;
//! - one callback call's round trip (a STATUS answered by the application), through a host.
//!
//! `cargo bench -p scanwire-host --bench host` (bench/driver-host.sh). The bench binary is its
//! own host: with `SCANWIRE_HOST_BENCH_CHILD` set it runs `run_host` and exits.

use scanwire_core::device::{
    AcquireResult, Area, Capabilities, ColorMode, Completion, Device, DeviceError, DeviceErrorKind,
    DeviceInfo, Length, PageData, PageInfo, PixelFormat, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, CancelToken, DriverCallbackExt, Event, MiniDrvTransferCallback,
    NextStream, NullSink, SharedDevice, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_host::{HostCommand, HostOptions, HostedDevice};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SCANWIRE_HOST_BENCH_CHILD";
const BAND: usize = 4 << 20;
const BLAST_BYTES: usize = 1 << 30;

/// Writes `BLAST_BYTES` of one gray page from one buffer: the transfer's cost alone.
/// With an empty buffer it sends `PINGS` STATUS messages instead, and no data.
struct Blast(scanwire_virtual::VirtualDevice, Vec<u8>);

const PINGS: usize = 20_000;

impl Device for Blast {
    fn info(&self) -> DeviceInfo {
        self.0.info()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        self.0.capabilities()
    }

    fn acquire(
        &mut self,
        _request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        _cancel: &CancelToken,
    ) -> AcquireResult {
        let width = 1 << 16;
        let page = PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Flatbed,
            data: PageData::Raster {
                pixel: PixelFormat::Gray8,
                width,
                height: Some((BLAST_BYTES / width as usize) as u32),
            },
            dpi: (300, 300),
        };
        let fail = |hr| DeviceError::from_hresult(hr, "blast");
        let NextStream::Stream(mut s) = cb.get_next_stream(0, &page) else {
            return Err(DeviceError::new(DeviceErrorKind::Internal, "no stream"));
        };
        if self.1.is_empty() {
            for _ in 0..PINGS {
                cb.progress(0, 0).map_err(fail)?;
            }
            drop(s);
            return Ok(Completion::Done);
        }
        let bands = BLAST_BYTES / BAND;
        for i in 0..bands {
            s.write(&self.1).map_err(fail)?;
            cb.progress(((i + 1) * 100 / bands) as i32, s.bytes_written())
                .map_err(fail)?;
        }
        s.finish();
        Ok(Completion::Done)
    }
}

struct Discard;

impl TransferCallback for Discard {
    fn get_next_stream(&mut self, _page: &PageInfo) -> AppStream {
        AppStream::Stream(Box::<NullSink>::default())
    }

    fn transfer_callback(&mut self, _params: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

fn run(dev: &SharedDevice, req: &ScanRequest) -> Duration {
    let started = Instant::now();
    let o = transfer::run(
        dev,
        req,
        Box::new(Discard),
        &CancelHandle::new(),
        &TransferOptions::default(),
    );
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    started.elapsed()
}

/// One transfer as `scan` runs it: inline, STATUS into a progress cell.
fn run_cell(dev: &SharedDevice, req: &ScanRequest) -> Duration {
    let started = Instant::now();
    let cancel = CancelHandle::new();
    let opts = TransferOptions::default();
    let relay = transfer::Relay::new(Box::new(Discard), cancel.clone(), &opts)
        .with_progress_cell(std::sync::Arc::new(transfer::ProgressCell::new()));
    let o = transfer::run_relay(dev, req, relay, &cancel, &opts);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    started.elapsed()
}

/// An application that reads every byte it is handed, as an encoder or an HTTP response
/// does (a sum the compiler cannot drop): the bytes must reach the application's core.
#[derive(Default)]
struct ReadingSink(u64);

impl scanwire_core::transfer::PageSink for ReadingSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        let sum = data.iter().fold(0u64, |a, &b| a.wrapping_add(u64::from(b)));
        self.0 = std::hint::black_box(self.0.wrapping_add(sum));
        Ok(())
    }
    fn close(self: Box<Self>, _status: HResult) -> HResult {
        wia::S_OK
    }
}

/// One transfer as `serve` runs it: decoupled, STATUS into a progress cell.
fn run_decoupled(dev: &SharedDevice, req: &ScanRequest) -> Duration {
    decoupled(dev, req, || Box::<NullSink>::default())
}

/// The same, with an application that reads the page's bytes.
fn run_decoupled_reading(dev: &SharedDevice, req: &ScanRequest) -> Duration {
    decoupled(dev, req, || Box::<ReadingSink>::default())
}

fn decoupled(
    dev: &SharedDevice,
    req: &ScanRequest,
    sink: fn() -> Box<dyn scanwire_core::transfer::PageSink>,
) -> Duration {
    let started = Instant::now();
    let t = transfer::spawn(
        dev,
        req,
        Box::new(move |_: &PageInfo| AppStream::Stream(sink())),
        None,
        &CancelHandle::new(),
        &TransferOptions::default(),
    );
    loop {
        match t.events.recv() {
            Ok(Event::Finished(o)) => {
                assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
                return started.elapsed();
            }
            Ok(_) => {}
            Err(_) => panic!("the transfer ended without its outcome"),
        }
    }
}

/// Pages timed per mode, each in process then through a host.
const PAIRS: usize = 61;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn command() -> HostCommand {
    HostCommand::new(std::env::current_exe().expect("the bench binary")).env(CHILD_ENV, "1")
}

fn hosted(id: &str) -> HostedDevice {
    HostedDevice::open(command(), id, HostOptions::default()).expect("a host starts")
}

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let _ = scanwire_host::run_host(|id| match id {
            "virtual" => Ok(Box::new(scanwire_virtual::VirtualDevice::new())),
            "blast" => Ok(Box::new(Blast(
                scanwire_virtual::VirtualDevice::new(),
                vec![0x5a; BAND],
            ))),
            "ping" => Ok(Box::new(Blast(
                scanwire_virtual::VirtualDevice::new(),
                Vec::new(),
            ))),
            _ => Err(DeviceError::new(DeviceErrorKind::Offline, id.to_string())),
        });
        std::process::exit(0);
    }
    // `cargo bench` passes --bench; nothing else is taken.

    let startup = median(
        (0..15)
            .map(|_| {
                let t = Instant::now();
                let d = hosted("virtual");
                let took = t.elapsed();
                drop(d);
                took
            })
            .collect(),
    );
    println!(
        "host startup (spawn, connect, open): {:.2} ms (median of 15)",
        ms(startup)
    );

    let a4 = ScanRequest {
        source: Source::Flatbed,
        mode: ColorMode::Color,
        resolution: 300,
        area: Some(Area::sized(Length::mm(210), Length::mm(297))),
        ..Default::default()
    };
    let local = transfer::share(Box::new(scanwire_virtual::VirtualDevice::new()));
    let host = hosted("virtual");
    let counts = host.call_counts();
    let remote = transfer::share(Box::new(host));
    type Runner = fn(&SharedDevice, &ScanRequest) -> Duration;
    let modes: [(&str, Runner); 4] = [
        ("decoupled (serve)", run_decoupled),
        (
            "decoupled (serve), the application reading every byte",
            run_decoupled_reading,
        ),
        ("inline, progress cell (scan)", run_cell),
        ("inline, STATUS answered by the application", run),
    ];
    for (mode, go) in modes {
        go(&local, &a4);
        go(&remote, &a4);
        let (mut l, mut r) = (Vec::new(), Vec::new());
        let (posted, waited) = (counts.posted(), counts.waited());
        for _ in 0..PAIRS {
            l.push(go(&local, &a4));
            r.push(go(&remote, &a4));
        }
        let (posted, waited) = (
            (counts.posted() - posted) / PAIRS as u64,
            (counts.waited() - waited) / PAIRS as u64,
        );
        // Each pair ran back to back, so its difference is what the host added under the
        // same conditions; the machine's drift between pairs cancels out of it.
        let mut d: Vec<f64> = l.iter().zip(&r).map(|(l, r)| ms(*r) - ms(*l)).collect();
        d.sort_by(f64::total_cmp);
        let (q1, q2, q3) = (d[PAIRS / 4], d[PAIRS / 2], d[3 * PAIRS / 4]);
        let (l, r) = (median(l), median(r));
        println!(
            "A4 300 dpi colour page, {mode}: in process {:.2} ms, through a host {:.2} ms (medians); difference per pair {q2:+.2} ms (median of {PAIRS} pairs in turns; quartiles {q1:+.2}, {q3:+.2}); per page {posted} messages answered by the host, {waited} waited for",
            ms(l),
            ms(r),
        );
    }

    let gray = ScanRequest {
        source: Source::Flatbed,
        mode: ColorMode::Gray,
        resolution: 300,
        ..Default::default()
    };
    let local = transfer::share(Box::new(Blast(
        scanwire_virtual::VirtualDevice::new(),
        vec![0x5a; BAND],
    )));
    let remote = transfer::share(Box::new(hosted("blast")));
    let best = |dev: &SharedDevice| (0..5).map(|_| run(dev, &gray)).min().unwrap();
    let (l, r) = (best(&local), best(&remote));
    let gbs = |d: Duration| BLAST_BYTES as f64 / d.as_secs_f64() / 1e9;
    println!(
        "relay throughput, 1 GiB in 4 MiB bands: in process {:.1} GB/s (nothing copied), through a host {:.2} GB/s (best of 5)",
        gbs(l),
        gbs(r)
    );

    let ping = transfer::share(Box::new(hosted("ping")));
    let t = (0..3).map(|_| run(&ping, &gray)).min().unwrap();
    println!(
        "one callback call through a host (STATUS and its answer): {:.1} us (best of 3 runs of {PINGS})",
        t.as_secs_f64() * 1e6 / PINGS as f64
    );
}
