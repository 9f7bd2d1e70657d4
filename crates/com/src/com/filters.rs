//! WIA 2.0's two driver extensions, as COM objects over `scanwire-imaging`:
//!
//! - [`ImageFilter`]: `IWiaImageFilter` and the `IWiaTransferCallback` the service delivers
//!   to in the application's place. Its logic is [`crate::filter::ImageFilter`]'s; the
//!   settings and stages are [`crate::processing`]'s.
//! - [`SegmentationFilter`]: `IWiaSegmentationFilter::DetectRegions`, which creates one child
//!   item per photo on a preview image.
//! - [`FilterClassFactory`] / [`dll_get_class_object`]: the class objects a driver's filter
//!   DLL hands out for [`CLSID_SCANWIRE_IMAGE_FILTER`] and
//!   [`CLSID_SCANWIRE_SEGMENTATION_FILTER`].
//!
//! Registration (Microsoft's "Installing an Image Processing Filter" and "Installing a
//! Segmentation Filter"): a driver's INF adds, under the CLSID its `WIA_DIP_UI_CLSID` names,
//! `shellex\ImageProcessingFilter\{CLSID}` and `shellex\SegmentationFilter\{CLSID}`, and
//! registers the DLL exporting `DllGetClassObject` as their `InProcServer32` (threading model
//! Apartment for the image filter, Both for the segmentation filter). The WIA proxy then
//! creates the image filter through `IWiaItem2::GetExtension` for every download, and an
//! application (or the WIA Preview Component) the segmentation filter.

use super::wia::{read_props, valid_values, write_longs, Prop};
use super::{com_result, from_hresult, raw, read_params, to_hresult};
use crate::filter::{Application, Begin, ImageFilter as FilterState, PageBuffer, PageSetup};
use crate::options::{
    ValidValues, WIA_IPA_FORMAT, WIA_IPA_FULL_ITEM_NAME, WIA_IPA_ITEM_NAME, WIA_IPS_XEXTENT,
    WIA_IPS_XPOS, WIA_IPS_XRES, WIA_IPS_YEXTENT, WIA_IPS_YPOS, WIA_IPS_YRES,
};
use crate::processing::{
    detect_regions, filter_preview, FilterSettings, PageFormat, PropertySource, FILTER_PROPERTIES,
    WIA_CATEGORY_FINISHED_FILE, WIA_CATEGORY_FOLDER, WIA_CATEGORY_ROOT,
    WIA_IPS_BLANK_PAGES_SENSITIVITY, WIA_IPS_DESKEW_X, WIA_IPS_DESKEW_Y,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, MutexGuard};
use windows::Win32::Devices::ImageAcquisition::{
    IWiaImageFilter, IWiaImageFilter_Impl, IWiaItem2, IWiaPropertyStorage, IWiaSegmentationFilter,
    IWiaSegmentationFilter_Impl, IWiaTransferCallback, IWiaTransferCallback_Impl, WiaItemTypeFile,
    WiaItemTypeGenerated, WiaItemTypeImage, WiaItemTypeProgrammableDataSource, WiaItemTypeTransfer,
    WiaTransferParams as WinParams, COPY_PARENT_PROPERTY_VALUES,
};
use windows::Win32::Foundation::{CLASS_E_CLASSNOTAVAILABLE, CLASS_E_NOAGGREGATION, RECT};
use windows::Win32::System::Com::{
    IClassFactory, IClassFactory_Impl, ISequentialStream_Impl, IStream, IStream_Impl, LOCKTYPE,
    STATFLAG, STATSTG, STGC, STGM_READWRITE, STGTY_STREAM, STREAM_SEEK, STREAM_SEEK_SET,
};
use windows_core::{implement, Error, IUnknown, Interface, Ref, BOOL, BSTR, GUID, HRESULT};

/// The class of Scanwire's image processing filter.
pub const CLSID_SCANWIRE_IMAGE_FILTER: GUID =
    GUID::from_u128(0x5c0a_1e5e_7f1b_4c36_9a5e_3b9d_2f41_a001);
