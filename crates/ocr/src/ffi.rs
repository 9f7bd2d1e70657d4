//! libtesseract, loaded at run time: the only `unsafe` code of the OCR crate.
//!
//! Nothing here needs Tesseract's headers or library at build time: the few functions of
//! `tesseract/capi.h` (Tesseract 5) that recognition needs are looked up with `libloading` when
//! an engine is first created. Every call copies what it needs out of C memory and frees what
//! Tesseract allocated before returning, so the rest of the crate sees only owned Rust values.
//!
//! Threading: a `TessBaseAPI` is used by one thread at a time ([`RawEngine`] is `!Send`: it is
//! created, used and ended on its worker thread). Different engines on different threads are
//! independent, which is how Tesseract is meant to run pages in parallel.

use crate::error::OcrError;
use libloading::Library;
use std::ffi::{c_char, c_float, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU8;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

type TessBaseApi = c_void;
type TessResultIterator = c_void;
type TessPageIterator = c_void;
type EtextDesc = c_void;
type Bool = c_int;
type CancelFunc = Option<unsafe extern "C" fn(*mut c_void, c_int) -> bool>;
type ProgressFunc =
    Option<unsafe extern "C" fn(*mut EtextDesc, c_int, c_int, c_int, c_int) -> bool>;

/// `TessPageSegMode::PSM_OSD_ONLY`.
pub(crate) const PSM_OSD_ONLY: c_int = 0;
/// `TessPageSegMode::PSM_AUTO`: what the `tesseract` command line uses by default (the API's
/// own default is a single block, which reads columns wrongly).
pub(crate) const PSM_AUTO: c_int = 3;

/// `TessPageIteratorLevel`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum Level {
    Para = 1,
    TextLine = 2,
    Word = 3,
}

/// The entry points of `capi.h`, copied out of the library once.
struct Api {
    version: unsafe extern "C" fn() -> *const c_char,
    create: unsafe extern "C" fn() -> *mut TessBaseApi,
    delete: unsafe extern "C" fn(*mut TessBaseApi),
    init3: unsafe extern "C" fn(*mut TessBaseApi, *const c_char, *const c_char) -> c_int,
    set_variable: unsafe extern "C" fn(*mut TessBaseApi, *const c_char, *const c_char) -> Bool,
    end: unsafe extern "C" fn(*mut TessBaseApi),
    clear: unsafe extern "C" fn(*mut TessBaseApi),
    set_page_seg_mode: unsafe extern "C" fn(*mut TessBaseApi, c_int),
    set_image: unsafe extern "C" fn(*mut TessBaseApi, *const u8, c_int, c_int, c_int, c_int),
    set_source_resolution: unsafe extern "C" fn(*mut TessBaseApi, c_int),
    recognize: unsafe extern "C" fn(*mut TessBaseApi, *mut EtextDesc) -> c_int,
    get_iterator: unsafe extern "C" fn(*mut TessBaseApi) -> *mut TessResultIterator,
    available_languages: unsafe extern "C" fn(*const TessBaseApi) -> *mut *mut c_char,
    delete_text: unsafe extern "C" fn(*const c_char),
    delete_text_array: unsafe extern "C" fn(*mut *mut c_char),
    result_iterator_delete: unsafe extern "C" fn(*mut TessResultIterator),
    result_iterator_page_iterator:
        unsafe extern "C" fn(*mut TessResultIterator) -> *mut TessPageIterator,
    result_iterator_next: unsafe extern "C" fn(*mut TessResultIterator, c_int) -> Bool,
    result_iterator_text: unsafe extern "C" fn(*const TessResultIterator, c_int) -> *mut c_char,
    result_iterator_confidence: unsafe extern "C" fn(*const TessResultIterator, c_int) -> c_float,
    page_iterator_is_at_beginning_of: unsafe extern "C" fn(*const TessPageIterator, c_int) -> Bool,
    page_iterator_bounding_box: unsafe extern "C" fn(
        *const TessPageIterator,
        c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
    ) -> Bool,
    /// Absent from builds without the legacy engine (`DISABLED_LEGACY_ENGINE`).
    detect_orientation_script: Option<
        unsafe extern "C" fn(
            *mut TessBaseApi,
            *mut c_int,
            *mut c_float,
            *mut *const c_char,
            *mut c_float,
        ) -> Bool,
    >,
    /// The progress monitor (Tesseract ≥ 4.1); without it a page cannot be stopped midway.
    monitor: Option<MonitorApi>,
}

