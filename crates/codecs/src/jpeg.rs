//! Baseline JPEG, encoded in strips on every core.
//!
//! The page is cut into strips of whole MCU rows, and each strip is one restart interval
//! (DRI/RSTn, T.81 F.1.2.3): its DC predictions start from zero and its data ends on a byte
//! boundary, so strips are encoded independently, on as many threads as the options allow,
//! and concatenated with RST markers between them. The result is an ordinary baseline JPEG
//! (every decoder supports restart markers). Rows are pulled from the page's [`RowReader`]
//! strip by strip while earlier strips are encoded, so memory is a few strips (about
//! 256 KiB of rows each), whatever the page size; only the height must be known up front
//! (SOF comes first), which the caller ensures by spooling pages of unknown height.
//!
//! The encoder is our own (`jpeg/strip.rs`) rather than the `jpeg-encoder` crate: on scanned
//! pages that crate spent about 70 ms of CPU per A4 300 dpi color page, four to five times
//! what libjpeg-turbo needs, mostly in its per-coefficient Huffman loop; the target is to be
//! at least as fast as scanimage's libjpeg-turbo (BENCHMARKS.md, "Encoders"). It is now
//! level with it: on one thread, at quality 75 and 4:2:0, about 22 ms of CPU for the SANE
//! test backend's "Color pattern" A4 300 dpi page and 15 ms for a noisy photo-like one;
//! libjpeg-turbo 2.1's AVX2 code (cjpeg, its share of perf samples) 22 and 14 ms.
//!
//! Quality scales the Annex K tables exactly as libjpeg's `jpeg_set_quality` does, so
//! `quality 75` here and in scanimage or cjpeg use the same quantisation. Chroma is
//! subsampled 4:2:0 (2x2 averages) below quality 90 and kept at full resolution (4:4:4) from
//! 90 up. Lineart and 16-bit data become 8-bit by the rule in [`crate::convert`].

mod strip;
mod tables;

use crate::convert::{eight_bit, to_eight_bit};
use crate::par;
use crate::source::{Raster, RowReader};
use crate::EncodeError;
use scanwire_core::device::PixelFormat;
use std::io::Write;
use strip::{Layout, Scratch, Tables};

/// JPEG's dimension limit (16-bit fields in SOF).
pub(crate) const MAX_SIDE: u32 = 65_535;

/// Rows (8-bit) per strip, about: small enough that both cores get work early and the last
/// strip's encoding (which nothing overlaps) is short, large enough that the per-strip cost
/// (a hand-off between threads, two marker bytes) is nil.
const STRIP_BYTES: usize = 256 * 1024;

/// Checks `r` fits in a JPEG.
pub(crate) fn check_size(r: &Raster) -> Result<(), EncodeError> {
    if r.width > MAX_SIDE || r.height > MAX_SIDE {
        return Err(EncodeError::Unsupported(format!(
            "JPEG holds at most {MAX_SIDE}x{MAX_SIDE} pixels; this page is {}x{} (use PNG or TIFF)",
            r.width, r.height
        )));
    }
    Ok(())
}

/// One strip on its way to a worker: the page's rows as they arrived.
#[derive(Default)]
struct StripIn {
    raw: Vec<u8>,
    rows: usize,
}

/// A worker's answer: the strip's entropy-coded bytes, and buffers kept for the next strip.
#[derive(Default)]
struct StripOut {
    coded: Vec<u8>,
    eight: Vec<u8>,
    scratch: Scratch,
}

/// One strip's encoding, as a [`pulp::WithSimd`] operation: `pulp` runs it in a copy of the
/// encoder compiled for the best instruction set the CPU has (AVX2 and FMA on current x86),
/// chosen at run time; the code is plain Rust that the compiler vectorises, plus AVX2
/// versions of the hottest parts (`jpeg/strip/avx2.rs`).
struct Strip<'a> {
    tables: &'a Tables,
    data: &'a [u8],
    rows: usize,
    scratch: &'a mut Scratch,
    out: &'a mut Vec<u8>,
}