/// The class of Scanwire's segmentation filter.
pub const CLSID_SCANWIRE_SEGMENTATION_FILTER: GUID =
    GUID::from_u128(0x5c0a_1e5e_7f1b_4c36_9a5e_3b9d_2f41_a002);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn fail(hr: HResult) -> Error {
    Error::from_hresult(to_hresult(hr))
}

/// The application's `IWiaTransferCallback`, called through the vtable so its S_FALSE and
/// WIA_STATUS_SKIP_ITEM reach the driver raw.
pub(crate) struct ComApp(IWiaTransferCallback);

impl Application for ComApp {
    type Stream = IStream;

    fn get_next_stream(
        &mut self,
        flags: i32,
        name: &str,
        full_name: &str,
    ) -> Result<IStream, HResult> {
        match raw::app_get_next_stream(&self.0, flags, &BSTR::from(name), &BSTR::from(full_name)) {
            (hr, Some(s)) if hr == wia::S_OK => Ok(s),
            (hr, _) if hr == wia::S_OK => Err(wia::E_UNEXPECTED),
            (hr, _) => Err(hr),
        }
    }

    fn write(&mut self, stream: &mut IStream, data: &[u8]) -> Result<(), HResult> {
        let mut written = 0u32;
        // SAFETY: `data` is readable for its length during the call; `written` is a valid
        // out-pointer; the stream is a live interface we hold.
        let hr =
            unsafe { stream.Write(data.as_ptr().cast(), data.len() as u32, Some(&mut written)) };
        let hr = from_hresult(hr);
        if hr != wia::S_OK {
            Err(hr)
        } else if written as usize != data.len() {
            Err(crate::filter::STG_E_MEDIUMFULL)
        } else {
            Ok(())
        }
    }

    fn transfer_callback(&mut self, flags: i32, params: &WiaTransferParams) -> HResult {
        raw::transfer_callback(&self.0, flags, Some(params))
    }
}

/// An item's properties as read for the filters.
struct ItemValues {
    longs: HashMap<u32, i32>,
    guids: HashMap<u32, u128>,
    strings: HashMap<u32, String>,
    sensitivity_range: Option<(i32, i32)>,
}

impl PropertySource for ItemValues {
    fn long(&self, id: u32) -> Option<i32> {
        self.longs.get(&id).copied()
    }
    fn range(&self, id: u32) -> Option<(i32, i32)> {
        (id == WIA_IPS_BLANK_PAGES_SENSITIVITY)
            .then_some(self.sensitivity_range)
            .flatten()
    }
}

impl ItemValues {
    fn read(storage: &IWiaPropertyStorage, extra: &[u32]) -> Result<Self, HResult> {
        let ids: Vec<u32> = FILTER_PROPERTIES
            .iter()
            .chain([WIA_IPA_FORMAT, WIA_IPS_XRES, WIA_IPS_YRES].iter())
            .chain(extra)
            .copied()
            .collect();
        let values = read_props(storage, &ids).map_err(|e| e.hresult())?;
        let mut out = ItemValues {
            longs: HashMap::new(),
            guids: HashMap::new(),
            strings: HashMap::new(),
            sensitivity_range: None,
        };
        for (id, v) in ids.into_iter().zip(values) {
            match v {
                Prop::I4(v) => {
                    out.longs.insert(id, v);
                }
                Prop::Guid(g) => {
                    out.guids.insert(id, g);
                }
                Prop::Str(s) => {
                    out.strings.insert(id, s);
                }
                Prop::Other(_) => {}
            }
        }
        if out.longs.contains_key(&WIA_IPS_BLANK_PAGES_SENSITIVITY) {
            if let Ok(ValidValues::Range { min, max, .. }) =
                valid_values(storage, WIA_IPS_BLANK_PAGES_SENSITIVITY)
            {
                out.sensitivity_range = Some((min, max));
            }
        }
        Ok(out)
    }

