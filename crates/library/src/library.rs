//! The library: documents of pages in the state directory, and what is done to them.
//!
//! ```text
//! STATE_DIR/documents/<doc>/document.json   name, created, preset, the pages in order
//!                          /<page>.png       the page, lossless
//!                          /<page>.jpg       its thumbnail
//!                          /<page>.txt.json  its text layer (OCRed pages only)
//! STATE_DIR/presets.json                     presets (crate::presets)
//! STATE_DIR/archive.json                     files written to the archive folder (crate::archive)
//! STATE_DIR/tmp/                             downloads being assembled (unnamed files)
//! ```
//!
//! Every file is written to a temporary name and renamed, so a crash leaves whole files;
//! stray temporaries are removed at [`Library::open`]. Only the metadata of all documents is
//! in memory; pages are read one at a time.

use crate::archive::{ArchiveConfig, ArchiveIndex};
use crate::document::{DocumentInfo, Pass, StoredPage};
use crate::error::LibraryError;
use crate::json::{read_json, write_bytes, write_json};
use crate::names::{check_name, is_id};
use crate::page::{self, Raster};
use crate::presets::Preset;
use scanwire_codecs::{Document, DocumentOutput, EncodeOptions, Format, SliceSource, TextLayer};
use scanwire_pipeline::PageImage;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The state directory's default bound ([`LibraryConfig::max_state_bytes`]).
pub const DEFAULT_MAX_STATE_BYTES: u64 = 2 << 30;

/// Where the library keeps its files and what it may use.
#[derive(Clone, Debug)]
pub struct LibraryConfig {
    /// Documents, presets and the archive's index live here (created if missing).
    pub state_dir: PathBuf,
    /// The archive folder (`serve --archive DIR`), if any.
    pub archive: Option<ArchiveConfig>,
    /// The documents' pages may use this many bytes; past it the oldest documents are
    /// removed (never one being scanned into: see [`Library::hold`]).
    pub max_state_bytes: u64,
}

impl LibraryConfig {
    /// A library in `state_dir` with no archive and the default bound.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        LibraryConfig {
            state_dir: state_dir.into(),
            archive: None,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
        }
    }
}

/// The document library (cheap to clone: one shared state). Methods block on file I/O: call
/// them from a blocking thread in async code.
#[derive(Clone)]
pub struct Library {
    inner: Arc<Inner>,
}

struct Inner {
    config: LibraryConfig,
    /// The state directory of [`Library::temporary`], removed with the library.
    _temporary: Option<tempfile::TempDir>,
    docs_dir: PathBuf,
    tmp_dir: PathBuf,
    state: Mutex<State>,
    /// One archive write at a time: two writers would pick the same free name.
    archiving: Mutex<()>,
}

struct State {
    docs: BTreeMap<String, DocumentInfo>,
    /// Documents that must not be evicted, with how many holds each has.
    held: HashMap<String, usize>,
    presets: Vec<Preset>,
    archive: ArchiveIndex,
    /// For unique ids within one second.
    counter: u32,
}

/// Keeps a document from being evicted while it lives (a scan writing into it).
pub struct Hold {
    lib: Library,
    doc: String,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut st = self.lib.lock();
        if let Some(n) = st.held.get_mut(&self.doc) {
            *n -= 1;
            if *n == 0 {
                st.held.remove(&self.doc);
            }
        }
    }
}

/// A page encoded by the caller (`scanwire serve`'s scan encodes on its page worker).
#[derive(Clone, Debug)]
pub struct EncodedPage {
    /// The page as PNG (gray 1/8/16 bits or RGB 8/16 bits; lineart as 1-bit, 0 = black).
    pub png: Vec<u8>,
    /// Its thumbnail as JPEG.
    pub thumbnail: Vec<u8>,
    /// Horizontal and vertical resolution.
    pub dpi: (u32, u32),
    /// The manual duplex pass it came from.
    pub pass: Option<Pass>,
    /// Its text in the page's pixels (OCR).
    pub text: Option<Arc<TextLayer>>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("state_dir", &self.inner.config.state_dir)
            .field("archive", &self.inner.config.archive)
            .finish()
    }
}

/// A download assembled in an unnamed temporary file (gone when dropped), rewound.
#[derive(Debug)]
pub struct Download {
    /// The file, positioned at its start.
    pub file: File,
    /// Its length in bytes.
    pub len: u64,
    /// The file name to offer (sanitised, with its extension).
    pub file_name: String,
}