impl pulp::WithSimd for Strip<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        strip::encode(self.tables, self.data, self.rows, self.scratch, self.out);
    }
}

/// Encodes a baseline JPEG of `r` from `rows` into `out`, on up to `threads` threads.
pub(crate) fn encode(
    r: Raster,
    rows: &mut RowReader<'_>,
    quality: u8,
    threads: usize,
    out: &mut dyn Write,
) -> Result<(), EncodeError> {
    check_size(&r)?;
    let target = eight_bit(r.pixel);
    let layout = match target {
        PixelFormat::Rgb8 if quality >= 90 => Layout::Ycc444,
        PixelFormat::Rgb8 => Layout::Ycc420,
        _ => Layout::Gray,
    };
    let width = r.width as usize;
    let tables = Tables::new(layout, width, quality);
    let mcu_h = layout.mcu_height();
    let row8 = target.bytes_per_line(r.width);
    // Whole MCU rows per strip, and at most 65535 MCUs (DRI's 16-bit interval).
    let mcu_rows =
        (STRIP_BYTES / (row8 * mcu_h)).clamp(1, (u16::MAX as usize / tables.mcus_per_row()).max(1));
    let strip_rows = mcu_rows * mcu_h;
    let height = r.height as usize;
    let strips = height.div_ceil(strip_rows);
    let interval = (strips > 1).then(|| (mcu_rows * tables.mcus_per_row()) as u16);
    let io = EncodeError::io("the JPEG image");

    out.write_all(&header(&r, &tables, interval)).map_err(io)?;
    let raw_bpl = r.bytes_per_line();
    let mut read = 0usize;
    let mut written = 0usize;
    par::ordered(
        threads.min(strips),
        |job: &mut StripIn| {
            job.rows = rows.read_rows(&mut job.raw, strip_rows)?;
            read += job.rows;
            Ok(job.rows > 0)
        },
        |job: &StripIn, o: &mut StripOut| {
            let data = if r.pixel == target {
                &job.raw[..job.rows * raw_bpl]
            } else {
                to_eight_bit(r.pixel, r.width, &job.raw, &mut o.eight);
                &o.eight[..]
            };
            pulp::Arch::new().dispatch(Strip {
                tables: &tables,
                data,
                rows: job.rows,
                scratch: &mut o.scratch,
                out: &mut o.coded,
            });
        },
        |o: &StripOut| {
            if written > 0 {
                out.write_all(&[0xFF, 0xD0 + ((written - 1) % 8) as u8])
                    .map_err(EncodeError::io("the JPEG image"))?;
            }
            written += 1;
            out.write_all(&o.coded)
                .map_err(EncodeError::io("the JPEG image"))
        },
    )?;
    if read < height {
        // The reader reports a short page itself; this only guards the arithmetic above.
        return Err(EncodeError::ShortPage {
            rows: read as u32,
            height: r.height,
        });
    }
    out.write_all(&[0xFF, 0xD9])
        .map_err(EncodeError::io("the JPEG image"))?;
    out.flush().map_err(EncodeError::io("the JPEG image"))
}

