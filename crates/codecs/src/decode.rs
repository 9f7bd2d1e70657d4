//! Pages a device encoded (eSCL scanners send PNG and JPEG), turned back into rows: the one
//! place Scanwire decodes images, for the eSCL driver (rows an application asked for) and for
//! the encoders (a device page that must be stored in another format).
//!
//! - [`sniff`] tells a body's encoding by its first bytes; [`png_is_mode`] whether a PNG
//!   already holds the rows a color mode asks for.
//! - [`decode`] decodes a whole PNG or JPEG, in its own layout or converted to a mode.
//! - [`PngRows`] decodes a PNG row by row while its bytes arrive, and hands the rows on in
//!   bands ([`PngRows::bands`]); [`ChunkReader`] makes a body still arriving in chunks its
//!   reader. Both network drivers (eSCL, WSD) decode their pages so.
//! - [`RowConverter`] turns decoded samples (1–4 channels, 8 or 16 bits) into rows of a
//!   [`PixelFormat`].

use crate::convert::to8;
use crate::EncodeError;
use scanwire_core::device::{ColorMode, Encoding, PixelFormat};
use std::io::{BufRead, Read, Seek};
use std::ops::ControlFlow;

/// A decoded page.
#[derive(Debug)]
pub struct Decoded {
    /// Sample layout.
    pub pixel: PixelFormat,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// The resolution the file states, if it states one.
    pub dpi: Option<(u32, u32)>,
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

/// Whether a PNG whose first bytes are `head` (at least 29) already holds `mode`'s rows as a
/// file of that mode would: the color type and bit depth of its `IHDR`, not interlaced. A
/// scanner may answer a gray request with an RGB page; such a page is decoded and converted
/// rather than kept as it came.
pub fn png_is_mode(head: &[u8], mode: ColorMode) -> bool {
    if head.len() < 29 || &head[12..16] != b"IHDR" {
        return false;
    }
    let (depth, color_type, interlace) = (head[24], head[25], head[28]);
    let want = match mode {
        ColorMode::Lineart => (1, 0),
        ColorMode::Gray => (8, 0),
        ColorMode::Gray16 => (16, 0),
        ColorMode::Color => (8, 2),
        ColorMode::Color48 => (16, 2),
    };
    (depth, color_type) == want && interlace == 0
}

/// The mode that keeps decoded samples as they are (alpha dropped: scanners have none).
fn native_mode(channels: usize, depth16: bool) -> ColorMode {
    match (channels >= 3, depth16) {
        (true, false) => ColorMode::Color,
        (true, true) => ColorMode::Color48,
        (false, false) => ColorMode::Gray,
        (false, true) => ColorMode::Gray16,
    }
}

/// Converts decoded rows (1–4 channels, 8 or 16 bits big-endian) into rows of a
/// [`PixelFormat`]. 16 bits become 8 by the encoders' one rule (`round(v / 257)`).
#[derive(Clone, Copy, Debug)]
pub struct RowConverter {
    /// What comes out.
    pub pixel: PixelFormat,
    /// Pixels per row.
    pub width: u32,
    channels: usize,
    depth16: bool,
}

impl RowConverter {
    /// A converter from `channels` samples of 8 or 16 bits to rows for `mode`.
    pub fn new(mode: ColorMode, width: u32, channels: usize, depth16: bool) -> Self {
        RowConverter {
            pixel: PixelFormat::for_mode(mode),
            width,
            channels,
            depth16,
        }
    }

    /// Bytes of one source row.
    pub fn src_len(&self) -> usize {
        self.width as usize * self.channels * if self.depth16 { 2 } else { 1 }
    }

    /// Bytes of one output row.
    pub fn dst_len(&self) -> usize {
        self.pixel.bytes_per_line(self.width)
    }

    /// Whether source rows already are output rows (the scanner sent what was asked for).
    pub fn is_identity(&self) -> bool {
        matches!(
            (self.pixel, self.channels, self.depth16),
            (PixelFormat::Rgb8, 3, false)
                | (PixelFormat::Gray8, 1, false)
                | (PixelFormat::Rgb16, 3, true)
                | (PixelFormat::Gray16, 1, true)
        )
    }

