//! WIA_IPS_BRIGHTNESS and WIA_IPS_CONTRAST (−1000..1000, 0 = unchanged): one linear map per
//! sample, as Microsoft's sample filter applies one colour matrix (docs/processing.md).

use crate::image::{Image, ImagingError};
use scanwire_core::device::PixelFormat;

/// WIA's range for both properties.
pub const WIA_RANGE: (i32, i32) = (-1000, 1000);

fn check(what: &'static str, v: i32) -> Result<(), ImagingError> {
    if (WIA_RANGE.0..=WIA_RANGE.1).contains(&v) {
        Ok(())
    } else {
        Err(ImagingError::OutOfRange {
            what,
            value: v as f64,
            min: WIA_RANGE.0 as f64,
            max: WIA_RANGE.1 as f64,
        })
    }
}

/// The map on the 0..1 scale: `(x − ½)·k + ½ + b`, clamped; `b = brightness/2000`,
/// `k = tan((contrast/1000 + 1)·π/4)` (1 at 0, 0 at −1000, a hard step at +1000).
fn map(x: f64, brightness: i32, contrast: i32) -> f64 {
    let b = brightness as f64 / 2000.0;
    let t = (contrast as f64 / 1000.0 + 1.0) * std::f64::consts::FRAC_PI_4;
    let y = if contrast >= 1000 {
        if x + b >= 0.5 {
            1.0
        } else {
            0.0
        }
    } else {
        (x - 0.5) * t.tan() + 0.5 + b
    };
    y.clamp(0.0, 1.0)
}

/// Applies brightness and contrast in place. Every sample of every channel goes through the
/// same table (256 entries for 8-bit, 65536 for 16-bit); lineart maps its two levels and
/// thresholds the result at mid-gray, so it changes only at the extremes.
pub fn brightness_contrast(
    img: &mut Image,
    brightness: i32,
    contrast: i32,
) -> Result<(), ImagingError> {
    img.validate()?;
    check("brightness", brightness)?;
    check("contrast", contrast)?;
    if brightness == 0 && contrast == 0 {
        return Ok(());
    }
    match img.pixel {
        PixelFormat::Gray8 | PixelFormat::Rgb8 => {
            let lut: Vec<u8> = (0..256)
                .map(|v| (map(v as f64 / 255.0, brightness, contrast) * 255.0).round() as u8)
                .collect();
            for v in img.data.iter_mut() {
                *v = lut[*v as usize];
            }
        }
        PixelFormat::Gray16 | PixelFormat::Rgb16 => {
            let lut: Vec<u16> = (0..65536)
                .map(|v| (map(v as f64 / 65535.0, brightness, contrast) * 65535.0).round() as u16)
                .collect();
            for s in img.data.chunks_exact_mut(2) {
                let v = lut[u16::from_be_bytes([s[0], s[1]]) as usize];
                s.copy_from_slice(&v.to_be_bytes());
            }
        }
        PixelFormat::BlackAndWhite1 => {
            let white = map(1.0, brightness, contrast) >= 0.5;
            let black = map(0.0, brightness, contrast) >= 0.5;
            let w = img.width as usize;
            let bpl = img.bytes_per_line();
            for row in img.data.chunks_exact_mut(bpl) {
                for x in 0..w {
                    let bit = 0x80u8 >> (x % 8);
                    let is_black = row[x / 8] & bit != 0;
                    let now_white = if is_black { black } else { white };
                    if now_white {
                        row[x / 8] &= !bit;
                    } else {
                        row[x / 8] |= bit;
                    }
                }
            }
        }
    }
    Ok(())
}
