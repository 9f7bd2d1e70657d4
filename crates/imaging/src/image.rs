//! The owned page, its errors, the geometry the stages report in, and the reduced-luma
//! thumbnail every detector works on.

use scanwire_core::device::PixelFormat;

/// Why a stage refused its input. Every variant names what was wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImagingError {
    /// `data` does not hold `height` rows of `pixel.bytes_per_line(width)` bytes.
    #[error("image data is {actual} bytes; {pixel:?} {width}x{height} needs exactly {expected}")]
    WrongSize {
        /// Pixel format of the image.
        pixel: PixelFormat,
        /// Width in pixels.
        width: u32,
        /// Height in rows.
        height: u32,
        /// Bytes the geometry needs.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// A width, height or resolution of zero.
    #[error("image has {what} 0; it must be at least 1")]
    Zero {
        /// Which dimension.
        what: &'static str,
    },
    /// A parameter outside its range.
    #[error("{what} {value} is out of range: allowed {min}..={max}")]
    OutOfRange {
        /// The parameter.
        what: &'static str,
        /// The value given.
        value: f64,
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// A crop rectangle not inside the image.
    #[error("crop {rect:?} is not inside the {width}x{height} image (it must be non-empty and within it)")]
    RectOutside {
        /// The rectangle asked for.
        rect: Rect,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
}

/// One page in memory: `height` rows of `pixel.bytes_per_line(width)` bytes, no padding beyond
/// what the pixel format itself has (1-bit rows are whole bytes). Samples as `PixelFormat` says:
/// 16-bit big-endian, lineart 1 = black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Sample layout.
    pub pixel: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Horizontal and vertical resolution in dots per inch.
    pub dpi: (u32, u32),
    /// The rows, top first.
    pub data: Vec<u8>,
}

impl Image {
    /// An image from its parts, checked.
    pub fn new(
        pixel: PixelFormat,
        width: u32,
        height: u32,
        dpi: (u32, u32),
        data: Vec<u8>,
    ) -> Result<Self, ImagingError> {
        let img = Image {
            pixel,
            width,
            height,
            dpi,
            data,
        };
        img.validate()?;
        Ok(img)
    }

    /// An image of one colour (gray formats take the colour's luma, lineart black below mid-gray).
    pub fn filled(
        pixel: PixelFormat,
        width: u32,
        height: u32,
        dpi: (u32, u32),
        rgb: [u8; 3],
    ) -> Self {
        let bpl = pixel.bytes_per_line(width);
        let mut row = vec![0u8; bpl];
        let luma = luma8(rgb[0], rgb[1], rgb[2]);
        match pixel {
            PixelFormat::BlackAndWhite1 => {
                if luma < 128 {
                    row.fill(0xff);
                }
            }
            PixelFormat::Gray8 => row.fill(luma),
            PixelFormat::Gray16 => {
                for px in row.chunks_exact_mut(2) {
                    px[0] = luma;
                    px[1] = luma;
                }
            }
            PixelFormat::Rgb8 => {
                for px in row.chunks_exact_mut(3) {
                    px.copy_from_slice(&rgb);
                }
            }
            PixelFormat::Rgb16 => {
                for px in row.chunks_exact_mut(6) {
                    px.copy_from_slice(&[rgb[0], rgb[0], rgb[1], rgb[1], rgb[2], rgb[2]]);
                }
            }
        }
        let mut data = Vec::with_capacity(bpl * height as usize);
        for _ in 0..height {
            data.extend_from_slice(&row);
        }
        Image {
            pixel,
            width,
            height,
            dpi,
            data,
        }
    }

    /// Bytes per row.
    pub fn bytes_per_line(&self) -> usize {
        self.pixel.bytes_per_line(self.width)
    }

    /// Checks the fields agree (the fields are public, so every stage calls this first).
    pub fn validate(&self) -> Result<(), ImagingError> {
        if self.width == 0 {
            return Err(ImagingError::Zero { what: "width" });
        }
        if self.height == 0 {
            return Err(ImagingError::Zero { what: "height" });
        }
        if self.dpi.0 == 0 || self.dpi.1 == 0 {
            return Err(ImagingError::Zero { what: "resolution" });
        }
        let expected = self.bytes_per_line() * self.height as usize;
        if self.data.len() != expected {
            return Err(ImagingError::WrongSize {
                pixel: self.pixel,
                width: self.width,
                height: self.height,
                expected,
                actual: self.data.len(),
            });
        }
        Ok(())
    }

    /// One row's bytes.
    pub fn row(&self, y: u32) -> &[u8] {
        let bpl = self.bytes_per_line();
        &self.data[y as usize * bpl..(y as usize + 1) * bpl]
    }

    /// 8-bit luma of one pixel (16-bit samples by their high byte; lineart 0 or 255).
    pub fn luma(&self, x: u32, y: u32) -> u8 {
        let row = self.row(y);
        let x = x as usize;
        match self.pixel {
            PixelFormat::BlackAndWhite1 => {
                if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                    0
                } else {
                    255
                }
            }
            PixelFormat::Gray8 => row[x],
            PixelFormat::Gray16 => row[2 * x],
            PixelFormat::Rgb8 => luma8(row[3 * x], row[3 * x + 1], row[3 * x + 2]),
            PixelFormat::Rgb16 => luma8(row[6 * x], row[6 * x + 2], row[6 * x + 4]),
        }
    }

    /// Luma at a real position (pixel centres at +0.5), bilinear; outside the image it is the
    /// nearest edge pixel's.
    pub(crate) fn luma_at(&self, x: f64, y: f64) -> f64 {
        let fx = (x - 0.5).clamp(0.0, (self.width - 1) as f64);
        let fy = (y - 0.5).clamp(0.0, (self.height - 1) as f64);
        let x0 = fx.floor() as u32;
        let y0 = fy.floor() as u32;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let wx = fx - x0 as f64;
        let wy = fy - y0 as f64;
        let top = self.luma(x0, y0) as f64 * (1.0 - wx) + self.luma(x1, y0) as f64 * wx;
        let bottom = self.luma(x0, y1) as f64 * (1.0 - wx) + self.luma(x1, y1) as f64 * wx;
        top * (1.0 - wy) + bottom * wy
    }
}

