//! CPU time of each stage on the benchmark page (A4 300 dpi colour), averaged over 10 runs,
//! with a plain copy of the page as the machine's yardstick (a loaded machine slows both).
//!
//! `cargo run --release -p scanwire-imaging --example stage_times`

#[path = "../benches/common/finish.rs"]
#[allow(dead_code)]
mod finish;

use scanwire_imaging::{blank_score_in, detect_paper_in, detect_skew_in, extract, Thumbnail};
use std::hint::black_box;

/// This thread's CPU time so far, in nanoseconds.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let page = finish::a4_page();
    let runs = 10;
    let mut total = [0u64; 6];
    for _ in 0..runs {
        let mut lap = cpu_ns();
        let mut tick = |i: usize| {
            let now = cpu_ns();
            total[i] += now - lap;
            lap = now;
        };
        let t = Thumbnail::of(&page).expect("valid page");
        tick(0);
        black_box(detect_skew_in(&t).ok());
        tick(1);
        let sheet = detect_paper_in(&page, &t).expect("the sheet lies on a dark lid");
        tick(2);
        black_box(blank_score_in(&t, Some(&sheet)));
        tick(3);
        black_box(extract(&page, &sheet).expect("in range"));
        tick(4);
        black_box(page.clone());
        tick(5);
    }
    let ms = |i: usize| total[i] as f64 / 1e6 / runs as f64;
    println!(
        "ms CPU per page: thumbnail {:.1}, detect_skew {:.1}, detect_paper {:.1}, blank_score {:.1}, extract {:.1}; sum {:.1} (a copy of the page: {:.1})",
        ms(0),
        ms(1),
        ms(2),
        ms(3),
        ms(4),
        (0..5).map(ms).sum::<f64>(),
        ms(5)
    );
}
