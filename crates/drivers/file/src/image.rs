//! The native module: what a file holds (its pages, their size, mode and resolution, read
//! from the headers alone by [`probe`]) and its pages decoded to rows ([`decode`]).
//!
//! The format is told by the first bytes, never by the name. PNG and JPEG decode with the
//! codecs crate's one decoder; TIFF with the `tiff` crate (every page of a multi-page file;
//! no compression, LZW, Deflate, PackBits, JPEG, CCITT Group 4); PNM with `pnm.rs` (P1–P6).
//! A page is decoded whole, one at a time: a page plus the next in memory, never the batch.

use crate::errors::FileError;
use crate::pnm;
use scanwire_codecs::decode::RowConverter;
use scanwire_core::device::{ColorMode, PixelFormat};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use tiff::decoder::{Decoder as TiffDecoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

/// The formats the driver reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG (JFIF, Exif).
    Jpeg,
    /// TIFF, one or more pages.
    Tiff,
    /// Netpbm P1–P6.
    Pnm,
}

impl Format {
    /// Its name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
            Format::Pnm => "PNM",
        }
    }

    /// The format of a file starting with `head`.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(&[0x89, b'P', b'N', b'G']) {
            Some(Format::Png)
        } else if head.starts_with(&[0xff, 0xd8]) {
            Some(Format::Jpeg)
        } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
            Some(Format::Tiff)
        } else if head.len() >= 2 && head[0] == b'P' && (b'1'..=b'6').contains(&head[1]) {
            Some(Format::Pnm)
        } else {
            None
        }
    }
}

/// TIFF compressions the driver reads, for messages.
pub const TIFF_COMPRESSIONS: &str =
    "no compression, LZW, Deflate, PackBits, JPEG, CCITT Group 4 (fax)";

/// TIFF sample layouts the driver reads, for messages.
pub const TIFF_LAYOUTS: &str = "1-bit, 2/4/8/16-bit gray (with or without alpha), 8/16-bit RGB(A), palette, 8-bit CMYK and YCbCr";

/// One page of one file, as its header describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageSpec {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// 0-based page within the file (TIFF).
    pub index: u32,
    /// Pages in the file.
    pub pages_in_file: u32,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// What the file holds, as a Scanwire mode.
    pub native: ColorMode,
    /// The resolution the file records (x, y), if it records one.
    pub dpi: Option<(u32, u32)>,
}

impl PageSpec {
    /// The 1-based page number within the file when it has several (for messages).
    pub fn page_label(&self) -> Option<u32> {
        (self.pages_in_file > 1).then_some(self.index + 1)
    }

    fn damaged(&self, detail: impl Into<String>) -> FileError {
        FileError::Damaged {
            path: self.path.clone(),
            page: self.page_label(),
            format: self.format.name(),
            detail: detail.into(),
        }
    }
}

/// A decoded page: rows of `pixel`, exactly `pixel.bytes_per_line(width) * height` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raster {
    /// Sample layout.
    pub pixel: PixelFormat,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// The rows.
    pub data: Vec<u8>,
}

fn damaged(path: &Path, format: Format, detail: impl Into<String>) -> FileError {
    FileError::Damaged {
        path: path.to_path_buf(),
        page: None,
        format: format.name(),
        detail: detail.into(),
    }
}

/// The first bytes of a file, printable, for "not an image" messages.
fn printable_head(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.is_empty() {
        return "none: the file is empty".into();
    }
    let text: String = head
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("\"{text}\"")
}

