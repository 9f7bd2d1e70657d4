//! Capture at scale: scanned pages processed and recognised by workers on any machine, over
//! NATS JetStream (Debian's `nats-server`, clustered; the official `async-nats` client).
//!
//! ```text
//!  producer ──page image──► Object Store scanwire-pages
//!     │  └──PageMessage──► stream SCANWIRE_PAGES (work queue, byte limit)
//!     │                         │ pull (durable consumer, explicit ack)
//!     │                         ▼
//!     │                      worker: verify, stages, OCR ──► scanwire-results + KV scanwire-done
//!     │                         │ last page done?
//!     └─end_job (KV scanwire-jobs)──► stream SCANWIRE_ASSEMBLE (deduplicated)
//!                                   ▼
//!                      assembler: PDF in page order ──► scanwire-documents
//!                                   └──► scanwire.documents.done (DocumentDone)
//! ```
//!
//! - [`wire`]: the versioned JSON messages ([`PageMessage`], [`JobState`],
//!   [`AssembleMessage`], [`DocumentDone`]); `decode` rejects a wrong version or field with a
//!   [`WireError`] naming it.
//! - [`names`]: subjects, streams and buckets, and [`setup`], which creates or updates them.
//! - [`Producer`]: a scan's side, blocking, for the page pipeline: [`Job::publish`] each page
//!   (waiting while the queue is full: backpressure), [`Job::end`], [`Job::wait_document`];
//!   [`PublishStage`] is the pipeline stage that does it as pages complete.
//! - [`Queue`]: a connection's handle: publish a page, end or cancel a job, count pages done,
//!   read a document.
//! - [`Worker`]: pulls pages (the next one while the current one's stages run), runs the
//!   job's stages (imaging's `Processing`, OCR), encodes the page's image as the document
//!   will hold it, stores a [`PageResult`] per page and acknowledges; assembles documents
//!   whose pages are all done, a page at a time ([`Assembler`]), and announces them
//!   ([`DocumentDone`]). [`WorkerStats`] is its report.
//!
//! Who acknowledges what, and what is idempotent, is in ARCHITECTURE.md ("The queue") and
//! in the `worker` module's docs.
//!
//! ```no_run
//! use scanwire_queue::{Queue, QueueConfig, Worker, WorkerOptions};
//! # async fn run() -> Result<(), scanwire_queue::QueueError> {
//! let config = QueueConfig { replicas: 3, ..QueueConfig::default() };
//! let queue = Queue::connect("nats://10.0.0.1:4222,nats://10.0.0.2:4222", "worker-1", &config).await?;
//! let worker = Worker::new(queue, WorkerOptions::default());
//! let stop = worker.stop_handle(); // stop.stop() on Ctrl-C
//! let stats = worker.run().await?; // WorkerStats: pages, documents, rejected, pages/min
//! # Ok(()) }
//! ```
//!
//! A producer: [`Queue::start_job`], then per page [`Queue::publish_page`] (the image and a
//! [`PageMessage`] describing it; [`QueueError::Full`] means wait), then
//! [`Queue::end_job`] with each document's page count (or [`Queue::cancel_job`]). The
//! finished document comes as a [`DocumentDone`] on [`names::DONE_SUBJECT`]; its bytes are
//! [`Queue::document`].
#![warn(missing_docs)]

pub mod assemble;
mod client;
pub mod names;
mod producer;
mod result;
pub mod wire;
mod worker;

pub use assemble::{assemble, AssembleError, Assembled, AssembledFile, Assembler};
pub use client::{connect, Queue, QueueError, OBJECT_CHUNK};
pub use names::{setup, Buckets, QueueConfig, SetupError};
pub use producer::{
    config_for, connect_to, open_queue, server_addrs, Document, Job, JobOptions, Producer,
    ProducerError, Progress, PublishStage,
};
pub use result::{PageResult, ResultOutput};
pub use wire::{
    AssembleMessage, DocumentDone, ImageEncoding, ImageRef, JobPhase, JobSettings, JobState,
    OutputSettings, PageCount, PageMessage, PixelSetting, ProcessingSettings, SideSetting,
    WireError, VERSION,
};
pub use worker::{process_page, StopHandle, Worker, WorkerOptions, WorkerStats};
