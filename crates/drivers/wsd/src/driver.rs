//! [`WsdDriver`] opens scan services by URL; [`WsdDevice`] runs [`protocol::Job`] steps over
//! [`http::Client`] and turns images into WIA transfer calls.

use crate::errors::{self, Operation};
use crate::http::{Client, Head, InFlight, Interrupted, MAX_IMAGE, MAX_MESSAGE};
use crate::options::{self, JobPlan};
use crate::protocol::{self, Job, Response, Service, Step};
use scanwire_codecs::decode::{self, ChunkReader, PngRows};
use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceErrorKind, DeviceInfo, Driver,
    Encoding, PageData, ScanRequest,
};
use scanwire_core::transfer::{CancelToken, Flow, MiniDrvTransferCallback, StreamHandle};
use scanwire_network::{encoding_of_mime, page, AppStop};
use scanwire_wsd::{Body, Envelope, Limits, MediaType, ScannerElements, XopEvent, XopReader};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::time::Duration;

/// Bytes per write when handing an image on (and so per STATUS message).
const BAND: usize = 256 * 1024;

/// The WSD driver: device ids are scan service URLs, `http://HOST:PORT/PATH` or
/// `wsd:http://HOST:PORT/PATH`.
#[derive(Clone, Debug, Default)]
pub struct WsdDriver {
    configured: Vec<String>,
}

impl WsdDriver {
    /// A driver listing no devices (any URL still opens).
    pub fn new() -> Self {
        WsdDriver::default()
    }

    /// A driver whose [`Driver::devices`] lists these URLs (from a config file).
    pub fn with_devices(urls: impl IntoIterator<Item = String>) -> Self {
        WsdDriver {
            configured: urls.into_iter().collect(),
        }
    }
}

/// The URL inside a device id, if the id is a WSD one.
pub fn url_of(id: &str) -> &str {
    id.strip_prefix("wsd:").unwrap_or(id)
}

fn device_id(service: &Service) -> String {
    format!("wsd:{}", service.url)
}

impl Driver for WsdDriver {
    fn name(&self) -> &'static str {
        "wsd"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        self.configured
            .iter()
            .map(|u| {
                let service = Service::parse(url_of(u))?;
                Ok(DeviceInfo {
                    id: device_id(&service),
                    vendor: String::new(),
                    model: format!("WS-Scan scanner at {}", service.url),
                    driver: "wsd",
                })
            })
            .collect()
    }

    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError> {
        Ok(Box::new(WsdDevice::open(url_of(id))?))
    }
}

/// One WS-Scan scanner. Opening reads its elements (so an unreachable URL fails at once).
pub struct WsdDevice {
    service: Service,
    client: Client,
    elements: ScannerElements,
    caps: Capabilities,
    retry_delay: Duration,
}

impl std::fmt::Debug for WsdDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsdDevice")
            .field("service", &self.service)
            .field("model", &self.caps.model)
            .finish()
    }
}

impl WsdDevice {
    /// Connects to `url` (`http://HOST:PORT/PATH`) and reads the scanner's elements.
    pub fn open(url: &str) -> Result<Self, DeviceError> {
        let service = Service::parse(url)?;
        let client = Client::new(&service.url);
        let request = service.elements_request();
        let (head, body) = client.fetch(&request)?;
        let response = Response {
            status: head.status,
            content_type: head.content_type.as_deref(),
            body: &body,
        };
        let elements = match protocol::decode(Operation::Elements, &service.url, &response)? {
            (Body::GetScannerElementsResponse(e), _) => e,
            (Body::Fault(f), _) => return Err(errors::fault_error(Operation::Elements, &f)),
            (other, _) => {
                return Err(errors::bad_response(
                    Operation::Elements,
                    format!("an unexpected <{}>", other.name()),
                ))
            }
        };
        let caps = options::capabilities(&elements)?;
        Ok(WsdDevice {
            service,
            client,
            elements,
            caps,
            retry_delay: protocol::RETRY_DELAY,
        })
    }

