//! BMP files, as WIA transfers pages in `WiaImgFmt_BMP` (a BITMAPFILEHEADER, a
//! BITMAPINFOHEADER, a palette for 1 and 8 bits, rows padded to 4 bytes, bottom-up unless the
//! height is negative). Only what a scanner page uses: uncompressed (`BI_RGB`) 1, 8, 24 and
//! 32 bits (and 32 bits as `BI_BITFIELDS` with the usual BGR masks). `scanwire-codecs` has no
//! BMP, and the image filter must give the application the format it asked for.

use scanwire_core::device::PixelFormat;

/// A BMP that cannot be read or written, with what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BMP: {0}")]
pub struct BmpError(pub String);

/// A decoded BMP.
#[derive(Debug)]
pub struct Bmp {
    /// Lineart for a two-entry gray palette, gray for a gray palette, else RGB.
    pub pixel: PixelFormat,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// From the pixels per metre, when stated.
    pub dpi: Option<(u32, u32)>,
    /// Rows top first, `pixel.bytes_per_line(width)` bytes each.
    pub data: Vec<u8>,
}

const FILE_HEADER: usize = 14;
const INFO_HEADER: usize = 40;
/// Pages larger than this each way are refused (what WIA's LONG extents can hold is far more
/// than a scanner produces; this bounds the allocation a corrupt header can ask for).
const MAX_SIDE: u32 = 1 << 16;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn err(s: impl Into<String>) -> BmpError {
    BmpError(s.into())
}

fn stride(width: u32, bits: u32) -> usize {
    ((width as usize * bits as usize).div_ceil(32)) * 4
}

fn luma(rgb: [u8; 3]) -> u8 {
    ((rgb[0] as u32 * 299 + rgb[1] as u32 * 587 + rgb[2] as u32 * 114 + 500) / 1000) as u8
}

/// Reads a BMP file.
pub fn decode(b: &[u8]) -> Result<Bmp, BmpError> {
    if b.len() < FILE_HEADER + INFO_HEADER || &b[0..2] != b"BM" {
        return Err(err("not a BMP file (no 'BM' signature and headers)"));
    }
    let off = u32_at(b, 10) as usize;
    let hsize = u32_at(b, 14) as usize;
    if hsize < INFO_HEADER {
        return Err(err(format!(
            "info header of {hsize} bytes; BITMAPINFOHEADER (40) or later is supported"
        )));
    }
    let width = u32_at(b, 18) as i32;
    let height = u32_at(b, 22) as i32;
    let bits = u16_at(b, 28) as u32;
    let compression = u32_at(b, 30);
    let (xppm, yppm) = (u32_at(b, 38) as i32, u32_at(b, 42) as i32);
    let colors = u32_at(b, 46) as usize;
    if width <= 0 || height == 0 || width as u32 > MAX_SIDE || height.unsigned_abs() > MAX_SIDE {
        return Err(err(format!(
            "size {width}x{height}; 1..={MAX_SIDE} each way is supported"
        )));
    }
    if !(compression == 0 || (compression == 3 && bits == 32)) {
        return Err(err(format!(
            "compression {compression}; only uncompressed (BI_RGB) is supported"
        )));
    }
    if compression == 3 {
        // BI_BITFIELDS: the masks follow the 40-byte header (also inside V4/V5 headers).
        let masks = (u32_at(b, 54), u32_at(b, 58), u32_at(b, 62));
        if masks != (0x00ff_0000, 0x0000_ff00, 0x0000_00ff) {
            return Err(err(format!(
                "32-bit bit fields {masks:08x?}; only 8-bit BGR fields are supported"
            )));
        }
    }
    let (w, h) = (width as u32, height.unsigned_abs());
    let top_down = height < 0;
    let palette: Vec<[u8; 3]> = match bits {
        1 | 8 => {
            let n = if colors == 0 { 1usize << bits } else { colors };
            let start = FILE_HEADER + hsize;
            let end = start + 4 * n;
            if n > 1 << bits || end > b.len() {
                return Err(err(format!("palette of {n} entries does not fit")));
            }
            b[start..end]
                .chunks_exact(4)
                .map(|c| [c[2], c[1], c[0]])
                .collect()
        }
        24 | 32 => Vec::new(),
        other => {
            return Err(err(format!(
                "{other} bits per pixel; 1, 8, 24 and 32 are supported"
            )))
        }
    };
    let src_stride = stride(w, bits);
    if off > b.len() || b.len() - off < src_stride * h as usize {
        return Err(err(format!(
            "pixel data ends early: {} bytes after offset {off}, {} needed",
            b.len().saturating_sub(off),
            src_stride * h as usize
        )));
    }
    let gray_palette = palette.iter().all(|c| c[0] == c[1] && c[1] == c[2]);
    let pixel = match bits {
        1 if gray_palette => PixelFormat::BlackAndWhite1,
        8 if gray_palette => PixelFormat::Gray8,
        _ => PixelFormat::Rgb8,
    };
    let bpl = pixel.bytes_per_line(w);
    let mut data = vec![0u8; bpl * h as usize];
    for y in 0..h as usize {
        let sy = if top_down { y } else { h as usize - 1 - y };
        let src = &b[off + sy * src_stride..off + (sy + 1) * src_stride];
        let dst = &mut data[y * bpl..(y + 1) * bpl];
        let entry = |i: usize| palette.get(i).copied().unwrap_or([0, 0, 0]);
        for x in 0..w as usize {
            let rgb = match bits {
                1 => entry(((src[x / 8] >> (7 - x % 8)) & 1) as usize),
                8 => entry(src[x] as usize),
                24 => [src[3 * x + 2], src[3 * x + 1], src[3 * x]],
                _ => [src[4 * x + 2], src[4 * x + 1], src[4 * x]],
            };
            match pixel {
                PixelFormat::BlackAndWhite1 => {
                    if luma(rgb) < 128 {
                        dst[x / 8] |= 0x80 >> (x % 8);
                    }
                }
                PixelFormat::Gray8 => dst[x] = rgb[0],
                _ => dst[3 * x..3 * x + 3].copy_from_slice(&rgb),
            }
        }
    }
    let dpi = |ppm: i32| (ppm > 0).then(|| (ppm as f64 * 0.0254).round() as u32);
    Ok(Bmp {
        pixel,
        width: w,
        height: h,
        dpi: dpi(xppm).zip(dpi(yppm)),
        data,
    })
}

