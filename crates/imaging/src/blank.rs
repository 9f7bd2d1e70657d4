//! Blank-page detection (WIA_IPS_BLANK_PAGES): the share of the page covered by ink.
//!
//! On the ~100 dpi thumbnail (block means: scanner noise and paper grain average out), inside
//! a margin (hole punches, staples, edge shadows), a pixel is ink when it is darker than 70 % of
//! the paper level (the median: a blank or near-blank page is mostly paper), which faint
//! bleed-through from the other side and paper texture are not; an ink pixel with no ink
//! neighbour (a speck of dust or noise) does not count. A page is blank when that coverage is
//! under a threshold set by the sensitivity.

use crate::image::{Histogram, Image, ImagingError, Region, Thumbnail};

/// How readily pages are called blank: 0..=100, higher = more pages blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sensitivity(u8);

impl Sensitivity {
    /// A sensitivity, checked.
    pub fn new(value: u32) -> Result<Self, ImagingError> {
        if value <= 100 {
            Ok(Sensitivity(value as u8))
        } else {
            Err(ImagingError::OutOfRange {
                what: "blank-page sensitivity",
                value: value as f64,
                min: 0.0,
                max: 100.0,
            })
        }
    }

    /// The value, 0..=100.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Coverage below which a page is blank: 0.08 % at 50, ten times less at 0, ten times
    /// more at 100. The default sits midway (on a log scale) between a blank side with a page
    /// number on a small sheet and one line of text on it (BENCHMARKS.md has the figures).
    pub fn threshold(self) -> f64 {
        0.0008 * 10f64.powf((self.0 as f64 - 50.0) / 50.0)
    }
}

impl Default for Sensitivity {
    fn default() -> Self {
        Sensitivity(50)
    }
}

/// The blank check's measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlankResult {
    /// Share (0..1) of the measured area that is ink.
    pub coverage: f64,
    /// Paper level (8-bit luma) the ink was measured against.
    pub paper_level: u8,
    /// Thumbnail pixels measured.
    pub measured: usize,
}

impl BlankResult {
    /// Blank at this sensitivity.
    pub fn is_blank(&self, sensitivity: Sensitivity) -> bool {
        self.coverage < sensitivity.threshold()
    }
}

/// Ignored margin: 18 mm (a punched hole's far side is 15 mm in), at most 15 % of a side.
const MARGIN_MM: f64 = 18.0;

/// How blank the page is.
pub fn blank_score(img: &Image) -> Result<BlankResult, ImagingError> {
    Ok(blank_score_in(&Thumbnail::of(img)?, None))
}

/// [`blank_score`] on a thumbnail, measuring only inside `sheet` (full-resolution
/// coordinates, e.g. from [`crate::detect_paper`]) when given, else the whole page; the margin
/// is taken inside either.
pub fn blank_score_in(t: &Thumbnail, sheet: Option<&Region>) -> BlankResult {
    let f = t.factor as f64;
    let full = Region {
        center: (t.width as f64 * f / 2.0, t.height as f64 * f / 2.0),
        size: (t.width as f64 * f, t.height as f64 * f),
        angle_deg: 0.0,
    };
    let sheet = sheet.copied().unwrap_or(full);
    let margin = |side: f64, dpi: u32| (MARGIN_MM / 25.4 * dpi as f64).min(0.15 * side);
    let hu = sheet.size.0 / 2.0 - margin(sheet.size.0, t.dpi.0);
    let hv = sheet.size.1 / 2.0 - margin(sheet.size.1, t.dpi.1);
    let (w, h) = (t.width as usize, t.height as usize);
    // The region's own coordinates of thumbnail pixel centres, stepped along each row; the
    // measured pixels of a row are one run (the inside of a rectangle), found from where
    // the two coordinates cross their limits and then checked pixel by pixel at its ends.
    let (sn, cs) = sheet.angle_deg.to_radians().sin_cos();
    let (du, dv) = (cs * f, sn * f);
    let spans: Vec<(usize, usize)> = (0..h)
        .map(|y| {
            let (u0, v0) = sheet.from_image(0.5 * f, (y as f64 + 0.5) * f);
            let inside = |x: usize| {
                let (u, v) = (u0 + du * x as f64, v0 + dv * x as f64);
                u.abs() < hu && v.abs() < hv
            };
            let (mut lo, mut hi) = (0.0f64, w as f64);
            for (start, step, half) in [(u0, du, hu), (v0, dv, hv)] {
                if step.abs() < 1e-12 {
                    if start.abs() >= half {
                        hi = lo;
                    }
                } else {
                    let (a, b) = ((-half - start) / step, (half - start) / step);
                    lo = lo.max(a.min(b));
                    hi = hi.min(a.max(b));
                }
            }
            if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
                return (0, 0);
            }
            let mut x0 = (lo.floor().max(0.0) as usize).min(w);
            let mut x1 = (hi.ceil().max(0.0) as usize).min(w).max(x0);
            while x0 > 0 && inside(x0 - 1) {
                x0 -= 1;
            }
            while x0 < x1 && !inside(x0) {
                x0 += 1;
            }
            while x1 < w && inside(x1) {
                x1 += 1;
            }
            while x1 > x0 && !inside(x1 - 1) {
                x1 -= 1;
            }
            (x0, x1)
        })
        .collect();
    let mut hist = Histogram::default();
    for (y, &(x0, x1)) in spans.iter().enumerate() {
        hist.add(&t.data[y * w + x0..y * w + x1]);
    }
    let (hist, n) = hist.finish();
    let Some(paper) = crate::image::percentile_of(&hist, n, 0.5) else {
        return BlankResult {
            coverage: 0.0,
            paper_level: 255,
            measured: 0,
        };
    };
    let thr = (paper as u32 * 70 / 100) as u8;
    // Ink as 0/1 bytes, with a blank row above and below and a blank column each side.
    let iw = w + 2;
    let mut ink = vec![0u8; iw * (h + 2)];
    for (y, &(x0, x1)) in spans.iter().enumerate() {
        let dst = &mut ink[(y + 1) * iw + 1 + x0..(y + 1) * iw + 1 + x1];
        for (d, &v) in dst.iter_mut().zip(&t.data[y * w + x0..y * w + x1]) {
            *d = (v < thr) as u8;
        }
    }
    // An ink pixel counts when one of its eight neighbours is ink too.
    let mut count = 0usize;
    for y in 1..=h {
        let (up, row, down) = (
            &ink[(y - 1) * iw..y * iw],
            &ink[y * iw..(y + 1) * iw],
            &ink[(y + 1) * iw..(y + 2) * iw],
        );
        count += (1..iw - 1)
            .map(|x| {
                let around = up[x - 1]
                    | up[x]
                    | up[x + 1]
                    | row[x - 1]
                    | row[x + 1]
                    | down[x - 1]
                    | down[x]
                    | down[x + 1];
                (row[x] & around) as usize
            })
            .sum::<usize>();
    }
    BlankResult {
        coverage: count as f64 / n as f64,
        paper_level: paper,
        measured: n as usize,
    }
}
