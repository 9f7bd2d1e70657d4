//! The processing of one A4 300 dpi colour page: detection (sheet, skew), deskew and crop in
//! one resampling pass, and the blank check; then each stage alone.
//!
//! `cargo bench -p scanwire-imaging --bench process`

use criterion::{criterion_group, criterion_main, Criterion};
use scanwire_imaging::synth::{self, SheetSpec};
use scanwire_imaging::{
    blank_score_in, deskew, detect_paper_in, detect_skew_in, extract, segment_photos, Image,
    Sensitivity, Thumbnail,
};
use std::hint::black_box;

/// An A4 page scanned at 300 dpi in colour: a text sheet a little smaller than the glass,
/// turned 2.5°, on a dark lid.
fn a4_page() -> Image {
    let mut spec = SheetSpec::a4_on_platen(300, 42);
    spec.color = true;
    spec.platen_mm = (210.0, 297.0);
    spec.paper_mm = (190.0, 275.0);
    spec.center_mm = (106.0, 149.0);
    spec.skew_deg = 2.5;
    spec.page_number = true;
    synth::sheet(&spec).image
}

/// What the page pipeline does to a page with `--deskew --crop --blank skip`.
fn finish(page: &Image) -> (Option<Image>, bool) {
    let t = Thumbnail::of(page).expect("valid page");
    let skew = detect_skew_in(&t).ok();
    match detect_paper_in(page, &t) {
        // The sheet's own edges give the turn to cut it out straight; the text's skew is
        // still measured (and reported by the pipeline).
        Some(sheet) => {
            let blank = blank_score_in(&t, Some(&sheet)).is_blank(Sensitivity::default());
            let out = (!blank).then(|| extract(page, &sheet).expect("in range"));
            (out, blank)
        }
        None => {
            let blank = blank_score_in(&t, None).is_blank(Sensitivity::default());
            let out = (!blank).then(|| match skew {
                Some(s) => deskew(page, s.angle_deg).expect("in range"),
                None => page.clone(),
            });
            (out, blank)
        }
    }
}

fn process(c: &mut Criterion) {
    let page = a4_page();
    let mut g = c.benchmark_group("A4 300 dpi colour");
    g.sample_size(20);
    g.bench_function("detect + deskew + crop + blank check", |b| {
        b.iter(|| black_box(finish(black_box(&page))))
    });
    let t = Thumbnail::of(&page).unwrap();
    let sheet = detect_paper_in(&page, &t).unwrap();
    g.bench_function("thumbnail", |b| {
        b.iter(|| black_box(Thumbnail::of(&page).unwrap()))
    });
    g.bench_function("detect_skew", |b| b.iter(|| black_box(detect_skew_in(&t))));
    g.bench_function("detect_paper", |b| {
        b.iter(|| black_box(detect_paper_in(&page, &t)))
    });
    g.bench_function("blank_score", |b| {
        b.iter(|| black_box(blank_score_in(&t, Some(&sheet))))
    });
    g.bench_function("extract (deskew + crop)", |b| {
        b.iter(|| black_box(extract(&page, &sheet).unwrap()))
    });
    g.finish();

    let photos = synth::photos(&synth::PhotosSpec::on_a4(300, 4, 7)).image;
    let mut g = c.benchmark_group("A4 300 dpi platen, 4 photos");
    g.sample_size(10);
    g.bench_function("segment_photos", |b| {
        b.iter(|| black_box(segment_photos(&photos).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, process);
criterion_main!(benches);
