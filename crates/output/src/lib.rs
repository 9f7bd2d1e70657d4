//! Scanned pages into files: the file destination of the page pipeline.
//!
//! [`OutputPlan`] says where pages go (one file per page from a pattern, one multi-page
//! TIFF/PDF, or one single-page file) and how (overwrite, all-or-nothing, durable);
//! [`OutputPlan::start`] gives a [`FileOutput`], whose [`FileOutput::open_page`] is what a
//! `TransferCallback::get_next_stream` returns, and [`FileTransfer`] is a ready-made
//! `TransferCallback` around it. Pages travel the same road as everywhere else
//! (`scanwire-pipeline`); this crate owns only what is particular to files: hidden `.part`
//! files renamed when complete ([`partfile`](crate) module docs), page-number patterns
//! ([`NamePattern`]), and which files a failed transfer leaves.

#![warn(missing_docs)]

mod files;
mod naming;
mod partfile;

pub use files::{
    FileOutput, FileTransfer, OutputError, OutputPlan, OutputReport, PlanError, Target,
};
pub use naming::{NamePattern, PatternError};
pub use partfile::{Overwrite, PartFile};