struct MonitorApi {
    create: unsafe extern "C" fn() -> *mut EtextDesc,
    delete: unsafe extern "C" fn(*mut EtextDesc),
    set_cancel_func: unsafe extern "C" fn(*mut EtextDesc, CancelFunc),
    set_cancel_this: unsafe extern "C" fn(*mut EtextDesc, *mut c_void),
    get_cancel_this: unsafe extern "C" fn(*mut EtextDesc) -> *mut c_void,
    set_progress_func: unsafe extern "C" fn(*mut EtextDesc, ProgressFunc),
    get_progress: unsafe extern "C" fn(*mut EtextDesc) -> c_int,
}

/// What Tesseract's monitor callbacks reach through `cancel_this`: the job's cancel flag, the
/// page's progress, and the monitor function that reads the progress.
struct MonitorCell<'a> {
    cancel: &'a AtomicBool,
    progress: &'a AtomicU8,
    get_progress: unsafe extern "C" fn(*mut EtextDesc) -> c_int,
}

/// `TessMonitorGetCancelThis`, for the progress callback, whose only argument is the monitor.
/// Set once, by the first library loaded with a monitor (every libtesseract 5 reads its own
/// ETEXT_DESC the same way).
static GET_CANCEL_THIS: OnceLock<unsafe extern "C" fn(*mut EtextDesc) -> *mut c_void> =
    OnceLock::new();

/// The loaded library. Leaked on purpose (never unloaded: Tesseract leaves OpenMP threads and
/// static destructors behind), so `&'static Tesseract` is always valid.
pub(crate) struct Tesseract {
    _lib: Library,
    api: Api,
    version: String,
    path: PathBuf,
    /// Whether its chatter already goes to /dev/null (see [`RawEngine::new`]).
    quiet: AtomicBool,
}

/// Held while an engine initialises, so that the one write of Tesseract's process-wide
/// `debug_file` parameter (read by every `tprintf`) cannot meet another Tesseract call: it
/// happens right after the library's first successful Init, before any engine recognises.
static INIT: Mutex<()> = Mutex::new(());

/// Where Tesseract's `tprintf` output goes once an engine is up (Tesseract itself turns it
/// into `nul` on Windows).
const DEBUG_FILE: &CStr = c"/dev/null";

/// Libraries loaded so far, by the path asked for (`None`: the default names).
static LOADED: Mutex<Vec<(Option<PathBuf>, &'static Tesseract)>> = Mutex::new(Vec::new());

/// The library names tried when no path is given.
pub(crate) fn default_library_names() -> &'static [&'static str] {
    if cfg!(target_os = "macos") {
        &["libtesseract.5.dylib", "libtesseract.dylib"]
    } else if cfg!(windows) {
        &["libtesseract-5.dll", "tesseract55.dll", "tesseract53.dll"]
    } else {
        &["libtesseract.so.5", "libtesseract.so"]
    }
}

/// Loads libtesseract once per process (per path asked for).
pub(crate) fn tesseract(library: Option<&Path>) -> Result<&'static Tesseract, OcrError> {
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    let key = library.map(Path::to_path_buf);
    if let Some((_, t)) = loaded.iter().find(|(k, _)| *k == key) {
        return Ok(t);
    }
    if loaded.is_empty() && std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        // libgomp reads this once, when libtesseract loads it. Scanwire runs one engine per
        // core; Tesseract's own OpenMP threads on top spin against each other and make a page
        // several times slower (BENCHMARKS.md). A value set by the user is kept.
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
    let (lib, path) = load_library(library)?;
    let api = resolve(&lib, &path)?;
    // SAFETY: TessVersion has no arguments and returns a static NUL-terminated string.
    let version = unsafe { string((api.version)()) };
    let t: &'static Tesseract = Box::leak(Box::new(Tesseract {
        _lib: lib,
        api,
        version,
        path,
        quiet: AtomicBool::new(false),
    }));
    loaded.push((key, t));
    Ok(t)
}

