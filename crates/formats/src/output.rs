//! Files from a transfer: the application side that turns pages into files.
//!
//! [`OutputPlan`] says where pages go (one file per page from a pattern, one multi-page
//! TIFF/PDF, or one single-page file); [`OutputPlan::start`] gives a [`FileOutput`], whose
//! [`FileOutput::open_page`] is what a `TransferCallback::get_next_stream` returns.
//!
//! The rules:
//! - Every file is written under a hidden temporary name in its final directory
//!   (`.name.XXXXXX.part`) and renamed to its final name only when complete: a page file when
//!   the page is, a multi-page file when [`FileOutput::finish`] ends the transfer. Nothing
//!   half-written is ever under a final name; a crash leaves at most a `.part` file.
//!   Writeback to disk starts while the data arrives; [`OutputPlan::durable`] also waits for
//!   it (`fsync`) before the rename (why that is not the default: `partfile.rs`).
//! - An incomplete page (cancelled, failed) is discarded: its temporary file is deleted, or
//!   it is cut off the multi-page file again. A cancelled multi-page transfer keeps every
//!   complete page in a valid file, unless [`OutputPlan::all_or_nothing`] is set, in which
//!   case a transfer that did not succeed leaves no file at all (one-file-per-page output
//!   then holds its pages back until the end, too).
//! - Overwriting: like scanimage, an existing file is replaced by default — atomically, by
//!   the rename, and only by a complete file. [`Overwrite::Refuse`] refuses instead: checked
//!   before a page is scanned, and again, race-free, by the final no-clobber rename.
//! - Pipelining: each page is encoded on its own thread while the driver writes it; closing
//!   a page returns at once and the page is finished in the background while the next one is
//!   scanned, with at most [`OutputPlan::pipeline`] pages in flight. A page that fails to be
//!   saved makes the next `open_page` fail the transfer, and is listed in the
//!   [`OutputReport`]. With `pipeline = 0` closing a page waits for it, so the relay's page
//!   count is exact. PNM pages of known height need no encoding: they are written on the
//!   driver's thread and closing them renames them (see `DirectSink`).

use crate::encode::{check_page, encode_page, Document};
use crate::naming::{NamePattern, PatternError};
use crate::partfile::{parent, PartFile};
use crate::pipe::{pipe, Msg, PageStatus, PageWriter, QueueSource, Rx, Tx};
use crate::pnm::RawPage;
use crate::source::Raster;
use crate::{EncodeError, EncodeOptions, Format, FormatError};
use scanwire_core::device::{PageData, PageInfo};
use scanwire_core::transfer::{AppStream, PageSink, StreamFactory, TransferCallback};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;

/// Whether an existing file may be replaced.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it (atomically, with a complete file), as scanimage does.
    #[default]
    Replace,
    /// Refuse: the page (or the whole transfer, for a single file) fails instead.
    Refuse,
}

/// Where the pages of a transfer go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One file per page, named by a pattern with a page number (`page-{n}.png`).
    Pages(NamePattern),
    /// All pages in one TIFF or PDF.
    Document(PathBuf),
    /// Exactly one page in one file; a second page fails the transfer.
    Single(PathBuf),
}

/// An output that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The format is unknown.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The file name pattern is malformed.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// The directory files would go to does not exist or is not a directory.
    #[error("cannot write to directory {}: {source}", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file exists and the plan refuses to overwrite.
    #[error("{} exists; refusing to overwrite it", .0.display())]
    Exists(PathBuf),
    /// The encoder options are invalid.
    #[error(transparent)]
    Options(EncodeError),
}