    /// The elements as the scanner sent them.
    pub fn elements(&self) -> &ScannerElements {
        &self.elements
    }

    /// Replaces the pause before retrying a busy scanner (tests).
    pub fn set_retry_delay(&mut self, delay: Duration) {
        self.retry_delay = delay;
    }
}

impl Device for WsdDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: device_id(&self.service),
            vendor: String::new(),
            model: self.caps.model.clone(),
            driver: "wsd",
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
        page::no_options(request, "WSD")?;
        let formats = self
            .elements
            .configuration
            .as_ref()
            .map(|c| c.settings.formats.clone())
            .unwrap_or_default();
        let plan = options::job_plan(request, &self.caps, &formats)?;
        let (mut job, step) = Job::start(
            self.service.clone(),
            plan.ticket.clone(),
            request.source.is_feeder(),
            request.pages,
        );
        job.set_retry_delay(self.retry_delay);
        Session {
            client: &self.client,
            cb,
            cancel,
            request,
            plan,
            job,
            cancelled: false,
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
    /// Once cancelled, waits no longer listen for cancel (the CancelJob must get through).
    cancelled: bool,
}

/// Why handing an image on stopped.
enum PageFail {
    /// The application cancelled.
    Cancelled,
    /// The answer broke off or was refused while the image was arriving: the scanner may say
    /// why (a jam mid-page).
    Transport(DeviceError),
    /// The image does not decode: the scanner's side.
    Scanner(DeviceError),
    /// The application's stream or callback failed.
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
                Step::Image { .. } => {
                    return Err(DeviceError::new(
                        DeviceErrorKind::Internal,
                        "WS-Scan job asked to receive an image with no answer in flight",
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
                    let mut flight = self.client.start(&request, honour.then_some(self.cancel));
                    match flight.head(honour) {
                        Err(Interrupted::Cancelled) => self.on_cancel(Some(&mut flight)),
                        Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                        Ok(head)
                            if request.op == Operation::RetrieveImage && is_multipart(&head) =>
                        {
                            self.streamed(&head, &mut flight)
                        }
                        Ok(head) => match flight.read_all(honour, MAX_MESSAGE) {
                            Ok(body) => self.job.on_response(&Response {
                                status: head.status,
                                content_type: head.content_type.as_deref(),
                                body: &body,
                            }),
                            Err(Interrupted::Cancelled) => self.on_cancel(Some(&mut flight)),
                            Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                        },
                    }
                }
            };
        }
    }

    /// A RetrieveImage answer in MTOM/XOP, read as it arrives: the envelope, then the image
    /// handed on while its bytes come in. The page is finished only once the whole body was
    /// accepted (closing delimiter, no second part with the image's id).
    fn streamed(&mut self, head: &Head, flight: &mut InFlight) -> Step {
        let honour = !self.cancelled;
        let content_type = head.content_type.as_deref().unwrap_or_default();
        let mut body = match XopReader::new(content_type, &Limits::DEFAULT, MAX_IMAGE) {
            Ok(reader) => ImageBody {
                flight,
                honour,
                reader,
                done: false,
                length: head.content_length,
            },
            Err(e) => return self.job.on_envelope(head.status, Err(e)),
        };
        let envelope = match body.envelope() {
            Ok(e) => Ok(e.body),
            Err(Fetch::Cancelled) => return self.on_cancel(None),
            Err(Fetch::Broken(e)) => return self.job.on_failure(e),
            Err(Fetch::Refused(e)) => Err(e),
        };
        match self.job.on_envelope(head.status, envelope) {
            Step::Image { number } => match self.page(number, &mut body) {
                Ok(stream) => {
                    let next = self.job.page_received();
                    if let Some(s) = stream {
                        s.finish();
                    }
                    next
                }
                Err(PageFail::Cancelled) => self.on_cancel(None),
                Err(PageFail::Transport(e)) => self.job.on_failure(e),
                Err(PageFail::Scanner(e)) | Err(PageFail::App(e)) => self.job.abort(e),
            },
            // A fault or an unusable answer: the rest of the body is not needed.
            other => other,
        }
    }

    /// Cancel: the job says whether to wait for the request in flight (a CreateScanJob) or
    /// drop it.
    fn on_cancel(&mut self, flight: Option<&mut InFlight>) -> Step {
        self.cancelled = true;
        match self.job.cancel() {
            Some(step) => step,
            None => match flight {
                Some(f) => match read(f, false, MAX_MESSAGE) {
                    Ok((head, body)) => self.job.on_response(&Response {
                        status: head.status,
                        content_type: head.content_type.as_deref(),
                        body: &body,
                    }),
                    Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                    Err(Interrupted::Cancelled) => self.job.on_failure(DeviceError::new(
                        DeviceErrorKind::Communication,
                        "request interrupted",
                    )),
                },
                None => self.job.on_failure(DeviceError::new(
                    DeviceErrorKind::Communication,
                    "cancelled between requests",
                )),
            },
        }
    }

    /// Hands one image on while it arrives: untouched when the application asked for an
    /// encoding (a PNG only when it holds the requested mode), a PNG decoded to rows as it
    /// arrives, anything else (JPEG) read whole, decoded and written in bands. `Ok(None)`:
    /// the application skipped it. The stream returned is complete; the caller finishes it.
    fn page(
        &mut self,
        number: u32,
        body: &mut ImageBody<'_>,
    ) -> Result<Option<StreamHandle>, PageFail> {
        let mime = body.image_start()?;
        // Enough bytes to recognise the format (bodies may come in tiny chunks).
        let mut first = Vec::new();
        body.fill(&mut first, 8)?;
        if first.is_empty() {
            return Err(PageFail::Scanner(errors::bad_response(
                Operation::RetrieveImage,
                format!("an empty image {number}"),
            )));
        }
        let png = decode::sniff(&first) == Some(Encoding::Png);
        if self.plan.pass_through {
            if !png {
                return self.pass_through(number, mime.as_deref(), body, first);
            }
            // A PNG is kept only when it holds the requested mode (its header).
            body.fill(&mut first, 29)?;
            if decode::png_is_mode(&first, self.request.mode) {
                return self.pass_through(number, mime.as_deref(), body, first);
            }
        }
        if png {
            return self.png_rows(number, body, first);
        }
        let mut image = first;
        while let Some(c) = body.chunk()? {
            image.extend_from_slice(&c);
        }
        body.finish()?;
        let raster = decode::decode(&image, Some(self.request.mode)).map_err(|e| {
            PageFail::Scanner(errors::bad_response(
                Operation::RetrieveImage,
                format!("image {number}, which does not decode: {e}"),
            ))
        })?;
        drop(image);
        let info = page::page_info(
            self.request,
            number,
            PageData::Raster {
                pixel: raster.pixel,
                width: raster.width,
                height: Some(raster.height),
            },
        );
        let Some(mut stream) = page::open(self.cb, &info)? else {
            return Ok(None);
        };
        let total = raster.data.len() as u64;
        let bpl = raster.pixel.bytes_per_line(raster.width).max(1);
        let mut sent = 0u64;
        for chunk in raster.data.chunks(bpl * (BAND / bpl).max(1)) {
            page::write(&mut stream, chunk)?;
            sent += chunk.len() as u64;
            self.progress((sent * 100 / total.max(1)) as i32, sent)?;
        }
        Ok(Some(stream))
    }

    /// A PNG image decoded row by row while it arrives; rows go on in bands of about
    /// [`BAND`] bytes, each with a STATUS whose percent counts rows.
    fn png_rows(
        &mut self,
        number: u32,
        body: &mut ImageBody<'_>,
        first: Vec<u8>,
    ) -> Result<Option<StreamHandle>, PageFail> {
        let bad = |e| {
            PageFail::Scanner(errors::bad_response(
                Operation::RetrieveImage,
                format!("image {number}, which does not decode: {e}"),
            ))
        };
        // Why the body stopped, when it was not the PNG's fault (cancel, a broken or refused
        // answer): the decoder only sees an I/O error.
        let stopped: RefCell<Option<PageFail>> = RefCell::new(None);
        let fail = |e| stopped.borrow_mut().take().unwrap_or_else(|| bad(e));
        let mut rows = {
            let source = ChunkReader::new(first, || match body.chunk() {
                Ok(c) => Ok(c),
                Err(f) => {
                    *stopped.borrow_mut() = Some(f.into());
                    Err(std::io::Error::other("the image answer stopped"))
                }
            });
            PngRows::new(source, Some(self.request.mode)).map_err(fail)?
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
            body.finish()?;
            return Ok(None);
        };
        // A cancel comes back from `progress` as `PageFail::Cancelled`; a break would mean
        // the same.
        let end = rows.bands(
            BAND,
            |band, pct, sent| {
                page::write(&mut stream, band)?;
                self.progress(pct, sent)?;
                Ok(ControlFlow::Continue(()))
            },
            fail,
        )?;
        if end.is_break() {
            return Err(PageFail::Cancelled);
        }
        if rows.rows != height {
            return Err(PageFail::Scanner(errors::bad_response(
                Operation::RetrieveImage,
                format!("image {number} with {} of its {height} rows", rows.rows),
            )));
        }
        rows.finish().map_err(fail)?;
        drop(rows);
        // The rest of the body (after IEND, the closing delimiter) must still be accepted.
        body.finish()?;
        Ok(Some(stream))
    }

    /// The scanner's encoding handed on as it arrives.
    fn pass_through(
        &mut self,
        number: u32,
        mime: Option<&str>,
        body: &mut ImageBody<'_>,
        first: Vec<u8>,
    ) -> Result<Option<StreamHandle>, PageFail> {
        // The format is what the bytes are, else the attachment's type, else what was asked.
        let encoding = decode::sniff(&first)
            .or_else(|| mime.and_then(encoding_of_mime))
            .unwrap_or(self.plan.wire);
        let info = page::page_info(self.request, number, PageData::Encoded(encoding));
        let Some(mut stream) = page::open(self.cb, &info)? else {
            body.finish()?;
            return Ok(None);
        };
        let mut sent = 0u64;
        let mut next = Some(first);
        while let Some(chunk) = next {
            page::write(&mut stream, &chunk)?;
            sent += chunk.len() as u64;
            self.progress(body.percent(), sent)?;
            next = body.chunk()?;
        }
        body.finish()?;
        Ok(Some(stream))
    }

    /// A STATUS; a cancel there stops the page.
    fn progress(&mut self, pct: i32, bytes: u64) -> Result<(), PageFail> {
        match page::progress(self.cb, pct, bytes)? {
            Flow::Continue => Ok(()),
            Flow::Cancelled => Err(PageFail::Cancelled),
        }
    }
}