    /// Converts one row; `dst` must be [`Self::dst_len`] bytes and is overwritten.
    pub fn convert(&self, src: &[u8], dst: &mut [u8]) {
        if self.is_identity() {
            // The common case (the scanner sent what was asked for): a copy.
            dst.copy_from_slice(&src[..dst.len()]);
            return;
        }
        if self.pixel == PixelFormat::BlackAndWhite1 {
            dst.fill(0);
        }
        let (channels, depth16) = (self.channels, self.depth16);
        let bps = if depth16 { 2 } else { 1 };
        for x in 0..self.width as usize {
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
            match self.pixel {
                PixelFormat::Rgb8 => {
                    dst[x * 3..x * 3 + 3].copy_from_slice(&[to8(r), to8(g), to8(b)])
                }
                PixelFormat::Rgb16 => {
                    for (k, v) in [r, g, b].into_iter().enumerate() {
                        dst[x * 6 + k * 2..x * 6 + k * 2 + 2].copy_from_slice(&v.to_be_bytes());
                    }
                }
                PixelFormat::Gray8 => dst[x] = to8(gray),
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
}

/// Decodes a whole PNG or JPEG page: into rows for `mode`, or with `None` in the image's own
/// layout (gray or RGB, 8 or 16 bits; alpha dropped, palettes expanded). The whole page is in
/// memory: this is the path for a page whose encoding cannot be used as it came.
pub fn decode(bytes: &[u8], mode: Option<ColorMode>) -> Result<Decoded, EncodeError> {
    match sniff(bytes) {
        Some(Encoding::Png) => {
            let mut rows = PngRows::new(std::io::Cursor::new(bytes), mode)?;
            let (width, height) = (rows.conv.width, rows.height);
            let mut data = vec![0u8; rows.conv.dst_len() * height as usize];
            for row in data.chunks_exact_mut(rows.conv.dst_len().max(1)) {
                if !rows.next_row(row)? {
                    return Err(bad("PNG", "rows are missing".into()));
                }
            }
            Ok(Decoded {
                pixel: rows.conv.pixel,
                width,
                height,
                dpi: rows.dpi(),
                data,
            })
        }
        Some(Encoding::Jpeg) => decode_jpeg(bytes, mode),
        other => Err(EncodeError::Unsupported(format!(
            "a page encoded as {} cannot be decoded to rows (PNG and JPEG can)",
            other.map(|e| e.mime()).unwrap_or("an unknown format")
        ))),
    }
}

fn bad(what: &'static str, detail: String) -> EncodeError {
    EncodeError::BadInput { what, detail }
}

fn decode_jpeg(bytes: &[u8], mode: Option<ColorMode>) -> Result<Decoded, EncodeError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let header = crate::jfif::parse_header(bytes)?
        .ok_or_else(|| bad("JPEG", "it ends before its frame header".into()))?;
    let gray = header.components == 1;
    let opts = DecoderOptions::default()
        .set_max_width(65_535)
        .set_max_height(65_535)
        .jpeg_set_out_colorspace(if gray {
            ColorSpace::Luma
        } else {
            ColorSpace::RGB
        });
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(bytes, opts);
    let pixels = dec.decode().map_err(|e| bad("JPEG", e.to_string()))?;
    let (w, h) = dec
        .dimensions()
        .ok_or_else(|| bad("JPEG", "no image size after decoding".into()))?;
    let channels = if gray { 1 } else { 3 };
    let conv = RowConverter::new(
        mode.unwrap_or(native_mode(channels, false)),
        w as u32,
        channels,
        false,
    );
    let data = if conv.is_identity() {
        pixels
    } else {
        let mut data = vec![0u8; conv.dst_len() * h];
        for (src, dst) in pixels
            .chunks_exact(conv.src_len().max(1))
            .zip(data.chunks_exact_mut(conv.dst_len().max(1)))
        {
            conv.convert(src, dst);
        }
        data
    };
    Ok(Decoded {
        pixel: conv.pixel,
        width: w as u32,
        height: h as u32,
        dpi: header.dpi,
        data,
    })
}

/// A PNG's resolution from its pHYs chunk, rounded to the nearest dpi: pHYs holds whole
/// pixels per metre, so 300 dpi is stored as 11811 (299.99 dpi) and must read back as 300.
/// `None` without a pHYs in metres or with a zero in it.
pub fn png_dpi(info: &png::Info) -> Option<(u32, u32)> {
    let d = info.pixel_dims?;
    let dpi = |ppm: u32| ((u64::from(ppm) * 254 + 5_000) / 10_000) as u32;
    (d.unit == png::Unit::Meter && d.xppu > 0 && d.yppu > 0).then(|| (dpi(d.xppu), dpi(d.yppu)))
}

/// A PNG decoded row by row from a reader (a page body as it arrives).
pub struct PngRows<R: BufRead + Seek> {
    reader: png::Reader<R>,
    /// The conversion to the requested rows.
    pub conv: RowConverter,
    /// Rows in the image.
    pub height: u32,
    /// Rows handed out so far.
    pub rows: u32,
}

fn png_error(e: png::DecodingError) -> EncodeError {
    bad("PNG", e.to_string())
}

impl<R: BufRead + Seek> PngRows<R> {
    /// Reads the header (blocking until it has arrived). Rows come out for `mode`, or with
    /// `None` in the image's own layout (alpha dropped).
    pub fn new(source: R, mode: Option<ColorMode>) -> Result<Self, EncodeError> {
        let mut decoder = png::Decoder::new(source);
        // Palette to RGB, low-bit gray to 8 bits, tRNS to alpha.
        decoder.set_transformations(png::Transformations::EXPAND);
        let reader = decoder.read_info().map_err(png_error)?;
        let (color, depth) = reader.output_color_type();
        let info = reader.info();
        if info.interlaced {
            // Adam7 delivers passes, not rows; no scanner sends it.
            return Err(EncodeError::Unsupported(
                "an interlaced PNG page (scanners send none)".into(),
            ));
        }
        let (width, height) = (info.width, info.height);
        let depth16 = depth == png::BitDepth::Sixteen;
        let channels = color.samples();
        Ok(PngRows {
            reader,
            conv: RowConverter::new(
                mode.unwrap_or(native_mode(channels, depth16)),
                width,
                channels,
                depth16,
            ),
            height,
            rows: 0,
        })
    }

    /// The resolution the file's `pHYs` chunk states, if any.
    pub fn dpi(&self) -> Option<(u32, u32)> {
        png_dpi(self.reader.info())
    }

    /// Converts the next row into `dst`; `false` when every row has been read.
    pub fn next_row(&mut self, dst: &mut [u8]) -> Result<bool, EncodeError> {
        if self.conv.is_identity() && dst.len() == self.conv.src_len() {
            // Straight into `dst`: one copy of each row fewer.
            return match self.reader.read_row(dst).map_err(png_error)? {
                Some(_) => {
                    self.rows += 1;
                    Ok(true)
                }
                None => Ok(false),
            };
        }
        match self.reader.next_row().map_err(png_error)? {
            Some(row) => {
                let data = row.data();
                if data.len() < self.conv.src_len() {
                    return Err(bad("PNG", "a row is shorter than the image width".into()));
                }
                self.conv.convert(data, dst);
                self.rows += 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Reads to the end of the image (IEND), so the body can be drained.
    pub fn finish(&mut self) -> Result<(), EncodeError> {
        self.reader.finish().map_err(png_error)
    }

    /// Decodes the remaining rows into bands of whole rows, about `band_bytes` each (at least
    /// one row), and hands each band to `out` with the percent of the image's rows done and
    /// the bytes handed on so far. Stops when `out` breaks (the application cancelled) and
    /// returns that; a row that does not decode comes back through `decode_error`. The caller
    /// checks afterwards that every row came ([`PngRows::rows`] against the height).
    pub fn bands<E>(
        &mut self,
        band_bytes: usize,
        mut out: impl FnMut(&[u8], i32, u64) -> Result<ControlFlow<()>, E>,
        decode_error: impl Fn(EncodeError) -> E,
    ) -> Result<ControlFlow<()>, E> {
        let row_len = self.conv.dst_len().max(1);
        let per_band = (band_bytes / row_len).max(1);
        let mut band = vec![0u8; per_band * row_len];
        let (mut filled, mut sent) = (0usize, 0u64);
        loop {
            let more = self
                .next_row(&mut band[filled * row_len..(filled + 1) * row_len])
                .map_err(&decode_error)?;
            if more {
                filled += 1;
            }
            if filled == per_band || (!more && filled > 0) {
                sent += (filled * row_len) as u64;
                let pct = (u64::from(self.rows) * 100 / u64::from(self.height.max(1))) as i32;
                if out(&band[..filled * row_len], pct, sent)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                filled = 0;
            }
            if !more {
                return Ok(ControlFlow::Continue(()));
            }
        }
    }
}

/// Adapts a source of body chunks (`next` returns `None` at the end) to [`Read`] +
/// [`BufRead`], so that a page is decoded while its body arrives. `Seek` is a bound of
/// `png::Decoder` that it never uses; seeking reports "unsupported".
pub struct ChunkReader<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> {
    next: F,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
    /// Bytes taken from the source so far.
    pub received: u64,
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> ChunkReader<F> {
    /// A reader over `first` and then whatever `next` returns.
    pub fn new(first: Vec<u8>, next: F) -> Self {
        ChunkReader {
            received: first.len() as u64,
            next,
            buf: first,
            pos: 0,
            done: false,
        }
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> BufRead for ChunkReader<F> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos >= self.buf.len() && !self.done {
            match (self.next)()? {
                Some(chunk) => {
                    self.received += chunk.len() as u64;
                    self.buf = chunk;
                    self.pos = 0;
                }
                None => self.done = true,
            }
        }
        Ok(&self.buf[self.pos.min(self.buf.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.buf.len());
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> Read for ChunkReader<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> Seek for ChunkReader<F> {
    fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a page body cannot seek",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` as a body arriving three bytes at a time, as a slow connection delivers it.
    fn trickle(bytes: &[u8]) -> ChunkReader<impl FnMut() -> std::io::Result<Option<Vec<u8>>>> {
        let mut chunks = bytes[3..].chunks(3).map(<[u8]>::to_vec).collect::<Vec<_>>();
        chunks.reverse();
        ChunkReader::new(bytes[..3].to_vec(), move || Ok(chunks.pop()))
    }

    #[test]
    fn png_rows_streamed_in_small_chunks_equal_a_whole_decode() {
        let bytes = png(37, 11, png::ColorType::Rgb, png::BitDepth::Eight);
        let whole = decode(&bytes, Some(ColorMode::Color)).unwrap();
        assert_eq!((whole.width, whole.height), (37, 11));
        let mut rows = PngRows::new(trickle(&bytes), Some(ColorMode::Color)).unwrap();
        let mut data = Vec::new();
        let mut row = vec![0; rows.conv.dst_len()];
        while rows.next_row(&mut row).unwrap() {
            data.extend_from_slice(&row);
        }
        rows.finish().unwrap();
        assert_eq!(data, whole.data);
    }

    #[test]
    fn bands_hold_whole_rows_and_count_percent_by_rows() {
        let bytes = png(37, 11, png::ColorType::Rgb, png::BitDepth::Eight);
        let whole = decode(&bytes, Some(ColorMode::Color)).unwrap();
        let mut rows = PngRows::new(trickle(&bytes), Some(ColorMode::Color)).unwrap();
        // 4 rows of 111 bytes fit in 450: bands of 4, 4 and 3 rows.
        let mut got: Vec<(usize, i32, u64)> = Vec::new();
        let mut data = Vec::new();
        let end = rows
            .bands(
                450,
                |band, pct, sent| {
                    got.push((band.len(), pct, sent));
                    data.extend_from_slice(band);
                    Ok::<_, EncodeError>(ControlFlow::Continue(()))
                },
                |e| e,
            )
            .unwrap();
        assert!(end.is_continue());
        assert_eq!(got, [(444, 36, 444), (444, 72, 888), (333, 100, 1221)]);
        assert_eq!(data, whole.data);
        assert_eq!(rows.rows, 11);
        // A band smaller than a row still holds one row; a break stops at once.
        let mut rows = PngRows::new(trickle(&bytes), Some(ColorMode::Color)).unwrap();
        let mut calls = 0;
        let end = rows
            .bands(
                1,
                |band, _, _| {
                    assert_eq!(band.len(), 111);
                    calls += 1;
                    Ok::<_, EncodeError>(ControlFlow::Break(()))
                },
                |e| e,
            )
            .unwrap();
        assert!(end.is_break());
        assert_eq!((calls, rows.rows), (1, 1));
    }

    #[test]
    fn a_body_cut_short_is_a_decode_error_from_bands() {
        let bytes = png(64, 64, png::ColorType::Rgb, png::BitDepth::Eight);
        let cut = &bytes[..bytes.len() / 2];
        let mut rows = PngRows::new(trickle(cut), Some(ColorMode::Color)).unwrap();
        let e = rows
            .bands(
                4096,
                |_, _, _| Ok::<_, String>(ControlFlow::Continue(())),
                |e| format!("mapped: {e}"),
            )
            .unwrap_err();
        assert!(e.starts_with("mapped: ") && e.contains("PNG"), "{e}");
    }

    /// pHYs holds whole pixels per metre: the common resolutions read back exactly.
    #[test]
    fn png_dpi_reads_back_as_written() {
        for dpi in [75u32, 100, 150, 200, 300, 600, 1200] {
            let mut out = Vec::new();
            let mut e = png::Encoder::new(&mut out, 1, 1);
            e.set_color(png::ColorType::Grayscale);
            e.set_pixel_dims(Some(png::PixelDimensions {
                xppu: (dpi * 10_000 + 127) / 254,
                yppu: (dpi * 10_000 + 127) / 254,
                unit: png::Unit::Meter,
            }));
            let mut w = e.write_header().unwrap();
            w.write_image_data(&[0]).unwrap();
            w.finish().unwrap();
            let rows = PngRows::new(std::io::Cursor::new(out), None).unwrap();
            assert_eq!(rows.dpi(), Some((dpi, dpi)));
        }
    }

    fn png(width: u32, height: u32, color: png::ColorType, depth: png::BitDepth) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(color);
        e.set_depth(depth);
        let bytes = color.samples()
            * width as usize
            * height as usize
            * if depth == png::BitDepth::Sixteen {
                2
            } else {
                1
            };
        let data: Vec<u8> = (0..bytes).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = e.write_header().unwrap();
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn png_is_mode_reads_the_header() {
        use png::{BitDepth, ColorType};
        let rgb = png(4, 2, ColorType::Rgb, BitDepth::Eight);
        assert!(png_is_mode(&rgb, ColorMode::Color));
        assert!(!png_is_mode(&rgb, ColorMode::Gray));
        assert!(
            !png_is_mode(&rgb[..20], ColorMode::Color),
            "too short to tell"
        );
        let g16 = png(4, 2, ColorType::Grayscale, BitDepth::Sixteen);
        assert!(png_is_mode(&g16, ColorMode::Gray16));
        assert!(!png_is_mode(&g16, ColorMode::Gray));
        let mut bw = Vec::new();
        let mut e = png::Encoder::new(&mut bw, 8, 2);
        e.set_color(ColorType::Grayscale);
        e.set_depth(BitDepth::One);
        let mut w = e.write_header().unwrap();
        w.write_image_data(&[0x0f, 0xf0]).unwrap();
        w.finish().unwrap();
        assert!(png_is_mode(&bw, ColorMode::Lineart));
        assert!(!png_is_mode(&bw, ColorMode::Gray));
    }

    #[test]
    fn gray16_to_gray8_and_lineart() {
        let bytes = png(9, 2, png::ColorType::Grayscale, png::BitDepth::Sixteen);
        let native = decode(&bytes, None).unwrap();
        assert_eq!(native.pixel, PixelFormat::Gray16);
        let g8 = decode(&bytes, Some(ColorMode::Gray)).unwrap();
        assert_eq!(g8.data.len(), 18);
        let bw = decode(&bytes, Some(ColorMode::Lineart)).unwrap();
        assert_eq!(bw.data.len(), 2 * 2);
        // Padding bits past the width stay clear.
        assert_eq!(bw.data[1] & 0x7f, 0);
    }

    #[test]
    fn alpha_is_dropped_in_the_native_layout() {
        let bytes = png(5, 3, png::ColorType::Rgba, png::BitDepth::Eight);
        let d = decode(&bytes, None).unwrap();
        assert_eq!((d.pixel, d.data.len()), (PixelFormat::Rgb8, 5 * 3 * 3));
        let src: Vec<u8> = (0..5 * 3 * 4).map(|i| (i * 7 % 251) as u8).collect();
        let rgb: Vec<u8> = src.chunks(4).flat_map(|p| p[..3].to_vec()).collect();
        assert_eq!(d.data, rgb);
    }

    #[test]
    fn a_cut_png_is_an_error_not_a_panic() {
        let bytes = png(64, 64, png::ColorType::Rgb, png::BitDepth::Eight);
        let cut = bytes[..bytes.len() / 2].to_vec();
        let e = decode(&cut, Some(ColorMode::Color)).unwrap_err();
        assert!(e.to_string().contains("PNG"), "{e}");
    }
}
