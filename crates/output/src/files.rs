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
//! - Pipelining is the page pipeline's (`scanwire-pipeline`): each page is encoded on its own
//!   thread while the driver writes it; closing a page returns at once and the page is
//!   finished in the background while the next one is scanned, with at most
//!   [`OutputPlan::pipeline`] pages in flight. A page that fails to be saved makes the next
//!   `open_page` fail the transfer, and is listed in the [`OutputReport`]. With
//!   `pipeline = 0` closing a page waits for it, so the relay's page count is exact. PNM pages
//!   of known height need no encoding: they are written on the driver's thread and closing
//!   them renames them.

use crate::naming::{NamePattern, PatternError};
use crate::partfile::{parent, Overwrite, PartFile};
use scanwire_codecs::{DocumentOutput, EncodeError, EncodeOptions, Format, FormatError};
use scanwire_core::device::PageInfo;
use scanwire_core::transfer::{AppStream, StreamFactory, TransferCallback};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_pipeline::{
    succeeded, Destination, PageDone, Pipeline, PipelineOptions, Report, Stages,
};
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

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

impl Target {
    /// The file page `n` of document `doc` goes to (the document's for one-file targets).
    fn path(&self, doc: u32, n: u32) -> PathBuf {
        match self {
            Target::Pages(p) => p.render_in(doc, n),
            Target::Document(p) | Target::Single(p) => document_path(p, doc),
        }
    }
}

/// The name of document `doc` of a one-file target: `{doc}` in the name is replaced by the
/// number; otherwise the first document keeps the name asked for (a job without job
/// separators is unchanged) and the later ones get `-2`, `-3`... before the extension.
fn document_path(path: &std::path::Path, doc: u32) -> PathBuf {
    let text = path.to_string_lossy();
    if text.contains("{doc}") {
        return PathBuf::from(text.replace("{doc}", &doc.to_string()));
    }
    if doc <= 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{doc}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{doc}"),
    };
    path.with_file_name(name)
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
#[derive(Clone)]
pub struct OutputPlan {
    /// The file or files.
    pub target: Target,
    /// Their format.
    pub format: Format,
    /// Encoder settings.
    pub options: EncodeOptions,
    /// Per-page processing before encoding (none by default).
    pub stages: Stages,
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
    /// disk. The reasoning is in the crate's `partfile` module.
    pub durable: bool,
    /// Bytes queued per page between the driver and the encoder before the driver's writes
    /// wait (default 8 MiB). This bounds memory, and also how far scanning can run ahead of
    /// an encoder slower than the scanner: a queue larger than a page lets whole pages
    /// overlap.
    pub queue_bytes: usize,
    /// Told when each page is settled, after its stages (progress).
    pub page_done: Option<PageDone>,
}

impl fmt::Debug for OutputPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputPlan")
            .field("target", &self.target)
            .field("format", &self.format)
            .field(
                "stages",
                &self.stages.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
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
        if pattern.has_document() && !pattern.has_number() && !format.is_multi_page() {
            return Err(PlanError::Pattern(PatternError {
                pattern: path.to_string(),
                detail: format!(
                    "{{doc}} numbers documents, but a {format} file holds one page: add a \
                     page number ({{n}})"
                ),
            }));
        }
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
            stages: Vec::new(),
            overwrite: Overwrite::default(),
            all_or_nothing: false,
            durable: false,
            pipeline: 2,
            queue_bytes: 8 << 20,
            page_done: None,
        })
    }

    /// Whether the plan can take more than one page.
    pub fn takes_many_pages(&self) -> bool {
        !matches!(self.target, Target::Single(_))
    }

    /// Checks the plan (options, directory, existing files) and opens the output.
    pub fn start(mut self) -> Result<FileOutput, PlanError> {
        self.options.validate().map_err(PlanError::Options)?;
        let first = self.target.path(1, 1);
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
        // Files are written (or if a document is the format's, encoded) only under the
        // plan's target: a one-image format into a document target cannot happen, since
        // `new` picks `Document` only for multi-page formats.
        let opts = PipelineOptions {
            format: self.format,
            encode: self.options.clone(),
            stages: self.stages.clone(),
            pages_in_flight: Some(self.pipeline),
            queue_bytes: self.queue_bytes,
            coalesce: 256 * 1024,
            cancel: None,
            // With `durable` and pipelining the encoder thread stays, so the `fsync`
            // overlaps the next page instead of holding up the driver.
            direct: !(self.durable && self.pipeline > 0),
            page_done: self.page_done.clone(),
        };
        let files = Files {
            plan: self,
            state: Mutex::new(FilesState::default()),
        };
        let pipeline = Pipeline::new(files, opts).map_err(PlanError::Options)?;
        Ok(FileOutput { pipeline })
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
/// use scanwire_output::{FileTransfer, OutputPlan};
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
    pipeline: Pipeline<Files>,
}

