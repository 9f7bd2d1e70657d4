//! The thin COM layer of the `wia:` driver: apartment setup, the WIA 2.0 device manager, item
//! and property access, and the download itself. What the values mean is `crate::options`'s
//! business; what failures mean is `crate::errors`'s.

use super::{app_callback, from_hresult, raw, MtaPtr};
use crate::errors::{wia_error, Operation};
use crate::options::{format_encoding, ItemCategory, ItemProps, PropValue, ValidValues};
use crate::pages::PageTemplate;
use scanwire_core::device::{DeviceError, DeviceErrorKind, DeviceInfo};
use scanwire_core::transfer::{CancelHandle, CancelToken, TransferCallback};
use scanwire_core::wia::HResult;
use std::sync::Arc;
use windows::Win32::Devices::ImageAcquisition::{
    IWiaDevMgr2, IWiaItem2, IWiaPropertyStorage, IWiaTransfer, WiaDevMgr2, WIA_DEVINFO_ENUM_LOCAL,
    WIA_DIP_DEV_ID, WIA_DIP_DEV_NAME, WIA_DIP_DEV_TYPE, WIA_DIP_VEND_DESC, WIA_FORMAT_INFO,
};
use windows::Win32::Foundation::RPC_E_CHANGED_MODE;
use windows::Win32::System::Com::StructuredStorage::{
    PropVariantClear, PROPSPEC, PROPSPEC_0, PROPVARIANT, PRSPEC_PROPID,
};
use windows::Win32::System::Com::{
    CoCreateInstance, CoInitializeEx, CoUninitialize, CLSCTX_LOCAL_SERVER, COINIT_MULTITHREADED,
    TYMED_FILE,
};
use windows::Win32::System::Variant::{
    VARENUM, VT_BSTR, VT_CLSID, VT_I4, VT_INT, VT_LPWSTR, VT_UI4, VT_VECTOR,
};
use windows_core::{Interface, BSTR, GUID};

/// This thread's membership of the multithreaded apartment, for as long as it lives.
pub(crate) struct Mta(());

impl Mta {
    /// Joins the MTA (COM initialized as multithreaded). Fails on a thread that is already a
    /// single-threaded apartment: the driver's pointers could not be shared from there.
    pub(crate) fn enter() -> Result<Mta, DeviceError> {
        // SAFETY: plain COM initialization of the current thread; balanced in Drop.
        let hr = unsafe { CoInitializeEx(None, COINIT_MULTITHREADED) };
        if hr == RPC_E_CHANGED_MODE {
            return Err(DeviceError::new(
                DeviceErrorKind::Internal,
                "COM is initialized as a single-threaded apartment on this thread; the wia: \
                 driver needs the multithreaded apartment",
            ));
        }
        if hr.is_err() {
            return Err(wia_error(
                from_hresult(hr),
                Operation::Connect,
                "CoInitializeEx",
            ));
        }
        Ok(Mta(()))
    }
}

impl Drop for Mta {
    fn drop(&mut self) {
        // SAFETY: balances the successful CoInitializeEx in `enter` (S_OK and S_FALSE both
        // need it), on the same thread (`Mta` is not Send).
        unsafe { CoUninitialize() };
    }
}

/// Runs `f` on a fresh thread of the MTA and returns its result: every COM call of the `wia:`
/// driver happens on threads it owns, whatever apartment the caller is in.
pub(crate) fn in_mta<R: Send>(
    f: impl FnOnce() -> Result<R, DeviceError> + Send,
) -> Result<R, DeviceError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let _mta = Mta::enter()?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(DeviceError::from_hresult(
                scanwire_core::wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
                "the wia: driver's COM thread panicked",
            ))
        })
    })
}

fn err(op: Operation, what: &str) -> impl Fn(windows_core::Error) -> DeviceError + '_ {
    move |e| wia_error(from_hresult(e.code()), op, what)
}

