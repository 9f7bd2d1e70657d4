//! A stub eSCL scanner built here (std `TcpListener` on 127.0.0.1) replays real device
//! documents from the shared fixtures and answers the way real scanners do: 503 with and
//! without Retry-After, 404 to end a feeder job, gzip bodies with and without the header,
//! absolute, relative and `urn:uuid:` job locations, redirects (to https: followed), a jam
//! mid-job, and `Connection: close` for Kyocera. Each test asserts what the driver then does.

mod common;

use flate2::write::GzEncoder;
use scanwire_core::device::{
    ColorMode, Device, Encoding, PageData, PixelFormat, ScanRequest, Source,
};
use scanwire_core::transfer::{self, CancelHandle, Outcome, Recorded, Recording};
use scanwire_core::wia;
use scanwire_escl_client::EsclDevice;
use scanwire_virtual::VirtualDevice;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as the stub saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a reply's body goes out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// With `Content-Length`.
    Length,
    /// Chunked, as scanners stream pages.
    Chunked,
    /// The headers as given (a `Content-Length` promising more) and the body, then the
    /// connection closes: a page that breaks off.
    Cut,
    /// The headers as given and the body, then nothing for five seconds: a page that hangs.
    Stall,
}

/// An answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
}

impl Reply {
    fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            framing: Framing::Length,
        }
    }
    fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }
    fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    fn chunked(mut self) -> Self {
        self.framing = Framing::Chunked;
        self
    }
    fn cut(mut self) -> Self {
        self.framing = Framing::Cut;
        self
    }
    fn stall(mut self) -> Self {
        self.framing = Framing::Stall;
        self
    }
    fn xml(body: Vec<u8>) -> Self {
        Reply::new(200)
            .body(body)
            .header("Content-Type", "text/xml")
    }
}