/// What to write, where, and how.
#[derive(Clone, Debug)]
pub struct OutputPlan {
    /// The file or files.
    pub target: Target,
    /// Their format.
    pub format: Format,
    /// Encoder settings.
    pub options: EncodeOptions,
    /// Replace or refuse existing files.
    pub overwrite: Overwrite,
    /// Leave no file unless the whole transfer succeeds.
    pub all_or_nothing: bool,
    /// Pages encoded in the background at once (0: closing a page waits for its file).
    pub pipeline: usize,
    /// Sync every file to disk before it gets its final name, and the directory after
    /// (default off). Off, writeback is started as data arrives and the rename does not wait
    /// for the disk: a complete file or nothing is under the final name even after a power
    /// loss on ext4 (data=ordered), but a file saved just before one may be missing. On, a
    /// file is on disk when the transfer reports it saved, at the cost of waiting for the
    /// disk (about 10 ms per A4 300 dpi page on an SSD). The reasoning and the measurements
    /// are in the crate's `partfile` module.
    pub durable: bool,
    /// Bytes queued per page between the driver and the encoder before the driver's writes
    /// wait (default 8 MiB). This bounds memory, and also how far scanning can run ahead of
    /// an encoder slower than the scanner: a queue larger than a page lets whole pages
    /// overlap.
    pub queue_bytes: usize,
}

impl OutputPlan {
    /// Plans output to `path`: a pattern with a page number (`{n}`, `%d`, `%03d`) gives one
    /// file per page; otherwise TIFF and PDF collect every page in one file, and the other
    /// formats take one page. `format` defaults to the one the extension names.
    pub fn new(path: &str, format: Option<Format>) -> Result<OutputPlan, PlanError> {
        let pattern = NamePattern::parse(path)?;
        let format = match format {
            Some(f) => f,
            None => Format::from_extension(path)?,
        };
        let target = if pattern.has_number() {
            Target::Pages(pattern)
        } else if format.is_multi_page() {
            Target::Document(PathBuf::from(path))
        } else {
            Target::Single(PathBuf::from(path))
        };
        Ok(OutputPlan {
            target,
            format,
            options: EncodeOptions::default(),
            overwrite: Overwrite::default(),
            all_or_nothing: false,
            durable: false,
            pipeline: 2,
            queue_bytes: 8 << 20,
        })
    }

    /// Whether the plan can take more than one page.
    pub fn takes_many_pages(&self) -> bool {
        !matches!(self.target, Target::Single(_))
    }

    /// Checks the plan (options, directory, existing files) and opens the output.
    pub fn start(mut self) -> Result<FileOutput, PlanError> {
        self.options.validate().map_err(PlanError::Options)?;
        let first = match &self.target {
            Target::Pages(p) => p.render(1),
            Target::Document(p) | Target::Single(p) => p.clone(),
        };
        let dir = parent(&first);
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(PlanError::Directory {
                    path: dir,
                    source: io::Error::other("not a directory"),
                })
            }
            Err(source) => return Err(PlanError::Directory { path: dir, source }),
        }
        if self.overwrite == Overwrite::Refuse
            && !matches!(self.target, Target::Pages(_))
            && first.exists()
        {
            return Err(PlanError::Exists(first));
        }
        if self.options.spool_dir.is_none() {
            self.options.spool_dir = Some(dir);
        }
        Ok(FileOutput {
            inner: Arc::new(Inner {
                plan: self,
                state: Mutex::new(State::default()),
            }),
        })
    }
}