/// The pages of the file `path` whose bytes are `bytes`, from the headers alone. A file whose
/// later pages cannot be described ends with the error for that page: the pages before it
/// are still scanned, then the error ends the scan there. Never empty.
pub fn probe(path: &Path, bytes: &[u8]) -> Vec<Result<PageSpec, FileError>> {
    let Some(format) = Format::sniff(bytes) else {
        return vec![Err(FileError::NotAnImage {
            path: path.to_path_buf(),
            head: printable_head(bytes),
        })];
    };
    let one = |width, height, native, dpi| {
        vec![Ok(PageSpec {
            path: path.to_path_buf(),
            format,
            index: 0,
            pages_in_file: 1,
            width,
            height,
            native,
            dpi,
        })]
    };
    match format {
        Format::Png => match png_header(bytes) {
            Ok((w, h, native, dpi)) => one(w, h, native, dpi),
            Err(e) => vec![Err(damaged(path, format, e))],
        },
        Format::Jpeg => match scanwire_codecs::parse_jpeg_header(bytes) {
            Ok(Some(info)) => {
                let native = if info.components == 1 {
                    ColorMode::Gray
                } else {
                    ColorMode::Color
                };
                one(info.width, info.height, native, info.dpi)
            }
            Ok(None) => vec![Err(damaged(path, format, "ends before its frame header"))],
            Err(e) => vec![Err(damaged(path, format, e.to_string()))],
        },
        Format::Pnm => match pnm::header(bytes) {
            Ok(h) => {
                let native = match (h.kind, h.depth16()) {
                    (1 | 4, _) => ColorMode::Lineart,
                    (2 | 5, false) => ColorMode::Gray,
                    (2 | 5, true) => ColorMode::Gray16,
                    (_, false) => ColorMode::Color,
                    (_, true) => ColorMode::Color48,
                };
                one(h.width, h.height, native, None)
            }
            Err(e) => vec![Err(damaged(path, format, e))],
        },
        Format::Tiff => probe_tiff(path, bytes),
    }
}

/// Size, mode and resolution from a PNG's header chunks.
/// Width, height, mode and resolution.
type Head = (u32, u32, ColorMode, Option<(u32, u32)>);

fn png_header(bytes: &[u8]) -> Result<Head, String> {
    let reader = png::Decoder::new(Cursor::new(bytes))
        .read_info()
        .map_err(|e| e.to_string())?;
    let info = reader.info();
    use png::{BitDepth, ColorType as C};
    let sixteen = info.bit_depth == BitDepth::Sixteen;
    let native = match info.color_type {
        C::Grayscale | C::GrayscaleAlpha if info.bit_depth == BitDepth::One => ColorMode::Lineart,
        C::Grayscale | C::GrayscaleAlpha if sixteen => ColorMode::Gray16,
        C::Grayscale | C::GrayscaleAlpha => ColorMode::Gray,
        C::Rgb | C::Rgba if sixteen => ColorMode::Color48,
        C::Rgb | C::Rgba => ColorMode::Color,
        C::Indexed => {
            let palette = info.palette.as_deref().unwrap_or(&[]);
            palette_mode(palette.chunks_exact(3).map(|c| (c[0], c[1], c[2])))
        }
    };
    let dpi = scanwire_codecs::decode::png_dpi(info);
    Ok((info.width, info.height, native, dpi))
}

/// A palette of grays is a gray image (only black and white: lineart), otherwise color.
fn palette_mode(entries: impl Iterator<Item = (u8, u8, u8)>) -> ColorMode {
    let mut mode = ColorMode::Lineart;
    for (r, g, b) in entries {
        if r != g || g != b {
            return ColorMode::Color;
        }
        if r != 0 && r != 255 {
            mode = ColorMode::Gray;
        }
    }
    mode
}

/// The largest TIFF page decoded (an A4 page at 1200 dpi in 48-bit color is 835 MB); the
/// `tiff` crate's default is 256 MiB.
const TIFF_MAX_PAGE: usize = 1 << 30;

/// A TIFF decoder with [`TIFF_MAX_PAGE`] as its limit.
fn tiff_decoder(bytes: &[u8]) -> tiff::TiffResult<TiffDecoder<Cursor<&[u8]>>> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = TIFF_MAX_PAGE;
    Ok(TiffDecoder::new(Cursor::new(bytes))?.with_limits(limits))
}

