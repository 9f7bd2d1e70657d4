//! Running the `scanwire` binary as a user does, but with this test's own configuration.

#![allow(dead_code)] // each test binary uses a different part

pub mod worker;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `scanwire` in `dir`, with the added-device list under `dir/config` and `serve`'s documents
/// under `dir/state` (never the user's) and a SANE configuration listing only the `test` backend (the system's backends probe USB and
/// the network).
pub fn command(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scanwire"));
    c.current_dir(dir)
        .env("SCANWIRE_CONFIG_DIR", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("SANE_CONFIG_DIR", sane_dir(dir));
    c
}

/// Runs `scanwire ARGS` (see [`command`]) to the end.
pub fn scanwire(args: &[&str], dir: &Path) -> Output {
    command(dir).args(args).output().expect("run scanwire")
}

/// `dir/sane.d`, whose `dll.conf` lists only the `test` backend.
pub fn sane_dir(dir: &Path) -> PathBuf {
    let d = dir.join("sane.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("dll.conf"), "test\n").unwrap();
    d
}

/// What the command wrote to stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that the command exited with `code` and said `needle` on stderr.
pub fn exits_with(o: &Output, code: i32, needle: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert!(
        stderr(o).contains(needle),
        "{needle:?} not in: {}",
        stderr(o)
    );
}

/// Whether our `--ocr` run's stderr says Tesseract or its language data is missing; if so
/// the test is skipped (a failure under SCANWIRE_REQUIRE_PEERS=1) and the caller returns.
pub fn tesseract_missing(err: &str) -> bool {
    let missing = err.contains("could not be loaded") || err.contains("no Tesseract language data");
    if missing {
        scanwire_testkit::peer_missing(&format!("needs Tesseract with English: {err}"));
    }
    missing
}

/// Asserts that `qpdf --check` finds nothing wrong with the PDF.
pub fn qpdf_check(pdf: &Path) {
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// The PDF's text, as `pdftotext` finds it.
pub fn pdftotext(pdf: &Path) -> String {
    let text = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8(text.stdout).unwrap()
}

/// sane-airscan in a private SANE configuration that knows one device, the served one.
pub struct AirscanConfig {
    dir: tempfile::TempDir,
}

impl AirscanConfig {
    pub fn new(url: &str, _work: &Path) -> AirscanConfig {
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
    pub fn batch(&self, work: &Path, source: &str) -> Output {
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

/// Whether scanimage (and with `airscan`, sane-airscan) is installed; says what is missing
/// otherwise (a failure under SCANWIRE_REQUIRE_PEERS=1).
pub fn peers(airscan: bool) -> bool {
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
