//! [`Queue`]: one connection's view of the streams and buckets, with what a producer does
//! (publish a page, end or cancel a job) and what every side reads (pages done, documents).

use crate::names::{self, Buckets, QueueConfig, SetupError};
use crate::wire::{AssembleMessage, JobPhase, JobState, PageMessage, WireError, VERSION};
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use async_nats::ServerAddr;
use futures_util::TryStreamExt;
use std::time::Duration;

/// What went wrong talking to the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The URL list is not `nats://HOST:PORT[,nats://HOST:PORT...]`.
    #[error("bad NATS URL {url:?}: {reason}")]
    Url {
        /// What was given.
        url: String,
        /// Why it is not a URL.
        reason: String,
    },
    /// No server answered.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL list.
        url: String,
        /// The client's words.
        reason: String,
    },
    /// Creating the streams and buckets failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The pages waiting fill the queue's byte limit: wait for workers and try again
    /// (backpressure, nothing was written).
    #[error("the queue is full ({used} of {limit} bytes of pages waiting): waiting for workers")]
    Full {
        /// Bytes waiting.
        used: u64,
        /// The limit ([`QueueConfig::max_bytes`]).
        limit: u64,
    },
    /// A message that does not check out.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A JetStream operation failed.
    #[error("{what}: {reason}")]
    Nats {
        /// What was being done.
        what: String,
        /// The client's or server's words.
        reason: String,
    },
}

pub(crate) fn nats(what: impl Into<String>) -> impl FnOnce(async_nats::Error) -> QueueError {
    let what = what.into();
    move |e| QueueError::Nats {
        what,
        reason: e.to_string(),
    }
}

/// Connects to the servers of `url` (`nats://127.0.0.1:4222`, several comma-separated: the
/// client fails over between them), retrying a lost connection for ever.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, QueueError> {
    let addrs = url
        .split(',')
        .map(|u| u.trim().parse::<ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| QueueError::Url {
            url: url.into(),
            reason: e.to_string(),
        })?;
    if addrs.is_empty() {
        return Err(QueueError::Url {
            url: url.into(),
            reason: "no server".into(),
        });
    }
    async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        // A node that restarts is back within seconds; never wait long between tries.
        .reconnect_delay_callback(|n| Duration::from_millis((100 * n as u64).min(1000)))
        .connect(addrs)
        .await
        .map_err(|e| QueueError::Connect {
            url: url.into(),
            reason: e.to_string(),
        })
}

/// The queue as one client sees it: JetStream, the buckets, the limits.
#[derive(Clone)]
pub struct Queue {
    js: jetstream::Context,
    buckets: Buckets,
    config: QueueConfig,
    chunk: usize,
}

/// Object chunks of 1 MiB (the client's default is 128 KiB): each chunk is a replicated
/// JetStream message, acknowledged before the next is sent, and read with one request, so a
/// page in 1 MiB chunks costs an eighth of the round trips.
pub const OBJECT_CHUNK: usize = 1 << 20;

impl Queue {
    /// Connects to `url` and sets the queue up ([`names::setup`]).
    pub async fn connect(url: &str, name: &str, config: &QueueConfig) -> Result<Queue, QueueError> {
        let client = connect(url, name).await?;
        Queue::new(jetstream::new(client), config).await
    }

    /// Sets the queue up on `js`.
    pub async fn new(js: jetstream::Context, config: &QueueConfig) -> Result<Queue, QueueError> {
        let buckets = names::setup(&js, config).await?;
        // A chunk must fit the server's largest message.
        let max = js.client().server_info().max_payload;
        let chunk = if max > 0 {
            OBJECT_CHUNK.min(max)
        } else {
            OBJECT_CHUNK
        };
        Ok(Queue {
            js,
            buckets,
            config: config.clone(),
            chunk,
        })
    }

    /// JetStream.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// The buckets.
    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// The configuration it was set up with.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Records `job` as open (before its first page).
    pub async fn start_job(&self, job: &str) -> Result<(), QueueError> {
        self.set_job(
            job,
            &JobState {
                version: VERSION,
                state: JobPhase::Open,
                documents: Vec::new(),
            },
        )
        .await
    }

    async fn set_job(&self, job: &str, state: &JobState) -> Result<(), QueueError> {
        crate::wire::check_token("job", job)?;
        self.buckets
            .jobs
            .put(job, state.encode().into())
            .await
            .map(|_| ())
            .map_err(|e| nats(format!("recording job {job}"))(e.into()))
    }