fn tiff_error(path: &Path, page: Option<u32>, e: tiff::TiffError) -> FileError {
    match e {
        tiff::TiffError::LimitsExceeded => FileError::Unsupported {
            path: path.to_path_buf(),
            page,
            detail: "the TIFF page is too large to decode".into(),
            supported: "pages of up to 1 GiB decoded",
        },
        tiff::TiffError::UnsupportedError(u) => FileError::Unsupported {
            path: path.to_path_buf(),
            page,
            detail: format!("TIFF {u}"),
            supported: match u {
                tiff::TiffUnsupportedError::UnsupportedCompressionMethod(_) => TIFF_COMPRESSIONS,
                _ => TIFF_LAYOUTS,
            },
        },
        tiff::TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            FileError::Damaged {
                path: path.to_path_buf(),
                page,
                format: "TIFF",
                detail: "is cut short (truncated)".into(),
            }
        }
        other => FileError::Damaged {
            path: path.to_path_buf(),
            page,
            format: "TIFF",
            detail: other.to_string(),
        },
    }
}

/// The compressions the `tiff` crate decodes as built here (TIFF tag 259 values).
fn tiff_compression_supported(code: u16) -> bool {
    matches!(code, 1 | 4 | 5 | 7 | 8 | 32773 | 32946)
}

fn tiff_compression_name(code: u16) -> String {
    match code {
        2 => "CCITT modified Huffman RLE (2)".into(),
        3 => "CCITT Group 3 fax (3)".into(),
        6 => "old-style JPEG (6)".into(),
        34712 => "JPEG 2000 (34712)".into(),
        50000 => "Zstandard (50000)".into(),
        50001 | 34927 => format!("WebP ({code})"),
        other => format!("number {other}"),
    }
}

fn probe_tiff(path: &Path, bytes: &[u8]) -> Vec<Result<PageSpec, FileError>> {
    let mut decoder = match tiff_decoder(bytes) {
        Ok(d) => d,
        Err(e) => return vec![Err(tiff_error(path, None, e))],
    };
    let mut specs: Vec<Result<PageSpec, FileError>> = Vec::new();
    loop {
        let index = specs.len() as u32;
        match tiff_page(&mut decoder, path, index) {
            Ok(spec) => specs.push(Ok(spec)),
            Err(e) => {
                specs.push(Err(e));
                break;
            }
        }
        if !decoder.more_images() {
            break;
        }
        if let Err(e) = decoder.next_image() {
            specs.push(Err(tiff_error(path, Some(index + 2), e)));
            break;
        }
    }
    // Page numbers in messages only once the page count is known.
    let count = specs.len() as u32;
    for spec in specs.iter_mut().flatten() {
        spec.pages_in_file = count;
    }
    for (i, s) in specs.iter_mut().enumerate() {
        if let Err(FileError::Unsupported { page, .. } | FileError::Damaged { page, .. }) = s {
            *page = (count > 1).then_some(i as u32 + 1);
        }
    }
    specs
}

/// The current TIFF page's description; unsupported compressions and layouts are found here,
/// before any page is scanned.
fn tiff_page(
    d: &mut TiffDecoder<Cursor<&[u8]>>,
    path: &Path,
    index: u32,
) -> Result<PageSpec, FileError> {
    let page = Some(index + 1);
    let err = |e| tiff_error(path, page, e);
    let (width, height) = d.dimensions().map_err(err)?;
    let compression = d
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(err)?
        .unwrap_or(1);
    if !tiff_compression_supported(compression) {
        return Err(FileError::Unsupported {
            path: path.to_path_buf(),
            page,
            detail: format!(
                "TIFF compression {} is not supported",
                tiff_compression_name(compression)
            ),
            supported: TIFF_COMPRESSIONS,
        });
    }
    // Separate planes per channel: the `tiff` crate's whole-image read returns only the first.
    let planar = d
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(err)?
        .unwrap_or(1);
    let color = d.colortype().map_err(err)?;
    if planar == 2 && !matches!(color, ColorType::Gray(_) | ColorType::Palette(_)) {
        return Err(FileError::Unsupported {
            path: path.to_path_buf(),
            page,
            detail: "TIFF with one plane per channel (PlanarConfiguration 2) is not supported"
                .into(),
            supported: "TIFF with the channels of each pixel together (PlanarConfiguration 1)",
        });
    }
    let native = match color {
        ColorType::Gray(1) => ColorMode::Lineart,
        ColorType::Gray(2 | 4 | 8) => ColorMode::Gray,
        ColorType::Gray(16) => ColorMode::Gray16,
        ColorType::Multiband {
            bit_depth: 8,
            num_samples: 2,
        } => ColorMode::Gray,
        ColorType::Multiband {
            bit_depth: 16,
            num_samples: 2,
        } => ColorMode::Gray16,
        ColorType::RGB(8) | ColorType::RGBA(8) | ColorType::CMYK(8) | ColorType::YCbCr(8) => {
            ColorMode::Color
        }
        ColorType::RGB(16) | ColorType::RGBA(16) => ColorMode::Color48,
        ColorType::Palette(1..=8) => {
            let map = colormap(d).map_err(err)?;
            let n = map.len() / 3;
            palette_mode((0..n).map(|i| {
                (
                    (map[i] >> 8) as u8,
                    (map[n + i] >> 8) as u8,
                    (map[2 * n + i] >> 8) as u8,
                )
            }))
        }
        other => {
            return Err(FileError::Unsupported {
                path: path.to_path_buf(),
                page,
                detail: format!("TIFF samples {other:?} are not supported"),
                supported: TIFF_LAYOUTS,
            })
        }
    };
    let dpi = tiff_dpi(d);
    Ok(PageSpec {
        path: path.to_path_buf(),
        format: Format::Tiff,
        index,
        pages_in_file: 1,
        width,
        height,
        native,
        dpi,
    })
}