/// Writes a page as a BMP file (bottom-up): lineart as 1 bit (palette white, black), gray as
/// 8 bits with a gray palette, RGB as 24 bits; 16-bit samples keep their high byte.
pub fn encode(img: &scanwire_imaging::Image) -> Result<Vec<u8>, BmpError> {
    let (w, h) = (img.width, img.height);
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(err(format!(
            "size {w}x{h}; 1..={MAX_SIDE} each way is supported"
        )));
    }
    let (bits, palette): (u32, Vec<[u8; 3]>) = match img.pixel {
        PixelFormat::BlackAndWhite1 => (1, vec![[255; 3], [0; 3]]),
        PixelFormat::Gray8 | PixelFormat::Gray16 => (8, (0..=255u8).map(|v| [v; 3]).collect()),
        PixelFormat::Rgb8 | PixelFormat::Rgb16 => (24, Vec::new()),
    };
    let s = stride(w, bits);
    let off = FILE_HEADER + INFO_HEADER + 4 * palette.len();
    let size = off + s * h as usize;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(off as u32).to_le_bytes());
    let ppm = |dpi: u32| ((dpi as f64 / 0.0254).round() as u32).to_le_bytes();
    out.extend_from_slice(&(INFO_HEADER as u32).to_le_bytes());
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&(bits as u16).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB
    out.extend_from_slice(&((s * h as usize) as u32).to_le_bytes());
    out.extend_from_slice(&ppm(img.dpi.0));
    out.extend_from_slice(&ppm(img.dpi.1));
    out.extend_from_slice(&(palette.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for c in &palette {
        out.extend_from_slice(&[c[2], c[1], c[0], 0]);
    }
    let bpl = img.bytes_per_line();
    let mut row = vec![0u8; s];
    for y in (0..h as usize).rev() {
        let src = &img.data[y * bpl..(y + 1) * bpl];
        row.fill(0);
        match img.pixel {
            PixelFormat::BlackAndWhite1 | PixelFormat::Gray8 => row[..bpl].copy_from_slice(src),
            PixelFormat::Gray16 => {
                for (d, px) in row.iter_mut().zip(src.chunks_exact(2)) {
                    *d = px[0];
                }
            }
            PixelFormat::Rgb8 => {
                for (d, px) in row.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                    d.copy_from_slice(&[px[2], px[1], px[0]]);
                }
            }
            PixelFormat::Rgb16 => {
                for (d, px) in row.chunks_exact_mut(3).zip(src.chunks_exact(6)) {
                    d.copy_from_slice(&[px[4], px[2], px[0]]);
                }
            }
        }
        out.extend_from_slice(&row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_imaging::Image;

    fn image(pixel: PixelFormat, w: u32, h: u32) -> Image {
        let bpl = pixel.bytes_per_line(w);
        let data = (0..bpl * h as usize)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        Image::new(pixel, w, h, (300, 200), data).unwrap()
    }

    #[test]
    fn round_trips_lineart_gray_and_rgb_with_odd_widths() {
        for pixel in [
            PixelFormat::BlackAndWhite1,
            PixelFormat::Gray8,
            PixelFormat::Rgb8,
        ] {
            for w in [1, 3, 13, 17] {
                let mut img = image(pixel, w, 5);
                if pixel == PixelFormat::BlackAndWhite1 {
                    // Bits past the width are padding, not pixels.
                    let bpl = img.bytes_per_line();
                    let keep = 0xffu8 << ((8 - w % 8) % 8);
                    for row in img.data.chunks_exact_mut(bpl) {
                        row[bpl - 1] &= keep;
                    }
                }
                let b = encode(&img).unwrap();
                let d = decode(&b).unwrap();
                assert_eq!((d.pixel, d.width, d.height), (pixel, w, 5));
                assert_eq!(d.dpi, Some((300, 200)));
                assert_eq!(d.data, img.data, "{pixel:?} width {w}");
            }
        }
    }

    #[test]
    fn sixteen_bit_pages_keep_their_high_byte() {
        let img = image(PixelFormat::Gray16, 4, 2);
        let d = decode(&encode(&img).unwrap()).unwrap();
        assert_eq!(d.pixel, PixelFormat::Gray8);
        let high: Vec<u8> = img.data.chunks_exact(2).map(|p| p[0]).collect();
        assert_eq!(d.data, high);
    }

    #[test]
    fn reads_top_down_rows_and_32_bit_pixels() {
        let img = image(PixelFormat::Rgb8, 3, 2);
        let mut b = encode(&img).unwrap();
        // Rewrite as a top-down 32-bit file by hand.
        let off = 54;
        let mut px = Vec::new();
        for y in 0..2 {
            for x in 0..3 {
                let p = &img.data[y * 9 + x * 3..y * 9 + x * 3 + 3];
                px.extend_from_slice(&[p[2], p[1], p[0], 0xff]);
            }
        }
        b.truncate(off);
        b[22..26].copy_from_slice(&(-2i32).to_le_bytes());
        b[28..30].copy_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(&px);
        let d = decode(&b).unwrap();
        assert_eq!(d.data, img.data);
        // The same as BI_BITFIELDS with the usual masks; other masks are refused.
        let mut bf = b[..54].to_vec();
        bf[30..34].copy_from_slice(&3u32.to_le_bytes());
        bf.extend_from_slice(&0x00ff_0000u32.to_le_bytes());
        bf.extend_from_slice(&0x0000_ff00u32.to_le_bytes());
        bf.extend_from_slice(&0x0000_00ffu32.to_le_bytes());
        bf[10..14].copy_from_slice(&66u32.to_le_bytes());
        bf.extend_from_slice(&b[54..]);
        assert_eq!(decode(&bf).unwrap().data, img.data);
        bf[54] = 0x1f;
        assert!(decode(&bf).unwrap_err().0.contains("bit fields"));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert!(decode(b"PNG").unwrap_err().0.contains("not a BMP"));
        let img = image(PixelFormat::Rgb8, 3, 2);
        let b = encode(&img).unwrap();
        let e = decode(&b[..b.len() - 1]).unwrap_err();
        assert!(e.0.contains("ends early"), "{e}");
        let mut c = b.clone();
        c[30] = 1; // BI_RLE8
        assert!(decode(&c).unwrap_err().0.contains("compression 1"));
        let mut c = b;
        c[28] = 4;
        assert!(decode(&c).unwrap_err().0.contains("4 bits per pixel"));
    }
}
