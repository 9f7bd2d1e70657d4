//! Encoding one strip of whole MCU rows into entropy-coded data: colour conversion, chroma
//! downsampling, forward DCT, quantisation and Huffman coding.
//!
//! Samples are `f32` and the DCT works on eight rows (or columns) at once, lane by lane; the
//! portable code is written so that the compiler vectorises it, and where it does so badly
//! (the 4:2:0 colour conversion, the DCT with quantisation) `strip/avx2.rs` has AVX2
//! versions with the same arithmetic, chosen at run time (safe, through `pulp`). The
//! Huffman coder gets each coefficient's size and value bits from that vector stage, walks
//! only the non-zero coefficients of a block through a bit mask, as libjpeg-turbo does, and
//! writes bits without branches, leaving byte stuffing to a pass over the output.

use super::tables::{self, ZIGZAG};

#[cfg(target_arch = "x86_64")]
mod avx2;

/// The AVX2 paths' token: present when the CPU has AVX2 and FMA (`pulp`'s V3 level). The
/// AVX2 functions are called directly from code that `pulp` compiled for V3, never from a
/// closure (say `Option::map`): a closure is compiled without the target features, and every
/// intrinsic in it becomes a function call (six times slower, measured).
#[cfg(target_arch = "x86_64")]
type Avx2 = Option<pulp::x86::V3>;
#[cfg(not(target_arch = "x86_64"))]
type Avx2 = Option<()>;

/// [`Avx2`] for this CPU.
fn avx2() -> Avx2 {
    #[cfg(target_arch = "x86_64")]
    return pulp::x86::V3::try_new();
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// How the image is split into components and MCUs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    /// One component, 8x8 MCUs.
    Gray,
    /// Y, Cb, Cr at full resolution, 8x8 MCUs of three blocks.
    Ycc444,
    /// Y at full resolution, Cb and Cr at half resolution both ways: 16x16 MCUs of six blocks.
    Ycc420,
}

impl Layout {
    pub fn mcu_width(self) -> usize {
        if self == Layout::Ycc420 {
            16
        } else {
            8
        }
    }

    pub fn mcu_height(self) -> usize {
        self.mcu_width()
    }

    pub fn components(self) -> usize {
        if self == Layout::Gray {
            1
        } else {
            3
        }
    }
}

/// AAN scale factors: `cos(k * pi / 16) * sqrt(2)` for k > 0, 1 for k = 0 (jfdctflt.c).
const AAN: [f32; 8] = [
    1.0,
    1.387_039_8,
    1.306_563,
    1.175_875_6,
    1.0,
    0.785_694_96,
    0.541_196_1,
    0.275_899_38,
];

/// What every strip of one image shares: the layout and the coding tables.
pub(super) struct Tables {
    pub layout: Layout,
    pub width: usize,
    /// Width padded to whole MCUs.
    padded: usize,
    /// Quantisation tables (luma, chroma) in natural order, as DQT stores them.
    pub quant: [[u8; 64]; 2],
    /// Multipliers turning a DCT output (transposed: coefficient (row v, column u) at
    /// `u * 8 + v`) into a quantised value: `1 / (q * aan[u] * aan[v] * 8)`.
    recip: [[[f32; 8]; 8]; 2],
    /// Huffman codes by symbol, as [`combined`] packs them.
    dc: [[u32; 256]; 2],
    ac: [[u32; 256]; 2],
}

impl Tables {
    pub fn new(layout: Layout, width: usize, quality: u8) -> Tables {
        let quant = [
            tables::scaled_quant(&tables::LUMA_QUANT, quality),
            tables::scaled_quant(&tables::CHROMA_QUANT, quality),
        ];
        let recip = quant.map(|q| {
            let mut r = [[0f32; 8]; 8];
            for (u, r) in r.iter_mut().enumerate() {
                for (v, r) in r.iter_mut().enumerate() {
                    *r = 1.0 / (q[v * 8 + u] as f32 * AAN[u] * AAN[v] * 8.0);
                }
            }
            r
        });
        let mcu = layout.mcu_width();
        Tables {
            layout,
            width,
            padded: width.div_ceil(mcu) * mcu,
            quant,
            recip,
            dc: [
                combined(&tables::codes(&tables::LUMA_DC)),
                combined(&tables::codes(&tables::CHROMA_DC)),
            ],
            ac: [
                combined(&tables::codes(&tables::LUMA_AC)),
                combined(&tables::codes(&tables::CHROMA_AC)),
            ],
        }
    }

    pub fn mcus_per_row(&self) -> usize {
        self.padded / self.layout.mcu_width()
    }
}

/// Codes from [`tables::codes`] (`code << 8 | length`) repacked for the coder: each symbol's
/// code shifted left by the size category the symbol carries in its low four bits (room for
/// the value bits that follow it), and the total length, as `code << size << 5 | (length +
/// size)` (at most 26 + 5 bits).
fn combined(codes: &[u32; 256]) -> [u32; 256] {
    let mut out = [0u32; 256];
    for (sym, (o, &c)) in out.iter_mut().zip(codes).enumerate() {
        if c != 0 {
            let size = sym as u32 & 15;
            *o = (c >> 8) << size << 5 | ((c & 0xFF) + size);
        }
    }
    out
}

/// MCUs per group converted and coded together (see [`encode`]): 8 (16 px wide in 4:2:0)
/// keeps a group's samples, 12 KiB of floats at most, in the L1 cache.
const GROUP_MCUS: usize = 8;

