//! The conformance suite behind a driver host whose page bytes cross the socket (no shared
//! ring: `HostOptions::shared_ring = false`), the fallback where /dev/shm is missing.

mod common;

use scanwire_core::device::{ScanRequest, Source};
use scanwire_core::transfer;
use scanwire_core::wia;
use scanwire_testkit::{virtual_scanner_faults, Profile};

#[test]
fn host_child() {
    common::child_main();
}

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
        name: "virtual behind a driver host, pages through the socket",
        open: Box::new(|| {
            transfer::share(Box::new(common::open_with(scanwire_host::HostOptions {
                shared_ring: false,
                ..Default::default()
            })))
        }),
        flatbed: request(Source::Flatbed, &[], None),
        feeder: Some(request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: two seconds for the first page.
        slow: request(Source::Flatbed, &[("ppm", "30")], None),
        // A panic is contained in the host and reported as in process.
        faults: virtual_scanner_faults(&request, wia::WIA_ERROR_EXCEPTION_IN_DRIVER),
    }
}

scanwire_testkit::conformance_suite!(profile());
