//! Why a message was refused.

/// What went wrong while reading a WS-Scan, WS-Discovery or WS-Transfer message.
///
/// Every variant names the offending element, part or position, so a server can put the
/// message in a fault's reason and a client can log it as it is.
///
/// `TooLarge` to `NoRoot` are the XML layer's refusals ([`scanwire_xml::Error`], converted by
/// `From`), repeated here so that callers match one enum and read this protocol's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message is larger than [`Limits::max_bytes`].
    #[error("message is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Elements are nested deeper than [`Limits::max_depth`].
    #[error("elements are nested deeper than {limit} levels (line {line})")]
    TooDeep {
        /// The limit in force.
        limit: usize,
        /// Line of the element that went past it.
        line: u32,
    },
    /// More than [`Limits::max_elements`] elements.
    #[error("message has more than {limit} elements (line {line})")]
    TooManyElements {
        /// The limit in force.
        limit: usize,
        /// Line of the element that went past it.
        line: u32,
    },
    /// An element has more than [`Limits::max_attributes`] attributes.
    #[error("<{element}> has more than {limit} attributes (line {line})")]
    TooManyAttributes {
        /// The limit in force.
        limit: usize,
        /// The element.
        element: String,
        /// Its line.
        line: u32,
    },
    /// Not UTF-8.
    #[error("message is not UTF-8: {detail}")]
    Encoding {
        /// What was found instead.
        detail: String,
    },
    /// Not well-formed XML.
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line.
        line: u32,
        /// 1-based column, in characters.
        column: u32,
        /// What the parser found.
        message: String,
    },
    /// No element at all.
    #[error("message has no root element (empty or only comments)")]
    NoRoot,
    /// The root is not a SOAP envelope.
    #[error(
        "not a SOAP message: the root is <{found}>, expected <soap:Envelope> (SOAP 1.2 or 1.1)"
    )]
    NotSoap {
        /// The root found, with its conventional prefix or `{namespace-uri}`.
        found: String,
    },
    /// The envelope has no `Body`.
    #[error("the SOAP envelope (line {line}) has no <soap:Body>")]
    NoBody {
        /// Line of the envelope.
        line: u32,
    },
    /// The body holds no element.
    #[error("the SOAP body (line {line}) is empty: expected one operation element")]
    EmptyBody {
        /// Line of the body.
        line: u32,
    },
    /// The body holds another message than the one expected.
    #[error("expected <{expected}> in the SOAP body, found <{found}>")]
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The peer answered with a SOAP fault where a response was expected.
    #[error("the device answered with a fault: {0}")]
    Fault(crate::Fault),
    /// A required element is absent.
    #[error("missing required element <{element}> in <{parent}> (line {line})")]
    Missing {
        /// The element that is missing.
        element: String,
        /// Where it should be.
        parent: String,
        /// Line of the parent.
        line: u32,
    },
    /// An element that holds a number holds something else.
    #[error("bad number {value:?} in <{element}> (line {line}): expected {expected}")]
    BadNumber {
        /// The element.
        element: String,
        /// Its text.
        value: String,
        /// What is allowed.
        expected: &'static str,
        /// Its line.
        line: u32,
    },
    /// An element holds a value outside its allowed set.
    #[error("bad value {value:?} in <{element}> (line {line}): expected {expected}")]
    BadValue {
        /// The element.
        element: String,
        /// The value found.
        value: String,
        /// What is allowed.
        expected: String,
        /// Its line.
        line: u32,
    },
    /// The MTOM/XOP multipart body is not usable.
    #[error("multipart body: {0}")]
    Multipart(#[from] MultipartError),
}

