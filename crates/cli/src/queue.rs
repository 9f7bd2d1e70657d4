//! `scan --queue URL`: the scan runs here, the processing (`--deskew`, `--crop`, `--blank
//! skip`, `--ocr`...) on `scanwire worker` processes anywhere, through NATS JetStream
//! (`scanwire-queue`). The scan's pipeline has one stage, the queue's `PublishStage`, which
//! hands each page over as it completes; at the end the job's page count is published and
//! the PDF the workers assemble is fetched and written to `-o` (a hidden `.part` file
//! renamed when complete, as every output).
//!
//! The files route and the queue route meet in [`Output`], so `scan.rs` drives both the
//! same way.

use crate::args::ScanArgs;
use crate::exit::usage;
use crate::ui::AfterScan;
use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use scanwire_codecs::{EncodeError, Format};
use scanwire_core::device::PageInfo;
use scanwire_core::transfer::{AppStream, CancelHandle};
use scanwire_core::wia::{self, HResult};
use scanwire_output::{FileOutput, OutputError, OutputPlan, OutputReport, Target};
use scanwire_pipeline::{Memory, Pipeline, PipelineOptions};
use scanwire_queue::wire::{JobSettings, OutputSettings, ProcessingSettings};
use scanwire_queue::{Job, JobOptions, Producer, ProducerError, Progress, PublishStage};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a scan's pages go: files here, or the queue.
#[derive(Clone)]
pub enum Output {
    /// Encoded here (`scanwire-output`).
    Files(FileOutput),
    /// Processed and assembled by workers.
    Queue(Arc<QueueOutput>),
}

impl Output {
    /// What `get_next_stream` answers for `page`.
    pub fn open_page(&self, page: &PageInfo) -> AppStream {
        match self {
            Output::Files(f) => f.open_page(page),
            Output::Queue(q) => q.pipeline.open_page(page),
        }
    }

    /// Ends the transfer (`transfer`: its result) and says what was written.
    pub fn finish(&self, transfer: HResult) -> OutputReport {
        match self {
            Output::Files(f) => f.finish(transfer),
            Output::Queue(q) => q.finish(transfer),
        }
    }

    /// Whether a Ctrl-C stopped the wait for the workers' document (the job is cancelled).
    pub fn interrupted(&self) -> bool {
        match self {
            Output::Files(_) => false,
            Output::Queue(q) => q.summary().interrupted,
        }
    }

    /// The queue's part of `--json`: null for files.
    pub fn queue_report(&self) -> Value {
        match self {
            Output::Files(_) => Value::Null,
            Output::Queue(q) => q.report(),
        }
    }
}

/// `scan --queue`'s checks: what the workers can do, said before anything is scanned or
/// connected. `None` without `--queue`.
pub struct QueuePlan {
    url: String,
    settings: JobSettings,
    name: String,
    path: PathBuf,
}

/// Checks `--queue` against the other flags (every problem a usage error) and takes the
/// job's settings from them; `created` is the PDF's creation date (Unix seconds).
pub fn plan(args: &ScanArgs, output: &OutputPlan, created: u64) -> Result<Option<QueuePlan>> {
    let Some(url) = args.queue.clone() else {
        return Ok(None);
    };
    scanwire_queue::server_addrs(&url).map_err(usage)?;
    let path = match (&output.target, output.format) {
        (Target::Document(p), Format::Pdf) => p.clone(),
        _ => bail!(usage(format!(
            "--queue: the workers assemble one PDF, but -o {} is not a .pdf file",
            args.output.display()
        ))),
    };
    if path.to_string_lossy().contains("{doc}") {
        bail!(usage(
            "--queue writes one PDF: {doc} in -o is not supported"
        ));
    }
    let unsupported = [
        (args.auto_rotate, "--auto-rotate"),
        (args.ocr_text.is_some(), "--ocr-text"),
        (args.ocr_hocr.is_some(), "--ocr-hocr"),
        (args.split_photos, "--split-photos"),
        (args.all_or_nothing, "--all-or-nothing"),
    ];
    if let Some((_, flag)) = unsupported.iter().find(|(on, _)| *on) {
        bail!(usage(format!(
            "{flag} does not work with --queue yet; the workers can do --deskew, --crop, \
             --blank, --rotate, --brightness, --contrast and --ocr"
        )));
    }
    let processing = crate::processing::settings(args)?;
    if let Some(langs) = &args.ocr {
        scanwire_ocr::Languages::parse(langs).map_err(|e| usage(format!("--ocr: {e}")))?;
    }
    let settings = JobSettings {
        processing: ProcessingSettings::from(&processing),
        ocr: args.ocr.clone(),
        output: OutputSettings::pdf(&output.options, created),
    };
    // The document's name on the queue: the file's stem, as a subject token.
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        name = "scan".into();
    }
    Ok(Some(QueuePlan {
        url,
        settings,
        name,
        path,
    }))
}

