//! The driver conformance suite (scanwire-testkit) against `sane:test:0`: grammar, strict
//! verification, validation, cancel before, during and between pages, skip, application and
//! destination failures, and every fault the test backend can inject.

mod common;

use common::{env, feeder, request};
use scanwire_core::device::{
    AcquireResult, Capabilities, ColorMode, Device, DeviceError, DeviceInfo, DeviceOption, Driver,
    ScanRequest,
};
use scanwire_core::transfer::{self, CancelToken, MiniDrvTransferCallback, SharedDevice};
use scanwire_core::wia::{self, HResult};
use scanwire_testkit::{conformance_suite, DeviceSlot, FaultCase, Profile};

/// A SANE device that owns the slot; fields drop in order, so the handle closes first.
struct Exclusive {
    inner: Box<dyn Device>,
    _slot: DeviceSlot,
}

impl Device for Exclusive {
    fn info(&self) -> DeviceInfo {
        self.inner.info()
    }
    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        self.inner.capabilities()
    }
    fn options(&mut self) -> Vec<DeviceOption> {
        self.inner.options()
    }
    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        self.inner.acquire(request, cb, cancel)
    }
}

const PATTERN: (&str, &str) = ("test-picture", "Color pattern");

fn fault(name: &'static str, status: &str, result: HResult) -> FaultCase {
    FaultCase {
        name,
        request: request(
            ColorMode::Gray,
            50,
            (0, 0, 40, 40),
            &[("read-return-value", status)],
        ),
        result,
        complete_pages: 0,
    }
}

/// The profile, or `None` when SANE or its test backend is missing (a note is printed, or
/// the test fails under SCANWIRE_REQUIRE_PEERS=1).
fn profile() -> Option<Profile> {
    let env = env()?;
    Some(Profile {
        name: "sane:test:0",
        open: Box::new(move || -> SharedDevice {
            let slot = DeviceSlot::take();
            let inner = env
                .driver
                .open("sane:test:0")
                .unwrap_or_else(|e| panic!("open sane:test:0: {e}"));
            transfer::share(Box::new(Exclusive { inner, _slot: slot }))
        }),
        flatbed: request(ColorMode::Gray, 50, (0, 0, 40, 40), &[PATTERN]),
        // The test backend's feeder holds ten sheets.
        feeder: Some(feeder(
            request(ColorMode::Gray, 30, (0, 0, 40, 40), &[PATTERN]),
            None,
        )),
        // About 4 s: the pattern comes in pieces of ten lines, 200 ms apart.
        slow: request(
            ColorMode::Gray,
            50,
            (0, 0, 80, 100),
            &[
                PATTERN,
                ("read-delay", "yes"),
                ("read-delay-duration", "200000"),
            ],
        ),
        faults: vec![
            fault("jam", "SANE_STATUS_JAMMED", wia::WIA_ERROR_PAPER_JAM),
            fault(
                "cover open",
                "SANE_STATUS_COVER_OPEN",
                wia::WIA_ERROR_COVER_OPEN,
            ),
            fault(
                "I/O error",
                "SANE_STATUS_IO_ERROR",
                wia::WIA_ERROR_DEVICE_COMMUNICATION,
            ),
            fault("busy", "SANE_STATUS_DEVICE_BUSY", wia::WIA_ERROR_BUSY),
            fault(
                "no paper",
                "SANE_STATUS_NO_DOCS",
                wia::WIA_ERROR_PAPER_EMPTY,
            ),
            fault("no memory", "SANE_STATUS_NO_MEM", wia::E_OUTOFMEMORY),
            fault("invalid", "SANE_STATUS_INVAL", wia::E_INVALIDARG),
            fault(
                "unsupported",
                "SANE_STATUS_UNSUPPORTED",
                wia::WIA_ERROR_INVALID_COMMAND,
            ),
            fault(
                "access denied",
                "SANE_STATUS_ACCESS_DENIED",
                wia::WIA_ERROR_OFFLINE,
            ),
            fault(
                "early EOF",
                "SANE_STATUS_EOF",
                wia::WIA_ERROR_DEVICE_COMMUNICATION,
            ),
            fault(
                "cancelled at the device",
                "SANE_STATUS_CANCELLED",
                wia::S_FALSE,
            ),
            FaultCase {
                name: "feeder empty before the first page",
                request: feeder(
                    request(
                        ColorMode::Gray,
                        30,
                        (0, 0, 40, 40),
                        &[("read-return-value", "SANE_STATUS_NO_DOCS")],
                    ),
                    Some(3),
                ),
                result: wia::WIA_ERROR_PAPER_EMPTY,
                complete_pages: 0,
            },
            FaultCase {
                name: "feeder runs out after 10 of 12 pages",
                request: feeder(
                    request(ColorMode::Gray, 30, (0, 0, 40, 40), &[PATTERN]),
                    Some(12),
                ),
                result: wia::WIA_STATUS_END_OF_MEDIA,
                complete_pages: 10,
            },
        ],
    })
}

// Each generated test returns early (passing, with the note above) when SANE is missing.
conformance_suite!(match profile() {
    Some(p) => p,
    None => return,
});
