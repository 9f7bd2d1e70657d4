//! Shared helpers: the real device documents live in `shared/fixtures/wsd`, outside the repo
//! (`SCANWIRE_FIXTURES` overrides the `shared/fixtures` directory).

#![allow(dead_code)]

use std::path::PathBuf;

/// The Kyocera ECOSYS M2040dn GetScannerElementsResponse.
pub const KYOCERA: &str = "kyocera-ecosys-m2040dn-get-scanner-elements-response.xml";

/// `shared/fixtures/wsd`, or `$SCANWIRE_FIXTURES/wsd`.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("SCANWIRE_FIXTURES") {
        Some(dir) => PathBuf::from(dir).join("wsd"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/wsd"),
    }
}

/// The bytes of a fixture; `None` (after one line saying so) when the fixtures are absent,
/// a panic when `SCANWIRE_REQUIRE_PEERS=1`.
pub fn fixture(name: &str) -> Option<Vec<u8>> {
    let path = fixtures_dir().join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("SCANWIRE_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!(
                    "fixture {} is required (SCANWIRE_REQUIRE_PEERS=1): {e}",
                    path.display()
                );
            }
            eprintln!("skipped: fixture {} not readable ({e})", path.display());
            None
        }
    }
}