/// Buffers a strip encoder reuses from strip to strip.
#[derive(Default)]
pub(super) struct Scratch {
    /// Level-shifted samples of one group of MCUs: Y, then Cb and Cr (4:4:4 only).
    y: Vec<f32>,
    cb: Vec<f32>,
    cr: Vec<f32>,
    /// Cb and Cr averaged over 2x2 squares (4:2:0 only).
    cb2: Vec<f32>,
    cr2: Vec<f32>,
}

/// Encodes `rows` rows of 8-bit samples (gray or RGB, `t.width` pixels each) as one restart
/// interval: DC predictions start at 0 and the data ends padded to a byte. Rows past the
/// strip's end (the image's last MCU row) repeat its last row, as libjpeg does.
#[inline(always)]
pub(super) fn encode(t: &Tables, data: &[u8], rows: usize, s: &mut Scratch, out: &mut Vec<u8>) {
    let layout = t.layout;
    let (mw, mh) = (layout.mcu_width(), layout.mcu_height());
    let pw = t.padded;
    let bpp = layout.components();
    let row_len = t.width * bpp;
    out.clear();
    // Roughly what the strip will need (a quarter of the raw size is generous for JPEG).
    out.reserve(data.len() / 4 + 1024);
    let mut bits = BitWriter::new(out);
    let mut pred = [0i32; 3];
    // Each MCU row is converted and coded a group of MCUs at a time, so that the samples
    // stay in the L1 cache between the colour conversion and the DCT (a whole A4 row of
    // floats, 16 lines of 2480, is 160 KiB).
    let group = (GROUP_MCUS * mw).min(pw);
    s.y.resize(group * mh, 0.0);
    if layout == Layout::Ycc444 {
        s.cb.resize(group * mh, 0.0);
        s.cr.resize(group * mh, 0.0);
    }
    if layout == Layout::Ycc420 {
        s.cb2.resize(group / 2 * mh / 2, 0.0);
        s.cr2.resize(group / 2 * mh / 2, 0.0);
    }
    let mut zz = Coefs::new();
    let simd = avx2();
    // Row `r` (repeating the last) of the strip, from pixel `x0` up to `x1` or the image's
    // width. The padding of the last group is up to the conversions.
    let src = |r: usize, x0: usize, x1: usize| {
        let r = r.min(rows - 1);
        &data[r * row_len + x0 * bpp..r * row_len + x1.min(t.width) * bpp]
    };
    for band in (0..rows).step_by(mh) {
        for x0 in (0..pw).step_by(group) {
            // `x0` is below the width: the padding is less than one MCU.
            let gw = group.min(pw - x0);
            let x1 = x0 + gw;
            if layout == Layout::Ycc420 {
                let half = gw / 2;
                for p in 0..mh / 2 {
                    let (y0, y1) = s.y[2 * p * gw..(2 * p + 2) * gw].split_at_mut(gw);
                    ycc420_rows(
                        src(band + 2 * p, x0, x1),
                        src(band + 2 * p + 1, x0, x1),
                        y0,
                        y1,
                        &mut s.cb2[p * half..(p + 1) * half],
                        &mut s.cr2[p * half..(p + 1) * half],
                        simd,
                    );
                }
            } else {
                for r in 0..mh {
                    let line = r * gw..(r + 1) * gw;
                    if layout == Layout::Gray {
                        gray_row(src(band + r, x0, x1), &mut s.y[line]);
                    } else {
                        ycc_row(
                            src(band + r, x0, x1),
                            &mut s.y[line.clone()],
                            &mut s.cb[line.clone()],
                            &mut s.cr[line],
                            simd,
                        );
                    }
                }
            }
            for m in 0..gw / mw {
                let x = m * mw;
                bits.make_room();
                match layout {
                    Layout::Gray => {
                        block(&s.y, gw, x, t, 0, &mut zz, simd);
                        code_block(&mut bits, &zz, &mut pred[0], &t.dc[0], &t.ac[0]);
                    }
                    Layout::Ycc444 => {
                        block(&s.y, gw, x, t, 0, &mut zz, simd);
                        code_block(&mut bits, &zz, &mut pred[0], &t.dc[0], &t.ac[0]);
                        block(&s.cb, gw, x, t, 1, &mut zz, simd);
                        code_block(&mut bits, &zz, &mut pred[1], &t.dc[1], &t.ac[1]);
                        block(&s.cr, gw, x, t, 1, &mut zz, simd);
                        code_block(&mut bits, &zz, &mut pred[2], &t.dc[1], &t.ac[1]);
                    }
                    Layout::Ycc420 => {
                        for (dx, dy) in [(0, 0), (8, 0), (0, 8), (8, 8)] {
                            block(&s.y[dy * gw..], gw, x + dx, t, 0, &mut zz, simd);
                            code_block(&mut bits, &zz, &mut pred[0], &t.dc[0], &t.ac[0]);
                        }
                        let half = gw / 2;
                        block(&s.cb2, half, x / 2, t, 1, &mut zz, simd);
                        code_block(&mut bits, &zz, &mut pred[1], &t.dc[1], &t.ac[1]);
                        block(&s.cr2, half, x / 2, t, 1, &mut zz, simd);
                        code_block(&mut bits, &zz, &mut pred[2], &t.dc[1], &t.ac[1]);
                    }
                }
            }
        }
    }
    bits.pad();
}

