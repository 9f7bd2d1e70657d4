//! Every way the file driver fails, mapped to [`DeviceErrorKind`] and its WIA HRESULT in this
//! one file. Each error names the file (and the page of a multi-page TIFF) and what is allowed.
//!
//! - A path that names nothing usable (no such file, an empty directory, a pattern matching
//!   no image) is a bad device id: [`DeviceErrorKind::InvalidRequest`].
//! - A file that cannot be read as an image (not an image, truncated, a TIFF compression or
//!   layout not supported) is a sheet the feeder cannot scan:
//!   [`DeviceErrorKind::PaperProblem`] (WIA_ERROR_PAPER_PROBLEM); the pages before it are kept.
//! - A page that cannot be delivered as asked (a mode richer than the file, another
//!   resolution than the file's, an area outside the page) is a request the user can change:
//!   [`DeviceErrorKind::InvalidRequest`].

use scanwire_core::device::{ColorMode, DeviceError, DeviceErrorKind};
use scanwire_core::wia::HResult;
use std::path::{Path, PathBuf};

/// What the driver reads, for messages.
pub const ALLOWED: &str = "PNG, JPEG, TIFF (multi-page too) or PNM (PBM, PGM, PPM)";

/// Why a path or a page could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path is neither a file nor a directory, and no pattern.
    #[error("{}: no such file or directory (give a file, a directory or a pattern such as scans/*.png)", .0.display())]
    NoSuchPath(PathBuf),
    /// A directory or pattern without a single image file.
    #[error("{what} {path} has no image files; allowed: {}", extensions(allowed))]
    NoImages {
        /// `directory` or `pattern`.
        what: &'static str,
        /// As given.
        path: String,
        /// The extensions a directory or pattern takes.
        allowed: &'static [&'static str],
    },
    /// A pattern `glob` cannot parse.
    #[error("bad pattern {pattern}: {why}")]
    BadPattern {
        /// As given.
        pattern: String,
        /// The parser's words.
        why: String,
    },
    /// The file could not be read at all.
    #[error("{}: cannot read it: {source}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Its first bytes are no image format the driver knows.
    #[error("{} is not an image the file driver reads (its first bytes are {head}); allowed: {ALLOWED}", .path.display())]
    NotAnImage {
        /// The file.
        path: PathBuf,
        /// Its first bytes, printable.
        head: String,
    },
    /// A known format, but damaged or cut short.
    #[error("{}: {format} {detail}", where_(.path, *.page))]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The page within a multi-page TIFF (1-based), if it has several.
        page: Option<u32>,
        /// `PNG`, `JPEG`, `TIFF`, `PNM`.
        format: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A TIFF feature the driver does not read (a compression, a sample layout).
    #[error("{}: {detail}; supported: {supported}", where_(.path, *.page))]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The page within a multi-page TIFF, if it has several.
        page: Option<u32>,
        /// What the file has.
        detail: String,
        /// What the driver reads instead.
        supported: &'static str,
    },
    /// The page cannot be delivered in the mode asked for (no colour is made up).
    #[error("{} is {}; it can be delivered as {allowed}, not {asked} (ask --mode {})", where_(.path, *.page), describe(*.native), allowed_first(.allowed))]
    Mode {
        /// The file.
        path: PathBuf,
        /// The page within a multi-page TIFF, if it has several.
        page: Option<u32>,
        /// What the file holds.
        native: ColorMode,
        /// What was asked.
        asked: ColorMode,
        /// The modes it can be delivered in.
        allowed: String,
    },
    /// The page's resolution is not the one asked for (pages are never resampled).
    #[error("{} is {dpi} dpi ({how}); this scan asked for {asked} dpi: scan it with --resolution {dpi}", where_(.path, *.page))]
    Resolution {
        /// The file.
        path: PathBuf,
        /// The page within a multi-page TIFF, if it has several.
        page: Option<u32>,
        /// The page's resolution.
        dpi: u32,
        /// Where that resolution comes from.
        how: &'static str,
        /// What was asked.
        asked: u32,
    },
    /// The scan area starts beyond the page.
    #[error("{} is {width}x{height} pixels; the scan area starts outside it at ({left}, {top})", where_(.path, *.page))]
    AreaOutside {
        /// The file.
        path: PathBuf,
        /// The page within a multi-page TIFF, if it has several.
        page: Option<u32>,
        /// Page width in pixels.
        width: u32,
        /// Page height in pixels.
        height: u32,
        /// The area's left edge in pixels.
        left: u32,
        /// The area's top edge in pixels.
        top: u32,
    },
}

/// `FILE` or `FILE page N`.
fn where_(path: &Path, page: Option<u32>) -> String {
    match page {
        Some(n) => format!("{} page {n}", path.display()),
        None => path.display().to_string(),
    }
}

fn extensions(allowed: &[&str]) -> String {
    allowed
        .iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn allowed_first(allowed: &str) -> &str {
    allowed.split(", ").next().unwrap_or(allowed)
}

/// A mode in words, as a file holds it.
pub fn describe(mode: ColorMode) -> &'static str {
    match mode {
        ColorMode::Lineart => "1-bit black and white (lineart)",
        ColorMode::Gray => "8-bit gray",
        ColorMode::Gray16 => "16-bit gray",
        ColorMode::Color => "8-bit color",
        ColorMode::Color48 => "16-bit color",
    }
}

impl FileError {
    /// The closed kind this error belongs to (see the module documentation).
    pub fn kind(&self) -> DeviceErrorKind {
        match self {
            FileError::NoSuchPath(_)
            | FileError::NoImages { .. }
            | FileError::BadPattern { .. }
            | FileError::Mode { .. }
            | FileError::Resolution { .. }
            | FileError::AreaOutside { .. } => DeviceErrorKind::InvalidRequest,
            FileError::Unreadable { .. }
            | FileError::NotAnImage { .. }
            | FileError::Damaged { .. }
            | FileError::Unsupported { .. } => DeviceErrorKind::PaperProblem,
        }
    }
}

impl From<FileError> for DeviceError {
    fn from(e: FileError) -> Self {
        DeviceError::new(e.kind(), e.to_string())
    }
}

/// The application answered a callback with a failure: the scan ends with exactly that code.
pub(crate) fn callback_failed(hr: HResult, doing: impl Into<String>) -> DeviceError {
    DeviceError::from_hresult(hr, doing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::wia;

    #[test]
    fn messages_name_the_file_and_what_is_allowed() {
        let e = FileError::NotAnImage {
            path: "in/notes.png".into(),
            head: "\"hello\"".into(),
        };
        assert!(
            e.to_string().starts_with("in/notes.png is not an image"),
            "{e}"
        );
        assert!(e.to_string().contains("PNG, JPEG, TIFF"), "{e}");
        assert_eq!(DeviceError::from(e).hresult(), wia::WIA_ERROR_PAPER_PROBLEM);
        let e = FileError::Mode {
            path: "a.tif".into(),
            page: Some(2),
            native: ColorMode::Gray,
            asked: ColorMode::Color,
            allowed: "gray, lineart".into(),
        };
        assert_eq!(
            e.to_string(),
            "a.tif page 2 is 8-bit gray; it can be delivered as gray, lineart, not color (ask --mode gray)"
        );
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
        let e = FileError::NoImages {
            what: "directory",
            path: "inbox/".into(),
            allowed: crate::files::EXTENSIONS,
        };
        assert!(e.to_string().contains(".png .jpg"), "{e}");
    }
}
