//! The whole driver conformance suite (scanwire-testkit) for this driver, scanning over HTTP
//! on 127.0.0.1 from a test-side WS-Scan service in front of the virtual scanner.
//!
//! The service is built from `scanwire-wsd`'s writers: GetScannerElements describes the
//! virtual scanner, CreateScanJob starts a transfer on it, RetrieveImage answers each page
//! as PNG once it is complete, and the transfer's end as WS-Scan does: NoImagesAvailable,
//! or a fault with the ScannerStatus condition (MediaJam, InputTrayEmpty, …) and the job
//! Aborted. CancelJob cancels the transfer. Faults are scripted in the virtual scanner with
//! the options of each request (as `scanwire serve --set` would), so they reach the driver
//! only through WS-Scan.

mod common;

use common::{fault_out, listen, reply, Out};
use scanwire_core::device::{
    AcquireResult, Area, Capabilities, ColorMode, Device, DeviceError, DeviceErrorKind, DeviceInfo,
    Length, OptionValue, PageData, PixelFormat, ScanRequest, Source,
};
use scanwire_core::transfer::{
    self, CancelHandle, CancelToken, MiniDrvTransferCallback, Outcome, Recorder, RecordingHandle,
    SharedDevice, TransferOptions,
};
use scanwire_core::wia;
use scanwire_testkit::{virtual_scanner_faults, Profile};
use scanwire_virtual::VirtualDevice;
use scanwire_wsd::*;
use scanwire_wsd_client::options::{from_thousandths, to_thousandths};
use scanwire_wsd_client::WsdDevice;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One job of the virtual-backed service.
struct Run {
    id: u32,
    log: RecordingHandle,
    done: Arc<Mutex<Option<Outcome>>>,
    cancel: CancelHandle,
    delivered: usize,
}

struct Service {
    device: SharedDevice,
    caps: Capabilities,
    options: BTreeMap<String, OptionValue>,
    run: Mutex<Option<Run>>,
    next_id: Mutex<u32>,
    /// What GetScannerElements(ScannerStatus) and GetJobElements report after a failure.
    failed: Mutex<Option<(Vec<String>, JobState)>>,
}

fn color(m: ColorMode) -> ColorEntry {
    match m {
        ColorMode::Lineart => ColorEntry::BlackAndWhite1,
        ColorMode::Gray => ColorEntry::Grayscale8,
        ColorMode::Gray16 => ColorEntry::Grayscale16,
        ColorMode::Color => ColorEntry::Rgb24,
        ColorMode::Color48 => ColorEntry::Rgb48,
    }
}

impl Service {
    fn elements(&self) -> ScannerElements {
        let caps_of = |s: Source| {
            self.caps.source(s).map(|c| {
                let res = c.resolutions.to_discrete();
                InputCaps {
                    optical_resolution: None,
                    widths: res.clone(),
                    heights: res,
                    colors: c.modes.iter().map(|m| color(*m)).collect(),
                    min_size: Size::new(to_thousandths(c.min_size.0), to_thousandths(c.min_size.1)),
                    max_size: Size::new(
                        to_thousandths(c.max_area.width),
                        to_thousandths(c.max_area.height),
                    ),
                }
            })
        };
        let front = caps_of(Source::Feeder);
        ScannerElements {
            description: Some(ScannerDescription {
                name: self.caps.model.clone(),
                info: None,
                location: None,
            }),
            configuration: Some(ScannerConfiguration {
                settings: DeviceSettings {
                    formats: vec![Format::Png],
                    ..DeviceSettings::default()
                },
                platen: caps_of(Source::Flatbed),
                adf: front.map(|f| Adf {
                    supports_duplex: self.caps.source(Source::FeederDuplex).is_some(),
                    front: Some(f),
                    back: None,
                }),
            }),
            ..ScannerElements::default()
        }
    }

    /// The ticket as a request to the virtual scanner, with this service's options.
    fn request(&self, t: &ScanTicket) -> ScanRequest {
        let p = &t.params;
        let source = match p.input_source {
            Some(InputSource::Adf) => Source::Feeder,
            Some(InputSource::AdfDuplex) => Source::FeederDuplex,
            _ => Source::Flatbed,
        };
        let front = p.front.clone().unwrap_or_default();
        let mode = match front.color {
            Some(ColorEntry::BlackAndWhite1) => ColorMode::Lineart,
            Some(ColorEntry::Grayscale8) => ColorMode::Gray,
            _ => ColorMode::Color,
        };
        let max = self.caps.source(source).map(|c| c.max_area);
        let area = front.region.zip(max).map(|(r, max)| {
            let clamp = |v: u32, m: Length| from_thousandths(v).min(m);
            let left = clamp(r.x, max.width);
            let top = clamp(r.y, max.height);
            Area {
                left,
                top,
                width: clamp(r.width, Length(max.width.0 - left.0)),
                height: clamp(r.height, Length(max.height.0 - top.0)),
            }
        });
        ScanRequest {
            source,
            mode,
            resolution: front.resolution.map_or(300, |r| r.width),
            area,
            pages: p.images_to_transfer.filter(|&n| n > 0),
            encoding: None,
            options: self.options.clone(),
            processing: Default::default(),
        }
    }

