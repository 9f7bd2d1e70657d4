//! What can go wrong, each variant naming what was wrong and what is allowed.

use std::path::PathBuf;

/// An error of the document library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// No document has this id.
    #[error("no document {0:?}; GET /api/documents lists the documents there are")]
    NoDocument(String),
    /// The document has no page with this id.
    #[error("document {doc:?} has no page {page:?}; its pages are {pages:?}")]
    NoPage {
        /// The document.
        doc: String,
        /// The page asked for.
        page: String,
        /// The pages it has.
        pages: Vec<String>,
    },
    /// A new order that is not a permutation of the document's pages.
    #[error(
        "the new order {given:?} is not a permutation of the document's pages {pages:?}: \
         name each page exactly once"
    )]
    NotAPermutation {
        /// The order asked for.
        given: Vec<String>,
        /// The pages the document has, in their current order.
        pages: Vec<String>,
    },
    /// A rotation that is not a quarter turn.
    #[error("rotation {0} degrees is not allowed: 90, 180 or 270 (clockwise)")]
    Rotation(i64),
    /// Manual duplex whose passes cannot be interleaved.
    #[error("{0}")]
    Interleave(String),
    /// A document a scan is writing into.
    #[error("document {0:?} is being scanned into; wait for the scan to end or cancel it first")]
    Busy(String),
    /// A document without pages cannot be downloaded or archived.
    #[error("document {0:?} has no pages yet; scan or add a page first")]
    Empty(String),
    /// A page whose layout cannot be stored.
    #[error("the page cannot be stored: {0}")]
    BadPage(String),
    /// A name (document or preset) that is not allowed.
    #[error("{0}")]
    BadName(String),
    /// A preset's settings that are not allowed.
    #[error("preset {name:?}: {message}")]
    BadPreset {
        /// The preset.
        name: String,
        /// What was wrong and what is allowed.
        message: String,
    },
    /// No preset has this name.
    #[error("no preset named {0:?}")]
    NoPreset(String),
    /// Archiving asked for with no archive folder configured.
    #[error("no archive folder is set; start `scanwire serve --archive DIR` to archive documents")]
    NoArchive,
    /// A bad archive naming template.
    #[error("archive template {template:?}: {message}")]
    Template {
        /// The template.
        template: String,
        /// What was wrong and what is allowed.
        message: String,
    },
    /// Encoding or decoding a page failed.
    #[error("{what}: {source}")]
    Codec {
        /// What was being done.
        what: String,
        /// The codec's error.
        source: scanwire_codecs::EncodeError,
    },
    /// Writing the ZIP archive failed.
    #[error("writing the ZIP of {doc:?}: {source}")]
    Zip {
        /// The document.
        doc: String,
        /// The zip writer's error.
        source: zip::result::ZipError,
    },
    /// A file of the library could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What the file is.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file of the library holds something else than the library wrote.
    #[error("{} is damaged: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl LibraryError {
    /// An I/O error on `path`.
    pub(crate) fn io(
        what: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| LibraryError::Io { what, path, source }
    }

    /// A codec error while doing `what`.
    pub(crate) fn codec(
        what: impl Into<String>,
    ) -> impl FnOnce(scanwire_codecs::EncodeError) -> Self {
        let what = what.into();
        move |source| LibraryError::Codec { what, source }
    }

    /// Whether the error is the caller's (a missing document or page, a bad request) rather
    /// than the server's: HTTP 404 for `NotFound`, 409/400 for `Invalid`, 500 for `Internal`.
    pub fn kind(&self) -> ErrorKind {
        use LibraryError::*;
        match self {
            NoDocument(_) | NoPage { .. } | NoPreset(_) => ErrorKind::NotFound,
            NotAPermutation { .. } | Interleave(_) | Empty(_) | NoArchive | Busy(_) => {
                ErrorKind::Conflict
            }
            Rotation(_) | BadName(_) | BadPreset { .. } | BadPage(_) => ErrorKind::Invalid,
            Template { .. } | Codec { .. } | Zip { .. } | Io { .. } | Damaged { .. } => {
                ErrorKind::Internal
            }
        }
    }
}

/// The kind of a [`LibraryError`], for mapping onto HTTP statuses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The document, page or preset does not exist (404).
    NotFound,
    /// A request the document cannot do in its state (409).
    Conflict,
    /// A bad value in the request (400).
    Invalid,
    /// The library's own failure (500).
    Internal,
}
