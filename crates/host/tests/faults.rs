//! A driver host's faults: crashes (SIGSEGV, SIGABRT), a panic, a hang and an ignored cancel,
//! before the first page, mid page and between pages of a feeder job. Each must end with the
//! right outcome, keep the pages completed before it, and leave the device usable at once.

mod common;

use scanwire_core::device::{ScanRequest, Source};
use scanwire_core::transfer::{
    self, CancelHandle, Outcome, Recorder, Recording, SharedDevice, TransferOptions,
};
use scanwire_core::wia;
use scanwire_host::{Health, HostOptions, HostStatus, HostedDevice};
use std::time::{Duration, Instant};

#[test]
fn host_child() {
    common::child_main();
}

fn request(options: &[(&str, &str)]) -> ScanRequest {
    ScanRequest {
        source: Source::Feeder,
        resolution: 75,
        options: scanwire_testkit::set(&scanwire_virtual::options::device_options(), options),
        ..Default::default()
    }
}

fn shared(opts: HostOptions) -> (SharedDevice, HostStatus) {
    let dev = common::open_with(opts);
    let status = dev.status();
    (transfer::share(Box::new(dev)), status)
}

fn quick() -> HostOptions {
    HostOptions {
        watchdog: Some(Duration::from_secs(60)),
        cancel_grace: Duration::from_millis(500),
        restart_backoff: Duration::from_millis(300),
        ..HostOptions::default()
    }
}

fn scan(dev: &SharedDevice, req: &ScanRequest, cancel: &CancelHandle) -> (Outcome, Recording) {
    let (app, log) = Recorder::new();
    let opts = TransferOptions::strict().watchdog(None);
    let outcome = transfer::run(dev, req, Box::new(app), cancel, &opts);
    let rec = log.snapshot();
    rec.check_grammar().expect("the message grammar holds");
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    (outcome, rec)
}

/// The fault ends the transfer with `result` and a detail containing `says`, keeps `kept`
/// complete pages (each whole), and the next job on the same device gets all four pages.
fn check_fault(options: &[(&str, &str)], result: wia::HResult, says: &str, kept: u32) {
    let (dev, status) = shared(quick());
    let mut opts = vec![("sheets", "4")];
    opts.extend_from_slice(options);
    let (o, rec) = scan(&dev, &request(&opts), &CancelHandle::new());
    assert_eq!(o.result, result, "{options:?}: {:?}", o.error);
    let detail = o
        .error
        .as_ref()
        .map(|e| e.detail().to_string())
        .unwrap_or_default();
    assert!(detail.contains(says), "{options:?}: {detail}");
    assert_eq!(o.pages, kept, "{options:?}: complete pages");
    assert_eq!(rec.complete_pages().len() as u32, kept);
    for p in rec.complete_pages() {
        assert_eq!(Some(p.data.len() as u64), p.info.data.expected_bytes());
    }
    match status.health() {
        Health::Failed {
            reason, failures, ..
        } => {
            assert!(reason.contains(says), "{reason}");
            assert_eq!(failures, 1);
        }
        h => panic!("{options:?}: health {h:?}"),
    }
    let started = Instant::now();
    let (o, rec) = scan(&dev, &request(&[("sheets", "4")]), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 4);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(status.health(), Health::Running { .. }),
        "{}",
        status.health()
    );
}

#[test]
fn segv_mid_page_keeps_the_pages_before_it() {
    check_fault(
        &[("crash-at-page", "2")],
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        "driver crashed: SIGSEGV",
        1,
    );
}

#[test]
fn segv_before_the_first_page() {
    check_fault(
        &[("crash-at-page", "1"), ("crash-at-row", "0")],
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        "driver crashed: SIGSEGV",
        0,
    );
}

#[test]
fn abort_between_pages() {
    check_fault(
        &[
            ("crash-at-page", "3"),
            ("crash-at-row", "0"),
            ("crash", "abort"),
        ],
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        "driver crashed: SIGABRT",
        2,
    );
}

#[test]
fn abort_mid_first_page() {
    check_fault(
        &[("crash-at-page", "1"), ("crash", "abort")],
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        "driver crashed: SIGABRT",
        0,
    );
}

