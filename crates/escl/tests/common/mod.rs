//! Shared helpers: the real-device fixtures live in `shared/fixtures/escl`, outside the repo.

#![allow(dead_code)]

use std::path::PathBuf;

/// `/work/shared/fixtures/escl`, found relative to this crate (`crates/escl` -> `../../../shared`).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/escl")
}

/// The bytes of one fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every `*.xml` fixture as (file name, bytes), sorted by name.
pub fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = fixtures_dir();
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
