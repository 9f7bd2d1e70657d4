//! A test-side WS-Scan responder on 127.0.0.1, built from `scanwire-wsd`'s writers: it answers
//! GetScannerElements with a scanner like the Kyocera ECOSYS M2040dn (or the real device's
//! message, verbatim), and plays a script for each RetrieveImage (images, faults, malformed or
//! truncated answers, slow or dropped connections). It records every operation it receives
//! and whether a job is still open, so tests can check that the driver left the device idle.

#![allow(dead_code)] // each test binary uses a different part

use scanwire_core::device::{Device, ScanRequest};
use scanwire_core::transfer::{
    self, CancelHandle, Outcome, Recorder, Recording, Script, TransferOptions,
};
use scanwire_wsd::*;
use scanwire_wsd_client::WsdDevice;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer to RetrieveImage.
#[derive(Clone, Debug)]
pub enum Answer {
    /// An image in an MTOM/XOP answer.
    Image(Vec<u8>, &'static str),
    /// A SOAP fault.
    Fault(Fault),
    /// Any body with a Content-Type (malformed SOAP, hand-made multiparts).
    Raw(String, Vec<u8>),
    /// A good image answer whose connection drops after `cut` bytes of its body (the
    /// Content-Length announces the whole).
    Dropped(Vec<u8>, usize),
    /// Wait, then answer.
    Slow(Duration, Box<Answer>),
}

/// What the responder does.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Answered verbatim to GetScannerElements for the configuration (the Kyocera message).
    pub elements_xml: Option<Vec<u8>>,
    /// Faults answered to CreateScanJob, one per attempt, before it succeeds.
    pub create_faults: Vec<Fault>,
    /// RetrieveImage answers in order; then ClientErrorNoImagesAvailable.
    pub images: Vec<Answer>,
    /// What GetScannerElements(ScannerStatus) reports.
    pub status: Option<ScannerStatus>,
    /// What GetJobElements(JobStatus) reports.
    pub job_state: Option<(JobState, Vec<String>)>,
}

#[derive(Default)]
struct State {
    plan: Plan,
    queue: VecDeque<Answer>,
    /// Operation names received, in order.
    ops: Vec<String>,
    /// Tickets received by CreateScanJob.
    tickets: Vec<ScanTicket>,
    /// The job still open at the device, if any.
    open_job: Option<u32>,
    /// Images the open job still delivers before it completes (ImagesToTransfer; `None`: all).
    remaining: Option<u32>,
    next_id: u32,
}

/// The responder; stops when dropped (its thread ends with the test process).
pub struct Responder {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Responder {
    pub fn start(plan: Plan) -> Responder {
        let state = Arc::new(Mutex::new(State {
            plan,
            next_id: 1,
            ..State::default()
        }));
        let s = state.clone();
        let url = listen(Arc::new(move |body: Vec<u8>| answer(&body, &s)));
        Responder { url, state }
    }

    /// Operation names received, in order (`CreateScanJobRequest`, …).
    pub fn ops(&self) -> Vec<String> {
        self.state.lock().unwrap().ops.clone()
    }

    pub fn count(&self, op: &str) -> usize {
        self.ops().iter().filter(|o| *o == op).count()
    }

    pub fn tickets(&self) -> Vec<ScanTicket> {
        self.state.lock().unwrap().tickets.clone()
    }

    /// Whether a job is still open at the device.
    pub fn busy(&self) -> bool {
        self.state.lock().unwrap().open_job.is_some()
    }

    /// Replaces the script for the next job.
    pub fn replan(&self, images: Vec<Answer>) {
        let mut s = self.state.lock().unwrap();
        s.plan.images = images;
    }

    pub fn open(&self) -> WsdDevice {
        let mut d = WsdDevice::open(&self.url).unwrap();
        d.set_retry_delay(Duration::from_millis(20));
        d
    }

