//! Workers on a real 3-node JetStream cluster (`nats-server` on loopback): the document a job
//! gives through 1, 2 and 3 worker processes is byte for byte the local scan's; a worker
//! killed with SIGKILL mid-page and a NATS node killed mid-job lose nothing and do no page
//! twice; bad messages are rejected with a log line and the worker goes on.
//!
//! Worker processes are this test binary run again with `worker_process` and
//! `SCANWIRE_QUEUE_TEST_WORKER` set (the test is a no-op otherwise).

use async_nats::jetstream::message::PublishMessage;
use scanwire_core::device::PageInfo;
use scanwire_imaging::{Blank, Processing};
use scanwire_ocr::{OcrConfig, OcrPool};
use scanwire_queue::wire::sha256_hex;
use scanwire_queue::{
    names, DocumentDone, JobSettings, PageCount, Queue, QueueConfig, Worker, WorkerOptions,
};
use scanwire_testkit::nats::NatsCluster;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;

const WORKER_ENV: &str = "SCANWIRE_QUEUE_TEST_WORKER";
const ACK_WAIT: Duration = Duration::from_secs(3);

/// One cluster test at a time: each starts three servers and workers on a small machine.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn config() -> QueueConfig {
    QueueConfig {
        replicas: 3,
        max_bytes: 256 << 20,
    }
}

/// Publishes the pages as a producer does (count open while scanning), then ends the job.
async fn produce(q: &Queue, job: &str, pages: &[(PageInfo, Vec<u8>)], s: &JobSettings) {
    q.start_job(job).await.unwrap();
    for (i, (info, data)) in pages.iter().enumerate() {
        let m = message(job, i as u32 + 1, PageCount::OPEN, s, info, data);
        q.publish_page(&m, data).await.unwrap();
    }
    q.end_job(job, &[(1, pages.len() as u32)]).await.unwrap();
}

