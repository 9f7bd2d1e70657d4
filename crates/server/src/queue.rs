//! Jobs whose pages are processed elsewhere (`serve --queue`): the server scans, hands each
//! page to a [`QueuedJob`]'s stage as it completes, and serves the document that comes back.
//! The server knows nothing of the queue itself (NATS lives in the CLI's crates), as it knows
//! nothing of OCR ([`JobStages`](crate::JobStages)): only when to hand pages over, and what to
//! show while waiting.

use scanwire_codecs::{EncodeOptions, Format};
use scanwire_imaging::Processing;
use scanwire_pipeline::Stage;
use std::sync::Arc;

/// Starts queue jobs ([`ServerConfig::queue`](crate::ServerConfig::queue)).
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Whether jobs serving `format` go to the queue. The workers assemble multi-page
    /// documents (PDF, TIFF); a job of single images is served page by page as it is
    /// scanned, so it runs here.
    fn takes(&self, format: Format) -> bool;

    /// Opens a queue job: its pages get `processing` (what the device does not do itself)
    /// and the server's own stages on the workers, and make one document encoded with
    /// `encode`. `on_wait` hears `true` when the queue is full and publishing waits for
    /// workers, `false` when it took a page again. Called on a plain thread (never inside
    /// the server's runtime). The error says what failed, naming the queue.
    fn start(
        &self,
        format: Format,
        processing: &Processing,
        encode: &EncodeOptions,
        on_wait: Arc<dyn Fn(bool) + Send + Sync>,
    ) -> Result<Arc<dyn QueuedJob>, String>;

    /// Where the queue is, for messages ("nats://10.0.0.5:4222").
    fn describe(&self) -> String;
}

/// One job on the queue. Every method blocks; the server calls them from plain threads.
pub trait QueuedJob: Send + Sync {
    /// The stage that publishes each page (put last in the job's pipeline; it passes nothing
    /// on).
    fn stage(&self) -> Arc<dyn Stage>;

    /// The scan is over and every page it kept is published: records the page count.
    fn end(&self) -> Result<u32, String>;

    /// Marks the job cancelled: workers drop its pages.
    fn cancel(&self);

    /// Waits for the workers' document (its files, in order: one, unless blank pages split
    /// it), asking `stop` between looks (`true` cancels the job and returns an error) and
    /// telling `progress` whenever the pages' state changes.
    fn wait_documents(
        &self,
        stop: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(QueueProgress),
    ) -> Result<Vec<Vec<u8>>, String>;
}

/// Where a queue job's pages are across every worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueProgress {
    /// Pages published so far.
    pub published: u32,
    /// Waiting in the queue for a worker.
    pub queued: u32,
    /// Taken by a worker, not yet done.
    pub in_work: u32,
    /// Processed.
    pub done: u32,
}

/// What a job shows of its queue: progress, and whether publishing waits for workers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueueView {
    /// Pages' progress, once known.
    pub progress: QueueProgress,
    /// The queue is full: the scan waits for workers.
    pub waiting: bool,
    /// The document is assembled and ready (or the wait failed).
    pub finished: bool,
}