    fn answer(&self, body: Vec<u8>) -> Out {
        let env = match Envelope::from_xml(&body) {
            Ok(e) => e,
            Err(e) => {
                return fault_out(
                    &Header::default(),
                    Fault::sender("InvalidArgs", &e.to_string()),
                )
            }
        };
        let h = env.header.clone();
        match env.body {
            Body::GetScannerElementsRequest(names) if names == ["ScannerStatus"] => {
                let conditions = self
                    .failed
                    .lock()
                    .unwrap()
                    .clone()
                    .map(|(c, _)| c)
                    .unwrap_or_default();
                // Stopped while a condition needs attention; a job aborted for another
                // reason leaves the scanner idle.
                let status = ScannerStatus {
                    time: None,
                    state: if conditions.is_empty() {
                        ScannerState::Idle
                    } else {
                        ScannerState::Stopped
                    },
                    reasons: vec![],
                    conditions: conditions
                        .into_iter()
                        .map(|name| DeviceCondition {
                            name,
                            component: Some("ADF".into()),
                        })
                        .collect(),
                };
                reply(
                    &h,
                    Body::GetScannerElementsResponse(ScannerElements {
                        status: Some(status),
                        ..ScannerElements::default()
                    }),
                )
            }
            Body::GetScannerElementsRequest(_) => {
                reply(&h, Body::GetScannerElementsResponse(self.elements()))
            }
            Body::CreateScanJobRequest(ticket) => {
                let mut run = self.run.lock().unwrap();
                if run.is_some() {
                    return fault_out(&h, Fault::receiver("ServerErrorNotAcceptingJobs", "busy"));
                }
                *self.failed.lock().unwrap() = None;
                let id = {
                    let mut n = self.next_id.lock().unwrap();
                    *n += 1;
                    *n
                };
                let request = self.request(&ticket);
                let (app, log) = Recorder::new();
                let done = Arc::new(Mutex::new(None));
                let cancel = CancelHandle::new();
                let (device, d, c) = (self.device.clone(), done.clone(), cancel.clone());
                std::thread::spawn(move || {
                    let o = transfer::run(
                        &device,
                        &request,
                        Box::new(app),
                        &c,
                        &TransferOptions::default(),
                    );
                    *d.lock().unwrap() = Some(o);
                });
                *run = Some(Run {
                    id,
                    log,
                    done,
                    cancel,
                    delivered: 0,
                });
                reply(
                    &h,
                    Body::CreateScanJobResponse(CreatedJob {
                        job_id: id,
                        job_token: format!("t{id}"),
                        ..CreatedJob::default()
                    }),
                )
            }
            Body::RetrieveImageRequest { job_id, .. } => self.retrieve(&h, job_id),
            Body::CancelJobRequest { job_id } => {
                let mut run = self.run.lock().unwrap();
                match run.take() {
                    Some(r) if r.id == job_id => {
                        r.cancel.cancel();
                        reply(&h, Body::CancelJobResponse)
                    }
                    other => {
                        *run = other;
                        fault_out(&h, Fault::sender("ClientErrorJobIdNotFound", "no such job"))
                    }
                }
            }
            Body::GetJobElementsRequest { job_id, .. } => {
                let state = self
                    .failed
                    .lock()
                    .unwrap()
                    .clone()
                    .map_or(JobState::Processing, |(_, s)| s);
                reply(
                    &h,
                    Body::GetJobElementsResponse(JobElements {
                        status: Some(JobStatus {
                            job_id,
                            state,
                            reasons: vec![],
                            scans_completed: None,
                        }),
                        ticket: None,
                    }),
                )
            }
            other => fault_out(&h, Fault::sender("ActionNotSupported", &other.name())),
        }
    }

