//! The worker: pulls pages from the work stream, runs the job's stages, stores the result,
//! acknowledges; and assembles documents whose pages are all done.
//!
//! One page, in order (each step says what happens when the worker dies right after it):
//!
//! 1. decode and check the message; a bad one is terminated (`AckKind::Term`) with a log line;
//! 2. the job cancelled: terminated, logged;
//! 3. the page already done (its key in `scanwire-done`: a redelivery after a worker died
//!    between storing and acknowledging): nothing is redone, go to 7;
//! 4. the image from `scanwire-pages`, checked against the message's size and SHA-256; missing
//!    or different: terminated, logged;
//! 5. the stages (imaging's `Processing`, then OCR) and the page's image encoded as the
//!    document will hold it (for a PDF its JPEG or Flate stream, with the job's options) on a
//!    blocking thread; a worker killed here is silent, so after the ack wait the page goes to
//!    another worker;
//! 6. the result put to `scanwire-results` under `<job>/<doc>/<page>` (the same name every
//!    time: a page processed twice is one result), then its key in `scanwire-done`, then the
//!    image deleted (the bytes the producer may publish again);
//! 7. if the document's page count is known and every page is done, assembly is requested
//!    (deduplicated by message id);
//! 8. acknowledged (and the acknowledgement confirmed by the server).
//!
//! Each engine (one of `concurrency` loops) overlaps its pages: while page N is in step 5,
//! page N+1's message is fetched and its steps 1 to 4 done, and page N-1's steps 6 to 8 run;
//! so at most three pages per engine are held, each kept in progress (`AckKind::Progress`
//! every third of the ack wait, `KeepAlive`) from the moment it is fetched until it is
//! settled, so a page waiting its turn is not redelivered to another worker. A worker that
//! stops (Ctrl-C) gives back its fetched page at once (`Nak` without delay) and finishes the
//! others.
//!
//! Assembly of a document (a message on `SCANWIRE_ASSEMBLE`): a cancelled job's is
//! terminated. If `scanwire-written` has the document, it was written: acknowledge.
//! Otherwise read the results one page at a time into the
//! file(s) ([`Assembler`], temporary files: memory holds one page's result, not the
//! document), put them to `scanwire-documents`, publish each
//! [`DocumentDone`] (message id per file: a retry within the duplicate window is one event),
//! create the document's key in `scanwire-written` (create-if-absent: the one writer), delete
//! the page results, acknowledge. A worker that dies in between leaves the message
//! unacknowledged and the next one redoes it; the file's bytes are the same every time.

use crate::assemble::{AssembleError, Assembler};
use crate::client::{nats, Queue, QueueError};
use crate::names;
use crate::result::PageResult;
use crate::wire::{AssembleMessage, DocumentDone, JobPhase, PageMessage, VERSION};
use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt;
use scanwire_codecs::SliceSource;
use scanwire_imaging::ProcessingReport;
use scanwire_ocr::{CancelFlag, OcrConfig, OcrPool, OcrStage};
use scanwire_pipeline::{PageImage, StageOutput};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Its name, in logs and its report.
    pub name: String,
    /// Pages worked on at once (one per core is right for OCR).
    pub concurrency: usize,
    /// How long the server waits for an acknowledgement before it gives the page to
    /// another worker (the consumer's, shared by every worker; the last worker to start sets
    /// it). A killed worker's page is redone after this long.
    pub ack_wait: Duration,
    /// Deliveries of one page at most; a page that fails this often is dropped, logged.
    /// (Assembly is retried until it succeeds.)
    pub max_deliver: i64,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            name: "worker".into(),
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
        }
    }
}