/// The WIA 2.0 device manager.
pub(crate) fn device_manager() -> Result<IWiaDevMgr2, DeviceError> {
    // SAFETY: creating a COM object by CLSID on an MTA thread.
    unsafe { CoCreateInstance(&WiaDevMgr2, None, CLSCTX_LOCAL_SERVER) }
        .map_err(err(Operation::Connect, "CoCreateInstance(WiaDevMgr2)"))
}

/// A property value as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Prop {
    I4(i32),
    Str(String),
    Guid(u128),
    /// Missing or of a type we do not read.
    Other(u16),
}

impl Prop {
    pub(crate) fn i4(&self) -> Option<i32> {
        match self {
            Prop::I4(v) => Some(*v),
            _ => None,
        }
    }

    pub(crate) fn string(&self) -> String {
        match self {
            Prop::Str(s) => s.clone(),
            _ => String::new(),
        }
    }
}

fn spec(id: u32) -> PROPSPEC {
    PROPSPEC {
        ulKind: PRSPEC_PROPID,
        Anonymous: PROPSPEC_0 { propid: id },
    }
}

fn vt(pv: &PROPVARIANT) -> VARENUM {
    // SAFETY: every PROPVARIANT starts with its `vt` tag; reading it is always valid.
    unsafe { pv.Anonymous.Anonymous.vt }
}

/// Decodes a PROPVARIANT (without freeing it).
fn decode(pv: &PROPVARIANT) -> Prop {
    let tag = vt(pv);
    // SAFETY: each arm reads the union member that `vt` says is active.
    unsafe {
        let v = &pv.Anonymous.Anonymous.Anonymous;
        match tag {
            VT_I4 | VT_INT => Prop::I4(v.lVal),
            VT_UI4 => Prop::I4(v.ulVal as i32),
            VT_BSTR => Prop::Str(v.bstrVal.to_string()),
            VT_LPWSTR if !v.pwszVal.is_null() => {
                Prop::Str(v.pwszVal.to_string().unwrap_or_default())
            }
            VT_CLSID if !v.puuid.is_null() => Prop::Guid((*v.puuid).to_u128()),
            other => Prop::Other(other.0),
        }
    }
}

/// Reads properties by id; missing ones come back as `Prop::Other(0)`.
pub(crate) fn read_props(
    storage: &IWiaPropertyStorage,
    ids: &[u32],
) -> Result<Vec<Prop>, DeviceError> {
    let specs: Vec<PROPSPEC> = ids.iter().map(|&id| spec(id)).collect();
    let mut values: Vec<PROPVARIANT> = (0..ids.len()).map(|_| PROPVARIANT::default()).collect();
    // SAFETY: `specs` and `values` both hold `ids.len()` elements for the call.
    unsafe { storage.ReadMultiple(ids.len() as u32, specs.as_ptr(), values.as_mut_ptr()) }
        .map_err(err(Operation::ReadProperties, "ReadMultiple"))?;
    let out = values.iter().map(decode).collect();
    for v in &mut values {
        // SAFETY: each value was filled by ReadMultiple and is freed exactly once.
        let _ = unsafe { PropVariantClear(v) };
    }
    Ok(out)
}

/// A property's valid values (`GetPropertyAttributes`).
pub(crate) fn valid_values(
    storage: &IWiaPropertyStorage,
    id: u32,
) -> Result<ValidValues, DeviceError> {
    let s = spec(id);
    let mut flags = 0u32;
    let mut pv = PROPVARIANT::default();
    // SAFETY: one spec, one flag and one PROPVARIANT, all valid for the call.
    unsafe { storage.GetPropertyAttributes(1, &s, &mut flags, &mut pv) }
        .map_err(err(Operation::ReadProperties, "GetPropertyAttributes"))?;
    let values: Vec<i32> = if vt(&pv).0 == (VT_VECTOR.0 | VT_I4.0) {
        // SAFETY: VT_VECTOR|VT_I4 means `cal` is active: cElems i32s at pElems.
        unsafe {
            let cal = &pv.Anonymous.Anonymous.Anonymous.cal;
            if cal.pElems.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(cal.pElems, cal.cElems as usize).to_vec()
            }
        }
    } else {
        Vec::new()
    };
    // SAFETY: filled by GetPropertyAttributes, freed once.
    let _ = unsafe { PropVariantClear(&mut pv) };
    ValidValues::from_attributes(flags, &values)
        .map_err(|e| DeviceError::new(DeviceErrorKind::Internal, format!("WIA property {id}: {e}")))
}

