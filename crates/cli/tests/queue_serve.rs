//! `serve --queue` as a scanning desk runs it: the real binary serving the virtual scanner,
//! a real 3-node `nats-server` cluster on loopback (`scanwire_testkit::nats`), `scanwire
//! worker` processes, and eSCL clients on 127.0.0.1. A PDF job (as NAPS2, macOS or Mopria ask
//! for one) is processed by the workers and its document is the one a server without the
//! queue serves, byte for byte; a DELETE while the workers have it cancels the queue job; a
//! full queue makes the job wait for workers (ResourcesAreNotReady, `X-Scanwire-Reason`, the
//! web API's device events) and the scan goes on when a worker comes; jobs of single images
//! (what `scanwire scan -d http://…` and sane-airscan ask for) still run on the server.
//! Skipped without nats-server; failing then under SCANWIRE_REQUIRE_PEERS=1.

mod common;

use common::worker::Worker;
use common::*;
use scanwire_testkit::http::{request, Reply};
use scanwire_testkit::nats::NatsCluster;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The PDF's creation date for every server, so documents can be compared.
const EPOCH: &str = "1700000000";
const PWG: &str = "http://www.pwg.org/schemas/2010/12/sm";
const ESCL: &str = "http://schemas.hp.com/imaging/escl/2011/05/03";

/// Every server's feeder: 5 skewed sheets, the third blank.
const DEVICE: &[&str] = &[
    "--set",
    "sheets=5",
    "--set",
    "skew=2",
    "--set",
    "blank-sheets=3",
];

/// A PDF feeder job at 75 dpi gray with the sheet found and straightened and blank pages
/// removed: the processing the workers do.
fn pdf_settings() -> String {
    settings("application/pdf")
}

fn settings(format: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><scan:ScanSettings xmlns:pwg=\"{PWG}\" xmlns:scan=\"{ESCL}\">\
         <pwg:Version>2.0</pwg:Version><pwg:InputSource>Feeder</pwg:InputSource>\
         <scan:ColorMode>Grayscale8</scan:ColorMode><pwg:DocumentFormat>{format}</pwg:DocumentFormat>\
         <scan:DocumentFormatExt>{format}</scan:DocumentFormatExt>\
         <scan:XResolution>75</scan:XResolution><scan:YResolution>75</scan:YResolution>\
         <scan:Duplex>false</scan:Duplex><scan:AutoCrop>true</scan:AutoCrop>\
         <scan:BlankPageDetectionAndRemoval>true</scan:BlankPageDetectionAndRemoval></scan:ScanSettings>"
    )
}

/// A running `scanwire serve`, killed when dropped.
struct Serve {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
}

