//! Turning a page by any angle: `deskew` (the whole page, same size) and `extract` (a turned
//! region cut out straight, deskew and crop in one pass), interpolated in fixed point (8-bit
//! pages in two linear passes per row, 16-bit bilinear); what falls outside the source is the
//! paper's colour.

use crate::image::{pack_lineart, unpack_lineart, Image, ImagingError, Region};
use scanwire_core::device::PixelFormat;

/// The largest turn `deskew` and `extract` accept, either way.
pub const MAX_ANGLE_DEG: f64 = 45.0;

/// The page turned clockwise by `angle_deg` (the angle `detect_skew` reports: content turned
/// counterclockwise by it comes out straight), about its centre, same size. Corners uncovered
/// by the turn take the paper's colour ([`paper_color`]).
pub fn deskew(img: &Image, angle_deg: f64) -> Result<Image, ImagingError> {
    img.validate()?;
    let region = Region {
        center: (img.width as f64 / 2.0, img.height as f64 / 2.0),
        size: (img.width as f64, img.height as f64),
        angle_deg,
    };
    extract(img, &region)
}

/// The region cut out and turned straight: an image of `region.size` (rounded) whose pixel
/// (u, v) is the region's own point (u, v). Parts of the region outside the source take the
/// paper's colour.
pub fn extract(img: &Image, region: &Region) -> Result<Image, ImagingError> {
    img.validate()?;
    if !region.angle_deg.is_finite() || region.angle_deg.abs() > MAX_ANGLE_DEG {
        return Err(ImagingError::OutOfRange {
            what: "turn (degrees)",
            value: region.angle_deg,
            min: -MAX_ANGLE_DEG,
            max: MAX_ANGLE_DEG,
        });
    }
    let max_side = 4.0 * img.width.max(img.height) as f64;
    for (what, v) in [
        ("region width", region.size.0),
        ("region height", region.size.1),
    ] {
        if !(v >= 1.0 && v <= max_side) {
            return Err(ImagingError::OutOfRange {
                what,
                value: v,
                min: 1.0,
                max: max_side,
            });
        }
    }
    // The centre within a region's largest size of the page (a region may stick out, not lie
    // anywhere: positions are then fixed-point numbers with room to spare).
    for (what, v, len) in [
        ("region centre x", region.center.0, img.width),
        ("region centre y", region.center.1, img.height),
    ] {
        let (min, max) = (-max_side, len as f64 + max_side);
        if !(v >= min && v <= max) {
            return Err(ImagingError::OutOfRange {
                what,
                value: v,
                min,
                max,
            });
        }
    }
    if img.pixel == PixelFormat::BlackAndWhite1 {
        // Resampled as gray and thresholded back at mid-gray.
        return Ok(pack_lineart(&extract(&unpack_lineart(img), region)?));
    }
    let fill = paper_color(img);
    let ow = region.size.0.round() as usize;
    let oh = region.size.1.round() as usize;
    let (s, c) = region.angle_deg.to_radians().sin_cos();
    // Source position (pixel-index space, centres at integers) of output pixel (x, y):
    // centre + R(u, v) − ½ with u = x + ½ − W/2, v = y + ½ − H/2.
    let u0 = 0.5 - ow as f64 / 2.0;
    let v0 = 0.5 - oh as f64 / 2.0;
    let geo = Geometry {
        sx0: region.center.0 + u0 * c + v0 * s - 0.5,
        sy0: region.center.1 - u0 * s + v0 * c - 0.5,
        dxx: c,
        dxy: -s,
        dyx: s,
        dyy: c,
        ow,
        oh,
    };
    let data = match img.pixel {
        PixelFormat::Gray8 => warp8::<1>(img, &geo, fill),
        PixelFormat::Rgb8 => warp8::<3>(img, &geo, fill),
        PixelFormat::Gray16 => warp::<u16, 1>(img, &geo, fill),
        PixelFormat::Rgb16 => warp::<u16, 3>(img, &geo, fill),
        PixelFormat::BlackAndWhite1 => unreachable!("unpacked above"),
    };
    Ok(Image {
        pixel: img.pixel,
        width: ow as u32,
        height: oh as u32,
        dpi: img.dpi,
        data,
    })
}