    /// Waits for the next complete page or the transfer's end (without holding the job).
    fn retrieve(&self, h: &Header, job_id: u32) -> Out {
        loop {
            let mut guard = self.run.lock().unwrap();
            let Some(run) = guard.as_mut().filter(|r| r.id == job_id) else {
                return fault_out(h, Fault::sender("ClientErrorJobIdNotFound", "no such job"));
            };
            let done = run.done.lock().unwrap().is_some();
            let rec = run.log.snapshot();
            let pages = rec.complete_pages();
            if let Some(page) = pages.get(run.delivered) {
                run.delivered += 1;
                return match png(&page.info.data, &page.data) {
                    Ok(image) => {
                        let (ct, body) = write_retrieve_image_response(h, &image, "image/png");
                        Out::Send(200, ct, body)
                    }
                    Err(e) => fault_out(h, Fault::receiver("ServerErrorInternalError", &e)),
                };
            }
            if done {
                let outcome = guard.take().and_then(|r| r.done.lock().unwrap().take());
                return self.end(h, outcome);
            }
            drop(guard);
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// The transfer is over and every page was fetched: what WS-Scan says next.
    fn end(&self, h: &Header, outcome: Option<Outcome>) -> Out {
        let Some(o) = outcome else {
            return fault_out(h, Fault::receiver("ServerErrorInternalError", "no outcome"));
        };
        let Some(e) = o.error.filter(|_| !o.result.is_success()) else {
            if o.result == wia::S_FALSE {
                return fault_out(h, Fault::sender("ClientErrorJobCancelled", "cancelled"));
            }
            return fault_out(
                h,
                Fault::sender("ClientErrorNoImagesAvailable", "no more images"),
            );
        };
        let condition = match e.kind() {
            DeviceErrorKind::PaperJam => Some("MediaJam"),
            DeviceErrorKind::FeederEmpty => Some("InputTrayEmpty"),
            DeviceErrorKind::MultiFeed => Some("MultipleFeedError"),
            DeviceErrorKind::CoverOpen => Some("CoverOpen"),
            _ => None,
        };
        *self.failed.lock().unwrap() = Some((
            condition.map(String::from).into_iter().collect(),
            JobState::Aborted,
        ));
        if e.kind() == DeviceErrorKind::FeederEmpty {
            return fault_out(h, Fault::sender("ClientErrorNoImagesAvailable", e.detail()));
        }
        fault_out(h, Fault::receiver("ServerErrorInternalError", e.detail()))
    }
}

/// A raster page as PNG (8-bit gray or RGB, the modes the profile asks for).
fn png(data: &PageData, rows: &[u8]) -> Result<Vec<u8>, String> {
    let PageData::Raster {
        pixel,
        width,
        height,
    } = *data
    else {
        return Err("not a raster page".into());
    };
    let color = match pixel {
        PixelFormat::Rgb8 => png::ColorType::Rgb,
        PixelFormat::Gray8 => png::ColorType::Grayscale,
        other => return Err(format!("{other:?} pages are not served")),
    };
    let height = height.unwrap_or(rows.len() as u32 / pixel.bytes_per_line(width).max(1) as u32);
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        let mut w = e.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rows).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The WSD driver scanning from a virtual-backed service that applies the request's options
/// (one service per option set, as `scanwire serve --set` would be started).
struct Remote {
    current: Option<(WsdDevice, BTreeMap<String, OptionValue>)>,
}

impl Remote {
    fn device(
        &mut self,
        options: &BTreeMap<String, OptionValue>,
    ) -> Result<&mut WsdDevice, DeviceError> {
        if self.current.as_ref().is_none_or(|c| &c.1 != options) {
            let device = transfer::share(Box::new(VirtualDevice::new()));
            let caps = device.lock().unwrap().capabilities()?;
            let service = Arc::new(Service {
                device,
                caps,
                options: options.clone(),
                run: Mutex::new(None),
                next_id: Mutex::new(0),
                failed: Mutex::new(None),
            });
            let url = listen(Arc::new(move |body| service.answer(body)));
            let mut d = WsdDevice::open(&url)?;
            d.set_retry_delay(Duration::from_millis(50));
            self.current = Some((d, options.clone()));
        }
        Ok(&mut self.current.as_mut().expect("set above").0)
    }
}

impl Device for Remote {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "wsd:(loopback)".into(),
            vendor: String::new(),
            model: "WS-Scan loopback".into(),
            driver: "wsd",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        let options = self
            .current
            .as_ref()
            .map(|c| c.1.clone())
            .unwrap_or_default();
        self.device(&options)?.capabilities()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        let wire = ScanRequest {
            options: BTreeMap::new(),
            ..request.clone()
        };
        self.device(&request.options)?.acquire(&wire, cb, cancel)
    }
}

fn request(source: Source, options: &[(&str, &str)], pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        source,
        resolution: 75,
        pages,
        options: scanwire_testkit::set(&VirtualDevice::new().options(), options),
        ..ScanRequest::default()
    }
}

fn profile() -> Profile {
    let mut faults = virtual_scanner_faults(&request, wia::WIA_ERROR_DEVICE_COMMUNICATION);
    for f in &mut faults {
        // WS-Scan has no offline condition: a scanner that cannot scan aborts the job with a
        // fault, which reaches the client as a communication failure.
        if f.name == "offline" {
            f.result = wia::WIA_ERROR_DEVICE_COMMUNICATION;
        }
    }
    Profile {
        name: "wsd → WS-Scan test service → virtual",
        open: Box::new(|| transfer::share(Box::new(Remote { current: None }))),
        flatbed: request(Source::Flatbed, &[], None),
        feeder: Some(request(Source::Feeder, &[("sheets", "4")], None)),
        // 30 pages a minute: two seconds per page.
        slow: request(Source::Flatbed, &[("ppm", "30")], None),
        faults,
    }
}

scanwire_testkit::conformance_suite!(profile());
