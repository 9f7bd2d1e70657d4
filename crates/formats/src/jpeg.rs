//! Baseline JPEG through `jpeg-encoder`, pulling rows as the encoder needs them.
//!
//! `Encoder::encode` wants the whole image in memory, but `Encoder::encode_image` takes an
//! [`ImageBuffer`] that it asks for one row at a time, top to bottom, one MCU row (8 or 16
//! rows) ahead of what it has written: the interleaved baseline path never looks back. So the
//! buffer here reads the next band from the page's [`RowReader`] when the encoder asks for a
//! row past it. Memory is one band (about 256 KiB), whatever the page size; the only
//! requirement is the height up front (SOF comes first), which the caller provides by
//! spooling pages of unknown height.
//!
//! `fill_buffers` cannot fail, so a source error (a cancelled page) is parked, the rows are
//! filled with zeros, and the output writer refuses the next write: the encoder stops at its
//! next block and the parked error is what the caller sees.
//!
//! Conversions: lineart and 16-bit data become 8-bit by the rule in [`crate::convert`].
//! Chroma is subsampled 4:2:0 below quality 90 (the crate's default), 4:4:4 from 90 up.

use crate::convert::{eight_bit, to_eight_bit};
use crate::source::{rows_for, Raster, RowReader};
use crate::EncodeError;
use jpeg_encoder::{
    rgb_to_ycbcr, Encoder, ImageBuffer, JpegColorType, PixelDensity, PixelDensityUnit,
};
use scanwire_core::device::PixelFormat;
use std::cell::{Cell, RefCell};
use std::io::{BufWriter, Write};
use std::rc::Rc;

/// JPEG's dimension limit (16-bit fields in SOF).
pub(crate) const MAX_SIDE: u32 = 65_535;

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

/// Encodes a baseline JPEG of `r` from `rows` into `out`.
pub(crate) fn encode(
    r: Raster,
    rows: &mut RowReader<'_>,
    quality: u8,
    out: &mut dyn Write,
) -> Result<(), EncodeError> {
    check_size(&r)?;
    let abort = Rc::new(Cell::new(false));
    let mut writer = AbortWriter {
        inner: BufWriter::with_capacity(64 * 1024, out),
        abort: abort.clone(),
    };
    let mut enc = Encoder::new(&mut writer, quality);
    let clamp = |d: u32| d.min(u16::MAX as u32) as u16;
    if r.dpi.0 > 0 && r.dpi.1 > 0 {
        enc.set_density(PixelDensity {
            density: (clamp(r.dpi.0), clamp(r.dpi.1)),
            unit: PixelDensityUnit::Inches,
        });
    }
    let target = eight_bit(r.pixel);
    let pull = Pull {
        width: r.width as u16,
        height: r.height as u16,
        color: if target == PixelFormat::Rgb8 {
            JpegColorType::Ycbcr
        } else {
            JpegColorType::Luma
        },
        state: RefCell::new(PullState {
            rows,
            pixel: r.pixel,
            width: r.width,
            raw: Vec::new(),
            band: Vec::new(),
            band_start: 0,
            band_rows: 0,
            // At least one 4:2:0 MCU row (16 rows) per band.
            max_rows: rows_for(256 * 1024, r.bytes_per_line()).max(16),
            row_len: target.bytes_per_line(r.width),
            error: None,
            abort,
        }),
    };
    let result = enc.encode_image(&pull);
    if let Some(e) = pull.state.into_inner().error {
        return Err(e);
    }
    result.map_err(jpeg_error)?;
    writer
        .inner
        .flush()
        .map_err(EncodeError::io("the JPEG image"))
}

fn jpeg_error(e: jpeg_encoder::EncodingError) -> EncodeError {
    match e {
        jpeg_encoder::EncodingError::IoError(source) => EncodeError::Io {
            what: "the JPEG image",
            source,
        },
        other => EncodeError::Jpeg(other.to_string()),
    }
}

struct AbortWriter<W> {
    inner: W,
    abort: Rc<Cell<bool>>,
}

impl<W: Write> Write for AbortWriter<W> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.abort.get() {
            return Err(std::io::Error::other("page source failed"));
        }
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Pull<'a, 'r> {
    width: u16,
    height: u16,
    color: JpegColorType,
    state: RefCell<PullState<'a, 'r>>,
}

struct PullState<'a, 'r> {
    rows: &'a mut RowReader<'r>,
    pixel: PixelFormat,
    width: u32,
    raw: Vec<u8>,
    /// The current band, converted to 8 bits.
    band: Vec<u8>,
    band_start: u32,
    band_rows: usize,
    max_rows: usize,
    row_len: usize,
    error: Option<EncodeError>,
    abort: Rc<Cell<bool>>,
}

impl PullState<'_, '_> {
    /// Makes row `y` available; false if the source failed.
    fn seek(&mut self, y: u32) -> bool {
        while self.error.is_none() && y >= self.band_start + self.band_rows as u32 {
            self.band_start += self.band_rows as u32;
            match self.rows.read_rows(&mut self.raw, self.max_rows) {
                Ok(0) => {
                    // Cannot happen with a known height (the reader errors first); be safe.
                    self.fail(EncodeError::ShortPage {
                        rows: self.band_start,
                        height: y + 1,
                    })
                }
                Ok(n) => {
                    self.band_rows = n;
                    to_eight_bit(self.pixel, self.width, &self.raw, &mut self.band);
                }
                Err(e) => self.fail(e),
            }
        }
        self.error.is_none()
    }

    fn fail(&mut self, e: EncodeError) {
        self.error = Some(e);
        self.abort.set(true);
    }
}

impl ImageBuffer for &Pull<'_, '_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        self.color
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let mut s = self.state.borrow_mut();
        let w = self.width as usize;
        let channels = if self.color == JpegColorType::Luma {
            1
        } else {
            3
        };
        if !s.seek(y as u32) {
            for b in buffers.iter_mut().take(channels) {
                b.resize(b.len() + w, 0);
            }
            return;
        }
        let start = (y as u32 - s.band_start) as usize * s.row_len;
        let line = &s.band[start..start + s.row_len];
        if channels == 1 {
            buffers[0].extend_from_slice(line);
            return;
        }
        // Fixed-size chunks let the compiler vectorise the conversion (as the crate's own
        // RgbImage does).
        const CHUNK: usize = 16;
        let (mut yb, mut cb, mut cr) = ([0u8; CHUNK], [0u8; CHUNK], [0u8; CHUNK]);
        let mut chunks = line.chunks_exact(3 * CHUNK);
        for c in &mut chunks {
            for i in 0..CHUNK {
                let (a, b, d) = rgb_to_ycbcr(c[3 * i], c[3 * i + 1], c[3 * i + 2]);
                yb[i] = a;
                cb[i] = b;
                cr[i] = d;
            }
            buffers[0].extend_from_slice(&yb);
            buffers[1].extend_from_slice(&cb);
            buffers[2].extend_from_slice(&cr);
        }
        for p in chunks.remainder().chunks_exact(3) {
            let (a, b, d) = rgb_to_ycbcr(p[0], p[1], p[2]);
            buffers[0].push(a);
            buffers[1].push(b);
            buffers[2].push(d);
        }
    }
}