impl fmt::Debug for FileOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plan = &self.pipeline.destination().plan;
        f.debug_struct("FileOutput")
            .field("target", &plan.target)
            .field("format", &plan.format)
            .finish()
    }
}

impl FileOutput {
    /// A stream for `page` (what `get_next_stream` answers): `Fail` if the page cannot be
    /// stored or an earlier page failed to be saved.
    pub fn open_page(&self, page: &PageInfo) -> AppStream {
        self.pipeline.open_page(page)
    }

    /// Ends the output once the transfer is over: waits for the pages still being encoded,
    /// then completes (or, after a failed transfer with `all_or_nothing`, discards) the
    /// multi-page file. `transfer_status` is the transfer's result (`Outcome::result`, or
    /// END_OF_TRANSFER's `hrErrorStatus`): S_OK or WIA_STATUS_END_OF_MEDIA is success.
    ///
    /// Call it once; later calls return an empty report.
    pub fn finish(&self, transfer_status: HResult) -> OutputReport {
        let report = self.pipeline.finish(transfer_status);
        let files = self.pipeline.destination();
        let mut st = files.lock();
        if st.finished {
            return OutputReport::default();
        }
        st.finished = true;
        let target = &files.plan.target;
        let mut errors: Vec<OutputError> = report
            .errors
            .into_iter()
            .map(|e| OutputError {
                page: e.page,
                path: match (e.page, target) {
                    (Some(n), _) => target.path(st.doc, n),
                    (None, Target::Document(p)) => document_path(p, st.doc),
                    (None, _) => PathBuf::new(),
                },
                error: e.error,
            })
            .collect();
        errors.append(&mut st.errors);
        st.kept.sort();
        OutputReport {
            files: st.kept.iter().map(|(_, p)| p.clone()).collect(),
            pages: report.pages,
            discarded: report.discarded,
            errors,
        }
    }
}

impl StreamFactory for FileOutput {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.open_page(page)
    }
}

/// The file destination behind a [`FileOutput`].
struct Files {
    plan: OutputPlan,
    state: Mutex<FilesState>,
}

struct FilesState {
    /// The document pages go to now (job separators start the next).
    doc: u32,
    /// Page outputs opened (a `Single` target takes one).
    opened: u32,
    /// (page, or the number of a document, final name)
    kept: Vec<(u32, PathBuf)>,
    /// Complete page files held back by `all_or_nothing`.
    held: Vec<(u32, PartFile, PathBuf)>,
    /// Complete documents held back by `all_or_nothing`: (pages, file, final name).
    held_docs: Vec<(u32, PartFile, PathBuf)>,
    /// Files that failed at the end (held pages that could not be renamed).
    errors: Vec<OutputError>,
    /// `FileOutput::finish` has reported.
    finished: bool,
}

impl Default for FilesState {
    fn default() -> Self {
        FilesState {
            doc: 1,
            opened: 0,
            kept: Vec::new(),
            held: Vec::new(),
            held_docs: Vec::new(),
            errors: Vec::new(),
            finished: false,
        }
    }
}