/// 8-bit luma (BT.601 weights in fixed point).
#[inline]
pub(crate) fn luma8(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 77 + g as u32 * 150 + b as u32 * 29) >> 8) as u8
}

/// Lineart as 8-bit gray (0 or 255), for stages that resample.
pub(crate) fn unpack_lineart(img: &Image) -> Image {
    let w = img.width as usize;
    let mut data = Vec::with_capacity(w * img.height as usize);
    for y in 0..img.height {
        let row = img.row(y);
        data.extend((0..w).map(|x| {
            if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                0
            } else {
                255
            }
        }));
    }
    Image {
        pixel: PixelFormat::Gray8,
        width: img.width,
        height: img.height,
        dpi: img.dpi,
        data,
    }
}

/// 8-bit gray back to lineart, thresholded at mid-gray.
pub(crate) fn pack_lineart(gray: &Image) -> Image {
    let bpl = PixelFormat::BlackAndWhite1.bytes_per_line(gray.width);
    let mut data = vec![0u8; bpl * gray.height as usize];
    for y in 0..gray.height as usize {
        let src = gray.row(y as u32);
        let dst = &mut data[y * bpl..(y + 1) * bpl];
        for (x, &v) in src.iter().enumerate() {
            if v < 128 {
                dst[x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    Image {
        pixel: PixelFormat::BlackAndWhite1,
        width: gray.width,
        height: gray.height,
        dpi: gray.dpi,
        data,
    }
}

/// An axis-aligned rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// A rectangle turned by an angle: a sheet of paper or a photo as it lies on the glass.
///
/// `angle_deg > 0` means turned counterclockwise as seen on screen (y down); the region's own
/// point (u, v) (from its centre, u right, v down) lies in the image at
/// `centre + (u cos a + v sin a, −u sin a + v cos a)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Centre in image pixels (pixel centres at +0.5).
    pub center: (f64, f64),
    /// Width and height of the rectangle itself (not of its bounding box), in pixels.
    pub size: (f64, f64),
    /// Turn, degrees counterclockwise.
    pub angle_deg: f64,
}

impl Region {
    /// Image position of the region's own point (u, v) measured from its centre.
    pub fn to_image(&self, u: f64, v: f64) -> (f64, f64) {
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        (self.center.0 + u * c + v * s, self.center.1 - u * s + v * c)
    }

    /// The region's own coordinates of an image position.
    pub fn from_image(&self, x: f64, y: f64) -> (f64, f64) {
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        let (dx, dy) = (x - self.center.0, y - self.center.1);
        (dx * c - dy * s, dx * s + dy * c)
    }

    /// Corners: top-left, top-right, bottom-right, bottom-left (of the region itself).
    pub fn corners(&self) -> [(f64, f64); 4] {
        let (hw, hh) = (self.size.0 / 2.0, self.size.1 / 2.0);
        [
            self.to_image(-hw, -hh),
            self.to_image(hw, -hh),
            self.to_image(hw, hh),
            self.to_image(-hw, hh),
        ]
    }

    /// The axis-aligned pixel rectangle that contains the region, clipped to `width` x `height`.
    pub fn bounding_rect(&self, width: u32, height: u32) -> Rect {
        let c = self.corners();
        let x0 = c
            .iter()
            .map(|p| p.0)
            .fold(f64::MAX, f64::min)
            .floor()
            .max(0.0) as u32;
        let y0 = c
            .iter()
            .map(|p| p.1)
            .fold(f64::MAX, f64::min)
            .floor()
            .max(0.0) as u32;
        let x1 = (c.iter().map(|p| p.0).fold(f64::MIN, f64::max).ceil() as u32).min(width);
        let y1 = (c.iter().map(|p| p.1).fold(f64::MIN, f64::max).ceil() as u32).min(height);
        Rect {
            x: x0.min(width.saturating_sub(1)),
            y: y0.min(height.saturating_sub(1)),
            width: x1.saturating_sub(x0).max(1),
            height: y1.saturating_sub(y0).max(1),
        }
    }

    /// WIA_IPS_DESKEW_X / _Y for this region inside its bounding box: how far across the top
    /// of the box the uppermost corner is, and how far down the left side the leftmost corner
    /// is (docs/processing.md). Both 0 for an unturned region, as WIA means "no deskew".
    pub fn deskew_xy(&self) -> (u32, u32) {
        let a = self.angle_deg.to_radians();
        if a.abs() < 1e-9 {
            return (0, 0);
        }
        let (w, h) = self.size;
        if a > 0.0 {
            // Turned counterclockwise: the top-right corner is uppermost, the top-left leftmost.
            ((w * a.cos()).round() as u32, (w * a.sin()).round() as u32)
        } else {
            let a = -a;
            // Clockwise: the top-left corner is uppermost, the bottom-left leftmost.
            ((h * a.sin()).round() as u32, (h * a.cos()).round() as u32)
        }
    }
}

/// The turn that WIA_IPS_DESKEW_X / _Y describe, degrees counterclockwise; the inverse of
/// [`Region::deskew_xy`], by the rule of Microsoft's sample filter (`wiadriverex/imgfilter`):
/// the larger of the two is the side along the top. 0 when either is 0 ("no deskew").
pub fn angle_from_deskew_xy(deskew_x: u32, deskew_y: u32) -> f64 {
    if deskew_x == 0 || deskew_y == 0 {
        return 0.0;
    }
    let (x, y) = (deskew_x as f64, deskew_y as f64);
    if x > y {
        y.atan2(x).to_degrees()
    } else {
        -x.atan2(y).to_degrees()
    }
}

/// Reduced 8-bit luma of a page: each pixel the mean of a `factor` x `factor` block, so
/// scanner noise and paper grain average out and every detector works on ~100 dpi.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// Full-resolution pixels per thumbnail pixel, each way.
    pub factor: u32,
    /// Width in thumbnail pixels (the last partial block is dropped).
    pub width: u32,
    /// Height in thumbnail pixels.
    pub height: u32,
    /// Luma rows.
    pub data: Vec<u8>,
    /// The page's resolution (full-resolution dpi).
    pub dpi: (u32, u32),
}

impl Thumbnail {
    /// Thumbnail at about 100 dpi (block size `round(dpi / 100)`, at least 1).
    pub fn of(img: &Image) -> Result<Self, ImagingError> {
        img.validate()?;
        let dpi = img.dpi.0.min(img.dpi.1);
        let factor = ((dpi + 50) / 100).max(1);
        Ok(Self::with_factor(img, factor))
    }

    /// Thumbnail with a given block size (`img` already validated).
    pub(crate) fn with_factor(img: &Image, factor: u32) -> Self {
        let f = factor.max(1).min(img.width).min(img.height) as usize;
        let tw = img.width as usize / f;
        let th = img.height as usize / f;
        let data = match img.pixel {
            PixelFormat::Gray8 if f <= MAX_FAST_FACTOR => block_means_8::<1>(img, f, tw, th),
            PixelFormat::Rgb8 if f <= MAX_FAST_FACTOR => block_means_8::<3>(img, f, tw, th),
            _ => block_means(img, f, tw, th),
        };
        Thumbnail {
            factor: f as u32,
            width: tw as u32,
            height: th as u32,
            data,
            dpi: img.dpi,
        }
    }

    /// Half the size each way (2 x 2 means): for finding large shapes, whose edges are then
    /// refined on the full page anyway.
    pub(crate) fn halved(&self) -> Thumbnail {
        let (w, h) = (self.width as usize / 2, self.height as usize / 2);
        let src = self.width as usize;
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            let (a, b) = (&self.data[2 * y * src..], &self.data[(2 * y + 1) * src..]);
            data.extend((0..w).map(|x| {
                let s =
                    a[2 * x] as u32 + a[2 * x + 1] as u32 + b[2 * x] as u32 + b[2 * x + 1] as u32;
                ((s + 2) / 4) as u8
            }));
        }
        Thumbnail {
            factor: self.factor * 2,
            width: w as u32,
            height: h as u32,
            data,
            dpi: self.dpi,
        }
    }

    /// This thumbnail, or its half when it is over ~50 dpi and large (shape finders' input).
    pub(crate) fn coarse(&self) -> std::borrow::Cow<'_, Thumbnail> {
        let dpi = self.dpi.0.min(self.dpi.1) / self.factor;
        if dpi >= 90 && self.width >= 200 && self.height >= 200 {
            std::borrow::Cow::Owned(self.halved())
        } else {
            std::borrow::Cow::Borrowed(self)
        }
    }

    /// Luma at (x, y).
    #[inline]
    pub fn at(&self, x: u32, y: u32) -> u8 {
        self.data[y as usize * self.width as usize + x as usize]
    }

    /// The `p`-th percentile (0..=1) of the luma values in the runs `(y, x0, x1)` (`x0..x1`
    /// on row `y`).
    pub(crate) fn percentile_in(
        &self,
        p: f64,
        runs: impl IntoIterator<Item = (u32, u32, u32)>,
    ) -> Option<u8> {
        let mut hist = Histogram::default();
        let w = self.width as usize;
        for (y, x0, x1) in runs {
            let at = y as usize * w;
            hist.add(&self.data[at + x0 as usize..at + x1 as usize]);
        }
        let (hist, n) = hist.finish();
        percentile_of(&hist, n, p)
    }

    /// The `p`-th percentile (0..=1) of all the luma values.
    pub(crate) fn percentile_all(&self, p: f64) -> Option<u8> {
        let mut hist = Histogram::default();
        hist.add(&self.data);
        let (hist, n) = hist.finish();
        percentile_of(&hist, n, p)
    }

    /// The pixels within `ring` of the border, as runs for [`Thumbnail::percentile_in`].
    pub(crate) fn border_runs(&self, ring: u32) -> impl Iterator<Item = (u32, u32, u32)> {
        let (w, h) = (self.width, self.height);
        let ring = ring.min(w / 2).min(h / 2);
        (0..h).flat_map(move |y| {
            let whole = y < ring || y >= h - ring;
            let (left, right) = if whole {
                ((y, 0, w), (y, w, w))
            } else {
                ((y, 0, ring), (y, w - ring, w))
            };
            [left, right]
        })
    }
}