#[test]
fn panic_mid_page_is_reported_and_the_host_replaced() {
    check_fault(
        &[("panic-at-page", "3")],
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        "panic-at-page=3",
        2,
    );
}

#[test]
fn a_hang_is_killed_by_the_watchdog() {
    let (dev, status) = shared(HostOptions {
        watchdog: Some(Duration::from_secs(1)),
        ..quick()
    });
    let started = Instant::now();
    let (o, rec) = scan(
        &dev,
        &request(&[("sheets", "4"), ("hang-at-page", "2")]),
        &CancelHandle::new(),
    );
    let took = started.elapsed();
    assert_eq!(o.result, transfer::HRESULT_TIMEOUT, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 1);
    assert!(took < Duration::from_secs(4), "the kill took {took:?}");
    assert!(status.health().to_string().contains("stopped responding"));
    let started = Instant::now();
    let (o, _) = scan(&dev, &request(&[("sheets", "1")]), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_hang_before_the_first_page_completes() {
    let (dev, _) = shared(HostOptions {
        watchdog: Some(Duration::from_secs(1)),
        ..quick()
    });
    let (o, rec) = scan(
        &dev,
        &request(&[("sheets", "4"), ("hang-at-page", "1")]),
        &CancelHandle::new(),
    );
    assert_eq!(o.result, transfer::HRESULT_TIMEOUT, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 0);
    assert_eq!(o.incomplete, 1);
}

#[test]
fn an_ignored_cancel_escalates_to_a_kill() {
    let (dev, status) = shared(quick());
    let cancel = CancelHandle::new();
    let c = cancel.clone();
    let canceller = std::thread::spawn(move || {
        // Page 2 hangs mid page; page 1 takes well under this at 75 dpi.
        std::thread::sleep(Duration::from_millis(700));
        let at = Instant::now();
        c.cancel();
        at
    });
    let (o, rec) = scan(
        &dev,
        &request(&[("sheets", "4"), ("hang-at-page", "2")]),
        &cancel,
    );
    let done = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_eq!(o.result, wia::S_FALSE, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 1);
    let took = done.duration_since(cancelled_at);
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(2),
        "cancel to kill: {took:?}"
    );
    assert!(status.health().to_string().contains("ignored a cancel"));
    let (o, _) = scan(&dev, &request(&[("sheets", "1")]), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
}

#[test]
fn a_cancel_reaches_the_driver_at_once() {
    // 6 pages a minute: ten seconds a page, so the cancel lands mid page.
    let (dev, _) = shared(quick());
    let cancel = CancelHandle::new();
    let c = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        c.cancel();
    });
    let started = Instant::now();
    let (o, _) = scan(&dev, &request(&[("sheets", "2"), ("ppm", "6")]), &cancel);
    assert_eq!(o.result, wia::S_FALSE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_crash_names_the_native_call() {
    let dev = HostedDevice::open(common::command(), "crumb", quick()).unwrap();
    let status = dev.status();
    let dev = transfer::share(Box::new(dev));
    let req = ScanRequest {
        resolution: 75,
        ..Default::default()
    };
    let (o, _) = scan(&dev, &req, &CancelHandle::new());
    assert_eq!(o.result, wia::WIA_ERROR_EXCEPTION_IN_DRIVER);
    let detail = o.error.unwrap().detail().to_string();
    assert_eq!(detail, "driver crashed: SIGABRT in fake_sane_start");
    assert!(status.health().to_string().starts_with(&detail));
}

#[test]
fn a_device_that_keeps_crashing_backs_off() {
    let (dev, status) = shared(quick());
    let crash = request(&[("crash-at-page", "1"), ("crash-at-row", "0")]);
    for failures in 1..=3u32 {
        let started = Instant::now();
        let (o, _) = scan(&dev, &crash, &CancelHandle::new());
        assert_eq!(o.result, wia::WIA_ERROR_EXCEPTION_IN_DRIVER);
        // The host for this job started after the back-off of the failures before it: the
        // first restart is immediate, the second waits 300 ms.
        let waited = started.elapsed();
        if failures >= 3 {
            let backoff = Duration::from_millis(300) * (1 << (failures - 3));
            assert!(waited >= backoff, "failure {failures}: {waited:?}");
        }
        match status.health() {
            Health::Failed {
                failures: n,
                restart_in,
                ..
            } => {
                assert_eq!(n, failures);
                assert_eq!(restart_in.is_zero(), failures == 1, "{restart_in:?}");
            }
            h => panic!("{h:?}"),
        }
    }
    assert!(status
        .health()
        .to_string()
        .contains("after 3 failures in a row"));
    // A clean job resets the count.
    let (o, _) = scan(&dev, &request(&[("sheets", "1")]), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert!(matches!(status.health(), Health::Running { .. }));
    let (o, _) = scan(&dev, &crash, &CancelHandle::new());
    assert_eq!(o.result, wia::WIA_ERROR_EXCEPTION_IN_DRIVER);
    assert!(matches!(
        status.health(),
        Health::Failed { failures: 1, .. }
    ));
}

#[test]
fn a_host_killed_while_idle_is_replaced() {
    let dev = common::open_with(quick());
    let pid = dev.pid().expect("a host is running");
    let status = dev.status();
    let dev = transfer::share(Box::new(dev));
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(100));
    let (o, rec) = scan(&dev, &request(&[("sheets", "2")]), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 2);
    match status.health() {
        Health::Running { pid: new } => assert_ne!(new, pid),
        h => panic!("{h:?}"),
    }
}

#[test]
fn an_unknown_device_is_the_drivers_error() {
    let e = HostedDevice::open(common::command(), "nothing", quick()).unwrap_err();
    assert!(e.detail().contains("no device `nothing`"), "{e}");
}

#[test]
fn the_shared_crash_table_holds_behind_a_host() {
    let req = |source, options: &[(&str, &str)], pages| ScanRequest {
        source,
        resolution: 75,
        pages,
        options: scanwire_testkit::set(&scanwire_virtual::options::device_options(), options),
        ..Default::default()
    };
    for case in scanwire_testkit::virtual_scanner_crashes(&req, wia::WIA_ERROR_EXCEPTION_IN_DRIVER)
    {
        let (dev, _) = shared(quick());
        let (o, rec) = scan(&dev, &case.request, &CancelHandle::new());
        assert_eq!(o.result, case.result, "{}: {:?}", case.name, o.error);
        assert_eq!(
            rec.complete_pages().len() as u32,
            case.complete_pages,
            "{}",
            case.name
        );
        let (o, _) = scan(&dev, &req(Source::Feeder, &[], None), &CancelHandle::new());
        assert_eq!(
            o.result,
            wia::S_OK,
            "{}: the next job: {:?}",
            case.name,
            o.error
        );
    }
}

#[test]
fn pages_cross_the_socket_without_a_ring() {
    assert!(common::open().shared_ring() || !std::path::Path::new("/dev/shm").is_dir());
    let hosted = common::open_with(HostOptions {
        shared_ring: false,
        ..quick()
    });
    assert!(!hosted.shared_ring());
    let dev = transfer::share(Box::new(hosted));
    let (o, rec) = scan(&dev, &request(&[("sheets", "3")]), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 3);
    for p in rec.complete_pages() {
        assert_eq!(Some(p.data.len() as u64), p.info.data.expected_bytes());
    }
    let (o, rec) = scan(
        &dev,
        &request(&[("sheets", "3"), ("crash-at-page", "2")]),
        &CancelHandle::new(),
    );
    assert_eq!(o.result, wia::WIA_ERROR_EXCEPTION_IN_DRIVER);
    assert_eq!(rec.complete_pages().len(), 1);
}

/// A Ctrl-C at the terminal goes to the foreground process group: the host is not in it, so
/// the application alone decides (a cancel) and the driver is not killed mid page.
#[test]
fn the_host_has_a_process_group_of_its_own() {
    let dev = common::open();
    let pid = dev.pid().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let pgrp: u32 = after_name.split(' ').nth(2).unwrap().parse().unwrap();
    assert_eq!(pgrp, pid, "{stat}");
}
