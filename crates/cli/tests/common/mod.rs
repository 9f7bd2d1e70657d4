//! Running the `scanwire` binary as a user does, but with this test's own configuration.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
