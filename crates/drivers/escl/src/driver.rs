//! [`EsclDriver`] opens scanners by URL; [`EsclDevice`] runs [`protocol::Job`] steps over
//! [`http::Client`] and turns pages into WIA transfer calls.

use crate::decode::bad_page;
use crate::errors::{self, Operation};
use crate::http::{Client, InFlight, Interrupted, MAX_DOCUMENT};
use crate::options::{self, JobPlan};
use crate::protocol::{Base, Head, Job, Step};
use crate::quirks::Quirks;
use scanwire_codecs::decode::{self, ChunkReader, PngRows};
use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceErrorKind, DeviceInfo, Driver,
    Encoding, PageData, ScanRequest,
};
use scanwire_core::transfer::{CancelToken, Flow, MiniDrvTransferCallback, StreamHandle};
use scanwire_escl::{Document, ScannerCapabilities};
use scanwire_network::{encoding_of_mime, page, AppStop};
use std::cell::RefCell;
use std::ops::ControlFlow;

/// The largest page accepted for decoding to rows (a 600 dpi A4 PNG in 48-bit color is
/// about 200 MiB).
const MAX_PAGE: usize = 512 << 20;
/// Bytes per write when handing decoded rows on (and so per STATUS message).
const BAND: usize = 256 * 1024;

/// The eSCL driver: device ids are scanner URLs, `http://HOST:PORT/eSCL` or
/// `escl:http://HOST:PORT/eSCL`.
#[derive(Clone, Debug, Default)]
pub struct EsclDriver {
    configured: Vec<String>,
}

impl EsclDriver {
    /// A driver listing no devices (any URL still opens).
    pub fn new() -> Self {
        EsclDriver::default()
    }

    /// A driver whose [`Driver::devices`] lists these URLs (from a config file).
    pub fn with_devices(urls: impl IntoIterator<Item = String>) -> Self {
        EsclDriver {
            configured: urls.into_iter().collect(),
        }
    }
}

/// The URL inside a device id, if the id is an eSCL one.
pub fn url_of(id: &str) -> &str {
    id.strip_prefix("escl:").unwrap_or(id)
}

impl Driver for EsclDriver {
    fn name(&self) -> &'static str {
        "escl"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        self.configured
            .iter()
            .map(|u| {
                let base = Base::parse(url_of(u))?;
                Ok(DeviceInfo {
                    id: device_id(&base),
                    vendor: String::new(),
                    model: format!("eSCL scanner at {}{}", base.origin, base.root),
                    driver: "escl",
                })
            })
            .collect()
    }

    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError> {
        Ok(Box::new(EsclDevice::open(url_of(id))?))
    }
}

fn device_id(base: &Base) -> String {
    format!("escl:{}{}", base.origin, base.root)
}

/// One eSCL scanner. Opening reads its capabilities (so an unreachable URL fails at once).
pub struct EsclDevice {
    base: Base,
    client: Client,
    document: ScannerCapabilities,
    caps: Capabilities,
}

impl std::fmt::Debug for EsclDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsclDevice")
            .field("base", &self.base)
            .field("model", &self.caps.model)
            .finish()
    }
}

impl EsclDevice {
    /// Connects to `url` (`http://HOST:PORT/eSCL`) and reads its capabilities.
    pub fn open(url: &str) -> Result<Self, DeviceError> {
        let base = Base::parse(url)?;
        let mut client = Client::new(Quirks::default());
        let request = base.capabilities_request();
        let (head, body) = client.fetch(&request)?;
        if head.status != 200 {
            return Err(errors::http_status(
                Operation::Capabilities,
                head.status,
                &request.url,
            ));
        }
        let document = ScannerCapabilities::from_xml(&body).map_err(|e| {
            errors::bad_response(format!("ScannerCapabilities that do not parse: {e}"))
        })?;
        let caps = options::capabilities(&document)?;
        client.set_quirks(Quirks::for_model(
            document.make_and_model.as_deref().unwrap_or(""),
            document.manufacturer.as_deref().unwrap_or(""),
        ));
        Ok(EsclDevice {
            base,
            client,
            document,
            caps,
        })
    }

    /// The capabilities document as the scanner sent it.
    pub fn document(&self) -> &ScannerCapabilities {
        &self.document
    }
}