/// What a worker did, for `scanwire worker --json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkerStats {
    /// The worker's name.
    pub worker: String,
    /// Pages processed and stored here.
    pub pages: u64,
    /// Redelivered pages found already done (by a worker that died before acknowledging).
    pub already_done: u64,
    /// Documents assembled here.
    pub documents: u64,
    /// Bad messages terminated.
    pub rejected: u64,
    /// Pages given back after a failure, to be tried again.
    pub retried: u64,
    /// Seconds spent in the stages (summed over concurrent pages), the encoding of the pages'
    /// images for the document included.
    pub busy_seconds: f64,
    /// Of `busy_seconds`, the encoding of the pages' images as the document stores them (for
    /// a PDF: its JPEG or Flate streams; the work a local scan's encoder does for the page).
    pub encode_seconds: f64,
    /// Bytes of page results stored (what goes to the results bucket and the assembler).
    pub result_bytes: u64,
    /// Seconds since the worker started.
    pub elapsed_seconds: f64,
    /// Pages per minute since the start.
    pub pages_per_minute: f64,
    /// The last few rejections, as logged.
    pub rejections: Vec<String>,
}

/// Stops a running worker (between messages; a page under way is finished first).
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the worker to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A worker: see the module docs.
pub struct Worker {
    queue: Queue,
    options: WorkerOptions,
    stats: Mutex<WorkerStats>,
    started: Instant,
    stop: StopHandle,
    pools: Mutex<HashMap<String, Arc<OcrPool>>>,
}

/// How many rejections [`WorkerStats::rejections`] keeps.
const KEEP_REJECTIONS: usize = 20;

/// What became of one message.
enum Outcome {
    Ack,
    Term(String),
    Retry(String),
}

impl Worker {
    /// A worker on `queue`.
    pub fn new(queue: Queue, options: WorkerOptions) -> Arc<Worker> {
        Arc::new(Worker {
            stats: Mutex::new(WorkerStats {
                worker: options.name.clone(),
                ..Default::default()
            }),
            queue,
            options,
            started: Instant::now(),
            stop: StopHandle::default(),
            pools: Mutex::new(HashMap::new()),
        })
    }

