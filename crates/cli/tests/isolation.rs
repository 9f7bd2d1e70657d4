//! Drivers in their own processes, end to end: the real `scanwire serve` (each device in a
//! driver host, the default) serving the virtual scanner, whose scripted faults kill or hang
//! its host, beside the SANE `test` backend (real C code, in its own host). Each fault, at
//! each point of a feeder job, is met by two clients, our eSCL driver (`scanwire scan -d
//! http://…`) and sane-airscan's `scanimage`; after each, the pages delivered before are
//! intact, the server says the job was aborted and the device is Idle again within 2 s, the
//! next job on that device runs on a new host, and a job on the other device works.
//!
//! The faults are the virtual scanner's `--set` options, scripted for every job of the
//! device (`--set virtual:NAME=VALUE`): a feeder job meets it at page K every time; the next
//! job that shows the device works is a flatbed job (one page: it never reaches page K ≥ 2).
//! For a fault before the first page, that flatbed job meets it too: it shows the device
//! came back as a new host that fails the same scripted way (not busy, not gone).

mod common;

use common::{command, peers, sane_dir, stderr, AirscanConfig};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `scanwire serve`, stopped with Ctrl-C when dropped.
struct Serve {
    child: Child,
    /// `host:port`.
    addr: String,
    /// Everything it wrote to stderr (read by a thread).
    log: Arc<Mutex<String>>,
}

