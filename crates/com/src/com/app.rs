//! `IWiaTransferCallback` and `IWiaAppErrorHandler` over Scanwire's application sinks: the
//! object an application passes to `IWiaTransfer::Download`. All logic is
//! [`AppAdapter`](crate::app::AppAdapter)'s; this is the COM shell.

use super::stream::PageStream;
use super::{com_result, read_params, to_hresult};
use crate::app::AppAdapter;
use crate::pages::PageTemplate;
use scanwire_core::transfer::{CancelHandle, TransferCallback};
use scanwire_core::wia::HResult;
use std::sync::{Arc, Mutex, MutexGuard};
use windows::Win32::Devices::ImageAcquisition::{
    IWiaAppErrorHandler, IWiaAppErrorHandler_Impl, IWiaItem2, IWiaTransferCallback,
    IWiaTransferCallback_Impl, WiaTransferParams,
};
use windows::Win32::Foundation::HWND;
use windows::Win32::System::Com::IStream;
use windows_core::{implement, Error, Ref, BSTR};

fn lock(m: &Mutex<AppAdapter>) -> MutexGuard<'_, AppAdapter> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The COM object; create it with [`app_callback`]. It answers `QueryInterface` for
/// `IWiaAppErrorHandler` too, so the WIA proxy sends DEVICE_STATUS to the application's
/// `report_status` first.
#[implement(IWiaTransferCallback, IWiaAppErrorHandler)]
pub struct AppCallback {
    adapter: Arc<Mutex<AppAdapter>>,
}

/// The Rust side of an [`AppCallback`]. Holding it does not keep the COM object alive.
#[derive(Clone)]
pub struct AppSession {
    adapter: Arc<Mutex<AppAdapter>>,
}

impl std::fmt::Debug for AppSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AppSession")
            .field(&*lock(&self.adapter))
            .finish()
    }
}

impl AppSession {
    /// Ends the transfer with `Download`'s result if the service did not send END_OF_TRANSFER
    /// (it does; this covers a service that failed before it could). Idempotent.
    pub fn end(&self, download_result: HResult) {
        lock(&self.adapter).end(download_result);
    }

    /// Whether END_OF_TRANSFER was delivered.
    pub fn is_ended(&self) -> bool {
        lock(&self.adapter).is_ended()
    }
}

/// A COM `IWiaTransferCallback` delivering to `app`, pages numbered from `template`;
/// `cancel` cancels from outside (the next call of the service answers S_FALSE).
pub fn app_callback(
    app: Box<dyn TransferCallback>,
    template: PageTemplate,
    cancel: CancelHandle,
) -> (IWiaTransferCallback, AppSession) {
    let adapter = Arc::new(Mutex::new(AppAdapter::new(app, template, cancel)));
    let cb: IWiaTransferCallback = AppCallback {
        adapter: adapter.clone(),
    }
    .into();
    (cb, AppSession { adapter })
}

impl IWiaTransferCallback_Impl for AppCallback_Impl {
    fn TransferCallback(
        &self,
        _lflags: i32,
        pwiatransferparams: *const WiaTransferParams,
    ) -> windows_core::Result<()> {
        // SAFETY: the interface requires a null or valid WiaTransferParams pointer.
        let params = unsafe { read_params(pwiatransferparams) };
        com_result(lock(&self.adapter).transfer_callback(params.as_ref()))
    }

    fn GetNextStream(
        &self,
        _lflags: i32,
        _bstritemname: &BSTR,
        _bstrfullitemname: &BSTR,
    ) -> windows_core::Result<IStream> {
        match lock(&self.adapter).get_next_stream() {
            Ok(slot) => Ok(PageStream::app(slot)),
            Err(hr) => Err(Error::from_hresult(to_hresult(hr))),
        }
    }
}

impl IWiaAppErrorHandler_Impl for AppCallback_Impl {
    fn GetWindow(&self) -> windows_core::Result<HWND> {
        // No window: the proxy's default handler has no owner to show dialogs over.
        Ok(HWND::default())
    }

    fn ReportStatus(
        &self,
        _lflags: i32,
        _pwiaitem2: Ref<IWiaItem2>,
        hrstatus: windows_core::HRESULT,
        lpercentcomplete: i32,
    ) -> windows_core::Result<()> {
        com_result(
            lock(&self.adapter).report_status(super::from_hresult(hrstatus), lpercentcomplete),
        )
    }
}
