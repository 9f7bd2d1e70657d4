//! OCR in the page pipeline: [`OcrStage`] recognises a page and attaches its words as the
//! page's text layer (which the PDF writer draws invisibly over the image); [`AutoRotate`]
//! turns a page upright first.
//!
//! Both hand the page to an [`OcrPool`] (one Tesseract engine per worker thread) and wait for
//! it, so a pipeline worker never owns an engine, and a cancel ([`CancelFlag`], set from the
//! transfer's cancel) returns at once: the page is dropped as incomplete (S_FALSE), the pages
//! before it stay.

use crate::engine::{CancelFlag, Recognized};
use crate::error::OcrError;
use crate::image::{PageImage as OcrImage, Pixels};
use crate::pool::OcrPool;
use scanwire_codecs::{TextLayer, TextWord};
use scanwire_core::device::{PageData, PixelFormat};
use scanwire_core::wia;
use scanwire_pipeline::{PageImage, Stage, StageError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl Recognized {
    /// The words as the PDF writer's text layer (boxes in this page image's pixels).
    pub fn text_layer(&self) -> TextLayer {
        TextLayer {
            width: self.width,
            height: self.height,
            words: self
                .words
                .iter()
                .map(|w| TextWord {
                    text: w.text.clone(),
                    bbox: [w.bbox.left, w.bbox.top, w.bbox.right, w.bbox.bottom],
                    line: w.line,
                })
                .collect(),
        }
    }
}

/// A pipeline page as a recognition image: 1-bit, 8-bit gray and RGB as they are, 16-bit
/// samples cut to their high byte (Tesseract works on 8 bits).
pub fn from_pipeline(page: &PageImage) -> Result<OcrImage, OcrError> {
    let (pixel, width, height) = page.layout();
    let dpi = Some(page.page.dpi.0).filter(|&d| d > 0);
    let high = |d: &[u8]| d.chunks_exact(2).map(|s| s[0]).collect::<Vec<u8>>();
    match pixel {
        PixelFormat::BlackAndWhite1 => {
            OcrImage::black_and_white(width, height, dpi, page.data.clone())
        }
        PixelFormat::Gray8 => OcrImage::gray(width, height, dpi, page.data.clone()),
        PixelFormat::Rgb8 => OcrImage::rgb(width, height, dpi, page.data.clone()),
        PixelFormat::Gray16 => OcrImage::gray(width, height, dpi, high(&page.data)),
        PixelFormat::Rgb16 => OcrImage::rgb(width, height, dpi, high(&page.data)),
    }
}

/// What OCR found on one page, for reports (`--json`).
#[derive(Clone, Debug, PartialEq)]
pub struct PageOcr {
    /// The page's number as the driver delivered it.
    pub page: u32,
    /// Words recognised.
    pub words: usize,
    /// Their mean confidence, 0..=100.
    pub mean_confidence: f32,
    /// Recognition time (Tesseract's, on its worker).
    pub elapsed: Duration,
    /// Everything recognised on the page (for the text and hOCR outputs).
    pub recognized: Recognized,
}

fn stage_error(stage: &str, e: OcrError) -> StageError {
    if e.is_cancelled() {
        // The transfer was cancelled: the page is incomplete, not failed.
        let mut s = StageError::new(stage, "cancelled");
        s.hresult = wia::S_FALSE;
        return s;
    }
    StageError::new(stage, e.to_string())
}

/// Recognises each page and attaches its text ([`PageImage::text`]); records what it found
/// per page ([`OcrStage::pages`]).
pub struct OcrStage {
    pool: Arc<OcrPool>,
    cancel: CancelFlag,
    pages: Mutex<Vec<PageOcr>>,
}

impl OcrStage {
    /// A stage recognising with `pool`'s engines; `cancel` stops it (and is what a transfer's
    /// cancel should set).
    pub fn new(pool: Arc<OcrPool>, cancel: CancelFlag) -> OcrStage {
        OcrStage {
            pool,
            cancel,
            pages: Mutex::new(Vec::new()),
        }
    }

    /// The pages recognised so far, in page order.
    pub fn pages(&self) -> Vec<PageOcr> {
        let mut v = self.pages.lock().unwrap_or_else(|p| p.into_inner()).clone();
        v.sort_by_key(|p| p.page);
        v
    }
}

impl Stage for OcrStage {
    fn name(&self) -> &str {
        "ocr"
    }

    fn process(&self, mut page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let image = from_pipeline(&page).map_err(|e| stage_error(self.name(), e))?;
        let rec = self
            .pool
            .submit(image, &self.cancel)
            .wait()
            .map_err(|e| stage_error(self.name(), e))?;
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PageOcr {
                page: page.page.number,
                words: rec.words.len(),
                mean_confidence: rec.mean_confidence,
                elapsed: rec.elapsed,
                recognized: rec.clone(),
            });
        page.text = Some(Arc::new(rec.text_layer()));
        Ok(vec![page])
    }
}

/// How the engine's error for a page without enough text for OSD begins.
const TOO_LITTLE_TEXT: &str = "Tesseract found too little text";

/// Turns pages that are 90°, 180° or 270° off upright (Tesseract's orientation detection,
/// `osd.traineddata`). Runs before OCR; a page whose orientation is unsure (confidence below
/// [`AutoRotate::MIN_CONFIDENCE`]) or has no text is left as it is.
pub struct AutoRotate {
    pool: Arc<OcrPool>,
    cancel: CancelFlag,
}

