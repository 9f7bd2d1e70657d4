//! The producer: a scan's side of the queue. It takes each page as the scan finishes it,
//! puts the raw page into the Object Store and publishes the small page message on the
//! work-queue stream; at the job's end it writes the page count into the job's state, then
//! waits for the document the workers assemble.
//!
//! ```text
//!  driver ─► Pipeline ─► PublishStage ─► Job::publish ─► pages bucket (raw rows)
//!                                                     └► work queue (PageMessage)
//!  scan ends ─► Job::end(result) ─► jobs bucket: Ended, pages ─► … workers …
//!          ─► written bucket / scanwire.documents.done ─► Job::wait_document ─► the file
//! ```
//!
//! Backpressure: the pages bucket and the work-queue stream have a byte limit and refuse
//! more when full (discard policy "new"). [`Job::publish`] then waits and tries again,
//! telling [`JobOptions::on_wait`] so a front end can show "waiting for workers"; the page's
//! pipeline worker waits with it, the pipeline's bounded pages in flight make the driver
//! wait in turn, and the feeder pauses. Nothing is dropped.
//!
//! Before a page's image is put, the bucket's free room is checked, so a full bucket refuses
//! the page before its first chunk rather than halfway (a half-stored object's chunks would
//! hold room nobody frees).
//!
//! The API is blocking, for a scan's pipeline threads; a private tokio runtime does the I/O.

use crate::client::{Queue, QueueError};
use crate::names::{self, QueueConfig};
use crate::wire::{
    self, DocumentDone, ImageEncoding, ImageRef, JobSettings, PageCount, PageMessage, PixelSetting,
    SideSetting,
};
use async_nats::jetstream;
use async_nats::{ConnectErrorKind, ServerAddr};
use scanwire_codecs::{encode_page, DeflateEffort, EncodeOptions, Format, SliceSource};
use scanwire_core::device::{PixelFormat, Side};
use scanwire_core::wia;
use scanwire_pipeline::{PageImage, Stage, StageError};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// Tries of the queue's setup when a request goes unanswered.
const SETUP_TRIES: u64 = 6;
/// How long JetStream requests (stream setup, publish acknowledgements) may take.
const JETSTREAM_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a NATS server to answer a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// First pause before publishing again into a full queue; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(50);
/// Longest pause between tries into a full queue.
const MAX_RETRY: Duration = Duration::from_secs(1);
/// How long every page may be done without a document before the producer asks for
/// assembly itself.
const REASSEMBLE: Duration = Duration::from_secs(10);
/// How often [`Job::wait_document`] looks at the job's progress.
const POLL: Duration = Duration::from_millis(200);

/// What went wrong on the producer's side, naming the server and the step.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// The URL is not a NATS URL.
    #[error("{url:?} is not a NATS server URL ({reason}); expected nats://HOST:PORT, several separated by commas")]
    BadUrl {
        /// As given.
        url: String,
        /// Why not.
        reason: String,
    },
    /// Nothing answered, or the connection failed.
    #[error("no NATS server at {url}: {reason}")]
    Connect {
        /// As given.
        url: String,
        /// "connection refused", "timed out after 5 s"...
        reason: String,
    },
    /// The server runs without JetStream.
    #[error("the NATS server at {url} has no JetStream (start nats-server with -js)")]
    NoJetStream {
        /// As given.
        url: String,
    },
    /// Creating or binding the streams and buckets failed.
    #[error("{url}: {source}")]
    Setup {
        /// As given.
        url: String,
        /// What failed.
        #[source]
        source: names::SetupError,
    },
    /// One step against the server failed.
    #[error("{url}: {what}: {reason}")]
    Queue {
        /// As given.
        url: String,
        /// "storing page 3", "publishing page 3", "ending the job"...
        what: String,
        /// The server's or the client's words.
        reason: String,
    },
    /// A page that the wire cannot carry.
    #[error("page {page}: {source}")]
    Page {
        /// The page.
        page: u32,
        /// What is wrong with it.
        #[source]
        source: wire::WireError,
    },
    /// The job was cancelled while waiting.
    #[error("the job was cancelled")]
    Cancelled,
}