    fn dpi(&self) -> (u32, u32) {
        let d = |id| self.long(id).filter(|v| *v > 0).unwrap_or(0) as u32;
        (d(WIA_IPS_XRES), d(WIA_IPS_YRES))
    }

    fn format(&self) -> u128 {
        self.guids.get(&WIA_IPA_FORMAT).copied().unwrap_or(0)
    }
}

fn storage_of(item: &IWiaItem2) -> Result<IWiaPropertyStorage, HResult> {
    item.cast().map_err(|e| from_hresult(e.code()))
}

fn category_of(item: &IWiaItem2) -> Result<u128, HResult> {
    // SAFETY: a live item.
    unsafe { item.GetItemCategory() }
        .map(|g| g.to_u128())
        .map_err(|e| from_hresult(e.code()))
}

/// Reads a whole stream from its start (what a filter is handed: the preview image).
fn read_stream(s: &IStream) -> Result<Vec<u8>, HResult> {
    // SAFETY: a live stream; a null new-position pointer is allowed.
    unsafe { s.Seek(0, STREAM_SEEK_SET, None) }.map_err(|e| from_hresult(e.code()))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let mut read = 0u32;
        // SAFETY: `buf` is writable for its length; `read` is a valid out-pointer.
        let hr = unsafe { s.Read(buf.as_mut_ptr().cast(), buf.len() as u32, Some(&mut read)) };
        if hr.is_err() {
            return Err(from_hresult(hr));
        }
        out.extend_from_slice(&buf[..(read as usize).min(buf.len())]);
        if out.len() as u64 > crate::filter::MAX_PAGE_BYTES {
            return Err(crate::filter::STG_E_MEDIUMFULL);
        }
        if read == 0 || hr != HRESULT(0) {
            return Ok(out);
        }
    }
}

/// Scanwire's image processing filter. Create it with [`ImageFilter::create`] (or through
/// its class object).
#[implement(IWiaImageFilter, IWiaTransferCallback)]
pub struct ImageFilter {
    state: Mutex<FilterState<ComApp>>,
    item: Mutex<Option<IWiaItem2>>,
}

impl ImageFilter {
    /// A new filter, not yet initialized.
    pub fn create() -> IWiaImageFilter {
        ImageFilter {
            state: Mutex::new(FilterState::default()),
            item: Mutex::new(None),
        }
        .into()
    }

    fn setup(&self, full_name: &BSTR) -> Result<Option<PageSetup>, HResult> {
        let item = lock(&self.item).clone().ok_or(wia::E_UNEXPECTED)?;
        // The stream may be for a child of the download's item: find it by name, as the
        // sample does.
        // SAFETY: a live item; the BSTR outlives the call.
        let item =
            unsafe { item.FindItemByName(0, full_name) }.map_err(|e| from_hresult(e.code()))?;
        let values = ItemValues::read(&storage_of(&item)?, &[])?;
        PageSetup::for_item(
            category_of(&item)?,
            FilterSettings::from_properties(&values),
            values.format(),
            values.dpi(),
        )
        .map_err(|e| e.hresult())
    }
}

impl IWiaImageFilter_Impl for ImageFilter_Impl {
    fn InitializeFilter(
        &self,
        pwiaitem2: Ref<IWiaItem2>,
        pwiatransfercallback: Ref<IWiaTransferCallback>,
    ) -> windows_core::Result<()> {
        let (Some(item), Some(cb)) = (pwiaitem2.as_ref(), pwiatransfercallback.as_ref()) else {
            return Err(fail(wia::E_INVALIDARG));
        };
        // Image processing filters do not process storage items (the sample's rule).
        let category = category_of(item).map_err(fail)?;
        if [
            WIA_CATEGORY_FINISHED_FILE,
            WIA_CATEGORY_FOLDER,
            WIA_CATEGORY_ROOT,
        ]
        .contains(&category)
        {
            return Err(fail(crate::pages::E_NOTIMPL));
        }
        *lock(&self.item) = Some(item.clone());
        lock(&self.state).initialize(ComApp(cb.clone()));
        Ok(())
    }