impl AutoRotate {
    /// Below this OSD confidence a page is not turned: above about 2 OSD is usually right
    /// (see [`Orientation::confidence`](crate::Orientation)); a wrong turn is worse than none.
    pub const MIN_CONFIDENCE: f32 = 2.0;

    /// A stage detecting with `pool`'s engines (each makes its OSD engine on first use).
    pub fn new(pool: Arc<OcrPool>, cancel: CancelFlag) -> AutoRotate {
        AutoRotate { pool, cancel }
    }
}

impl Stage for AutoRotate {
    fn name(&self) -> &str {
        "auto-rotate"
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let image = from_pipeline(&page).map_err(|e| stage_error(self.name(), e))?;
        let o = match self.pool.submit_orientation(image, &self.cancel).wait() {
            Ok(o) => o,
            // A page without enough text for OSD stays as it is (missing osd.traineddata
            // is an error, not such a page).
            Err(OcrError::NoOrientation(why)) if why.starts_with(TOO_LITTLE_TEXT) => {
                return Ok(vec![page])
            }
            Err(e) => return Err(stage_error(self.name(), e)),
        };
        if o.quarter_turns == 0 || o.confidence < Self::MIN_CONFIDENCE {
            return Ok(vec![page]);
        }
        Ok(vec![rotated(page, o.quarter_turns)])
    }
}

/// `page` turned clockwise by `quarter_turns` × 90° (its text, made for the old geometry,
/// dropped; the resolution's axes swapped with the sides).
pub fn rotated(mut page: PageImage, quarter_turns: u8) -> PageImage {
    let turns = quarter_turns % 4;
    if turns == 0 {
        return page;
    }
    let (pixel, w, h) = page.layout();
    let data = match pixel {
        PixelFormat::BlackAndWhite1 => {
            let img = OcrImage {
                width: w,
                height: h,
                dpi: None,
                pixels: Pixels::BlackAndWhite1(std::mem::take(&mut page.data)),
            };
            match img.rotated(turns).pixels {
                Pixels::BlackAndWhite1(d) => d,
                _ => unreachable!("rotation keeps the pixel format"),
            }
        }
        _ => {
            let bpp = pixel.bytes_per_line(1);
            let (w, h) = (w as usize, h as usize);
            let (nw, nh) = if turns == 2 { (w, h) } else { (h, w) };
            let mut out = vec![0u8; page.data.len()];
            for y in 0..h {
                for x in 0..w {
                    let (nx, ny) = match turns {
                        1 => (h - 1 - y, x),
                        2 => (w - 1 - x, h - 1 - y),
                        _ => (y, w - 1 - x),
                    };
                    let s = (y * w + x) * bpp;
                    let d = (ny * nw + nx) * bpp;
                    out[d..d + bpp].copy_from_slice(&page.data[s..s + bpp]);
                }
            }
            debug_assert_eq!(nh * nw * bpp, out.len());
            out
        }
    };
    let (nw, nh) = if turns == 2 { (w, h) } else { (h, w) };
    page.page.data = PageData::Raster {
        pixel,
        width: nw,
        height: Some(nh),
    };
    if turns != 2 {
        page.page.dpi = (page.page.dpi.1, page.page.dpi.0);
    }
    page.data = data;
    page.text = None;
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::{PageInfo, Side, Source};

    fn page(pixel: PixelFormat, w: u32, h: u32, data: Vec<u8>) -> PageImage {
        PageImage {
            page: PageInfo {
                number: 1,
                sheet: 1,
                side: Side::Front,
                source: Source::Flatbed,
                data: PageData::Raster {
                    pixel,
                    width: w,
                    height: Some(h),
                },
                dpi: (300, 150),
            },
            data,
            text: None,
        }
    }

    #[test]
    fn rotation_matches_the_ocr_image_rotation() {
        // 3×2 gray: rows [0 1 2] [3 4 5].
        let p = page(PixelFormat::Gray8, 3, 2, (0..6).collect());
        for turns in 0..4u8 {
            let ours = rotated(p.clone(), turns);
            let theirs = from_pipeline(&p).unwrap().rotated(turns);
            assert_eq!(ours.data, theirs.pixels.data(), "{turns} turns");
            assert_eq!(ours.layout().1, theirs.width);
            assert_eq!(ours.layout().2, theirs.height);
        }
        // A quarter turn clockwise: the left column, bottom up, becomes the top row.
        assert_eq!(rotated(p.clone(), 1).data, vec![3, 0, 4, 1, 5, 2]);
        assert_eq!(rotated(p, 1).page.dpi, (150, 300));
    }

    #[test]
    fn sixteen_bit_pages_keep_their_high_byte() {
        let p = page(PixelFormat::Gray16, 2, 1, vec![0x12, 0x34, 0xAB, 0xCD]);
        let img = from_pipeline(&p).unwrap();
        assert_eq!(img.pixels, Pixels::Gray8(vec![0x12, 0xAB]));
        assert_eq!(img.dpi, Some(300));
        let r = rotated(p, 1);
        assert_eq!(r.data, vec![0x12, 0x34, 0xAB, 0xCD]);
        assert_eq!(r.layout(), (PixelFormat::Gray16, 1, 2));
    }
}