    /// The state of `job`, if one was recorded.
    pub async fn job(&self, job: &str) -> Result<Option<JobState>, QueueError> {
        let v = self
            .buckets
            .jobs
            .get(job)
            .await
            .map_err(|e| nats(format!("reading job {job}"))(e.into()))?;
        v.map(|b| JobState::decode(&b).map_err(QueueError::from))
            .transpose()
    }

    /// Bytes of page images waiting in the pages bucket.
    pub async fn bytes_waiting(&self) -> Result<u64, QueueError> {
        let mut s = self
            .js
            .get_stream(format!("OBJ_{}", names::PAGES_BUCKET))
            .await
            .map_err(|e| nats("reading the pages bucket")(e.into()))?;
        let info = s
            .info()
            .await
            .map_err(|e| nats("reading the pages bucket")(e.into()))?;
        Ok(info.state.bytes)
    }

    /// Publishes one page: its image into the pages bucket, then its message on the work
    /// stream (with a message id, so a retried publish is not a second page). `msg.image`
    /// must describe `image` (size and SHA-256: [`crate::wire::sha256_hex`]).
    ///
    /// [`QueueError::Full`] when the image does not fit under the byte limit: nothing was
    /// written; call again once workers have taken pages.
    pub async fn publish_page(&self, msg: &PageMessage, image: &[u8]) -> Result<(), QueueError> {
        msg.validate()?;
        msg.image.verify(image)?;
        let used = self.bytes_waiting().await?;
        let limit = self.config.max_bytes.max(0) as u64;
        if used + image.len() as u64 > limit {
            return Err(QueueError::Full { used, limit });
        }
        let what = format!(
            "storing page {} of document {} of job {}",
            msg.page, msg.document, msg.job
        );
        let mut reader = image;
        if let Err(e) = self
            .put_object(&self.buckets.pages, &msg.image.object, &mut reader)
            .await
        {
            // Another page published since `used` was read (pages are published a few at
            // a time) can leave this one without room in the bucket: that is a full queue
            // too, not a failure. Its chunks stored so far are taken back out.
            if is_full(&error_chain(&e)) {
                let _ = self.buckets.pages.delete(msg.image.object.as_str()).await;
                return Err(QueueError::Full {
                    used: self.bytes_waiting().await.unwrap_or(used),
                    limit,
                });
            }
            return Err(nats(what.clone())(e.into()));
        }
        let subject = names::page_subject(&msg.job, msg.document, msg.page);
        let id = names::done_key(&msg.job, msg.document, msg.page);
        let ack = self
            .js
            .send_publish(
                subject,
                PublishMessage::build()
                    .payload(msg.encode().into())
                    .message_id(id),
            )
            .await
            .map_err(|e| nats(what.clone())(e.into()))?;
        match ack.await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == PublishErrorKind::Other && is_full(&e.to_string()) => {
                // The message did not fit: take the image back out so the limit is not
                // eaten by a page no one will process.
                let _ = self.buckets.pages.delete(msg.image.object.as_str()).await;
                Err(QueueError::Full {
                    used: self.bytes_waiting().await.unwrap_or(used),
                    limit,
                })
            }
            Err(e) => Err(nats(what)(e.into())),
        }
    }

    /// Ends `job`: its documents' final page counts (document, pages). Documents whose pages
    /// are all done already go to assembly now; the others when their last page is done.
    pub async fn end_job(&self, job: &str, documents: &[(u32, u32)]) -> Result<(), QueueError> {
        let state = JobState {
            version: VERSION,
            state: JobPhase::Ended,
            documents: documents.to_vec(),
        };
        self.set_job(job, &state).await?;
        for &(doc, pages) in documents {
            self.assemble_if_complete(job, doc, pages).await?;
        }
        Ok(())
    }

    /// Cancels `job`: workers drop its remaining pages (terminated, with a log line).
    pub async fn cancel_job(&self, job: &str) -> Result<(), QueueError> {
        self.set_job(
            job,
            &JobState {
                version: VERSION,
                state: JobPhase::Cancelled,
                documents: Vec::new(),
            },
        )
        .await
    }

    /// How many pages of document `doc` of `job` have their result stored (read from the
    /// stream leader: exact at the time of asking).
    pub async fn pages_done(&self, job: &str, doc: u32) -> Result<u32, QueueError> {
        let what = || format!("counting the done pages of job {job}");
        let stream = self
            .js
            .get_stream(format!("KV_{}", names::DONE_BUCKET))
            .await
            .map_err(|e| nats(what())(e.into()))?;
        let filter = format!("$KV.{}.{job}.{doc}.*", names::DONE_BUCKET);
        let subjects = stream
            .info_with_subjects(filter)
            .await
            .map_err(|e| nats(what())(e.into()))?;
        let n = subjects
            .try_fold(0u32, |n, _| async move { Ok(n + 1) })
            .await
            .map_err(|e| nats(what())(e.into()))?;
        Ok(n)
    }

    /// Page messages of `job` still waiting for a worker (queued or in work).
    pub async fn pages_waiting(&self, job: &str) -> Result<u64, QueueError> {
        let what = || format!("counting the waiting pages of job {job}");
        let stream = self
            .js
            .get_stream(names::PAGES_STREAM)
            .await
            .map_err(|e| nats(what())(e.into()))?;
        let subjects = stream
            .info_with_subjects(format!("scanwire.pages.{job}.>"))
            .await
            .map_err(|e| nats(what())(e.into()))?;
        subjects
            .try_fold(0u64, |n, (_, c)| async move { Ok(n + c as u64) })
            .await
            .map_err(|e| nats(what())(e.into()))
    }

    /// Requests assembly of document `doc` of `job` if all its `pages` are done. Idempotent:
    /// the message id makes several requests one.
    pub async fn assemble_if_complete(
        &self,
        job: &str,
        doc: u32,
        pages: u32,
    ) -> Result<bool, QueueError> {
        if self.pages_done(job, doc).await? < pages {
            return Ok(false);
        }
        let msg = AssembleMessage {
            version: VERSION,
            job: job.into(),
            document: doc,
            pages,
        };
        let what = || format!("requesting assembly of document {doc} of job {job}");
        self.js
            .send_publish(
                names::assemble_subject(job, doc),
                PublishMessage::build()
                    .payload(msg.encode().into())
                    .message_id(names::written_key(job, doc)),
            )
            .await
            .map_err(|e| nats(what())(e.into()))?
            .await
            .map_err(|e| nats(what())(e.into()))?;
        Ok(true)
    }

    /// Stores `data` as object `name` in `bucket`, in chunks of [`OBJECT_CHUNK`] (or the
    /// server's largest message, if smaller).
    pub async fn put_object(
        &self,
        bucket: &jetstream::object_store::ObjectStore,
        name: &str,
        data: &mut (impl tokio::io::AsyncRead + Unpin),
    ) -> Result<jetstream::object_store::ObjectInfo, jetstream::object_store::PutError> {
        let meta = jetstream::object_store::ObjectMetadata {
            name: name.to_string(),
            chunk_size: Some(self.chunk),
            ..Default::default()
        };
        bucket.put(meta, data).await
    }

    /// The bytes of object `name` in `bucket`, `None` if there is none.
    ///
    /// The chunks are read one by one with direct gets rather than through the client's
    /// object reader, which subscribes with a consumer and panics when that cannot be made
    /// (a node restarting); here such a failure is an error the worker retries.
    pub async fn read_object(
        &self,
        bucket: &jetstream::object_store::ObjectStore,
        name: &str,
    ) -> Result<Option<Vec<u8>>, QueueError> {
        use jetstream::object_store::InfoErrorKind;
        let what = || format!("reading object {name}");
        let info = match bucket.info(name).await {
            Ok(i) if i.deleted => return Ok(None),
            Ok(i) => i,
            Err(e) if e.kind() == InfoErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(nats(what())(e.into())),
        };
        let stream = self
            .js
            .get_stream_no_info(format!("OBJ_{}", info.bucket))
            .await
            .map_err(|e| nats(what())(e.into()))?;
        let subject = format!("$O.{}.C.{}", info.bucket, info.nuid);
        let mut out = Vec::with_capacity(info.size);
        let mut seq = 0u64;
        for _ in 0..info.chunks {
            let m = stream
                .direct_get_next_for_subject(subject.as_str(), Some(seq + 1))
                .await
                .map_err(|e| nats(what())(e.into()))?;
            seq = m.sequence;
            out.extend_from_slice(&m.payload);
        }
        if out.len() != info.size {
            return Err(QueueError::Nats {
                what: what(),
                reason: format!(
                    "read {} bytes in {} chunks, the object has {}",
                    out.len(),
                    info.chunks,
                    info.size
                ),
            });
        }
        Ok(Some(out))
    }

    /// A finished document's bytes (the object a [`crate::wire::DocumentDone`] names).
    pub async fn document(&self, object: &str) -> Result<Option<Vec<u8>>, QueueError> {
        self.read_object(&self.buckets.documents, object).await
    }
}

/// An error's text with its sources' (a client error often names the server's reason only
/// in its source).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether a server's refusal means a limit was reached.
fn is_full(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("maximum bytes") || r.contains("resource limits") || r.contains("insufficient")
}
