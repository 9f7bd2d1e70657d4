//! Shared helpers: the real device documents live in `shared/fixtures/wsd`, outside the repo
//! (`SCANWIRE_FIXTURES` overrides the `shared/fixtures` directory).

#![allow(dead_code)]

use std::path::PathBuf;

/// The Kyocera ECOSYS M2040dn GetScannerElementsResponse.
pub const KYOCERA: &str = "kyocera-ecosys-m2040dn-get-scanner-elements-response.xml";

/// `shared/fixtures/wsd`, or `$SCANWIRE_FIXTURES/wsd` (not checked).
pub fn fixtures_dir() -> PathBuf {
    scanwire_testkit::fixtures_path("wsd")
}

/// The bytes of a fixture; `None` (after one line saying so) when the fixtures are absent,
/// a panic when `SCANWIRE_REQUIRE_PEERS=1`.
pub fn fixture(name: &str) -> Option<Vec<u8>> {
    let dir = scanwire_testkit::fixtures_dir("wsd")?;
    Some(std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}
