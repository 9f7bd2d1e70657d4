//! MTOM/XOP: the `multipart/related` body that carries a RetrieveImage answer (the SOAP
//! envelope in the root part, the image in the part its `xop:Include href="cid:…"` names).
//!
//! The reader here works on a whole body (a server reads requests whole); `xop.rs` reads an
//! answer as it arrives with the same rules. Both refuse what they cannot use with a
//! [`MultipartError`] naming the part: no boundary, a body that never uses it or ends before
//! the closing delimiter, duplicated Content-IDs, a missing root or attachment.

use crate::envelope::{new_message_id, Body, Envelope, Header};
use crate::error::{Error, Limits, MultipartError};

/// A media type: lowercase `type/subtype` and its parameters (names lowercase, values
/// unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// `type/subtype`, lowercase.
    pub mime: String,
    /// Parameters in order.
    pub params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses a Content-Type value.
    pub fn parse(value: &str) -> MediaType {
        let mut parts = split_params(value).into_iter();
        let mime = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .map(|v| v.replace("\\\"", "\"").replace("\\\\", "\\"))
                    .unwrap_or_else(|| v.to_string());
                Some((k.trim().to_ascii_lowercase(), v))
            })
            .collect();
        MediaType { mime, params }
    }

    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits at `;` outside double quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// Header fields (names as written, values trimmed, folded lines joined).
    pub headers: Vec<(String, String)>,
    /// The part's bytes.
    pub body: &'a [u8],
}

impl Part<'_> {
    /// A header's value (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Content-ID` without angle brackets and surrounding spaces (Microsoft's own example
    /// writes `<id@uuid >`).
    pub fn content_id(&self) -> Option<String> {
        self.header("Content-ID").map(clean_id)
    }

    /// `Content-Type`'s `type/subtype`, lowercase.
    pub fn mime(&self) -> Option<String> {
        self.header("Content-Type")
            .map(|t| MediaType::parse(t).mime)
    }
}

pub(crate) fn clean_id(id: &str) -> String {
    let id = id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    let id = id.strip_suffix('>').unwrap_or(id);
    id.trim().to_string()
}

/// Splits a `multipart/*` body into its parts.
pub fn read_multipart<'a>(
    content_type: &str,
    body: &'a [u8],
    limits: &Limits,
) -> Result<Vec<Part<'a>>, MultipartError> {
    let media = MediaType::parse(content_type);
    if !media.mime.starts_with("multipart/") {
        return Err(MultipartError::NotMultipart {
            content_type: content_type.to_string(),
        });
    }
    let boundary = media
        .param("boundary")
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| MultipartError::NoBoundary {
            content_type: content_type.to_string(),
        })?
        .to_string();
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    // The first delimiter: at the very start or at the start of a line (after a preamble).
    let mut at = if body.starts_with(d) {
        0
    } else {
        find(body, &[b"\n", d].concat(), 0)
            .map(|i| i + 1)
            .ok_or_else(|| MultipartError::BoundaryNotFound {
                boundary: boundary.clone(),
                len: body.len(),
            })?
    };
    let truncated = |part: usize| MultipartError::Truncated {
        part,
        boundary: boundary.clone(),
    };
    let mut parts = Vec::new();
    loop {
        let number = parts.len() + 1;
        // `at` is at a delimiter; what follows is `--` (the end) or padding and a line end.
        let mut i = at + d.len();
        if body.get(i..i + 2) == Some(b"--") {
            return if parts.is_empty() {
                Err(MultipartError::BadHeaders {
                    part: 1,
                    detail: "the body closes before its first part".into(),
                })
            } else {
                Ok(parts)
            };
        }
        while matches!(body.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        match body.get(i..) {
            Some([b'\r', b'\n', ..]) => i += 2,
            Some([b'\n', ..]) => i += 1,
            Some([]) | None => return Err(truncated(number)),
            Some(_) => {
                return Err(MultipartError::BadHeaders {
                    part: number,
                    detail: format!("text after the boundary --{boundary} on its line"),
                })
            }
        }
        if parts.len() >= limits.max_parts {
            return Err(MultipartError::TooManyParts {
                limit: limits.max_parts,
            });
        }
        // Headers end at an empty line.
        let (head_end, body_start) = match (find(body, b"\r\n\r\n", i), find(body, b"\n\n", i)) {
            _ if body[i..].starts_with(b"\r\n") => (i, i + 2),
            _ if body[i..].starts_with(b"\n") => (i, i + 1),
            (Some(a), Some(b)) if b < a => (b, b + 2),
            (Some(a), _) => (a, a + 4),
            (None, Some(b)) => (b, b + 2),
            (None, None) => return Err(truncated(number)),
        };
        let headers = headers(&body[i..head_end], number)?;
        // The part ends at the next line-initial delimiter.
        // (From the byte before: an empty part's line end is the delimiter's own.)
        let next = find(body, &[b"\n", d].concat(), body_start.saturating_sub(1))
            .map(|n| n + 1)
            .ok_or_else(|| truncated(number))?;
        let mut end = next - 1;
        if end > body_start && body[end - 1] == b'\r' {
            end -= 1;
        }
        parts.push(Part {
            headers,
            body: &body[body_start..end.max(body_start)],
        });
        at = next;
    }
}

