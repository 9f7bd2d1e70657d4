//! The `wia:` driver's failures as Scanwire [`DeviceError`]s: every WIA_ERROR_* code and the
//! COM and Win32 codes the WIA 2.0 API returns, mapped in this one file (STYLE 9).
//!
//! The exact HRESULT is kept whenever Scanwire's core files the code under the same
//! [`DeviceErrorKind`]; where this driver knows better (context decides, or core has no
//! opinion), the kind wins and the original code is named in the message.

use scanwire_core::device::{AcquireResult, Completion, DeviceError, DeviceErrorKind};
use scanwire_core::wia::{self, HResult};

/// What the driver was doing when a WIA call failed; part of the message, and it decides
/// codes WIA reuses (0x80210015 is both "no device available" and "endorser counter
/// exhausted").
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Creating the WIA 2.0 device manager (`CoCreateInstance(WiaDevMgr2)`).
    Connect,
    /// Listing devices (`IWiaDevMgr2::EnumDeviceInfo`).
    ListDevices,
    /// Opening a device (`IWiaDevMgr2::CreateDevice`).
    OpenDevice,
    /// Reading item properties and formats.
    ReadProperties,
    /// Writing the scan settings.
    WriteProperties,
    /// The scan itself (`IWiaTransfer::Download`).
    Download,
}

impl Operation {
    fn describe(self) -> &'static str {
        match self {
            Operation::Connect => "connecting to the WIA 2.0 service",
            Operation::ListDevices => "listing WIA devices",
            Operation::OpenDevice => "opening the WIA device",
            Operation::ReadProperties => "reading the device's properties",
            Operation::WriteProperties => "setting up the scan",
            Operation::Download => "scanning",
        }
    }
}

/// `REGDB_E_CLASSNOTREG`: no WIA 2.0 device manager is registered.
pub const REGDB_E_CLASSNOTREG: HResult = HResult::from_u32(0x8004_0154);
/// `CO_E_NOTINITIALIZED`.
pub const CO_E_NOTINITIALIZED: HResult = HResult::from_u32(0x8004_01F0);
/// `E_ACCESSDENIED`.
pub const E_ACCESSDENIED: HResult = HResult::from_u32(0x8007_0005);
/// `HRESULT_FROM_WIN32(ERROR_NOT_READY)`.
pub const HR_NOT_READY: HResult = HResult::from_u32(0x8007_0015);
/// `HRESULT_FROM_WIN32(ERROR_GEN_FAILURE)`: a device I/O failure.
pub const HR_GEN_FAILURE: HResult = HResult::from_u32(0x8007_001F);
/// `HRESULT_FROM_WIN32(ERROR_BUSY)`.
pub const HR_BUSY: HResult = HResult::from_u32(0x8007_00AA);
/// `HRESULT_FROM_WIN32(ERROR_SERVICE_DISABLED)`.
pub const HR_SERVICE_DISABLED: HResult = HResult::from_u32(0x8007_0422);
/// `HRESULT_FROM_WIN32(ERROR_SERVICE_NOT_ACTIVE)`.
pub const HR_SERVICE_NOT_ACTIVE: HResult = HResult::from_u32(0x8007_0426);
/// `HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_CONNECTED)`.
pub const HR_DEVICE_NOT_CONNECTED: HResult = HResult::from_u32(0x8007_048F);
/// `RPC_S_SERVER_UNAVAILABLE` as an HRESULT: the WIA service went away.
pub const HR_RPC_SERVER_UNAVAILABLE: HResult = HResult::from_u32(0x8007_06BA);
/// `RPC_E_DISCONNECTED`.
pub const RPC_E_DISCONNECTED: HResult = HResult::from_u32(0x8001_0108);

