//! The page image handed to recognition: owned, simple, easy to send to another process.

use crate::error::OcrError;

/// The pixels of a page, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// One bit per pixel, most significant bit first, 1 = black (as Scanwire's lineart pages,
    /// SANE and PBM have it), each row padded to whole bytes. Tesseract takes these without
    /// thresholding.
    BlackAndWhite1(Vec<u8>),
    /// One byte per pixel, 0 = black, rows tightly packed.
    Gray8(Vec<u8>),
    /// Three bytes per pixel, R G B, rows tightly packed.
    Rgb8(Vec<u8>),
}

impl Pixels {
    /// Bytes of one row of `width` pixels.
    pub fn bytes_per_line(&self, width: u32) -> usize {
        let w = width as usize;
        match self {
            Pixels::BlackAndWhite1(_) => w.div_ceil(8),
            Pixels::Gray8(_) => w,
            Pixels::Rgb8(_) => w * 3,
        }
    }

    /// The bytes.
    pub fn data(&self) -> &[u8] {
        match self {
            Pixels::BlackAndWhite1(d) | Pixels::Gray8(d) | Pixels::Rgb8(d) => d,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Pixels::BlackAndWhite1(_) => "BlackAndWhite1",
            Pixels::Gray8(_) => "Gray8",
            Pixels::Rgb8(_) => "Rgb8",
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
    /// A black-and-white page (1 bit per pixel, 1 = black, rows padded to whole bytes).
    pub fn black_and_white(
        width: u32,
        height: u32,
        dpi: Option<u32>,
        data: Vec<u8>,
    ) -> Result<Self, OcrError> {
        let p = PageImage {
            width,
            height,
            dpi,
            pixels: Pixels::BlackAndWhite1(data),
        };
        p.validate()?;
        Ok(p)
    }

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
        let kind = self.pixels.name();
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
        let expected = self.pixels.bytes_per_line(self.width) as u64 * self.height as u64;
        let got = self.pixels.data().len() as u64;
        if got != expected {
            return Err(OcrError::BadImage(format!(
                "{}×{} {kind} holds {got} bytes, expected {expected} ({} bytes a row)",
                self.width,
                self.height,
                self.pixels.bytes_per_line(self.width)
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
        let (w, h) = (self.width as usize, self.height as usize);
        let (nw, nh) = if turns == 2 { (w, h) } else { (h, w) };
        // Where source pixel (x, y) goes.
        let to = |x: usize, y: usize| match turns {
            1 => (h - 1 - y, x),
            2 => (w - 1 - x, h - 1 - y),
            _ => (y, w - 1 - x),
        };
        let src = self.pixels.data();
        let pixels = match &self.pixels {
            Pixels::BlackAndWhite1(_) => {
                let (sbpl, dbpl) = (w.div_ceil(8), nw.div_ceil(8));
                let mut out = vec![0u8; dbpl * nh];
                for y in 0..h {
                    for x in 0..w {
                        if src[y * sbpl + x / 8] & (0x80 >> (x % 8)) != 0 {
                            let (nx, ny) = to(x, y);
                            out[ny * dbpl + nx / 8] |= 0x80 >> (nx % 8);
                        }
                    }
                }
                Pixels::BlackAndWhite1(out)
            }
            Pixels::Gray8(_) | Pixels::Rgb8(_) => {
                let bpp = self.pixels.bytes_per_line(1);
                let mut out = vec![0u8; src.len()];
                for y in 0..h {
                    for x in 0..w {
                        let (nx, ny) = to(x, y);
                        let (s, d) = ((y * w + x) * bpp, (ny * nw + nx) * bpp);
                        out[d..d + bpp].copy_from_slice(&src[s..s + bpp]);
                    }
                }
                match self.pixels {
                    Pixels::Gray8(_) => Pixels::Gray8(out),
                    _ => Pixels::Rgb8(out),
                }
            }
        };
        PageImage {
            width: nw as u32,
            height: nh as u32,
            dpi: self.dpi,
            pixels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_the_same_in_every_format() {
        // 11 × 3: not a multiple of 8 wide, so row padding is exercised.
        let (w, h) = (11u32, 3u32);
        let gray: Vec<u8> = (0..w * h)
            .map(|i| if (i * 7) % 5 < 2 { 0 } else { 255 })
            .collect();
        let pack = |p: &PageImage| -> PageImage {
            let Pixels::Gray8(g) = &p.pixels else {
                unreachable!()
            };
            let bpl = (p.width as usize).div_ceil(8);
            let mut bw = vec![0u8; bpl * p.height as usize];
            for (i, v) in g.iter().enumerate() {
                let (x, y) = (i % p.width as usize, i / p.width as usize);
                if *v == 0 {
                    bw[y * bpl + x / 8] |= 0x80 >> (x % 8);
                }
            }
            PageImage::black_and_white(p.width, p.height, p.dpi, bw).unwrap()
        };
        let g = PageImage::gray(w, h, Some(300), gray.clone()).unwrap();
        let rgb = PageImage::rgb(w, h, None, gray.iter().flat_map(|v| [*v; 3]).collect()).unwrap();
        for turns in 0..4 {
            let r = g.rotated(turns);
            r.validate().unwrap();
            assert_eq!(pack(&r), pack(&g).rotated(turns), "{turns}");
            let Pixels::Rgb8(c) = rgb.rotated(turns).pixels else {
                unreachable!()
            };
            let Pixels::Gray8(rg) = &r.pixels else {
                unreachable!()
            };
            assert_eq!(c.chunks(3).map(|p| p[0]).collect::<Vec<_>>(), *rg);
        }
        assert_eq!(g.rotated(1).width, 3);
        assert_eq!(g.rotated(1).rotated(3), g);
        assert_eq!(g.rotated(2).rotated(2), g);
        // Turning clockwise: the top-left pixel goes to the top-right.
        let Pixels::Gray8(r) = g.rotated(1).pixels else {
            unreachable!()
        };
        assert_eq!(r[2], gray[0]);
    }
}
