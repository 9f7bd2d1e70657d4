//! Scanwire over WIA 2.0's COM interfaces.
//!
//! On Windows (`#[cfg(windows)]`), `com` has the COM objects and `driver` the `wia:` driver:
//! - `com::relay_callback`: a COM `IWiaMiniDrvTransferCallback` over a Scanwire transfer, so
//!   COM code drives Scanwire as a WIA driver drives the WIA service (raw HRESULTs: S_FALSE
//!   after a cancel, WIA_STATUS_SKIP_ITEM, E_POINTER for a null params pointer);
//! - `com::ForeignCallback`: the other direction, a foreign `IWiaMiniDrvTransferCallback` as
//!   Scanwire's driver-facing callback, so a Scanwire driver runs inside a WIA mini-driver;
//! - `com::app_callback`: a COM `IWiaTransferCallback` (+ `IWiaAppErrorHandler`) over
//!   Scanwire's application sinks, for `IWiaTransfer::Download`;
//! - `driver::WiaDriver`: WIA 2.0 scanners as Scanwire devices (`wia:` ids);
//! - `com::ImageFilter` / `com::SegmentationFilter` (and their class objects): WIA 2.0's
//!   image processing filter and segmentation filter over `scanwire-imaging`, for any WIA
//!   2.0 driver to register.
//!
//! Everything those objects decide lives in platform-free modules, tested on every platform:
//! [`app`] (the application-side state machine), [`bridge`] (a download inside a driver's
//! `acquire`), [`pages`] (page numbering, seek origins, when a released page is complete),
//! [`options`] (WIA properties ↔ capabilities and requests), [`errors`] (WIA and COM codes
//! as [`DeviceError`](scanwire_core::device::DeviceError)s), [`processing`] (the `WIA_IPS_*`
//! processing properties ↔ the imaging stages, a page processed whole, photos as child-item
//! geometry), [`filter`] (the image filter's transfer state machine) and [`bmp`] (WIA's BMP
//! pages).
//!
//! `unsafe` is denied outside `com` (COM needs it there; every block has a `// SAFETY:` line).
#![warn(missing_docs)]

pub mod app;
pub mod bmp;
pub mod bridge;
pub mod errors;
pub mod filter;
pub mod options;
pub mod pages;
pub mod processing;

#[cfg(windows)]
#[allow(unsafe_code)]
pub mod com;
#[cfg(windows)]
pub mod driver;
