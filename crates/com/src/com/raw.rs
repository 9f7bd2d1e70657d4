//! Calls into foreign COM objects through their vtables, keeping the exact HRESULT.
//!
//! The `windows` crate's wrappers turn every success code into `Ok(())` (`SendMessage`,
//! `TransferCallback`, `Download`) or into `Err(Error::empty())` with code 0 when S_FALSE or
//! WIA_STATUS_SKIP_ITEM come with no stream (`GetNextStream`): a cancel or a skip would be
//! lost. These functions return what the callee returned. Out-pointers are set to null before
//! the call (implementations built with `#[implement]` leave them untouched on failure).

use super::{from_hresult, to_hresult};
use scanwire_core::wia::{HResult, WiaTransferParams};
use std::ffi::c_void;
use windows::Win32::Devices::ImageAcquisition::{
    IWiaAppErrorHandler, IWiaItem2, IWiaMiniDrvTransferCallback, IWiaTransfer, IWiaTransferCallback,
};
use windows::Win32::Foundation::HWND;
use windows::Win32::System::Com::IStream;
use windows_core::{Interface, BSTR};

fn params_ptr(
    p: Option<&WiaTransferParams>,
) -> *const windows::Win32::Devices::ImageAcquisition::WiaTransferParams {
    p.map_or(std::ptr::null(), |p| std::ptr::from_ref(p).cast())
}

/// A BSTR argument passed by value, ownership staying with the caller (what the generated
/// bindings do). Not `as_ptr()`: an empty BSTR must go as null, not as a pointer to a static.
fn bstr_arg(b: &BSTR) -> *mut c_void {
    // SAFETY: BSTR is `repr(transparent)` over its raw pointer; copying the pointer does not
    // transfer ownership, and `b` outlives the call it is passed to.
    unsafe { std::mem::transmute_copy::<BSTR, *mut c_void>(b) }
}

fn stream_out(out: *mut c_void) -> Option<IStream> {
    if out.is_null() {
        None
    } else {
        // SAFETY: a non-null out-pointer from a COM method is an owned, AddRef'd IStream
        // (the interface's contract); from_raw takes over that reference.
        Some(unsafe { IStream::from_raw(out) })
    }
}

/// `IWiaMiniDrvTransferCallback::SendMessage`; `None` passes a null pointer.
pub fn send_message(
    cb: &IWiaMiniDrvTransferCallback,
    flags: i32,
    params: Option<&WiaTransferParams>,
) -> HResult {
    // SAFETY: `cb` is a live interface (we hold a reference); the params pointer is null or
    // points to a WiaTransferParams that outlives the call, with the windows crate's layout.
    from_hresult(unsafe {
        (Interface::vtable(cb).SendMessage)(Interface::as_raw(cb), flags, params_ptr(params))
    })
}

/// `IWiaMiniDrvTransferCallback::GetNextStream`: the HRESULT and the stream, if one came.
pub fn get_next_stream(
    cb: &IWiaMiniDrvTransferCallback,
    flags: i32,
    name: &BSTR,
    full_name: &BSTR,
) -> (HResult, Option<IStream>) {
    let mut out: *mut c_void = std::ptr::null_mut();
    // SAFETY: `cb` is live; the BSTRs are passed by value without transferring ownership (the
    // callee only reads them during the call); `out` is a valid out-pointer, null before.
    let hr = unsafe {
        (Interface::vtable(cb).GetNextStream)(
            Interface::as_raw(cb),
            flags,
            bstr_arg(name),
            bstr_arg(full_name),
            &mut out,
        )
    };
    (from_hresult(hr), stream_out(out))
}

/// `IWiaTransferCallback::TransferCallback`; `None` passes a null pointer.
pub fn transfer_callback(
    cb: &IWiaTransferCallback,
    flags: i32,
    params: Option<&WiaTransferParams>,
) -> HResult {
    // SAFETY: as in `send_message`.
    from_hresult(unsafe {
        (Interface::vtable(cb).TransferCallback)(Interface::as_raw(cb), flags, params_ptr(params))
    })
}