/// A page or file that could not be saved.
#[derive(Debug)]
pub struct OutputError {
    /// The page, when one page failed (not for a document-wide failure).
    pub page: Option<u32>,
    /// The file it was for.
    pub path: PathBuf,
    /// Why.
    pub error: EncodeError,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.page {
            Some(n) => write!(f, "page {n} ({}): {}", self.path.display(), self.error),
            None => write!(f, "{}: {}", self.path.display(), self.error),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// What a transfer left behind.
#[derive(Debug, Default)]
pub struct OutputReport {
    /// Files under their final names, in page order.
    pub files: Vec<PathBuf>,
    /// Pages in those files.
    pub pages: u32,
    /// Pages that were not kept (incomplete, or discarded by `all_or_nothing`).
    pub discarded: u32,
    /// Pages or files that could not be saved.
    pub errors: Vec<OutputError>,
}

impl OutputReport {
    /// No page or file failed to be saved.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The files of one transfer being written (a cheap handle: clones share the output).
///
/// ```no_run
/// use scanwire_core::device::ScanRequest;
/// use scanwire_core::transfer::{self, CancelHandle, SharedDevice, TransferOptions};
/// use scanwire_formats::{FileTransfer, OutputPlan};
///
/// fn scan(device: &SharedDevice, request: &ScanRequest) -> Result<(), Box<dyn std::error::Error>> {
///     let output = OutputPlan::new("scan-{n}.png", None)?.start()?;
///     let app = FileTransfer::new(output.clone());
///     let outcome = transfer::run(device, request, Box::new(app), &CancelHandle::new(),
///                                 &TransferOptions::default());
///     let report = output.finish(outcome.result);
///     for e in &report.errors {
///         eprintln!("{e}");
///     }
///     println!("{} pages in {:?}", report.pages, report.files);
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct FileOutput {
    inner: Arc<Inner>,
}

struct Inner {
    plan: OutputPlan,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    opened: u32,
    /// Page encoder threads in flight, with a sender to end a page the driver never closes.
    workers: VecDeque<(JoinHandle<()>, Tx)>,
    /// (page or 0 for a document, final name)
    kept: Vec<(u32, PathBuf)>,
    /// Complete page files held back by `all_or_nothing`.
    held: Vec<(u32, PartFile, PathBuf)>,
    pages: u32,
    discarded: u32,
    errors: Vec<OutputError>,
    doc: Option<(Tx, JoinHandle<()>)>,
    /// Pages written on the driver's thread ([`DirectSink`]) that are still open.
    direct: Vec<OpenDirect>,
    finished: bool,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, page: Option<u32>, path: &Path, error: EncodeError) -> HResult {
        let hr = error.hresult();
        self.lock().errors.push(OutputError {
            page,
            path: path.to_path_buf(),
            error,
        });
        hr
    }
}

impl fmt::Debug for FileOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileOutput")
            .field("target", &self.inner.plan.target)
            .field("format", &self.inner.plan.format)
            .finish()
    }
}

impl FileOutput {
    /// A stream for `page` (what `get_next_stream` answers): `Fail` if the page cannot be
    /// stored or an earlier page failed to be saved.
    pub fn open_page(&self, page: &PageInfo) -> AppStream {
        match self.try_open(page) {
            Ok(sink) => AppStream::Stream(sink),
            Err(hr) => AppStream::Fail(hr),
        }
    }