/// A histogram of 8-bit values, counted into four tables in turn (consecutive equal values,
/// as on a page's paper, would otherwise wait on each other's increment).
pub(crate) struct Histogram {
    tables: [[u32; 256]; 4],
    n: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            tables: [[0; 256]; 4],
            n: 0,
        }
    }
}

impl Histogram {
    /// Counts these values.
    pub(crate) fn add(&mut self, values: &[u8]) {
        let [t0, t1, t2, t3] = &mut self.tables;
        let quads = values.chunks_exact(4);
        for &v in quads.remainder() {
            t0[v as usize] += 1;
        }
        for q in quads {
            t0[q[0] as usize] += 1;
            t1[q[1] as usize] += 1;
            t2[q[2] as usize] += 1;
            t3[q[3] as usize] += 1;
        }
        self.n += values.len() as u64;
    }

    /// The counts per value, and how many in all.
    pub(crate) fn finish(&self) -> ([u64; 256], u64) {
        let mut out = [0u64; 256];
        for (v, o) in out.iter_mut().enumerate() {
            *o = self.tables.iter().map(|t| t[v] as u64).sum();
        }
        (out, self.n)
    }
}

pub(crate) fn percentile_of(hist: &[u64; 256], n: u64, p: f64) -> Option<u8> {
    if n == 0 {
        return None;
    }
    let target = ((n as f64 - 1.0) * p).round() as u64;
    let mut seen = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        seen += c;
        if seen > target {
            return Some(v as u8);
        }
    }
    Some(255)
}

