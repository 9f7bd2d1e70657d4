//! Shared test setup: a private SANE configuration (only the `test` backend, with
//! `geometry_max 300.0` so an A4 page fits), the driver, scanimage, a recording application
//! callback and a PNM reader.
//!
//! libsane reads `SANE_CONFIG_DIR` once per process (`sane_init`), so the directory is made
//! once per test binary, before the first SANE call. The test backend lets one handle per
//! device be open, so tests take [`lock`] while they use a device.

#![allow(dead_code)]

use scanwire_core::device::{
    Area, ColorMode, DeviceOption, Driver, Length, PageData, PixelFormat, ScanRequest, Source,
};
use scanwire_core::transfer::{
    self, CancelHandle, Outcome, RecordedPage, Recorder, Script, SharedDevice, TransferOptions,
};
use scanwire_core::wia::{self, WiaTransferParams};
use scanwire_sane::{SaneConfig, SaneDriver};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

pub struct Env {
    pub dir: PathBuf,
    pub driver: SaneDriver,
    pub scanimage: Option<PathBuf>,
    /// `sane:test:0`'s options as listed when the tests start, which `--set` pairs are
    /// parsed against (the test options are listed too, inactive until enabled).
    pub options: Vec<DeviceOption>,
}

/// Why the SANE tests cannot run (each test that needs SANE says so).
fn unavailable(reason: String) -> Result<Env, String> {
    Err(format!("{reason} (install libsane1 and sane-utils)"))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Writes the private configuration: dll.conf = `test`, an empty dll.d, and test.conf with
/// `geometry_max 300.0` (the stock 200 mm silently clips an A4 page).
fn write_config(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("dll.d"))?;
    std::fs::write(dir.join("dll.conf"), "test\n")?;
    let stock = std::fs::read_to_string("/etc/sane.d/test.conf")
        .unwrap_or_else(|_| "number_of_devices 2\n".to_string());
    let mut conf: Vec<String> = stock
        .lines()
        .filter(|l| !l.trim_start().starts_with("geometry_max"))
        .map(str::to_string)
        .collect();
    conf.push("geometry_max 300.0".into());
    std::fs::write(dir.join("test.conf"), conf.join("\n") + "\n")
}

/// Removes configuration directories of earlier test processes that have exited (each test
/// binary needs its directory for as long as it runs, so none removes its own).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("scanwire-sane-tests-") {
            let alive = Path::new("/proc").join(pid).exists();
            if !alive && pid.chars().all(|c| c.is_ascii_digit()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn setup() -> Result<Env, String> {
    remove_stale_dirs();
    let dir = std::env::temp_dir().join(format!("scanwire-sane-tests-{}", std::process::id()));
    if let Err(e) = write_config(&dir) {
        panic!(
            "cannot write the SANE test configuration in {}: {e}",
            dir.display()
        );
    }
    // SCANWIRE_TEST_LIBSANE points the tests at another library (or a missing one, to
    // check that they skip, or fail under SCANWIRE_REQUIRE_PEERS=1).
    let driver = SaneDriver::with_config(SaneConfig {
        config_dir: Some(dir.clone()),
        library: std::env::var_os("SCANWIRE_TEST_LIBSANE").map(PathBuf::from),
        ..Default::default()
    });
    match driver.devices() {
        Err(e) => return unavailable(format!("SANE is not usable: {e}")),
        Ok(list) if !list.iter().any(|d| d.id == "sane:test:0") => {
            return unavailable(format!(
                "the SANE test backend is missing (devices: {list:?})"
            ))
        }
        Ok(_) => {}
    }
    // Before any test holds a device: every test waits in `env()` until this returns.
    let options = match driver.open_device("sane:test:0") {
        Ok(mut d) => d
            .option_list()
            .unwrap_or_else(|e| panic!("sane:test:0 options: {e}")),
        Err(e) => return unavailable(format!("cannot open sane:test:0: {e}")),
    };
    Ok(Env {
        dir,
        driver,
        scanimage: which("scanimage"),
        options,
    })
}

/// The environment, or `None` after a `skipped:` line when SANE or its test backend is
/// missing (a failure under SCANWIRE_REQUIRE_PEERS=1).
pub fn env() -> Option<&'static Env> {
    static ENV: OnceLock<Result<Env, String>> = OnceLock::new();
    ENV.get_or_init(setup)
        .as_ref()
        .map_err(|why| scanwire_testkit::peer_missing(why))
        .ok()
}

