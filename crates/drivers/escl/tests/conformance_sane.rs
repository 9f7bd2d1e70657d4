//! The whole driver conformance suite (scanwire-testkit) for this driver, scanning over HTTP
//! on 127.0.0.1 from `scanwire-server` in front of the SANE test backend (`sane:test:0`).
//!
//! SANE runs with a private `SANE_CONFIG_DIR` whose `dll.conf` lists only `test`. Without
//! libsane or the test backend the tests pass with a note, unless `SCANWIRE_REQUIRE_PEERS=1`,
//! which makes that a failure.
//!
//! Faults are the test backend's `read-return-value`, set on the server (see
//! `common::Remote`); they reach this driver only as eSCL statuses, states and reasons.

mod common;

use common::{with_options, Remote};
use scanwire_core::device::{
    Area, ColorMode, DeviceErrorKind, Driver, Length, ScanRequest, Source,
};
use scanwire_core::transfer::{self, SharedDevice};
use scanwire_core::wia::{self, HResult};
use scanwire_sane::{SaneConfig, SaneDriver};
use scanwire_testkit::{conformance_suite, DeviceSlot, FaultCase, Profile};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Writes the private SANE configuration: `dll.conf` = `test`, an empty `dll.d`.
fn write_config(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("dll.d"))?;
    std::fs::write(dir.join("dll.conf"), "test\n")?;
    let stock = std::fs::read_to_string("/etc/sane.d/test.conf")
        .unwrap_or_else(|_| "number_of_devices 2\n".to_string());
    std::fs::write(dir.join("test.conf"), stock)
}

/// The SANE driver with the private configuration, or `None` (with a note) when libsane or
/// its test backend is missing; a panic then under SCANWIRE_REQUIRE_PEERS=1.
fn sane() -> Option<&'static SaneDriver> {
    static DRIVER: OnceLock<Result<SaneDriver, String>> = OnceLock::new();
    let driver = DRIVER.get_or_init(|| {
        // One directory per test process; libsane reads it once, at sane_init.
        let dir: PathBuf =
            std::env::temp_dir().join(format!("scanwire-escl-sane-{}", std::process::id()));
        write_config(&dir).unwrap_or_else(|e| panic!("writing {}: {e}", dir.display()));
        let driver = SaneDriver::with_config(SaneConfig {
            config_dir: Some(dir),
            library: std::env::var_os("SCANWIRE_TEST_LIBSANE").map(PathBuf::from),
            ..Default::default()
        });
        let missing = match driver.devices() {
            Err(e) => Some(format!("SANE is not usable: {e}")),
            Ok(list) if !list.iter().any(|d| d.id == "sane:test:0") => Some(format!(
                "the SANE test backend is missing (devices: {list:?})"
            )),
            Ok(_) => None,
        };
        match missing {
            Some(why) => Err(format!("{why} (install libsane1)")),
            None => Ok(driver),
        }
    });
    // Each test that needs it says so (or fails under SCANWIRE_REQUIRE_PEERS=1).
    driver
        .as_ref()
        .map_err(|why| scanwire_testkit::peer_missing(why))
        .ok()
}

/// Opens `sane:test:0`; a server that just stopped may still be closing the last handle.
fn open_test_device(driver: &SaneDriver) -> SharedDevice {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match driver.open("sane:test:0") {
            Ok(d) => return transfer::share(d),
            Err(e) if e.kind() == DeviceErrorKind::Busy && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("open sane:test:0: {e}"),
        }
    }
}

const PATTERN: (&str, &str) = ("test-picture", "Color pattern");

/// A request for a region in millimetres.
fn request(source: Source, dpi: u32, mm: (u32, u32), options: &[(&str, &str)]) -> ScanRequest {
    with_options(
        ScanRequest {
            source,
            mode: ColorMode::Gray,
            resolution: dpi,
            area: Some(Area {
                left: Length::mm(0),
                top: Length::mm(0),
                width: Length::mm(mm.0),
                height: Length::mm(mm.1),
            }),
            ..Default::default()
        },
        options,
    )
}

