//! SANE statuses in WIA terms, in one place: every `SANE_Status` maps to a [`DeviceErrorKind`]
//! (and so an HRESULT), to the cancel outcome, or to the feeder outcome table.
//!
//! | SANE status | outcome |
//! |---|---|
//! | GOOD, EOF | not errors (EOF ends a frame; met anywhere else it is a communication error) |
//! | CANCELLED | the transfer's cancel outcome, S_FALSE |
//! | NO_DOCS | the feeder table: PAPER_EMPTY before the first page; after it S_OK (all pages asked) or WIA_STATUS_END_OF_MEDIA (fewer than `pages`) |
//! | JAMMED | WIA_ERROR_PAPER_JAM |
//! | COVER_OPEN | WIA_ERROR_COVER_OPEN |
//! | DEVICE_BUSY | WIA_ERROR_BUSY |
//! | IO_ERROR | WIA_ERROR_DEVICE_COMMUNICATION |
//! | INVAL | E_INVALIDARG (the device refused the settings) |
//! | UNSUPPORTED | WIA_ERROR_INVALID_COMMAND |
//! | NO_MEM | E_OUTOFMEMORY |
//! | ACCESS_DENIED | WIA_ERROR_OFFLINE (the device cannot be reached with our permissions or credentials) |
//! | WARMING_UP | WIA_ERROR_WARMING_UP |
//! | HW_LOCKED | WIA_ERROR_USER_INTERVENTION (unlock the transport lock) |
//! | anything else | WIA_ERROR_GENERAL_ERROR, naming the number |

use scanwire_core::device::{AcquireResult, Completion, DeviceError, DeviceErrorKind};
use scanwire_core::wia;
use std::path::PathBuf;

/// `SANE_Status`, including the two codes newer backends return (WARMING_UP, HW_LOCKED).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `SANE_STATUS_GOOD`.
    Good,
    /// `SANE_STATUS_UNSUPPORTED`.
    Unsupported,
    /// `SANE_STATUS_CANCELLED`.
    Cancelled,
    /// `SANE_STATUS_DEVICE_BUSY`.
    DeviceBusy,
    /// `SANE_STATUS_INVAL`.
    Inval,
    /// `SANE_STATUS_EOF`.
    Eof,
    /// `SANE_STATUS_JAMMED`.
    Jammed,
    /// `SANE_STATUS_NO_DOCS`.
    NoDocs,
    /// `SANE_STATUS_COVER_OPEN`.
    CoverOpen,
    /// `SANE_STATUS_IO_ERROR`.
    IoError,
    /// `SANE_STATUS_NO_MEM`.
    NoMem,
    /// `SANE_STATUS_ACCESS_DENIED`.
    AccessDenied,
    /// `SANE_STATUS_WARMING_UP` (12, behind `#if 0` in sane.h but returned by some backends).
    WarmingUp,
    /// `SANE_STATUS_HW_LOCKED` (13, likewise).
    HwLocked,
    /// Any other value.
    Other(i32),
}

impl Status {
    /// Every status the standard and its extensions define, in numeric order.
    pub const ALL: [Status; 14] = [
        Status::Good,
        Status::Unsupported,
        Status::Cancelled,
        Status::DeviceBusy,
        Status::Inval,
        Status::Eof,
        Status::Jammed,
        Status::NoDocs,
        Status::CoverOpen,
        Status::IoError,
        Status::NoMem,
        Status::AccessDenied,
        Status::WarmingUp,
        Status::HwLocked,
    ];

    /// From the C value.
    pub fn from_raw(raw: i32) -> Status {
        match raw {
            0..=13 => Status::ALL[raw as usize],
            other => Status::Other(other),
        }
    }

    /// The C name (`SANE_STATUS_JAMMED`).
    pub fn name(self) -> String {
        let s = match self {
            Status::Good => "GOOD",
            Status::Unsupported => "UNSUPPORTED",
            Status::Cancelled => "CANCELLED",
            Status::DeviceBusy => "DEVICE_BUSY",
            Status::Inval => "INVAL",
            Status::Eof => "EOF",
            Status::Jammed => "JAMMED",
            Status::NoDocs => "NO_DOCS",
            Status::CoverOpen => "COVER_OPEN",
            Status::IoError => "IO_ERROR",
            Status::NoMem => "NO_MEM",
            Status::AccessDenied => "ACCESS_DENIED",
            Status::WarmingUp => "WARMING_UP",
            Status::HwLocked => "HW_LOCKED",
            Status::Other(n) => return format!("SANE status {n}"),
        };
        format!("SANE_STATUS_{s}")
    }
}

