//! Real clients nobody here wrote: `scanimage` with sane-airscan and with sane-backends'
//! escl, each in a private SANE_CONFIG_DIR that names only loopback devices and turns
//! discovery off.

use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceInfo, DeviceOption, ScanRequest,
};
use scanwire_core::transfer::{CancelToken, MiniDrvTransferCallback};
use scanwire_virtual::VirtualDevice;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The SANE backend libraries a client needs.
fn backend_present(name: &str) -> bool {
    [
        "/usr/lib/x86_64-linux-gnu/sane",
        "/usr/lib/aarch64-linux-gnu/sane",
        "/usr/lib/sane",
        "/usr/local/lib/sane",
    ]
    .iter()
    .any(|d| Path::new(d).join(format!("libsane-{name}.so.1")).exists())
}

/// Whether `scanimage` and the `backend` are installed. When they are not: fails if
/// SCANWIRE_REQUIRE_PEERS=1 (CI), otherwise says why the test is skipped and returns false.
pub fn available(backend: &str) -> bool {
    let scanimage = Command::new("scanimage").arg("--version").output().is_ok();
    let lib = backend_present(backend);
    if scanimage && lib {
        return true;
    }
    let why = format!(
        "needs scanimage (sane-utils) and the SANE `{backend}` backend: scanimage {}, libsane-{backend} {}",
        if scanimage { "found" } else { "missing" },
        if lib { "found" } else { "missing" }
    );
    scanwire_testkit::peer_missing(&why);
    false
}

/// A private SANE configuration directory.
pub struct SaneConfig {
    pub dir: tempfile::TempDir,
}

impl SaneConfig {
    /// sane-airscan only, with one device, `Scanwire`, at `url`; discovery off.
    pub fn airscan(url: &str) -> SaneConfig {
        Self::airscan_with(url, "eSCL")
    }

    /// The same, with sane-airscan's WSD client (`url` is the WS-Scan service address).
    pub fn airscan_wsd(url: &str) -> SaneConfig {
        Self::airscan_with(url, "WSD")
    }

    fn airscan_with(url: &str, protocol: &str) -> SaneConfig {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dll.conf"), "airscan\n").unwrap();
        std::fs::create_dir(dir.path().join("dll.d")).unwrap();
        let mut conf = format!(
            "[devices]\n\"Scanwire\" = {url}, {protocol}\n[options]\ndiscovery = disable\nws-discovery = off\n"
        );
        // For diagnosing a client: sane-airscan's protocol trace (every request and reply).
        // One directory per configuration: every process writes the same file names.
        if let Ok(trace) = std::env::var("SCANWIRE_AIRSCAN_TRACE") {
            let name = dir
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            conf.push_str(&format!("[debug]\ntrace = {trace}/{name}\n"));
        }
        std::fs::write(dir.path().join("airscan.conf"), conf).unwrap();
        SaneConfig { dir }
    }

    /// sane-backends' escl only (it is opened by URL; no discovery without Avahi anyway).
    pub fn escl() -> SaneConfig {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dll.conf"), "escl\n").unwrap();
        std::fs::create_dir(dir.path().join("dll.d")).unwrap();
        std::fs::write(dir.path().join("escl.conf"), "").unwrap();
        SaneConfig { dir }
    }

    /// A `scanimage` command using this configuration.
    pub fn scanimage(&self, device: &str) -> Command {
        let mut c = Command::new("scanimage");
        c.env("SANE_CONFIG_DIR", self.dir.path())
            // No debug output into image files (airscan logs to stdout).
            .env_remove("SANE_DEBUG_AIRSCAN")
            .env_remove("SANE_DEBUG_ESCL")
            .arg("-d")
            .arg(device);
        c
    }