impl Serve {
    fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        let state = dir.join(format!("state-{}", extra.len()));
        let mut cmd = command(dir);
        cmd.env("SOURCE_DATE_EPOCH", EPOCH)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-isolate",
                "--state-dir",
            ])
            .arg(&state)
            .args(DEVICE)
            .args(extra)
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(1)) {
                Ok(l) => {
                    if let Some(url) = l.trim().strip_prefix("serving virtual at http://") {
                        let addr = url.split('/').next().unwrap().to_string();
                        return Serve { child, addr, lines };
                    }
                    seen.push(l);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait();
                    panic!("scanwire serve ended ({status:?}): {seen:?}");
                }
                Err(_) => assert!(
                    start.elapsed() < Duration::from_secs(90),
                    "serve did not start: {seen:?}"
                ),
            }
        }
    }

    /// What it said on stderr since the last look.
    fn said(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    fn http(&self, method: &str, path: &str, body: &str) -> Reply {
        http(&self.addr, method, path, body)
    }

    /// POST ScanJobs: the job's path.
    fn create(&self, xml: &str) -> String {
        let r = self.http("POST", "/eSCL/ScanJobs", xml);
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let loc = r.header("location").expect("a Location header");
        match loc.find("/eSCL/") {
            Some(i) => loc[i..].to_string(),
            None => loc.to_string(),
        }
    }

    /// NextDocument until 404, retrying 503 as eSCL clients do (sane-airscan after 1 s,
    /// NAPS2 after 2 s): the documents, in order.
    fn drain(&self, job: &str) -> Vec<Vec<u8>> {
        let mut docs = Vec::new();
        let start = Instant::now();
        loop {
            let r = self.http("GET", &format!("{job}/NextDocument"), "");
            match r.status {
                200 => docs.push(r.body),
                404 => return docs,
                503 => std::thread::sleep(Duration::from_secs(1)),
                s => panic!(
                    "NextDocument answered {s}: {}",
                    String::from_utf8_lossy(&r.body)
                ),
            }
            assert!(
                start.elapsed() < Duration::from_secs(240),
                "the job's documents did not come within 4 minutes"
            );
        }
    }

    /// The job's JobInfo as ScannerStatus lists it (its XML), and `X-Scanwire-Reason`.
    fn job_info(&self, job: &str) -> (String, Option<String>) {
        let r = self.http("GET", "/eSCL/ScannerStatus", "");
        let xml = String::from_utf8_lossy(&r.body).into_owned();
        let uuid = job.rsplit('/').next().unwrap();
        let info = xml
            .split("<pwg:JobInfo>")
            .find(|s| s.contains(uuid))
            .map(|s| s.split("</pwg:JobInfo>").next().unwrap().to_string())
            .unwrap_or_default();
        (info, r.header("x-scanwire-reason").map(str::to_string))
    }

    /// `/api/devices`' queue entries for the virtual scanner.
    fn queue_entries(&self) -> Vec<serde_json::Value> {
        let r = self.http("GET", "/api/devices", "");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["devices"][0]["queue"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The web API's device events (`GET /api/events`, SSE) as they come: each event's
/// `queue` entries for the virtual scanner.
fn queue_events(addr: &str) -> mpsc::Receiver<Vec<serde_json::Value>> {
    let (tx, rx) = mpsc::channel();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { break };
            // Chunk sizes between the event lines are not JSON: skipped.
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                continue;
            };
            let q = v["queue"].as_array().cloned().unwrap_or_default();
            if tx.send(q).is_err() {
                break;
            }
        }
    });
    rx
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close` (as sane-airscan sends them), the body
/// read whole (chunked or not).
fn http(addr: &str, method: &str, path: &str, body: &str) -> Reply {
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("Content-Type", "text/xml")]
    };
    let addr = addr.parse().expect("an address");
    request(
        addr,
        method,
        path,
        headers,
        body.as_bytes(),
        Duration::from_secs(60),
    )
}
/// The PDF a server without the queue serves for [`pdf_settings`].
fn local_pdf(dir: &Path) -> Vec<u8> {
    let local = Serve::start(dir, &[], &[]);
    let job = local.create(&pdf_settings());
    let docs = local.drain(&job);
    assert_eq!(docs.len(), 1, "one PDF from the local server");
    docs.into_iter().next().unwrap()
}

#[test]
fn a_pdf_job_through_one_and_two_workers_is_the_local_pdf_byte_for_byte() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let local = local_pdf(d);
    assert!(local.starts_with(b"%PDF"));

    let serve = Serve::start(d, &["--queue", &url], &[]);
    let events = queue_events(&serve.addr);
    let one = Worker::start(&url, d);
    let job = serve.create(&pdf_settings());
    let docs = serve.drain(&job);
    assert_eq!(docs.len(), 1);
    assert!(
        docs[0] == local,
        "one worker: the PDF differs from the local server's"
    );
    // The job completed; the web API reports where its pages went: 5 published (the blank
    // one is dropped on the worker), all done.
    let (info, _) = serve.job_info(&job);
    assert!(info.contains("Completed"), "{info}");
    assert!(info.contains("<pwg:ImagesCompleted>5<"), "{info}");
    let q = serve.queue_entries();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["published"], 5, "{q:?}");
    assert_eq!(q[0]["done"], 5, "{q:?}");
    assert_eq!(q[0]["finished"], true, "{q:?}");
    // The device events followed it: the job on its way, then done.
    let seen: Vec<Vec<serde_json::Value>> = events.try_iter().collect();
    assert!(
        seen.iter()
            .any(|q| q.first().is_some_and(|j| j["finished"] == false)),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|q| q
            .first()
            .is_some_and(|j| j["done"] == 5 && j["finished"] == true)),
        "{seen:?}"
    );

    let two = Worker::start(&url, d);
    let job = serve.create(&pdf_settings());
    let docs = serve.drain(&job);
    assert!(
        docs.len() == 1 && docs[0] == local,
        "two workers: the PDF differs"
    );
    let mut pages = 0;
    for w in [one, two] {
        let last = w.wait_for(Duration::from_secs(2), |_| false);
        w.stop();
        pages += last["pages"].as_u64().unwrap_or(0);
    }
    assert!(
        pages <= 10,
        "each of the two jobs' 5 pages processed once: {pages}"
    );
    // The server said where the work goes.
    let _ = serve.said();
}

#[test]
fn serve_ocr_on_a_worker_gives_the_local_searchable_pdf() {
    let langs = std::process::Command::new("tesseract")
        .arg("--list-langs")
        .output();
    if !langs.is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l == "eng")
    }) {
        scanwire_testkit::peer_missing("needs Tesseract with English");
        return;
    }
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `serve --ocr`: OCR runs here without the queue, on the worker with it.
    let local = Serve::start(d, &["--ocr", "eng"], &[]);
    let job = local.create(&pdf_settings());
    let want = local.drain(&job);
    drop(local);
    let serve = Serve::start(d, &["--ocr", "eng", "--queue", &url], &[]);
    let w = Worker::start(&url, d);
    let job = serve.create(&pdf_settings());
    let got = serve.drain(&job);
    assert_eq!(want.len(), 1);
    assert!(
        got == want,
        "the searchable PDF differs from the local server's"
    );
    w.stop();
}

#[test]
fn image_jobs_still_run_on_the_server() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // No worker runs: a PNG job (what our eSCL client and sane-airscan ask for) is served
    // by the server itself, the same bytes as without the queue.
    let local = Serve::start(d, &[], &[]);
    let job = local.create(&settings("image/png"));
    let want = local.drain(&job);
    drop(local);
    let serve = Serve::start(d, &["--queue", &url], &[]);
    let job = serve.create(&settings("image/png"));
    let got = serve.drain(&job);
    assert_eq!(got.len(), 4, "5 sheets, one blank removed");
    assert!(
        got == want,
        "the PNG pages differ from the server's without the queue"
    );
    assert!(serve.queue_entries().is_empty());

    // Our own eSCL client scans from it as from any eSCL scanner.
    let o = command(d)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args([
            "scan",
            "-d",
            &format!("http://{}/eSCL", serve.addr),
            "--source",
            "adf",
            "--mode",
            "gray",
            "--resolution",
            "75",
            "-o",
            "client.pdf",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(d.join("client.pdf"))
        .unwrap()
        .starts_with(b"%PDF"));
}

#[test]
fn a_deleted_job_cancels_its_queue_job() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let serve = Serve::start(d, &["--queue", &url], &[]);
    let events = queue_events(&serve.addr);
    // No worker: the pages wait in the queue, NextDocument answers 503 meanwhile.
    let job = serve.create(&pdf_settings());
    let start = Instant::now();
    loop {
        let r = serve.http("GET", &format!("{job}/NextDocument"), "");
        assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
        let q = serve.queue_entries();
        if q.first().is_some_and(|e| e["queued"] == 5) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{q:?}");
    }
    let (info, _) = serve.job_info(&job);
    assert!(info.contains("Processing"), "{info}");
    assert!(info.contains("<pwg:ImagesToTransfer>1<"), "{info}");
    // The web API's events say so too: 5 pages queued, none in work or done.
    let seen: Vec<Vec<serde_json::Value>> = events.try_iter().collect();
    assert!(
        seen.iter().any(|q| q.first().is_some_and(|j| {
            j["published"] == 5 && j["queued"] == 5 && j["in_work"] == 0 && j["done"] == 0
        })),
        "{seen:?}"
    );
    assert_eq!(serve.http("DELETE", &job, "").status, 200);
    assert_eq!(
        serve.http("GET", &format!("{job}/NextDocument"), "").status,
        410
    );
    let (info, _) = serve.job_info(&job);
    assert!(info.contains("Canceled"), "{info}");
    // A worker that comes now rejects every page of the cancelled job.
    let w = Worker::start(&url, d);
    let last = w.wait_for(Duration::from_secs(60), |v| v["rejected"] == 5);
    assert_eq!(last["rejected"], 5, "{last}");
    assert_eq!(last["pages"], 0, "{last}");
    w.stop();
}

#[test]
fn a_full_queue_makes_the_job_wait_for_workers() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let local = local_pdf(d);
    // Room for two of these pages (75 dpi gray, as PNG: about 0.35-0.45 MB each), not three.
    let serve = Serve::start(d, &["--queue", &url, "--queue-max-bytes", "1000000"], &[]);
    let job = serve.create(&pdf_settings());
    // The first NextDocument starts the job; the queue fills, and the scan waits.
    let start = Instant::now();
    let (info, reason) = loop {
        let r = serve.http("GET", &format!("{job}/NextDocument"), "");
        assert_eq!(r.status, 503);
        let (info, reason) = serve.job_info(&job);
        if info.contains("ResourcesAreNotReady") {
            break (info, reason);
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never waited: {info}"
        );
    };
    assert!(info.contains("Processing"), "{info}");
    let reason = reason.expect("X-Scanwire-Reason while waiting");
    assert!(reason.contains("waiting for workers"), "{reason}");
    let q = serve.queue_entries();
    assert_eq!(q[0]["waiting_for_workers"], true, "{q:?}");
    let r = serve.http("GET", "/api/devices", "");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let status = v["devices"][0]["status"].as_str().unwrap().to_string();
    assert!(status.contains("waiting for workers"), "{status}");
    // Paused: the scanner stops at the pages the queue could not take.
    std::thread::sleep(Duration::from_secs(2));
    let (info, _) = serve.job_info(&job);
    assert!(info.contains("ResourcesAreNotReady"), "{info}");
    // A worker takes pages: the scan goes on, and the document is the local one.
    let w = Worker::start(&url, d);
    let docs = serve.drain(&job);
    assert!(
        docs.len() == 1 && docs[0] == local,
        "the paused job's PDF differs"
    );
    let q = serve.queue_entries();
    assert_eq!(q[0]["waiting_for_workers"], false, "{q:?}");
    w.stop();
}

#[test]
fn bad_queue_urls_are_usage_errors_and_a_missing_server_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = scanwire(&["serve", "--queue", "http://127.0.0.1:4222"], d);
    exits_with(&o, 2, "is not a NATS server URL");
    let o = scanwire(
        &[
            "serve",
            "--queue",
            "nats://127.0.0.1:4222",
            "--queue-max-bytes",
            "lots",
        ],
        d,
    );
    exits_with(&o, 2, "--queue-max-bytes lots");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let o = scanwire(&["serve", "--listen", "127.0.0.1:0", "--queue", &url], d);
    exits_with(
        &o,
        1,
        &format!("no NATS server at {url}: connection refused"),
    );
}

#[test]
fn sane_airscan_scans_from_a_queue_server_as_from_a_local_one() {
    if !peers(true) {
        return;
    }
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // sane-airscan asks for PNG (it ignores PDF): its pages are served as they are scanned,
    // by the server, with the queue or without, and no worker is needed.
    let mut runs = Vec::new();
    for queue in [None, Some(url.as_str())] {
        let extra: Vec<&str> = queue.map(|u| vec!["--queue", u]).unwrap_or_default();
        let serve = Serve::start(d, &extra, &[]);
        let work = d.join(if queue.is_some() { "queued" } else { "local" });
        std::fs::create_dir(&work).unwrap();
        let sane = AirscanConfig::new(&format!("http://{}/eSCL", serve.addr), d);
        let o = sane.batch(&work, "ADF");
        assert!(o.status.success(), "{}", stderr(&o));
        let pages: Vec<Vec<u8>> = (1..)
            .map(|i| work.join(format!("s{i}.pnm")))
            .take_while(|p| p.exists())
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        if queue.is_some() {
            assert!(serve.queue_entries().is_empty(), "no job went to the queue");
        }
        runs.push(pages);
    }
    assert_eq!(runs[0].len(), 5, "5 sheets from the feeder");
    assert!(
        runs[0] == runs[1],
        "scanimage's pages differ with the queue"
    );
}
