//! Assembly: a document's processed pages, in page order, into the finished file(s), exactly
//! as a local scan's encoder writes them (the same [`Document`] calls with the same options,
//! the creation date from the job), so the bytes are the same wherever it runs.
//!
//! A job separator (a blank page with `Blank::Split`) starts the next file, by the pipeline's
//! rule: several in a row, or one before any page, separate once or not at all; the files are
//! `<name>.pdf`, `<name>-2.pdf`, ...

use crate::result::PageResult;
use crate::wire::{OutputSettings, WireError};
use scanwire_codecs::{Document, EncodeError, SliceSource};
use scanwire_pipeline::{PageImage, StageOutput};
use std::io::Cursor;

/// One finished file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembled {
    /// `<name>.pdf`, `<name>-2.pdf`, ...
    pub file_name: String,
    /// Its pages.
    pub pages: u32,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The settings do not say how.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The encoder refused a page.
    #[error("writing page {page} of the document: {source}")]
    Encode {
        /// The scanned page it came from.
        page: u32,
        /// The encoder's error.
        #[source]
        source: EncodeError,
    },
}

/// Writes `pages` (every scanned page of one document, in order) as `output` says.
pub fn assemble(
    name: &str,
    output: &OutputSettings,
    pages: &[PageResult],
) -> Result<Vec<Assembled>, AssembleError> {
    let format = output.format()?;
    let opts = output.encode_options();
    let ext = output.format.as_str();
    let mut files: Vec<Vec<(u32, &PageImage)>> = vec![Vec::new()];
    let mut pending = false;
    for r in pages {
        for o in &r.outputs {
            match o {
                StageOutput::Separator => {
                    pending |= files.last().is_some_and(|f| !f.is_empty());
                }
                StageOutput::Page(p) => {
                    if std::mem::take(&mut pending) {
                        files.push(Vec::new());
                    }
                    if let Some(f) = files.last_mut() {
                        f.push((r.page, p));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, file) in files.into_iter().filter(|f| !f.is_empty()).enumerate() {
        let mut doc =
            Document::new(format, Cursor::new(Vec::new()), &opts, true).map_err(|source| {
                AssembleError::Encode {
                    page: file[0].0,
                    source,
                }
            })?;
        for (scanned, p) in &file {
            doc.add_page_with_text(
                &p.page,
                &mut SliceSource::new(&p.data, 1 << 20),
                p.text.as_deref(),
            )
            // As the pipeline's document worker does after every page.
            .and_then(|()| doc.settle().map(|_| ()))
            .map_err(|source| AssembleError::Encode {
                page: *scanned,
                source,
            })?;
        }
        let pages = doc.pages();
        let bytes = doc
            .finish()
            .map_err(|source| AssembleError::Encode {
                page: file[0].0,
                source,
            })?
            .into_inner();
        let file_name = match k {
            0 => format!("{name}.{ext}"),
            k => format!("{name}-{}.{ext}", k + 1),
        };
        out.push(Assembled {
            file_name,
            pages,
            bytes,
        });
    }
    Ok(out)
}
