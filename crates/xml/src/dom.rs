//! A small namespace-resolved element tree, built with quick-xml under [`Limits`].
//!
//! eSCL documents and WS-Scan messages are small (tens of KB) and their element order varies
//! between vendors, so the readers work on a tree instead of an event stream: look-ups by name
//! are order-independent and unknown elements are simply never looked at.

use std::fmt::Debug;

use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

use crate::error::{Error, Limits};

/// A protocol's namespaces: how a URI or an undeclared prefix maps to one, how it is named in
/// messages, and how the readers' `prefix:Local` names match elements and attributes.
///
/// The matching rules are the protocol's, not this crate's: eSCL devices put elements in the
/// "wrong" one of its two namespaces or in none, so eSCL matches a family by local name;
/// WS-Scan spans eight namespaces whose local names overlap (`wsa:Address`, `scan:Address`
/// are different things), so it matches the exact namespace.
pub trait Namespace: Sized + Debug {
    /// Whether [`Document::prefixes`] keeps every namespace declaration. WS-Discovery carries
    /// QNames in text (`<wsd:Types>scan:ScanDeviceType</wsd:Types>`), resolved against the
    /// declarations; eSCL has none, and skips declarations without looking at their values.
    const KEEP_DECLARATIONS: bool = false;

    /// No namespace: no prefix and no default namespace in scope.
    fn unqualified() -> Self;

    /// Maps a namespace URI.
    fn from_uri(uri: &[u8]) -> Self;

    /// Meaning of a prefix that was used without being declared.
    fn from_undeclared_prefix(prefix: &[u8]) -> Self;

    /// The prefix (with colon) an element in this namespace is named with in messages.
    fn display_prefix(&self) -> String;

    /// Whether an element in this namespace with local name `local` is the one a reader
    /// names `name` (`prefix:Local`).
    fn element_is(&self, local: &str, name: &str) -> bool;

    /// Whether an attribute in this namespace counts as one of an element in `element`'s.
    fn attribute_in(&self, element: &Self) -> bool;
}

/// One element: resolved name, attributes, trimmed text and child elements.
#[derive(Debug)]
pub struct Element<N> {
    /// The namespace of its name.
    pub ns: N,
    /// The local part of its name.
    pub local: String,
    /// Attributes other than namespace declarations: (namespace, local name, value).
    pub attrs: Vec<(N, String, String)>,
    /// The element's own character data (text, CDATA and references), trimmed of XML
    /// whitespace: Brother wraps `pwg:JobUri` in newlines and spaces.
    pub text: String,
    /// Child elements, in document order.
    pub children: Vec<Element<N>>,
    /// 1-based line of the start tag, for error messages.
    pub line: u32,
}

impl<N: Namespace> Element<N> {
    /// The element's name with its namespace's conventional prefix, for messages.
    pub fn display_name(&self) -> String {
        format!("{}{}", self.ns.display_prefix(), self.local)
    }

    /// Whether this is the element `name` (`prefix:Local`, matched by [`Namespace::element_is`]).
    pub fn is(&self, name: &str) -> bool {
        self.ns.element_is(&self.local, name)
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element<N>> {
        self.children.iter().find(|c| c.is(name))
    }

    /// All children named `name`, in document order.
    pub fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element<N>> + 'a {
        self.children.iter().filter(move |c| c.is(name))
    }

    /// The non-empty text of the first child named `name`; an empty element counts as absent
    /// (`<scan:UUID/>` says no more than a missing one).
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.child(name)
            .filter(|e| !e.text.is_empty())
            .map(|e| e.text.clone())
    }

    /// The first child named `name`, which must be there.
    pub fn required(&self, name: &str) -> Result<&Element<N>, Missing> {
        self.child(name).ok_or_else(|| self.missing(name))
    }

    /// That the child `name` is missing here.
    pub fn missing(&self, name: &str) -> Missing {
        Missing {
            element: name.to_owned(),
            parent: self.display_name(),
            line: self.line,
        }
    }

    /// The value of the attribute with local name `local` in a namespace that
    /// [`Namespace::attribute_in`] accepts for this element.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, name, _)| ns.attribute_in(&self.ns) && name == local)
            .map(|(_, _, value)| value.as_str())
    }
}

