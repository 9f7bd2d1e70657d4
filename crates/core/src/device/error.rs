//! Device errors by who is at fault, with a closed [`DeviceErrorKind`] and its WIA HRESULT.
//! Every driver maps its native codes into this in exactly one file (`errors.rs`).

use crate::wia::{self, HResult};
use std::fmt;

/// The closed set of things that go wrong with a scanner.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DeviceErrorKind {
    /// Paper jammed in the feeder.
    PaperJam,
    /// The feeder had no paper when a page was needed.
    FeederEmpty,
    /// Several sheets were pulled in at once.
    MultiFeed,
    /// Another paper problem (mispick, size).
    PaperProblem,
    /// A cover or hatch is open.
    CoverOpen,
    /// The lamp failed.
    LampOff,
    /// The device is in use by someone else.
    Busy,
    /// The device is still warming up and cannot scan yet.
    WarmingUp,
    /// The device is not there (unplugged, switched off, unreachable).
    Offline,
    /// The connection to the device failed mid-operation.
    Communication,
    /// The request does not fit the device.
    InvalidRequest,
    /// The device cannot do what was asked.
    Unsupported,
    /// The destination (the application's file or stream) failed.
    Destination,
    /// A bug: in the driver, the device, or a broken rule of the transfer model.
    Internal,
}

impl DeviceErrorKind {
    /// The WIA HRESULT for this kind.
    pub const fn hresult(self) -> HResult {
        match self {
            DeviceErrorKind::PaperJam => wia::WIA_ERROR_PAPER_JAM,
            DeviceErrorKind::FeederEmpty => wia::WIA_ERROR_PAPER_EMPTY,
            DeviceErrorKind::MultiFeed => wia::WIA_ERROR_MULTI_FEED,
            DeviceErrorKind::PaperProblem => wia::WIA_ERROR_PAPER_PROBLEM,
            DeviceErrorKind::CoverOpen => wia::WIA_ERROR_COVER_OPEN,
            DeviceErrorKind::LampOff => wia::WIA_ERROR_LAMP_OFF,
            DeviceErrorKind::Busy => wia::WIA_ERROR_BUSY,
            DeviceErrorKind::WarmingUp => wia::WIA_ERROR_WARMING_UP,
            DeviceErrorKind::Offline => wia::WIA_ERROR_OFFLINE,
            DeviceErrorKind::Communication => wia::WIA_ERROR_DEVICE_COMMUNICATION,
            DeviceErrorKind::InvalidRequest => wia::E_INVALIDARG,
            DeviceErrorKind::Unsupported => wia::WIA_ERROR_INVALID_COMMAND,
            DeviceErrorKind::Destination => wia::WIA_ERROR_DESTINATION,
            DeviceErrorKind::Internal => wia::WIA_ERROR_GENERAL_ERROR,
        }
    }

    /// The kind a WIA or COM failure code belongs to.
    pub fn from_hresult(hr: HResult) -> Self {
        match hr {
            wia::WIA_ERROR_PAPER_JAM => DeviceErrorKind::PaperJam,
            wia::WIA_ERROR_PAPER_EMPTY => DeviceErrorKind::FeederEmpty,
            wia::WIA_ERROR_MULTI_FEED => DeviceErrorKind::MultiFeed,
            wia::WIA_ERROR_PAPER_PROBLEM => DeviceErrorKind::PaperProblem,
            wia::WIA_ERROR_COVER_OPEN => DeviceErrorKind::CoverOpen,
            wia::WIA_ERROR_LAMP_OFF => DeviceErrorKind::LampOff,
            wia::WIA_ERROR_BUSY | wia::WIA_ERROR_DEVICE_LOCKED => DeviceErrorKind::Busy,
            wia::WIA_ERROR_WARMING_UP => DeviceErrorKind::WarmingUp,
            wia::WIA_ERROR_OFFLINE | wia::WIA_S_NO_DEVICE_AVAILABLE => DeviceErrorKind::Offline,
            wia::WIA_ERROR_DEVICE_COMMUNICATION
            | wia::WIA_ERROR_NETWORK_RESERVATION_FAILED
            | wia::HRESULT_TIMEOUT => DeviceErrorKind::Communication,
            wia::E_INVALIDARG | wia::WIA_ERROR_INCORRECT_HARDWARE_SETTING => {
                DeviceErrorKind::InvalidRequest
            }
            wia::WIA_ERROR_INVALID_COMMAND => DeviceErrorKind::Unsupported,
            wia::WIA_ERROR_DESTINATION => DeviceErrorKind::Destination,
            wia::WIA_ERROR_USER_INTERVENTION => DeviceErrorKind::PaperProblem,
            _ => DeviceErrorKind::Internal,
        }
    }