/// One gray row, level-shifted, padded to the MCU width with its last sample.
#[inline(always)]
fn gray_row(src: &[u8], y: &mut [f32]) {
    let w = src.len();
    for (d, &s) in y.iter_mut().zip(src) {
        *d = s as f32 - 128.0;
    }
    let last = y[w - 1];
    y[w..].fill(last);
}

/// One RGB row to level-shifted Y, Cb, Cr (JFIF's full-range BT.601), padded like
/// [`gray_row`]; with `simd`, mostly in AVX2 (`strip/avx2.rs`, the same floats).
#[inline(always)]
fn ycc_row(src: &[u8], y: &mut [f32], cb: &mut [f32], cr: &mut [f32], simd: Avx2) {
    let w = src.len() / 3;
    let mut x = 0;
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = simd {
        x = avx2::ycc(simd, src, y, cb, cr);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    // Eight pixels at a time through fixed-size arrays: the compiler turns the arithmetic
    // into vector operations.
    let mut chunks = src[3 * x..].chunks_exact(24);
    for c in &mut chunks {
        // Bytes to floats in order (contiguous: vector conversions), then split into
        // channels (shuffles).
        let mut f = [0f32; 24];
        for (f, &c) in f.iter_mut().zip(c) {
            *f = c as f32;
        }
        let (mut r, mut g, mut b) = ([0f32; 8], [0f32; 8], [0f32; 8]);
        for i in 0..8 {
            r[i] = f[3 * i];
            g[i] = f[3 * i + 1];
            b[i] = f[3 * i + 2];
        }
        let (yo, cbo, cro) = (&mut y[x..x + 8], &mut cb[x..x + 8], &mut cr[x..x + 8]);
        for i in 0..8 {
            yo[i] = 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i] - 128.0;
            cbo[i] = -0.168_736 * r[i] - 0.331_264 * g[i] + 0.5 * b[i];
            cro[i] = 0.5 * r[i] - 0.418_688 * g[i] - 0.081_312 * b[i];
        }
        x += 8;
    }
    for p in chunks.remainder().chunks_exact(3) {
        let (r, g, b) = (p[0] as f32, p[1] as f32, p[2] as f32);
        y[x] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
        cb[x] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
        cr[x] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
        x += 1;
    }
    for plane in [y, cb, cr] {
        let last = plane[w - 1];
        plane[w..].fill(last);
    }
}