pub(crate) fn headers(block: &[u8], part: usize) -> Result<Vec<(String, String)>, MultipartError> {
    let text = std::str::from_utf8(block).map_err(|_| MultipartError::BadHeaders {
        part,
        detail: "header bytes are not UTF-8".into(),
    })?;
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                None => {
                    return Err(MultipartError::BadHeaders {
                        part,
                        detail: format!("a continuation line before any header: {line:?}"),
                    })
                }
            }
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| MultipartError::BadHeaders {
                part,
                detail: format!("{line:?} is not `Name: value`"),
            })?;
        if k.is_empty() || k.contains([' ', '\t']) {
            return Err(MultipartError::BadHeaders {
                part,
                detail: format!("bad header name in {line:?}"),
            });
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// The first `needle` at or after `from`. Candidates are found by the first byte (the
/// delimiter's line feed), which is rare in image data, so a page is scanned about once.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = from;
    while at <= hay.len() {
        let p = hay[at..].iter().position(|&b| b == first)? + at;
        if hay[p..].starts_with(needle) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

/// A SOAP answer as received: the envelope, and the attachment its `xop:Include` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The envelope.
    pub envelope: Envelope,
    /// The attachment (RetrieveImageResponse: the image).
    pub attachment: Option<Part<'a>>,
}

/// Reads an HTTP answer: a plain SOAP envelope (`application/soap+xml`, a fault or any other
/// response), or an MTOM/XOP multipart whose root holds the envelope.
pub fn read_message<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
    limits: &Limits,
) -> Result<Message<'a>, Error> {
    let is_multipart = content_type
        .map(MediaType::parse)
        .is_some_and(|m| m.mime.starts_with("multipart/"));
    if !is_multipart {
        return Ok(Message {
            envelope: Envelope::from_xml_with_limits(body, limits)?,
            attachment: None,
        });
    }
    let content_type = content_type.unwrap_or_default();
    let parts = read_multipart(content_type, body, limits)?;
    // Content-IDs must be unique: a second part with the image's id would make "the image"
    // ambiguous.
    let ids: Vec<Option<String>> = parts.iter().map(Part::content_id).collect();
    for (i, a) in ids.iter().enumerate() {
        if let Some(a) = a {
            if let Some(j) = ids[i + 1..].iter().position(|b| b.as_ref() == Some(a)) {
                return Err(MultipartError::DuplicateContentId {
                    id: a.clone(),
                    first: i + 1,
                    second: i + j + 2,
                }
                .into());
            }
        }
    }
    let media = MediaType::parse(content_type);
    let root = match media.param("start").map(clean_id) {
        Some(start) => ids
            .iter()
            .position(|id| id.as_deref() == Some(start.as_str()))
            .ok_or(MultipartError::MissingRoot { start })?,
        None => 0,
    };
    let envelope = Envelope::from_xml_with_limits(parts[root].body, limits)?;
    let attachment = match &envelope.body {
        Body::RetrieveImageResponse { href } => {
            let cid = href
                .get(..4)
                .filter(|s| s.eq_ignore_ascii_case("cid:"))
                .map(|_| percent_decode(&href[4..]))
                .ok_or_else(|| MultipartError::BadHref { href: href.clone() })?;
            let cid = clean_id(&cid);
            let at = ids
                .iter()
                .enumerate()
                .position(|(i, id)| i != root && id.as_deref() == Some(cid.as_str()))
                .ok_or_else(|| MultipartError::MissingAttachment {
                    cid: cid.clone(),
                    ids: ids
                        .iter()
                        .map(|i| format!("<{}>", i.as_deref().unwrap_or("none")))
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            Some(parts[at].clone())
        }
        _ => None,
    };
    Ok(Message {
        envelope,
        attachment,
    })
}

/// `%XX` escapes of a `cid:` URL (RFC 2392) decoded; anything else kept.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A RetrieveImage answer in three pieces, so a server can stream the image between them:
/// the HTTP Content-Type, everything before the image bytes (the root part with the envelope,
/// the image part's headers), and everything after them (the closing delimiter). The image is
/// the second part, where sane-airscan looks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XopFrame {
    /// The HTTP `Content-Type` (`multipart/related; type="application/xop+xml"; …`).
    pub content_type: String,
    /// The bytes before the image.
    pub head: Vec<u8>,
    /// The bytes after the image.
    pub tail: Vec<u8>,
}

