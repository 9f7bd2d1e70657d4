//! The decoupled mode's progress cell: the latest STATUS wins, the driver never waits.
//!
//! Page, percent and bytes are packed into one `AtomicU64`, so a reader always sees one
//! consistent triple and a write is a single store. Readers poll with [`ProgressCell::load`]
//! or sleep in [`ProgressCell::wait_change`]; the writer touches the condvar only when someone
//! sleeps.

use crate::sync::{lock, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering};
use std::time::Duration;

const BYTES_BITS: u32 = 40;
const BYTES_MAX: u64 = (1 << BYTES_BITS) - 1;

/// One progress reading.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Progress {
    /// 1-based page number (0 before the first page). Saturates at 65535.
    pub page: u32,
    /// 0..=100.
    pub percent: u8,
    /// Bytes written to the page's stream. Saturates at 2^40 - 1 (1 TiB).
    pub bytes: u64,
}

impl Progress {
    fn pack(self) -> u64 {
        (self.page.min(0xffff) as u64) << 48
            | (self.percent.min(100) as u64) << BYTES_BITS
            | self.bytes.min(BYTES_MAX)
    }

    fn unpack(w: u64) -> Self {
        Progress {
            page: (w >> 48) as u32,
            percent: ((w >> BYTES_BITS) & 0xff) as u8,
            bytes: w & BYTES_MAX,
        }
    }
}

/// Latest-value-wins progress shared between a driver thread and any number of readers.
pub struct ProgressCell {
    word: AtomicU64,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Default for ProgressCell {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ProgressCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.load().fmt(f)
    }
}

impl ProgressCell {
    /// Page 0, 0 %, 0 bytes.
    pub fn new() -> Self {
        ProgressCell {
            word: AtomicU64::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    }

    /// Publishes a reading. Wait-free unless a reader sleeps in `wait_change`.
    #[inline]
    pub fn store(&self, p: Progress) {
        // SeqCst on both sides (here and in `wait_change`) so that either the writer sees the
        // sleeper count or the sleeper sees the new value: no lost wake-up.
        self.word.store(p.pack(), Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            let _g = lock(&self.lock);
            self.wake.notify_all();
        }
    }

    /// The latest reading.
    #[inline]
    pub fn load(&self) -> Progress {
        Progress::unpack(self.word.load(Ordering::Acquire))
    }

    /// Waits until the reading differs from `last` (or `timeout` passes) and returns it.
    #[cfg(not(loom))]
    pub fn wait_change(&self, last: Progress, timeout: Duration) -> Progress {
        let deadline = std::time::Instant::now() + timeout;
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut g = lock(&self.lock);
        let result = loop {
            let now = Progress::unpack(self.word.load(Ordering::SeqCst));
            if now != last {
                break now;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break now;
            }
            g = match self.wake.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        };
        drop(g);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Waits until the reading differs from `last` (loom build: no timeouts in the model).
    #[cfg(loom)]
    pub fn wait_change(&self, last: Progress, _timeout: Duration) -> Progress {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut g = lock(&self.lock);
        let result = loop {
            let now = Progress::unpack(self.word.load(Ordering::SeqCst));
            if now != last {
                break now;
            }
            g = self.wake.wait(g).unwrap();
        };
        drop(g);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn packs_and_saturates() {
        let c = ProgressCell::new();
        let p = Progress {
            page: 3,
            percent: 42,
            bytes: 123_456_789,
        };
        c.store(p);
        assert_eq!(c.load(), p);
        c.store(Progress {
            page: 70_000,
            percent: 200,
            bytes: u64::MAX,
        });
        assert_eq!(
            c.load(),
            Progress {
                page: 65_535,
                percent: 100,
                bytes: BYTES_MAX
            }
        );
    }

    #[test]
    fn sleeper_wakes_on_store() {
        let c = std::sync::Arc::new(ProgressCell::new());
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.wait_change(Progress::default(), Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        let p = Progress {
            page: 1,
            percent: 5,
            bytes: 10,
        };
        c.store(p);
        assert_eq!(t.join().unwrap(), p);
    }
}
