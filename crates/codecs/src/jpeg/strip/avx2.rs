//! The colour conversions and the DCT with quantisation in AVX2, through `pulp`'s safe
//! intrinsics: the compiler's own vectorisation of [`super::ycc420_rows`] and
//! [`super::ycc_row`] gathers the interleaved bytes one at a time, and that of
//! [`super::block`] keeps the block in memory between the passes. The arithmetic is the same, operation for operation, so the results
//! are identical (tested against the portable code).

use super::{Coefs, ROUND_MAGIC, ROUND_MAGIC_BITS, ZIGZAG_BITS};
use core::arch::x86_64::{__m128i, __m256, __m256i};
use pulp::bytemuck::cast;
use pulp::x86::V3;

/// Eight bytes of `b` from `at`, as floats.
#[inline(always)]
fn load8(simd: V3, b: &[u8], at: usize) -> __m256 {
    let mut w = [0u8; 16];
    w[..8].copy_from_slice(&b[at..at + 8]);
    let w: __m128i = cast(w);
    simd.avx
        ._mm256_cvtepi32_ps(simd.avx2._mm256_cvtepu8_epi32(w))
}

/// Eight RGB pixels of `b` from byte `at`, split into R, G and B floats: three vectors of
/// interleaved samples, blended so that each holds one channel (out of order), then put in
/// order by a permute.
#[inline(always)]
fn rgb8(simd: V3, b: &[u8], at: usize) -> [__m256; 3] {
    let (f0, f1, f2) = (
        load8(simd, b, at),
        load8(simd, b, at + 8),
        load8(simd, b, at + 16),
    );
    let order = |idx: [i32; 8], v: __m256| {
        simd.avx2
            ._mm256_permutevar8x32_ps(v, cast::<[i32; 8], __m256i>(idx))
    };
    // Channel c of pixel p is sample 3p + c: lane (3p + c) % 8 of vector (3p + c) / 8.
    let r = simd
        .avx
        ._mm256_blend_ps::<0x24>(simd.avx._mm256_blend_ps::<0x92>(f0, f1), f2);
    let g = simd
        .avx
        ._mm256_blend_ps::<0x49>(simd.avx._mm256_blend_ps::<0x24>(f0, f1), f2);
    let bl = simd
        .avx
        ._mm256_blend_ps::<0x92>(simd.avx._mm256_blend_ps::<0x49>(f0, f1), f2);
    [
        order([0, 3, 6, 1, 4, 7, 2, 5], r),
        order([1, 4, 7, 2, 5, 0, 3, 6], g),
        order([2, 5, 0, 3, 6, 1, 4, 7], bl),
    ]
}

/// [`super::ycc_row`] for the first pixels of `src`, eight at a time; returns how many
/// pixels it converted.
#[inline(always)]
pub(super) fn ycc(simd: V3, src: &[u8], y: &mut [f32], cb: &mut [f32], cr: &mut [f32]) -> usize {
    let avx = simd.avx;
    let c = |v: f32| avx._mm256_set1_ps(v);
    let (mul, add, sub) = (
        |a, b| avx._mm256_mul_ps(a, b),
        |a, b| avx._mm256_add_ps(a, b),
        |a, b| avx._mm256_sub_ps(a, b),
    );
    let store = |out: &mut [f32], v: __m256| out.copy_from_slice(&cast::<__m256, [f32; 8]>(v));
    let n = src.len() / 24;
    for i in 0..n {
        let x = 8 * i;
        let [r, g, b] = rgb8(simd, src, 24 * i);
        let yv = sub(
            add(add(mul(c(0.299), r), mul(c(0.587), g)), mul(c(0.114), b)),
            c(128.0),
        );
        let cbv = add(
            sub(mul(c(-0.168_736), r), mul(c(0.331_264), g)),
            mul(c(0.5), b),
        );
        let crv = sub(
            sub(mul(c(0.5), r), mul(c(0.418_688), g)),
            mul(c(0.081_312), b),
        );
        store(&mut y[x..x + 8], yv);
        store(&mut cb[x..x + 8], cbv);
        store(&mut cr[x..x + 8], crv);
    }
    8 * n
}

