//! The bounded hand-off between the driver's thread (which writes page bytes) and an encoder
//! thread: a queue limited by bytes, not messages, because drivers write anything from one
//! row to many megabytes at a time. A full queue makes the driver's write wait: that is the
//! back-pressure that keeps memory flat when encoding is slower than scanning.
//!
//! The [`Pipeline`](crate::Pipeline) uses it between every driver page and its worker:
//! [`pipe`] makes the queue, a [`PageWriter`] on the driver's side fills it, a
//! [`QueueSource`] on the worker's side is the page's [`ChunkSource`], and a [`PageStatus`]
//! carries the worker's verdict back.
//!
//! ```
//! use scanwire_core::wia;
//! use scanwire_pipeline::pipe::{pipe, PageStatus, PageWriter, QueueSource};
//! use scanwire_codecs::ChunkSource;
//!
//! let (tx, rx) = pipe(1 << 20);
//! let (status, _done) = PageStatus::new();
//! let encoder = std::thread::spawn(move || {
//!     let mut src = QueueSource::new(&rx);
//!     let mut bytes = Vec::new();
//!     while let Some(chunk) = src.next_chunk().unwrap() {
//!         bytes.extend_from_slice(chunk);
//!     }
//!     bytes
//! });
//! let mut writer = PageWriter::new(tx, status);
//! writer.write(b"rows").unwrap();
//! writer.close(wia::S_OK).unwrap();
//! assert_eq!(encoder.join().unwrap(), b"rows");
//! ```

use crate::stage::StageOutput;
use scanwire_codecs::{ChunkSource, EncodeError};
use scanwire_core::device::PageInfo;
use scanwire_core::transfer::{CancelHandle, LentBytes};
use scanwire_core::wia::{self, HResult};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Page bytes in the queue: collected by the writer, or memory lent by a driver host's page
/// ring (passed on as it is, so a hosted page is not copied on its way to the encoder).
pub enum Chunk {
    /// Bytes the writer collected; the buffer goes back to the writer once read.
    Owned(Vec<u8>),
    /// Lent memory, given back when the encoder has read it.
    Lent(LentBytes),
}

impl std::ops::Deref for Chunk {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Owned(v) => v,
            Chunk::Lent(l) => l,
        }
    }
}

impl From<Vec<u8>> for Chunk {
    fn from(v: Vec<u8>) -> Self {
        Chunk::Owned(v)
    }
}

/// What flows to an encoder thread.
pub enum Msg {
    /// A document page starts (multi-page files only); its result goes to the sender.
    Begin(Box<PageInfo>, Arc<PageStatus>),
    /// Page bytes.
    Data(Chunk),
    /// The page ended: S_OK complete, anything else incomplete.
    End(HResult),
    /// The transfer ended with this status (multi-page files only).
    Finish(HResult),
    /// A document page already collected and run through the stages on its own worker
    /// (multi-page files with stages), sent in page order; its result goes to the sender.
    Processed(
        Box<PageInfo>,
        Result<Vec<StageOutput>, EncodeError>,
        Arc<PageStatus>,
    ),
}

impl Msg {
    fn bytes(&self) -> usize {
        match self {
            Msg::Data(d) => d.len(),
            // Processed pages count too: otherwise pages processed faster than the document
            // is encoded would pile up here without bound.
            Msg::Processed(_, Ok(outputs), _) => outputs
                .iter()
                .map(|o| match o {
                    StageOutput::Page(p) => p.data.len(),
                    StageOutput::Separator => 0,
                })
                .sum(),
            _ => 0,
        }
    }
}

struct State {
    items: VecDeque<Msg>,
    bytes: usize,
    senders: usize,
    receiver: bool,
    /// Buffers the encoder is done with, for the sender to fill again: a fresh 256 KiB
    /// buffer per message cost 2,000 page faults per A4 300 dpi page.
    spare: Vec<Vec<u8>>,
}

/// Spare buffers kept: the sender fills one while the encoder reads another.
const SPARES: usize = 2;

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

