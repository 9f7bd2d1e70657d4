//! The page pipeline: the one road from a transfer's pages to any destination, shared by
//! every front end (files for `scanwire scan`, HTTP responses for `scanwire serve`, memory).
//!
//! ```text
//!  driver ─► PageSink ─► pipe ─► [stages] ─► encoder ─► Destination
//!            (Pipeline::open_page)   (worker thread)     (file, HTTP body, memory)
//! ```
//!
//! - [`Pipeline`]: give it a [`Destination`] and [`PipelineOptions`] (format, encoder
//!   settings, stages, how many pages in flight); its [`Pipeline::open_page`] answers
//!   `get_next_stream`, and [`Pipeline::finish`] settles the transfer's pages into a
//!   [`Report`]. A multi-page format goes into one document, any other a page at a time.
//! - [`Stage`]: the extension point for per-page processing (the stage module's docs say how
//!   to add one).
//! - [`Memory`]: a destination that keeps encoded pages in memory.
//! - [`pipe`]: the bounded byte queue between the driver's thread and a worker.
//!
//! ```
//! use scanwire_codecs::Format;
//! use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
//! use scanwire_core::transfer::AppStream;
//! use scanwire_core::wia;
//! use scanwire_pipeline::{Memory, Pipeline, PipelineOptions};
//!
//! let pipeline = Pipeline::new(Memory::default(), PipelineOptions::new(Format::Png)).unwrap();
//! let page = PageInfo {
//!     number: 1, sheet: 1, side: Side::Front, source: Source::Flatbed,
//!     data: PageData::Raster { pixel: PixelFormat::Gray8, width: 2, height: Some(1) },
//!     dpi: (300, 300),
//! };
//! let AppStream::Stream(mut sink) = pipeline.open_page(&page) else { panic!() };
//! sink.write(&[0, 255]).unwrap();
//! assert_eq!(sink.close(wia::S_OK), wia::S_OK);
//! let report = pipeline.finish(wia::S_OK);
//! assert_eq!(report.pages, 1);
//! assert_eq!(&pipeline.destination().pages()[0][1..4], b"PNG");
//! ```

#![warn(missing_docs)]

mod destination;
mod memory;
pub mod pipe;
mod pipeline;
mod stage;

pub use destination::Destination;
pub use memory::Memory;
pub use pipeline::{succeeded, PageDone, PageError, Pipeline, PipelineOptions, Report};
pub use stage::{PageImage, Stage, StageError, StageOutput, Stages};