fn load_library(library: Option<&Path>) -> Result<(Library, PathBuf), OcrError> {
    let candidates: Vec<PathBuf> = match library {
        Some(p) => vec![p.to_path_buf()],
        None => default_library_names().iter().map(PathBuf::from).collect(),
    };
    let mut last = String::new();
    for c in &candidates {
        // SAFETY: loading libtesseract runs its initialisers (and libgomp's, libleptonica's),
        // which have no preconditions we could violate; nothing else is called yet.
        match unsafe { Library::new(c) } {
            Ok(lib) => return Ok((lib, c.clone())),
            Err(e) => last = e.to_string(),
        }
    }
    Err(OcrError::LibraryMissing {
        tried: candidates,
        reason: last,
    })
}

fn resolve(lib: &Library, path: &Path) -> Result<Api, OcrError> {
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: the symbol is declared in capi.h with exactly the function type of the
            // field it is assigned to (checked against Tesseract 5.3's header).
            match unsafe { lib.get(concat!($name, "\0").as_bytes()) } {
                Ok(s) => *s,
                Err(_) => {
                    return Err(OcrError::LibrarySymbol {
                        library: path.to_path_buf(),
                        symbol: $name,
                    })
                }
            }
        }};
    }
    macro_rules! optional {
        ($name:literal) => {{
            // SAFETY: as above; a missing symbol is None.
            unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                .ok()
                .map(|s| *s)
        }};
    }
    let monitor = (|| {
        Some(MonitorApi {
            create: optional!("TessMonitorCreate")?,
            delete: optional!("TessMonitorDelete")?,
            set_cancel_func: optional!("TessMonitorSetCancelFunc")?,
            set_cancel_this: optional!("TessMonitorSetCancelThis")?,
            get_cancel_this: optional!("TessMonitorGetCancelThis")?,
            set_progress_func: optional!("TessMonitorSetProgressFunc")?,
            get_progress: optional!("TessMonitorGetProgress")?,
        })
    })();
    if let Some(m) = &monitor {
        GET_CANCEL_THIS.get_or_init(|| m.get_cancel_this);
    }
    Ok(Api {
        version: sym!("TessVersion"),
        create: sym!("TessBaseAPICreate"),
        delete: sym!("TessBaseAPIDelete"),
        init3: sym!("TessBaseAPIInit3"),
        set_variable: sym!("TessBaseAPISetVariable"),
        end: sym!("TessBaseAPIEnd"),
        clear: sym!("TessBaseAPIClear"),
        set_page_seg_mode: sym!("TessBaseAPISetPageSegMode"),
        set_image: sym!("TessBaseAPISetImage"),
        set_source_resolution: sym!("TessBaseAPISetSourceResolution"),
        recognize: sym!("TessBaseAPIRecognize"),
        get_iterator: sym!("TessBaseAPIGetIterator"),
        available_languages: sym!("TessBaseAPIGetAvailableLanguagesAsVector"),
        delete_text: sym!("TessDeleteText"),
        delete_text_array: sym!("TessDeleteTextArray"),
        result_iterator_delete: sym!("TessResultIteratorDelete"),
        result_iterator_page_iterator: sym!("TessResultIteratorGetPageIterator"),
        result_iterator_next: sym!("TessResultIteratorNext"),
        result_iterator_text: sym!("TessResultIteratorGetUTF8Text"),
        result_iterator_confidence: sym!("TessResultIteratorConfidence"),
        page_iterator_is_at_beginning_of: sym!("TessPageIteratorIsAtBeginningOf"),
        page_iterator_bounding_box: sym!("TessPageIteratorBoundingBox"),
        detect_orientation_script: optional!("TessBaseAPIDetectOrientationScript"),
        monitor,
    })
}

/// Copies a C string (NULL is empty; invalid UTF-8 is replaced).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call.
unsafe fn string(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the caller's contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Tesseract {
    /// `TessVersion()` ("5.3.0").
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// The file that was loaded.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a page can be stopped while it is being recognised.
    pub(crate) fn can_cancel_midpage(&self) -> bool {
        self.api.monitor.is_some()
    }
}

/// What one word of the result iterator holds, copied.
pub(crate) struct RawWord {
    pub text: String,
    pub bbox: [i32; 4],
    pub confidence: f32,
    pub new_paragraph: bool,
    pub new_line: bool,
}

/// The orientation answer of `TessBaseAPIDetectOrientationScript`.
pub(crate) struct RawOrientation {
    pub degrees: i32,
    pub confidence: f32,
    pub script: String,
}

