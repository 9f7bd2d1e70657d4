//! The output formats and how users name them.

use scanwire_core::device::Encoding;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// An output file format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Netpbm: PBM (P4) for lineart, PGM (P5) for gray, PPM (P6) for color; 8 or 16 bits.
    Pnm,
    /// PNG: 1-bit gray for lineart, 8/16-bit gray or RGB.
    Png,
    /// Baseline JPEG (lossy; lineart and 16-bit are converted to 8 bits).
    Jpeg,
    /// TIFF with Deflate or LZW strips; several pages in one file.
    Tiff,
    /// PDF, one image per page; several pages in one file.
    Pdf,
}

/// A format name or file extension that is not one of ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Unknown format name.
    #[error("unknown format '{0}'; allowed: pnm, png, jpeg, tiff, pdf")]
    UnknownName(String),
    /// Unknown or missing file extension.
    #[error(
        "cannot tell the format of '{0}' from its extension; allowed: .pnm .pbm .pgm .ppm .png .jpg .jpeg .tif .tiff .pdf (or give the format explicitly)"
    )]
    UnknownExtension(String),
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 5] = [
        Format::Pnm,
        Format::Png,
        Format::Jpeg,
        Format::Tiff,
        Format::Pdf,
    ];

    /// The format a name stands for: `pnm` (also `pbm`, `pgm`, `ppm`), `png`, `jpeg` (`jpg`),
    /// `tiff` (`tif`), `pdf`; case-insensitive.
    pub fn from_name(name: &str) -> Result<Format, FormatError> {
        match name.to_ascii_lowercase().as_str() {
            "pnm" | "pbm" | "pgm" | "ppm" => Ok(Format::Pnm),
            "png" => Ok(Format::Png),
            "jpeg" | "jpg" => Ok(Format::Jpeg),
            "tiff" | "tif" => Ok(Format::Tiff),
            "pdf" => Ok(Format::Pdf),
            _ => Err(FormatError::UnknownName(name.to_string())),
        }
    }

    /// The format a file name's extension stands for (`scan.PNG` → PNG).
    pub fn from_extension(path: impl AsRef<Path>) -> Result<Format, FormatError> {
        let path = path.as_ref();
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| Format::from_name(e).ok())
            .ok_or_else(|| FormatError::UnknownExtension(path.display().to_string()))
    }

    /// The canonical name (`"jpeg"`).
    pub const fn name(self) -> &'static str {
        match self {
            Format::Pnm => "pnm",
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Tiff => "tiff",
            Format::Pdf => "pdf",
        }
    }

    /// The usual file extension, without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Pnm => "pnm",
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::Tiff => "tiff",
            Format::Pdf => "pdf",
        }
    }

    /// The MIME type (`image/x-portable-anymap` for PNM).
    pub const fn mime(self) -> &'static str {
        match self {
            Format::Pnm => "image/x-portable-anymap",
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Tiff => "image/tiff",
            Format::Pdf => "application/pdf",
        }
    }

    /// Whether one file can hold several pages (TIFF, PDF).
    pub const fn is_multi_page(self) -> bool {
        matches!(self, Format::Tiff | Format::Pdf)
    }

    /// The device encoding that is already this format, for pass-through.
    pub const fn encoding(self) -> Option<Encoding> {
        match self {
            Format::Pnm => None,
            Format::Png => Some(Encoding::Png),
            Format::Jpeg => Some(Encoding::Jpeg),
            Format::Tiff => Some(Encoding::Tiff),
            Format::Pdf => Some(Encoding::Pdf),
        }
    }
}

impl FromStr for Format {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::from_name(s)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        assert_eq!(Format::from_name("JPG"), Ok(Format::Jpeg));
        assert_eq!(Format::from_extension("a/b.TIF"), Ok(Format::Tiff));
        assert_eq!(Format::from_extension("scan.pgm"), Ok(Format::Pnm));
        let e = Format::from_name("bmp").unwrap_err().to_string();
        assert!(
            e.contains("'bmp'") && e.contains("pnm, png, jpeg, tiff, pdf"),
            "{e}"
        );
        let e = Format::from_extension("scan").unwrap_err().to_string();
        assert!(e.contains("'scan'") && e.contains(".png"), "{e}");
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Ok(f));
            assert_eq!(
                Format::from_extension(format!("x.{}", f.extension())),
                Ok(f)
            );
        }
    }
}
