//! The 4:2:0 colour conversion in AVX2, through `pulp`'s safe intrinsics: the compiler's own
//! vectorisation of [`super::ycc420_rows`] gathers the interleaved bytes one at a time. The
//! arithmetic is the same, operation for operation, so the results are identical.

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
