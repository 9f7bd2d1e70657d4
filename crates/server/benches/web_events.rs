//! The web page's latency targets (issue 15), measured in one process so both ends read the
//! same clock: the virtual scanner, wrapped to note when its driver sends each STATUS, serves
//! over real HTTP on 127.0.0.1; a client reads the scan's event stream (SSE) and fetches each
//! page's thumbnail the moment its `page` event arrives.
//!
//! - first event: the driver's first STATUS → the first `status` event read by the client
//!   (target ≤ 50 ms);
//! - thumbnail: the page's last row (the driver's 100 % STATUS of that page) → the
//!   thumbnail's bytes read by the client (target ≤ 150 ms). Where the document store serves
//!   no thumbnail yet, the `page` event's arrival is reported instead.
//!
//! `cargo bench -p scanwire-server --bench web_events [-- RUNS]` (BENCHMARKS.md has figures).

use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceInfo, DeviceOption, PageInfo,
    ScanRequest,
};
use scanwire_core::transfer::{share, CancelToken, MiniDrvTransferCallback, NextStream};
use scanwire_core::wia::{HResult, MessageKind, WiaTransferParams};
use scanwire_server::{BlockingServer, ServerConfig};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When the driver said what.
#[derive(Default)]
struct Times {
    first_status: Option<Instant>,
    /// Per page (1-based index - 1): its 100 % STATUS.
    page_end: Vec<Option<Instant>>,
}

struct Timed {
    inner: Box<dyn Device>,
    times: Arc<Mutex<Times>>,
}

struct TimedCallback<'a> {
    inner: &'a mut dyn MiniDrvTransferCallback,
    times: Arc<Mutex<Times>>,
    page: usize,
}

impl MiniDrvTransferCallback for TimedCallback<'_> {
    fn get_next_stream(&mut self, flags: i32, page: &PageInfo) -> NextStream {
        self.page += 1;
        self.inner.get_next_stream(flags, page)
    }

    fn send_message(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult {
        if let Some(p) = params.filter(|p| p.kind() == Some(MessageKind::Status)) {
            let now = Instant::now();
            let mut t = self.times.lock().unwrap();
            t.first_status.get_or_insert(now);
            if p.lPercentComplete >= 100 && self.page > 0 {
                if t.page_end.len() < self.page {
                    t.page_end.resize(self.page, None);
                }
                t.page_end[self.page - 1].get_or_insert(now);
            }
        }
        self.inner.send_message(flags, params)
    }
}

impl Device for Timed {
    fn info(&self) -> DeviceInfo {
        self.inner.info()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        self.inner.capabilities()
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        self.inner.options()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        *self.times.lock().unwrap() = Times::default();
        let mut timed = TimedCallback {
            inner: cb,
            times: self.times.clone(),
            page: 0,
        };
        self.inner.acquire(request, &mut timed, cancel)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let times = Arc::new(Mutex::new(Times::default()));
    let device = Timed {
        inner: Box::new(scanwire_virtual::VirtualDevice::new()),
        times: times.clone(),
    };
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        // A real scanner's pace: 20 pages a minute, so each page's rows take 3 s.
        request_options: [
            ("sheets".to_string(), "3".to_string()),
            ("ppm".into(), "20".into()),
        ]
        .into_iter()
        .collect(),
        ..ServerConfig::default()
    };
    let server = BlockingServer::start(config, vec![("virtual".into(), share(Box::new(device)))])
        .expect("server starts");
    let base = format!("http://{}", server.local_addr());
    for (mode, dpi) in [("gray", 300), ("color", 300)] {
        let (mut first, mut thumb) = (Vec::new(), Vec::new());
        let mut served_thumbnails = true;
        for _ in 0..runs {
            let created: Value = ureq::post(&format!("{base}/api/scans"))
                .set("X-Scanwire-Request", "1")
                .send_json(json!({"source": "feeder", "mode": mode, "resolution": dpi}))
                .expect("scan starts")
                .into_json()
                .unwrap();
            let events = ureq::get(&format!("{base}{}", created["events"].as_str().unwrap()))
                .call()
                .unwrap();
            let mut first_at = None;
            let mut pages: Vec<(usize, Instant)> = Vec::new();
            let mut kind = String::new();
            for line in BufReader::new(events.into_reader()).lines() {
                let line = line.unwrap();
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = k.to_string();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    let data: Value = serde_json::from_str(d).unwrap();
                    match kind.as_str() {
                        // The first STATUS's event: the first with bytes written (an
                        // event at 0 bytes comes from the page's start, before any STATUS).
                        "status" if data["bytes"].as_u64().unwrap_or(0) > 0 => {
                            first_at.get_or_insert(Instant::now());
                        }
                        "page" => {
                            let url = format!("{base}{}", data["thumbnail"].as_str().unwrap());
                            let mut at = Instant::now();
                            match ureq::get(&url).call() {
                                Ok(r) => {
                                    let mut b = Vec::new();
                                    r.into_reader().read_to_end(&mut b).unwrap();
                                    at = Instant::now();
                                }
                                Err(_) => served_thumbnails = false,
                            }
                            pages.push((data["page"].as_u64().unwrap() as usize, at));
                        }
                        "done" => break,
                        _ => {}
                    }
                }
            }
            let t = times.lock().unwrap();
            if let (Some(s), Some(c)) = (t.first_status, first_at) {
                first.push(ms(c.duration_since(s)));
            }
            for (n, at) in pages {
                if let Some(Some(end)) = t.page_end.get(n - 1) {
                    thumb.push(ms(at.duration_since(*end)));
                }
            }
        }
        let what = if served_thumbnails {
            "thumbnail read"
        } else {
            "page event (no thumbnail route yet)"
        };
        let max = thumb.iter().cloned().fold(0.0, f64::max);
        println!(
            "A4 {mode} {dpi} dpi, feeder 3 pages x {runs}: first status event {:.1} ms (median of {}), \
             last row -> {what} {:.1} ms median, {:.1} ms max (of {})",
            median(&mut first),
            first.len(),
            median(&mut thumb),
            max,
            thumb.len()
        );
    }
    server.stop().unwrap();
}