/// `IWiaTransferCallback::GetNextStream`: the HRESULT and the stream, if one came.
pub fn app_get_next_stream(
    cb: &IWiaTransferCallback,
    flags: i32,
    name: &BSTR,
    full_name: &BSTR,
) -> (HResult, Option<IStream>) {
    let mut out: *mut c_void = std::ptr::null_mut();
    // SAFETY: as in `get_next_stream`.
    let hr = unsafe {
        (Interface::vtable(cb).GetNextStream)(
            Interface::as_raw(cb),
            flags,
            bstr_arg(name),
            bstr_arg(full_name),
            &mut out,
        )
    };
    (from_hresult(hr), stream_out(out))
}

/// `IWiaAppErrorHandler::ReportStatus` (the proxy's DEVICE_STATUS chain, first link).
pub fn report_status(
    handler: &IWiaAppErrorHandler,
    flags: i32,
    item: Option<&IWiaItem2>,
    status: HResult,
    percent: i32,
) -> HResult {
    let item = item.map_or(std::ptr::null_mut(), Interface::as_raw);
    // SAFETY: `handler` is live; `item` is null or a live IWiaItem2 borrowed for the call.
    from_hresult(unsafe {
        (Interface::vtable(handler).ReportStatus)(
            Interface::as_raw(handler),
            flags,
            item,
            to_hresult(status),
            percent,
        )
    })
}

/// `IWiaAppErrorHandler::GetWindow`.
pub fn get_window(handler: &IWiaAppErrorHandler) -> (HResult, HWND) {
    let mut hwnd = HWND::default();
    // SAFETY: `handler` is live; `hwnd` is a valid out-pointer.
    let hr =
        unsafe { (Interface::vtable(handler).GetWindow)(Interface::as_raw(handler), &mut hwnd) };
    (from_hresult(hr), hwnd)
}

/// `IWiaTransfer::Download`, whose result may be S_FALSE (cancelled) or
/// WIA_STATUS_END_OF_MEDIA.
pub fn download(transfer: &IWiaTransfer, flags: i32, cb: &IWiaTransferCallback) -> HResult {
    // SAFETY: both interfaces are live for the call; the callee AddRefs `cb` if it keeps it.
    from_hresult(unsafe {
        (Interface::vtable(transfer).Download)(
            Interface::as_raw(transfer),
            flags,
            Interface::as_raw(cb),
        )
    })
}

/// `IWiaTransfer::Cancel`.
pub fn cancel(transfer: &IWiaTransfer) -> HResult {
    // SAFETY: `transfer` is live.
    from_hresult(unsafe { (Interface::vtable(transfer).Cancel)(Interface::as_raw(transfer)) })
}

/// `IUnknown::AddRef` then `Release` on `obj`, returning the count `Release` reported: the
/// number of references besides the caller's, for leak checks (COM's counts are only
/// advisory for foreign objects; ours report them exactly).
pub fn other_references<I: Interface>(obj: &I) -> u32 {
    let unknown = obj.as_raw();
    // SAFETY: `obj` is live; an AddRef/Release pair leaves its count as it was.
    unsafe {
        let vt = *(unknown as *const *const windows_core::IUnknown_Vtbl);
        ((*vt).AddRef)(unknown);
        ((*vt).Release)(unknown) - 1
    }
}

/// Releases the caller's reference and returns the count `Release` reported (0: destroyed).
pub fn release<I: Interface>(obj: I) -> u32 {
    let unknown = obj.into_raw();
    // SAFETY: `into_raw` gave up the wrapper's reference without releasing it; this Release
    // balances it exactly once.
    unsafe {
        let vt = *(unknown as *const *const windows_core::IUnknown_Vtbl);
        ((*vt).Release)(unknown)
    }
}
