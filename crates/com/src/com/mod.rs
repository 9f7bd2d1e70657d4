//! The COM objects (Windows only). Each is a thin shell over a platform-free piece:
//!
//! | COM object | implements | over |
//! |---|---|---|
//! | [`RelayCallback`] | `IWiaMiniDrvTransferCallback` | a core [`Relay`](scanwire_core::transfer::Relay) |
//! | [`PageStream`] | `IStream` | a core `StreamHandle`, or an application page ([`SinkSlot`](crate::app::SinkSlot)) |
//! | [`AppCallback`] | `IWiaTransferCallback`, `IWiaAppErrorHandler` | an [`AppAdapter`](crate::app::AppAdapter) |
//! | [`ForeignCallback`] (not COM: the other direction) | core's `MiniDrvTransferCallback` | a foreign `IWiaMiniDrvTransferCallback` |
//! | [`ImageFilter`] | `IWiaImageFilter`, `IWiaTransferCallback` | a [`filter::ImageFilter`](crate::filter::ImageFilter) over the application's callback |
//! | [`SegmentationFilter`] | `IWiaSegmentationFilter` | [`processing::detect_regions`](crate::processing::detect_regions) |
//! | [`FilterClassFactory`] | `IClassFactory` | either filter, by CLSID ([`dll_get_class_object`]) |
//!
//! Return codes: a method returning `windows_core::Result<()>` gives S_OK for `Ok` and the
//! error's code for `Err`, so every other code, S_FALSE and WIA_STATUS_SKIP_ITEM included,
//! travels as `Err(Error::from_hresult(..))` and reaches the caller raw ([`com_result`]).
//! Calls into foreign objects go through the vtable ([`raw`]), because the generated wrappers
//! fold every success code into `Ok(())`.

mod app;
mod filters;
mod foreign;
mod minidrv;
pub mod raw;
mod stream;
pub(crate) mod wia;

pub use app::{app_callback, AppCallback, AppSession};
pub use filters::{
    class_object, dll_get_class_object, FilterClassFactory, ImageFilter, SegmentationFilter,
    CHILD_ITEM_FLAGS, CLSID_SCANWIRE_IMAGE_FILTER, CLSID_SCANWIRE_SEGMENTATION_FILTER,
};
pub use foreign::{acquire_into, ForeignCallback};
pub use minidrv::{relay_callback, RelayCallback, Session};
pub use stream::PageStream;

use scanwire_core::wia::{HResult, WiaTransferParams};
use windows::Win32::Devices::ImageAcquisition as ia;
use windows_core::{Error, HRESULT};

/// The windows crate's `WiaTransferParams` and core's are the same 24 bytes; pointers pass
/// straight through (`params`).
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    type W = ia::WiaTransferParams;
    type C = WiaTransferParams;
    assert!(size_of::<W>() == 24 && size_of::<C>() == 24);
    assert!(align_of::<W>() == align_of::<C>());
    assert!(offset_of!(W, lMessage) == offset_of!(C, lMessage));
    assert!(offset_of!(W, lPercentComplete) == offset_of!(C, lPercentComplete));
    assert!(offset_of!(W, ulTransferredBytes) == offset_of!(C, ulTransferredBytes));
    assert!(offset_of!(W, hrErrorStatus) == offset_of!(C, hrErrorStatus));
    assert!(size_of::<HRESULT>() == size_of::<HResult>());
};

