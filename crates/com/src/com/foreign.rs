//! The other direction: a foreign `IWiaMiniDrvTransferCallback` (the WIA service's, handed to a
//! mini-driver in `drvAcquireItemData`) as Scanwire's driver-facing
//! [`MiniDrvTransferCallback`], so a Scanwire [`Device`] can run inside a real WIA 2.0
//! mini-driver.
//!
//! Core's stream handles come only from a core relay, so the wrapper is a relay whose
//! application is the foreign callback:
//!
//! ```text
//!  Scanwire driver ──> Relay (verifies, sticky cancel) ──> ForeignApp ──vtable──> WIA service
//!    get_next_stream        get_next_stream(page)            GetNextStream(0, name, full)
//!    StreamHandle::write    PageSink::write                  IStream::Seek(END) + Write
//!    send_message           transfer_callback / report_status  SendMessage(0, &params)
//! ```
//!
//! Every call goes through the vtable ([`raw`](super::raw)) so S_FALSE and
//! WIA_STATUS_SKIP_ITEM arrive intact. END_OF_STREAM and END_OF_TRANSFER, which the relay makes
//! for its application, are not sent on: the WIA service makes its own (S11). The relay's
//! WIA_STATUS_CLEAR to a modeless handler is not sent either (drivers never send it, S24).

use super::raw;
use super::MtaPtr;
use crate::pages::ItemNames;
use scanwire_core::device::{AcquireResult, Device, PageInfo, ScanRequest};
use scanwire_core::transfer::{
    AppStream, CancelHandle, MiniDrvTransferCallback, NextStream, Outcome, PageSink, Relay,
    TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, MessageKind, WiaTransferParams};
use std::marker::PhantomData;
use windows::Win32::Devices::ImageAcquisition::IWiaMiniDrvTransferCallback;
use windows::Win32::System::Com::{IStream, STREAM_SEEK_END};
use windows_core::BSTR;

/// The foreign callback as the relay's application.
struct ForeignApp {
    cb: MtaPtr<IWiaMiniDrvTransferCallback>,
    names: ItemNames,
}

/// A page's stream from the WIA service.
struct ForeignSink {
    stream: MtaPtr<IStream>,
}

impl PageSink for ForeignSink {
    fn write(&mut self, mut data: &[u8]) -> Result<(), HResult> {
        let s = &self.stream.0;
        // S21: seek to the end before each write, as the sample drivers do.
        // SAFETY: `s` is a live IStream; a null new-position pointer is allowed.
        unsafe { s.Seek(0, STREAM_SEEK_END, None) }.map_err(|e| super::from_hresult(e.code()))?;
        while !data.is_empty() {
            let chunk = &data[..data.len().min(u32::MAX as usize)];
            let mut written = 0u32;
            // SAFETY: `chunk` is readable for its length during the call; `written` is a
            // valid out-pointer.
            let hr = unsafe {
                s.Write(
                    chunk.as_ptr().cast(),
                    chunk.len() as u32,
                    Some(&mut written),
                )
            };
            let hr = super::from_hresult(hr);
            if hr.is_failure() {
                return Err(hr);
            }
            if written == 0 {
                // A stream that takes nothing would loop forever.
                return Err(wia::WIA_ERROR_DESTINATION);
            }
            data = &data[(written as usize).min(data.len())..];
        }
        Ok(())
    }

    fn close(self: Box<Self>, _status: HResult) -> HResult {
        // Release: the service ends the page; the driver's result tells it whether it is whole.
        drop(self.stream);
        wia::S_OK
    }
}

impl TransferCallback for ForeignApp {
    fn get_next_stream(&mut self, _page: &PageInfo) -> AppStream {
        let name = BSTR::from(self.names.name.as_str());
        let full = BSTR::from(self.names.full_name.as_str());
        let (hr, stream) = raw::get_next_stream(&self.cb.0, 0, &name, &full);
        match (hr, stream) {
            (wia::S_OK, Some(s)) => AppStream::Stream(Box::new(ForeignSink { stream: MtaPtr(s) })),
            // S_OK without a stream is a broken service (S19: a standard COM error).
            (wia::S_OK, None) => AppStream::Fail(wia::E_POINTER),
            (wia::WIA_STATUS_SKIP_ITEM, _) => AppStream::Skip,
            (wia::S_FALSE, _) => AppStream::Cancel,
            (hr, _) if hr.is_failure() => AppStream::Fail(hr),
            // Any other success code: ProdScan's rule.
            _ => AppStream::Fail(wia::E_UNEXPECTED),
        }
    }

    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult {
        match params.kind() {
            Some(MessageKind::Status | MessageKind::NewPage) => {
                raw::send_message(&self.cb.0, 0, Some(params))
            }
            // The service makes its own END_OF_* (S11).
            _ => wia::S_OK,
        }
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        if status == wia::WIA_STATUS_CLEAR {
            return wia::S_OK;
        }
        // The service runs its own handler chain; its answer is final.
        let p = WiaTransferParams::device_status(status, percent);
        raw::send_message(&self.cb.0, 0, Some(&p))
    }
}

/// A foreign `IWiaMiniDrvTransferCallback` as Scanwire's [`MiniDrvTransferCallback`]; see the
/// module docs. Not `Send`: use it on the thread (and in the apartment) that received the
/// callback.
pub struct ForeignCallback {
    relay: Relay,
    _here: PhantomData<*const ()>,
}

impl std::fmt::Debug for ForeignCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignCallback")
            .field("relay", &self.relay)
            .finish()
    }
}

impl ForeignCallback {
    /// Wraps `cb`; every stream is asked for with `names` (the item's `WIA_IPA_ITEM_NAME` and
    /// `WIA_IPA_FULL_ITEM_NAME`). `cancel` is the mini-driver's cancel flag (set it on
    /// `WIA_EVENT_CANCEL_IO`); `opts` picks strict or lenient verification of the Scanwire
    /// driver.
    pub fn new(
        cb: IWiaMiniDrvTransferCallback,
        names: ItemNames,
        cancel: CancelHandle,
        opts: &TransferOptions,
    ) -> Self {
        let app = ForeignApp {
            cb: MtaPtr(cb),
            names,
        };
        ForeignCallback {
            relay: Relay::new(Box::new(app), cancel, opts),
            _here: PhantomData,
        }
    }

    /// Ends the transfer with the Scanwire driver's result; `Outcome::result` is what
    /// `drvAcquireItemData` returns (corrected per S18–S20 when the driver contradicted what
    /// it was told).
    pub fn finish(mut self, result: &AcquireResult) -> Outcome {
        self.relay.finish(result)
    }
}

impl MiniDrvTransferCallback for ForeignCallback {
    fn get_next_stream(&mut self, flags: i32, page: &PageInfo) -> NextStream {
        self.relay.get_next_stream(flags, page)
    }

    fn send_message(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult {
        self.relay.send_message(flags, params)
    }
}

/// `drvAcquireItemData`'s body for a Scanwire device: runs `device.acquire(request)` against
/// the service's callback `cb`, on this thread, and returns the outcome; its `result` is the
/// HRESULT to return to the service.
pub fn acquire_into(
    device: &mut dyn Device,
    request: &ScanRequest,
    cb: IWiaMiniDrvTransferCallback,
    names: ItemNames,
    cancel: &CancelHandle,
    opts: &TransferOptions,
) -> Outcome {
    let mut foreign = ForeignCallback::new(cb, names, cancel.clone(), opts);
    let result = device.acquire(request, &mut foreign, &cancel.token());
    foreign.finish(&result)
}
