//! What the page pipeline does to one page with `--deskew --crop --blank skip`, shared by the
//! criterion bench and the `process_page` example (which `bench/processing-vs-unpaper.sh` runs).

use scanwire_imaging::synth::{self, SheetSpec};
use scanwire_imaging::{
    blank_score_in, deskew, detect_paper_in, detect_skew_in, extract, Image, Region, Sensitivity,
    SkewResult, Thumbnail,
};

/// The benchmark page: an A4 scan at 300 dpi in colour, a text sheet a little smaller than the
/// glass, turned 2.5°, on a dark lid.
pub fn a4_page() -> Image {
    let mut spec = SheetSpec::a4_on_platen(300, 42);
    spec.color = true;
    spec.platen_mm = (210.0, 297.0);
    spec.paper_mm = (190.0, 275.0);
    spec.center_mm = (106.0, 149.0);
    spec.skew_deg = 2.5;
    spec.page_number = true;
    synth::sheet(&spec).image
}

/// What was found and what is kept.
pub struct Finished {
    /// The text's skew, when there is enough text.
    pub skew: Option<SkewResult>,
    /// The sheet, when a background shows around it.
    pub sheet: Option<Region>,
    /// Ink coverage of the sheet (or page).
    pub coverage: f64,
    /// Blank at the default sensitivity.
    pub blank: bool,
    /// The page to keep (none when blank).
    pub page: Option<Image>,
}

/// Detection (one thumbnail: sheet, skew), deskew and crop (one resampling pass), blank check.
pub fn finish(page: &Image) -> Finished {
    let t = Thumbnail::of(page).expect("valid page");
    let skew = detect_skew_in(&t).ok();
    let sheet = detect_paper_in(page, &t);
    let score = blank_score_in(&t, sheet.as_ref());
    let blank = score.is_blank(Sensitivity::default());
    // The sheet's own edges give the turn to cut it out straight; without a sheet the text's
    // skew turns the whole page.
    let out = (!blank).then(|| match (&sheet, &skew) {
        (Some(s), _) => extract(page, s).expect("in range"),
        (None, Some(k)) => deskew(page, k.angle_deg).expect("in range"),
        (None, None) => page.clone(),
    });
    Finished {
        skew,
        sheet,
        coverage: score.coverage,
        blank,
        page: out,
    }
}
