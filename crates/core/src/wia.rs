//! WIA 2.0's transfer vocabulary, value for value: HRESULTs, message kinds and the
//! `WiaTransferParams` structure the driver and the application exchange.
//!
//! The values come from the SDK headers (`wiadef.h`, `wiamdef.h`), not from the
//! `-wia-error-codes` documentation page, which prints COVER_OPEN, LAMP_OFF, MULTI_FEED and
//! MAXIMUM_PRINTER_ENDORSER_COUNTER with their decimal index written as hex.

use std::fmt;

/// A COM `HRESULT`: negative values are failures, everything else succeeds.
///
/// Note that S_FALSE and WIA_STATUS_SKIP_ITEM *succeed*: a cancelled or skipped transfer is not
/// an error in WIA, which is why the relay compares codes, never just `is_success()`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HResult(pub i32);

impl HResult {
    /// The code from its unsigned spelling (`0x8021_0002`).
    pub const fn from_u32(code: u32) -> Self {
        HResult(code as i32)
    }

    /// The unsigned spelling, as headers and logs print it.
    pub const fn as_u32(self) -> u32 {
        self.0 as u32
    }

    /// `SUCCEEDED(hr)`.
    pub const fn is_success(self) -> bool {
        self.0 >= 0
    }

    /// `FAILED(hr)`.
    pub const fn is_failure(self) -> bool {
        self.0 < 0
    }

    /// `HRESULT_FACILITY(hr)`.
    pub const fn facility(self) -> u32 {
        (self.as_u32() >> 16) & 0x1fff
    }

    /// The symbolic name from the SDK headers, if this is a code the spec lists.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|(c, _)| *c == self).map(|(_, n)| *n)
    }

    /// A short English description, for messages shown to people.
    pub fn description(self) -> &'static str {
        match self {
            S_OK => "success",
            S_FALSE => "cancelled",
            WIA_STATUS_END_OF_MEDIA => "the feeder ran out of paper",
            WIA_STATUS_WARMING_UP => "the device is warming up",
            WIA_STATUS_CALIBRATING => "the device is calibrating",
            WIA_STATUS_RESERVING_NETWORK_DEVICE => "reserving the network device",
            WIA_STATUS_NETWORK_DEVICE_RESERVED => "the network device is reserved",
            WIA_STATUS_CLEAR => "status cleared",
            WIA_STATUS_SKIP_ITEM => "item skipped",
            WIA_STATUS_NOT_HANDLED => "not handled",
            WIA_S_CHANGE_DEVICE => "change device",
            WIA_ERROR_GENERAL_ERROR => "general device error",
            WIA_ERROR_PAPER_JAM => "paper jam",
            WIA_ERROR_PAPER_EMPTY => "the document feeder is empty",
            WIA_ERROR_PAPER_PROBLEM => "paper problem",
            WIA_ERROR_OFFLINE => "the device is offline",
            WIA_ERROR_BUSY => "the device is busy",
            WIA_ERROR_WARMING_UP => "the device is warming up",
            WIA_ERROR_USER_INTERVENTION => "the device needs attention",
            WIA_ERROR_ITEM_DELETED => "the item was deleted",
            WIA_ERROR_DEVICE_COMMUNICATION => "cannot communicate with the device",
            WIA_ERROR_INVALID_COMMAND => "the device rejected the command",
            WIA_ERROR_INCORRECT_HARDWARE_SETTING => "incorrect hardware setting",
            WIA_ERROR_DEVICE_LOCKED => "the device is locked",
            WIA_ERROR_EXCEPTION_IN_DRIVER => "the driver failed (exception in driver)",
            WIA_ERROR_INVALID_DRIVER_RESPONSE => "the driver broke the transfer rules",
            WIA_ERROR_COVER_OPEN => "the cover is open",
            WIA_ERROR_LAMP_OFF => "the lamp is off",
            WIA_ERROR_DESTINATION => "cannot write to the destination",
            WIA_ERROR_NETWORK_RESERVATION_FAILED => "network reservation failed",
            WIA_ERROR_MULTI_FEED => "several sheets were fed at once",
            WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER => "endorser counter exhausted",
            E_INVALIDARG => "invalid argument",
            E_POINTER => "null pointer",
            E_UNEXPECTED => "unexpected call",
            E_FAIL => "unspecified failure",
            E_OUTOFMEMORY => "out of memory",
            E_ABORT => "aborted",
            HRESULT_TIMEOUT => "the device stopped responding",
            _ if self.is_success() => "success",
            _ => "error",
        }
    }
}

