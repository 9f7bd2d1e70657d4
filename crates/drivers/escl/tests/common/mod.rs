//! Test setup shared by the loopback tests: a Scanwire eSCL server (`scanwire-server`) on
//! 127.0.0.1 in front of a local device, and [`Remote`], a device that plays the operator of
//! that server.
//!
//! The conformance suite scripts faults through `ScanRequest::options`, but an eSCL scanner
//! takes no device-specific options over the wire. [`Remote`] therefore does what a person
//! does with `scanwire serve --set jam-at-page=2`: it starts a server whose every job carries
//! those options, then scans from it with the eSCL driver and a request without options.
//! Everything the application sees went through HTTP: the fault happens in the device
//! behind the server and reaches the driver only as eSCL statuses, job states and reasons.

#![allow(dead_code)] // each test binary uses a different part

use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceInfo, Encoding, OptionValue,
    ScanRequest, Source,
};
use scanwire_core::transfer::{
    self, CancelHandle, CancelToken, MiniDrvTransferCallback, Outcome, Recorder, Recording,
    SharedDevice, TransferOptions,
};
use scanwire_core::wia;
use scanwire_escl_client::EsclDevice;
use scanwire_server::{BlockingServer, ServerConfig, TlsConfig};
use scanwire_virtual::VirtualDevice;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Scans `request` through this driver from the eSCL scanner at `url` (http or https), with
/// the strict verifier; the application must have seen a grammatical transfer.
pub fn scan_url(url: &str, request: &ScanRequest, cancel: &CancelHandle) -> (Outcome, Recording) {
    let device = transfer::share(Box::new(EsclDevice::open(url).unwrap()) as Box<dyn Device>);
    let (app, log) = Recorder::new();
    let opts = TransferOptions::strict().watchdog(Some(Duration::from_secs(60)));
    let outcome = transfer::run(&device, request, Box::new(app), cancel, &opts);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    (outcome, rec)
}

/// The real device documents (`$SCANWIRE_FIXTURES/escl`, never copied), or `None` after a
/// `skipped:` line when they are absent (a failure under SCANWIRE_REQUIRE_PEERS=1).
pub fn fixtures() -> Option<PathBuf> {
    scanwire_testkit::fixtures_dir("escl")
}

/// A server on 127.0.0.1 (any free port) serving `device`, adding `options` to every job.
pub fn serve(device: SharedDevice, options: &BTreeMap<String, String>) -> BlockingServer {
    serve_with(device, options, false)
}

/// [`serve`], over HTTPS with a new self-signed certificate when `tls`.
pub fn serve_with(
    device: SharedDevice,
    options: &BTreeMap<String, String>,
    tls: bool,
) -> BlockingServer {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        request_options: options.clone(),
        tls: tls.then(self_signed),
        ..Default::default()
    };
    BlockingServer::start(config, vec![("device".into(), device)])
        .unwrap_or_else(|e| panic!("starting the eSCL server: {e}"))
}

/// The virtual scanner served on 127.0.0.1 (over HTTPS when `tls`), every job with `options`.
pub fn serve_virtual(tls: bool, options: &[(&str, &str)]) -> BlockingServer {
    let options = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    serve_with(
        transfer::share(Box::new(VirtualDevice::new())),
        &options,
        tls,
    )
}

/// A request of the conformance profiles: 75 dpi, with the device `options`.
pub fn suite_request(source: Source, options: &[(&str, &str)], pages: Option<u32>) -> ScanRequest {
    with_options(
        ScanRequest {
            source,
            resolution: 75,
            pages,
            ..Default::default()
        },
        options,
    )
}

