//! libsane, loaded at run time: the only `unsafe` code of the SANE driver.
//!
//! Nothing here needs SANE headers or a SANE library at build time: the types below mirror
//! `sane.h` (SANE standard 1.0, which every libsane.so.1 implements), and the functions are
//! looked up with `libloading` when SANE is first used. Every call copies what it needs out of
//! C memory before returning, so the rest of the crate sees only owned Rust values.
//!
//! Threading, as the SANE standard allows it:
//! - `sane_init` runs once per process; `sane_exit` at most once ([`shutdown`]).
//! - `sane_get_devices`, `sane_open` and `sane_close` touch global backend state, so they are
//!   serialised by one lock.
//! - A [`Handle`] is `!Send`: it is opened, used and closed on its own thread (the worker).
//! - The one exception is `sane_cancel`, which the standard allows from any thread while
//!   another call on the handle blocks; [`Canceller`] is the `Send + Sync` way to reach it.
//!
//! Before each libsane call a breadcrumb names it (`scanwire_core::native::call`), so a driver
//! host whose backend crashes reports `driver crashed: SIGSEGV in sane_start`; in a process
//! without a host it is one atomic load.

use crate::errors::{SaneError, Status};
use libloading::Library;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

type Word = c_int;
type RawStatus = c_int;
type RawHandle = *mut c_void;

/// `SANE_Device`.
#[repr(C)]
struct RawDevice {
    name: *const c_char,
    vendor: *const c_char,
    model: *const c_char,
    kind: *const c_char,
}

/// `SANE_Range`.
#[repr(C)]
struct RawRange {
    min: Word,
    max: Word,
    quant: Word,
}

/// `SANE_Option_Descriptor` (the constraint union is one pointer).
#[repr(C)]
struct RawOptionDescriptor {
    name: *const c_char,
    title: *const c_char,
    desc: *const c_char,
    value_type: c_int,
    unit: c_int,
    size: Word,
    cap: Word,
    constraint_type: c_int,
    constraint: *const c_void,
}

/// `SANE_Parameters`.
#[repr(C)]
#[derive(Default)]
struct RawParameters {
    format: c_int,
    last_frame: Word,
    bytes_per_line: Word,
    pixels_per_line: Word,
    lines: Word,
    depth: Word,
}

type AuthCallback = Option<unsafe extern "C" fn(*const c_char, *mut c_char, *mut c_char)>;

/// The SANE entry points, copied out of the library once.
struct Api {
    init: unsafe extern "C" fn(*mut Word, AuthCallback) -> RawStatus,
    exit: unsafe extern "C" fn(),
    get_devices: unsafe extern "C" fn(*mut *const *const RawDevice, Word) -> RawStatus,
    open: unsafe extern "C" fn(*const c_char, *mut RawHandle) -> RawStatus,
    close: unsafe extern "C" fn(RawHandle),
    get_option_descriptor: unsafe extern "C" fn(RawHandle, Word) -> *const RawOptionDescriptor,
    control_option:
        unsafe extern "C" fn(RawHandle, Word, c_int, *mut c_void, *mut Word) -> RawStatus,
    get_parameters: unsafe extern "C" fn(RawHandle, *mut RawParameters) -> RawStatus,
    start: unsafe extern "C" fn(RawHandle) -> RawStatus,
    read: unsafe extern "C" fn(RawHandle, *mut u8, Word, *mut Word) -> RawStatus,
    cancel: unsafe extern "C" fn(RawHandle),
}

const ACTION_GET_VALUE: c_int = 0;
const ACTION_SET_VALUE: c_int = 1;
const ACTION_SET_AUTO: c_int = 2;