/// The environment and scanimage, or `None` (or a failure under SCANWIRE_REQUIRE_PEERS=1).
pub fn env_with_scanimage() -> Option<&'static Env> {
    let e = env()?;
    if e.scanimage.is_none() {
        scanwire_testkit::peer_missing("scanimage is not installed (sane-utils)");
        return None;
    }
    Some(e)
}

/// Serialises device use within this test binary.
pub fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens a device. `transfer::run` drops its reference to a device on the driver thread
/// just after reporting the outcome, so the previous test's handle may still be closing:
/// a busy device is retried for a moment.
pub fn open(env: &Env, id: &str) -> SharedDevice {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match env.driver.open(id) {
            Ok(d) => return transfer::share(d),
            Err(e)
                if e.kind() == scanwire_core::device::DeviceErrorKind::Busy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("open {id}: {e}"),
        }
    }
}

/// A request in millimetres.
pub fn request(
    mode: ColorMode,
    dpi: u32,
    area: (u32, u32, u32, u32),
    options: &[(&str, &str)],
) -> ScanRequest {
    ScanRequest {
        mode,
        resolution: dpi,
        area: Some(Area {
            left: Length::mm(area.0),
            top: Length::mm(area.1),
            width: Length::mm(area.2),
            height: Length::mm(area.3),
        }),
        options: scanwire_testkit::set(&env().expect("SANE is usable").options, options),
        ..Default::default()
    }
}

pub fn feeder(mut r: ScanRequest, pages: Option<u32>) -> ScanRequest {
    r.source = Source::Feeder;
    r.pages = pages;
    r
}

// ---------------------------------------------------------------------------------------
// The application: core's recorder, seen through the views these tests use

pub type Page = RecordedPage;

/// What the application saw.
#[derive(Clone, Debug)]
pub struct Log {
    /// Every page a stream was opened for.
    pub pages: Vec<Page>,
    /// The STATUS messages, in order.
    pub statuses: Vec<WiaTransferParams>,
}

impl Log {
    pub fn complete(&self) -> Vec<&Page> {
        self.pages
            .iter()
            .filter(|p| p.closed == Some(wia::S_OK))
            .collect()
    }
}

pub fn opts() -> TransferOptions {
    TransferOptions::strict().watchdog(Some(Duration::from_secs(60)))
}

/// Runs one transfer through `transfer::run` in strict mode, answering S_FALSE to the n-th
/// STATUS if asked to, and checks what every transfer must satisfy: no verifier violation,
/// the message grammar, END_OF_TRANSFER with the result, whole rows of the announced size.
pub fn scan_with(
    device: &SharedDevice,
    req: &ScanRequest,
    cancel: &CancelHandle,
    cancel_at_status: Option<usize>,
) -> (Outcome, Log) {
    let (app, recording) = Recorder::scripted(Script {
        cancel_at_status,
        ..Script::default()
    });
    let outcome = transfer::run(device, req, Box::new(app), cancel, &opts());
    let rec = recording.snapshot();
    assert!(
        outcome.violations.is_empty(),
        "violations: {:?}",
        outcome.violations
    );
    rec.check_grammar()
        .expect("the application sees WIA's message grammar");
    assert_eq!(
        rec.end_of_transfer(),
        Some(outcome.result),
        "END_OF_TRANSFER with the result"
    );
    let statuses = rec
        .messages()
        .into_iter()
        .filter(|m| m.lMessage == wia::WIA_TRANSFER_MSG_STATUS)
        .collect();
    let log = Log {
        pages: rec.pages,
        statuses,
    };
    for page in log.complete() {
        if let Some(n) = page.info.data.expected_bytes() {
            assert_eq!(page.data.len() as u64, n, "page {} size", page.info.number);
        }
        let bpl = page.info.data.bytes_per_line().unwrap();
        assert_eq!(page.data.len() % bpl, 0, "whole rows");
    }
    (outcome, log)
}