/// Cancels a scan of `flatbed` from `url` 0.7 s into its first page (the scanner behind the
/// server runs at 30 pages a minute, so the page takes two seconds): S_FALSE, no page, and
/// the driver back within a second. Then the next job runs at once: the server got the
/// DELETE (it would refuse a job as busy while the cancelled one ran).
pub fn cancel_mid_page_then_scan_again(url: &str, flatbed: &ScanRequest) {
    let cancel = CancelHandle::new();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        c.cancel();
        Instant::now()
    });
    let r = ScanRequest {
        encoding: Some(Encoding::Jpeg),
        ..flatbed.clone()
    };
    let (o, rec) = scan_url(url, &r, &cancel);
    let ended = Instant::now();
    let cancelled_at = t.join().unwrap();
    assert_eq!(o.result, wia::S_FALSE, "{:?}", o.error);
    assert!(rec.complete_pages().is_empty());
    assert!(
        ended.duration_since(cancelled_at) < Duration::from_secs(1),
        "took {:?}",
        ended.duration_since(cancelled_at)
    );
    let t = Instant::now();
    let (o, _) = scan_url(url, flatbed, &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// A self-signed certificate for 127.0.0.1, as `scanwire serve --tls-self-signed` makes.
pub fn self_signed() -> TlsConfig {
    TlsConfig::self_signed(&["127.0.0.1".into()]).expect("a self-signed certificate")
}

/// Opens the device behind the server, afresh for every server.
pub type Backend = Arc<dyn Fn() -> SharedDevice + Send + Sync>;

/// The eSCL driver scanning from a server in front of a backend device; see the module
/// documentation.
pub struct Remote {
    backend: Backend,
    /// The running server (dropped first), the options it applies, the driver's device.
    current: Option<(EsclDevice, BTreeMap<String, String>, BlockingServer)>,
    /// The device behind the current server, to see it released.
    served: Option<SharedDevice>,
    /// Kept alive as long as the device (e.g. a lock on a SANE device).
    _guard: Option<Box<dyn Send>>,
    /// Whether the servers speak HTTPS.
    tls: bool,
}

impl Remote {
    /// A device whose servers serve what `backend` opens.
    pub fn new(backend: Backend) -> Self {
        Remote {
            backend,
            current: None,
            served: None,
            _guard: None,
            tls: false,
        }
    }

    /// Serves over HTTPS (a self-signed certificate, as most scanners have).
    pub fn over_https(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Keeps `guard` until this device drops (after its server stopped).
    pub fn with_guard(mut self, guard: Box<dyn Send>) -> Self {
        self._guard = Some(guard);
        self
    }

    /// The eSCL device for a server applying `options`, starting one if needed.
    fn device(
        &mut self,
        options: &BTreeMap<String, String>,
    ) -> Result<&mut EsclDevice, DeviceError> {
        if self.current.as_ref().is_none_or(|c| &c.1 != options) {
            // Stop the old server (and release its device) before the next one opens it.
            self.stop();
            let device = (self.backend)();
            self.served = Some(device.clone());
            let server = serve_with(device, options, self.tls);
            let device = EsclDevice::open(&server.url())?;
            self.current = Some((device, options.clone(), server));
        }
        Ok(&mut self.current.as_mut().expect("set above").0)
    }

    /// The server's URL, once one runs.
    pub fn url(&self) -> Option<String> {
        self.current.as_ref().map(|c| c.2.url())
    }
}

impl Remote {
    /// Stops the server and waits until the device behind it is released and closed: a
    /// transfer thread of the stopped server may hold it a moment longer, and a device such
    /// as the SANE test backend must be closed before it is opened again (its global state
    /// is not safe against a close and an open at the same time).
    fn stop(&mut self) {
        self.current = None;
        if let Some(device) = self.served.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Arc::strong_count(&device) > 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(
                Arc::strong_count(&device),
                1,
                "the stopped server still holds its device after 30 s"
            );
            // The last reference: the device closes here, on this thread.
            drop(device);
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // The driver's device and the server, then the device behind it, then the guard.
        self.stop();
    }
}

impl Device for Remote {
    fn info(&self) -> DeviceInfo {
        match &self.current {
            Some(c) => c.0.info(),
            None => DeviceInfo {
                id: "escl:(not started)".into(),
                vendor: String::new(),
                model: "eSCL loopback".into(),
                driver: "escl",
            },
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        let options = self
            .current
            .as_ref()
            .map(|c| c.1.clone())
            .unwrap_or_default();
        self.device(&options)?.capabilities()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        // The server parses them again against the device it serves.
        let options = request
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let wire = ScanRequest {
            options: BTreeMap::new(),
            ..request.clone()
        };
        self.device(&options)?.acquire(&wire, cb, cancel)
    }
}

/// A request with these device options for a [`Remote`], which hands them to its server as
/// the text they are: the server parses them against the device it serves (the virtual
/// scanner or SANE's test backend), as `scanwire serve --set` does.
pub fn with_options(mut r: ScanRequest, options: &[(&str, &str)]) -> ScanRequest {
    r.options = options
        .iter()
        .map(|(k, v)| (k.to_string(), OptionValue::Text(v.to_string())))
        .collect();
    r
}
