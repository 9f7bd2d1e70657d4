//! Handing a page to the application: its [`PageInfo`], its stream, its STATUS messages, and
//! what the application's side of failing is.
//!
//! How a page's failures on the scanner's side are classified stays with each driver (an eSCL
//! job asks ScannerStatus after a broken page; a WS-Scan one also after an image that does not
//! decode), so these functions report only the application's side, [`AppStop`], which a
//! driver's own error type takes `From` (so `?` turns it into the driver's).

use scanwire_core::device::{
    AcquireResult, DeviceError, DeviceErrorKind, PageData, PageInfo, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{
    CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream, StreamHandle,
};
use scanwire_core::wia::HResult;
use std::time::Duration;

/// Why the application stopped a page.
#[derive(Debug)]
pub enum AppStop {
    /// It cancelled (S_FALSE from `get_next_stream`).
    Cancelled,
    /// Its stream or callback failed: its HRESULT ends the transfer.
    Failed(DeviceError),
}

/// The page `number` (1-based) of `request`: on a duplex feeder, odd pages are fronts and even
/// ones backs of the same sheet.
pub fn page_info(request: &ScanRequest, number: u32, data: PageData) -> PageInfo {
    let duplex = request.source == Source::FeederDuplex;
    PageInfo {
        number,
        sheet: if duplex { number.div_ceil(2) } else { number },
        side: if duplex && number % 2 == 0 {
            Side::Back
        } else {
            Side::Front
        },
        source: request.source,
        data,
        dpi: (request.resolution, request.resolution),
    }
}

/// Opens the application's stream for `info`: `None` when it skips the page.
pub fn open(
    cb: &mut dyn MiniDrvTransferCallback,
    info: &PageInfo,
) -> Result<Option<StreamHandle>, AppStop> {
    match cb.get_next_stream(0, info) {
        NextStream::Stream(s) => Ok(Some(s)),
        NextStream::Skip => Ok(None),
        NextStream::Cancelled => Err(AppStop::Cancelled),
        NextStream::Failed(hr) => Err(AppStop::Failed(DeviceError::from_hresult(
            hr,
            "the application refused the page",
        ))),
    }
}

/// Writes to the application's stream; its failure is the application's.
pub fn write(stream: &mut StreamHandle, data: &[u8]) -> Result<(), AppStop> {
    stream
        .write(data)
        .map_err(|hr| AppStop::Failed(DeviceError::from_hresult(hr, "writing a page")))
}

/// A STATUS message: `pct` of the page, `bytes` of it so far. `Flow::Cancelled` is the
/// application's S_FALSE; a failed callback is its error.
pub fn progress(
    cb: &mut dyn MiniDrvTransferCallback,
    pct: i32,
    bytes: u64,
) -> Result<Flow, AppStop> {
    cb.progress(pct, bytes).map_err(|hr| {
        AppStop::Failed(DeviceError::from_hresult(
            hr,
            "the application failed the transfer",
        ))
    })
}

/// Ends a transfer: a paper problem (jam, empty feeder, cover open) is what the scanner
/// reported, so the application hears it as DEVICE_STATUS before the transfer fails (neither
/// protocol's job can resume, so the answer does not change the outcome).
pub fn finish(cb: &mut dyn MiniDrvTransferCallback, result: AcquireResult) -> AcquireResult {
    if let Err(e) = &result {
        if e.kind().is_user_recoverable() {
            let _ = cb.device_status(e.hresult(), 0);
        }
    }
    result
}

/// Before a job step's request: the step's DEVICE_STATUS (a condition the scanner reported,
/// such as warming up), its delay (a busy scanner's retry), and a last look at the cancel
/// token. `false`: the application cancelled meanwhile, so the driver cancels instead of
/// sending. Once `cancelled`, neither the delay nor the token holds the request back: it is
/// the cancel's own (eSCL's DELETE, WS-Scan's CancelJob) and must get through.
pub fn ready_to_send(
    cb: &mut dyn MiniDrvTransferCallback,
    cancel: &CancelToken,
    cancelled: bool,
    status: Option<HResult>,
    delay: Duration,
) -> bool {
    if let Some(code) = status {
        if let Ok(Flow::Cancelled) = cb.device_status(code, 0) {
            return false;
        }
    }
    if !delay.is_zero() && !cancelled && cancel.sleep(delay) {
        return false;
    }
    cancelled || !cancel.is_cancelled()
}

/// Refuses device-specific (`--set`) options: neither network driver declares any.
pub fn no_options(request: &ScanRequest, driver: &str) -> Result<(), DeviceError> {
    match request.options.keys().next() {
        Some(name) => Err(DeviceError::new(
            DeviceErrorKind::InvalidRequest,
            format!("unknown option `{name}`: the {driver} driver has no device-specific options"),
        )),
        None => Ok(()),
    }
}
