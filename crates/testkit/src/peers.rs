//! Skipping a test whose peer is missing, the same way everywhere: one visible line
//! `skipped: <test>: <why>` on stderr (written past the test harness's capture, so it shows for
//! passing tests too, and `scripts/test.sh` collects it for its summary), or a panic when
//! `SCANWIRE_REQUIRE_PEERS=1` (CI), where nothing may be skipped.
//!
//! Fixtures (real device documents) live outside the repository: `SCANWIRE_FIXTURES`, or
//! `<repo>/../shared/fixtures` by default, beside CI's checkout but not beside a fresh clone.

use std::io::Write;
use std::path::PathBuf;

/// Whether a missing peer must fail the test (`SCANWIRE_REQUIRE_PEERS=1`).
pub fn peers_required() -> bool {
    std::env::var("SCANWIRE_REQUIRE_PEERS").as_deref() == Ok("1")
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("(test)")
        .to_string()
}

/// A peer the test needs is missing: panics under `SCANWIRE_REQUIRE_PEERS=1`, otherwise
/// prints `skipped: <test>: <why>`; the caller then returns.
pub fn peer_missing(why: &str) {
    let test = test_name();
    if peers_required() {
        panic!("SCANWIRE_REQUIRE_PEERS=1 but {test} cannot run: {why}");
    }
    // Straight to stderr (the harness captures eprintln! of passing tests), in one write so
    // that the line stays whole among the harness's own output.
    let line = format!("skipped: {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Whether the peer program `program` runs (with `arg`, e.g. `--version`); if not, it is
/// missing ([`peer_missing`]) and the caller returns.
pub fn have(program: &str, arg: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok();
    if !ok {
        peer_missing(&format!("needs `{program}`"));
    }
    ok
}

/// Where fixtures are: `SCANWIRE_FIXTURES`, or `<repo>/../shared/fixtures`. Not checked.
pub fn fixtures_root() -> PathBuf {
    match std::env::var_os("SCANWIRE_FIXTURES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // This crate is <repo>/crates/testkit.
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

/// The fixture directory `sub` (e.g. `escl`), without checking that it is there: for reading
/// single files after [`fixtures_dir`] said it is.
pub fn fixtures_path(sub: &str) -> PathBuf {
    fixtures_root().join(sub)
}

/// The fixture directory `sub`, or `None` after printing
/// `skipped: <test>: fixtures not found at <path> (set SCANWIRE_FIXTURES)` (a panic under
/// `SCANWIRE_REQUIRE_PEERS=1`). Call it once at the start of a test that reads fixtures:
/// `let Some(dir) = fixtures_dir("escl") else { return };`.
pub fn fixtures_dir(sub: &str) -> Option<PathBuf> {
    existing(fixtures_path(sub))
        .map_err(|why| peer_missing(&why))
        .ok()
}

/// `dir` if it is a directory, or why not.
fn existing(dir: PathBuf) -> Result<PathBuf, String> {
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "fixtures not found at {} (set SCANWIRE_FIXTURES)",
            dir.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_beside_the_repository() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
        if std::env::var_os("SCANWIRE_FIXTURES").is_none() {
            assert_eq!(fixtures_root(), root);
        }
        assert!(fixtures_path("escl").ends_with("escl"));
    }

    #[test]
    fn a_missing_directory_says_where_it_looked() {
        let e = existing(PathBuf::from("/no/such/fixtures/escl")).unwrap_err();
        assert_eq!(
            e,
            "fixtures not found at /no/such/fixtures/escl (set SCANWIRE_FIXTURES)"
        );
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(existing(here.clone()), Ok(here));
    }
}