fn lock(s: &Shared) -> MutexGuard<'_, State> {
    // A panic while holding this lock leaves only a queue behind; carry on with it.
    s.state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sending end (cloneable: a document's pages each hold one).
pub struct Tx {
    shared: Arc<Shared>,
    budget: usize,
}

/// The encoder's end.
pub struct Rx {
    shared: Arc<Shared>,
}

/// A queue holding at most about `budget` bytes of page data (one message may go past it).
pub fn pipe(budget: usize) -> (Tx, Rx) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            bytes: 0,
            senders: 1,
            receiver: true,
            spare: Vec::new(),
        }),
        changed: Condvar::new(),
    });
    (
        Tx {
            shared: shared.clone(),
            budget: budget.max(1),
        },
        Rx { shared },
    )
}

impl Tx {
    /// Queues `msg`, waiting while the queue is over budget. `Err` if the encoder is gone.
    pub fn send(&self, msg: Msg) -> Result<(), Msg> {
        let mut s = lock(&self.shared);
        while s.receiver && s.bytes >= self.budget && msg.bytes() > 0 {
            s = self
                .shared
                .changed
                .wait(s)
                .unwrap_or_else(|p| p.into_inner());
        }
        if !s.receiver {
            return Err(msg);
        }
        s.bytes += msg.bytes();
        s.items.push_back(msg);
        drop(s);
        self.shared.changed.notify_all();
        Ok(())
    }
}

impl Tx {
    /// An empty buffer of at least `capacity` bytes, reused if one is spare.
    fn buffer(&self, capacity: usize) -> Vec<u8> {
        lock(&self.shared)
            .spare
            .pop()
            .filter(|b| b.capacity() >= capacity)
            .unwrap_or_else(|| Vec::with_capacity(capacity))
    }
}

impl Clone for Tx {
    fn clone(&self) -> Self {
        lock(&self.shared).senders += 1;
        Tx {
            shared: self.shared.clone(),
            budget: self.budget,
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        lock(&self.shared).senders -= 1;
        self.shared.changed.notify_all();
    }
}

impl Rx {
    /// The next message; `None` once every sender is gone and the queue is empty.
    pub fn recv(&self) -> Option<Msg> {
        let mut s = lock(&self.shared);
        loop {
            if let Some(m) = s.items.pop_front() {
                s.bytes -= m.bytes();
                drop(s);
                self.shared.changed.notify_all();
                return Some(m);
            }
            if s.senders == 0 {
                return None;
            }
            s = self
                .shared
                .changed
                .wait(s)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Rx {
    /// Hands a buffer whose bytes were consumed back to the senders.
    fn give_back(&self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 {
            return;
        }
        let mut s = lock(&self.shared);
        if s.spare.len() < SPARES && s.receiver {
            buf.clear();
            s.spare.push(buf);
        }
    }
}

impl Drop for Rx {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.receiver = false;
        s.items.clear();
        s.spare.clear();
        s.bytes = 0;
        drop(s);
        self.shared.changed.notify_all();
    }
}

/// A page's fate as the encoder thread reports it to the page's sink.
pub struct PageStatus {
    /// The first failure (as an HResult), 0 while none: lets `write` stop the driver early.
    failed: AtomicI32,
    /// Sends the page's final result once, for sinks that wait in `close`.
    done: Mutex<Option<mpsc::SyncSender<HResult>>>,
    /// Told the page's final result once (progress: the page is done).
    hook: Mutex<Option<FinishHook>>,
}

/// What [`PageStatus::on_finish`] calls.
type FinishHook = Box<dyn FnOnce(HResult) + Send>;

impl PageStatus {
    /// A status, and the receiver of its final result (for a sink that waits in `close`).
    pub fn new() -> (Arc<PageStatus>, mpsc::Receiver<HResult>) {
        let (tx, rx) = mpsc::sync_channel(1);
        (
            Arc::new(PageStatus {
                failed: AtomicI32::new(0),
                done: Mutex::new(Some(tx)),
                hook: Mutex::new(None),
            }),
            rx,
        )
    }

    /// The first failure recorded, if any.
    pub fn failed(&self) -> Option<HResult> {
        match self.failed.load(Ordering::Acquire) {
            0 => None,
            hr => Some(HResult(hr)),
        }
    }

    /// Records the page's result (S_OK: kept; anything else: not kept).
    pub fn finish(&self, hr: HResult) {
        if hr.is_failure() {
            let _ = self
                .failed
                .compare_exchange(0, hr.0, Ordering::AcqRel, Ordering::Acquire);
        }
        if let Some(tx) = self.done.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(hr);
        }
        let hook = self.hook.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(f) = hook {
            f(hr);
        }
    }

    /// Calls `f` with the page's result when it is recorded (once).
    pub fn on_finish(&self, f: impl FnOnce(HResult) + Send + 'static) {
        *self.hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
    }
}

/// One page's bytes out of the queue, as a [`ChunkSource`].
pub struct QueueSource<'a> {
    rx: &'a Rx,
    chunk: Chunk,
    /// How the page ended, once it has.
    end: Option<HResult>,
    /// A transfer end that arrived instead of the page's end (a page never closed).
    finish: Option<HResult>,
}

impl<'a> QueueSource<'a> {
    /// The page that comes next in `rx`.
    pub fn new(rx: &'a Rx) -> Self {
        QueueSource {
            rx,
            chunk: Chunk::Owned(Vec::new()),
            end: None,
            finish: None,
        }
    }

