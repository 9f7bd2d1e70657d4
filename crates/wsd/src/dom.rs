//! A small namespace-resolved element tree, built with quick-xml under [`Limits`].
//!
//! The same builder as `scanwire-escl`'s (limits, line numbers, truncation named by the open
//! element), with WS-Scan's namespaces; SOAP messages are small and their element order varies
//! between vendors, so readers look children up by name on a tree. The namespace declarations
//! of the whole message are kept to resolve QNames found in text (`scan:ScanDeviceType`).

use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

use crate::error::{Error, Limits};
use crate::ns::{split, Ns};

/// One element: resolved name, attributes, trimmed text and child elements.
#[derive(Debug)]
pub(crate) struct Element {
    pub(crate) ns: Ns,
    pub(crate) local: String,
    /// Attributes other than namespace declarations: (namespace, local name, value).
    pub(crate) attrs: Vec<(Ns, String, String)>,
    /// The element's own character data (text, CDATA and references), trimmed of XML
    /// whitespace: Brother wraps `pwg:JobUri` in newlines and spaces.
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
    /// 1-based line of the start tag, for error messages.
    pub(crate) line: u32,
}

impl Element {
    /// The element's name with this crate's prefix, for messages.
    pub(crate) fn display_name(&self) -> String {
        format!("{}{}", self.ns.prefix(), self.local)
    }

    /// Whether this is `name`, written with this crate's prefixes (`scan:JobId`,
    /// `soap:Body`; see [`Ns::of_prefix`]).
    pub(crate) fn is(&self, name: &str) -> bool {
        let (prefix, local) = split(name);
        self.local == local && self.ns == Ns::of_prefix(prefix)
    }

    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(name))
    }

    /// All children named `name`, in document order.
    pub(crate) fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(name))
    }

    /// The value of the attribute with local name `local`, unqualified or in the element's
    /// own namespace (`Name`, `Valid`, `href`, `scan:MustHonor`).
    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, name, _)| (*ns == Ns::None || *ns == self.ns) && name == local)
            .map(|(_, _, value)| value.as_str())
    }
}

/// A parsed message: the root and every namespace declaration in it (prefix, URI), in
/// document order.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) root: Element,
    pub(crate) prefixes: Vec<(String, String)>,
}

impl Document {
    /// Resolves a QName found in text: the last declaration of its prefix in the message
    /// (QNames in WS-Discovery `Types` use prefixes declared on the envelope).
    pub(crate) fn qname(&self, text: &str) -> crate::QName {
        let (prefix, local) = split(text);
        let namespace = self
            .prefixes
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.clone());
        crate::QName {
            namespace,
            local: local.to_string(),
        }
    }
}

/// Parses `xml` into its root element, refusing at once a root that `root_ok` rejects (so a
/// wrong document type costs no full parse).
pub(crate) fn parse(
    xml: &[u8],
    limits: &Limits,
    root_ok: &dyn Fn(&Element) -> Result<(), Error>,
) -> Result<Document, Error> {
    if xml.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: xml.len(),
            limit: limits.max_bytes,
        });
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

struct Builder<'i> {
    input: &'i str,
    root_ok: &'i dyn Fn(&Element) -> Result<(), Error>,
    reader: NsReader<&'i [u8]>,
    limits: &'i Limits,
    /// Open elements, innermost last.
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
    prefixes: Vec<(String, String)>,
    /// Incremental offset -> line conversion (offsets only grow).
    line_offset: usize,
    line: u32,
}

impl<'i> Builder<'i> {
    fn new(
        input: &'i str,
        limits: &'i Limits,
        root_ok: &'i dyn Fn(&Element) -> Result<(), Error>,
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
            elements: 0,
            prefixes: Vec::new(),
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

    fn run(mut self) -> Result<Document, Error> {
        loop {
            let start = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let (resolved, event) = match self.reader.read_resolved_event() {
                Ok((resolved, event)) => (resolve(&resolved), event),
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                    return Err(self.malformed_at(at, e.to_string()));
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
                    None => return Err(self.malformed_at(start, "end tag without a start tag")),
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
                // The declaration's encoding is not trusted: WS-Scan peers send UTF-8 (checked
                // above). A DOCTYPE is ignored and its entities are never expanded.
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(self.malformed_at(
                self.input.len(),
                format!(
                    "document ends inside <{}> (opened on line {}); it is truncated",
                    open.display_name(),
                    open.line
                ),
            ));
        }
        let root = self.root.ok_or(Error::NoRoot)?;
        Ok(Document {
            root,
            prefixes: self.prefixes,
        })
    }

    fn open(&mut self, ns: Ns, start: &BytesStart<'_>, offset: usize) -> Result<Element, Error> {
        let line = self.line_at(offset);
        if self.root.is_some() {
            return Err(self.malformed_at(offset, "a second root element follows the first"));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(Error::TooManyElements {
                limit: self.limits.max_elements,
                line,
            });
        }
        if self.stack.len() + 1 > self.limits.max_depth {
            return Err(Error::TooDeep {
                limit: self.limits.max_depth,
                line,
            });
        }
        let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        for (count, attr) in start.attributes().enumerate() {
            if count >= self.limits.max_attributes {
                return Err(Error::TooManyAttributes {
                    limit: self.limits.max_attributes,
                    element: format!("{}{local}", ns.prefix()),
                    line,
                });
            }
            let attr = attr.map_err(|e| self.attr_error(offset, &e))?;
            let key = attr.key.as_ref();
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                let prefix = key.strip_prefix(b"xmlns:").unwrap_or(b"");
                let uri = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| self.malformed_at(offset, e.to_string()))?;
                self.prefixes.push((
                    String::from_utf8_lossy(prefix).into_owned(),
                    uri.into_owned(),
                ));
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

    fn close(&mut self, mut element: Element, offset: usize) -> Result<(), Error> {
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

fn resolve(resolved: &ResolveResult<'_>) -> Ns {
    match resolved {
        ResolveResult::Bound(ns) => Ns::from_uri(ns.as_ref()),
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Unknown(prefix) => Ns::Other(format!(
            "undeclared prefix {}:",
            String::from_utf8_lossy(prefix)
        )),
    }
}

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The XML 1.0 `Char` production (Rust strings cannot hold surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
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
