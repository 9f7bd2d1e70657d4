//! Scanwire's WIA image processing filter and segmentation filter as COM code meets them:
//! created through their class objects, called through the vtables the way the WIA proxy
//! and an application call them, against a scripted `IWiaItem2` (properties in an
//! `IWiaPropertyStorage`, `FindItemByName`, `CreateChildItem`) and Scanwire's own application
//! callback (`app_callback`, recorded and checked against core's grammar). Runs on Windows and
//! under wine (`crates/com/run-wine-tests.sh`).
#![cfg(windows)]
// COM harness code: calls through raw pointers, each with a `// SAFETY:` line.
#![allow(unsafe_code)]

use scanwire_com::com::{
    self, app_callback, dll_get_class_object, raw, CLSID_SCANWIRE_IMAGE_FILTER,
    CLSID_SCANWIRE_SEGMENTATION_FILTER,
};
use scanwire_com::options::{
    WIA_CATEGORY_FEEDER, WIA_CATEGORY_FLATBED, WIA_IMG_FMT_PNG, WIA_IPA_FORMAT,
    WIA_IPA_FULL_ITEM_NAME, WIA_IPA_ITEM_NAME, WIA_IPS_XEXTENT, WIA_IPS_XPOS, WIA_IPS_XRES,
    WIA_IPS_YEXTENT, WIA_IPS_YPOS, WIA_IPS_YRES,
};
use scanwire_com::pages::PageTemplate;
use scanwire_com::processing::*;
use scanwire_core::device::{Encoding, PageData, Source};
use scanwire_core::transfer::{CancelHandle, Recorder};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_imaging::synth::{self, Content, PhotosSpec, SheetSpec};
use scanwire_imaging::{detect_skew, Image};
use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::Mutex;
use windows::Win32::Devices::ImageAcquisition::{
    IEnumWIA_DEV_CAPS, IEnumWiaItem2, IWiaImageFilter, IWiaItem2, IWiaItem2_Impl, IWiaPreview,
    IWiaPropertyStorage, IWiaPropertyStorage_Impl, IWiaSegmentationFilter, IWiaTransferCallback,
    COPY_PARENT_PROPERTY_VALUES, WIA_PROP_NONE, WIA_PROP_READ, WIA_PROP_WRITE,
};
use windows::Win32::Foundation::{
    CLASS_E_CLASSNOTAVAILABLE, CLASS_E_NOAGGREGATION, E_NOTIMPL, FILETIME, HGLOBAL, HWND,
};
use windows::Win32::System::Com::StructuredStorage::{
    CreateStreamOnHGlobal, IEnumSTATPROPSTG, PROPSPEC, PROPVARIANT, PRSPEC_PROPID, STATPROPSETSTG,
};
use windows::Win32::System::Com::{CoTaskMemAlloc, IClassFactory, IStream, STREAM_SEEK_END};
use windows::Win32::System::Variant::{VT_BSTR, VT_CLSID, VT_I4};
use windows_core::{
    implement, IUnknown, IUnknownImpl, Interface, OutRef, Ref, BOOL, BSTR, GUID, PCWSTR, PWSTR,
};

// ---------------------------------------------------------------------------------------------
// a scripted WIA item

#[derive(Clone, Debug, PartialEq)]
enum Val {
    I4(i32),
    Guid(u128),
    Str(String),
}

struct ItemState {
    category: u128,
    props: Mutex<HashMap<u32, Val>>,
    children: Mutex<Vec<(Rc<ItemState>, IWiaItem2)>>,
}