impl XopFrame {
    /// The frame of an answer to `request` carrying an image of type `image_mime`.
    pub fn new(request: &Header, image_mime: &str) -> XopFrame {
        let id = new_message_id();
        let token = &id["urn:uuid:".len()..];
        let boundary = format!("uuid:{token}");
        let root_id = format!("<root.{token}@scanwire>");
        let image_id = format!("image.{token}@scanwire");
        let body = Body::RetrieveImageResponse {
            href: format!("cid:{image_id}"),
        };
        let env = Envelope::new(Header::reply(request, &body), body).to_xml();
        let content_type = format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{boundary}\"; \
             start=\"{root_id}\"; start-info=\"application/soap+xml\""
        );
        let mut head = Vec::with_capacity(env.len() + 512);
        head.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; \
                 type=\"application/soap+xml\"\r\nContent-Transfer-Encoding: binary\r\n\
                 Content-ID: {root_id}\r\n\r\n"
            )
            .as_bytes(),
        );
        head.extend_from_slice(env.as_bytes());
        head.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: {image_mime}\r\nContent-Transfer-Encoding: \
                 binary\r\nContent-ID: <{image_id}>\r\n\r\n"
            )
            .as_bytes(),
        );
        XopFrame {
            content_type,
            head,
            tail: format!("\r\n--{boundary}--\r\n").into_bytes(),
        }
    }
}

/// Writes a RetrieveImage answer: returns the HTTP Content-Type and the body (the envelope
/// as root part, the image as the second part, as sane-airscan expects it).
pub fn write_retrieve_image_response(
    request: &Header,
    image: &[u8],
    image_mime: &str,
) -> (String, Vec<u8>) {
    let frame = XopFrame::new(request, image_mime);
    let mut out = Vec::with_capacity(frame.head.len() + image.len() + frame.tail.len());
    out.extend_from_slice(&frame.head);
    out.extend_from_slice(image);
    out.extend_from_slice(&frame.tail);
    (frame.content_type, out)
}