impl fmt::Debug for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "HResult({:#010x})", self.as_u32()),
        }
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{:#010x} ({n})", self.as_u32()),
            None => write!(f, "{:#010x}", self.as_u32()),
        }
    }
}

/// `FACILITY_WIA`.
pub const FACILITY_WIA: u32 = 33;

const fn wia_status(n: u32) -> HResult {
    HResult::from_u32((FACILITY_WIA << 16) | n)
}
const fn wia_error(n: u32) -> HResult {
    HResult::from_u32(0x8000_0000 | (FACILITY_WIA << 16) | n)
}

/// Success.
pub const S_OK: HResult = HResult(0);
/// Success, but the transfer sequence was cancelled.
pub const S_FALSE: HResult = HResult(1);

/// The feeder ran out after at least one of N requested pages.
pub const WIA_STATUS_END_OF_MEDIA: HResult = wia_status(1);
/// Informational: warming up.
pub const WIA_STATUS_WARMING_UP: HResult = wia_status(2);
/// Informational: calibrating.
pub const WIA_STATUS_CALIBRATING: HResult = wia_status(3);
/// Informational: reserving a network device.
pub const WIA_STATUS_RESERVING_NETWORK_DEVICE: HResult = wia_status(6);
/// Informational: the network device is reserved.
pub const WIA_STATUS_NETWORK_DEVICE_RESERVED: HResult = wia_status(7);
/// Sent by the proxy to a modeless error handler only; drivers must never send it (statement 24).
pub const WIA_STATUS_CLEAR: HResult = wia_status(8);
/// The application skips the item. A *success* code.
pub const WIA_STATUS_SKIP_ITEM: HResult = wia_status(9);
/// An error handler declines; the next handler is asked.
pub const WIA_STATUS_NOT_HANDLED: HResult = wia_status(10);
/// Scan dialog only.
pub const WIA_S_CHANGE_DEVICE: HResult = wia_status(11);

/// General device error.
pub const WIA_ERROR_GENERAL_ERROR: HResult = wia_error(1);
/// Paper jam.
pub const WIA_ERROR_PAPER_JAM: HResult = wia_error(2);
/// The feeder is empty.
pub const WIA_ERROR_PAPER_EMPTY: HResult = wia_error(3);
/// Some other paper problem.
pub const WIA_ERROR_PAPER_PROBLEM: HResult = wia_error(4);
/// The device is offline.
pub const WIA_ERROR_OFFLINE: HResult = wia_error(5);
/// The device is busy.
pub const WIA_ERROR_BUSY: HResult = wia_error(6);
/// The device is warming up (as an error).
pub const WIA_ERROR_WARMING_UP: HResult = wia_error(7);
/// The user must intervene.
pub const WIA_ERROR_USER_INTERVENTION: HResult = wia_error(8);
/// The item was deleted.
pub const WIA_ERROR_ITEM_DELETED: HResult = wia_error(9);
/// Communication with the device failed.
pub const WIA_ERROR_DEVICE_COMMUNICATION: HResult = wia_error(10);
/// The device rejected a command.
pub const WIA_ERROR_INVALID_COMMAND: HResult = wia_error(11);
/// A hardware setting is wrong.
pub const WIA_ERROR_INCORRECT_HARDWARE_SETTING: HResult = wia_error(12);
/// The device is locked.
pub const WIA_ERROR_DEVICE_LOCKED: HResult = wia_error(13);
/// The driver raised an exception (a Rust driver: panicked).
pub const WIA_ERROR_EXCEPTION_IN_DRIVER: HResult = wia_error(14);
/// The driver's response broke the rules (the strict verifier's answer).
pub const WIA_ERROR_INVALID_DRIVER_RESPONSE: HResult = wia_error(15);
/// The cover is open. `MAKE_HRESULT(1, FACILITY_WIA, 16)`, not 0x80210016.
pub const WIA_ERROR_COVER_OPEN: HResult = wia_error(16);
/// The lamp is off.
pub const WIA_ERROR_LAMP_OFF: HResult = wia_error(17);
/// The destination (the application's stream or file) failed.
pub const WIA_ERROR_DESTINATION: HResult = wia_error(18);
/// Reserving the network device failed.
pub const WIA_ERROR_NETWORK_RESERVATION_FAILED: HResult = wia_error(19);
/// Several sheets were fed at once.
pub const WIA_ERROR_MULTI_FEED: HResult = wia_error(20);
/// The printer/endorser counter reached its maximum.
pub const WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER: HResult = wia_error(21);
/// No device available. Despite its `S_` name this is an error, sharing 0x80210015.
pub const WIA_S_NO_DEVICE_AVAILABLE: HResult = wia_error(21);