    fn SetNewCallback(
        &self,
        pwiatransfercallback: Ref<IWiaTransferCallback>,
    ) -> windows_core::Result<()> {
        // Always release the current callback, even for a null one (the sample's rule).
        lock(&self.state).set_callback(pwiatransfercallback.as_ref().cloned().map(ComApp));
        Ok(())
    }

    fn FilterPreviewImage(
        &self,
        lflags: i32,
        pwiachilditem2: Ref<IWiaItem2>,
        inputimageextents: &RECT,
        pinputstream: Ref<IStream>,
    ) -> windows_core::Result<()> {
        let (Some(child), Some(input)) = (pwiachilditem2.as_ref(), pinputstream.as_ref()) else {
            return Err(fail(wia::E_INVALIDARG));
        };
        let category = category_of(child).map_err(fail)?;
        if [
            WIA_CATEGORY_FINISHED_FILE,
            WIA_CATEGORY_FOLDER,
            WIA_CATEGORY_ROOT,
        ]
        .contains(&category)
        {
            return Err(fail(wia::E_INVALIDARG));
        }
        let values = ItemValues::read(
            &storage_of(child).map_err(fail)?,
            &[
                WIA_IPS_XPOS,
                WIA_IPS_YPOS,
                WIA_IPS_XEXTENT,
                WIA_IPS_YEXTENT,
                WIA_IPA_ITEM_NAME,
                WIA_IPA_FULL_ITEM_NAME,
            ],
        )
        .map_err(fail)?;
        let settings = FilterSettings::from_properties(&values).map_err(|e| fail(e.hresult()))?;
        let format = PageFormat::from_guid(values.format()).map_err(|e| fail(e.hresult()))?;
        let l = |id| values.long(id).unwrap_or(0);
        let r = inputimageextents;
        let bytes = read_stream(input).map_err(fail)?;
        let out = filter_preview(
            &bytes,
            format,
            values.dpi(),
            (r.left, r.top, r.right, r.bottom),
            (
                l(WIA_IPS_XPOS),
                l(WIA_IPS_YPOS),
                l(WIA_IPS_XEXTENT),
                l(WIA_IPS_YEXTENT),
            ),
            &settings,
        )
        .map_err(|e| fail(e.hresult()))?;
        let name = |id| values.strings.get(&id).cloned().unwrap_or_default();
        let mut state = lock(&self.state);
        let app = state.app().ok_or_else(|| fail(wia::E_UNEXPECTED))?;
        let mut stream = app
            .get_next_stream(
                lflags,
                &name(WIA_IPA_ITEM_NAME),
                &name(WIA_IPA_FULL_ITEM_NAME),
            )
            .map_err(fail)?;
        for chunk in out.chunks(1 << 16) {
            app.write(&mut stream, chunk).map_err(fail)?;
        }
        Ok(())
    }

    fn ApplyProperties(
        &self,
        pwiapropertystorage: Ref<IWiaPropertyStorage>,
    ) -> windows_core::Result<()> {
        let Some(storage) = pwiapropertystorage.as_ref() else {
            return Err(fail(wia::E_INVALIDARG));
        };
        let Some((x, y)) = lock(&self.state).found_deskew_xy() else {
            return Ok(());
        };
        // Only an item that has the properties gets them (writing unknown ones would fail
        // the driver's validation).
        let present = read_props(storage, &[WIA_IPS_DESKEW_X, WIA_IPS_DESKEW_Y])
            .map_err(|e| fail(e.hresult()))?;
        if present.iter().all(|p| p.i4().is_some()) {
            write_longs(
                storage,
                &[(WIA_IPS_DESKEW_X, x as i32), (WIA_IPS_DESKEW_Y, y as i32)],
            )
            .map_err(fail)?;
        }
        Ok(())
    }
}