    fn try_open(&self, page: &PageInfo) -> Result<Box<dyn PageSink>, HResult> {
        let inner = &self.inner;
        let plan = &inner.plan;
        let path = match &plan.target {
            Target::Pages(p) => p.render(page.number),
            Target::Document(p) | Target::Single(p) => p.clone(),
        };
        let document = matches!(plan.target, Target::Document(_));
        // Keep at most `pipeline` pages in flight: wait for the oldest before a new one.
        if !document {
            loop {
                let mut st = inner.lock();
                if st.workers.len() < plan.pipeline.max(1) {
                    break;
                }
                let (oldest, _) = st.workers.pop_front().expect("non-empty");
                drop(st);
                if oldest.join().is_err() {
                    inner.fail(Some(page.number), &path, EncodeError::WorkerLost);
                }
            }
        }
        let mut st = inner.lock();
        if st.finished {
            return Err(wia::E_UNEXPECTED);
        }
        if let Some(e) = st.errors.first() {
            return Err(e.error.hresult());
        }
        st.opened += 1;
        let opened = st.opened;
        drop(st);
        if let Target::Single(p) = &plan.target {
            if opened > 1 {
                return Err(inner.fail(
                    Some(page.number),
                    p,
                    EncodeError::Unsupported(format!(
                        "{} holds one page and the device sent another; name the files with a page number ({{n}} or %d) or use tiff or pdf",
                        p.display()
                    )),
                ));
            }
        }
        if let Err(e) = check_page(plan.format, page, document) {
            return Err(inner.fail(Some(page.number), &path, e));
        }
        let (status, done) = PageStatus::new();
        if document {
            let tx = self.document_queue(&path)?;
            tx.send(Msg::Begin(Box::new(page.clone()), status.clone()))
                .map_err(|_| wia::WIA_ERROR_DESTINATION)?;
            return Ok(Box::new(FileSink {
                writer: PageWriter::new(tx, status),
                done,
                wait: plan.pipeline == 0,
            }));
        }
        if plan.overwrite == Overwrite::Refuse && path.exists() {
            return Err(inner.fail(Some(page.number), &path, EncodeError::Exists(path.clone())));
        }
        let mut tmp =
            PartFile::create(&path).map_err(|e| inner.fail(Some(page.number), &path, e))?;
        if let Some(raster) = direct_raster(plan, page) {
            let raw = RawPage::start(&raster, &mut tmp)
                .map_err(|e| inner.fail(Some(page.number), &path, e))?;
            let open = Arc::new(Mutex::new(Some(DirectPage {
                file: tmp,
                raw,
                path,
            })));
            inner.lock().direct.push(open.clone());
            return Ok(Box::new(DirectSink {
                inner: inner.clone(),
                number: page.number,
                page: open,
                failed: None,
            }));
        }
        let (tx, rx) = pipe(plan.queue_bytes);
        let abort = tx.clone();
        let worker_inner = inner.clone();
        let worker_page = page.clone();
        let worker_status = status.clone();
        let handle = std::thread::Builder::new()
            .name(format!("scanwire-page-{}", page.number))
            .spawn(move || page_worker(&worker_inner, &worker_page, path, tmp, rx, &worker_status))
            .map_err(|e| {
                inner.fail(
                    Some(page.number),
                    Path::new(""),
                    EncodeError::io("the encoder thread")(e),
                )
            })?;
        inner.lock().workers.push_back((handle, abort));
        Ok(Box::new(FileSink {
            writer: PageWriter::new(tx, status),
            done,
            wait: plan.pipeline == 0,
        }))
    }

    /// The multi-page file's queue, starting its encoder thread on the first page.
    fn document_queue(&self, path: &Path) -> Result<Tx, HResult> {
        let inner = &self.inner;
        let mut st = inner.lock();
        if let Some((tx, _)) = &st.doc {
            return Ok(tx.clone());
        }
        drop(st);
        let tmp = PartFile::create(path).map_err(|e| inner.fail(None, path, e))?;
        let (tx, rx) = pipe(inner.plan.queue_bytes);
        // Weak: the output holds the queue's sender, so a strong reference here would keep
        // both alive forever if the application dropped the output without finishing it.
        let worker_inner = Arc::downgrade(inner);
        let plan = inner.plan.clone();
        let final_path = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("scanwire-document".into())
            .spawn(move || document_worker(&worker_inner, &plan, final_path, tmp, rx))
            .map_err(|e| inner.fail(None, path, EncodeError::io("the encoder thread")(e)))?;
        st = inner.lock();
        let out = tx.clone();
        st.doc = Some((tx, handle));
        Ok(out)
    }