/// [`super::ycc420_rows`] for the first pixels of `a` and `b`, sixteen at a time; returns
/// how many pixels it converted (the caller does the rest).
#[inline(always)]
pub(super) fn ycc420(
    simd: V3,
    a: &[u8],
    b: &[u8],
    ya: &mut [f32],
    yb: &mut [f32],
    cb: &mut [f32],
    cr: &mut [f32],
) -> usize {
    let avx = simd.avx;
    let splat = |c: f32| avx._mm256_set1_ps(c);
    let (mul, add, sub) = (
        |a, b| avx._mm256_mul_ps(a, b),
        |a, b| avx._mm256_add_ps(a, b),
        |a, b| avx._mm256_sub_ps(a, b),
    );
    let luma = |[r, g, b]: [__m256; 3]| {
        sub(
            add(
                add(mul(splat(0.299), r), mul(splat(0.587), g)),
                mul(splat(0.114), b),
            ),
            splat(128.0),
        )
    };
    let store = |out: &mut [f32], v: __m256| out.copy_from_slice(&cast::<__m256, [f32; 8]>(v));
    let n = a.len().min(b.len()) / 48;
    for i in 0..n {
        let (x, at) = (16 * i, 48 * i);
        let a0 = rgb8(simd, a, at);
        let a1 = rgb8(simd, a, at + 24);
        let b0 = rgb8(simd, b, at);
        let b1 = rgb8(simd, b, at + 24);
        store(&mut ya[x..x + 8], luma(a0));
        store(&mut ya[x + 8..x + 16], luma(a1));
        store(&mut yb[x..x + 8], luma(b0));
        store(&mut yb[x + 8..x + 16], luma(b1));
        // 2x2 sums: rows added, then neighbours (hadd works within 128-bit halves; the
        // permute puts the halves' results in order). Sums of small integers are exact.
        let sum = |c: usize| {
            let s = avx._mm256_hadd_ps(add(a0[c], b0[c]), add(a1[c], b1[c]));
            avx._mm256_castpd_ps(
                simd.avx2
                    ._mm256_permute4x64_pd::<0xD8>(avx._mm256_castps_pd(s)),
            )
        };
        let (r, g, bl) = (sum(0), sum(1), sum(2));
        let quarter = splat(0.25);
        let cbv = add(
            sub(mul(splat(-0.168_736), r), mul(splat(0.331_264), g)),
            mul(splat(0.5), bl),
        );
        let crv = sub(
            sub(mul(splat(0.5), r), mul(splat(0.418_688), g)),
            mul(splat(0.081_312), bl),
        );
        store(&mut cb[x / 2..x / 2 + 8], mul(quarter, cbv));
        store(&mut cr[x / 2..x / 2 + 8], mul(quarter, crv));
    }
    16 * n
}

/// [`super::aan`] on eight vectors.
#[inline(always)]
fn aan(simd: V3, d: [__m256; 8]) -> [__m256; 8] {
    let avx = simd.avx;
    let add = |a, b| avx._mm256_add_ps(a, b);
    let sub = |a, b| avx._mm256_sub_ps(a, b);
    let mul = |a, c: f32| avx._mm256_mul_ps(a, avx._mm256_set1_ps(c));
    let tmp0 = add(d[0], d[7]);
    let tmp7 = sub(d[0], d[7]);
    let tmp1 = add(d[1], d[6]);
    let tmp6 = sub(d[1], d[6]);
    let tmp2 = add(d[2], d[5]);
    let tmp5 = sub(d[2], d[5]);
    let tmp3 = add(d[3], d[4]);
    let tmp4 = sub(d[3], d[4]);

    let tmp10 = add(tmp0, tmp3);
    let tmp13 = sub(tmp0, tmp3);
    let tmp11 = add(tmp1, tmp2);
    let tmp12 = sub(tmp1, tmp2);
    let d0 = add(tmp10, tmp11);
    let d4 = sub(tmp10, tmp11);
    let z1 = mul(add(tmp12, tmp13), 0.707_106_77);
    let d2 = add(tmp13, z1);
    let d6 = sub(tmp13, z1);

    let tmp10 = add(tmp4, tmp5);
    let tmp11 = add(tmp5, tmp6);
    let tmp12 = add(tmp6, tmp7);
    let z5 = mul(sub(tmp10, tmp12), 0.382_683_43);
    let z2 = add(mul(tmp10, 0.541_196_1), z5);
    let z4 = add(mul(tmp12, 1.306_563), z5);
    let z3 = mul(tmp11, 0.707_106_77);
    let z11 = add(tmp7, z3);
    let z13 = sub(tmp7, z3);
    [
        d0,
        add(z11, z4),
        d2,
        sub(z13, z2),
        d4,
        add(z13, z2),
        d6,
        sub(z11, z4),
    ]
}

