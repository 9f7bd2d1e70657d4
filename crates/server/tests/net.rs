//! The server on a real socket (127.0.0.1, ephemeral ports): HTTPS with rustls and curl as
//! clients, plain HTTP sent to the HTTPS port, and the connection limits.

mod common;

use common::device::{shared, TestScanner};
use common::peers::http;
use scanwire_escl::{Document, ScannerCapabilities};
use scanwire_server::{BlockingServer, ServerConfig, TlsConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn start(config: ServerConfig) -> BlockingServer {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    BlockingServer::start(
        config,
        vec![("test".into(), shared(TestScanner::new("test")))],
    )
    .expect("server starts")
}

/// A test CA and a server certificate it signed for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Scanwire test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A rustls client trusting `ca_pem`.
fn client(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// GET over TLS; returns the status code and the body (the server closes: Connection: close).
fn https_get(
    addr: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<(u16, Vec<u8>), std::io::Error> {
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(cfg, name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    )?;
    let mut all = Vec::new();
    tls.read_to_end(&mut all)?;
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    Ok((code, all[split + 4..].to_vec()))
}

#[test]
fn https_with_a_ca_signed_certificate_serves_capabilities() {
    let p = pki();
    let tls = TlsConfig::from_pem(p.cert_pem.as_bytes(), p.key_pem.as_bytes()).unwrap();
    let server = start(ServerConfig {
        tls: Some(tls),
        ..ServerConfig::default()
    });
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let (code, body) = https_get(
        server.local_addr(),
        client(&p.ca_pem),
        "/eSCL/ScannerCapabilities",
    )
    .unwrap();
    assert_eq!(code, 200);
    let caps = ScannerCapabilities::from_xml(&body).unwrap();
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("Scanwire Test Scanner test")
    );

    // A client that trusts another CA fails the handshake, and the server goes on.
    let other = pki();
    let e = https_get(
        server.local_addr(),
        client(&other.ca_pem),
        "/eSCL/ScannerStatus",
    )
    .unwrap_err();
    assert!(e.to_string().contains("invalid peer certificate"), "{e}");
    let (code, _) = https_get(
        server.local_addr(),
        client(&p.ca_pem),
        "/eSCL/ScannerStatus",
    )
    .unwrap();
    assert_eq!(code, 200);
}

#[test]
fn plain_http_to_the_https_port_gets_a_clear_400_and_garbage_is_closed() {
    let tls = TlsConfig::self_signed(&["127.0.0.1".into()]).unwrap();
    let server = start(ServerConfig {
        tls: Some(tls),
        ..ServerConfig::default()
    });
    let addr = server.local_addr();
    let (code, head, body) = http(addr, "GET", "/eSCL/ScannerCapabilities", "");
    assert_eq!(code, 400, "{head}");
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(
        String::from_utf8_lossy(&body),
        "this port speaks HTTPS only: use an https:// URL\n"
    );
    // Neither HTTP nor TLS: the connection is closed without an answer.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&[0x00, 0x01, 0x02, 0x03, b'\n']).unwrap();
    let mut buf = Vec::new();
    let n = s.read_to_end(&mut buf).unwrap_or(0);
    assert!(n < 16, "got {buf:?}");
    // The server is still fine.
    let cert = server_cert_of(&server);
    let (code, _) = https_get(addr, client(&cert), "/eSCL/ScannerStatus").unwrap();
    assert_eq!(code, 200);
}

fn server_cert_of(server: &BlockingServer) -> String {
    server
        .state()
        .config()
        .tls
        .as_ref()
        .unwrap()
        .certificate_pem()
        .to_string()
}

#[test]
fn curl_trusts_the_self_signed_certificate_it_is_given() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        scanwire_testkit::peer_missing("needs curl");
        return;
    }
    let tls = TlsConfig::self_signed(&["127.0.0.1".into(), "localhost".into()]).unwrap();
    let server = start(ServerConfig {
        tls: Some(tls),
        ..ServerConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("cert.pem");
    std::fs::write(&ca, server_cert_of(&server)).unwrap();
    let url = format!("{}/ScannerCapabilities", server.url());
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&ca)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ScannerCapabilities::from_xml(&out.stdout).unwrap();
    // Without the certificate curl refuses, as it should.
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Opens a connection and sends nothing: it holds a connection slot.
fn idle(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Waits until the server has accepted and counted `n` connections (accepting is async).
fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn connections_past_the_limit_get_503_and_a_freed_slot_is_reused() {
    let mut config = ServerConfig::default();
    config.limits.max_connections = 2;
    let server = start(config);
    let addr = server.local_addr();
    let a = idle(addr);
    let _b = idle(addr);
    settle();
    let (code, head, body) = http(addr, "GET", "/eSCL/ScannerStatus", "");
    assert_eq!(code, 503, "{head}");
    assert!(head.contains("Retry-After: 2"), "{head}");
    assert!(
        String::from_utf8_lossy(&body).contains("limit of 2 connections"),
        "{body:?}"
    );
    drop(a);
    settle();
    let (code, _, _) = http(addr, "GET", "/eSCL/ScannerStatus", "");
    assert_eq!(code, 200);
}

#[test]
fn tls_connections_past_the_limit_are_closed_without_a_handshake() {
    let tls = TlsConfig::self_signed(&["127.0.0.1".into()]).unwrap();
    let mut config = ServerConfig {
        tls: Some(tls),
        ..ServerConfig::default()
    };
    config.limits.max_connections = 1;
    let server = start(config);
    let addr = server.local_addr();
    let cert = server_cert_of(&server);
    let held = idle(addr);
    settle();
    let e = https_get(addr, client(&cert), "/eSCL/ScannerStatus").unwrap_err();
    // Closed before the handshake: an EOF or a reset, never an answer.
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        ),
        "{e:?}"
    );
    drop(held);
    settle();
    let (code, _) = https_get(addr, client(&cert), "/eSCL/ScannerStatus").unwrap();
    assert_eq!(code, 200);
}

#[test]
fn silent_and_idle_connections_are_closed_after_the_header_timeout() {
    let mut config = ServerConfig::default();
    config.limits.max_connections = 1;
    config.timing.header_timeout = Duration::from_millis(500);
    let server = start(config);
    let addr = server.local_addr();

    // Silent from the start (slow loris): closed, and the slot is free again.
    let t = Instant::now();
    let mut s = idle(addr);
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "closed after {waited:?} with {n} bytes"
    );

    // Keep-alive: one request answered, then the idle connection is closed too.
    let mut s = idle(addr);
    write!(
        s,
        "GET /eSCL/ScannerStatus HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    let t = Instant::now();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the idle keep-alive connection stayed open {:?}",
        t.elapsed()
    );
    let (code, _, _) = http(addr, "GET", "/eSCL/ScannerStatus", "");
    assert_eq!(code, 200);
}

#[test]
fn a_huge_body_is_refused_413_without_reading_it() {
    let server = start(ServerConfig::default());
    let addr = server.local_addr();
    let mut s = idle(addr);
    // Announces 1 GB and sends only the headers: the answer comes at once.
    write!(
        s,
        "POST /eSCL/ScanJobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 1000000000\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[test]
fn a_stalled_body_gets_408() {
    let mut config = ServerConfig::default();
    config.timing.header_timeout = Duration::from_millis(500);
    let server = start(config);
    let mut s = idle(server.local_addr());
    write!(
        s,
        "POST /eSCL/ScanJobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n<scan:Scan"
    )
    .unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("did not arrive within 0.5 s"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(5));
}
