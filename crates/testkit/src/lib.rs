//! The driver conformance suite: one macro call runs it against a driver.
//!
//! A driver crate describes itself in a [`Profile`] (how to open a device, a quick flatbed
//! request, a feeder request, the faults it can script and what each must come to) and calls
//! [`conformance_suite!`]. Every check runs the device through the core's runner in **strict**
//! mode, records what the application saw with a [`Recorder`], and checks:
//! - the message grammar ([`Recording::check_grammar`]) and that the verifier found nothing;
//! - request validation (a bad resolution or source never reaches the driver);
//! - cancel before the first page, mid-page and between pages, from the application's
//!   answers and from the cancel handle on another thread;
//! - skip item (the rest still arrives, the result is S_OK);
//! - an application or destination failure comes back as that exact HRESULT;
//! - every scripted fault ends with its WIA code and keeps the pages completed before it;
//! - complete raster pages hold exactly `bytes_per_line × height` bytes.
//!
//! Also for every test crate: [`fixtures_dir`] and [`peer_missing`] (`peers.rs`), the one way a
//! test skips when a fixture set or peer program is missing (or fails under
//! `SCANWIRE_REQUIRE_PEERS=1`), and [`have`] for a peer program; [`ocr`]: the scanned pages'
//! true text, word recall and the `tesseract` command line, for every crate's OCR tests.
//! [`nats`]: a real `nats-server` cluster with JetStream on loopback ports.

use scanwire_core::device::{
    parse_settings, DeviceOption, OptionValue, PageData, ScanRequest, Source,
};
use scanwire_core::transfer::{
    self, CancelHandle, Outcome, Recorder, Recording, Script, SharedDevice, TransferOptions,
};
use scanwire_core::wia::{self, HResult};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub use scanwire_core::transfer::Recorder as RecordingCallback;

pub mod http;
pub mod nats;
pub mod ocr;
mod peers;
pub use peers::{fixtures_dir, fixtures_path, fixtures_root, have, peer_missing, peers_required};

/// A scripted fault and what it must come to.
#[derive(Clone, Debug)]
pub struct FaultCase {
    /// Short name for messages.
    pub name: &'static str,
    /// The request that triggers it (device-specific `options` set).
    pub request: ScanRequest,
    /// The transfer's HRESULT.
    pub result: HResult,
    /// How many complete pages the application keeps.
    pub complete_pages: u32,
}

/// `--set`-style pairs parsed against a device's options, as the CLI does it; panics with
/// the parse error (a test's own options are meant to be valid).
pub fn set(options: &[DeviceOption], pairs: &[(&str, &str)]) -> BTreeMap<String, OptionValue> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse_settings(options, &pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
}

/// The suite's checks run in parallel, but some devices allow one open handle at a time (the
/// SANE test backend): a profile's `open` takes this slot and keeps it while the device
/// lives (drop the device's handle before the slot). One slot per test process.
pub struct DeviceSlot(());

static SLOT: (std::sync::Mutex<bool>, std::sync::Condvar) =
    (std::sync::Mutex::new(false), std::sync::Condvar::new());

