//! What to receive from a scanner for a request (the part of each driver's `options.rs`
//! mapping that does not depend on the protocol's vocabulary).

use scanwire_core::device::SourceCaps;
use scanwire_core::device::{Capabilities, DeviceError, DeviceErrorKind, Encoding, ScanRequest};

/// The source a request scans from and what the scanner is asked to send.
#[derive(Debug)]
pub struct Wire<'c> {
    /// The capabilities of the request's source.
    pub source: &'c SourceCaps,
    /// The encoding to ask for.
    pub encoding: Encoding,
    /// Hand pages on as they come (`true`: the application asked for this encoding) or
    /// decode them to rows (`false`).
    pub pass_through: bool,
}

/// An asked-for encoding is passed through untouched; raw rows are decoded from PNG when the
/// source offers it (lossless, and the only choice for modes that are not 8-bit), else from
/// JPEG. Fails when the source does not exist or sends neither.
pub fn wire<'c>(request: &ScanRequest, caps: &'c Capabilities) -> Result<Wire<'c>, DeviceError> {
    let source = caps.source(request.source).ok_or_else(|| {
        DeviceError::new(
            DeviceErrorKind::InvalidRequest,
            format!("{} has no {} source", caps.model, request.source),
        )
    })?;
    let (encoding, pass_through) = match request.encoding {
        Some(e) => (e, true),
        None => {
            let lossless_needed = request.mode.depth() != 8;
            let pick = [Encoding::Png, Encoding::Jpeg]
                .into_iter()
                .filter(|e| !(lossless_needed && *e == Encoding::Jpeg))
                .find(|e| source.encodings.contains(e));
            let e = pick.ok_or_else(|| {
                DeviceError::new(
                    DeviceErrorKind::Unsupported,
                    format!(
                        "{} {} cannot deliver raw {} rows: it sends neither PNG nor (for 8-bit modes) JPEG; ask for an encoding",
                        caps.model, request.source, request.mode
                    ),
                )
            })?;
            (e, false)
        }
    };
    Ok(Wire {
        source,
        encoding,
        pass_through,
    })
}

/// The encoding a MIME type names (an HTTP Content-Type or an MTOM attachment's type;
/// parameters such as `; charset` ignored, case ignored).
pub fn encoding_of_mime(mime: &str) -> Option<Encoding> {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(match base.as_str() {
        "image/jpeg" | "image/jpg" => Encoding::Jpeg,
        "image/png" => Encoding::Png,
        "image/tiff" => Encoding::Tiff,
        "application/pdf" => Encoding::Pdf,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_encodings() {
        assert_eq!(encoding_of_mime("image/JPEG; q=1"), Some(Encoding::Jpeg));
        assert_eq!(encoding_of_mime(" application/pdf"), Some(Encoding::Pdf));
        assert_eq!(encoding_of_mime("text/xml"), None);
    }
}
