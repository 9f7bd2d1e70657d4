//! The XML document model both network scanning protocols read and write: eSCL
//! (`scanwire-escl`) and WS-Scan (`scanwire-wsd`). No protocol knowledge lives here.
//!
//! - [`parse`] builds a namespace-resolved [`Element`] tree with quick-xml under [`Limits`]
//!   (size, depth, element and attribute counts), with 1-based lines for messages and a
//!   truncated document named by the element left open. Each protocol brings its namespaces
//!   as a [`Namespace`] type: how URIs map, what an undeclared prefix means, and how a name
//!   written `prefix:Local` in its readers matches an element.
//! - [`Writer`] writes UTF-8 XML indented by two spaces with the literal prefixes the
//!   protocol's peers expect (sane-airscan matches strings, not namespace URIs).
//! - [`Error`] is what the XML itself did wrong; the protocol crates turn it into their own
//!   error types (`From<Error>`), which add what is wrong with the content.
//!
//! ```
//! use scanwire_xml::{parse, Element, Error, Limits, Namespace, Writer};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! struct Any(String);
//! impl Namespace for Any {
//!     fn unqualified() -> Self { Any(String::new()) }
//!     fn from_uri(uri: &[u8]) -> Self { Any(String::from_utf8_lossy(uri).into_owned()) }
//!     fn from_undeclared_prefix(prefix: &[u8]) -> Self { Any(String::from_utf8_lossy(prefix).into_owned()) }
//!     fn display_prefix(&self) -> String { String::new() }
//!     fn element_is(&self, local: &str, name: &str) -> bool { local == name }
//!     fn attribute_in(&self, _element: &Self) -> bool { true }
//! }
//!
//! let mut w = Writer::document("a:Root", &[("xmlns:a", "urn:example")]);
//! w.leaf("a:Name", "x & y");
//! let xml = w.finish();
//! let doc = parse::<Any, Error>(xml.as_bytes(), &Limits::DEFAULT, &|_| Ok(())).unwrap();
//! let root: &Element<Any> = &doc.root;
//! assert_eq!(root.child("Name").unwrap().text, "x & y");
//! ```

mod dom;
mod error;
mod write;

pub use dom::{is_xml_char, is_xml_space, parse, Document, Element, Missing, Namespace};
pub use error::{Error, Limits};
pub use write::{escape_into, Writer};
