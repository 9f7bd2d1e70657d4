//! Every prefix of every real fixture, fed to every reader: never a panic, and a document cut
//! before its closing root tag is always refused.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{all_fixtures, kind_of, Kind};
use scanwire_escl::{Document, ScanImageInfo, ScanSettings, ScannerCapabilities, ScannerStatus};

fn sweep<T: Document>(name: &str, bytes: &[u8], own_type: bool) -> usize {
    // The closing root tag ends at the last '>' of the file.
    let complete_at = bytes.iter().rposition(|&b| b == b'>').expect("a '>'") + 1;
    let mut refused = 0;
    for len in 0..=bytes.len() {
        match T::from_xml(&bytes[..len]) {
            Ok(_) => {
                assert!(own_type, "{name}[..{len}] accepted by the wrong reader");
                assert!(
                    len >= complete_at,
                    "{name}[..{len}] accepted although truncated"
                );
            }
            Err(e) => {
                assert!(
                    !own_type || len < complete_at,
                    "{name}[..{len}] refused although complete: {e}"
                );
                // Every error renders to a message naming the problem.
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
    }
    refused
}

fn sweep_all_readers(name: &str, bytes: &[u8]) -> usize {
    let kind = kind_of(name);
    sweep::<ScannerCapabilities>(name, bytes, kind == Kind::Caps)
        + sweep::<ScanSettings>(name, bytes, kind == Kind::Settings)
        + sweep::<ScannerStatus>(name, bytes, kind == Kind::Status)
        + sweep::<ScanImageInfo>(name, bytes, kind == Kind::ImageInfo)
}

#[test]
fn truncated_fixtures_fail_cleanly() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    // ~120 000 prefixes x 4 readers: spread the fixtures over the available cores, largest
    // first, because an unoptimized build parses slowly.
    let mut fixtures = all_fixtures();
    fixtures.sort_by_key(|(_, bytes)| std::cmp::Reverse(bytes.len()));
    let next = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((name, bytes)) = fixtures.get(i) else {
                    break;
                };
                total.fetch_add(sweep_all_readers(name, bytes), Ordering::Relaxed);
            });
        }
    });
    let total = total.into_inner();
    // Each fixture's own reader refuses (nearly) every prefix, the three others all of them.
    let bytes: usize = fixtures.iter().map(|(_, b)| b.len()).sum();
    assert!(
        total > 3 * bytes,
        "swept only {total} refusals over {bytes} bytes"
    );
}

#[test]
fn truncation_error_names_the_open_element() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let bytes = common::fixture("status-hp-pagewide-pro-477dw-idle-adfloaded.xml");
    let cut = bytes.len() / 2;
    let err = ScannerStatus::from_xml(&bytes[..cut])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("truncated") || err.contains("malformed"),
        "{err}"
    );
    let cut = bytes.windows(10).position(|w| w == b"</scan:Job").unwrap();
    let err = ScannerStatus::from_xml(&bytes[..cut])
        .unwrap_err()
        .to_string();
    assert!(err.contains("document ends inside <scan:JobInfo>"), "{err}");
}