    /// Ends the output once the transfer is over: waits for the pages still being encoded,
    /// then completes (or, after a failed transfer with `all_or_nothing`, discards) the
    /// multi-page file. `transfer_status` is the transfer's result (`Outcome::result`, or
    /// END_OF_TRANSFER's `hrErrorStatus`): S_OK or WIA_STATUS_END_OF_MEDIA is success.
    ///
    /// Call it once; later calls return an empty report.
    pub fn finish(&self, transfer_status: HResult) -> OutputReport {
        let inner = &self.inner;
        let mut st = inner.lock();
        if st.finished {
            return OutputReport::default();
        }
        st.finished = true;
        let doc = st.doc.take();
        let workers = std::mem::take(&mut st.workers);
        let direct = std::mem::take(&mut st.direct);
        drop(st);
        // A page still open now will never be finished: discard it.
        let open = direct
            .iter()
            .filter(|d| lock_page(d).take().is_some())
            .count();
        inner.lock().discarded += open as u32;
        let doc_path = match &inner.plan.target {
            Target::Document(p) => p.clone(),
            _ => PathBuf::new(),
        };
        if let Some((tx, handle)) = doc {
            let _ = tx.send(Msg::Finish(transfer_status));
            drop(tx);
            if handle.join().is_err() {
                inner.fail(None, &doc_path, EncodeError::WorkerLost);
            }
        }
        for (w, abort) in workers {
            // A page still open now will never be finished: end it (a no-op for pages that
            // already ended, whose encoder reads no further).
            let _ = abort.send(Msg::Finish(transfer_status));
            drop(abort);
            if w.join().is_err() {
                inner.fail(None, Path::new(""), EncodeError::WorkerLost);
            }
        }
        let mut st = inner.lock();
        let success = succeeded(transfer_status) && st.errors.is_empty();
        for (n, tmp, path) in std::mem::take(&mut st.held) {
            if success {
                match tmp.persist(&path, inner.plan.overwrite, inner.plan.durable) {
                    Ok(()) => {
                        st.kept.push((n, path));
                        st.pages += 1;
                    }
                    Err(error) => st.errors.push(OutputError {
                        page: Some(n),
                        path,
                        error,
                    }),
                }
            } else {
                st.discarded += 1;
            }
        }
        st.kept.sort();
        OutputReport {
            files: st.kept.iter().map(|(_, p)| p.clone()).collect(),
            pages: st.pages,
            discarded: st.discarded,
            errors: std::mem::take(&mut st.errors),
        }
    }
}

impl StreamFactory for FileOutput {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.open_page(page)
    }
}

fn succeeded(status: HResult) -> bool {
    status == wia::S_OK || status == wia::WIA_STATUS_END_OF_MEDIA
}

/// Encodes one page into its own file (TIFF and PDF as one-page documents).
fn encode_file(
    format: Format,
    page: &PageInfo,
    opts: &EncodeOptions,
    src: &mut QueueSource<'_>,
    file: &mut PartFile,
) -> Result<(), EncodeError> {
    if format.is_multi_page() {
        let mut doc = Document::new(format, &mut *file, opts, false)?;
        doc.add_page(page, src)?;
        doc.finish()?;
    } else {
        encode_page(
            format,
            page,
            opts,
            src,
            BufWriter::with_capacity(64 * 1024, &mut *file),
        )?;
    }
    Ok(())
}

fn page_worker(
    inner: &Inner,
    page: &PageInfo,
    path: PathBuf,
    mut tmp: PartFile,
    rx: Rx,
    status: &PageStatus,
) {
    let plan = &inner.plan;
    let mut src = QueueSource::new(&rx);
    let result = encode_file(plan.format, page, &plan.options, &mut src, &mut tmp);
    let n = page.number;
    match result {
        Ok(()) if plan.all_or_nothing => {
            inner.lock().held.push((n, tmp, path));
            status.finish(wia::S_OK);
        }
        Ok(()) => match tmp.persist(&path, plan.overwrite, plan.durable) {
            Ok(()) => {
                let mut st = inner.lock();
                st.kept.push((n, path));
                st.pages += 1;
                drop(st);
                status.finish(wia::S_OK);
            }
            Err(e) => status.finish(inner.fail(Some(n), &path, e)),
        },
        Err(e) if e.is_incomplete() => {
            inner.lock().discarded += 1;
            status.finish(e.hresult());
        }
        Err(e) => {
            // Stop the driver's writes first, then take the rest of the page off the queue.
            status.finish(inner.fail(Some(n), &path, e));
            src.drain();
        }
    }
}

