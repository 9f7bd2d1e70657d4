//! The whole driver conformance suite (scanwire-testkit) for Scanwire's WSD driver scanning
//! from this server's WS-Scan service (`ServerConfig::wsd`) on 127.0.0.1, in front of the
//! virtual scanner.
//!
//! Faults are scripted in the virtual scanner behind the server with the options of each
//! request (as `scanwire serve --set` does: one server per option set) and must reach the
//! driver through nothing but WS-Scan: RetrieveImage's faults, ScannerStatus' conditions and
//! the job's state.

use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceInfo, ScanRequest, Source,
};
use scanwire_core::transfer::{self, CancelToken, MiniDrvTransferCallback, SharedDevice};
use scanwire_core::wia;
use scanwire_server::{BlockingServer, ServerConfig};
use scanwire_testkit::{virtual_scanner_faults, Profile};
use scanwire_virtual::VirtualDevice;
use scanwire_wsd_client::WsdDevice;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The WSD driver scanning from a server that applies the request's options.
struct Remote {
    /// The driver's device, the options its server applies, the server.
    current: Option<(WsdDevice, BTreeMap<String, String>, BlockingServer)>,
    /// The device behind the current server, to see it released.
    served: Option<SharedDevice>,
}

impl Remote {
    fn device(
        &mut self,
        options: &BTreeMap<String, String>,
    ) -> Result<&mut WsdDevice, DeviceError> {
        if self.current.as_ref().is_none_or(|c| &c.1 != options) {
            self.stop();
            let device = transfer::share(Box::new(VirtualDevice::new()));
            self.served = Some(device.clone());
            let config = ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                request_options: options.clone(),
                wsd: true,
                ..ServerConfig::default()
            };
            let server = BlockingServer::start(config, vec![("virtual".into(), device)])
                .unwrap_or_else(|e| panic!("starting the server: {e}"));
            let mut d = WsdDevice::open(&server.wsd_url())?;
            d.set_retry_delay(Duration::from_millis(50));
            self.current = Some((d, options.clone(), server));
        }
        Ok(&mut self.current.as_mut().expect("set above").0)
    }

    /// Stops the server and waits until the device behind it is released.
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
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Device for Remote {
    fn info(&self) -> DeviceInfo {
        match &self.current {
            Some(c) => c.0.info(),
            None => DeviceInfo {
                id: "wsd:(not started)".into(),
                vendor: String::new(),
                model: "WS-Scan loopback".into(),
                driver: "wsd",
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
        let wire = ScanRequest {
            options: BTreeMap::new(),
            ..request.clone()
        };
        // The server takes its options as text (`serve --set`), and parses them again.
        let text: BTreeMap<String, String> = request
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        self.device(&text)?.acquire(&wire, cb, cancel)
    }
}

fn request(source: Source, options: &[(&str, &str)], pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source,
        resolution: 75,
        pages,
        options: scanwire_testkit::set(&VirtualDevice::new().options(), options),
        ..ScanRequest::default()
    }
}

fn profile() -> Profile {
    let mut faults = virtual_scanner_faults(&request, wia::WIA_ERROR_DEVICE_COMMUNICATION);
    for f in &mut faults {
        // WS-Scan has no offline condition: a scanner that cannot scan aborts the job with a
        // fault, which reaches the client as a communication failure (as in the driver's
        // own conformance profile against its test responder).
        if f.name == "offline" {
            f.result = wia::WIA_ERROR_DEVICE_COMMUNICATION;
        }
    }
    Profile {
        name: "wsd → scanwire-server (WS-Scan) → virtual",
        open: Box::new(|| {
            transfer::share(Box::new(Remote {
                current: None,
                served: None,
            }))
        }),
        flatbed: request(Source::Flatbed, &[], None),
        feeder: Some(request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: the server streams the first page over two seconds.
        slow: request(Source::Flatbed, &[("ppm", "30")], None),
        faults,
    }
}

scanwire_testkit::conformance_suite!(profile());
