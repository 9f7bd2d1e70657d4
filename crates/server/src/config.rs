//! How a server is set up: where it listens, which device is the default, its limits and
//! timeouts.

use crate::tls::TlsConfig;
use scanwire_codecs::{DeflateEffort, EncodeOptions, Format};
use scanwire_core::transfer::{CancelHandle, TransferOptions};
use scanwire_pipeline::Stages;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The port AirSane and most eSCL test setups use.
pub const DEFAULT_PORT: u16 = 8090;

/// Everything a server needs besides its devices.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen. Default `127.0.0.1:8090`; `[::1]:PORT` listens on IPv6.
    pub listen: SocketAddr,
    /// The id of the device also served at `/eSCL` (the path clients try first); `None`: the
    /// first device.
    pub default_device: Option<String>,
    /// HTTP basic authentication every request must carry; `None`: open.
    pub auth: Option<BasicAuth>,
    /// Serve HTTPS with this certificate instead of HTTP; `None`: plain HTTP. The port then
    /// speaks TLS only (a plain HTTP request gets a short 400 in clear text saying so).
    pub tls: Option<TlsConfig>,
    /// Announce every device over mDNS (DNS-SD `_uscan._tcp`, `_uscans._tcp` with TLS);
    /// `None`: no announcement (the default).
    pub mdns: Option<MdnsConfig>,
    /// Also serve every device as a WS-Scan (WSD) scanner, at `/WSDScanner` (the default
    /// device) and `/WSDScanner/<segment>`, on the same address. Off by default.
    pub wsd: bool,
    /// With [`wsd`](ServerConfig::wsd): announce every device over WS-Discovery (Hello at
    /// start, Bye at stop, answers to Probe and Resolve) on the listening address's
    /// network, as Windows and sane-airscan look for scanners. Off by default.
    pub wsd_discovery: bool,
    /// Resource limits.
    pub limits: Limits,
    /// Timing.
    pub timing: Timing,
    /// Device options added to every scan request (`--set`-style, e.g. the virtual scanner's
    /// pacing), parsed against each device's options when the server starts (a name or value
    /// a device does not take stops the start with [`ServerError::Options`]).
    ///
    /// [`ServerError::Options`]: crate::ServerError::Options
    pub request_options: BTreeMap<String, String>,
    /// Encoder settings (JPEG quality, PNG effort) for the pages the server encodes.
    pub encode: EncodeOptions,
    /// How transfers run (watchdog, verification).
    pub transfer: TransferOptions,
    /// More stages for every job, after the processing the client asked for (`serve --ocr`:
    /// OCR, so the PDFs served are searchable). `None`: none.
    pub job_stages: Option<Arc<dyn JobStages>>,
    /// The web page at `/` and its API under `/api` (issue 15); `None`: neither
    /// (`serve --no-web`). On by default.
    pub web: Option<WebConfig>,
    /// Process and assemble jobs' documents on workers elsewhere (`serve --queue`): a job
    /// whose format the queue takes publishes its raw pages instead of running its stages
    /// and [`job_stages`](ServerConfig::job_stages) here, and serves the document the
    /// workers assemble. `None`: every job runs here.
    pub queue: Option<Arc<dyn crate::queue::JobQueue>>,
}

/// The web page's settings ([`ServerConfig::web`]); `None` there serves no page
/// (`serve --no-web`).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Finished scans kept for their event streams (late subscribers), per server.
    pub scans_kept: usize,
    /// The document library (`serve --state-dir`); `None`: one in a temporary directory,
    /// removed when the server stops.
    pub library: Option<scanwire_library::Library>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            scans_kept: 32,
            library: None,
        }
    }
}

/// Makes the extra stages of one job ([`ServerConfig::job_stages`]): the server knows
/// nothing of what they do (OCR lives in the CLI's crates), only when to run them.
pub trait JobStages: Send + Sync + std::fmt::Debug {
    /// The stages for a job serving `format`; `cancel` is the job's, so a stage that waits
    /// (for an OCR engine) can stop when the job is cancelled. Empty: none for this job.
    fn stages(&self, format: Format, cancel: &CancelHandle) -> Stages;