type Handler = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// The stub: each connection on its own thread, keep-alive, every request recorded. The
/// handler gets the request and how many requests with the same method and path came
/// before it.
struct Stub {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(Box::new(handler));
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (seen, handler) = (s.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, &seen, &handler));
            }
        });
        Stub { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/eSCL", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path_end: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path.ends_with(path_end))
            .count()
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut req = Seen {
            method,
            path,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = req.header("Content-Length").and_then(|l| l.parse().ok()) {
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            req.body = body;
        }
        let close = req
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let n = {
            let mut s = seen.lock().unwrap();
            let n = s
                .iter()
                .filter(|x| x.method == req.method && x.path == req.path)
                .count();
            s.push(req.clone());
            n
        };
        let reply = handler(&req, n);
        let mut head = format!("HTTP/1.1 {} Stub\r\n", reply.status);
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match reply.framing {
            Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", reply.body.len())),
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
            Framing::Cut | Framing::Stall => {}
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if reply.framing == Framing::Chunked {
            for c in reply.body.chunks(4096) {
                out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                out.extend_from_slice(c);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(&reply.body);
        }
        match reply.framing {
            Framing::Cut => {
                let _ = conn.write_all(&out);
                let _ = conn.shutdown(std::net::Shutdown::Both);
                return;
            }
            Framing::Stall => {
                let _ = conn.write_all(&out);
                std::thread::sleep(Duration::from_secs(5));
                return;
            }
            _ => {}
        }
        if conn.write_all(&out).is_err() || close {
            return;
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    // Tests that read fixtures start with `let Some(_) = common::fixtures() else { return };`.
    let p = scanwire_testkit::fixtures_path("escl").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gray PNG page whose rows are a known pattern.
fn png_page(width: u32, height: u32) -> (Vec<u8>, Vec<u8>) {
    let rows: Vec<u8> = (0..width * height).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, width, height);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().unwrap();
    w.write_image_data(&rows).unwrap();
    w.finish().unwrap();
    (out, rows)
}

/// An idle status with an empty feeder and no jobs, from a real device.
fn idle_status() -> Vec<u8> {
    fixture("status-brother-mfc-l2710dw-idle-adfempty.xml")
}

fn scan(url: &str, request: &ScanRequest) -> (Outcome, Recording) {
    common::scan_url(url, request, &CancelHandle::new())
}

fn gray(source: Source, pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source,
        mode: ColorMode::Gray,
        resolution: 300,
        pages,
        ..Default::default()
    }
}

/// A gray flatbed scan asking for `encoding`, checked to succeed.
fn gray_page_as(url: &str, encoding: Encoding) -> Recording {
    let request = ScanRequest {
        encoding: Some(encoding),
        ..gray(Source::Flatbed, None)
    };
    let (o, rec) = scan(url, &request);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    rec
}

const JOB: &str = "/eSCL/ScanJobs/7";

/// Brother MFC-L2710DW: flatbed + feeder, PNG (its real capabilities).
const BROTHER: &str = "caps-brother-mfc-l2710dw.xml";

#[test]
fn busy_post_is_retried_with_and_without_retry_after_then_the_page_arrives() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let (page, rows) = png_page(40, 30);
    let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(idle_status()),
        // 503 with Retry-After: 1, then 503 without (the driver waits its default second).
        ("POST", "/eSCL/ScanJobs") if n == 0 => Reply::new(503).header("Retry-After", "1"),
        ("POST", "/eSCL/ScanJobs") if n == 1 => Reply::new(503),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
        ("GET", p) if p == format!("{JOB}/NextDocument") && n == 0 => Reply::new(200)
            .header("Content-Type", "image/png")
            .body(page.clone()),
        ("GET", p) if p.ends_with("/NextDocument") => Reply::new(404),
        _ => Reply::new(404),
    });
    let t = Instant::now();
    let (o, rec) = scan(&stub.url(), &gray(Source::Flatbed, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert!(
        t.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(stub.count("POST", "/ScanJobs"), 3);
    let pages = rec.complete_pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].data, rows);
    // The platen job ends with NextDocument → 404, no DELETE (nothing is left to stop).
    assert_eq!(stub.count("GET", "/NextDocument"), 2);
    assert_eq!(stub.count("DELETE", JOB), 0);
}

#[test]
fn busy_next_document_reads_status_reports_warming_up_and_retries() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let (page, rows) = png_page(16, 8);
    let testing = String::from_utf8(idle_status()).unwrap().replace(
        "<pwg:State>Idle</pwg:State>",
        "<pwg:State>Testing</pwg:State>",
    );
    assert!(testing.contains("Testing"));
    let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(testing.clone().into_bytes()),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
        // Twice 503 (Retry-After: 0, the shortest wait), then the page, then 404.
        ("GET", p) if p.ends_with("/NextDocument") && n < 2 => {
            Reply::new(503).header("Retry-After", "0")
        }
        ("GET", p) if p.ends_with("/NextDocument") && n == 2 => Reply::new(200)
            .header("Content-Type", "image/png")
            .body(page.clone())
            .chunked(),
        _ => Reply::new(404),
    });
    let (o, rec) = scan(&stub.url(), &gray(Source::Flatbed, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages()[0].data, rows);
    assert_eq!(
        stub.count("GET", "/ScannerStatus"),
        2,
        "one status read per 503"
    );
    let warming = rec
        .events
        .iter()
        .filter(
            |e| matches!(e, Recorded::ReportStatus(c, _, _) if *c == wia::WIA_STATUS_WARMING_UP),
        )
        .count();
    assert_eq!(warming, 2, "{:?}", rec.events);
}

#[test]
fn a_scanner_busy_on_every_post_is_busy() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let stub = Stub::start(|r, _| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(idle_status()),
        ("POST", _) => Reply::new(503).header("Retry-After", "0"),
        _ => Reply::new(404),
    });
    let (o, rec) = scan(&stub.url(), &gray(Source::Flatbed, None));
    assert_eq!(o.result, wia::WIA_ERROR_BUSY, "{:?}", o.error);
    assert!(rec.pages.is_empty());
    // The first try and ten retries.
    assert_eq!(stub.count("POST", "/ScanJobs"), 11);
}

