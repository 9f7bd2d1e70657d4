//! From the driver's writes to HTTP response bytes, while the page is being scanned.
//!
//! ```text
//!  driver thread            encoder thread (one per page; one per job for PDF)       tokio
//!  StreamHandle::write ─► PageWriter ─► pipe (≤ 1 MiB) ─► PipeSource ─► encoder ─► BodyTx ─► body channel ─► PageBody
//!                         (PageSink)                                               (≤ page_buffer)         (HTTP response)
//! ```
//!
//! Both hand-offs are bounded: a client that reads slowly makes the encoder wait, then the
//! driver. Images (JPEG, PNG) stream as they are encoded. A PDF holds every page of the job:
//! each page's bytes are held back (in memory up to [`PDF_SPILL`], then in a temporary file)
//! until the page is complete, because the PDF writer cuts an incomplete page off again and
//! bytes already sent cannot be taken back.

use bytes::Bytes;
use scanwire_core::device::PageInfo;
use scanwire_core::transfer::{CancelHandle, PageSink};
use scanwire_core::wia::{self, HResult};
use scanwire_formats::{ChunkSource, Document, DocumentOutput, EncodeError, EncodeOptions, Format};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// What flows to an encoder thread.
pub(crate) enum Msg {
    /// A page of a PDF document starts.
    Begin(Box<PageInfo>),
    /// Page bytes.
    Data(Vec<u8>),
    /// The page ended: S_OK complete, anything else incomplete.
    End(HResult),
    /// The transfer is over (PDF): finish the document.
    Finish,
}

/// One item of a response body.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// The next bytes.
    Data(Bytes),
    /// The document is complete.
    End,
    /// The document failed; the response must be cut off.
    Failed(String),
}

/// Driver writes are collected into messages of this size: few messages, yet bytes keep
/// moving while a slow scanner delivers small bands.
const COALESCE: usize = 64 * 1024;
/// Messages in the driver→encoder pipe: about 1 MiB of small writes coalesced to
/// [`COALESCE`]; larger writes (bands) go whole, 16 of them.
const PIPE_MESSAGES: usize = 16;
/// Response chunks are about this size.
const BODY_CHUNK: usize = 64 * 1024;
/// Bytes of a PDF page held in memory before the rest goes to a temporary file.
pub(crate) const PDF_SPILL: usize = 4 << 20;
/// Buffers a [`Buffers`] pool keeps: enough for a full pipe, the message being encoded and
/// the one being filled.
const POOL: usize = PIPE_MESSAGES + 2;

/// Message buffers going back from the encoder to the driver side, shared by a job's pages
/// until its transfer ends ([`Buffers::close`]: ended jobs stay listed for minutes).
/// Without it every driver write is a fresh allocation freed on another thread, which glibc
/// hands back to the kernel and faults in again: on A4 300 dpi color pages (bands of about
/// 256 KiB) that was a fifth of the server's CPU time.
#[derive(Clone)]
pub(crate) struct Buffers(Arc<Mutex<Option<Vec<Vec<u8>>>>>);

impl Default for Buffers {
    fn default() -> Self {
        Buffers(Arc::new(Mutex::new(Some(Vec::new()))))
    }
}

impl Buffers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Vec<u8>>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An empty buffer, recycled when one is free.
    fn take(&self) -> Vec<u8> {
        self.lock().as_mut().and_then(Vec::pop).unwrap_or_default()
    }

    /// Returns a buffer for reuse (dropped when the pool is full or closed).
    fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 {
            return;
        }
        buf.clear();
        if let Some(pool) = self.lock().as_mut().filter(|p| p.len() < POOL) {
            pool.push(buf);
        }
    }

    /// Frees the pool and keeps it empty: the transfer is over.
    pub(crate) fn close(&self) {
        let freed = self.lock().take();
        drop(freed);
    }
}

/// A page's (or document's) fate as its encoder reports it back to the driver side.
#[derive(Default)]
pub(crate) struct EncodeStatus {
    failed: AtomicI32,
}

impl EncodeStatus {
    fn fail(&self, hr: HResult) {
        let _ = self
            .failed
            .compare_exchange(0, hr.0, Ordering::AcqRel, Ordering::Acquire);
    }

    fn failed(&self) -> Option<HResult> {
        match self.failed.load(Ordering::Acquire) {
            0 => None,
            hr => Some(HResult(hr)),
        }
    }
}

/// The driver-side sink of one page: coalesces writes and queues them for the encoder.
pub(crate) struct PageWriter {
    tx: SyncSender<Msg>,
    buf: Vec<u8>,
    pool: Buffers,
    status: Arc<EncodeStatus>,
    cancel: CancelHandle,
}

