//! Engines on worker threads: pages recognised in parallel, results taken in order.
//!
//! ```text
//!  submit(page) ──► queue ──► worker 1 (Engine) ──► PageJob 1 ─┐
//!  submit(page) ──►       ──► worker 2 (Engine) ──► PageJob 2 ─┼─► wait() in submission order
//!  submit(page) ──►       ──► (next free worker) ─► PageJob 3 ─┘
//! ```
//! A Tesseract engine cannot be shared between threads, so each worker owns one, made when
//! the pool starts. The caller keeps the [`PageJob`]s in order and waits on them in order;
//! page k+1 is recognised while page k is written. Cancellation is per job (a [`CancelFlag`]):
//! a queued page is never started, a running page stops at its next word, and `wait` returns
//! at once without waiting for the worker to notice.

use crate::engine::{CancelFlag, Engine, OcrConfig, Orientation, Progress, Recognized};
use crate::error::OcrError;
use crate::image::PageImage;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How often a waiting caller looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(10);

enum Task {
    Recognize(mpsc::SyncSender<Result<Recognized, OcrError>>),
    Orientation(mpsc::SyncSender<Result<Orientation, OcrError>>),
}

struct Job {
    page: PageImage,
    cancel: CancelFlag,
    progress: Progress,
    task: Task,
}

/// A pool of Tesseract engines, one per worker thread.
pub struct OcrPool {
    queue: Mutex<Option<Sender<Job>>>,
    threads: Vec<thread::JoinHandle<()>>,
    /// Set when the pool is dropped: workers skip what is still queued.
    closing: Arc<AtomicBool>,
    version: String,
}

/// A page submitted to the pool; [`wait`](PageJob::wait) for its result.
#[must_use = "the page is recognised anyway; its result is lost unless waited on"]
pub struct PageJob<T> {
    rx: Receiver<Result<T, OcrError>>,
    cancel: CancelFlag,
    progress: Progress,
}

impl<T> PageJob<T> {
    /// How far the page is (0 while queued, 100 when done).
    pub fn progress(&self) -> u8 {
        self.progress.percent()
    }

    /// The result. Returns [`OcrError::Cancelled`] as soon as the job's cancel flag is set,
    /// even while the worker is still finishing its current word.
    pub fn wait(self) -> Result<T, OcrError> {
        loop {
            if self.cancel.is_cancelled() {
                return Err(OcrError::Cancelled);
            }
            match self.rx.recv_timeout(CANCEL_POLL) {
                Ok(r) => return r,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(OcrError::Worker("the worker dropped the page".into()))
                }
            }
        }
    }
}

impl OcrPool {
    /// Starts `workers` threads (at least 1), each with its own engine for `config`; returns
    /// once every engine is initialised, or with the first error (missing library or language).
    pub fn new(config: &OcrConfig, workers: usize) -> Result<OcrPool, OcrError> {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, OcrError>>();
        let closing = Arc::new(AtomicBool::new(false));
        let mut pool = OcrPool {
            queue: Mutex::new(Some(tx)),
            threads: Vec::with_capacity(workers),
            closing: closing.clone(),
            version: String::new(),
        };
        for i in 0..workers {
            let rx = rx.clone();
            let ready = ready_tx.clone();
            let config = config.clone();
            let closing = closing.clone();
            let t = thread::Builder::new()
                .name(format!("scanwire-ocr-{i}"))
                .spawn(move || worker(config, rx, ready, closing))
                .map_err(|e| OcrError::Worker(format!("could not start a thread: {e}")))?;
            pool.threads.push(t);
        }
        drop(ready_tx);
        for _ in 0..workers {
            match ready_rx.recv() {
                Ok(Ok(v)) => pool.version = v,
                Ok(Err(e)) => return Err(e), // dropping the pool ends the other workers
                Err(_) => return Err(OcrError::Worker("a worker died while starting".into())),
            }
        }
        Ok(pool)
    }

    /// A pool with one engine per core.
    pub fn per_core(config: &OcrConfig) -> Result<OcrPool, OcrError> {
        let n = thread::available_parallelism().map_or(1, |n| n.get());
        OcrPool::new(config, n)
    }

    /// The number of worker threads (engines).
    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Tesseract's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Queues a page for recognition. Never blocks: the caller bounds how many pages it has in
    /// flight (a few more than [`workers`](OcrPool::workers) keeps every engine busy).
    pub fn submit(&self, page: PageImage, cancel: &CancelFlag) -> PageJob<Recognized> {
        let (tx, rx) = mpsc::sync_channel(1);
        let progress = Progress::new();
        self.send(page, cancel, &progress, Task::Recognize(tx));
        PageJob {
            rx,
            cancel: cancel.clone(),
            progress,
        }
    }

    /// Queues a page for orientation detection.
    pub fn submit_orientation(&self, page: PageImage, cancel: &CancelFlag) -> PageJob<Orientation> {
        let (tx, rx) = mpsc::sync_channel(1);
        let progress = Progress::new();
        self.send(page, cancel, &progress, Task::Orientation(tx));
        PageJob {
            rx,
            cancel: cancel.clone(),
            progress,
        }
    }

    /// Recognises pages in parallel; the results come back in the pages' order.
    pub fn recognize_all(
        &self,
        pages: impl IntoIterator<Item = PageImage>,
        cancel: &CancelFlag,
    ) -> Vec<Result<Recognized, OcrError>> {
        let jobs: Vec<_> = pages.into_iter().map(|p| self.submit(p, cancel)).collect();
        jobs.into_iter().map(PageJob::wait).collect()
    }

    fn send(&self, page: PageImage, cancel: &CancelFlag, progress: &Progress, task: Task) {
        let job = Job {
            page,
            cancel: cancel.clone(),
            progress: progress.clone(),
            task,
        };
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        // A send can only fail when every worker is gone; the job's reply channel is then
        // dropped and `wait` reports it.
        if let Some(q) = q.as_ref() {
            let _ = q.send(job);
        }
    }
}

impl Drop for OcrPool {
    /// Closes the queue and waits for the workers: each finishes (or, cancelled, abandons) the
    /// page it has, skips what is still queued and ends its engine.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker(
    config: OcrConfig,
    rx: Arc<Mutex<Receiver<Job>>>,
    ready: Sender<Result<String, OcrError>>,
    closing: Arc<AtomicBool>,
) {
    let mut engine = match Engine::new(&config) {
        Ok(e) => {
            let _ = ready.send(Ok(e.version().to_string()));
            e
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    drop(ready);
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { return };
        let cancelled = job.cancel.is_cancelled() || closing.load(Ordering::SeqCst);
        match job.task {
            Task::Recognize(reply) => {
                let r = if cancelled {
                    Err(OcrError::Cancelled)
                } else {
                    contain(|| {
                        engine.recognize_with_progress(&job.page, &job.cancel, &job.progress)
                    })
                };
                let _ = reply.send(r);
            }
            Task::Orientation(reply) => {
                let r = if cancelled {
                    Err(OcrError::Cancelled)
                } else {
                    contain(|| engine.detect_orientation(&job.page))
                };
                job.progress.set(100);
                let _ = reply.send(r);
            }
        }
    }
}

/// Turns a panic in recognition into an error for that page only.
fn contain<T>(f: impl FnOnce() -> Result<T, OcrError>) -> Result<T, OcrError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        Err(OcrError::Worker(msg))
    })
}
