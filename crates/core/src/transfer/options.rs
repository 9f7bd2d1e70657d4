//! How a transfer is run: verification, watchdog and how the application receives pages
//! ([`Tymed`]). Plain settings, used by the relay and the runner.

use super::verifier::VerifyMode;
use std::time::Duration;

/// How the application receives a transfer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Tymed {
    /// `TYMED_FILE`: one stream per page (the default).
    #[default]
    File,
    /// `TYMED_MULTIPAGE_FILE`: one stream for all pages, page breaks marked with NEW_PAGE.
    MultipageFile,
}

/// How a transfer is run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TransferOptions {
    /// Strict or lenient verification of the driver.
    pub verify: VerifyMode,
    /// End the transfer if the driver makes no callback call for this long (`None`: never).
    pub watchdog: Option<Duration>,
    /// One stream per page, or one for all.
    pub tymed: Tymed,
}

/// The default watchdog: long enough for a scanner that warms up without saying so.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_secs(120);

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            verify: VerifyMode::Lenient,
            watchdog: Some(DEFAULT_WATCHDOG),
            tymed: Tymed::File,
        }
    }
}

impl TransferOptions {
    /// Strict verification (tests, `--verify`).
    pub fn strict() -> Self {
        TransferOptions {
            verify: VerifyMode::Strict,
            ..Self::default()
        }
    }

    /// With another watchdog.
    pub fn watchdog(mut self, limit: Option<Duration>) -> Self {
        self.watchdog = limit;
        self
    }
}
