//! The pipeline: pages from the driver's thread to a [`Destination`], each page encoded on a
//! worker thread while the driver scans the next.
//!
//! ```text
//!  driver thread                       worker thread (one per page; one per document)
//!  get_next_stream ─► Pipeline::open_page ─► Destination::open_page / open_document
//!  StreamHandle::write ─► PipeSink ─► pipe (bounded) ─► [collect ─► stages] ─► encoder ─► Page / Document
//!  StreamHandle drop ─► PipeSink::close(status)         keep_page / drop_page, page_added, keep_document
//! ```
//!
//! The rules, the same for every destination:
//! - A page the driver does not finish (cancelled, failed) is dropped: its page output is
//!   dropped, or it is cut off the document again. A complete page is kept.
//! - A page that fails to be encoded or kept fails the transfer: the driver hears it from its
//!   next write or from closing the page, and the next `open_page` fails.
//! - Which route a page takes is the format's property: one output per page for one-image
//!   formats, one document for multi-page formats ([`Format::is_multi_page`]).
//! - Without stages a page's output is opened on the driver's thread before its bytes arrive
//!   (errors such as "refusing to overwrite" come before anything is scanned) and the page
//!   streams through the encoder; raw PNM pages of known height are even written on the
//!   driver's thread ([`PipelineOptions::direct`]). With stages a worker per page collects
//!   the whole page and runs the stages, so pages are processed in parallel (up to
//!   `pages_in_flight`); then, in page order, it opens one output per resulting page, or hands
//!   the pages to the document's worker.

use crate::destination::Destination;
use crate::pipe::{pipe, Msg, PageStatus, PageWriter, QueueSource, Rx, Tx};
use crate::stage::{apply, PageImage, StageOutput, Stages};
use scanwire_codecs::{
    check_page, encode_page, ChunkSource, Document, EncodeError, EncodeOptions, Format, RawPnm,
    SliceSource, TextLayer,
};
use scanwire_core::device::{PageData, PageInfo};
use scanwire_core::transfer::{AppStream, CancelHandle, PageSink, StreamFactory};
use scanwire_core::wia::{self, HResult};
use std::collections::VecDeque;
use std::io::{BufWriter, Write};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;

/// How a pipeline runs.
#[derive(Clone)]
pub struct PipelineOptions {
    /// The output format.
    pub format: Format,
    /// Encoder settings.
    pub encode: EncodeOptions,
    /// Per-page processing before encoding, in order (none by default).
    pub stages: Stages,
    /// Pages encoded in the background at once, each on its own thread; opening another page
    /// first waits for the oldest. `Some(0)`: closing a page waits for it, so the relay's page
    /// count is exact. `None`: no limit (a destination whose pages wait for a reader).
    pub pages_in_flight: Option<usize>,
    /// Bytes queued per page between the driver and its worker before the driver's writes
    /// wait: bounds memory, and how far scanning runs ahead of a slower encoder.
    pub queue_bytes: usize,
    /// Driver writes are collected into messages of this size.
    pub coalesce: usize,
    /// Once cancelled, a worker that stopped is expected: the driver's writes succeed and
    /// it learns of the cancel at its next callback, as WIA has it.
    pub cancel: Option<CancelHandle>,
    /// Raw PNM pages of known height are written on the driver's thread: the output is the
    /// header and the driver's bytes, and a worker would add two copies and a hand-off per
    /// write for nothing (`bench/sane-vs-scanimage.sh`).
    pub direct: bool,
    /// Told when each driver page is settled: processed, and its outputs kept (S_OK) or
    /// not (why). That is later than its END_OF_STREAM when stages run, so a progress display
    /// learns here when a page is really done. Not called for raw PNM pages written on the
    /// driver's thread ([`PipelineOptions::direct`]), which are done when closed.
    pub page_done: Option<PageDone>,
}

/// See [`PipelineOptions::page_done`]: the driver's page and its result.
pub type PageDone = Arc<dyn Fn(&PageInfo, HResult) + Send + Sync>;

impl PipelineOptions {
    /// `format` with default settings: two pages in flight, 8 MiB queues, direct PNM.
    pub fn new(format: Format) -> Self {
        PipelineOptions {
            format,
            encode: EncodeOptions::default(),
            stages: Vec::new(),
            pages_in_flight: Some(2),
            queue_bytes: 8 << 20,
            coalesce: 256 * 1024,
            cancel: None,
            direct: true,
            page_done: None,
        }
    }
}

/// A page or document that could not be stored.
#[derive(Debug)]
pub struct PageError {
    /// The page (`None` for the document as a whole).
    pub page: Option<u32>,
    /// Why.
    pub error: EncodeError,
}