impl Device for EsclDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: device_id(&self.base),
            vendor: self.document.manufacturer.clone().unwrap_or_default(),
            model: self.caps.model.clone(),
            driver: "escl",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(self.caps.clone())
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        page::no_options(request, "eSCL")?;
        let plan = options::job_plan(
            request,
            &self.caps,
            self.document.version.as_deref(),
            self.document.compression_factor_support.as_ref(),
        )?;
        let quirks = Quirks::for_model(
            self.document.make_and_model.as_deref().unwrap_or(""),
            self.document.manufacturer.as_deref().unwrap_or(""),
        );
        let (job, step) = Job::start(
            self.base.clone(),
            quirks,
            plan.settings.to_xml(),
            request.source.is_feeder(),
            request.pages,
        );
        Session {
            client: &self.client,
            cb,
            cancel,
            request,
            plan,
            job,
            cancelled: false,
            ready: None,
        }
        .run(step)
    }
}

/// One acquisition: the loop that executes protocol steps.
struct Session<'a> {
    client: &'a Client,
    cb: &'a mut dyn MiniDrvTransferCallback,
    cancel: &'a CancelToken,
    request: &'a ScanRequest,
    plan: JobPlan,
    job: Job,
    /// Once cancelled, waits no longer listen for cancel (the DELETE must get through).
    cancelled: bool,
    /// The next step's NextDocument, already sent while the previous page's stream closed.
    ready: Option<InFlight>,
}

/// What handing a page on came to.
enum PageEnd {
    /// The page is in; its stream (`None`: skipped) is finished by the caller, once the next
    /// request is on its way.
    Done(Option<StreamHandle>),
    Cancelled,
}

/// Why handing a page on stopped.
enum PageFail {
    /// The cancel handle fired while waiting for the body.
    Cancelled,
    /// The body broke off or does not decode: the scanner's side.
    Transport(DeviceError),
    /// The application's stream or callback failed: its HRESULT ends the transfer.
    App(DeviceError),
}

impl From<AppStop> for PageFail {
    fn from(s: AppStop) -> Self {
        match s {
            AppStop::Cancelled => PageFail::Cancelled,
            AppStop::Failed(e) => PageFail::App(e),
        }
    }
}

impl From<Interrupted> for PageFail {
    fn from(i: Interrupted) -> Self {
        match i {
            Interrupted::Cancelled => PageFail::Cancelled,
            Interrupted::Failed(e) => PageFail::Transport(e),
        }
    }
}