/// Two RGB rows to two level-shifted Y rows and one row each of Cb and Cr from 2x2
/// averages (4:2:0), padded like [`gray_row`]. Chroma comes from the summed RGB of each 2x2
/// square, which is the average of the four pixels' chroma (the conversion is linear): what
/// libjpeg's `h2v2_downsample` computes, at a quarter of the conversions. With `simd`, most
/// of the row goes through the AVX2 version in `strip/avx2.rs`, which gives the same floats.
#[inline(always)]
fn ycc420_rows(
    a: &[u8],
    b: &[u8],
    ya: &mut [f32],
    yb: &mut [f32],
    cb: &mut [f32],
    cr: &mut [f32],
    simd: Avx2,
) {
    let w = a.len() / 3;
    let luma = |r: f32, g: f32, b: f32| 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
    let mut x = 0;
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = simd {
        x = avx2::ycc420(simd, a, b, ya, yb, cb, cr);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    // Eight pixels of each row at a time: bytes to floats in order (contiguous: vector
    // conversions), then the arithmetic on fixed-size arrays (vector operations).
    for (ca, cb8) in a[3 * x..].chunks_exact(24).zip(b[3 * x..].chunks_exact(24)) {
        let (mut fa, mut fb) = ([0f32; 24], [0f32; 24]);
        for i in 0..24 {
            fa[i] = ca[i] as f32;
            fb[i] = cb8[i] as f32;
        }
        let (yao, ybo) = (&mut ya[x..x + 8], &mut yb[x..x + 8]);
        for i in 0..8 {
            yao[i] = luma(fa[3 * i], fa[3 * i + 1], fa[3 * i + 2]);
            ybo[i] = luma(fb[3 * i], fb[3 * i + 1], fb[3 * i + 2]);
        }
        let (cbo, cro) = (&mut cb[x / 2..x / 2 + 4], &mut cr[x / 2..x / 2 + 4]);
        for j in 0..4 {
            let sum =
                |c: usize| fa[6 * j + c] + fa[6 * j + 3 + c] + fb[6 * j + c] + fb[6 * j + 3 + c];
            let (r, g, bl) = (sum(0), sum(1), sum(2));
            cbo[j] = 0.25 * (-0.168_736 * r - 0.331_264 * g + 0.5 * bl);
            cro[j] = 0.25 * (0.5 * r - 0.418_688 * g - 0.081_312 * bl);
        }
        x += 8;
    }
    // The rest of the row, pixel by pixel; a missing right neighbour repeats the last pixel.
    let px = |row: &[u8], i: usize| {
        let i = i.min(w - 1);
        (
            row[3 * i] as f32,
            row[3 * i + 1] as f32,
            row[3 * i + 2] as f32,
        )
    };
    for i in x..w {
        let (r, g, bl) = px(a, i);
        ya[i] = luma(r, g, bl);
        let (r, g, bl) = px(b, i);
        yb[i] = luma(r, g, bl);
    }
    for j in x / 2..w.div_ceil(2) {
        let (mut r, mut g, mut bl) = (0f32, 0f32, 0f32);
        for (pr, pg, pb) in [
            px(a, 2 * j),
            px(a, 2 * j + 1),
            px(b, 2 * j),
            px(b, 2 * j + 1),
        ] {
            (r, g, bl) = (r + pr, g + pg, bl + pb);
        }
        cb[j] = 0.25 * (-0.168_736 * r - 0.331_264 * g + 0.5 * bl);
        cr[j] = 0.25 * (0.5 * r - 0.418_688 * g - 0.081_312 * bl);
    }
    for plane in [ya, yb] {
        let last = plane[w - 1];
        plane[w..].fill(last);
    }
    let cw = w.div_ceil(2);
    for plane in [cb, cr] {
        let last = plane[cw - 1];
        plane[cw..].fill(last);
    }
}

/// A block's quantised coefficients as the Huffman coder wants them: the DC value, and for
/// every coefficient (transposed: natural index `row * 8 + column` at `column * 8 + row`)
/// its value bits and size category as `bits << 4 | size`; bit k of `nonzero` says whether
/// the k-th coefficient in zigzag order is not zero.
struct Coefs {
    dc: i32,
    sym: [u32; 64],
    nonzero: u64,
}

impl Coefs {
    fn new() -> Coefs {
        Coefs {
            dc: 0,
            sym: [0; 64],
            nonzero: 0,
        }
    }
}

/// The 8x8 block at column `x` of the first eight rows of `plane` (row stride `stride`):
/// forward DCT and quantisation with table `table` (0 luma, 1 chroma).
///
/// The AAN butterflies run across the eight rows as vectors (down the columns), then, after a
/// transpose, across the columns (along the rows). The result is transposed (coefficient
/// (row v, column u) at `u * 8 + v`), which the tables account for.
#[inline(always)]
fn block(
    plane: &[f32],
    stride: usize,
    x: usize,
    t: &Tables,
    table: usize,
    c: &mut Coefs,
    simd: Avx2,
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = simd {
        return avx2::block(simd, plane, stride, x, &t.recip[table], c);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    let mut v = [[0f32; 8]; 8];
    for (y, row) in v.iter_mut().enumerate() {
        row.copy_from_slice(&plane[y * stride + x..y * stride + x + 8]);
    }
    aan(&mut v);
    let mut v = transpose(&v);
    aan(&mut v);
    // Quantisation: fixed-size arrays and plain index loops, so that it compiles to whole
    // vectors (multiply, min/max, add, integer subtract, pack).
    // Quantisation and each coefficient's symbol, row by row on fixed-size arrays, so that
    // it compiles to whole vectors (multiply, min/max, add, shifts, compares).
    let mut flags = [0u8; 64];
    for (((v, r), sym), flags) in v
        .iter()
        .zip(&t.recip[table])
        .zip(c.sym.chunks_exact_mut(8))
        .zip(flags.chunks_exact_mut(8))
    {
        for k in 0..8 {
            let q = quantise(v[k] * r[k]);
            sym[k] = symbol(q);
            flags[k] = (q != 0) as u8;
        }
    }
    c.dc = quantise(v[0][0] * t.recip[table][0][0]);
    c.nonzero = zigzag_mask(&flags);
}

/// `x` rounded to the nearest integer within -1023..=1023.
#[inline(always)]
fn quantise(x: f32) -> i32 {
    // Baseline allows 10-bit AC and 11-bit DC values; 8-bit samples stay within, this only
    // guards against rounding at the extremes. (Comparisons become vector min/max; `clamp`
    // does not vectorise.)
    let x = if x < -1023.0 { -1023.0 } else { x };
    let x = if x > 1023.0 { 1023.0 } else { x };
    // Round to nearest through the float format: adding 1.5 * 2^23 leaves the rounded
    // integer in the low mantissa bits. Unlike `as i32` (saturating) or `round` (a library
    // call without SSE4.1), this vectorises.
    (x + ROUND_MAGIC).to_bits() as i32 - ROUND_MAGIC_BITS
}

/// A coefficient (-1023..=1023) as the coder wants it: its value bits and size category,
/// `bits << 4 | size` ([`magnitude`], in operations that vectorise).
#[inline(always)]
fn symbol(v: i32) -> u32 {
    // The size category is the bit length of |v|, read from the exponent of |v| as a float
    // (a vector conversion; there is no vector lzcnt): 2^(e-127) <= |v| < 2^(e-126), so the
    // length is e - 126; 0 for v = 0.
    let e = ((v.abs() as f32).to_bits() >> 23) as i32 - 126;
    let size = if e < 0 { 0 } else { e };
    // Negative values are coded as v - 1 in `size` bits (F.1.2.1).
    let bits = (v + (v >> 31)) & ((1 << size) - 1);
    (bits << 4 | size) as u32
}

/// The zigzag-order mask of the non-zero coefficients from flags (0 or 1) in storage order:
/// eight flags packed into a byte with a multiply (byte i lands in bit i of the top byte),
/// then into zigzag order a byte at a time through tables, so the coder never reorders the
/// whole block.
#[inline(always)]
fn zigzag_mask(flags: &[u8; 64]) -> u64 {
    let mut nonzero = 0;
    for (table, eight) in ZIGZAG_BITS.iter().zip(flags.chunks_exact(8)) {
        let b = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        nonzero |= table[(b.wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize];
    }
    nonzero
}

/// An 8x8 transpose in three rounds of two-input shuffles (the unpack / shuffle /
/// lane-permute sequence of vector code), written so that each output row is built from
/// two input rows: the compiler turns every row into one shuffle instruction and keeps the
/// block in registers.
#[inline(always)]
fn transpose(m: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
    // Interleave pairs of rows within 128-bit halves.
    let lo = |a: &[f32; 8], b: &[f32; 8]| [a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]];
    let hi = |a: &[f32; 8], b: &[f32; 8]| [a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]];
    let t = [
        lo(&m[0], &m[1]),
        hi(&m[0], &m[1]),
        lo(&m[2], &m[3]),
        hi(&m[2], &m[3]),
        lo(&m[4], &m[5]),
        hi(&m[4], &m[5]),
        lo(&m[6], &m[7]),
        hi(&m[6], &m[7]),
    ];
    // Pairs of pairs: s[k] holds column k of rows 0..4 (or 4..8) and column k + 4.
    let even = |a: &[f32; 8], b: &[f32; 8]| [a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]];
    let odd = |a: &[f32; 8], b: &[f32; 8]| [a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]];
    let s = [
        even(&t[0], &t[2]),
        odd(&t[0], &t[2]),
        even(&t[1], &t[3]),
        odd(&t[1], &t[3]),
        even(&t[4], &t[6]),
        odd(&t[4], &t[6]),
        even(&t[5], &t[7]),
        odd(&t[5], &t[7]),
    ];
    // Join the halves.
    let low = |a: &[f32; 8], b: &[f32; 8]| [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]];
    let high = |a: &[f32; 8], b: &[f32; 8]| [a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]];
    [
        low(&s[0], &s[4]),
        low(&s[1], &s[5]),
        low(&s[2], &s[6]),
        low(&s[3], &s[7]),
        high(&s[0], &s[4]),
        high(&s[1], &s[5]),
        high(&s[2], &s[6]),
        high(&s[3], &s[7]),
    ]
}

