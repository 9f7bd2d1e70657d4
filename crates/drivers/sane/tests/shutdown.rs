//! `shutdown` runs `sane_exit` once, only when no device is open, and SANE stays off after.
//! (Its own test binary: `sane_exit` ends SANE for the whole process.)

mod common;

use scanwire_core::device::Driver;
use scanwire_sane::SaneError;

#[test]
fn shutdown_waits_for_open_devices_and_is_final() {
    let Some(env) = common::env() else { return };
    let device = env.driver.open("sane:test:0").unwrap();
    assert!(matches!(
        scanwire_sane::shutdown(),
        Err(SaneError::StillOpen(1))
    ));
    drop(device);
    assert!(scanwire_sane::shutdown().unwrap(), "sane_exit ran");
    assert!(!scanwire_sane::shutdown().unwrap(), "and only once");
    let e = env.driver.devices().unwrap_err();
    assert!(e.to_string().contains("shut down"), "{e}");
    assert!(env.driver.open("sane:test:0").is_err());
}