/// Why `recognize` returned without results.
pub(crate) enum RecognizeFailure {
    /// The cancel flag was seen by Tesseract's monitor.
    Cancelled,
    /// `TessBaseAPIRecognize` returned this non-zero value.
    Failed(i32),
}

/// One initialised `TessBaseAPI`. `!Send` (raw pointer): created, used and ended on one thread.
pub(crate) struct RawEngine {
    tess: &'static Tesseract,
    raw: *mut TessBaseApi,
}

impl RawEngine {
    /// `TessBaseAPICreate` + `TessBaseAPIInit3(datapath, languages)`; `Err(code)` when Init
    /// fails (Tesseract prints why on stderr, if it is the library's first engine).
    ///
    /// After the first successful Init, Tesseract's `tprintf` output ("Estimating resolution
    /// as N", "Warning: Invalid resolution", "Detected N diacritics": chatter printed for
    /// every page, in the middle of a progress bar) goes to /dev/null through the API's
    /// `debug_file` parameter: the process's stderr stays open for everything else, and the
    /// first Init's failure, the one real error Tesseract prints, still shows.
    pub(crate) fn new(
        tess: &'static Tesseract,
        datapath: &Path,
        languages: &str,
    ) -> Result<RawEngine, i32> {
        let Some(dp) = datapath.to_str().and_then(|s| CString::new(s).ok()) else {
            return Err(-1);
        };
        let Ok(langs) = CString::new(languages) else {
            return Err(-1);
        };
        // SAFETY: TessBaseAPICreate has no preconditions; it returns an owned handle.
        let raw = unsafe { (tess.api.create)() };
        if raw.is_null() {
            return Err(-1);
        }
        let _init = INIT.lock().unwrap_or_else(|p| p.into_inner());
        let engine = RawEngine { tess, raw };
        // SAFETY: `raw` is a fresh handle; both strings are NUL-terminated and outlive the call.
        let rc = unsafe { (tess.api.init3)(engine.raw, dp.as_ptr(), langs.as_ptr()) };
        if rc != 0 {
            return Err(rc); // `engine` drops (End + Delete) before the lock is released
        }
        if !tess.quiet.swap(true, Ordering::SeqCst) {
            // SAFETY: the handle is initialised; both strings are NUL-terminated statics. No
            // other Tesseract call runs: Inits hold `INIT`, and no engine of this library
            // was up before this one to recognise.
            unsafe {
                (tess.api.set_variable)(engine.raw, c"debug_file".as_ptr(), DEBUG_FILE.as_ptr())
            };
        }
        Ok(engine)
    }

    /// `TessBaseAPISetPageSegMode`.
    pub(crate) fn set_page_seg_mode(&mut self, psm: c_int) {
        // SAFETY: the handle is initialised and owned by this thread; psm is a capi.h value.
        unsafe { (self.tess.api.set_page_seg_mode)(self.raw, psm) };
    }

    /// `TessBaseAPIGetAvailableLanguagesAsVector`, copied and freed.
    pub(crate) fn available_languages(&self) -> Vec<String> {
        // SAFETY: the handle is initialised; the result is a NULL-terminated array of
        // NUL-terminated strings owned by us until TessDeleteTextArray.
        let arr = unsafe { (self.tess.api.available_languages)(self.raw) };
        let mut out = Vec::new();
        if arr.is_null() {
            return out;
        }
        for i in 0..4096 {
            // SAFETY: the array is NULL-terminated; we stop at the NULL.
            let s = unsafe { *arr.add(i) };
            if s.is_null() {
                break;
            }
            // SAFETY: each entry is a NUL-terminated string.
            out.push(unsafe { string(s) });
        }
        // SAFETY: `arr` came from GetAvailableLanguagesAsVector and is freed exactly once.
        unsafe { (self.tess.api.delete_text_array)(arr) };
        out
    }