    /// Scans `request` through the driver with the strict verifier; the transfer must be
    /// grammatical.
    pub fn scan(&self, request: &ScanRequest, script: Script) -> (Outcome, Recording) {
        let device = transfer::share(Box::new(self.open()) as Box<dyn Device>);
        let (app, log) = Recorder::scripted(script);
        let opts = TransferOptions::strict().watchdog(Some(Duration::from_secs(60)));
        let outcome = transfer::run(&device, request, Box::new(app), &CancelHandle::new(), &opts);
        let rec = log.snapshot();
        rec.check_grammar().unwrap();
        assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
        (outcome, rec)
    }
}

/// A SOAP handler: request body in, answer out.
pub type Handler = Arc<dyn Fn(Vec<u8>) -> Out + Send + Sync>;

/// Serves `handler` on 127.0.0.1 (a thread per connection, one request each); returns the
/// service URL.
pub fn listen(handler: Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/WSDScanner", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let h = handler.clone();
            std::thread::spawn(move || serve(conn, &h));
        }
    });
    url
}

fn serve(conn: TcpStream, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    write_answer(conn, handler(body));
}

/// An HTTP answer.
pub enum Out {
    Send(u16, String, Vec<u8>),
    Cut(String, Vec<u8>, usize),
    Slow(Duration, Box<Out>),
}

pub fn fault_out(request: &Header, f: Fault) -> Out {
    let status = if f.code == "Sender" { 400 } else { 500 };
    let body = Body::Fault(f);
    let env = Envelope::new(Header::reply(request, &body), body);
    Out::Send(
        status,
        "application/soap+xml; charset=utf-8".into(),
        env.to_xml().into_bytes(),
    )
}

pub fn reply(request: &Header, body: Body) -> Out {
    let env = Envelope::new(Header::reply(request, &body), body);
    Out::Send(
        200,
        "application/soap+xml; charset=utf-8".into(),
        env.to_xml().into_bytes(),
    )
}

fn answer(body: &[u8], state: &Mutex<State>) -> Out {
    let env = match Envelope::from_xml(body) {
        Ok(e) => e,
        Err(e) => {
            return fault_out(
                &Header::default(),
                Fault::sender("InvalidArgs", &format!("bad request: {e}")),
            )
        }
    };
    let h = env.header.clone();
    let mut s = state.lock().unwrap();
    s.ops
        .push(env.body.name()["scan:".len().min(env.body.name().len())..].to_string());
    match env.body {
        Body::GetScannerElementsRequest(names) if names == ["ScannerStatus"] => {
            let status = s.plan.status.clone().unwrap_or(ScannerStatus {
                time: None,
                state: ScannerState::Idle,
                reasons: vec![],
                conditions: vec![],
            });
            reply(
                &h,
                Body::GetScannerElementsResponse(ScannerElements {
                    status: Some(status),
                    ..ScannerElements::default()
                }),
            )
        }
        Body::GetScannerElementsRequest(_) => match &s.plan.elements_xml {
            Some(xml) => Out::Send(200, "application/soap+xml".into(), xml.clone()),
            None => reply(&h, Body::GetScannerElementsResponse(elements())),
        },
        Body::CreateScanJobRequest(ticket) => {
            s.remaining = ticket.params.images_to_transfer.filter(|&n| n > 0);
            s.tickets.push(ticket);
            if !s.plan.create_faults.is_empty() {
                let f = s.plan.create_faults.remove(0);
                return fault_out(&h, f);
            }
            let id = s.next_id;
            s.next_id += 1;
            s.open_job = Some(id);
            s.queue = s.plan.images.clone().into();
            reply(
                &h,
                Body::CreateScanJobResponse(CreatedJob {
                    job_id: id,
                    job_token: format!("token-{id}"),
                    ..CreatedJob::default()
                }),
            )
        }
        Body::RetrieveImageRequest {
            job_id, job_token, ..
        } => {
            if s.open_job != Some(job_id) || job_token != format!("token-{job_id}") {
                return fault_out(&h, Fault::sender("ClientErrorJobIdNotFound", "no such job"));
            }
            match s.queue.pop_front() {
                None => {
                    // The end of the batch: the job is complete.
                    s.open_job = None;
                    fault_out(
                        &h,
                        Fault::sender(
                            "ClientErrorNoImagesAvailable",
                            "The server has no images available to acquire.",
                        ),
                    )
                }
                Some(a) => {
                    // ImagesToTransfer reached: the job is complete at the device.
                    if let Some(n) = s.remaining.as_mut() {
                        *n -= 1;
                        if *n == 0 {
                            s.open_job = None;
                        }
                    }
                    image_out(&h, a)
                }
            }
        }
        Body::CancelJobRequest { job_id } => {
            if s.open_job == Some(job_id) {
                s.open_job = None;
                reply(&h, Body::CancelJobResponse)
            } else {
                fault_out(&h, Fault::sender("ClientErrorJobIdNotFound", "no such job"))
            }
        }
        Body::GetJobElementsRequest { job_id, .. } => {
            let (state, reasons) = s
                .plan
                .job_state
                .clone()
                .unwrap_or((JobState::Processing, vec![]));
            reply(
                &h,
                Body::GetJobElementsResponse(JobElements {
                    status: Some(JobStatus {
                        job_id,
                        state,
                        reasons,
                        scans_completed: None,
                    }),
                    ticket: None,
                }),
            )
        }
        other => fault_out(
            &h,
            Fault::sender(
                "ActionNotSupported",
                &format!("{} is not served", other.name()),
            ),
        ),
    }
}