/// The URL as the client's server list: `nats://a:4222,nats://b:4222` is two servers.
pub fn server_addrs(url: &str) -> Result<Vec<ServerAddr>, ProducerError> {
    let addrs = url
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ServerAddr>().map_err(|e| ProducerError::BadUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if addrs.is_empty() {
        return Err(ProducerError::BadUrl {
            url: url.to_string(),
            reason: "empty".into(),
        });
    }
    Ok(addrs)
}

/// Connects to `url` (one server or a comma-separated list), failing within a few seconds
/// with what went wrong ("connection refused") when nothing answers; once connected, the
/// client reconnects by itself (to another node of a cluster) for as long as it lives.
pub async fn connect_to(url: &str) -> Result<async_nats::Client, ProducerError> {
    let addrs = server_addrs(url)?;
    async_nats::ConnectOptions::new()
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(None)
        .connect(addrs)
        .await
        .map_err(|e| ProducerError::Connect {
            url: url.to_string(),
            reason: connect_reason(&e),
        })
}

/// A connection failure in a few words.
fn connect_reason(e: &async_nats::ConnectError) -> String {
    use std::error::Error;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::TimedOut => {
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())
                }
                _ => io.to_string(),
            };
        }
        source = s.source();
    }
    match e.kind() {
        ConnectErrorKind::TimedOut => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        ConnectErrorKind::Dns => "the host name does not resolve".into(),
        ConnectErrorKind::Io => {
            // async-nats folds "connection refused" into its own words on some paths.
            let s = e.to_string();
            if s.to_ascii_lowercase().contains("refused") {
                "connection refused".into()
            } else {
                s
            }
        }
        _ => e.to_string(),
    }
}

/// A connection to the queue (see [`crate::names`]) for producing jobs.
#[derive(Clone)]
pub struct Producer {
    rt: Arc<Runtime>,
    url: String,
    queue: Queue,
}

/// The queue's shape for the server at hand: one copy of everything per node of a cluster
/// (at most 3, so a node may die), and `max_bytes` of pages waiting at most.
pub fn config_for(info: &async_nats::ServerInfo, max_bytes: Option<i64>) -> QueueConfig {
    let mut config = QueueConfig::default();
    if info.cluster.is_some() {
        config.replicas = info.connect_urls.len().clamp(1, 3);
    }
    if let Some(max) = max_bytes {
        config.max_bytes = max;
    }
    config
}

/// Connects to `url` ([`connect_to`]), checks that the server has JetStream, and sets the
/// queue up ([`crate::setup`], [`config_for`]): what every producer and worker does first.
pub async fn open_queue(url: &str, max_bytes: Option<i64>) -> Result<Queue, ProducerError> {
    let client = connect_to(url).await?;
    let info = client.server_info();
    if !info.jetstream {
        return Err(ProducerError::NoJetStream {
            url: url.to_string(),
        });
    }
    let mut config = config_for(&info, max_bytes);
    if info.cluster.is_some() {
        // Right after a cluster starts, a server may not know every peer yet: the URLs given
        // count too.
        config.replicas = config.replicas.max(server_addrs(url)?.len().min(3));
    }
    // A stream's creation on a busy cluster can take longer than the client's default 5 s.
    let js = jetstream::ContextBuilder::new()
        .timeout(JETSTREAM_TIMEOUT)
        .ack_timeout(JETSTREAM_TIMEOUT)
        .build(client);
    // Two clients creating the same streams at once on a cluster (a worker and a scan
    // started together) can leave one's request unanswered: the setup is idempotent, so it
    // is tried again.
    let mut tries = 0;
    loop {
        tries += 1;
        match Queue::new(js.clone(), &config).await {
            Ok(q) => return Ok(q),
            Err(e) if tries < SETUP_TRIES && e.to_string().contains("timed out") => {
                // Apart, so that two clients that collided do not collide again.
                tokio::time::sleep(jitter(Duration::from_millis(500 * tries))).await;
            }
            Err(e) => {
                return Err(ProducerError::Queue {
                    url: url.to_string(),
                    what: "setting up the queue".into(),
                    reason: e.to_string(),
                })
            }
        }
    }
}

/// Up to `max`, different in every process and call.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    max.mul_f64((h.finish() % 1000) as f64 / 1000.0)
}

