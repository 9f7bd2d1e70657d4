//! Pages the scanner encoded, turned into the raw rows an application asked for (PNG and
//! JPEG), and the format of a body recognised by its first bytes.

use crate::errors;
use scanwire_core::device::{ColorMode, DeviceError, Encoding, PixelFormat};

/// A decoded page.
#[derive(Debug)]
pub struct Raster {
    /// Sample layout.
    pub pixel: PixelFormat,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `pixel.bytes_per_line(width) * height` bytes.
    pub data: Vec<u8>,
}

/// The encoding of a body, from its magic bytes (sane-airscan ignores Content-Type too).
pub fn sniff(bytes: &[u8]) -> Option<Encoding> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some(Encoding::Png)
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        Some(Encoding::Jpeg)
    } else if bytes.starts_with(b"%PDF") {
        Some(Encoding::Pdf)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(Encoding::Tiff)
    } else {
        None
    }
}

/// Decodes a PNG or JPEG page into rows for `mode`.
pub fn decode(bytes: &[u8], mode: ColorMode) -> Result<Raster, DeviceError> {
    let (width, height, channels, depth16, samples) = match sniff(bytes) {
        Some(Encoding::Png) => png_samples(bytes)?,
        Some(Encoding::Jpeg) => jpeg_samples(bytes)?,
        other => {
            return Err(errors::bad_response(format!(
                "a page this driver cannot decode to rows ({}); ask for an encoding instead",
                other.map(|e| e.mime()).unwrap_or("unknown format")
            )))
        }
    };
    let pixel = PixelFormat::for_mode(mode);
    let bpl = pixel.bytes_per_line(width);
    let mut data = vec![0u8; bpl * height as usize];
    let bps = if depth16 { 2 } else { 1 };
    let src_bpl = width as usize * channels * bps;
    for y in 0..height as usize {
        let src = &samples[y * src_bpl..(y + 1) * src_bpl];
        let dst = &mut data[y * bpl..(y + 1) * bpl];
        for x in 0..width as usize {
            let sample = |c: usize| -> u16 {
                let i = (x * channels + c) * bps;
                if depth16 {
                    u16::from_be_bytes([src[i], src[i + 1]])
                } else {
                    u16::from(src[i]) * 257
                }
            };
            // Gray inputs have 1 or 2 (with alpha) channels; color 3 or 4.
            let (r, g, b) = if channels >= 3 {
                (sample(0), sample(1), sample(2))
            } else {
                let v = sample(0);
                (v, v, v)
            };
            let gray =
                ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000) as u16;
            match pixel {
                PixelFormat::Rgb8 => dst[x * 3..x * 3 + 3].copy_from_slice(&[
                    (r >> 8) as u8,
                    (g >> 8) as u8,
                    (b >> 8) as u8,
                ]),
                PixelFormat::Rgb16 => {
                    for (k, v) in [r, g, b].into_iter().enumerate() {
                        dst[x * 6 + k * 2..x * 6 + k * 2 + 2].copy_from_slice(&v.to_be_bytes());
                    }
                }
                PixelFormat::Gray8 => dst[x] = (gray >> 8) as u8,
                PixelFormat::Gray16 => dst[x * 2..x * 2 + 2].copy_from_slice(&gray.to_be_bytes()),
                // 1 = black, most significant bit first.
                PixelFormat::BlackAndWhite1 => {
                    if gray < 0x8000 {
                        dst[x / 8] |= 0x80 >> (x % 8);
                    }
                }
            }
        }
    }
    Ok(Raster {
        pixel,
        width,
        height,
        data,
    })
}

type Samples = (u32, u32, usize, bool, Vec<u8>);

fn png_samples(bytes: &[u8]) -> Result<Samples, DeviceError> {
    let bad = |e: png::DecodingError| {
        errors::bad_response(format!("a PNG page that does not decode: {e}"))
    };
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palette to RGB, low-bit gray to 8 bits, tRNS to alpha.
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| errors::bad_response("a PNG page too large to decode"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let channels = info.color_type.samples();
    let depth16 = info.bit_depth == png::BitDepth::Sixteen;
    let row = info.width as usize * channels * if depth16 { 2 } else { 1 };
    // Rows are packed (line_size == row) for 8/16-bit output; repack if not.
    let mut samples = Vec::with_capacity(row * info.height as usize);
    for y in 0..info.height as usize {
        samples.extend_from_slice(&buf[y * info.line_size..y * info.line_size + row]);
    }
    Ok((info.width, info.height, channels, depth16, samples))
}

fn jpeg_samples(bytes: &[u8]) -> Result<Samples, DeviceError> {
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let mut d = zune_jpeg::JpegDecoder::new_with_options(
        bytes,
        DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB),
    );
    let pixels = d
        .decode()
        .map_err(|e| errors::bad_response(format!("a JPEG page that does not decode: {e:?}")))?;
    let (w, h) = d
        .dimensions()
        .ok_or_else(|| errors::bad_response("a JPEG page without dimensions"))?;
    Ok((w as u32, h as u32, 3, false, pixels))
}