/// A feeder job on a stub that gives `pages` pages, then 404.
fn feeder_stub(location: &'static str, caps: &'static str, gzip_pages: bool) -> (Stub, Vec<u8>) {
    let (page, rows) = png_page(24, 12);
    let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(caps)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(idle_status()),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", location),
        ("GET", p) if p.ends_with("/NextDocument") && n < 3 => {
            let r = Reply::new(200).header("Content-Type", "image/png");
            if gzip_pages {
                r.header("Content-Encoding", "gzip").body(gzip(&page))
            } else {
                r.body(page.clone())
            }
        }
        _ => Reply::new(404),
    });
    (stub, rows)
}

#[test]
fn a_feeder_job_ends_when_next_document_answers_404() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let (stub, rows) = feeder_stub(JOB, BROTHER, false);
    let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    let pages = rec.complete_pages();
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|p| p.data == rows));
    assert_eq!(stub.count("GET", "/NextDocument"), 4);
    // The 404 ended the job: no status read, no DELETE.
    assert_eq!(stub.count("GET", "/ScannerStatus"), 0);
    assert_eq!(stub.count("DELETE", JOB), 0);

    // Asking for five: the feeder ran out after three.
    let (stub, _) = feeder_stub(JOB, BROTHER, false);
    let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, Some(5)));
    assert_eq!(o.result, wia::WIA_STATUS_END_OF_MEDIA, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 3);

    // Asking for two: the driver stops the feeder with DELETE.
    let (stub, _) = feeder_stub(JOB, BROTHER, false);
    let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, Some(2)));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 2);
    assert_eq!(stub.count("DELETE", JOB), 1);
}

#[test]
fn job_locations_absolute_with_another_host_relative_and_path() {
    let Some(_) = common::fixtures() else {
        return;
    };
    for location in [
        // HP firmware names its own host (unreachable from here): the request's host is kept.
        "http://hp-printer.invalid:8080/eSCL/ScanJobs/7",
        "ScanJobs/7",
        "/eSCL/ScanJobs/7",
    ] {
        let (stub, rows) = feeder_stub(location, BROTHER, false);
        let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, None));
        assert_eq!(o.result, wia::S_OK, "{location}: {:?}", o.error);
        assert_eq!(rec.complete_pages().len(), 3, "{location}");
        assert_eq!(rec.complete_pages()[0].data, rows);
        assert_eq!(
            stub.count("GET", "/eSCL/ScanJobs/7/NextDocument"),
            4,
            "{location}: {:?}",
            stub.seen()
        );
    }
}

#[test]
fn kyocera_urn_uuid_job_ids_and_connection_close() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let id = "urn:uuid:4509a320-00a0-008f-00b6-00559a327d32";
    let (stub, rows) = feeder_stub(
        "urn:uuid:4509a320-00a0-008f-00b6-00559a327d32",
        "caps-kyocera-ecosys-m2040dn.xml",
        false,
    );
    let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 3);
    assert_eq!(rec.complete_pages()[2].data, rows);
    let next = format!("/eSCL/ScanJobs/{id}/NextDocument");
    assert_eq!(stub.count("GET", &next), 4, "{:?}", stub.seen());
    // Once the capabilities named a Kyocera, every job request closes its connection.
    let job_requests: Vec<Seen> = stub
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("ScanJobs"))
        .collect();
    assert!(!job_requests.is_empty());
    for s in &job_requests {
        assert_eq!(s.header("Connection"), Some("close"), "{s:?}");
    }
}

