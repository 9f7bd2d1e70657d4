//! The whole driver conformance suite (scanwire-testkit) for this driver, scanning over HTTP
//! on 127.0.0.1 from `scanwire-server` in front of the virtual scanner.
//!
//! Faults are scripted in the virtual scanner behind the server (as `scanwire serve --set`
//! does, see `common::Remote`) and must arrive as their WIA code through nothing but eSCL:
//! NextDocument's status, ScannerStatus' ADF state, the job's state and reasons.

mod common;

use common::{with_options, Remote};
use scanwire_core::device::{ScanRequest, Source};
use scanwire_core::transfer;
use scanwire_core::wia;
use scanwire_testkit::{FaultCase, Profile};
use scanwire_virtual::VirtualDevice;
use std::sync::Arc;

fn request(source: Source, options: &[(&str, &str)], pages: Option<u32>) -> ScanRequest {
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

fn fault(
    name: &'static str,
    options: &[(&str, &str)],
    result: wia::HResult,
    kept: u32,
) -> FaultCase {
    FaultCase {
        name,
        request: request(Source::Feeder, options, None),
        result,
        complete_pages: kept,
    }
}

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
        faults: vec![
            // Each arrives as NextDocument 409 and ScannerStatus' AdfState.
            fault("jam", &[("jam-at-page", "2")], wia::WIA_ERROR_PAPER_JAM, 1),
            fault(
                "empty",
                &[("feeder-empty", "true")],
                wia::WIA_ERROR_PAPER_EMPTY,
                0,
            ),
            fault(
                "multi-feed",
                &[("multi-feed-at-page", "3")],
                wia::WIA_ERROR_MULTI_FEED,
                2,
            ),
            fault(
                "cover",
                &[("cover-open", "true")],
                wia::WIA_ERROR_COVER_OPEN,
                0,
            ),
            // NextDocument 500, the job Aborted with ResourcesAreNotReady.
            fault("offline", &[("offline", "true")], wia::WIA_ERROR_OFFLINE, 0),
            // The driver behind the server panics: to this driver the scanner aborted the job
            // (500, AbortedBySystem); the exception was not in this driver.
            fault(
                "remote driver panic",
                &[("panic-at-page", "2")],
                wia::WIA_ERROR_DEVICE_COMMUNICATION,
                1,
            ),
            // NextDocument 404 after two pages.
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
        ],
    }
}

scanwire_testkit::conformance_suite!(profile());
