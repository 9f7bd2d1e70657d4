//! From a job's pages to HTTP response bytes, while the pages are being scanned: the eSCL
//! job's destination in the page pipeline (`scanwire-pipeline`).
//!
//! ```text
//!  driver thread          pipeline worker (one per page; one per job for TIFF and PDF)      tokio
//!  StreamHandle::write ─► pipeline sink ─► queue (≈ 1 MiB) ─► encoder ─► BodyTx ─► body channel ─► PageBody
//!                                                                       (≤ page_buffer)         (HTTP response)
//! ```
//!
//! Both hand-offs are bounded: a client that reads slowly makes the encoder wait, then the
//! driver. Images (JPEG, PNG) stream as they are encoded. A multi-page document (PDF, TIFF)
//! holds every page of the job: each page's bytes are held back (in memory up to
//! [`DOC_SPILL`], then in a temporary file) until the page is complete and the document says
//! they are final ([`Document::settle`](scanwire_codecs::Document::settle)), because the
//! writer cuts an incomplete page off again (and TIFF patches the previous page's "next IFD"
//! field) and bytes already sent cannot be taken back.

use bytes::Bytes;
use scanwire_codecs::{DocumentOutput, EncodeError};
use scanwire_core::device::PageInfo;
use scanwire_core::transfer::CancelHandle;
use scanwire_core::wia;
use scanwire_pipeline::Destination;
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
pub(crate) const COALESCE: usize = 64 * 1024;
/// Page bytes queued between the driver and the encoder before the driver's writes wait.
pub(crate) const QUEUE_BYTES: usize = 1 << 20;
/// Response chunks are about this size.
pub(crate) const BODY_CHUNK: usize = 64 * 1024;
/// Bytes of a document page held in memory before the rest goes to a temporary file.
pub(crate) const DOC_SPILL: usize = 4 << 20;

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

/// A document streamed to a response: bytes not yet final are held back until
/// [`StreamOut::commit`] says they are, so the writer can still patch them or cut an
/// incomplete page off.
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

