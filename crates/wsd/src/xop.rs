//! MTOM/XOP read as it arrives: [`XopReader`] is pushed the body's chunks and hands out the
//! root's envelope as soon as the root part is complete and the image's bytes as they come,
//! so a client decodes a page while the device is still sending it.
//!
//! It applies exactly the rules of [`read_message`](crate::read_message) (root by `start`,
//! image by the `xop:Include` cid, delimiters, a closing delimiter that must come, unique
//! Content-IDs, [`Limits`]); a body is accepted by one if and only if by the other, with the
//! same envelope and image (the tests and the `multipart` fuzz target check this at every
//! split). Some refusals come earlier here (a duplicated Content-ID when its part starts), and
//! the image may already be partly handed out when a later problem is found: the caller keeps
//! the image only once [`XopReader::finish`] accepted the whole body.

use crate::envelope::{Body, Envelope};
use crate::error::{Error, Limits, MultipartError};
use crate::mime::{clean_id, headers, percent_decode, MediaType};
use std::collections::VecDeque;

/// What the body has delivered so far, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XopEvent {
    /// The root part's envelope (before any image bytes); boxed, as it is large and comes
    /// once.
    Envelope(Box<Envelope>),
    /// The image part starts; its `Content-Type` (`type/subtype`, lowercase), if it has one.
    ImageStart {
        /// The part's media type.
        mime: Option<String>,
    },
    /// Image bytes, in order (never empty).
    Image(Vec<u8>),
    /// The image part is complete.
    ImageEnd,
}

/// Where the part reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the first delimiter (the preamble is dropped); `line_start`: nothing of it
    /// consumed yet (the body may start with the delimiter).
    Preamble { line_start: bool },
    /// At a delimiter `--boundary`: the close or the next part's line follows.
    Delimiter,
    /// In a part's header block.
    Headers,
    /// In a part's body; `line_start`: nothing of it consumed yet (a delimiter may follow
    /// the header block's last line end at once).
    Body { line_start: bool },
    /// After the closing delimiter (the epilogue is ignored).
    Closed,
}

/// What is done with the current part's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sink {
    /// Kept: the root's envelope.
    Root,
    /// Handed out as [`XopEvent::Image`].
    Image,
    /// Kept until the root says which part is the image (it came before the root).
    Hold,
    /// Dropped.
    Drop,
}

/// A part that came before the root, kept in case it is the image.
#[derive(Debug)]
struct Held {
    id: Option<String>,
    mime: Option<String>,
    data: Vec<u8>,
}

/// Reads one MTOM/XOP answer pushed in chunks.
#[derive(Debug)]
pub struct XopReader {
    boundary: String,
    /// `\n--boundary`: a line-initial delimiter.
    delimiter: Vec<u8>,
    start: Option<String>,
    limits: Limits,
    max_held: usize,
    buf: Vec<u8>,
    pos: usize,
    received: usize,
    at: At,
    /// Content-IDs of the parts so far, in order (`None`: the part has none).
    ids: Vec<Option<String>>,
    sink: Sink,
    root: Option<Vec<u8>>,
    /// The image's cid once the envelope named it; `Some(None)`: no image is expected.
    image: Option<Option<String>>,
    image_part: Option<usize>,
    held: Vec<Held>,
    held_bytes: usize,
    events: VecDeque<XopEvent>,
    failed: Option<Error>,
}