/// Why an MTOM/XOP `multipart/related` body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// The Content-Type is not `multipart/related`.
    #[error("Content-Type {content_type:?} is not multipart/related")]
    NotMultipart {
        /// The Content-Type received.
        content_type: String,
    },
    /// The Content-Type names no boundary, or an invalid one.
    #[error("Content-Type {content_type:?} has no usable boundary parameter (1 to 70 characters)")]
    NoBoundary {
        /// The Content-Type received.
        content_type: String,
    },
    /// The body never uses the boundary.
    #[error("the boundary {boundary:?} does not occur in the body ({len} bytes)")]
    BoundaryNotFound {
        /// The boundary.
        boundary: String,
        /// Body length.
        len: usize,
    },
    /// The body ends before the closing delimiter.
    #[error("the body ends inside part {part} before the closing --{boundary}--: it is truncated")]
    Truncated {
        /// 1-based number of the part that was cut.
        part: usize,
        /// The boundary.
        boundary: String,
    },
    /// A part's headers do not end, or a header line is not `Name: value`.
    #[error("part {part}: bad header block: {detail}")]
    BadHeaders {
        /// 1-based part number.
        part: usize,
        /// What is wrong.
        detail: String,
    },
    /// More parts than [`Limits::max_parts`].
    #[error("more than {limit} parts")]
    TooManyParts {
        /// The limit in force.
        limit: usize,
    },
    /// Two parts share a Content-ID.
    #[error("parts {first} and {second} both have Content-ID <{id}>")]
    DuplicateContentId {
        /// The id.
        id: String,
        /// 1-based number of the first part.
        first: usize,
        /// 1-based number of the second.
        second: usize,
    },
    /// The root part named by `start` is absent.
    #[error("no part has the Content-ID <{start}> that the start parameter names")]
    MissingRoot {
        /// The `start` parameter.
        start: String,
    },
    /// `xop:Include href="cid:…"` names no part.
    #[error("xop:Include names cid:{cid}, but no part has that Content-ID (parts: {ids})")]
    MissingAttachment {
        /// The id referred to.
        cid: String,
        /// The Content-IDs present.
        ids: String,
    },
    /// `xop:Include` has an href that is not a `cid:` URL.
    #[error("xop:Include href {href:?} is not a cid: URL")]
    BadHref {
        /// The href.
        href: String,
    },
}

// The XML layer's refusals, in WS-Scan's words ("message").
scanwire_xml::from_xml_error!(Error);

/// Coarse class of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A [`Limits`] bound was exceeded.
    Limit,
    /// Not UTF-8, not well-formed XML, or a broken multipart body.
    Syntax,
    /// Well-formed, but not the message asked for.
    Content,
    /// The peer sent a SOAP fault.
    Fault,
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::TooLarge { .. }
            | Error::TooDeep { .. }
            | Error::TooManyElements { .. }
            | Error::TooManyAttributes { .. }
            | Error::Multipart(MultipartError::TooManyParts { .. }) => ErrorKind::Limit,
            Error::Encoding { .. }
            | Error::Malformed { .. }
            | Error::NoRoot
            | Error::Multipart(_) => ErrorKind::Syntax,
            Error::Fault(_) => ErrorKind::Fault,
            _ => ErrorKind::Content,
        }
    }
}

/// Bounds a reader enforces. A server parses messages from any client, and a client reads
/// datagrams from anyone on the LAN, so the defaults refuse what no real peer sends (the
/// Kyocera's GetScannerElementsResponse is 12 KB with 56 namespace declarations on its root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted XML message, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Deepest element nesting (default 32).
    pub max_depth: usize,
    /// Most elements in one message (default 20 000).
    pub max_elements: usize,
    /// Most attributes, namespace declarations included, on one element (default 128).
    pub max_attributes: usize,
    /// Most parts in a multipart body (default 64).
    pub max_parts: usize,
}

impl Limits {
    /// The default limits.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 1024 * 1024,
        max_depth: 32,
        max_elements: 20_000,
        max_attributes: 128,
        max_parts: 64,
    };
}

impl Limits {
    /// The bounds the XML layer enforces (all but the multipart's).
    pub(crate) fn xml(&self) -> scanwire_xml::Limits {
        scanwire_xml::Limits {
            max_bytes: self.max_bytes,
            max_depth: self.max_depth,
            max_elements: self.max_elements,
            max_attributes: self.max_attributes,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