/// What a pipeline kept, dropped and failed.
#[derive(Debug, Default)]
pub struct Report {
    /// Pages kept.
    pub pages: u32,
    /// Pages not kept: incomplete, discarded by a stage, or by the destination.
    pub discarded: u32,
    /// Pages or the document that could not be stored.
    pub errors: Vec<PageError>,
}

/// One transfer's pages on their way to a destination (a cheap handle: clones share it).
/// Its [`Pipeline::open_page`] is what `get_next_stream` answers.
pub struct Pipeline<D: Destination> {
    shared: Arc<Shared<D>>,
}

impl<D: Destination> Clone for Pipeline<D> {
    fn clone(&self) -> Self {
        Pipeline {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<D: Destination> {
    dest: Arc<D>,
    opts: PipelineOptions,
    state: Mutex<State<D>>,
    turn: Turnstile,
}

struct State<D: Destination> {
    /// Driver pages opened so far.
    opened: u32,
    /// Page workers still running, with a sender to end a page the driver never closes.
    workers: VecDeque<(JoinHandle<()>, Tx)>,
    /// The document's queue and worker.
    doc: Option<(Tx, JoinHandle<()>)>,
    /// Pages written on the driver's thread that are still open.
    direct: Vec<OpenDirect<D::Page>>,
    report: Report,
    /// `end` was called: no more pages.
    ended: bool,
    /// The transfer's status given to `end`.
    transfer: HResult,
    /// `wait` has run.
    waited: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves bookkeeping that is still consistent enough.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<D: Destination> Shared<D> {
    fn state(&self) -> MutexGuard<'_, State<D>> {
        lock(&self.state)
    }

    /// Records a failure and returns its HRESULT.
    fn fail(&self, page: Option<u32>, error: EncodeError) -> HResult {
        let hr = error.hresult();
        self.state().report.errors.push(PageError { page, error });
        hr
    }
}

impl<D: Destination> Pipeline<D> {
    /// A pipeline of `opts` into `dest`.
    pub fn new(dest: D, opts: PipelineOptions) -> Result<Self, EncodeError> {
        Self::shared(Arc::new(dest), opts)
    }

    /// A pipeline into a destination the caller keeps a handle to as well.
    pub fn shared(dest: Arc<D>, opts: PipelineOptions) -> Result<Self, EncodeError> {
        opts.encode.validate()?;
        Ok(Pipeline {
            shared: Arc::new(Shared {
                dest,
                opts,
                state: Mutex::new(State {
                    opened: 0,
                    workers: VecDeque::new(),
                    doc: None,
                    direct: Vec::new(),
                    report: Report::default(),
                    ended: false,
                    transfer: wia::S_OK,
                    waited: false,
                }),
                turn: Turnstile::default(),
            }),
        })
    }

    /// The destination.
    pub fn destination(&self) -> &D {
        &self.shared.dest
    }

    /// The options it runs with.
    pub fn options(&self) -> &PipelineOptions {
        &self.shared.opts
    }

    /// A stream for `page` (what `get_next_stream` answers): `Fail` if the page cannot be
    /// stored or an earlier page failed to be.
    pub fn open_page(&self, page: &PageInfo) -> AppStream {
        match self.try_open(page) {
            Ok(sink) => AppStream::Stream(sink),
            Err(hr) => AppStream::Fail(hr),
        }
    }

    fn try_open(&self, page: &PageInfo) -> Result<Box<dyn PageSink>, HResult> {
        let sh = &self.shared;
        let opts = &sh.opts;
        let document = opts.format.is_multi_page() && sh.dest.one_document();
        let staged = !opts.stages.is_empty();
        // Document pages without stages stream through the document's one worker; every
        // other page has its own.
        if !document || staged {
            self.limit_in_flight();
        }
        let seq = {
            let mut st = sh.state();
            if st.ended {
                return Err(wia::E_UNEXPECTED);
            }
            if let Some(e) = st.report.errors.first() {
                return Err(e.error.hresult());
            }
            st.opened += 1;
            st.opened
        };
        // With stages the encoder sees the processed page, whose checks come later.
        if !staged {
            if let Err(e) = check_page(opts.format, page, document) {
                return Err(sh.fail(Some(page.number), e));
            }
        }
        let (status, done) = PageStatus::new();
        if let Some(f) = &opts.page_done {
            let (f, page) = (f.clone(), page.clone());
            status.on_finish(move |hr| f(&page, hr));
        }
        // A staged page that fails before its worker starts still takes its turn, or the pages
        // after it (and the document's end) would wait for it forever.
        let skip_turn = |hr: HResult| {
            if staged {
                drop(sh.turn.wait(seq));
            }
            hr
        };
        let route = if document {
            let doc = self.document_queue().map_err(skip_turn)?;
            if !staged {
                doc.send(Msg::Begin(Box::new(page.clone()), status.clone()))
                    .map_err(|_| self.gone())?;
                return Ok(self.sink(doc, status, done));
            }
            Route::Document { seq, doc }
        } else if staged {
            Route::Staged { seq }
        } else {
            let out = sh
                .dest
                .open_page(page)
                .map_err(|e| sh.fail(Some(page.number), e))?;
            match self.direct(page, out)? {
                Opened::Direct(sink) => return Ok(sink),
                Opened::Queued(out) => Route::Stream(out),
            }
        };
        let (tx, rx) = pipe(opts.queue_bytes);
        let abort = tx.clone();
        let worker = self.shared.clone();
        let worker_page = page.clone();
        let worker_status = status.clone();
        let handle = std::thread::Builder::new()
            .name(format!("scanwire-page-{}", page.number))
            .spawn(move || page_worker(&worker, &worker_page, route, rx, worker_status))
            .map_err(|e| {
                skip_turn(sh.fail(Some(page.number), EncodeError::io("the encoder thread")(e)))
            })?;
        sh.state().workers.push_back((handle, abort));
        Ok(self.sink(tx, status, done))
    }
}

/// How a page worker gets its output.
enum Route<P> {
    /// Opened on the driver's thread; the page streams through the encoder.
    Stream(P),
    /// Collected whole and run through the stages; outputs opened in page order (`seq`).
    Staged { seq: u32 },
    /// Collected whole and run through the stages; handed to the document's worker in page
    /// order (`seq`).
    Document { seq: u32, doc: Tx },
}

/// A page output, written directly or handed to a worker.
enum Opened<P> {
    Direct(Box<dyn PageSink>),
    Queued(P),
}

impl<D: Destination> Pipeline<D> {
    /// Waits for the oldest page worker while `pages_in_flight` are running.
    fn limit_in_flight(&self) {
        let sh = &self.shared;
        let Some(limit) = sh.opts.pages_in_flight else {
            // Unlimited: only forget workers that are done.
            sh.state().workers.retain(|(h, _)| !h.is_finished());
            return;
        };
        loop {
            let mut st = sh.state();
            if st.workers.len() < limit.max(1) {
                return;
            }
            let (oldest, _) = st.workers.pop_front().expect("non-empty");
            drop(st);
            if oldest.join().is_err() {
                sh.fail(None, EncodeError::WorkerLost);
            }
        }
    }

    /// What a failed hand-off to a worker means for the driver.
    fn gone(&self) -> HResult {
        match &self.shared.opts.cancel {
            Some(c) if c.is_cancelled() => wia::S_FALSE,
            _ => wia::WIA_ERROR_DESTINATION,
        }
    }

    fn sink(
        &self,
        tx: Tx,
        status: Arc<PageStatus>,
        done: mpsc::Receiver<HResult>,
    ) -> Box<dyn PageSink> {
        let opts = &self.shared.opts;
        let mut writer = PageWriter::new(tx, status).coalescing(opts.coalesce);
        if let Some(c) = &opts.cancel {
            writer = writer.cancelled_by(c.clone());
        }
        Box::new(PipeSink {
            writer,
            done,
            wait: opts.pages_in_flight == Some(0),
        })
    }

    /// The document's queue, opening the document and starting its worker on the first page.
    fn document_queue(&self) -> Result<Tx, HResult> {
        let sh = &self.shared;
        if let Some((tx, _)) = &sh.state().doc {
            return Ok(tx.clone());
        }
        let out = sh.dest.open_document().map_err(|e| sh.fail(None, e))?;
        let (tx, rx) = pipe(sh.opts.queue_bytes);
        // Weak: the pipeline holds the queue's sender, so a strong reference would keep both
        // alive forever if the application dropped the pipeline without ending it.
        let weak = Arc::downgrade(sh);
        let dest = sh.dest.clone();
        let opts = sh.opts.clone();
        let handle = std::thread::Builder::new()
            .name("scanwire-document".into())
            .spawn(move || document_worker(&weak, &dest, &opts, out, rx))
            .map_err(|e| sh.fail(None, EncodeError::io("the encoder thread")(e)))?;
        let out = tx.clone();
        sh.state().doc = Some((tx, handle));
        Ok(out)
    }

    /// Writes a raw PNM page of known height on the driver's thread, if it is one.
    fn direct(&self, page: &PageInfo, mut out: D::Page) -> Result<Opened<D::Page>, HResult> {
        let sh = &self.shared;
        let (pixel, width, height) = match page.data {
            PageData::Raster {
                pixel,
                width,
                height: Some(height),
            } if sh.opts.direct && sh.opts.format == Format::Pnm && width > 0 && height > 0 => {
                (pixel, width, height)
            }
            _ => return Ok(Opened::Queued(out)),
        };
        let raw = match RawPnm::new(pixel, width, height, &mut out) {
            Ok(raw) => raw,
            Err(e) => {
                sh.dest.drop_page(page, out, &e);
                return Err(sh.fail(Some(page.number), e));
            }
        };
        let open = Arc::new(Mutex::new(Some(Direct {
            out,
            raw,
            page: page.clone(),
        })));
        sh.state().direct.push(open.clone());
        Ok(Opened::Direct(Box::new(DirectSink {
            shared: sh.clone(),
            open,
            failed: None,
        })))
    }

    /// Ends the pipeline once the transfer is over (`transfer`: its result), without
    /// waiting: no more pages are opened, a page never closed ends incomplete, the document
    /// is completed in the background. The eSCL server calls this; files call
    /// [`Pipeline::finish`].
    pub fn end(&self, transfer: HResult) {
        let mut st = self.shared.state();
        if st.ended {
            return;
        }
        st.ended = true;
        st.transfer = transfer;
        if let Some((tx, _)) = &st.doc {
            if self.shared.opts.stages.is_empty() {
                let _ = tx.send(Msg::Finish(transfer));
            } else {
                // Page workers hand their pages over in turn: the end comes after the last.
                let (sh, tx, last) = (self.shared.clone(), tx.clone(), st.opened);
                let ender = move || {
                    let _turn = sh.turn.wait(last + 1);
                    let _ = tx.send(Msg::Finish(transfer));
                };
                if let Err(e) = std::thread::Builder::new()
                    .name("scanwire-document-end".into())
                    .spawn(ender)
                {
                    st.report.errors.push(PageError {
                        page: None,
                        error: EncodeError::io("the encoder thread")(e),
                    });
                }
            }
        }
        for (_, abort) in &st.workers {
            // A no-op for pages that already ended, whose worker reads no further.
            let _ = abort.send(Msg::Finish(transfer));
        }
    }

    /// Waits for every page and the document to be settled and returns the report. Call it
    /// after [`Pipeline::end`], once; later calls return an empty report.
    pub fn wait(&self) -> Report {
        let sh = &self.shared;
        let mut st = sh.state();
        if st.waited {
            return Report::default();
        }
        st.waited = true;
        let transfer = st.transfer;
        let doc = st.doc.take();
        let workers = std::mem::take(&mut st.workers);
        let direct = std::mem::take(&mut st.direct);
        drop(st);
        // A page still open now will never be finished: discard it.
        for d in direct {
            if let Some(Direct { out, page, .. }) = lock(&d).take() {
                sh.state().report.discarded += 1;
                let why = EncodeError::Incomplete {
                    status: wia::E_ABORT,
                };
                sh.dest.drop_page(&page, out, &why);
            }
        }
        if let Some((tx, handle)) = doc {
            drop(tx);
            if handle.join().is_err() {
                sh.fail(None, EncodeError::WorkerLost);
            }
        }
        for (w, abort) in workers {
            drop(abort);
            if w.join().is_err() {
                sh.fail(None, EncodeError::WorkerLost);
            }
        }
        let mut report = std::mem::take(&mut sh.state().report);
        sh.dest.finish(transfer, &mut report);
        report
    }

    /// [`Pipeline::end`], then [`Pipeline::wait`].
    pub fn finish(&self, transfer: HResult) -> Report {
        self.end(transfer);
        self.wait()
    }
}

impl<D: Destination> StreamFactory for Pipeline<D> {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.open_page(page)
    }
}

/// Whether a transfer's result means it succeeded (S_OK, or the feeder ran out).
pub fn succeeded(status: HResult) -> bool {
    status == wia::S_OK || status == wia::WIA_STATUS_END_OF_MEDIA
}

fn page_worker<D: Destination>(
    sh: &Arc<Shared<D>>,
    page: &PageInfo,
    route: Route<D::Page>,
    rx: Rx,
    status: Arc<PageStatus>,
) {
    let mut src = QueueSource::new(&rx);
    match route {
        Route::Stream(mut out) => {
            let r = encode_into::<D>(&sh.opts, page, &mut src, None, &mut out);
            match r {
                Ok(_) => match sh.dest.keep_page(page, out) {
                    Ok(()) => {
                        sh.state().report.pages += 1;
                        status.finish(wia::S_OK);
                    }
                    Err(e) => status.finish(sh.fail(Some(page.number), e)),
                },
                Err(e) => {
                    if e.is_incomplete() {
                        sh.state().report.discarded += 1;
                        status.finish(e.hresult());
                    } else {
                        // Stop the driver's writes first, then take the rest of the page.
                        status.finish(e.hresult());
                        src.drain();
                    }
                    drop(src);
                    drop(rx);
                    sh.dest.drop_page(page, out, &e);
                    if !e.is_incomplete() {
                        sh.fail(Some(page.number), e);
                    }
                }
            }
        }
        Route::Document { seq, doc } => {
            let processed = staged(&sh.opts, page, &mut src);
            if processed.is_err() {
                src.drain();
            }
            drop(src);
            drop(rx);
            let _turn = sh.turn.wait(seq);
            // The document's worker settles the page and finishes its status.
            let msg = Msg::Processed(Box::new(page.clone()), processed, status.clone());
            if doc.send(msg).is_err() {
                status.finish(match &sh.opts.cancel {
                    Some(c) if c.is_cancelled() => wia::S_FALSE,
                    _ => wia::WIA_ERROR_DESTINATION,
                });
            }
        }
        Route::Staged { seq } => {
            let processed = staged(&sh.opts, page, &mut src);
            if processed.is_err() {
                src.drain();
            }
            drop(src);
            drop(rx);
            let _turn = sh.turn.wait(seq);
            let hr = match processed {
                Ok(outputs) => {
                    let mut hr = wia::S_OK;
                    if !outputs.iter().any(|o| matches!(o, StageOutput::Page(_))) {
                        // A stage discarded it (a blank page).
                        sh.state().report.discarded += 1;
                    }
                    for o in outputs {
                        let StageOutput::Page(p) = o else {
                            sh.turn.separator();
                            continue;
                        };
                        if let Some(doc) = sh.turn.page_document() {
                            sh.dest.start_document(doc);
                        }
                        let r = store_image(sh, p);
                        if hr == wia::S_OK {
                            hr = r;
                        }
                    }
                    hr
                }
                Err(e) if e.is_incomplete() => {
                    sh.state().report.discarded += 1;
                    e.hresult()
                }
                Err(e) => sh.fail(Some(page.number), e),
            };
            status.finish(hr);
        }
    }
}

/// Encodes one page into its own output: a one-image format streamed (any text dropped), a
/// multi-page format as a one-page document (the output must seek).
fn encode_into<D: Destination>(
    opts: &PipelineOptions,
    page: &PageInfo,
    src: &mut dyn ChunkSource,
    text: Option<&TextLayer>,
    out: &mut D::Page,
) -> Result<(), EncodeError> {
    if opts.format.is_multi_page() {
        let Some(doc_out) = D::page_document(out) else {
            return Err(EncodeError::Unsupported(format!(
                "{} needs an output that can seek; this one cannot",
                opts.format
            )));
        };
        let mut doc = Document::new(opts.format, doc_out, &opts.encode, false)?;
        doc.add_page_with_text(page, src, text)?;
        doc.finish()?;
        return Ok(());
    }
    // Encoders write small pieces; outputs are files and network buffers.
    let mut buffered = BufWriter::with_capacity(64 * 1024, out);
    encode_page(opts.format, page, &opts.encode, src, &mut buffered)?;
    buffered.flush().map_err(EncodeError::io("the page"))?;
    Ok(())
}

/// Collects a whole page and runs it through the stages.
fn staged(
    opts: &PipelineOptions,
    page: &PageInfo,
    src: &mut dyn ChunkSource,
) -> Result<Vec<StageOutput>, EncodeError> {
    let image = PageImage::collect(page, src)?;
    apply(&opts.stages, image).map_err(|e| match e.hresult {
        // The transfer was cancelled under the stage: the page is incomplete, not failed.
        wia::S_FALSE | wia::E_ABORT => EncodeError::Incomplete { status: e.hresult },
        hresult => EncodeError::Stage {
            hresult,
            message: e.to_string(),
        },
    })
}

/// Numbers, opens, encodes and keeps one processed page (in page order: the caller holds
/// the turn).
fn store_image<D: Destination>(sh: &Arc<Shared<D>>, mut image: PageImage) -> HResult {
    image.page.number = sh.turn.next_number();
    let page = image.page.clone();
    if let Err(e) = check_page(sh.opts.format, &page, false) {
        return sh.fail(Some(page.number), e);
    }
    let mut out = match sh.dest.open_page(&page) {
        Ok(out) => out,
        Err(e) => return sh.fail(Some(page.number), e),
    };
    let mut src = SliceSource::new(&image.data, 1 << 20);
    match encode_into::<D>(&sh.opts, &page, &mut src, image.text.as_deref(), &mut out) {
        Ok(_) => match sh.dest.keep_page(&page, out) {
            Ok(()) => {
                sh.state().report.pages += 1;
                wia::S_OK
            }
            Err(e) => sh.fail(Some(page.number), e),
        },
        Err(e) => {
            sh.dest.drop_page(&page, out, &e);
            sh.fail(Some(page.number), e)
        }
    }
}

fn document_worker<D: Destination>(
    shared: &Weak<Shared<D>>,
    dest: &D,
    opts: &PipelineOptions,
    out: D::Document,
    rx: Rx,
) {
    // Records into the pipeline's report, if the application still holds it.
    let update = |f: &mut dyn FnMut(&mut Report)| {
        if let Some(sh) = shared.upgrade() {
            f(&mut sh.state().report);
        }
    };
    let fail = |page: Option<u32>, error: EncodeError| {
        let hr = error.hresult();
        let mut error = Some(error);
        update(&mut |r| {
            if let Some(error) = error.take() {
                r.errors.push(PageError { page, error });
            }
        });
        hr
    };
    // `None` only after the next document failed to open (the job has failed then).
    let mut doc = match Document::new(opts.format, out, &opts.encode, true) {
        Ok(d) => Some(d),
        Err(e) => {
            dest.drop_document(&e);
            let hr = fail(None, e);
            // Keep taking pages so the driver never blocks.
            while let Some(msg) = rx.recv() {
                match msg {
                    Msg::Begin(_, page) | Msg::Processed(_, _, page) => page.finish(hr),
                    Msg::Finish(_) => break,
                    Msg::Data(_) | Msg::End(_) => {}
                }
            }
            return;
        }
    };
    // If every sender vanishes without Finish, the application went away: keep what is
    // complete.
    let mut transfer = wia::E_ABORT;
    // Once the document failed, every later page fails with it.
    let mut failed: Option<HResult> = None;
    let mut last_error: Option<String> = None;
    let mut number = 0u32;
    // Once a processed page comes back cancelled (S_FALSE), the pages after it are dropped
    // too: pages processed in parallel may finish after the cancel, and the document keeps
    // the pages before the cut, not a page with a gap before it.
    let mut cut = false;
    // Documents ended by a job separator: their number, and pages kept in them.
    let mut doc_no = 1u32;
    // A separator came after the current document's pages: the next page starts another.
    let mut pending_break = false;
    while let Some(msg) = rx.recv() {
        // Each page: its number, its status, what adding it gave (None: the document had
        // failed already) and, for a streamed page, whether the transfer ended inside it.
        // Pages added for this message (a stage may make several, in two documents).
        let mut made = 0u32;
        let mut before = pages_in(&doc);
        let (page_no, status, added, ended) = match msg {
            Msg::Begin(page, status) => {
                let mut src = QueueSource::new(&rx);
                let added = if failed.is_some() {
                    src.drain();
                    None
                } else {
                    let r = current(&mut doc).and_then(|d| add(d, dest, &page, &mut src, None));
                    if r.as_ref().is_err_and(|e| !e.is_incomplete()) {
                        src.drain();
                    }
                    Some(r)
                };
                (page.number, status, added, src.finish())
            }
            Msg::Processed(page, processed, status) => {
                let processed = match processed {
                    Ok(_) if cut => Err(EncodeError::Incomplete {
                        status: wia::S_FALSE,
                    }),
                    Err(e) if e.hresult() == wia::S_FALSE && e.is_incomplete() => {
                        cut = true;
                        Err(e)
                    }
                    other => other,
                };
                let added = failed.is_none().then(|| {
                    processed.and_then(|outputs| {
                        if !outputs.iter().any(|o| matches!(o, StageOutput::Page(_))) {
                            // A stage discarded it (a blank page).
                            update(&mut |r| r.discarded += 1);
                        }
                        outputs.into_iter().try_for_each(|o| {
                            let StageOutput::Page(mut image) = o else {
                                pending_break |= pages_in(&doc) > 0;
                                return Ok(());
                            };
                            if std::mem::take(&mut pending_break) {
                                // A job separator: the document so far is complete; the
                                // next one starts with this page.
                                let pages = pages_in(&doc);
                                made += pages - before;
                                before = 0;
                                if let Some(done) = doc.take() {
                                    keep(done, dest, pages, wia::S_OK, &update)?;
                                }
                                doc_no += 1;
                                doc = Some(next_document(dest, opts, doc_no)?);
                            }
                            number += 1;
                            image.page.number = number;
                            let p = image.page.clone();
                            add(
                                current(&mut doc)?,
                                dest,
                                &p,
                                &mut SliceSource::new(&image.data, 1 << 20),
                                image.text.as_deref(),
                            )
                        })
                    })
                });
                (page.number, status, added, None)
            }
            Msg::Finish(s) => {
                transfer = s;
                break;
            }
            // Stray bytes without a Begin cannot happen (the pipeline sends Begin first).
            Msg::Data(_) | Msg::End(_) => continue,
        };
        let hr = match (added, failed) {
            (None, Some(hr)) => hr,
            (None, None) => unreachable!("a page is only skipped after a failure"),
            (Some(added), _) => {
                // Pages a stage made before one failed stay in the document.
                let made = made + pages_in(&doc) - before;
                update(&mut |r| r.pages += made);
                match added {
                    Ok(()) => wia::S_OK,
                    Err(e) if e.is_incomplete() => {
                        update(&mut |r| r.discarded += 1);
                        e.hresult()
                    }
                    Err(e) => {
                        last_error = Some(format!("page {page_no}: {e}"));
                        let hr = fail(Some(page_no), e);
                        failed = Some(hr);
                        hr
                    }
                }
            }
        };
        status.finish(hr);
        if let Some(s) = ended {
            // The transfer ended while this page was open: it was cut off above.
            transfer = s;
            break;
        }
    }
    drop(rx);
    let pages = pages_in(&doc);
    let Some(doc) = doc.filter(|_| pages > 0) else {
        // No complete page: no document (a temporary file goes with `doc`).
        let why = last_error.unwrap_or_else(|| "no page was scanned".into());
        dest.drop_document(&EncodeError::Unsupported(why));
        return;
    };
    let transfer = failed.unwrap_or(transfer);
    if let Err(e) = keep(doc, dest, pages, transfer, &update) {
        fail(None, e);
    }
}

/// Pages in the current document (none when it failed to open).
fn pages_in<O: scanwire_codecs::DocumentOutput>(doc: &Option<Document<O>>) -> u32 {
    doc.as_ref().map_or(0, |d| d.pages())
}

/// The current document, or why there is none.
fn current<O: scanwire_codecs::DocumentOutput>(
    doc: &mut Option<Document<O>>,
) -> Result<&mut Document<O>, EncodeError> {
    doc.as_mut().ok_or_else(|| {
        EncodeError::Unsupported("the next document after a job separator did not open".into())
    })
}

/// Changes the pipeline's report, if the application still holds it.
type ReportUpdate<'a> = dyn Fn(&mut dyn FnMut(&mut Report)) + 'a;

/// Opens document `n` (a job separator ended the one before): tells the destination, then
/// opens its output.
fn next_document<D: Destination>(
    dest: &D,
    opts: &PipelineOptions,
    n: u32,
) -> Result<Document<D::Document>, EncodeError> {
    dest.start_document(n);
    let out = dest.open_document()?;
    Document::new(opts.format, out, &opts.encode, true)
}

/// Finishes a document of `pages` pages and hands it to the destination; the report's page
/// count follows what it kept.
fn keep<D: Destination>(
    doc: Document<D::Document>,
    dest: &D,
    pages: u32,
    transfer: HResult,
    update: &ReportUpdate<'_>,
) -> Result<(), EncodeError> {
    let kept = doc
        .finish()
        .and_then(|out| dest.keep_document(out, pages, transfer));
    match kept {
        Ok(true) => Ok(()),
        Ok(false) => {
            update(&mut |r| {
                r.pages -= pages;
                r.discarded += pages;
            });
            Ok(())
        }
        Err(e) => {
            dest.drop_document(&e);
            update(&mut |r| r.pages -= pages);
            Err(e)
        }
    }
}

/// Appends one page and tells the destination which bytes are final.
fn add<D: Destination>(
    doc: &mut Document<D::Document>,
    dest: &D,
    page: &PageInfo,
    src: &mut dyn ChunkSource,
    text: Option<&TextLayer>,
) -> Result<(), EncodeError> {
    doc.add_page_with_text(page, src, text)?;
    let stable = doc.settle()?;
    dest.page_added(page, stable)
}

/// The [`PageSink`] of a page handed to a worker. Its answers are the one verdict every
/// destination gets: a failure already seen by the worker stops the driver; closing an
/// incomplete page cannot fail; with `wait`, closing a complete page waits for the worker's
/// verdict.
struct PipeSink {
    writer: PageWriter,
    done: mpsc::Receiver<HResult>,
    wait: bool,
}

impl PageSink for PipeSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.writer.write(data)
    }

