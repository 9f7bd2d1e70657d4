//! The shared driver conformance suite (scanwire-testkit) against the virtual scanner.

use scanwire_core::device::{ScanRequest, Source};
use scanwire_core::transfer;
use scanwire_core::wia;
use scanwire_testkit::{virtual_scanner_faults, Profile};
use scanwire_virtual::VirtualDevice;

fn request(source: Source, options: &[(&str, &str)], pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source,
        resolution: 75,
        pages,
        options: scanwire_testkit::set(&scanwire_virtual::options::device_options(), options),
        ..Default::default()
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
        faults: virtual_scanner_faults(&request, wia::WIA_ERROR_EXCEPTION_IN_DRIVER),
    }
}

scanwire_testkit::conformance_suite!(profile());
