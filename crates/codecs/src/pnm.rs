//! Netpbm: P4 (PBM) for lineart, P5 (PGM) for gray, P6 (PPM) for color, as scanimage writes.
//!
//! The raw layouts are exactly ours (PBM 1 = black, 16-bit samples big-endian), so rows are
//! copied through untouched.

use crate::source::{rows_for, Raster, RowReader};
use crate::EncodeError;
use scanwire_core::device::PixelFormat;
use std::io::Write;

/// The header for `r`.
pub(crate) fn header(r: &Raster) -> String {
    let (magic, maxval) = match r.pixel {
        PixelFormat::BlackAndWhite1 => ("P4", None),
        PixelFormat::Gray8 => ("P5", Some(255)),
        PixelFormat::Gray16 => ("P5", Some(65535)),
        PixelFormat::Rgb8 => ("P6", Some(255)),
        PixelFormat::Rgb16 => ("P6", Some(65535)),
    };
    match maxval {
        Some(m) => format!("{magic}\n{} {}\n{m}\n", r.width, r.height),
        None => format!("{magic}\n{} {}\n", r.width, r.height),
    }
}

pub(crate) fn encode(
    r: Raster,
    rows: &mut RowReader<'_>,
    out: &mut dyn Write,
) -> Result<(), EncodeError> {
    let io = EncodeError::io("the PNM image");
    out.write_all(header(&r).as_bytes()).map_err(io)?;
    let band_rows = rows_for(256 * 1024, r.bytes_per_line());
    rows.for_each_run(band_rows, &mut |run| {
        out.write_all(run).map_err(EncodeError::io("the PNM image"))
    })?;
    out.flush().map_err(EncodeError::io("the PNM image"))
}

/// Below this, writes are gathered in a buffer; larger ones go to the file as they are,
/// together with whatever is buffered (one `writev`).
const GATHER: usize = 16 * 1024;
/// The gathering buffer's size.
const BUF: usize = 64 * 1024;

/// A raw PNM page written as its bytes arrive, for a page of known height: the file is the
/// header and then exactly the driver's bytes, so nothing needs an encoder thread, a queue or
/// a copy (the page pipeline writes it on the driver's thread). Checks the page's length as
/// the encoders' row reader does.
pub struct RawPnm {
    bpl: usize,
    height: u32,
    expected: u64,
    written: u64,
    buf: Vec<u8>,
}

impl RawPnm {
    /// Writes the header of a `width` × `height` page of `pixel` samples to `out`; neither
    /// may be 0.
    pub fn new(
        pixel: PixelFormat,
        width: u32,
        height: u32,
        out: &mut impl Write,
    ) -> Result<RawPnm, EncodeError> {
        let r = Raster {
            pixel,
            width,
            height,
            dpi: (0, 0),
        };
        RawPnm::start(&r, out)
    }

    fn start(r: &Raster, out: &mut impl Write) -> Result<RawPnm, EncodeError> {
        out.write_all(header(r).as_bytes())
            .map_err(EncodeError::io("the PNM image"))?;
        let bpl = r.bytes_per_line();
        Ok(RawPnm {
            bpl,
            height: r.height,
            expected: bpl as u64 * u64::from(r.height),
            written: 0,
            buf: Vec::new(),
        })
    }

    /// Appends page bytes (any split of rows).
    pub fn write(&mut self, data: &[u8], out: &mut impl Write) -> Result<(), EncodeError> {
        if self.written + data.len() as u64 > self.expected {
            return Err(EncodeError::ExcessData {
                height: self.height,
                bytes_per_line: self.bpl,
            });
        }
        self.written += data.len() as u64;
        if data.len() < GATHER && self.buf.len() + data.len() <= BUF {
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(BUF);
            }
            self.buf.extend_from_slice(data);
            return Ok(());
        }
        write_both(out, &self.buf, data).map_err(EncodeError::io("the PNM image"))?;
        self.buf.clear();
        Ok(())
    }

    /// After the page's last byte: writes what is buffered and checks every row arrived.
    pub fn finish(mut self, out: &mut impl Write) -> Result<(), EncodeError> {
        if self.written < self.expected {
            let rows = (self.written / self.bpl as u64) as u32;
            let extra = (self.written % self.bpl as u64) as usize;
            return Err(if extra != 0 {
                EncodeError::PartialRow {
                    row: rows + 1,
                    extra,
                    bytes_per_line: self.bpl,
                }
            } else {
                EncodeError::ShortPage {
                    rows,
                    height: self.height,
                }
            });
        }
        let io = EncodeError::io("the PNM image");
        write_both(out, &std::mem::take(&mut self.buf), &[]).map_err(io)?;
        out.flush().map_err(EncodeError::io("the PNM image"))
    }
}

/// Writes `a` then `b`, with as few system calls as the writer allows.
fn write_both(out: &mut impl Write, mut a: &[u8], mut b: &[u8]) -> std::io::Result<()> {
    use std::io::{ErrorKind, IoSlice};
    while !a.is_empty() || !b.is_empty() {
        let n = if a.is_empty() {
            out.write(b)
        } else if b.is_empty() {
            out.write(a)
        } else {
            out.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
        };
        match n {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(mut n) => {
                let k = n.min(a.len());
                a = &a[k..];
                n -= k;
                b = &b[n..];
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SliceSource;

    fn raster(height: u32) -> Raster {
        Raster {
            pixel: PixelFormat::Rgb8,
            width: 5000,
            height,
            dpi: (300, 300),
        }
    }

    /// Writes `data` in pieces of `chunk` bytes.
    fn raw(data: &[u8], chunk: usize, height: u32) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        let mut page = RawPnm::start(&raster(height), &mut out)?;
        for c in data.chunks(chunk) {
            page.write(c, &mut out)?;
        }
        page.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn raw_pages_are_what_the_encoder_writes() {
        let r = raster(7);
        let data: Vec<u8> = (0..r.bytes_per_line() * 7).map(|i| i as u8).collect();
        let mut src = SliceSource::new(&data, 1000);
        let mut rows = RowReader::new(&mut src, r.bytes_per_line(), Some(7));
        let mut encoded = Vec::new();
        encode(r, &mut rows, &mut encoded).unwrap();
        // Small writes (gathered), writes past the buffer, and large ones (passed through).
        for chunk in [1, 999, 15_000, 16_384, 40_000, data.len()] {
            assert_eq!(raw(&data, chunk, 7).unwrap(), encoded, "chunk {chunk}");
        }
    }

    #[test]
    fn raw_pages_check_their_length() {
        let bpl = raster(1).bytes_per_line();
        let data = vec![1u8; bpl * 3];
        assert!(matches!(
            raw(&data, 7000, 4),
            Err(EncodeError::ShortPage { rows: 3, height: 4 })
        ));
        assert!(matches!(
            raw(&data[..bpl * 2 + 5], 7000, 4),
            Err(EncodeError::PartialRow {
                row: 3,
                extra: 5,
                ..
            })
        ));
        assert!(matches!(
            raw(&data, 7000, 2),
            Err(EncodeError::ExcessData { height: 2, .. })
        ));
    }
}
