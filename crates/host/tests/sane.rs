//! A real driver behind a host: the SANE test backend through libsane in the host process
//! (a private SANE_CONFIG_DIR whose dll.conf lists only `test`). Skips when SANE is missing
//! (fails under SCANWIRE_REQUIRE_PEERS=1).

mod common;

use scanwire_core::device::{ColorMode, Device, ScanRequest, Source};
use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
use scanwire_core::wia;
use scanwire_host::{Health, HostOptions, HostedDevice};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[test]
fn host_child() {
    common::child_main();
}

/// A private SANE configuration with only the test backend, or `None` after a skip line.
fn sane_config() -> Option<PathBuf> {
    if !scanwire_testkit::have("scanimage", "--version") {
        scanwire_testkit::peer_missing("scanimage is not installed (sane-utils, libsane1)");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("scanwire-host-sane-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("dll.d")).unwrap();
    std::fs::write(dir.join("dll.conf"), "test\n").unwrap();
    Some(dir)
}

fn open(dir: &PathBuf) -> HostedDevice {
    let cmd = common::command().env("SANE_CONFIG_DIR", dir);
    let opts = HostOptions {
        cancel_grace: Duration::from_secs(3),
        ..HostOptions::default()
    };
    HostedDevice::open(cmd, "sane:test:0", opts).expect("sane:test:0 opens in a host")
}

fn request(dev: &mut HostedDevice, pairs: &[(&str, &str)]) -> ScanRequest {
    ScanRequest {
        source: Source::Flatbed,
        mode: ColorMode::Gray,
        resolution: 75,
        options: scanwire_testkit::set(&dev.options(), pairs),
        ..Default::default()
    }
}

#[test]
fn a_sane_page_through_a_host() {
    let Some(dir) = sane_config() else { return };
    let mut dev = open(&dir);
    assert_eq!(dev.info().driver, "sane");
    let req = request(&mut dev, &[]);
    let dev = transfer::share(Box::new(dev));
    let (app, log) = Recorder::new();
    let o = transfer::run(
        &dev,
        &req,
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert!(o.violations.is_empty(), "{:?}", o.violations);
    let pages = rec.complete_pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(
        Some(pages[0].data.len() as u64),
        pages[0].info.data.expected_bytes()
    );
}

/// A slow backend (each read delayed) is cancelled through the host: the cancel reaches the
/// driver (its CancelToken, sane_cancel) and the scan ends without a kill.
#[test]
fn a_cancel_ends_a_slow_sane_scan_without_a_kill() {
    let Some(dir) = sane_config() else { return };
    let mut dev = open(&dir);
    let req = request(
        &mut dev,
        &[
            ("read-limit", "yes"),
            ("read-limit-size", "4096"),
            ("read-delay", "yes"),
            ("read-delay-duration", "200000"),
        ],
    );
    let pid = dev.pid();
    let status = dev.status();
    let dev = transfer::share(Box::new(dev));
    let cancel = CancelHandle::new();
    let c = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        c.cancel();
    });
    let started = Instant::now();
    let (app, log) = Recorder::new();
    let o = transfer::run(
        &dev,
        &req,
        Box::new(app),
        &cancel,
        &TransferOptions::strict(),
    );
    assert_eq!(o.result, wia::S_FALSE, "{:?}", o.error);
    log.snapshot().check_grammar().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status.health(), Health::Running { pid: pid.unwrap() });
}