/// The paper's colour: per channel, the 90th percentile of a sparse sample of the page
/// (a page is mostly paper; text and a dark margin stay below it). 16-bit values in 0..65535.
pub fn paper_color(img: &Image) -> [u16; 3] {
    let step = (img.width.max(img.height) / 256).max(1);
    let mut hist = [[0u64; 256]; 3];
    let mut n = 0u64;
    let ch = img.pixel.channels() as usize;
    for y in (0..img.height).step_by(step as usize) {
        let row = img.row(y);
        for x in (0..img.width).step_by(step as usize) {
            let x = x as usize;
            match img.pixel {
                PixelFormat::Gray8 => hist[0][row[x] as usize] += 1,
                PixelFormat::Rgb8 => {
                    for k in 0..3 {
                        hist[k][row[3 * x + k] as usize] += 1;
                    }
                }
                PixelFormat::Gray16 => hist[0][row[2 * x] as usize] += 1,
                PixelFormat::Rgb16 => {
                    for k in 0..3 {
                        hist[k][row[6 * x + 2 * k] as usize] += 1;
                    }
                }
                PixelFormat::BlackAndWhite1 => {
                    let white = row[x / 8] & (0x80 >> (x % 8)) == 0;
                    hist[0][if white { 255 } else { 0 }] += 1;
                }
            }
            n += 1;
        }
    }
    let mut out = [0u16; 3];
    for k in 0..ch {
        let v = crate::image::percentile_of(&hist[k], n, 0.9).unwrap_or(255);
        out[k] = v as u16 * 257;
    }
    if ch == 1 {
        out = [out[0]; 3];
    }
    out
}

struct Geometry {
    sx0: f64,
    sy0: f64,
    /// Source step per output column.
    dxx: f64,
    dxy: f64,
    /// Source step per output row.
    dyx: f64,
    dyy: f64,
    ow: usize,
    oh: usize,
}

trait Sample: Copy {
    const BYTES: usize;
    fn read(b: &[u8], i: usize) -> u32;
    fn write(b: &mut [u8], i: usize, v: u32);
    fn from16(v: u16) -> u32;
}

impl Sample for u16 {
    const BYTES: usize = 2;
    #[inline(always)]
    fn read(b: &[u8], i: usize) -> u32 {
        u16::from_be_bytes([b[2 * i], b[2 * i + 1]]) as u32
    }
    #[inline(always)]
    fn write(b: &mut [u8], i: usize, v: u32) {
        b[2 * i..2 * i + 2].copy_from_slice(&(v as u16).to_be_bytes());
    }
    fn from16(v: u16) -> u32 {
        v as u32
    }
}

/// Fractional bits of the source position, and of the interpolation weights.
const FRAC: u32 = 32;
const WBITS: u32 = 7;
const WONE: u32 = 1 << WBITS;

