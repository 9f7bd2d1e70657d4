//! Model → XML: UTF-8 with `<?xml version="1.0" encoding="UTF-8"?>`, indented by two spaces.
//!
//! Element names are literals of the protocol crate's writer, prefixes included: sane-airscan
//! and device firmware match the strings `scan:Name`, `pwg:Name`, `soap:Body`, not namespace
//! URIs, so the writers always declare and use exactly the prefixes they name.

use std::fmt::Write as _;

use crate::dom::is_xml_char;

/// A minimal pretty-printing writer of one document; names are trusted literals, text and
/// attribute values are escaped.
#[derive(Debug)]
pub struct Writer {
    buf: String,
    depth: usize,
    root: String,
}

impl Writer {
    /// Starts a document: the XML declaration and the root's start tag with `attrs` (its
    /// namespace declarations).
    pub fn document(root: &str, attrs: &[(&str, &str)]) -> Writer {
        let mut w = Writer {
            buf: String::with_capacity(4096),
            depth: 0,
            root: root.to_owned(),
        };
        w.buf
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.open_attrs(root, attrs);
        w
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.buf.push_str("  ");
        }
    }

    /// `<name k="v"…` without the closing `>`.
    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        for (key, value) in attrs {
            let _ = write!(self.buf, " {key}=\"");
            escape_into(&mut self.buf, value, true);
            self.buf.push('"');
        }
    }

    /// `<name>` on a line of its own; what follows is indented one more level.
    pub fn open(&mut self, name: &str) {
        self.open_attrs(name, &[]);
    }

    /// `<name k="v"…>` on a line of its own.
    pub fn open_attrs(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push_str(">\n");
        self.depth += 1;
    }

    /// `<name k="v"…/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push_str("/>\n");
    }

    /// `</name>`, closing what [`Writer::open`] opened.
    pub fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.buf, "</{name}>");
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_attrs(name, &[], text);
    }

    /// `<name k="v"…>text</name>`.
    pub fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        self.buf.push('>');
        escape_into(&mut self.buf, text, false);
        let _ = writeln!(self.buf, "</{name}>");
    }

    /// A leaf when there is a value, nothing otherwise.
    pub fn opt<T: ToString>(&mut self, name: &str, value: Option<T>) {
        if let Some(v) = value {
            self.leaf(name, &v.to_string());
        }
    }

    /// `true`/`false` (xs:boolean's canonical words) when there is a value.
    pub fn opt_bool(&mut self, name: &str, value: Option<bool>) {
        self.opt(name, value.map(|b| if b { "true" } else { "false" }));
    }

    /// `<container><item>..</item>...</container>`, omitted when `items` is empty.
    pub fn list<T: ToString>(&mut self, container: &str, item: &str, items: &[T]) {
        if items.is_empty() {
            return;
        }
        self.open(container);
        for v in items {
            self.leaf(item, &v.to_string());
        }
        self.close(container);
    }

    /// Closes the root and returns the document.
    pub fn finish(mut self) -> String {
        let root = std::mem::take(&mut self.root);
        self.close(&root);
        self.buf
    }
}

/// Escapes markup characters. Characters XML 1.0 cannot carry at all (controls other than tab,
/// newline and carriage return, U+FFFE, U+FFFF) become U+FFFD so the output stays well-formed;
/// the readers never produce them. Carriage returns are written as `&#13;` because a parser
/// would otherwise normalize them to newlines, and in attributes newlines and tabs as
/// references because a parser would turn them into spaces.
pub fn escape_into(buf: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' if attribute => buf.push_str("&quot;"),
            '\r' => buf.push_str("&#13;"),
            '\n' if attribute => buf.push_str("&#10;"),
            '\t' if attribute => buf.push_str("&#9;"),
            c if !is_xml_char(c) => buf.push('\u{FFFD}'),
            c => buf.push(c),
        }
    }
}
