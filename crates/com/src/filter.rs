//! Scanwire's WIA image processing filter as a plain state machine: what the COM
//! `IWiaImageFilter` (which is also the `IWiaTransferCallback` the driver's data reaches) does
//! with each call, over the application's callback. No COM in here, so Linux tests drive it.
//!
//! How WIA 2.0 places the filter (Microsoft's `IWiaImageFilter` pages and the
//! `wiadriverex/imgfilter` sample; docs/processing.md \[IF\]): the application's proxy calls
//! `InitializeFilter(item, app_callback)` before each `Download`, then hands the filter,
//! not the application, to the service as the transfer callback. So the filter sees every
//! `GetNextStream` and `TransferCallback` first:
//!
//! ```text
//!  service / driver                  ImageFilter                         application
//!  GetNextStream(name, full) ──►  item = FindItemByName(full)
//!                                 settings from its WIA_IPS_* properties
//!                                 nothing to do: app's stream as is ─► GetNextStream
//!                                 otherwise: a PageBuffer stream
//!  IStream::Write / Seek     ──►  PageBuffer (the whole page, in memory)
//!  TransferCallback(STATUS)  ──►  percent × 0.9, bytes 0 (buffered)  ─► TransferCallback
//!  TransferCallback(EOS)     ──►  decode, process (processing.rs), encode; for each image
//!                                 to deliver (none: a discarded blank page) ─► GetNextStream,
//!                                 Write, STATUS 100 %, END_OF_STREAM
//!  TransferCallback(EOT)     ──►  forwarded                         ─► TransferCallback
//! ```
//!
//! The application's stream is asked for only once the page is processed (the sample asks
//! at once; Scanwire waits so a discarded page never opens one). So the application sees a
//! valid grammar: no stream, NEW_PAGE or END_OF_STREAM for a discarded page; a STATUS before its
//! stream carries 0 bytes; END_OF_STREAM's byte count is what its stream received.
//! Answers: the application's S_FALSE (cancel) or error is returned to the driver and is
//! sticky, as in the sample; a page the driver ends with an error, or after a cancel, is
//! dropped. A page that cannot be processed fails the transfer with the error's HRESULT
//! ([`FilterError::hresult`]).

use crate::processing::{process_page, FilterError, FilterReport, FilterSettings, PageFormat};
use scanwire_core::wia::{self, HResult, MessageKind, WiaTransferParams};
use std::io::SeekFrom;
use std::sync::{Arc, Mutex, MutexGuard};

/// `STG_E_MEDIUMFULL`: a page larger than the buffer takes.
pub const STG_E_MEDIUMFULL: HResult = HResult::from_u32(0x8003_0070);
/// The largest page buffered (a 1200 dpi A4 RGB page encoded is far less).
pub const MAX_PAGE_BYTES: u64 = 1 << 31;
/// Bytes per `IStream::Write` into the application's stream.
const WRITE_CHUNK: usize = 1 << 16;

/// The application side the filter forwards to (the COM shell: the application's
/// `IWiaTransferCallback`; tests: `crate::app::AppAdapter`).
pub trait Application {
    /// A page stream of the application.
    type Stream;
    /// `IWiaTransferCallback::GetNextStream`.
    fn get_next_stream(
        &mut self,
        flags: i32,
        name: &str,
        full_name: &str,
    ) -> Result<Self::Stream, HResult>;
    /// `IStream::Write` of all of `data`.
    fn write(&mut self, stream: &mut Self::Stream, data: &[u8]) -> Result<(), HResult>;
    /// `IWiaTransferCallback::TransferCallback`.
    fn transfer_callback(&mut self, flags: i32, params: &WiaTransferParams) -> HResult;
}

/// One page as the driver writes it: a memory stream (writes anywhere, seeks anywhere, as
/// `CreateStreamOnHGlobal`'s, which the sample uses), read at END_OF_STREAM.
#[derive(Debug, Default)]
pub struct PageBuffer {
    inner: Mutex<(Vec<u8>, u64)>,
}

impl PageBuffer {
    fn lock(&self) -> MutexGuard<'_, (Vec<u8>, u64)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes at the position (zeros fill a gap past the end), moving it.
    pub fn write(&self, data: &[u8]) -> Result<(), HResult> {
        let mut g = self.lock();
        let (buf, pos) = &mut *g;
        let end = *pos + data.len() as u64;
        if end > MAX_PAGE_BYTES {
            return Err(STG_E_MEDIUMFULL);
        }
        let (start, end) = (*pos as usize, end as usize);
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[start..end].copy_from_slice(data);
        *pos = end as u64;
        Ok(())
    }

    /// Reads from the position into `out`; the count read.
    pub fn read(&self, out: &mut [u8]) -> usize {
        let mut g = self.lock();
        let (buf, pos) = &mut *g;
        let start = (*pos as usize).min(buf.len());
        let n = out.len().min(buf.len() - start);
        out[..n].copy_from_slice(&buf[start..start + n]);
        *pos += n as u64;
        n
    }