impl XopReader {
    /// A reader for a body of `content_type` (which must be `multipart/*` with a boundary).
    /// Parts that come before the root are kept, up to `max_held` bytes in all, until the
    /// root says which is the image.
    pub fn new(content_type: &str, limits: &Limits, max_held: usize) -> Result<Self, Error> {
        let media = MediaType::parse(content_type);
        if !media.mime.starts_with("multipart/") {
            return Err(MultipartError::NotMultipart {
                content_type: content_type.to_string(),
            }
            .into());
        }
        let boundary = media
            .param("boundary")
            .filter(|b| !b.is_empty() && b.len() <= 70)
            .ok_or_else(|| MultipartError::NoBoundary {
                content_type: content_type.to_string(),
            })?
            .to_string();
        Ok(XopReader {
            delimiter: format!("\n--{boundary}").into_bytes(),
            boundary,
            start: media.param("start").map(clean_id),
            limits: *limits,
            max_held,
            buf: Vec::new(),
            pos: 0,
            received: 0,
            at: At::Preamble { line_start: true },
            ids: Vec::new(),
            sink: Sink::Drop,
            root: None,
            image: None,
            image_part: None,
            held: Vec::new(),
            held_bytes: 0,
            events: VecDeque::new(),
            failed: None,
        })
    }