fn colormap(d: &mut TiffDecoder<Cursor<&[u8]>>) -> tiff::TiffResult<Vec<u16>> {
    d.get_tag_u16_vec(Tag::ColorMap)
}

/// XResolution/YResolution in ResolutionUnit (2 inch, the default; 3 centimetre; 1 none).
fn tiff_dpi(d: &mut TiffDecoder<Cursor<&[u8]>>) -> Option<(u32, u32)> {
    let unit = d
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten()
        .unwrap_or(2);
    let mut value = |tag| -> Option<f64> {
        match d.find_tag(tag).ok()?? {
            tiff::decoder::ifd::Value::Rational(n, den) if den > 0 => {
                Some(f64::from(n) / f64::from(den))
            }
            v => v.into_u32().ok().map(f64::from),
        }
    };
    let (x, y) = (value(Tag::XResolution)?, value(Tag::YResolution).or(None));
    let y = y.unwrap_or(x);
    let per_inch = match unit {
        2 => 1.0,
        3 => 2.54,
        _ => return None,
    };
    let (x, y) = ((x * per_inch).round(), (y * per_inch).round());
    (x >= 1.0 && y >= 1.0 && x < 100_000.0 && y < 100_000.0).then_some((x as u32, y as u32))
}

/// Page `spec` of the file whose bytes are `bytes`, decoded into rows for `mode` (which must
/// be one the page can be delivered in: see [`crate::options::deliverable`]).
pub fn decode(spec: &PageSpec, bytes: &[u8], mode: ColorMode) -> Result<Raster, FileError> {
    let raster = match spec.format {
        Format::Png | Format::Jpeg => {
            let d = scanwire_codecs::decode::decode(bytes, Some(mode)).map_err(|e| {
                spec.damaged(match e {
                    // The decoder's own words, without its "device's data" framing.
                    scanwire_codecs::EncodeError::BadInput { detail, .. } => {
                        format!("cannot be decoded: {detail}")
                    }
                    other => format!("cannot be decoded: {other}"),
                })
            })?;
            Raster {
                pixel: d.pixel,
                width: d.width,
                height: d.height,
                data: d.data,
            }
        }
        Format::Pnm => {
            let h = pnm::header(bytes).map_err(|e| spec.damaged(e))?;
            let samples = pnm::samples(bytes, &h).map_err(|e| spec.damaged(e))?;
            if matches!(h.kind, 1 | 4) {
                // Lineart in, lineart out (the only mode a bitmap is delivered in).
                Raster {
                    pixel: PixelFormat::BlackAndWhite1,
                    width: h.width,
                    height: h.height,
                    data: samples,
                }
            } else {
                convert(&samples, h.width, h.height, h.channels(), h.depth16(), mode)
            }
        }
        Format::Tiff => decode_tiff(spec, bytes, mode)?,
    };
    if (raster.width, raster.height) != (spec.width, spec.height) {
        return Err(spec.damaged(format!(
            "decodes to {}x{} pixels, but its header says {}x{}",
            raster.width, raster.height, spec.width, spec.height
        )));
    }
    Ok(raster)
}