/// The SDK values `options` and core spell out, checked against the `windows` crate.
const _: () = {
    use crate::options as o;
    use scanwire_core::wia as w;
    assert!(o::WIA_IPA_DATATYPE == ia::WIA_IPA_DATATYPE);
    assert!(o::WIA_IPA_DEPTH == ia::WIA_IPA_DEPTH);
    assert!(o::WIA_IPA_FORMAT == ia::WIA_IPA_FORMAT);
    assert!(o::WIA_IPA_TYMED == ia::WIA_IPA_TYMED);
    assert!(o::WIA_IPA_ITEM_NAME == ia::WIA_IPA_ITEM_NAME);
    assert!(o::WIA_IPA_FULL_ITEM_NAME == ia::WIA_IPA_FULL_ITEM_NAME);
    assert!(o::WIA_IPS_XRES == ia::WIA_IPS_XRES);
    assert!(o::WIA_IPS_YRES == ia::WIA_IPS_YRES);
    assert!(o::WIA_IPS_XPOS == ia::WIA_IPS_XPOS);
    assert!(o::WIA_IPS_YPOS == ia::WIA_IPS_YPOS);
    assert!(o::WIA_IPS_XEXTENT == ia::WIA_IPS_XEXTENT);
    assert!(o::WIA_IPS_YEXTENT == ia::WIA_IPS_YEXTENT);
    assert!(o::WIA_IPS_MAX_HORIZONTAL_SIZE == ia::WIA_IPS_MAX_HORIZONTAL_SIZE);
    assert!(o::WIA_IPS_MAX_VERTICAL_SIZE == ia::WIA_IPS_MAX_VERTICAL_SIZE);
    assert!(o::WIA_IPS_MIN_HORIZONTAL_SIZE == ia::WIA_IPS_MIN_HORIZONTAL_SIZE);
    assert!(o::WIA_IPS_MIN_VERTICAL_SIZE == ia::WIA_IPS_MIN_VERTICAL_SIZE);
    assert!(o::WIA_IPS_PAGES == ia::WIA_IPS_PAGES);
    assert!(o::WIA_IPS_DOCUMENT_HANDLING_SELECT == ia::WIA_IPS_DOCUMENT_HANDLING_SELECT);
    assert!(
        o::WIA_DPS_DOCUMENT_HANDLING_CAPABILITIES == ia::WIA_DPS_DOCUMENT_HANDLING_CAPABILITIES
    );
    assert!(o::WIA_DATA_THRESHOLD as u32 == ia::WIA_DATA_THRESHOLD);
    assert!(o::WIA_DATA_GRAYSCALE as u32 == ia::WIA_DATA_GRAYSCALE);
    assert!(o::WIA_DATA_COLOR as u32 == ia::WIA_DATA_COLOR);
    assert!(o::DUP as u32 == ia::DUP);
    assert!(o::DUPLEX as u32 == ia::DUPLEX);
    assert!(o::FRONT_FIRST as u32 == ia::FRONT_FIRST);
    assert!(o::FRONT_ONLY as u32 == ia::FRONT_ONLY);
    assert!(o::WIA_PROP_NONE == ia::WIA_PROP_NONE);
    assert!(o::WIA_PROP_RANGE == ia::WIA_PROP_RANGE);
    assert!(o::WIA_PROP_LIST == ia::WIA_PROP_LIST);
    assert!(o::WIA_PROP_FLAG == ia::WIA_PROP_FLAG);
    assert!(o::TYMED_FILE == windows::Win32::System::Com::TYMED_FILE.0);
    assert!(o::WIA_CATEGORY_FLATBED == ia::WIA_CATEGORY_FLATBED.to_u128());
    assert!(o::WIA_CATEGORY_FEEDER == ia::WIA_CATEGORY_FEEDER.to_u128());
    assert!(o::WIA_IMG_FMT_PNG == ia::WiaImgFmt_PNG.to_u128());
    assert!(o::WIA_IMG_FMT_JPEG == ia::WiaImgFmt_JPEG.to_u128());
    assert!(o::WIA_IMG_FMT_TIFF == ia::WiaImgFmt_TIFF.to_u128());
    assert!(o::WIA_IMG_FMT_PDFA == ia::WiaImgFmt_PDFA.to_u128());
    assert!(w::WIA_STATUS_SKIP_ITEM.0 == ia::WIA_STATUS_SKIP_ITEM.0);
    use crate::processing as p;
    assert!(p::WIA_IPA_ITEM_CATEGORY == ia::WIA_IPA_ITEM_CATEGORY);
    assert!(p::WIA_IPS_BRIGHTNESS == ia::WIA_IPS_BRIGHTNESS);
    assert!(p::WIA_IPS_CONTRAST == ia::WIA_IPS_CONTRAST);
    assert!(p::WIA_IPS_ROTATION == ia::WIA_IPS_ROTATION);
    assert!(p::WIA_IPS_AUTO_DESKEW == ia::WIA_IPS_AUTO_DESKEW);
    assert!(p::WIA_IPS_DESKEW_X == ia::WIA_IPS_DESKEW_X);
    assert!(p::WIA_IPS_DESKEW_Y == ia::WIA_IPS_DESKEW_Y);
    assert!(p::WIA_IPS_AUTO_CROP == ia::WIA_IPS_AUTO_CROP);
    assert!(p::WIA_IPS_BLANK_PAGES == ia::WIA_IPS_BLANK_PAGES);
    assert!(p::WIA_IPS_BLANK_PAGES_SENSITIVITY == ia::WIA_IPS_BLANK_PAGES_SENSITIVITY);
    assert!(p::WIA_IPS_JOB_SEPARATORS == ia::WIA_IPS_JOB_SEPARATORS);
    assert!(p::WIA_IPS_SEGMENTATION == ia::WIA_IPS_SEGMENTATION);
    assert!(p::PORTRAIT as u32 == ia::PORTRAIT);
    assert!(p::LANDSCAPE as u32 == ia::LANDSCAPE);
    assert!(p::ROT180 as u32 == ia::ROT180);
    assert!(p::ROT270 as u32 == ia::ROT270);
    assert!(p::WIA_AUTO_DESKEW_ON as u32 == ia::WIA_AUTO_DESKEW_ON);
    assert!(p::WIA_AUTO_DESKEW_OFF as u32 == ia::WIA_AUTO_DESKEW_OFF);
    assert!(p::WIA_AUTO_CROP_DISABLED as u32 == ia::WIA_AUTO_CROP_DISABLED);
    assert!(p::WIA_AUTO_CROP_SINGLE as u32 == ia::WIA_AUTO_CROP_SINGLE);
    assert!(p::WIA_AUTO_CROP_MULTI as u32 == ia::WIA_AUTO_CROP_MULTI);
    assert!(p::WIA_BLANK_PAGE_DETECTION_DISABLED as u32 == ia::WIA_BLANK_PAGE_DETECTION_DISABLED);
    assert!(p::WIA_BLANK_PAGE_DISCARD as u32 == ia::WIA_BLANK_PAGE_DISCARD);
    assert!(p::WIA_BLANK_PAGE_JOB_SEPARATOR as u32 == ia::WIA_BLANK_PAGE_JOB_SEPARATOR);
    assert!(p::WIA_SEPARATOR_DISABLED as u32 == ia::WIA_SEPARATOR_DISABLED);
    assert!(p::WIA_SEPARATOR_DETECT_SCAN_CONTINUE as u32 == ia::WIA_SEPARATOR_DETECT_SCAN_CONTINUE);
    assert!(p::WIA_SEPARATOR_DETECT_SCAN_STOP as u32 == ia::WIA_SEPARATOR_DETECT_SCAN_STOP);
    assert!(
        p::WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE as u32 == ia::WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE
    );
    assert!(p::WIA_SEPARATOR_DETECT_NOSCAN_STOP as u32 == ia::WIA_SEPARATOR_DETECT_NOSCAN_STOP);
    assert!(p::WIA_IMG_FMT_BMP == ia::WiaImgFmt_BMP.to_u128());
    assert!(p::WIA_CATEGORY_FINISHED_FILE == ia::WIA_CATEGORY_FINISHED_FILE.to_u128());
    assert!(p::WIA_CATEGORY_FOLDER == ia::WIA_CATEGORY_FOLDER.to_u128());
    assert!(p::WIA_CATEGORY_ROOT == ia::WIA_CATEGORY_ROOT.to_u128());
    assert!(w::WIA_STATUS_END_OF_MEDIA.0 == ia::WIA_STATUS_END_OF_MEDIA.0);
    assert!(w::WIA_STATUS_NOT_HANDLED.0 == ia::WIA_STATUS_NOT_HANDLED.0);
    assert!(w::WIA_ERROR_COVER_OPEN.0 == ia::WIA_ERROR_COVER_OPEN.0);
    assert!(w::WIA_ERROR_MULTI_FEED.0 == ia::WIA_ERROR_MULTI_FEED.0);
    assert!(w::WIA_TRANSFER_MSG_STATUS as u32 == ia::WIA_TRANSFER_MSG_STATUS);
    assert!(w::WIA_TRANSFER_MSG_END_OF_STREAM as u32 == ia::WIA_TRANSFER_MSG_END_OF_STREAM);
    assert!(w::WIA_TRANSFER_MSG_END_OF_TRANSFER as u32 == ia::WIA_TRANSFER_MSG_END_OF_TRANSFER);
    assert!(w::WIA_TRANSFER_MSG_DEVICE_STATUS as u32 == ia::WIA_TRANSFER_MSG_DEVICE_STATUS);
    assert!(w::WIA_TRANSFER_MSG_NEW_PAGE as u32 == ia::WIA_TRANSFER_MSG_NEW_PAGE);
};