impl PageWriter {
    pub(crate) fn new(
        tx: SyncSender<Msg>,
        pool: Buffers,
        status: Arc<EncodeStatus>,
        cancel: CancelHandle,
    ) -> Self {
        PageWriter {
            tx,
            buf: Vec::new(),
            pool,
            status,
            cancel,
        }
    }

    /// The encoder is gone. After a cancel that is expected (the client left, or DELETE):
    /// the data is dropped and the driver learns of the cancel at its next callback, as WIA
    /// has it. Otherwise the encoder failed and the driver must stop.
    fn gone(&self) -> Result<(), HResult> {
        if self.cancel.is_cancelled() {
            Ok(())
        } else {
            Err(self.status.failed().unwrap_or(wia::WIA_ERROR_DESTINATION))
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), HResult> {
        match self.tx.send(msg) {
            Ok(()) => Ok(()),
            Err(_) => self.gone(),
        }
    }
}

impl PageSink for PageWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Some(hr) = self.status.failed() {
            return if self.cancel.is_cancelled() {
                Ok(())
            } else {
                Err(hr)
            };
        }
        if self.buf.is_empty() && data.len() >= COALESCE {
            let mut whole = self.pool.take();
            whole.extend_from_slice(data);
            return self.send(Msg::Data(whole));
        }
        if self.buf.capacity() == 0 {
            self.buf = self.pool.take();
            self.buf.reserve(COALESCE);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= COALESCE {
            let full = std::mem::take(&mut self.buf);
            self.send(Msg::Data(full))?;
        }
        Ok(())
    }

    fn close(mut self: Box<Self>, status: HResult) -> HResult {
        if status == wia::S_OK && !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            if let Err(hr) = self.send(Msg::Data(rest)) {
                return hr;
            }
        }
        match self.send(Msg::End(status)) {
            Err(hr) => hr,
            Ok(()) => match self.status.failed() {
                Some(hr) if status == wia::S_OK && !self.cancel.is_cancelled() => hr,
                _ => wia::S_OK,
            },
        }
    }
}

/// A new driver→encoder pipe.
pub(crate) fn pipe() -> (SyncSender<Msg>, Receiver<Msg>) {
    mpsc::sync_channel(PIPE_MESSAGES)
}

/// One page's bytes out of the pipe.
struct PipeSource<'a> {
    rx: &'a Receiver<Msg>,
    pool: &'a Buffers,
    chunk: Vec<u8>,
    end: Option<HResult>,
}

impl<'a> PipeSource<'a> {
    fn new(rx: &'a Receiver<Msg>, pool: &'a Buffers) -> Self {
        PipeSource {
            rx,
            pool,
            chunk: Vec::new(),
            end: None,
        }
    }

    /// Skips the rest of the page; returns how it ended.
    fn drain(&mut self) -> HResult {
        while self.end.is_none() {
            let _ = self.next_chunk();
        }
        self.end.unwrap_or(wia::E_ABORT)
    }
}

impl ChunkSource for PipeSource<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, EncodeError> {
        if let Some(end) = self.end {
            return if end == wia::S_OK {
                Ok(None)
            } else {
                Err(EncodeError::Incomplete { status: end })
            };
        }
        match self.rx.recv() {
            Ok(Msg::Data(d)) => {
                // The encoder is done with the previous chunk (it borrowed it until now).
                self.pool.give(std::mem::replace(&mut self.chunk, d));
                Ok(Some(&self.chunk))
            }
            Ok(Msg::End(hr)) => {
                self.end = Some(hr);
                self.next_chunk()
            }
            // The sink vanished without closing the page, or the transfer ended mid-page.
            Ok(Msg::Begin(_)) | Ok(Msg::Finish) | Err(_) => {
                self.end = Some(wia::E_ABORT);
                self.next_chunk()
            }
        }
    }
}

/// The encoder's end of a response body: a `Write` that sends chunks of about
/// [`BODY_CHUNK`] bytes, waiting while the body channel is full, but never past a cancel: a
/// client that stops reading must not keep the encoder, and through it the driver, blocked
/// once the job is cancelled (by DELETE or the job timeout).
pub(crate) struct BodyTx {
    tx: tokio::sync::mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    runtime: tokio::runtime::Handle,
    cancel: CancelHandle,
    woken: Arc<tokio::sync::Notify>,
    _hook: scanwire_core::transfer::HookGuard,
}

impl BodyTx {
    pub(crate) fn new(
        tx: tokio::sync::mpsc::Sender<Chunk>,
        runtime: tokio::runtime::Handle,
        cancel: CancelHandle,
    ) -> Self {
        let woken = Arc::new(tokio::sync::Notify::new());
        let w = woken.clone();
        // `notify_one` stores a permit, so a cancel between the check and the wait below
        // is not lost.
        let hook = cancel.token().on_cancel(move || w.notify_one());
        BodyTx {
            tx,
            buf: Vec::new(),
            runtime,
            cancel,
            woken,
            _hook: hook,
        }
    }