/// Held-back bytes: memory first, a temporary file past [`DOC_SPILL`].
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
    fn commit(&self, upto: u64) -> io::Result<()> {
        let mut s = self.lock();
        let n = upto.saturating_sub(s.sent).min(s.held.len());
        let held = std::mem::replace(&mut s.held, Held::Mem(Vec::new()));
        let body = s
            .body
            .as_mut()
            .ok_or_else(|| io_err("the response is closed"))?;
        let rest = match held {
            Held::Mem(mut v) => {
                body.write_all(&v[..n as usize])?;
                v.drain(..n as usize);
                Held::Mem(v)
            }
            Held::File(mut f, len) => {
                f.seek(SeekFrom::Start(0))?;
                let mut left = n;
                let mut buf = vec![0u8; BODY_CHUNK];
                while left > 0 {
                    let k = (left as usize).min(buf.len());
                    f.read_exact(&mut buf[..k])?;
                    body.write_all(&buf[..k])?;
                    left -= k as u64;
                }
                // What stays held is a few bytes (TIFF's last "next IFD" field).
                let mut tail = Vec::with_capacity((len - n) as usize);
                f.read_to_end(&mut tail)?;
                Held::Mem(tail)
            }
        };
        s.held = rest;
        s.sent += n;
        Ok(())
    }

    /// Sends the rest and ends the response.
    fn end(self) {
        if self.commit(u64::MAX).is_ok() {
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
        if s.pos < s.sent || s.pos > end {
            return Err(io_err("cannot write into bytes already sent"));
        }
        let at = s.pos - s.sent;
        let grows = (at + data.len() as u64).saturating_sub(s.held.len());
        let spill = matches!(&s.held, Held::Mem(v) if v.len() as u64 + grows > DOC_SPILL as u64);
        if spill {
            let mut f = tempfile::tempfile()?;
            if let Held::Mem(v) = &s.held {
                f.write_all(v)?;
            }
            let n = s.held.len();
            s.held = Held::File(f, n);
        }
        match &mut s.held {
            Held::Mem(v) => {
                let at = at as usize;
                let overlap = data.len().min(v.len() - at);
                v[at..at + overlap].copy_from_slice(&data[..overlap]);
                v.extend_from_slice(&data[overlap..]);
            }
            Held::File(f, n) => {
                f.seek(SeekFrom::Start(at))?;
                f.write_all(data)?;
                *n = (*n).max(at + data.len() as u64);
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

/// Where a job's slots come from: the job, which hands them to `NextDocument` in order.
pub(crate) trait Slots: Settle {
    /// A new document to hand out, whose bytes come through `body`.
    fn push_slot(&self, body: tokio::sync::mpsc::Receiver<Chunk>);
    /// A page goes out as `page` describes it: after the job's stages, which may have
    /// cropped or turned it (`ScanImageInfo` reports this, not the page as scanned).
    fn page_out(&self, page: &PageInfo);
}

/// The pipeline destination of one eSCL job: each page (or the job's one document) is a new
/// response body, handed to the job as a slot.
pub(crate) struct JobOutput {
    job: std::sync::Weak<dyn Slots + Send + Sync>,
    runtime: tokio::runtime::Handle,
    cancel: CancelHandle,
    /// Chunks buffered per body.
    body_chunks: usize,
    /// The document being streamed, for committing and failing it.
    doc: Mutex<Option<StreamOut>>,
}

impl JobOutput {
    pub(crate) fn new(
        job: std::sync::Weak<dyn Slots + Send + Sync>,
        runtime: tokio::runtime::Handle,
        cancel: CancelHandle,
        page_buffer: usize,
    ) -> Self {
        JobOutput {
            job,
            runtime,
            cancel,
            body_chunks: (page_buffer / BODY_CHUNK).max(2),
            doc: Mutex::new(None),
        }
    }

    /// A new body: its sending end, and its receiving end given to the job as a slot.
    fn body(&self) -> Result<BodyTx, EncodeError> {
        let job = self
            .job
            .upgrade()
            .ok_or_else(|| EncodeError::io("the response")(io::Error::other("the job is gone")))?;
        let (tx, rx) = tokio::sync::mpsc::channel(self.body_chunks);
        job.push_slot(rx);
        Ok(BodyTx::new(tx, self.runtime.clone(), self.cancel.clone()))
    }

    /// Before a response is cut off for a failure (not a cancel): wait (bounded) until the
    /// job knows its outcome, so a client reading ScannerStatus next sees why.
    fn settle(&self, why: &EncodeError) {
        let cancelled = self.cancel.is_cancelled()
            || matches!(why, EncodeError::Incomplete { status } if *status == wia::S_FALSE);
        if !cancelled {
            if let Some(job) = self.job.upgrade() {
                job.settle();
            }
        }
    }

    fn stream_out(&self) -> std::sync::MutexGuard<'_, Option<StreamOut>> {
        self.doc.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Destination for JobOutput {
    type Page = BodyTx;
    type Document = StreamOut;

    fn open_page(&self, page: &PageInfo) -> Result<BodyTx, EncodeError> {
        let body = self.body()?;
        if let Some(job) = self.job.upgrade() {
            job.page_out(page);
        }
        Ok(body)
    }

    fn keep_page(&self, _page: &PageInfo, out: BodyTx) -> Result<(), EncodeError> {
        out.end();
        Ok(())
    }

    fn drop_page(&self, page: &PageInfo, out: BodyTx, why: &EncodeError) {
        self.settle(why);
        out.fail(match why {
            EncodeError::Incomplete { status } => {
                format!("page {} ended incomplete ({status})", page.number)
            }
            other => format!("page {}: {other}", page.number),
        });
    }

    fn open_document(&self) -> Result<StreamOut, EncodeError> {
        let out = StreamOut::new(self.body()?);
        *self.stream_out() = Some(out.clone());
        Ok(out)
    }

    fn page_added(&self, page: &PageInfo, stable: u64) -> Result<(), EncodeError> {
        if let Some(job) = self.job.upgrade() {
            job.page_out(page);
        }
        match self.stream_out().as_ref() {
            Some(out) => out.commit(stable).map_err(EncodeError::io("the response")),
            None => Ok(()),
        }
    }

    fn keep_document(
        &self,
        doc: StreamOut,
        _pages: u32,
        _transfer: wia::HResult,
    ) -> Result<bool, EncodeError> {
        self.stream_out().take();
        doc.end();
        Ok(true)
    }

    fn drop_document(&self, why: &EncodeError) {
        self.settle(why);
        if let Some(out) = self.stream_out().take() {
            out.fail(why.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_codecs::{Document, EncodeOptions, Format, SliceSource};
    use scanwire_core::device::{PageData, PixelFormat, Side, Source};

    fn page(number: u32) -> PageInfo {
        PageInfo {
            number,
            sheet: number,
            side: Side::Front,
            source: Source::Feeder,
            data: PageData::Raster {
                pixel: PixelFormat::Gray8,
                width: 64,
                height: Some(48),
            },
            dpi: (150, 150),
        }
    }

    /// A multi-page document streamed with commits between pages is byte for byte the one
    /// written to memory: TIFF's patch of the previous "next IFD" field lands in bytes that
    /// were held back, and nothing already sent is changed.
    #[test]
    fn streamed_documents_equal_documents_in_memory() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for format in [Format::Tiff, Format::Pdf] {
            let rows: Vec<u8> = (0..64 * 48).map(|i| (i * 7 % 251) as u8).collect();
            let mut reference = Document::new(
                format,
                std::io::Cursor::new(Vec::new()),
                &EncodeOptions::default(),
                true,
            )
            .unwrap();
            let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
            let body = BodyTx::new(tx, runtime.handle().clone(), CancelHandle::new());
            let out = StreamOut::new(body);
            let mut doc =
                Document::new(format, out.clone(), &EncodeOptions::default(), true).unwrap();
            for n in 1..=3 {
                reference
                    .add_page(&page(n), &mut SliceSource::new(&rows, 1000))
                    .unwrap();
                doc.add_page(&page(n), &mut SliceSource::new(&rows, 1000))
                    .unwrap();
                out.commit(doc.settle().unwrap()).unwrap();
            }
            let expected = reference.finish().unwrap().into_inner();
            doc.finish().unwrap().end();
            let mut sent = Vec::new();
            while let Ok(chunk) = rx.try_recv() {
                match chunk {
                    Chunk::Data(b) => sent.extend_from_slice(&b),
                    Chunk::End => break,
                    Chunk::Failed(why) => panic!("{format}: {why}"),
                }
            }
            assert_eq!(sent, expected, "{format}");
        }
    }
}