    /// The transfer's end, if it arrived while this page was still open.
    pub fn finish(&self) -> Option<HResult> {
        self.finish
    }

    /// Skips the rest of the page (after an encoder error), returning how it ended.
    pub fn drain(&mut self) -> HResult {
        while self.end.is_none() {
            match self.next_chunk() {
                Ok(Some(_)) => {}
                Ok(None) => {}
                Err(_) => {}
            }
        }
        self.end.unwrap_or(wia::E_ABORT)
    }
}

impl ChunkSource for QueueSource<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, EncodeError> {
        if let Some(end) = self.end {
            return if end == wia::S_OK {
                Ok(None)
            } else {
                Err(EncodeError::Incomplete { status: end })
            };
        }
        // The chunk just read goes back before waiting for the next: lent memory must not
        // be held while its source waits for room to write more of the page.
        if let Chunk::Owned(used) = std::mem::replace(&mut self.chunk, Chunk::Owned(Vec::new())) {
            self.rx.give_back(used);
        }
        match self.rx.recv() {
            Some(Msg::Data(d)) => {
                self.chunk = d;
                Ok(Some(&self.chunk))
            }
            Some(Msg::End(hr)) => {
                self.end = Some(hr);
                self.next_chunk()
            }
            Some(Msg::Finish(hr)) => {
                self.finish = Some(hr);
                self.end = Some(wia::E_ABORT);
                self.next_chunk()
            }
            // The sink vanished without closing the page (or a stray message): incomplete.
            Some(Msg::Begin(..) | Msg::Processed(..)) | None => {
                self.end = Some(wia::E_ABORT);
                self.next_chunk()
            }
        }
    }
}

/// Bytes collected before they are queued by default: fewer, larger messages.
const COALESCE: usize = 256 * 1024;

/// The driver-side writer of one page: coalesces writes and queues them.
/// Dropped without [`PageWriter::close`], it ends the page as incomplete, so the encoder
/// never waits for a page nobody will finish.
pub struct PageWriter {
    tx: Tx,
    buf: Vec<u8>,
    status: Arc<PageStatus>,
    closed: bool,
    coalesce: usize,
    cancel: Option<CancelHandle>,
}

impl Drop for PageWriter {
    fn drop(&mut self) {
        if !self.closed {
            // End carries no bytes, so this never waits for queue space.
            let _ = self.tx.send(Msg::End(wia::E_ABORT));
        }
    }
}

impl PageWriter {
    /// A writer into `tx` whose encoder reports to `status`.
    pub fn new(tx: Tx, status: Arc<PageStatus>) -> Self {
        PageWriter {
            tx,
            buf: Vec::new(),
            status,
            closed: false,
            coalesce: COALESCE,
            cancel: None,
        }
    }

