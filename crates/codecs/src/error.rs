//! What can go wrong while encoding a page or keeping a file, and the HRESULT each means.

use scanwire_core::wia::{self, HResult};
use std::io;
use std::path::PathBuf;

/// Why a page could not be encoded or kept.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Writing the output (or a spool file) failed: disk full, permissions, a closed pipe.
    #[error("writing {what} failed: {source}")]
    Io {
        /// What was being written (`"the PNG image"`, `"the spool file"`).
        what: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The page ended without the driver finishing it (cancelled or failed); it is discarded.
    #[error("the page ended incomplete ({status}) and was discarded")]
    Incomplete {
        /// S_FALSE for a cancel, otherwise the failure.
        status: HResult,
    },
    /// The driver sent more bytes than the page's declared `height` rows.
    #[error("the page declared {height} rows of {bytes_per_line} bytes, but more data arrived")]
    ExcessData {
        /// Declared rows.
        height: u32,
        /// Bytes per row.
        bytes_per_line: usize,
    },
    /// The page was finished before its declared `height` rows arrived.
    #[error("the page declared {height} rows but was finished after {rows}")]
    ShortPage {
        /// Rows received.
        rows: u32,
        /// Rows declared.
        height: u32,
    },
    /// The page ended in the middle of a row.
    #[error("the page ended {extra} bytes into row {row} (rows are {bytes_per_line} bytes)")]
    PartialRow {
        /// 1-based row that was cut short.
        row: u32,
        /// Bytes of it that arrived.
        extra: usize,
        /// Bytes per row.
        bytes_per_line: usize,
    },
    /// The page has no rows at all.
    #[error("the page has no rows")]
    EmptyPage,
    /// The page layout cannot be stored in the chosen format.
    #[error("{0}")]
    Unsupported(String),
    /// Device-encoded data (a JPEG from an eSCL scanner) is malformed.
    #[error("the device's {what} data is invalid: {detail}")]
    BadInput {
        /// `"JPEG"`, `"PNG"`.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The PNG encoder refused the data.
    #[error("PNG encoding failed: {0}")]
    Png(String),
    /// The JPEG encoder refused the data.
    #[error("JPEG encoding failed: {0}")]
    Jpeg(String),
    /// The encoder thread stopped without an answer (it panicked).
    #[error("the encoder thread stopped unexpectedly")]
    WorkerLost,
    /// Keeping the file under its final name failed.
    #[error("cannot save {path}: {source}")]
    Save {
        /// The final name.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A processing stage refused or failed on the page.
    #[error("{message}")]
    Stage {
        /// The HRESULT the stage gave.
        hresult: HResult,
        /// The stage and what went wrong.
        message: String,
    },
    /// The final name exists and the plan says not to replace files.
    #[error("{0} exists; refusing to overwrite it (choose another name or allow overwriting)")]
    Exists(PathBuf),
}

impl EncodeError {
    /// An I/O error while writing `what`.
    pub fn io(what: &'static str) -> impl FnOnce(io::Error) -> EncodeError {
        move |source| EncodeError::Io { what, source }
    }

    /// The HRESULT a driver sees when its write or its page's close fails for this reason.
    pub fn hresult(&self) -> HResult {
        match self {
            EncodeError::Incomplete { status } => *status,
            EncodeError::Stage { hresult, .. } => *hresult,
            EncodeError::ExcessData { .. }
            | EncodeError::ShortPage { .. }
            | EncodeError::PartialRow { .. }
            | EncodeError::EmptyPage
            | EncodeError::BadInput { .. } => wia::WIA_ERROR_INVALID_DRIVER_RESPONSE,
            EncodeError::Unsupported(_) => wia::E_INVALIDARG,
            EncodeError::WorkerLost => wia::E_FAIL,
            EncodeError::Io { .. }
            | EncodeError::Png(_)
            | EncodeError::Jpeg(_)
            | EncodeError::Save { .. }
            | EncodeError::Exists(_) => wia::WIA_ERROR_DESTINATION,
        }
    }

    /// Whether this only says the page was not finished (a cancel or a driver failure), as
    /// opposed to the encoder or the file failing.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, EncodeError::Incomplete { .. })
    }
}

impl From<png::EncodingError> for EncodeError {
    fn from(e: png::EncodingError) -> Self {
        match e {
            png::EncodingError::IoError(source) => EncodeError::Io {
                what: "the PNG image",
                source,
            },
            other => EncodeError::Png(other.to_string()),
        }
    }
}