    /// `TessBaseAPISetImage` (+ `SetSourceResolution`). `bytes_per_pixel` 0 is Tesseract's
    /// 1-bit form (MSB first, 1 = white). Tesseract copies the pixels (into a Leptonica Pix)
    /// before this returns.
    pub(crate) fn set_image(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        bytes_per_pixel: u32,
        bytes_per_line: usize,
        dpi: Option<u32>,
    ) {
        let min_bpl = if bytes_per_pixel == 0 {
            (width as usize).div_ceil(8)
        } else {
            width as usize * bytes_per_pixel as usize
        };
        assert!(
            width > 0
                && height > 0
                && bytes_per_line >= min_bpl
                && data.len() == bytes_per_line * height as usize
                && bytes_per_line <= c_int::MAX as usize,
            "set_image: the caller validates the page first"
        );
        // SAFETY: `data` holds `height` rows of `bytes_per_line` bytes, each holding `width`
        // pixels (asserted); the dimensions fit a C int (PageImage::validate); SetImage copies
        // the pixels before returning.
        unsafe {
            (self.tess.api.set_image)(
                self.raw,
                data.as_ptr(),
                width as c_int,
                height as c_int,
                bytes_per_pixel as c_int,
                bytes_per_line as c_int,
            )
        };
        if let Some(dpi) = dpi {
            // SAFETY: an image is set; any int is accepted (Tesseract checks plausibility).
            unsafe {
                (self.tess.api.set_source_resolution)(self.raw, dpi.min(i32::MAX as u32) as c_int)
            };
        }
    }

    /// `TessBaseAPIRecognize` with a monitor whose cancel callback reads `cancel` and whose
    /// progress callback stores Tesseract's percentage into `progress`.
    pub(crate) fn recognize(
        &mut self,
        cancel: &AtomicBool,
        progress: &AtomicU8,
    ) -> Result<(), RecognizeFailure> {
        let monitor = self.tess.api.monitor.as_ref();
        let mut desc: *mut EtextDesc = std::ptr::null_mut();
        let mut cell = monitor.map(|m| MonitorCell {
            cancel,
            progress,
            get_progress: m.get_progress,
        });
        if let (Some(m), Some(cell)) = (monitor, cell.as_mut()) {
            // SAFETY: TessMonitorCreate has no preconditions and returns an owned ETEXT_DESC.
            desc = unsafe { (m.create)() };
            if !desc.is_null() {
                // SAFETY: `desc` is valid; `cancel_this` points at `cell`, which lives on this
                // stack frame until after Recognize returns and the monitor is deleted below;
                // the callbacks only read it.
                unsafe {
                    (m.set_cancel_this)(desc, cell as *mut MonitorCell as *mut c_void);
                    (m.set_cancel_func)(desc, Some(cancel_callback));
                    (m.set_progress_func)(desc, Some(progress_callback));
                }
            }
        }
        // SAFETY: the handle is initialised and has an image; `desc` is NULL (allowed) or a
        // valid monitor that outlives the call.
        let rc = unsafe { (self.tess.api.recognize)(self.raw, desc) };
        if let (Some(m), false) = (monitor, desc.is_null()) {
            // SAFETY: created above, deleted once, no longer used by Tesseract.
            unsafe { (m.delete)(desc) };
        }
        // `cell` lives on to the end of this function, past the monitor's deletion.
        if cancel.load(Ordering::SeqCst) {
            return Err(RecognizeFailure::Cancelled);
        }
        if rc != 0 {
            return Err(RecognizeFailure::Failed(rc));
        }
        Ok(())
    }

    /// Walks the result iterator word by word, in Tesseract's reading order.
    pub(crate) fn words(&mut self) -> Vec<RawWord> {
        let api = &self.tess.api;
        // SAFETY: the handle is initialised and Recognize has run; the iterator is owned by
        // us until TessResultIteratorDelete.
        let it = unsafe { (api.get_iterator)(self.raw) };
        let mut out = Vec::new();
        if it.is_null() {
            return out;
        }
        let word = Level::Word as c_int;
        loop {
            // SAFETY: `it` is valid; the page iterator is the same object viewed as its base
            // class (not owned, not freed separately).
            let pit = unsafe { (api.result_iterator_page_iterator)(it) };
            // SAFETY: `it` is valid; the text is NULL or an owned string freed right below.
            let text_ptr = unsafe { (api.result_iterator_text)(it, word) };
            // SAFETY: NULL or NUL-terminated.
            let text = unsafe { string(text_ptr) };
            if !text_ptr.is_null() {
                // SAFETY: allocated by GetUTF8Text, freed exactly once.
                unsafe { (api.delete_text)(text_ptr) };
            }
            let mut b = [0 as c_int; 4];
            // SAFETY: `pit` is valid while `it` is; four valid out-pointers.
            let has_box = unsafe {
                (api.page_iterator_bounding_box)(
                    pit, word, &mut b[0], &mut b[1], &mut b[2], &mut b[3],
                )
            } != 0;
            // SAFETY: `it` is valid.
            let confidence = unsafe { (api.result_iterator_confidence)(it, word) };
            // SAFETY: `pit` is valid.
            let new_paragraph =
                unsafe { (api.page_iterator_is_at_beginning_of)(pit, Level::Para as c_int) } != 0;
            // SAFETY: `pit` is valid.
            let new_line =
                unsafe { (api.page_iterator_is_at_beginning_of)(pit, Level::TextLine as c_int) }
                    != 0;
            if has_box {
                out.push(RawWord {
                    text,
                    bbox: b,
                    confidence,
                    new_paragraph,
                    new_line,
                });
            }
            // SAFETY: `it` is valid; Next returns false at the end.
            if unsafe { (api.result_iterator_next)(it, word) } == 0 {
                break;
            }
        }
        // SAFETY: owned iterator, deleted once, not used afterwards.
        unsafe { (api.result_iterator_delete)(it) };
        out
    }

