//! Scans a feeder job from a device behind a driver host started from a real program (the
//! `scanwire` binary's hidden `driver-host`), and prints the outcome and the host's health.
//!
//! `cargo run -p scanwire-host --example hosted_scan -- target/debug/scanwire virtual crash-at-page=2`

use scanwire_core::device::{parse_settings, Device, ScanRequest, Source};
use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
use scanwire_host::{HostCommand, HostOptions, HostedDevice};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [program, id, settings @ ..] = args.as_slice() else {
        eprintln!("usage: hosted_scan PROGRAM DEVICE-ID [KEY=VALUE...]");
        std::process::exit(2);
    };
    let command = HostCommand::new(program).arg("driver-host");
    let mut dev = match HostedDevice::open(command, id, HostOptions::default()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot open {id} in a host: {e}");
            std::process::exit(1);
        }
    };
    let pairs: Vec<(String, String)> = settings
        .iter()
        .map(|s| {
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let options = match parse_settings(&dev.options(), &pairs) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let request = ScanRequest {
        source: Source::Feeder,
        resolution: 75,
        options,
        ..Default::default()
    };
    let status = dev.status();
    println!("host: {}", status.health());
    let dev = transfer::share(Box::new(dev));
    for job in 1..=2 {
        let (app, log) = Recorder::new();
        let o = transfer::run(
            &dev,
            &request,
            Box::new(app),
            &CancelHandle::new(),
            &TransferOptions::strict(),
        );
        println!(
            "job {job}: {} ({} complete pages{})",
            o.result,
            log.snapshot().complete_pages().len(),
            o.error.map(|e| format!("; {e}")).unwrap_or_default()
        );
        println!("host: {}", status.health());
    }
}