    /// Moves the position (anywhere from 0 on); the new position.
    pub fn seek(&self, to: SeekFrom) -> Result<u64, HResult> {
        let mut g = self.lock();
        let (buf, pos) = &mut *g;
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => pos.checked_add_signed(d),
            SeekFrom::End(d) => (buf.len() as u64).checked_add_signed(d),
        };
        match new {
            Some(p) if p <= MAX_PAGE_BYTES => {
                *pos = p;
                Ok(p)
            }
            _ => Err(crate::pages::STG_E_INVALIDFUNCTION),
        }
    }

    /// Sets the size (truncating or zero-filling).
    pub fn set_size(&self, size: u64) -> Result<(), HResult> {
        if size > MAX_PAGE_BYTES {
            return Err(STG_E_MEDIUMFULL);
        }
        self.lock().0.resize(size as usize, 0);
        Ok(())
    }

    /// Bytes held.
    pub fn len(&self) -> u64 {
        self.lock().0.len() as u64
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page's bytes, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        let mut g = self.lock();
        g.1 = 0;
        std::mem::take(&mut g.0)
    }
}

/// How a page is to be processed: its settings, format and resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct PageSetup {
    /// From the item's properties.
    pub settings: FilterSettings,
    /// The item's `WIA_IPA_FORMAT`.
    pub format: PageFormat,
    /// `WIA_IPS_XRES` / `YRES`, for a file that states no resolution.
    pub dpi: (u32, u32),
}

impl PageSetup {
    /// What to do with a page of an item: `None` to pass it through untouched (a storage
    /// item, as the sample does, or nothing asked for), else how to process it. A format the
    /// filter cannot decode is an error only when processing is asked for.
    pub fn for_item(
        category: u128,
        settings: Result<FilterSettings, FilterError>,
        format: u128,
        dpi: (u32, u32),
    ) -> Result<Option<PageSetup>, FilterError> {
        use crate::processing::{
            WIA_CATEGORY_FINISHED_FILE, WIA_CATEGORY_FOLDER, WIA_CATEGORY_ROOT,
        };
        if [
            WIA_CATEGORY_FINISHED_FILE,
            WIA_CATEGORY_FOLDER,
            WIA_CATEGORY_ROOT,
        ]
        .contains(&category)
        {
            return Ok(None);
        }
        let settings = settings?;
        if settings.is_identity() {
            return Ok(None);
        }
        Ok(Some(PageSetup {
            settings,
            format: PageFormat::from_guid(format)?,
            dpi: (dpi.0.max(1), dpi.1.max(1)),
        }))
    }
}

/// What the filter's `GetNextStream` hands the driver.
pub enum Begin<S> {
    /// The application's own stream (nothing to do for this page).
    Direct(S),
    /// A buffer the driver writes the page into.
    Buffer(Arc<PageBuffer>),
}

struct Page {
    flags: i32,
    name: String,
    full_name: String,
    setup: PageSetup,
    buffer: Arc<PageBuffer>,
}

/// The image filter's state over application `A`.
pub struct ImageFilter<A: Application> {
    app: Option<A>,
    page: Option<Page>,
    sticky: Option<HResult>,
    reports: Vec<Result<FilterReport, String>>,
}

impl<A: Application> Default for ImageFilter<A> {
    fn default() -> Self {
        ImageFilter {
            app: None,
            page: None,
            sticky: None,
            reports: Vec::new(),
        }
    }
}

fn is_stop(hr: HResult) -> bool {
    hr == wia::S_FALSE || hr.is_failure()
}

impl<A: Application> ImageFilter<A> {
    /// `InitializeFilter`: a new download to `app`; everything of the last one is forgotten.
    pub fn initialize(&mut self, app: A) {
        *self = ImageFilter {
            app: Some(app),
            ..Default::default()
        };
    }

    /// `SetNewCallback`: the filter forwards to `app` from now on (`None`: to nobody; calls
    /// then fail with E_UNEXPECTED).
    pub fn set_callback(&mut self, app: Option<A>) {
        self.app = app;
    }

    /// The application, if one is set.
    pub fn app(&mut self) -> Option<&mut A> {
        self.app.as_mut()
    }

    /// The S_FALSE or error that stopped the transfer, if one did: every later call answers
    /// it.
    pub fn stopped(&self) -> Option<HResult> {
        self.sticky
    }

    /// What was found on each page the driver completed, in order (an error for a page
    /// that could not be processed).
    pub fn reports(&self) -> &[Result<FilterReport, String>] {
        &self.reports
    }

    /// WIA_IPS_DESKEW_X / _Y of what the last processed page straightened, for
    /// `ApplyProperties` (`None`: nothing was straightened).
    pub fn found_deskew_xy(&self) -> Option<(u32, u32)> {
        self.reports
            .iter()
            .rev()
            .find_map(|r| r.as_ref().ok())
            .and_then(|r| r.deskew_xy)
    }

