//! Without libsane: the driver says SANE is missing and how to install it, and never panics.
//! (Its own test binary: libsane is loaded and initialised at most once per process.)

use scanwire_core::device::{DeviceErrorKind, Driver};
use scanwire_sane::{SaneConfig, SaneDriver};

#[test]
fn a_missing_libsane_is_explained_and_shutdown_is_final() {
    let driver = SaneDriver::with_config(SaneConfig {
        config_dir: None,
        library: Some("/nonexistent/scanwire-test/libsane.so.1".into()),
        ..Default::default()
    });
    let e = driver.devices().unwrap_err();
    assert_eq!(e.kind(), DeviceErrorKind::Offline);
    let text = e.to_string();
    assert!(text.contains("SANE is not installed"), "{text}");
    assert!(
        text.contains("/nonexistent/scanwire-test/libsane.so.1"),
        "{text}"
    );
    assert!(text.contains("apt-get install libsane1"), "{text}");
    let e = driver
        .open("sane:test:0")
        .err()
        .expect("cannot open without SANE");
    assert!(e.to_string().contains("apt-get install libsane1"), "{e}");

    // sane_exit never ran (SANE was never initialised); afterwards SANE stays off.
    assert!(!scanwire_sane::shutdown().unwrap());
    let e = SaneDriver::new().devices().unwrap_err();
    assert!(e.to_string().contains("shut down"), "{e}");
}