    /// Sends one chunk; fails if the client is gone or the job was cancelled meanwhile.
    fn send(&self, chunk: Chunk) -> io::Result<()> {
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the client is gone");
        // Not `Interrupted`: `write_all` retries those forever.
        let cancelled = || io::Error::other("the job was cancelled");
        if self.cancel.is_cancelled() {
            return Err(cancelled());
        }
        let chunk = match self.tx.try_send(chunk) {
            Ok(()) => return Ok(()),
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return Err(gone()),
            Err(tokio::sync::mpsc::error::TrySendError::Full(c)) => c,
        };
        self.runtime.block_on(async {
            tokio::select! {
                r = self.tx.send(chunk) => r.map_err(|_| gone()),
                () = self.woken.notified() => Err(cancelled()),
            }
        })
    }

    fn push(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(BODY_CHUNK));
        self.send(Chunk::Data(Bytes::from(full)))
    }

    /// Sends what is buffered, then the end marker.
    fn end(mut self) {
        if self.push().is_ok() {
            let _ = self.send(Chunk::End);
        }
    }

    /// Cuts the response off.
    fn fail(self, why: String) {
        // After a cancel the body is cut off anyway (its sender drops without an end).
        let _ = self.send(Chunk::Failed(why));
    }
}

impl Write for BodyTx {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(BODY_CHUNK);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BODY_CHUNK {
            self.push()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Bytes go out by the chunk; an encoder's flush must not send tiny chunks.
        Ok(())
    }
}

/// What an encoder thread tells the job when it is done with a page it could not complete.
pub(crate) trait Settle: Send + Sync {
    /// Called after a page ended incomplete and before its response is cut off: waits
    /// (bounded) until the job knows its outcome, so a client reading ScannerStatus right
    /// after the failed response sees why.
    fn settle(&self);
}

/// Encodes one JPEG or PNG page from `rx` into `body`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode_image(
    format: Format,
    page: PageInfo,
    opts: EncodeOptions,
    rx: Receiver<Msg>,
    pool: Buffers,
    body: BodyTx,
    status: Arc<EncodeStatus>,
    settle: Arc<dyn Settle>,
) {
    let mut body = body;
    let mut src = PipeSource::new(&rx, &pool);
    match scanwire_formats::encode_page(format, &page, &opts, &mut src, &mut body) {
        Ok(_) => body.end(),
        Err(e) => {
            status.fail(e.hresult());
            // The driver may still be writing: take its bytes until the page ends, so it
            // never blocks on a dead encoder.
            let end = src.drain();
            drop(src);
            drop(rx);
            if end != wia::S_FALSE {
                settle.settle();
            }
            let why = match &e {
                EncodeError::Incomplete { status } => {
                    format!("page {} ended incomplete ({status})", page.number)
                }
                other => format!("page {}: {other}", page.number),
            };
            body.fail(why);
        }
    }
}

/// Encodes every page of a job from `rx` into one PDF in `body`.
pub(crate) fn encode_pdf(
    opts: EncodeOptions,
    rx: Receiver<Msg>,
    pool: Buffers,
    body: BodyTx,
    status: Arc<EncodeStatus>,
    settle: Arc<dyn Settle>,
) {
    let out = StreamOut::new(body);
    let handle = out.clone();
    let mut doc = match Document::new(Format::Pdf, out, &opts, true) {
        Ok(d) => d,
        Err(e) => {
            status.fail(e.hresult());
            handle.fail(format!("cannot start the PDF: {e}"));
            // Keep taking pages so the driver never blocks.
            while rx.recv().is_ok() {}
            return;
        }
    };
    let mut last_error: Option<String> = None;
    loop {
        match rx.recv() {
            Ok(Msg::Begin(page)) => {
                let mut src = PipeSource::new(&rx, &pool);
                match doc.add_page(&page, &mut src) {
                    Ok(()) => {
                        if let Err(e) = handle.commit() {
                            // The client is gone; the job is cancelled by the body's drop.
                            status.fail(wia::WIA_ERROR_DESTINATION);
                            last_error = Some(e.to_string());
                        }
                    }
                    Err(e) => {
                        src.drain();
                        if !e.is_incomplete() {
                            status.fail(e.hresult());
                        }
                        last_error = Some(format!("page {}: {e}", page.number));
                    }
                }
            }
            // Stray page bytes without a Begin cannot happen (the factory sends Begin first).
            Ok(Msg::Data(_)) | Ok(Msg::End(_)) => {}
            Ok(Msg::Finish) | Err(_) => break,
        }
    }
    drop(rx);
    if doc.pages() == 0 {
        settle.settle();
        handle.fail(last_error.unwrap_or_else(|| "no page was scanned".into()));
        return;
    }
    match doc.finish() {
        Ok(out) => out.end(),
        Err(e) => handle.fail(format!("cannot finish the PDF: {e}")),
    }
}