#[test]
fn gzip_bodies_with_and_without_content_encoding() {
    let Some(_) = common::fixtures() else {
        return;
    };
    // HP DeskJet 2540 sends its capabilities gzip-encoded and says so. Here pages come
    // gzip-encoded too, and ScannerStatus gzip-encoded without the header (recognised by its
    // magic bytes): it says the scanner is Down.
    let (page, rows) = png_page(24, 12);
    let down = String::from_utf8(idle_status())
        .unwrap()
        .replace("<pwg:State>Idle</pwg:State>", "<pwg:State>Down</pwg:State>")
        .replace("ScannerAdfEmpty", "ScannerAdfLoaded");
    let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => {
            Reply::xml(gzip(&fixture("caps-hp-deskjet-2540.xml")))
                .header("Content-Encoding", "gzip")
        }
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(gzip(down.as_bytes())),
        ("POST", "/eSCL/ScanJobs") if n == 0 => Reply::new(201).header("Location", JOB),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", "/eSCL/ScanJobs/8"),
        ("GET", p) if p == format!("{JOB}/NextDocument") && n == 0 => Reply::new(200)
            .header("Content-Type", "image/png")
            .header("Content-Encoding", "gzip")
            .body(gzip(&page)),
        // The second job fails before its page: the driver reads the status to learn why.
        ("GET", "/eSCL/ScanJobs/8/NextDocument") => Reply::new(409),
        _ => Reply::new(404),
    });
    let mut device = EsclDevice::open(&stub.url()).unwrap();
    let caps = device.capabilities().unwrap();
    assert_eq!(caps.sources[0].source, Source::Flatbed, "{caps:?}");
    let request = ScanRequest {
        resolution: 300,
        mode: ColorMode::Gray,
        ..Default::default()
    };
    let (o, rec) = scan(&stub.url(), &request);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.complete_pages()[0].data, rows);
    let (o, rec) = scan(&stub.url(), &request);
    assert_eq!(o.result, wia::WIA_ERROR_OFFLINE, "{:?}", o.error);
    assert!(rec.pages.is_empty());
    assert!(o.error.unwrap().to_string().contains("State Down"));
}

#[test]
fn a_redirect_to_https_is_followed_and_the_scan_runs_there() {
    // HP with "redirect HTTP to HTTPS": every request on the plain port is redirected to the
    // same path over https, here `scanwire serve` with a self-signed certificate.
    let tls = common::serve_with(
        transfer::share(Box::new(VirtualDevice::new())),
        &Default::default(),
        true,
    );
    let origin = tls.url().trim_end_matches("/eSCL").to_string();
    assert!(origin.starts_with("https://127.0.0.1:"), "{origin}");
    let stub = Stub::start(move |r, _| {
        Reply::new(if r.method == "POST" { 307 } else { 301 })
            .header("Location", &format!("{origin}{}", r.path))
    });
    let request = ScanRequest {
        resolution: 75,
        ..gray(Source::Flatbed, None)
    };
    let (o, rec) = scan(&stub.url(), &request);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    let pages = rec.complete_pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].data.len() as u64,
        pages[0].info.data.expected_bytes().unwrap()
    );
    // Each request went to the plain port first (the job Location, absolute https, is
    // taken on the request's origin), and was redirected.
    assert_eq!(stub.count("GET", "/eSCL/ScannerCapabilities"), 1);
    assert_eq!(stub.count("POST", "/eSCL/ScanJobs"), 1);
    assert!(stub.count("GET", "/NextDocument") >= 1);
}

#[test]
fn a_redirect_loop_ends_after_five_redirects() {
    let stub = Stub::start(|r, _| Reply::new(302).header("Location", &r.path));
    let e = EsclDevice::open(&stub.url()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("more than 5 redirects"), "{msg}");
    assert_eq!(stub.count("GET", "/eSCL/ScannerCapabilities"), 6);
}

#[test]
fn a_redirect_to_http_is_followed() {
    let Some(_) = common::fixtures() else {
        return;
    };
    // A device that moved its service: every /eSCL request is redirected to /eSCL2.
    let stub = Stub::start(|r, _| {
        if let Some(rest) = r.path.strip_prefix("/eSCL/") {
            return Reply::new(308).header("Location", &format!("/eSCL2/{rest}"));
        }
        match r.path.as_str() {
            "/eSCL2/ScannerCapabilities" => Reply::xml(fixture(BROTHER)),
            _ => Reply::new(404),
        }
    });
    let mut device = EsclDevice::open(&stub.url()).unwrap();
    assert_eq!(
        device.capabilities().unwrap().model,
        "Brother MFC-L2710DW series"
    );
    assert_eq!(stub.count("GET", "/eSCL2/ScannerCapabilities"), 1);
}