/// `SANE_CAP_SOFT_SELECT`: settable by software.
pub(crate) const CAP_SOFT_SELECT: i32 = 1 << 0;
/// `SANE_CAP_SOFT_DETECT`: readable by software.
pub(crate) const CAP_SOFT_DETECT: i32 = 1 << 2;
/// `SANE_CAP_EMULATED`.
pub(crate) const CAP_EMULATED: i32 = 1 << 3;
/// `SANE_CAP_AUTOMATIC`: the backend can pick the value itself.
pub(crate) const CAP_AUTOMATIC: i32 = 1 << 4;
/// `SANE_CAP_INACTIVE`: not in effect with the current settings.
pub(crate) const CAP_INACTIVE: i32 = 1 << 5;
/// `SANE_CAP_ADVANCED`.
pub(crate) const CAP_ADVANCED: i32 = 1 << 6;

/// Guards against a backend handing out nonsense: no SANE list or option value is anywhere
/// near these sizes, and copying stops there instead of walking off into memory.
const MAX_LIST: usize = 1 << 16;
const MAX_VALUE_BYTES: usize = 4 << 20;
/// Extra zeroed space after every value buffer, for backends that write a little past `size`.
const SLACK_WORDS: usize = 4;

/// A C status: `Ok` for SANE_STATUS_GOOD, the status otherwise.
fn check(raw: RawStatus) -> Result<(), Status> {
    match Status::from_raw(raw) {
        Status::Good => Ok(()),
        s => Err(s),
    }
}

/// `SANE_Value_Type`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `SANE_TYPE_BOOL`.
    Bool,
    /// `SANE_TYPE_INT`.
    Int,
    /// `SANE_TYPE_FIXED` (16.16 fixed point).
    Fixed,
    /// `SANE_TYPE_STRING`.
    String,
    /// `SANE_TYPE_BUTTON`.
    Button,
    /// `SANE_TYPE_GROUP`.
    Group,
    /// Not in the standard.
    Other(i32),
}

/// `SANE_Unit`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// `SANE_UNIT_NONE`.
    None,
    /// `SANE_UNIT_PIXEL`.
    Pixel,
    /// `SANE_UNIT_BIT`.
    Bit,
    /// `SANE_UNIT_MM`.
    Mm,
    /// `SANE_UNIT_DPI`.
    Dpi,
    /// `SANE_UNIT_PERCENT`.
    Percent,
    /// `SANE_UNIT_MICROSECOND`.
    Microsecond,
    /// Not in the standard.
    Other(i32),
}

/// An option's constraint, copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// `SANE_CONSTRAINT_NONE`.
    None,
    /// `SANE_CONSTRAINT_RANGE`, in the option's word type (int or fixed).
    Range {
        /// Smallest value.
        min: i32,
        /// Largest value.
        max: i32,
        /// Step (0 = any).
        quant: i32,
    },
    /// `SANE_CONSTRAINT_WORD_LIST`.
    WordList(Vec<i32>),
    /// `SANE_CONSTRAINT_STRING_LIST`.
    StringList(Vec<String>),
    /// A constraint type the standard does not define, or a missing constraint pointer.
    Unknown(i32),
}

/// `SANE_Option_Descriptor`, copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionDescriptor {
    /// Command-line name (empty for option 0 and groups).
    pub name: String,
    /// One-line title.
    pub title: String,
    /// Longer description.
    pub desc: String,
    /// Value type.
    pub kind: ValueType,
    /// Physical unit.
    pub unit: Unit,
    /// Value size in bytes (words × 4 for arrays; buffer size for strings).
    pub size: i32,
    /// `SANE_CAP_*` bits.
    pub cap: i32,
    /// Allowed values.
    pub constraint: Constraint,
}

impl OptionDescriptor {
    /// Whether the option is in effect with the current settings.
    pub fn is_active(&self) -> bool {
        self.cap & CAP_INACTIVE == 0
    }

    /// Whether software may set it.
    pub fn is_settable(&self) -> bool {
        self.cap & CAP_SOFT_SELECT != 0
    }

