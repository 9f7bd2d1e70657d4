//! The one place that does HTTP and HTTPS: each request runs on a short-lived thread with
//! `ureq` and its timeouts, and reports its status line and body chunks over a channel, so the
//! driver waits on one channel for the answer *or* a cancel (the cancel token's hook posts into
//! the same channel) and can walk away from a request that hangs.
//!
//! HTTPS is rustls on the `ring` provider with the certificate policy of eSCL clients
//! (sane-airscan, macOS, Windows): any certificate is accepted, since scanners present
//! self-signed ones, while the handshake signatures are still verified against the key in the
//! certificate. The connection is therefore encrypted to whoever holds that key: a passive
//! eavesdropper on the LAN learns nothing, but an active attacker who answers in the
//! scanner's place with a certificate of its own is not detected.
//!
//! Redirects are followed here (quirk [`Quirks::follow_redirects`]): http to https and within
//! a scheme, never https to http.

use crate::errors::{self, Operation};
use crate::protocol::{Head, Request};
use crate::quirks::Quirks;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use scanwire_core::device::DeviceError;
use scanwire_core::transfer::CancelToken;
use scanwire_network::flight::BodyError;
pub(crate) use scanwire_network::Interrupted;
use scanwire_network::Reporter;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Redirects followed per request.
const MAX_REDIRECTS: u32 = 5;
/// Read-ahead buffer for the body (gzip sniffing, the TLS-port complaint).
const CHUNK: usize = 64 * 1024;
/// Largest XML document accepted (ScannerCapabilities of real devices are under 64 KiB).
pub const MAX_DOCUMENT: usize = 1 << 20;
/// How much of a 400 answer to plain HTTP is read to recognise a TLS port's complaint.
const COMPLAINT: u64 = 4096;

/// The whole-request time limit for each operation; NextDocument has none (a page takes as
/// long as it takes), only the read timeout.
fn overall_timeout(op: Operation) -> Option<Duration> {
    match op {
        Operation::Capabilities | Operation::Status => Some(Duration::from_secs(20)),
        Operation::CreateJob => Some(Duration::from_secs(30)),
        Operation::CancelJob => Some(Duration::from_secs(10)),
        Operation::NextDocument => None,
    }
}

/// A request in progress.
pub(crate) type InFlight = scanwire_network::InFlight<Head>;

/// An HTTP client for one device.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    quirks: Quirks,
}

impl Client {
    /// A client applying `quirks`.
    pub fn new(quirks: Quirks) -> Self {
        let agent = scanwire_network::agent_builder()
            .tls_connector(Arc::new(Tls(tls_config())))
            .build();
        Client { agent, quirks }
    }

    /// Replaces the quirks (once the capabilities named the model).
    pub fn set_quirks(&mut self, quirks: Quirks) {
        self.quirks = quirks;
    }

    /// Starts `request` on its own thread. With a `cancel` token, a cancel interrupts the
    /// waits of the returned [`InFlight`].
    pub fn start(&self, request: &Request, cancel: Option<&CancelToken>) -> InFlight {
        let agent = self.agent.clone();
        let quirks = self.quirks;
        let request = request.clone();
        InFlight::start("escl-http", cancel, errors::bad_response, move |r| {
            run(&agent, quirks, &request, &r)
        })
    }

    /// Runs `request` to the end without cancel: status line and whole body.
    pub fn fetch(&self, request: &Request) -> Result<(Head, Vec<u8>), DeviceError> {
        self.start(request, None).complete(MAX_DOCUMENT)
    }
}

