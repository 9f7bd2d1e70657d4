//! SANE driver: every SANE backend through libsane, loaded at run time.
//!
//! Building needs no SANE headers or libraries: `libsane.so.1` is opened with `libloading`
//! the first time a [`SaneDriver`] is used (`sane_init` runs once per process). Without it,
//! [`Driver::devices`](scanwire_core::device::Driver::devices) fails with a message saying
//! SANE is missing and how to install it.
//!
//! - [`SaneDriver`] lists devices (`sane:<SANE name>`, e.g. `sane:test:0`) and opens them.
//! - [`SaneDevice`] runs each handle on its own thread (`worker`); acquisition streams bands
//!   from that thread to the caller's, one page per image, feeder pages until
//!   `SANE_STATUS_NO_DOCS`; a cancel calls `sane_cancel` at once, from the cancelling thread.
//! - `options` maps SANE options to [`Capabilities`](scanwire_core::device::Capabilities)
//!   and a [`ScanRequest`](scanwire_core::device::ScanRequest) back to options; options
//!   outside the model are listed by [`Device::options`](scanwire_core::device::Device::options)
//!   and set with `--set name=value`.
//! - `frames` turns SANE frames into rows (padding, 16-bit byte order, three-pass).
//! - `errors` maps every `SANE_Status` to a WIA outcome.
//! - `affinity` keeps a page's reading (our worker and the backend's reader) on one core.
//! - `ffi` is the only module with `unsafe` code.
//!
//! ```no_run
//! use scanwire_core::device::{ColorMode, Driver, ScanRequest};
//! use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
//! use scanwire_sane::{SaneConfig, SaneDriver};
//!
//! let driver = SaneDriver::with_config(SaneConfig {
//!     config_dir: Some("/tmp/sane.d".into()), // dll.conf lists only `test`
//!     ..Default::default()
//! });
//! let device = transfer::share(driver.open("sane:test:0")?);
//! let request = ScanRequest { mode: ColorMode::Gray, resolution: 75, ..Default::default() };
//! let (app, log) = Recorder::new();
//! let outcome = transfer::run(&device, &request, Box::new(app), &CancelHandle::new(), &TransferOptions::strict());
//! assert_eq!(outcome.pages, 1);
//! # Ok::<(), scanwire_core::device::DeviceError>(())
//! ```

#![warn(missing_docs)]

mod affinity;
mod driver;
mod errors;
#[allow(unsafe_code)]
mod ffi;
mod frames;
mod options;
mod worker;

pub use affinity::Placement;
pub use driver::{SaneConfig, SaneDevice, SaneDriver, ID_PREFIX};
pub use errors::SaneError;
pub use errors::Status;

/// Calls `sane_exit`, once, if SANE was initialised and no device is open. SANE cannot be
/// used again in this process afterwards (`sane_init` runs once per process). Returns
/// whether `sane_exit` ran. Processes that simply exit need not call it.
pub fn shutdown() -> Result<bool, SaneError> {
    ffi::shutdown()
}
