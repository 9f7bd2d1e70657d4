//! The decoupled mode's progress cell: the latest STATUS wins, the driver never waits.
//!
//! Page, percent and bytes are packed into one `AtomicU64`, so a reader always sees one
//! consistent triple and a write is a single store. Readers poll with [`ProgressCell::load`]
//! or sleep in [`ProgressCell::wait_change`]; the writer touches the condvar only when someone
//! sleeps.

use crate::sync::{lock, AtomicU64, Condvar, Mutex, Ordering};
use std::time::Duration;

const BYTES_BITS: u32 = 40;
const BYTES_MAX: u64 = (1 << BYTES_BITS) - 1;
/// Set by a reader about to sleep; the writer's swap sees it and wakes the readers. Living in
/// the same word as the value, it needs no SeqCst handshake (loom checks this).
const SLEEPER: u64 = 1 << 47;

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
            percent: ((w >> BYTES_BITS) & 0x7f) as u8,
            bytes: w & BYTES_MAX,
        }
    }
}

/// Latest-value-wins progress shared between a driver thread and any number of readers.
pub struct ProgressCell {
    word: AtomicU64,
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
            lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    }

    /// Publishes a reading: one swap, plus a notify only when a reader sleeps.
    #[inline]
    pub fn store(&self, p: Progress) {
        let old = self.word.swap(p.pack(), Ordering::AcqRel);
        if old & SLEEPER != 0 {
            let _g = lock(&self.lock);
            self.wake.notify_all();
        }
    }

    /// The latest reading.
    #[inline]
    pub fn load(&self) -> Progress {
        Progress::unpack(self.word.load(Ordering::Acquire))
    }

    /// Marks a sleeper if the value still reads `last`; returns the current value otherwise.
    /// Called with the lock held, so the writer's notify cannot come before the wait.
    fn arm(&self, last: Progress) -> Option<Progress> {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            let now = Progress::unpack(w);
            if now != last {
                return Some(now);
            }
            match self.word.compare_exchange_weak(
                w,
                w | SLEEPER,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return None,
                Err(actual) => w = actual,
            }
        }
    }

    /// Waits until the reading differs from `last` (or `timeout` passes) and returns it.
    #[cfg(not(loom))]
    pub fn wait_change(&self, last: Progress, timeout: Duration) -> Progress {
        let deadline = std::time::Instant::now() + timeout;
        let mut g = lock(&self.lock);
        loop {
            if let Some(now) = self.arm(last) {
                return now;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return self.load();
            }
            g = match self.wake.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Waits until the reading differs from `last` (loom build: no timeouts in the model).
    #[cfg(loom)]
    pub fn wait_change(&self, last: Progress, _timeout: Duration) -> Progress {
        let mut g = lock(&self.lock);
        loop {
            if let Some(now) = self.arm(last) {
                return now;
            }
            g = self.wake.wait(g).unwrap();
        }
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
        let t = std::thread::spawn(move || {
            c2.wait_change(Progress::default(), Duration::from_secs(10))
        });
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
