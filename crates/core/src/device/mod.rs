//! The device model: drivers list devices, devices describe themselves and acquire images.
//!
//! The traits are kept as small as NAPS2's `IScanDriver`: list, describe, scan.

mod caps;
mod error;
mod geometry;
pub mod options;
mod page;
mod processing;
mod request;

pub use caps::{Capabilities, ColorMode, Resolutions, Source, SourceCaps};
pub use error::{DeviceError, DeviceErrorKind};
pub use geometry::{Area, Length, UM_PER_INCH};
pub use options::{
    check_value, parse_setting, parse_settings, parse_value, split_setting, Constraint,
    DeviceOption, OptionError, OptionType, OptionValue,
};
pub use page::{Encoding, PageData, PageInfo, PixelFormat, Side};
pub use processing::{BlankPages, DeviceProcessing, DeviceProcessingRequest, LevelRange};
pub use request::{RequestError, ScanRequest};

use crate::transfer::{CancelToken, MiniDrvTransferCallback};
use crate::wia::{self, HResult};

/// One device as a driver lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The id the user passes to `--device` (`virtual`, `sane:test:0`, `escl:http://…`).
    pub id: String,
    /// Vendor, if known.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// The driver's name (`virtual`, `sane`, `escl`).
    pub driver: &'static str,
}

/// How an acquisition that did not fail ended (`drvAcquireItemData`'s success results).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Completion {
    /// Every requested page was delivered (S_OK).
    Done,
    /// The feeder ran out after at least one but fewer than the requested pages
    /// (WIA_STATUS_END_OF_MEDIA).
    EndOfMedia,
    /// The transfer was cancelled (S_FALSE).
    Cancelled,
}

impl Completion {
    /// The HRESULT `drvAcquireItemData` returns for this outcome.
    pub const fn hresult(self) -> HResult {
        match self {
            Completion::Done => wia::S_OK,
            Completion::EndOfMedia => wia::WIA_STATUS_END_OF_MEDIA,
            Completion::Cancelled => wia::S_FALSE,
        }
    }
}

/// What `acquire` returns: WIA's `drvAcquireItemData` result in Rust terms.
pub type AcquireResult = Result<Completion, DeviceError>;

/// The HRESULT of an acquire result, as the relay and a COM driver see it.
pub fn acquire_hresult(r: &AcquireResult) -> HResult {
    match r {
        Ok(c) => c.hresult(),
        Err(e) => e.hresult(),
    }
}

/// An open scanner.
pub trait Device: Send {
    /// Who this device is.
    fn info(&self) -> DeviceInfo;

    /// What it can do.
    fn capabilities(&mut self) -> Result<Capabilities, DeviceError>;

    /// Options outside the common model, for `--set` (SANE options, the virtual scanner's
    /// pacing and faults). Empty by default.
    fn options(&mut self) -> Vec<DeviceOption> {
        Vec::new()
    }

    /// Scans what `request` asks for, WIA mini-driver style: one `get_next_stream` per page,
    /// bands written to the stream, a STATUS `send_message` after each band, and stops at once
    /// when the callback answers S_FALSE or an error (statement 17). `cancel` fires when the
    /// application cancels (WIA's `WIA_EVENT_CANCEL_IO`), so a driver blocked in I/O can abort.
    ///
    /// The request has been validated against [`Device::capabilities`]; device-specific
    /// `options` are the device's to check.
    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult;
}

/// A family of devices (the virtual scanner, SANE, eSCL).
pub trait Driver: Send + Sync {
    /// Short name, also the prefix of its device ids.
    fn name(&self) -> &'static str;

    /// The devices it can reach now.
    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError>;

    /// Opens one by id.
    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError>;
}
