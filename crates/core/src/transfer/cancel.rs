//! Cancellation: `IWiaTransfer::Cancel` for the application, `WIA_EVENT_CANCEL_IO` for the
//! driver.
//!
//! One sticky flag per transfer (statement 5: once cancelled, always cancelled, whoever
//! started it). The relay checks it at every driver call (statement 3); drivers blocked in
//! I/O register a hook (`sane_cancel`, closing a socket) that runs once, on the cancelling
//! thread.

use crate::sync::{lock, Arc, AtomicBool, Condvar, Mutex, Ordering};
use std::time::Duration;

type Hook = Box<dyn FnOnce() + Send>;

struct State {
    cancelled: AtomicBool,
    hooks: Mutex<Hooks>,
    wake: Condvar,
}

struct Hooks {
    next_id: u64,
    pending: Vec<(u64, Hook)>,
}

/// Cancels a transfer from any thread or async task (`IWiaTransfer::Cancel`). Cheap to clone.
#[derive(Clone)]
pub struct CancelHandle(Arc<State>);

/// The driver's view of the same flag: check it, sleep on it, or hook I/O aborts to it.
#[derive(Clone)]
pub struct CancelToken(Arc<State>);

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelHandle(cancelled: {})", self.is_cancelled())
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelToken(cancelled: {})", self.is_cancelled())
    }
}

impl Default for CancelHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelHandle {
    /// A fresh, uncancelled flag.
    pub fn new() -> Self {
        CancelHandle(Arc::new(State {
            cancelled: AtomicBool::new(false),
            hooks: Mutex::new(Hooks {
                next_id: 0,
                pending: Vec::new(),
            }),
            wake: Condvar::new(),
        }))
    }

    /// Cancels. Idempotent; runs every registered hook exactly once, on this thread.
    pub fn cancel(&self) {
        cancel_state(&self.0);
    }

    /// Whether `cancel` was called (or the application answered S_FALSE).
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// The driver-side token for the same flag.
    pub fn token(&self) -> CancelToken {
        CancelToken(self.0.clone())
    }
}

fn cancel_state(s: &State) {
    let hooks = {
        let mut g = lock(&s.hooks);
        if s.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        std::mem::take(&mut g.pending)
    };
    s.wake.notify_all();
    for (_, hook) in hooks {
        hook();
    }
}

/// Keeps a cancel hook registered; dropping it unregisters the hook.
pub struct HookGuard {
    state: Arc<State>,
    id: u64,
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        let mut g = lock(&self.state.hooks);
        g.pending.retain(|(id, _)| *id != self.id);
    }
}

impl CancelToken {
    /// Whether the transfer is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// Cancels from the driver side (a device cancel button, path F).
    pub fn cancel(&self) {
        cancel_state(&self.0);
    }

    /// Runs `hook` once when the transfer is cancelled: at once (on this thread) if it already
    /// is, otherwise on the cancelling thread. Unregistered when the guard drops.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) -> HookGuard {
        let mut g = lock(&self.0.hooks);
        let id = g.next_id;
        g.next_id += 1;
        if self.0.cancelled.load(Ordering::Acquire) {
            drop(g);
            hook();
        } else {
            g.pending.push((id, Box::new(hook)));
        }
        HookGuard {
            state: self.0.clone(),
            id,
        }
    }

    /// Sleeps up to `timeout`, waking early on cancel. Returns true if cancelled.
    #[cfg(not(loom))]
    pub fn sleep(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut g = lock(&self.0.hooks);
        loop {
            if self.is_cancelled() {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            g = match self.0.wake.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Waits for cancel (loom build: no timeouts in the model).
    #[cfg(loom)]
    pub fn sleep(&self, _timeout: Duration) -> bool {
        let mut g = lock(&self.0.hooks);
        while !self.is_cancelled() {
            g = self.0.wake.wait(g).unwrap();
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn hooks_run_once_and_late_hooks_run_at_once() {
        let h = CancelHandle::new();
        let n = std::sync::Arc::new(AtomicUsize::new(0));
        let n1 = n.clone();
        let _g = h.token().on_cancel(move || {
            n1.fetch_add(1, Ordering::SeqCst);
        });
        h.cancel();
        h.cancel();
        assert_eq!(n.load(Ordering::SeqCst), 1);
        let n2 = n.clone();
        let _g2 = h.token().on_cancel(move || {
            n2.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn dropped_guard_unregisters() {
        let h = CancelHandle::new();
        let n = std::sync::Arc::new(AtomicUsize::new(0));
        let n1 = n.clone();
        drop(h.token().on_cancel(move || {
            n1.fetch_add(1, Ordering::SeqCst);
        }));
        h.cancel();
        assert_eq!(n.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn sleep_wakes_on_cancel() {
        let h = CancelHandle::new();
        let t = h.token();
        let start = std::time::Instant::now();
        let j = std::thread::spawn(move || t.sleep(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(j.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