/// A required element that is absent; the protocol errors' `Missing` variant (converted by
/// [`from_xml_error!`](crate::from_xml_error)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The element that is missing, as the reader names it (`scan:JobId`).
    pub element: String,
    /// The element that should contain it, with its conventional prefix.
    pub parent: String,
    /// Line of the parent.
    pub line: u32,
}

/// A parsed document: the root and, when the namespace type keeps them
/// ([`Namespace::KEEP_DECLARATIONS`]), every namespace declaration in it (prefix, URI), in
/// document order.
#[derive(Debug)]
pub struct Document<N> {
    /// The root element.
    pub root: Element<N>,
    /// Namespace declarations (`""` for a default namespace), in document order.
    pub prefixes: Vec<(String, String)>,
}

/// Parses `xml` into its root element, refusing at once a root that `root_ok` rejects (so a
/// wrong document type costs no full parse).
///
/// Errors of the XML itself are [`Error`]s converted into `E`, the protocol's error type, which
/// `root_ok` returns too.
pub fn parse<N: Namespace, E: From<Error>>(
    xml: &[u8],
    limits: &Limits,
    root_ok: &dyn Fn(&Element<N>) -> Result<(), E>,
) -> Result<Document<N>, E> {
    if xml.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: xml.len(),
            limit: limits.max_bytes,
        }
        .into());
    }
    let text = decode(xml)?;
    Builder::new(text, limits, root_ok).run()
}

/// UTF-8 without BOM, or a clear [`Error::Encoding`].
fn decode(xml: &[u8]) -> Result<&str, Error> {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    if xml.starts_with(b"\xFF\xFE") || xml.starts_with(b"\xFE\xFF") {
        return Err(Error::Encoding {
            detail: "it starts with a UTF-16 byte order mark; only UTF-8 is supported".into(),
        });
    }
    std::str::from_utf8(xml).map_err(|e| {
        let (line, column) = line_col(&xml[..e.valid_up_to()]);
        Error::Encoding {
            detail: format!(
                "invalid UTF-8 byte 0x{:02X} at line {line}, column {column}",
                xml[e.valid_up_to()]
            ),
        }
    })
}

/// 1-based line and column (in characters) of the end of `before`.
fn line_col(before: &[u8]) -> (u32, u32) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (saturate(line), saturate(column))
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Builder<'i, N, E> {
    input: &'i str,
    root_ok: &'i dyn Fn(&Element<N>) -> Result<(), E>,
    reader: NsReader<&'i [u8]>,
    limits: &'i Limits,
    /// Open elements, innermost last.
    stack: Vec<Element<N>>,
    root: Option<Element<N>>,
    prefixes: Vec<(String, String)>,
    elements: usize,
    /// Incremental offset -> line conversion (offsets only grow).
    line_offset: usize,
    line: u32,
}

