//! Test sheets with known truth.
//!
//! Pages as a scanner sees them, generated from a seed: a document-like sheet (lines of
//! letter-like strokes in paragraphs; not real font text, but [`sheet_printed`] takes any
//! print, e.g. real text a caller set in a font) placed with a given skew and offset on a lid or
//! feeder background, blank sides with paper texture, scanner noise, punched holes,
//! bleed-through from the other side and a page number; and several photos at different
//! angles on the glass. Each comes with the truth the detectors must find: the sheet's and the
//! photos' [`Region`]s (which carry the skew). The tests here and the virtual scanner's
//! `--set skew=… paper=… blank-sheets=… photos=… content=…` pages use them.

use crate::image::{luma8, Image, Rect, Region};
use scanwire_core::device::PixelFormat;

/// A small deterministic generator (SplitMix64), so a seed names a page.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.range(0.0, 1.0) < p
    }

    /// Roughly normal, mean 0, deviation 1 (sum of four uniforms).
    pub fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.range(-1.0, 1.0)).sum();
        s * (3.0f64 / 4.0).sqrt()
    }
}

/// What is printed on the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Paragraphs of text-like lines over the whole text area.
    Text,
    /// One line of text somewhere in the text area.
    OneLine,
    /// Nothing.
    Blank,
}

/// A sheet to generate. Lengths in millimetres; the image is the platen (or the feeder's scan
/// area), the sheet lies on it centred at `center_mm`, turned by `skew_deg` counterclockwise.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetSpec {
    /// Resolution.
    pub dpi: u32,
    /// RGB (else 8-bit gray).
    pub color: bool,
    /// Size of the scanned area (the image).
    pub platen_mm: (f64, f64),
    /// Size of the sheet.
    pub paper_mm: (f64, f64),
    /// Where the sheet's centre lies on the platen.
    pub center_mm: (f64, f64),
    /// Turn of the sheet, degrees counterclockwise.
    pub skew_deg: f64,
    /// What is printed.
    pub content: Content,
    /// Paper grain and uneven tone.
    pub texture: bool,
    /// Scanner noise, deviation in 8-bit levels.
    pub noise: f64,
    /// Two punched holes near the left edge (they show the background).
    pub hole_punch: bool,
    /// Faint mirrored text from the other side.
    pub bleed_through: bool,
    /// A small page number near the bottom.
    pub page_number: bool,
    /// Lines flush at both margins and no short paragraph ends (a text block with straight
    /// sides, which edge-scanning deskewers such as unpaper need).
    pub justified: bool,
    /// Background colour (lid or feeder).
    pub lid: [u8; 3],
    /// Paper colour.
    pub paper: [u8; 3],
    /// The seed for everything random.
    pub seed: u64,
}

impl SheetSpec {
    /// An A4 text page on an A4-and-a-bit platen with a dark lid, at `dpi`, centred, straight.
    pub fn a4_on_platen(dpi: u32, seed: u64) -> Self {
        SheetSpec {
            dpi,
            color: false,
            platen_mm: (216.0, 297.0),
            paper_mm: (180.0, 250.0),
            center_mm: (108.0, 148.5),
            skew_deg: 0.0,
            content: Content::Text,
            texture: true,
            noise: 4.0,
            hole_punch: false,
            bleed_through: false,
            page_number: false,
            justified: false,
            lid: [48, 50, 52],
            paper: [238, 236, 230],
            seed,
        }
    }

    /// A feeder page: the scan area is the sheet (A4) with a dark background only where the
    /// sheet, turned, leaves it uncovered.
    pub fn a4_feeder(dpi: u32, seed: u64) -> Self {
        SheetSpec {
            platen_mm: (210.0, 297.0),
            paper_mm: (210.0, 297.0),
            center_mm: (105.0, 148.5),
            lid: [30, 30, 30],
            ..Self::a4_on_platen(dpi, seed)
        }
    }
}

/// A generated sheet and its truth.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The page as scanned.
    pub image: Image,
    /// Where the sheet lies, in image pixels (its angle is the skew).
    pub paper: Region,
}