impl Files {
    fn lock(&self) -> MutexGuard<'_, FilesState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One page's temporary file and the name it gets when complete.
struct PageFile {
    file: PartFile,
    path: PathBuf,
}

impl Write for PageFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.file.write(data)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.file.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Destination for Files {
    type Page = PageFile;
    type Document = PartFile;

    fn one_document(&self) -> bool {
        !matches!(self.plan.target, Target::Pages(_))
    }

    fn page_document(out: &mut PageFile) -> Option<&mut dyn DocumentOutput> {
        Some(&mut out.file)
    }

    fn open_page(&self, page: &PageInfo) -> Result<Self::Page, EncodeError> {
        let plan = &self.plan;
        let (path, opened) = {
            let mut st = self.lock();
            st.opened += 1;
            (plan.target.path(st.doc, page.number), st.opened)
        };
        if let Target::Single(p) = &plan.target {
            if opened > 1 {
                return Err(EncodeError::Unsupported(format!(
                    "{} holds one page and the device sent another; name the files with a page number ({{n}} or %d) or use tiff or pdf",
                    p.display()
                )));
            }
        }
        if plan.overwrite == Overwrite::Refuse && path.exists() {
            return Err(EncodeError::Exists(path));
        }
        let file = PartFile::create(&path)?;
        Ok(PageFile { file, path })
    }

    fn keep_page(&self, page: &PageInfo, out: Self::Page) -> Result<(), EncodeError> {
        let PageFile { file, path } = out;
        let plan = &self.plan;
        if plan.all_or_nothing {
            self.lock().held.push((page.number, file, path));
            return Ok(());
        }
        file.persist(&path, plan.overwrite, plan.durable)?;
        self.lock().kept.push((page.number, path));
        Ok(())
    }

    fn drop_page(&self, _page: &PageInfo, _out: Self::Page, _why: &EncodeError) {
        // The temporary file goes with `out`.
    }

    fn start_document(&self, n: u32) {
        self.lock().doc = n;
    }

    fn open_document(&self) -> Result<PartFile, EncodeError> {
        let path = self.plan.target.path(self.lock().doc, 1);
        if self.plan.overwrite == Overwrite::Refuse && path.exists() {
            return Err(EncodeError::Exists(path));
        }
        PartFile::create(&path)
    }

    fn keep_document(
        &self,
        doc: PartFile,
        pages: u32,
        transfer: HResult,
    ) -> Result<bool, EncodeError> {
        let plan = &self.plan;
        if plan.all_or_nothing && !succeeded(transfer) {
            return Ok(false);
        }
        let mut st = self.lock();
        let path = plan.target.path(st.doc, 1);
        if plan.all_or_nothing {
            // A document a job separator ended is kept before the transfer's result is
            // known: it waits for `finish` with the others.
            st.held_docs.push((pages, doc, path));
            return Ok(true);
        }
        drop(st);
        doc.persist(&path, plan.overwrite, plan.durable)?;
        // Documents sort by their number, after nothing (pages are 1..).
        let n = self.lock().doc;
        self.lock().kept.push((n, path));
        Ok(true)
    }

    fn drop_document(&self, _why: &EncodeError) {}

