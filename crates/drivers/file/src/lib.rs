//! The file driver: image files scanned as a document feeder, so that existing scans can be
//! reprocessed (`scanwire scan -d file:inbox/ --source adf --mode gray --ocr eng -o out.pdf`) and real
//! scanned pages tested, like SANE's `pnm` backend.
//!
//! `--device file:PATH`, where PATH is a file, a directory (its image files in name order) or
//! a pattern (`file:scans/*.png`). PNG, JPEG, TIFF (every page of a multi-page file) and PNM
//! (P1–P6). Each image is one page from the feeder.
//!
//! - [`FileDriver`] / [`FileDevice`] (`driver.rs`): the `Driver` and `Device` impls; pages go
//!   through the real WIA transfer, band by band with STATUS, and a JPEG or PNG page passes
//!   through as it is when the request asks for that encoding and the page needs no change.
//! - [`options`]: the capabilities are the files' (their modes and every mode below them,
//!   their resolutions, or [`options::DEFAULT_DPI`] when a file records none), the crop of a
//!   scan area, and the one `--set` option, `ppm` (a real feeder's pace).
//! - [`errors`]: every failure names the file and what is allowed; a file that cannot be read
//!   ends the scan there, the pages before it kept.
//! - [`files`]: which files a PATH names, in which order; [`image`]: headers and decoding;
//!   `pnm.rs`: Netpbm.
//!
//! ```
//! use scanwire_core::device::{ColorMode, ScanRequest, Source};
//! use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
//! use scanwire_file::FileDevice;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("page.pgm"), b"P5 2 2 255\n\x00\x40\x80\xff")?;
//! let device = FileDevice::open(dir.path().to_str().unwrap())?;
//! let request = ScanRequest { source: Source::Feeder, mode: ColorMode::Gray, resolution: 300,
//!                             ..Default::default() };
//! let (app, log) = Recorder::new();
//! let outcome = transfer::run(&transfer::share(Box::new(device)), &request, Box::new(app),
//!                             &CancelHandle::new(), &TransferOptions::strict());
//! assert_eq!(outcome.pages, 1);
//! assert_eq!(log.snapshot().pages[0].data, [0x00, 0x40, 0x80, 0xff]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod driver;
pub mod errors;
pub mod files;
pub mod image;
pub mod options;
mod pnm;

pub use driver::{FileDevice, FileDriver, NAME};
pub use errors::FileError;