    /// Number of words of a bool/int/fixed value (1 for scalars).
    pub fn words(&self) -> usize {
        value_bytes(self.size)
            .map(|b| b.div_ceil(4).max(1))
            .unwrap_or(1)
    }
}

/// An option value as SANE stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// Bool, int or fixed words (one per array element).
    Words(Vec<i32>),
    /// A string.
    Text(String),
    /// Buttons and groups have no value.
    Nothing,
}

/// `SANE_Frame`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `SANE_FRAME_GRAY`.
    Gray,
    /// `SANE_FRAME_RGB`: interleaved.
    Rgb,
    /// `SANE_FRAME_RED`: one pass of a three-pass scan.
    Red,
    /// `SANE_FRAME_GREEN`.
    Green,
    /// `SANE_FRAME_BLUE`.
    Blue,
    /// Anything else (JPEG, IR, … frames of the never-adopted SANE 2 drafts).
    Other(i32),
}

/// `SANE_Parameters`, copied.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Parameters {
    /// What the frame holds.
    pub format: Frame,
    /// Whether this is the last frame of the image.
    pub last_frame: bool,
    /// Bytes per scan line, including padding.
    pub bytes_per_line: i32,
    /// Pixels per line.
    pub pixels_per_line: i32,
    /// Lines, or -1 when unknown (hand scanners).
    pub lines: i32,
    /// Bits per sample.
    pub depth: i32,
}

/// One entry of `sane_get_devices`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceEntry {
    /// The SANE device name (`test:0`).
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// Type (`flatbed scanner`, `virtual device`).
    pub kind: String,
}

/// The loaded library, initialised. Leaked on purpose: libsane is never unloaded (backends
/// leave threads and atexit handlers behind), so `&'static Sane` is always valid.
pub(crate) struct Sane {
    _lib: Library,
    api: Api,
    version: i32,
    path: PathBuf,
    /// Serialises the calls that touch global backend state; `false` once `sane_exit` ran.
    global: Mutex<bool>,
    open_handles: AtomicUsize,
}

struct Global {
    sane: Option<&'static Sane>,
    config_dir: Option<PathBuf>,
    shut_down: bool,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    sane: None,
    config_dir: None,
    shut_down: false,
});

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The library names tried when no path is given.
pub(crate) fn default_library_names() -> &'static [&'static str] {
    if cfg!(target_os = "macos") {
        &["libsane.1.dylib", "libsane.dylib"]
    } else {
        &["libsane.so.1", "libsane.so"]
    }
}

/// Loads and initialises libsane once per process.
///
/// `config_dir` becomes `SANE_CONFIG_DIR` before `sane_init` (backends read it when they
/// initialise); asking for another directory after initialisation is an error, as is any use
/// after [`shutdown`].
pub(crate) fn sane(
    config_dir: Option<&Path>,
    library: Option<&Path>,
) -> Result<&'static Sane, SaneError> {
    let mut g = lock(&GLOBAL);
    if g.shut_down {
        return Err(SaneError::ShutDown);
    }
    if let Some(s) = g.sane {
        if let Some(dir) = config_dir {
            if g.config_dir.as_deref() != Some(dir) {
                return Err(SaneError::ConfigMismatch {
                    current: g.config_dir.clone(),
                    requested: dir.to_path_buf(),
                });
            }
        }
        return Ok(s);
    }
    let (lib, path) = load_library(library)?;
    let api = resolve(&lib, &path)?;
    if let Some(dir) = config_dir {
        // Backends read SANE_CONFIG_DIR with getenv() when they initialise, so it must be in
        // the environment, and stay there. This runs once, before any SANE thread exists.
        std::env::set_var("SANE_CONFIG_DIR", dir);
    }
    let mut version: Word = 0;
    scanwire_core::native::call("sane_init");
    // SAFETY: `init` has sane_init's prototype (sane.h); it runs once per process because
    // GLOBAL is locked and `g.sane` is None; the out-pointer is valid and a NULL auth
    // callback is allowed by the standard.
    let status = unsafe { (api.init)(&mut version, None) };
    check(status).map_err(|s| SaneError::Init {
        library: path.clone(),
        status: s,
    })?;
    let sane: &'static Sane = Box::leak(Box::new(Sane {
        _lib: lib,
        api,
        version,
        path,
        global: Mutex::new(true),
        open_handles: AtomicUsize::new(0),
    }));
    g.sane = Some(sane);
    g.config_dir = config_dir.map(Path::to_path_buf);
    Ok(sane)
}

