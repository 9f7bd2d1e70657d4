//! OCR for Scanwire: Tesseract through its C API, loaded at run time.
//!
//! Recognition sits behind a narrow interface, so that it can later run in worker processes
//! on other machines: a [`PageImage`] (owned pixels, size, dpi) goes in, a [`Recognized`]
//! (words with pixel boxes, confidences, line and paragraph numbers, time) comes out, and
//! [`Orientation`] says which way up a page is. An [`Engine`] is one `TessBaseAPI`; an
//! [`OcrPool`] runs one engine per worker thread and returns pages in order, with a
//! [`CancelFlag`] that stops queued and running pages at once.
//!
//! The outputs are built from a [`Recognized`] alone: [`text`] (reading order), [`hocr`]
//! (XHTML), and [`Recognized::text_layer`], the words as the PDF writer's
//! [`scanwire_codecs::TextLayer`] (the writer draws it invisibly over the page image).
//!
//! In the page pipeline: [`OcrStage`] recognises each page and attaches its text;
//! [`AutoRotate`] turns pages upright first (Tesseract's orientation detection).
//!
//! ```no_run
//! use scanwire_ocr::{CancelFlag, OcrConfig, OcrPool, PageImage};
//! # fn main() -> Result<(), scanwire_ocr::OcrError> {
//! let pool = OcrPool::per_core(&OcrConfig::new("eng+deu")?)?;
//! let page = PageImage::gray(2, 1, Some(300), vec![255, 255])?;
//! let job = pool.submit(page, &CancelFlag::new());
//! println!("{}", scanwire_ocr::text::plain(&job.wait()?));
//! # Ok(()) }
//! ```
//!
//! Building needs no Tesseract. Without it, [`Engine::new`] fails with a message naming the
//! Debian packages to install ([`DEBIAN_PACKAGES`]).
#![warn(missing_docs)]

mod engine;
mod error;
#[allow(unsafe_code)]
mod ffi;
pub mod hocr;
mod image;
mod languages;
mod pool;
mod stage;
pub mod text;

pub use engine::{BBox, CancelFlag, Engine, OcrConfig, Orientation, Progress, Recognized, Word};
pub use error::{debian_package, OcrError, DEBIAN_PACKAGES};
pub use image::{PageImage, Pixels};
pub use languages::{check_installed, find_tessdata, installed_in, Languages};
pub use pool::{OcrPool, PageJob};
pub use stage::{from_pipeline, AutoRotate, OcrStage, PageOcr};