impl ItemState {
    fn long(&self, id: u32) -> Option<i32> {
        match self.props.lock().unwrap().get(&id) {
            Some(Val::I4(v)) => Some(*v),
            _ => None,
        }
    }
    fn full_name(&self) -> String {
        match self.props.lock().unwrap().get(&WIA_IPA_FULL_ITEM_NAME) {
            Some(Val::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

#[implement(IWiaItem2, IWiaPropertyStorage)]
struct FakeItem {
    state: Rc<ItemState>,
}

fn item(
    category: u128,
    name: &str,
    full: &str,
    props: &[(u32, Val)],
) -> (IWiaItem2, Rc<ItemState>) {
    let mut map: HashMap<u32, Val> = props.iter().cloned().collect();
    map.insert(WIA_IPA_ITEM_NAME, Val::Str(name.into()));
    map.insert(WIA_IPA_FULL_ITEM_NAME, Val::Str(full.into()));
    let state = Rc::new(ItemState {
        category,
        props: Mutex::new(map),
        children: Mutex::new(Vec::new()),
    });
    let i: IWiaItem2 = FakeItem {
        state: state.clone(),
    }
    .into();
    (i, state)
}

fn notimpl<T>() -> windows_core::Result<T> {
    Err(E_NOTIMPL.into())
}

impl IWiaItem2_Impl for FakeItem_Impl {
    fn CreateChildItem(
        &self,
        flags: i32,
        creation: i32,
        name: &BSTR,
    ) -> windows_core::Result<IWiaItem2> {
        assert_eq!(flags, com::CHILD_ITEM_FLAGS);
        let props: Vec<(u32, Val)> = if creation as u32 & COPY_PARENT_PROPERTY_VALUES != 0 {
            self.state
                .props
                .lock()
                .unwrap()
                .clone()
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let full = format!("{}\\{}", self.state.full_name(), name);
        let (child, st) = item(self.state.category, &name.to_string(), &full, &props);
        self.state
            .children
            .lock()
            .unwrap()
            .push((st, child.clone()));
        Ok(child)
    }
    fn DeleteItem(&self, _: i32) -> windows_core::Result<()> {
        notimpl()
    }
    fn EnumChildItems(&self, _: *const GUID) -> windows_core::Result<IEnumWiaItem2> {
        notimpl()
    }
    fn FindItemByName(&self, _: i32, full: &BSTR) -> windows_core::Result<IWiaItem2> {
        let want = full.to_string();
        if self.state.full_name() == want {
            return Ok(self.to_interface());
        }
        for (st, child) in self.state.children.lock().unwrap().iter() {
            if st.full_name() == want {
                return Ok(child.clone());
            }
        }
        Err(windows::Win32::Foundation::E_INVALIDARG.into())
    }
    fn GetItemCategory(&self) -> windows_core::Result<GUID> {
        Ok(GUID::from_u128(self.state.category))
    }
    fn GetItemType(&self) -> windows_core::Result<i32> {
        notimpl()
    }
    fn DeviceDlg(
        &self,
        _: i32,
        _: HWND,
        _: &BSTR,
        _: &BSTR,
        _: *mut i32,
        _: *mut *mut BSTR,
        _: OutRef<IWiaItem2>,
    ) -> windows_core::Result<()> {
        notimpl()
    }
    fn DeviceCommand(
        &self,
        _: i32,
        _: *const GUID,
        _: OutRef<IWiaItem2>,
    ) -> windows_core::Result<()> {
        notimpl()
    }
    fn EnumDeviceCapabilities(&self, _: i32) -> windows_core::Result<IEnumWIA_DEV_CAPS> {
        notimpl()
    }
    fn CheckExtension(
        &self,
        _: i32,
        _: &BSTR,
        _: *const GUID,
        _: *mut BOOL,
    ) -> windows_core::Result<()> {
        notimpl()
    }
    fn GetExtension(
        &self,
        _: i32,
        _: &BSTR,
        _: *const GUID,
        _: *mut *mut c_void,
    ) -> windows_core::Result<()> {
        notimpl()
    }
    fn GetParentItem(&self) -> windows_core::Result<IWiaItem2> {
        notimpl()
    }
    fn GetRootItem(&self) -> windows_core::Result<IWiaItem2> {
        notimpl()
    }
    fn GetPreviewComponent(&self, _: i32) -> windows_core::Result<IWiaPreview> {
        notimpl()
    }
    fn EnumRegisterEventInfo(
        &self,
        _: i32,
        _: *const GUID,
    ) -> windows_core::Result<IEnumWIA_DEV_CAPS> {
        notimpl()
    }
    fn Diagnostic(&self, _: u32, _: *const u8) -> windows_core::Result<()> {
        notimpl()
    }
}

fn propid(spec: &PROPSPEC) -> u32 {
    assert_eq!(
        spec.ulKind, PRSPEC_PROPID,
        "the filters name properties by id"
    );
    // SAFETY: PRSPEC_PROPID means `propid` is the active member.
    unsafe { spec.Anonymous.propid }
}

impl IWiaPropertyStorage_Impl for FakeItem_Impl {
    fn ReadMultiple(
        &self,
        n: u32,
        specs: *const PROPSPEC,
        vars: *mut PROPVARIANT,
    ) -> windows_core::Result<()> {
        let props = self.state.props.lock().unwrap();
        for i in 0..n as usize {
            // SAFETY: the caller passes `n` specs and `n` writable PROPVARIANTs.
            let (spec, var) = unsafe { (&*specs.add(i), &mut *vars.add(i)) };
            let mut pv = PROPVARIANT::default();
            // SAFETY: each arm writes the tag and its matching member of a fresh PROPVARIANT;
            // what it owns (a CoTaskMem GUID, a BSTR) is what PropVariantClear frees.
            unsafe {
                let inner = &mut pv.Anonymous.Anonymous;
                match props.get(&propid(spec)) {
                    Some(Val::I4(v)) => {
                        inner.vt = VT_I4;
                        inner.Anonymous.lVal = *v;
                    }
                    Some(Val::Guid(g)) => {
                        let p = CoTaskMemAlloc(std::mem::size_of::<GUID>()).cast::<GUID>();
                        assert!(!p.is_null());
                        p.write(GUID::from_u128(*g));
                        inner.vt = VT_CLSID;
                        inner.Anonymous.puuid = p;
                    }
                    Some(Val::Str(s)) => {
                        inner.vt = VT_BSTR;
                        inner.Anonymous.bstrVal = ManuallyDrop::new(BSTR::from(s.as_str()));
                    }
                    None => {}
                }
                std::ptr::write(var, pv);
            }
        }
        Ok(())
    }
    fn WriteMultiple(
        &self,
        n: u32,
        specs: *const PROPSPEC,
        vars: *const PROPVARIANT,
        _: u32,
    ) -> windows_core::Result<()> {
        let mut props = self.state.props.lock().unwrap();
        for i in 0..n as usize {
            // SAFETY: the caller passes `n` specs and `n` values.
            let (spec, var) = unsafe { (&*specs.add(i), &*vars.add(i)) };
            // SAFETY: the tag says which member is active; only VT_I4 is written by the filters.
            unsafe {
                let inner = &var.Anonymous.Anonymous;
                assert_eq!(inner.vt, VT_I4, "property {}", propid(spec));
                props.insert(propid(spec), Val::I4(inner.Anonymous.lVal));
            }
        }
        Ok(())
    }
    fn DeleteMultiple(&self, _: u32, _: *const PROPSPEC) -> windows_core::Result<()> {
        notimpl()
    }
    fn ReadPropertyNames(&self, _: u32, _: *const u32, _: *mut PWSTR) -> windows_core::Result<()> {
        notimpl()
    }
    fn WritePropertyNames(
        &self,
        _: u32,
        _: *const u32,
        _: *const PCWSTR,
    ) -> windows_core::Result<()> {
        notimpl()
    }
    fn DeletePropertyNames(&self, _: u32, _: *const u32) -> windows_core::Result<()> {
        notimpl()
    }
    fn Commit(&self, _: u32) -> windows_core::Result<()> {
        Ok(())
    }
    fn Revert(&self) -> windows_core::Result<()> {
        notimpl()
    }
    fn Enum(&self) -> windows_core::Result<IEnumSTATPROPSTG> {
        notimpl()
    }
    fn SetTimes(
        &self,
        _: *const FILETIME,
        _: *const FILETIME,
        _: *const FILETIME,
    ) -> windows_core::Result<()> {
        notimpl()
    }
    fn SetClass(&self, _: *const GUID) -> windows_core::Result<()> {
        notimpl()
    }
    fn Stat(&self, _: *mut STATPROPSETSTG) -> windows_core::Result<()> {
        notimpl()
    }
    fn GetPropertyAttributes(
        &self,
        n: u32,
        _: *const PROPSPEC,
        flags: *mut u32,
        vars: *mut PROPVARIANT,
    ) -> windows_core::Result<()> {
        for i in 0..n as usize {
            // SAFETY: `n` writable flags and PROPVARIANTs (no valid-value list: any value).
            unsafe {
                flags
                    .add(i)
                    .write(WIA_PROP_READ | WIA_PROP_WRITE | WIA_PROP_NONE);
                std::ptr::write(vars.add(i), PROPVARIANT::default());
            }
        }
        Ok(())
    }
    fn GetCount(&self) -> windows_core::Result<u32> {
        Ok(self.state.props.lock().unwrap().len() as u32)
    }
    fn GetPropertyStream(&self, _: *mut GUID, _: OutRef<IStream>) -> windows_core::Result<()> {
        notimpl()
    }
    fn SetPropertyStream(&self, _: *mut GUID, _: Ref<IStream>) -> windows_core::Result<()> {
        notimpl()
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

/// One of Scanwire's filters through `DllGetClassObject` and `IClassFactory::CreateInstance`.
fn create<T: Interface>(clsid: GUID) -> T {
    let mut ppv: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid GUID pointers and out-pointer for the call.
    let hr = unsafe { dll_get_class_object(&clsid, &IClassFactory::IID, &mut ppv) };
    assert_eq!(hr.0, 0, "DllGetClassObject");
    // SAFETY: S_OK hands out an AddRef'd IClassFactory.
    let factory = unsafe { IClassFactory::from_raw(ppv) };
    // SAFETY: a live class object; no outer object.
    unsafe { factory.CreateInstance::<_, T>(None::<&IUnknown>) }.expect("CreateInstance")
}

fn png(img: &Image) -> Vec<u8> {
    encode(img, PageFormat::Png).unwrap()
}

fn text_page(skew: f64, seed: u64) -> Image {
    let mut spec = SheetSpec::a4_feeder(100, seed);
    spec.skew_deg = skew;
    synth::sheet(&spec).image
}

fn blank_page(seed: u64) -> Image {
    let mut spec = SheetSpec::a4_feeder(100, seed);
    spec.content = Content::Blank;
    spec.bleed_through = true;
    synth::sheet(&spec).image
}

fn write_all(s: &IStream, data: &[u8]) {
    for chunk in data.chunks(10_000) {
        let mut written = 0u32;
        // SAFETY: `chunk` is readable for its length; `written` is a valid out-pointer.
        let hr = unsafe {
            s.Write(
                chunk.as_ptr().cast(),
                chunk.len() as u32,
                Some(&mut written),
            )
        };
        assert_eq!((hr.0, written as usize), (0, chunk.len()));
    }
}

fn eos(bytes: u64, hr: HResult) -> WiaTransferParams {
    WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_STREAM, 100, bytes, hr)
}

// ---------------------------------------------------------------------------------------------
// the image processing filter

#[test]
fn a_download_through_the_image_filter_delivers_processed_pages() {
    let filter: IWiaImageFilter = create(CLSID_SCANWIRE_IMAGE_FILTER);
    // The service delivers to the filter as the application's callback.
    let as_cb: IWiaTransferCallback = filter.cast().expect("the filter is a transfer callback");
    let (feeder, state) = item(
        WIA_CATEGORY_FEEDER,
        "Feeder",
        "0000\\Root\\Feeder",
        &[
            (WIA_IPA_FORMAT, Val::Guid(WIA_IMG_FMT_PNG)),
            (WIA_IPS_XRES, Val::I4(100)),
            (WIA_IPS_YRES, Val::I4(100)),
            (WIA_IPS_AUTO_DESKEW, Val::I4(WIA_AUTO_DESKEW_ON)),
            (WIA_IPS_ROTATION, Val::I4(LANDSCAPE)),
            (WIA_IPS_BLANK_PAGES, Val::I4(WIA_BLANK_PAGE_DISCARD)),
            (WIA_IPS_DESKEW_X, Val::I4(0)),
            (WIA_IPS_DESKEW_Y, Val::I4(0)),
        ],
    );
    let (rec, log) = Recorder::new();
    let template = PageTemplate {
        source: Source::Feeder,
        data: PageData::Encoded(Encoding::Png),
        dpi: (100, 100),
    };
    let (app, session) = app_callback(Box::new(rec), template, CancelHandle::new());
    // SAFETY: live interfaces for the call.
    unsafe { filter.InitializeFilter(&feeder, &app) }.expect("InitializeFilter");

    let sheets = [text_page(6.0, 61), blank_page(62), text_page(-2.5, 63)];
    let (name, full) = (BSTR::from("Feeder"), BSTR::from("0000\\Root\\Feeder"));
    for sheet in &sheets {
        let bytes = png(sheet);
        let (hr, stream) = raw::app_get_next_stream(&as_cb, 0, &name, &full);
        assert_eq!(hr, wia::S_OK);
        let stream = stream.expect("a stream to write the page into");
        write_all(&stream, &bytes[..bytes.len() / 2]);
        let st = WiaTransferParams::status(50, (bytes.len() / 2) as u64);
        assert_eq!(raw::transfer_callback(&as_cb, 0, Some(&st)), wia::S_OK);
        write_all(&stream, &bytes[bytes.len() / 2..]);
        assert_eq!(
            raw::release(stream),
            0,
            "the driver held the only reference"
        );
        let hr = raw::transfer_callback(&as_cb, 0, Some(&eos(bytes.len() as u64, wia::S_OK)));
        assert_eq!(hr, wia::S_OK);
    }
    let eot = WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_TRANSFER, 100, 0, wia::S_OK);
    assert_eq!(raw::transfer_callback(&as_cb, 0, Some(&eot)), wia::S_OK);
    assert!(session.is_ended());

    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(
        rec.pages.len(),
        2,
        "the blank sheet never reached the application"
    );
    for (page, (sheet, skew)) in rec
        .pages
        .iter()
        .zip([(&sheets[0], 6.0), (&sheets[2], -2.5)])
    {
        let img = decode_page(&page.data, PageFormat::Png, (1, 1)).unwrap();
        assert_eq!(
            (img.width, img.height),
            (sheet.height, sheet.width),
            "turned 90°"
        );
        let residual = detect_skew(&img).unwrap().angle_deg;
        // Turned a quarter, the text lines run vertically: straighten back to measure.
        let upright =
            scanwire_imaging::rotate(&img, scanwire_imaging::QuarterTurns::Ccw270).unwrap();
        let residual_upright = detect_skew(&upright).unwrap().angle_deg;
        assert!(
            residual_upright.abs() < 0.2,
            "residual {residual_upright} (raw {residual}) after {skew}"
        );
    }

    // ApplyProperties writes what auto deskew found back to the item.
    let storage: IWiaPropertyStorage = feeder.cast().unwrap();
    // SAFETY: a live storage for the call.
    unsafe { filter.ApplyProperties(&storage) }.expect("ApplyProperties");
    let (dx, dy) = (
        state.long(WIA_IPS_DESKEW_X).unwrap(),
        state.long(WIA_IPS_DESKEW_Y).unwrap(),
    );
    assert!(dx > 0 && dy > 0, "DESKEW_X/Y written: {dx}, {dy}");
    let found = scanwire_imaging::angle_from_deskew_xy(dx as u32, dy as u32);
    assert!((found + 2.5).abs() < 0.3, "the last page's angle, {found}");

    drop(storage);
    drop(as_cb);
    assert_eq!(
        raw::release(filter),
        0,
        "the filter is destroyed with its last reference"
    );
    drop(app);
    assert_eq!(raw::release(feeder), 0, "the filter let go of the item");
}

#[test]
fn the_image_filter_passes_untouched_pages_and_cancels_through_raw() {
    let filter: IWiaImageFilter = create(CLSID_SCANWIRE_IMAGE_FILTER);
    let as_cb: IWiaTransferCallback = filter.cast().unwrap();
    let (flatbed, _) = item(
        WIA_CATEGORY_FLATBED,
        "Flatbed",
        "0000\\Root\\Flatbed",
        &[(WIA_IPA_FORMAT, Val::Guid(WIA_IMG_FMT_PNG))],
    );
    let (rec, log) = Recorder::scripted(scanwire_core::transfer::Script {
        cancel_at_status: Some(1),
        ..Default::default()
    });
    let template = PageTemplate {
        source: Source::Flatbed,
        data: PageData::Encoded(Encoding::Png),
        dpi: (100, 100),
    };
    let (app, _session) = app_callback(Box::new(rec), template, CancelHandle::new());
    // SAFETY: live interfaces.
    unsafe { filter.InitializeFilter(&flatbed, &app) }.unwrap();
    let (name, full) = (BSTR::from("Flatbed"), BSTR::from("0000\\Root\\Flatbed"));
    let (hr, stream) = raw::app_get_next_stream(&as_cb, 0, &name, &full);
    assert_eq!(hr, wia::S_OK);
    let stream = stream.unwrap();
    write_all(&stream, b"\x89PNG untouched");
    // The application cancels at its first STATUS: S_FALSE reaches the driver raw...
    let st = WiaTransferParams::status(40, 14);
    assert_eq!(raw::transfer_callback(&as_cb, 0, Some(&st)), wia::S_FALSE);
    raw::release(stream);
    // ...and stays: no new stream.
    let (hr, stream) = raw::app_get_next_stream(&as_cb, 0, &name, &full);
    assert_eq!((hr, stream.is_none()), (wia::S_FALSE, true));
    let eot = WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_TRANSFER, 40, 0, wia::S_FALSE);
    raw::transfer_callback(&as_cb, 0, Some(&eot));
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(
        rec.pages[0].data, b"\x89PNG untouched",
        "nothing to do: the bytes as written"
    );
    // A null params pointer is E_POINTER; a storage item is not filtered.
    assert_eq!(raw::transfer_callback(&as_cb, 0, None), wia::E_POINTER);
    let (root, _) = item(WIA_CATEGORY_ROOT, "Root", "0000\\Root", &[]);
    // SAFETY: live interfaces.
    let e = unsafe { filter.InitializeFilter(&root, &app) }.unwrap_err();
    assert_eq!(e.code(), E_NOTIMPL);
}

#[test]
fn a_bad_property_fails_getnextstream_with_e_invalidarg() {
    let filter: IWiaImageFilter = create(CLSID_SCANWIRE_IMAGE_FILTER);
    let as_cb: IWiaTransferCallback = filter.cast().unwrap();
    let (feeder, _) = item(
        WIA_CATEGORY_FEEDER,
        "Feeder",
        "F",
        &[
            (WIA_IPA_FORMAT, Val::Guid(WIA_IMG_FMT_PNG)),
            (WIA_IPS_ROTATION, Val::I4(7)),
        ],
    );
    let (rec, _log) = Recorder::new();
    let template = PageTemplate {
        source: Source::Feeder,
        data: PageData::Encoded(Encoding::Png),
        dpi: (100, 100),
    };
    let (app, _s) = app_callback(Box::new(rec), template, CancelHandle::new());
    // SAFETY: live interfaces.
    unsafe { filter.InitializeFilter(&feeder, &app) }.unwrap();
    let (hr, stream) = raw::app_get_next_stream(&as_cb, 0, &BSTR::from("Feeder"), &BSTR::from("F"));
    assert_eq!((hr, stream.is_none()), (wia::E_INVALIDARG, true));
}

// ---------------------------------------------------------------------------------------------
// the segmentation filter

#[test]
fn detect_regions_creates_a_child_item_per_photo_at_its_place() {
    let seg: IWiaSegmentationFilter = create(CLSID_SCANWIRE_SEGMENTATION_FILTER);
    for (seed, count) in [(71u64, 3usize), (72, 5)] {
        let truth = synth::photos(&PhotosSpec::on_a4(100, count, seed));
        let img = &truth.image;
        let (flatbed, state) = item(
            WIA_CATEGORY_FLATBED,
            "Flatbed",
            "0000\\Root\\Flatbed",
            &[
                (WIA_IPA_FORMAT, Val::Guid(WIA_IMG_FMT_PNG)),
                (WIA_IPS_XRES, Val::I4(100)),
                (WIA_IPS_YRES, Val::I4(100)),
                (WIA_IPS_XPOS, Val::I4(0)),
                (WIA_IPS_YPOS, Val::I4(0)),
                (WIA_IPS_XEXTENT, Val::I4(img.width as i32)),
                (WIA_IPS_YEXTENT, Val::I4(img.height as i32)),
                (WIA_IPS_DESKEW_X, Val::I4(0)),
                (WIA_IPS_DESKEW_Y, Val::I4(0)),
            ],
        );
        // The preview as an application holds it: a memory stream, positioned at its end.
        // SAFETY: a new stream on a fresh HGLOBAL, freed with the stream.
        let preview = unsafe { CreateStreamOnHGlobal(HGLOBAL::default(), true) }.unwrap();
        write_all(&preview, &png(img));
        // SAFETY: live stream.
        unsafe { preview.Seek(0, STREAM_SEEK_END, None) }.unwrap();
        // SAFETY: live interfaces for the call.
        unsafe { seg.DetectRegions(0, &preview, &flatbed) }.expect("DetectRegions");

        let children = state.children.lock().unwrap();
        assert_eq!(children.len(), count, "seed {seed}: one child per photo");
        for t in &truth.photos {
            let b = t.bounding_rect(img.width, img.height);
            let (dx, dy) = t.deskew_xy();
            let matching = children.iter().find(|(c, _)| {
                let near = |id, want: u32| (c.long(id).unwrap() - want as i32).abs() <= 3;
                near(WIA_IPS_XPOS, b.x)
                    && near(WIA_IPS_YPOS, b.y)
                    && near(WIA_IPS_XEXTENT, b.width)
                    && near(WIA_IPS_YEXTENT, b.height)
                    && (c.long(WIA_IPS_DESKEW_X).unwrap() - dx as i32).abs() <= 4
                    && (c.long(WIA_IPS_DESKEW_Y).unwrap() - dy as i32).abs() <= 4
            });
            assert!(
                matching.is_some(),
                "seed {seed}: no child for {t:?} ({b:?}, {dx}, {dy})"
            );
        }
        // Children copied the parent's format and resolution, and are named by number.
        let (first, _) = &children[0];
        assert_eq!(first.long(WIA_IPS_XRES), Some(100));
        assert_eq!(first.full_name(), "0000\\Root\\Flatbed\\Region 1");
    }
    // Bad arguments.
    // SAFETY: null interfaces are what is being tested.
    let e = unsafe { seg.DetectRegions(0, None::<&IStream>, None::<&IWiaItem2>) }.unwrap_err();
    assert_eq!(e.code().0 as u32, wia::E_INVALIDARG.as_u32());
}

#[test]
fn class_objects_exist_for_the_two_filters_only() {
    let mut ppv: *mut c_void = std::ptr::null_mut();
    let other = GUID::from_u128(0x1234);
    // SAFETY: valid pointers for the call.
    let hr = unsafe { dll_get_class_object(&other, &IClassFactory::IID, &mut ppv) };
    assert_eq!((hr, ppv.is_null()), (CLASS_E_CLASSNOTAVAILABLE, true));
    // SAFETY: valid pointers.
    let hr = unsafe {
        dll_get_class_object(&CLSID_SCANWIRE_IMAGE_FILTER, &IClassFactory::IID, &mut ppv)
    };
    assert_eq!(hr.0, 0);
    // SAFETY: S_OK hands out an AddRef'd IClassFactory.
    let factory = unsafe { IClassFactory::from_raw(ppv) };
    let outer: IUnknown = create::<IWiaSegmentationFilter>(CLSID_SCANWIRE_SEGMENTATION_FILTER)
        .cast()
        .unwrap();
    // SAFETY: a live class object and outer object.
    let e = unsafe { factory.CreateInstance::<_, IWiaImageFilter>(&outer) }.unwrap_err();
    assert_eq!(e.code(), CLASS_E_NOAGGREGATION);
    assert_eq!(raw::release(factory), 0);
}

/// The WIA Preview Component's call: a child item's area cut out of the cached preview and
/// filtered as its download would be, into the application's stream.
#[test]
fn filter_preview_image_cuts_out_the_child_and_straightens_it() {
    let truth = synth::photos(&PhotosSpec::on_a4(100, 2, 81));
    let img = &truth.image;
    let photo = truth
        .photos
        .iter()
        .find(|p| p.angle_deg.abs() > 2.0)
        .expect("a turned photo");
    let b = photo.bounding_rect(img.width, img.height);
    let (dx, dy) = photo.deskew_xy();
    let (flatbed, _) = item(
        WIA_CATEGORY_FLATBED,
        "Flatbed",
        "0000\\Root\\Flatbed",
        &[(WIA_IPA_FORMAT, Val::Guid(WIA_IMG_FMT_PNG))],
    );
    // The child sits 50 px right and 40 px down of where the cached preview starts.
    let (child, _) = item(
        WIA_CATEGORY_FLATBED,
        "Region 1",
        "0000\\Root\\Flatbed\\Region 1",
        &[
            (WIA_IPA_FORMAT, Val::Guid(WIA_IMG_FMT_PNG)),
            (WIA_IPS_XRES, Val::I4(100)),
            (WIA_IPS_YRES, Val::I4(100)),
            (WIA_IPS_XPOS, Val::I4(b.x as i32 + 50)),
            (WIA_IPS_YPOS, Val::I4(b.y as i32 + 40)),
            (WIA_IPS_XEXTENT, Val::I4(b.width as i32)),
            (WIA_IPS_YEXTENT, Val::I4(b.height as i32)),
            (WIA_IPS_DESKEW_X, Val::I4(dx as i32)),
            (WIA_IPS_DESKEW_Y, Val::I4(dy as i32)),
        ],
    );
    let filter: IWiaImageFilter = create(CLSID_SCANWIRE_IMAGE_FILTER);
    let (rec, log) = Recorder::new();
    let template = PageTemplate {
        source: Source::Flatbed,
        data: PageData::Encoded(Encoding::Png),
        dpi: (100, 100),
    };
    let (app, session) = app_callback(Box::new(rec), template, CancelHandle::new());
    // SAFETY: live interfaces.
    unsafe { filter.InitializeFilter(&flatbed, &app) }.unwrap();
    // SAFETY: a new stream on a fresh HGLOBAL, freed with the stream.
    let cached = unsafe { CreateStreamOnHGlobal(HGLOBAL::default(), true) }.unwrap();
    write_all(&cached, &png(img));
    let extents = windows::Win32::Foundation::RECT {
        left: 50,
        top: 40,
        right: 50 + img.width as i32,
        bottom: 40 + img.height as i32,
    };
    // SAFETY: live interfaces; the RECT is passed by value.
    unsafe { filter.FilterPreviewImage(0, &child, extents, &cached) }.expect("FilterPreviewImage");
    session.end(wia::S_OK);
    let rec = log.snapshot();
    assert_eq!(rec.pages.len(), 1);
    let out = decode_page(&rec.pages[0].data, PageFormat::Png, (1, 1)).unwrap();
    assert!(
        (out.width as f64 - photo.size.0).abs() <= 4.0
            && (out.height as f64 - photo.size.1).abs() <= 4.0,
        "the straight photo: {}x{} for {photo:?}",
        out.width,
        out.height
    );
    // Extents that are no rectangle are refused.
    let bad = windows::Win32::Foundation::RECT {
        left: 10,
        top: 0,
        right: 10,
        bottom: 5,
    };
    // SAFETY: as above.
    let e = unsafe { filter.FilterPreviewImage(0, &child, bad, &cached) }.unwrap_err();
    assert_eq!(e.code().0 as u32, wia::E_INVALIDARG.as_u32());
}
