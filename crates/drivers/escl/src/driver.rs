//! [`EsclDriver`] opens scanners by URL; [`EsclDevice`] runs [`protocol::Job`] steps over
//! [`http::Client`] and turns pages into WIA transfer calls.

use crate::decode;
use crate::errors::{self, Operation};
use crate::http::{Client, Interrupted, MAX_DOCUMENT};
use crate::options::{self, JobPlan};
use crate::protocol::{Base, Head, Job, Step};
use crate::quirks::Quirks;
use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceErrorKind, DeviceInfo, Driver,
    Encoding, PageData, PageInfo, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{
    CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream,
};
use scanwire_escl::{Document, ScannerCapabilities};

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
        if let Some(name) = request.options.keys().next() {
            return Err(DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!("unknown option `{name}`: the eSCL driver has no device-specific options"),
            ));
        }
        let plan = options::job_plan(request, &self.caps, self.document.version.as_deref())?;
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
}

/// What handing a page on came to.
enum PageEnd {
    Done,
    Cancelled,
}

impl Session<'_> {
    fn run(mut self, mut step: Step) -> AcquireResult {
        loop {
            step = match step {
                Step::Finish(result) => return self.finish(result),
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
                    let mut flight = self
                        .client
                        .start(&request, (!self.cancelled).then_some(self.cancel));
                    match flight.head(honour) {
                        Err(Interrupted::Cancelled) => self.on_cancel(Some(&mut flight)),
                        Err(Interrupted::Failed(e)) => self.job.on_failure(e),
                        Ok(head) if request.op == Operation::NextDocument && head.status == 200 => {
                            match self.job.on_response(&head, &[]) {
                                Step::Receive { number } => {
                                    match self.page(number, &head, &mut flight) {
                                        Ok(PageEnd::Done) => self.job.page_received(),
                                        Ok(PageEnd::Cancelled) => self.on_cancel(None),
                                        Err(Interrupted::Cancelled) => self.on_cancel(None),
                                        Err(Interrupted::Failed(e)) => self.job.on_failure(e),
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
    fn on_cancel(&mut self, flight: Option<&mut crate::http::InFlight>) -> Step {
        self.cancelled = true;
        match self.job.cancel() {
            Some(step) => step,
            None => match flight {
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

    fn finish(&mut self, result: AcquireResult) -> AcquireResult {
        if let Err(e) = &result {
            // Paper problems are what the scanner reported: say so before failing (an eSCL
            // job cannot resume, so the answer does not change the outcome).
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

    /// Hands one NextDocument body on: streamed as it arrives when passing through, else read
    /// whole, decoded and written in bands.
    fn page(
        &mut self,
        number: u32,
        head: &Head,
        flight: &mut crate::http::InFlight,
    ) -> Result<PageEnd, Interrupted> {
        let honour = !self.cancelled;
        if !self.plan.pass_through {
            let body = flight.read_all(honour, MAX_PAGE)?;
            let raster = decode::decode(&body, self.request.mode).map_err(Interrupted::Failed)?;
            let data = PageData::Raster {
                pixel: raster.pixel,
                width: raster.width,
                height: Some(raster.height),
            };
            let info = self.page_info(number, data);
            let mut stream = match self.open(&info)? {
                Some(s) => s,
                None => return Ok(PageEnd::Done),
            };
            let total = raster.data.len() as u64;
            let mut sent = 0u64;
            let band = raster.pixel.bytes_per_line(raster.width).max(1)
                * (BAND / raster.pixel.bytes_per_line(raster.width).max(1)).max(1);
            for chunk in raster.data.chunks(band) {
                stream.write(chunk).map_err(|hr| {
                    Interrupted::Failed(DeviceError::from_hresult(hr, "writing a page"))
                })?;
                sent += chunk.len() as u64;
                let pct = (sent * 100 / total.max(1)) as i32;
                if self.progress(pct, sent)? == Flow::Cancelled {
                    return Ok(PageEnd::Cancelled);
                }
            }
            stream.finish();
            return Ok(PageEnd::Done);
        }
        // Pass-through: the format is what the body is (AirSane answers JPEG requests with
        // PNG), from the first bytes, else Content-Type, else what was asked for.
        let first = flight.chunk(honour)?.unwrap_or_default();
        let encoding: Encoding = decode::sniff(&first)
            .or_else(|| head.content_type.as_deref().and_then(options::encoding))
            .unwrap_or(self.plan.wire);
        let info = self.page_info(number, PageData::Encoded(encoding));
        let Some(mut stream) = self.open(&info)? else {
            return Ok(PageEnd::Done);
        };
        let mut received = 0u64;
        let mut next = Some(first);
        while let Some(chunk) = next {
            if !chunk.is_empty() {
                stream.write(&chunk).map_err(|hr| {
                    Interrupted::Failed(DeviceError::from_hresult(hr, "writing a page"))
                })?;
                received += chunk.len() as u64;
                // Percent from Content-Length when the scanner sent one; bytes only otherwise.
                let pct = head
                    .content_length
                    .map(|l| (received * 100 / l.max(1)).min(100) as i32)
                    .unwrap_or(0);
                if self.progress(pct, received)? == Flow::Cancelled {
                    return Ok(PageEnd::Cancelled);
                }
            }
            next = flight.chunk(honour)?;
        }
        if let Some(len) = head.content_length {
            if received < len {
                return Err(Interrupted::Failed(errors::bad_response(format!(
                    "page {number} cut short: {received} of {len} bytes"
                ))));
            }
        }
        if received == 0 {
            return Err(Interrupted::Failed(errors::bad_response(format!(
                "an empty body for page {number}"
            ))));
        }
        stream.finish();
        Ok(PageEnd::Done)
    }

    /// Opens the application's stream: `None` when it skips the page.
    fn open(
        &mut self,
        info: &PageInfo,
    ) -> Result<Option<scanwire_core::transfer::StreamHandle>, Interrupted> {
        match self.cb.get_next_stream(0, info) {
            NextStream::Stream(s) => Ok(Some(s)),
            NextStream::Skip => Ok(None),
            NextStream::Cancelled => Err(Interrupted::Cancelled),
            NextStream::Failed(hr) => Err(Interrupted::Failed(DeviceError::from_hresult(
                hr,
                "the application refused the page",
            ))),
        }
    }

    fn progress(&mut self, pct: i32, bytes: u64) -> Result<Flow, Interrupted> {
        self.cb.progress(pct, bytes).map_err(|hr| {
            Interrupted::Failed(DeviceError::from_hresult(
                hr,
                "the application failed the transfer",
            ))
        })
    }
}