    /// `TessBaseAPIDetectOrientationScript` on the current image; `None` when Tesseract could
    /// not decide (too little text) or the build lacks OSD.
    pub(crate) fn detect_orientation(&mut self) -> Option<RawOrientation> {
        let f = self.tess.api.detect_orientation_script?;
        let mut degrees: c_int = 0;
        let mut confidence: c_float = 0.0;
        let mut script: *const c_char = std::ptr::null();
        // Not used: the script is only informative.
        let mut script_confidence: c_float = 0.0;
        // SAFETY: the handle is initialised with an image set; four valid out-pointers.
        let ok = unsafe {
            f(
                self.raw,
                &mut degrees,
                &mut confidence,
                &mut script,
                &mut script_confidence,
            )
        } != 0;
        // SAFETY: NULL or a NUL-terminated string inside the OSD engine's unicharset, valid
        // while the engine lives. Not ours to free: capi.h's comment says to TessDeleteText
        // it, but baseapi.cpp hands out the unicharset's own pointer (freeing it corrupts the
        // heap).
        let name = unsafe { string(script) };
        ok.then_some(RawOrientation {
            degrees,
            confidence,
            script: name,
        })
    }

    /// `TessBaseAPIClear`: frees the page's image and results, keeps the loaded languages.
    pub(crate) fn clear(&mut self) {
        // SAFETY: the handle is initialised and owned by this thread.
        unsafe { (self.tess.api.clear)(self.raw) };
    }
}

impl Drop for RawEngine {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by this value, used by no other thread, and never used
        // again: End frees the engine's data, Delete the handle.
        unsafe {
            (self.tess.api.end)(self.raw);
            (self.tess.api.delete)(self.raw);
        }
    }
}

/// Tesseract's cancel callback, asked before each word: `cancel_this` is our [`MonitorCell`].
unsafe extern "C" fn cancel_callback(cancel_this: *mut c_void, _words: c_int) -> bool {
    if cancel_this.is_null() {
        return false;
    }
    // SAFETY: set by `recognize` to a MonitorCell alive for the whole Recognize call.
    let cell = unsafe { &*(cancel_this as *const MonitorCell) };
    cell.cancel.load(Ordering::Relaxed)
}

/// Tesseract's progress callback, called after each word of the first pass.
unsafe extern "C" fn progress_callback(
    monitor: *mut EtextDesc,
    _left: c_int,
    _right: c_int,
    _top: c_int,
    _bottom: c_int,
) -> bool {
    if monitor.is_null() {
        return true;
    }
    let Some(get_cancel_this) = GET_CANCEL_THIS.get() else {
        return true;
    };
    // SAFETY: this is the monitor our `recognize` made (Tesseract passes its own pointer),
    // valid during the callback.
    let this = unsafe { get_cancel_this(monitor) };
    if this.is_null() {
        return true;
    }
    // SAFETY: our `recognize` set cancel_this to a MonitorCell alive for the whole call.
    let cell = unsafe { &*(this as *const MonitorCell) };
    // SAFETY: `monitor` is valid during the callback.
    let p = unsafe { (cell.get_progress)(monitor) };
    cell.progress
        .store(p.clamp(0, 100) as u8, Ordering::Relaxed);
    true
}