fn fault(name: &'static str, source: Source, status: &str, result: HResult) -> FaultCase {
    FaultCase {
        name,
        request: request(source, 75, (40, 40), &[("read-return-value", status)]),
        result,
        complete_pages: 0,
    }
}

fn profile() -> Option<Profile> {
    let driver = sane()?;
    Some(Profile {
        name: "escl → scanwire-server → sane:test:0",
        open: Box::new(move || -> SharedDevice {
            let slot = DeviceSlot::take();
            let remote =
                Remote::new(Arc::new(move || open_test_device(driver))).with_guard(Box::new(slot));
            transfer::share(Box::new(remote))
        }),
        flatbed: request(Source::Flatbed, 75, (40, 40), &[PATTERN]),
        // No multi-page feeder runs: the test backend ends every page by cancelling its
        // reader thread (sanei_thread, asynchronous pthread_cancel) while that thread may be
        // exiting; under this chain's load a cancelled thread sometimes dies holding a malloc
        // arena lock and the next page deadlocks in libsane-test (seen with gdb: the reader
        // stuck in `_int_free` from `tcache_thread_shutdown`, the backend's sane_read joining
        // it). Feeder batches over eSCL are covered by the virtual profile (tests/conformance.rs).
        feeder: None,
        // About 1.1 s: the pattern comes in pieces of ten lines, 20 ms apart. The server
        // compresses the whole pattern into one PNG chunk at the end of the page, so the
        // page is large enough (0.9 MB of rows) for the driver to hand it on in several
        // bands, each with a STATUS. The server offers 75 dpi and up (discrete steps).
        slow: ScanRequest {
            mode: ColorMode::Color,
            ..request(
                Source::Flatbed,
                75,
                (190, 190),
                &[
                    PATTERN,
                    ("read-delay", "yes"),
                    ("read-delay-duration", "20000"),
                ],
            )
        },
        faults: vec![
            // Paper problems on a feeder job arrive as ScannerStatus' AdfState.
            fault(
                "jam",
                Source::Feeder,
                "SANE_STATUS_JAMMED",
                wia::WIA_ERROR_PAPER_JAM,
            ),
            fault(
                "cover open",
                Source::Feeder,
                "SANE_STATUS_COVER_OPEN",
                wia::WIA_ERROR_COVER_OPEN,
            ),
            fault(
                "no paper",
                Source::Feeder,
                "SANE_STATUS_NO_DOCS",
                wia::WIA_ERROR_PAPER_EMPTY,
            ),
            // On the flatbed the server reports no ADF state: NextDocument 409 and the job
            // Aborted with ErrorsDetected say "a paper problem", nothing more.
            fault(
                "jam on the flatbed",
                Source::Flatbed,
                "SANE_STATUS_JAMMED",
                wia::WIA_ERROR_PAPER_PROBLEM,
            ),
            // 500, AbortedBySystem.
            fault(
                "I/O error",
                Source::Flatbed,
                "SANE_STATUS_IO_ERROR",
                wia::WIA_ERROR_DEVICE_COMMUNICATION,
            ),
            fault(
                "early EOF",
                Source::Flatbed,
                "SANE_STATUS_EOF",
                wia::WIA_ERROR_DEVICE_COMMUNICATION,
            ),
            // 503 with the job Aborted (ResourcesAreNotReady).
            fault(
                "busy",
                Source::Flatbed,
                "SANE_STATUS_DEVICE_BUSY",
                wia::WIA_ERROR_BUSY,
            ),
            // 500 with the job Aborted (ResourcesAreNotReady).
            fault(
                "access denied",
                Source::Flatbed,
                "SANE_STATUS_ACCESS_DENIED",
                wia::WIA_ERROR_OFFLINE,
            ),
            // The job Aborted with InvalidScanTicket.
            fault(
                "invalid",
                Source::Flatbed,
                "SANE_STATUS_INVAL",
                wia::E_INVALIDARG,
            ),
            // 410, the job Canceled.
            fault(
                "cancelled at the device",
                Source::Flatbed,
                "SANE_STATUS_CANCELLED",
                wia::S_FALSE,
            ),
        ],
    })
}

// Each generated test returns early (passing, with the note above) when SANE is missing.
conformance_suite!(match profile() {
    Some(p) => p,
    None => return,
});
