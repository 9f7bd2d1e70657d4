//! Skew detection: the angle of the text lines, by projection profiles of the ink's lower
//! edges on the ~100 dpi thumbnail, searched coarse to fine.
//!
//! For a trial angle every lower-edge point (an ink pixel with paper below it: the bottoms of
//! letters, which line up on the baselines) is projected onto the direction across the lines,
//! into half-pixel bins; when the angle is right the baselines fall into few bins and the sum
//! of squared bin counts peaks. The peak is located at 0.5°, then 0.1°, then 0.02° steps, and
//! finally between steps by a parabola through the best three.

use crate::image::{Image, ImagingError, Thumbnail};

/// The widest skew searched, either way (degrees).
pub const SEARCH_DEG: f64 = 25.0;

/// What the detector found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkewResult {
    /// Turn of the content, degrees counterclockwise (as [`crate::Region`] counts); pass it to
    /// [`crate::deskew`] to straighten the page.
    pub angle_deg: f64,
    /// 0..1: how much the best angle's profile stands out from the average angle's.
    pub confidence: f64,
}

/// Why no angle was found: the page is left alone and says so.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkewError {
    /// Too few lines (a blank page, a photo, a page of a few marks).
    #[error("not enough structure to find a skew angle ({edge_points} edge points, confidence {confidence:.2})")]
    NotEnoughStructure {
        /// Lower-edge points found.
        edge_points: usize,
        /// Peak prominence found (0..1).
        confidence: f64,
    },
    /// The image itself is unusable.
    #[error(transparent)]
    Image(#[from] ImagingError),
}

/// Fewest lower-edge points worth a search.
const MIN_POINTS: usize = 150;
/// Least prominence of the best angle.
const MIN_CONFIDENCE: f64 = 0.25;
/// Most points used in the coarse search (evenly subsampled beyond).
const COARSE_POINTS: usize = 25_000;

/// The skew of the page's text lines.
pub fn detect_skew(img: &Image) -> Result<SkewResult, SkewError> {
    detect_skew_in(&Thumbnail::of(img)?)
}

/// [`detect_skew`] on a thumbnail already made (the pipeline shares one between detectors).
pub fn detect_skew_in(t: &Thumbnail) -> Result<SkewResult, SkewError> {
    let points = edge_points(t);
    if points.len() < MIN_POINTS {
        return Err(SkewError::NotEnoughStructure {
            edge_points: points.len(),
            confidence: 0.0,
        });
    }
    let diag = ((t.width as f64).hypot(t.height as f64)).ceil() as usize + 4;
    let mut bins = vec![0u32; 4 * (4 * diag + 8)];
    let stride = points.len().div_ceil(COARSE_POINTS);
    let coarse: Vec<(i32, i32)> = points.iter().step_by(stride).copied().collect();

    // Coarse: every 0.5°.
    let steps = (SEARCH_DEG / 0.5).round() as i32;
    let mut scores = Vec::with_capacity(2 * steps as usize + 1);
    for i in -steps..=steps {
        let a = i as f64 * 0.5;
        scores.push((a, score(&coarse, a, &mut bins, diag)));
    }
    let mean = scores.iter().map(|s| s.1).sum::<f64>() / scores.len() as f64;
    let (mut best, best_score) =
        scores
            .iter()
            .copied()
            .fold((0.0, f64::MIN), |b, s| if s.1 > b.1 { s } else { b });
    let confidence = if best_score > 0.0 {
        1.0 - mean / best_score
    } else {
        0.0
    };
    if confidence < MIN_CONFIDENCE {
        return Err(SkewError::NotEnoughStructure {
            edge_points: points.len(),
            confidence,
        });
    }
    // Finer: all points, ±0.6° by 0.1°, then ±0.12° by 0.02°.
    for (half, step) in [(0.6, 0.1), (0.12, 0.02)] {
        best = refine_peak(&points, best, half, step, &mut bins, diag).0;
    }
    let (_, fine) = refine_peak(&points, best, 0.04, 0.02, &mut bins, diag);
    let angle = match fine {
        [l, c, r] if c >= l && c >= r && (l + r - 2.0 * c) < 0.0 => {
            best + 0.02 * 0.5 * (l - r) / (l + r - 2.0 * c)
        }
        _ => best,
    };
    Ok(SkewResult {
        angle_deg: angle.clamp(-SEARCH_DEG, SEARCH_DEG),
        confidence,
    })
}