impl DeviceSlot {
    /// Waits until no other device of this process holds the slot, then holds it.
    pub fn take() -> DeviceSlot {
        let (m, cv) = &SLOT;
        let mut busy = m.lock().unwrap_or_else(|p| p.into_inner());
        while *busy {
            busy = cv.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy = true;
        DeviceSlot(())
    }
}

impl Drop for DeviceSlot {
    fn drop(&mut self) {
        let (m, cv) = &SLOT;
        *m.lock().unwrap_or_else(|p| p.into_inner()) = false;
        cv.notify_all();
    }
}

/// Builds a profile's request: source, device options (`--set`), pages.
pub type RequestFn = dyn Fn(Source, &[(&str, &str)], Option<u32>) -> ScanRequest;

/// The virtual scanner's scripted faults (its `--set` options) and what each must come to,
/// for every route that ends at a virtual scanner: in process, or behind `scanwire serve`.
/// `request(source, options, pages)` builds each request (resolution and the like are the
/// profile's); `panic` is what a driver that panics comes to on that route
/// (WIA_ERROR_EXCEPTION_IN_DRIVER in process; behind a server, the scanner aborted the job).
pub fn virtual_scanner_faults(request: &RequestFn, panic: HResult) -> Vec<FaultCase> {
    let feeder = |name, options: &[(&str, &str)], result, kept| FaultCase {
        name,
        request: request(Source::Feeder, options, None),
        result,
        complete_pages: kept,
    };
    vec![
        feeder("jam", &[("jam-at-page", "2")], wia::WIA_ERROR_PAPER_JAM, 1),
        feeder(
            "empty",
            &[("feeder-empty", "true")],
            wia::WIA_ERROR_PAPER_EMPTY,
            0,
        ),
        feeder(
            "multi-feed",
            &[("multi-feed-at-page", "3")],
            wia::WIA_ERROR_MULTI_FEED,
            2,
        ),
        feeder(
            "cover",
            &[("cover-open", "true")],
            wia::WIA_ERROR_COVER_OPEN,
            0,
        ),
        feeder("offline", &[("offline", "true")], wia::WIA_ERROR_OFFLINE, 0),
        feeder("panic", &[("panic-at-page", "2")], panic, 1),
        FaultCase {
            name: "end of media",
            request: request(Source::Feeder, &[("sheets", "2")], Some(3)),
            result: wia::WIA_STATUS_END_OF_MEDIA,
            complete_pages: 2,
        },
        FaultCase {
            name: "duplex jam on a back",
            request: request(Source::FeederDuplex, &[("jam-at-page", "4")], None),
            result: wia::WIA_ERROR_PAPER_JAM,
            complete_pages: 3,
        },
    ]
}

/// The virtual scanner's crashes (`crash-at-page`: a real SIGSEGV or SIGABRT ends the
/// driver's process) before the first page, mid page and between pages of a feeder job, and
/// what each must come to. Only for routes where the driver runs in its own process (a
/// driver host): in process a crash ends the test itself. `crash` is what a crashed driver
/// comes to on that route (WIA_ERROR_EXCEPTION_IN_DRIVER from a `HostedDevice`).
pub fn virtual_scanner_crashes(request: &RequestFn, crash: HResult) -> Vec<FaultCase> {
    let feeder = |name, options: &[(&str, &str)], kept| FaultCase {
        name,
        request: request(Source::Feeder, options, None),
        result: crash,
        complete_pages: kept,
    };
    vec![
        feeder(
            "SIGSEGV before the first page",
            &[("crash-at-page", "1"), ("crash-at-row", "0")],
            0,
        ),
        feeder("SIGSEGV mid page 2", &[("crash-at-page", "2")], 1),
        feeder(
            "SIGABRT between pages 2 and 3",
            &[
                ("crash-at-page", "3"),
                ("crash-at-row", "0"),
                ("crash", "abort"),
            ],
            2,
        ),
    ]
}

/// What the suite needs to know about a driver.
pub struct Profile {
    /// For messages.
    pub name: &'static str,
    /// Opens a fresh device.
    pub open: Box<dyn Fn() -> SharedDevice>,
    /// A quick one-page request.
    pub flatbed: ScanRequest,
    /// A feeder request giving at least three pages, if the device has a feeder.
    pub feeder: Option<ScanRequest>,
    /// A request slow enough (≥ 1 s) to cancel in the middle of its first page.
    pub slow: ScanRequest,
    /// Faults the driver can script.
    pub faults: Vec<FaultCase>,
}

fn opts() -> TransferOptions {
    TransferOptions::strict().watchdog(Some(Duration::from_secs(60)))
}

/// Runs `request` with a recorder following `script`, checking grammar, the verifier and page
/// sizes. Returns the outcome and the recording.
pub fn scan(
    p: &Profile,
    request: &ScanRequest,
    script: Script,
    cancel: &CancelHandle,
) -> (Outcome, Recording) {
    let device = (p.open)();
    let (app, log) = Recorder::scripted(script);
    let outcome = transfer::run(&device, request, Box::new(app), cancel, &opts());
    let rec = log.snapshot();
    if let Err(e) = rec.check_grammar() {
        panic!("{}: message grammar broken: {e}\n{:#?}", p.name, rec.events);
    }
    assert!(
        outcome.violations.is_empty(),
        "{}: the driver broke the transfer rules: {:?}",
        p.name,
        outcome.violations
    );
    for page in rec.complete_pages() {
        if let Some(expected) = page.info.data.expected_bytes() {
            assert_eq!(
                page.data.len() as u64,
                expected,
                "{}: page {} holds {} bytes, its PageInfo promises {expected}",
                p.name,
                page.info.number,
                page.data.len()
            );
        }
        if let PageData::Raster { height: None, .. } = page.info.data {
            let bpl = page.info.data.bytes_per_line().unwrap_or(1).max(1);
            assert_eq!(page.data.len() % bpl, 0, "{}: a partial row", p.name);
        }
    }
    (outcome, rec)
}

/// A plain scan delivers one complete page, in grammar, with S_OK.
pub fn flatbed_scan(p: &Profile) {
    let (o, rec) = scan(p, &p.flatbed, Script::default(), &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{}: {:?}", p.name, o.error);
    assert_eq!(o.pages, 1, "{}", p.name);
    assert_eq!(rec.complete_pages().len(), 1);
    assert_eq!(rec.end_of_transfer(), Some(wia::S_OK));
    assert!(
        rec.messages()
            .iter()
            .any(|m| m.lMessage == wia::WIA_TRANSFER_MSG_STATUS),
        "{}: no STATUS progress at all",
        p.name
    );
}

/// The same request twice gives the same bytes (devices with deterministic content).
pub fn repeatable(p: &Profile) {
    let (_, a) = scan(p, &p.flatbed, Script::default(), &CancelHandle::new());
    let (_, b) = scan(p, &p.flatbed, Script::default(), &CancelHandle::new());
    assert_eq!(a.pages[0].data, b.pages[0].data, "{}", p.name);
}

/// A request the device cannot do never reaches it, and the error names the problem.
pub fn validation(p: &Profile) {
    let bad = ScanRequest {
        resolution: 999_999,
        ..p.flatbed.clone()
    };
    let (o, rec) = scan(p, &bad, Script::default(), &CancelHandle::new());
    let e = o.error.expect("an error");
    assert!(e.detail().contains("999999 dpi"), "{}: {e}", p.name);
    assert!(rec.pages.is_empty());
    assert_eq!(rec.end_of_transfer(), Some(o.result));
}

/// Cancelled before anything happens: S_FALSE, no page.
pub fn cancel_before_first_page(p: &Profile) {
    let cancel = CancelHandle::new();
    cancel.cancel();
    let (o, rec) = scan(p, &p.flatbed, Script::default(), &cancel);
    assert_eq!(o.result, wia::S_FALSE, "{}: {:?}", p.name, o.error);
    assert!(rec.complete_pages().is_empty());
}

/// The application answers S_FALSE to the second STATUS: S_FALSE, the page is discarded.
pub fn cancel_mid_page(p: &Profile) {
    let script = Script {
        cancel_at_status: Some(2),
        ..Default::default()
    };
    let (o, rec) = scan(p, &p.slow, script, &CancelHandle::new());
    assert_eq!(o.result, wia::S_FALSE, "{}: {:?}", p.name, o.error);
    assert!(rec.complete_pages().is_empty(), "{}", p.name);
    assert_eq!(rec.pages.len(), 1);
    assert_eq!(rec.pages[0].closed, Some(wia::S_FALSE));
}

/// The cancel handle fires from another thread mid-page: the driver stops within a second.
pub fn cancel_handle_mid_page(p: &Profile) {
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        c2.cancel();
        Instant::now()
    });
    let (o, rec) = scan(p, &p.slow, Script::default(), &cancel);
    let latency = t.join().expect("canceller").elapsed();
    assert_eq!(o.result, wia::S_FALSE, "{}: {:?}", p.name, o.error);
    assert!(
        latency < Duration::from_secs(1),
        "{}: cancel took {latency:?}",
        p.name
    );
    assert!(rec.complete_pages().is_empty());
}

