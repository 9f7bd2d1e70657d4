//! The detectors against generated pages whose truth is known (`scanwire_imaging::synth`),
//! over hundreds of seeded cases each: deskew residual, crop box, photo boxes, blank matrix.

use scanwire_imaging::synth::{self, Content, PhotosSpec, RegionError, Rng, SheetSpec};
use scanwire_imaging::{
    blank_score, detect_paper, detect_skew, extract, segment_photos, Sensitivity,
};

/// A document sheet with random skew, offset, size, mode and defects.
fn random_sheet(seed: u64, dpi: u32, max_skew: f64) -> SheetSpec {
    let mut rng = Rng::new(seed.wrapping_mul(7919));
    let mut spec = SheetSpec::a4_on_platen(dpi, seed);
    spec.skew_deg = rng.range(-max_skew, max_skew);
    spec.color = rng.chance(0.5);
    spec.paper_mm = (rng.range(140.0, 190.0), rng.range(180.0, 245.0));
    let (s, c) = (
        spec.skew_deg.to_radians().sin().abs(),
        spec.skew_deg.to_radians().cos(),
    );
    let bw = spec.paper_mm.0 * c + spec.paper_mm.1 * s;
    let bh = spec.paper_mm.0 * s + spec.paper_mm.1 * c;
    // Keep the turned sheet at least 4 mm inside the platen.
    let slack_x = ((spec.platen_mm.0 - bw) / 2.0 - 4.0).max(0.0);
    let slack_y = ((spec.platen_mm.1 - bh) / 2.0 - 4.0).max(0.0);
    spec.center_mm = (
        spec.platen_mm.0 / 2.0 + rng.range(-slack_x, slack_x),
        spec.platen_mm.1 / 2.0 + rng.range(-slack_y, slack_y),
    );
    spec.noise = rng.range(1.0, 8.0);
    spec.hole_punch = rng.chance(0.3);
    spec.bleed_through = rng.chance(0.3);
    spec.page_number = rng.chance(0.5);
    spec
}

/// Deskew and crop over 200 sheets at 150 dpi (skews uniformly in −15..15°, random size and
/// place on the platen, gray and colour, noise, texture, holes, bleed-through, page numbers):
/// - deskew: the angle found differs from the true skew by at most 0.1°, so the page deskewed
///   by it is left within 0.1° of straight;
/// - crop: every corner of the sheet found against the lid is within 2 px of the truth
///   (0.34 mm at 150 dpi), its angle within 0.1°.
#[test]
fn deskew_within_a_tenth_of_a_degree_and_crop_within_two_pixels() {
    let (mut worst, mut worst_corner, mut worst_angle): (f64, f64, f64) = (0.0, 0.0, 0.0);
    for seed in 0..200 {
        let spec = random_sheet(seed, 150, 15.0);
        let sheet = synth::sheet(&spec);
        let found = detect_skew(&sheet.image)
            .unwrap_or_else(|e| panic!("seed {seed} skew {:.2}: {e}", spec.skew_deg));
        let residual = (found.angle_deg - spec.skew_deg).abs();
        worst = worst.max(residual);
        assert!(
            residual <= 0.1,
            "seed {seed}: skew {:.3}° found {:.3}° (residual {residual:.3}°, confidence {:.2})",
            spec.skew_deg,
            found.angle_deg,
            found.confidence
        );
        let paper = detect_paper(&sheet.image)
            .expect("valid image")
            .unwrap_or_else(|| panic!("seed {seed}: no sheet found"));
        let e = RegionError::between(&paper, &sheet.paper);
        worst_corner = worst_corner.max(e.corner_px);
        worst_angle = worst_angle.max(e.angle_deg);
        assert!(
            e.within(2.0, 0.1),
            "seed {seed}: truth {:?} found {paper:?}: corner error {:.2} px, angle error {:.3}°",
            sheet.paper,
            e.corner_px,
            e.angle_deg
        );
    }
    eprintln!(
        "200 sheets: worst skew residual {worst:.3}°; crop: worst corner {worst_corner:.2} px, angle {worst_angle:.3}°"
    );
}

/// The straightened page really is straight: deskewed, its skew measures within 0.1°.
#[test]
fn deskewed_page_measures_straight() {
    for seed in 0..20 {
        let mut spec = random_sheet(1000 + seed, 150, 15.0);
        // A feeder page: the whole image is the sheet.
        spec.platen_mm = (210.0, 297.0);
        spec.paper_mm = (210.0, 297.0);
        spec.center_mm = (105.0, 148.5);
        let sheet = synth::sheet(&spec);
        let found = detect_skew(&sheet.image).expect("text page");
        let straight = scanwire_imaging::deskew(&sheet.image, found.angle_deg).expect("deskew");
        let again = detect_skew(&straight).expect("still text");
        assert!(
            again.angle_deg.abs() <= 0.1,
            "seed {seed}: skew {:.2}, after deskew {:.3}",
            spec.skew_deg,
            again.angle_deg
        );
    }
}

/// No sheet is reported where none can be seen: a page edge to edge (feeder, straight) and a
/// white lid around white paper.
#[test]
fn no_sheet_without_a_background() {
    let feeder = synth::sheet(&SheetSpec::a4_feeder(150, 1));
    assert_eq!(detect_paper(&feeder.image).unwrap(), None);
    let mut white = SheetSpec::a4_on_platen(150, 2);
    white.lid = [240, 238, 232];
    assert_eq!(detect_paper(&synth::sheet(&white).image).unwrap(), None);
}

