//! The two callback interfaces of a WIA 2.0 transfer and the streams they hand out.
//!
//! ```text
//!  application                      relay (the WIA service's role)         driver
//!  TransferCallback  <------------  Relay: MiniDrvTransferCallback  <----  Device::acquire
//!    get_next_stream(page)            get_next_stream(0, page)               per page
//!    transfer_callback(params)        send_message(0, params)                bands, STATUS
//!    report_status(hr, pct)           (DEVICE_STATUS -> handler chain)
//! ```
//!
//! The message grammar the application sees (S13, S14):
//!
//! ```text
//! transfer = page* END_OF_TRANSFER
//! page     = get_next_stream -> Stream, (NEW_PAGE | STATUS)*, END_OF_STREAM
//!          | get_next_stream -> Skip
//! ```
//!
//! DEVICE_STATUS never reaches `transfer_callback` (S6); it goes to `report_status` and the
//! rest of the error-handler chain.

use super::stream::{PageSink, StreamHandle};
use crate::device::PageInfo;
use crate::wia::{self, HResult, WiaTransferParams};

/// `IWiaMiniDrvTransferCallback`: what a driver calls during `acquire`.
///
/// Every answer is final for the transfer: once `send_message` or `get_next_stream` answered
/// S_FALSE or an error, the driver must stop, release its stream and return that outcome
/// (statements 17–19).
pub trait MiniDrvTransferCallback {
    /// `GetNextStream`: asks the application for a stream for `page`.
    ///
    /// `flags` is WIA's unused `lFlags`; pass 0.
    fn get_next_stream(&mut self, flags: i32, page: &PageInfo) -> NextStream;

    /// `SendMessage`: reports STATUS, NEW_PAGE or DEVICE_STATUS.
    ///
    /// Returns S_OK to go on, S_FALSE once the transfer is cancelled (sticky: every later call
    /// answers S_FALSE too), or an error HRESULT. `None` is WIA's null pointer: E_POINTER.
    fn send_message(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult;

    /// Whether a well-formed STATUS (`lFlags` 0, `lPercentComplete` in 0..=100,
    /// `ulTransferredBytes` equal to the bytes written to the open stream) would be answered
    /// S_OK now, whatever the application does: true only where the application's answer
    /// cannot differ (decoupled progress) and nothing has stopped the transfer. A driver host
    /// publishes this so it can answer such a STATUS itself and post it
    /// ([`posted_status`](Self::posted_status)) instead of waiting for the answer. It turns
    /// false before a cancel, a stop or an abandon is acted on, so a STATUS the host answered
    /// on its strength is one the relay would have answered S_OK at that moment.
    fn answers_status_at_once(&self) -> bool {
        false
    }

    /// A well-formed STATUS the driver's side already answered S_OK, because
    /// [`answers_status_at_once`](Self::answers_status_at_once) said so when the driver made
    /// the call. It is processed as that call (progress, modeless status), linearised before
    /// anything that happened since: a cancel that came in between is not a reason to refuse
    /// it, and it is not a call after a stop. Only a driver host calls this.
    fn posted_status(&mut self, params: &WiaTransferParams) {
        let _ = self.send_message(0, Some(params));
    }
}

/// `GetNextStream`'s answer.
#[derive(Debug)]
pub enum NextStream {
    /// S_OK: write the page into this stream, then [`StreamHandle::finish`] it.
    Stream(StreamHandle),
    /// WIA_STATUS_SKIP_ITEM: the application does not want this page. Scan it anyway, discard
    /// the data, and go on with the next (statement 20).
    Skip,
    /// S_FALSE: the transfer is cancelled; stop and return [`Completion::Cancelled`](crate::device::Completion::Cancelled).
    Cancelled,
    /// An error: stop and return it.
    Failed(HResult),
}

impl NextStream {
    /// The raw HRESULT WIA would return.
    pub fn hresult(&self) -> HResult {
        match self {
            NextStream::Stream(_) => wia::S_OK,
            NextStream::Skip => wia::WIA_STATUS_SKIP_ITEM,
            NextStream::Cancelled => wia::S_FALSE,
            NextStream::Failed(hr) => *hr,
        }
    }
}

/// The idiomatic reading of a `send_message` answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    /// S_OK: go on.
    Continue,
    /// S_FALSE: stop, the transfer is cancelled.
    Cancelled,
}

impl Flow {
    /// `Ok(Continue)` for S_OK (and other success codes), `Ok(Cancelled)` for S_FALSE,
    /// `Err(hr)` for failures.
    pub fn from_hresult(hr: HResult) -> Result<Flow, HResult> {
        if hr == wia::S_FALSE {
            Ok(Flow::Cancelled)
        } else if hr.is_failure() {
            Err(hr)
        } else {
            Ok(Flow::Continue)
        }
    }
}

/// Convenience calls for drivers, over the exact WIA methods.
pub trait DriverCallbackExt: MiniDrvTransferCallback {
    /// STATUS with `percent` and the bytes written to the current stream so far.
    fn progress(&mut self, percent: i32, bytes: u64) -> Result<Flow, HResult> {
        Flow::from_hresult(self.send_message(0, Some(&WiaTransferParams::status(percent, bytes))))
    }

    /// DEVICE_STATUS with a WIA_STATUS_* or WIA_ERROR_* code.
    fn device_status(&mut self, status: HResult, percent: i32) -> Result<Flow, HResult> {
        Flow::from_hresult(
            self.send_message(0, Some(&WiaTransferParams::device_status(status, percent))),
        )
    }
}

impl<T: MiniDrvTransferCallback + ?Sized> DriverCallbackExt for T {}

/// `IWiaTransferCallback::GetNextStream`'s answer.
pub enum AppStream {
    /// S_OK and a stream.
    Stream(Box<dyn PageSink>),
    /// WIA_STATUS_SKIP_ITEM.
    Skip,
    /// S_FALSE: cancel the whole transfer.
    Cancel,
    /// An error: fail the transfer.
    Fail(HResult),
}

impl std::fmt::Debug for AppStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppStream::Stream(_) => f.write_str("Stream(..)"),
            AppStream::Skip => f.write_str("Skip"),
            AppStream::Cancel => f.write_str("Cancel"),
            AppStream::Fail(hr) => write!(f, "Fail({hr})"),
        }
    }
}

/// `IWiaTransferCallback` plus the optional `IWiaAppErrorHandler` on the same object: what an
/// application implements to receive a transfer.
pub trait TransferCallback: Send {
    /// A stream for `page`, or skip, cancel or fail.
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream;

    /// STATUS, NEW_PAGE, END_OF_STREAM and END_OF_TRANSFER. Return S_OK to go on, S_FALSE to
    /// cancel (sticky), or an error to fail the transfer. The answer to END_OF_TRANSFER is
    /// ignored.
    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult;

    /// `IWiaAppErrorHandler::ReportStatus`, first in the DEVICE_STATUS chain: S_OK handled,
    /// WIA_STATUS_NOT_HANDLED to pass it on (the default), S_FALSE to cancel, or the status
    /// itself to abort. Give the same answer for the same code every time.
    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        let _ = (status, percent);
        wia::WIA_STATUS_NOT_HANDLED
    }
}

/// `IWiaErrorHandler`: a later link of the DEVICE_STATUS chain (a driver's extension).
pub trait ErrorHandler: Send {
    /// Same meanings as [`TransferCallback::report_status`].
    fn report_status(&mut self, status: HResult, percent: i32) -> HResult;
}
