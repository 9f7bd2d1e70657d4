//! The SOAP 1.2 envelope: WS-Addressing headers and one body, typed.

use crate::discovery::{DeviceMetadata, Target};
use crate::error::Error;
use crate::ns::{QName, DISCOVERY_NS, FAULT_ACTION, SCAN_NS, TRANSFER_NS};
use crate::scan::{CreatedJob, JobElements, ScanTicket, ScannerElements};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The WS-Addressing headers Scanwire reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// `To`: the service address, the anonymous role, or the discovery URN.
    pub to: Option<String>,
    /// `Action`.
    pub action: Option<String>,
    /// `MessageID`.
    pub message_id: Option<String>,
    /// `RelatesTo`: the MessageID this message answers.
    pub relates_to: Option<String>,
    /// `ReplyTo/Address` (sane-airscan writes the address as the element's text; both read).
    pub reply_to: Option<String>,
    /// WS-Discovery `AppSequence`: the order of a device's announcements and answers.
    pub app_sequence: Option<AppSequence>,
}

/// WS-Discovery's `AppSequence` header, which a device puts on Hello, Bye, ProbeMatches and
/// ResolveMatches so receivers can order them and notice a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSequence {
    /// `InstanceId`: grows each time the device starts (a start time in seconds will do).
    pub instance_id: u64,
    /// `MessageNumber`: grows with every message of one instance.
    pub message_number: u64,
}

impl Header {
    /// Headers of a request with `body`'s action to `to`, a fresh MessageID and replies to
    /// the anonymous role (on the same connection), as sane-airscan sends them.
    pub fn request(to: &str, body: &Body) -> Header {
        Header {
            to: Some(to.to_string()),
            action: Some(body.action()),
            message_id: Some(new_message_id()),
            relates_to: None,
            reply_to: Some(crate::ns::ANONYMOUS.to_string()),
            app_sequence: None,
        }
    }

    /// Headers of the answer `body` to a request with headers `request`.
    pub fn reply(request: &Header, body: &Body) -> Header {
        Header {
            to: Some(crate::ns::ANONYMOUS.to_string()),
            action: Some(body.action()),
            message_id: Some(new_message_id()),
            relates_to: request.message_id.clone(),
            reply_to: None,
            app_sequence: None,
        }
    }
}

/// A fresh `urn:uuid:` (version 4 layout) from the standard library's randomly keyed hasher,
/// the time and a counter: unique per message, which is all WS-Addressing asks.
pub fn new_message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(count);
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.finish()
    };
    let (a, b) = (half(1), half(2));
    let bytes: Vec<u8> = a.to_be_bytes().into_iter().chain(b.to_be_bytes()).collect();
    let mut u = [0u8; 16];
    u.copy_from_slice(&bytes);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A SOAP 1.2 fault.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    /// `Code/Value`, local part: `Sender` (the request was wrong) or `Receiver`.
    pub code: String,
    /// The innermost `Subcode/Value`, local part (`ClientErrorNoImagesAvailable`, …).
    pub subcode: Option<String>,
    /// `Reason/Text` (the first, English in practice).
    pub reason: String,
    /// `Detail`, its text content.
    pub detail: Option<String>,
}

impl Fault {
    /// A `Sender` fault with a WS-Scan subcode.
    pub fn sender(subcode: &str, reason: &str) -> Fault {
        Fault {
            code: "Sender".into(),
            subcode: Some(subcode.into()),
            reason: reason.into(),
            detail: None,
        }
    }

    /// A `Receiver` fault with a WS-Scan subcode.
    pub fn receiver(subcode: &str, reason: &str) -> Fault {
        Fault {
            code: "Receiver".into(),
            subcode: Some(subcode.into()),
            reason: reason.into(),
            detail: None,
        }
    }

    /// Whether the subcode is `name`.
    pub fn is(&self, name: &str) -> bool {
        self.subcode.as_deref() == Some(name)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(s) = &self.subcode {
            write!(f, "/{s}")?;
        }
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        Ok(())
    }
}

