//! Page codecs: streaming encoders for scanned pages (PNM, PNG, JPEG, TIFF, PDF) and the
//! decoders for pages a device encoded itself. No threads of their own beyond the strips an
//! encoder spreads over cores, no files, no transfer: the page pipeline
//! (`scanwire-pipeline`) runs them beside a scan, and the file output (`scanwire-output`)
//! decides where their bytes go.
//!
//! - [`Format`]: which format, from a name or a file extension; whether one file holds
//!   several pages ([`Format::is_multi_page`]).
//! - [`encode_page`]: one page pulled from a [`ChunkSource`] into any writer (PNM, PNG,
//!   JPEG); [`Document`]: pages appended to a TIFF or PDF in a [`DocumentOutput`], each page
//!   all-or-nothing; [`Document::add_page_with_text`] makes a PDF page searchable with a
//!   [`TextLayer`] (the invisible text of [`pdf_text`]).
//! - [`decode`]: device PNG and JPEG pages back to rows ([`decode::decode`],
//!   [`decode::PngRows`] while the bytes arrive).
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
//! ([`EncodeOptions::png_threads`]). The JPEG encoder is Scanwire's own (`jpeg/`: baseline,
//! AVX2 where the CPU has it), benchmarked against libjpeg-turbo in `benches/encode.rs`.
//!
//! ```
//! use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
//! use scanwire_codecs::{encode_page, EncodeOptions, Format, SliceSource};
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
pub mod decode;
mod document_output;
mod encode;
mod error;
mod format;
mod jfif;
mod jpeg;
mod options;
mod par;
mod pdf;
pub mod pdf_text;
mod pdfa;
mod png;
mod pnm;
mod source;
mod tiff;
mod ttf;

pub use document_output::DocumentOutput;
pub use encode::{check_page, encode_page, Document};
pub use error::EncodeError;
pub use format::{Format, FormatError};
pub use jfif::{parse_header as parse_jpeg_header, JpegInfo};
pub use options::{DeflateEffort, EncodeOptions, TiffCompression};
pub use pdf::{PdfImage, PdfImageKind};
pub use pdf_text::{TextLayer, TextWord};
pub use pnm::RawPnm;
pub use source::{ChunkSource, ReadSource, SliceSource};
