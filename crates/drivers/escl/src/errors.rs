//! Everything that can go wrong with an eSCL scanner, mapped to [`DeviceError`] (and so to a
//! WIA code) in this one file: scanner and feeder states, job state reasons, HTTP statuses
//! and transport failures (TLS among them).

use scanwire_core::device::{DeviceError, DeviceErrorKind};
use scanwire_core::wia::{self, HResult};
use scanwire_escl::{AdfState, JobInfo, JobState, JobStateReason, ScannerState, ScannerStatus};

/// The error a feeder state means, if it is a fault.
pub fn adf_fault(state: &AdfState) -> Option<DeviceError> {
    use DeviceErrorKind as K;
    let (kind, what) = match state {
        AdfState::Jam => (K::PaperJam, "the feeder is jammed (ScannerAdfJam)"),
        AdfState::Empty => (K::FeederEmpty, "the feeder is empty (ScannerAdfEmpty)"),
        AdfState::Mispick => (
            K::PaperProblem,
            "the feeder did not pick the sheet (ScannerAdfMispick)",
        ),
        AdfState::HatchOpen => (
            K::CoverOpen,
            "the feeder hatch is open (ScannerAdfHatchOpen)",
        ),
        AdfState::DoorOpen => (K::CoverOpen, "the feeder door is open (ScannerAdfDoorOpen)"),
        AdfState::MultipickDetected => (
            K::MultiFeed,
            "several sheets were fed at once (ScannerAdfMultipickDetected)",
        ),
        AdfState::DuplexPageTooShort => (
            K::PaperProblem,
            "the sheet is too short for duplex (ScannerAdfDuplexPageTooShort)",
        ),
        AdfState::DuplexPageTooLong => (
            K::PaperProblem,
            "the sheet is too long for duplex (ScannerAdfDuplexPageTooLong)",
        ),
        AdfState::InputTrayFailed => (
            K::PaperProblem,
            "the feeder input tray failed (ScannerAdfInputTrayFailed)",
        ),
        AdfState::InputTrayOverloaded => (
            K::PaperProblem,
            "the feeder input tray is overloaded (ScannerAdfInputTrayOverloaded)",
        ),
        AdfState::Processing | AdfState::Loaded | AdfState::Other(_) => return None,
    };
    Some(DeviceError::new(kind, what))
}

/// The error a scanner state means, if it is one (`Down`, `Stopped`).
pub fn scanner_fault(state: &ScannerState) -> Option<DeviceError> {
    match state {
        ScannerState::Down => Some(DeviceError::new(
            DeviceErrorKind::Offline,
            "the scanner reports State Down",
        )),
        // PWG: Stopped = needs attention before it can go on.
        ScannerState::Stopped => Some(DeviceError::with_hresult(
            DeviceErrorKind::PaperProblem,
            wia::WIA_ERROR_USER_INTERVENTION,
            "the scanner reports State Stopped: it needs attention at the device",
        )),
        _ => None,
    }
}

