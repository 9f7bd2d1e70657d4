//! The whole driver conformance suite (scanwire-testkit) for this driver, scanning over HTTP
//! on 127.0.0.1 from `scanwire-server` in front of the virtual scanner.
//!
//! Faults are scripted in the virtual scanner behind the server (as `scanwire serve --set`
//! does, see `common::Remote`) and must arrive as their WIA code through nothing but eSCL:
//! NextDocument's status, ScannerStatus' ADF state, the job's state and reasons.

mod common;

use common::{suite_request as request, Remote};
use scanwire_core::device::Source;
use scanwire_core::transfer;
use scanwire_core::wia;
use scanwire_testkit::{virtual_scanner_faults, Profile};
use scanwire_virtual::VirtualDevice;
use std::sync::Arc;

fn profile() -> Profile {
    Profile {
        name: "escl → scanwire-server → virtual",
        open: Box::new(|| {
            transfer::share(Box::new(Remote::new(Arc::new(|| {
                transfer::share(Box::new(VirtualDevice::new()))
            }))))
        }),
        flatbed: request(Source::Flatbed, &[], None),
        feeder: Some(request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: the server streams the first page over two seconds.
        slow: request(Source::Flatbed, &[("ppm", "30")], None),
        // Each arrives through eSCL alone: a jam, an empty or open feeder and a multi-feed as
        // NextDocument 409 and ScannerStatus' AdfState; offline as NextDocument 500 with the
        // job Aborted (ResourcesAreNotReady); the end of media as 404 after the pages. The
        // driver behind the server panicking is, to this driver, the scanner aborting the job
        // (500, AbortedBySystem): the exception was not in this driver.
        faults: virtual_scanner_faults(&request, wia::WIA_ERROR_DEVICE_COMMUNICATION),
    }
}

scanwire_testkit::conformance_suite!(profile());
