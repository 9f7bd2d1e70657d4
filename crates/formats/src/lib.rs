//! Streaming page encoders (PNM, PNG, JPEG, TIFF, PDF) and the file sinks that use them.
//!
//! ```text
//!  driver thread                      encoder thread (one per page, or per document)
//!  StreamHandle::write ─► PageSink ─► bounded queue ─► ChunkSource ─► RowReader ─► encoder ─► temp file
//!                         (FileOutput)   (bytes)                       (whole rows)          └─ rename when complete
//! ```
//!
//! Raw PNM pages of known height need no encoding: their sink writes them to the temporary
//! file on the driver thread, with no queue and no encoder thread.
//!
//! - [`Format`]: which format, from a name or a file extension.
//! - [`encode_page`]: one page from a [`ChunkSource`] into any writer (PNM, PNG, JPEG);
//!   [`Document`]: pages appended to a TIFF or PDF, each page all-or-nothing.
//! - [`OutputPlan`] → [`FileOutput`]: the application side of a transfer. It opens one
//!   [`PageSink`](scanwire_core::transfer::PageSink) per page, encodes on a worker thread
//!   while the next page is scanned, writes to a temporary name and renames only complete
//!   files. [`FileTransfer`] is a ready-made `TransferCallback` around it.
//! - [`spawn_encoder`]: one page encoded on its own thread into any writer, for streaming
//!   a page out (an HTTP response) while it is scanned.
//!
//! Memory stays flat as pages grow: encoders hold a band of rows, or a few strips of it
//! (TIFF and PDF write each page as it is encoded). The exceptions are named where they
//! happen: pages of unknown height are spooled to a temporary file for the formats whose
//! header holds the height, and device-encoded pages that must be converted are decoded
//! whole.
//!
//! Wide pages use every core ([`EncodeOptions::threads`]): JPEG pages (and the DCT images of
//! PDF pages) are encoded as independent strips (restart intervals) and TIFF strips are
//! compressed in parallel, while the encoder thread keeps reading the next rows. The strips
//! of PNG's zlib stream (and of lossless PDF pages) can be too
//! ([`EncodeOptions::png_threads`]; the eSCL server does, a local scan by default not).
//!
//! ```
//! use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
//! use scanwire_formats::{encode_page, EncodeOptions, Format, SliceSource};
//!
//! let page = PageInfo {
//!     number: 1, sheet: 1, side: Side::Front, source: Source::Flatbed,
//!     data: PageData::Raster { pixel: PixelFormat::Gray8, width: 4, height: Some(2) },
//!     dpi: (300, 300),
//! };
//! let rows = [0u8, 64, 128, 255, 255, 128, 64, 0];
//! let png = encode_page(Format::Png, &page, &EncodeOptions::default(),
//!                       &mut SliceSource::new(&rows, 3), Vec::new()).unwrap();
//! assert_eq!(&png[1..4], b"PNG");
//! ```

#![warn(missing_docs)]

mod convert;
mod encode;
mod error;
mod format;
mod jfif;
mod jpeg;
mod naming;
mod options;
mod out;
mod output;
mod par;
mod partfile;
mod pdf;
pub mod pipe;
mod png;
mod pnm;
mod source;
mod stream;
mod tiff;

pub use encode::{encode_page, Document};
pub use error::EncodeError;
pub use format::{Format, FormatError};
pub use jfif::{parse_header as parse_jpeg_header, JpegInfo};
pub use naming::{NamePattern, PatternError};
pub use options::{DeflateEffort, EncodeOptions, TiffCompression};
pub use out::DocumentOutput;
pub use output::{
    FileOutput, FileTransfer, OutputError, OutputPlan, OutputReport, Overwrite, PlanError, Target,
};
pub use source::{ChunkSource, ReadSource, SliceSource};
pub use stream::{spawn_encoder, EncoderThread};