/// The request thread: sends, follows allowed redirects, streams the body.
fn run(agent: &ureq::Agent, quirks: Quirks, request: &Request, report: &Reporter<Head>) {
    let fail = |url: &str, detail: String| {
        report.fail(errors::transport(request.op, url, false, &detail));
    };
    let mut url = request.url.clone();
    let mut redirects = 0;
    let response = loop {
        let mut r = agent.request(request.method, &url);
        if let Some(t) = overall_timeout(request.op) {
            r = r.timeout(t);
        }
        if quirks.connection_close {
            r = r.set("Connection", "close");
        }
        let result = match &request.body {
            Some(b) => r.set("Content-Type", "text/xml").send_bytes(b),
            None => r.call(),
        };
        let response = match result {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => {
                return report.fail(errors::transport_error(request.op, &url, &t));
            }
        };
        let status = response.status();
        let location = response.header("Location").map(str::to_owned);
        match (status, location) {
            (301 | 302 | 303 | 307 | 308, Some(target)) => {
                let Some(next) = resolve(&url, &target) else {
                    return fail(&url, format!("a redirect to an unusable place: {target}"));
                };
                if is_https(&url) && !is_https(&next) {
                    return report.fail(errors::downgrade(request.op, &url, &next));
                }
                if !quirks.follow_redirects {
                    return fail(
                        &url,
                        format!("a redirect to {next}, not followed (quirk follow_redirects off)"),
                    );
                }
                if redirects >= MAX_REDIRECTS {
                    return fail(
                        &url,
                        format!("more than {MAX_REDIRECTS} redirects (the last to {next})"),
                    );
                }
                redirects += 1;
                url = next;
            }
            _ => break response,
        }
    };
    let header = |name: &str| response.header(name).map(str::to_owned);
    let gzip_header = header("Content-Encoding").is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
    let mut head = Head {
        status: response.status(),
        location: header("Location"),
        content_type: header("Content-Type"),
        content_length: header("Content-Length").and_then(|l| l.trim().parse().ok()),
        retry_after: header("Retry-After").and_then(|l| l.trim().parse().ok()),
    };
    let mut reader = BufReader::with_capacity(CHUNK, response.into_reader());
    // A TLS port answering plain HTTP says so in a short 400 (nginx, Apache, our server).
    let mut complaint = Vec::new();
    if head.status == 400 && !is_https(&url) {
        let _ = (&mut reader).take(COMPLAINT).read_to_end(&mut complaint);
        if let Some(e) = errors::plain_http_to_tls_port(request.op, &url, &complaint) {
            return report.fail(e);
        }
    }
    // gzip: announced, or recognised by its magic bytes (no image or XML starts with 1f 8b).
    let sniffed = quirks.gzip_bodies
        && reader
            .fill_buf()
            .map(|b| b.starts_with(&[0x1f, 0x8b]))
            .unwrap_or(false);
    let gzip = quirks.gzip_bodies && (gzip_header || sniffed);
    if gzip {
        // The length is of the compressed bytes: useless for progress.
        head.content_length = None;
    }
    if !report.head(head) {
        return;
    }
    let reader = io::Cursor::new(complaint).chain(reader);
    let mut body: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    // No length check here: a gzip body's length is of the compressed bytes; a page cut
    // short is noticed against Content-Length where it is handed on.
    if let Err(e) = report.pump(&mut body, None) {
        let detail = match e {
            BodyError::Read { error, .. } => error.to_string(),
            BodyError::Short { received, expected } => {
                format!("it ended after {received} of {expected} bytes")
            }
        };
        fail(&url, format!("reading the body: {detail}"));
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// `scheme://authority` of an absolute URL.
fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    &url[..end]
}

/// Where a redirect from `current` to `target` (a `Location`) goes: absolute http(s) URLs as
/// they are, `//host/path` with the current scheme, `/path` on the current origin, and a
/// relative path next to the current one. `None` for any other scheme.
fn resolve(current: &str, target: &str) -> Option<String> {
    let target = target.trim();
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(target.to_string());
    }
    if let Some(rest) = target.strip_prefix("//") {
        let scheme = if is_https(current) { "https" } else { "http" };
        return Some(format!("{scheme}://{rest}"));
    }
    if target.starts_with('/') {
        return Some(format!("{}{target}", origin(current)));
    }
    let first = target.find(['/', '?', '#']).unwrap_or(target.len());
    if target.is_empty() || target[..first].contains(':') {
        return None;
    }
    let origin = origin(current);
    let path = current[origin.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Some(format!("{origin}{dir}{target}"))
}

/// The client configuration every HTTPS connection uses, built once.
fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // Named rather than the process default, like the server's: another crate
            // enabling a second rustls provider cannot make this ambiguous.
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            // eSCL is HTTP/1.1.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(config)
        })
        .clone()
}

/// The eSCL certificate policy (see the module documentation): any chain, for any name, but
/// the handshake must be signed with the certificate's key by the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// ureq's TLS hook: the handshake runs here, so its failure reaches `errors` as an
/// [`errors::TlsHandshake`] (ureq would file it under a generic I/O error).
struct Tls(Arc<ClientConfig>);

impl ureq::TlsConnector for Tls {
    fn connect(
        &self,
        host: &str,
        mut io: Box<dyn ureq::ReadWrite>,
    ) -> Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        let handshake = |source: io::Error| {
            ureq::Error::from(io::Error::other(errors::TlsHandshake { source }))
        };
        // rustls takes IPv6 addresses without brackets (and sends no SNI for addresses).
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| handshake(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let mut conn = ClientConnection::new(self.0.clone(), name)
            .map_err(|e| handshake(io::Error::other(e)))?;
        conn.complete_io(&mut io).map_err(handshake)?;
        Ok(Box::new(TlsStream(StreamOwned::new(conn, io))))
    }
}

/// An established TLS connection, as ureq reads and writes it.
struct TlsStream(StreamOwned<ClientConnection, Box<dyn ureq::ReadWrite>>);

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").finish_non_exhaustive()
    }
}

impl ureq::ReadWrite for TlsStream {
    fn socket(&self) -> Option<&std::net::TcpStream> {
        // ureq sets its read and write timeouts on the socket underneath.
        self.0.get_ref().socket()
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            // Embedded TLS stacks often close without close_notify. HTTP's own framing
            // (Content-Length, chunked) still detects a body cut short, as over plain HTTP.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            r => r,
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_resolve_against_the_current_url() {
        let cur = "https://10.0.0.5:443/eSCL/ScannerCapabilities?x=1";
        assert_eq!(origin(cur), "https://10.0.0.5:443");
        assert_eq!(origin("http://h"), "http://h");
        assert_eq!(
            resolve(cur, "/eSCL2/ScannerCapabilities").unwrap(),
            "https://10.0.0.5:443/eSCL2/ScannerCapabilities"
        );
        assert_eq!(
            resolve(cur, "Caps").unwrap(),
            "https://10.0.0.5:443/eSCL/Caps"
        );
        assert_eq!(
            resolve("http://h:80/eSCL/X", "//h:443/eSCL/X").unwrap(),
            "http://h:443/eSCL/X"
        );
        assert_eq!(
            resolve("http://h/eSCL/X", "HTTPS://h/eSCL/X").unwrap(),
            "HTTPS://h/eSCL/X"
        );
        assert!(is_https("HTTPS://h/eSCL/X"));
        assert_eq!(resolve(cur, "ftp://h/x"), None);
        assert_eq!(resolve(cur, ""), None);
    }
}
