//! Shared helpers: the real-device fixtures live in `$SCANWIRE_FIXTURES/escl` (by default
//! `<repo>/../shared/fixtures/escl`), outside the repo. A test that reads them starts with
//! `let Some(_) = fixtures_dir() else { return };`, which skips it visibly when they are absent.

#![allow(dead_code)]

use std::path::PathBuf;

/// The eSCL fixtures, or `None` after a `skipped:` line (a failure under
/// SCANWIRE_REQUIRE_PEERS=1).
pub fn fixtures_dir() -> Option<PathBuf> {
    scanwire_testkit::fixtures_dir("escl")
}

/// The bytes of one fixture (after [`fixtures_dir`] found them).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = scanwire_testkit::fixtures_path("escl").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every `*.xml` fixture as (file name, bytes), sorted by name.
pub fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = scanwire_testkit::fixtures_path("escl");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).expect("reading fixture");
            (name, bytes)
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 19,
        "expected the 19 eSCL fixtures, found {}",
        out.len()
    );
    out
}

/// Which document type a fixture holds, from its file-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Caps,
    Settings,
    Status,
    ImageInfo,
}

pub fn kind_of(name: &str) -> Kind {
    if name.starts_with("caps-") {
        Kind::Caps
    } else if name.starts_with("settings-") {
        Kind::Settings
    } else if name.starts_with("status-") {
        Kind::Status
    } else if name.starts_with("scanimageinfo-") {
        Kind::ImageInfo
    } else {
        panic!("fixture {name} has no known prefix")
    }
}
