//! Auto-crop (WIA_AUTO_CROP_SINGLE): the sheet against a darker lid or feeder background.
//!
//! On the thumbnail: the background level from the border, the paper level from the middle, a
//! mask of what is brighter than halfway, its largest component, the smallest turned rectangle
//! around that; then each side is moved onto the edge found on the full page (sub-pixel).

use crate::geometry::{components, hull, min_area_rect, refine, Mask};
use crate::image::{Image, ImagingError, Region, Thumbnail};

/// Least difference (8-bit luma) between paper and background for a sheet to be found.
pub const MIN_CONTRAST: u8 = 40;

/// The sheet on the page, when a background darker than the paper shows around it; `None`
/// when none does (a feeder page edge to edge, a white lid, an empty platen).
pub fn detect_paper(img: &Image) -> Result<Option<Region>, ImagingError> {
    Ok(detect_paper_in(img, &Thumbnail::of(img)?))
}

/// [`detect_paper`] with a thumbnail already made.
pub fn detect_paper_in(img: &Image, t: &Thumbnail) -> Option<Region> {
    let t = &*t.coarse();
    let (w, h) = (t.width, t.height);
    if w < 16 || h < 16 {
        return None;
    }
    let ring = 2;
    let background = t.percentile_in(0.5, t.border_runs(ring))?;
    // The middle half each way (strictly inside its quarter lines).
    let (x0, x1) = (w / 4 + 1, (3 * w / 4).max(w / 4 + 1));
    let paper = t.percentile_in(0.9, (h / 4 + 1..3 * h / 4).map(|y| (y, x0, x1)))?;
    if paper < background.saturating_add(MIN_CONTRAST) {
        return None;
    }
    let thr = (background as u32 + paper as u32) / 2;
    let mask = Mask {
        width: w as usize,
        height: h as usize,
        bits: t.data.iter().map(|&v| v as u32 > thr).collect(),
    };
    let min_pixels = (w * h / 20) as usize;
    let comps = components(&mask, min_pixels);
    let sheet = comps.first()?;
    let rough = min_area_rect(&hull(sheet))?;
    let f = t.factor as f64;
    let mut region = Region {
        center: (rough.center.0 * f, rough.center.1 * f),
        size: (rough.size.0 * f, rough.size.1 * f),
        angle_deg: rough.angle_deg,
    };
    // Twice: the second pass starts from sides already within a pixel or two.
    for reach in [2.0 * f + 3.0, 4.0] {
        region = refine(img, &region, reach).unwrap_or(region);
    }
    Some(region)
}