/// Photos on the glass to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotosSpec {
    /// Resolution.
    pub dpi: u32,
    /// Size of the platen.
    pub platen_mm: (f64, f64),
    /// How many photos (1..=6), laid out two per row.
    pub count: usize,
    /// Largest turn of a photo either way, degrees.
    pub max_angle_deg: f64,
    /// Lid colour.
    pub lid: [u8; 3],
    /// Scanner noise, deviation in 8-bit levels.
    pub noise: f64,
    /// The seed.
    pub seed: u64,
}

impl PhotosSpec {
    /// `count` photos on an A4 platen with a white lid.
    pub fn on_a4(dpi: u32, count: usize, seed: u64) -> Self {
        PhotosSpec {
            dpi,
            platen_mm: (216.0, 297.0),
            count,
            max_angle_deg: 15.0,
            lid: [246, 246, 244],
            noise: 3.0,
            seed,
        }
    }
}

/// Generated photos and their truth, in reading order.
#[derive(Debug, Clone)]
pub struct Photos {
    /// The platen as scanned (RGB).
    pub image: Image,
    /// Each photo's place.
    pub photos: Vec<Region>,
}

/// How far a region found is from its truth, in the two numbers the detectors' tolerances
/// are stated in (the tests here and the virtual scanner's check the same way).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionError {
    /// Largest distance between corresponding corners, pixels.
    pub corner_px: f64,
    /// Difference of the angles, degrees.
    pub angle_deg: f64,
}

impl RegionError {
    /// The error of `found` against `truth`.
    pub fn between(found: &Region, truth: &Region) -> RegionError {
        let corner_px = found
            .corners()
            .iter()
            .zip(truth.corners().iter())
            .map(|(p, q)| (p.0 - q.0).hypot(p.1 - q.1))
            .fold(0.0, f64::max);
        RegionError {
            corner_px,
            angle_deg: (found.angle_deg - truth.angle_deg).abs(),
        }
    }

    /// Whether both are within their tolerances.
    pub fn within(&self, corner_px: f64, angle_deg: f64) -> bool {
        self.corner_px <= corner_px && self.angle_deg <= angle_deg
    }
}

/// The region of `found` nearest `truth` (by corner distance) and its error; None when
/// nothing was found.
pub fn nearest<'a>(truth: &Region, found: &'a [Region]) -> Option<(&'a Region, RegionError)> {
    found
        .iter()
        .map(|f| (f, RegionError::between(f, truth)))
        .min_by(|a, b| a.1.corner_px.total_cmp(&b.1.corner_px))
}

fn px(mm: f64, dpi: u32) -> f64 {
    mm * dpi as f64 / 25.4
}

/// An unturned picture with coverage (alpha), composited onto the platen turned.
struct Layer {
    w: usize,
    h: usize,
    rgb: Vec<[u8; 3]>,
    alpha: Vec<u8>,
}

impl Layer {
    fn new(w: usize, h: usize, rgb: [u8; 3]) -> Self {
        Layer {
            w,
            h,
            rgb: vec![rgb; w * h],
            alpha: vec![255; w * h],
        }
    }

    /// Multiplies the colour in a millimetre rectangle by `level / 255`.
    fn darken_rect(&mut self, dpi: u32, x0: f64, y0: f64, x1: f64, y1: f64, level: u8) {
        let (a, b) = (
            px(x0, dpi).round().max(0.0) as usize,
            px(y0, dpi).round().max(0.0) as usize,
        );
        let c = (px(x1, dpi).round().max(0.0) as usize).min(self.w);
        let d = (px(y1, dpi).round().max(0.0) as usize).min(self.h);
        // At least one pixel each way, so thin strokes survive low resolutions.
        let (c, d) = (c.max((a + 1).min(self.w)), d.max((b + 1).min(self.h)));
        for y in b..d {
            for x in a..c {
                let p = &mut self.rgb[y * self.w + x];
                for ch in p.iter_mut() {
                    *ch = (*ch as u32 * level as u32 / 255) as u8;
                }
            }
        }
    }