/// What a job's state and reasons mean once it stopped delivering pages: `None` when it
/// completed or says nothing useful, `Some(Ok(()))` when someone cancelled it at the device,
/// `Some(Err(e))` when it was aborted. `answered` is the HTTP status that made the driver
/// look (NextDocument's or POST's), which tells apart what the reasons alone do not:
///
/// | reasons (job Aborted)            | answered | WIA code                 |
/// |----------------------------------|----------|--------------------------|
/// | InvalidScanTicket                | any      | E_INVALIDARG             |
/// | UnsupportedDocumentFormat        | any      | INVALID_COMMAND          |
/// | ServiceOff                       | any      | OFFLINE                  |
/// | ResourcesAreNotReady             | 503      | BUSY (come back later)   |
/// | ResourcesAreNotReady             | other    | OFFLINE                  |
/// | ErrorsDetected                   | 409      | PAPER_PROBLEM            |
/// | anything else (AbortedBySystem)  | any      | DEVICE_COMMUNICATION     |
///
/// ResourcesAreNotReady: a scanner that will be ready soon answers 503 (PWG: retry later);
/// one that accepted the job and then aborted it for want of resources lost its scan unit
/// (switched off, disconnected): offline. 409 is the status eSCL servers give for paper
/// problems (AirSane, scanwire-server); without an ADF state it says no more than that.
pub fn job_outcome(job: &JobInfo, answered: u16) -> Option<Result<(), DeviceError>> {
    use DeviceErrorKind as K;
    let reasons = &job.job_state_reasons;
    if reasons.contains(&JobStateReason::JobCanceledByUser)
        || job.job_state == Some(JobState::Canceled)
    {
        return Some(Ok(()));
    }
    if job.job_state != Some(JobState::Aborted) {
        return None;
    }
    let names: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    let has = |name: &str| names.contains(&name);
    let detail = format!(
        "the scanner aborted the job (HTTP {answered}, reasons: {})",
        if names.is_empty() {
            "none given".to_string()
        } else {
            names.join(", ")
        }
    );
    let kind = if reasons.contains(&JobStateReason::InvalidScanTicket) {
        K::InvalidRequest
    } else if reasons.contains(&JobStateReason::UnsupportedDocumentFormat) {
        K::Unsupported
    } else if has("ServiceOff") {
        K::Offline
    } else if reasons.contains(&JobStateReason::ResourcesAreNotReady) {
        if answered == 503 {
            K::Busy
        } else {
            K::Offline
        }
    } else if answered == 409 && reasons.contains(&JobStateReason::ErrorsDetected) {
        K::PaperProblem
    } else {
        K::Communication
    };
    Some(Err(DeviceError::new(kind, detail)))
}

/// Why a job stopped early, from a ScannerStatus read after a request answered `answered`:
/// for a feeder job the feeder state first (it names the paper problem), then the job's
/// state and reasons, then the scanner state. A flatbed job ignores the feeder state (an
/// empty feeder says nothing about the glass).
pub fn status_fault(
    status: &ScannerStatus,
    job_uri: Option<&str>,
    answered: u16,
    feeder: bool,
) -> Option<Result<(), DeviceError>> {
    if let Some(e) = status
        .adf_state
        .as_ref()
        .filter(|_| feeder)
        .and_then(adf_fault)
    {
        return Some(Err(e));
    }
    if let Some(o) = job_fault(status, job_uri, answered) {
        return Some(o);
    }
    scanner_fault(&status.state).map(Err)
}

/// What the job's own entry in a ScannerStatus says (see [`job_outcome`]), if it is listed.
pub fn job_fault(
    status: &ScannerStatus,
    job_uri: Option<&str>,
    answered: u16,
) -> Option<Result<(), DeviceError>> {
    let job = job_uri.and_then(|uri| find_job(status, uri))?;
    job_outcome(job, answered)
}

/// The job whose JobUri is `uri`, or whose JobUri is a suffix of it (devices list paths,
/// the driver keeps absolute URLs).
fn find_job<'a>(status: &'a ScannerStatus, uri: &str) -> Option<&'a JobInfo> {
    status
        .jobs
        .iter()
        .find(|j| !j.job_uri.is_empty() && (j.job_uri == uri || uri.ends_with(&j.job_uri)))
}

/// The DEVICE_STATUS code for what a scanner reports while the driver waits for a page
/// (warming up, a feeder problem), if any.
pub fn device_status(status: &ScannerStatus) -> Option<HResult> {
    // PWG: Testing = self-test or calibration: the scanner is getting ready.
    if status.state == ScannerState::Testing {
        return Some(wia::WIA_STATUS_WARMING_UP);
    }
    status
        .adf_state
        .as_ref()
        .and_then(adf_fault)
        .map(|e| e.hresult())
}

