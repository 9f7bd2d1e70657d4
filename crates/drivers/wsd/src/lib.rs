//! WSD driver: scans from WS-Scan network scanners (Microsoft's Web Services on Devices), the
//! MFPs that do not speak eSCL.
//!
//! - [`WsdDriver`] opens a scan service by URL (`http://HOST:PORT/PATH` or the device id
//!   `wsd:http://HOST:PORT/PATH`); [`WsdDevice`] is the
//!   [`Device`](scanwire_core::device::Device). Opening reads `GetScannerElements`.
//! - `options` maps ScannerElements to Scanwire
//!   [`Capabilities`](scanwire_core::device::Capabilities) and a request to a `ScanTicket`
//!   (the one mapping file; lengths in thousandths of an inch).
//! - `protocol` is the job state machine without I/O (CreateScanJob, RetrieveImage per image
//!   until `ClientErrorNoImagesAvailable`, CancelJob on cancel or failure, ScannerStatus and
//!   GetJobElements to learn why a job stopped); `http` is the one loop doing HTTP with
//!   `ureq`.
//! - `errors` maps faults, conditions and job states to WIA codes.
//! - `discovery` finds scanners with WS-Discovery and resolves their scan service with a
//!   WS-Transfer Get; nothing calls it unless asked ([`discover`]).
//!
//! Images are handed on untouched when the request asks for an encoding (JPEG from a
//! `jfif`/`exif` scanner stays the scanner's JPEG), else decoded to rows with
//! `scanwire_codecs::decode`, the decoder every driver and encoder shares.
//!
//! ```no_run
//! use scanwire_core::device::{Driver, ScanRequest};
//! use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
//! use scanwire_wsd_client::WsdDriver;
//!
//! let device = transfer::share(WsdDriver::new().open("wsd:http://192.0.2.5:5358/WSDScanner")?);
//! let (app, log) = Recorder::new();
//! let outcome = transfer::run(&device, &ScanRequest::default(), Box::new(app), &CancelHandle::new(), &TransferOptions::strict());
//! # Ok::<(), scanwire_core::device::DeviceError>(())
//! ```

#![warn(missing_docs)]

pub mod discovery;
mod driver;
pub mod errors;
mod http;
pub mod options;
pub mod protocol;

pub use discovery::{discover, Found};
pub use driver::{url_of, WsdDevice, WsdDriver};