    fn sample(&self, x: f64, y: f64) -> Option<([f64; 3], f64)> {
        // Index space with a one-pixel transparent border, so edges come out anti-aliased.
        let fx = x - 0.5;
        let fy = y - 0.5;
        if fx < -1.0 || fy < -1.0 || fx >= self.w as f64 || fy >= self.h as f64 {
            return None;
        }
        // floor(), as a cast: both are at least −1 here (a cast is not a libm call).
        let x0 = (fx + 1.0) as isize - 1;
        let y0 = (fy + 1.0) as isize - 1;
        let (wx, wy) = (fx - x0 as f64, fy - y0 as f64);
        let weights = [
            (1.0 - wx) * (1.0 - wy),
            wx * (1.0 - wy),
            (1.0 - wx) * wy,
            wx * wy,
        ];
        // Inside the layer with all four neighbours opaque (most of a sheet or photo): the
        // same sums as below, without the checks.
        if x0 >= 0 && y0 >= 0 && (x0 as usize) + 1 < self.w && (y0 as usize) + 1 < self.h {
            let i = y0 as usize * self.w + x0 as usize;
            let idx = [i, i + 1, i + self.w, i + self.w + 1];
            if idx.iter().all(|&j| self.alpha[j] == 255) {
                let mut rgb = [0.0; 3];
                let mut a = 0.0;
                for (&j, &wgt) in idx.iter().zip(&weights) {
                    a += wgt;
                    for (acc, &c) in rgb.iter_mut().zip(&self.rgb[j]) {
                        *acc += c as f64 * wgt;
                    }
                }
                return Some(([rgb[0] / a, rgb[1] / a, rgb[2] / a], a));
            }
        }
        let mut rgb = [0.0; 3];
        let mut a = 0.0;
        for (dx, dy, wgt) in [
            (0, 0, (1.0 - wx) * (1.0 - wy)),
            (1, 0, wx * (1.0 - wy)),
            (0, 1, (1.0 - wx) * wy),
            (1, 1, wx * wy),
        ] {
            let (xx, yy) = (x0 + dx, y0 + dy);
            if xx < 0 || yy < 0 || xx >= self.w as isize || yy >= self.h as isize {
                continue;
            }
            let i = yy as usize * self.w + xx as usize;
            let al = self.alpha[i] as f64 / 255.0 * wgt;
            a += al;
            for (acc, &c) in rgb.iter_mut().zip(&self.rgb[i]) {
                *acc += c as f64 * al;
            }
        }
        if a <= 0.0 {
            return None;
        }
        Some(([rgb[0] / a, rgb[1] / a, rgb[2] / a], a))
    }

    /// Composites row `y` of the platen: the layer placed as `place` says (`rect`: its
    /// bounding rectangle on the platen) over `row` (RGB f32, the platen's width).
    fn composite_row(&self, row: &mut [[f32; 3]], y: usize, place: &Region, rect: &Rect) {
        if y < rect.y as usize || y > (rect.y + rect.height) as usize {
            return;
        }
        let width = row.len();
        // Region::from_image, with the angle's sine and cosine taken once.
        let (s, c) = place.angle_deg.to_radians().sin_cos();
        let (hw, hh) = (self.w as f64 / 2.0, self.h as f64 / 2.0);
        let dy = y as f64 + 0.5 - place.center.1;
        let end = ((rect.x + rect.width) as usize + 1).min(width);
        let start = (rect.x as usize).min(end);
        for (x, o) in (start..end).zip(&mut row[start..end]) {
            let dx = x as f64 + 0.5 - place.center.0;
            let (u, v) = (dx * c - dy * s, dx * s + dy * c);
            let lx = u + hw;
            let ly = v + hh;
            if let Some((rgb, a)) = self.sample(lx, ly) {
                for k in 0..3 {
                    o[k] = (a * rgb[k] + (1.0 - a) * o[k] as f64) as f32;
                }
            }
        }
    }
}