/// Calls `sane_exit` if SANE was initialised and no handle is open. SANE cannot be used again
/// in this process afterwards. Returns whether `sane_exit` ran.
pub(crate) fn shutdown() -> Result<bool, SaneError> {
    let mut g = lock(&GLOBAL);
    let Some(sane) = g.sane else {
        g.shut_down = true;
        return Ok(false);
    };
    let mut alive = lock(&sane.global);
    let open = sane.open_handles.load(Ordering::SeqCst);
    if open > 0 {
        return Err(SaneError::StillOpen(open));
    }
    scanwire_core::native::call("sane_exit");
    // SAFETY: sane_init succeeded, no handle is open, and `alive = false` (set under the same
    // lock every other global call takes) keeps any later call from reaching the library.
    unsafe { (sane.api.exit)() };
    *alive = false;
    g.sane = None;
    g.shut_down = true;
    Ok(true)
}

fn load_library(library: Option<&Path>) -> Result<(Library, PathBuf), SaneError> {
    let candidates: Vec<PathBuf> = match library {
        Some(p) => vec![p.to_path_buf()],
        None => default_library_names().iter().map(PathBuf::from).collect(),
    };
    let mut reasons = Vec::new();
    for c in &candidates {
        // SAFETY: loading libsane runs its ELF constructors, which have no preconditions; the
        // library stays loaded for the rest of the process (see `Sane`).
        match unsafe { Library::new(c) } {
            Ok(lib) => return Ok((lib, c.clone())),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(SaneError::Missing {
        tried: candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        reason: reasons.join("; "),
    })
}

fn resolve(lib: &Library, path: &Path) -> Result<Api, SaneError> {
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: the symbol is declared in sane.h with exactly the function type of the
            // `Api` field it is stored in, and the pointer is only called while `lib` is
            // loaded: `Sane` owns both and is never dropped.
            let s = unsafe { lib.get(concat!($name, "\0").as_bytes()) }.map_err(|e| {
                SaneError::Symbol {
                    library: path.to_path_buf(),
                    symbol: $name,
                    reason: e.to_string(),
                }
            })?;
            *s
        }};
    }
    Ok(Api {
        init: sym!("sane_init"),
        exit: sym!("sane_exit"),
        get_devices: sym!("sane_get_devices"),
        open: sym!("sane_open"),
        close: sym!("sane_close"),
        get_option_descriptor: sym!("sane_get_option_descriptor"),
        control_option: sym!("sane_control_option"),
        get_parameters: sym!("sane_get_parameters"),
        start: sym!("sane_start"),
        read: sym!("sane_read"),
        cancel: sym!("sane_cancel"),
    })
}

/// Copies a C string; NULL becomes "".
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid during the call.
unsafe fn string(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: non-null and NUL-terminated, per this function's contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn value_bytes(size: i32) -> Option<usize> {
    usize::try_from(size)
        .ok()
        .filter(|s| *s > 0 && *s <= MAX_VALUE_BYTES)
}

impl Sane {
    /// The path libsane was loaded from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The version code `sane_init` returned, as `major.minor.build`.
    pub(crate) fn version(&self) -> String {
        let v = self.version as u32;
        format!("{}.{}.{}", (v >> 24) & 0xff, (v >> 16) & 0xff, v & 0xffff)
    }