/// 1.5 * 2^23, and its bit pattern (see [`block`]).
const ROUND_MAGIC: f32 = 12_582_912.0;
const ROUND_MAGIC_BITS: i32 = 0x4B40_0000;

/// [`ZIGZAG`] for the transposed layout [`block`] leaves: natural index `row * 8 + column`
/// is stored at `column * 8 + row`.
const ZIGZAG_T: [usize; 64] = {
    let mut t = [0; 64];
    let mut k = 0;
    while k < 64 {
        t[k] = (ZIGZAG[k] % 8) * 8 + ZIGZAG[k] / 8;
        k += 1;
    }
    t
};

/// `ZIGZAG_BITS[j][b]`: the zigzag-order mask of the stored positions `8 * j + i` whose bit
/// `i` is set in `b`.
static ZIGZAG_BITS: [[u64; 256]; 8] = {
    let mut zz_of = [0usize; 64];
    let mut k = 0;
    while k < 64 {
        zz_of[ZIGZAG_T[k]] = k;
        k += 1;
    }
    let mut t = [[0u64; 256]; 8];
    let mut j = 0;
    while j < 8 {
        let mut b = 0;
        while b < 256 {
            let mut i = 0;
            while i < 8 {
                if b >> i & 1 == 1 {
                    t[j][b] |= 1u64 << zz_of[8 * j + i];
                }
                i += 1;
            }
            b += 1;
        }
        j += 1;
    }
    t
};

/// The AAN forward DCT (libjpeg's jfdctflt.c) applied across the eight vectors of `d`, lane by
/// lane: one 1-D transform per lane, all eight at once.
#[inline(always)]
// The lane index runs across all eight vectors at once: that is the vectorisation.
#[allow(clippy::needless_range_loop)]
fn aan(d: &mut [[f32; 8]; 8]) {
    for l in 0..8 {
        let tmp0 = d[0][l] + d[7][l];
        let tmp7 = d[0][l] - d[7][l];
        let tmp1 = d[1][l] + d[6][l];
        let tmp6 = d[1][l] - d[6][l];
        let tmp2 = d[2][l] + d[5][l];
        let tmp5 = d[2][l] - d[5][l];
        let tmp3 = d[3][l] + d[4][l];
        let tmp4 = d[3][l] - d[4][l];

        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        d[0][l] = tmp10 + tmp11;
        d[4][l] = tmp10 - tmp11;
        let z1 = (tmp12 + tmp13) * 0.707_106_77;
        d[2][l] = tmp13 + z1;
        d[6][l] = tmp13 - z1;

        let tmp10 = tmp4 + tmp5;
        let tmp11 = tmp5 + tmp6;
        let tmp12 = tmp6 + tmp7;
        let z5 = (tmp10 - tmp12) * 0.382_683_43;
        let z2 = 0.541_196_1 * tmp10 + z5;
        let z4 = 1.306_563 * tmp12 + z5;
        let z3 = tmp11 * 0.707_106_77;
        let z11 = tmp7 + z3;
        let z13 = tmp7 - z3;
        d[5][l] = z13 + z2;
        d[3][l] = z13 - z2;
        d[1][l] = z11 + z4;
        d[7][l] = z11 - z4;
    }
}

