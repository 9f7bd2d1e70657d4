//! The page ring: shared memory between the application's process and its host, so a page's
//! bytes are written once, by the host (the driver renders into the ring, or its band is
//! copied there), and handed to the application's stream in place: lent to a sink that
//! queues them ([`RingReader::lend`]), so they reach the encoder without another copy. The crate's only `unsafe` code (the FFI layer: `mmap` and
//! the pointers into the mapping).
//!
//! Layout: a 64-byte header whose first word is `consumed` (bytes the application has taken,
//! written by it) and whose second is the *answer word* (1 while the application's relay
//! would answer a well-formed STATUS S_OK, written by the application, read by the host),
//! then `cap` bytes of data used as a ring. The host alone writes data and
//! counts what it produced; it writes a piece only into space the application has consumed,
//! and never across the ring's end (it splits there), then sends a frame naming the piece's
//! stream and length. Pieces are taken in frame order, so both sides agree on every offset;
//! the application checks each length against the ring before touching it.

#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const HEADER: usize = 64;

/// The ring's data size for a new host. Small enough to stay in the CPU's last-level cache
/// while the host writes a page and the application reads it just behind (a 32 MiB ring
/// measured half the throughput: every byte went out to memory and back). In process the
/// application's stream takes each band before the driver goes on, so even a few bands of
/// slack are more than a driver has there.
pub(crate) const RING_BYTES: usize = 4 << 20;

pub(crate) struct Ring {
    base: *mut u8,
    len: usize,
    cap: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; every access goes through
// the methods below, which touch only the header atomic and ranges the ring protocol gives
// to one side at a time.
unsafe impl Send for Ring {}
// SAFETY: as above; `&Ring` methods only read the base pointer and use the atomic.
unsafe impl Sync for Ring {}

impl Ring {
    /// Creates the ring file (mode 0600, in a private directory) and maps it.
    pub(crate) fn create(path: &Path, cap: usize) -> io::Result<Ring> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.set_len((HEADER + cap) as u64)?;
        Ring::map(&file)
    }