/// Waits until document 1 of `job` is written; its events.
async fn written(q: &Queue, job: &str, timeout: Duration) -> Vec<DocumentDone> {
    let deadline = Instant::now() + timeout;
    let key = names::written_key(job, 1);
    loop {
        if let Ok(Some(v)) = q.buckets().written.get(key.as_str()).await {
            return serde_json::from_slice::<Vec<serde_json::Value>>(&v)
                .unwrap()
                .into_iter()
                .map(|e| DocumentDone::decode(e.to_string().as_bytes()).unwrap())
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "document 1 of {job} not written after {timeout:?} ({} pages done)",
            q.pages_done(job, 1).await.unwrap_or(0)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The done events of `job` on the done stream (each must come once). Read message by
/// message from the stream leader, retried while a killed node's leadership moves.
async fn events(q: &Queue, job: &str) -> Vec<DocumentDone> {
    for _ in 0..20 {
        if let Ok(v) = try_events(q, job).await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("cannot read the done stream");
}

async fn try_events(q: &Queue, job: &str) -> Result<Vec<DocumentDone>, async_nats::Error> {
    let mut stream = q.jetstream().get_stream(names::DONE_STREAM).await?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if state.messages == 0 {
            break;
        }
        let m = stream.get_raw_message(seq).await?;
        let e = DocumentDone::decode(&m.payload).unwrap();
        if e.job == job {
            out.push(e);
        }
    }
    Ok(out)
}

/// Checks the job's one document against the local run and returns it.
async fn check_document(q: &Queue, job: &str, local: &[u8], timeout: Duration) {
    let done = written(q, job, timeout).await;
    assert_eq!(done.len(), 1, "{done:?}");
    let pdf = q
        .document(&done[0].object)
        .await
        .unwrap()
        .expect("the document");
    assert_eq!(done[0].size, pdf.len() as u64);
    assert_eq!(done[0].sha256, sha256_hex(&pdf));
    assert_eq!(done[0].name, "scan.pdf");
    assert!(
        pdf == local,
        "{job}: the queue's document ({} bytes, {}) differs from the local run's ({} bytes, {})",
        pdf.len(),
        sha256_hex(&pdf),
        local.len(),
        sha256_hex(local)
    );
    let ev = events(q, job).await;
    assert_eq!(ev, done, "one done event per file, once");
}

/// A worker process (this binary again), its stderr lines on a channel.
struct WorkerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl WorkerProcess {
    fn start(url: &str, name: &str) -> WorkerProcess {
        Self::start_with(url, name, ACK_WAIT)
    }

    fn start_with(url: &str, name: &str, ack_wait: Duration) -> WorkerProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "worker_process",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(WORKER_ENV, url)
            .env("SCANWIRE_QUEUE_TEST_WORKER_NAME", name)
            .env(
                "SCANWIRE_QUEUE_TEST_ACK_WAIT_MS",
                ack_wait.as_millis().to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let w = WorkerProcess { child, lines, log };
        // Set up before the next one starts: fewer stream updates racing on the cluster.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match w.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(l) if l.ends_with(": ready") => break,
                _ => assert!(
                    Instant::now() < deadline,
                    "worker {name} not ready:\n{}",
                    w.log().join("\n")
                ),
            }
        }
        w
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The worker process's body: runs only when this binary was started as a worker.
#[test]
fn worker_process() {
    let Ok(url) = std::env::var(WORKER_ENV) else {
        return;
    };
    let name = std::env::var("SCANWIRE_QUEUE_TEST_WORKER_NAME").unwrap_or("worker".into());
    let ack_wait = std::env::var("SCANWIRE_QUEUE_TEST_ACK_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(ACK_WAIT, Duration::from_millis);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let q = Queue::connect(&url, &name, &config()).await.unwrap();
        let w = Worker::new(
            q,
            WorkerOptions {
                name: name.clone(),
                concurrency: 1,
                ack_wait,
                max_deliver: 5,
            },
        );
        eprintln!("{name}: ready");
        w.run().await.unwrap();
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Lines of every worker's log that say a page was stored, per page key.
fn stored_counts(workers: &[WorkerProcess]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for w in workers {
        for l in w.log() {
            if let Some((_, rest)) = l.split_once("stored page ") {
                let key = rest.split_whitespace().next().unwrap_or_default();
                *m.entry(key.to_string()).or_default() += 1;
            }
        }
    }
    m
}

#[test]
fn twenty_pages_through_one_two_and_three_worker_processes() {
    let _serial = serial();
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let req = request(20, 100, "6,13");
    let processing = Processing {
        deskew: true,
        blank: Blank::Skip,
        ..Processing::default()
    };
    let pages = raw_pages(&req);
    assert_eq!(pages.len(), 20);
    let local = local_pdf(&req, &processing, None);
    let s = settings(&processing, None);
    let rt = runtime();
    let q = rt
        .block_on(Queue::connect(&cluster.url(), "producer", &config()))
        .unwrap();
    for n in 1..=3 {
        let job = format!("twenty-{n}");
        let started = Instant::now();
        let workers: Vec<_> = (0..n)
            .map(|i| WorkerProcess::start(&cluster.url(), &format!("w{i}")))
            .collect();
        rt.block_on(async {
            produce(&q, &job, &pages, &s).await;
            check_document(&q, &job, &local, Duration::from_secs(120)).await;
            assert_eq!(q.pages_done(&job, 1).await.unwrap(), 20);
        });
        let counts = stored_counts(&workers);
        assert_eq!(counts.len(), 20, "{counts:?}");
        assert!(
            counts.values().all(|&c| c == 1),
            "a page done twice: {counts:?}"
        );
        if n > 1 {
            let busy = workers
                .iter()
                .filter(|w| w.log().iter().any(|l| l.contains("stored page")))
                .count();
            eprintln!("{n} workers: {busy} took pages");
        }
        eprintln!("{n} worker(s): 20 pages in {:?}", started.elapsed());
    }
}

#[test]
fn a_worker_killed_mid_page_loses_nothing_and_ocr_text_survives() {
    let _serial = serial();
    let pool = match OcrPool::new(&OcrConfig::new("eng").unwrap(), 1) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            scanwire_testkit::peer_missing(&format!("needs Tesseract with English ({e})"));
            return;
        }
    };
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let req = request(3, 150, "");
    let processing = Processing {
        deskew: true,
        ..Processing::default()
    };
    let pages = raw_pages(&req);
    let local = local_pdf(&req, &processing, Some(pool));
    assert!(
        local.windows(13).any(|w| w == b"GlyphLessFont"),
        "the local run made a text layer"
    );
    let s = settings(&processing, Some("eng"));
    let rt = runtime();
    let q = rt
        .block_on(Queue::connect(&cluster.url(), "producer", &config()))
        .unwrap();
    // An ack wait shorter than a page's OCR: only the progress acknowledgements keep a page
    // from going to the other worker while it is recognised.
    let ack_wait = Duration::from_secs(1);
    let mut workers = vec![
        WorkerProcess::start_with(&cluster.url(), "w0", ack_wait),
        WorkerProcess::start_with(&cluster.url(), "w1", ack_wait),
    ];
    rt.block_on(produce(&q, "ocr", &pages, &s));
    // Kill the first worker to start on a page as soon as it does (OCR takes seconds).
    let deadline = Instant::now() + Duration::from_secs(60);
    let victim = 'found: loop {
        for (i, w) in workers.iter().enumerate() {
            while let Ok(l) = w.lines.try_recv() {
                if l.contains("processing page") {
                    break 'found i;
                }
            }
        }
        assert!(Instant::now() < deadline, "no worker took a page");
        std::thread::sleep(Duration::from_millis(10));
    };
    workers[victim].kill();
    let killed_at = Instant::now();
    rt.block_on(check_document(&q, "ocr", &local, Duration::from_secs(120)));
    let counts = stored_counts(&workers);
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(
        counts.values().all(|&c| c == 1),
        "a page done twice: {counts:?}"
    );
    let survivor = workers[1 - victim].log();
    let longest = survivor
        .iter()
        .filter_map(|l| {
            l.split_once(" after ")?
                .1
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .fold(0.0, f64::max);
    eprintln!(
        "the victim was killed mid-page; the document was complete {:?} later; the longest \
         page took {longest:.2} s with an ack wait of {ack_wait:?}",
        killed_at.elapsed()
    );
    if longest <= ack_wait.as_secs_f64() {
        eprintln!("(no page outlasted the ack wait on this machine: progress went untested)");
    }
}

#[test]
fn a_nats_node_killed_mid_job_loses_nothing() {
    let _serial = serial();
    let Some(mut cluster) = NatsCluster::start(3) else {
        return;
    };
    let req = request(20, 100, "4");
    let processing = Processing {
        deskew: true,
        blank: Blank::Skip,
        ..Processing::default()
    };
    let pages = raw_pages(&req);
    let local = local_pdf(&req, &processing, None);
    let s = settings(&processing, None);
    let rt = runtime();
    let url = cluster.url();
    let (q, workers) = rt.block_on(async {
        let q = Queue::connect(&url, "producer", &config()).await.unwrap();
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let q = q.clone();
                Worker::new(
                    q,
                    WorkerOptions {
                        name: format!("t{i}"),
                        concurrency: 1,
                        ack_wait: ACK_WAIT,
                        max_deliver: 10,
                    },
                )
            })
            .collect();
        (q, workers)
    });
    let running: Vec<_> = workers.iter().map(|w| rt.spawn(w.clone().run())).collect();
    rt.block_on(async {
        q.start_job("node").await.unwrap();
        for (i, (info, data)) in pages.iter().enumerate() {
            let m = message("node", i as u32 + 1, PageCount::Known(20), &s, info, data);
            q.publish_page(&m, data).await.unwrap();
        }
        // Some pages done, then a node dies.
        while q.pages_done("node", 1).await.unwrap() < 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    cluster.kill_node(0);
    rt.block_on(async {
        check_document(&q, "node", &local, Duration::from_secs(120)).await;
        assert_eq!(q.pages_done("node", 1).await.unwrap(), 20);
    });
    cluster.restart_node(0);
    for w in &workers {
        w.stop_handle().stop();
    }
    let stats: Vec<_> = running
        .into_iter()
        .map(|r| rt.block_on(r).unwrap().unwrap())
        .collect();
    // While the node's connections move, progress and acknowledgements can be lost, so a
    // page may be processed twice (stored under the same name: one result); what must hold
    // is above: 20 pages done, the local run's document, one event.
    let stored: u64 = stats.iter().map(|s| s.pages).sum();
    let again: u64 = stats.iter().map(|s| s.already_done).sum();
    eprintln!("node killed: pages stored {stored} times, {again} redeliveries found done");
    assert_eq!(
        stats.iter().map(|s| s.rejected).sum::<u64>(),
        0,
        "{stats:?}"
    );
}

#[test]
fn bad_messages_are_rejected_with_a_log_line_and_the_worker_goes_on() {
    let _serial = serial();
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let req = request(1, 100, "");
    let pages = raw_pages(&req);
    let (info, data) = &pages[0];
    let processing = Processing::default();
    let local = local_pdf(&req, &processing, None);
    let s = settings(&processing, None);
    let rt = runtime();
    let mut worker = WorkerProcess::start(&cluster.url(), "w");
    rt.block_on(async {
        let q = Queue::connect(&cluster.url(), "producer", &config())
            .await
            .unwrap();
        let js = q.jetstream().clone();
        let raw = |subject: String, payload: Vec<u8>| {
            let js = js.clone();
            async move {
                js.send_publish(subject, PublishMessage::build().payload(payload.into()))
                    .await
                    .unwrap()
                    .await
                    .unwrap();
            }
        };
        // A wrong checksum: the image is there, the message's SHA-256 is another's.
        q.start_job("bad").await.unwrap();
        let mut m = message("bad", 1, PageCount::Known(1), &s, info, data);
        let mut reader = data.as_slice();
        q.buckets()
            .pages
            .put(m.image.object.as_str(), &mut reader)
            .await
            .unwrap();
        m.image.sha256 = sha256_hex(b"another page");
        raw(names::page_subject("bad", 1, 1), m.encode()).await;
        // An unknown version.
        let mut v: serde_json::Value = serde_json::from_slice(&m.encode()).unwrap();
        v["version"] = 99.into();
        raw(
            names::page_subject("bad", 1, 2),
            serde_json::to_vec(&v).unwrap(),
        )
        .await;
        // Not JSON at all.
        raw(
            names::page_subject("bad", 1, 3),
            b"\xff\x00garbage".to_vec(),
        )
        .await;
        // A missing object.
        let mut m2 = message("bad", 1, PageCount::Known(1), &s, info, data);
        m2.image.object = "bad/1/nothing".into();
        raw(names::page_subject("bad", 1, 1), m2.encode()).await;
        // A page of a cancelled job.
        q.start_job("gone").await.unwrap();
        q.publish_page(
            &message("gone", 1, PageCount::Known(1), &s, info, data),
            data,
        )
        .await
        .unwrap();
        q.cancel_job("gone").await.unwrap();
        // Then a good job: the worker is still there and does it.
        q.start_job("good").await.unwrap();
        let good = message("good", 1, PageCount::Known(1), &s, info, data);
        q.publish_page(&good, data).await.unwrap();
        check_document(&q, "good", &local, Duration::from_secs(60)).await;
    });
    assert!(
        worker.alive(),
        "the worker crashed:\n{}",
        worker.log().join("\n")
    );
    let log = worker.log().join("\n");
    let version = format!(
        "rejected page scanwire.pages.bad.1.2: message version 99 is not supported (this worker reads version {})",
        scanwire_queue::VERSION
    );
    for expected in [
        "rejected page scanwire.pages.bad.1.1: bad message field `image.sha256`: the object's SHA-256 is",
        version.as_str(),
        "rejected page scanwire.pages.bad.1.3: not a scanwire queue message",
        "rejected page scanwire.pages.bad.1.1: its image bad/1/nothing is not in the scanwire-pages bucket",
        "rejected page scanwire.pages.gone.1.1: job gone was cancelled",
    ] {
        assert!(log.contains(expected), "no line {expected:?} in:\n{log}");
    }
}