#[test]
fn a_jam_mid_job_is_paper_jam_and_keeps_the_pages_before_it() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let (page, rows) = png_page(24, 12);
    let jammed = String::from_utf8(idle_status())
        .unwrap()
        .replace("ScannerAdfEmpty", "ScannerAdfJam");
    assert!(jammed.contains("ScannerAdfJam"));
    let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(jammed.clone().into_bytes()),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
        ("GET", p) if p.ends_with("/NextDocument") && n == 0 => Reply::new(200)
            .header("Content-Type", "image/png")
            .body(page.clone()),
        // Page 2: the body breaks off after 20 bytes (the scanner jammed mid-page).
        ("GET", p) if p.ends_with("/NextDocument") && n == 1 => Reply::new(200)
            .header("Content-Type", "image/png")
            .header("Content-Length", &page.len().to_string())
            .body(page[..20].to_vec())
            .cut(),
        ("GET", p) if p.ends_with("/NextDocument") => Reply::new(409),
        _ => Reply::new(200),
    });
    let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, None));
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM, "{:?}", o.error);
    let pages = rec.complete_pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].data, rows);
    // The broken page made the driver read the status, and delete the job.
    assert!(stub.count("GET", "/ScannerStatus") >= 1);
    assert_eq!(stub.count("DELETE", JOB), 1);
}

#[test]
fn a_jam_reported_by_409_and_status_between_pages() {
    let Some(_) = common::fixtures() else {
        return;
    };
    let (page, _) = png_page(24, 12);
    let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(
            String::from_utf8(idle_status())
                .unwrap()
                .replace("ScannerAdfEmpty", "ScannerAdfJam")
                .into_bytes(),
        ),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
        ("GET", p) if p.ends_with("/NextDocument") && n < 2 => Reply::new(200)
            .header("Content-Type", "image/png")
            .body(page.clone()),
        ("GET", p) if p.ends_with("/NextDocument") => Reply::new(409),
        _ => Reply::new(404),
    });
    let (o, rec) = scan(&stub.url(), &gray(Source::Feeder, None));
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM, "{:?}", o.error);
    assert_eq!(rec.complete_pages().len(), 2);
}

#[test]
fn progress_comes_from_content_length_when_there_is_one() {
    let Some(_) = common::fixtures() else {
        return;
    };
    // A big page passed through (the application asked for JPEG; the scanner answers with
    // PNG, as AirSane does), once with Content-Length, once chunked.
    let (page, _) = {
        let w = 600;
        let h = 400;
        let rows: Vec<u8> = (0..w * h).map(|i| ((i * 7919) % 256) as u8).collect();
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Grayscale);
        e.set_compression(png::Compression::NoCompression);
        let mut wr = e.write_header().unwrap();
        wr.write_image_data(&rows).unwrap();
        wr.finish().unwrap();
        (out, rows)
    };
    assert!(page.len() > 200_000);
    for chunked in [false, true] {
        let p = page.clone();
        let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
            ("GET", "/eSCL/ScannerStatus") => Reply::xml(idle_status()),
            ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
            ("GET", path) if path.ends_with("/NextDocument") && n == 0 => {
                let r = Reply::new(200)
                    .header("Content-Type", "image/png")
                    .body(p.clone());
                if chunked {
                    r.chunked()
                } else {
                    r
                }
            }
            _ => Reply::new(404),
        });
        let rec = gray_page_as(&stub.url(), Encoding::Jpeg);
        let got = &rec.complete_pages()[0];
        // What the body is, not what was asked for.
        assert_eq!(got.info.data, PageData::Encoded(Encoding::Png));
        assert_eq!(got.data, page, "passed through untouched");
        let percents: Vec<i32> = rec
            .messages()
            .iter()
            .filter(|m| m.lMessage == wia::WIA_TRANSFER_MSG_STATUS)
            .map(|m| m.lPercentComplete)
            .collect();
        assert!(percents.len() >= 2, "{percents:?}");
        if chunked {
            assert!(percents.iter().all(|&p| p == 0), "bytes only: {percents:?}");
        } else {
            assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
            assert_eq!(*percents.last().unwrap(), 100, "{percents:?}");
            assert!(percents[0] < 100, "{percents:?}");
        }
    }
}

