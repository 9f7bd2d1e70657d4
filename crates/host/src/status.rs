//! A hosted device's health, shared with whoever shows it (the server's ScannerStatus).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a [`HostedDevice`](crate::HostedDevice)'s driver host is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// No host process now (none started yet, or the last one exited cleanly); the next use
    /// starts one.
    Stopped,
    /// A host process is up.
    Running {
        /// Its process id.
        pid: u32,
    },
    /// The last host died or was killed. The next use starts a new one, after `restart_in`.
    Failed {
        /// Why, e.g. `driver crashed: SIGSEGV in sane_start`.
        reason: String,
        /// Failures in a row (reset by a clean transfer).
        failures: u32,
        /// How long until a new host may start (zero: at once).
        restart_in: Duration,
    },
}

impl Health {
    /// Whether the device can take a job now without waiting for a restart.
    pub fn is_ready(&self) -> bool {
        match self {
            Health::Stopped | Health::Running { .. } => true,
            Health::Failed { restart_in, .. } => restart_in.is_zero(),
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Stopped => f.write_str("stopped (starts at the next use)"),
            Health::Running { pid } => write!(f, "running (pid {pid})"),
            Health::Failed {
                reason,
                failures,
                restart_in,
            } => {
                let times = if *failures == 1 {
                    "1 failure".to_string()
                } else {
                    format!("{failures} failures in a row")
                };
                if restart_in.is_zero() {
                    write!(f, "{reason}; restarts at the next use ({times})")
                } else {
                    write!(
                        f,
                        "{reason}; restarting in {:.0} s after {times}",
                        restart_in.as_secs_f64().ceil()
                    )
                }
            }
        }
    }
}

#[derive(Debug)]
pub(crate) enum State {
    Stopped,
    Running(u32),
    Failed {
        reason: String,
        failures: u32,
        restart_at: Instant,
    },
}

/// A cheap, cloneable view of one hosted device's [`Health`], for a server to hold while the
/// device itself is busy in a transfer.
#[derive(Clone, Debug)]
pub struct HostStatus(pub(crate) Arc<Mutex<State>>);

impl HostStatus {
    pub(crate) fn new() -> Self {
        HostStatus(Arc::new(Mutex::new(State::Stopped)))
    }

    pub(crate) fn set(&self, s: State) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// The health now.
    pub fn health(&self) -> Health {
        match &*self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            State::Stopped => Health::Stopped,
            State::Running(pid) => Health::Running { pid: *pid },
            State::Failed {
                reason,
                failures,
                restart_at,
            } => Health::Failed {
                reason: reason.clone(),
                failures: *failures,
                restart_in: restart_at.saturating_duration_since(Instant::now()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reads_as_a_sentence() {
        let h = Health::Failed {
            reason: "driver crashed: SIGSEGV in sane_start".into(),
            failures: 3,
            restart_in: Duration::from_millis(1500),
        };
        assert_eq!(
            h.to_string(),
            "driver crashed: SIGSEGV in sane_start; restarting in 2 s after 3 failures in a row"
        );
        assert!(!h.is_ready());
        assert!(Health::Running { pid: 7 }.is_ready());
    }
}
