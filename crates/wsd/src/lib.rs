//! WS-Scan (WSD) wire model: SOAP 1.2 envelopes with WS-Addressing headers, the WS-Scan
//! operations, WS-Discovery and WS-Transfer messages, and the MTOM/XOP multipart that carries
//! images. No HTTP, no UDP: the driver (`scanwire-wsd-client`) and a server do the I/O.
//!
//! - An [`Envelope`] is a [`Header`] (To, Action, MessageID, RelatesTo, ReplyTo) and one
//!   [`Body`]: every message a WS-Scan client sends or a device answers
//!   (`GetScannerElements`, `ValidateScanTicket`, `CreateScanJob`, `RetrieveImage`,
//!   `CancelJob`, `GetJobElements`, `GetActiveJobs`), a [`Fault`], WS-Discovery
//!   `Probe`/`ProbeMatches`/`Hello`/`Bye`, and a WS-Transfer `Get` and its [`DeviceMetadata`].
//!   `Envelope::from_xml` reads, `Envelope::to_xml` writes.
//! - The WS-Scan elements ([`ScannerElements`], [`ScanTicket`], [`CreatedJob`],
//!   [`JobStatus`]…) keep wire units: lengths in thousandths of an inch, resolutions in dpi.
//! - [`read_message`] reads an HTTP answer, plain SOAP or MTOM/XOP (`multipart/related`
//!   with the image as the part an `xop:Include href="cid:…"` names);
//!   [`write_retrieve_image_response`] writes one, [`XopFrame`] the pieces around an image a
//!   server streams. [`XopReader`] reads one as it arrives (the envelope first, then the
//!   image's bytes), with the same rules.
//! - **Reading** matches names by namespace URI, not prefix, accepts SOAP 1.1 and the older
//!   or newer revisions of WS-Addressing, WS-Scan and XOP (`docs/wsd.md`), ignores unknown
//!   elements and element order, and enforces [`Limits`]; every refusal is an [`Error`]
//!   naming the element, line or part. **Writing** uses fixed prefixes (`soap:`, `wsa:`,
//!   `scan:`, …), SOAP 1.2 and WS-Addressing 2004/08, as sane-airscan does.
//!
//! ```
//! use scanwire_wsd::{Body, Envelope, Header};
//!
//! let body = Body::CancelJobRequest { job_id: 7 };
//! let request = Envelope::new(Header::request("http://192.0.2.5:5358/WSDScanner", &body), body);
//! let xml = request.to_xml();
//! assert!(xml.contains("<scan:JobId>7</scan:JobId>"));
//! assert_eq!(Envelope::from_xml(xml.as_bytes()).unwrap(), request);
//! ```

#![warn(missing_docs)]

mod discovery;
mod envelope;
mod error;
mod mime;
mod ns;
mod read;
mod scan;
mod values;
mod write;
mod xop;

pub use discovery::{DeviceMetadata, HostedService, Target};
pub use envelope::{new_message_id, AppSequence, Body, Envelope, Fault, Header};
pub use error::{Error, ErrorKind, Limits, MultipartError};
pub use mime::{
    read_message, read_multipart, write_retrieve_image_response, MediaType, Message, Part, XopFrame,
};
pub use ns::{
    QName, ANONYMOUS, DISCOVERY_NS, DISCOVERY_TO, DPWS_NS, FAULT_ACTION, MEX_NS, SCAN_NS, SOAP_NS,
    TRANSFER_NS, WSA_NS, XOP_NS,
};
pub use scan::{
    Adf, CreatedJob, DeviceCondition, DeviceSettings, DocumentParameters, Exposure, ImageInfo,
    InputCaps, JobDescription, JobElements, JobStatus, MediaSide, Range, Region, ScanTicket,
    ScannerConfiguration, ScannerDescription, ScannerElements, ScannerStatus, Size,
};
pub use values::{ColorEntry, Format, InputSource, JobState, ScannerState};
pub use xop::{XopEvent, XopReader};