/// 16-bit samples: bilinear per output pixel (four taps, one rounding).
fn warp<S: Sample, const N: usize>(img: &Image, g: &Geometry, fill: [u16; 3]) -> Vec<u8> {
    let w = img.width as i64;
    let h = img.height as i64;
    let src = &img.data;
    let sbpl = img.bytes_per_line() / S::BYTES; // samples per source row
    let fillv: [u32; 3] = [S::from16(fill[0]), S::from16(fill[1]), S::from16(fill[2])];
    let obpl = g.ow * N; // samples per output row
    let mut out = vec![0u8; obpl * g.oh * S::BYTES];
    let one = (1i64 << FRAC) as f64;
    let step_x = ((g.dxx * one).round() as i64, (g.dxy * one).round() as i64);
    // Tap fetch with the fill colour outside the source.
    let tap = |x: i64, y: i64, k: usize| -> u32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            fillv[k]
        } else {
            S::read(src, y as usize * sbpl + x as usize * N + k)
        }
    };
    let (wf, hf) = (w as f64, h as f64);
    for oy in 0..g.oh {
        let row_out = &mut out[oy * obpl * S::BYTES..(oy + 1) * obpl * S::BYTES];
        let sx = g.sx0 + g.dyx * oy as f64;
        let sy = g.sy0 + g.dyy * oy as f64;
        // Columns whose four taps all lie inside the source (one column of margin each side
        // against rounding): the fast loop, without edge checks.
        let (mut lo, mut hi) = (0.0f64, g.ow as f64);
        for (start, step, limit) in [(sx, g.dxx, wf - 1.0), (sy, g.dxy, hf - 1.0)] {
            // MARGIN <= start + step * ox < limit − MARGIN: a margin in source pixels, since
            // with a tiny step one output column moves the source position almost nowhere.
            const MARGIN: f64 = 0.5;
            let (floor, ceil) = (MARGIN, limit - MARGIN);
            if step.abs() < 1e-12 {
                if !(floor..ceil).contains(&start) {
                    hi = lo;
                }
            } else {
                let (a, b) = ((floor - start) / step, (ceil - start) / step);
                let (a, b) = if a < b { (a, b) } else { (b, a) };
                lo = lo.max(a);
                hi = hi.min(b);
            }
        }
        let fast_lo = (lo.ceil() as i64 + 1).clamp(0, g.ow as i64) as usize;
        let fast_hi = (hi.floor() as i64 - 1).clamp(fast_lo as i64, g.ow as i64) as usize;
        let fx0 = (sx * one).round() as i64;
        let fy0 = (sy * one).round() as i64;
        let pos = |ox: usize| (fx0 + step_x.0 * ox as i64, fy0 + step_x.1 * ox as i64);
        let edge = |ox: usize, row_out: &mut [u8]| {
            let (fx, fy) = pos(ox);
            let (ix, iy) = (fx >> FRAC, fy >> FRAC);
            let wx = ((fx >> (FRAC - WBITS)) & (WONE as i64 - 1)) as u32;
            let wy = ((fy >> (FRAC - WBITS)) & (WONE as i64 - 1)) as u32;
            for k in 0..N {
                let top = tap(ix, iy, k) * (WONE - wx) + tap(ix + 1, iy, k) * wx;
                let bot = tap(ix, iy + 1, k) * (WONE - wx) + tap(ix + 1, iy + 1, k) * wx;
                let v = (top * (WONE - wy) + bot * wy + (1 << (2 * WBITS - 1))) >> (2 * WBITS);
                S::write(row_out, ox * N + k, v);
            }
        };
        for ox in (0..fast_lo).chain(fast_hi..g.ow) {
            edge(ox, row_out);
        }
        let (mut fx, mut fy) = pos(fast_lo);
        for ox in fast_lo..fast_hi {
            let ix = (fx >> FRAC) as usize;
            let iy = (fy >> FRAC) as usize;
            let wx = ((fx >> (FRAC - WBITS)) & (WONE as i64 - 1)) as u32;
            let wy = ((fy >> (FRAC - WBITS)) & (WONE as i64 - 1)) as u32;
            let p = iy * sbpl + ix * N;
            let r0 = &src[p * S::BYTES..(p + 2 * N) * S::BYTES];
            let r1 = &src[(p + sbpl) * S::BYTES..(p + sbpl + 2 * N) * S::BYTES];
            let o = &mut row_out[ox * N * S::BYTES..(ox + 1) * N * S::BYTES];
            let (w00, w10) = ((WONE - wx) * (WONE - wy), wx * (WONE - wy));
            let (w01, w11) = ((WONE - wx) * wy, wx * wy);
            for k in 0..N {
                let v = S::read(r0, k) * w00
                    + S::read(r0, N + k) * w10
                    + S::read(r1, k) * w01
                    + S::read(r1, N + k) * w11;
                S::write(o, k, (v + (1 << (2 * WBITS - 1))) >> (2 * WBITS));
            }
            fx += step_x.0;
            fy += step_x.1;
        }
    }
    out
}

/// Fractional bits of source positions in the 8-bit resampler.
const PFRAC: u32 = 32;
const PONE: i64 = 1 << PFRAC;
/// Longest run (pixels) done with one start weight; longer ones are split.
const RUN: usize = 256;