/// Invalid argument.
pub const E_INVALIDARG: HResult = HResult::from_u32(0x8007_0057);
/// Null pointer.
pub const E_POINTER: HResult = HResult::from_u32(0x8000_4003);
/// Unexpected call.
pub const E_UNEXPECTED: HResult = HResult::from_u32(0x8000_FFFF);
/// Unspecified failure.
pub const E_FAIL: HResult = HResult::from_u32(0x8000_4005);
/// Out of memory.
pub const E_OUTOFMEMORY: HResult = HResult::from_u32(0x8007_000E);
/// Operation aborted.
pub const E_ABORT: HResult = HResult::from_u32(0x8000_4004);
/// `HRESULT_FROM_WIN32(ERROR_TIMEOUT)`: what a transfer whose driver stopped responding
/// returns (WIA has no code of its own for it).
pub const HRESULT_TIMEOUT: HResult = HResult::from_u32(0x8007_05B4);

const NAMES: &[(HResult, &str)] = &[
    (S_OK, "S_OK"),
    (S_FALSE, "S_FALSE"),
    (WIA_STATUS_END_OF_MEDIA, "WIA_STATUS_END_OF_MEDIA"),
    (WIA_STATUS_WARMING_UP, "WIA_STATUS_WARMING_UP"),
    (WIA_STATUS_CALIBRATING, "WIA_STATUS_CALIBRATING"),
    (
        WIA_STATUS_RESERVING_NETWORK_DEVICE,
        "WIA_STATUS_RESERVING_NETWORK_DEVICE",
    ),
    (
        WIA_STATUS_NETWORK_DEVICE_RESERVED,
        "WIA_STATUS_NETWORK_DEVICE_RESERVED",
    ),
    (WIA_STATUS_CLEAR, "WIA_STATUS_CLEAR"),
    (WIA_STATUS_SKIP_ITEM, "WIA_STATUS_SKIP_ITEM"),
    (WIA_STATUS_NOT_HANDLED, "WIA_STATUS_NOT_HANDLED"),
    (WIA_S_CHANGE_DEVICE, "WIA_S_CHANGE_DEVICE"),
    (WIA_ERROR_GENERAL_ERROR, "WIA_ERROR_GENERAL_ERROR"),
    (WIA_ERROR_PAPER_JAM, "WIA_ERROR_PAPER_JAM"),
    (WIA_ERROR_PAPER_EMPTY, "WIA_ERROR_PAPER_EMPTY"),
    (WIA_ERROR_PAPER_PROBLEM, "WIA_ERROR_PAPER_PROBLEM"),
    (WIA_ERROR_OFFLINE, "WIA_ERROR_OFFLINE"),
    (WIA_ERROR_BUSY, "WIA_ERROR_BUSY"),
    (WIA_ERROR_WARMING_UP, "WIA_ERROR_WARMING_UP"),
    (WIA_ERROR_USER_INTERVENTION, "WIA_ERROR_USER_INTERVENTION"),
    (WIA_ERROR_ITEM_DELETED, "WIA_ERROR_ITEM_DELETED"),
    (
        WIA_ERROR_DEVICE_COMMUNICATION,
        "WIA_ERROR_DEVICE_COMMUNICATION",
    ),
    (WIA_ERROR_INVALID_COMMAND, "WIA_ERROR_INVALID_COMMAND"),
    (
        WIA_ERROR_INCORRECT_HARDWARE_SETTING,
        "WIA_ERROR_INCORRECT_HARDWARE_SETTING",
    ),
    (WIA_ERROR_DEVICE_LOCKED, "WIA_ERROR_DEVICE_LOCKED"),
    (
        WIA_ERROR_EXCEPTION_IN_DRIVER,
        "WIA_ERROR_EXCEPTION_IN_DRIVER",
    ),
    (
        WIA_ERROR_INVALID_DRIVER_RESPONSE,
        "WIA_ERROR_INVALID_DRIVER_RESPONSE",
    ),
    (WIA_ERROR_COVER_OPEN, "WIA_ERROR_COVER_OPEN"),
    (WIA_ERROR_LAMP_OFF, "WIA_ERROR_LAMP_OFF"),
    (WIA_ERROR_DESTINATION, "WIA_ERROR_DESTINATION"),
    (
        WIA_ERROR_NETWORK_RESERVATION_FAILED,
        "WIA_ERROR_NETWORK_RESERVATION_FAILED",
    ),
    (WIA_ERROR_MULTI_FEED, "WIA_ERROR_MULTI_FEED"),
    (
        WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER,
        "WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER",
    ),
    (E_INVALIDARG, "E_INVALIDARG"),
    (E_POINTER, "E_POINTER"),
    (E_UNEXPECTED, "E_UNEXPECTED"),
    (E_FAIL, "E_FAIL"),
    (E_OUTOFMEMORY, "E_OUTOFMEMORY"),
    (E_ABORT, "E_ABORT"),
    (HRESULT_TIMEOUT, "HRESULT_FROM_WIN32(ERROR_TIMEOUT)"),
];