    /// Runs scanimage with `args`, writing to `out`; returns its output.
    ///
    /// sane-airscan (0.99.x) can hang in `sane_close` after a complete, correct flatbed
    /// scan: closing requests a cancel while the job's last NextDocument (the 404) is in
    /// flight; when the job finishes before the cancel event is handled, the late cancel
    /// moves the finished state machine to CANCEL_DELAYED, which nothing leaves again
    /// (`device_stm_cancel_event_callback` in airscan-device.c; its trace ends
    /// `DEVICE_STM_DONE->DEVICE_STM_CANCEL_DELAYED` after our 404 and DELETE replies). On
    /// loopback, where the server answers in microseconds, about one flatbed scan in a few
    /// hundred hits it. A run that hangs after writing a complete image therefore counts
    /// as the scan it was (with a warning); a hang before that still fails the test.
    pub fn scan(&self, device: &str, args: &[&str], out: &Path) -> Output {
        let mut c = self.scanimage(device);
        c.args(args).arg("--format=pnm").arg("-o").arg(out);
        match run_limited(c) {
            Ok(o) => o,
            Err(o) if device.starts_with("airscan:") && Pnm::is_complete(out) => {
                eprintln!(
                    "warning: sane-airscan hung in sane_close after a complete page \
                     (its close race); killed it and kept the page"
                );
                use std::os::unix::process::ExitStatusExt;
                Output {
                    status: std::process::ExitStatus::from_raw(0),
                    ..o
                }
            }
            Err(o) => hung(&o),
        }
    }

