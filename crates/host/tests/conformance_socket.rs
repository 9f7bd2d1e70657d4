//! The conformance suite behind a driver host whose page bytes cross the socket (no shared
//! ring: `HostOptions::shared_ring = false`), the fallback where /dev/shm is missing.

mod common;

#[test]
fn host_child() {
    common::child_main();
}

scanwire_testkit::conformance_suite!(common::profile(
    "virtual behind a driver host, pages through the socket",
    || common::open_with(scanwire_host::HostOptions {
        shared_ring: false,
        ..Default::default()
    })
));
