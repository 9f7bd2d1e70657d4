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

use common::{command, sane_dir, stderr};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

    /// One request: status, headers (lower-case names), body.
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(raw.len());
        let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
        let code = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, head, raw[(split + 4).min(raw.len())..].to_vec())
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
    /// What the job's failure says, as our client reports it.
    says: &'static str,
}

const FAULTS: &[Fault] = &[
    Fault {
        name: "segv before the first page",
        set: &["crash-at-page=1", "crash-at-row=0"],
        before: 0,
        says: "SIGSEGV",
    },
    Fault {
        name: "segv mid page",
        set: &["crash-at-page=2"],
        before: 1,
        says: "SIGSEGV",
    },
    Fault {
        name: "segv between pages",
        set: &["crash-at-page=3", "crash-at-row=0"],
        before: 2,
        says: "SIGSEGV",
    },
    Fault {
        name: "abort before the first page",
        set: &["crash-at-page=1", "crash-at-row=0", "crash=abort"],
        before: 0,
        says: "SIGABRT",
    },
    Fault {
        name: "abort mid page",
        set: &["crash-at-page=2", "crash=abort"],
        before: 1,
        says: "SIGABRT",
    },
    Fault {
        name: "abort between pages",
        set: &["crash-at-page=2", "crash-at-row=0", "crash=abort"],
        before: 1,
        says: "SIGABRT",
    },
    Fault {
        name: "panic on the first page",
        set: &["panic-at-page=1"],
        before: 0,
        says: "panic",
    },
    Fault {
        name: "panic mid page 2",
        set: &["panic-at-page=2"],
        before: 1,
        says: "panic",
    },
    Fault {
        name: "hang on the first page",
        set: &["hang-at-page=1"],
        before: 0,
        says: "",
    },
    Fault {
        name: "hang mid page 2",
        set: &["hang-at-page=2"],
        before: 1,
        says: "",
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
        assert_eq!(
            (page.0, page.1),
            (want.0, want.1),
            "{ctx}: page {} size",
            i + 1
        );
        assert!(
            page.2 == want.2,
            "{ctx}: page {} differs from the reference",
            i + 1
        );
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
    let _ = f.says;
}

fn png_gray_or_color_ok(path: &Path) -> bool {
    let file = std::fs::File::open(path).unwrap();
    png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .is_ok_and(|r| r.info().width > 0)
}

/// sane-airscan in a private SANE configuration that knows one device, the served one.
struct AirscanConfig {
    dir: tempfile::TempDir,
}

impl AirscanConfig {
    fn new(url: &str, _work: &Path) -> AirscanConfig {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dll.conf"), "airscan\n").unwrap();
        std::fs::create_dir(dir.path().join("dll.d")).unwrap();
        std::fs::write(
            dir.path().join("airscan.conf"),
            format!("[devices]\n\"Scanwire\" = {url}, eSCL\n[options]\ndiscovery = disable\nws-discovery = off\n"),
        )
        .unwrap();
        AirscanConfig { dir }
    }

    /// `scanimage --batch` from the feeder into `work/s%d.pnm`, gray 75 dpi; at most 60 s.
    fn batch(&self, work: &Path, source: &str) -> Output {
        let mut c = Command::new("scanimage");
        c.env("SANE_CONFIG_DIR", self.dir.path())
            .env_remove("SANE_DEBUG_AIRSCAN")
            .args(["-d", "airscan:e0:Scanwire", "--source", source])
            .args(["--mode", "Gray", "--resolution", "75", "--format=pnm"])
            .arg(format!("--batch={}", work.join("s%d.pnm").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!("scanimage hung: {}", stderr(&o));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

fn peers(airscan: bool) -> bool {
    let scanimage = Command::new("scanimage").arg("--version").output().is_ok();
    if !scanimage {
        scanwire_testkit::peer_missing("needs scanimage (sane-utils) and libsane1");
        return false;
    }
    if airscan
        && ![
            "/usr/lib/x86_64-linux-gnu/sane/libsane-airscan.so.1",
            "/usr/lib/aarch64-linux-gnu/sane/libsane-airscan.so.1",
            "/usr/lib/sane/libsane-airscan.so.1",
        ]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        scanwire_testkit::peer_missing("needs sane-airscan");
        return false;
    }
    true
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
