//! This driver over HTTPS, on loopback: `scanwire serve` with a self-signed certificate (as
//! real scanners have) gives the same capabilities and the same pixels as over plain HTTP,
//! cancel works mid-page, a page cut short is still noticed, a certificate whose key did not
//! sign the handshake is refused, and every way of getting the scheme wrong is a clear error:
//! an https URL to a plain port, an http URL to a TLS port, a handshake the scanner refuses, a
//! redirect from https down to http. The conformance suite runs over HTTPS too.

mod common;

use common::{scan_url as scan, suite_request, Remote};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use scanwire_core::device::{ColorMode, Driver, Encoding, PageData, ScanRequest, Source};
use scanwire_core::transfer::{self, CancelHandle};
use scanwire_core::wia;
use scanwire_escl_client::protocol::Base;
use scanwire_escl_client::{EsclDriver, Quirks};
use scanwire_server::BlockingServer;
use scanwire_testkit::{virtual_scanner_faults, Profile};
use scanwire_virtual::VirtualDevice;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// `scanwire serve` in front of the virtual scanner, over HTTPS when `tls`.
fn server(tls: bool, options: &[(&str, &str)]) -> BlockingServer {
    common::serve_virtual(tls, options)
}

fn request(source: Source, mode: ColorMode, pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source,
        mode,
        resolution: 75,
        pages,
        ..Default::default()
    }
}

/// Scans `request` over HTTP and over HTTPS from servers with the same `options`: both must
/// succeed with the same pages, byte for byte. Returns the page count.
fn same_over_both(request: &ScanRequest, options: &[(&str, &str)]) -> usize {
    let (plain, tls) = (server(false, options), server(true, options));
    assert!(tls.url().starts_with("https://127.0.0.1:"), "{}", tls.url());
    let (o, over_http) = scan(&plain.url(), request, &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "http: {:?}", o.error);
    let (o, over_https) = scan(&tls.url(), request, &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK, "https: {:?}", o.error);
    let (a, b) = (over_http.complete_pages(), over_https.complete_pages());
    assert_eq!(a.len(), b.len());
    for (n, (a, b)) in a.iter().zip(&b).enumerate() {
        assert_eq!(a.info, b.info, "page {n}");
        assert!(a.data == b.data, "page {n}: the pixels differ");
        if let PageData::Raster { .. } = a.info.data {
            assert_eq!(a.data.len() as u64, a.info.data.expected_bytes().unwrap());
        }
    }
    a.len()
}

#[test]
fn capabilities_over_https_are_those_over_http() {
    let (plain, tls) = (server(false, &[]), server(true, &[]));
    let driver = EsclDriver::new();
    let mut over_http = driver.open(&plain.url()).unwrap();
    let id = format!("escl:{}", tls.url());
    let mut over_https = driver.open(&id).unwrap();
    assert_eq!(over_https.info().id, id);
    assert_eq!(
        over_https.capabilities().unwrap(),
        over_http.capabilities().unwrap()
    );
    // A configured https device is listed with its https id.
    let listed = EsclDriver::with_devices([tls.url()]).devices().unwrap();
    assert_eq!(listed[0].id, id);
}

#[test]
fn a_flatbed_page_over_https_is_pixel_identical_to_http() {
    let r = request(Source::Flatbed, ColorMode::Color, None);
    assert_eq!(same_over_both(&r, &[]), 1);
    let jpeg = ScanRequest {
        encoding: Some(Encoding::Jpeg),
        ..request(Source::Flatbed, ColorMode::Gray, None)
    };
    assert_eq!(same_over_both(&jpeg, &[]), 1);
}

#[test]
fn feeder_pages_over_https_are_pixel_identical_to_http() {
    let r = request(Source::Feeder, ColorMode::Gray, None);
    assert_eq!(same_over_both(&r, &[("sheets", "3")]), 3);
}

#[test]
fn cancel_mid_page_over_https_sends_delete_and_ends_promptly() {
    let s = server(true, &[("ppm", "30")]);
    common::cancel_mid_page_then_scan_again(
        &s.url(),
        &request(Source::Flatbed, ColorMode::Gray, None),
    );
}