impl Library {
    /// Opens (or creates) the library in `config.state_dir`: reads the documents' metadata,
    /// the presets and the archive index, and removes temporaries a crash left behind.
    pub fn open(config: LibraryConfig) -> Result<Library, LibraryError> {
        let docs_dir = config.state_dir.join("documents");
        let tmp_dir = config.state_dir.join("tmp");
        for d in [&config.state_dir, &docs_dir, &tmp_dir] {
            std::fs::create_dir_all(d).map_err(LibraryError::io("the state directory", d))?;
        }
        if let Some(a) = &config.archive {
            crate::archive::check_template(&a.template)?;
            std::fs::create_dir_all(&a.dir)
                .map_err(LibraryError::io("the archive folder", &a.dir))?;
        }
        remove_temporaries(&tmp_dir, true);
        let mut docs = BTreeMap::new();
        let entries =
            std::fs::read_dir(&docs_dir).map_err(LibraryError::io("the documents", &docs_dir))?;
        for e in entries.flatten() {
            let dir = e.path();
            let id = e.file_name().to_string_lossy().into_owned();
            if !is_id(&id) || !dir.is_dir() {
                continue;
            }
            remove_temporaries(&dir, false);
            let meta = dir.join("document.json");
            match read_json::<DocumentInfo>(&meta) {
                Ok(Some(d)) if d.id == id => {
                    docs.insert(id, d);
                }
                // A crash between creating the folder and writing its metadata (which is
                // written before any page): nothing to keep.
                Ok(None) => {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                // Metadata this version cannot read: left as it is (pages are never thrown
                // away on a guess), but not listed.
                _ => {}
            }
        }
        let presets = crate::presets::load(&config.state_dir)?;
        let archive = ArchiveIndex::load(&config.state_dir)?;
        Ok(Library {
            inner: Arc::new(Inner {
                _temporary: None,
                config,
                docs_dir,
                tmp_dir,
                archiving: Mutex::new(()),
                state: Mutex::new(State {
                    docs,
                    held: HashMap::new(),
                    presets,
                    archive,
                    counter: 0,
                }),
            }),
        })
    }

    /// A library in a new temporary directory, removed when the last clone is dropped (a
    /// server started without a state directory, tests).
    pub fn temporary() -> Result<Library, LibraryError> {
        let dir = tempfile::Builder::new()
            .prefix("scanwire-state-")
            .tempdir()
            .map_err(LibraryError::io(
                "a temporary state directory in",
                &std::env::temp_dir(),
            ))?;
        let lib = Library::open(LibraryConfig::new(dir.path()))?;
        let inner = Arc::try_unwrap(lib.inner).map_err(|_| LibraryError::Damaged {
            path: dir.path().to_path_buf(),
            message: "the new library is shared already".into(),
        })?;
        Ok(Library {
            inner: Arc::new(Inner {
                _temporary: Some(dir),
                ..inner
            }),
        })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &LibraryConfig {
        &self.inner.config
    }

    /// Whether an archive folder is configured.
    pub fn has_archive(&self) -> bool {
        self.inner.config.archive.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent metadata (every change
        // is made after its files are written), so a poisoned lock is still usable.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn doc_dir(&self, id: &str) -> PathBuf {
        self.inner.docs_dir.join(id)
    }

    /// A new empty document (`None`: named `Scan <date> <time>`); `preset` is the preset it
    /// is scanned with, if any.
    pub fn create_document(
        &self,
        name: Option<&str>,
        preset: Option<&str>,
    ) -> Result<String, LibraryError> {
        let created = crate::time::now();
        let name = match name {
            Some(n) => check_name("document name", n)?,
            None => format!(
                "Scan {} {}",
                crate::time::date(created),
                crate::time::time_of_day(created)
            ),
        };
        let mut st = self.lock();
        let id = loop {
            st.counter = st.counter.wrapping_add(1);
            let id = format!("d{created:x}-{:x}", st.counter);
            if !st.docs.contains_key(&id) && !self.doc_dir(&id).exists() {
                break id;
            }
        };
        let dir = self.doc_dir(&id);
        std::fs::create_dir_all(&dir).map_err(LibraryError::io("the document folder", &dir))?;
        let doc = DocumentInfo {
            id: id.clone(),
            name,
            created,
            preset: preset.map(str::to_string),
            pages: Vec::new(),
            archived: None,
            next_page: 1,
            revision: 0,
            archived_revision: None,
        };
        self.save(&doc)?;
        st.docs.insert(id.clone(), doc);
        Ok(id)
    }

    /// Whether `doc` names a document.
    pub fn has_document(&self, doc: &str) -> bool {
        get(&self.lock(), doc).is_ok()
    }

    /// Keeps `doc` from being evicted until the returned guard is dropped (hold it for the
    /// length of a scan into the document).
    pub fn hold(&self, doc: &str) -> Result<Hold, LibraryError> {
        let mut st = self.lock();
        get(&st, doc)?;
        *st.held.entry(doc.to_string()).or_default() += 1;
        Ok(Hold {
            lib: self.clone(),
            doc: doc.to_string(),
        })
    }

    fn save(&self, doc: &DocumentInfo) -> Result<(), LibraryError> {
        let path = self.doc_dir(&doc.id).join("document.json");
        write_json(&path, "the document's metadata", doc)
    }

    /// Stores a finished page at the end of `doc`: its pixels (PNG), a thumbnail and its
    /// text layer. The encoding happens outside the library's lock.
    pub fn add_page(
        &self,
        doc: &str,
        image: &PageImage,
        pass: Option<Pass>,
    ) -> Result<StoredPage, LibraryError> {
        let (pixel, width, height) = image.layout();
        let bpl = pixel.bytes_per_line(width);
        if width == 0 || height == 0 || image.data.len() != bpl * height as usize {
            return Err(LibraryError::BadPage(format!(
                "{width}×{height} pixels with {} bytes of rows; a page needs at least one \
                 pixel and {} bytes per row",
                image.data.len(),
                bpl
            )));
        }
        let (id, dir) = {
            let mut st = self.lock();
            let d = get_mut(&mut st, doc)?;
            let id = format!("p{}", d.next_page);
            d.next_page += 1;
            (id, self.doc_dir(doc))
        };
        // The raster is borrowed for the PNG and thumbnail: build it without copying rows.
        let raster = Raster {
            pixel,
            width,
            height,
            dpi: image.page.dpi,
            data: Vec::new(),
        };
        let written = (|| {
            let mut bytes =
                page::write_png_rows(&dir.join(format!("{id}.png")), &raster, &image.data)?;
            let thumb = page::thumbnail_jpeg_rows(&raster, &image.data)?;
            bytes += write_bytes(&dir.join(format!("{id}.jpg")), "the thumbnail", &thumb)?;
            if let Some(t) = &image.text {
                bytes += write_text(&dir.join(format!("{id}.txt.json")), t)?;
            }
            Ok::<u64, LibraryError>(bytes)
        })();
        let bytes = match written {
            Ok(b) => b,
            Err(e) => {
                remove_page_files(&dir, &id);
                return Err(e);
            }
        };
        self.append(
            doc,
            id,
            (pixel, width, height),
            image.page.dpi,
            pass,
            image.text.is_some(),
            bytes,
        )
    }

    /// Stores a page someone else already encoded (a PNG and its JPEG thumbnail) at the end
    /// of `doc`. The PNG's header gives its layout; its pixels are stored as they are.
    pub fn add_encoded_page(
        &self,
        doc: &str,
        page: EncodedPage,
    ) -> Result<StoredPage, LibraryError> {
        let (pixel, width, height) = page::png_layout(&page.png).ok_or_else(|| {
            LibraryError::BadPage(
                "the page is not a PNG of gray (1, 8 or 16 bits) or RGB (8 or 16 bits)".into(),
            )
        })?;
        if page.thumbnail.get(..2) != Some(&[0xFF, 0xD8]) {
            return Err(LibraryError::BadPage("the thumbnail is not a JPEG".into()));
        }
        let id = {
            let mut st = self.lock();
            let d = get_mut(&mut st, doc)?;
            d.next_page += 1;
            format!("p{}", d.next_page - 1)
        };
        let dir = self.doc_dir(doc);
        let written = (|| {
            let mut bytes =
                write_bytes(&dir.join(format!("{id}.png")), "the page image", &page.png)?;
            bytes += write_bytes(
                &dir.join(format!("{id}.jpg")),
                "the thumbnail",
                &page.thumbnail,
            )?;
            if let Some(t) = &page.text {
                bytes += write_text(&dir.join(format!("{id}.txt.json")), t)?;
            }
            Ok::<u64, LibraryError>(bytes)
        })();
        let bytes = match written {
            Ok(b) => b,
            Err(e) => {
                remove_page_files(&dir, &id);
                return Err(e);
            }
        };
        self.append(
            doc,
            id,
            (pixel, width, height),
            page.dpi,
            page.pass,
            page.text.is_some(),
            bytes,
        )
    }

    /// Records a page whose files are written.
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        doc: &str,
        id: String,
        (pixel, width, height): (scanwire_core::device::PixelFormat, u32, u32),
        dpi: (u32, u32),
        pass: Option<Pass>,
        text: bool,
        bytes: u64,
    ) -> Result<StoredPage, LibraryError> {
        let mut st = self.lock();
        let Ok(d) = get_mut(&mut st, doc) else {
            // Deleted meanwhile.
            remove_page_files(&self.doc_dir(doc), &id);
            return Err(LibraryError::NoDocument(doc.to_string()));
        };
        // After the last of its pass (deleted pages leave gaps, never repeats).
        let pass_seq = match pass {
            Some(p) => {
                d.pages
                    .iter()
                    .filter(|q| q.pass == Some(p))
                    .map(|q| q.pass_seq)
                    .max()
                    .unwrap_or(0)
                    + 1
            }
            None => 0,
        };
        let page = StoredPage {
            id,
            width_px: width,
            height_px: height,
            dpi,
            rotation: 0,
            pass,
            pass_seq,
            text,
            bytes,
            pixel: page::pixel_name(pixel).to_string(),
        };
        d.pages.push(page.clone());
        d.revision += 1;
        let d = d.clone();
        self.save(&d)?;
        self.evict(&mut st, &[doc]);
        Ok(page)
    }

    /// Removes the oldest documents not held (and not in `keep`) while the pages use more
    /// than the bound.
    fn evict(&self, st: &mut State, keep: &[&str]) {
        let max = self.inner.config.max_state_bytes;
        let mut total: u64 = st.docs.values().map(DocumentInfo::bytes).sum();
        while total > max {
            let victim = st
                .docs
                .values()
                .filter(|d| {
                    // An empty document frees nothing and may be about to receive pages.
                    d.bytes() > 0 && !st.held.contains_key(&d.id) && !keep.contains(&d.id.as_str())
                })
                .min_by_key(|d| (d.created, d.id.clone()))
                .map(|d| d.id.clone());
            let Some(v) = victim else { break };
            if let Some(d) = st.docs.remove(&v) {
                total -= d.bytes();
            }
            let _ = std::fs::remove_dir_all(self.doc_dir(&v));
        }
    }

    /// The documents, newest first.
    pub fn documents(&self) -> Vec<DocumentInfo> {
        let st = self.lock();
        let mut v: Vec<DocumentInfo> = st.docs.values().cloned().collect();
        v.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
        v
    }

    /// One document.
    pub fn document(&self, doc: &str) -> Result<DocumentInfo, LibraryError> {
        Ok(get(&self.lock(), doc)?.clone())
    }

    /// Renames a document.
    pub fn rename(&self, doc: &str, name: &str) -> Result<(), LibraryError> {
        let name = check_name("document name", name)?;
        self.update(doc, |d| {
            d.name = name;
            Ok(())
        })
    }

    fn update(
        &self,
        doc: &str,
        f: impl FnOnce(&mut DocumentInfo) -> Result<(), LibraryError>,
    ) -> Result<(), LibraryError> {
        let mut st = self.lock();
        let d = get_mut(&mut st, doc)?;
        let mut new = d.clone();
        f(&mut new)?;
        new.revision += 1;
        self.save(&new)?;
        *d = new;
        Ok(())
    }

    /// Puts the pages in `order`, which must name each of the document's pages exactly once.
    pub fn reorder(&self, doc: &str, order: &[String]) -> Result<(), LibraryError> {
        self.update(doc, |d| {
            let mut given: Vec<&String> = order.iter().collect();
            let mut have: Vec<&String> = d.pages.iter().map(|p| &p.id).collect();
            given.sort();
            have.sort();
            if given != have {
                return Err(LibraryError::NotAPermutation {
                    given: order.to_vec(),
                    pages: d.page_ids(),
                });
            }
            let mut pages = std::mem::take(&mut d.pages);
            for id in order {
                let i = pages.iter().position(|p| &p.id == id).unwrap_or(0);
                d.pages.push(pages.swap_remove(i));
            }
            Ok(())
        })
    }

    /// Turns a page clockwise by `degrees` (90, 180 or 270; negative turns counterclockwise):
    /// its pixels, thumbnail and text layer are rewritten.
    pub fn rotate(&self, doc: &str, page: &str, degrees: i64) -> Result<StoredPage, LibraryError> {
        let quarters = match degrees.rem_euclid(360) {
            90 => 1,
            180 => 2,
            270 => 3,
            _ => return Err(LibraryError::Rotation(degrees)),
        };
        if degrees % 90 != 0 {
            return Err(LibraryError::Rotation(degrees));
        }
        // Under the lock: two turns of one page must not interleave their files.
        let mut st = self.lock();
        let d = get_mut(&mut st, doc)?;
        let i = d.page_index(page)?;
        let dir = self.doc_dir(doc);
        let mut p = d.pages[i].clone();
        let r = page::read_png(&dir.join(format!("{page}.png")), stored_pixel(&p, &dir)?)?;
        let r = page::rotate(r, quarters)?;
        let mut bytes = page::write_png(&dir.join(format!("{page}.png")), &r)?;
        bytes += write_bytes(
            &dir.join(format!("{page}.jpg")),
            "the thumbnail",
            &page::thumbnail_jpeg(&r)?,
        )?;
        if p.text {
            let path = dir.join(format!("{page}.txt.json"));
            let t = read_text(&path)?;
            bytes += write_text(&path, &page::rotate_text(&t, quarters))?;
        }
        p.width_px = r.width;
        p.height_px = r.height;
        p.dpi = r.dpi;
        p.rotation = (p.rotation + quarters * 90) % 360;
        p.bytes = bytes;
        d.revision += 1;
        d.pages[i] = p.clone();
        let d = d.clone();
        self.save(&d)?;
        Ok(p)
    }

    /// Removes one page.
    pub fn delete_page(&self, doc: &str, page: &str) -> Result<(), LibraryError> {
        self.update(doc, |d| {
            let i = d.page_index(page)?;
            d.pages.remove(i);
            Ok(())
        })?;
        remove_page_files(&self.doc_dir(doc), page);
        Ok(())
    }

    /// Manual duplex: the fronts pass (f1..fN, in the order scanned) and the backs pass
    /// (the turned stack: the last sheet's back first, so scanned as bN..b1) become
    /// f1 b1 f2 b2 … fN bN, i.e. the backs in the reverse of their scanning order.
    ///
    /// The backs may be one fewer than the fronts: the first back scanned (the last
    /// sheet's) was blank and skipped, so the last front stays alone at the end. Any other
    /// difference is an error naming both counts. Pages of neither pass keep their order
    /// after the interleaved ones. The order comes from each page's place in its pass, so
    /// interleaving twice gives the same document.
    pub fn interleave(&self, doc: &str) -> Result<Vec<String>, LibraryError> {
        let mut out = Vec::new();
        self.update(doc, |d| {
            let mut fronts: Vec<&StoredPage> = d
                .pages
                .iter()
                .filter(|p| p.pass == Some(Pass::Fronts))
                .collect();
            let mut backs: Vec<&StoredPage> = d
                .pages
                .iter()
                .filter(|p| p.pass == Some(Pass::Backs))
                .collect();
            let (f, b) = (fronts.len(), backs.len());
            if f == 0 || !(b == f || b + 1 == f) {
                return Err(LibraryError::Interleave(format!(
                    "manual duplex needs as many backs as fronts (or one fewer, when the last \
                     sheet's back was blank): this document has {f} front page(s) and {b} \
                     back page(s)"
                )));
            }
            fronts.sort_by_key(|p| p.pass_seq);
            // Scanning order reversed: the last back scanned is the first sheet's.
            backs.sort_by_key(|p| std::cmp::Reverse(p.pass_seq));
            let mut order: Vec<String> = Vec::with_capacity(d.pages.len());
            for (i, fr) in fronts.iter().enumerate() {
                order.push(fr.id.clone());
                if let Some(bk) = backs.get(i) {
                    order.push(bk.id.clone());
                }
            }
            order.extend(
                d.pages
                    .iter()
                    .filter(|p| p.pass.is_none())
                    .map(|p| p.id.clone()),
            );
            let mut pages = std::mem::take(&mut d.pages);
            for id in &order {
                let i = pages.iter().position(|p| &p.id == id).unwrap_or(0);
                d.pages.push(pages.swap_remove(i));
            }
            out = order;
            Ok(())
        })?;
        Ok(out)
    }

    /// Deletes a document and its files; refused while a scan writes into it (a [`Hold`]).
    pub fn delete_document(&self, doc: &str) -> Result<(), LibraryError> {
        let mut st = self.lock();
        get(&st, doc)?;
        if st.held.contains_key(doc) {
            return Err(LibraryError::Busy(doc.to_string()));
        }
        st.docs.remove(doc);
        let dir = self.doc_dir(doc);
        std::fs::remove_dir_all(&dir).map_err(LibraryError::io("the document folder", &dir))
    }

    /// A page's thumbnail (JPEG).
    pub fn thumbnail(&self, doc: &str, page: &str) -> Result<Vec<u8>, LibraryError> {
        let dir = self.page_dir(doc, page)?;
        let path = dir.join(format!("{page}.jpg"));
        std::fs::read(&path).map_err(LibraryError::io("the thumbnail", &path))
    }

    /// A page as stored (PNG, lossless).
    pub fn page_png(&self, doc: &str, page: &str) -> Result<Vec<u8>, LibraryError> {
        let dir = self.page_dir(doc, page)?;
        let path = dir.join(format!("{page}.png"));
        std::fs::read(&path).map_err(LibraryError::io("the page image", &path))
    }

    /// A page as JPEG (made on request from the stored PNG).
    pub fn page_jpeg(&self, doc: &str, page: &str) -> Result<Vec<u8>, LibraryError> {
        let p = self.page(doc, page)?;
        let dir = self.doc_dir(doc);
        let r = page::read_png(&dir.join(format!("{page}.png")), stored_pixel(&p, &dir)?)?;
        page::page_jpeg(&r)
    }

    /// A page's text layer, if it was OCRed.
    pub fn page_text(&self, doc: &str, page: &str) -> Result<Option<TextLayer>, LibraryError> {
        let p = self.page(doc, page)?;
        if !p.text {
            return Ok(None);
        }
        read_text(&self.doc_dir(doc).join(format!("{page}.txt.json"))).map(Some)
    }

    /// A page's metadata.
    pub fn page(&self, doc: &str, page: &str) -> Result<StoredPage, LibraryError> {
        let st = self.lock();
        let d = get(&st, doc)?;
        Ok(d.pages[d.page_index(page)?].clone())
    }

    fn page_dir(&self, doc: &str, page: &str) -> Result<PathBuf, LibraryError> {
        self.page(doc, page)?;
        Ok(self.doc_dir(doc))
    }

    /// The document as one PDF (searchable where pages have text), in an unnamed temporary
    /// file. The same pages give the same bytes: the creation date is the document's.
    pub fn pdf(&self, doc: &str) -> Result<Download, LibraryError> {
        let d = self.document(doc)?;
        let mut file = tempfile::tempfile_in(&self.inner.tmp_dir)
            .map_err(LibraryError::io("a temporary file in", &self.inner.tmp_dir))?;
        self.write_pdf(&d, &mut file, &pdf_options(&d))?;
        rewound(file, &d.name, "pdf", &self.inner.tmp_dir)
    }

    /// Writes `d`'s pages as a PDF into `out`, a page at a time (one page in memory).
    fn write_pdf<W: DocumentOutput>(
        &self,
        d: &DocumentInfo,
        out: W,
        opts: &EncodeOptions,
    ) -> Result<(), LibraryError> {
        if d.pages.is_empty() {
            return Err(LibraryError::Empty(d.id.clone()));
        }
        let mut pdf = Document::new(Format::Pdf, out, opts, true)
            .map_err(LibraryError::codec("starting the PDF"))?;
        let dir = self.doc_dir(&d.id);
        for p in &d.pages {
            let r = page::read_png(&dir.join(format!("{}.png", p.id)), stored_pixel(p, &dir)?)?;
            let text = if p.text {
                Some(read_text(&dir.join(format!("{}.txt.json", p.id)))?)
            } else {
                None
            };
            // The stored resolution: a PNG's pHYs holds whole dots per metre only.
            let mut info = r.page_info();
            info.dpi = p.dpi;
            pdf.add_page_with_text(
                &info,
                &mut SliceSource::new(&r.data, 1 << 20),
                text.as_ref(),
            )
            .map_err(LibraryError::codec(format!(
                "adding page {} to the PDF",
                p.id
            )))?;
        }
        pdf.finish()
            .map_err(LibraryError::codec("ending the PDF"))?;
        Ok(())
    }

    /// The document as a ZIP of its pages' PNGs (stored: PNG is compressed already), named
    /// `<name>-001.png`, ...; the same pages give the same bytes.
    pub fn zip(&self, doc: &str) -> Result<Download, LibraryError> {
        let d = self.document(doc)?;
        if d.pages.is_empty() {
            return Err(LibraryError::Empty(d.id.clone()));
        }
        let file = tempfile::tempfile_in(&self.inner.tmp_dir)
            .map_err(LibraryError::io("a temporary file in", &self.inner.tmp_dir))?;
        let zerr = |source| LibraryError::Zip {
            doc: d.id.clone(),
            source,
        };
        let (y, mo, day, h, mi, s) = crate::time::civil(d.created);
        let stamp = zip::DateTime::from_date_and_time(
            y.clamp(1980, 2107) as u16,
            mo as u8,
            day as u8,
            h as u8,
            mi as u8,
            s as u8,
        )
        .unwrap_or_default();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(stamp)
            .unix_permissions(0o644);
        let stem = crate::names::sanitize_file_name(&d.name, "scan");
        let mut z = zip::ZipWriter::new(file);
        let dir = self.doc_dir(&d.id);
        for (i, p) in d.pages.iter().enumerate() {
            z.start_file(format!("{stem}-{:03}.png", i + 1), opts)
                .map_err(zerr)?;
            let path = dir.join(format!("{}.png", p.id));
            let mut f = File::open(&path).map_err(LibraryError::io("the page image", &path))?;
            std::io::copy(&mut f, &mut z).map_err(LibraryError::io("the ZIP of", &path))?;
        }
        let file = z.finish().map_err(zerr)?;
        rewound(file, &d.name, "zip", &self.inner.tmp_dir)
    }

    /// Writes the document as a PDF into the archive folder, named by the template; returns
    /// the file name. A document unchanged since it was last archived is not written again:
    /// its file's name is returned. Then removes the oldest archived files past the archive's bound.
    pub fn archive(&self, doc: &str) -> Result<String, LibraryError> {
        let cfg = self
            .inner
            .config
            .archive
            .clone()
            .ok_or(LibraryError::NoArchive)?;
        let _one_at_a_time = self
            .inner
            .archiving
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let d = self.document(doc)?;
        if d.pages.is_empty() {
            return Err(LibraryError::Empty(d.id.clone()));
        }
        if let (Some(name), Some(rev)) = (&d.archived, d.archived_revision) {
            if rev == d.revision {
                // Unchanged since: the same file, not a second copy for the consumer (the
                // page and a preset's automatic archiving may both ask).
                return Ok(name.clone());
            }
        }
        let n = self
            .lock()
            .archive
            .take_number(&self.inner.config.state_dir)?;
        let stem = crate::archive::render(&cfg.template, &d, n, crate::time::now())?;
        let name = crate::archive::write_new(&cfg.dir, &stem, "pdf", |out| {
            self.write_pdf(&d, out, &pdf_options(&d))
        })?;
        let mut st = self.lock();
        let written = std::fs::metadata(cfg.dir.join(&name)).map_or(0, |m| m.len());
        st.archive
            .add(&self.inner.config.state_dir, &cfg, &name, written)?;
        if let Some(doc) = st.docs.get_mut(doc) {
            doc.archived = Some(name.clone());
            doc.archived_revision = Some(d.revision);
            let doc = doc.clone();
            self.save(&doc)?;
        }
        Ok(name)
    }

    /// After a scan into `doc` completed: archives it when its preset says so and an
    /// archive folder is set. Returns the file written, if any.
    pub fn scan_completed(&self, doc: &str) -> Result<Option<String>, LibraryError> {
        let d = self.document(doc)?;
        let wants = d
            .preset
            .as_deref()
            .and_then(|p| self.preset(p).ok())
            .is_some_and(|p| p.archive);
        if !wants || !self.has_archive() || d.pages.is_empty() {
            return Ok(None);
        }
        self.archive(doc).map(Some)
    }

    /// The presets, by name.
    pub fn presets(&self) -> Vec<Preset> {
        self.lock().presets.clone()
    }

    /// One preset.
    pub fn preset(&self, name: &str) -> Result<Preset, LibraryError> {
        self.lock()
            .presets
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| LibraryError::NoPreset(name.to_string()))
    }

    /// Adds or replaces a preset (checked first) and saves the presets.
    pub fn put_preset(&self, preset: Preset) -> Result<(), LibraryError> {
        let preset = preset.validated()?;
        let mut st = self.lock();
        let mut all = st.presets.clone();
        match all.iter_mut().find(|p| p.name == preset.name) {
            Some(p) => *p = preset,
            None => all.push(preset),
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        crate::presets::save(&self.inner.config.state_dir, &all)?;
        st.presets = all;
        Ok(())
    }

    /// Removes a preset.
    pub fn delete_preset(&self, name: &str) -> Result<(), LibraryError> {
        let mut st = self.lock();
        let mut all = st.presets.clone();
        let before = all.len();
        all.retain(|p| p.name != name);
        if all.len() == before {
            return Err(LibraryError::NoPreset(name.to_string()));
        }
        crate::presets::save(&self.inner.config.state_dir, &all)?;
        st.presets = all;
        Ok(())
    }
}

/// The PDF settings of a document: its name as the title, its creation as the date (the
/// same pages give the same bytes).
fn pdf_options(d: &DocumentInfo) -> EncodeOptions {
    EncodeOptions {
        title: Some(d.name.clone()),
        created: Some(d.created),
        ..EncodeOptions::default()
    }
}

fn get<'a>(st: &'a State, doc: &str) -> Result<&'a DocumentInfo, LibraryError> {
    if !is_id(doc) {
        return Err(LibraryError::NoDocument(doc.to_string()));
    }
    st.docs
        .get(doc)
        .ok_or_else(|| LibraryError::NoDocument(doc.to_string()))
}