    /// Whether the user can fix it at the device and try again (jam, empty feeder, cover).
    pub const fn is_user_recoverable(self) -> bool {
        matches!(
            self,
            DeviceErrorKind::PaperJam
                | DeviceErrorKind::FeederEmpty
                | DeviceErrorKind::MultiFeed
                | DeviceErrorKind::PaperProblem
                | DeviceErrorKind::CoverOpen
                | DeviceErrorKind::Busy
                | DeviceErrorKind::WarmingUp
        )
    }
}

impl fmt::Display for DeviceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hresult().description())
    }
}

/// A failed scan: the kind, the exact HRESULT (kept even when it is not the kind's own, so a
/// COM error passes through unchanged) and what happened, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DeviceError {
    kind: DeviceErrorKind,
    hresult: HResult,
    detail: String,
}

impl DeviceError {
    /// An error of `kind` with its own HRESULT.
    pub fn new(kind: DeviceErrorKind, detail: impl Into<String>) -> Self {
        DeviceError {
            kind,
            hresult: kind.hresult(),
            detail: detail.into(),
        }
    }

    /// An error of `kind` carrying a different exact HRESULT (a native code the kind files
    /// under, e.g. REGDB_E_CLASSNOTREG as Unsupported).
    pub fn with_hresult(kind: DeviceErrorKind, hr: HResult, detail: impl Into<String>) -> Self {
        DeviceError {
            kind,
            hresult: hr,
            detail: detail.into(),
        }
    }

    /// An error from a raw failure code (what the callback or a COM call returned).
    pub fn from_hresult(hr: HResult, detail: impl Into<String>) -> Self {
        DeviceError {
            kind: DeviceErrorKind::from_hresult(hr),
            hresult: hr,
            detail: detail.into(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> DeviceErrorKind {
        self.kind
    }

    /// The exact HRESULT.
    pub fn hresult(&self) -> HResult {
        self.hresult
    }

    /// What happened, in words (may be empty).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{} [{}]", self.hresult.description(), self.hresult)
        } else {
            write!(f, "{} [{}]", self.detail, self.hresult)
        }
    }
}

impl std::error::Error for DeviceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_hresult() {
        use DeviceErrorKind::*;
        for k in [
            PaperJam,
            FeederEmpty,
            MultiFeed,
            PaperProblem,
            CoverOpen,
            LampOff,
            Busy,
            WarmingUp,
            Offline,
            Communication,
            InvalidRequest,
            Unsupported,
            Destination,
            Internal,
        ] {
            assert_eq!(DeviceErrorKind::from_hresult(k.hresult()), k, "{k:?}");
            assert!(k.hresult().is_failure());
        }
    }

    #[test]
    fn foreign_codes_keep_their_value() {
        let disk_full = HResult::from_u32(0x8007_0070);
        let e = DeviceError::from_hresult(disk_full, "writing page 2");
        assert_eq!(e.hresult(), disk_full);
        assert_eq!(e.kind(), DeviceErrorKind::Internal);
        assert_eq!(e.to_string(), "writing page 2 [0x80070070]");
    }
}