    /// A file name inside the configuration directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// How long a scanimage run may take: every scan in these tests takes seconds.
const HANG: Duration = Duration::from_secs(60);

/// Runs a command with a time limit ([`HANG`]): a hung client fails the test.
pub fn run(c: Command) -> Output {
    run_limited(c).unwrap_or_else(|o| hung(&o))
}

fn hung(o: &Output) -> ! {
    panic!(
        "scanimage hung for {} s: {}",
        HANG.as_secs(),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a command for at most [`HANG`]; `Err` with its output when it had to be killed.
fn run_limited(mut c: Command) -> Result<Output, Output> {
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Ok(child.wait_with_output().unwrap());
        }
        if start.elapsed() > HANG {
            // SIGKILL: on SIGTERM scanimage cancels the scanner, which hangs the same way.
            let _ = child.kill();
            return Err(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A PNM image as scanimage writes it.
#[derive(Debug)]
pub struct Pnm {
    /// 4 (PBM), 5 (PGM) or 6 (PPM).
    pub kind: u8,
    pub w: u32,
    pub h: u32,
    pub data: Vec<u8>,
}

impl Pnm {
    pub fn read(path: &Path) -> Pnm {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Pnm::parse(&bytes).unwrap_or_else(|| panic!("{}: not a PNM file", path.display()))
    }

    /// Whether `path` holds a whole PNM image (header, and every row of it).
    pub fn is_complete(path: &Path) -> bool {
        std::fs::read(path)
            .ok()
            .and_then(|b| Pnm::parse(&b))
            .is_some_and(|p| p.data.len() == p.bpl() * p.h as usize)
    }

    fn parse(bytes: &[u8]) -> Option<Pnm> {
        let mut pos = 0;
        let mut fields: Vec<String> = Vec::new();
        // Magic, width, height, and (not for PBM) the maximum value.
        let needed = |f: &Vec<String>| {
            if f.first().is_some_and(|m| m == "P4") {
                3
            } else {
                4
            }
        };
        while fields.len() < needed(&fields) {
            while bytes.get(pos)?.is_ascii_whitespace() {
                pos += 1;
            }
            if bytes[pos] == b'#' {
                while *bytes.get(pos)? != b'\n' {
                    pos += 1;
                }
                continue;
            }
            let start = pos;
            while !bytes.get(pos)?.is_ascii_whitespace() {
                pos += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
        }
        pos += 1; // the single whitespace before the data
        let kind = fields[0].as_bytes().get(1)?.wrapping_sub(b'0');
        Some(Pnm {
            kind,
            w: fields[1].parse().ok()?,
            h: fields[2].parse().ok()?,
            data: bytes.get(pos..)?.to_vec(),
        })
    }

    /// Bytes per row.
    pub fn bpl(&self) -> usize {
        match self.kind {
            4 => self.w.div_ceil(8) as usize,
            5 => self.w as usize,
            _ => self.w as usize * 3,
        }
    }
}

/// A minimal HTTP/1.1 client for checks below the router (raw headers, IPv6): status, head
/// and body.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
    let r = scanwire_testkit::http::request(
        addr,
        method,
        path,
        &[("Content-Type", "text/xml")],
        body.as_bytes(),
        Duration::from_secs(30),
    );
    (r.status, r.head, r.body)
}
/// The virtual scanner, recording the requests it gets (so a test can render what the
/// client should have received).
pub struct Recorded {
    inner: VirtualDevice,
    requests: Arc<Mutex<Vec<ScanRequest>>>,
}

impl Recorded {
    /// A virtual scanner that pushes every request it gets onto `requests`.
    pub fn new(requests: Arc<Mutex<Vec<ScanRequest>>>) -> Self {
        Recorded {
            inner: VirtualDevice::new(),
            requests,
        }
    }
}

impl Device for Recorded {
    fn info(&self) -> DeviceInfo {
        self.inner.info()
    }
    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        self.inner.capabilities()
    }
    fn options(&mut self) -> Vec<DeviceOption> {
        self.inner.options()
    }
    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        self.requests.lock().unwrap().push(request.clone());
        self.inner.acquire(request, cb, cancel)
    }
}

/// `scanwire serve` in front of the [`Recorded`] virtual scanner, on `config`'s address with
/// `options` as its `--set`s.
pub struct Served {
    /// The server.
    pub server: scanwire_server::BlockingServer,
    /// Every request the device got, in order.
    pub requests: Arc<Mutex<Vec<ScanRequest>>>,
}

impl Served {
    /// Starts it; panics if it cannot.
    pub fn start(config: scanwire_server::ServerConfig, options: &[(&str, &str)]) -> Served {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let device = scanwire_core::transfer::share(Box::new(Recorded::new(requests.clone())));
        let config = scanwire_server::ServerConfig {
            request_options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..config
        };
        let server =
            scanwire_server::BlockingServer::start(config, vec![("virtual".into(), device)])
                .expect("server starts");
        Served { server, requests }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The last request the device got.
    pub fn last_request(&self) -> ScanRequest {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the device was asked")
    }

    /// The device's eSCL ScannerStatus.
    pub fn status(&self) -> scanwire_escl::ScannerStatus {
        let (code, _, body) = http(self.addr(), "GET", "/eSCL/ScannerStatus", "");
        assert_eq!(code, 200);
        use scanwire_escl::Document;
        scanwire_escl::ScannerStatus::from_xml(&body).unwrap()
    }
}

/// A scanimage run that must have succeeded; its stderr.
pub fn scanimage_ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "scanimage failed ({}): {err}",
        out.status
    );
    err
}

impl SaneConfig {
    /// `scanimage --batch` of `device` from `source` at `dpi` into PNM pages: the run, and
    /// the pages in order (their files removed again).
    pub fn batch(&self, device: &str, source: &str, dpi: &str) -> (Output, Vec<Pnm>) {
        let pattern = self.path("p%d.pnm");
        let mut c = self.scanimage(device);
        c.args(["--source", source, "--resolution", dpi, "--format=pnm"])
            .arg(format!("--batch={}", pattern.display()));
        let out = run(c);
        let mut pages = Vec::new();
        for n in 1.. {
            let f = self.path(&format!("p{n}.pnm"));
            if !f.exists() {
                break;
            }
            pages.push(Pnm::read(&f));
            std::fs::remove_file(f).unwrap();
        }
        (out, pages)
    }
}