/// Largest block the 8-bit path sums in 16 bits (and weighs in 32).
const MAX_FAST_FACTOR: usize = 64;

/// Block means of an 8-bit page (`N` samples per pixel): each block's rows are added into
/// one row of 16-bit column sums (plain slices, which vectorise), then each block's columns
/// summed and, for colour, weighed into luma once per block, rounded once.
fn block_means_8<const N: usize>(img: &Image, f: usize, tw: usize, th: usize) -> Vec<u8> {
    let mut data = vec![0u8; tw * th];
    let used = tw * f * N;
    let mut acc = vec![0u16; used];
    for (ty, out) in data.chunks_exact_mut(tw).enumerate() {
        acc.fill(0);
        for dy in 0..f {
            let row = &img.row((ty * f + dy) as u32)[..used];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v as u16;
            }
        }
        match f {
            1 => reduce::<N, 1>(&acc, out),
            2 => reduce::<N, 2>(&acc, out),
            3 => reduce::<N, 3>(&acc, out),
            4 => reduce::<N, 4>(&acc, out),
            5 => reduce::<N, 5>(&acc, out),
            6 => reduce::<N, 6>(&acc, out),
            _ => reduce_any::<N>(&acc, f, out),
        }
    }
    data
}

/// One thumbnail row from column sums, blocks of `F` pixels.
#[inline(always)]
fn reduce<const N: usize, const F: usize>(acc: &[u16], out: &mut [u8]) {
    for (o, block) in out.iter_mut().zip(acc.chunks_exact(N * F)) {
        *o = block_luma::<N>(block, (F * F) as u32);
    }
}

