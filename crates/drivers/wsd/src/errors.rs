//! Everything that can go wrong with a WS-Scan scanner, mapped to [`DeviceError`] (and so to a
//! WIA code) in this one file: SOAP faults, scanner conditions and state reasons, job states
//! and reasons, HTTP statuses and transport failures. The table is in `docs/wsd.md`.

use scanwire_core::device::{DeviceError, DeviceErrorKind};
use scanwire_core::wia::{self, HResult};
use scanwire_wsd::{Fault, JobState, JobStatus, ScannerState, ScannerStatus};

/// The operations, for messages and timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// GetScannerElements for description, configuration and default ticket.
    Elements,
    /// GetScannerElements for ScannerStatus.
    Status,
    /// CreateScanJob.
    CreateJob,
    /// RetrieveImage.
    RetrieveImage,
    /// CancelJob.
    CancelJob,
    /// GetJobElements for JobStatus.
    JobStatus,
    /// WS-Transfer Get of device metadata.
    Metadata,
}

impl Operation {
    /// What the operation does, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Operation::Elements => "reading the scanner's description (GetScannerElements)",
            Operation::Status => "reading the scanner's status (GetScannerElements)",
            Operation::CreateJob => "creating the scan job (CreateScanJob)",
            Operation::RetrieveImage => "fetching an image (RetrieveImage)",
            Operation::CancelJob => "cancelling the job (CancelJob)",
            Operation::JobStatus => "reading the job's state (GetJobElements)",
            Operation::Metadata => "reading the device's metadata (WS-Transfer Get)",
        }
    }
}

/// What a fault from `op` means when it ends the job. (`ClientErrorNoImagesAvailable` after
/// pages, the normal end of a feeder batch, never gets here: the protocol ends the job.)
pub fn fault_error(op: Operation, fault: &Fault) -> DeviceError {
    use DeviceErrorKind as K;
    let sub = fault.subcode.as_deref().unwrap_or("");
    let (kind, hr) = match sub {
        "ClientErrorNoImagesAvailable" => (K::FeederEmpty, None),
        "ServerErrorNotAcceptingJobs" | "ServerErrorTemporaryError" | "OperationFailed" => {
            (K::Busy, None)
        }
        "ClientErrorFormatNotSupported" | "ActionNotSupported" => (K::Unsupported, None),
        "InvalidArgs"
        | "ClientErrorInvalidScanIdentifier"
        | "ClientErrorInvalidDestinationToken" => (K::InvalidRequest, None),
        "ClientErrorJobIdNotFound" | "ClientErrorInvalidJobToken" => (K::Communication, None),
        "ServerErrorInternalError" => (K::Internal, Some(wia::WIA_ERROR_GENERAL_ERROR)),
        // Any other fault: the sender's fault is a request the scanner refused, the
        // receiver's one a failure at the scanner.
        _ if fault.code == "Sender" => (K::InvalidRequest, None),
        _ => (K::Communication, None),
    };
    let detail = format!(
        "{} failed: the scanner answered the fault {fault}",
        op.describe()
    );
    match hr {
        Some(hr) => DeviceError::with_hresult(kind, hr, detail),
        None => DeviceError::new(kind, detail),
    }
}

/// Whether a fault from CreateScanJob or RetrieveImage is worth retrying after a pause.
pub fn is_transient(fault: &Fault) -> bool {
    matches!(
        fault.subcode.as_deref(),
        Some("ServerErrorNotAcceptingJobs" | "ServerErrorTemporaryError" | "OperationFailed")
    )
}

/// Whether a fault says the job was cancelled (at the panel, or by another client).
pub fn is_cancelled(fault: &Fault) -> bool {
    matches!(
        fault.subcode.as_deref(),
        Some("ClientErrorJobCancelled" | "ServerErrorJobCancelled")
    )
}

/// The error a condition or state reason names (`MediaJam`, `InputTrayEmpty`, …), if it is
/// a fault; `feeder` says whether feeder conditions concern this job.
pub fn condition_fault(name: &str, feeder: bool) -> Option<DeviceError> {
    use DeviceErrorKind as K;
    let (kind, what) = match name {
        "MediaJam" => (K::PaperJam, "paper is jammed (MediaJam)"),
        "InputTrayEmpty" if feeder => (K::FeederEmpty, "the feeder is empty (InputTrayEmpty)"),
        "MultipleFeedError" => (
            K::MultiFeed,
            "several sheets were fed at once (MultipleFeedError)",
        ),
        "CoverOpen" => (K::CoverOpen, "a cover is open (CoverOpen)"),
        "InterlockOpen" => (K::CoverOpen, "the interlock is open (InterlockOpen)"),
        "LampError" => (K::LampOff, "the lamp failed (LampError)"),
        "InternalStorageFull" => (
            K::Busy,
            "the scanner's storage is full (InternalStorageFull)",
        ),
        "AttentionRequired" | "Paused" => {
            return Some(DeviceError::with_hresult(
                K::PaperProblem,
                wia::WIA_ERROR_USER_INTERVENTION,
                format!("the scanner needs attention ({name})"),
            ))
        }
        _ => return None,
    };
    Some(DeviceError::new(kind, what))
}