/// Which request an HTTP failure answered, for the message and the mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// GET ScannerCapabilities.
    Capabilities,
    /// GET ScannerStatus.
    Status,
    /// POST ScanJobs.
    CreateJob,
    /// GET {job}/NextDocument.
    NextDocument,
    /// DELETE {job}.
    CancelJob,
}

impl Operation {
    /// The request as the spec writes it.
    pub fn describe(self) -> &'static str {
        match self {
            Operation::Capabilities => "GET ScannerCapabilities",
            Operation::Status => "GET ScannerStatus",
            Operation::CreateJob => "POST ScanJobs",
            Operation::NextDocument => "GET NextDocument",
            Operation::CancelJob => "DELETE job",
        }
    }
}

/// An HTTP status the protocol does not expect for `op`.
pub fn http_status(op: Operation, status: u16, url: &str) -> DeviceError {
    use DeviceErrorKind as K;
    let what = op.describe();
    let (kind, why) = match (op, status) {
        (_, 503) => (K::Busy, "the scanner stayed busy (503) after every retry"),
        (Operation::CreateJob, 400) => (
            K::InvalidRequest,
            "the scanner refused the scan settings as malformed (400)",
        ),
        (Operation::CreateJob, 409) => (
            K::InvalidRequest,
            "the scanner rejected the scan settings (409)",
        ),
        (_, 401 | 403) => (
            K::Offline,
            "the scanner requires authentication, which this driver does not support",
        ),
        (Operation::Capabilities | Operation::CreateJob, 404) => (
            K::Offline,
            "no eSCL service at this URL (404); check the path, usually /eSCL",
        ),
        (Operation::CreateJob, 201) => (
            K::Communication,
            "the scanner created a job but sent no Location",
        ),
        (_, 409) => (
            K::PaperProblem,
            "the scanner reported a conflict (409) and no feeder state",
        ),
        (_, 500..=599) => (K::Communication, "the scanner failed (5xx)"),
        _ => (K::Communication, "unexpected HTTP status"),
    };
    DeviceError::new(kind, format!("{what} {url}: {why} [HTTP {status}]"))
}

/// A failure below HTTP: the scanner cannot be reached, or the connection broke.
pub fn transport(op: Operation, url: &str, unreachable: bool, detail: &str) -> DeviceError {
    let kind = if unreachable {
        DeviceErrorKind::Offline
    } else {
        DeviceErrorKind::Communication
    };
    DeviceError::new(kind, format!("{} {url}: {detail}", op.describe()))
}

/// A TLS handshake that failed (made in `http.rs`, classified in [`transport_error`]).
#[derive(Debug, thiserror::Error)]
#[error("TLS handshake: {source}")]
pub(crate) struct TlsHandshake {
    /// What rustls or the socket said.
    pub source: std::io::Error,
}

/// The first error of type `T` in `e`'s chain, looking inside `io::Error`s too (whose
/// `source` skips the error they wrap).
fn find<'a, T: std::error::Error + 'static>(
    mut e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    loop {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        e = inner.or_else(|| e.source())?;
    }
}

