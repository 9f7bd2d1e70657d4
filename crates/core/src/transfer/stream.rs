//! The stream a driver writes one page into (`IStream` as a mini-driver uses it).
//!
//! The handle owns nothing but a slot shared with the relay: the application's sink lives in
//! the slot, so the relay can revoke a stream the driver forgot to release (S22) and the
//! runner can close a page whose driver hung. Releasing the handle (drop) delivers
//! END_OF_STREAM at once; [`StreamHandle::finish`] first marks the page complete.

use super::verifier::Rule;
use crate::sync::{lock, Arc, AtomicU64, Mutex, Ordering};
use crate::wia::{self, HResult};
use std::io::SeekFrom;

/// The application's stream for one page (`IStream` on the application side): the bytes
/// arrive in order, and `close` says whether the page is complete.
pub trait PageSink: Send {
    /// Appends bytes. An error stops the transfer: the driver sees it from its write.
    fn write(&mut self, data: &[u8]) -> Result<(), HResult>;

    /// [`write`](Self::write) of bytes the application may keep without copying: memory
    /// lent by the page's source (a driver host's page ring), given back when `data` is
    /// dropped. A sink that queues pages keeps `data` itself; by default it is copied.
    /// Keep it only as long as the bytes are on their way to be read: until it is dropped,
    /// the source cannot reuse that memory.
    fn write_lent(&mut self, data: LentBytes) -> Result<(), HResult> {
        self.write(&data)
    }

    /// Ends the page. `status` is S_OK when the driver finished the page, otherwise why it
    /// did not (S_FALSE: cancelled; an error). A sink keeps a complete page and discards an
    /// incomplete one. Returns S_OK, or an error if keeping the page failed.
    fn close(self: Box<Self>, status: HResult) -> HResult;
}

/// Page bytes in memory lent by their source: a driver host's page ring, where the host wrote
/// them, handed to the application's sink without a copy. Dropping the value gives the
/// memory back (the host may then write the ring there again), so it must not be held while
/// waiting for more of the page.
pub struct LentBytes(Box<dyn AsRef<[u8]> + Send>);

impl LentBytes {
    /// Bytes in `memory`, which gives its memory back when dropped.
    pub fn new(memory: impl AsRef<[u8]> + Send + 'static) -> Self {
        LentBytes(Box::new(memory))
    }
}

impl std::ops::Deref for LentBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl std::fmt::Debug for LentBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LentBytes({} bytes)", self.len())
    }
}

/// What a stream handle reports to: the relay's shared state, seen only through this trait
/// so that this module does not depend on the relay (which creates the handles).
pub(crate) trait StreamOwner: Send + Sync {
    /// Driver activity, for the watchdog.
    fn beat(&self);
    /// Records a broken rule; true in strict mode (the call must fail).
    fn violate(&self, rule: Rule, detail: String) -> bool;
    /// The driver's thread enters the application's code; returns whether it was outside.
    fn enter_app(&self) -> bool;
    /// And leaves it (pass `enter_app`'s answer).
    fn leave_app(&self, entered: bool);
    /// The handle was dropped: close the sink and deliver END_OF_STREAM.
    fn release(&self, slot: &Arc<StreamSlot>, finished: bool, failed: Option<HResult>);
}

pub(crate) struct StreamSlot {
    pub(crate) inner: Mutex<SlotInner>,
    /// Bytes appended so far; read by the relay for the S16 check without taking the lock.
    pub(crate) written: AtomicU64,
    pub(crate) page: u32,
}

pub(crate) struct SlotInner {
    pub(crate) sink: Option<Box<dyn PageSink>>,
    position: u64,
    end: u64,
    pub(crate) failed: Option<HResult>,
}

impl StreamSlot {
    pub(crate) fn new(sink: Box<dyn PageSink>, page: u32) -> Arc<Self> {
        Arc::new(StreamSlot {
            inner: Mutex::new(SlotInner {
                sink: Some(sink),
                position: 0,
                end: 0,
                failed: None,
            }),
            written: AtomicU64::new(0),
            page,
        })
    }