impl<'i, N: Namespace, E: From<Error>> Builder<'i, N, E> {
    fn new(
        input: &'i str,
        limits: &'i Limits,
        root_ok: &'i dyn Fn(&Element<N>) -> Result<(), E>,
    ) -> Self {
        let mut reader = NsReader::from_reader(input.as_bytes());
        let config = reader.config_mut();
        config.enable_all_checks(true);
        config.expand_empty_elements = false;
        Builder {
            input,
            root_ok,
            reader,
            limits,
            stack: Vec::new(),
            root: None,
            prefixes: Vec::new(),
            elements: 0,
            line_offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: usize) -> u32 {
        let offset = offset.min(self.input.len());
        if offset > self.line_offset {
            let newlines = self.input.as_bytes()[self.line_offset..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line = self.line.saturating_add(saturate(newlines));
            self.line_offset = offset;
        }
        self.line
    }

    fn malformed_at(&self, offset: usize, message: impl Into<String>) -> Error {
        let offset = offset.min(self.input.len());
        let (line, column) = line_col(&self.input.as_bytes()[..offset]);
        Error::Malformed {
            line,
            column,
            message: message.into(),
        }
    }

    fn run(mut self) -> Result<Document<N>, E> {
        loop {
            let start = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let (resolved, event) = match self.reader.read_resolved_event() {
                Ok((resolved, event)) => (resolve(&resolved), event),
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                    return Err(self.malformed_at(at, e.to_string()).into());
                }
            };
            match event {
                Event::Start(e) => {
                    let element = self.open(resolved, &e, start)?;
                    self.stack.push(element);
                }
                Event::Empty(e) => {
                    let element = self.open(resolved, &e, start)?;
                    self.close(element, start)?;
                }
                Event::End(_) => match self.stack.pop() {
                    Some(element) => self.close(element, start)?,
                    // quick-xml reports unmatched end tags itself; this is a safety net.
                    None => {
                        return Err(self
                            .malformed_at(start, "end tag without a start tag")
                            .into())
                    }
                },
                Event::Text(t) => {
                    let text = t
                        .xml_content(XmlVersion::Implicit1_0)
                        .map_err(|e| self.malformed_at(start, e.to_string()))?;
                    self.push_text(&text, start)?;
                }
                Event::CData(c) => {
                    let text = c
                        .xml_content(XmlVersion::Implicit1_0)
                        .map_err(|e| self.malformed_at(start, e.to_string()))?;
                    self.push_text(&text, start)?;
                }
                Event::GeneralRef(r) => {
                    let ch = self.reference(&r, start)?;
                    self.push_text(ch.encode_utf8(&mut [0; 4]), start)?;
                }
                // The declaration's encoding is not trusted: eSCL and WS-Scan peers send UTF-8 (checked
                // above). A DOCTYPE is ignored and its entities are never expanded.
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(self
                .malformed_at(
                    self.input.len(),
                    format!(
                        "document ends inside <{}> (opened on line {}); it is truncated",
                        open.display_name(),
                        open.line
                    ),
                )
                .into());
        }
        let root = self.root.ok_or(Error::NoRoot)?;
        Ok(Document {
            root,
            prefixes: self.prefixes,
        })
    }

    fn open(&mut self, ns: N, start: &BytesStart<'_>, offset: usize) -> Result<Element<N>, E> {
        let line = self.line_at(offset);
        if self.root.is_some() {
            return Err(self
                .malformed_at(offset, "a second root element follows the first")
                .into());
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(Error::TooManyElements {
                limit: self.limits.max_elements,
                line,
            }
            .into());
        }
        if self.stack.len() + 1 > self.limits.max_depth {
            return Err(Error::TooDeep {
                limit: self.limits.max_depth,
                line,
            }
            .into());
        }
        let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        for (count, attr) in start.attributes().enumerate() {
            if count >= self.limits.max_attributes {
                return Err(Error::TooManyAttributes {
                    limit: self.limits.max_attributes,
                    element: format!("{}{local}", ns.display_prefix()),
                    line,
                }
                .into());
            }
            let attr = attr.map_err(|e| self.attr_error(offset, &e))?;
            let key = attr.key.as_ref();
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                if N::KEEP_DECLARATIONS {
                    let prefix = key.strip_prefix(b"xmlns:").unwrap_or(b"");
                    let uri = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| self.malformed_at(offset, e.to_string()))?;
                    self.prefixes.push((
                        String::from_utf8_lossy(prefix).into_owned(),
                        uri.into_owned(),
                    ));
                }
                continue;
            }
            let (resolved, name) = self.reader.resolver().resolve_attribute(attr.key);
            let ns = resolve(&resolved);
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.malformed_at(offset, e.to_string()))?;
            check_chars(&value).map_err(|m| self.malformed_at(offset, m))?;
            attrs.push((
                ns,
                String::from_utf8_lossy(name.as_ref()).into_owned(),
                value.into_owned(),
            ));
        }
        let element = Element {
            ns,
            local,
            attrs,
            text: String::new(),
            children: Vec::new(),
            line,
        };
        if self.stack.is_empty() {
            (self.root_ok)(&element)?;
        }
        Ok(element)
    }

    /// quick-xml counts attribute positions from the byte after `<`; report the absolute place.
    fn attr_error(&self, tag: usize, e: &AttrError) -> Error {
        let (pos, message) = match e {
            AttrError::ExpectedEq(p) => (*p, "an attribute name must be followed by `=`".into()),
            AttrError::ExpectedValue(p) => (*p, "`=` must be followed by a quoted value".into()),
            AttrError::UnquotedValue(p) => (*p, "an attribute value must be quoted".into()),
            AttrError::ExpectedQuote(p, q) => (
                *p,
                format!("attribute value lacks its closing {}", char::from(*q)),
            ),
            AttrError::Duplicated(p, first) => {
                let (line, column) =
                    line_col(&self.input.as_bytes()[..(tag + 1 + first).min(self.input.len())]);
                (
                    *p,
                    format!("duplicate attribute (first given at line {line}, column {column})"),
                )
            }
        };
        self.malformed_at(tag + 1 + pos, message)
    }

    fn close(&mut self, mut element: Element<N>, offset: usize) -> Result<(), Error> {
        let trimmed = element.text.trim_matches(is_xml_space);
        if trimmed.len() != element.text.len() {
            element.text = trimmed.to_owned();
        }
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None if self.root.is_none() => self.root = Some(element),
            None => {
                return Err(self.malformed_at(offset, "a second root element follows the first"))
            }
        }
        Ok(())
    }

    fn push_text(&mut self, text: &str, offset: usize) -> Result<(), Error> {
        check_chars(text).map_err(|m| self.malformed_at(offset, m))?;
        match self.stack.last_mut() {
            Some(open) => open.text.push_str(text),
            None if text.chars().all(is_xml_space) => {}
            None => {
                // Point at the first non-space character, not at the whitespace before it.
                let skip = self.input.as_bytes()[offset.min(self.input.len())..]
                    .iter()
                    .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    .count();
                let what = if self.root.is_some() {
                    "after"
                } else {
                    "before"
                };
                return Err(
                    self.malformed_at(offset + skip, format!("text {what} the root element"))
                );
            }
        }
        Ok(())
    }

    /// Resolves `&name;` or `&#N;`: only the five predefined entities exist here.
    fn reference(&self, r: &BytesRef<'_>, offset: usize) -> Result<char, Error> {
        let name = String::from_utf8_lossy(r.as_ref()).into_owned();
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(ch)) if is_xml_char(ch) => Ok(ch),
                _ => Err(self.malformed_at(
                    offset,
                    format!("&{name}; is not a character allowed in XML"),
                )),
            };
        }
        match name.as_str() {
            "amp" => Ok('&'),
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "quot" => Ok('"'),
            "apos" => Ok('\''),
            _ => Err(self.malformed_at(
                offset,
                format!("unknown entity &{name}; (only &amp; &lt; &gt; &quot; &apos; and character references are allowed)"),
            )),
        }
    }
}

fn resolve<N: Namespace>(resolved: &ResolveResult<'_>) -> N {
    match resolved {
        ResolveResult::Bound(ns) => N::from_uri(ns.as_ref()),
        ResolveResult::Unbound => N::unqualified(),
        ResolveResult::Unknown(prefix) => N::from_undeclared_prefix(prefix),
    }
}

/// XML's `S` production: the whitespace trimmed from element text.
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The XML 1.0 `Char` production (Rust strings cannot hold surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(text: &str) -> Result<(), String> {
    match text.chars().find(|&c| !is_xml_char(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "character U+{:04X} is not allowed in XML",
            u32::from(c)
        )),
    }
}
