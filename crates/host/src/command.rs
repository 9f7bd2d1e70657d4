//! How a host process is started and how it is supervised.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The command that starts a driver host: a program that calls [`run_host`](crate::run_host)
/// (the CLI's hidden `scanwire driver-host`; in tests, the test binary itself).
#[derive(Clone, Debug)]
pub struct HostCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment variables added to the application's own.
    pub env: Vec<(OsString, OsString)>,
}

impl HostCommand {
    /// `program` with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        HostCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// This program, re-executed with `driver-host` (what the `scanwire` binary uses).
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(HostCommand::new(std::env::current_exe()?).arg("driver-host"))
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// Supervision timings of a [`HostedDevice`](crate::HostedDevice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostOptions {
    /// A host that makes no callback call (and answers nothing) for this long is killed and
    /// the transfer fails with HRESULT_FROM_WIN32(ERROR_TIMEOUT). `None`: never.
    pub watchdog: Option<Duration>,
    /// How long a driver may ignore a cancel before its host is killed (the transfer then
    /// ends cancelled).
    pub cancel_grace: Duration,
    /// How long a new host may take to connect back.
    pub start_timeout: Duration,
    /// The wait before the second restart in a row; it doubles with each further failure.
    /// The first restart after a failure is immediate; a clean transfer resets the count.
    pub restart_backoff: Duration,
    /// The longest wait between restarts.
    pub restart_backoff_max: Duration,
    /// Page bytes through a shared-memory ring (the default); `false`: through the socket.
    pub shared_ring: bool,
}

/// The default watchdog, the same as an in-process transfer's.
pub const DEFAULT_WATCHDOG: Duration = scanwire_core::transfer::DEFAULT_WATCHDOG;

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            watchdog: Some(DEFAULT_WATCHDOG),
            cancel_grace: Duration::from_secs(3),
            start_timeout: Duration::from_secs(10),
            restart_backoff: Duration::from_secs(1),
            restart_backoff_max: Duration::from_secs(60),
            shared_ring: true,
        }
    }
}

impl HostOptions {
    /// The wait before starting a host after `failures` failures in a row.
    pub fn backoff(&self, failures: u32) -> Duration {
        if failures <= 1 {
            return Duration::ZERO;
        }
        let doublings = (failures - 2).min(30);
        self.restart_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.restart_backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_second_failure_and_is_capped() {
        let o = HostOptions::default();
        let s = |n| o.backoff(n).as_secs();
        assert_eq!([s(0), s(1), s(2), s(3), s(4), s(5)], [0, 0, 1, 2, 4, 8]);
        assert_eq!(s(40), 60);
    }
}
