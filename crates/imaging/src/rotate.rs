//! WIA_IPS_ROTATION (exact quarter turns, counterclockwise as WIA defines them) and crop.

use crate::image::{pack_lineart, unpack_lineart, Image, ImagingError, Rect};
use scanwire_core::device::PixelFormat;

/// WIA_IPS_ROTATION's values: turns counterclockwise ("LANDSCAPE: the driver rotates the
/// image 90 degrees counterclockwise").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuarterTurns {
    /// PORTRAIT: unchanged.
    #[default]
    None,
    /// LANDSCAPE: 90° counterclockwise.
    Ccw90,
    /// ROT180.
    Half,
    /// ROT270: 270° counterclockwise (90° clockwise).
    Ccw270,
}

impl QuarterTurns {
    /// From degrees counterclockwise (`--rotate 0|90|180|270`).
    pub fn from_degrees(deg: i32) -> Result<Self, ImagingError> {
        match deg.rem_euclid(360) {
            0 => Ok(Self::None),
            90 => Ok(Self::Ccw90),
            180 => Ok(Self::Half),
            270 => Ok(Self::Ccw270),
            _ => Err(ImagingError::OutOfRange {
                what: "rotation (degrees, a multiple of 90)",
                value: deg as f64,
                min: 0.0,
                max: 270.0,
            }),
        }
    }
}

/// Turns the page by quarter turns; pixels move, nothing is resampled. Width/height and the
/// two resolutions swap for 90 and 270.
pub fn rotate(img: &Image, turns: QuarterTurns) -> Result<Image, ImagingError> {
    img.validate()?;
    if img.pixel == PixelFormat::BlackAndWhite1 {
        // Exact: unpacked levels are 0/255 and pack back unchanged.
        return Ok(pack_lineart(&rotate(&unpack_lineart(img), turns)?));
    }
    let bpp = img.bytes_per_line() / img.width as usize;
    let (w, h) = (img.width as usize, img.height as usize);
    let (ow, oh, dpi) = match turns {
        QuarterTurns::None => return Ok(img.clone()),
        QuarterTurns::Half => (w, h, img.dpi),
        _ => (h, w, (img.dpi.1, img.dpi.0)),
    };
    let mut data = vec![0u8; img.data.len()];
    let src_bpl = w * bpp;
    let dst_bpl = ow * bpp;
    for y in 0..h {
        let row = &img.data[y * src_bpl..(y + 1) * src_bpl];
        for x in 0..w {
            // Where source (x, y) lands.
            let (dx, dy) = match turns {
                // Counterclockwise: the top row becomes the left column, read bottom-up.
                QuarterTurns::Ccw90 => (y, w - 1 - x),
                QuarterTurns::Half => (w - 1 - x, h - 1 - y),
                QuarterTurns::Ccw270 => (h - 1 - y, x),
                QuarterTurns::None => (x, y),
            };
            let d = dy * dst_bpl + dx * bpp;
            data[d..d + bpp].copy_from_slice(&row[x * bpp..(x + 1) * bpp]);
        }
    }
    Ok(Image {
        pixel: img.pixel,
        width: ow as u32,
        height: oh as u32,
        dpi,
        data,
    })
}

/// The pixels inside `rect`, which must lie within the image.
pub fn crop(img: &Image, rect: Rect) -> Result<Image, ImagingError> {
    img.validate()?;
    let inside = rect.width > 0
        && rect.height > 0
        && rect
            .x
            .checked_add(rect.width)
            .is_some_and(|r| r <= img.width)
        && rect
            .y
            .checked_add(rect.height)
            .is_some_and(|b| b <= img.height);
    if !inside {
        return Err(ImagingError::RectOutside {
            rect,
            width: img.width,
            height: img.height,
        });
    }
    if img.pixel == PixelFormat::BlackAndWhite1 && rect.x % 8 != 0 {
        return Ok(pack_lineart(&crop(&unpack_lineart(img), rect)?));
    }
    let bpl_out = img.pixel.bytes_per_line(rect.width);
    let start = match img.pixel {
        PixelFormat::BlackAndWhite1 => rect.x as usize / 8,
        p => p.bytes_per_line(rect.x),
    };
    let mut data = Vec::with_capacity(bpl_out * rect.height as usize);
    for y in rect.y..rect.y + rect.height {
        data.extend_from_slice(&img.row(y)[start..start + bpl_out]);
    }
    if img.pixel == PixelFormat::BlackAndWhite1 && rect.width % 8 != 0 {
        // Clear the padding bits the source row had beyond the new width.
        let keep = 0xffu8 << (8 - rect.width % 8);
        for row in data.chunks_exact_mut(bpl_out) {
            row[bpl_out - 1] &= keep;
        }
    }
    Ok(Image {
        pixel: img.pixel,
        width: rect.width,
        height: rect.height,
        dpi: img.dpi,
        data,
    })
}
