//! eSCL driver: scans from network scanners (AirScan, Mopria) over HTTP and HTTPS.
//!
//! - [`EsclDriver`] opens a scanner by URL (`http://HOST:PORT/eSCL`, `https://HOST:PORT/eSCL`,
//!   or the device ids `escl:http://…` and `escl:https://…`); [`EsclDevice`] is the
//!   [`Device`](scanwire_core::device::Device).
//! - HTTPS accepts any certificate, as sane-airscan, macOS and Windows do, because scanners
//!   present self-signed ones; the handshake must still be signed with the certificate's key.
//!   This keeps the scan from a passive eavesdropper on the network, not from an active
//!   attacker who can answer in the scanner's place (nothing pins the certificate). A
//!   redirect from http to https is followed; one from https to http is refused.
//! - `options` maps eSCL capabilities to Scanwire [`Capabilities`](scanwire_core::device::Capabilities)
//!   and a request to `ScanSettings` (the one mapping file).
//! - `protocol` is the job state machine without I/O: request builders and response decoders
//!   returning the next step and its delay (503 retries, NextDocument until 404, DELETE on
//!   cancel); `http` is the one loop doing HTTP(S), with `ureq`, rustls and timeouts.
//! - [`discovery`] finds scanners on the network (mDNS `_uscan._tcp` and `_uscans._tcp`) and
//!   turns their TXT keys into device ids.
//! - `errors` maps scanner states, job reasons and HTTP failures to WIA codes; `quirks`
//!   holds device workarounds as data.
//!
//! ```no_run
//! use scanwire_core::device::{Driver, ScanRequest};
//! use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
//! use scanwire_escl_client::EsclDriver;
//!
//! let device = transfer::share(EsclDriver::new().open("http://127.0.0.1:8090/eSCL")?);
//! let (app, log) = Recorder::new();
//! let outcome = transfer::run(&device, &ScanRequest::default(), Box::new(app), &CancelHandle::new(), &TransferOptions::strict());
//! # Ok::<(), scanwire_core::device::DeviceError>(())
//! ```

#![warn(missing_docs)]

mod decode;
pub mod discovery;
mod driver;
pub mod errors;
mod http;
pub mod options;
pub mod protocol;
pub mod quirks;

pub use discovery::discover;
pub use driver::{url_of, EsclDevice, EsclDriver};
pub use quirks::Quirks;