impl Producer {
    /// Connects to `url` and sets the queue up ([`crate::setup`]) with `max_bytes` of pages
    /// waiting at most (default [`QueueConfig::default`]'s).
    pub fn connect(url: &str, max_bytes: Option<i64>) -> Result<Producer, ProducerError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("scanwire-queue")
            .enable_all()
            .build()
            .map_err(|e| ProducerError::Queue {
                url: url.to_string(),
                what: "starting the client".into(),
                reason: e.to_string(),
            })?;
        let queue = rt.block_on(open_queue(url, max_bytes))?;
        Ok(Producer {
            rt: Arc::new(rt),
            url: url.to_string(),
            queue,
        })
    }

    /// The URL it was given.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn err(&self, what: impl Into<String>, reason: impl std::fmt::Display) -> ProducerError {
        ProducerError::Queue {
            url: self.url.clone(),
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// Opens a job (its state `Open` in the jobs bucket); its pages are published with
    /// [`Job::publish`]. `name` names the document (`<name>.pdf`; a subject token).
    pub fn start_job(
        &self,
        name: &str,
        settings: JobSettings,
        options: JobOptions,
    ) -> Result<Arc<Job>, ProducerError> {
        wire::check_token("name", name)
            .map_err(|source| ProducerError::Page { page: 0, source })?;
        let id = new_job_id();
        self.rt
            .block_on(self.queue.start_job(&id))
            .map_err(|e| self.err(format!("opening job {id}"), e))?;
        Ok(Arc::new(Job {
            producer: self.clone(),
            id,
            name: name.to_string(),
            settings,
            options,
            published: AtomicU32::new(0),
            waits: AtomicU32::new(0),
            waiting_since: Mutex::new(None),
            waited: Mutex::new(Duration::ZERO),
            cancelled: AtomicBool::new(false),
        }))
    }
}

/// A job id, unique per producer and time (a subject token).
fn new_job_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "j{:x}-{:x}-{:x}",
        now.as_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// How a job publishes, and hooks for a front end.
#[derive(Clone, Default)]
pub struct JobOptions {
    /// Pages travel as PNG (8-bit gray and colour; see [`Job::publish`]) rather than raw.
    pub png: bool,
    /// Told `true` when a publish finds the queue full and starts waiting for workers,
    /// `false` when the queue took the page after all (not when the wait ends in a cancel or
    /// an error).
    pub on_wait: Option<Arc<dyn Fn(bool) + Send + Sync>>,
}

/// Where a job's pages are, across every worker ([`Job::progress`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Pages published so far.
    pub published: u32,
    /// Waiting in the queue for a worker.
    pub queued: u32,
    /// Taken by a worker, not yet done.
    pub in_work: u32,
    /// Processed, results stored.
    pub done: u32,
}

/// The document the workers assembled.
#[derive(Clone, Debug)]
pub struct Document {
    /// The done event (name, pages, size, checksum).
    pub done: DocumentDone,
    /// The file's bytes, checked against the event's size and checksum.
    pub bytes: Vec<u8>,
}

/// One scan's pages on the queue (see the module docs).
pub struct Job {
    producer: Producer,
    id: String,
    name: String,
    settings: JobSettings,
    options: JobOptions,
    published: AtomicU32,
    waits: AtomicU32,
    waiting_since: Mutex<Option<Instant>>,
    waited: Mutex<Duration>,
    cancelled: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Job {
    /// The job's id (the subject token of its pages).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.producer.url
    }

    /// Pages published.
    pub fn published(&self) -> u32 {
        self.published.load(Ordering::SeqCst)
    }

    /// How many times a publish found the queue full, and how long publishing waited in all.
    pub fn waited(&self) -> (u32, Duration) {
        let mut total = *lock(&self.waited);
        if let Some(since) = *lock(&self.waiting_since) {
            total += since.elapsed();
        }
        (self.waits.load(Ordering::SeqCst), total)
    }