/// A PDF output streamed to a response: bytes of the page being written are held back until
/// [`StreamOut::commit`], so the PDF writer can still cut an incomplete page off.
#[derive(Clone)]
pub(crate) struct StreamOut {
    inner: Arc<Mutex<OutState>>,
}

struct OutState {
    body: Option<BodyTx>,
    /// Bytes already sent.
    sent: u64,
    /// Bytes after `sent`, not yet sent.
    held: Held,
    /// Write position (always the end, except between a rollback's truncate and seek).
    pos: u64,
}

/// Held-back bytes: memory first, a temporary file past [`PDF_SPILL`].
enum Held {
    Mem(Vec<u8>),
    File(std::fs::File, u64),
}

impl Held {
    fn len(&self) -> u64 {
        match self {
            Held::Mem(v) => v.len() as u64,
            Held::File(_, n) => *n,
        }
    }
}

fn io_err(what: &str) -> io::Error {
    io::Error::other(what.to_string())
}

impl StreamOut {
    fn new(body: BodyTx) -> Self {
        StreamOut {
            inner: Arc::new(Mutex::new(OutState {
                body: Some(body),
                sent: 0,
                held: Held::Mem(Vec::new()),
                pos: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends everything written so far: the pages before it are complete.
    fn commit(&self) -> io::Result<()> {
        let mut s = self.lock();
        let held = std::mem::replace(&mut s.held, Held::Mem(Vec::new()));
        let n = held.len();
        let body = s
            .body
            .as_mut()
            .ok_or_else(|| io_err("the response is closed"))?;
        match held {
            Held::Mem(v) => body.write_all(&v)?,
            Held::File(mut f, len) => {
                f.seek(SeekFrom::Start(0))?;
                let mut left = len;
                let mut buf = vec![0u8; BODY_CHUNK];
                while left > 0 {
                    let k = (left as usize).min(buf.len());
                    f.read_exact(&mut buf[..k])?;
                    body.write_all(&buf[..k])?;
                    left -= k as u64;
                }
            }
        }
        s.sent += n;
        Ok(())
    }

    /// Sends the rest and ends the response.
    fn end(self) {
        if self.commit().is_ok() {
            if let Some(body) = self.lock().body.take() {
                body.end();
            }
        } else if let Some(body) = self.lock().body.take() {
            body.fail("cannot send the end of the PDF".into());
        }
    }

    fn fail(&self, why: String) {
        if let Some(body) = self.lock().body.take() {
            body.fail(why);
        }
    }
}

impl Write for StreamOut {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut s = self.lock();
        let end = s.sent + s.held.len();
        if s.pos != end {
            return Err(io_err("the streamed PDF is written only at its end"));
        }
        let spill = matches!(&s.held, Held::Mem(v) if v.len() + data.len() > PDF_SPILL);
        if spill {
            let mut f = tempfile::tempfile()?;
            if let Held::Mem(v) = &s.held {
                f.write_all(v)?;
            }
            let n = s.held.len();
            s.held = Held::File(f, n);
        }
        match &mut s.held {
            Held::Mem(v) => v.extend_from_slice(data),
            Held::File(f, n) => {
                f.seek(SeekFrom::Start(*n))?;
                f.write_all(data)?;
                *n += data.len() as u64;
            }
        }
        s.pos += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for StreamOut {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut s = self.lock();
        let end = s.sent + s.held.len();
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => end.checked_add_signed(d),
            SeekFrom::Current(d) => s.pos.checked_add_signed(d),
        };
        match target {
            Some(t) if t >= s.sent && t <= end => {
                s.pos = t;
                Ok(t)
            }
            _ => Err(io_err("cannot seek into bytes already sent")),
        }
    }
}

impl DocumentOutput for StreamOut {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut s = self.lock();
        if len < s.sent {
            return Err(io_err("cannot take back bytes already sent"));
        }
        let keep = len - s.sent;
        match &mut s.held {
            Held::Mem(v) => v.truncate(keep as usize),
            Held::File(f, n) => {
                f.set_len(keep)?;
                *n = keep.min(*n);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_up_to_the_pool_size_and_freed_on_close() {
        let pool = Buffers::default();
        for _ in 0..POOL + 3 {
            pool.give(Vec::with_capacity(1024));
        }
        let held = |p: &Buffers| p.lock().as_ref().map_or(0, Vec::len);
        assert_eq!(held(&pool), POOL);
        let b = pool.take();
        assert!(b.is_empty() && b.capacity() >= 1024);
        pool.close();
        assert_eq!(held(&pool), 0);
        // A closed pool (an ended job, kept for ScannerStatus) holds nothing given back late.
        pool.give(b);
        assert_eq!(held(&pool), 0);
        assert_eq!(pool.take().capacity(), 0);
    }
}