/// Core's code as the windows crate's.
pub fn to_hresult(hr: HResult) -> HRESULT {
    HRESULT(hr.0)
}

/// The windows crate's code as core's.
pub fn from_hresult(hr: HRESULT) -> HResult {
    HResult(hr.0)
}

/// An implementation's answer: `Ok` only for S_OK, so S_FALSE, WIA_STATUS_SKIP_ITEM and every
/// other code reach the caller raw (the generated shim returns `Err`'s code as is).
pub fn com_result(hr: HResult) -> windows_core::Result<()> {
    if hr == scanwire_core::wia::S_OK {
        Ok(())
    } else {
        Err(Error::from_hresult(to_hresult(hr)))
    }
}

/// Reads a `WiaTransferParams` pointer a COM caller passed: `None` for null.
///
/// # Safety
/// `p` is null or points to 24 readable bytes laid out as `WiaTransferParams` (what the
/// interface requires of callers).
pub(crate) unsafe fn read_params(p: *const ia::WiaTransferParams) -> Option<WiaTransferParams> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null and readable per this function's contract; the two types have the
        // same layout (checked above). read_unaligned tolerates a caller's odd alignment.
        Some(unsafe { std::ptr::read_unaligned(p.cast::<WiaTransferParams>()) })
    }
}

/// An interface pointer that may move to another thread.
///
/// COM interface pointers are not `Send` in the `windows` crate because a pointer is only
/// valid in the apartment it was obtained in. Every pointer this crate wraps comes from, and
/// is used in, the multithreaded apartment: the WIA service runs drivers there, and the `wia:`
/// driver's threads join it ([`wia::Mta`]) before touching COM. Within the MTA a pointer is
/// valid on every thread.
pub(crate) struct MtaPtr<T>(pub T);

// SAFETY: see the type's docs: only used by threads of the multithreaded apartment, where COM
// interface pointers are valid on any thread.
unsafe impl<T> Send for MtaPtr<T> {}
// SAFETY: as for Send; COM objects in the MTA must accept concurrent calls.
unsafe impl<T> Sync for MtaPtr<T> {}
