//! `scanwire worker --queue URL`: takes pages that `scan --queue` published, runs each job's
//! stages here (`scanwire_queue::Worker`), and assembles documents whose pages are all done.
//!
//! Throughput goes to stdout: with `--json` one JSON object per `--interval` and a last one
//! at the end (`"final": true`); otherwise a line when the pages done changed. Ctrl-C
//! (SIGINT, SIGTERM): the first stops taking pages and finishes the ones under way; a second
//! abandons them (they are not acknowledged, so the queue gives them to another worker after
//! its ack wait: nothing is lost or done twice). Either way the exit status is 130.

use crate::args::WorkerArgs;
use crate::exit::{self, usage};
use anyhow::{anyhow, bail, Context, Result};
use scanwire_queue::{open_queue, Worker, WorkerOptions, WorkerStats};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

pub fn worker(args: &WorkerArgs) -> Result<i32> {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        bail!(usage(format!(
            "--interval {}: seconds must be a number > 0",
            args.interval
        )));
    }
    let concurrency = match args.threads {
        Some(0) => bail!(usage("--threads 0: at least one page at a time")),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    scanwire_queue::server_addrs(&args.queue).map_err(usage)?;
    // The worker's log: warnings and errors (a message rejected, a page tried again).
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let max_bytes = crate::queue::max_bytes_from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("scanwire-worker")
        .build()
        .context("cannot start the worker's runtime")?;
    let queue = rt
        .block_on(open_queue(&args.queue, max_bytes))
        .map_err(|e| anyhow!(e))?;
    let name = worker_name();
    let worker = Worker::new(
        queue,
        WorkerOptions {
            name: name.clone(),
            concurrency,
            ..WorkerOptions::default()
        },
    );

    // Ctrl-C: see the module docs.
    let presses = Arc::new(AtomicU32::new(0));
    let (abandon, abandoned) = mpsc::channel::<()>();
    {
        let (presses, stop) = (presses.clone(), worker.stop_handle());
        let quiet = args.json;
        ctrlc::set_handler(move || match presses.fetch_add(1, Ordering::SeqCst) {
            0 => {
                if !quiet {
                    eprintln!(
                        "scanwire worker: finishing the pages under way (Ctrl-C again abandons them to other workers)"
                    );
                }
                stop.stop();
            }
            1 => {
                let _ = abandon.send(());
            }
            _ => {}
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    if !args.json {
        eprintln!(
            "scanwire worker {name}: taking pages from {} ({concurrency} at a time)",
            args.queue
        );
    }

    let (finished, done) = mpsc::channel::<Result<WorkerStats, String>>();
    {
        let worker = worker.clone();
        std::thread::Builder::new()
            .name("scanwire-worker-run".into())
            .spawn(move || {
                let r = rt.block_on(worker.run()).map_err(|e| e.to_string());
                let _ = finished.send(r);
                // The runtime goes with this thread; pages abandoned by a second Ctrl-C are
                // left to the queue's redelivery.
            })
            .context("cannot start the worker")?;
    }

    let interval = Duration::from_secs_f64(args.interval);
    let mut reporter = Reporter::new(args.json);
    let outcome = loop {
        match done.recv_timeout(interval.min(Duration::from_millis(100))) {
            Ok(r) => break Some(r),
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if abandoned.try_recv().is_ok() {
            // The second Ctrl-C: the pages under way are left unacknowledged.
            reporter.report(&worker.stats(), true, Some("abandoned the pages under way"));
            return Ok(exit::INTERRUPTED);
        }
        if reporter.due(interval) {
            reporter.report(&worker.stats(), false, None);
        }
    };
    let stats = match outcome {
        Some(Ok(stats)) => stats,
        Some(Err(e)) => {
            reporter.report(&worker.stats(), true, Some(&e));
            bail!("{}: {e}", args.queue);
        }
        None => bail!("{}: the worker stopped without a word", args.queue),
    };
    reporter.report(&stats, true, None);
    Ok(if presses.load(Ordering::SeqCst) > 0 {
        exit::INTERRUPTED
    } else {
        0
    })
}

/// `host-pid`: which worker did what, in logs and reports.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// The resident set size of this process, from `/proc/self/status` (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Throughput per interval: what the worker did since the last report.
struct Reporter {
    json: bool,
    last: Instant,
    last_pages: u64,
}

impl Reporter {
    fn new(json: bool) -> Self {
        Reporter {
            json,
            last: Instant::now(),
            last_pages: 0,
        }
    }

    fn due(&self, interval: Duration) -> bool {
        self.last.elapsed() >= interval
    }

    fn report(&mut self, stats: &WorkerStats, last: bool, note: Option<&str>) {
        let seconds = self.last.elapsed().as_secs_f64();
        let pages = stats.pages.saturating_sub(self.last_pages);
        let per_minute = if seconds > 0.0 {
            pages as f64 * 60.0 / seconds
        } else {
            0.0
        };
        let changed = pages > 0;
        self.last = Instant::now();
        self.last_pages = stats.pages;
        if self.json {
            let mut v = serde_json::to_value(stats).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("interval_seconds".into(), json!(round(seconds)));
                o.insert("interval_pages".into(), json!(pages));
                o.insert("interval_pages_per_minute".into(), json!(round(per_minute)));
                o.insert("rss_bytes".into(), json!(rss_bytes()));
                o.insert("final".into(), json!(last));
                if let Some(n) = note {
                    o.insert("note".into(), json!(n));
                }
            }
            outln!("{v}");
        } else if changed || last {
            outln!(
                "{}: {} pages ({:.1}/min lately, {:.1}/min overall), {} documents, {} rejected{}",
                stats.worker,
                stats.pages,
                per_minute,
                stats.pages_per_minute,
                stats.documents,
                stats.rejected,
                note.map(|n| format!("; {n}")).unwrap_or_default()
            );
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