/// Rows of `channels` samples (8-bit, or 16-bit big-endian) to rows for `mode`.
fn convert(
    samples: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    depth16: bool,
    mode: ColorMode,
) -> Raster {
    let conv = RowConverter::new(mode, width, channels, depth16);
    let (src_len, dst_len) = (conv.src_len().max(1), conv.dst_len().max(1));
    let mut data = vec![0u8; dst_len * height as usize];
    for (src, dst) in samples
        .chunks_exact(src_len)
        .zip(data.chunks_exact_mut(dst_len))
    {
        conv.convert(src, dst);
    }
    Raster {
        pixel: conv.pixel,
        width,
        height,
        data,
    }
}

fn decode_tiff(spec: &PageSpec, bytes: &[u8], mode: ColorMode) -> Result<Raster, FileError> {
    let page = spec.page_label();
    let err = |e| tiff_error(&spec.path, page, e);
    let mut d = tiff_decoder(bytes).map_err(err)?;
    d.seek_to_image(spec.index as usize).map_err(err)?;
    let color = d.colortype().map_err(err)?;
    let palette = match color {
        ColorType::Palette(_) => Some(colormap(&mut d).map_err(err)?),
        _ => None,
    };
    let result = d.read_image().map_err(err)?;
    let (w, h) = (spec.width as usize, spec.height as usize);
    let short = |got: usize, need: usize| {
        spec.damaged(format!(
            "holds {got} sample bytes of the {need} its size needs"
        ))
    };
    // Samples as 8-bit or 16-bit big-endian bytes, `channels` per pixel.
    let (samples, channels, depth16): (Vec<u8>, usize, bool) = match (color, result) {
        (ColorType::Gray(1), DecodingResult::U8(v)) => {
            // BlackIsZero bits (the decoder inverts WhiteIsZero): 1 = white; Scanwire's
            // lineart is 1 = black.
            let bpl = w.div_ceil(8);
            if v.len() < bpl * h {
                return Err(short(v.len(), bpl * h));
            }
            let mut rows: Vec<u8> = v[..bpl * h].iter().map(|b| !b).collect();
            if w % 8 != 0 {
                let mask = 0xffu8 << (8 - w % 8);
                for row in rows.chunks_exact_mut(bpl) {
                    row[bpl - 1] &= mask;
                }
            }
            if mode == ColorMode::Lineart {
                return Ok(Raster {
                    pixel: PixelFormat::BlackAndWhite1,
                    width: spec.width,
                    height: spec.height,
                    data: rows,
                });
            }
            let gray = unpack(&rows, w, h, 1)
                .into_iter()
                .map(|v| if v == 1 { 0 } else { 255 })
                .collect();
            (gray, 1, false)
        }
        (ColorType::Gray(bits @ (2 | 4)), DecodingResult::U8(v)) => {
            let max = (1u16 << bits) - 1;
            let need = (w * bits as usize).div_ceil(8) * h;
            if v.len() < need {
                return Err(short(v.len(), need));
            }
            let gray = unpack(&v, w, h, bits)
                .into_iter()
                .map(|s| (u16::from(s) * 255 / max) as u8)
                .collect();
            (gray, 1, false)
        }
        (ColorType::Palette(bits), DecodingResult::U8(v)) => {
            let map = palette.unwrap_or_default();
            let n = map.len() / 3;
            let need = (w * bits as usize).div_ceil(8) * h;
            if v.len() < need || n == 0 {
                return Err(short(v.len(), need));
            }
            let indices = if bits == 8 { v } else { unpack(&v, w, h, bits) };
            let mut rgb = Vec::with_capacity(w * h * 3);
            for i in indices.into_iter().take(w * h) {
                let i = usize::from(i).min(n - 1);
                rgb.extend_from_slice(&[
                    (map[i] >> 8) as u8,
                    (map[n + i] >> 8) as u8,
                    (map[2 * n + i] >> 8) as u8,
                ]);
            }
            (rgb, 3, false)
        }
        (ColorType::CMYK(8), DecodingResult::U8(v)) => {
            let rgb = v
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [0, 1, 2].map(|c| ((255 - u16::from(p[c])) * k / 255) as u8)
                })
                .collect();
            (rgb, 3, false)
        }
        (ColorType::YCbCr(8), DecodingResult::U8(v)) => (ycbcr_to_rgb(&v), 3, false),
        (c, DecodingResult::U8(v)) => (v, samples_per_pixel(c), false),
        (c, DecodingResult::U16(v)) => {
            let bytes = v.iter().flat_map(|s| s.to_be_bytes()).collect();
            (bytes, samples_per_pixel(c), true)
        }
        (c, _) => {
            return Err(FileError::Unsupported {
                path: spec.path.clone(),
                page,
                detail: format!("TIFF samples {c:?} are not supported"),
                supported: TIFF_LAYOUTS,
            })
        }
    };
    let need = w * h * channels * if depth16 { 2 } else { 1 };
    if samples.len() < need {
        return Err(short(samples.len(), need));
    }
    Ok(convert(
        &samples,
        spec.width,
        spec.height,
        channels,
        depth16,
        mode,
    ))
}