/// Whether an answer is a multipart (MTOM/XOP) body.
fn is_multipart(head: &Head) -> bool {
    head.content_type
        .as_deref()
        .is_some_and(|t| MediaType::parse(t).mime.starts_with("multipart/"))
}

/// Why reading an image answer stopped.
enum Fetch {
    /// The cancel token fired.
    Cancelled,
    /// The connection broke.
    Broken(DeviceError),
    /// The body is not a usable MTOM/XOP answer.
    Refused(scanwire_wsd::Error),
}

impl From<Fetch> for PageFail {
    fn from(f: Fetch) -> Self {
        match f {
            Fetch::Cancelled => PageFail::Cancelled,
            Fetch::Broken(e) => PageFail::Transport(e),
            Fetch::Refused(e) => PageFail::Transport(errors::bad_response(
                Operation::RetrieveImage,
                format!("an image answer that does not parse: {e}"),
            )),
        }
    }
}

/// A RetrieveImage answer being read: body chunks from the request in flight pushed through
/// the MTOM/XOP reader.
struct ImageBody<'f> {
    flight: &'f mut InFlight,
    honour: bool,
    reader: XopReader,
    /// The body ended and the reader accepted it.
    done: bool,
    /// `Content-Length`, for progress.
    length: Option<u64>,
}

