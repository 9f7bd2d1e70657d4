//! The test binary as its own driver host: with `SCANWIRE_HOST_TEST_CHILD` set, the test
//! named `host_child` (every test file has one that calls [`child_main`]) runs
//! [`run_host`](scanwire_host::run_host) with the virtual scanner and exits; without it, the
//! same test does nothing. [`command`] is the `HostCommand` that re-executes this binary so.

#![allow(dead_code)]

use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceErrorKind, DeviceInfo, ScanRequest,
};
use scanwire_core::transfer::{CancelToken, MiniDrvTransferCallback};
use scanwire_host::{HostCommand, HostOptions, HostedDevice, EXIT_AFTER_PANIC};
use std::process::ExitCode;
use std::time::Duration;

/// Set in the host process's environment.
pub const CHILD_ENV: &str = "SCANWIRE_HOST_TEST_CHILD";

/// The body of each test file's `host_child` test.
pub fn child_main() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let code = scanwire_host::run_host(|id| match id {
        "virtual" => Ok(Box::new(scanwire_virtual::VirtualDevice::new())),
        "crumb" => Ok(Box::new(
            CrumbDevice(scanwire_virtual::VirtualDevice::new()),
        )),
        "chatty" => Ok(Box::new(Chatty::new(false))),
        "liar" => Ok(Box::new(Chatty::new(true))),
        // libsane reads the SANE_CONFIG_DIR the parent put in this process's environment.
        sane if sane.starts_with("sane:") => {
            use scanwire_core::device::Driver;
            scanwire_sane::SaneDriver::new().open(sane)
        }
        other => Err(DeviceError::new(
            DeviceErrorKind::Offline,
            format!("no device `{other}` in the test host (`virtual`, `crumb`, `sane:…`)"),
        )),
    });
    std::process::exit(if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(EXIT_AFTER_PANIC) {
        i32::from(EXIT_AFTER_PANIC)
    } else {
        1
    });
}

/// Re-executes this test binary as a driver host.
pub fn command() -> HostCommand {
    HostCommand::new(std::env::current_exe().expect("the test binary's path"))
        .arg("--exact")
        .arg("host_child")
        .arg("--nocapture")
        .arg("--test-threads=1")
        .env(CHILD_ENV, "1")
}

/// The virtual scanner behind a host, with `opts`.
pub fn open_with(opts: HostOptions) -> HostedDevice {
    HostedDevice::open(command(), "virtual", opts).expect("the virtual scanner opens in a host")
}

/// The virtual scanner behind a host, with quick supervision for tests.
pub fn open() -> HostedDevice {
    open_with(HostOptions {
        watchdog: Some(Duration::from_secs(60)),
        ..HostOptions::default()
    })
}

/// The virtual scanner, except that `acquire` leaves the breadcrumb `fake_sane_start` (as
/// the SANE driver does before `sane_start`) and then aborts, as a crashing C backend would.
struct CrumbDevice(scanwire_virtual::VirtualDevice);

impl Device for CrumbDevice {
    fn info(&self) -> DeviceInfo {
        self.0.info()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        self.0.capabilities()
    }

    fn acquire(
        &mut self,
        _request: &ScanRequest,
        _cb: &mut dyn MiniDrvTransferCallback,
        _cancel: &CancelToken,
    ) -> AcquireResult {
        scanwire_core::native::call("fake_sane_start");
        std::process::abort()
    }
}

/// Up to this many STATUS messages per transfer from [`Chatty`].
pub const CHATTY_CALLS: u64 = 400_000;

/// A driver that sends nothing but STATUS, as fast as it can: one byte written, then a STATUS
/// counting it, until it is told S_FALSE. It checks the one promise a cancel makes to the
/// driver: once its CancelToken has fired, its next call answers S_FALSE (the host answers no
/// STATUS itself then). Breaking it is its error `S_OK after the cancel`.
///
/// As `liar`, its third STATUS claims one byte more than it wrote, which the strict verifier
/// must refuse on that very call: it then fails with the answer it got (`answered …` if the
/// call was not refused).
pub struct Chatty {
    info: scanwire_virtual::VirtualDevice,
    lie: bool,
}

