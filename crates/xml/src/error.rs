//! Why a document's XML was refused, and the bounds a reader enforces.

/// What is wrong with the XML itself (not with what it says).
///
/// Every variant names the offending element or position. The protocol crates keep variants
/// of the same names in their own error types and convert with `From`, each in its own words
/// ("document" for eSCL, "message" for WS-Scan).
///
/// Not `#[non_exhaustive]`: a new refusal here must be given a place in each protocol's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The document is larger than [`Limits::max_bytes`].
    #[error("document is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size of the document in bytes.
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
    /// The document has more than [`Limits::max_elements`] elements.
    #[error("document has more than {limit} elements (line {line})")]
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
        /// Line of the element.
        line: u32,
    },
    /// The bytes are not UTF-8 (the only encoding eSCL and WS-Scan peers use).
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
}

/// `impl From<scanwire_xml::Error> for $target` and `impl From<scanwire_xml::Missing>`, for a
/// protocol error enum that has variants of the same names and fields as [`Error`] and a
/// `Missing { element, parent, line }` (its own words in their messages): each refusal of the
/// XML layer becomes the protocol's variant of that name.
#[macro_export]
macro_rules! from_xml_error {
    ($target:ty) => {
        impl ::core::convert::From<$crate::Error> for $target {
            fn from(e: $crate::Error) -> Self {
                use $crate::Error as X;
                match e {
                    X::TooLarge { size, limit } => Self::TooLarge { size, limit },
                    X::TooDeep { limit, line } => Self::TooDeep { limit, line },
                    X::TooManyElements { limit, line } => Self::TooManyElements { limit, line },
                    X::TooManyAttributes {
                        limit,
                        element,
                        line,
                    } => Self::TooManyAttributes {
                        limit,
                        element,
                        line,
                    },
                    X::Encoding { detail } => Self::Encoding { detail },
                    X::Malformed {
                        line,
                        column,
                        message,
                    } => Self::Malformed {
                        line,
                        column,
                        message,
                    },
                    X::NoRoot => Self::NoRoot,
                }
            }
        }

        impl ::core::convert::From<$crate::Missing> for $target {
            fn from(m: $crate::Missing) -> Self {
                Self::Missing {
                    element: m.element,
                    parent: m.parent,
                    line: m.line,
                }
            }
        }
    };
}

/// Bounds a reader enforces before and while parsing.
///
/// A server parses XML from any client, and a client reads datagrams from anyone on the LAN, so
/// the defaults refuse what no real peer sends: real eSCL documents are at most ~20 KB, ~10
/// levels deep, ~600 elements and 27 attributes on one element (the HP ScanJet 4500 status
/// root); the largest WS-Scan message seen, the Kyocera's GetScannerElementsResponse, is 12 KB
/// with 56 namespace declarations on its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Deepest accepted element nesting, the root being level 1 (default 32).
    pub max_depth: usize,
    /// Most elements accepted in one document (default 20 000).
    pub max_elements: usize,
    /// Most attributes, namespace declarations included, on one element (default 128).
    /// Bounds quick-xml's quadratic duplicate check.
    pub max_attributes: usize,
}

impl Limits {
    /// The default limits.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 1024 * 1024,
        max_depth: 32,
        max_elements: 20_000,
        max_attributes: 128,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