fn document_worker(inner: &Weak<Inner>, plan: &OutputPlan, path: PathBuf, tmp: PartFile, rx: Rx) {
    // Records into the output's state, if the application still holds it.
    let update = |f: &mut dyn FnMut(&mut State)| {
        if let Some(inner) = inner.upgrade() {
            f(&mut inner.lock());
        }
    };
    let fail = |page: Option<u32>, error: EncodeError| {
        let hr = error.hresult();
        let mut error = Some(error);
        update(&mut |st| {
            if let Some(error) = error.take() {
                st.errors.push(OutputError {
                    page,
                    path: path.clone(),
                    error,
                });
            }
        });
        hr
    };
    let mut doc = match Document::new(plan.format, tmp, &plan.options, true) {
        Ok(d) => Some(d),
        Err(e) => {
            fail(None, e);
            None
        }
    };
    // If every sender vanishes without Finish, the application went away: keep what is
    // complete (unless all_or_nothing).
    let mut transfer_status = wia::E_ABORT;
    let mut failed = false;
    while let Some(msg) = rx.recv() {
        match msg {
            Msg::Begin(page, status) => {
                let mut src = QueueSource::new(&rx);
                let r = match doc.as_mut() {
                    Some(d) => d.add_page(&page, &mut src),
                    None => Err(EncodeError::Unsupported(
                        "the document could not be started".into(),
                    )),
                };
                match r {
                    Ok(()) => {
                        update(&mut |st| st.pages += 1);
                        status.finish(wia::S_OK);
                    }
                    Err(e) if e.is_incomplete() => {
                        update(&mut |st| st.discarded += 1);
                        status.finish(e.hresult());
                    }
                    Err(e) => {
                        failed = true;
                        status.finish(fail(Some(page.number), e));
                        src.drain();
                    }
                }
                if let Some(s) = src.finish() {
                    // The transfer ended while this page was open: it was cut off above.
                    transfer_status = s;
                    break;
                }
            }
            Msg::Finish(s) => {
                transfer_status = s;
                break;
            }
            Msg::Data(_) | Msg::End(_) => {}
        }
    }
    let Some(doc) = doc else { return };
    let pages = doc.pages();
    if pages == 0 {
        return; // no complete page: no file (the temporary file goes with `doc`)
    }
    let success = succeeded(transfer_status) && !failed;
    if plan.all_or_nothing && !success {
        update(&mut |st| {
            st.pages -= pages;
            st.discarded += pages;
        });
        return;
    }
    let saved = doc
        .finish()
        .and_then(|tmp| tmp.persist(&path, plan.overwrite, plan.durable));
    match saved {
        Ok(()) => update(&mut |st| st.kept.push((0, path.clone()))),
        Err(e) => {
            update(&mut |st| st.pages -= pages);
            fail(None, e);
        }
    }
}

/// The [`PageSink`] a [`FileOutput`] hands out.
struct FileSink {
    writer: PageWriter,
    done: mpsc::Receiver<HResult>,
    wait: bool,
}

impl PageSink for FileSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.writer.write(data)
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        let FileSink { writer, done, wait } = *self;
        let page = match writer.close(status) {
            Ok(p) => p,
            Err(hr) if status == wia::S_OK => return hr,
            Err(_) => return wia::S_OK,
        };
        if status != wia::S_OK {
            return wia::S_OK; // discarding an incomplete page cannot fail
        }
        if wait {
            return match done.recv() {
                Ok(hr) if hr.is_failure() => hr,
                Ok(_) => wia::S_OK,
                Err(_) => wia::E_FAIL,
            };
        }
        page.failed().unwrap_or(wia::S_OK)
    }
}

/// A page [`DirectSink`] writes, shared with the output so `finish` can discard it.
type OpenDirect = Arc<Mutex<Option<DirectPage>>>;

fn lock_page(p: &OpenDirect) -> MutexGuard<'_, Option<DirectPage>> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

struct DirectPage {
    file: PartFile,
    raw: RawPage,
    path: PathBuf,
}