/// 8-bit samples, in two linear passes per output row, each a run of plain slices that
/// vectorises. The output row's sampling line crosses every source column `x` at some
/// `y(x)`: pass 1 interpolates each column between the two source rows around `y(x)` (a row
/// of values along the line); pass 2 interpolates that row between the two columns around
/// each output pixel's `x`. This is linear interpolation along the line between its column
/// crossings, as good as bilinear; and it needs no per-pixel gathering, because over a run
/// the two rows (pass 1) or the two columns (pass 2) stay the same relative to the output,
/// only the weight moves, by a constant step per pixel.
fn warp8<const N: usize>(img: &Image, g: &Geometry, fill: [u16; 3]) -> Vec<u8> {
    let (w, h) = (img.width as i64, img.height as i64);
    let sbpl = img.bytes_per_line();
    let mut fill8 = [0u8; N];
    for (k, v) in fill8.iter_mut().enumerate() {
        *v = (fill[k] >> 8) as u8;
    }
    // Rows above and below the source read as the paper's colour.
    let fill_row: Vec<u8> = fill8.iter().copied().cycle().take(w as usize * N).collect();
    let row = |y: i64| -> &[u8] {
        if (0..h).contains(&y) {
            &img.data[y as usize * sbpl..y as usize * sbpl + w as usize * N]
        } else {
            &fill_row
        }
    };
    let fix = |v: f64| (v * PONE as f64).round() as i64;
    // Pass 1: the line's y per source column (dxx = cos > 0 within ±45°).
    let slope = fix(g.dxy / g.dxx);
    // Pass 2: the source x per output pixel, which the row's index also advances by one.
    let step_x = fix(g.dxx);
    let ramp1 = ramp::<N>(slope);
    let ramp2 = ramp::<N>(step_x - PONE);
    // Filled row by row by pass 2 (no zeroing of a page first).
    let mut out: Vec<u8> = Vec::with_capacity(g.ow * N * g.oh);
    let mut line = vec![0u8; (g.ow + 4) * N];
    for oy in 0..g.oh {
        let xr = g.sx0 + g.dyx * oy as f64;
        let yr = g.sy0 + g.dyy * oy as f64;
        let x_start = fix(xr);
        let xlo = x_start >> PFRAC;
        let xhi = ((x_start + step_x * (g.ow as i64 - 1)) >> PFRAC) + 1;
        // Pass 1, columns xlo..=xhi; those outside the source are paper.
        let y_at_xlo = fix(yr + g.dxy / g.dxx * (xlo as f64 - xr));
        let (xa, xb) = (xlo.max(0), xhi.min(w - 1));
        let cols = (xhi - xlo + 1) as usize;
        let left = (-xlo).clamp(0, cols as i64) as usize;
        let right = (w - xlo).clamp(left as i64, cols as i64) as usize;
        for px in line[..left * N].chunks_exact_mut(N) {
            px.copy_from_slice(&fill8);
        }
        let mut x = xa;
        while x <= xb {
            let y = y_at_xlo + slope * (x - xlo);
            let (iy, frac) = (y >> PFRAC, y & (PONE - 1));
            let n = run_len(frac, slope).min((xb - x + 1) as usize);
            let (s, at) = (x as usize * N, (x - xlo) as usize * N);
            let len = n * N;
            lerp_run(
                &row(iy)[s..s + len],
                &row(iy + 1)[s..s + len],
                &mut line[at..at + len],
                frac,
                &ramp1,
            );
            x += n as i64;
        }
        for px in line[right * N..cols * N].chunks_exact_mut(N) {
            px.copy_from_slice(&fill8);
        }
        // Pass 2.
        let mut ox = 0usize;
        while ox < g.ow {
            let xs = x_start + step_x * ox as i64;
            let (ix, frac) = (xs >> PFRAC, xs & (PONE - 1));
            let n = run_len(frac, step_x - PONE).min(g.ow - ox);
            let at = (ix - xlo) as usize * N;
            out.extend(lerp(
                &line[at..at + n * N],
                &line[at + N..at + N + n * N],
                frac,
                &ramp2,
            ));
            ox += n;
        }
    }
    out
}

/// How many pixels, from a position with fraction `frac`, stepping by `step` (both in
/// 1/`PONE`), keep the same integer part (at most `RUN`).
fn run_len(frac: i64, step: i64) -> usize {
    let n = match step {
        0 => RUN as i64,
        s if s < 0 => frac / -s + 1,
        s => (PONE - 1 - frac) / s + 1,
    };
    n.clamp(1, RUN as i64) as usize
}