/// The kind and a hint for the user, for a failure `hr` during `op`.
pub fn classify(hr: HResult, op: Operation) -> (DeviceErrorKind, &'static str) {
    use DeviceErrorKind as K;
    match hr {
        wia::WIA_ERROR_GENERAL_ERROR => (K::Internal, "the device reported a general error"),
        wia::WIA_ERROR_PAPER_JAM => (K::PaperJam, "clear the paper jam and scan again"),
        wia::WIA_ERROR_PAPER_EMPTY => (K::FeederEmpty, "load paper into the feeder"),
        wia::WIA_ERROR_PAPER_PROBLEM => (K::PaperProblem, "check the paper in the feeder"),
        wia::WIA_ERROR_OFFLINE => (
            K::Offline,
            "the device is offline; switch it on or reconnect it",
        ),
        wia::WIA_ERROR_BUSY => (K::Busy, "the device is busy; try again later"),
        wia::WIA_ERROR_WARMING_UP => (K::WarmingUp, "the device is warming up; try again shortly"),
        wia::WIA_ERROR_USER_INTERVENTION => (K::PaperProblem, "the device needs attention"),
        // WIA reports an unplugged device as its items being deleted.
        wia::WIA_ERROR_ITEM_DELETED => (K::Offline, "the device or its item was removed"),
        wia::WIA_ERROR_DEVICE_COMMUNICATION => (
            K::Communication,
            "cannot communicate with the device; check the cable or network",
        ),
        wia::WIA_ERROR_INVALID_COMMAND => {
            (K::Unsupported, "the device does not support the request")
        }
        wia::WIA_ERROR_INCORRECT_HARDWARE_SETTING => (
            K::InvalidRequest,
            "the device rejected a setting of the request",
        ),
        wia::WIA_ERROR_DEVICE_LOCKED => (
            K::Busy,
            "the device is locked (in use or its scan lock is set)",
        ),
        wia::WIA_ERROR_EXCEPTION_IN_DRIVER => (K::Internal, "the WIA driver crashed"),
        wia::WIA_ERROR_INVALID_DRIVER_RESPONSE => {
            (K::Internal, "the WIA driver broke the transfer rules")
        }
        wia::WIA_ERROR_COVER_OPEN => (K::CoverOpen, "close the cover and scan again"),
        wia::WIA_ERROR_LAMP_OFF => (K::LampOff, "the scanner lamp is off or broken"),
        wia::WIA_ERROR_DESTINATION => (K::Destination, "the destination could not take the data"),
        wia::WIA_ERROR_NETWORK_RESERVATION_FAILED => {
            (K::Communication, "could not reserve the network scanner")
        }
        wia::WIA_ERROR_MULTI_FEED => (
            K::MultiFeed,
            "several sheets were fed at once; reload the feeder",
        ),
        // 0x80210015 is two names; only a scan can exhaust an endorser counter.
        wia::WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER if op == Operation::Download => {
            (K::Internal, "the imprinter/endorser counter is exhausted")
        }
        wia::WIA_S_NO_DEVICE_AVAILABLE => (K::Offline, "no WIA device is available"),
        REGDB_E_CLASSNOTREG => (
            K::Unsupported,
            "the WIA 2.0 device manager is not registered (WIA 2.0 needs Windows Vista or later)",
        ),
        HR_SERVICE_DISABLED | HR_SERVICE_NOT_ACTIVE => (
            K::Offline,
            "the Windows Image Acquisition service (stisvc) is not running",
        ),
        HR_RPC_SERVER_UNAVAILABLE | RPC_E_DISCONNECTED => {
            (K::Communication, "lost the connection to the WIA service")
        }
        HR_NOT_READY | HR_DEVICE_NOT_CONNECTED => (K::Offline, "the device is not connected"),
        HR_GEN_FAILURE => (K::Communication, "the device failed an I/O request"),
        HR_BUSY => (K::Busy, "the device is busy"),
        wia::HRESULT_TIMEOUT => (K::Communication, "the device stopped responding"),
        wia::E_INVALIDARG => (K::InvalidRequest, "WIA rejected an argument"),
        E_ACCESSDENIED => (K::Internal, "access denied by WIA"),
        CO_E_NOTINITIALIZED => (K::Internal, "COM is not initialized on this thread"),
        crate::pages::STG_E_INVALIDFUNCTION | crate::pages::STG_E_REVERTED => (
            K::Destination,
            "the WIA service wrote the page out of order or after it ended",
        ),
        _ => (K::Internal, "WIA failed"),
    }
}