/// The raster a page is written as by a [`DirectSink`], if it can be: PNM of known size,
/// where the file is the header and the driver's bytes. `durable` with pipelining keeps the
/// encoder thread, so the `fsync` overlaps the next page instead of holding up the driver.
fn direct_raster(plan: &OutputPlan, page: &PageInfo) -> Option<Raster> {
    if plan.format != Format::Pnm || (plan.durable && plan.pipeline > 0) {
        return None;
    }
    match page.data {
        PageData::Raster {
            pixel,
            width,
            height: Some(height),
        } if width > 0 && height > 0 => Some(Raster {
            pixel,
            width,
            height,
            dpi: page.dpi,
        }),
        _ => None,
    }
}

/// The [`PageSink`] for a raw PNM page: writes go to the file on the driver's thread. An
/// encoder thread would add two copies of the page and a thread hand-off per write for
/// nothing (`bench/sane-vs-scanimage.sh`); the file system's page cache is the buffer, and a
/// slow disk holds up the driver's writes just as a full queue would.
struct DirectSink {
    inner: Arc<Inner>,
    number: u32,
    page: OpenDirect,
    /// Why the page failed, once it has (the error is in the report).
    failed: Option<HResult>,
}

impl DirectSink {
    /// Takes the page out of the output's open pages; `None` if `finish` discarded it.
    fn take(&self) -> Option<DirectPage> {
        let p = lock_page(&self.page).take();
        self.inner
            .lock()
            .direct
            .retain(|d| !Arc::ptr_eq(d, &self.page));
        p
    }
}

impl PageSink for DirectSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Some(hr) = self.failed {
            return Err(hr);
        }
        let mut g = lock_page(&self.page);
        let Some(p) = g.as_mut() else {
            return Err(wia::E_ABORT);
        };
        let Err(e) = p.raw.write(data, &mut p.file) else {
            return Ok(());
        };
        drop(g);
        let path = self.take().map(|p| p.path).unwrap_or_default();
        let hr = self.inner.fail(Some(self.number), &path, e);
        self.failed = Some(hr);
        Err(hr)
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        if let Some(hr) = self.failed {
            return if status == wia::S_OK { hr } else { wia::S_OK };
        }
        let Some(DirectPage {
            mut file,
            raw,
            path,
        }) = self.take()
        else {
            // `finish` discarded it already.
            return if status == wia::S_OK {
                wia::E_ABORT
            } else {
                wia::S_OK
            };
        };
        let inner = &self.inner;
        if status != wia::S_OK {
            inner.lock().discarded += 1;
            return wia::S_OK; // the temporary file goes with `file`
        }
        if let Err(e) = raw.finish(&mut file) {
            return inner.fail(Some(self.number), &path, e);
        }
        let plan = &inner.plan;
        if plan.all_or_nothing {
            inner.lock().held.push((self.number, file, path));
            return wia::S_OK;
        }
        match file.persist(&path, plan.overwrite, plan.durable) {
            Ok(()) => {
                let mut st = inner.lock();
                st.kept.push((self.number, path));
                st.pages += 1;
                wia::S_OK
            }
            Err(e) => inner.fail(Some(self.number), &path, e),
        }
    }
}

impl Drop for DirectSink {
    fn drop(&mut self) {
        // Dropped without `close`: the page is incomplete.
        if self.failed.is_none() && self.take().is_some() {
            self.inner.lock().discarded += 1;
        }
    }
}

/// What [`FileTransfer::on_message`] calls.
type MessageHook = Box<dyn FnMut(&WiaTransferParams) -> HResult + Send>;

/// A ready-made application: every page goes to a [`FileOutput`]; progress messages go to
/// an optional callback (its answer is the transfer's: S_FALSE cancels).
pub struct FileTransfer {
    output: FileOutput,
    on_message: Option<MessageHook>,
}

impl FileTransfer {
    /// Pages to `output`; call `output.finish(outcome.result)` after the transfer.
    pub fn new(output: FileOutput) -> Self {
        FileTransfer {
            output,
            on_message: None,
        }
    }