/// `WIA_TRANSFER_MSG_STATUS`: progress for the current item or page (driver).
pub const WIA_TRANSFER_MSG_STATUS: i32 = 1;
/// `WIA_TRANSFER_MSG_END_OF_STREAM`: the current stream is finished (service only).
pub const WIA_TRANSFER_MSG_END_OF_STREAM: i32 = 2;
/// `WIA_TRANSFER_MSG_END_OF_TRANSFER`: the whole download is finished (service only).
pub const WIA_TRANSFER_MSG_END_OF_TRANSFER: i32 = 3;
/// `WIA_TRANSFER_MSG_DEVICE_STATUS`: `hrErrorStatus` holds the device state (driver; goes to
/// the error handlers, never to the application's `TransferCallback`).
pub const WIA_TRANSFER_MSG_DEVICE_STATUS: i32 = 5;
/// `WIA_TRANSFER_MSG_NEW_PAGE`: a new page inside a multi-page stream (driver).
pub const WIA_TRANSFER_MSG_NEW_PAGE: i32 = 6;

/// `WIA_MINIDRV_TRANSFER_ACQUIRE_CHILDREN` (wiamdef.h; missing from the `windows` crate).
pub const WIA_MINIDRV_TRANSFER_ACQUIRE_CHILDREN: i32 = 0x1;
/// `WIA_MINIDRV_TRANSFER_DOWNLOAD`.
pub const WIA_MINIDRV_TRANSFER_DOWNLOAD: i32 = 0x2;
/// `WIA_MINIDRV_TRANSFER_UPLOAD`.
pub const WIA_MINIDRV_TRANSFER_UPLOAD: i32 = 0x4;

/// `WIA_IPS_PAGES` value meaning "scan until the feeder is empty".
pub const WIA_ALL_PAGES: u32 = 0;

/// The message kinds as a Rust enum, for matching.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// [`WIA_TRANSFER_MSG_STATUS`].
    Status,
    /// [`WIA_TRANSFER_MSG_END_OF_STREAM`].
    EndOfStream,
    /// [`WIA_TRANSFER_MSG_END_OF_TRANSFER`].
    EndOfTransfer,
    /// [`WIA_TRANSFER_MSG_DEVICE_STATUS`].
    DeviceStatus,
    /// [`WIA_TRANSFER_MSG_NEW_PAGE`].
    NewPage,
}

impl MessageKind {
    /// The kind of a raw `lMessage`, or `None` for values WIA does not define (0, 4, 7, …).
    pub const fn from_raw(raw: i32) -> Option<Self> {
        match raw {
            WIA_TRANSFER_MSG_STATUS => Some(Self::Status),
            WIA_TRANSFER_MSG_END_OF_STREAM => Some(Self::EndOfStream),
            WIA_TRANSFER_MSG_END_OF_TRANSFER => Some(Self::EndOfTransfer),
            WIA_TRANSFER_MSG_DEVICE_STATUS => Some(Self::DeviceStatus),
            WIA_TRANSFER_MSG_NEW_PAGE => Some(Self::NewPage),
            _ => None,
        }
    }

    /// The raw `lMessage` value.
    pub const fn raw(self) -> i32 {
        match self {
            Self::Status => WIA_TRANSFER_MSG_STATUS,
            Self::EndOfStream => WIA_TRANSFER_MSG_END_OF_STREAM,
            Self::EndOfTransfer => WIA_TRANSFER_MSG_END_OF_TRANSFER,
            Self::DeviceStatus => WIA_TRANSFER_MSG_DEVICE_STATUS,
            Self::NewPage => WIA_TRANSFER_MSG_NEW_PAGE,
        }
    }

    /// Whether only the service may send this kind (statement 11).
    pub const fn is_service_only(self) -> bool {
        matches!(self, Self::EndOfStream | Self::EndOfTransfer)
    }
}