fn image_out(h: &Header, a: Answer) -> Out {
    match a {
        Answer::Image(bytes, mime) => {
            let (ct, body) = write_retrieve_image_response(h, &bytes, mime);
            Out::Send(200, ct, body)
        }
        Answer::Fault(f) => fault_out(h, f),
        Answer::Raw(ct, body) => Out::Send(200, ct, body),
        Answer::Dropped(bytes, cut) => {
            let (ct, body) = write_retrieve_image_response(h, &bytes, "image/jpeg");
            Out::Cut(ct, body, cut)
        }
        Answer::Slow(d, a) => Out::Slow(d, Box::new(image_out(h, *a))),
    }
}

fn write_answer(mut conn: TcpStream, out: Out) {
    match out {
        Out::Send(status, ct, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
        }
        Out::Cut(ct, body, cut) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body[..cut.min(body.len())]);
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        Out::Slow(d, out) => {
            std::thread::sleep(d);
            write_answer(conn, *out);
        }
    }
}

/// A scanner like the Kyocera ECOSYS M2040dn (same sizes, resolutions and colors, its width
/// and height swapped), offering PNG besides its own formats so raw rows of every mode can
/// be asked for.
pub fn elements() -> ScannerElements {
    let side = InputCaps {
        optical_resolution: Some(Size::new(600, 600)),
        widths: vec![200, 300, 400, 600],
        heights: vec![100, 200, 300, 400, 600],
        colors: vec![
            ColorEntry::BlackAndWhite1,
            ColorEntry::Grayscale8,
            ColorEntry::Rgb24,
        ],
        min_size: Size::new(1969, 1969),
        max_size: Size::new(14016, 8504),
    };
    ScannerElements {
        description: Some(ScannerDescription {
            name: "Test WS-Scan responder".into(),
            info: None,
            location: None,
        }),
        configuration: Some(ScannerConfiguration {
            settings: DeviceSettings {
                formats: vec![Format::Exif, Format::PdfA, Format::Jfif, Format::Png],
                ..DeviceSettings::default()
            },
            platen: Some(side.clone()),
            adf: Some(Adf {
                supports_duplex: true,
                front: Some(side.clone()),
                back: Some(side),
            }),
        }),
        status: None,
        default_ticket: None,
    }
}

/// A `w`×`h` RGB JPEG (a gradient, so it is not trivially compressible).
pub fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut px = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&px, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// A `w`×`h` 8-bit gray PNG.
pub fn png_gray(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Grayscale);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        let data: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
        wr.write_image_data(&data).unwrap();
    }
    out
}

/// The real device documents (read from the shared fixtures, never copied); `None` with a
/// line saying so when absent, a failure under `SCANWIRE_REQUIRE_PEERS=1`.
pub fn kyocera() -> Option<Vec<u8>> {
    let path = scanwire_testkit::fixtures_dir("wsd")?
        .join("kyocera-ecosys-m2040dn-get-scanner-elements-response.xml");
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}
