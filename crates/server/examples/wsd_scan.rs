//! One A4 300 dpi color page scanned through a driver into memory, for
//! `bench/wsd-vs-escl.sh`: `wsd_scan wsd URL` scans from a WS-Scan service (`scanwire serve
//! --wsd`) with Scanwire's WSD driver, `wsd_scan local` from the virtual scanner in-process.
//! Both run the same core transfer with the same in-memory destination, so the difference
//! is what the WS-Scan path adds (the server's encoding, HTTP, the driver's decoding).

use scanwire_core::device::{Area, ColorMode, Length, ScanRequest, Source};
use scanwire_core::transfer::{self, CancelHandle, Recorder, SharedDevice, TransferOptions};
use scanwire_virtual::VirtualDevice;
use scanwire_wsd_client::WsdDevice;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let device: SharedDevice = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["wsd", url] => match WsdDevice::open(url) {
            Ok(d) => transfer::share(Box::new(d)),
            Err(e) => {
                eprintln!("cannot open {url}: {e}");
                return ExitCode::FAILURE;
            }
        },
        ["local"] => transfer::share(Box::new(VirtualDevice::new())),
        _ => {
            eprintln!("usage: wsd_scan wsd http://HOST:PORT/WSDScanner | wsd_scan local");
            return ExitCode::from(2);
        }
    };
    let request = ScanRequest {
        source: Source::Flatbed,
        mode: ColorMode::Color,
        resolution: 300,
        area: Some(Area {
            left: Length(0),
            top: Length(0),
            width: Length(210_000),
            height: Length(297_000),
        }),
        ..ScanRequest::default()
    };
    let (app, log) = Recorder::new();
    let outcome = transfer::run(
        &device,
        &request,
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::default(),
    );
    let rec = log.snapshot();
    let pages = rec.complete_pages();
    if !outcome.result.is_success() || pages.len() != 1 {
        eprintln!(
            "the scan failed: {:?}, {} complete pages",
            outcome.error,
            pages.len()
        );
        return ExitCode::FAILURE;
    }
    println!("{} bytes of rows", pages[0].data.len());
    ExitCode::SUCCESS
}