    fn finish(&self, transfer: HResult, report: &mut Report) {
        let mut st = self.lock();
        let success = succeeded(transfer) && report.errors.is_empty();
        for (i, (pages, tmp, path)) in std::mem::take(&mut st.held_docs).into_iter().enumerate() {
            if !success {
                report.pages -= pages;
                report.discarded += pages;
                continue;
            }
            if let Err(error) = tmp.persist(&path, self.plan.overwrite, self.plan.durable) {
                report.pages -= pages;
                st.errors.push(OutputError {
                    page: None,
                    path,
                    error,
                });
            } else {
                st.kept.push((i as u32 + 1, path));
            }
        }
        for (n, tmp, path) in std::mem::take(&mut st.held) {
            if !success {
                report.pages -= 1;
                report.discarded += 1;
                continue;
            }
            if let Err(error) = tmp.persist(&path, self.plan.overwrite, self.plan.durable) {
                report.pages -= 1;
                st.errors.push(OutputError {
                    page: Some(n),
                    path,
                    error,
                });
            } else {
                st.kept.push((n, path));
            }
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
    use scanwire_core::device::{PageData, PixelFormat, Side, Source};
    use scanwire_core::transfer::PageSink;
    use std::path::Path;

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

#[cfg(test)]
mod separator_tests {
    use super::*;
    use scanwire_core::device::{PageData, PixelFormat, Side, Source};
    use scanwire_pipeline::{PageImage, Stage, StageError, StageOutput};
    use std::sync::Arc;

    /// Pages whose first byte is 0 are job separators (as blank sheets with `--blank split`).
    struct Separate;

    impl Stage for Separate {
        fn name(&self) -> &str {
            "separate"
        }
        fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
            Ok(vec![page])
        }
        fn process_outputs(&self, page: PageImage) -> Result<Vec<StageOutput>, StageError> {
            Ok(if page.data[0] == 0 {
                vec![StageOutput::Separator]
            } else {
                vec![StageOutput::Page(page)]
            })
        }
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Scans pages of these first bytes into `path` (0: a separator).
    fn run(path: &std::path::Path, pages: &[u8], all_or_nothing: bool, result: HResult) {
        let mut plan = OutputPlan::new(path.to_str().unwrap(), None).unwrap();
        plan.stages = vec![Arc::new(Separate)];
        plan.all_or_nothing = all_or_nothing;
        let output = plan.start().unwrap();
        for (i, &b) in pages.iter().enumerate() {
            let n = i as u32 + 1;
            let page = PageInfo {
                number: n,
                sheet: n,
                side: Side::Front,
                source: Source::Feeder,
                data: PageData::Raster {
                    pixel: PixelFormat::Gray8,
                    width: 8,
                    height: Some(8),
                },
                dpi: (100, 100),
            };
            let AppStream::Stream(mut s) = output.open_page(&page) else {
                panic!("page {n}")
            };
            s.write(&[b; 64]).unwrap();
            assert_eq!(s.close(wia::S_OK), wia::S_OK);
        }
        let report = output.finish(result);
        assert!(report.is_ok(), "{:?}", report.errors);
    }

    #[test]
    fn documents_are_named_out_out_2_and_by_doc() {
        let dir = tempfile::tempdir().unwrap();
        let pages = [0, 9, 0, 0, 9, 9, 0];
        run(&dir.path().join("out.pdf"), &pages, false, wia::S_OK);
        assert_eq!(names(dir.path()), ["out-2.pdf", "out.pdf"]);
        let dir = tempfile::tempdir().unwrap();
        run(&dir.path().join("s-{doc}.tif"), &pages, false, wia::S_OK);
        assert_eq!(names(dir.path()), ["s-1.tif", "s-2.tif"]);
        let dir = tempfile::tempdir().unwrap();
        run(
            &dir.path().join("p-{doc}-{n}.png"),
            &pages,
            false,
            wia::S_OK,
        );
        assert_eq!(names(dir.path()), ["p-1-1.png", "p-2-2.png", "p-2-3.png"]);
        // All or nothing: every document waits for the transfer's result.
        let dir = tempfile::tempdir().unwrap();
        run(&dir.path().join("a.pdf"), &pages, true, wia::S_FALSE);
        assert_eq!(names(dir.path()), Vec::<String>::new());
        run(&dir.path().join("a.pdf"), &pages, true, wia::S_OK);
        assert_eq!(names(dir.path()), ["a-2.pdf", "a.pdf"]);
    }

    #[test]
    fn doc_alone_in_a_one_page_format_is_refused() {
        let e = OutputPlan::new("x-{doc}.png", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("{doc}") && e.contains("{n}"), "{e}");
    }
}