/// Draws lines of letter-like marks: stems, bars, ascenders, descenders, in words.
/// `y_mm` is the first baseline; returns nothing, draws `lines` lines.
#[allow(clippy::too_many_arguments)]
fn draw_text(
    layer: &mut Layer,
    dpi: u32,
    rng: &mut Rng,
    x0: f64,
    x1: f64,
    y_mm: f64,
    lines: usize,
    level: u8,
    paragraph_every: usize,
    justified: bool,
) {
    let (xh, asc, desc, stroke, pitch) = (2.0, 3.0, 0.9, 0.35, 5.0);
    let mut y = y_mm;
    for line in 0..lines {
        let last_of_paragraph =
            paragraph_every > 0 && line % paragraph_every == paragraph_every - 1;
        let end = if justified {
            x1
        } else if last_of_paragraph {
            x0 + (x1 - x0) * rng.range(0.3, 0.8)
        } else {
            x1 - rng.range(0.0, 6.0)
        };
        let mut x = x0;
        while x < end {
            let letters = (rng.range(2.0, 9.0)) as usize;
            for _ in 0..letters {
                let wl = rng.range(1.4, 2.2);
                if x + wl > end {
                    break;
                }
                let top = if rng.chance(0.25) { y - asc } else { y - xh };
                let bottom = if rng.chance(0.12) { y + desc } else { y };
                layer.darken_rect(dpi, x, top, x + stroke, bottom, level);
                if rng.chance(0.6) {
                    layer.darken_rect(dpi, x + wl - stroke - 0.3, y - xh, x + wl - 0.3, y, level);
                }
                if rng.chance(0.5) {
                    layer.darken_rect(dpi, x, y - xh, x + wl - 0.3, y - xh + stroke, level);
                }
                if rng.chance(0.5) {
                    layer.darken_rect(dpi, x, y - stroke, x + wl - 0.3, y, level);
                }
                x += wl;
            }
            x += rng.range(1.5, 2.5);
        }
        if justified {
            // A last stem flush with the margin, as a justified line's last letter is.
            layer.darken_rect(dpi, x1 - stroke, y - xh, x1, y, level);
        }
        y += pitch;
        if last_of_paragraph {
            y += pitch;
        }
    }
}

/// The sheet's size in pixels (width, height) at the spec's resolution: the size of the
/// print [`sheet_printed`] takes.
pub fn paper_pixels(spec: &SheetSpec) -> (u32, u32) {
    let side = |mm: f64| px(mm, spec.dpi).round().max(1.0) as u32;
    (side(spec.paper_mm.0), side(spec.paper_mm.1))
}

/// A generated sheet (see [`SheetSpec`]).
pub fn sheet(spec: &SheetSpec) -> Sheet {
    sheet_printed(spec, None)
}