fn get_mut<'a>(st: &'a mut State, doc: &str) -> Result<&'a mut DocumentInfo, LibraryError> {
    if !is_id(doc) {
        return Err(LibraryError::NoDocument(doc.to_string()));
    }
    st.docs
        .get_mut(doc)
        .ok_or_else(|| LibraryError::NoDocument(doc.to_string()))
}

fn stored_pixel(
    p: &StoredPage,
    dir: &Path,
) -> Result<scanwire_core::device::PixelFormat, LibraryError> {
    page::pixel_from_name(&p.pixel).ok_or_else(|| LibraryError::Damaged {
        path: dir.join("document.json"),
        message: format!("page {} has an unknown pixel layout {:?}", p.id, p.pixel),
    })
}

fn rewound(mut file: File, name: &str, ext: &str, tmp: &Path) -> Result<Download, LibraryError> {
    let len = file
        .seek(SeekFrom::End(0))
        .and_then(|n| file.seek(SeekFrom::Start(0)).map(|_| n))
        .map_err(LibraryError::io("a temporary file in", tmp))?;
    Ok(Download {
        file,
        len,
        file_name: format!("{}.{ext}", crate::names::sanitize_file_name(name, "scan")),
    })
}

fn remove_page_files(dir: &Path, page: &str) {
    for ext in ["png", "jpg", "txt.json"] {
        let _ = std::fs::remove_file(dir.join(format!("{page}.{ext}")));
    }
}

/// Removes `.tmp-*` files a crash left (or everything, in the downloads' folder).
fn remove_temporaries(dir: &Path, all: bool) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if all || e.file_name().to_string_lossy().starts_with(".tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn write_text(path: &Path, t: &TextLayer) -> Result<u64, LibraryError> {
    let bytes =
        serde_json::to_vec(&page::StoredText::from(t)).map_err(|e| LibraryError::Damaged {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    write_bytes(path, "the text layer", &bytes)
}

fn read_text(path: &Path) -> Result<TextLayer, LibraryError> {
    read_json::<page::StoredText>(path)?
        .map(TextLayer::from)
        .ok_or_else(|| LibraryError::Damaged {
            path: path.to_path_buf(),
            message: "the page's text layer is missing".into(),
        })
}