/// An 8x8 transpose: pairs interleaved, then pairs of pairs, then 128-bit halves swapped.
#[inline(always)]
fn transpose(simd: V3, r: [__m256; 8]) -> [__m256; 8] {
    let avx = simd.avx;
    let (lo, hi) = (
        |a, b| avx._mm256_unpacklo_ps(a, b),
        |a, b| avx._mm256_unpackhi_ps(a, b),
    );
    let t = [
        lo(r[0], r[1]),
        hi(r[0], r[1]),
        lo(r[2], r[3]),
        hi(r[2], r[3]),
        lo(r[4], r[5]),
        hi(r[4], r[5]),
        lo(r[6], r[7]),
        hi(r[6], r[7]),
    ];
    let (even, odd) = (
        |a, b| avx._mm256_shuffle_ps::<0x44>(a, b),
        |a, b| avx._mm256_shuffle_ps::<0xEE>(a, b),
    );
    // s[k]: column k of four rows in the low half, column k + 4 in the high half.
    let s = [
        even(t[0], t[2]),
        odd(t[0], t[2]),
        even(t[1], t[3]),
        odd(t[1], t[3]),
        even(t[4], t[6]),
        odd(t[4], t[6]),
        even(t[5], t[7]),
        odd(t[5], t[7]),
    ];
    let (low, high) = (
        |a, b| avx._mm256_permute2f128_ps::<0x20>(a, b),
        |a, b| avx._mm256_permute2f128_ps::<0x31>(a, b),
    );
    [
        low(s[0], s[4]),
        low(s[1], s[5]),
        low(s[2], s[6]),
        low(s[3], s[7]),
        high(s[0], s[4]),
        high(s[1], s[5]),
        high(s[2], s[6]),
        high(s[3], s[7]),
    ]
}

/// Eight samples of `plane` from `at`.
#[inline(always)]
fn row(plane: &[f32], at: usize) -> __m256 {
    let row: &[f32; 8] = plane[at..at + 8].try_into().expect("8 samples");
    cast(*row)
}

/// [`super::block`]: DCT, quantisation with `recip`, symbols and the non-zero mask.
#[inline(always)]
pub(super) fn block(
    simd: V3,
    plane: &[f32],
    stride: usize,
    x: usize,
    recip: &[[f32; 8]; 8],
    c: &mut Coefs,
) {
    let (avx, avx2) = (simd.avx, simd.avx2);
    let at = |y: usize| y * stride + x;
    let rows = [
        row(plane, at(0)),
        row(plane, at(1)),
        row(plane, at(2)),
        row(plane, at(3)),
        row(plane, at(4)),
        row(plane, at(5)),
        row(plane, at(6)),
        row(plane, at(7)),
    ];
    let v = aan(simd, transpose(simd, aan(simd, rows)));
    let splat = |i: i32| avx._mm256_set1_epi32(i);
    let zero = avx._mm256_setzero_si256();
    let mut nonzero = 0;
    for (u, (&v, r)) in v.iter().zip(recip).enumerate() {
        // `super::quantise`.
        let x = avx._mm256_mul_ps(v, cast(*r));
        let x = avx._mm256_max_ps(x, avx._mm256_set1_ps(-1023.0));
        let x = avx._mm256_min_ps(x, avx._mm256_set1_ps(1023.0));
        let x = avx._mm256_add_ps(x, avx._mm256_set1_ps(ROUND_MAGIC));
        let q = avx2._mm256_sub_epi32(avx._mm256_castps_si256(x), splat(ROUND_MAGIC_BITS));
        // `super::symbol`.
        let abs = avx._mm256_cvtepi32_ps(avx2._mm256_abs_epi32(q));
        let e = avx2._mm256_sub_epi32(
            avx2._mm256_srli_epi32::<23>(avx._mm256_castps_si256(abs)),
            splat(126),
        );
        let size = avx2._mm256_max_epi32(e, zero);
        let low_bits = avx2._mm256_andnot_si256(avx2._mm256_sllv_epi32(splat(-1), size), splat(-1));
        let bits = avx2._mm256_and_si256(
            avx2._mm256_add_epi32(q, avx2._mm256_srai_epi32::<31>(q)),
            low_bits,
        );
        let sym = avx2._mm256_or_si256(avx2._mm256_slli_epi32::<4>(bits), size);
        c.sym[u * 8..u * 8 + 8].copy_from_slice(&cast::<__m256i, [u32; 8]>(sym));
        if u == 0 {
            c.dc = cast::<__m256i, [i32; 8]>(q)[0];
        }
        let zeros =
            avx._mm256_movemask_ps(avx._mm256_castsi256_ps(avx2._mm256_cmpeq_epi32(q, zero)));
        nonzero |= ZIGZAG_BITS[u][(!zeros & 0xFF) as usize];
    }
    c.nonzero = nonzero;
}