fn samples_per_pixel(c: ColorType) -> usize {
    match c {
        ColorType::Gray(_) => 1,
        ColorType::GrayA(_) => 2,
        ColorType::RGB(_) | ColorType::YCbCr(_) | ColorType::Lab(_) => 3,
        ColorType::RGBA(_) | ColorType::CMYK(_) => 4,
        ColorType::CMYKA(_) => 5,
        ColorType::Palette(_) => 1,
        ColorType::Multiband { num_samples, .. } => usize::from(num_samples),
        _ => 1,
    }
}

/// Samples of `bits` (1, 2, 4) packed in rows padded to bytes, one per byte.
fn unpack(packed: &[u8], w: usize, h: usize, bits: u8) -> Vec<u8> {
    let bits = usize::from(bits);
    let bpl = (w * bits).div_ceil(8);
    let mask = (1u16 << bits) as u8 - 1;
    let mut out = Vec::with_capacity(w * h);
    for row in packed.chunks_exact(bpl).take(h) {
        for x in 0..w {
            let bit = x * bits;
            out.push((row[bit / 8] >> (8 - bits - bit % 8)) & mask);
        }
    }
    out
}

/// JFIF's YCbCr to RGB (TIFF's default coefficients are the same ITU-R BT.601 ones).
fn ycbcr_to_rgb(v: &[u8]) -> Vec<u8> {
    v.chunks_exact(3)
        .flat_map(|p| {
            let (y, cb, cr) = (
                f32::from(p[0]),
                f32::from(p[1]) - 128.0,
                f32::from(p[2]) - 128.0,
            );
            [
                y + 1.402 * cr,
                y - 0.344_136 * cb - 0.714_136 * cr,
                y + 1.772 * cb,
            ]
            .map(|c| c.round().clamp(0.0, 255.0) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpack_and_palettes() {
        assert_eq!(unpack(&[0b1001_0000], 4, 1, 1), [1, 0, 0, 1]);
        assert_eq!(unpack(&[0b1101_0000], 3, 1, 2), [3, 1, 0]);
        assert_eq!(
            palette_mode([(0, 0, 0), (255, 255, 255)].into_iter()),
            ColorMode::Lineart
        );
        assert_eq!(
            palette_mode([(0, 0, 0), (9, 9, 9)].into_iter()),
            ColorMode::Gray
        );
        assert_eq!(
            palette_mode([(0, 0, 0), (9, 0, 9)].into_iter()),
            ColorMode::Color
        );
    }

    #[test]
    fn not_an_image_says_what_it_starts_with() {
        let e = probe(Path::new("x.png"), b"hello world")
            .remove(0)
            .unwrap_err();
        assert!(e.to_string().contains("\"hello wo\""), "{e}");
        let e = probe(Path::new("x.png"), b"").remove(0).unwrap_err();
        assert!(e.to_string().contains("the file is empty"), "{e}");
    }
}