impl Session<'_> {
    fn run(mut self, mut step: Step) -> AcquireResult {
        loop {
            step = match step {
                Step::Finish(result) => return page::finish(self.cb, result),
                Step::Receive { .. } => {
                    return Err(DeviceError::new(
                        DeviceErrorKind::Internal,
                        "eSCL job asked to receive a page with no response",
                    ))
                }
                Step::Send {
                    request,
                    delay,
                    status,
                } => {
                    if !page::ready_to_send(self.cb, self.cancel, self.cancelled, status, delay) {
                        step = self.on_cancel(None);
                        continue;
                    }
                    let honour = !self.cancelled;
                    let mut flight = match self.ready.take() {
                        Some(f) => f,
                        None => self
                            .client
                            .start(&request, (!self.cancelled).then_some(self.cancel)),
                    };
                    match flight.head(honour) {
                        Err(Interrupted::Cancelled) => self.on_cancel(Some(&mut flight)),
                        Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                        Ok(head) if request.op == Operation::NextDocument && head.status == 200 => {
                            match self.job.on_response(&head, &[]) {
                                Step::Receive { number } => {
                                    match self.page(number, &head, &mut flight) {
                                        Ok(PageEnd::Done(stream)) => self.page_done(stream),
                                        Ok(PageEnd::Cancelled) | Err(PageFail::Cancelled) => {
                                            self.on_cancel(None)
                                        }
                                        Err(PageFail::Transport(e)) => self.job.on_failure(e),
                                        Err(PageFail::App(e)) => self.job.abort(e),
                                    }
                                }
                                other => other,
                            }
                        }
                        Ok(head) => match flight.read_all(honour, MAX_DOCUMENT) {
                            Ok(body) => self.job.on_response(&head, &body),
                            Err(Interrupted::Cancelled) => self.on_cancel(Some(&mut flight)),
                            Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                        },
                    }
                }
            };
        }
    }

    /// Cancel: the job says whether to wait for the request in flight (a POST) or drop it.
    /// A page is in: the job's next step, whose NextDocument (if that is what comes next) is
    /// sent before the page's stream is finished. Closing the stream waits for the
    /// application (a file writer drains, syncs and renames: milliseconds); the next page's
    /// head and first bytes arrive meanwhile. A cancel in that window drops the request and
    /// deletes the job, as for any NextDocument in flight.
    fn page_done(&mut self, stream: Option<StreamHandle>) -> Step {
        let next = self.job.page_received();
        if let (
            Some(_),
            Step::Send {
                request,
                delay,
                status: None,
            },
        ) = (&stream, &next)
        {
            if request.op == Operation::NextDocument && delay.is_zero() && !self.cancelled {
                self.ready = Some(self.client.start(request, Some(self.cancel)));
            }
        }
        if let Some(s) = stream {
            s.finish();
        }
        next
    }

    fn on_cancel(&mut self, flight: Option<&mut InFlight>) -> Step {
        self.cancelled = true;
        // A NextDocument sent ahead is not waited for.
        self.ready = None;
        match self.job.cancel() {
            Some(step) => step,
            None => match flight {
                // A page's body was arriving: the connection is dropped, not read to its end.
                // The server may never end a cancelled page's body (it ends its job when the
                // DELETE comes), so waiting for it would hold the driver until the read
                // timeout.
                Some(f) if f.has_head() => self.job.on_failure(DeviceError::new(
                    DeviceErrorKind::Communication,
                    "cancelled while a page was arriving",
                )),
                Some(f) => match f.head(false) {
                    Ok(head) => {
                        let body = f.read_all(false, MAX_DOCUMENT).unwrap_or_default();
                        self.job.on_response(&head, &body)
                    }
                    Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                    // Not listening for cancel: cannot happen; treat as a broken request.
                    Err(Interrupted::Cancelled) => self.job.on_failure(DeviceError::new(
                        DeviceErrorKind::Communication,
                        "request interrupted",
                    )),
                },
                // No request in flight to wait for: the job is between steps.
                None => self.job.on_failure(DeviceError::new(
                    DeviceErrorKind::Communication,
                    "cancelled between requests",
                )),
            },
        }
    }

    /// Hands one NextDocument body on: passed through as it arrives when the application
    /// takes the scanner's encoding (a PNG only when it holds the requested mode), PNG
    /// decoded to rows as it arrives, anything else (JPEG) read whole, decoded and written in
    /// bands.
    fn page(
        &mut self,
        number: u32,
        head: &Head,
        flight: &mut InFlight,
    ) -> Result<PageEnd, PageFail> {
        let honour = !self.cancelled;
        // Enough bytes to recognise the format (bodies may come in tiny chunks).
        let mut first = Vec::new();
        fill(&mut first, 8, flight, honour)?;
        if first.is_empty() {
            return Err(PageFail::Transport(errors::bad_response(format!(
                "an empty body for page {number}"
            ))));
        }
        if self.plan.pass_through {
            if decode::sniff(&first) != Some(Encoding::Png) {
                return self.pass_through(number, head, flight, first);
            }
            // A PNG is kept only when it holds the requested mode (its header).
            fill(&mut first, 29, flight, honour)?;
            if decode::png_is_mode(&first, self.request.mode) {
                return self.pass_through(number, head, flight, first);
            }
            return self.png_rows(number, flight, first);
        }
        if decode::sniff(&first) == Some(Encoding::Png) {
            return self.png_rows(number, flight, first);
        }
        let mut body = first;
        while let Some(c) = flight.chunk(honour)? {
            body.extend_from_slice(&c);
            if body.len() > MAX_PAGE {
                return Err(PageFail::Transport(errors::bad_response(format!(
                    "a page larger than {MAX_PAGE} bytes"
                ))));
            }
        }
        let raster = decode::decode(&body, Some(self.request.mode))
            .map_err(|e| PageFail::Transport(bad_page(e)))?;
        let data = PageData::Raster {
            pixel: raster.pixel,
            width: raster.width,
            height: Some(raster.height),
        };
        let info = page::page_info(self.request, number, data);
        let Some(mut stream) = page::open(self.cb, &info)? else {
            return Ok(PageEnd::Done(None));
        };
        let total = raster.data.len() as u64;
        let bpl = raster.pixel.bytes_per_line(raster.width).max(1);
        let mut sent = 0u64;
        for chunk in raster.data.chunks(bpl * (BAND / bpl).max(1)) {
            page::write(&mut stream, chunk)?;
            sent += chunk.len() as u64;
            let pct = (sent * 100 / total.max(1)) as i32;
            if page::progress(self.cb, pct, sent)? == Flow::Cancelled {
                return Ok(PageEnd::Cancelled);
            }
        }
        Ok(PageEnd::Done(Some(stream)))
    }

    /// A PNG page decoded row by row while it arrives; rows go on in bands of about
    /// [`BAND`] bytes, each with a STATUS whose percent counts rows.
    fn png_rows(
        &mut self,
        number: u32,
        flight: &mut InFlight,
        first: Vec<u8>,
    ) -> Result<PageEnd, PageFail> {
        let honour = !self.cancelled;
        // Why the body stopped, when it was not the PNG's fault (cancel, a broken connection):
        // the decoder only sees an I/O error.
        let stopped: RefCell<Option<Interrupted>> = RefCell::new(None);
        let fail = |e: DeviceError| -> PageFail {
            match stopped.borrow_mut().take() {
                Some(i) => i.into(),
                None => PageFail::Transport(e),
            }
        };
        let mut rows = {
            let source = ChunkReader::new(first, || match flight.chunk(honour) {
                Ok(c) => Ok(c),
                Err(i) => {
                    *stopped.borrow_mut() = Some(i);
                    Err(std::io::Error::other("the page body stopped"))
                }
            });
            PngRows::new(source, Some(self.request.mode)).map_err(|e| fail(bad_page(e)))?
        };
        let (conv, height) = (rows.conv, rows.height);
        let info = page::page_info(
            self.request,
            number,
            PageData::Raster {
                pixel: conv.pixel,
                width: conv.width,
                height: Some(height),
            },
        );
        let Some(mut stream) = page::open(self.cb, &info)? else {
            drop(rows);
            drain(flight, honour)?;
            return Ok(PageEnd::Done(None));
        };
        let end = rows.bands(
            BAND,
            |band, pct, sent| {
                page::write(&mut stream, band)?;
                Ok(match page::progress(self.cb, pct, sent)? {
                    Flow::Cancelled => ControlFlow::Break(()),
                    Flow::Continue => ControlFlow::Continue(()),
                })
            },
            |e| fail(bad_page(e)),
        )?;
        if end.is_break() {
            return Ok(PageEnd::Cancelled);
        }
        if rows.rows != height {
            return Err(PageFail::Transport(errors::bad_response(format!(
                "page {number} with {} of its {height} rows",
                rows.rows
            ))));
        }
        rows.finish().map_err(|e| fail(bad_page(e)))?;
        drop(rows);
        // The rest of the body (trailing chunks after IEND): read, so the scanner sees its
        // page delivered and the connection can be reused.
        drain(flight, honour)?;
        Ok(PageEnd::Done(Some(stream)))
    }

    /// The scanner's encoding handed on as it arrives.
    fn pass_through(
        &mut self,
        number: u32,
        head: &Head,
        flight: &mut InFlight,
        first: Vec<u8>,
    ) -> Result<PageEnd, PageFail> {
        let honour = !self.cancelled;
        // The format is what the body is (AirSane answers JPEG requests with PNG), from the
        // first bytes, else Content-Type, else what was asked for.
        let encoding: Encoding = decode::sniff(&first)
            .or_else(|| head.content_type.as_deref().and_then(encoding_of_mime))
            .unwrap_or(self.plan.wire);
        let info = page::page_info(self.request, number, PageData::Encoded(encoding));
        let Some(mut stream) = page::open(self.cb, &info)? else {
            drain(flight, honour)?;
            return Ok(PageEnd::Done(None));
        };
        let mut received = 0u64;
        let mut next = Some(first);
        while let Some(chunk) = next {
            if !chunk.is_empty() {
                page::write(&mut stream, &chunk)?;
                received += chunk.len() as u64;
                // Percent from Content-Length when the scanner sent one; bytes only otherwise.
                let pct = head
                    .content_length
                    .map(|l| (received * 100 / l.max(1)).min(100) as i32)
                    .unwrap_or(0);
                if page::progress(self.cb, pct, received)? == Flow::Cancelled {
                    return Ok(PageEnd::Cancelled);
                }
            }
            next = flight.chunk(honour)?;
        }
        if let Some(len) = head.content_length {
            if received < len {
                return Err(PageFail::Transport(errors::bad_response(format!(
                    "page {number} cut short: {received} of {len} bytes"
                ))));
            }
        }
        Ok(PageEnd::Done(Some(stream)))
    }
}

/// Appends body chunks to `buf` until it holds at least `len` bytes or the body ends.
fn fill(
    buf: &mut Vec<u8>,
    len: usize,
    flight: &mut InFlight,
    honour: bool,
) -> Result<(), PageFail> {
    while buf.len() < len {
        match flight.chunk(honour)? {
            Some(c) => buf.extend_from_slice(&c),
            None => break,
        }
    }
    Ok(())
}

/// Reads a body to its end, discarding it (a skipped page must still be fetched whole, or
/// the scanner takes the closed connection for a client that left).
fn drain(flight: &mut InFlight, honour: bool) -> Result<(), PageFail> {
    while flight.chunk(honour)?.is_some() {}
    Ok(())
}