    /// The handle that stops [`Worker::run`].
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// What it did so far.
    pub fn stats(&self) -> WorkerStats {
        let mut s = self.lock().clone();
        s.elapsed_seconds = self.started.elapsed().as_secs_f64();
        s.pages_per_minute = if s.elapsed_seconds > 0.0 {
            s.pages as f64 * 60.0 / s.elapsed_seconds
        } else {
            0.0
        };
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WorkerStats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn consumer(
        &self,
        stream: &str,
        name: &str,
        max_deliver: i64,
    ) -> Result<PullConsumer, QueueError> {
        let what = || format!("the {name} consumer on {stream}");
        let stream = self
            .queue
            .jetstream()
            .get_stream(stream)
            .await
            .map_err(|e| nats(what())(e.into()))?;
        let config = pull::Config {
            durable_name: Some(name.into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.options.ack_wait,
            max_deliver,
            ..Default::default()
        };
        match stream.create_consumer(config).await {
            Ok(c) => Ok(c),
            // An existing consumer whose settings this server cannot change: use it as is.
            Err(_) => stream.get_consumer(name).await.map_err(nats(what())),
        }
    }

    /// Works until [`StopHandle::stop`]: `concurrency` page loops and one assembly loop.
    /// Returns the stats.
    pub async fn run(self: Arc<Self>) -> Result<WorkerStats, QueueError> {
        let pages = self
            .consumer(
                names::PAGES_STREAM,
                names::PAGE_CONSUMER,
                self.options.max_deliver,
            )
            .await?;
        let assembly = self
            .consumer(names::ASSEMBLE_STREAM, names::ASSEMBLE_CONSUMER, -1)
            .await?;
        let mut loops = vec![tokio::spawn(self.clone().assemble_loop(assembly))];
        for _ in 0..self.options.concurrency.max(1) {
            let (w, pages) = (self.clone(), pages.clone());
            loops.push(tokio::spawn(async move { w.work(pages).await }));
        }
        for l in loops {
            let _ = l.await;
        }
        Ok(self.stats())
    }

    /// Waits up to `wait` for one message.
    async fn next(consumer: &PullConsumer, wait: Duration) -> Option<Message> {
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(wait)
            .messages()
            .await
            .ok()?;
        match batch.next().await {
            Some(Ok(m)) => Some(m),
            _ => None,
        }
    }

    /// The progress interval: a third of the ack wait.
    fn keep_every(&self) -> Duration {
        (self.options.ack_wait / 3).max(Duration::from_millis(100))
    }

    /// Fetches the next page message and gets it ready ([`Worker::prepare`]: its image read
    /// and checked), keeping it in progress from the moment it arrives.
    async fn fetch(self: Arc<Self>, pages: PullConsumer, wait: Duration) -> Option<Fetched> {
        let m = Self::next(&pages, wait).await?;
        let keep = KeepAlive::start(&m, self.keep_every());
        let prepared = self.prepare(&m).await;
        Some(Fetched { m, keep, prepared })
    }

    /// The assembly loop: one per worker, beside the engines (a PDF's assembly copies the
    /// pages' encoded images, so it takes little CPU from them).
    async fn assemble_loop(self: Arc<Self>, assembly: PullConsumer) {
        while !self.stop.stopped() {
            if let Some(m) = Self::next(&assembly, Duration::from_millis(900)).await {
                self.clone().handle_assembly(m).await;
            }
        }
    }

    /// One engine's loop. The next page is fetched (message and image) while this one's
    /// stages run, and this one's result is stored and acknowledged while the next one's
    /// run: one page ahead and one behind per engine, so the queue's round trips overlap
    /// the OCR instead of adding to it.
    async fn work(self: Arc<Self>, pages: PullConsumer) {
        let mut ahead: Option<tokio::task::JoinHandle<Option<Fetched>>> = None;
        let mut behind: Option<tokio::task::JoinHandle<()>> = None;
        while !self.stop.stopped() {
            let current = match ahead.take() {
                Some(h) => self.joined("fetching a page", h.await).flatten(),
                None => {
                    self.clone()
                        .fetch(pages.clone(), Duration::from_millis(900))
                        .await
                }
            };
            let Some(current) = current else { continue };
            if !self.stop.stopped() {
                let (w, p) = (self.clone(), pages.clone());
                ahead = Some(tokio::spawn(w.fetch(p, Duration::from_millis(900))));
            }
            let Fetched { m, keep, prepared } = current;
            let w = self.clone();
            let previous = behind.take();
            // In a task of its own, so that a panic (in a library) costs the message an ack
            // wait, not the worker its loop.
            let stored = tokio::spawn(async move { w.process(m, keep, prepared, previous).await });
            if let Some(Some(next)) = self.joined("processing a page", stored.await) {
                behind = Some(next);
            }
        }
        if let Some(h) = ahead {
            // Fetched but not started: back to the queue at once, for another worker.
            if let Some(Some(f)) = self.joined("fetching a page", h.await) {
                drop(f.keep);
                let _ = f.m.ack_with(AckKind::Nak(None)).await;
            }
        }
        if let Some(h) = behind {
            self.joined("storing a page", h.await);
        }
    }

    fn joined<T>(&self, what: &str, r: Result<T, tokio::task::JoinError>) -> Option<T> {
        match r {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(
                    "{}: {what} failed ({e}); its message comes back after the ack wait",
                    self.options.name
                );
                None
            }
        }
    }

    /// A page's stages, then (once `previous`, the page before, is stored and acknowledged)
    /// its storing and acknowledgement in a task of their own, which is returned.
    async fn process(
        self: Arc<Self>,
        m: Message,
        keep: KeepAlive,
        prepared: Prepared,
        previous: Option<tokio::task::JoinHandle<()>>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let outcome = match prepared {
            Prepared::Settle(o) => Some(o),
            Prepared::AlreadyDone(msg) => Some(self.complete(&msg).await),
            Prepared::Process(msg, image) => match self.stages(msg.clone(), image).await {
                Ok((result, busy)) => {
                    if let Some(p) = previous {
                        self.joined("storing a page", p.await);
                    }
                    let w = self.clone();
                    return Some(tokio::spawn(async move {
                        let outcome = match w.store(&msg, result, busy).await {
                            Ok(()) => w.complete(&msg).await,
                            Err(o) => o,
                        };
                        drop(keep);
                        w.settle(&m, outcome, "page").await;
                    }));
                }
                Err(o) => Some(o),
            },
        };
        if let Some(p) = previous {
            self.joined("storing a page", p.await);
        }
        if let Some(o) = outcome {
            drop(keep);
            self.settle(&m, o, "page").await;
        }
        None
    }

    /// Handles one assembly request in a task of its own (a panic costs the request an ack
    /// wait, not the worker its loop).
    async fn handle_assembly(self: Arc<Self>, m: Message) {
        let w = self.clone();
        let done = tokio::spawn(async move {
            let keep = KeepAlive::start(&m, w.keep_every());
            let outcome = w.assemble(&m).await;
            drop(keep);
            w.settle(&m, outcome, "assembly").await;
        })
        .await;
        self.joined("an assembly", done);
    }

    /// Acknowledges, terminates or gives back `m`.
    async fn settle(&self, m: &Message, outcome: Outcome, kind: &str) {
        let name = &self.options.name;
        let subject = m.subject.to_string();
        match outcome {
            Outcome::Ack => {
                if let Err(e) = m.double_ack().await {
                    // Not confirmed: the message comes back after the ack wait and is found
                    // done (step 3).
                    tracing::warn!("{name}: acknowledging {subject}: {e}");
                }
            }
            Outcome::Term(why) => {
                let line = format!("{name}: rejected {kind} {subject}: {why}");
                tracing::error!("{line}");
                {
                    let mut s = self.lock();
                    s.rejected += 1;
                    s.rejections.push(line);
                    let n = s.rejections.len();
                    if n > KEEP_REJECTIONS {
                        s.rejections.drain(..n - KEEP_REJECTIONS);
                    }
                }
                let _ = m.ack_with(AckKind::Term).await;
            }
            Outcome::Retry(why) => {
                let delivered = m.info().map(|i| i.delivered).unwrap_or(1);
                // An assembly is retried for ever: what fails it passes (a result not yet on
                // the replica read, a leader election), and a request given up on could not
                // be made again within the duplicate window.
                if kind == "page" && delivered >= self.options.max_deliver {
                    let line = format!(
                        "{name}: giving up on {kind} {subject} after {delivered} tries: {why}"
                    );
                    tracing::error!("{line}");
                    self.lock().rejections.push(line);
                    let _ = m.ack_with(AckKind::Term).await;
                } else {
                    tracing::warn!(
                        "{name}: {kind} {subject} failed (try {delivered}), again later: {why}"
                    );
                    self.lock().retried += 1;
                    let delay = Duration::from_secs(delivered.clamp(1, 5) as u64);
                    let _ = m.ack_with(AckKind::Nak(Some(delay))).await;
                }
            }
        }
    }

    fn pool(&self, languages: &str) -> Result<Arc<OcrPool>, String> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pools.get(languages) {
            return Ok(p.clone());
        }
        let config = OcrConfig::new(languages).map_err(|e| e.to_string())?;
        let pool = Arc::new(
            OcrPool::new(&config, self.options.concurrency.max(1)).map_err(|e| e.to_string())?,
        );
        pools.insert(languages.to_string(), pool.clone());
        Ok(pool)
    }

