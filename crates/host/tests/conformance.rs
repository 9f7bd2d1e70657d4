//! The shared driver conformance suite against the virtual scanner behind a driver host: the
//! relay and its strict verifier in this process, the driver in another.

mod common;

#[test]
fn host_child() {
    common::child_main();
}

scanwire_testkit::conformance_suite!(common::profile(
    "virtual behind a driver host",
    common::open
));