#[test]
fn https_over_ipv6_loopback() {
    if TcpListener::bind("[::1]:0").is_err() {
        scanwire_testkit::peer_missing("no IPv6 loopback here");
        return;
    }
    let config = scanwire_server::ServerConfig {
        listen: "[::1]:0".parse().unwrap(),
        tls: Some(common::self_signed()),
        ..Default::default()
    };
    let device = transfer::share(Box::new(VirtualDevice::new()));
    let s = BlockingServer::start(config, vec![("virtual".into(), device)]).unwrap();
    assert!(s.url().starts_with("https://[::1]:"), "{}", s.url());
    // rustls takes the address without brackets (and sends no SNI for it).
    let (o, rec) = scan(
        &s.url(),
        &request(Source::Flatbed, ColorMode::Gray, None),
        &CancelHandle::new(),
    );
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 1);
}

#[test]
fn https_urls_parse_and_job_locations_keep_the_request_scheme() {
    let b = Base::parse("HTTPS://10.0.0.5").unwrap();
    assert_eq!(b.origin, "https://10.0.0.5");
    assert_eq!(b.root, "/eSCL");
    assert!(b.is_https());
    assert_eq!(
        b.capabilities_request().url,
        "https://10.0.0.5/eSCL/ScannerCapabilities"
    );
    let b = Base::parse("https://[fe80::1]:8443/escl/").unwrap();
    assert_eq!(b.origin, "https://[fe80::1]:8443");
    assert_eq!(b.root, "/escl");
    // HP puts its own host name, and the scheme it was configured with, in the Location.
    let q = Quirks::default();
    assert_eq!(
        b.job_url("http://NPI0A1B2C/escl/ScanJobs/7", &q).unwrap(),
        "https://[fe80::1]:8443/escl/ScanJobs/7"
    );
    // Without that quirk an absolute Location is taken as it is, but never down to http.
    let q = Quirks {
        keep_request_host: false,
        ..Quirks::default()
    };
    assert_eq!(
        b.job_url("https://[fe80::1]:9443/escl/ScanJobs/7", &q)
            .unwrap(),
        "https://[fe80::1]:9443/escl/ScanJobs/7"
    );
    let e = b
        .job_url("http://[fe80::1]/escl/ScanJobs/7", &q)
        .unwrap_err();
    assert!(e.to_string().contains("plain http"), "{e}");
    let e = Base::parse("ftp://10.0.0.5/eSCL").unwrap_err();
    assert!(e.to_string().contains("https://HOST:PORT/eSCL"), "{e}");
}

// ---------------------------------------------------------------------------------------
// The scheme got wrong: each a clear error naming the URL, OFFLINE (nothing usable there).

fn open_error(url: &str) -> scanwire_core::device::DeviceError {
    match EsclDriver::new().open(url) {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e,
    }
}

#[test]
fn an_https_url_to_a_plain_http_port_says_use_http() {
    let plain = server(false, &[]);
    let url = plain.url().replace("http://", "https://");
    let e = open_error(&url);
    let msg = e.to_string();
    assert!(msg.contains(&format!("{url}/ScannerCapabilities")), "{msg}");
    assert!(
        msg.contains("plain HTTP") || msg.contains("not speak HTTPS"),
        "{msg}"
    );
    assert!(msg.contains("http://"), "{msg}");
    assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE, "{msg}");
}

#[test]
fn an_http_url_to_a_tls_port_says_use_https() {
    let tls = server(true, &[]);
    let url = tls.url().replace("https://", "http://");
    let e = open_error(&url);
    let msg = e.to_string();
    assert!(msg.contains(&format!("{url}/ScannerCapabilities")), "{msg}");
    assert!(msg.contains("this port speaks HTTPS"), "{msg}");
    assert!(msg.contains("use https://"), "{msg}");
    assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE, "{msg}");
}

/// A listener on 127.0.0.1 handing each connection to `serve` on its own thread.
fn listener(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(conn) = conn else { return };
            let serve = serve.clone();
            std::thread::spawn(move || serve(conn));
        }
    });
    port
}