/// Writes the settings one property at a time, so a refusal names the property.
pub(crate) fn write_props(
    storage: &IWiaPropertyStorage,
    writes: &[(u32, PropValue)],
) -> Result<(), DeviceError> {
    for &(id, value) in writes {
        let s = spec(id);
        let mut guid = match value {
            PropValue::Guid(g) => GUID::from_u128(g),
            PropValue::I4(_) => GUID::zeroed(),
        };
        let mut pv = PROPVARIANT::default();
        // SAFETY: writing the tag and the matching member of a zeroed PROPVARIANT. The GUID
        // pointer targets `guid`, which outlives the call; nothing here is CoTaskMem-owned, so
        // the PROPVARIANT is not cleared.
        unsafe {
            let inner = &mut pv.Anonymous.Anonymous;
            match value {
                PropValue::I4(v) => {
                    inner.vt = VT_I4;
                    inner.Anonymous.lVal = v;
                }
                PropValue::Guid(_) => {
                    inner.vt = VT_CLSID;
                    inner.Anonymous.puuid = &mut guid;
                }
            }
        }
        // WIA_IPA_FIRST is 2; property names are not written (propidNameFirst).
        // SAFETY: one spec and one value, valid for the call.
        unsafe { storage.WriteMultiple(1, &s, &pv, 2) }.map_err(err(
            Operation::WriteProperties,
            &format!("property {id} = {value:?}"),
        ))?;
    }
    Ok(())
}

/// Writes LONG properties in one `WriteMultiple`, so the driver validates them together (WIA
/// resolves XPOS/YPOS/XEXTENT/YEXTENT conflicts in that order within one write).
pub(crate) fn write_longs(
    storage: &IWiaPropertyStorage,
    writes: &[(u32, i32)],
) -> Result<(), HResult> {
    let specs: Vec<PROPSPEC> = writes.iter().map(|&(id, _)| spec(id)).collect();
    let values: Vec<PROPVARIANT> = writes
        .iter()
        .map(|&(_, v)| {
            let mut pv = PROPVARIANT::default();
            // SAFETY: writing the tag and the matching member of a zeroed PROPVARIANT; a
            // VT_I4 owns nothing, so it is not cleared.
            unsafe {
                let inner = &mut pv.Anonymous.Anonymous;
                inner.vt = VT_I4;
                inner.Anonymous.lVal = v;
            }
            pv
        })
        .collect();
    // SAFETY: `specs` and `values` both hold `writes.len()` elements for the call;
    // WIA_IPA_FIRST as the first id for names, as Microsoft's sample filter passes.
    unsafe {
        storage.WriteMultiple(
            writes.len() as u32,
            specs.as_ptr(),
            values.as_ptr(),
            windows::Win32::Devices::ImageAcquisition::WIA_IPA_FIRST,
        )
    }
    .map_err(|e| from_hresult(e.code()))
}

/// `GET_STIDEVICE_TYPE`: the major type is the high word.
fn is_scanner(dev_type: i32) -> bool {
    (dev_type as u32 >> 16) == 1 // StiDeviceTypeScanner
}