    /// Takes the sink out (release, revoke or abandon); `None` if someone already did.
    pub(crate) fn take_sink(&self) -> Option<Box<dyn PageSink>> {
        lock(&self.inner).sink.take()
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// A page's stream, handed out by `get_next_stream`.
pub struct StreamHandle(Inner);

enum Inner {
    /// The relay's own stream: the application's sink is in the slot.
    Local {
        slot: Arc<StreamSlot>,
        shared: Box<dyn StreamOwner>,
        finished: bool,
    },
    /// A stream whose relay is in another process (`scanwire-host`): every call is passed on.
    Remote {
        page: u32,
        stream: Box<dyn RemoteStream>,
        finished: bool,
    },
}

/// The other end of a [`StreamHandle`] made by [`StreamHandle::remote`]: a driver hosted in
/// its own process writes to a handle whose relay (and verifier) live in the application's
/// process, so every call is carried there unchanged and checked by the real handle.
pub trait RemoteStream: Send {
    /// [`StreamHandle::write`].
    fn write(&mut self, data: &[u8]) -> Result<(), HResult>;
    /// [`StreamHandle::seek`].
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, HResult>;
    /// [`StreamHandle::bytes_written`].
    fn bytes_written(&self) -> u64;
    /// The handle was released; `finished` when [`StreamHandle::finish`] released it.
    fn release(&mut self, finished: bool);
    /// [`StreamHandle::write_in_place`]: lends `len` bytes of the stream's own memory (a
    /// driver host's page ring) to `fill`, then appends the first bytes `fill` says it wrote,
    /// exactly as `write` would append them. `None` (without calling `fill`) when it cannot
    /// lend that much now; the handle then fills the driver's buffer and writes it.
    fn lend(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> Option<Result<usize, HResult>> {
        let _ = (len, fill);
        None
    }
}

impl std::fmt::Debug for StreamHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHandle")
            .field("page", &self.page())
            .field("bytes", &self.bytes_written())
            .finish()
    }
}

impl StreamHandle {
    pub(crate) fn new(slot: Arc<StreamSlot>, shared: Box<dyn StreamOwner>) -> Self {
        StreamHandle(Inner::Local {
            slot,
            shared,
            finished: false,
        })
    }

    /// A handle for page `page` whose calls go to `stream` (a driver host's callback: the
    /// relay is in another process).
    pub fn remote(page: u32, stream: Box<dyn RemoteStream>) -> Self {
        StreamHandle(Inner::Remote {
            page,
            stream,
            finished: false,
        })
    }

    /// `IStream::Write` at the current position, which must be the end (S21: drivers seek to
    /// the end before each write). An error means the application's stream failed: stop and
    /// return a failure (S19).
    pub fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Inner::Remote { stream, .. } = &mut self.0 {
            return stream.write(data);
        }
        self.append(data.len(), |sink| sink.write(data))
    }

    /// [`write`](Self::write) of lent memory (the application's side of a driver host): the
    /// same checks and answer, and the application's sink may keep `data` instead of copying
    /// it ([`PageSink::write_lent`]).
    pub fn write_lent(&mut self, data: LentBytes) -> Result<(), HResult> {
        if let Inner::Remote { stream, .. } = &mut self.0 {
            return stream.write(&data);
        }
        self.append(data.len(), |sink| sink.write_lent(data))
    }