impl ImageBody<'_> {
    /// The next thing the body delivers; `None` once it ended and was accepted.
    fn next(&mut self) -> Result<Option<XopEvent>, Fetch> {
        loop {
            if let Some(e) = self.reader.next_event() {
                return Ok(Some(e));
            }
            if self.done {
                return Ok(None);
            }
            match self.flight.chunk(self.honour) {
                Ok(Some(c)) => {
                    self.reader.push(&c).map_err(Fetch::Refused)?;
                    if self.reader.received() > MAX_IMAGE {
                        return Err(Fetch::Broken(errors::bad_response(
                            Operation::RetrieveImage,
                            format!("an answer larger than {MAX_IMAGE} bytes"),
                        )));
                    }
                }
                Ok(None) => {
                    self.reader.finish().map_err(Fetch::Refused)?;
                    self.done = true;
                }
                Err(Interrupted::Cancelled) => return Err(Fetch::Cancelled),
                Err(Interrupted::Failed(e)) => return Err(Fetch::Broken(e)),
            }
        }
    }

    /// A body that ended without what was asked for (the reader refuses such a body at its
    /// end, so this is a reader that broke its promise).
    fn missing(what: &str) -> Fetch {
        Fetch::Broken(errors::bad_response(
            Operation::RetrieveImage,
            format!("an image answer without {what}"),
        ))
    }

    /// The root part's envelope.
    fn envelope(&mut self) -> Result<Envelope, Fetch> {
        match self.next()? {
            Some(XopEvent::Envelope(e)) => Ok(*e),
            _ => Err(Self::missing("its envelope first")),
        }
    }

    /// The image part's start: its media type.
    fn image_start(&mut self) -> Result<Option<String>, Fetch> {
        match self.next()? {
            Some(XopEvent::ImageStart { mime }) => Ok(mime),
            _ => Err(Self::missing("its image")),
        }
    }

    /// The image's next bytes; `None` at its end.
    fn chunk(&mut self) -> Result<Option<Vec<u8>>, Fetch> {
        match self.next()? {
            Some(XopEvent::Image(b)) => Ok(Some(b)),
            Some(XopEvent::ImageEnd) => Ok(None),
            _ => Err(Self::missing("the end of its image")),
        }
    }

    /// Appends image bytes to `buf` until it holds at least `len` or the image ends.
    fn fill(&mut self, buf: &mut Vec<u8>, len: usize) -> Result<(), Fetch> {
        while buf.len() < len {
            match self.chunk()? {
                Some(c) => buf.extend_from_slice(&c),
                None => break,
            }
        }
        Ok(())
    }

    /// Reads the rest of the body and has the reader check it: the image is kept only when
    /// this succeeds.
    fn finish(&mut self) -> Result<(), Fetch> {
        while self.next()?.is_some() {}
        Ok(())
    }

    /// Percent of the answer received, when its length is known.
    fn percent(&self) -> i32 {
        self.length
            .map(|l| (self.reader.received() as u64 * 100 / l.max(1)).min(100) as i32)
            .unwrap_or(0)
    }
}

fn read(
    flight: &mut InFlight,
    honour: bool,
    limit: usize,
) -> Result<(crate::http::Head, Vec<u8>), Interrupted> {
    let head = flight.head(honour)?;
    let body = flight.read_all(honour, limit)?;
    Ok((head, body))
}