/// The first fault a ScannerStatus reports: active conditions, then state reasons, then a
/// `Stopped` state with no reason.
pub fn status_fault(status: &ScannerStatus, feeder: bool) -> Option<DeviceError> {
    status
        .conditions
        .iter()
        .map(|c| c.name.as_str())
        .chain(status.reasons.iter().map(String::as_str))
        .find_map(|n| condition_fault(n, feeder))
        .or_else(|| {
            (status.state == ScannerState::Stopped).then(|| {
                DeviceError::with_hresult(
                    DeviceErrorKind::PaperProblem,
                    wia::WIA_ERROR_USER_INTERVENTION,
                    "the scanner reports ScannerState Stopped: it needs attention at the device",
                )
            })
        })
}

/// An informational DEVICE_STATUS while waiting (warming up, calibrating).
pub fn device_status(status: &ScannerStatus) -> Option<HResult> {
    let names = || {
        status
            .conditions
            .iter()
            .map(|c| c.name.as_str())
            .chain(status.reasons.iter().map(String::as_str))
    };
    names()
        .any(|n| matches!(n, "LampWarming" | "Calibrating"))
        .then_some(wia::WIA_STATUS_WARMING_UP)
}

/// What a job's state means once it stopped delivering images: `None` when it says nothing
/// useful (still running, or completed), `Some(Ok(()))` when it was cancelled,
/// `Some(Err(e))` when the scanner aborted it.
pub fn job_outcome(job: &JobStatus) -> Option<Result<(), DeviceError>> {
    use DeviceErrorKind as K;
    let has = |r: &str| job.reasons.iter().any(|x| x == r);
    match job.state {
        JobState::Canceled => Some(Ok(())),
        _ if has("JobCanceledAtDevice") => Some(Ok(())),
        JobState::Aborted => {
            let (kind, why) = if has("InvalidScanTicket") {
                (
                    K::InvalidRequest,
                    "the scanner could not process the scan ticket",
                )
            } else if has("DocumentFormatError") {
                (
                    K::Unsupported,
                    "the scanner does not support the requested format",
                )
            } else if has("ScannerStopped") {
                (K::PaperProblem, "the scanner stopped (it needs attention)")
            } else if has("JobTimedOut") {
                (K::Communication, "the scanner timed the job out")
            } else {
                (K::Communication, "the scanner aborted the job")
            };
            let reasons = if job.reasons.is_empty() {
                "none".to_string()
            } else {
                job.reasons.join(", ")
            };
            Some(Err(DeviceError::new(
                kind,
                format!("{why} (job {} Aborted, reasons: {reasons})", job.job_id),
            )))
        }
        _ => None,
    }
}

/// An HTTP status that is neither success nor carries a SOAP fault.
pub fn http_status(op: Operation, status: u16, url: &str) -> DeviceError {
    let kind = match status {
        503 => DeviceErrorKind::Busy,
        404 | 405 | 501 => DeviceErrorKind::Unsupported,
        _ => DeviceErrorKind::Communication,
    };
    DeviceError::new(
        kind,
        format!(
            "{} failed: {url} answered HTTP {status} without a SOAP fault",
            op.describe()
        ),
    )
}

/// A failure below HTTP (connection refused, reset, timeout).
pub fn transport(op: Operation, url: &str, detail: &str) -> DeviceError {
    let offline = detail.contains("refused")
        || detail.contains("resolve")
        || detail.contains("timed out") && detail.contains("connect");
    DeviceError::new(
        if offline {
            DeviceErrorKind::Offline
        } else {
            DeviceErrorKind::Communication
        },
        format!("{} failed: {url}: {detail}", op.describe()),
    )
}

/// A message that does not parse, or a page that does not arrive whole.
pub fn bad_response(op: Operation, what: impl std::fmt::Display) -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::Communication,
        format!("{} failed: the scanner sent {what}", op.describe()),
    )
}

/// A URL this driver cannot use.
pub fn bad_url(url: &str, why: &str) -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::InvalidRequest,
        format!(
            "`{url}` is not a WS-Scan service URL: {why}; expected http://HOST:PORT/PATH or \
             wsd:http://HOST:PORT/PATH"
        ),
    )
}