#[test]
fn a_png_is_kept_as_it_comes_only_in_the_requested_mode() {
    let Some(_) = common::fixtures() else {
        return;
    };
    // The Kyocera's capabilities (CompressionFactor 1..5) with PNG added, as servers such as
    // AirSane and Scanwire's offer it; no recorded device sends PNG.
    let caps = String::from_utf8(fixture("caps-kyocera-ecosys-m2040dn.xml"))
        .unwrap()
        .replace(
            "<pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>",
            "<pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat><pwg:DocumentFormat>image/png</pwg:DocumentFormat>",
        );
    let (gray_png, gray_rows) = png_page(64, 16);
    let rgb_png = {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, 64, 16);
        e.set_color(png::ColorType::Rgb);
        let mut w = e.write_header().unwrap();
        // Every pixel (v, v, v): its gray is v.
        let rgb: Vec<u8> = gray_rows.iter().flat_map(|&v| [v, v, v]).collect();
        w.write_image_data(&rgb).unwrap();
        w.finish().unwrap();
        out
    };
    for (body, kept) in [(gray_png.clone(), true), (rgb_png, false)] {
        let (caps, page) = (caps.clone(), body.clone());
        let stub = Stub::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(caps.clone().into_bytes()),
            ("GET", "/eSCL/ScannerStatus") => Reply::xml(idle_status()),
            ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
            ("GET", path) if path.ends_with("/NextDocument") && n == 0 => Reply::new(200)
                .header("Content-Type", "image/png")
                .body(page.clone()),
            _ => Reply::new(404),
        });
        let rec = gray_page_as(&stub.url(), Encoding::Png);
        let got = &rec.complete_pages()[0];
        if kept {
            assert_eq!(got.info.data, PageData::Encoded(Encoding::Png));
            assert_eq!(got.data, body, "passed through untouched");
        } else {
            // An RGB page for a gray request: decoded and converted to gray rows.
            assert!(
                matches!(
                    got.info.data,
                    PageData::Raster {
                        pixel: PixelFormat::Gray8,
                        width: 64,
                        height: Some(16)
                    }
                ),
                "{:?}",
                got.info.data
            );
            assert_eq!(got.data, gray_rows);
        }
        // A page kept as it comes is asked for at the scanner's highest CompressionFactor.
        let post = stub
            .seen()
            .into_iter()
            .find(|s| s.method == "POST")
            .unwrap();
        let xml = String::from_utf8(post.body).unwrap();
        assert!(
            xml.contains("<scan:CompressionFactor>5</scan:CompressionFactor>"),
            "{xml}"
        );
    }
}

#[test]
fn cancel_mid_page_sends_delete_and_ends_at_once() {
    let Some(_) = common::fixtures() else {
        return;
    };
    // A page that never finishes: the headers and a few bytes, then silence.
    let (page, _) = png_page(24, 12);
    let stub = Stub::start(move |r, _| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/eSCL/ScannerCapabilities") => Reply::xml(fixture(BROTHER)),
        ("GET", "/eSCL/ScannerStatus") => Reply::xml(idle_status()),
        ("POST", "/eSCL/ScanJobs") => Reply::new(201).header("Location", JOB),
        ("GET", p) if p.ends_with("/NextDocument") => Reply::new(200)
            .header("Content-Type", "image/png")
            .header("Content-Length", "100000")
            .body(page[..30].to_vec())
            .stall(),
        ("DELETE", _) => Reply::new(200),
        _ => Reply::new(404),
    });
    let cancel = CancelHandle::new();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        c.cancel();
        Instant::now()
    });
    let (o, rec) = common::scan_url(&stub.url(), &gray(Source::Flatbed, None), &cancel);
    let ended = Instant::now();
    let at = t.join().unwrap();
    assert_eq!(o.result, wia::S_FALSE, "{:?}", o.error);
    assert!(rec.complete_pages().is_empty());
    assert!(
        ended.duration_since(at) < Duration::from_secs(1),
        "{:?}",
        ended.duration_since(at)
    );
    assert_eq!(stub.count("DELETE", JOB), 1);
}
