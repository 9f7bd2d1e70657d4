//! The document library behind `scanwire serve`'s web page: scanned pages kept on disk as
//! documents, edited, downloaded and archived. No HTTP here (the server's `/api/documents`
//! routes call it).
//!
//! - [`Library`]: opened on a state directory ([`LibraryConfig`]);
//!   [`Library::create_document`], [`Library::add_page`] (a finished
//!   [`scanwire_pipeline::PageImage`]: stored as a lossless PNG with its thumbnail and text
//!   layer; [`Library::add_encoded_page`] when the caller encoded it), [`Library::hold`]
//!   (a scan writing into a document), [`Library::reorder`], [`Library::rotate`], [`Library::delete_page`],
//!   [`Library::interleave`] (manual duplex), [`Library::pdf`] (searchable when pages were
//!   OCRed), [`Library::zip`], single pages, [`Library::archive`] (and
//!   [`Library::scan_completed`] for a preset that archives), the list of documents,
//!   presets. The library's module docs show the files it keeps.
//! - [`ArchiveConfig`]: the archive folder, its naming template and bound (`archive`
//!   module docs).
//! - [`Preset`], [`ScanSettings`]: named scan settings, checked, kept in the state dir.
//! - [`sanitize_file_name`], [`content_disposition`]: names that reach a file system or a
//!   download.
//! - [`LibraryError`]: every error names what was wrong and what is allowed;
//!   [`LibraryError::kind`] maps it onto an HTTP status.

#![warn(missing_docs)]

mod archive;
mod document;
mod error;
mod json;
mod library;
mod names;
mod page;
mod presets;
mod time;

pub use archive::{
    check_template, render as render_template, ArchiveConfig, DEFAULT_TEMPLATE, PLACEHOLDERS,
};
pub use document::{DocumentInfo, Pass, StoredPage};
pub use error::{ErrorKind, LibraryError};
pub use library::{Download, EncodedPage, Hold, Library, LibraryConfig, DEFAULT_MAX_STATE_BYTES};
pub use names::{ascii_file_name, content_disposition, sanitize_file_name, MAX_STEM};
pub use page::THUMBNAIL_MAX;
pub use presets::{
    AreaMm, Blank, Crop, ModeName, Preset, Processing, ScanSettings, SourceName, MAX_RESOLUTION,
};
pub use time::rfc3339;
