//! Tesseract's own chatter ("Estimating resolution as N", "Warning: Invalid resolution 0 dpi",
//! "Detected N diacritics") must not reach the terminal while a progress bar is drawn there:
//! the engine sends it to /dev/null through Tesseract's API (`debug_file`), never by closing
//! or redirecting the process's stderr, so Scanwire's own messages and the first engine's
//! Init failure still show.
//!
//! Checked in a child process (this test binary run again for `child_recognizes`), since the
//! chatter is written by C code to the process's stderr, which the test harness cannot
//! capture.

mod common;

use scanwire_ocr::{CancelFlag, PageImage};
use std::process::Command;

const CHILD: &str = "SCANWIRE_OCR_QUIET_CHILD";

/// Run only as the child: recognises pages that make Tesseract talk (no resolution, so it
/// warns and estimates one; a page of noise), then says it is done.
#[test]
fn child_recognizes() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut engine = common::engine().expect("the parent checked Tesseract");
    let Some((page, _)) = common::synthetic_page(&["quiet please", "no chatter here"], 40.0, 900)
    else {
        panic!("the parent checked the font");
    };
    // The same pixels without a resolution: Tesseract warns and estimates one.
    let bare = PageImage { dpi: None, ..page };
    let found = engine.recognize(&bare, &CancelFlag::new()).unwrap();
    let text = scanwire_ocr::text::plain(&found);
    assert!(text.contains("quiet"), "{text}");
    // Speckles at a tiny size: "Empty page", diacritics, too few characters.
    let noise: Vec<u8> = (0..64 * 64u32)
        .map(|i| {
            if i.wrapping_mul(2_654_435_761) >> 29 == 0 {
                0
            } else {
                255
            }
        })
        .collect();
    let speckles = PageImage::gray(64, 64, Some(30), noise).unwrap();
    engine.recognize(&speckles, &CancelFlag::new()).unwrap();
    eprintln!("child: done");
}

#[test]
fn tesseract_says_nothing_on_stderr() {
    if common::engine().is_none() || common::synthetic_page(&["x"], 20.0, 100).is_none() {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_recognizes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{stderr}");
    assert!(
        stderr.contains("child: done"),
        "the child did not run:\n{stderr}"
    );
    for chatter in [
        "Estimating resolution",
        "Invalid resolution",
        "diacritics",
        "Empty page",
        "Warning",
    ] {
        assert!(
            !stderr.contains(chatter),
            "Tesseract's `{chatter}` reached stderr:\n{stderr}"
        );
    }
}