/// Why SANE itself (not a device) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SaneError {
    /// libsane could not be loaded.
    #[error(
        "SANE is not installed: cannot load {tried} ({reason}). Install libsane: \
         `apt-get install libsane1` (Debian, Ubuntu), `dnf install sane-backends-libs` \
         (Fedora), `pacman -S sane` (Arch), `brew install sane-backends` (macOS)"
    )]
    Missing {
        /// The names or paths tried.
        tried: String,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library lacks a SANE entry point.
    #[error("{} is not a usable libsane: {symbol} is missing ({reason})", library.display())]
    Symbol {
        /// The library.
        library: PathBuf,
        /// The missing function.
        symbol: &'static str,
        /// What the loader said.
        reason: String,
    },
    /// `sane_init` failed.
    #[error("sane_init in {} failed: {}", library.display(), describe(*status))]
    Init {
        /// The library.
        library: PathBuf,
        /// What it returned.
        status: Status,
    },
    /// SANE was initialised with another configuration directory.
    #[error(
        "SANE is already initialised in this process with SANE_CONFIG_DIR {}; it reads its \
         configuration once (sane_init), so it cannot switch to {}",
        current.as_ref().map_or_else(|| "(inherited from the environment)".to_string(), |p| p.display().to_string()),
        requested.display()
    )]
    ConfigMismatch {
        /// The directory in use.
        current: Option<PathBuf>,
        /// The directory asked for.
        requested: PathBuf,
    },
    /// `sane_exit` ran; SANE cannot be initialised twice in one process.
    #[error("SANE was shut down (sane_exit) in this process and cannot be used again")]
    ShutDown,
    /// `shutdown` was asked while devices are open.
    #[error("cannot shut SANE down: {0} device(s) still open")]
    StillOpen(usize),
}

impl From<SaneError> for DeviceError {
    fn from(e: SaneError) -> Self {
        DeviceError::new(DeviceErrorKind::Offline, e.to_string())
    }
}

/// A status in words, with its C name: "document feeder jammed (SANE_STATUS_JAMMED)".
pub fn describe(status: Status) -> String {
    let words = match status {
        Status::Good => "success",
        Status::Unsupported => "operation not supported",
        Status::Cancelled => "operation cancelled",
        Status::DeviceBusy => "device busy",
        Status::Inval => "invalid argument",
        Status::Eof => "no more data",
        Status::Jammed => "document feeder jammed",
        Status::NoDocs => "document feeder out of documents",
        Status::CoverOpen => "scanner cover is open",
        Status::IoError => "error during device I/O",
        Status::NoMem => "out of memory",
        Status::AccessDenied => "access to the device denied",
        Status::WarmingUp => "lamp not ready (warming up)",
        Status::HwLocked => "scanner mechanism locked for transport",
        Status::Other(_) => "unknown status",
    };
    format!("{words} ({})", status.name())
}

/// What a failed SANE call comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The scan was cancelled (by us or at the device): S_FALSE.
    Cancelled,
    /// No paper: the caller applies the feeder table ([`no_docs`]).
    NoDocs,
    /// An error.
    Error(DeviceError),
}

/// The kind of an error status; `None` for GOOD, CANCELLED and NO_DOCS, which are outcomes
/// rather than errors (NO_DOCS becomes [`DeviceErrorKind::FeederEmpty`] before the first page).
pub(crate) fn kind(status: Status) -> Option<DeviceErrorKind> {
    Some(match status {
        Status::Good | Status::Cancelled | Status::NoDocs => return None,
        Status::Unsupported => DeviceErrorKind::Unsupported,
        Status::DeviceBusy => DeviceErrorKind::Busy,
        Status::Inval => DeviceErrorKind::InvalidRequest,
        Status::Eof | Status::IoError => DeviceErrorKind::Communication,
        Status::Jammed => DeviceErrorKind::PaperJam,
        Status::CoverOpen => DeviceErrorKind::CoverOpen,
        Status::NoMem => DeviceErrorKind::Internal,
        Status::AccessDenied => DeviceErrorKind::Offline,
        Status::WarmingUp => DeviceErrorKind::WarmingUp,
        Status::HwLocked => DeviceErrorKind::PaperProblem,
        Status::Other(_) => DeviceErrorKind::Internal,
    })
}

/// The error for a status `what` returned on `device` ("sane_read on test:0").
pub(crate) fn error(status: Status, what: &str) -> DeviceError {
    let detail = format!("{what}: {}", describe(status));
    match status {
        // The two whose WIA code is not their kind's own.
        Status::NoMem => DeviceError::from_hresult(wia::E_OUTOFMEMORY, detail),
        Status::HwLocked => DeviceError::from_hresult(
            wia::WIA_ERROR_USER_INTERVENTION,
            format!("{detail}; unlock the scanner's transport lock"),
        ),
        Status::NoDocs => DeviceError::new(DeviceErrorKind::FeederEmpty, detail),
        s => DeviceError::new(kind(s).unwrap_or(DeviceErrorKind::Internal), detail),
    }
}

