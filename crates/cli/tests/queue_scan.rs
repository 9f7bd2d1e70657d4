//! `scan --queue` and `scanwire worker` as users run them: the real binary against a real
//! 3-node `nats-server` cluster on loopback (`scanwire_testkit::nats`). The PDF the workers
//! assemble is the PDF a local scan with the same stages writes, byte for byte, with one
//! worker and with two; a full queue pauses the scan until a worker takes pages; a worker
//! reports its throughput as JSON lines and stops on Ctrl-C with 130; bad URLs name the
//! URL and what failed.

mod common;

use common::worker::Worker;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scanwire_testkit::nats::NatsCluster;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The PDF's creation date for every run, so local and queued PDFs can be compared.
const EPOCH: &str = "1700000000";

/// The scan every test makes: 5 sheets from the feeder, skewed, the third blank, at a
/// resolution that keeps the cluster's work small; deskewed and blank pages skipped.
const SCAN: &[&str] = &[
    "scan",
    "--source",
    "adf",
    "--pages",
    "5",
    "--mode",
    "gray",
    "--resolution",
    "75",
    "--set",
    "skew=2",
    "--set",
    "blank-sheets=3",
    "--deskew",
    "--blank",
    "skip",
];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = SCAN.to_vec();
    v.extend_from_slice(extra);
    v
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The local scan's PDF (the reference).
fn local_pdf(dir: &Path) -> Vec<u8> {
    let o = command(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(args(&["-o", "local.pdf"]))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::read(dir.join("local.pdf")).unwrap()
}

/// `scan --queue` into `out`, with its JSON report.
fn queued_scan(url: &str, out: &str, dir: &Path) -> (Vec<u8>, serde_json::Value) {
    let o = command(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(args(&["--queue", url, "--json", "-o", out]))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (std::fs::read(dir.join(out)).unwrap(), report)
}

#[test]
fn bad_urls_name_the_url_and_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("nats://127.0.0.1:{}", closed_port());
    let o = scanwire(&args(&["--queue", &url, "-o", "doc.pdf"]), d);
    exits_with(
        &o,
        1,
        &format!("no NATS server at {url}: connection refused"),
    );
    assert!(!d.join("doc.pdf").exists());
    let o = scanwire(&["worker", "--queue", &url], d);
    exits_with(
        &o,
        1,
        &format!("no NATS server at {url}: connection refused"),
    );
    let o = scanwire(
        &args(&["--queue", "http://127.0.0.1:1", "-o", "doc.pdf"]),
        d,
    );
    exits_with(&o, 2, "is not a NATS server URL");
    let o = scanwire(&["worker", "--queue", "nats://127.0.0.1:99999"], d);
    exits_with(&o, 2, "is not a NATS server URL");
    let o = scanwire(&["scan", "--queue", &url, "-o", "page.png"], d);
    exits_with(&o, 2, "--queue: the workers assemble one PDF");
    let o = scanwire(
        &args(&["--queue", &url, "--auto-rotate", "-o", "doc.pdf"]),
        d,
    );
    exits_with(&o, 2, "--auto-rotate does not work with --queue");
}

#[test]
fn one_and_two_workers_give_the_local_pdf_byte_for_byte() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let local = local_pdf(d);

    let one = Worker::start(&url, d);
    let (pdf, report) = queued_scan(&url, "one.pdf", d);
    assert!(
        pdf == local,
        "one worker: the PDF differs from the local one"
    );
    let q = &report["queue"];
    assert_eq!(q["published"], 5, "{report}");
    assert_eq!(q["documents"][0]["pages"], 4, "{report}");
    assert_eq!(report["pages"], 4, "{report}");
    assert_eq!(q["progress"].as_array().unwrap().last().unwrap()["done"], 5);

    let two = Worker::start(&url, d);
    let (pdf, _) = queued_scan(&url, "two.pdf", d);
    assert!(
        pdf == local,
        "two workers: the PDF differs from the local one"
    );

    // The blank sheet separating documents: two files, named as a local scan names them.
    let split = |extra: &[&str]| -> Vec<String> {
        args(extra)
            .iter()
            .map(|a| if *a == "skip" { "split" } else { a }.to_string())
            .collect()
    };
    for (out, queue) in [
        ("split-local.pdf", None),
        ("split-q.pdf", Some(url.as_str())),
    ] {
        let mut a = split(&["-o", out]);
        if let Some(u) = queue {
            a.extend(["--queue".to_string(), u.to_string()]);
        }
        let o = command(d)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .args(&a)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for (l, q) in [
        ("split-local.pdf", "split-q.pdf"),
        ("split-local-2.pdf", "split-q-2.pdf"),
    ] {
        let local = std::fs::read(d.join(l)).unwrap();
        let queued = std::fs::read(d.join(q)).unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(local == queued, "{q} differs from {l}");
    }

    // Each worker stops on Ctrl-C with 130, having said what it did as JSON lines.
    let mut pages = 0;
    for w in [one, two] {
        let (lines, err) = w.stop();
        let last = lines
            .last()
            .unwrap_or_else(|| panic!("no JSON line; stderr: {err}"));
        for key in [
            "pages",
            "pages_per_minute",
            "interval_seconds",
            "interval_pages",
            "rss_bytes",
        ] {
            assert!(last.get(key).is_some(), "{key} missing in {last}");
        }
        pages += last["pages"].as_u64().unwrap();
    }
    // 5 pages in each of three jobs, each processed once.
    assert_eq!(pages, 15);
}

#[test]
fn a_full_queue_pauses_the_scan_until_a_worker_takes_pages() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let local = local_pdf(d);
    // Room for two of these pages (75 dpi gray, as PNG on the wire: about 0.35-0.45 MB each),
    // not three.
    let mut scan = command(d)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("SCANWIRE_QUEUE_MAX_BYTES", "1000000")
        .args(args(&["--queue", &url, "--json", "-o", "full.pdf"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // No worker yet: the scan fills the queue and waits, saying so.
    let (tx, said) = mpsc::channel();
    let err = scan.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    loop {
        if let Ok(l) = said.recv_timeout(Duration::from_millis(100)) {
            let waiting = l.contains("\"event\":\"waiting_for_workers\"");
            lines.push(l);
            if waiting {
                break;
            }
        }
        assert!(
            scan.try_wait().unwrap().is_none(),
            "the scan ended without waiting for workers: {lines:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the scan never said it waits for workers: {lines:?}"
        );
    }
    // It stays paused while no worker comes.
    std::thread::sleep(Duration::from_secs(2));
    assert!(scan.try_wait().unwrap().is_none(), "the scan did not wait");
    let worker = Worker::start(&url, d);
    let mut out = String::new();
    scan.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = scan.wait().unwrap();
    lines.extend(said.try_iter());
    assert_eq!(status.code(), Some(0), "{lines:?}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let waited = &report["queue"]["waited_for_workers"];
    assert!(waited["times"].as_u64().unwrap() >= 1, "{report}");
    assert!(waited["seconds"].as_f64().unwrap() >= 2.0, "{report}");
    assert!(
        std::fs::read(d.join("full.pdf")).unwrap() == local,
        "the paused scan's PDF differs from the local one"
    );
    worker.stop();
}

#[test]
fn ocr_on_a_worker_gives_the_local_searchable_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ocr: &[&str] = &[
        "scan",
        "--source",
        "adf",
        "--pages",
        "2",
        "--mode",
        "gray",
        "--resolution",
        "150",
        "--set",
        "content=text",
        "--ocr",
        "eng",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        ocr.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let local = command(d)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(with(&["-o", "local.pdf"]))
        .output()
        .unwrap();
    if tesseract_missing(&stderr(&local)) {
        return;
    }
    assert_eq!(local.status.code(), Some(0), "{}", stderr(&local));
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let worker = Worker::start(&url, d);
    let o = command(d)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(with(&["--queue", &url, "-o", "queued.pdf"]))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let queued = std::fs::read(d.join("queued.pdf")).unwrap();
    assert!(
        queued == std::fs::read(d.join("local.pdf")).unwrap(),
        "the workers' searchable PDF differs from the local one"
    );
    if scanwire_testkit::have("pdftotext", "-v") {
        let text = pdftotext(&d.join("queued.pdf"));
        assert!(text.split_whitespace().count() > 50, "{text}");
    }
    worker.stop();
}

#[test]
fn a_cancelled_scan_leaves_pages_the_workers_reject() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // No worker: the scan publishes its pages and waits for the document.
    let mut scan = command(d)
        .args(args(&["--queue", &url, "--json", "-o", "cancelled.pdf"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = scan.stderr.take().unwrap();
    let (tx, said) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    loop {
        match said.recv_timeout(Duration::from_secs(1)) {
            Ok(l) if l.contains("\"event\":\"progress\"") => break,
            _ => assert!(
                start.elapsed() < Duration::from_secs(120),
                "the scan never waited for its document"
            ),
        }
    }
    kill(Pid::from_raw(scan.id() as i32), Signal::SIGINT).unwrap();
    let status = scan.wait().unwrap();
    let lines: Vec<String> = said.try_iter().collect();
    assert_eq!(status.code(), Some(130), "{lines:?}");
    assert!(!d.join("cancelled.pdf").exists());
    // A worker that comes later rejects every page of the cancelled job, with a log line.
    let worker = Worker::start(&url, d);
    let last = worker.wait_for(Duration::from_secs(60), |v| {
        assert_eq!(v["pages"], 0, "{v}");
        v["rejected"] == 5
    });
    let (lines, err) = worker.stop();
    assert_eq!(last["rejected"], 5, "{last} {lines:?} {err}");
    assert!(err.contains("was cancelled"), "{err}");
}