    /// Queues writes once `bytes` have collected (default 256 KiB): smaller keeps bytes
    /// moving while a slow scanner delivers small bands.
    pub fn coalescing(mut self, bytes: usize) -> Self {
        self.coalesce = bytes.max(1);
        self
    }

    /// Once `cancel` is cancelled, a failed or vanished encoder is expected (it stopped for
    /// the cancel): writes and `close` succeed and drop the bytes, and the driver learns of
    /// the cancel at its next callback, as WIA has it.
    pub fn cancelled_by(mut self, cancel: CancelHandle) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Ok after a cancel (see [`PageWriter::cancelled_by`]), else the encoder's failure.
    fn gone(&self) -> Result<(), HResult> {
        if self.cancel.as_ref().is_some_and(CancelHandle::is_cancelled) {
            Ok(())
        } else {
            Err(self.status.failed().unwrap_or(wia::WIA_ERROR_DESTINATION))
        }
    }

    /// Queues `data` (coalesced), waiting while the queue is full; the encoder's failure
    /// once it has failed.
    pub fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if self.status.failed().is_some() {
            return self.gone();
        }
        if self.buf.is_empty() && data.len() >= self.coalesce {
            let mut copy = self.tx.buffer(data.len());
            copy.extend_from_slice(data);
            return self
                .tx
                .send(Msg::Data(copy.into()))
                .or_else(|_| self.gone());
        }
        if self.buf.capacity() == 0 {
            self.buf = self.tx.buffer(self.coalesce);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.coalesce {
            let full = std::mem::take(&mut self.buf);
            self.tx
                .send(Msg::Data(full.into()))
                .or_else(|_| self.gone())?;
        }
        Ok(())
    }

    /// [`write`](Self::write) of lent memory: a piece of at least the coalescing size is
    /// queued as it is (after what was collected before it, in order); a smaller one is
    /// copied and given back at once.
    pub fn write_lent(&mut self, data: LentBytes) -> Result<(), HResult> {
        if self.status.failed().is_some() {
            return self.gone();
        }
        if data.len() < self.coalesce {
            return self.write(&data);
        }
        if !self.buf.is_empty() {
            let collected = std::mem::take(&mut self.buf);
            self.tx
                .send(Msg::Data(collected.into()))
                .or_else(|_| self.gone())?;
        }
        self.tx
            .send(Msg::Data(Chunk::Lent(data)))
            .or_else(|_| self.gone())
    }