/// The weight's change after `k` pixels, per sample (each of a pixel's `N` samples alike), in
/// 1/32768: `k * step` in 15 fractional bits.
fn ramp<const N: usize>(step: i64) -> Vec<i16> {
    (0..RUN * N)
        .map(|j| {
            let k = (j / N) as i64;
            ((k * step) >> (PFRAC - 15)).clamp(i16::MIN as i64, i16::MAX as i64) as i16
        })
        .collect()
}

/// `out = a + (b − a) · weight`, the weight starting at `frac` (1/`PONE`) and moving by
/// `ramp` per sample; 7-bit weights, 16-bit arithmetic (eight or sixteen samples per
/// instruction once vectorised).
#[inline(always)]
fn lerp<'a>(a: &'a [u8], b: &'a [u8], frac: i64, ramp: &'a [i16]) -> impl Iterator<Item = u8> + 'a {
    let w0 = (frac >> (PFRAC - 15)) as i16;
    a.iter().zip(b).zip(ramp).map(move |((&a, &b), &r)| {
        // Within a run the weight stays in 0..1 (one unit under at most, by rounding).
        let wt = w0.saturating_add(r).max(0) >> 8;
        let (a, b) = (a as i16, b as i16);
        (a + (((b - a) * wt + 64) >> 7)) as u8
    })
}

/// [`lerp`] into a slice.
#[inline(always)]
fn lerp_run(a: &[u8], b: &[u8], out: &mut [u8], frac: i64, ramp: &[i16]) {
    for (o, v) in out.iter_mut().zip(lerp(a, b, frac, ramp)) {
        *o = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(pixel: PixelFormat) -> Image {
        let (w, h) = (97u32, 61u32);
        let data = (0..pixel.bytes_per_line(w) * h as usize)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        Image::new(pixel, w, h, (300, 300), data).unwrap()
    }

    /// A region partly or wholly off the page is paper there; one whose centre is not a
    /// number or lies far away is refused, naming the centre.
    #[test]
    fn regions_off_the_page() {
        for pixel in [PixelFormat::Gray8, PixelFormat::Rgb8, PixelFormat::Rgb16] {
            let img = page(pixel);
            let fill = paper_color(&img);
            for center in [(-30.0, 10.0), (120.0, 70.0), (-200.0, -150.0)] {
                for angle_deg in [0.0, 7.5, -31.0] {
                    let r = Region {
                        center,
                        size: (40.0, 25.0),
                        angle_deg,
                    };
                    let out = extract(&img, &r).unwrap();
                    assert_eq!((out.width, out.height), (40, 25));
                    if center == (-200.0, -150.0) {
                        let first = &out.data[..out.pixel.bytes_per_line(1)];
                        assert_eq!(first[0], (fill[0] >> 8) as u8, "{pixel:?}");
                    }
                }
            }
            for center in [(f64::NAN, 5.0), (5.0, f64::INFINITY), (1e12, 5.0)] {
                let r = Region {
                    center,
                    size: (40.0, 25.0),
                    angle_deg: 3.0,
                };
                let err = extract(&img, &r).unwrap_err().to_string();
                assert!(err.starts_with("region centre"), "{err}");
            }
        }
    }

    /// Pass 1 and pass 2 meet exactly: a pure shift by whole pixels moves pixels unchanged,
    /// at every run length the cap splits.
    #[test]
    fn whole_pixel_shift_is_exact() {
        let img = page(PixelFormat::Rgb8);
        let r = Region {
            center: (img.width as f64 / 2.0 + 3.0, img.height as f64 / 2.0 - 2.0),
            size: (img.width as f64 - 10.0, img.height as f64 - 10.0),
            angle_deg: 0.0,
        };
        let out = extract(&img, &r).unwrap();
        for y in 0..out.height {
            for x in 0..out.width {
                let (sx, sy) = (x as usize + 8, y as usize + 3);
                let src = &img.row(sy as u32)[3 * sx..3 * sx + 3];
                let got = &out.row(y)[3 * x as usize..3 * x as usize + 3];
                assert_eq!(src, got, "({x}, {y})");
            }
        }
    }
}
