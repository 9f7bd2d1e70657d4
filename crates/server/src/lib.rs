//! Serves any Scanwire [`Device`](scanwire_core::device::Device) as an eSCL (AirScan, Mopria)
//! scanner, so sane-airscan, macOS, Windows, Android and NAPS2 can scan from it over the
//! network without drivers.
//!
//! - [`ServerState`]: the devices (their capabilities read once) and the [`ServerConfig`].
//! - [`ServedDevice`]: one device to serve, with an optional supervisor ([`DeviceHealth`]: a
//!   driver host saying the device is restarting after a crash) and its own watchdog.
//! - [`router`]: every eSCL route of every device, as an `axum::Router` (tests call it
//!   without a socket).
//! - [`Server`] / [`serve`] (async) and [`BlockingServer`] / [`serve_blocking`] (sync):
//!   listen on `config.listen` (127.0.0.1 unless told otherwise; `[::1]:PORT` for IPv6),
//!   over HTTPS with [`TlsConfig`], at most [`Limits::max_connections`] at once, and
//!   announced over mDNS with [`MdnsConfig`] ([`announcements`] says what is announced).
//!
//! - the web page at `/` and its JSON API under `/api` ([`ServerConfig::web`], on by
//!   default): devices, preview, scans with live events (SSE), documents; a web scan holds
//!   its device exactly as an eSCL job does, so each sees the other busy.
//! - [`wsd_router`]: the same devices as WS-Scan (WSD) services at [`WSD_PATH`], merged into
//!   [`router`] when [`ServerConfig::wsd`] is set; its jobs are the same jobs (one device
//!   entry, one busy state, one page pipeline) as eSCL's.
//!
//! A scan is a *job*: POST `ScanJobs` validates the client's `ScanSettings` against the
//! device and creates it (201 + `Location`); the first `NextDocument` starts a core
//! transfer in decoupled mode ([`scanwire_core::transfer::spawn`]); each page the driver
//! opens gets an encoder thread whose output is the response body, sent chunked while the
//! page is being scanned. DELETE cancels through the transfer's `CancelHandle`, so the driver
//! sees S_FALSE.
//!
//! What real clients need, and where it is handled:
//! - literal `scan:`/`pwg:` prefixes, discrete resolutions only, simplex feeder caps always
//!   ([`capabilities`], via `scanwire-escl`);
//! - every ScanSettings element may be missing, and the XML may come form-encoded
//!   ([`job_request`]);
//! - `NextDocument` holds the request until the page starts (sane-backends' escl cannot
//!   retry a 503), then streams; a page that fails before its first byte gets the job's
//!   status (404, 409, 410, 500, 503) instead of a cut-off 200; error bodies are empty
//!   (escl writes any body into its image file);
//! - after the last page the device reads Idle and the feeder Empty (sane-airscan ends a
//!   batch on that), but only once the client has every page (escl stops fetching when the
//!   feeder reads empty);
//! - header names go out in Title-Case (escl looks for `Location:`);
//! - a POST arriving while the previous flatbed job's transfer is still winding down (its
//!   page delivered, its 404 sent) waits for it (up to 2 s) instead of answering 503.
//!
//! ```no_run
//! use scanwire_server::{serve_blocking, ServerConfig};
//! # fn open() -> scanwire_core::transfer::SharedDevice { unimplemented!() }
//! let device = open(); // e.g. scanwire_core::transfer::share(Box::new(driver_device))
//! let config = ServerConfig { listen: "127.0.0.1:8090".parse().unwrap(), ..Default::default() };
//! serve_blocking(config, vec![("virtual".into(), device)]).unwrap();
//! ```

#![warn(missing_docs)]

mod body;
mod config;
mod device;
mod error;
mod job;
mod mapping;
mod mdns;
mod processing;
mod queue;
mod requests;
mod response;
mod routes;
mod serve;
mod served;
mod state;
mod tls;
mod web;
mod wsd;

pub use config::{
    BasicAuth, JobStages, Limits, MdnsConfig, ServerConfig, Timing, WebConfig, DEFAULT_PORT,
};
pub use error::ServerError;
pub use mapping::{
    blank_detection, capabilities, job_request, processing, Conflict, Geometry, JobRequest,
    BLANK_SENSITIVITY, FORMATS, LEVEL,
};
pub use mdns::{announcements, Announcement};
pub use queue::{JobQueue, QueueProgress, QueuedJob};
pub use routes::router;
/// The page stages [`JobStages`] makes, as the page pipeline defines them.
pub use scanwire_pipeline::{PageImage, Stage, StageError, Stages};
pub use serve::{serve, serve_blocking, BlockingServer, Server};
pub use served::{DeviceHealth, Health, ServedDevice};
pub use state::{Endpoint, ServerState};
pub use tls::{TlsConfig, TlsError};
pub use wsd::{wsd_router, WSD_PATH};
