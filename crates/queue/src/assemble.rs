//! Assembly: a document's processed pages, in page order, into the finished file(s), exactly
//! as a local scan's encoder writes them (the same [`Document`] calls with the same options,
//! the creation date from the job), so the bytes are the same wherever it runs.
//!
//! [`Assembler`] takes the pages one at a time ([`Assembler::add`]) and writes each into its
//! file as it comes, so memory holds one page's result, never the document: the worker reads
//! a result, adds it, drops it, and the files go to outputs it chooses (temporary files).
//! A PDF page's image arrives already encoded ([`ResultOutput::Pdf`]) and is copied in.
//!
//! A job separator (a blank page with `Blank::Split`) starts the next file, by the pipeline's
//! rule: several in a row, or one before any page, separate once or not at all; the files are
//! `<name>.pdf`, `<name>-2.pdf`, ...

use crate::result::{PageResult, ResultOutput};
use crate::wire::{OutputSettings, WireError};
use scanwire_codecs::{Document, DocumentOutput, EncodeError, EncodeOptions, Format, SliceSource};
use std::io::Cursor;

/// One finished file in memory ([`assemble`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembled {
    /// `<name>.pdf`, `<name>-2.pdf`, ...
    pub file_name: String,
    /// Its pages.
    pub pages: u32,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// One finished file in the output [`Assembler`] made for it.
#[derive(Debug)]
pub struct AssembledFile<W> {
    /// `<name>.pdf`, `<name>-2.pdf`, ...
    pub file_name: String,
    /// Its pages.
    pub pages: u32,
    /// The output holding it, as the encoder left it (positioned at its end).
    pub output: W,
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
    /// No output for the next file.
    #[error("making the output for {file}: {source}")]
    Output {
        /// The file's name.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A document written page by page (see the module docs). `make` gives each file's output.
pub struct Assembler<W: DocumentOutput, F: FnMut() -> std::io::Result<W>> {
    name: String,
    ext: String,
    format: Format,
    opts: EncodeOptions,
    make: F,
    /// The file being written, and the scanned page its first page came from.
    current: Option<(Document<W>, u32)>,
    /// A separator came after the current file's pages: the next page starts a file.
    pending: bool,
    files: Vec<AssembledFile<W>>,
}

impl<W: DocumentOutput, F: FnMut() -> std::io::Result<W>> Assembler<W, F> {
    /// A document named `name` (`<name>.pdf`...) written as `output` says.
    pub fn new(name: &str, output: &OutputSettings, make: F) -> Result<Self, AssembleError> {
        Ok(Assembler {
            name: name.to_string(),
            ext: output.format.clone(),
            format: output.format()?,
            opts: output.encode_options(),
            make,
            current: None,
            pending: false,
            files: Vec::new(),
        })
    }

    fn file_name(&self, k: usize) -> String {
        match k {
            0 => format!("{}.{}", self.name, self.ext),
            k => format!("{}-{}.{}", self.name, k + 1, self.ext),
        }
    }

    /// Ends the current file, if any.
    fn close(&mut self) -> Result<(), AssembleError> {
        if let Some((doc, first)) = self.current.take() {
            let pages = doc.pages();
            let output = doc.finish().map_err(|source| AssembleError::Encode {
                page: first,
                source,
            })?;
            self.files.push(AssembledFile {
                file_name: self.file_name(self.files.len()),
                pages,
                output,
            });
        }
        Ok(())
    }

    /// Adds the next scanned page's outputs (pages in page order).
    pub fn add(&mut self, result: &PageResult) -> Result<(), AssembleError> {
        let scanned = result.page;
        for o in &result.outputs {
            if matches!(o, ResultOutput::Separator) {
                self.pending |= self.current.is_some();
                continue;
            }
            if std::mem::take(&mut self.pending) {
                self.close()?;
            }
            if self.current.is_none() {
                let file = self.file_name(self.files.len());
                let out = (self.make)().map_err(|source| AssembleError::Output { file, source })?;
                let doc = Document::new(self.format, out, &self.opts, true).map_err(|source| {
                    AssembleError::Encode {
                        page: scanned,
                        source,
                    }
                })?;
                self.current = Some((doc, scanned));
            }
            let Some((doc, _)) = self.current.as_mut() else {
                continue;
            };
            let added = match o {
                ResultOutput::Rows(p) => doc.add_page_with_text(
                    &p.page,
                    &mut SliceSource::new(&p.data, 1 << 20),
                    p.text.as_deref(),
                ),
                ResultOutput::Pdf { image, text } => doc.add_pdf_image(image, text.as_deref()),
                ResultOutput::Separator => Ok(()),
            };
            // As the pipeline's document worker does after every page.
            added
                .and_then(|()| doc.settle().map(|_| ()))
                .map_err(|source| AssembleError::Encode {
                    page: scanned,
                    source,
                })?;
        }
        Ok(())
    }

    /// The finished files, in order (none when no page came).
    pub fn finish(mut self) -> Result<Vec<AssembledFile<W>>, AssembleError> {
        self.close()?;
        Ok(self.files)
    }
}

/// Writes `pages` (every scanned page of one document, in order) as `output` says, in memory.
pub fn assemble(
    name: &str,
    output: &OutputSettings,
    pages: &[PageResult],
) -> Result<Vec<Assembled>, AssembleError> {
    let mut a = Assembler::new(name, output, || Ok(Cursor::new(Vec::new())))?;
    for r in pages {
        a.add(r)?;
    }
    Ok(a.finish()?
        .into_iter()
        .map(|f| Assembled {
            file_name: f.file_name,
            pages: f.pages,
            bytes: f.output.into_inner(),
        })
        .collect())
}