/// Classifies a status returned during a scan.
pub(crate) fn classify(status: Status, what: &str) -> Failure {
    match status {
        Status::Cancelled => Failure::Cancelled,
        Status::NoDocs => Failure::NoDocs,
        s => Failure::Error(error(s, what)),
    }
}

/// The feeder outcome table (spec §4) when the device reports no paper after `done` pages of
/// `requested` (`None` = all): PAPER_EMPTY before the first page, S_OK when every page asked
/// for arrived (or all were asked for), WIA_STATUS_END_OF_MEDIA when fewer did.
pub(crate) fn no_docs(done: u32, requested: Option<u32>, device: &str) -> AcquireResult {
    if done == 0 {
        return Err(DeviceError::new(
            DeviceErrorKind::FeederEmpty,
            format!(
                "{device} has no paper to scan: {}",
                describe(Status::NoDocs)
            ),
        ));
    }
    match requested {
        None => Ok(Completion::Done),
        Some(n) if done >= n => Ok(Completion::Done),
        Some(_) => Ok(Completion::EndOfMedia),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::wia::HResult;

    fn hr(status: Status) -> HResult {
        match classify(status, "sane_read") {
            Failure::Cancelled => wia::S_FALSE,
            Failure::NoDocs => no_docs(0, None, "dev").unwrap_err().hresult(),
            Failure::Error(e) => e.hresult(),
        }
    }

    #[test]
    fn every_status_has_its_wia_code() {
        let expected = [
            (Status::Unsupported, wia::WIA_ERROR_INVALID_COMMAND),
            (Status::Cancelled, wia::S_FALSE),
            (Status::DeviceBusy, wia::WIA_ERROR_BUSY),
            (Status::Inval, wia::E_INVALIDARG),
            (Status::Eof, wia::WIA_ERROR_DEVICE_COMMUNICATION),
            (Status::Jammed, wia::WIA_ERROR_PAPER_JAM),
            (Status::NoDocs, wia::WIA_ERROR_PAPER_EMPTY),
            (Status::CoverOpen, wia::WIA_ERROR_COVER_OPEN),
            (Status::IoError, wia::WIA_ERROR_DEVICE_COMMUNICATION),
            (Status::NoMem, wia::E_OUTOFMEMORY),
            (Status::AccessDenied, wia::WIA_ERROR_OFFLINE),
            (Status::WarmingUp, wia::WIA_ERROR_WARMING_UP),
            (Status::HwLocked, wia::WIA_ERROR_USER_INTERVENTION),
            (Status::Other(99), wia::WIA_ERROR_GENERAL_ERROR),
        ];
        for (s, want) in expected {
            assert_eq!(hr(s), want, "{s:?}");
        }
        // Every status of the standard is in the table above, except GOOD.
        for s in Status::ALL.into_iter().skip(1) {
            assert!(expected.iter().any(|(e, _)| *e == s), "{s:?} not mapped");
        }
    }

    #[test]
    fn errors_name_the_call_and_the_status() {
        let e = error(Status::Jammed, "sane_read on test:0");
        assert_eq!(
            e.detail(),
            "sane_read on test:0: document feeder jammed (SANE_STATUS_JAMMED)"
        );
        assert_eq!(e.kind(), DeviceErrorKind::PaperJam);
    }

    #[test]
    fn feeder_table() {
        assert_eq!(
            no_docs(0, Some(3), "d").unwrap_err().hresult(),
            wia::WIA_ERROR_PAPER_EMPTY
        );
        assert_eq!(
            no_docs(0, None, "d").unwrap_err().kind(),
            DeviceErrorKind::FeederEmpty
        );
        assert_eq!(no_docs(2, None, "d"), Ok(Completion::Done));
        assert_eq!(no_docs(2, Some(2), "d"), Ok(Completion::Done));
        assert_eq!(no_docs(2, Some(5), "d"), Ok(Completion::EndOfMedia));
    }

    #[test]
    fn missing_sane_says_how_to_install_it() {
        let e = SaneError::Missing {
            tried: "libsane.so.1".into(),
            reason: "not found".into(),
        };
        let d: DeviceError = e.into();
        assert!(d.detail().contains("apt-get install libsane1"), "{d}");
        assert_eq!(d.kind(), DeviceErrorKind::Offline);
    }
}