/// A generated sheet with `print` (8-bit gray or RGB, sized [`paper_pixels`]; 255 = no ink)
/// printed on the paper as ink multiplies it, over the texture and bleed-through and under
/// the spec's own content, holes and noise. Pixels of a print of another size line up from
/// the sheet's top-left corner; the rest of either is left as it is.
pub fn sheet_printed(spec: &SheetSpec, print: Option<&Image>) -> Sheet {
    let mut rng = Rng::new(spec.seed);
    let dpi = spec.dpi;
    let (pw, ph) = paper_pixels(spec);
    let (pw, ph) = (pw as usize, ph as usize);
    let mut layer = Layer::new(pw, ph, spec.paper);
    let (wmm, hmm) = spec.paper_mm;

    if spec.texture {
        // Uneven tone on a 3 mm grid, smoothly interpolated, plus fibre-scale grain.
        let cell = px(3.0, dpi).max(2.0);
        let gw = (pw as f64 / cell).ceil() as usize + 2;
        let gh = (ph as f64 / cell).ceil() as usize + 2;
        let grid: Vec<f64> = (0..gw * gh).map(|_| rng.range(-0.025, 0.025)).collect();
        let mut grain_noise = Noise::new(&mut rng);
        for y in 0..ph {
            for x in 0..pw {
                let (gx, gy) = (x as f64 / cell, y as f64 / cell);
                let (ix, iy) = (gx as usize, gy as usize);
                let (fx, fy) = (gx - ix as f64, gy - iy as f64);
                let g = |i: usize, j: usize| grid[j * gw + i];
                let t = g(ix, iy) * (1.0 - fx) * (1.0 - fy)
                    + g(ix + 1, iy) * fx * (1.0 - fy)
                    + g(ix, iy + 1) * (1.0 - fx) * fy
                    + g(ix + 1, iy + 1) * fx * fy;
                let grain = 0.015 * grain_noise.next(&mut rng) / 1.5;
                let p = &mut layer.rgb[y * pw + x];
                for ch in p.iter_mut() {
                    *ch = (*ch as f64 * (1.0 + t + grain)).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    let (left, right, top) = (25.0, wmm - 25.0, 30.0);
    if spec.bleed_through {
        // The other side's text, mirrored left to right, at 12 % of its contrast.
        let mut back = Layer::new(pw, ph, [255; 3]);
        let lines = ((hmm - 60.0) / 5.5) as usize;
        draw_text(
            &mut back, dpi, &mut rng, left, right, top, lines, 20, 7, false,
        );
        for y in 0..ph {
            for x in 0..pw {
                let b = back.rgb[y * pw + (pw - 1 - x)][0] as f64 / 255.0;
                let f = 1.0 - 0.12 * (1.0 - b);
                let p = &mut layer.rgb[y * pw + x];
                for ch in p.iter_mut() {
                    *ch = (*ch as f64 * f) as u8;
                }
            }
        }
    }
    if let Some(print) = print {
        apply_print(&mut layer, print);
    }
    let ink = 28;
    match spec.content {
        Content::Text => {
            let lines = ((hmm - 60.0) / 5.7) as usize;
            let every = if spec.justified { 0 } else { 7 };
            draw_text(
                &mut layer,
                dpi,
                &mut rng,
                left,
                right,
                top,
                lines,
                ink,
                every,
                spec.justified,
            );
        }
        Content::OneLine => {
            let y = rng.range(40.0, hmm - 40.0);
            let len = rng.range(60.0, right - left);
            let x = rng.range(left, right - len);
            draw_text(
                &mut layer,
                dpi,
                &mut rng,
                x,
                x + len,
                y,
                1,
                ink,
                0,
                spec.justified,
            );
        }
        Content::Blank => {}
    }
    if spec.page_number {
        // Two digit-like glyphs 3.5 mm tall, 20 mm above the bottom edge.
        let (x, y) = (wmm / 2.0 - 2.0, hmm - 20.0);
        for d in 0..2 {
            let gx = x + d as f64 * 2.4;
            layer.darken_rect(dpi, gx, y - 3.5, gx + 0.35, y, ink);
            layer.darken_rect(dpi, gx, y - 3.5, gx + 1.8, y - 3.15, ink);
            layer.darken_rect(dpi, gx, y - 0.35, gx + 1.8, y, ink);
        }
    }
    if spec.hole_punch {
        // Two 6 mm holes, centres 12 mm from the left edge, 80 mm apart (ISO 838).
        let r = px(3.0, dpi);
        for cy_mm in [hmm / 2.0 - 40.0, hmm / 2.0 + 40.0] {
            let (cx, cy) = (px(12.0, dpi), px(cy_mm, dpi));
            let (x0, x1) = (
                (cx - r - 1.0).max(0.0) as usize,
                ((cx + r + 2.0) as usize).min(pw),
            );
            let (y0, y1) = (
                (cy - r - 1.0).max(0.0) as usize,
                ((cy + r + 2.0) as usize).min(ph),
            );
            for y in y0..y1 {
                for x in x0..x1 {
                    let d = ((x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2)).sqrt();
                    let cover = (r + 0.5 - d).clamp(0.0, 1.0);
                    let a = &mut layer.alpha[y * pw + x];
                    *a = (*a as f64 * (1.0 - cover)) as u8;
                }
            }
        }
    }
    let iw = px(spec.platen_mm.0, dpi).round().max(1.0) as usize;
    let ih = px(spec.platen_mm.1, dpi).round().max(1.0) as usize;
    let paper = Region {
        center: (px(spec.center_mm.0, dpi), px(spec.center_mm.1, dpi)),
        size: (pw as f64, ph as f64),
        angle_deg: spec.skew_deg,
    };
    let platen = Platen {
        width: iw,
        height: ih,
        dpi,
        lid: spec.lid,
        noise: spec.noise,
        color: spec.color,
    };
    let image = platen.render(&[(layer, paper)], &mut rng);
    Sheet { image, paper }
}

/// Multiplies the layer's colour by `print` (0..255 = full ink..no ink), pixel for pixel from
/// the top-left corner.
fn apply_print(layer: &mut Layer, print: &Image) {
    let channels = match print.pixel {
        PixelFormat::Gray8 => 1,
        PixelFormat::Rgb8 => 3,
        // Other layouts carry no print this generator understands; left unprinted.
        _ => return,
    };
    let (w, h) = (
        (print.width as usize).min(layer.w),
        (print.height as usize).min(layer.h),
    );
    let bpl = print.width as usize * channels;
    for y in 0..h {
        let Some(row) = print.data.get(y * bpl..(y + 1) * bpl) else {
            return;
        };
        for x in 0..w {
            let p = &mut layer.rgb[y * layer.w + x];
            for (k, ch) in p.iter_mut().enumerate() {
                let v = row[x * channels + if channels == 3 { k } else { 0 }];
                if v != 255 {
                    *ch = (*ch as u32 * v as u32 / 255) as u8;
                }
            }
        }
    }
}

/// Photos on the glass (see [`PhotosSpec`]).
pub fn photos(spec: &PhotosSpec) -> Photos {
    let mut rng = Rng::new(spec.seed);
    let dpi = spec.dpi;
    let count = spec.count.clamp(1, 6);
    let cols = if count == 1 { 1 } else { 2 };
    let rows = count.div_ceil(cols);
    let (cw, ch) = (
        spec.platen_mm.0 / cols as f64,
        spec.platen_mm.1 / rows as f64,
    );
    let iw = px(spec.platen_mm.0, dpi).round() as usize;
    let ih = px(spec.platen_mm.1, dpi).round() as usize;
    let mut layers = Vec::new();
    for i in 0..count {
        let (col, row) = (i % cols, i / cols);
        let angle = rng.range(-spec.max_angle_deg, spec.max_angle_deg);
        let (s, c) = (angle.to_radians().sin().abs(), angle.to_radians().cos());
        // Largest photo whose turned bounding box leaves 6 mm to the cell's sides.
        let (aw, ah) = (cw - 12.0, ch - 12.0);
        let mut w = rng.range(0.55, 0.9) * aw;
        let mut h = rng.range(0.55, 0.9) * ah;
        while w * c + h * s > aw || w * s + h * c > ah {
            w *= 0.95;
            h *= 0.95;
        }
        let (bw, bh) = (w * c + h * s, w * s + h * c);
        let cx = col as f64 * cw + cw / 2.0 + rng.range(-(aw - bw) / 2.0, (aw - bw) / 2.0);
        let cy = row as f64 * ch + ch / 2.0 + rng.range(-(ah - bh) / 2.0, (ah - bh) / 2.0);
        let lw = px(w, dpi).round() as usize;
        let lh = px(h, dpi).round() as usize;
        let mut layer = Layer::new(lw, lh, [0; 3]);
        // A scene: a vertical gradient between two colours and a few blobs, all darker than
        // the lid by a margin (photos have content up to their edges).
        let pick = |rng: &mut Rng| {
            [
                rng.range(20.0, 190.0),
                rng.range(20.0, 190.0),
                rng.range(20.0, 190.0),
            ]
        };
        let (c0, c1) = (pick(&mut rng), pick(&mut rng));
        let blobs: Vec<(f64, f64, f64, [f64; 3])> = (0..4)
            .map(|_| {
                (
                    rng.range(0.0, lw as f64),
                    rng.range(0.0, lh as f64),
                    rng.range(0.05, 0.25) * lw.min(lh) as f64,
                    pick(&mut rng),
                )
            })
            .collect();
        for y in 0..lh {
            let t = y as f64 / lh as f64;
            for x in 0..lw {
                let mut col = [0.0; 3];
                for k in 0..3 {
                    col[k] = c0[k] * (1.0 - t) + c1[k] * t;
                }
                for (bx, by, br, bc) in &blobs {
                    if (x as f64 - bx).powi(2) + (y as f64 - by).powi(2) < br * br {
                        col = *bc;
                    }
                }
                layer.rgb[y * lw + x] = [col[0] as u8, col[1] as u8, col[2] as u8];
            }
        }
        let place = Region {
            center: (px(cx, dpi), px(cy, dpi)),
            size: (lw as f64, lh as f64),
            angle_deg: angle,
        };
        layers.push((layer, place));
    }
    let platen = Platen {
        width: iw,
        height: ih,
        dpi,
        lid: spec.lid,
        noise: spec.noise,
        color: true,
    };
    let image = platen.render(&layers, &mut rng);
    Photos {
        image,
        photos: layers.into_iter().map(|(_, place)| place).collect(),
    }
}

/// Roughly normal deviates (mean 0, deviation 1), drawn from a table five at a time: the
/// noise of a whole page costs a fifth of a generator call per sample.
struct Noise {
    table: Vec<f32>,
    bits: u64,
    left: u32,
}

impl Noise {
    fn new(rng: &mut Rng) -> Self {
        Noise {
            table: (0..4096).map(|_| rng.normal() as f32).collect(),
            bits: 0,
            left: 0,
        }
    }

    #[inline]
    fn next(&mut self, rng: &mut Rng) -> f64 {
        if self.left == 0 {
            self.bits = rng.next_u64();
            self.left = 5;
        }
        let v = self.table[(self.bits & 4095) as usize];
        self.bits >>= 12;
        self.left -= 1;
        v as f64
    }
}

/// The scanned platen: its size, the lid, the scanner's noise and the stored format.
struct Platen {
    width: usize,
    height: usize,
    dpi: u32,
    lid: [u8; 3],
    /// Deviation in 8-bit levels.
    noise: f64,
    /// Rgb8, else Gray8.
    color: bool,
}

impl Platen {
    /// The layers composited in order over the lid, with noise added, row by row (one row of
    /// f32 at a time, never the whole platen), stored as Rgb8 or Gray8.
    fn render(&self, layers: &[(Layer, Region)], rng: &mut Rng) -> Image {
        let (w, h) = (self.width, self.height);
        let lid = [self.lid[0] as f32, self.lid[1] as f32, self.lid[2] as f32];
        let rects: Vec<Rect> = layers
            .iter()
            .map(|(_, place)| place.bounding_rect(w as u32, h as u32))
            .collect();
        // round() then clamp, with a cast instead of a libm call: below −0.5 both give 0.
        let q = |v: f64| {
            if v < 0.0 {
                0
            } else {
                ((v + 0.5) as u64).min(255) as u8
            }
        };
        let noise = self.noise;
        let mut gauss = Noise::new(rng);
        let mut data = Vec::with_capacity(w * h * if self.color { 3 } else { 1 });
        let mut row = vec![lid; w];
        for y in 0..h {
            row.fill(lid);
            for ((layer, place), rect) in layers.iter().zip(&rects) {
                layer.composite_row(&mut row, y, place, rect);
            }
            if self.color {
                for p in &row {
                    for &c in p {
                        data.push(q(c as f64 + noise * gauss.next(rng)));
                    }
                }
            } else {
                data.extend(row.iter().map(|p| {
                    let l = luma8(p[0] as u8, p[1] as u8, p[2] as u8) as f64;
                    q(l + noise * gauss.next(rng))
                }));
            }
        }
        Image {
            pixel: if self.color {
                PixelFormat::Rgb8
            } else {
                PixelFormat::Gray8
            },
            width: w as u32,
            height: h as u32,
            dpi: (self.dpi, self.dpi),
            data,
        }
    }
}
