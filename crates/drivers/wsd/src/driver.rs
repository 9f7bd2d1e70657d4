//! [`WsdDriver`] opens scan services by URL; [`WsdDevice`] runs [`protocol::Job`] steps over
//! [`http::Client`] and turns images into WIA transfer calls.

use crate::errors::{self, Operation};
use crate::http::{Client, InFlight, Interrupted, MAX_IMAGE, MAX_MESSAGE};
use crate::options::{self, JobPlan};
use crate::protocol::{self, Job, Response, Service, Step};
use scanwire_codecs::decode;
use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceErrorKind, DeviceInfo, Driver,
    Encoding, PageData, PageInfo, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{
    CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream, StreamHandle,
};
use scanwire_wsd::{Body, ScannerElements};
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
        if let Some(name) = request.options.keys().next() {
            return Err(DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!("unknown option `{name}`: the WSD driver has no device-specific options"),
            ));
        }
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
    /// The image does not decode: the scanner's side.
    Scanner(DeviceError),
    /// The application's stream or callback failed.
    App(DeviceError),
}

impl Session<'_> {
    fn run(mut self, mut step: Step) -> AcquireResult {
        // The body of the last answer (a Page step points into it).
        let mut body: Vec<u8> = Vec::new();
        loop {
            step = match step {
                Step::Finish(result) => return self.finish(result),
                Step::Page {
                    number,
                    image,
                    mime,
                } => match self.page(number, &body[image], mime.as_deref()) {
                    Ok(Some(stream)) => {
                        let next = self.job.page_received();
                        stream.finish();
                        next
                    }
                    Ok(None) => self.job.page_received(),
                    Err(PageFail::Cancelled) => self.on_cancel(None),
                    Err(PageFail::Scanner(e)) | Err(PageFail::App(e)) => self.job.abort(e),
                },
                Step::Send {
                    request,
                    delay,
                    status,
                } => {
                    if let Some(code) = status {
                        if let Ok(Flow::Cancelled) = self.cb.device_status(code, 0) {
                            step = self.on_cancel(None);
                            continue;
                        }
                    }
                    if !delay.is_zero() && !self.cancelled && self.cancel.sleep(delay) {
                        step = self.on_cancel(None);
                        continue;
                    }
                    if !self.cancelled && self.cancel.is_cancelled() {
                        step = self.on_cancel(None);
                        continue;
                    }
                    let honour = !self.cancelled;
                    let mut flight = self.client.start(&request, honour.then_some(self.cancel));
                    let limit = if request.op == Operation::RetrieveImage {
                        MAX_IMAGE
                    } else {
                        MAX_MESSAGE
                    };
                    match read(&mut flight, honour, limit) {
                        Ok((head, b)) => {
                            body = b;
                            self.job.on_response(&Response {
                                status: head.status,
                                content_type: head.content_type.as_deref(),
                                body: &body,
                            })
                        }
                        Err(Interrupted::Cancelled) => self.on_cancel(Some(&mut flight)),
                        Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                    }
                }
            };
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

    fn finish(&mut self, result: AcquireResult) -> AcquireResult {
        if let Err(e) = &result {
            // Paper problems are what the scanner reported: say so before failing.
            if e.kind().is_user_recoverable() {
                let _ = self.cb.device_status(e.hresult(), 0);
            }
        }
        result
    }

    fn page_info(&self, number: u32, data: PageData) -> PageInfo {
        let duplex = self.request.source == Source::FeederDuplex;
        PageInfo {
            number,
            sheet: if duplex { number.div_ceil(2) } else { number },
            side: if duplex && number % 2 == 0 {
                Side::Back
            } else {
                Side::Front
            },
            source: self.request.source,
            data,
            dpi: (self.request.resolution, self.request.resolution),
        }
    }

    /// Hands one image on: untouched when the application asked for an encoding (a PNG only
    /// when it holds the requested mode), else decoded to rows. `Ok(None)`: the application
    /// skipped it.
    fn page(
        &mut self,
        number: u32,
        image: &[u8],
        mime: Option<&str>,
    ) -> Result<Option<StreamHandle>, PageFail> {
        if image.is_empty() {
            return Err(PageFail::Scanner(errors::bad_response(
                Operation::RetrieveImage,
                format!("an empty image {number}"),
            )));
        }
        let sniffed = decode::sniff(image);
        let keep = self.plan.pass_through
            && (sniffed != Some(Encoding::Png) || decode::png_is_mode(image, self.request.mode));
        if keep {
            // The format is what the bytes are, else the attachment's type, else what was asked.
            let encoding = sniffed
                .or_else(|| mime.and_then(mime_encoding))
                .unwrap_or(self.plan.wire);
            let info = self.page_info(number, PageData::Encoded(encoding));
            let Some(mut stream) = self.open(&info)? else {
                return Ok(None);
            };
            self.write_bands(&mut stream, image)?;
            return Ok(Some(stream));
        }
        let raster = decode::decode(image, Some(self.request.mode)).map_err(|e| {
            PageFail::Scanner(errors::bad_response(
                Operation::RetrieveImage,
                format!("image {number}, which does not decode: {e}"),
            ))
        })?;
        let info = self.page_info(
            number,
            PageData::Raster {
                pixel: raster.pixel,
                width: raster.width,
                height: Some(raster.height),
            },
        );
        let Some(mut stream) = self.open(&info)? else {
            return Ok(None);
        };
        self.write_bands(&mut stream, &raster.data)?;
        Ok(Some(stream))
    }

    /// Writes `data` in bands of about [`BAND`] bytes, each with a STATUS.
    fn write_bands(&mut self, stream: &mut StreamHandle, data: &[u8]) -> Result<(), PageFail> {
        let total = data.len() as u64;
        let mut sent = 0u64;
        for chunk in data.chunks(BAND) {
            stream
                .write(chunk)
                .map_err(|hr| PageFail::App(DeviceError::from_hresult(hr, "writing a page")))?;
            sent += chunk.len() as u64;
            let pct = (sent * 100 / total.max(1)) as i32;
            match self.cb.progress(pct, sent) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Cancelled) => return Err(PageFail::Cancelled),
                Err(hr) => {
                    return Err(PageFail::App(DeviceError::from_hresult(
                        hr,
                        "the application failed the transfer",
                    )))
                }
            }
        }
        Ok(())
    }

    fn open(&mut self, info: &PageInfo) -> Result<Option<StreamHandle>, PageFail> {
        match self.cb.get_next_stream(0, info) {
            NextStream::Stream(s) => Ok(Some(s)),
            NextStream::Skip => Ok(None),
            NextStream::Cancelled => Err(PageFail::Cancelled),
            NextStream::Failed(hr) => Err(PageFail::App(DeviceError::from_hresult(
                hr,
                "the application refused the page",
            ))),
        }
    }
}

/// The encoding a MIME type names.
fn mime_encoding(mime: &str) -> Option<Encoding> {
    Some(match mime {
        "image/jpeg" | "image/jpg" => Encoding::Jpeg,
        "image/png" => Encoding::Png,
        "image/tiff" => Encoding::Tiff,
        "application/pdf" => Encoding::Pdf,
        _ => return None,
    })
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