/// `WiaTransferParams`, laid out exactly as in `wia_lh.h` (24 bytes, align 8), so a COM
/// binding can pass pointers straight through.
#[allow(non_snake_case)]
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WiaTransferParams {
    /// One of the `WIA_TRANSFER_MSG_*` values.
    pub lMessage: i32,
    /// 0..=100 (statement 15).
    pub lPercentComplete: i32,
    /// Bytes written to the current stream so far (statement 16).
    pub ulTransferredBytes: u64,
    /// The status for DEVICE_STATUS, END_OF_STREAM and END_OF_TRANSFER; S_OK otherwise.
    pub hrErrorStatus: HResult,
}

impl WiaTransferParams {
    /// A STATUS message.
    pub const fn status(percent: i32, bytes: u64) -> Self {
        Self {
            lMessage: WIA_TRANSFER_MSG_STATUS,
            lPercentComplete: percent,
            ulTransferredBytes: bytes,
            hrErrorStatus: S_OK,
        }
    }

    /// A DEVICE_STATUS message.
    pub const fn device_status(status: HResult, percent: i32) -> Self {
        Self {
            lMessage: WIA_TRANSFER_MSG_DEVICE_STATUS,
            lPercentComplete: percent,
            ulTransferredBytes: 0,
            hrErrorStatus: status,
        }
    }

    /// A NEW_PAGE message.
    pub const fn new_page(bytes: u64) -> Self {
        Self {
            lMessage: WIA_TRANSFER_MSG_NEW_PAGE,
            lPercentComplete: 0,
            ulTransferredBytes: bytes,
            hrErrorStatus: S_OK,
        }
    }

    /// A message of the given raw kind and fields.
    pub const fn raw(message: i32, percent: i32, bytes: u64, status: HResult) -> Self {
        Self {
            lMessage: message,
            lPercentComplete: percent,
            ulTransferredBytes: bytes,
            hrErrorStatus: status,
        }
    }

    /// The decoded message kind.
    pub const fn kind(&self) -> Option<MessageKind> {
        MessageKind::from_raw(self.lMessage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn params_layout_matches_wia_lh_h() {
        assert_eq!(size_of::<WiaTransferParams>(), 24);
        assert_eq!(align_of::<WiaTransferParams>(), 8);
        assert_eq!(offset_of!(WiaTransferParams, lMessage), 0);
        assert_eq!(offset_of!(WiaTransferParams, lPercentComplete), 4);
        assert_eq!(offset_of!(WiaTransferParams, ulTransferredBytes), 8);
        assert_eq!(offset_of!(WiaTransferParams, hrErrorStatus), 16);
    }

    #[test]
    fn header_values_not_the_misprinted_doc_values() {
        assert_eq!(WIA_ERROR_COVER_OPEN.as_u32(), 0x8021_0010);
        assert_eq!(WIA_ERROR_LAMP_OFF.as_u32(), 0x8021_0011);
        assert_eq!(WIA_ERROR_MULTI_FEED.as_u32(), 0x8021_0014);
        assert_eq!(
            WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER.as_u32(),
            0x8021_0015
        );
        assert_eq!(
            WIA_S_NO_DEVICE_AVAILABLE,
            WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER
        );
        assert!(WIA_S_NO_DEVICE_AVAILABLE.is_failure());
        assert_eq!(WIA_STATUS_SKIP_ITEM.as_u32(), 0x0021_0009);
        assert!(WIA_STATUS_SKIP_ITEM.is_success());
        assert_eq!(WIA_STATUS_END_OF_MEDIA.as_u32(), 0x0021_0001);
        assert_eq!(WIA_ERROR_PAPER_JAM.facility(), FACILITY_WIA);
    }

    #[test]
    fn display_names_the_code() {
        assert_eq!(
            WIA_ERROR_PAPER_JAM.to_string(),
            "0x80210002 (WIA_ERROR_PAPER_JAM)"
        );
        assert_eq!(HResult::from_u32(0x8007_0070).to_string(), "0x80070070");
        assert_eq!(format!("{:?}", S_FALSE), "S_FALSE");
    }

    #[test]
    fn message_kinds_round_trip_and_4_is_not_one() {
        for k in [1, 2, 3, 5, 6] {
            assert_eq!(MessageKind::from_raw(k).unwrap().raw(), k);
        }
        assert_eq!(MessageKind::from_raw(4), None);
        assert_eq!(MessageKind::from_raw(0), None);
    }
}
