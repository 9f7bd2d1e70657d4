//! Blank-page detection (WIA_IPS_BLANK_PAGES): the share of the page covered by ink.
//!
//! On the ~100 dpi thumbnail (block means: scanner noise and paper grain average out), inside
//! a margin (hole punches, staples, edge shadows), a pixel is ink when it is darker than 70 % of
//! the paper level (the median: a blank or near-blank page is mostly paper), which faint
//! bleed-through from the other side and paper texture are not; an ink pixel with no ink
//! neighbour (a speck of dust or noise) does not count. A page is blank when that coverage is
//! under a threshold set by the sensitivity.

use crate::image::{Image, ImagingError, Region, Thumbnail};

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
    // The region's own coordinates of thumbnail pixel centres, stepped along each row.
    let (sn, cs) = sheet.angle_deg.to_radians().sin_cos();
    let mut inside = vec![false; w * h];
    for y in 0..h {
        let (u0, v0) = sheet.from_image(0.5 * f, (y as f64 + 0.5) * f);
        let (du, dv) = (cs * f, sn * f);
        for x in 0..w {
            let (u, v) = (u0 + du * x as f64, v0 + dv * x as f64);
            inside[y * w + x] = u.abs() < hu && v.abs() < hv;
        }
    }
    let mut hist = [0u64; 256];
    let mut n = 0u64;
    for (i, &keep) in inside.iter().enumerate() {
        if keep {
            hist[t.data[i] as usize] += 1;
            n += 1;
        }
    }
    let Some(paper) = crate::image::percentile_of(&hist, n, 0.5) else {
        return BlankResult {
            coverage: 0.0,
            paper_level: 255,
            measured: 0,
        };
    };
    let thr = paper as u32 * 70 / 100;
    let ink: Vec<bool> = (0..w * h)
        .map(|i| inside[i] && (t.data[i] as u32) < thr)
        .collect();
    let mut count = 0usize;
    for y in 0..h {
        for x in 0..w {
            if !ink[y * w + x] {
                continue;
            }
            let neighbour = (y.saturating_sub(1)..(y + 2).min(h)).any(|ny| {
                (x.saturating_sub(1)..(x + 2).min(w))
                    .any(|nx| (nx, ny) != (x, y) && ink[ny * w + nx])
            });
            if neighbour {
                count += 1;
            }
        }
    }
    BlankResult {
        coverage: count as f64 / n as f64,
        paper_level: paper,
        measured: n as usize,
    }
}