    /// Stores `page`'s rows in the pages bucket and publishes its message, waiting while the
    /// queue is full (see the module docs). Pages may come in any order.
    pub fn publish(&self, page: &PageImage) -> Result<(), ProducerError> {
        let (pixel, width, height) = page.layout();
        let number = page.page.number;
        let doc = 1;
        let (encoding, image) = self.wire_image(page)?;
        let msg = PageMessage {
            version: wire::VERSION,
            job: self.id.clone(),
            document: doc,
            name: self.name.clone(),
            page: number,
            pages: PageCount::OPEN,
            settings: self.settings.clone(),
            image: ImageRef {
                object: names::page_object(&self.id, doc, number),
                size: image.len() as u64,
                sha256: wire::sha256_hex(&image),
                encoding,
                pixel: PixelSetting::of(pixel),
                width,
                height,
                dpi: page.page.dpi,
                sheet: page.page.sheet,
                side: match page.page.side {
                    Side::Back => SideSetting::Back,
                    _ => SideSetting::Front,
                },
            },
        };
        msg.validate().map_err(|source| ProducerError::Page {
            page: number,
            source,
        })?;
        let p = &self.producer;
        let mut pause = FIRST_RETRY;
        let result = p.rt.block_on(async {
            loop {
                if self.cancelled.load(Ordering::SeqCst) {
                    return Err(ProducerError::Cancelled);
                }
                match p.queue.publish_page(&msg, &image).await {
                    Ok(()) => return Ok(()),
                    Err(QueueError::Full { .. }) => {}
                    Err(e) => return Err(p.err(format!("publishing page {number}"), e)),
                }
                self.wait_started();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY);
            }
        });
        self.wait_ended(result.is_ok());
        result?;
        self.published.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The page as it travels: 8-bit gray and colour pages as PNG at the link's Deflate
    /// effort (a scanned text page's rows shrink several times over, and every byte crosses
    /// the network four times: to the bucket, to the worker, and its replicas), others as
    /// raw rows. PNG is lossless: the worker's rows are the scan's.
    fn wire_image<'a>(
        &self,
        page: &'a PageImage,
    ) -> Result<(ImageEncoding, std::borrow::Cow<'a, [u8]>), ProducerError> {
        let (pixel, ..) = page.layout();
        if !self.options.png || !matches!(pixel, PixelFormat::Gray8 | PixelFormat::Rgb8) {
            return Ok((ImageEncoding::Raw, std::borrow::Cow::Borrowed(&page.data)));
        }
        let opts = EncodeOptions {
            deflate: DeflateEffort::Wire,
            ..EncodeOptions::default()
        };
        let png = encode_page(
            Format::Png,
            &page.page,
            &opts,
            &mut SliceSource::new(&page.data, 1 << 20),
            Vec::new(),
        )
        .map_err(|e| {
            self.producer
                .err(format!("encoding page {} as PNG", page.page.number), e)
        })?;
        Ok((ImageEncoding::Png, std::borrow::Cow::Owned(png)))
    }

    fn wait_started(&self) {
        let mut since = lock(&self.waiting_since);
        if since.is_none() {
            *since = Some(Instant::now());
            self.waits.fetch_add(1, Ordering::SeqCst);
            drop(since);
            if let Some(f) = &self.options.on_wait {
                f(true);
            }
        }
    }

    /// A wait is over: the queue took the page (`taken`), or publishing gave up.
    fn wait_ended(&self, taken: bool) {
        let mut since = lock(&self.waiting_since);
        if let Some(t) = since.take() {
            *lock(&self.waited) += t.elapsed();
            drop(since);
            if let (true, Some(f)) = (taken, &self.options.on_wait) {
                f(false);
            }
        }
    }

    /// The scan is over and every page it kept is published: the job's state gets the page
    /// count, so the worker that finishes the last page has the document assembled (or it
    /// is assembled now, when the workers were faster than the scan). A failed scan keeps
    /// its complete pages, as a local one does. Returns the page count.
    pub fn end(&self) -> Result<u32, ProducerError> {
        let pages = self.published();
        let p = &self.producer;
        p.rt.block_on(p.queue.end_job(&self.id, &[(1, pages)]))
            .map_err(|e| p.err(format!("ending job {}", self.id), e))?;
        Ok(pages)
    }

    /// Marks the job cancelled: workers drop its pages, publishing stops.
    pub fn cancel(&self) -> Result<(), ProducerError> {
        self.cancelled.store(true, Ordering::SeqCst);
        let p = &self.producer;
        p.rt.block_on(p.queue.cancel_job(&self.id))
            .map_err(|e| p.err(format!("cancelling job {}", self.id), e))
    }

    /// Where the job's pages are across the workers. "In work" is the workers' pages taken
    /// and not yet acknowledged, counted for the whole queue, so with several jobs at once
    /// it is an estimate; published and done are this job's own.
    pub fn progress(&self) -> Result<Progress, ProducerError> {
        let p = &self.producer;
        p.rt.block_on(async {
            let published = self.published();
            let what = || format!("reading job {}'s progress", self.id);
            let done = p
                .queue
                .pages_done(&self.id, 1)
                .await
                .map_err(|e| p.err(what(), e))?
                .min(published);
            let waiting = p
                .queue
                .pages_waiting(&self.id)
                .await
                .map_err(|e| p.err(what(), e))?
                .min(u64::from(published - done)) as u32;
            let ack_pending = match p
                .queue
                .jetstream()
                .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
                    names::PAGE_CONSUMER,
                    names::PAGES_STREAM,
                )
                .await
            {
                Ok(mut c) => c.info().await.map_or(0, |i| i.num_ack_pending as u32),
                // No worker has started yet: nothing is in work.
                Err(_) => 0,
            };
            let in_work = ack_pending.min(waiting);
            Ok(Progress {
                published,
                queued: waiting - in_work,
                in_work,
                done,
            })
        })
    }

    /// Waits until the workers have written the document, then fetches and checks its files
    /// (one, or one per part when blank pages separate documents), in order.
    /// `stop` is asked between looks (Ctrl-C): `true` cancels the job. `progress` hears
    /// where the pages are whenever that changes.
    pub fn wait_document(
        &self,
        stop: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Document>, ProducerError> {
        let p = &self.producer;
        let key = names::written_key(&self.id, 1);
        let what = || format!("reading job {}'s document", self.id);
        let mut last = None;
        let mut all_done: Option<Instant> = None;
        loop {
            if stop() {
                self.cancel()?;
                return Err(ProducerError::Cancelled);
            }
            let written =
                p.rt.block_on(p.queue.buckets().written.get(key.as_str()))
                    .map_err(|e| p.err(what(), e))?;
            if let Some(bytes) = written {
                // The written record is the document's done events, one per file (blank
                // pages that separate documents split it: `<name>.pdf`, `<name>-2.pdf`...).
                let events: Vec<DocumentDone> =
                    serde_json::from_slice(&bytes).map_err(|e| p.err(what(), e))?;
                if events.is_empty() {
                    return Err(p.err(what(), "the document was written as no file"));
                }
                let docs = events
                    .into_iter()
                    .map(|e| self.fetch(e))
                    .collect::<Result<Vec<_>, _>>()?;
                let published = self.published();
                let end = Progress {
                    published,
                    queued: 0,
                    in_work: 0,
                    done: published,
                };
                if last != Some(end) {
                    progress(end);
                }
                return Ok(docs);
            }
            if let Ok(now) = self.progress() {
                if last != Some(now) {
                    progress(now);
                    last = Some(now);
                }
                if now.done < now.published {
                    all_done = None;
                } else if all_done.is_none_or(|t: Instant| t.elapsed() >= REASSEMBLE) {
                    // Every page is done and the last worker asks for assembly; should that
                    // request be lost, the producer asks again (the message id, and the
                    // written marker, make a second request the same one).
                    if all_done.is_some() {
                        let (job, pages) = (self.id.as_str(), now.published);
                        p.rt.block_on(p.queue.assemble_if_complete(job, 1, pages))
                            .map_err(|e| p.err(format!("requesting assembly of job {job}"), e))?;
                    }
                    all_done = Some(Instant::now());
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// The document's bytes, checked against the done event.
    fn fetch(&self, done: DocumentDone) -> Result<Document, ProducerError> {
        let p = &self.producer;
        let what = format!(
            "fetching {} from bucket {}",
            done.object,
            names::DOCUMENTS_BUCKET
        );
        let bytes =
            p.rt.block_on(p.queue.document(&done.object))
                .map_err(|e| p.err(what.clone(), e))?
                .ok_or_else(|| p.err(what.clone(), "the object is not there"))?;
        let sum = wire::sha256_hex(&bytes);
        if bytes.len() as u64 != done.size || sum != done.sha256 {
            return Err(p.err(
                what,
                format!(
                    "{} bytes with SHA-256 {sum}, but the done event says {} bytes, {}",
                    bytes.len(),
                    done.size,
                    done.sha256
                ),
            ));
        }
        Ok(Document { done, bytes })
    }
}

/// The pipeline stage that hands each page to the queue: it publishes the page and passes
/// nothing on (the workers make the document), so a pipeline with it writes no output of
/// its own. Put it last, after any stage that must run on the scanning machine.
pub struct PublishStage {
    job: Arc<Job>,
}

impl PublishStage {
    /// A stage publishing into `job`.
    pub fn new(job: Arc<Job>) -> Self {
        PublishStage { job }
    }
}

impl Stage for PublishStage {
    fn name(&self) -> &str {
        "queue"
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        match self.job.publish(&page) {
            Ok(()) => Ok(Vec::new()),
            Err(ProducerError::Cancelled) => Err(StageError {
                stage: "queue".into(),
                message: "cancelled".into(),
                hresult: wia::S_FALSE,
            }),
            Err(e) => Err(StageError {
                stage: "queue".into(),
                message: e.to_string(),
                hresult: wia::E_FAIL,
            }),
        }
    }
}
