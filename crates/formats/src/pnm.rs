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
    let mut band = Vec::new();
    let band_rows = rows_for(256 * 1024, r.bytes_per_line());
    while rows.read_rows(&mut band, band_rows)? > 0 {
        out.write_all(&band)
            .map_err(EncodeError::io("the PNM image"))?;
    }
    out.flush().map_err(EncodeError::io("the PNM image"))
}