pub fn scan(device: &SharedDevice, req: &ScanRequest) -> (Outcome, Log) {
    scan_with(device, req, &CancelHandle::new(), None)
}

// ---------------------------------------------------------------------------------------
// scanimage and PNM

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pnm {
    pub magic: u8,
    pub width: u32,
    pub height: u32,
    pub maxval: u32,
    pub raster: Vec<u8>,
}

pub fn parse_pnm(bytes: &[u8]) -> Pnm {
    let mut pos = 0;
    let mut token = |want_maxval_space: bool| -> String {
        loop {
            while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if pos < bytes.len() && bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
                continue;
            }
            break;
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let t = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
        if want_maxval_space {
            pos += 1; // exactly one whitespace before the raster
        }
        t
    };
    let magic = token(false);
    let magic = match magic.as_str() {
        "P4" => 4,
        "P5" => 5,
        "P6" => 6,
        m => panic!("not a binary PNM: {m:?}"),
    };
    let width: u32 = token(false).parse().unwrap();
    let height: u32 = token(magic == 4).parse().unwrap();
    let maxval = if magic == 4 {
        1
    } else {
        token(true).parse().unwrap()
    };
    Pnm {
        magic,
        width,
        height,
        maxval,
        raster: bytes[pos..].to_vec(),
    }
}

/// Runs `scanimage -d test:0 --format=pnm ARGS` with the private configuration; returns its
/// stdout.
pub fn scanimage_raw(env: &Env, device: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env.scanimage.as_ref().expect("scanimage"))
        .env("SANE_CONFIG_DIR", &env.dir)
        .args(["-d", device, "--format=pnm"])
        .args(args)
        .output()
        .expect("run scanimage");
    assert!(
        out.status.success(),
        "scanimage {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn scanimage(env: &Env, args: &[&str]) -> Pnm {
    parse_pnm(&scanimage_raw(env, "test:0", args))
}

/// Our page as a PNM would describe it.
pub fn as_pnm(page: &Page) -> Pnm {
    let PageData::Raster {
        pixel,
        width,
        height,
    } = page.info.data
    else {
        panic!("not raster");
    };
    let bpl = pixel.bytes_per_line(width);
    let (magic, maxval) = match pixel {
        PixelFormat::BlackAndWhite1 => (4, 1),
        PixelFormat::Gray8 => (5, 255),
        PixelFormat::Gray16 => (5, 65535),
        PixelFormat::Rgb8 => (6, 255),
        PixelFormat::Rgb16 => (6, 65535),
    };
    Pnm {
        magic,
        width,
        height: height.unwrap_or((page.data.len() / bpl) as u32),
        maxval,
        raster: page.data.clone(),
    }
}

/// Clears the padding bits at the end of each PBM row: they carry no pixels, and the test
/// backend leaves varying garbage in them (Scanwire clears them).
pub fn clear_pbm_padding(p: &mut Pnm) {
    if p.magic != 4 || p.width % 8 == 0 {
        return;
    }
    let bpl = p.width.div_ceil(8) as usize;
    let mask = 0xffu8 << (8 - p.width % 8);
    for row in p.raster.chunks_exact_mut(bpl) {
        row[bpl - 1] &= mask;
    }
}

/// Compares headers, then the raster, reporting the first differing byte.
pub fn assert_same_image(ours: &Pnm, theirs: &Pnm, what: &str) {
    assert_eq!(
        (ours.magic, ours.width, ours.height, ours.maxval),
        (theirs.magic, theirs.width, theirs.height, theirs.maxval),
        "{what}: header (magic, width, height, maxval)"
    );
    assert_eq!(
        ours.raster.len(),
        theirs.raster.len(),
        "{what}: raster size"
    );
    if let Some(i) = ours
        .raster
        .iter()
        .zip(&theirs.raster)
        .position(|(a, b)| a != b)
    {
        panic!(
            "{what}: rasters differ first at byte {i}: ours {} theirs {}",
            ours.raster[i], theirs.raster[i]
        );
    }
}
