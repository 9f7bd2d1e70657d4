//! The shared driver conformance suite (scanwire-testkit) against the virtual scanner.

use scanwire_core::device::{ScanRequest, Source};
use scanwire_core::transfer;
use scanwire_core::wia;
use scanwire_testkit::{FaultCase, Profile};
use scanwire_virtual::VirtualDevice;

fn request(source: Source, options: &[(&str, &str)], pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source,
        resolution: 75,
        pages,
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
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
        name: "virtual",
        open: Box::new(|| transfer::share(Box::new(VirtualDevice::new()))),
        flatbed: request(Source::Flatbed, &[], None),
        feeder: Some(request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: two seconds for the first page.
        slow: request(Source::Flatbed, &[("ppm", "30")], None),
        faults: vec![
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
            fault("offline", &[("offline", "true")], wia::WIA_ERROR_OFFLINE, 0),
            fault(
                "panic",
                &[("panic-at-page", "2")],
                wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
                1,
            ),
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
