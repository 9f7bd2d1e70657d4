//! Per-page stages: the extension point for processing a scanned page before it is encoded
//! (deskew, crop, blank-page removal, OCR, or a test's page counter).
//!
//! A stage sees a whole page in memory ([`PageImage`]) and returns the pages that take its
//! place: usually the one page, changed or not; none for a page it discards (a blank page);
//! several for a page it cuts apart (photos on the glass). A stage that separates jobs
//! (WIA's JOB_SEPARATOR: a blank sheet between documents) answers
//! [`Stage::process_outputs`] instead, whose [`StageOutput::Separator`] says "a new document
//! starts after this". Stages run on the pipeline's
//! worker threads while the driver scans the next page, so they must be `Send + Sync` and
//! keep no state between pages that depends on page order.
//!
//! ```
//! use scanwire_pipeline::{PageImage, Stage, StageError};
//!
//! /// Turns every page into its negative.
//! struct Invert;
//!
//! impl Stage for Invert {
//!     fn name(&self) -> &str {
//!         "invert"
//!     }
//!     fn process(&self, mut page: PageImage) -> Result<Vec<PageImage>, StageError> {
//!         page.data.iter_mut().for_each(|b| *b = !*b);
//!         Ok(vec![page])
//!     }
//! }
//! ```

use scanwire_codecs::decode::decode;
use scanwire_codecs::{ChunkSource, EncodeError, TextLayer};
use scanwire_core::device::{PageData, PageInfo, PixelFormat};
use scanwire_core::wia::{self, HResult};
use std::sync::Arc;

/// A whole page in memory: its description (always `PageData::Raster` with a known height),
/// its rows, and its text once a stage (OCR) has recognised it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageImage {
    /// The page: number, side, source, resolution and its raster layout.
    pub page: PageInfo,
    /// `pixel.bytes_per_line(width) * height` bytes, top row first.
    pub data: Vec<u8>,
    /// The page's text with word boxes in this image's pixels: a PDF draws it invisibly over
    /// the image; formats that hold only an image ignore it. A stage that changes the
    /// image's geometry must drop or move it.
    pub text: Option<Arc<TextLayer>>,
}

impl PageImage {
    /// The raster layout: pixel format, width and height.
    pub fn layout(&self) -> (PixelFormat, u32, u32) {
        match self.page.data {
            PageData::Raster {
                pixel,
                width,
                height,
            } => (pixel, width, height.unwrap_or(0)),
            // `collect` only ever makes raster pages.
            PageData::Encoded(_) => (PixelFormat::Gray8, 0, 0),
        }
    }

    /// Reads a whole page from `src`: rows as they come (the height, if the device did not
    /// know it, from the bytes), or a device-encoded PNG or JPEG page decoded.
    pub fn collect(page: &PageInfo, src: &mut dyn ChunkSource) -> Result<PageImage, EncodeError> {
        let mut data = Vec::new();
        while let Some(c) = src.next_chunk()? {
            data.extend_from_slice(c);
        }
        match page.data {
            PageData::Raster {
                pixel,
                width,
                height,
            } => {
                let bpl = pixel.bytes_per_line(width).max(1);
                let rows = (data.len() / bpl) as u32;
                match height {
                    Some(h) if h != rows || data.len() % bpl != 0 => {
                        return Err(if data.len() > h as usize * bpl {
                            EncodeError::ExcessData {
                                height: h,
                                bytes_per_line: bpl,
                            }
                        } else {
                            EncodeError::ShortPage { rows, height: h }
                        });
                    }
                    _ => {}
                }
                data.truncate(rows as usize * bpl);
                Ok(PageImage {
                    page: PageInfo {
                        data: PageData::Raster {
                            pixel,
                            width,
                            height: Some(rows),
                        },
                        ..page.clone()
                    },
                    data,
                    text: None,
                })
            }
            PageData::Encoded(_) => {
                let d = decode(&data, None)?;
                let dpi = match page.dpi {
                    (x, y) if x > 0 && y > 0 => (x, y),
                    _ => d.dpi.unwrap_or((72, 72)),
                };
                Ok(PageImage {
                    page: PageInfo {
                        data: PageData::Raster {
                            pixel: d.pixel,
                            width: d.width,
                            height: Some(d.height),
                        },
                        dpi,
                        ..page.clone()
                    },
                    data: d.data,
                    text: None,
                })
            }
        }
    }
}

/// Why a stage could not process a page.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct StageError {
    /// The stage's name.
    pub stage: String,
    /// What went wrong, in words.
    pub message: String,
    /// The HRESULT the driver's page ends with (E_FAIL unless the stage knows better).
    /// S_FALSE or E_ABORT: the transfer was cancelled while the stage worked; the page is
    /// dropped as incomplete and the pages before it are kept.
    pub hresult: HResult,
}

impl StageError {
    /// A failure of `stage`, E_FAIL.
    pub fn new(stage: &str, message: impl Into<String>) -> Self {
        StageError {
            stage: stage.to_string(),
            message: message.into(),
            hresult: wia::E_FAIL,
        }
    }
}

/// One processing step for whole pages; see the module docs.
pub trait Stage: Send + Sync {
    /// A short name for messages and reports (`"deskew"`).
    fn name(&self) -> &str;

    /// The pages that take `page`'s place, in order: `vec![page]` to pass it on, an empty
    /// vector to discard it, several to split it.
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError>;

    /// [`Stage::process`] for a stage that may also separate documents: the pages, and
    /// [`StageOutput::Separator`] where a new document starts. The pipeline calls this one;
    /// by default it is `process`'s pages.
    fn process_outputs(&self, page: PageImage) -> Result<Vec<StageOutput>, StageError> {
        Ok(self
            .process(page)?
            .into_iter()
            .map(StageOutput::Page)
            .collect())
    }
}

/// What a stage hands on, in order: a page, or a job separator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageOutput {
    /// A page for the next stage (or the encoder).
    Page(PageImage),
    /// The pages after this one belong to a new document (`out.pdf`, `out-2.pdf`...). Later
    /// stages pass it on untouched; several in a row, or one before any page, separate once
    /// or not at all (no document is ever empty).
    Separator,
}

/// The stages of a pipeline, applied in order.
pub type Stages = Vec<Arc<dyn Stage>>;

/// Runs `page` through every stage in order.
pub(crate) fn apply(
    stages: &[Arc<dyn Stage>],
    page: PageImage,
) -> Result<Vec<StageOutput>, StageError> {
    let mut outs = vec![StageOutput::Page(page)];
    for stage in stages {
        let mut next = Vec::with_capacity(outs.len());
        for o in outs {
            match o {
                StageOutput::Page(p) => next.extend(stage.process_outputs(p)?),
                StageOutput::Separator => next.push(StageOutput::Separator),
            }
        }
        outs = next;
    }
    Ok(outs)
}