/// Best angle within `center ± half` by `step`, and the three scores around `center`.
fn refine_peak(
    points: &[(i32, i32)],
    center: f64,
    half: f64,
    step: f64,
    bins: &mut [u32],
    diag: usize,
) -> (f64, [f64; 3]) {
    let n = (half / step).round() as i32;
    let mut best = (center, f64::MIN);
    let mut around = [0.0; 3];
    for i in -n..=n {
        let a = center + i as f64 * step;
        let s = score(points, a, bins, diag);
        if s > best.1 {
            best = (a, s);
        }
        if (-1..=1).contains(&i) {
            around[(i + 1) as usize] = s;
        }
    }
    (best.0, around)
}

/// Sum of squared half-pixel bin counts of the points projected across lines turned by `deg`.
fn score(points: &[(i32, i32)], deg: f64, bins: &mut [u32], diag: usize) -> f64 {
    bins.fill(0);
    let (s, c) = deg.to_radians().sin_cos();
    // r = x sin a + y cos a is constant along a line turned counterclockwise by a; two bins per
    // pixel, 16 fractional bits.
    let ks = (s * 2.0 * 65536.0).round() as i64;
    let kc = (c * 2.0 * 256.0).round() as i64; // y carries 8 fractional bits already
    let off = 2 * diag as i64 + 4;
    let bin = |&(x, y): &(i32, i32)| (((x as i64 * ks + y as i64 * kc) >> 16) + off) as usize;
    // Neighbouring points mostly fall into the same bin: four counters per bin, taken in
    // turn, so one increment does not wait for the previous one.
    let quads = points.chunks_exact(4);
    for p in quads.remainder() {
        bins[4 * bin(p)] += 1;
    }
    for q in quads {
        bins[4 * bin(&q[0])] += 1;
        bins[4 * bin(&q[1]) + 1] += 1;
        bins[4 * bin(&q[2]) + 2] += 1;
        bins[4 * bin(&q[3]) + 3] += 1;
    }
    bins.chunks_exact(4)
        .map(|b| {
            let n = (b[0] + b[1] + b[2] + b[3]) as u64;
            n * n
        })
        .sum::<u64>() as f64
}

/// Lower-edge points (relative to the centre; y in 1/256 pixel): ink with paper directly
/// below, y placed where the luma crosses between the two rows, so lines turned by less than
/// a pixel over their length are not pulled to 0° by the pixel grid.
fn edge_points(t: &Thumbnail) -> Vec<(i32, i32)> {
    let (w, h) = (t.width, t.height);
    if w < 8 || h < 8 {
        return Vec::new();
    }
    let paper = t.percentile_all(0.9).unwrap_or(255) as i32;
    let ink_below = paper * 65 / 100;
    let paper_above = paper * 80 / 100;
    let mid = paper * 72 / 100;
    let (cx, cy) = (w as i32 / 2, h as i32 / 2);
    let mut pts = Vec::new();
    const CHUNK: usize = 16;
    for y in 1..h - 2 {
        let row = &t.data[(y * w) as usize..((y + 1) * w) as usize];
        let below = &t.data[((y + 1) * w) as usize..((y + 2) * w) as usize];
        let mut x0 = 1;
        while x0 < w as usize - 1 {
            let x1 = (x0 + CHUNK).min(w as usize - 1);
            // Most of a page is paper: a chunk without ink is passed over at once.
            if row[x0..x1].iter().fold(u8::MAX, |m, &v| m.min(v)) as i32 >= ink_below {
                x0 = x1;
                continue;
            }
            for x in x0..x1 {
                let (a, b) = (row[x] as i32, below[x] as i32);
                if a < ink_below && b >= paper_above {
                    let frac = (mid - a) * 256 / (b - a).max(1);
                    pts.push((x as i32 - cx, (y as i32 - cy) * 256 + frac));
                }
            }
            x0 = x1;
        }
    }
    pts
}