/// The environment variable that caps the bytes of pages waiting in the queue (for the
/// streams this scan creates; and for its own publishing either way).
pub const MAX_BYTES_ENV: &str = "SCANWIRE_QUEUE_MAX_BYTES";

/// [`MAX_BYTES_ENV`], if set.
pub fn max_bytes_from_env() -> Result<Option<i64>> {
    match std::env::var(MAX_BYTES_ENV) {
        Ok(v) => match v.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(usage(format!(
                "{MAX_BYTES_ENV}={v:?}: expected a number of bytes > 0"
            ))),
        },
        Err(_) => Ok(None),
    }
}

/// The PDF's creation date: `SOURCE_DATE_EPOCH` when set (reproducible output, as build
/// tools have it), else now.
pub fn created() -> Result<(u64, bool)> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(|s| (s, true))
            .map_err(|_| usage(format!("SOURCE_DATE_EPOCH={v:?}: expected Unix seconds"))),
        Err(_) => Ok((
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            false,
        )),
    }
}

/// A scan's pages on their way to the workers, and the document coming back.
pub struct QueueOutput {
    job: Arc<Job>,
    pipeline: Pipeline<Memory>,
    path: PathBuf,
    cancel: CancelHandle,
    status: Arc<Status>,
    /// What happened, for `--json`.
    summary: Mutex<Summary>,
}

#[derive(Default)]
struct Summary {
    /// A Ctrl-C stopped the wait for the document.
    interrupted: bool,
    pages: u32,
    /// The files the workers made.
    documents: Vec<Value>,
    /// Progress as it changed while waiting for the workers (seconds since the scan ended).
    progress: Vec<Value>,
    wait_seconds: f64,
}

/// How the queue's progress is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Not at all (`--quiet`).
    Quiet,
    /// As JSON lines on stderr (`--json`: stdout keeps the one report).
    Json,
    /// As text: a status line on a terminal, else one line per change.
    Text,
}

/// The queue's status: "waiting for workers", then the pages' progress.
struct Status {
    shown: Shown,
    bar: Mutex<Option<ProgressBar>>,
    after: Arc<AfterScan>,
}