/// The application cancels at the second page's GetNextStream: page 1 is kept.
pub fn cancel_between_pages(p: &Profile) {
    let Some(feeder) = &p.feeder else { return };
    let script = Script {
        cancel_at_page: Some(2),
        ..Default::default()
    };
    let (o, rec) = scan(p, feeder, script, &CancelHandle::new());
    assert_eq!(o.result, wia::S_FALSE, "{}: {:?}", p.name, o.error);
    assert_eq!(rec.complete_pages().len(), 1, "{}", p.name);
}

/// Skipping page 1 of a feeder scan: the rest arrives, the result is a success.
pub fn skip_item(p: &Profile) {
    let Some(feeder) = &p.feeder else { return };
    let (full, _) = scan(p, feeder, Script::default(), &CancelHandle::new());
    let script = Script {
        skip_pages: vec![1],
        ..Default::default()
    };
    let (o, rec) = scan(p, feeder, script, &CancelHandle::new());
    assert!(
        o.result.is_success() && o.result != wia::S_FALSE,
        "{}: {}",
        p.name,
        o.result
    );
    assert_eq!(o.skipped, 1);
    assert_eq!(o.pages + 1, full.pages, "{}", p.name);
    assert!(rec.pages.iter().all(|pg| pg.info.number != 1));
}