    fn write_lent(&mut self, data: scanwire_core::transfer::LentBytes) -> Result<(), HResult> {
        self.writer.write_lent(data)
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        let PipeSink { writer, done, wait } = *self;
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

/// A page [`DirectSink`] writes, shared with the pipeline so `wait` can discard it.
type OpenDirect<P> = Arc<Mutex<Option<Direct<P>>>>;

struct Direct<P> {
    out: P,
    raw: RawPnm,
    page: PageInfo,
}

/// The [`PageSink`] for a raw PNM page: writes go to the output on the driver's thread; the
/// output's own buffering (a file's page cache) is the queue, and a slow output holds up the
/// driver's writes just as a full queue would.
struct DirectSink<D: Destination> {
    shared: Arc<Shared<D>>,
    open: OpenDirect<D::Page>,
    /// Why the page failed, once it has (the error is in the report).
    failed: Option<HResult>,
}

impl<D: Destination> DirectSink<D> {
    /// Takes the page out of the pipeline's open pages; `None` if `wait` discarded it.
    fn take(&self) -> Option<Direct<D::Page>> {
        let p = lock(&self.open).take();
        self.shared
            .state()
            .direct
            .retain(|d| !Arc::ptr_eq(d, &self.open));
        p
    }
}

impl<D: Destination> PageSink for DirectSink<D> {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Some(hr) = self.failed {
            return Err(hr);
        }
        let mut g = lock(&self.open);
        let Some(p) = g.as_mut() else {
            return Err(wia::E_ABORT);
        };
        let Err(e) = p.raw.write(data, &mut p.out) else {
            return Ok(());
        };
        drop(g);
        let number = match self.take() {
            Some(Direct { out, page, .. }) => {
                self.shared.dest.drop_page(&page, out, &e);
                page.number
            }
            None => 0,
        };
        let hr = self.shared.fail(Some(number), e);
        self.failed = Some(hr);
        Err(hr)
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        if let Some(hr) = self.failed {
            return if status == wia::S_OK { hr } else { wia::S_OK };
        }
        let Some(Direct { mut out, raw, page }) = self.take() else {
            // `wait` discarded it already.
            return if status == wia::S_OK {
                wia::E_ABORT
            } else {
                wia::S_OK
            };
        };
        let sh = &self.shared;
        if status != wia::S_OK {
            sh.state().report.discarded += 1;
            sh.dest
                .drop_page(&page, out, &EncodeError::Incomplete { status });
            return wia::S_OK;
        }
        if let Err(e) = raw.finish(&mut out) {
            sh.dest.drop_page(&page, out, &e);
            return sh.fail(Some(page.number), e);
        }
        match sh.dest.keep_page(&page, out) {
            Ok(()) => {
                sh.state().report.pages += 1;
                wia::S_OK
            }
            Err(e) => sh.fail(Some(page.number), e),
        }
    }
}

impl<D: Destination> Drop for DirectSink<D> {
    fn drop(&mut self) {
        // Dropped without `close`: the page is incomplete.
        if self.failed.is_none() {
            if let Some(Direct { out, page, .. }) = self.take() {
                self.shared.state().report.discarded += 1;
                let why = EncodeError::Incomplete {
                    status: wia::E_ABORT,
                };
                self.shared.dest.drop_page(&page, out, &why);
            }
        }
    }
}

/// Hands out turns in page order, for workers that open their outputs only after
/// processing, and numbers the pages (and documents) that come out.
#[derive(Default)]
struct Turnstile {
    /// (the last page whose outputs are open, output pages numbered so far)
    state: Mutex<(u32, u32)>,
    cv: Condvar,
    /// Documents of one-output-per-page routes: job separators between pages.
    docs: Mutex<Docs>,
}

/// Where page outputs are in the job's documents.
#[derive(Default)]
struct Docs {
    /// Documents started after the first.
    later: u32,
    /// The current document has a page.
    has_pages: bool,
    /// A separator came after its pages: the next page starts another.
    pending: bool,
}

/// Holds a turn; dropping it passes the turn on.
struct Turn<'a> {
    turnstile: &'a Turnstile,
    seq: u32,
}

impl Turnstile {
    /// Waits until every page before `seq` has had its turn.
    fn wait(&self, seq: u32) -> Turn<'_> {
        let mut g = lock(&self.state);
        while g.0 + 1 < seq {
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        Turn {
            turnstile: self,
            seq,
        }
    }

    /// A job separator (in page order: the caller holds the turn).
    fn separator(&self) {
        let mut d = lock(&self.docs);
        d.pending |= d.has_pages;
    }

    /// A page is about to be output (in page order): the number of the document it starts,
    /// if a separator came before it.
    fn page_document(&self) -> Option<u32> {
        let mut d = lock(&self.docs);
        d.has_pages = true;
        if !std::mem::take(&mut d.pending) {
            return None;
        }
        d.later += 1;
        Some(d.later + 1)
    }

    /// The next output page number.
    fn next_number(&self) -> u32 {
        let mut g = lock(&self.state);
        g.1 += 1;
        g.1
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut g = lock(&self.turnstile.state);
        g.0 = g.0.max(self.seq);
        drop(g);
        self.turnstile.cv.notify_all();
    }
}