    fn global(&'static self) -> Result<MutexGuard<'static, bool>, SaneError> {
        let g = lock(&self.global);
        if *g {
            Ok(g)
        } else {
            Err(SaneError::ShutDown)
        }
    }

    /// `sane_get_devices` (all devices, not only local ones), copied.
    pub(crate) fn devices(&'static self) -> Result<Result<Vec<DeviceEntry>, Status>, SaneError> {
        let _g = self.global()?;
        let mut list: *const *const RawDevice = std::ptr::null();
        scanwire_core::native::call("sane_get_devices");
        // SAFETY: valid out-pointer; SANE is initialised (checked by `global`).
        let status = unsafe { (self.api.get_devices)(&mut list, 0) };
        if let Err(s) = check(status) {
            return Ok(Err(s));
        }
        let mut out = Vec::new();
        if list.is_null() {
            return Ok(Ok(out));
        }
        for i in 0..MAX_LIST {
            // SAFETY: `list` is a NULL-terminated array (sane.h); we stop at the NULL. It stays
            // valid until the next sane_get_devices or sane_exit, which the global lock holds
            // off while we copy.
            let entry = unsafe { *list.add(i) };
            if entry.is_null() {
                break;
            }
            // SAFETY: a non-null entry points to a SANE_Device whose strings are
            // NUL-terminated (or NULL), valid for the same span as the list.
            let d = unsafe { &*entry };
            // SAFETY: as above.
            let (name, vendor, model, kind) = unsafe {
                (
                    string(d.name),
                    string(d.vendor),
                    string(d.model),
                    string(d.kind),
                )
            };
            out.push(DeviceEntry {
                name,
                vendor,
                model,
                kind,
            });
        }
        Ok(Ok(out))
    }
}

/// `sane_cancel` from any thread, valid only while the handle is open.
pub(crate) struct Canceller {
    sane: &'static Sane,
    raw: Mutex<Option<SendHandle>>,
}

struct SendHandle(RawHandle);

// SAFETY: a SANE handle is an opaque token owned by libsane. The only use of this copy on
// another thread is `sane_cancel`, which the SANE standard (4.3.9) allows asynchronously,
// and only while the handle is open: `Handle::drop` clears it under the same mutex before
// `sane_close`.
unsafe impl Send for SendHandle {}

impl Canceller {
    /// Calls `sane_cancel` if the handle is still open.
    pub(crate) fn cancel(&self) {
        let g = lock(&self.raw);
        if let Some(h) = g.as_ref() {
            scanwire_core::native::call("sane_cancel");
            // SAFETY: the handle is open (it is cleared under this lock before sane_close),
            // and sane_cancel may be called from any thread while another call blocks.
            unsafe { (self.sane.api.cancel)(h.0) };
        }
    }
}

/// An open SANE device. `!Send`: every call happens on the thread that opened it.
pub(crate) struct Handle {
    sane: &'static Sane,
    raw: RawHandle,
    canceller: Arc<Canceller>,
}

impl Handle {
    /// `sane_open`.
    pub(crate) fn open(
        sane: &'static Sane,
        name: &str,
    ) -> Result<Result<Handle, Status>, SaneError> {
        let Ok(cname) = CString::new(name) else {
            return Ok(Err(Status::Inval));
        };
        let _g = sane.global()?;
        let mut raw: RawHandle = std::ptr::null_mut();
        scanwire_core::native::call("sane_open");
        // SAFETY: SANE is initialised; `cname` is NUL-terminated and outlives the call; `raw`
        // is a valid out-pointer.
        let status = unsafe { (sane.api.open)(cname.as_ptr(), &mut raw) };
        if let Err(s) = check(status) {
            return Ok(Err(s));
        }
        if raw.is_null() {
            return Ok(Err(Status::Inval));
        }
        sane.open_handles.fetch_add(1, Ordering::SeqCst);
        Ok(Ok(Handle {
            sane,
            raw,
            canceller: Arc::new(Canceller {
                sane,
                raw: Mutex::new(Some(SendHandle(raw))),
            }),
        }))
    }