impl IWiaTransferCallback_Impl for ImageFilter_Impl {
    fn TransferCallback(
        &self,
        lflags: i32,
        pwiatransferparams: *const WinParams,
    ) -> windows_core::Result<()> {
        // SAFETY: the interface requires a null or valid WiaTransferParams pointer.
        let params = unsafe { read_params(pwiatransferparams) };
        com_result(lock(&self.state).transfer_callback(lflags, params.as_ref()))
    }

    fn GetNextStream(
        &self,
        lflags: i32,
        bstritemname: &BSTR,
        bstrfullitemname: &BSTR,
    ) -> windows_core::Result<IStream> {
        // After a cancel or failure the answer is that, without reading the item again.
        if let Some(hr) = lock(&self.state).stopped() {
            return Err(fail(hr));
        }
        let setup = self.setup(bstrfullitemname).map_err(fail)?;
        let begin = lock(&self.state).get_next_stream(
            lflags,
            &bstritemname.to_string(),
            &bstrfullitemname.to_string(),
            setup,
        );
        match begin {
            Ok(Begin::Direct(s)) => Ok(s),
            Ok(Begin::Buffer(b)) => Ok(BufferStream { buffer: b }.into()),
            Err(hr) => Err(fail(hr)),
        }
    }
}

/// The stream the driver writes a page into while the filter holds it: a memory stream
/// (read, write and seek anywhere).
#[implement(IStream)]
struct BufferStream {
    buffer: Arc<PageBuffer>,
}

impl ISequentialStream_Impl for BufferStream_Impl {
    fn Read(&self, pv: *mut c_void, cb: u32, pcbread: *mut u32) -> HRESULT {
        let n = if cb == 0 || pv.is_null() {
            0
        } else {
            // SAFETY: the caller passes `cb` writable bytes at `pv` (ISequentialStream::Read).
            let out = unsafe { std::slice::from_raw_parts_mut(pv.cast::<u8>(), cb as usize) };
            self.buffer.read(out)
        };
        if !pcbread.is_null() {
            // SAFETY: a non-null pcbread points to a u32 the caller owns.
            unsafe { pcbread.write(n as u32) };
        }
        // S_FALSE when fewer bytes than asked were left (IStream's rule).
        HRESULT(i32::from(n < cb as usize))
    }

    fn Write(&self, pv: *const c_void, cb: u32, pcbwritten: *mut u32) -> HRESULT {
        let data: &[u8] = if cb == 0 {
            &[]
        } else if pv.is_null() {
            return HRESULT(0x8003_0009_u32 as i32); // STG_E_INVALIDPOINTER
        } else {
            // SAFETY: the caller passes `cb` readable bytes at `pv` for the call.
            unsafe { std::slice::from_raw_parts(pv.cast::<u8>(), cb as usize) }
        };
        let r = self.buffer.write(data);
        if !pcbwritten.is_null() {
            // SAFETY: a non-null pcbwritten points to a u32 the caller owns.
            unsafe { pcbwritten.write(if r.is_ok() { cb } else { 0 }) };
        }
        match r {
            Ok(()) => HRESULT(0),
            Err(hr) => to_hresult(hr),
        }
    }
}

impl IStream_Impl for BufferStream_Impl {
    fn Seek(
        &self,
        dlibmove: i64,
        dworigin: STREAM_SEEK,
        plibnewposition: *mut u64,
    ) -> windows_core::Result<()> {
        let to = crate::pages::seek_from(dworigin.0, dlibmove).map_err(fail)?;
        let pos = self.buffer.seek(to).map_err(fail)?;
        if !plibnewposition.is_null() {
            // SAFETY: a non-null plibnewposition points to a u64 the caller owns.
            unsafe { plibnewposition.write(pos) };
        }
        Ok(())
    }

    fn SetSize(&self, libnewsize: u64) -> windows_core::Result<()> {
        self.buffer.set_size(libnewsize).map_err(fail)
    }