    /// Also passes every message (STATUS, NEW_PAGE, END_OF_STREAM, END_OF_TRANSFER) to `f`.
    pub fn on_message(
        mut self,
        f: impl FnMut(&WiaTransferParams) -> HResult + Send + 'static,
    ) -> Self {
        self.on_message = Some(Box::new(f));
        self
    }
}

impl TransferCallback for FileTransfer {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.output.open_page(page)
    }

    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult {
        match self.on_message.as_mut() {
            Some(f) => f(params),
            None => wia::S_OK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::{PixelFormat, Side, Source};

    fn page(number: u32, height: u32) -> PageInfo {
        PageInfo {
            number,
            sheet: number,
            side: Side::Front,
            source: Source::Feeder,
            data: PageData::Raster {
                pixel: PixelFormat::Gray8,
                width: 10,
                height: Some(height),
            },
            dpi: (300, 300),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn open(output: &FileOutput, number: u32, height: u32) -> Box<dyn PageSink> {
        match output.open_page(&page(number, height)) {
            AppStream::Stream(s) => s,
            _ => panic!("a stream for page {number}"),
        }
    }

    #[test]
    fn raw_pnm_pages_are_written_on_the_driver_thread_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("p-{n}.pnm");
        let output = OutputPlan::new(pattern.to_str().unwrap(), None)
            .unwrap()
            .start()
            .unwrap();
        // Page 1: complete, in uneven pieces; in place as soon as it is closed.
        let mut s = open(&output, 1, 3);
        assert!(s.write(&[5; 13]).is_ok() && s.write(&[6; 17]).is_ok());
        assert_eq!(s.close(wia::S_OK), wia::S_OK);
        assert_eq!(names(dir.path()), ["p-1.pnm"]);
        let file = std::fs::read(dir.path().join("p-1.pnm")).unwrap();
        assert_eq!(
            &file[..],
            &[&b"P5\n10 3\n255\n"[..], &[5; 13], &[6; 17]].concat()[..]
        );
        // Page 2: dropped mid-page; page 3: cancelled.
        let mut s = open(&output, 2, 3);
        assert!(s.write(&[1; 10]).is_ok());
        drop(s);
        let mut s = open(&output, 3, 3);
        assert!(s.write(&[1; 10]).is_ok());
        assert_eq!(s.close(wia::S_FALSE), wia::S_OK);
        // Page 4: still open when the output finishes; its late close hears it was not kept.
        let mut s = open(&output, 4, 3);
        assert!(s.write(&[1; 10]).is_ok());
        let report = output.finish(wia::S_FALSE);
        assert_eq!(
            (report.pages, report.discarded),
            (1, 3),
            "{:?}",
            report.errors
        );
        assert!(report.is_ok());
        assert!(s.write(&[1; 10]).is_err());
        assert!(s.close(wia::S_OK).is_failure());
        assert_eq!(names(dir.path()), ["p-1.pnm"]);
    }

    #[test]
    fn raw_pnm_pages_of_the_wrong_length_fail_and_leave_no_file() {
        let dir = tempfile::tempdir().unwrap();
        for (i, (height, bytes)) in [(3u32, 25usize), (3, 30 + 1), (3, 20)]
            .into_iter()
            .enumerate()
        {
            let path = dir.path().join(format!("x{i}.pnm"));
            let output = OutputPlan::new(path.to_str().unwrap(), None)
                .unwrap()
                .start()
                .unwrap();
            let mut s = open(&output, 1, height);
            let wrote = s.write(&vec![1; bytes]);
            let closed = s.close(wia::S_OK);
            // Too much data fails the write; too little fails the close.
            assert!(wrote.is_err() || closed.is_failure(), "{i}");
            let report = output.finish(wia::S_OK);
            assert_eq!(report.errors.len(), 1, "{i}: {:?}", report.errors);
            assert_eq!(report.pages, 0);
            assert_eq!(names(dir.path()), Vec::<String>::new(), "{i}");
        }
    }
}
