//! Sample conversions some formats need.
//!
//! The one lossy rule, used wherever an 8-bit format receives other data (JPEG, DCT pages in
//! PDF): lineart becomes gray with black = 0 and white = 255; a 16-bit sample `v` becomes
//! `round(v / 257)`, the inverse of the usual 8-to-16 expansion `v * 257`, so 8-bit data
//! that was widened to 16 bits comes back exactly.

use scanwire_core::device::PixelFormat;

/// Flips every bit: SANE/PBM lineart (1 = black) to PNG/PDF gray (0 = black) and back.
pub(crate) fn invert(buf: &mut [u8]) {
    for b in buf {
        *b = !*b;
    }
}

/// The 8-bit layout `pixel` is converted to: Gray8 or Rgb8.
pub(crate) const fn eight_bit(pixel: PixelFormat) -> PixelFormat {
    match pixel {
        PixelFormat::Rgb8 | PixelFormat::Rgb16 => PixelFormat::Rgb8,
        _ => PixelFormat::Gray8,
    }
}

/// 16-bit sample to 8 bits: `round(v / 257)`.
#[inline]
pub(crate) fn to8(v: u16) -> u8 {
    ((v as u32 + 128) / 257) as u8
}

/// Converts whole rows of `pixel` (each `pixel.bytes_per_line(width)` bytes) to
/// [`eight_bit`]`(pixel)` rows, appended to `out`.
pub(crate) fn to_eight_bit(pixel: PixelFormat, width: u32, rows: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match pixel {
        PixelFormat::Gray8 | PixelFormat::Rgb8 => out.extend_from_slice(rows),
        PixelFormat::Gray16 | PixelFormat::Rgb16 => out.extend(
            rows.chunks_exact(2)
                .map(|s| to8(u16::from_be_bytes([s[0], s[1]]))),
        ),
        PixelFormat::BlackAndWhite1 => {
            let bpl = pixel.bytes_per_line(width);
            let w = width as usize;
            for row in rows.chunks_exact(bpl) {
                out.extend((0..w).map(|x| {
                    let bit = row[x / 8] >> (7 - x % 8) & 1;
                    if bit == 1 {
                        0
                    } else {
                        255
                    }
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_to_eight_inverts_widening() {
        for v in 0..=255u8 {
            assert_eq!(to8(v as u16 * 257), v);
        }
        assert_eq!(to8(0x8080 - 129), 0x7f);
        assert_eq!(to8(u16::MAX), 255);
    }

    #[test]
    fn lineart_to_gray() {
        let mut out = Vec::new();
        to_eight_bit(
            PixelFormat::BlackAndWhite1,
            10,
            &[0b1010_0000, 0b0100_0000],
            &mut out,
        );
        assert_eq!(out, [0, 255, 0, 255, 255, 255, 255, 255, 255, 0]);
    }
}