    /// Steps 1 to 4: the message checked, the job's state, whether the page is done, its
    /// image read and checked.
    async fn prepare(&self, m: &Message) -> Prepared {
        let msg = match PageMessage::decode(&m.payload) {
            Ok(msg) => msg,
            Err(e) => return Prepared::Settle(Outcome::Term(e.to_string())),
        };
        let expected = names::page_subject(&msg.job, msg.document, msg.page);
        if m.subject.as_str() != expected {
            return Prepared::Settle(Outcome::Term(format!(
                "the message is about page {} of document {} of job {} but came on {}",
                msg.page, msg.document, msg.job, m.subject
            )));
        }
        let job = match self.queue.job(&msg.job).await {
            Ok(j) => j,
            Err(e) => return Prepared::Settle(Outcome::Retry(e.to_string())),
        };
        let b = self.queue.buckets();
        if job.as_ref().is_some_and(|j| j.state == JobPhase::Cancelled) {
            // Its image would otherwise hold on to the producer's byte limit.
            let _ = b.pages.delete(msg.image.object.as_str()).await;
            return Prepared::Settle(Outcome::Term(format!("job {} was cancelled", msg.job)));
        }
        let key = names::done_key(&msg.job, msg.document, msg.page);
        match b.done.get(key.as_str()).await {
            Ok(Some(_)) => {
                self.lock().already_done += 1;
                tracing::info!(
                    "{}: page {key} is already done (redelivered); not redone",
                    self.options.name
                );
                return Prepared::AlreadyDone(msg);
            }
            Ok(None) => {}
            Err(e) => {
                return Prepared::Settle(Outcome::Retry(format!("reading {key}: {e}")));
            }
        }
        let image = match self.queue.read_object(&b.pages, &msg.image.object).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                return Prepared::Settle(Outcome::Term(format!(
                    "its image {} is not in the {} bucket",
                    msg.image.object,
                    names::PAGES_BUCKET
                )))
            }
            Err(e) => return Prepared::Settle(Outcome::Retry(e.to_string())),
        };
        if let Err(e) = msg.image.verify(&image) {
            return Prepared::Settle(Outcome::Term(e.to_string()));
        }
        Prepared::Process(msg, image)
    }

    /// Step 5: the stages and the page's images encoded for the document, on a blocking
    /// thread; the stored result.
    async fn stages(
        self: &Arc<Self>,
        msg: PageMessage,
        image: Vec<u8>,
    ) -> Result<(Vec<u8>, f64), Outcome> {
        let key = names::done_key(&msg.job, msg.document, msg.page);
        tracing::info!("{}: processing page {key}", self.options.name);
        let started = Instant::now();
        let w = self.clone();
        // The OCR engines load inside the progress window too: the first page of a language
        // waits for its language data.
        let processed = tokio::task::spawn_blocking(move || {
            let pool = match &msg.settings.ocr {
                Some(l) => Some(w.pool(l).map_err(|e| format!("OCR: {e}"))?),
                None => None,
            };
            let outputs = process_page(&msg, image, pool)?;
            let encoding = Instant::now();
            let result = PageResult::new(
                &msg.job,
                msg.document,
                &msg.name,
                msg.page,
                &msg.settings.output,
                outputs,
            )
            .map_err(|e| e.to_string())?
            .encode();
            Ok::<_, String>((result, encoding.elapsed()))
        })
        .await;
        let (result, encoding) = match processed {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(Outcome::Retry(e)),
            Err(_) => return Err(Outcome::Retry("the stages panicked".into())),
        };
        let busy = started.elapsed().as_secs_f64();
        let mut s = self.lock();
        s.busy_seconds += busy;
        s.encode_seconds += encoding.as_secs_f64();
        s.result_bytes += result.len() as u64;
        Ok((result, busy))
    }

    /// Step 6: the result stored, the page marked done, its image deleted.
    async fn store(&self, msg: &PageMessage, result: Vec<u8>, busy: f64) -> Result<(), Outcome> {
        let b = self.queue.buckets();
        let key = names::done_key(&msg.job, msg.document, msg.page);
        let object = names::page_object(&msg.job, msg.document, msg.page);
        if let Err(e) = self
            .queue
            .put_object(&b.results, &object, &mut result.as_slice())
            .await
        {
            return Err(Outcome::Retry(format!("storing the result {object}: {e}")));
        }
        drop(result);
        if let Err(e) = b.done.put(key.as_str(), VERSION.to_string().into()).await {
            return Err(Outcome::Retry(format!("marking {key} done: {e}")));
        }
        self.lock().pages += 1;
        tracing::info!(
            "{}: stored page {key} after {busy:.2} s in the stages",
            self.options.name
        );
        // The image is no longer needed: its bytes leave the producer's limit.
        let _ = b.pages.delete(msg.image.object.as_str()).await;
        Ok(())
    }

    /// Step 7: assembly requested if the page count is known and every page is done.
    async fn complete(&self, msg: &PageMessage) -> Outcome {
        // The page count: in the message, or (the job was open when it was sent) in the job's
        // state read again now, after the page was marked done. The producer ends the job
        // before it counts the pages done, so one of the two sees the other's write.
        let pages = match msg.pages.known() {
            Some(n) => Some(n),
            None => match self.queue.job(&msg.job).await {
                Ok(j) => j.and_then(|j| j.pages_of(msg.document)),
                Err(e) => return Outcome::Retry(e.to_string()),
            },
        };
        if let Some(n) = pages {
            if let Err(e) = self
                .queue
                .assemble_if_complete(&msg.job, msg.document, n)
                .await
            {
                return Outcome::Retry(e.to_string());
            }
        } else {
            // The job is still open: its end (`Queue::end_job`) checks again.
        }
        Outcome::Ack
    }

    async fn assemble(self: &Arc<Self>, m: &Message) -> Outcome {
        let msg = match AssembleMessage::decode(&m.payload) {
            Ok(msg) => msg,
            Err(e) => return Outcome::Term(e.to_string()),
        };
        let b = self.queue.buckets().clone();
        match self.queue.job(&msg.job).await {
            Ok(Some(j)) if j.state == JobPhase::Cancelled => {
                self.clean_results(&msg).await;
                return Outcome::Term(format!("job {} was cancelled", msg.job));
            }
            Ok(_) => {}
            Err(e) => return Outcome::Retry(e.to_string()),
        }
        let key = names::written_key(&msg.job, msg.document);
        match b.written.get(key.as_str()).await {
            Ok(Some(_)) => {
                self.clean_results(&msg).await;
                return Outcome::Ack;
            }
            Ok(None) => {}
            Err(e) => return Outcome::Retry(format!("reading {key}: {e}")),
        }
        // Page by page: one result in memory at a time, the files in temporary files.
        let mut assembler = None;
        for page in 1..=msg.pages {
            let object = names::page_object(&msg.job, msg.document, page);
            let result = match self.queue.read_object(&b.results, &object).await {
                Ok(Some(bytes)) => match PageResult::decode(&bytes) {
                    Ok(r) => r,
                    Err(e) => return Outcome::Term(format!("result {object}: {e}")),
                },
                Ok(None) => return Outcome::Retry(format!("the result {object} is missing")),
                Err(e) => return Outcome::Retry(e.to_string()),
            };
            let a = match assembler.take() {
                Some(a) => a,
                None => match Assembler::new(&result.name, &result.output, tempfile::tempfile) {
                    Ok(a) => a,
                    Err(e) => return Outcome::Term(e.to_string()),
                },
            };
            let added = tokio::task::spawn_blocking(move || {
                let mut a = a;
                a.add(&result).map(|()| a)
            })
            .await;
            match added {
                Ok(Ok(a)) => assembler = Some(a),
                Ok(Err(e @ AssembleError::Wire(_))) => return Outcome::Term(e.to_string()),
                Ok(Err(e)) => return Outcome::Retry(e.to_string()),
                Err(_) => return Outcome::Retry("assembly panicked".into()),
            }
        }
        let Some(assembler) = assembler else {
            return Outcome::Term("a document without pages".into());
        };
        let files = tokio::task::spawn_blocking(move || -> Result<_, AssembleError> {
            let mut out = Vec::new();
            for f in assembler.finish()? {
                let (size, sha256, file) =
                    checked_file(f.output).map_err(|source| AssembleError::Output {
                        file: f.file_name.clone(),
                        source,
                    })?;
                out.push((f.file_name, f.pages, size, sha256, file));
            }
            Ok(out)
        })
        .await;
        let files = match files {
            Ok(Ok(f)) => f,
            Ok(Err(e @ AssembleError::Wire(_))) => return Outcome::Term(e.to_string()),
            Ok(Err(e)) => return Outcome::Retry(e.to_string()),
            Err(_) => return Outcome::Retry("assembly panicked".into()),
        };
        let mut events = Vec::new();
        for (k, (file_name, pages, size, sha256, file)) in files.into_iter().enumerate() {
            let object = format!("{}/{}", msg.job, file_name);
            let mut file = tokio::fs::File::from_std(file);
            if let Err(e) = self
                .queue
                .put_object(&b.documents, &object, &mut file)
                .await
            {
                return Outcome::Retry(format!("storing {object}: {e}"));
            }
            let event = DocumentDone {
                version: VERSION,
                job: msg.job.clone(),
                document: msg.document,
                name: file_name,
                object,
                pages,
                size,
                sha256,
            };
            let published = self
                .queue
                .jetstream()
                .send_publish(
                    names::DONE_SUBJECT,
                    PublishMessage::build()
                        .payload(event.encode().into())
                        .message_id(format!("{key}.{}", k + 1)),
                )
                .await;
            match published {
                Ok(ack) => {
                    if let Err(e) = ack.await {
                        return Outcome::Retry(format!("announcing {}: {e}", event.name));
                    }
                }
                Err(e) => return Outcome::Retry(format!("announcing {}: {e}", event.name)),
            }
            events.push(event);
        }
        let record = serde_json::to_vec(&events).unwrap_or_default();
        match b.written.create(key.as_str(), record.into()).await {
            Ok(_) => {
                self.lock().documents += 1;
                tracing::info!(
                    "{}: wrote document {} of job {} ({} file(s))",
                    self.options.name,
                    msg.document,
                    msg.job,
                    events.len()
                );
            }
            Err(e) if e.kind() == async_nats::jetstream::kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Outcome::Retry(format!("recording {key}: {e}")),
        }
        self.clean_results(&msg).await;
        Outcome::Ack
    }

    /// Deletes a written document's page results (best effort: what stays is only space).
    async fn clean_results(&self, msg: &AssembleMessage) {
        for page in 1..=msg.pages {
            let object = names::page_object(&msg.job, msg.document, page);
            let _ = self.queue.buckets().results.delete(object.as_str()).await;
        }
    }
}