#[test]
fn a_handshake_the_scanner_refuses_names_the_alert() {
    // An old scanner with nothing in common with this client: it reads the ClientHello and
    // answers a fatal handshake_failure alert.
    let port = listener(|mut s| {
        let mut hello = [0u8; 512];
        let _ = s.read(&mut hello);
        let _ = s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
        std::thread::sleep(Duration::from_millis(200));
    });
    let url = format!("https://127.0.0.1:{port}/eSCL");
    let e = open_error(&url);
    let msg = e.to_string();
    assert!(msg.contains(&format!("{url}/ScannerCapabilities")), "{msg}");
    assert!(msg.contains("refused the TLS handshake"), "{msg}");
    assert!(msg.contains("HandshakeFailure"), "{msg}");
    assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE, "{msg}");

    // A port that accepts and hangs up at once.
    let port = listener(drop);
    let url = format!("https://127.0.0.1:{port}/eSCL");
    let e = open_error(&url);
    let msg = e.to_string();
    assert!(msg.contains(&format!("{url}/ScannerCapabilities")), "{msg}");
    assert!(msg.contains("during the TLS handshake"), "{msg}");
    assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE, "{msg}");
}

/// A TLS listener on 127.0.0.1 with a self-signed certificate: `serve` answers each
/// request (method, path) with raw response bytes, and whether to drop the connection after
/// them (without a TLS close_notify).
fn tls_stub(serve: impl Fn(&str, &str) -> (Vec<u8>, bool) + Send + Sync + 'static) -> u16 {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let config = server_config()
        .with_single_cert(vec![made.cert.der().clone()], key_der(&made.signing_key))
        .unwrap();
    tls_stub_with(config, serve)
}

/// [`tls_stub`] with this server configuration.
fn tls_stub_with(
    config: rustls::ServerConfig,
    serve: impl Fn(&str, &str) -> (Vec<u8>, bool) + Send + Sync + 'static,
) -> u16 {
    let config = Arc::new(config);
    listener(move |s| {
        let conn = rustls::ServerConnection::new(config.clone()).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, s);
        while let Some((method, path)) = read_request(&mut tls) {
            let (reply, drop) = serve(&method, &path);
            if tls.write_all(&reply).and_then(|()| tls.flush()).is_err() || drop {
                return;
            }
        }
    })
}

fn server_config() -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
}

fn key_der(key: &rcgen::KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// Presents one certificate and signs with whatever key it was given.
#[derive(Debug)]
struct Presents(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Presents {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[test]
fn a_certificate_whose_key_did_not_sign_the_handshake_is_refused() {
    // Any certificate is accepted, but not one the server cannot prove it holds the key of:
    // this server presents a certificate and signs the handshake with another key (TLS 1.3
    // and 1.2 both check the signature against the certificate's key).
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(key_der(&other))
        .unwrap();
    let presents = Presents(Arc::new(rustls::sign::CertifiedKey::new(
        vec![made.cert.der().clone()],
        signer,
    )));
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Presents(presents.0.clone())));
        let port = tls_stub_with(config, |_, _| (response("200 OK", "", b""), false));
        let url = format!("https://127.0.0.1:{port}/eSCL");
        let e = open_error(&url);
        let msg = e.to_string();
        assert!(msg.contains(&format!("{url}/ScannerCapabilities")), "{msg}");
        assert!(
            msg.contains("certificate does not match its handshake signature"),
            "{version:?}: {msg}"
        );
        assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE, "{msg}");
    }
}

/// Reads an HTTP request (head, then a `Content-Length` body); returns its method and path.
fn read_request(r: &mut impl Read) -> Option<(String, String)> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if r.read(&mut b).ok()? == 0 {
            return None;
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).ok()?;
    let mut words = head.split_whitespace();
    Some((words.next()?.to_string(), words.next()?.to_string()))
}

fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn a_redirect_from_https_down_to_http_is_refused() {
    // Where the redirect points: a plain port that must never see a request.
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    plain.set_nonblocking(true).unwrap();
    let target = format!("http://{}", plain.local_addr().unwrap());
    let to = target.clone();
    let port = tls_stub(move |_, path| {
        let location = format!("Location: {to}{path}\r\n");
        (response("301 Moved", &location, b""), false)
    });
    let url = format!("https://127.0.0.1:{port}/eSCL");
    let e = open_error(&url);
    let msg = e.to_string();
    assert!(msg.contains(&format!("{url}/ScannerCapabilities")), "{msg}");
    assert!(msg.contains("from https to plain http"), "{msg}");
    assert!(
        msg.contains(&format!("{target}/eSCL/ScannerCapabilities")),
        "{msg}"
    );
    assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE, "{msg}");
    assert!(
        plain.accept().is_err(),
        "the driver followed the redirect to plain http"
    );
}

#[test]
fn a_page_cut_short_over_tls_is_an_error_not_a_short_page() {
    // The scanner drops the connection mid-page without a TLS close_notify (as embedded TLS
    // stacks do): the driver takes that as the end of the stream, so HTTP's Content-Length
    // must be what tells the page is incomplete. JPEG passes through undecoded, so nothing
    // else would notice.
    let Some(dir) = common::fixtures() else {
        return;
    };
    let fixture = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let caps = fixture("caps-brother-mfc-l2710dw.xml");
    let status = fixture("status-brother-mfc-l2710dw-idle-adfempty.xml");
    let port = tls_stub(move |method, path| {
        let xml = "Content-Type: text/xml\r\n";
        match (method, path) {
            ("GET", "/eSCL/ScannerCapabilities") => (response("200 OK", xml, &caps), false),
            ("GET", "/eSCL/ScannerStatus") => (response("200 OK", xml, &status), false),
            ("POST", "/eSCL/ScanJobs") => (
                response("201 Created", "Location: /eSCL/ScanJobs/7\r\n", b""),
                false,
            ),
            ("GET", "/eSCL/ScanJobs/7/NextDocument") => {
                // 4000 bytes promised, a whole-looking JPEG of 2000 sent.
                let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 4000\r\n\r\n\xff\xd8".to_vec();
                r.extend_from_slice(&[0u8; 1996]);
                r.extend_from_slice(b"\xff\xd9");
                (r, true)
            }
            _ => (response("200 OK", "", b""), false),
        }
    });
    let r = ScanRequest {
        encoding: Some(Encoding::Jpeg),
        resolution: 100,
        ..request(Source::Flatbed, ColorMode::Gray, None)
    };
    let (o, rec) = scan(
        &format!("https://127.0.0.1:{port}/eSCL"),
        &r,
        &CancelHandle::new(),
    );
    assert_eq!(
        o.result,
        wia::WIA_ERROR_DEVICE_COMMUNICATION,
        "{:?}",
        o.error
    );
    assert!(rec.complete_pages().is_empty());
    let msg = o.error.unwrap().to_string();
    assert!(
        msg.contains("/eSCL/ScanJobs/7/NextDocument: reading the body"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------
// The driver conformance suite, every scan over HTTPS.

fn profile() -> Profile {
    Profile {
        name: "escl over https → scanwire-server → virtual",
        open: Box::new(|| {
            transfer::share(Box::new(
                Remote::new(Arc::new(|| transfer::share(Box::new(VirtualDevice::new()))))
                    .over_https(),
            ))
        }),
        flatbed: suite_request(Source::Flatbed, &[], None),
        feeder: Some(suite_request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: the server streams the first page over two seconds.
        slow: suite_request(Source::Flatbed, &[("ppm", "30")], None),
        // The faults that reach the driver by each eSCL route (NextDocument 409 with the
        // feeder state, 404 after pages, 500 with the job's reasons); conformance.rs has
        // the full list over plain HTTP.
        faults: virtual_scanner_faults(&suite_request, wia::WIA_ERROR_DEVICE_COMMUNICATION)
            .into_iter()
            .filter(|f| ["jam", "offline", "end of media"].contains(&f.name))
            .collect(),
    }
}

scanwire_testkit::conformance_suite!(profile());
