//! The processing of one A4 300 dpi colour page: detection (sheet, skew), deskew and crop in
//! one resampling pass, and the blank check; then each stage alone.
//!
//! `cargo bench -p scanwire-imaging --bench process`

use criterion::{criterion_group, criterion_main, Criterion};
use scanwire_imaging::synth;
use scanwire_imaging::{
    blank_score_in, detect_paper_in, detect_skew_in, extract, segment_photos, Thumbnail,
};
use std::hint::black_box;

#[allow(dead_code)] // the example uses the rest
#[path = "common/finish.rs"]
mod finish;
use finish::{a4_page, finish};

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