/// A finished file's size and SHA-256 (lowercase hex), read back from its start; the file
/// is left at its start, to be stored.
fn checked_file(mut file: std::fs::File) -> std::io::Result<(u64, String, std::fs::File)> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    file.seek(SeekFrom::Start(0))?;
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((size, sha256, file))
}

/// A page message fetched and made ready while another page's stages run.
struct Fetched {
    m: Message,
    keep: KeepAlive,
    prepared: Prepared,
}

/// What [`Worker::prepare`] found.
enum Prepared {
    /// To process: the message and its image (checked).
    Process(PageMessage, Vec<u8>),
    /// Already done by a worker that died before acknowledging: only step 7 is left.
    AlreadyDone(PageMessage),
    /// Nothing to process: terminate or give back.
    Settle(Outcome),
}

/// Keeps a message in progress (`AckKind::Progress` every third of the ack wait) for as long
/// as it lives, so that a page waiting its turn behind the one in the stages, or a long OCR,
/// is not given to a second worker. A worker killed sends nothing, and the page goes to
/// another worker after the ack wait.
struct KeepAlive(tokio::task::JoinHandle<()>);

impl KeepAlive {
    fn start(m: &Message, every: Duration) -> KeepAlive {
        let m = m.clone();
        KeepAlive(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                let _ = m.ack_with(AckKind::Progress).await;
            }
        }))
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The job's stages on one page (`image`: the object's bytes, checked): what a local scan's
/// pipeline does between the driver and the encoder. `pool` recognises the text when the job
/// asks for OCR.
pub fn process_page(
    msg: &PageMessage,
    image: Vec<u8>,
    pool: Option<Arc<OcrPool>>,
) -> Result<Vec<StageOutput>, String> {
    let info = msg.image.page_info(msg.page);
    let page = PageImage::collect(&info, &mut SliceSource::new(&image, 1 << 20))
        .map_err(|e| format!("reading the image: {e}"))?;
    drop(image);
    let processing = msg
        .settings
        .processing
        .processing()
        .map_err(|e| e.to_string())?;
    let mut stages = processing
        .stages(&ProcessingReport::new())
        .map_err(|e| e.to_string())?;
    if let Some(pool) = pool {
        stages.push(Arc::new(OcrStage::new(pool, CancelFlag::new())));
    }
    let mut outs = vec![StageOutput::Page(page)];
    for stage in &stages {
        let mut next = Vec::with_capacity(outs.len());
        for o in outs {
            match o {
                StageOutput::Page(p) => {
                    next.extend(stage.process_outputs(p).map_err(|e| e.to_string())?)
                }
                StageOutput::Separator => next.push(StageOutput::Separator),
            }
        }
        outs = next;
    }
    Ok(outs)
}
