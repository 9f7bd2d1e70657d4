//! Several photos on the platen (WIA_AUTO_CROP_MULTI, IWiaSegmentationFilter::DetectRegions):
//! what differs from the lid, holes filled, each large enough component's smallest turned
//! rectangle, its sides moved onto the edges found on the full page.

use crate::geometry::{components, fill_holes, hull, min_area_rect, refine, Mask};
use crate::image::{Image, ImagingError, Region, Thumbnail};

/// Least difference from the lid (8-bit luma) that counts as a photo.
pub const MIN_CONTRAST: u8 = 24;
/// Smallest photo found, in inches each way.
pub const MIN_SIDE_INCH: f64 = 0.75;

/// The photos on the page, in reading order (by centre: top to bottom, then left to right,
/// rows grouped within half an inch). Photos that touch are found as one.
pub fn segment_photos(img: &Image) -> Result<Vec<Region>, ImagingError> {
    let t = Thumbnail::of(img)?;
    let t = &*t.coarse();
    let (w, h) = (t.width, t.height);
    if w < 16 || h < 16 {
        return Ok(Vec::new());
    }
    let ring = 2;
    let Some(lid) = t.percentile_in(0.5, t.border_runs(ring)) else {
        return Ok(Vec::new());
    };
    let mut mask = Mask {
        width: w as usize,
        height: h as usize,
        bits: t
            .data
            .iter()
            .map(|&v| v.abs_diff(lid) > MIN_CONTRAST)
            .collect(),
    };
    close(&mut mask, 2);
    fill_holes(&mut mask);
    let f = t.factor as f64;
    let min_side = MIN_SIDE_INCH * t.dpi.0.min(t.dpi.1) as f64 / f;
    let mut out = Vec::new();
    for comp in components(&mask, (min_side * min_side) as usize) {
        let Some(rough) = min_area_rect(&hull(&comp)) else {
            continue;
        };
        if rough.size.0 < min_side || rough.size.1 < min_side {
            continue;
        }
        let mut region = Region {
            center: (rough.center.0 * f, rough.center.1 * f),
            size: (rough.size.0 * f, rough.size.1 * f),
            angle_deg: rough.angle_deg,
        };
        for reach in [2.0 * f + 3.0, 4.0] {
            region = refine(img, &region, reach).unwrap_or(region);
        }
        out.push(region);
    }
    let row = 0.5 * t.dpi.1 as f64;
    out.sort_by(|a, b| {
        let (ra, rb) = ((a.center.1 / row).round(), (b.center.1 / row).round());
        ra.partial_cmp(&rb)
            .expect("finite")
            .then(a.center.0.partial_cmp(&b.center.0).expect("finite"))
    });
    Ok(out)
}

/// Morphological closing (dilate then erode, square of radius `r`): joins a photo's pieces
/// where its content comes near the lid's colour.
fn close(mask: &mut Mask, r: usize) {
    let grow = |m: &Mask, set: bool| -> Vec<bool> {
        let (w, h) = (m.width, m.height);
        // Separable: rows then columns. `set` = dilate; else erode.
        let mut tmp = vec![!set; w * h];
        for y in 0..h {
            for x in 0..w {
                let lo = x.saturating_sub(r);
                let hi = (x + r + 1).min(w);
                tmp[y * w + x] = if set {
                    m.bits[y * w + lo..y * w + hi].iter().any(|&b| b)
                } else {
                    m.bits[y * w + lo..y * w + hi].iter().all(|&b| b)
                };
            }
        }
        let mut out = vec![!set; w * h];
        for y in 0..h {
            for x in 0..w {
                let lo = y.saturating_sub(r);
                let hi = (y + r + 1).min(h);
                out[y * w + x] = if set {
                    (lo..hi).any(|yy| tmp[yy * w + x])
                } else {
                    (lo..hi).all(|yy| tmp[yy * w + x])
                };
            }
        }
        out
    };
    mask.bits = grow(mask, true);
    mask.bits = grow(mask, false);
}