/// Photos: every photo found, none extra, each corner within 3 px at 150 dpi (0.5 mm) and
/// angle within 0.2°, over 100 platens of 1 to 6 photos turned up to ±15°.
#[test]
fn photo_boxes_within_three_pixels_at_150_dpi() {
    let mut worst: f64 = 0.0;
    for seed in 0..100u64 {
        let count = 1 + (seed % 6) as usize;
        let spec = PhotosSpec::on_a4(150, count, 9000 + seed);
        let truth = synth::photos(&spec);
        let found = segment_photos(&truth.image).expect("valid image");
        assert_eq!(
            found.len(),
            count,
            "seed {seed}: found {found:?}\ntruth {:?}",
            truth.photos
        );
        for t in &truth.photos {
            let (best, e) = synth::nearest(t, &found).expect("some");
            worst = worst.max(e.corner_px);
            assert!(
                e.within(3.0, 0.2),
                "seed {seed}: truth {t:?} found {best:?}: {:.2} px, {:.3}°",
                e.corner_px,
                e.angle_deg
            );
        }
    }
    eprintln!("photos: worst corner error {worst:.2} px over 100 platens");
}

/// The blank matrix at the default sensitivity: blank sides with every defect (texture,
/// noise, punched holes, bleed-through, a page number, alone and together) are blank; a page
/// with one line of text, or full of text, is not. Feeder pages and sheets on a platen
/// (measured inside the sheet found), gray and colour, 40 seeds each.
#[test]
fn blank_matrix_has_no_false_positive_or_negative() {
    let s = Sensitivity::default();
    let (mut max_blank, mut min_content): (f64, f64) = (0.0, 1.0);
    for seed in 0..40u64 {
        let mut rng = Rng::new(seed);
        for (i, content) in [Content::Blank, Content::OneLine, Content::Text]
            .into_iter()
            .enumerate()
        {
            for on_platen in [false, true] {
                let mut spec = if on_platen {
                    random_sheet(20_000 + seed * 8 + i as u64, 150, 5.0)
                } else {
                    let mut f = SheetSpec::a4_feeder(150, 30_000 + seed);
                    f.skew_deg = rng.range(-1.0, 1.0);
                    f.color = rng.chance(0.5);
                    f
                };
                spec.content = content;
                spec.texture = true;
                spec.noise = rng.range(2.0, 10.0);
                // Every defect on half the seeds; each one at random on the rest.
                let all = seed % 2 == 0;
                spec.hole_punch = all || rng.chance(0.5);
                spec.bleed_through = all || rng.chance(0.5);
                spec.page_number = all || rng.chance(0.5);
                let sheet = synth::sheet(&spec);
                let result = if on_platen {
                    let t = scanwire_imaging::Thumbnail::of(&sheet.image).unwrap();
                    let region =
                        scanwire_imaging::detect_paper_in(&sheet.image, &t).expect("sheet");
                    scanwire_imaging::blank_score_in(&t, Some(&region))
                } else {
                    blank_score(&sheet.image).unwrap()
                };
                let blank = content == Content::Blank;
                if blank {
                    max_blank = max_blank.max(result.coverage);
                } else {
                    min_content = min_content.min(result.coverage);
                }
                assert_eq!(
                    result.is_blank(s),
                    blank,
                    "seed {seed} {content:?} platen={on_platen} holes={} bleed={} number={} noise={:.1}: coverage {:.5} (threshold {:.5})",
                    spec.hole_punch,
                    spec.bleed_through,
                    spec.page_number,
                    spec.noise,
                    result.coverage,
                    s.threshold()
                );
            }
        }
    }
    eprintln!(
        "blank: most ink on a blank side {:.5}%, least on a page with content {:.5}%, threshold {:.5}%",
        100.0 * max_blank,
        100.0 * min_content,
        100.0 * s.threshold()
    );
}

/// A page with nothing on it has no skew to find, and says so.
#[test]
fn blank_page_has_not_enough_structure() {
    let mut spec = SheetSpec::a4_feeder(150, 3);
    spec.content = Content::Blank;
    spec.bleed_through = true;
    let sheet = synth::sheet(&spec);
    assert!(matches!(
        detect_skew(&sheet.image),
        Err(scanwire_imaging::SkewError::NotEnoughStructure { .. })
    ));
}

/// Crop and deskew in one pass gives the sheet's own size, straight.
#[test]
fn extract_gives_the_sheet_straight() {
    let mut spec = SheetSpec::a4_on_platen(150, 11);
    spec.skew_deg = -7.0;
    spec.center_mm = (110.0, 150.0);
    let sheet = synth::sheet(&spec);
    let region = detect_paper(&sheet.image).unwrap().expect("sheet");
    let out = extract(&sheet.image, &region).unwrap();
    assert!((out.width as f64 - sheet.paper.size.0).abs() <= 2.0);
    assert!((out.height as f64 - sheet.paper.size.1).abs() <= 2.0);
    assert!(detect_skew(&out).unwrap().angle_deg.abs() <= 0.1);
    // No lid left along the edges: the outermost rows and columns are paper.
    let t = scanwire_imaging::Thumbnail::of(&out).unwrap();
    let min_edge = (0..t.width)
        .map(|x| t.at(x, 0))
        .chain((0..t.height).map(|y| t.at(0, y)))
        .min()
        .unwrap();
    assert!(min_edge > 150, "edge luma {min_edge}");
}