    /// The OCR languages its stages recognise (the web page shows them); empty when it
    /// does no OCR or does not say.
    fn languages(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            default_device: None,
            auth: None,
            tls: None,
            mdns: None,
            wsd: false,
            wsd_discovery: false,
            limits: Limits::default(),
            timing: Timing::default(),
            request_options: BTreeMap::new(),
            encode: EncodeOptions {
                // Every core for JPEG strips. PNG pages on one thread each: a feeder job
                // already encodes page k while page k+1 is scanned, and on a loaded machine
                // (a client on the same host) strips only add hand-offs. 10-page A4 300 dpi
                // jobs from the virtual scanner fetched by `scanwire scan` on the same 2
                // cores (two servers, one built with each setting, fetched in one hyperfine
                // run): color 205 -> 179 ms, gray 88 -> 81 ms with one thread per page
                // instead of strips on both cores.
                threads: 0,
                png_threads: 1,
                // Clients decode pages as they arrive, on loopback or a LAN: the cheapest
                // Deflate (with Up or Sub row filters, which any decoder undoes cheaply)
                // makes the network path cost least.
                deflate: DeflateEffort::Wire,
                ..EncodeOptions::default()
            },
            transfer: TransferOptions::default(),
            job_stages: None,
            web: Some(WebConfig::default()),
            queue: None,
        }
    }
}

/// User name and password for HTTP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password (configs end up in logs).
        f.debug_struct("BasicAuth")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What one client may make the server do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body (the ScanSettings XML), in bytes. Real ones are < 2 KiB.
    pub max_body: usize,
    /// Largest page a job may ask for, in raw bytes (width x height x bytes per pixel). A
    /// request above it gets 409 before anything is allocated or scanned.
    pub max_page_bytes: u64,
    /// Encoded bytes buffered per page between the encoder and the HTTP response; a client
    /// that reads slower than that makes the encoder (and then the driver) wait.
    pub page_buffer: usize,
    /// Finished jobs kept for ScannerStatus, per device.
    pub max_history: usize,
    /// Connections served at once (including TLS handshakes and idle keep-alive ones).
    /// One more is answered `503 Service Unavailable` with `Retry-After` and closed (over
    /// TLS: closed at once, as no handshake is spent on it). Jobs are limited separately:
    /// one per device at a time, the next POST gets 503.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 64 * 1024,
            // A4 at 1200 dpi in 48-bit color is 0.86 GB: allowed; anything larger is a typo
            // or an attack.
            max_page_bytes: 1 << 30,
            page_buffer: 1 << 20,
            max_history: 20,
            // Real clients use one or two at a time (sane-airscan: one per request, with
            // `Connection: close`); this leaves room for several clients polling status.
            max_connections: 64,
        }
    }
}

/// Timeouts and pacing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// A job nobody fetches for this long (no request in progress, no bytes read) is
    /// cancelled and frees the device. Default 60 s.
    pub job_timeout: Duration,
    /// How long `NextDocument` holds the request waiting for the page to start before it
    /// answers 503 with `Retry-After`. Default 15 s: longer than most warm-ups, shorter than
    /// NAPS2's 120 s header timeout, and sane-backends' `escl` cannot retry a 503.
    pub hold: Duration,
    /// The `Retry-After` value sent with 503, in seconds.
    pub retry_after: u32,
    /// How long finished jobs stay listed in ScannerStatus. Default 5 minutes.
    pub history: Duration,
    /// How long a paper problem seen on the feeder (jam, multi-feed, cover open) is reported
    /// once the job that saw it has handed out its last page, unless a new job clears it:
    /// the server cannot sense the user fixing it, and clients (NAPS2, sane-backends' escl)
    /// refuse to start while the feeder reports a problem. Default 10 s.
    pub feeder_fault: Duration,
    /// The same for an empty feeder (after a batch, or at the start of one). Short: clients
    /// read status right after the last page (sane-airscan within milliseconds), and a user
    /// who reloads paper must not be refused. Default 3 s.
    pub feeder_empty: Duration,
    /// How long a page that ended incomplete waits for the transfer's outcome before its
    /// response is cut off, so that a client checking ScannerStatus next sees the fault
    /// (sane-airscan does exactly that).
    pub fault_settle: Duration,
    /// A client must finish its TLS handshake and send each request's headers within this
    /// time, or its connection is closed (slow-loris guard); it also bounds how long an
    /// idle keep-alive connection holds one of [`Limits::max_connections`]. Default 30 s.
    pub header_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            job_timeout: Duration::from_secs(60),
            hold: Duration::from_secs(15),
            retry_after: 2,
            history: Duration::from_secs(300),
            feeder_fault: Duration::from_secs(10),
            feeder_empty: Duration::from_secs(3),
            fault_settle: Duration::from_secs(2),
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// How a server announces itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MdnsConfig {
    /// The service name clients show; default: the device's make and model. Other devices
    /// than the default one get their path segment appended in parentheses.
    pub name: Option<String>,
    /// The host name in the SRV and address records, without `.local`; default
    /// `scanwire-<system host name>` (distinct from the host's own name, which Avahi may
    /// already publish).
    pub host: Option<String>,
}