    /// Maps an existing ring file (the host's side).
    pub(crate) fn open(path: &Path) -> io::Result<Ring> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ring::map(&file)
    }

    fn map(file: &File) -> io::Result<Ring> {
        let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
        if len <= HEADER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a ring too small",
            ));
        }
        use rustix::mm::{mmap, MapFlags, ProtFlags};
        // SAFETY: a fresh shared mapping of the whole file, at an address the kernel picks;
        // nothing else in this process refers to it. It stays valid after the file is closed
        // or unlinked, until `munmap` in Drop.
        let base = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                file,
                0,
            )
        }?;
        Ok(Ring {
            base: base.cast(),
            len,
            cap: len - HEADER,
        })
    }

    /// Data bytes.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    fn consumed_word(&self) -> &AtomicU64 {
        // SAFETY: the header's first 8 bytes, page-aligned (mmap), inside the mapping, only
        // ever accessed atomically by both processes; the reference lives no longer than
        // `self`, which keeps the mapping.
        unsafe { AtomicU64::from_ptr(self.base.cast::<u64>()) }
    }

    fn answer_word(&self) -> &AtomicU64 {
        // SAFETY: the header's second 8 bytes (aligned, inside the mapping), only ever
        // accessed atomically by both processes; the reference lives no longer than `self`.
        unsafe { AtomicU64::from_ptr(self.base.add(8).cast::<u64>()) }
    }

    /// The application's side: whether the host may answer a well-formed STATUS S_OK itself.
    pub(crate) fn set_status_ok(&self, ok: bool) {
        self.answer_word().store(u64::from(ok), Ordering::SeqCst);
    }

    /// The host's side: the answer word.
    pub(crate) fn status_ok(&self) -> bool {
        self.answer_word().load(Ordering::SeqCst) == 1
    }

    /// Bytes the application has consumed so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed_word().load(Ordering::Acquire)
    }

    /// The host's side: copies `data` into the ring at stream position `produced`. The caller
    /// has checked that `data` fits in consumed space and does not cross the ring's end.
    pub(crate) fn put(&self, produced: u64, data: &[u8]) {
        let at = (produced % self.cap as u64) as usize;
        let free = self.cap as u64 - (produced - self.consumed());
        assert!(
            at + data.len() <= self.cap && data.len() as u64 <= free,
            "a ring write past free space"
        );
        // SAFETY: `at..at + len` lies inside the data area (checked above), and the
        // application has consumed it (the Acquire load above orders its reads before our
        // writes), so nobody reads it until the frame announcing it is sent.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.add(HEADER + at), data.len());
        }
    }

    /// The host's side: lends the `len` bytes at stream position `produced` to `f`, which
    /// writes the next piece of page data there and says how many bytes it wrote (clamped to
    /// `len`). The caller has checked, as for `put`, that the range is consumed space not
    /// crossing the ring's end, and is the ring's only producer meanwhile.
    pub(crate) fn fill(
        &self,
        produced: u64,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> usize,
    ) -> usize {
        let at = (produced % self.cap as u64) as usize;
        let free = self.cap as u64 - (produced - self.consumed());
        assert!(
            at + len <= self.cap && len as u64 <= free,
            "a ring fill past free space"
        );
        // SAFETY: `at..at + len` lies inside the data area (checked above) and the
        // application has consumed it (the Acquire load orders its reads before our writes);
        // it reads it again only after the frame announcing it, which is sent after `f`
        // returns, and the caller is the only producer, so the slice is ours alone while
        // borrowed.
        let piece = unsafe { std::slice::from_raw_parts_mut(self.base.add(HEADER + at), len) };
        f(piece).min(len)
    }

    /// The application's side: marks every byte before stream position `consumed` free for
    /// the host to write again.
    fn set_consumed(&self, consumed: u64) {
        self.consumed_word().store(consumed, Ordering::Release);
    }

    /// The data offset of the `len` bytes at stream position `pos`, or `None` when they do
    /// not lie inside the ring without crossing its end (a broken host).
    fn offset(&self, pos: u64, len: usize) -> Option<usize> {
        let at = (pos % self.cap as u64) as usize;
        (len <= self.cap && at + len <= self.cap).then_some(at)
    }
}

/// The application's side of the ring. Pieces are claimed in frame order; each is read at
/// once ([`take`](Self::take)) or lent on ([`lend`](Self::lend)) and given back later, in any
/// order. The consumed word advances only over pieces given back without a gap, so the host
/// never writes where a lent piece still lies.
pub(crate) struct RingReader {
    ring: Ring,
    pieces: Mutex<Pieces>,
}

#[derive(Default)]
struct Pieces {
    /// Stream position of the next piece to claim.
    next: u64,
    /// Claimed pieces not yet past the consumed word: start, end, given back.
    out: VecDeque<(u64, u64, bool)>,
}

impl RingReader {
    pub(crate) fn new(ring: Ring) -> Self {
        RingReader {
            ring,
            pieces: Mutex::new(Pieces::default()),
        }
    }

    pub(crate) fn ring(&self) -> &Ring {
        &self.ring
    }

    fn pieces(&self) -> std::sync::MutexGuard<'_, Pieces> {
        self.pieces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims the next `len` bytes: their stream position and data offset.
    fn claim(&self, len: usize) -> Option<(u64, usize)> {
        let mut p = self.pieces();
        let start = p.next;
        let at = self.ring.offset(start, len)?;
        let end = start + len as u64;
        p.next = end;
        p.out.push_back((start, end, false));
        Some((start, at))
    }

    /// Gives back the piece claimed at `start`, and moves the consumed word over every piece
    /// given back before the first one still out.
    fn give_back(&self, start: u64) {
        let mut p = self.pieces();
        if let Some(piece) = p.out.iter_mut().find(|(s, _, _)| *s == start) {
            piece.2 = true;
        }
        let mut moved = None;
        while let Some(&(_, end, true)) = p.out.front() {
            p.out.pop_front();
            moved = Some(end);
        }
        if let Some(end) = moved {
            self.ring.set_consumed(end);
        }
    }