impl Chatty {
    /// A chatty driver; `lie` makes it the `liar`.
    pub fn new(lie: bool) -> Self {
        Chatty {
            info: scanwire_virtual::VirtualDevice::new(),
            lie,
        }
    }
}

impl Device for Chatty {
    fn info(&self) -> DeviceInfo {
        self.info.info()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        self.info.capabilities()
    }

    fn acquire(
        &mut self,
        _request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        use scanwire_core::device::{Completion, PageData, PageInfo, PixelFormat, Side, Source};
        use scanwire_core::transfer::{DriverCallbackExt, NextStream};
        use scanwire_core::wia;
        let page = PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Flatbed,
            data: PageData::Raster {
                pixel: PixelFormat::Gray8,
                width: 1,
                height: None,
            },
            dpi: (75, 75),
        };
        let fail = |what: String| DeviceError::new(DeviceErrorKind::Internal, what);
        let mut s = match cb.get_next_stream(0, &page) {
            NextStream::Stream(s) => s,
            NextStream::Cancelled => return Ok(Completion::Cancelled),
            other => return Err(fail(format!("no stream: {other:?}"))),
        };
        for i in 1..=CHATTY_CALLS {
            s.write(&[i as u8])
                .map_err(|hr| DeviceError::from_hresult(hr, "write"))?;
            let told = cancel.is_cancelled();
            let lie = u64::from(self.lie && i == 3);
            let hr = cb.send_message(
                0,
                Some(&wia::WiaTransferParams::status(
                    (i % 101) as i32,
                    s.bytes_written() + lie,
                )),
            );
            if lie == 1 {
                if hr == wia::WIA_ERROR_INVALID_DRIVER_RESPONSE {
                    return Err(DeviceError::from_hresult(hr, "refused on the lying call"));
                }
                // Not refused at once: call again, which a relay that objected later counts
                // as a call after its stop (S17), so the test sees the difference.
                let _ = cb.progress(50, s.bytes_written());
                return Err(fail(format!(
                    "answered {hr} to a STATUS with a wrong byte count"
                )));
            }
            if hr == wia::S_FALSE {
                // Released unfinished: the page ends incomplete.
                return Ok(Completion::Cancelled);
            }
            if told {
                return Err(fail(format!("S_OK after the cancel (call {i}: {hr})")));
            }
            if hr != wia::S_OK {
                return Err(DeviceError::from_hresult(hr, format!("call {i}")));
            }
        }
        let _ = cb.progress(100, s.bytes_written());
        s.finish();
        Ok(Completion::Done)
    }
}

/// A virtual-scanner request at 75 dpi, for the conformance profiles.
pub fn request(
    source: scanwire_core::device::Source,
    options: &[(&str, &str)],
    pages: Option<u32>,
) -> scanwire_core::device::ScanRequest {
    scanwire_core::device::ScanRequest {
        source,
        resolution: 75,
        pages,
        options: scanwire_testkit::set(&scanwire_virtual::options::device_options(), options),
        ..Default::default()
    }
}

/// The conformance profile of the virtual scanner behind a host that `open` starts.
pub fn profile(
    name: &'static str,
    open: impl Fn() -> HostedDevice + Send + Sync + 'static,
) -> scanwire_testkit::Profile {
    use scanwire_core::device::Source;
    scanwire_testkit::Profile {
        name,
        open: Box::new(move || scanwire_core::transfer::share(Box::new(open()))),
        flatbed: request(Source::Flatbed, &[], None),
        feeder: Some(request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: two seconds for the first page.
        slow: request(Source::Flatbed, &[("ppm", "30")], None),
        // A panic is contained in the host and reported as in process.
        faults: scanwire_testkit::virtual_scanner_faults(
            &request,
            scanwire_core::wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
        ),
    }
}