/// The scanners WIA knows.
pub(crate) fn list_devices() -> Result<Vec<DeviceInfo>, DeviceError> {
    let mgr = device_manager()?;
    // SAFETY: live device manager.
    let devices = unsafe { mgr.EnumDeviceInfo(WIA_DEVINFO_ENUM_LOCAL as i32) }
        .map_err(err(Operation::ListDevices, "EnumDeviceInfo"))?;
    let mut out = Vec::new();
    loop {
        let mut next: [Option<IWiaPropertyStorage>; 1] = [None];
        let mut fetched = 0u32;
        // SAFETY: room for one element and a fetched count.
        unsafe { devices.Next(1, next.as_mut_ptr(), &mut fetched) }
            .map_err(err(Operation::ListDevices, "IEnumWIA_DEV_INFO::Next"))?;
        let Some(props) = next[0].take().filter(|_| fetched == 1) else {
            break;
        };
        let v = read_props(
            &props,
            &[
                WIA_DIP_DEV_ID,
                WIA_DIP_DEV_NAME,
                WIA_DIP_VEND_DESC,
                WIA_DIP_DEV_TYPE,
            ],
        )?;
        if v[3].i4().is_some_and(is_scanner) {
            out.push(DeviceInfo {
                id: crate::options::device_id(&v[0].string()),
                model: v[1].string(),
                vendor: v[2].string(),
                driver: crate::options::DRIVER_NAME,
            });
        }
    }
    Ok(out)
}

/// Opens a device's root item.
pub(crate) fn open_root(wia_id: &str) -> Result<IWiaItem2, DeviceError> {
    let mgr = device_manager()?;
    // SAFETY: live device manager; the BSTR outlives the call.
    unsafe { mgr.CreateDevice(0, &BSTR::from(wia_id)) }.map_err(err(Operation::OpenDevice, wia_id))
}

/// The child items of a root item.
pub(crate) fn children(root: &IWiaItem2) -> Result<Vec<IWiaItem2>, DeviceError> {
    // SAFETY: live item; no category filter.
    let items = unsafe { root.EnumChildItems(None) }
        .map_err(err(Operation::ReadProperties, "EnumChildItems"))?;
    let mut out = Vec::new();
    loop {
        let mut next: [Option<IWiaItem2>; 1] = [None];
        let mut fetched = 0u32;
        // SAFETY: room for one element and a fetched count.
        unsafe { items.Next(1, next.as_mut_ptr(), &mut fetched) }
            .map_err(err(Operation::ReadProperties, "IEnumWiaItem2::Next"))?;
        match next[0].take().filter(|_| fetched == 1) {
            Some(i) => out.push(i),
            None => return Ok(out),
        }
    }
}

/// An item's category.
pub(crate) fn category(item: &IWiaItem2) -> Result<ItemCategory, DeviceError> {
    // SAFETY: live item.
    let g = unsafe { item.GetItemCategory() }
        .map_err(err(Operation::ReadProperties, "GetItemCategory"))?;
    Ok(ItemCategory::from_guid(g.to_u128()))
}