/// Bits of `v` as JPEG codes them (Annex F.1.2.1): the size category, and the low `size`
/// bits of `v` (or of `v - 1` when negative).
#[inline(always)]
fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = (v + (v >> 31)) as u32 & ((1u32 << size) - 1);
    (size, bits)
}

/// Huffman-codes one block with DC prediction `pred` and tables from [`combined`].
#[inline(always)]
fn code_block(bw: &mut BitWriter<'_>, c: &Coefs, pred: &mut i32, dc: &[u32; 256], ac: &[u32; 256]) {
    // The writer's state in locals for the block, so it stays in registers.
    let (mut acc, mut n, mut pos) = (bw.acc, bw.n, bw.pos);
    let buf = &mut bw.buf;
    // A macro rather than a closure: it must be inlined at every use. Without a branch:
    // the pending bits (left-aligned in `acc`, n < 8 before) take the code (len <= 27, so
    // n + len < 64), all eight bytes of `acc` are stored, and `pos` moves past the whole
    // ones. Byte stuffing is left to `BitWriter::drain` (0xFF bytes are rare).
    macro_rules! put {
        ($code:expr, $len:expr) => {{
            let (code, len): (u32, u32) = ($code, $len);
            n += len;
            acc |= (code as u64) << (64 - n);
            buf[pos..pos + 8].copy_from_slice(&acc.to_be_bytes());
            let whole = n & !7;
            pos += (whole / 8) as usize;
            acc <<= whole;
            n -= whole;
        }};
    }
    let (size, value) = magnitude(c.dc - *pred);
    *pred = c.dc;
    let code = dc[size as usize];
    put!(code >> 5 | value, code & 31);
    let mut nonzero = c.nonzero & !1;
    let mut last = 0u32;
    while nonzero != 0 {
        let k = nonzero.trailing_zeros();
        nonzero &= nonzero - 1;
        let mut run = k - last - 1;
        while run > 15 {
            let zrl = ac[0xF0];
            put!(zrl >> 5, zrl & 31);
            run -= 16;
        }
        let sym = c.sym[ZIGZAG_T[k as usize]];
        let code = ac[(run << 4 | (sym & 15)) as usize];
        put!(code >> 5 | sym >> 4, code & 31);
        last = k;
    }
    if last != 63 {
        let eob = ac[0x00];
        put!(eob >> 5, eob & 31);
    }
    (bw.acc, bw.n, bw.pos) = (acc, n, pos);
}

/// Bytes one block can take at most: 64 codes of at most 27 bits.
const MAX_BLOCK_BYTES: usize = 64 * 27 / 8 + 1;
/// Bytes one MCU (at most six blocks) can take, and the 8 bytes every store writes.
const MAX_MCU_BYTES: usize = 6 * MAX_BLOCK_BYTES + 8;

/// Entropy-coded bits into bytes. Whole bytes collect in a fixed buffer that moves to `out`
/// between MCUs, with JPEG's byte stuffing (a 0 after every 0xFF) added on the way.
struct BitWriter<'a> {
    /// The pending bits are the top `n` bits (n < 8 between codes).
    acc: u64,
    n: u32,
    buf: [u8; 4 * MAX_MCU_BYTES],
    pos: usize,
    out: &'a mut Vec<u8>,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            acc: 0,
            n: 0,
            buf: [0; 4 * MAX_MCU_BYTES],
            pos: 0,
            out,
        }
    }

    /// Makes sure the buffer can take one more MCU.
    #[inline]
    fn make_room(&mut self) {
        if self.pos > self.buf.len() - MAX_MCU_BYTES {
            self.drain();
        }
    }

    /// Moves the whole bytes to `out`, stuffing a 0 after every 0xFF.
    #[inline(always)]
    fn drain(&mut self) {
        let mut rest = &self.buf[..self.pos];
        while let Some(i) = find_ff(rest) {
            self.out.extend_from_slice(&rest[..=i]);
            self.out.push(0);
            rest = &rest[i + 1..];
        }
        self.out.extend_from_slice(rest);
        self.pos = 0;
    }

    /// Flushes the last bits, padding the final byte with 1s (F.1.2.3).
    fn pad(&mut self) {
        if self.n > 0 {
            self.buf[self.pos] = (self.acc >> 56) as u8 | 0xFF >> self.n;
            self.pos += 1;
            (self.acc, self.n) = (0, 0);
        }
        self.drain();
    }
}

