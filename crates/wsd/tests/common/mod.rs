//! Shared helpers: the real device documents live in `shared/fixtures/wsd`, outside the repo
//! (`SCANWIRE_FIXTURES` overrides the `shared/fixtures` directory).

#![allow(dead_code)]

use std::path::PathBuf;

/// The Kyocera ECOSYS M2040dn GetScannerElementsResponse.
pub const KYOCERA: &str = "kyocera-ecosys-m2040dn-get-scanner-elements-response.xml";

/// `$SCANWIRE_FIXTURES/wsd` (default `<repo>/../shared/fixtures/wsd`), not checked.
pub fn fixtures_dir() -> PathBuf {
    scanwire_testkit::fixtures_path("wsd")
}

/// The bytes of a fixture; `None` (after a `skipped:` line) when the fixtures are absent, a
/// panic when `SCANWIRE_REQUIRE_PEERS=1`.
pub fn fixture(name: &str) -> Option<Vec<u8>> {
    let path = scanwire_testkit::fixtures_dir("wsd")?.join(name);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}
