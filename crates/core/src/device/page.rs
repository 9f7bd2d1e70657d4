//! What a page looks like on the wire between a driver and an application.

use super::{ColorMode, Source};
use std::fmt;

/// How raw samples are laid out in a row.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PixelFormat {
    /// 1 bit per pixel, most significant bit first, **1 = black** (as SANE and PBM have it);
    /// rows padded to whole bytes.
    BlackAndWhite1,
    /// 8-bit gray, 0 = black.
    Gray8,
    /// 16-bit gray, big-endian (as PNM and PNG store it).
    Gray16,
    /// 8-bit R, G, B.
    Rgb8,
    /// 16-bit R, G, B, big-endian.
    Rgb16,
}

impl PixelFormat {
    /// Bytes in one row of `width` pixels.
    pub const fn bytes_per_line(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            PixelFormat::BlackAndWhite1 => w.div_ceil(8),
            PixelFormat::Gray8 => w,
            PixelFormat::Gray16 => w * 2,
            PixelFormat::Rgb8 => w * 3,
            PixelFormat::Rgb16 => w * 6,
        }
    }

    /// Channels per pixel.
    pub const fn channels(self) -> u8 {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Rgb16 => 3,
            _ => 1,
        }
    }

    /// Bits per channel.
    pub const fn bit_depth(self) -> u8 {
        match self {
            PixelFormat::BlackAndWhite1 => 1,
            PixelFormat::Gray8 | PixelFormat::Rgb8 => 8,
            PixelFormat::Gray16 | PixelFormat::Rgb16 => 16,
        }
    }

    /// The raster a device delivers for a color mode.
    pub const fn for_mode(mode: ColorMode) -> Self {
        match mode {
            ColorMode::Lineart => PixelFormat::BlackAndWhite1,
            ColorMode::Gray => PixelFormat::Gray8,
            ColorMode::Gray16 => PixelFormat::Gray16,
            ColorMode::Color => PixelFormat::Rgb8,
            ColorMode::Color48 => PixelFormat::Rgb16,
        }
    }
}

/// Encodings a device may hand over instead of raw rows (eSCL scanners do).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Encoding {
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
    /// `image/tiff`.
    Tiff,
    /// `application/pdf`.
    Pdf,
}

impl Encoding {
    /// The MIME type.
    pub const fn mime(self) -> &'static str {
        match self {
            Encoding::Jpeg => "image/jpeg",
            Encoding::Png => "image/png",
            Encoding::Tiff => "image/tiff",
            Encoding::Pdf => "application/pdf",
        }
    }
}

/// The bytes of a page: raw rows of a known layout, or a file the device already encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PageData {
    /// Rows of `pixel` samples, each exactly `pixel.bytes_per_line(width)` bytes, top to bottom.
    Raster {
        /// Sample layout.
        pixel: PixelFormat,
        /// Pixels per row.
        width: u32,
        /// Rows, when the device knows them up front (hand scanners do not: SANE lines = -1).
        height: Option<u32>,
    },
    /// An already-encoded image or document.
    Encoded(Encoding),
}

impl PageData {
    /// Bytes per row for raster data.
    pub fn bytes_per_line(&self) -> Option<usize> {
        match *self {
            PageData::Raster { pixel, width, .. } => Some(pixel.bytes_per_line(width)),
            PageData::Encoded(_) => None,
        }
    }

    /// Total bytes, when known up front.
    pub fn expected_bytes(&self) -> Option<u64> {
        match *self {
            PageData::Raster {
                pixel,
                width,
                height: Some(h),
            } => Some(pixel.bytes_per_line(width) as u64 * h as u64),
            _ => None,
        }
    }
}

/// Which side of a sheet a page is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Side {
    /// The front (the only side on a flatbed or in simplex).
    Front,
    /// The back, in duplex.
    Back,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Front => "front",
            Side::Back => "back",
        })
    }
}

/// Everything an application needs to open a stream for one page (WIA passes item names; we
/// pass the page's identity and layout, which is what a sink needs to encode it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PageInfo {
    /// 1-based position of this page in the transfer.
    pub number: u32,
    /// 1-based sheet the page is on (two pages per sheet in duplex).
    pub sheet: u32,
    /// Front or back.
    pub side: Side,
    /// Where the page came from.
    pub source: Source,
    /// The layout of the bytes that follow.
    pub data: PageData,
    /// Horizontal and vertical resolution in dpi.
    pub dpi: (u32, u32),
}

impl PageInfo {
    /// WIA's `WIA_IPA_ITEM_NAME` equivalent, e.g. `page-3` or `sheet-2-back`.
    pub fn item_name(&self) -> String {
        match self.source {
            Source::FeederDuplex => format!("sheet-{}-{}", self.sheet, self.side),
            _ => format!("page-{}", self.number),
        }
    }
}