impl Serve {
    /// `scanwire serve --listen 127.0.0.1:0 -d virtual -d sane:test:0 ARGS` in `dir`.
    fn start(dir: &Path, args: &[&str]) -> Serve {
        let mut child = command(dir)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "-d",
                "virtual",
                "-d",
                "sane:test:0",
            ])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            if !matches!(err.read_line(&mut line), Ok(n) if n > 0) {
                let status = child.wait();
                panic!("scanwire serve ended ({status:?}): {seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.trim().split(" at http://").nth(1) {
                if line.starts_with("serving ") {
                    break rest.split('/').next().unwrap().to_string();
                }
            }
        };
        let log = Arc::new(Mutex::new(seen));
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut rest = String::new();
                let _ = err.read_to_string(&mut rest);
                log.lock().unwrap().push_str(&rest);
            });
        }
        Serve { child, addr, log }
    }

    fn url(&self, device: &str) -> String {
        format!("http://{}/eSCL/{device}", self.addr)
    }

    /// One request: status, head, body.
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
        http(&self.addr, method, path, body)
    }

    /// ScannerStatus of a device (segment), as text.
    fn status(&self, segment: &str) -> String {
        let (code, _, body) = self.http("GET", &format!("/eSCL/{segment}/ScannerStatus"), "");
        assert_eq!(code, 200);
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Waits until the device reads Idle; returns how long that took (panics after `limit`).
    fn wait_idle(&self, segment: &str, limit: Duration) -> Duration {
        let t = Instant::now();
        loop {
            let s = self.status(segment);
            if s.contains("<pwg:State>Idle</pwg:State>") {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < limit,
                "{segment} not Idle after {limit:?}: {s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let t = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if t.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: status, head, body (de-chunked).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut body = raw[(split + 4).min(raw.len())..].to_vec();
    if header(&head, "transfer-encoding").eq_ignore_ascii_case("chunked") {
        body = dechunk(&body);
    }
    (code, head, body)
}

/// A chunked body's data (as far as it goes).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|t| usize::from_str_radix(t.split(';').next()?.trim(), 16).ok());
        let Some(size) = size.filter(|&n| n > 0) else {
            return out;
        };
        let data = &raw[eol + 2..];
        out.extend_from_slice(&data[..size.min(data.len())]);
        if data.len() < size + 2 {
            return out;
        }
        raw = &data[size + 2..];
    }
}

/// The newest job in a ScannerStatus: its state and reasons.
fn newest_job(status: &str) -> String {
    status
        .split("<scan:JobInfo>")
        .nth(1)
        .and_then(|j| j.split("</scan:JobInfo>").next())
        .unwrap_or_default()
        .to_string()
}

/// A gray 8-bit PNG's size and pixels.
fn png_gray(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(
        info.color_type,
        png::ColorType::Grayscale,
        "{}",
        path.display()
    );
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// A PNM (P5) file's size and pixels.
fn pgm(path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if bytes[pos] == b'#' {
            while bytes[pos] != b'\n' {
                pos += 1;
            }
            continue;
        }
        let start = pos;
        while !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
    }
    assert_eq!(fields[0], "P5", "{}", path.display());
    (
        fields[1].parse().unwrap(),
        fields[2].parse().unwrap(),
        bytes[pos + 1..].to_vec(),
    )
}

/// Asserts that a delivered page is the reference page. sane-airscan asks for the area in
/// 1/300 inch and may get a column fewer (637 instead of 638 at 75 dpi): then the top-left
/// part they share must be equal.
fn same_page(page: &(u32, u32, Vec<u8>), want: &(u32, u32, Vec<u8>), airscan: bool, ctx: &str) {
    let (w, h) = (page.0.min(want.0) as usize, page.1.min(want.1) as usize);
    if !airscan {
        assert_eq!((page.0, page.1), (want.0, want.1), "{ctx}: size");
    }
    assert!(
        want.0 - w as u32 <= 1 && want.1 - h as u32 <= 1,
        "{ctx}: {}x{} delivered, {}x{} scanned here",
        page.0,
        page.1,
        want.0,
        want.1
    );
    assert_eq!(page.2.len(), (page.0 * page.1) as usize, "{ctx}: cut short");
    for y in 0..h {
        let a = &page.2[y * page.0 as usize..][..w];
        let b = &want.2[y * want.0 as usize..][..w];
        assert!(a == b, "{ctx}: row {y} differs from the reference");
    }
}

/// The files `prefix1.ext`, `prefix2.ext`, … that exist, in order.
fn numbered(dir: &Path, prefix: &str, ext: &str) -> Vec<PathBuf> {
    (1..)
        .map(|n| dir.join(format!("{prefix}{n}.{ext}")))
        .take_while(|p| p.exists())
        .collect()
}

/// Reference feeder pages from the virtual scanner in this process (no server, no host):
/// gray, 75 dpi, the whole feeder area.
fn reference(dir: &Path, pages: u32) -> Vec<(u32, u32, Vec<u8>)> {
    let o = command(dir)
        .args([
            "scan",
            "--source",
            "adf",
            "--mode",
            "gray",
            "--resolution",
            "75",
            "--pages",
            &pages.to_string(),
            "-q",
            "-o",
            "ref-%d.png",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    numbered(dir, "ref-", "png")
        .iter()
        .map(|p| png_gray(p))
        .collect()
}

/// One scripted fault: the `--set` options for the virtual device, the pages completed before
/// it, and whether a flatbed job meets it too (a fault on page 1).
struct Fault {
    name: &'static str,
    set: &'static [&'static str],
    before: u32,
}

const FAULTS: &[Fault] = &[
    Fault {
        name: "segv before the first page",
        set: &["crash-at-page=1", "crash-at-row=0"],
        before: 0,
    },
    Fault {
        name: "segv mid page",
        set: &["crash-at-page=2"],
        before: 1,
    },
    Fault {
        name: "segv between pages",
        set: &["crash-at-page=3", "crash-at-row=0"],
        before: 2,
    },
    Fault {
        name: "abort before the first page",
        set: &["crash-at-page=1", "crash-at-row=0", "crash=abort"],
        before: 0,
    },
    Fault {
        name: "abort mid page",
        set: &["crash-at-page=2", "crash=abort"],
        before: 1,
    },
    Fault {
        name: "abort between pages",
        set: &["crash-at-page=2", "crash-at-row=0", "crash=abort"],
        before: 1,
    },
    Fault {
        name: "panic on the first page",
        set: &["panic-at-page=1"],
        before: 0,
    },
    Fault {
        name: "panic mid page 2",
        set: &["panic-at-page=2"],
        before: 1,
    },
    Fault {
        name: "hang on the first page",
        set: &["hang-at-page=1"],
        before: 0,
    },
    Fault {
        name: "hang mid page 2",
        set: &["hang-at-page=2"],
        before: 1,
    },
];

/// The watchdog for the virtual device in these tests: a hang is killed after it.
const WATCHDOG: &str = "virtual=2";

/// How long a kill may take to show as Idle: the bound.
const IDLE_WITHIN: Duration = Duration::from_secs(2);

/// Runs one fault scenario; returns what went wrong, if anything (several run at once).
fn scenario(f: &Fault, airscan: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sane_dir(d);
    let reference = reference(d, f.before.max(1));
    let mut args: Vec<String> = vec!["--watchdog".into(), WATCHDOG.into()];
    for s in f.set.iter().chain(&["sheets=4"]) {
        args.push("--set".into());
        args.push(format!("virtual:{s}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let serve = Serve::start(d, &args);
    let ctx = format!(
        "{} ({})",
        f.name,
        if airscan { "scanimage" } else { "eSCL" }
    );

    // 1. The feeder job meets the fault.
    let t = Instant::now();
    let delivered = if airscan {
        let sane = AirscanConfig::new(&serve.url("virtual"), d);
        let o = sane.batch(d, "ADF");
        assert!(
            !o.status.success() || numbered(d, "s", "pnm").len() < 4,
            "{ctx}: {}",
            stderr(&o)
        );
        numbered(d, "s", "pnm")
            .iter()
            .map(|p| pgm(p))
            .collect::<Vec<_>>()
    } else {
        let o = command(d)
            .args([
                "scan",
                "-d",
                &serve.url("virtual"),
                "--source",
                "adf",
                "--mode",
                "gray",
                "--resolution",
                "75",
                "-q",
                "-o",
                "e-%d.png",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{ctx}: {}", stderr(&o));
        numbered(d, "e-", "png")
            .iter()
            .map(|p| png_gray(p))
            .collect()
    };
    let took = t.elapsed();
    assert_eq!(
        delivered.len() as u32,
        f.before,
        "{ctx}: pages delivered before the fault"
    );
    for (i, (page, want)) in delivered.iter().zip(&reference).enumerate() {
        same_page(page, want, airscan, &format!("{ctx}: page {}", i + 1));
    }

    // 2. The server: the job aborted by the system, the device Idle again at once.
    let idle = serve.wait_idle("virtual", IDLE_WITHIN);
    let job = newest_job(&serve.status("virtual"));
    assert!(
        job.contains("<pwg:JobState>Aborted</pwg:JobState>") && job.contains("AbortedBySystem"),
        "{ctx}: {job}"
    );
    eprintln!("{ctx}: fault met in {took:?}, Idle {idle:?} after the client's end");

    // 3. The next job on that device: a new host; a flatbed page unless the fault is on
    // page 1 (then it fails the same way).
    let o = command(d)
        .args([
            "scan",
            "-d",
            &serve.url("virtual"),
            "--mode",
            "gray",
            "--resolution",
            "75",
            "-q",
            "-o",
            "flat.png",
        ])
        .output()
        .unwrap();
    if f.before == 0 {
        assert_eq!(o.status.code(), Some(1), "{ctx}: next job: {}", stderr(&o));
        serve.wait_idle("virtual", IDLE_WITHIN);
    } else {
        assert!(o.status.success(), "{ctx}: next job: {}", stderr(&o));
        let (w, h, _) = png_gray(&d.join("flat.png"));
        assert!(w > 0 && h > 0);
    }

    // 4. The other device of the same server works.
    let o = command(d)
        .args([
            "scan",
            "-d",
            &serve.url("sane-test-0"),
            "--resolution",
            "75",
            "-q",
            "-o",
            "other.png",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{ctx}: other device: {}", stderr(&o));
    assert!(png_gray_or_color_ok(&d.join("other.png")), "{ctx}");
    let log = serve.log();
    assert!(
        !log.contains("panicked at"),
        "{ctx}: the server itself: {log}"
    );
}

fn png_gray_or_color_ok(path: &Path) -> bool {
    let file = std::fs::File::open(path).unwrap();
    png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .is_ok_and(|r| r.info().width > 0)
}

/// Runs every fault for one client, a few scenarios at a time.
fn all_faults(airscan: bool) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    for chunk in FAULTS.chunks(3) {
        std::thread::scope(|s| {
            for f in chunk {
                let failures = failures.clone();
                s.spawn(move || {
                    let r = std::panic::catch_unwind(|| scenario(f, airscan));
                    if let Err(e) = r {
                        let msg = e
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.lock().unwrap().push(format!("{}: {msg}", f.name));
                    }
                });
            }
        });
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fault_through_serve_with_our_escl_client() {
    if !peers(false) {
        return;
    }
    all_faults(false);
}

#[test]
fn every_fault_through_serve_with_sane_airscan() {
    if !peers(true) {
        return;
    }
    all_faults(true);
}

/// A flatbed ScanSettings, gray 75 dpi PNG.
const FLATBED: &str = "<?xml version=\"1.0\"?><scan:ScanSettings xmlns:pwg=\"http://www.pwg.org/schemas/2010/12/sm\" xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\"><pwg:InputSource>Platen</pwg:InputSource><scan:ColorMode>Grayscale8</scan:ColorMode><pwg:DocumentFormat>image/png</pwg:DocumentFormat><scan:XResolution>75</scan:XResolution><scan:YResolution>75</scan:YResolution></scan:ScanSettings>";

/// A header's value (`name` in lower case).
fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

impl Serve {
    /// POST a flatbed job; the status and the job's path.
    fn post(&self, segment: &str) -> (u16, String) {
        let (code, head, _) = self.http("POST", &format!("/eSCL/{segment}/ScanJobs"), FLATBED);
        (code, header(&head, "location"))
    }
}

/// A crash is named to the client (the failing NextDocument's reason); a device that keeps
/// crashing is restarted after a back-off, during which ScannerStatus reads Testing with the
/// reason and a new job gets 503 with Retry-After; after it, jobs are taken again.
#[test]
fn a_crash_is_named_and_a_device_that_keeps_crashing_backs_off() {
    if !peers(false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[
            "--set",
            "virtual:crash-at-page=1",
            "--set",
            "virtual:crash-at-row=0",
        ],
    );
    for failures in 1..=2 {
        let (code, job) = serve.post("virtual");
        assert_eq!(code, 201, "job {failures}");
        let (code, head, body) = serve.http("GET", &format!("{job}/NextDocument"), "");
        assert_eq!(code, 500, "{head}");
        assert!(
            body.is_empty(),
            "error bodies are empty (escl writes them into files)"
        );
        let why = header(&head, "x-scanwire-reason");
        assert!(why.contains("driver crashed: SIGSEGV"), "{why}");
        assert!(
            newest_job(&serve.status("virtual")).contains("AbortedBySystem"),
            "{failures}"
        );
    }
    // Two in a row: the next host starts only after the back-off (1 s).
    let (code, _, body) = serve.http("GET", "/eSCL/virtual/ScannerStatus", "");
    assert_eq!(code, 200);
    let status = String::from_utf8_lossy(&body).into_owned();
    assert!(
        status.contains("<pwg:State>Testing</pwg:State>"),
        "{status}"
    );
    let (_, head, _) = serve.http("GET", "/eSCL/virtual/ScannerStatus", "");
    let why = header(&head, "x-scanwire-reason");
    assert!(
        why.contains("driver crashed: SIGSEGV") && why.contains("restarting in"),
        "{why}"
    );
    let (code, head, _) = serve.http("POST", "/eSCL/virtual/ScanJobs", FLATBED);
    assert_eq!(code, 503, "{head}");
    let retry: u64 = header(&head, "retry-after").parse().unwrap();
    assert!((1..=2).contains(&retry), "{head}");
    // The other device is not affected.
    assert!(serve
        .status("sane-test-0")
        .contains("<pwg:State>Idle</pwg:State>"));
    let (code, job) = serve.post("sane-test-0");
    assert_eq!(code, 201);
    let (code, _, page) = serve.http("GET", &format!("{job}/NextDocument"), "");
    assert_eq!(code, 200);
    assert!(page.starts_with(b"\x89PNG"));
    // After the back-off the device takes a job again (a new host, which crashes again).
    std::thread::sleep(Duration::from_secs(retry));
    serve.wait_idle("virtual", Duration::from_secs(2));
    let (code, _) = serve.post("virtual");
    assert_eq!(code, 201);
}

/// A driver that hangs and ignores the cancel: DELETE frees the device within a few seconds
/// (the host is killed after its cancel grace), the next job is taken, and the other device
/// works all along.
#[test]
fn delete_frees_a_device_whose_driver_hangs() {
    if !peers(false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The default watchdog (120 s): only the DELETE can end it in time.
    let serve = Serve::start(dir.path(), &["--set", "virtual:hang-at-page=1"]);
    let (code, job) = serve.post("virtual");
    assert_eq!(code, 201);
    let fetch = {
        let (addr, job) = (serve.addr.clone(), job.clone());
        std::thread::spawn(move || http(&addr, "GET", &format!("{job}/NextDocument"), "").0)
    };
    std::thread::sleep(Duration::from_millis(800));
    assert!(serve
        .status("virtual")
        .contains("<pwg:State>Processing</pwg:State>"));
    // The other device meanwhile.
    let (code, other) = serve.post("sane-test-0");
    assert_eq!(code, 201);
    let (code, _, page) = serve.http("GET", &format!("{other}/NextDocument"), "");
    assert_eq!(code, 200);
    assert!(page.starts_with(b"\x89PNG"));

    let t = Instant::now();
    let (code, _, _) = serve.http("DELETE", &job, "");
    assert_eq!(code, 200);
    let idle = serve.wait_idle("virtual", Duration::from_secs(6));
    eprintln!("DELETE of a hung job: Idle after {idle:?}");
    let job_info = newest_job(&serve.status("virtual"));
    assert!(
        job_info.contains("<pwg:JobState>Canceled</pwg:JobState>"),
        "{job_info}"
    );
    let _ = fetch.join();
    let (code, job) = serve.post("virtual");
    assert_eq!(code, 201, "the next job is taken after {:?}", t.elapsed());
    let (code, _, _) = serve.http("DELETE", &job, "");
    assert_eq!(code, 200);
}

/// The SANE `test` backend delaying every buffer by 0.2 s (its longest) stands in for a real
/// backend stuck in sane_read: with a watchdog shorter than that, its host is killed, the
/// device is Idle again within 2 s, the job aborted, and the next job is taken by a new host.
#[test]
fn a_stuck_sane_backend_is_killed_by_the_watchdog() {
    if !peers(false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[
            "--set",
            "sane:test:0:read-delay=yes",
            "--set",
            "sane:test:0:read-delay-duration=200000",
            "--watchdog",
            "sane:test:0=0.1",
        ],
    );
    let (code, job) = serve.post("sane-test-0");
    assert_eq!(code, 201);
    let t = Instant::now();
    let (code, head, _) = serve.http("GET", &format!("{job}/NextDocument"), "");
    assert_eq!(code, 500, "{head}");
    let why = header(&head, "x-scanwire-reason");
    assert!(
        why.contains("stopped responding") && why.contains("killed"),
        "{why}"
    );
    let idle = serve.wait_idle("sane-test-0", IDLE_WITHIN);
    eprintln!(
        "stuck SANE backend: killed, Idle {:?} after the job's end",
        idle
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(newest_job(&serve.status("sane-test-0")).contains("AbortedBySystem"));
    // A new host takes the next job (and meets the same delay).
    let (code, job) = serve.post("sane-test-0");
    assert_eq!(code, 201);
    let (code, _, _) = serve.http("GET", &format!("{job}/NextDocument"), "");
    assert_eq!(code, 500);
    // The virtual scanner of the same server works.
    let (code, job) = serve.post("virtual");
    assert_eq!(code, 201);
    let (code, _, page) = serve.http("GET", &format!("{job}/NextDocument"), "");
    assert_eq!(code, 200);
    assert!(page.starts_with(b"\x89PNG"));
}

/// `scan --isolate`: a driver that crashes ends the scan with an error naming the crash, the
/// pages before it kept; without a fault the pages are the in-process scan's.
#[test]
fn scan_isolate_survives_a_crash_and_keeps_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = command(d)
        .args([
            "scan",
            "--isolate",
            "--source",
            "adf",
            "--mode",
            "gray",
            "--resolution",
            "75",
            "--set",
            "crash-at-page=3",
            "-o",
            "c-%d.png",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("SIGSEGV"), "{}", stderr(&o));
    let kept = numbered(d, "c-", "png");
    assert_eq!(kept.len(), 2, "{}", stderr(&o));
    let reference = reference(d, 2);
    for (i, p) in kept.iter().enumerate() {
        same_page(
            &png_gray(p),
            &reference[i],
            false,
            &format!("page {}", i + 1),
        );
    }
}

/// A device that does not exist is refused at start-up with exit status 2 whether the id's
/// driver is unknown (refused before any host starts) or the driver, in its host, says so.
#[test]
fn serve_refuses_a_device_that_does_not_exist_with_status_2() {
    if !peers(false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (id, says) in [
        ("nosuch", "unknown device `nosuch`"),
        ("sane:test:9", "there is no SANE device `test:9`"),
    ] {
        let o = command(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "-d", id])
            .output()
            .unwrap();
        common::exits_with(&o, 2, says);
        assert!(!stderr(&o).contains("serving"), "{}", stderr(&o));
    }
}

/// Serve's driver hosts are its children: one per device by default, none with
/// `--no-isolate`, which serves in process all the same.
#[test]
fn no_isolate_serves_without_hosts() {
    if !peers(false) {
        return;
    }
    let children = |pid: u32| -> usize {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
            .map(|c| c.split_whitespace().count())
            .sum()
    };
    let dir = tempfile::tempdir().unwrap();
    for (args, hosts) in [(&[][..], 2), (&["--no-isolate"][..], 0)] {
        let serve = Serve::start(dir.path(), args);
        assert_eq!(children(serve.child.id()), hosts, "{args:?}");
        for segment in ["virtual", "sane-test-0"] {
            let (code, job) = serve.post(segment);
            assert_eq!(code, 201);
            let (code, _, page) = serve.http("GET", &format!("{job}/NextDocument"), "");
            assert_eq!(code, 200, "{args:?} {segment}");
            assert!(page.starts_with(b"\x89PNG"));
        }
    }
}