/// The index of the first 0xFF in `d`: 32 bytes at a time (a vector compare each), then the
/// position within those.
#[inline(always)]
fn find_ff(d: &[u8]) -> Option<usize> {
    let mut chunks = d.chunks_exact(32);
    let mut base = 0;
    for c in &mut chunks {
        if c.iter().fold(false, |any, &b| any | (b == 0xFF)) {
            break;
        }
        base += 32;
    }
    d[base..].iter().position(|&b| b == 0xFF).map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitudes() {
        assert_eq!(magnitude(0), (0, 0));
        assert_eq!(magnitude(1), (1, 1));
        assert_eq!(magnitude(-1), (1, 0));
        assert_eq!(magnitude(5), (3, 0b101));
        assert_eq!(magnitude(-5), (3, 0b010));
        assert_eq!(magnitude(-1023), (10, 0));
        assert_eq!(magnitude(2047), (11, 0x7FF));
    }

    /// Coefficients for [`code_block`] from `q` in storage order (transposed).
    fn coefs(q: &[i32; 64]) -> Coefs {
        let mut c = Coefs::new();
        c.dc = q[0];
        for (s, &v) in c.sym.iter_mut().zip(q) {
            *s = symbol(v);
        }
        c.nonzero = zigzag_mask(&q.map(|v| (v != 0) as u8));
        c
    }

    /// Blocks coded one after the other, as the strip encoder does.
    fn fast(blocks: &[[i32; 64]], dc: &[u32; 256], ac: &[u32; 256]) -> Vec<u8> {
        let (dc, ac) = (combined(dc), combined(ac));
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        let mut pred = 0;
        for q in blocks {
            w.make_room();
            code_block(&mut w, &coefs(q), &mut pred, &dc, &ac);
        }
        w.pad();
        out
    }

    /// The same, the plain way: coefficient by coefficient in zigzag order, bit by bit.
    fn naive(blocks: &[[i32; 64]], dc: &[u32; 256], ac: &[u32; 256]) -> Vec<u8> {
        let mut bits = Vec::new();
        let mut put = |v: u32, len: u32| {
            for i in (0..len).rev() {
                bits.push(v >> i & 1 == 1);
            }
        };
        let size_of = |v: i32| (0..16).find(|&s| v.unsigned_abs() < 1 << s).unwrap();
        let value_of = |v: i32, s: u32| {
            if v < 0 {
                (v - 1 + (1 << s)) as u32
            } else {
                v as u32
            }
        };
        let mut pred = 0;
        for q in blocks {
            let diff = q[0] - pred;
            pred = q[0];
            let s = size_of(diff);
            put(dc[s as usize] >> 8, dc[s as usize] & 0xFF);
            put(value_of(diff, s), s);
            let mut run = 0;
            for k in 1..64 {
                let v = q[ZIGZAG_T[k]];
                if v == 0 {
                    run += 1;
                    continue;
                }
                while run > 15 {
                    put(ac[0xF0] >> 8, ac[0xF0] & 0xFF);
                    run -= 16;
                }
                let s = size_of(v);
                let sym = (run << 4 | s) as usize;
                put(ac[sym] >> 8, ac[sym] & 0xFF);
                put(value_of(v, s), s);
                run = 0;
            }
            if run > 0 {
                put(ac[0] >> 8, ac[0] & 0xFF);
            }
        }
        while bits.len() % 8 != 0 {
            bits.push(true);
        }
        let mut out = Vec::new();
        for byte in bits.chunks(8) {
            let b = byte.iter().fold(0u8, |b, &bit| b << 1 | bit as u8);
            out.push(b);
            if b == 0xFF {
                out.push(0);
            }
        }
        out
    }

    #[test]
    fn avx2_colour_conversion_matches_the_portable_one() {
        // Widths around the 16-pixel steps of the AVX2 loop, odd ones, and noise.
        let mut seed = 0x2545_F491u32;
        for w in [1usize, 15, 16, 17, 31, 32, 33, 47, 100, 129] {
            let mut row = || {
                (0..3 * w)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        seed as u8
                    })
                    .collect::<Vec<u8>>()
            };
            let (a, b) = (row(), row());
            let pw = w.div_ceil(16) * 16;
            let run = |simd: Avx2| {
                let (mut ya, mut yb) = (vec![0f32; pw], vec![0f32; pw]);
                let (mut cb, mut cr) = (vec![0f32; pw / 2], vec![0f32; pw / 2]);
                ycc420_rows(&a, &b, &mut ya, &mut yb, &mut cb, &mut cr, simd);
                [ya, yb, cb, cr]
            };
            assert_eq!(run(avx2()), run(None), "width {w}");
        }
    }

    #[test]
    fn avx2_444_conversion_matches_the_portable_one() {
        let mut seed = 0x0BAD_5EEDu32;
        for w in [1usize, 7, 8, 9, 16, 23, 100] {
            let src: Vec<u8> = (0..3 * w)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect();
            let pw = w.div_ceil(8) * 8;
            let run = |simd: Avx2| {
                let (mut y, mut cb, mut cr) = (vec![0f32; pw], vec![0f32; pw], vec![0f32; pw]);
                ycc_row(&src, &mut y, &mut cb, &mut cr, simd);
                [y, cb, cr]
            };
            assert_eq!(run(avx2()), run(None), "width {w}");
        }
    }

    #[test]
    fn avx2_block_matches_the_portable_one() {
        // Noise, flat extremes and checkerboards (the largest AC values), at qualities from
        // the coarsest to the finest tables, both tables.
        let mut seed = 0x1357_9BDFu32;
        let mut planes: Vec<Vec<f32>> = vec![vec![-128.0; 64 * 3], vec![127.0; 64 * 3]];
        planes.push(
            (0..64 * 3)
                .map(|i| if (i + i / 24) % 2 == 0 { -128.0 } else { 127.0 })
                .collect(),
        );
        for _ in 0..50 {
            planes.push(
                (0..64 * 3)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        (seed % 256) as f32 - 128.0 + (seed >> 24) as f32 / 256.0
                    })
                    .collect(),
            );
        }
        for q in [1, 50, 75, 100] {
            let t = Tables::new(Layout::Ycc444, 24, q);
            for plane in &planes {
                for (x, table) in [(0, 0), (8, 1), (16, 0)] {
                    let (mut fast, mut plain) = (Coefs::new(), Coefs::new());
                    block(plane, 24, x, &t, table, &mut fast, avx2());
                    block(plane, 24, x, &t, table, &mut plain, None);
                    assert_eq!(
                        (fast.dc, fast.sym, fast.nonzero),
                        (plain.dc, plain.sym, plain.nonzero),
                        "q{q}"
                    );
                }
            }
        }
    }

    #[test]
    fn symbols_match_magnitudes() {
        for v in -2047..=2047 {
            let mut q = [0i32; 64];
            q[9] = v;
            let c = coefs(&q);
            let (size, bits) = magnitude(v);
            assert_eq!(c.sym[9], bits << 4 | size, "{v}");
            assert_eq!(c.nonzero != 0, v != 0);
        }
    }

    #[test]
    fn coded_blocks_match_a_plain_coder() {
        // Blocks with: DC only (all-zero AC); AC at the extremes of baseline's ranges; long
        // zero runs (one ZRL, three ZRLs, a run ending at 63 without EOB); every
        // coefficient set; and noise of every density. Enough of them that the writer's
        // buffer drains several times.
        let mut blocks = Vec::new();
        // DC values are within +-1023 (the clamp in `block`), differences within +-2046.
        let mut dc_only = [0i32; 64];
        dc_only[0] = 1023;
        blocks.push(dc_only);
        dc_only[0] = -1023;
        blocks.push(dc_only);
        let mut extremes = [0i32; 64];
        for (i, e) in extremes.iter_mut().enumerate() {
            *e = if i % 2 == 0 { 1023 } else { -1023 };
        }
        blocks.push(extremes);
        for ks in [&[17][..], &[40], &[63], &[1, 18, 35, 52, 63], &[62]] {
            let mut q = [0i32; 64];
            q[0] = 3;
            for &k in ks {
                q[ZIGZAG_T[k]] = -(k as i32);
            }
            blocks.push(q);
        }
        blocks.push([0; 64]);
        let mut seed = 0x9E37_79B9u32;
        for density in [1, 3, 8, 16, 40, 64] {
            for _ in 0..200 {
                let mut q = [0i32; 64];
                for v in q.iter_mut() {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    if seed % 64 < density {
                        // -1023..=1023, of every size.
                        *v = (((seed >> 8) % 2047) as i32 - 1023) >> ((seed >> 20) % 10);
                    }
                }
                blocks.push(q);
            }
        }
        let (dc, ac) = (
            tables::codes(&tables::LUMA_DC),
            tables::codes(&tables::LUMA_AC),
        );
        assert_eq!(fast(&blocks, &dc, &ac), naive(&blocks, &dc, &ac));
        let (dc, ac) = (
            tables::codes(&tables::CHROMA_DC),
            tables::codes(&tables::CHROMA_AC),
        );
        assert_eq!(fast(&blocks, &dc, &ac), naive(&blocks, &dc, &ac));
    }

    #[test]
    fn bits_are_stuffed_and_padded() {
        // A block with DC difference 0 and the AC coefficient 1 at zigzag 1 and 63, with
        // a code table where every symbol is coded as eight 1 bits: long runs of 1s.
        let mut q = [0i32; 64];
        q[ZIGZAG_T[1]] = 1;
        q[ZIGZAG_T[63]] = -1;
        let c = coefs(&q);
        assert_eq!(c.nonzero, 1 << 1 | 1 << 63);
        let ones = combined(&[0xFF << 8 | 8; 256]);
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        w.make_room();
        code_block(&mut w, &c, &mut 0, &ones, &ones);
        w.pad();
        // DC: 8 ones (size 0). AC 1: run 0 size 1, 8 ones and the value bit 1. ZRL x3 (24
        // ones), then run 13 size 1: 8 ones and the value bit 0 (for -1). No EOB after 63.
        // 49 ones, a 0, six 1s of padding: FF00 x6, then 1 0 111111.
        assert_eq!(
            out,
            [
                0xFF,
                0,
                0xFF,
                0,
                0xFF,
                0,
                0xFF,
                0,
                0xFF,
                0,
                0xFF,
                0,
                0b1011_1111
            ]
        );
    }

    #[test]
    fn nonzero_masks_follow_zigzag_order() {
        let t = Tables::new(Layout::Gray, 8, 50);
        let mut plane = [0f32; 64];
        for (i, p) in plane.iter_mut().enumerate() {
            *p = ((i * 37) % 101) as f32 - 50.0;
        }
        for simd in [avx2(), None] {
            let mut c = Coefs::new();
            block(&plane, 8, 0, &t, 0, &mut c, simd);
            for (k, &i) in ZIGZAG_T.iter().enumerate() {
                assert_eq!(c.nonzero >> k & 1 == 1, c.sym[i] != 0, "zigzag {k}");
            }
            assert!(c.nonzero.count_ones() > 5);
        }
    }

    #[test]
    fn dct_of_a_flat_block_is_dc_only() {
        let t = Tables::new(Layout::Gray, 8, 50);
        let plane = [40.0f32; 64];
        for simd in [avx2(), None] {
            let mut c = Coefs::new();
            block(&plane, 8, 0, &t, 0, &mut c, simd);
            // DC = 8 * mean / q = 8 * 40 / 16 = 20.
            assert_eq!(c.dc, 20);
            assert!(c.sym[1..].iter().all(|&c| c == 0), "{:?}", c.sym);
            assert_eq!(c.nonzero, 1);
        }
    }
}