    /// Ends the page with `status`; returns the page's status handle.
    pub fn close(mut self, status: HResult) -> Result<Arc<PageStatus>, HResult> {
        self.closed = true;
        if status == wia::S_OK && !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            if self.tx.send(Msg::Data(rest.into())).is_err() {
                self.gone()?;
            }
        }
        if self.tx.send(Msg::End(status)).is_err() {
            self.gone()?;
        }
        Ok(self.status.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_and_ordered() {
        let (tx, rx) = pipe(10);
        let t = std::thread::spawn(move || {
            for i in 0..100u8 {
                tx.send(Msg::Data(vec![i; 7].into())).ok().unwrap();
            }
            tx.send(Msg::End(wia::S_OK)).ok().unwrap();
        });
        let mut src = QueueSource::new(&rx);
        let mut n = 0u8;
        while let Some(c) = src.next_chunk().unwrap() {
            assert_eq!(c, &[n; 7]);
            // The sender can be at most one message past the budget.
            assert!(lock(&rx.shared).bytes <= 10 + 7);
            n += 1;
        }
        assert_eq!(n, 100);
        t.join().unwrap();
    }

    /// Lent memory that counts when it is given back.
    struct Lender(Vec<u8>, Arc<AtomicI32>);

    impl AsRef<[u8]> for Lender {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    impl Drop for Lender {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn lent_pieces_pass_through_in_order_and_go_back_once_read() {
        let (tx, rx) = pipe(1 << 20);
        let (status, _done) = PageStatus::new();
        let back = Arc::new(AtomicI32::new(0));
        let lent = |b: u8, n: usize| LentBytes::new(Lender(vec![b; n], back.clone()));
        let mut writer = PageWriter::new(tx, status).coalescing(8);
        writer.write(&[1; 3]).unwrap();
        // Small: copied after the collected bytes and given back at once.
        writer.write_lent(lent(2, 4)).unwrap();
        assert_eq!(back.load(Ordering::SeqCst), 1);
        // Large: the collected bytes go first, then the piece itself.
        writer.write_lent(lent(3, 16)).unwrap();
        writer.write_lent(lent(4, 16)).unwrap();
        assert_eq!(
            back.load(Ordering::SeqCst),
            1,
            "queued pieces are still lent"
        );
        writer.close(wia::S_OK).unwrap();
        let mut src = QueueSource::new(&rx);
        assert_eq!(src.next_chunk().unwrap(), Some(&[1, 1, 1, 2, 2, 2, 2][..]));
        assert_eq!(src.next_chunk().unwrap(), Some(&[3; 16][..]));
        assert_eq!(back.load(Ordering::SeqCst), 1, "held while being read");
        assert_eq!(src.next_chunk().unwrap(), Some(&[4; 16][..]));
        assert_eq!(
            back.load(Ordering::SeqCst),
            2,
            "given back when the next is asked for"
        );
        assert_eq!(src.next_chunk().unwrap(), None);
        assert_eq!(back.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_reader_waiting_for_more_holds_no_lent_piece() {
        let (tx, rx) = pipe(1 << 20);
        let (status, _done) = PageStatus::new();
        let back = Arc::new(AtomicI32::new(0));
        let mut writer = PageWriter::new(tx, status).coalescing(8);
        writer
            .write_lent(LentBytes::new(Lender(vec![7; 32], back.clone())))
            .unwrap();
        let reader = std::thread::spawn(move || {
            let mut src = QueueSource::new(&rx);
            let mut n = 0;
            while let Some(c) = src.next_chunk().unwrap() {
                n += c.len();
            }
            n
        });
        // The reader takes the piece, then waits for more: it must have given it back (its
        // source may be waiting for that very room before it can write the rest).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while back.load(Ordering::SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the piece is still held"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        writer.write(&[1; 8]).unwrap();
        writer.close(wia::S_OK).unwrap();
        assert_eq!(reader.join().unwrap(), 40);
    }

    #[test]
    fn incomplete_and_vanished_pages() {
        let (tx, rx) = pipe(100);
        tx.send(Msg::Data(vec![1].into())).ok().unwrap();
        tx.send(Msg::End(wia::S_FALSE)).ok().unwrap();
        let mut src = QueueSource::new(&rx);
        assert_eq!(src.next_chunk().unwrap(), Some(&[1u8][..]));
        assert!(matches!(
            src.next_chunk(),
            Err(EncodeError::Incomplete { status }) if status == wia::S_FALSE
        ));
        drop(tx);
        let mut src = QueueSource::new(&rx);
        assert!(src.next_chunk().is_err());
        assert_eq!(src.drain(), wia::E_ABORT);
    }

    #[test]
    fn a_dead_worker_stops_the_driver_unless_the_transfer_was_cancelled() {
        for cancelled in [false, true] {
            let (tx, rx) = pipe(1 << 20);
            let (status, _done) = PageStatus::new();
            let cancel = CancelHandle::new();
            let mut writer = PageWriter::new(tx, status.clone())
                .coalescing(4)
                .cancelled_by(cancel.clone());
            assert_eq!(writer.write(&[1; 10]), Ok(()));
            // The worker fails and goes away.
            status.finish(wia::E_FAIL);
            drop(rx);
            if cancelled {
                cancel.cancel();
            }
            let write = writer.write(&[2; 10]);
            let failed = writer.close(wia::S_OK).map(|page| page.failed());
            if cancelled {
                assert_eq!(write, Ok(()));
            } else {
                assert_eq!((write, failed), (Err(wia::E_FAIL), Err(wia::E_FAIL)));
            }
        }
    }

    #[test]
    fn sender_fails_once_receiver_is_gone() {
        let (tx, rx) = pipe(1);
        drop(rx);
        assert!(tx.send(Msg::Data(vec![0; 5].into())).is_err());
    }
}
