//! From the driver's writes to HTTP response bytes, while the page is being scanned.
//!
//! ```text
//!  driver thread          encoder thread (one per page; one per job for PDF)             tokio
//!  StreamHandle::write ─► JobSink ─► queue (≈ 1 MiB) ─► QueueSource ─► encoder ─► BodyTx ─► body channel ─► PageBody
//!                         (PageSink, scanwire_formats::pipe)                     (≤ page_buffer)         (HTTP response)
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
use scanwire_formats::pipe::{self, Msg, PageStatus, QueueSource, Rx, Tx};
use scanwire_formats::{Document, DocumentOutput, EncodeError, EncodeOptions, Format};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

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
/// Page bytes queued between the driver and the encoder before the driver's writes wait.
const QUEUE_BYTES: usize = 1 << 20;
/// Response chunks are about this size.
const BODY_CHUNK: usize = 64 * 1024;
/// Bytes of a PDF page held in memory before the rest goes to a temporary file.
pub(crate) const PDF_SPILL: usize = 4 << 20;

/// A new driver→encoder queue (one per image page; one per job for a PDF).
pub(crate) fn queue() -> (Tx, Rx) {
    pipe::pipe(QUEUE_BYTES)
}

/// The driver-side sink of one page of a job. After a cancel (the client left, or DELETE)
/// the encoder is expected to be gone: bytes are dropped and the driver learns of the cancel
/// at its next callback, as WIA has it. Otherwise a failed encoder stops the driver.
pub(crate) struct JobSink {
    writer: pipe::PageWriter,
    cancel: CancelHandle,
}

impl JobSink {
    pub(crate) fn new(tx: Tx, status: Arc<PageStatus>, cancel: CancelHandle) -> Self {
        JobSink {
            writer: pipe::PageWriter::new(tx, status)
                .coalescing(COALESCE)
                .cancelled_by(cancel.clone()),
            cancel,
        }
    }
}

impl PageSink for JobSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.writer.write(data)
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        match self.writer.close(status) {
            Err(hr) => hr,
            Ok(page) => match page.failed() {
                Some(hr) if status == wia::S_OK && !self.cancel.is_cancelled() => hr,
                _ => wia::S_OK,
            },
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

/// Encodes one JPEG or PNG page from `rx` into `body`; the verdict goes to `status`.
pub(crate) fn encode_image(
    format: Format,
    page: PageInfo,
    opts: EncodeOptions,
    rx: Rx,
    body: BodyTx,
    status: Arc<PageStatus>,
    settle: Arc<dyn Settle>,
) {
    let mut body = body;
    let mut src = QueueSource::new(&rx);
    match scanwire_formats::encode_page(format, &page, &opts, &mut src, &mut body) {
        Ok(_) => {
            status.finish(wia::S_OK);
            body.end();
        }
        Err(e) => {
            status.finish(e.hresult());
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

/// Encodes every page of a job from `rx` into one PDF in `body`. Each page's verdict goes
/// to the status its `Begin` carries; once the document has failed (the client is gone, or a
/// page could not be encoded) every later page fails with it.
pub(crate) fn encode_pdf(opts: EncodeOptions, rx: Rx, body: BodyTx, settle: Arc<dyn Settle>) {
    let out = StreamOut::new(body);
    let handle = out.clone();
    let mut doc = match Document::new(Format::Pdf, out, &opts, true) {
        Ok(d) => d,
        Err(e) => {
            handle.fail(format!("cannot start the PDF: {e}"));
            // Keep taking pages so the driver never blocks.
            while let Some(msg) = rx.recv() {
                match msg {
                    Msg::Begin(_, page) => page.finish(e.hresult()),
                    Msg::Finish(_) => break,
                    Msg::Data(_) | Msg::End(_) => {}
                }
            }
            return;
        }
    };
    let mut last_error: Option<String> = None;
    let mut failed: Option<HResult> = None;
    loop {
        match rx.recv() {
            Some(Msg::Begin(page, status)) => {
                let mut src = QueueSource::new(&rx);
                if let Some(hr) = failed {
                    status.finish(hr);
                    src.drain();
                    continue;
                }
                match doc.add_page(&page, &mut src) {
                    Ok(()) => match handle.commit() {
                        Ok(()) => status.finish(wia::S_OK),
                        Err(e) => {
                            // The client is gone; the job is cancelled by the body's drop.
                            failed = Some(wia::WIA_ERROR_DESTINATION);
                            status.finish(wia::WIA_ERROR_DESTINATION);
                            last_error = Some(e.to_string());
                        }
                    },
                    Err(e) => {
                        src.drain();
                        if !e.is_incomplete() {
                            failed = Some(e.hresult());
                        }
                        status.finish(e.hresult());
                        last_error = Some(format!("page {}: {e}", page.number));
                    }
                }
            }
            // Stray page bytes without a Begin cannot happen (the factory sends Begin first).
            Some(Msg::Data(_)) | Some(Msg::End(_)) => {}
            Some(Msg::Finish(_)) | None => break,
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
    fn a_dead_encoder_stops_the_driver_unless_the_job_was_cancelled() {
        for cancelled in [false, true] {
            let (tx, rx) = queue();
            let (status, _done) = PageStatus::new();
            let cancel = CancelHandle::new();
            let mut sink: Box<dyn PageSink> =
                Box::new(JobSink::new(tx, status.clone(), cancel.clone()));
            assert_eq!(sink.write(&[1; 10]), Ok(()));
            // The encoder fails and goes away.
            status.finish(wia::E_FAIL);
            drop(rx);
            if cancelled {
                cancel.cancel();
            }
            let write = sink.write(&[2; 10]);
            let close = sink.close(wia::S_OK);
            if cancelled {
                assert_eq!((write, close), (Ok(()), wia::S_OK));
            } else {
                assert_eq!((write, close), (Err(wia::E_FAIL), wia::E_FAIL));
            }
        }
    }
}
