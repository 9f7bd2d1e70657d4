//! Keeping a page's reading on one core.
//!
//! Most SANE backends (the `test` backend, and every backend built on `sanei_thread`) start a
//! reader thread or process in `sane_start` that produces the image into a pipe, while
//! `sane_read` on our worker copies it out, 64 KiB (the pipe's size) at a time. When the two
//! ends run on different cores, every 64 KiB costs a cross-core wake-up, and each end waits
//! for a core that the page's encoder threads are also using: on two cores an A4 300 dpi page
//! took 24–45 ms to read instead of a steady 24, and a one-page JPEG 35–52 ms
//! (`bench/formats-vs-scanimage.sh`). So while a page is read, the worker keeps to the core it
//! is on; a reader the backend starts in `sane_start` inherits that affinity, the hand-offs
//! stay on one core, and encoders get the others. The worker's affinity is restored when the
//! page ends; a reader thread that outlives the page keeps the single core
//! ([`Placement::Anywhere`] opts out).

/// Where a page's reading runs (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// The worker, and any reader the backend starts during the page, stay on the core the
    /// worker is on when the page starts (Linux, with more than one core allowed).
    #[default]
    OneCore,
    /// Wherever the operating system schedules them.
    Anywhere,
}

/// Restores the worker's affinity when dropped.
pub(crate) struct Pinned {
    #[cfg(target_os = "linux")]
    saved: Option<rustix::thread::CpuSet>,
}

impl Placement {
    /// Applies the placement to the calling thread for as long as the result lives.
    pub(crate) fn pin(self) -> Pinned {
        #[cfg(target_os = "linux")]
        {
            use rustix::thread::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
            let saved = match self {
                Placement::Anywhere => None,
                Placement::OneCore => sched_getaffinity(None).ok().filter(|set| set.count() > 1),
            };
            let saved = saved.and_then(|saved| {
                let mut one = CpuSet::new();
                one.set(sched_getcpu());
                // A failure (a container forbidding it, say) leaves the thread as it was.
                sched_setaffinity(None, &one).ok().map(|()| saved)
            });
            Pinned { saved }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = self;
            Pinned {}
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(saved) = &self.saved {
            let _ = rustix::thread::sched_setaffinity(None, saved);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use rustix::thread::sched_getaffinity;

    #[test]
    fn one_core_while_pinned_then_restored() {
        let before = sched_getaffinity(None).unwrap();
        {
            let _pinned = Placement::OneCore.pin();
            let during = sched_getaffinity(None).unwrap();
            let expected = if before.count() > 1 {
                1
            } else {
                before.count()
            };
            assert_eq!(during.count(), expected);
        }
        assert_eq!(sched_getaffinity(None).unwrap(), before);
    }

    #[test]
    fn anywhere_leaves_the_thread_alone() {
        let before = sched_getaffinity(None).unwrap();
        let _pinned = Placement::Anywhere.pin();
        assert_eq!(sched_getaffinity(None).unwrap(), before);
    }
}