/// [`reduce`] for a block size known only at run time.
fn reduce_any<const N: usize>(acc: &[u16], f: usize, out: &mut [u8]) {
    for (o, block) in out.iter_mut().zip(acc.chunks_exact(N * f)) {
        *o = block_luma::<N>(block, (f * f) as u32);
    }
}

/// Mean luma of a block from its column sums (`div` pixels in all).
#[inline(always)]
fn block_luma<const N: usize>(block: &[u16], div: u32) -> u8 {
    if N == 1 {
        let s: u32 = block.iter().map(|&v| v as u32).sum();
        ((s + div / 2) / div) as u8
    } else {
        let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
        for px in block.chunks_exact(3) {
            r += px[0] as u32;
            g += px[1] as u32;
            b += px[2] as u32;
        }
        let d = 256 * div;
        ((r * 77 + g * 150 + b * 29 + d / 2) / d) as u8
    }
}

/// Block means of any page, one block row at a time through [`accumulate_luma`].
fn block_means(img: &Image, f: usize, tw: usize, th: usize) -> Vec<u8> {
    let mut data = vec![0u8; tw * th];
    let mut sums = vec![0u32; tw];
    let div = (f * f) as u32;
    for ty in 0..th {
        sums.fill(0);
        for dy in 0..f {
            let row = img.row((ty * f + dy) as u32);
            accumulate_luma(img.pixel, row, f, tw, &mut sums);
        }
        for (d, s) in data[ty * tw..(ty + 1) * tw].iter_mut().zip(&sums) {
            *d = ((s + div / 2) / div) as u8;
        }
    }
    data
}