    /// The thread-safe way to `sane_cancel` this handle.
    pub(crate) fn canceller(&self) -> Arc<Canceller> {
        self.canceller.clone()
    }

    /// `sane_get_option_descriptor`, copied; `None` when the backend returns NULL.
    pub(crate) fn descriptor(&mut self, index: i32) -> Option<OptionDescriptor> {
        scanwire_core::native::call("sane_get_option_descriptor");
        // SAFETY: the handle is open (owned by `self`).
        let p = unsafe { (self.sane.api.get_option_descriptor)(self.raw, index) };
        if p.is_null() {
            return None;
        }
        // SAFETY: non-null: a SANE_Option_Descriptor valid until the next option change or
        // close, neither of which can happen while we copy (this thread owns the handle).
        let d = unsafe { &*p };
        // SAFETY: the descriptor's strings are NUL-terminated or NULL (sane.h).
        let (name, title, desc) = unsafe { (string(d.name), string(d.title), string(d.desc)) };
        let constraint = if d.constraint.is_null() && d.constraint_type != 0 {
            Constraint::Unknown(d.constraint_type)
        } else {
            match d.constraint_type {
                0 => Constraint::None,
                1 => {
                    // SAFETY: RANGE: the union holds a non-null `const SANE_Range *`.
                    let r = unsafe { &*(d.constraint as *const RawRange) };
                    Constraint::Range {
                        min: r.min,
                        max: r.max,
                        quant: r.quant,
                    }
                }
                2 => {
                    let w = d.constraint as *const Word;
                    // SAFETY: WORD_LIST: the first word is the number of words after it.
                    let n = unsafe { *w };
                    let n = usize::try_from(n).unwrap_or(0).min(MAX_LIST);
                    // SAFETY: the list holds `n` words after the count.
                    let words = unsafe { std::slice::from_raw_parts(w.add(1), n) };
                    Constraint::WordList(words.to_vec())
                }
                3 => {
                    let list = d.constraint as *const *const c_char;
                    let mut v = Vec::new();
                    for i in 0..MAX_LIST {
                        // SAFETY: STRING_LIST: a NULL-terminated array of C strings; we stop
                        // at the NULL.
                        let s = unsafe { *list.add(i) };
                        if s.is_null() {
                            break;
                        }
                        // SAFETY: each entry is a NUL-terminated string.
                        v.push(unsafe { string(s) });
                    }
                    Constraint::StringList(v)
                }
                other => Constraint::Unknown(other),
            }
        };
        Some(OptionDescriptor {
            name,
            title,
            desc,
            kind: match d.value_type {
                0 => ValueType::Bool,
                1 => ValueType::Int,
                2 => ValueType::Fixed,
                3 => ValueType::String,
                4 => ValueType::Button,
                5 => ValueType::Group,
                n => ValueType::Other(n),
            },
            unit: match d.unit {
                0 => Unit::None,
                1 => Unit::Pixel,
                2 => Unit::Bit,
                3 => Unit::Mm,
                4 => Unit::Dpi,
                5 => Unit::Percent,
                6 => Unit::Microsecond,
                n => Unit::Other(n),
            },
            size: d.size,
            cap: d.cap,
            constraint,
        })
    }

    /// The number of options (the value of option 0).
    pub(crate) fn option_count(&mut self) -> Result<i32, Status> {
        // Some backends (the test backend among them) refuse control_option on an option
        // whose descriptor was not fetched first.
        let _ = self.descriptor(0);
        let mut n: Word = 0;
        scanwire_core::native::call("sane_control_option");
        // SAFETY: option 0 is an int (SANE standard 4.5); `n` is a valid one-word buffer.
        let status = unsafe {
            (self.sane.api.control_option)(
                self.raw,
                0,
                ACTION_GET_VALUE,
                (&mut n as *mut Word).cast(),
                std::ptr::null_mut(),
            )
        };
        check(status)?;
        Ok(n)
    }

