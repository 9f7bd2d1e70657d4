//! `scan:ScanSettings`: the body of POST `ScanJobs`.

use crate::values::{
    BinaryRendering, CcdChannel, ColorMode, ColorSpace, ContentRegionUnits, ContentType,
    FeedDirection, InputSource, Intent,
};

/// `scan:ScanSettings`, the job request.
///
/// Every element is optional: Windows, Mopria and sane-airscan omit `scan:Intent`, Windows may
/// send only `scan:DocumentFormatExt`, and regions may be missing (then the maximum area is
/// meant). Filling in defaults is the server's job, not the reader's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSettings {
    /// `pwg:Version`.
    pub version: Option<String>,
    /// `scan:Intent`.
    pub intent: Option<Intent>,
    /// `pwg:ScanRegions/pwg:ScanRegion`.
    pub scan_regions: Vec<ScanRegion>,
    /// The `pwg:MustHonor` attribute of `pwg:ScanRegions` (Apple sends it).
    pub scan_regions_must_honor: Option<bool>,
    /// `pwg:InputSource`.
    pub input_source: Option<InputSource>,
    /// `scan:ColorMode`.
    pub color_mode: Option<ColorMode>,
    /// `pwg:DocumentFormat` (a MIME type).
    pub document_format: Option<String>,
    /// `scan:DocumentFormatExt` (a MIME type; takes precedence over `document_format`).
    pub document_format_ext: Option<String>,
    /// `scan:XResolution` in dpi.
    pub x_resolution: Option<u32>,
    /// `scan:YResolution` in dpi.
    pub y_resolution: Option<u32>,
    /// `scan:Duplex` (read from `true`/`false`/`1`/`0`; written as `true`/`false`).
    pub duplex: Option<bool>,
    /// `scan:CompressionFactor`.
    pub compression_factor: Option<i32>,
    /// `scan:ContentType`.
    pub content_type: Option<ContentType>,
    /// `scan:FeedDirection`.
    pub feed_direction: Option<FeedDirection>,
    /// `scan:ColorSpace`.
    pub color_space: Option<ColorSpace>,
    /// `scan:CcdChannel`.
    pub ccd_channel: Option<CcdChannel>,
    /// `scan:BinaryRendering`.
    pub binary_rendering: Option<BinaryRendering>,
    /// `scan:Brightness`.
    pub brightness: Option<i32>,
    /// `scan:Contrast`.
    pub contrast: Option<i32>,
    /// `scan:Gamma`.
    pub gamma: Option<i32>,
    /// `scan:Highlight`.
    pub highlight: Option<i32>,
    /// `scan:NoiseRemoval`.
    pub noise_removal: Option<i32>,
    /// `scan:Shadow`.
    pub shadow: Option<i32>,
    /// `scan:Sharpen`.
    pub sharpen: Option<i32>,
    /// `scan:Threshold`.
    pub threshold: Option<i32>,
    /// `scan:AutoCrop`: find the sheet, straighten and crop it.
    pub auto_crop: Option<bool>,
    /// `scan:BlankPageDetection`: detect blank pages, still delivering them.
    pub blank_page_detection: Option<bool>,
    /// `scan:BlankPageDetectionAndRemoval`: drop blank pages.
    pub blank_page_detection_and_removal: Option<bool>,
    /// `scan:BlankPageSensitivity`, in the device's `BlankPageSensitivitySupport` range.
    pub blank_page_sensitivity: Option<i32>,
    /// `scan:ConcatIfPossible`: AirSane's non-standard "all ADF pages into one PDF".
    pub concat_if_possible: Option<bool>,
}

impl ScanSettings {
    /// The requested MIME type: `scan:DocumentFormatExt` if present, else `pwg:DocumentFormat`.
    pub fn format(&self) -> Option<&str> {
        self.document_format_ext
            .as_deref()
            .or(self.document_format.as_deref())
    }
}

/// `pwg:ScanRegion`: the area to scan, in `units` (normally 1/300 inch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRegion {
    /// `pwg:ContentRegionUnits` (default `escl:ThreeHundredthsOfInches` when absent).
    pub units: ContentRegionUnits,
    /// `pwg:XOffset` (0 when absent).
    pub x_offset: u32,
    /// `pwg:YOffset` (0 when absent).
    pub y_offset: u32,
    /// `pwg:Width` (required).
    pub width: u32,
    /// `pwg:Height` (required).
    pub height: u32,
}

impl ScanRegion {
    /// A region at `(x, y)` of `width` x `height`, in 1/300 inch.
    pub fn new(x_offset: u32, y_offset: u32, width: u32, height: u32) -> Self {
        ScanRegion {
            units: ContentRegionUnits::ThreeHundredthsOfInches,
            x_offset,
            y_offset,
            width,
            height,
        }
    }
}