/// Adds the luma of `f` consecutive pixels into each of `sums` (one block row's contribution).
fn accumulate_luma(pixel: PixelFormat, row: &[u8], f: usize, tw: usize, sums: &mut [u32]) {
    match pixel {
        PixelFormat::Gray8 => {
            for (s, block) in sums.iter_mut().zip(row.chunks_exact(f)).take(tw) {
                *s += block.iter().map(|&v| v as u32).sum::<u32>();
            }
        }
        PixelFormat::Rgb8 => {
            // Channel sums per block, weighted once per block.
            for (s, block) in sums.iter_mut().zip(row.chunks_exact(3 * f)).take(tw) {
                let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                for px in block.chunks_exact(3) {
                    r += px[0] as u32;
                    g += px[1] as u32;
                    b += px[2] as u32;
                }
                *s += (r * 77 + g * 150 + b * 29) >> 8;
            }
        }
        PixelFormat::Gray16 => {
            for (s, block) in sums.iter_mut().zip(row.chunks_exact(2 * f)).take(tw) {
                *s += block.chunks_exact(2).map(|p| p[0] as u32).sum::<u32>();
            }
        }
        PixelFormat::Rgb16 => {
            for (s, block) in sums.iter_mut().zip(row.chunks_exact(6 * f)).take(tw) {
                let mut acc = 0u32;
                for px in block.chunks_exact(6) {
                    acc += px[0] as u32 * 77 + px[2] as u32 * 150 + px[4] as u32 * 29;
                }
                *s += acc >> 8;
            }
        }
        PixelFormat::BlackAndWhite1 => {
            for (tx, s) in sums.iter_mut().enumerate().take(tw) {
                let mut acc = 0u32;
                for x in tx * f..(tx + 1) * f {
                    if row[x / 8] & (0x80 >> (x % 8)) == 0 {
                        acc += 255;
                    }
                }
                *s += acc;
            }
        }
    }
}
