//! `serve --queue URL`: the server's jobs of multi-page documents (PDF, TIFF) are processed
//! and assembled by `scanwire worker` processes through NATS JetStream (`scanwire-queue`),
//! as `scan --queue` does for one scan. The server knows only its `JobQueue` trait; this is
//! the queue behind it: one connection (a `Producer`) for every job of every device.

use crate::exit::usage;
use crate::queue::max_bytes_from_env;
use crate::serve_library::parse_bytes;
use anyhow::{anyhow, Result};
use scanwire_codecs::{EncodeOptions, Format};
use scanwire_imaging::Processing;
use scanwire_queue::wire::{JobSettings, OutputSettings, ProcessingSettings};
use scanwire_queue::{Job, JobOptions, Producer, ProducerError, PublishStage};
use scanwire_server::{JobQueue, QueueProgress, QueuedJob, Stage};
use std::sync::Arc;

/// `--queue` and `--queue-max-bytes`, checked (usage errors) before anything is opened.
pub struct ServeQueuePlan {
    url: String,
    max_bytes: Option<i64>,
}

/// Checks the URL as `scan --queue` does, and the byte limit (`--queue-max-bytes`, else
/// [`MAX_BYTES_ENV`](crate::queue::MAX_BYTES_ENV)).
pub fn plan(url: Option<&str>, max_bytes: Option<&str>) -> Result<Option<ServeQueuePlan>> {
    let Some(url) = url else {
        return Ok(None);
    };
    scanwire_queue::server_addrs(url).map_err(usage)?;
    let max_bytes =
        match max_bytes {
            Some(v) => {
                let n = parse_bytes("--queue-max-bytes", v)?;
                Some(i64::try_from(n).map_err(|_| {
                    usage(format!("--queue-max-bytes {v}: at most {} bytes", i64::MAX))
                })?)
            }
            None => max_bytes_from_env()?,
        };
    Ok(Some(ServeQueuePlan {
        url: url.to_string(),
        max_bytes,
    }))
}

impl ServeQueuePlan {
    /// Connects (a server that is not there is a failure naming the URL, as for `scan
    /// --queue`) and sets the queue up. `ocr`: `serve --ocr`'s languages, for PDF jobs.
    pub fn connect(self, ocr: Option<String>) -> Result<Arc<dyn JobQueue>> {
        let producer = Producer::connect(&self.url, self.max_bytes).map_err(|e| anyhow!(e))?;
        Ok(Arc::new(ServeQueue { producer, ocr }))
    }
}

/// The queue behind `serve --queue`.
struct ServeQueue {
    producer: Producer,
    ocr: Option<String>,
}

impl std::fmt::Debug for ServeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeQueue")
            .field("url", &self.producer.url())
            .finish_non_exhaustive()
    }
}

impl JobQueue for ServeQueue {
    fn takes(&self, format: Format) -> bool {
        matches!(format, Format::Pdf | Format::Tiff)
    }

    fn start(
        &self,
        format: Format,
        processing: &Processing,
        encode: &EncodeOptions,
        on_wait: Arc<dyn Fn(bool) + Send + Sync>,
    ) -> Result<Arc<dyn QueuedJob>, String> {
        // The document's date is the job's start (or SOURCE_DATE_EPOCH), so it does not
        // depend on which worker assembles it, or when.
        let created = match encode.created {
            Some(c) => c,
            None => crate::queue::created().map_err(|e| e.to_string())?.0,
        };
        let mut output = OutputSettings::pdf(encode, created);
        let ocr = match format {
            Format::Pdf => self.ocr.clone(),
            _ => {
                output.format = "tiff".into();
                None
            }
        };
        let settings = JobSettings {
            processing: ProcessingSettings::from(processing),
            ocr,
            output,
        };
        let job = self
            .producer
            .start_job(
                "scan",
                settings,
                JobOptions {
                    png: true,
                    on_wait: Some(on_wait),
                },
            )
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(ServeJob { job }))
    }

    fn describe(&self) -> String {
        self.producer.url().to_string()
    }
}

/// One server job on the queue.
struct ServeJob {
    job: Arc<Job>,
}

impl QueuedJob for ServeJob {
    fn stage(&self) -> Arc<dyn Stage> {
        Arc::new(PublishStage::new(self.job.clone()))
    }

    fn end(&self) -> Result<u32, String> {
        self.job.end().map_err(|e| e.to_string())
    }

    fn cancel(&self) {
        if let Err(e) = self.job.cancel() {
            note!("queue job {}: {e}", self.job.id());
        }
    }

    fn wait_documents(
        &self,
        stop: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(QueueProgress),
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut tell = |p: scanwire_queue::Progress| {
            progress(QueueProgress {
                published: p.published,
                queued: p.queued,
                in_work: p.in_work,
                done: p.done,
            })
        };
        match self.job.wait_document(stop, &mut tell) {
            Ok(docs) => Ok(docs.into_iter().map(|d| d.bytes).collect()),
            Err(ProducerError::Cancelled) => Err("the job was cancelled".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