impl Status {
    fn show(&self, text: String, event: Value) {
        match self.shown {
            Shown::Quiet => {}
            Shown::Json => {
                let _ = writeln!(std::io::stderr(), "{event}");
            }
            Shown::Text
                if !(std::io::stderr().is_terminal() && std::io::stdout().is_terminal()) =>
            {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            Shown::Text => {
                let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
                let bar = bar.get_or_insert_with(|| {
                    let b = self.after.add_line(ProgressBar::new_spinner());
                    b.set_style(
                        ProgressStyle::with_template("{spinner} {msg}").expect("a template"),
                    );
                    b.enable_steady_tick(Duration::from_millis(120));
                    b
                });
                bar.set_message(text);
            }
        }
    }

    fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

impl QueuePlan {
    /// Connects to the queue and opens the job. A server that is not there is a failure
    /// (exit 1) naming the URL.
    pub fn start(
        self,
        cancel: &CancelHandle,
        after: Arc<AfterScan>,
        shown: Shown,
    ) -> Result<Arc<QueueOutput>> {
        let producer =
            Producer::connect(&self.url, max_bytes_from_env()?).map_err(|e| anyhow!(e))?;
        let status = Arc::new(Status {
            shown,
            bar: Mutex::new(None),
            after: after.clone(),
        });
        let on_wait = {
            let (status, url) = (status.clone(), self.url.clone());
            Arc::new(move |waiting: bool| {
                if waiting {
                    status.show(
                        format!(
                            "waiting for workers: the queue at {url} is full; the scan goes on as they take pages"
                        ),
                        json!({"event": "waiting_for_workers", "url": url}),
                    );
                } else {
                    status.show(
                        "the queue took the page; scanning on".into(),
                        json!({"event": "queue_resumed"}),
                    );
                }
            })
        };
        let job = producer
            .start_job(
                &self.name,
                self.settings,
                JobOptions {
                    png: true,
                    on_wait: Some(on_wait),
                },
            )
            .map_err(|e| anyhow!(e))?;
        // Workers hear of a cancel through the job's state (Ctrl-C: the first press).
        {
            let job = job.clone();
            let hook = cancel.token().on_cancel(move || {
                let _ = job.cancel();
            });
            std::mem::forget(hook);
        }
        let mut opts = PipelineOptions::new(Format::Pnm);
        opts.stages = vec![Arc::new(PublishStage::new(job.clone()))];
        // The pages in flight bound what waits for a full queue: then the driver waits.
        opts.pages_in_flight = Some(2);
        opts.queue_bytes = 256 * 1024;
        opts.cancel = Some(cancel.clone());
        let page_done = after.clone();
        opts.page_done = Some(Arc::new(move |page, hr| page_done.page_done(page, hr)));
        after.set_staged(None);
        let pipeline = Pipeline::new(Memory::default(), opts).map_err(|e| anyhow!(e))?;
        Ok(Arc::new(QueueOutput {
            job,
            pipeline,
            path: self.path,
            cancel: cancel.clone(),
            status,
            summary: Mutex::new(Summary::default()),
        }))
    }
}

impl QueueOutput {
    fn error(&self, page: Option<u32>, message: String) -> OutputError {
        OutputError {
            page,
            path: self.path.clone(),
            error: EncodeError::Stage {
                hresult: wia::E_FAIL,
                message,
            },
        }
    }

    /// Ends the job and waits for its document (see the module docs).
    fn finish(&self, transfer: HResult) -> OutputReport {
        let report = self.pipeline.finish(transfer);
        let mut out = OutputReport::default();
        for e in report.errors {
            out.errors.push(self.error(e.page, e.error.to_string()));
        }
        let published = self.job.published();
        let cancelled = transfer == wia::S_FALSE || self.cancel.is_cancelled();
        if cancelled || published == 0 || !out.errors.is_empty() {
            // Nothing to assemble: workers drop what they have of it.
            let _ = self.job.cancel();
            out.discarded = published;
            self.status.done();
            return out;
        }
        if let Err(e) = self.job.end() {
            out.errors.push(self.error(None, e.to_string()));
            return out;
        }
        let started = Instant::now();
        let document = {
            let cancel = self.cancel.clone();
            let stop = move || cancel.is_cancelled();
            let mut progress = |p: Progress| {
                self.status.show(
                    progress_text(&p),
                    json!({
                        "event": "progress",
                        "published": p.published,
                        "queued": p.queued,
                        "in_work": p.in_work,
                        "done": p.done,
                    }),
                );
                self.summary
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .progress
                    .push(json!({
                        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                        "published": p.published,
                        "queued": p.queued,
                        "in_work": p.in_work,
                        "done": p.done,
                    }));
            };
            self.job.wait_document(&stop, &mut progress)
        };
        self.status.done();
        let mut summary = self.summary();
        summary.wait_seconds = started.elapsed().as_secs_f64();
        let docs = match document {
            Ok(docs) => docs,
            Err(ProducerError::Cancelled) => {
                summary.interrupted = true;
                out.discarded = published;
                let why = "interrupted while the workers processed the pages; the job is cancelled";
                out.errors.push(self.error(None, why.into()));
                return out;
            }
            Err(e) => {
                out.errors.push(self.error(None, e.to_string()));
                return out;
            }
        };
        let mut documents = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            // Named as a local scan names them: -o, then -2, -3... before the extension.
            let path = document_path(&self.path, i as u32 + 1);
            if let Err(source) = write_atomically(&path, &doc.bytes) {
                out.errors.push(OutputError {
                    page: None,
                    path: path.clone(),
                    error: EncodeError::Save { path, source },
                });
                return out;
            }
            documents.push(json!({
                "file": path.display().to_string(),
                "name": doc.done.name,
                "object": doc.done.object,
                "pages": doc.done.pages,
                "size": doc.done.size,
                "sha256": doc.done.sha256,
            }));
            out.files.push(path);
            out.pages += doc.done.pages;
        }
        summary.pages = out.pages;
        summary.documents = documents;
        out.discarded = published.saturating_sub(out.pages);
        out
    }

    fn summary(&self) -> std::sync::MutexGuard<'_, Summary> {
        self.summary.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The job on the queue for `--json`: server, job id, pages published, how long the
    /// scan waited for workers, the document, and progress while waiting.
    fn report(&self) -> Value {
        let s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
        let (waits, waited) = self.job.waited();
        json!({
            "url": self.job.url(),
            "job": self.job.id(),
            "published": self.job.published(),
            "waited_for_workers": { "times": waits, "seconds": round(waited.as_secs_f64()) },
            "documents": s.documents,
            "assembly_seconds": round(s.wait_seconds),
            "progress": s.progress,
        })
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// "3 queued, 2 in work, 5/10 done".
fn progress_text(p: &Progress) -> String {
    format!(
        "workers: {} queued, {} in work, {}/{} done",
        p.queued, p.in_work, p.done, p.published
    )
}

/// The name of document `doc` of `-o path`: the name itself, then `-2`, `-3`... before the
/// extension (as `scanwire-output` names a local scan's documents).
fn document_path(path: &Path, doc: u32) -> PathBuf {
    if doc <= 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{doc}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{doc}"),
    };
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through a hidden temporary file in the same directory, renamed
/// when complete: nothing half-written is ever under the final name.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
