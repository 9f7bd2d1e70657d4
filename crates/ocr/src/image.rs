//! The page image handed to recognition: owned, simple, easy to send to another process.

use crate::error::OcrError;

/// The pixels of a page, rows top to bottom, tightly packed (no row padding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// One byte per pixel, 0 = black.
    Gray8(Vec<u8>),
    /// Three bytes per pixel, R G B.
    Rgb8(Vec<u8>),
}

impl Pixels {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(&self) -> u32 {
        match self {
            Pixels::Gray8(_) => 1,
            Pixels::Rgb8(_) => 3,
        }
    }

    /// The bytes.
    pub fn data(&self) -> &[u8] {
        match self {
            Pixels::Gray8(d) | Pixels::Rgb8(d) => d,
        }
    }
}

/// A page image for recognition. The page pipeline converts its rasters into this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution; `None` lets Tesseract estimate it from the text size (as its command line
    /// does for an image without one).
    pub dpi: Option<u32>,
    /// The pixels.
    pub pixels: Pixels,
}

/// Tesseract's own limit (a Leptonica Pix dimension); larger pages are refused before they
/// reach the C code.
const MAX_SIDE: u32 = 1 << 16;

impl PageImage {
    /// An 8-bit gray page.
    pub fn gray(
        width: u32,
        height: u32,
        dpi: Option<u32>,
        data: Vec<u8>,
    ) -> Result<Self, OcrError> {
        let p = PageImage {
            width,
            height,
            dpi,
            pixels: Pixels::Gray8(data),
        };
        p.validate()?;
        Ok(p)
    }

    /// An 8-bit RGB page.
    pub fn rgb(width: u32, height: u32, dpi: Option<u32>, data: Vec<u8>) -> Result<Self, OcrError> {
        let p = PageImage {
            width,
            height,
            dpi,
            pixels: Pixels::Rgb8(data),
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks that the size and the data agree (recognition checks again: the fields are public).
    pub fn validate(&self) -> Result<(), OcrError> {
        let kind = match self.pixels {
            Pixels::Gray8(_) => "Gray8",
            Pixels::Rgb8(_) => "Rgb8",
        };
        if self.width == 0 || self.height == 0 {
            return Err(OcrError::BadImage(format!(
                "{}×{} {kind}: width and height must be at least 1",
                self.width, self.height
            )));
        }
        if self.width > MAX_SIDE || self.height > MAX_SIDE {
            return Err(OcrError::BadImage(format!(
                "{}×{} {kind}: at most {MAX_SIDE} pixels a side",
                self.width, self.height
            )));
        }
        if self.dpi == Some(0) {
            return Err(OcrError::BadImage(
                "resolution 0 dpi (use None when it is unknown)".into(),
            ));
        }
        let expected =
            self.width as u64 * self.height as u64 * self.pixels.bytes_per_pixel() as u64;
        let got = self.pixels.data().len() as u64;
        if got != expected {
            return Err(OcrError::BadImage(format!(
                "{}×{} {kind} holds {got} bytes, expected {expected} (rows tightly packed)",
                self.width, self.height
            )));
        }
        Ok(())
    }

    /// The page turned clockwise by `quarter_turns` × 90°: how `--auto-rotate` applies an
    /// [`Orientation`](crate::Orientation), and how tests make rotated pages.
    pub fn rotated(&self, quarter_turns: u8) -> PageImage {
        let turns = quarter_turns % 4;
        if turns == 0 {
            return self.clone();
        }
        let bpp = self.pixels.bytes_per_pixel() as usize;
        let (w, h) = (self.width as usize, self.height as usize);
        let src = self.pixels.data();
        let (nw, nh) = if turns == 2 { (w, h) } else { (h, w) };
        let mut out = vec![0u8; src.len()];
        for y in 0..h {
            for x in 0..w {
                let (nx, ny) = match turns {
                    1 => (h - 1 - y, x),
                    2 => (w - 1 - x, h - 1 - y),
                    _ => (y, w - 1 - x),
                };
                let s = (y * w + x) * bpp;
                let d = (ny * nw + nx) * bpp;
                out[d..d + bpp].copy_from_slice(&src[s..s + bpp]);
            }
        }
        PageImage {
            width: nw as u32,
            height: nh as u32,
            dpi: self.dpi,
            pixels: match self.pixels {
                Pixels::Gray8(_) => Pixels::Gray8(out),
                Pixels::Rgb8(_) => Pixels::Rgb8(out),
            },
        }
    }
}