/// A request that failed below HTTP, from ureq's error: a failed TLS handshake (which on a
/// port that does not speak TLS says so), a broken TLS connection, an answer that is not
/// HTTP, or a socket failure. Unreachable (name unknown, connection refused, no TLS in
/// common: nothing usable at this URL) is OFFLINE; a connection that broke is
/// DEVICE_COMMUNICATION.
pub(crate) fn transport_error(op: Operation, url: &str, t: &ureq::Transport) -> DeviceError {
    use DeviceErrorKind as K;
    let what = op.describe();
    if let Some(h) = find::<TlsHandshake>(t) {
        let why = match find::<rustls::Error>(&h.source) {
            Some(rustls::Error::InvalidMessage(_)) => {
                "the answer is not TLS: this port seems to speak plain HTTP; use http://".into()
            }
            Some(rustls::Error::AlertReceived(alert)) => format!(
                "the scanner refused the TLS handshake (alert {alert:?}): it may accept no TLS version or cipher suite this driver offers (TLS 1.2 and 1.3)"
            ),
            Some(rustls::Error::PeerIncompatible(p)) => format!(
                "no TLS version or cipher suite in common with the scanner ({p:?}); this driver offers TLS 1.2 and 1.3"
            ),
            Some(rustls::Error::InvalidCertificate(c)) => format!(
                "the scanner's certificate does not match its handshake signature ({c:?})"
            ),
            Some(e) => format!("the TLS handshake failed: {e}"),
            None => match h.source.kind() {
                std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted => "the scanner closed the connection during the TLS handshake: this port may not speak HTTPS (try http://), or it accepts none of TLS 1.2 and 1.3".into(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    "no answer to the TLS handshake in time: this port may not speak HTTPS".into()
                }
                _ => format!("the TLS handshake failed: {}", h.source),
            },
        };
        return DeviceError::new(K::Offline, format!("{what} {url}: {why}"));
    }
    if let Some(e) = find::<rustls::Error>(t) {
        return DeviceError::new(
            K::Communication,
            format!("{what} {url}: the TLS connection broke: {e}"),
        );
    }
    // ureq's own text starts with the URL, which the message already names.
    let mut detail = t.kind().to_string();
    if let Some(m) = t.message() {
        detail = format!("{detail}: {m}");
    }
    if let Some(s) = std::error::Error::source(t) {
        detail = format!("{detail}: {s}");
    }
    match t.kind() {
        ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed => {
            DeviceError::new(K::Offline, format!("{what} {url}: {detail}"))
        }
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader if !url_is_https(url) => {
            DeviceError::new(
                K::Communication,
                format!("{what} {url}: the answer is not HTTP ({detail}); if this port speaks HTTPS, use https://"),
            )
        }
        _ => DeviceError::new(K::Communication, format!("{what} {url}: {detail}")),
    }
}

fn url_is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// A 400 to a plain-HTTP request whose body says the port speaks TLS (nginx: "The plain HTTP
/// request was sent to HTTPS port", Apache: "speaking plain HTTP to an SSL-enabled server
/// port", `scanwire serve`: "this port speaks HTTPS only"); `None` for any other 400.
pub(crate) fn plain_http_to_tls_port(op: Operation, url: &str, body: &[u8]) -> Option<DeviceError> {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    const SAYS: [&str; 7] = [
        "plain http",
        "https only",
        "https port",
        "https server",
        "ssl port",
        "ssl-enabled",
        "tls port",
    ];
    if !SAYS.iter().any(|s| text.contains(s)) {
        return None;
    }
    let said = String::from_utf8_lossy(body);
    let said = said.trim().lines().next().unwrap_or("").trim();
    Some(DeviceError::new(
        DeviceErrorKind::Offline,
        format!(
            "{} {url}: this port speaks HTTPS, not plain HTTP: use https:// (the scanner answered 400: {said:.200})",
            op.describe()
        ),
    ))
}

/// A redirect from https to http: refused, since following it would send the rest of the
/// session in clear text.
pub fn downgrade(op: Operation, url: &str, target: &str) -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::Offline,
        format!(
            "{} {url}: the scanner redirects from https to plain http ({target}); refused, so as not to drop encryption; use the http:// URL if plain HTTP is meant",
            op.describe()
        ),
    )
}

/// A document that does not parse or a page that does not decode.
pub fn bad_response(what: impl std::fmt::Display) -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::Communication,
        format!("the scanner sent {what}"),
    )
}