/// The error for a failed WIA call: `hr` during `op`, with what the driver was doing (`what`,
/// may be empty) in the message.
pub fn wia_error(hr: HResult, op: Operation, what: &str) -> DeviceError {
    let (kind, hint) = classify(hr, op);
    let mut detail = format!("{} failed: {hint}", op.describe());
    if !what.is_empty() {
        detail = format!("{detail} ({what})");
    }
    if DeviceErrorKind::from_hresult(hr) == kind {
        DeviceError::from_hresult(hr, detail)
    } else {
        // Core files this code elsewhere; keep our kind and name the code in words.
        DeviceError::new(kind, format!("{detail}; WIA returned {hr}"))
    }
}

/// The `wia:` device's acquire result from `Download`'s HRESULT and what the Scanwire side
/// answered during it (the first S_FALSE or error, see `bridge::Bridged::stopped`).
///
/// What Scanwire answered wins: after S_FALSE the result is `Cancelled` (S18), after an error
/// that error (S19), whatever WIA's service made of it. Otherwise S_OK is done, S_FALSE
/// cancelled (`IWiaTransfer::Cancel`), WIA_STATUS_END_OF_MEDIA the feeder ran out, other
/// success codes done, and failures are mapped by [`wia_error`].
pub fn download_result(download: HResult, stopped: Option<HResult>) -> AcquireResult {
    match stopped {
        Some(wia::S_FALSE) => return Ok(Completion::Cancelled),
        Some(err) if err.is_failure() => {
            return Err(DeviceError::from_hresult(
                err,
                format!("the transfer was stopped by {err}; WIA's download returned {download}"),
            ))
        }
        _ => {}
    }
    match download {
        wia::S_FALSE => Ok(Completion::Cancelled),
        wia::WIA_STATUS_END_OF_MEDIA => Ok(Completion::EndOfMedia),
        hr if hr.is_success() => Ok(Completion::Done),
        hr => Err(wia_error(hr, Operation::Download, "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceErrorKind as K;

    /// Every WIA_ERROR_* from the SDK header, with the kind a user should see.
    const TABLE: &[(HResult, DeviceErrorKind)] = &[
        (wia::WIA_ERROR_GENERAL_ERROR, K::Internal),
        (wia::WIA_ERROR_PAPER_JAM, K::PaperJam),
        (wia::WIA_ERROR_PAPER_EMPTY, K::FeederEmpty),
        (wia::WIA_ERROR_PAPER_PROBLEM, K::PaperProblem),
        (wia::WIA_ERROR_OFFLINE, K::Offline),
        (wia::WIA_ERROR_BUSY, K::Busy),
        (wia::WIA_ERROR_WARMING_UP, K::WarmingUp),
        (wia::WIA_ERROR_USER_INTERVENTION, K::PaperProblem),
        (wia::WIA_ERROR_ITEM_DELETED, K::Offline),
        (wia::WIA_ERROR_DEVICE_COMMUNICATION, K::Communication),
        (wia::WIA_ERROR_INVALID_COMMAND, K::Unsupported),
        (wia::WIA_ERROR_INCORRECT_HARDWARE_SETTING, K::InvalidRequest),
        (wia::WIA_ERROR_DEVICE_LOCKED, K::Busy),
        (wia::WIA_ERROR_EXCEPTION_IN_DRIVER, K::Internal),
        (wia::WIA_ERROR_INVALID_DRIVER_RESPONSE, K::Internal),
        (wia::WIA_ERROR_COVER_OPEN, K::CoverOpen),
        (wia::WIA_ERROR_LAMP_OFF, K::LampOff),
        (wia::WIA_ERROR_DESTINATION, K::Destination),
        (wia::WIA_ERROR_NETWORK_RESERVATION_FAILED, K::Communication),
        (wia::WIA_ERROR_MULTI_FEED, K::MultiFeed),
    ];

    #[test]
    fn every_wia_error_code_has_its_kind_and_keeps_its_hresult_when_core_agrees() {
        // 0x80210001..=0x80210014 are all in the table, in order: none forgotten.
        for (i, (hr, _)) in TABLE.iter().enumerate() {
            assert_eq!(hr.as_u32(), 0x8021_0001 + i as u32);
        }
        for &(hr, kind) in TABLE {
            let e = wia_error(hr, Operation::Download, "page 2");
            assert_eq!(e.kind(), kind, "{hr}");
            if DeviceErrorKind::from_hresult(hr) == kind {
                assert_eq!(e.hresult(), hr, "exact code kept for {hr}");
            } else {
                assert!(e.detail().contains(&hr.to_string()), "{e}");
            }
            assert!(e.detail().contains("scanning failed"), "{e}");
            assert!(e.detail().contains("page 2"), "{e}");
        }
    }

    #[test]
    fn code_0x80210015_depends_on_what_was_done() {
        let listing = wia_error(wia::WIA_S_NO_DEVICE_AVAILABLE, Operation::ListDevices, "");
        assert_eq!(listing.kind(), K::Offline);
        assert_eq!(listing.hresult(), wia::WIA_S_NO_DEVICE_AVAILABLE);
        let scanning = wia_error(
            wia::WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER,
            Operation::Download,
            "",
        );
        assert_eq!(scanning.kind(), K::Internal);
        assert!(scanning.detail().contains("endorser"), "{scanning}");
    }

    #[test]
    fn com_and_win32_codes_name_the_cause() {
        let e = wia_error(REGDB_E_CLASSNOTREG, Operation::Connect, "");
        assert_eq!(e.kind(), K::Unsupported);
        assert!(
            e.detail()
                .contains("WIA 2.0 device manager is not registered"),
            "{e}"
        );
        assert!(e.detail().contains("0x80040154"), "{e}");
        let e = wia_error(HR_SERVICE_NOT_ACTIVE, Operation::ListDevices, "");
        assert_eq!(e.kind(), K::Offline);
        assert!(e.detail().contains("stisvc"), "{e}");
        assert_eq!(
            wia_error(RPC_E_DISCONNECTED, Operation::Download, "").kind(),
            K::Communication
        );
        let unknown = HResult::from_u32(0x8007_0070);
        let e = wia_error(unknown, Operation::Download, "");
        assert_eq!((e.kind(), e.hresult()), (K::Internal, unknown));
    }

    #[test]
    fn download_results_follow_what_scanwire_answered_first() {
        assert_eq!(download_result(wia::S_OK, None), Ok(Completion::Done));
        assert_eq!(
            download_result(wia::S_FALSE, None),
            Ok(Completion::Cancelled)
        );
        assert_eq!(
            download_result(wia::WIA_STATUS_END_OF_MEDIA, None),
            Ok(Completion::EndOfMedia)
        );
        // The service said S_OK but Scanwire had answered S_FALSE: cancelled (S18).
        assert_eq!(
            download_result(wia::S_OK, Some(wia::S_FALSE)),
            Ok(Completion::Cancelled)
        );
        // ... or an error: that error (S19).
        let e = download_result(wia::S_OK, Some(wia::WIA_ERROR_DESTINATION)).unwrap_err();
        assert_eq!(e.hresult(), wia::WIA_ERROR_DESTINATION);
        let e = download_result(wia::WIA_ERROR_PAPER_JAM, None).unwrap_err();
        assert_eq!(e.kind(), K::PaperJam);
        assert_eq!(e.hresult(), wia::WIA_ERROR_PAPER_JAM);
    }
}