/// A feeder scan delivers pages numbered 1.. from a feeder source.
pub fn feeder_pages(p: &Profile) {
    let Some(feeder) = &p.feeder else { return };
    let (o, rec) = scan(p, feeder, Script::default(), &CancelHandle::new());
    assert!(
        o.result.is_success() && o.result != wia::S_FALSE,
        "{}: {:?}",
        p.name,
        o.error
    );
    assert!(o.pages >= 3, "{}: {} pages", p.name, o.pages);
    for (i, pg) in rec.pages.iter().enumerate() {
        assert_eq!(pg.info.number, i as u32 + 1);
        assert!(matches!(
            pg.info.source,
            Source::Feeder | Source::FeederDuplex
        ));
    }
}

/// The application fails mid-page: the transfer fails with exactly that code.
pub fn application_failure(p: &Profile) {
    let code = HResult::from_u32(0x8007_0070); // disk full
    let script = Script {
        fail_at_status: Some((1, code)),
        ..Default::default()
    };
    let (o, _) = scan(p, &p.flatbed, script, &CancelHandle::new());
    assert_eq!(o.result, code, "{}", p.name);
}

/// The destination stream fails a write: the transfer fails with that code.
pub fn destination_failure(p: &Profile) {
    let code = wia::WIA_ERROR_DESTINATION;
    let script = Script {
        sink_fails_after: Some((1, code)),
        ..Default::default()
    };
    let (o, rec) = scan(p, &p.flatbed, script, &CancelHandle::new());
    assert_eq!(o.result, code, "{}", p.name);
    assert!(rec.complete_pages().is_empty());
}

/// Every scripted fault ends with its code and keeps the pages before it.
pub fn faults(p: &Profile) {
    for f in &p.faults {
        let (o, rec) = scan(p, &f.request, Script::default(), &CancelHandle::new());
        assert_eq!(
            o.result, f.result,
            "{}: fault {}: {:?}",
            p.name, f.name, o.error
        );
        assert_eq!(
            rec.complete_pages().len() as u32,
            f.complete_pages,
            "{}: fault {} kept the wrong number of pages",
            p.name,
            f.name
        );
        assert_eq!(rec.end_of_transfer(), Some(f.result));
    }
}

/// Generates one `#[test]` per check for the profile `$profile` (an expression evaluated
/// afresh in each test).
#[macro_export]
macro_rules! conformance_suite {
    ($profile:expr) => {
        $crate::conformance_suite!(@tests $profile;
            flatbed_scan, repeatable, validation, cancel_before_first_page, cancel_mid_page,
            cancel_handle_mid_page, cancel_between_pages, skip_item, feeder_pages,
            application_failure, destination_failure, faults);
    };
    ($profile:expr, nondeterministic) => {
        $crate::conformance_suite!(@tests $profile;
            flatbed_scan, validation, cancel_before_first_page, cancel_mid_page,
            cancel_handle_mid_page, cancel_between_pages, skip_item, feeder_pages,
            application_failure, destination_failure, faults);
    };
    (@tests $profile:expr; $($check:ident),*) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $check() {
                    $crate::$check(&$profile);
                }
            )*
        }
    };
}