    fn CopyTo(
        &self,
        _pstm: Ref<IStream>,
        _cb: u64,
        pcbread: *mut u64,
        pcbwritten: *mut u64,
    ) -> windows_core::Result<()> {
        for p in [pcbread, pcbwritten] {
            if !p.is_null() {
                // SAFETY: non-null out-pointers the caller owns.
                unsafe { p.write(0) };
            }
        }
        com_result(crate::pages::STG_E_INVALIDFUNCTION)
    }

    fn Commit(&self, _grfcommitflags: &STGC) -> windows_core::Result<()> {
        Ok(())
    }

    fn Revert(&self) -> windows_core::Result<()> {
        Ok(())
    }

    fn LockRegion(&self, _: u64, _: u64, _: &LOCKTYPE) -> windows_core::Result<()> {
        com_result(crate::pages::STG_E_INVALIDFUNCTION)
    }

    fn UnlockRegion(&self, _: u64, _: u64, _: u32) -> windows_core::Result<()> {
        com_result(crate::pages::STG_E_INVALIDFUNCTION)
    }

    fn Stat(&self, pstatstg: *mut STATSTG, _grfstatflag: &STATFLAG) -> windows_core::Result<()> {
        if pstatstg.is_null() {
            return Err(Error::from_hresult(HRESULT(0x8003_0009_u32 as i32)));
        }
        let stat = STATSTG {
            pwcsName: windows_core::PWSTR::null(),
            r#type: STGTY_STREAM.0 as u32,
            cbSize: self.buffer.len(),
            grfMode: STGM_READWRITE,
            ..Default::default()
        };
        // SAFETY: non-null, points to a STATSTG the caller owns.
        unsafe { pstatstg.write(stat) };
        Ok(())
    }

    fn Clone(&self) -> windows_core::Result<IStream> {
        Err(fail(crate::pages::STG_E_INVALIDFUNCTION))
    }
}

/// Scanwire's segmentation filter: one child item per photo found on the preview.
#[implement(IWiaSegmentationFilter)]
pub struct SegmentationFilter;

impl SegmentationFilter {
    /// A new segmentation filter.
    pub fn create() -> IWiaSegmentationFilter {
        SegmentationFilter.into()
    }
}

/// The flags of an item the segmentation filter creates (Microsoft's example filter's).
pub const CHILD_ITEM_FLAGS: i32 = (WiaItemTypeGenerated
    | WiaItemTypeTransfer
    | WiaItemTypeImage
    | WiaItemTypeFile
    | WiaItemTypeProgrammableDataSource) as i32;

impl IWiaSegmentationFilter_Impl for SegmentationFilter_Impl {
    fn DetectRegions(
        &self,
        _lflags: i32,
        pinputstream: Ref<IStream>,
        pwiaitem2: Ref<IWiaItem2>,
    ) -> windows_core::Result<()> {
        let (Some(input), Some(item)) = (pinputstream.as_ref(), pwiaitem2.as_ref()) else {
            return Err(fail(wia::E_INVALIDARG));
        };
        let storage = storage_of(item).map_err(fail)?;
        let values = ItemValues::read(&storage, &[WIA_IPS_XPOS, WIA_IPS_YPOS]).map_err(fail)?;
        let format = PageFormat::from_guid(values.format()).map_err(|e| fail(e.hresult()))?;
        let bytes = read_stream(input).map_err(fail)?;
        let origin = (
            values.long(WIA_IPS_XPOS).unwrap_or(0),
            values.long(WIA_IPS_YPOS).unwrap_or(0),
        );
        let regions =
            detect_regions(&bytes, format, values.dpi(), origin).map_err(|e| fail(e.hresult()))?;
        // DESKEW_X/Y only where the driver has them ("if the driver supports deskewing").
        let deskew =
            values.long(WIA_IPS_DESKEW_X).is_some() && values.long(WIA_IPS_DESKEW_Y).is_some();
        for (i, r) in regions.iter().enumerate() {
            let name = BSTR::from(format!("Region {}", i + 1));
            // SAFETY: a live item; the BSTR outlives the call. COPY_PARENT_PROPERTY_VALUES so
            // the child has the parent's format and resolution (the interface's remarks).
            let child = unsafe {
                item.CreateChildItem(CHILD_ITEM_FLAGS, COPY_PARENT_PROPERTY_VALUES as i32, &name)
            }?;
            let cs = storage_of(&child).map_err(fail)?;
            write_longs(
                &cs,
                &[
                    (WIA_IPS_XPOS, r.xpos),
                    (WIA_IPS_YPOS, r.ypos),
                    (WIA_IPS_XEXTENT, r.xextent),
                    (WIA_IPS_YEXTENT, r.yextent),
                ],
            )
            .map_err(fail)?;
            if deskew {
                write_longs(
                    &cs,
                    &[
                        (WIA_IPS_DESKEW_X, r.deskew_x),
                        (WIA_IPS_DESKEW_Y, r.deskew_y),
                    ],
                )
                .map_err(fail)?;
            }
        }
        Ok(())
    }
}

