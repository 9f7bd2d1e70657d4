//! Turning a page by any angle: `deskew` (the whole page, same size) and `extract` (a turned
//! region cut out straight, deskew and crop in one pass). Bilinear interpolation in fixed
//! point; what falls outside the source is the paper's colour.

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
        PixelFormat::Gray8 => warp::<u8, 1>(img, &geo, fill),
        PixelFormat::Rgb8 => warp::<u8, 3>(img, &geo, fill),
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

impl Sample for u8 {
    const BYTES: usize = 1;
    #[inline(always)]
    fn read(b: &[u8], i: usize) -> u32 {
        b[i] as u32
    }
    #[inline(always)]
    fn write(b: &mut [u8], i: usize, v: u32) {
        b[i] = v as u8;
    }
    fn from16(v: u16) -> u32 {
        (v >> 8) as u32
    }
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
        if S::BYTES == 1 {
            let out = &mut row_out[fast_lo * N..fast_hi * N];
            fast_u8::<N>(src, sbpl, out, pos(fast_lo), step_x);
            continue;
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

/// The inside columns of one output row, 8-bit samples: each output pixel from four source
/// pixels, interpolated across then down (7-bit weights, one multiply per interpolation).
#[inline(always)]
fn fast_u8<const N: usize>(
    src: &[u8],
    sbpl: usize,
    out: &mut [u8],
    start: (i64, i64),
    step: (i64, i64),
) {
    let (mut fx, mut fy) = start;
    let round = 1i32 << (WBITS - 1);
    for o in out.chunks_exact_mut(N) {
        let p = (fy >> FRAC) as usize * sbpl + (fx >> FRAC) as usize * N;
        let wx = ((fx >> (FRAC - WBITS)) & (WONE as i64 - 1)) as i32;
        let wy = ((fy >> (FRAC - WBITS)) & (WONE as i64 - 1)) as i32;
        let a = &src[p..p + 2 * N];
        let b = &src[p + sbpl..p + sbpl + 2 * N];
        for k in 0..N {
            let (a0, a1) = (a[k] as i32, a[N + k] as i32);
            let (b0, b1) = (b[k] as i32, b[N + k] as i32);
            let top = (a0 << WBITS) + (a1 - a0) * wx;
            let bot = (b0 << WBITS) + (b1 - b0) * wx;
            let v = (top << WBITS) + (bot - top) * wy;
            o[k] = ((v + (round << WBITS)) >> (2 * WBITS)) as u8;
        }
        fx += step.0;
        fy += step.1;
    }
}