    /// Takes the next chunk of the body; what it completes is then in [`next_event`].
    ///
    /// [`next_event`]: XopReader::next_event
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.received += chunk.len();
        if self.at == At::Closed {
            return Ok(());
        }
        self.buf.extend_from_slice(chunk);
        let r = self.run(false);
        // Drop what was consumed (what is left is a held-back tail or a partial header).
        self.buf.drain(..self.pos);
        self.pos = 0;
        r.map_err(|e| self.fail(e))
    }

    /// The body ended: checks that it was complete (closing delimiter, root, image).
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.run(true).and_then(|()| self.complete());
        r.map_err(|e| self.fail(e))
    }

    /// The next thing the body delivered, if any.
    pub fn next_event(&mut self) -> Option<XopEvent> {
        self.events.pop_front()
    }

    /// Bytes pushed so far.
    pub fn received(&self) -> usize {
        self.received
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e.clone());
        e
    }

    fn truncated(&self) -> Error {
        MultipartError::Truncated {
            part: self.ids.len().max(1),
            boundary: self.boundary.clone(),
        }
        .into()
    }

    /// Advances over the buffer as far as it goes; `eof`: no more bytes will come.
    fn run(&mut self, eof: bool) -> Result<(), Error> {
        loop {
            let progressed = match self.at {
                At::Closed => return Ok(()),
                At::Preamble { .. } | At::Body { .. } => self.body(eof)?,
                At::Delimiter => self.after_delimiter(eof)?,
                At::Headers => self.headers(eof)?,
            };
            if !progressed {
                if eof {
                    return Err(match self.at {
                        At::Preamble { .. } => MultipartError::BoundaryNotFound {
                            boundary: self.boundary.clone(),
                            len: self.received,
                        }
                        .into(),
                        _ => self.truncated(),
                    });
                }
                return Ok(());
            }
        }
    }

    /// In the preamble or a part's body: up to the next line-initial delimiter.
    fn body(&mut self, eof: bool) -> Result<bool, Error> {
        let line_start = matches!(
            self.at,
            At::Preamble { line_start: true } | At::Body { line_start: true }
        );
        let rest = &self.buf[self.pos..];
        let d = &self.delimiter[1..];
        // A delimiter right at the start (after the previous line end, or the body's start).
        if line_start {
            if rest.starts_with(d) {
                self.end_part(self.pos, self.pos)?;
                return Ok(true);
            }
            if d.starts_with(rest) && !eof {
                return Ok(false);
            }
        }
        match find(rest, &self.delimiter) {
            Some(i) => {
                let mut end = self.pos + i;
                let data_start = self.pos;
                if end > data_start && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                self.end_part(data_start, end)?;
                // `pos` at the delimiter's `--`.
                self.pos = data_start + i + 1;
                Ok(true)
            }
            None => {
                // Keep what could be the start of a delimiter (and a CR before it).
                let safe = rest.len().saturating_sub(self.delimiter.len());
                if safe > 0 {
                    let (from, to) = (self.pos, self.pos + safe);
                    self.data(from, to)?;
                    self.pos = to;
                    self.at = match self.at {
                        At::Preamble { .. } => At::Preamble { line_start: false },
                        _ => At::Body { line_start: false },
                    };
                }
                Ok(false)
            }
        }
    }

    /// The current part's bytes `from..to` arrived.
    fn data(&mut self, from: usize, to: usize) -> Result<(), Error> {
        if from == to || matches!(self.at, At::Preamble { .. }) {
            return Ok(());
        }
        let bytes = &self.buf[from..to];
        match self.sink {
            Sink::Root => {
                let root = self.root.get_or_insert_with(Vec::new);
                // One byte past the limit is enough for the envelope reader to say so.
                let room = (self.limits.max_bytes + 1).saturating_sub(root.len());
                root.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            Sink::Image => self.events.push_back(XopEvent::Image(bytes.to_vec())),
            Sink::Hold => {
                self.held_bytes += bytes.len();
                if self.held_bytes > self.max_held {
                    return Err(Error::TooLarge {
                        size: self.held_bytes,
                        limit: self.max_held,
                    });
                }
                if let Some(h) = self.held.last_mut() {
                    h.data.extend_from_slice(bytes);
                }
            }
            Sink::Drop => {}
        }
        Ok(())
    }

    /// The current part (or the preamble) ends with `from..to`; `pos` is then moved to the
    /// delimiter by the caller when it was not at `from` already.
    fn end_part(&mut self, from: usize, to: usize) -> Result<(), Error> {
        self.data(from, to)?;
        if let At::Body { .. } = self.at {
            match self.sink {
                Sink::Root => self.root_done()?,
                Sink::Image => self.events.push_back(XopEvent::ImageEnd),
                _ => {}
            }
        }
        self.sink = Sink::Drop;
        self.at = At::Delimiter;
        Ok(())
    }

    /// At `--boundary`: the close (`--`), or padding and a line end before the next part.
    fn after_delimiter(&mut self, eof: bool) -> Result<bool, Error> {
        let d = self.delimiter.len() - 1;
        let rest = &self.buf[self.pos..];
        let number = self.ids.len() + 1;
        let Some(after) = rest.get(d..) else {
            return Ok(false);
        };
        if after.len() < 2 && !eof {
            // `--` or a line end may still come.
            if after.is_empty()
                || after == b"-"
                || after == b"\r"
                || after == b" "
                || after == b"\t"
            {
                return Ok(false);
            }
        }
        if after.starts_with(b"--") {
            if self.ids.is_empty() {
                return Err(MultipartError::BadHeaders {
                    part: 1,
                    detail: "the body closes before its first part".into(),
                }
                .into());
            }
            self.at = At::Closed;
            self.pos = self.buf.len();
            return Ok(true);
        }
        let pad = after
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let line = &after[pad..];
        let skip = match line {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            [] | [b'\r'] if !eof => return Ok(false),
            [] => return Err(self.truncated_part(number)),
            _ => {
                return Err(MultipartError::BadHeaders {
                    part: number,
                    detail: format!("text after the boundary --{} on its line", self.boundary),
                }
                .into())
            }
        };
        if self.ids.len() >= self.limits.max_parts {
            return Err(MultipartError::TooManyParts {
                limit: self.limits.max_parts,
            }
            .into());
        }
        self.pos += d + pad + skip;
        self.ids.push(None);
        self.at = At::Headers;
        Ok(true)
    }

    fn truncated_part(&self, part: usize) -> Error {
        MultipartError::Truncated {
            part,
            boundary: self.boundary.clone(),
        }
        .into()
    }

    /// A part's header block, up to the empty line.
    fn headers(&mut self, eof: bool) -> Result<bool, Error> {
        let rest = &self.buf[self.pos..];
        let number = self.ids.len();
        let (head_end, body_start) = if rest.starts_with(b"\r\n") {
            (0, 2)
        } else if rest.starts_with(b"\n") {
            (0, 1)
        } else if rest == b"\r" && !eof {
            return Ok(false);
        } else {
            match (find(rest, b"\r\n\r\n"), find(rest, b"\n\n")) {
                (Some(a), Some(b)) if b < a => (b, b + 2),
                (Some(a), _) => (a, a + 4),
                (None, Some(b)) => (b, b + 2),
                (None, None) if rest.len() > self.limits.max_bytes => {
                    return Err(MultipartError::BadHeaders {
                        part: number,
                        detail: format!(
                            "the header block does not end within {} bytes",
                            self.limits.max_bytes
                        ),
                    }
                    .into())
                }
                (None, None) => return Ok(false),
            }
        };
        // The earlier of the two wins, as in the whole-body reader; a "\r\n\r\n" that the
        // next chunk completes cannot come before a "\n\n" already seen.
        let fields = headers(&rest[..head_end], number)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let id = field("Content-ID").map(clean_id);
        let mime = field("Content-Type").map(|t| MediaType::parse(t).mime);
        if let Some(id) = &id {
            if let Some(first) = self.ids.iter().position(|i| i.as_ref() == Some(id)) {
                return Err(MultipartError::DuplicateContentId {
                    id: id.clone(),
                    first: first + 1,
                    second: number,
                }
                .into());
            }
        }
        *self.ids.last_mut().expect("a part was counted") = id.clone();
        self.pos += body_start;
        self.at = At::Body { line_start: true };
        let is_root = self.root.is_none()
            && match &self.start {
                Some(start) => id.as_deref() == Some(start.as_str()),
                None => number == 1,
            };
        self.sink = if is_root {
            self.root = Some(Vec::new());
            Sink::Root
        } else {
            match &self.image {
                // The root came first and named the image.
                Some(Some(cid)) if id.as_deref() == Some(cid.as_str()) => {
                    self.image_part = Some(number);
                    self.events.push_back(XopEvent::ImageStart { mime });
                    Sink::Image
                }
                Some(_) => Sink::Drop,
                None => {
                    self.held.push(Held {
                        id,
                        mime,
                        data: Vec::new(),
                    });
                    Sink::Hold
                }
            }
        };
        Ok(true)
    }

    /// The root part is complete: read its envelope and find the image it names.
    fn root_done(&mut self) -> Result<(), Error> {
        let root = self.root.as_deref().unwrap_or_default();
        let envelope = Envelope::from_xml_with_limits(root, &self.limits)?;
        let cid = match &envelope.body {
            Body::RetrieveImageResponse { href } => Some(clean_id(
                &href
                    .get(..4)
                    .filter(|s| s.eq_ignore_ascii_case("cid:"))
                    .map(|_| percent_decode(&href[4..]))
                    .ok_or_else(|| MultipartError::BadHref { href: href.clone() })?,
            )),
            _ => None,
        };
        self.events
            .push_back(XopEvent::Envelope(Box::new(envelope)));
        self.root = Some(Vec::new());
        let held = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        if let Some(cid) = &cid {
            if let Some(h) = held
                .into_iter()
                .find(|h| h.id.as_deref() == Some(cid.as_str()))
            {
                self.image_part = Some(0);
                self.events.push_back(XopEvent::ImageStart { mime: h.mime });
                if !h.data.is_empty() {
                    self.events.push_back(XopEvent::Image(h.data));
                }
                self.events.push_back(XopEvent::ImageEnd);
            }
        }
        self.image = Some(cid);
        Ok(())
    }

    /// At the end of a body that closed: the root came, and the image it names.
    fn complete(&self) -> Result<(), Error> {
        match &self.image {
            None => Err(match &self.start {
                Some(start) => MultipartError::MissingRoot {
                    start: start.clone(),
                }
                .into(),
                None => self.truncated(),
            }),
            Some(Some(cid)) if self.image_part.is_none() => {
                Err(MultipartError::MissingAttachment {
                    cid: cid.clone(),
                    ids: self
                        .ids
                        .iter()
                        .map(|i| format!("<{}>", i.as_deref().unwrap_or("none")))
                        .collect::<Vec<_>>()
                        .join(", "),
                }
                .into())
            }
            _ => Ok(()),
        }
    }
}

/// The first `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = 0;
    while at < hay.len() {
        let p = hay[at..].iter().position(|&b| b == first)? + at;
        if hay[p..].starts_with(needle) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}