/// Which filter a class object makes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum FilterKind {
    Image,
    Segmentation,
}

/// The class object (`IClassFactory`) of one of the filters.
#[implement(IClassFactory)]
pub struct FilterClassFactory {
    kind: FilterKind,
}

impl IClassFactory_Impl for FilterClassFactory_Impl {
    fn CreateInstance(
        &self,
        punkouter: Ref<IUnknown>,
        riid: *const GUID,
        ppvobject: *mut *mut c_void,
    ) -> windows_core::Result<()> {
        if ppvobject.is_null() || riid.is_null() {
            return Err(fail(wia::E_POINTER));
        }
        // SAFETY: non-null out-pointer the caller owns; null it first (COM's rule on failure).
        unsafe { ppvobject.write(std::ptr::null_mut()) };
        if punkouter.is_some() {
            return Err(Error::from_hresult(CLASS_E_NOAGGREGATION));
        }
        let object: IUnknown = match self.kind {
            FilterKind::Image => ImageFilter::create().cast()?,
            FilterKind::Segmentation => SegmentationFilter::create().cast()?,
        };
        // SAFETY: `riid` is non-null and points to the caller's IID; `ppvobject` is a valid
        // out-pointer; QueryInterface AddRefs what it hands out.
        unsafe { object.query(riid, ppvobject) }.ok()
    }

    fn LockServer(&self, _flock: BOOL) -> windows_core::Result<()> {
        Ok(())
    }
}

/// The class object for `clsid`, if it is one of Scanwire's filters.
pub fn class_object(clsid: &GUID) -> Option<IClassFactory> {
    let kind = if *clsid == CLSID_SCANWIRE_IMAGE_FILTER {
        FilterKind::Image
    } else if *clsid == CLSID_SCANWIRE_SEGMENTATION_FILTER {
        FilterKind::Segmentation
    } else {
        return None;
    };
    Some(FilterClassFactory { kind }.into())
}

/// What a filter DLL's exported `DllGetClassObject` returns: the class object for `rclsid`
/// queried for `riid` into `ppv`, or CLASS_E_CLASSNOTAVAILABLE.
///
/// # Safety
/// `rclsid` and `riid` are null or point to GUIDs; `ppv` is null or a writable out-pointer
/// (`DllGetClassObject`'s contract).
pub unsafe fn dll_get_class_object(
    rclsid: *const GUID,
    riid: *const GUID,
    ppv: *mut *mut c_void,
) -> HRESULT {
    if rclsid.is_null() || riid.is_null() || ppv.is_null() {
        return to_hresult(wia::E_POINTER);
    }
    // SAFETY: non-null out-pointer per the contract.
    unsafe { ppv.write(std::ptr::null_mut()) };
    // SAFETY: non-null, points to a GUID per the contract.
    match class_object(unsafe { &*rclsid }) {
        // SAFETY: `riid` points to an IID, `ppv` is writable; QueryInterface AddRefs.
        Some(factory) => unsafe { factory.query(riid, ppv) },
        None => CLASS_E_CLASSNOTAVAILABLE,
    }
}