    /// The filter's `GetNextStream`: `setup` is what [`PageSetup::for_item`] said for the
    /// item `full_name` names.
    pub fn get_next_stream(
        &mut self,
        flags: i32,
        name: &str,
        full_name: &str,
        setup: Option<PageSetup>,
    ) -> Result<Begin<A::Stream>, HResult> {
        if let Some(hr) = self.sticky {
            return Err(hr);
        }
        // A page the driver left without END_OF_STREAM is incomplete: dropped.
        self.page = None;
        let Some(app) = self.app.as_mut() else {
            return Err(wia::E_UNEXPECTED);
        };
        match setup {
            None => match app.get_next_stream(flags, name, full_name) {
                Ok(s) => Ok(Begin::Direct(s)),
                Err(hr) => {
                    if is_stop(hr) {
                        self.sticky = Some(hr);
                    }
                    Err(hr)
                }
            },
            Some(setup) => {
                let buffer = Arc::new(PageBuffer::default());
                self.page = Some(Page {
                    flags,
                    name: name.to_owned(),
                    full_name: full_name.to_owned(),
                    setup,
                    buffer: buffer.clone(),
                });
                Ok(Begin::Buffer(buffer))
            }
        }
    }

    fn forward(&mut self, flags: i32, params: &WiaTransferParams) -> HResult {
        let Some(app) = self.app.as_mut() else {
            return wia::E_UNEXPECTED;
        };
        let hr = app.transfer_callback(flags, params);
        if is_stop(hr) {
            self.sticky.get_or_insert(hr);
        }
        hr
    }

    /// The filter's `TransferCallback`; `None` is a null params pointer.
    pub fn transfer_callback(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult {
        let Some(p) = params else {
            return wia::E_POINTER;
        };
        if self.app.is_none() {
            return wia::E_UNEXPECTED;
        }
        let buffering = self.page.is_some();
        match p.kind() {
            Some(MessageKind::Status) | Some(MessageKind::NewPage) => {
                if let Some(hr) = self.sticky {
                    return hr;
                }
                if !buffering {
                    return self.forward(flags, p);
                }
                if p.kind() == Some(MessageKind::NewPage) {
                    // The application's page starts when the processed page is delivered.
                    return wia::S_OK;
                }
                let scan = WiaTransferParams::status(p.lPercentComplete.clamp(0, 100) * 9 / 10, 0);
                self.forward(flags, &scan)
            }
            Some(MessageKind::EndOfStream) if buffering => {
                let page = self.page.take().expect("buffering");
                if let Some(hr) = self.sticky {
                    return hr;
                }
                if p.hrErrorStatus != wia::S_OK {
                    // The driver says the page is incomplete: it is not delivered.
                    return wia::S_OK;
                }
                self.deliver(page)
            }
            Some(MessageKind::EndOfTransfer) => {
                self.page = None;
                self.forward(flags, p)
            }
            _ => self.forward(flags, p),
        }
    }

    fn deliver(&mut self, page: Page) -> HResult {
        let bytes = page.buffer.take();
        let s = &page.setup;
        let processed = match process_page(&bytes, s.format, s.dpi, &s.settings) {
            Ok(mut p) => {
                // The driver's page number: the pages it completed so far, this one included.
                p.report.findings.scanned = self.reports.len() as u32 + 1;
                p
            }
            Err(e) => {
                self.reports.push(Err(e.to_string()));
                let hr = e.hresult();
                self.sticky = Some(hr);
                return hr;
            }
        };
        self.reports.push(Ok(processed.report));
        for out in processed.pages {
            let Some(app) = self.app.as_mut() else {
                return wia::E_UNEXPECTED;
            };
            let mut stream = match app.get_next_stream(page.flags, &page.name, &page.full_name) {
                Ok(s) => s,
                Err(hr) if hr == wia::WIA_STATUS_SKIP_ITEM => continue,
                Err(hr) => {
                    self.sticky = Some(hr);
                    return hr;
                }
            };
            let mut written = 0u64;
            let mut failed = None;
            for chunk in out.chunks(WRITE_CHUNK) {
                if let Err(hr) = app.write(&mut stream, chunk) {
                    failed = Some(hr);
                    break;
                }
                written += chunk.len() as u64;
            }
            drop(stream);
            let mut answer = wia::S_OK;
            if failed.is_none() {
                answer = self.forward(page.flags, &WiaTransferParams::status(100, written));
            }
            let eos = WiaTransferParams::raw(
                wia::WIA_TRANSFER_MSG_END_OF_STREAM,
                100,
                written,
                failed.unwrap_or(wia::S_OK),
            );
            // END_OF_STREAM closes the application's page whatever STATUS was answered.
            if let Some(app) = self.app.as_mut() {
                let hr = app.transfer_callback(page.flags, &eos);
                if answer == wia::S_OK {
                    answer = hr;
                }
            }
            if let Some(hr) = failed {
                answer = hr;
            }
            if answer != wia::S_OK {
                if is_stop(answer) {
                    self.sticky.get_or_insert(answer);
                }
                return answer;
            }
        }
        wia::S_OK
    }
}