    /// The bytes at data offset `at`.
    ///
    /// SAFETY (for the caller): `at..at + len` must be a piece claimed and not yet given back.
    unsafe fn bytes(&self, at: usize, len: usize) -> &[u8] {
        // SAFETY: the range lies inside the data area (`offset` checked it when the piece
        // was claimed). The host wrote it before sending the frame that announced it (the
        // socket orders it), and writes there again only once the consumed word passes it,
        // which `give_back` allows only after the piece is given back; the caller holds it
        // until then, and the returned slice lives no longer than `self`.
        unsafe { std::slice::from_raw_parts(self.ring.base.add(HEADER + at), len) }
    }

    /// Runs `f` on the next `len` bytes and gives them back; `None` when the piece does not
    /// lie inside the ring (a broken host): nothing is touched.
    pub(crate) fn take<R>(&self, len: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let (start, at) = self.claim(len)?;
        // SAFETY: claimed just above, given back only after `f` returns.
        let r = f(unsafe { self.bytes(at, len) });
        self.give_back(start);
        Some(r)
    }

    /// Lends the next `len` bytes: the host does not write there again until the piece is
    /// dropped. `None` when the piece does not lie inside the ring.
    pub(crate) fn lend(self: &Arc<Self>, len: usize) -> Option<LentPiece> {
        let (start, at) = self.claim(len)?;
        Some(LentPiece {
            reader: self.clone(),
            start,
            at,
            len,
        })
    }
}

/// A piece of the ring lent to the application ([`RingReader::lend`]).
pub(crate) struct LentPiece {
    reader: Arc<RingReader>,
    start: u64,
    at: usize,
    len: usize,
}

impl AsRef<[u8]> for LentPiece {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: claimed by `lend` and given back only in Drop, after every borrow of
        // `self` has ended; `reader` keeps the mapping.
        unsafe { self.reader.bytes(self.at, self.len) }
    }
}

impl Drop for LentPiece {
    fn drop(&mut self) {
        self.reader.give_back(self.start);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once; no reference into it outlives
        // `self` (slices from `RingReader::take` end with its closure, and a `LentPiece`
        // keeps its reader, which owns the ring, alive).
        unsafe {
            let _ = rustix::mm::munmap(self.base.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn reader(cap: usize) -> (Arc<RingReader>, PathBuf) {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "scanwire-ring-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ring = Ring::create(&dir.join("ring"), cap).unwrap();
        (Arc::new(RingReader::new(ring)), dir)
    }

    #[test]
    fn the_consumed_word_passes_only_pieces_given_back_without_a_gap() {
        let (r, dir) = reader(100);
        r.ring().put(0, &[1; 30]);
        r.ring().put(30, &[2; 30]);
        r.ring().put(60, &[3; 30]);
        let (a, b, c) = (
            r.lend(30).unwrap(),
            r.lend(30).unwrap(),
            r.lend(30).unwrap(),
        );
        assert_eq!((a.as_ref()[0], b.as_ref()[0], c.as_ref()[29]), (1, 2, 3));
        drop(b);
        assert_eq!(r.ring().consumed(), 0, "the first piece is still lent");
        drop(a);
        assert_eq!(r.ring().consumed(), 60);
        // A piece read at once after one still lent is given back, but waits behind it.
        r.ring().put(90, &[4; 10]);
        assert_eq!(r.take(10, |d| d.to_vec()), Some(vec![4; 10]));
        assert_eq!(r.ring().consumed(), 60);
        drop(c);
        assert_eq!(r.ring().consumed(), 100);
        // A piece across the ring's end is refused, and nothing is claimed.
        assert!(r.take(101, |_| ()).is_none());
        r.ring().put(100, &[5; 50]);
        assert!(r.lend(50).is_some());
        assert_eq!(r.ring().consumed(), 150);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