    /// Reads an option's value (`SANE_ACTION_GET_VALUE`).
    pub(crate) fn get(
        &mut self,
        index: i32,
        desc: &OptionDescriptor,
    ) -> Result<OptionValue, Status> {
        match desc.kind {
            ValueType::Bool | ValueType::Int | ValueType::Fixed => {
                let n = desc.words();
                let mut buf = vec![0 as Word; n + SLACK_WORDS];
                scanwire_core::native::call("sane_control_option");
                // SAFETY: the buffer holds `size` bytes (plus slack), as the standard requires
                // for a get of a word option; the handle is open.
                let status = unsafe {
                    (self.sane.api.control_option)(
                        self.raw,
                        index,
                        ACTION_GET_VALUE,
                        buf.as_mut_ptr().cast(),
                        std::ptr::null_mut(),
                    )
                };
                check(status)?;
                buf.truncate(n);
                Ok(OptionValue::Words(buf))
            }
            ValueType::String => {
                let Some(size) = value_bytes(desc.size) else {
                    return Err(Status::Inval);
                };
                let mut buf = vec![0u8; size + 4 * SLACK_WORDS];
                scanwire_core::native::call("sane_control_option");
                // SAFETY: the buffer holds `size` bytes (plus slack) as the standard requires
                // for a string get; the handle is open.
                let status = unsafe {
                    (self.sane.api.control_option)(
                        self.raw,
                        index,
                        ACTION_GET_VALUE,
                        buf.as_mut_ptr().cast(),
                        std::ptr::null_mut(),
                    )
                };
                check(status)?;
                let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
                Ok(OptionValue::Text(
                    String::from_utf8_lossy(&buf[..end]).into_owned(),
                ))
            }
            _ => Ok(OptionValue::Nothing),
        }
    }

    /// Sets an option (`SANE_ACTION_SET_VALUE`); returns the `SANE_INFO_*` bits.
    ///
    /// Word values must have exactly `desc.words()` elements; strings must fit `desc.size`
    /// with their NUL (the caller checks both; anything else is `INVAL` here).
    pub(crate) fn set(
        &mut self,
        index: i32,
        desc: &OptionDescriptor,
        value: &OptionValue,
    ) -> Result<i32, Status> {
        let mut info: Word = 0;
        let status = match value {
            OptionValue::Words(w) => {
                if w.len() != desc.words() {
                    return Err(Status::Inval);
                }
                let mut buf = w.clone();
                buf.resize(w.len() + SLACK_WORDS, 0);
                scanwire_core::native::call("sane_control_option");
                // SAFETY: a writable buffer of `size` bytes (plus slack): the backend may write
                // the rounded value back into it. The handle is open.
                unsafe {
                    (self.sane.api.control_option)(
                        self.raw,
                        index,
                        ACTION_SET_VALUE,
                        buf.as_mut_ptr().cast(),
                        &mut info,
                    )
                }
            }
            OptionValue::Text(s) => {
                let size = value_bytes(desc.size).ok_or(Status::Inval)?;
                if s.len() + 1 > size || s.as_bytes().contains(&0) {
                    return Err(Status::Inval);
                }
                let mut buf = vec![0u8; size + 4 * SLACK_WORDS];
                buf[..s.len()].copy_from_slice(s.as_bytes());
                scanwire_core::native::call("sane_control_option");
                // SAFETY: a NUL-terminated string in a writable buffer of `size` bytes (plus
                // slack). The handle is open.
                unsafe {
                    (self.sane.api.control_option)(
                        self.raw,
                        index,
                        ACTION_SET_VALUE,
                        buf.as_mut_ptr().cast(),
                        &mut info,
                    )
                }
            }
            OptionValue::Nothing => {
                // Buttons take no value, but some backends read one word anyway.
                let mut dummy = [0 as Word; SLACK_WORDS];
                scanwire_core::native::call("sane_control_option");
                // SAFETY: a valid writable buffer; the handle is open.
                unsafe {
                    (self.sane.api.control_option)(
                        self.raw,
                        index,
                        ACTION_SET_VALUE,
                        dummy.as_mut_ptr().cast(),
                        &mut info,
                    )
                }
            }
        };
        check(status)?;
        Ok(info)
    }