/// SOI, JFIF, quantisation tables, frame header, Huffman tables, restart interval, scan
/// header: everything before the first strip.
fn header(r: &Raster, t: &Tables, interval: Option<u16>) -> Vec<u8> {
    let mut h = Vec::with_capacity(700);
    let segment = |h: &mut Vec<u8>, marker: u8, body: &[u8]| {
        h.extend_from_slice(&[0xFF, marker]);
        h.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
        h.extend_from_slice(body);
    };
    h.extend_from_slice(&[0xFF, 0xD8]);
    // JFIF 1.01 with the density in dots per inch (or 1:1 aspect ratio when unknown).
    let clamp = |d: u32| d.min(u16::MAX as u32) as u16;
    let (unit, dx, dy) = match r.dpi {
        (x, y) if x > 0 && y > 0 => (1u8, clamp(x), clamp(y)),
        _ => (0, 1, 1),
    };
    let mut jfif = b"JFIF\0\x01\x01".to_vec();
    jfif.push(unit);
    jfif.extend_from_slice(&dx.to_be_bytes());
    jfif.extend_from_slice(&dy.to_be_bytes());
    jfif.extend_from_slice(&[0, 0]);
    segment(&mut h, 0xE0, &jfif);
    let comps = t.layout.components();
    for (id, q) in t.quant.iter().enumerate().take(comps.min(2)) {
        let mut body = vec![id as u8];
        body.extend(tables::ZIGZAG.iter().map(|&n| q[n]));
        segment(&mut h, 0xDB, &body);
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&(r.height as u16).to_be_bytes());
    sof.extend_from_slice(&(r.width as u16).to_be_bytes());
    sof.push(comps as u8);
    for c in 0..comps {
        let sampling = match (t.layout, c) {
            (Layout::Ycc420, 0) => 0x22,
            _ => 0x11,
        };
        sof.extend_from_slice(&[c as u8 + 1, sampling, (c > 0) as u8]);
    }
    segment(&mut h, 0xC0, &sof);
    let specs = [
        (0x00, &tables::LUMA_DC),
        (0x10, &tables::LUMA_AC),
        (0x01, &tables::CHROMA_DC),
        (0x11, &tables::CHROMA_AC),
    ];
    for (class_id, spec) in specs.iter().take(if comps == 1 { 2 } else { 4 }) {
        let mut body = vec![*class_id];
        body.extend_from_slice(&spec.counts);
        body.extend_from_slice(spec.symbols);
        segment(&mut h, 0xC4, &body);
    }
    if let Some(n) = interval {
        segment(&mut h, 0xDD, &n.to_be_bytes());
    }
    let mut sos = vec![comps as u8];
    for c in 0..comps {
        sos.extend_from_slice(&[c as u8 + 1, if c == 0 { 0x00 } else { 0x11 }]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(&mut h, 0xDA, &sos);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SliceSource;

    /// A page with gradients, hard edges and noise in every channel.
    fn chart(w: usize, h: usize, channels: usize) -> Vec<u8> {
        let mut seed = 0x1234_5678u32;
        let mut out = Vec::with_capacity(w * h * channels);
        for y in 0..h {
            for x in 0..w {
                for c in 0..channels {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let base = match c {
                        0 => x * 255 / w,
                        1 => y * 255 / h,
                        _ => {
                            if (x / 7 + y / 5) % 3 == 0 {
                                30
                            } else {
                                220
                            }
                        }
                    };
                    out.push((base as i32 + (seed % 9) as i32 - 4).clamp(0, 255) as u8);
                }
            }
        }
        out
    }

    fn encode_with(
        data: &[u8],
        pixel: PixelFormat,
        w: u32,
        h: u32,
        q: u8,
        threads: usize,
    ) -> Vec<u8> {
        let r = Raster {
            pixel,
            width: w,
            height: h,
            dpi: (300, 300),
        };
        let mut src = SliceSource::new(data, 1000);
        let mut rows = RowReader::new(&mut src, r.bytes_per_line(), Some(h));
        let mut out = Vec::new();
        encode(r, &mut rows, q, threads, &mut out).unwrap();
        out
    }

    fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut d = zune_jpeg::JpegDecoder::new(jpeg);
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        (info.width as usize, info.height as usize, px)
    }

    fn mean_error(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y) as f64)
            .sum::<f64>()
            / a.len() as f64
    }

    /// `ours` is as close to the source as jpeg-encoder (a port of libjpeg's methods) gets,
    /// in no more bytes (2 % slack).
    fn like_reference(data: &[u8], pixel: PixelFormat, w: usize, h: usize, q: u8, ours: &[u8]) {
        let color = if pixel.channels() == 3 {
            jpeg_encoder::ColorType::Rgb
        } else {
            jpeg_encoder::ColorType::Luma
        };
        let mut reference = Vec::new();
        jpeg_encoder::Encoder::new(&mut reference, q)
            .encode(data, w as u16, h as u16, color)
            .unwrap();
        let e = mean_error(&decode(ours).2, data);
        let e_ref = mean_error(&decode(&reference).2, data);
        assert!(
            e <= e_ref * 1.02 && ours.len() <= reference.len() * 102 / 100,
            "{pixel:?} {w}x{h} q{q}: error {e:.2} vs {e_ref:.2}, {} vs {} bytes",
            ours.len(),
            reference.len()
        );
    }

    #[test]
    fn strips_join_into_one_valid_image_on_any_thread_count() {
        // Tall enough for many restart intervals, widths that are not MCU multiples.
        for (pixel, w, h, q) in [
            (PixelFormat::Rgb8, 1203, 517, 75),
            (PixelFormat::Rgb8, 333, 999, 95),
            (PixelFormat::Gray8, 2001, 301, 85),
        ] {
            let ch = pixel.channels() as usize;
            let data = chart(w, h, ch);
            let one = encode_with(&data, pixel, w as u32, h as u32, q, 1);
            assert!(one.windows(2).any(|m| m == [0xFF, 0xDD]), "has DRI");
            for threads in [2, 3] {
                // Threads change nothing in the bytes.
                assert_eq!(
                    encode_with(&data, pixel, w as u32, h as u32, q, threads),
                    one
                );
            }
            let (dw, dh, _) = decode(&one);
            assert_eq!((dw, dh), (w, h));
            like_reference(&data, pixel, w, h, q, &one);
        }
    }

    #[test]
    fn small_images_have_no_restart_interval() {
        let data = chart(17, 9, 3);
        let out = encode_with(&data, PixelFormat::Rgb8, 17, 9, 85, 2);
        assert!(!out.windows(2).any(|m| m == [0xFF, 0xDD]));
        let (w, h, px) = decode(&out);
        assert_eq!((w, h), (17, 9));
        like_reference(&data, PixelFormat::Rgb8, 17, 9, 85, &out);
        assert_eq!(px.len(), data.len());
        let info = crate::jfif::parse_header(&out).unwrap().unwrap();
        assert_eq!(info.dpi, Some((300, 300)));
    }

    #[test]
    fn any_size_decodes() {
        for (w, h) in [
            (1, 1),
            (1, 17),
            (17, 1),
            (3, 3),
            (15, 33),
            (16, 16),
            (33, 15),
        ] {
            for (pixel, q) in [
                (PixelFormat::Rgb8, 75),
                (PixelFormat::Rgb8, 95),
                (PixelFormat::Gray8, 75),
            ] {
                let data = chart(w, h, pixel.channels() as usize);
                for threads in [1, 2] {
                    let out = encode_with(&data, pixel, w as u32, h as u32, q, threads);
                    let (dw, dh, px) = decode(&out);
                    assert_eq!((dw, dh, px.len()), (w, h, data.len()), "{w}x{h} {pixel:?}");
                }
            }
        }
    }

    #[test]
    fn higher_quality_is_closer_and_larger() {
        let data = chart(400, 300, 3);
        let mut last = (f64::MAX, 0);
        for q in [20, 50, 75, 90, 100] {
            let out = encode_with(&data, PixelFormat::Rgb8, 400, 300, q, 1);
            let e = mean_error(&decode(&out).2, &data);
            assert!(
                e < last.0 && out.len() > last.1,
                "q{q}: error {e:.2}, {} B",
                out.len()
            );
            last = (e, out.len());
        }
        assert!(last.0 < 2.5, "q100 error {:.2}", last.0);
    }
}
