//! Every way the virtual scanner fails, mapped to [`DeviceErrorKind`] and its WIA HRESULT in
//! this one file: the scripted paper-path and device faults ([`Fault`]), bad `--set` options
//! ([`OptionError`]) and answers from the transfer callback that end a scan.

use scanwire_core::device::{DeviceError, DeviceErrorKind, RequestError};
use scanwire_core::wia::HResult;

/// A fault the virtual scanner can be scripted to have with `--set`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `jam-at-page=K` (and `jam-at-row=R`): the sheet jams `row` rows into page `page`.
    PaperJam {
        /// The page (image) that jams, 1-based.
        page: u32,
        /// The row of that page at which the jam is detected.
        row: u32,
    },
    /// `feeder-empty` or `sheets=0`: no paper when the first page is needed.
    FeederEmpty,
    /// `multi-feed-at-page=K`: the feeder pulls in two sheets at page `page`.
    MultiFeed {
        /// The page (image) being fed when it happens, 1-based.
        page: u32,
    },
    /// `cover-open`: the cover is open when the scan starts.
    CoverOpen,
    /// `offline`: the device does not answer.
    Offline,
}

impl Fault {
    /// The closed kind this fault belongs to.
    pub const fn kind(&self) -> DeviceErrorKind {
        match self {
            Fault::PaperJam { .. } => DeviceErrorKind::PaperJam,
            Fault::FeederEmpty => DeviceErrorKind::FeederEmpty,
            Fault::MultiFeed { .. } => DeviceErrorKind::MultiFeed,
            Fault::CoverOpen => DeviceErrorKind::CoverOpen,
            Fault::Offline => DeviceErrorKind::Offline,
        }
    }

    /// The WIA code a real mini-driver reports for it (WIA_ERROR_PAPER_JAM, …).
    pub const fn hresult(&self) -> HResult {
        self.kind().hresult()
    }

    /// The error `acquire` returns, saying which option scripted it.
    pub fn error(&self) -> DeviceError {
        let detail = match self {
            Fault::PaperJam { page, row } => {
                format!("paper jam at page {page}, row {row} (scripted: --set jam-at-page={page})")
            }
            Fault::FeederEmpty => {
                "the document feeder is empty (scripted: --set feeder-empty=true or sheets=0)"
                    .to_string()
            }
            Fault::MultiFeed { page } => format!(
                "multi-feed: several sheets pulled in at page {page} (scripted: --set multi-feed-at-page={page})"
            ),
            Fault::CoverOpen => "the scanner cover is open (scripted: --set cover-open=true)".into(),
            Fault::Offline => "the virtual scanner is offline (scripted: --set offline=true)".into(),
        };
        DeviceError::new(self.kind(), detail)
    }
}

/// Why the `--set` options of a request were refused: scanwire-core's one option error.
pub use scanwire_core::device::OptionError;

/// A request that does not fit the virtual scanner's capabilities.
pub(crate) fn invalid_request(e: RequestError) -> DeviceError {
    DeviceError::new(DeviceErrorKind::InvalidRequest, e.to_string())
}

/// A failure the transfer callback or the application's stream answered: passed on with
/// exactly that HRESULT (statement 19), with what the driver was doing.
pub(crate) fn callback_failed(hr: HResult, doing: impl Into<String>) -> DeviceError {
    DeviceError::from_hresult(hr, doing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::wia;

    #[test]
    fn faults_carry_the_wia_codes_of_the_feeder_table() {
        assert_eq!(
            Fault::PaperJam { page: 2, row: 5 }.hresult(),
            wia::WIA_ERROR_PAPER_JAM
        );
        assert_eq!(Fault::FeederEmpty.hresult(), wia::WIA_ERROR_PAPER_EMPTY);
        assert_eq!(
            Fault::MultiFeed { page: 1 }.hresult(),
            wia::WIA_ERROR_MULTI_FEED
        );
        assert_eq!(Fault::CoverOpen.hresult(), wia::WIA_ERROR_COVER_OPEN);
        assert_eq!(Fault::Offline.hresult(), wia::WIA_ERROR_OFFLINE);
        let e = Fault::PaperJam { page: 3, row: 10 }.error();
        assert_eq!(e.hresult(), wia::WIA_ERROR_PAPER_JAM);
        assert!(e.detail().contains("jam-at-page=3"), "{e}");
    }

    #[test]
    fn option_errors_are_invalid_requests() {
        let e: DeviceError = OptionError::Value {
            name: "sheets".into(),
            value: "x".into(),
            why: "not a whole number".into(),
            allowed: "0..=50".into(),
        }
        .into();
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
        assert_eq!(e.hresult(), wia::E_INVALIDARG);
    }
}