/// The body of a message: one operation.
// One body per HTTP message or datagram: the size of the largest variant costs nothing, and
// boxing would make every match and constructor noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// `GetScannerElementsRequest/RequestedElements/Name*` (QNames such as
    /// `scan:ScannerConfiguration`, kept by local name).
    GetScannerElementsRequest(Vec<String>),
    /// `GetScannerElementsResponse`.
    GetScannerElementsResponse(ScannerElements),
    /// `ValidateScanTicketRequest`.
    ValidateScanTicketRequest(ScanTicket),
    /// `ValidateScanTicketResponse/ValidationInfo`.
    ValidateScanTicketResponse {
        /// `ValidAsIs`.
        valid_as_is: bool,
        /// The corrected ticket, when not valid as is.
        ticket: Option<ScanTicket>,
    },
    /// `CreateScanJobRequest/ScanTicket`.
    CreateScanJobRequest(ScanTicket),
    /// `CreateScanJobResponse`.
    CreateScanJobResponse(CreatedJob),
    /// `RetrieveImageRequest`.
    RetrieveImageRequest {
        /// `JobId`.
        job_id: u32,
        /// `JobToken`.
        job_token: String,
        /// `DocumentDescription/DocumentName`.
        document_name: Option<String>,
    },
    /// `RetrieveImageResponse/ScanData/xop:Include@href`.
    RetrieveImageResponse {
        /// The `href` (`cid:…`).
        href: String,
    },
    /// `CancelJobRequest/JobId`.
    CancelJobRequest {
        /// `JobId`.
        job_id: u32,
    },
    /// `CancelJobResponse`.
    CancelJobResponse,
    /// `GetJobElementsRequest`.
    GetJobElementsRequest {
        /// `JobId`.
        job_id: u32,
        /// `RequestedElements/Name` (local names: `JobStatus`, `ScanTicket`).
        names: Vec<String>,
    },
    /// `GetJobElementsResponse/JobElements`.
    GetJobElementsResponse(JobElements),
    /// `GetActiveJobsRequest`.
    GetActiveJobsRequest,
    /// `GetActiveJobsResponse/ActiveJobs/Job*`.
    GetActiveJobsResponse(Vec<JobElements>),
    /// A SOAP fault.
    Fault(Fault),
    /// WS-Discovery `Probe/Types`.
    Probe(Vec<QName>),
    /// WS-Discovery `ProbeMatches/ProbeMatch*`.
    ProbeMatches(Vec<Target>),
    /// WS-Discovery `Hello`.
    Hello(Target),
    /// WS-Discovery `Bye`.
    Bye(Target),
    /// WS-Discovery `Resolve/EndpointReference/Address`: where is this endpoint?
    Resolve(String),
    /// WS-Discovery `ResolveMatches/ResolveMatch*` (at most one in practice).
    ResolveMatches(Vec<Target>),
    /// WS-Transfer `Get` (empty body; the action says it).
    TransferGet,
    /// The answer to a WS-Transfer `Get`: the device's metadata.
    TransferGetResponse(DeviceMetadata),
    /// An operation this crate does not know (a server answers ActionNotSupported).
    Other {
        /// The element's namespace URI (empty for none).
        namespace: String,
        /// Its local name.
        local: String,
    },
}

impl Body {
    /// The element name of the body (`scan:CreateScanJobRequest`, `soap:Fault`, …).
    pub fn name(&self) -> String {
        let scan = |n: &str| format!("scan:{n}");
        match self {
            Body::GetScannerElementsRequest(_) => scan("GetScannerElementsRequest"),
            Body::GetScannerElementsResponse(_) => scan("GetScannerElementsResponse"),
            Body::ValidateScanTicketRequest(_) => scan("ValidateScanTicketRequest"),
            Body::ValidateScanTicketResponse { .. } => scan("ValidateScanTicketResponse"),
            Body::CreateScanJobRequest(_) => scan("CreateScanJobRequest"),
            Body::CreateScanJobResponse(_) => scan("CreateScanJobResponse"),
            Body::RetrieveImageRequest { .. } => scan("RetrieveImageRequest"),
            Body::RetrieveImageResponse { .. } => scan("RetrieveImageResponse"),
            Body::CancelJobRequest { .. } => scan("CancelJobRequest"),
            Body::CancelJobResponse => scan("CancelJobResponse"),
            Body::GetJobElementsRequest { .. } => scan("GetJobElementsRequest"),
            Body::GetJobElementsResponse(_) => scan("GetJobElementsResponse"),
            Body::GetActiveJobsRequest => scan("GetActiveJobsRequest"),
            Body::GetActiveJobsResponse(_) => scan("GetActiveJobsResponse"),
            Body::Fault(_) => "soap:Fault".into(),
            Body::Probe(_) => "wsd:Probe".into(),
            Body::ProbeMatches(_) => "wsd:ProbeMatches".into(),
            Body::Hello(_) => "wsd:Hello".into(),
            Body::Bye(_) => "wsd:Bye".into(),
            Body::Resolve(_) => "wsd:Resolve".into(),
            Body::ResolveMatches(_) => "wsd:ResolveMatches".into(),
            Body::TransferGet => "(empty body of wxf:Get)".into(),
            Body::TransferGetResponse(_) => "mex:Metadata".into(),
            Body::Other { namespace, local } => format!("{{{namespace}}}{local}"),
        }
    }

    /// The WS-Addressing Action of a message with this body.
    pub fn action(&self) -> String {
        let name = self.name();
        match self {
            Body::Fault(_) => FAULT_ACTION.to_string(),
            Body::Probe(_)
            | Body::ProbeMatches(_)
            | Body::Hello(_)
            | Body::Bye(_)
            | Body::Resolve(_)
            | Body::ResolveMatches(_) => {
                format!("{DISCOVERY_NS}/{}", &name["wsd:".len()..])
            }
            Body::TransferGet => format!("{TRANSFER_NS}/Get"),
            Body::TransferGetResponse(_) => format!("{TRANSFER_NS}/GetResponse"),
            Body::Other { namespace, local } => format!("{namespace}/{local}"),
            _ => {
                // Requests drop "Request": `…/scan/CreateScanJob`; responses keep "Response".
                let op = &name["scan:".len()..];
                format!("{SCAN_NS}/{}", op.strip_suffix("Request").unwrap_or(op))
            }
        }
    }
}

/// A whole message: headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The WS-Addressing headers.
    pub header: Header,
    /// The operation.
    pub body: Body,
}

impl Envelope {
    /// A message.
    pub fn new(header: Header, body: Body) -> Envelope {
        Envelope { header, body }
    }

    /// The body as a result: a fault becomes [`Error::Fault`].
    pub fn into_result(self) -> Result<Body, Error> {
        match self.body {
            Body::Fault(f) => Err(Error::Fault(f)),
            b => Ok(b),
        }
    }
}