/// A URL this driver cannot use.
pub fn bad_url(url: &str, why: &str) -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::InvalidRequest,
        format!("`{url}` is not an eSCL scanner URL: {why}; expected http://HOST:PORT/eSCL, https://HOST:PORT/eSCL or escl:http(s)://HOST:PORT/eSCL"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeder_states_map_to_wia_codes() {
        assert_eq!(
            adf_fault(&AdfState::Jam).unwrap().hresult(),
            wia::WIA_ERROR_PAPER_JAM
        );
        assert_eq!(
            adf_fault(&AdfState::Empty).unwrap().hresult(),
            wia::WIA_ERROR_PAPER_EMPTY
        );
        assert_eq!(
            adf_fault(&AdfState::HatchOpen).unwrap().hresult(),
            wia::WIA_ERROR_COVER_OPEN
        );
        assert_eq!(
            adf_fault(&AdfState::DoorOpen).unwrap().hresult(),
            wia::WIA_ERROR_COVER_OPEN
        );
        assert_eq!(
            adf_fault(&AdfState::MultipickDetected).unwrap().hresult(),
            wia::WIA_ERROR_MULTI_FEED
        );
        assert!(adf_fault(&AdfState::Loaded).is_none());
        assert!(adf_fault(&AdfState::Processing).is_none());
    }

    #[test]
    fn busy_and_unreachable() {
        assert_eq!(
            http_status(Operation::CreateJob, 503, "u").hresult(),
            wia::WIA_ERROR_BUSY
        );
        assert_eq!(
            transport(Operation::Capabilities, "u", true, "refused").hresult(),
            wia::WIA_ERROR_OFFLINE
        );
        assert_eq!(
            transport(Operation::NextDocument, "u", false, "reset").hresult(),
            wia::WIA_ERROR_DEVICE_COMMUNICATION
        );
    }

    #[test]
    fn a_tls_port_complaining_about_plain_http_is_recognised() {
        for said in [
            "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>",
            "Bad Request\nYour browser sent a request that this server could not understand.\nReason: You're speaking plain HTTP to an SSL-enabled server port.",
            "Client sent an HTTP request to an HTTPS server.\n",
            "this port speaks HTTPS only: use an https:// URL\n",
        ] {
            let e = plain_http_to_tls_port(Operation::Capabilities, "http://h:443/eSCL/X", said.as_bytes())
                .unwrap_or_else(|| panic!("not recognised: {said}"));
            assert_eq!(e.hresult(), wia::WIA_ERROR_OFFLINE);
            assert!(e.to_string().contains("use https://"), "{e}");
        }
        // A 400 about something else stays a 400.
        assert!(plain_http_to_tls_port(
            Operation::CreateJob,
            "http://h/eSCL/ScanJobs",
            b"<error>invalid ScanSettings; see https://h/help</error>"
        )
        .is_none());
    }

    #[test]
    fn aborted_job_reasons() {
        let mut job = JobInfo::new("/eSCL/ScanJobs/1");
        job.job_state = Some(JobState::Aborted);
        job.job_state_reasons = vec![JobStateReason::InvalidScanTicket];
        let e = job_outcome(&job, 500).unwrap().unwrap_err();
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
        job.job_state_reasons = vec![JobStateReason::ResourcesAreNotReady];
        assert_eq!(
            job_outcome(&job, 503).unwrap().unwrap_err().hresult(),
            wia::WIA_ERROR_BUSY
        );
        assert_eq!(
            job_outcome(&job, 500).unwrap().unwrap_err().hresult(),
            wia::WIA_ERROR_OFFLINE
        );
        job.job_state_reasons = vec![JobStateReason::ErrorsDetected];
        assert_eq!(
            job_outcome(&job, 409).unwrap().unwrap_err().hresult(),
            wia::WIA_ERROR_PAPER_PROBLEM
        );
        assert_eq!(
            job_outcome(&job, 500).unwrap().unwrap_err().hresult(),
            wia::WIA_ERROR_DEVICE_COMMUNICATION
        );
        job.job_state = Some(JobState::Canceled);
        assert!(job_outcome(&job, 410).unwrap().is_ok());
    }
}
