//! The page ring: shared memory between the application's process and its host, so a page's
//! bytes are copied once (from the driver's band into the ring) and handed to the
//! application's stream in place. The crate's only `unsafe` code (the FFI layer: `mmap` and
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

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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

    /// The application's side: runs `f` on the `len` bytes at stream position `consumed`,
    /// then marks them consumed. `None` when the piece does not lie inside the ring (a
    /// broken host): nothing is touched.
    pub(crate) fn take<R>(
        &self,
        consumed: u64,
        len: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        let at = (consumed % self.cap as u64) as usize;
        if len > self.cap || at + len > self.cap {
            return None;
        }
        // SAFETY: `at..at + len` lies inside the data area (checked above). The host wrote it
        // before sending the frame we are answering (the socket orders it) and will not write
        // it again until `consumed` passes it, which happens only after `f` returns, so the
        // slice is not modified while it is borrowed.
        let piece = unsafe { std::slice::from_raw_parts(self.base.add(HEADER + at), len) };
        let r = f(piece);
        self.consumed_word()
            .store(consumed + len as u64, Ordering::Release);
        Some(r)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once; no reference into it outlives
        // `self` (slices from `take` end with its closure).
        unsafe {
            let _ = rustix::mm::munmap(self.base.cast(), self.len);
        }
    }
}