    /// Appends `len` bytes with `put` (a local stream): the append-only rule (S21), a revoked
    /// sink, and the byte count the relay checks (S16).
    fn append(
        &mut self,
        len: usize,
        put: impl FnOnce(&mut dyn PageSink) -> Result<(), HResult>,
    ) -> Result<(), HResult> {
        let Inner::Local { slot, shared, .. } = &mut self.0 else {
            return Err(wia::E_UNEXPECTED);
        };
        shared.beat();
        let mut g = lock(&slot.inner);
        if g.sink.is_none() {
            // Revoked (S22) or abandoned by the watchdog: the page is gone.
            return Err(wia::E_UNEXPECTED);
        }
        if g.position != g.end {
            let detail = format!(
                "write of {len} bytes at offset {} of a {}-byte stream",
                g.position, g.end
            );
            drop(g);
            if shared.violate(Rule::S21Append, detail) {
                return Err(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
            g = lock(&slot.inner);
            g.position = g.end;
            // Re-check the sink: it may have been revoked while the lock was released.
            if g.sink.is_none() {
                return Err(wia::E_UNEXPECTED);
            }
        }
        let sink = g.sink.as_mut().expect("checked above");
        let entered = shared.enter_app();
        let r = put(sink.as_mut());
        shared.leave_app(entered);
        match r {
            Ok(()) => {
                g.end += len as u64;
                g.position = g.end;
                slot.written.store(g.end, Ordering::Relaxed);
                Ok(())
            }
            Err(hr) => {
                let hr = if hr.is_failure() {
                    hr
                } else {
                    wia::WIA_ERROR_DESTINATION
                };
                g.failed = Some(hr);
                Err(hr)
            }
        }
    }

    /// [`write`](Self::write) of bytes the driver produces straight into the stream's memory:
    /// `fill` gets a buffer of `buf.len()` bytes, writes the page's next bytes at its start
    /// and returns how many (at most the buffer's length); those are appended as by `write`,
    /// with the same checks and the same answer. In process the buffer is `buf` (the
    /// driver's own band, so nothing changes); behind a driver host it is space in the shared
    /// page ring, so the bytes are not copied again on their way to the application. Returns
    /// the count appended.
    pub fn write_in_place(
        &mut self,
        buf: &mut [u8],
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, HResult> {
        let mut fill = Some(fill);
        if let Inner::Remote { stream, .. } = &mut self.0 {
            let mut once = |b: &mut [u8]| fill.take().map_or(0, |f| f(b));
            if let Some(r) = stream.lend(buf.len(), &mut once) {
                return r;
            }
        }
        let Some(f) = fill.take() else {
            // A `lend` that called `fill` must answer; treat a broken one as a failed write.
            return Err(wia::E_UNEXPECTED);
        };
        let n = f(buf).min(buf.len());
        self.write(&buf[..n]).map(|()| n)
    }

    /// `IStream::Seek`. Only seeking to the end is useful: the application's stream is
    /// written in order, so a later write anywhere else breaks S21.
    pub fn seek(&mut self, pos: SeekFrom) -> Result<u64, HResult> {
        let slot = match &mut self.0 {
            Inner::Local { slot, .. } => slot,
            Inner::Remote { stream, .. } => return stream.seek(pos),
        };
        let mut g = lock(&slot.inner);
        let t = seek_within(g.position, g.end, pos).ok_or(wia::E_INVALIDARG)?;
        g.position = t;
        Ok(t)
    }

    /// Bytes written so far: the `ulTransferredBytes` to report (S16).
    pub fn bytes_written(&self) -> u64 {
        match &self.0 {
            Inner::Local { slot, .. } => slot.bytes(),
            Inner::Remote { stream, .. } => stream.bytes_written(),
        }
    }

    /// The 1-based page number this stream is for.
    pub fn page(&self) -> u32 {
        match &self.0 {
            Inner::Local { slot, .. } => slot.page,
            Inner::Remote { page, .. } => *page,
        }
    }

    /// Marks the page complete and releases the stream: the application keeps it.
    pub fn finish(mut self) {
        match &mut self.0 {
            Inner::Local { finished, .. } | Inner::Remote { finished, .. } => *finished = true,
        }
    }
}

/// `IStream::Seek` on a stream that is only ever appended to (a page being written): the new
/// position for `pos` from `position` in a stream of `end` bytes, or `None` when it falls
/// outside `0..=end` (seeking cannot grow such a stream: nothing would fill the gap). Public
/// for the COM layer's application-side stream, which follows the same rule.
pub fn seek_within(position: u64, end: u64, pos: SeekFrom) -> Option<u64> {
    let target = match pos {
        SeekFrom::Start(n) => Some(n),
        SeekFrom::End(d) => end.checked_add_signed(d),
        SeekFrom::Current(d) => position.checked_add_signed(d),
    };
    target.filter(|t| *t <= end)
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        match &mut self.0 {
            Inner::Local {
                slot,
                shared,
                finished,
            } => {
                // Release: the application closes the sink and gets END_OF_STREAM now, before
                // any later GetNextStream (S13) and before END_OF_TRANSFER (S14).
                let failed = lock(&slot.inner).failed;
                let finished = *finished && failed.is_none();
                shared.release(slot, finished, failed);
            }
            Inner::Remote {
                stream, finished, ..
            } => stream.release(*finished),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeking_stays_within_what_was_written() {
        assert_eq!(seek_within(3, 10, SeekFrom::Start(10)), Some(10));
        assert_eq!(seek_within(3, 10, SeekFrom::Start(11)), None);
        assert_eq!(seek_within(3, 10, SeekFrom::End(0)), Some(10));
        assert_eq!(seek_within(3, 10, SeekFrom::End(-10)), Some(0));
        assert_eq!(seek_within(3, 10, SeekFrom::End(-11)), None);
        assert_eq!(seek_within(3, 10, SeekFrom::End(1)), None);
        assert_eq!(seek_within(3, 10, SeekFrom::Current(-3)), Some(0));
        assert_eq!(seek_within(3, 10, SeekFrom::Current(-4)), None);
        assert_eq!(seek_within(3, 10, SeekFrom::Current(7)), Some(10));
    }
}