    /// `SANE_ACTION_SET_AUTO`; returns the `SANE_INFO_*` bits.
    pub(crate) fn set_auto(&mut self, index: i32, desc: &OptionDescriptor) -> Result<i32, Status> {
        let mut info: Word = 0;
        // The value is ignored for SET_AUTO, but pass a buffer of the option's size in case a
        // backend writes the chosen value into it.
        let bytes = value_bytes(desc.size).unwrap_or(4);
        let mut buf = vec![0 as Word; bytes.div_ceil(4) + SLACK_WORDS];
        scanwire_core::native::call("sane_control_option");
        // SAFETY: a writable buffer of at least `size` bytes; the handle is open.
        let status = unsafe {
            (self.sane.api.control_option)(
                self.raw,
                index,
                ACTION_SET_AUTO,
                buf.as_mut_ptr().cast(),
                &mut info,
            )
        };
        check(status)?;
        Ok(info)
    }

    /// `sane_get_parameters`.
    pub(crate) fn parameters(&mut self) -> Result<Parameters, Status> {
        let mut p = RawParameters::default();
        scanwire_core::native::call("sane_get_parameters");
        // SAFETY: valid out-pointer to a SANE_Parameters; the handle is open.
        let status = unsafe { (self.sane.api.get_parameters)(self.raw, &mut p) };
        check(status)?;
        Ok(Parameters {
            format: match p.format {
                0 => Frame::Gray,
                1 => Frame::Rgb,
                2 => Frame::Red,
                3 => Frame::Green,
                4 => Frame::Blue,
                n => Frame::Other(n),
            },
            last_frame: p.last_frame != 0,
            bytes_per_line: p.bytes_per_line,
            pixels_per_line: p.pixels_per_line,
            lines: p.lines,
            depth: p.depth,
        })
    }

    /// `sane_start`.
    pub(crate) fn start(&mut self) -> Result<(), Status> {
        scanwire_core::native::call("sane_start");
        // SAFETY: the handle is open.
        check(unsafe { (self.sane.api.start)(self.raw) })
    }

    /// `sane_read` into `buf`; `Err(Status::Eof)` at the end of the frame.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<usize, Status> {
        let max = buf.len().min(i32::MAX as usize) as Word;
        let mut len: Word = 0;
        scanwire_core::native::call("sane_read");
        // SAFETY: `buf` is writable for `max` bytes; `len` is a valid out-pointer; the handle
        // is open.
        let status = unsafe { (self.sane.api.read)(self.raw, buf.as_mut_ptr(), max, &mut len) };
        check(status)?;
        Ok(usize::try_from(len.clamp(0, max)).unwrap_or(0))
    }

    /// `sane_cancel`, from the owning thread.
    pub(crate) fn cancel(&mut self) {
        scanwire_core::native::call("sane_cancel");
        // SAFETY: the handle is open.
        unsafe { (self.sane.api.cancel)(self.raw) };
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // First make the handle unreachable for other threads' sane_cancel.
        lock(&self.canceller.raw).take();
        let g = lock(&self.sane.global);
        if *g {
            scanwire_core::native::call("sane_close");
            // SAFETY: the handle is open and no other thread can reach it any more; SANE is
            // still initialised (sane_exit refuses to run while handles are open).
            unsafe { (self.sane.api.close)(self.raw) };
        }
        drop(g);
        self.sane.open_handles.fetch_sub(1, Ordering::SeqCst);
    }
}
