//! The cost of a driver host (issue 17's budget), measured with the virtual scanner:
//! - startup: `HostedDevice::open` (spawn, connect, open the device), median of 15;
//! - one A4 300 dpi colour page, in process and through a host, median of 15 each, as `serve`
//!   runs it (decoupled, `transfer::spawn`), as `scan` runs it (inline with STATUS into a
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

/// One transfer as `serve` runs it: decoupled, STATUS into a progress cell.
fn run_decoupled(dev: &SharedDevice, req: &ScanRequest) -> Duration {
    let started = Instant::now();
    let t = transfer::spawn(
        dev,
        req,
        Box::new(|_: &PageInfo| AppStream::Stream(Box::<NullSink>::default())),
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
    let modes: [(&str, Runner); 3] = [
        ("decoupled (serve)", run_decoupled),
        ("inline, progress cell (scan)", run_cell),
        ("inline, STATUS answered by the application", run),
    ];
    for (mode, go) in modes {
        go(&local, &a4);
        go(&remote, &a4);
        let (mut l, mut r) = (Vec::new(), Vec::new());
        let (posted, waited) = (counts.posted(), counts.waited());
        for _ in 0..15 {
            l.push(go(&local, &a4));
            r.push(go(&remote, &a4));
        }
        let (posted, waited) = (
            (counts.posted() - posted) / 15,
            (counts.waited() - waited) / 15,
        );
        let (l, r) = (median(l), median(r));
        println!(
            "A4 300 dpi colour page, {mode}: in process {:.2} ms, through a host {:.2} ms, difference {:+.2} ms (medians of 15, in turns); per page {posted} messages answered by the host, {waited} waited for",
            ms(l),
            ms(r),
            ms(r) - ms(l)
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
