//! The `wia:` driver (Windows): WIA 2.0 scanners as Scanwire devices.
//!
//! - Devices come from `IWiaDevMgr2::EnumDeviceInfo` (scanners only); ids are
//!   `wia:<WIA_DIP_DEV_ID>`.
//! - Capabilities come from the device's flatbed and feeder items (`crate::options`).
//! - `acquire` writes the request's properties on the item, then runs
//!   `IWiaTransfer::Download` with Scanwire's COM `IWiaTransferCallback`
//!   ([`AppCallback`](crate::com::AppCallback)) on a thread of its own, bridged to the
//!   relay's callback ([`crate::bridge`]). A cancel calls `IWiaTransfer::Cancel`.
//! - Pages arrive in an encoding the item offers (PNG, TIFF or JPEG; the request's if it
//!   names one). WIA's BMP and RAW are not translated to raw rows.
//!
//! Every COM call runs on threads the driver owns, in the multithreaded apartment.

use crate::bridge::bridge;
use crate::com::wia::{self, in_mta, Mta};
use crate::errors::download_result;
use crate::options::{self, ItemProps};
use crate::pages::PageTemplate;
use scanwire_core::device::{
    AcquireResult, Capabilities, Device, DeviceError, DeviceErrorKind, DeviceInfo, Driver,
    ScanRequest,
};
use scanwire_core::transfer::{CancelToken, MiniDrvTransferCallback, TransferCallback};
use scanwire_core::wia as codes;
use windows::Win32::Devices::ImageAcquisition::IWiaTransfer;

/// The `wia:` driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct WiaDriver;

impl Driver for WiaDriver {
    fn name(&self) -> &'static str {
        options::DRIVER_NAME
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        in_mta(wia::list_devices)
    }

    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError> {
        let wia_id = options::parse_device_id(id)?.to_string();
        let described = {
            let wia_id = wia_id.clone();
            in_mta(move || wia::describe(&wia_id))?
        };
        let (model, vendor, items) = described;
        Ok(Box::new(WiaDevice {
            info: DeviceInfo {
                id: id.to_string(),
                vendor,
                model,
                driver: options::DRIVER_NAME,
            },
            wia_id,
            items,
        }))
    }
}

/// An open WIA device.
#[derive(Debug)]
pub struct WiaDevice {
    info: DeviceInfo,
    wia_id: String,
    items: Vec<ItemProps>,
}

impl Device for WiaDevice {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        options::capabilities(&self.info.model, &self.items)
            .map_err(|e| DeviceError::new(DeviceErrorKind::Internal, e))
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        let category = options::category_for(request.source);
        let item = self
            .items
            .iter()
            .find(|i| i.category == category)
            .ok_or_else(|| {
                DeviceError::new(
                    DeviceErrorKind::Unsupported,
                    format!("{} has no {} item", self.info.model, request.source),
                )
            })?;
        let settings = options::settings(request, item)?;
        let template = PageTemplate::for_request(request, settings.data);
        let wia_id = self.wia_id.clone();
        acquire_with(cb, cancel, template, move || {
            wia::prepare(&wia_id, category, &settings.writes)
        })
    }
}

/// The `wia:` device's `acquire`, with the item's transfer interface made by `open` (on the
/// download thread, in the MTA, after COM is initialized). For WIA items found by other means,
/// and for tests that stand in a scripted `IWiaTransfer` for the WIA service.
///
/// The result follows [`download_result`]: what Scanwire answered during the download wins
/// over what `Download` returned.
pub fn acquire_with(
    cb: &mut dyn MiniDrvTransferCallback,
    cancel: &CancelToken,
    template: PageTemplate,
    open: impl FnOnce() -> Result<IWiaTransfer, DeviceError> + Send,
) -> AcquireResult {
    let token = cancel.clone();
    let bridged = bridge(cb, move |app: Box<dyn TransferCallback>| {
        let _mta = Mta::enter()?;
        wia::download(open, app, template, &token)
    });
    match bridged.result {
        Ok(Ok(hr)) => download_result(hr, bridged.stopped),
        Ok(Err(e)) => match bridged.stopped {
            Some(codes::S_FALSE) => Ok(scanwire_core::device::Completion::Cancelled),
            _ => Err(e),
        },
        Err(panic) => Err(DeviceError::from_hresult(
            codes::WIA_ERROR_EXCEPTION_IN_DRIVER,
            format!("the wia: download thread panicked: {panic}"),
        )),
    }
}
