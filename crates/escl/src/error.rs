//! Why a document was refused.

/// What went wrong while reading an eSCL document.
///
/// Every variant names the offending element or position, so a server can send the message back
/// in a 400 response and a client can log it as it is.
///
/// `TooLarge` to `NoRoot` are the XML layer's refusals ([`scanwire_xml::Error`], converted by
/// `From`), repeated here so that callers match one enum and read this protocol's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document is larger than [`crate::Limits::max_bytes`].
    #[error("document is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size of the document in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Elements are nested deeper than [`crate::Limits::max_depth`].
    #[error("elements are nested deeper than {limit} levels (line {line})")]
    TooDeep {
        /// The limit in force.
        limit: usize,
        /// Line of the element that went past it.
        line: u32,
    },
    /// The document has more than [`crate::Limits::max_elements`] elements.
    #[error("document has more than {limit} elements (line {line})")]
    TooManyElements {
        /// The limit in force.
        limit: usize,
        /// Line of the element that went past it.
        line: u32,
    },
    /// An element has more than [`crate::Limits::max_attributes`] attributes.
    #[error("<{element}> has more than {limit} attributes (line {line})")]
    TooManyAttributes {
        /// The limit in force.
        limit: usize,
        /// The element.
        element: String,
        /// Line of the element.
        line: u32,
    },
    /// The bytes are not UTF-8 (the only encoding eSCL peers use).
    #[error("document is not UTF-8: {detail}")]
    Encoding {
        /// What was found instead.
        detail: String,
    },
    /// The text is not well-formed XML.
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line.
        line: u32,
        /// 1-based column, in characters.
        column: u32,
        /// What the XML parser found.
        message: String,
    },
    /// The document holds no element at all.
    #[error("document has no root element (empty or only comments)")]
    NoRoot,
    /// The root element is not the document type that was asked for.
    #[error("wrong root element: found <{found}>, expected <{expected}>")]
    WrongRoot {
        /// The root that was found, with its conventional prefix or `{namespace-uri}`.
        found: String,
        /// The root that was expected.
        expected: &'static str,
    },
    /// A ScannerCapabilities document describes no input source.
    #[error(
        "<scan:ScannerCapabilities> (line {line}) describes no input source: expected \
         scan:Platen/scan:PlatenInputCaps, scan:Adf/scan:AdfSimplexInputCaps (or \
         scan:AdfDuplexInputCaps) or scan:Camera/scan:CameraInputCaps"
    )]
    NoInputSource {
        /// Line of the root element.
        line: u32,
    },
    /// A required element is absent.
    #[error("missing required element <{element}> in <{parent}> (line {line})")]
    Missing {
        /// The element that is missing.
        element: String,
        /// The element that should contain it.
        parent: String,
        /// Line of the parent element.
        line: u32,
    },
    /// An element that holds a number holds something else.
    #[error("bad number {value:?} in <{element}> (line {line}): expected {expected}")]
    BadNumber {
        /// The element.
        element: String,
        /// Its text.
        value: String,
        /// What is allowed there.
        expected: &'static str,
        /// Line of the element.
        line: u32,
    },
    /// An element or attribute holds a value outside its allowed set.
    #[error("bad value {value:?} in <{element}> (line {line}): expected {expected}")]
    BadValue {
        /// The element (or `element@attribute`).
        element: String,
        /// The value found.
        value: String,
        /// What is allowed there.
        expected: String,
        /// Line of the element.
        line: u32,
    },
}

/// Coarse class of an [`Error`], for mapping to a response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A [`Limits`](crate::Limits) bound was exceeded (a server answers 413 or 400).
    Limit,
    /// Not UTF-8 or not well-formed XML.
    Syntax,
    /// Well-formed XML that is not a valid eSCL document of the asked type.
    Content,
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::TooLarge { .. }
            | Error::TooDeep { .. }
            | Error::TooManyElements { .. }
            | Error::TooManyAttributes { .. } => ErrorKind::Limit,
            Error::Encoding { .. } | Error::Malformed { .. } | Error::NoRoot => ErrorKind::Syntax,
            Error::WrongRoot { .. }
            | Error::NoInputSource { .. }
            | Error::Missing { .. }
            | Error::BadNumber { .. }
            | Error::BadValue { .. } => ErrorKind::Content,
        }
    }
}

// The XML layer's refusals, in eSCL's words ("document").
scanwire_xml::from_xml_error!(Error);