/// What Scanwire needs to know about an item.
pub(crate) fn item_props(item: &IWiaItem2) -> Result<ItemProps, DeviceError> {
    use crate::options as o;
    let category = category(item)?;
    let storage: IWiaPropertyStorage = item
        .cast()
        .map_err(err(Operation::ReadProperties, "IWiaPropertyStorage"))?;
    let v = read_props(
        &storage,
        &[
            o::WIA_IPA_ITEM_NAME,
            o::WIA_IPS_MAX_HORIZONTAL_SIZE,
            o::WIA_IPS_MAX_VERTICAL_SIZE,
            o::WIA_IPS_MIN_HORIZONTAL_SIZE,
            o::WIA_IPS_MIN_VERTICAL_SIZE,
            o::WIA_DPS_DOCUMENT_HANDLING_CAPABILITIES,
        ],
    )?;
    let transfer: IWiaTransfer = item
        .cast()
        .map_err(err(Operation::ReadProperties, "IWiaTransfer"))?;
    // SAFETY: live transfer interface.
    let formats = unsafe { transfer.EnumWIA_FORMAT_INFO() }
        .map_err(err(Operation::ReadProperties, "EnumWIA_FORMAT_INFO"))?;
    let mut encodings = Vec::new();
    loop {
        let mut f = WIA_FORMAT_INFO::default();
        let mut fetched = 0u32;
        // SAFETY: room for one element and a fetched count.
        unsafe { formats.Next(1, &mut f, &mut fetched) }
            .map_err(err(Operation::ReadProperties, "IEnumWIA_FORMAT_INFO::Next"))?;
        if fetched != 1 {
            break;
        }
        if f.lTymed == TYMED_FILE.0 {
            if let Some(e) = format_encoding(f.guidFormatID.to_u128()) {
                if !encodings.contains(&e) {
                    encodings.push(e);
                }
            }
        }
    }
    Ok(ItemProps {
        category,
        name: v[0].string(),
        xres: valid_values(&storage, o::WIA_IPS_XRES)?,
        datatypes: valid_values(&storage, o::WIA_IPA_DATATYPE)?,
        depths: valid_values(&storage, o::WIA_IPA_DEPTH)?,
        max_size: (v[1].i4().unwrap_or(0), v[2].i4().unwrap_or(0)),
        min_size: (v[3].i4().unwrap_or(0), v[4].i4().unwrap_or(0)),
        handling_caps: v[5].i4(),
        encodings,
    })
}

/// The device's name, vendor and items.
pub(crate) fn describe(wia_id: &str) -> Result<(String, String, Vec<ItemProps>), DeviceError> {
    let root = open_root(wia_id)?;
    let storage: IWiaPropertyStorage = root
        .cast()
        .map_err(err(Operation::ReadProperties, "IWiaPropertyStorage"))?;
    let v = read_props(&storage, &[WIA_DIP_DEV_NAME, WIA_DIP_VEND_DESC])?;
    let mut items = Vec::new();
    for child in children(&root)? {
        items.push(item_props(&child)?);
    }
    Ok((v[0].string(), v[1].string(), items))
}

/// Opens the item of `category` on device `wia_id`, writes `writes` and returns its transfer
/// interface.
pub(crate) fn prepare(
    wia_id: &str,
    category: ItemCategory,
    writes: &[(u32, PropValue)],
) -> Result<IWiaTransfer, DeviceError> {
    let root = open_root(wia_id)?;
    for child in children(&root)? {
        if self::category(&child)? == category {
            let storage: IWiaPropertyStorage = child
                .cast()
                .map_err(err(Operation::WriteProperties, "IWiaPropertyStorage"))?;
            write_props(&storage, writes)?;
            return child
                .cast()
                .map_err(err(Operation::Download, "IWiaTransfer"));
        }
    }
    Err(DeviceError::new(
        DeviceErrorKind::Unsupported,
        format!("the WIA device {wia_id} has no {category:?} item any more"),
    ))
}

/// Runs `IWiaTransfer::Download` on the item `open` returns, delivering to `app`; this thread
/// must be in the MTA. A cancel of `cancel` calls `IWiaTransfer::Cancel` (from a thread of
/// its own: the hook runs on the cancelling thread, which may not be in the MTA).
pub(crate) fn download(
    open: impl FnOnce() -> Result<IWiaTransfer, DeviceError>,
    app: Box<dyn TransferCallback>,
    template: PageTemplate,
    cancel: &CancelToken,
) -> Result<HResult, DeviceError> {
    let transfer = open()?;
    let (cb, session) = app_callback(app, template, CancelHandle::new());
    let shared = Arc::new(MtaPtr(transfer.clone()));
    let hook = cancel.on_cancel(move || {
        let _ = std::thread::Builder::new()
            .name("scanwire-wia-cancel".into())
            .spawn(move || {
                if let Ok(mta) = Mta::enter() {
                    raw::cancel(&shared.0);
                    drop(shared);
                    drop(mta);
                }
            });
    });
    let hr = raw::download(&transfer, 0, &cb);
    drop(hook);
    session.end(hr);
    Ok(hr)
}
