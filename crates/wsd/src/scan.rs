//! WS-Scan elements: what a scanner describes (`ScannerElements`), what a client asks for
//! (`ScanTicket`) and what a job reports. Lengths are thousandths of an inch, resolutions dpi,
//! exactly as on the wire (no swapping or clamping here: that is the driver's mapping).

use crate::values::{ColorEntry, Format, InputSource, JobState, ScannerState};

/// A width and a height: 1/1000 inch for sizes, dpi for resolutions, percent for scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    /// `Width`.
    pub width: u32,
    /// `Height`.
    pub height: u32,
}

impl Size {
    /// A size.
    pub fn new(width: u32, height: u32) -> Size {
        Size { width, height }
    }
}

/// `MinValue`..`MaxValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// `MinValue`.
    pub min: i32,
    /// `MaxValue`.
    pub max: i32,
}

/// The elements `GetScannerElements` can return; each is present when asked for and valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScannerElements {
    /// `ScannerDescription`.
    pub description: Option<ScannerDescription>,
    /// `ScannerConfiguration`.
    pub configuration: Option<ScannerConfiguration>,
    /// `ScannerStatus`.
    pub status: Option<ScannerStatus>,
    /// `DefaultScanTicket`.
    pub default_ticket: Option<ScanTicket>,
}

/// `ScannerDescription`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScannerDescription {
    /// `ScannerName` (the model, for sane-airscan).
    pub name: String,
    /// `ScannerInfo`.
    pub info: Option<String>,
    /// `ScannerLocation`.
    pub location: Option<String>,
}

/// `ScannerConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScannerConfiguration {
    /// `DeviceSettings`.
    pub settings: DeviceSettings,
    /// `Platen`.
    pub platen: Option<InputCaps>,
    /// `ADF`.
    pub adf: Option<Adf>,
}

/// `DeviceSettings`: what applies to every source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceSettings {
    /// `FormatsSupported/FormatValue`.
    pub formats: Vec<Format>,
    /// `CompressionQualityFactorSupported`.
    pub compression_quality: Option<Range>,
    /// `ContentTypesSupported/ContentTypeValue` (`Auto`, `Text`, `Photo`, `Halftone`, `Mixed`).
    pub content_types: Vec<String>,
    /// `DocumentSizeAutoDetectSupported`.
    pub size_auto_detect: Option<bool>,
    /// `AutoExposureSupported`.
    pub auto_exposure: Option<bool>,
    /// `BrightnessSupported`.
    pub brightness: Option<bool>,
    /// `ContrastSupported`.
    pub contrast: Option<bool>,
    /// `ScalingRangeSupported/ScalingWidth`.
    pub scaling_width: Option<Range>,
    /// `ScalingRangeSupported/ScalingHeight`.
    pub scaling_height: Option<Range>,
    /// `RotationsSupported/RotationValue`.
    pub rotations: Vec<u32>,
}

/// One source's capabilities: `Platen`, `ADFFront` or `ADFBack` (the element names differ by
/// prefix, `Platen…`/`ADF…`; the content is the same).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputCaps {
    /// `…OpticalResolution`.
    pub optical_resolution: Option<Size>,
    /// `…Resolutions/Widths/Width`, dpi.
    pub widths: Vec<u32>,
    /// `…Resolutions/Heights/Height`, dpi.
    pub heights: Vec<u32>,
    /// `…Color/ColorEntry`.
    pub colors: Vec<ColorEntry>,
    /// `…MinimumSize`, 1/1000 in.
    pub min_size: Size,
    /// `…MaximumSize`, 1/1000 in.
    pub max_size: Size,
}

/// `ADF`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Adf {
    /// `ADFSupportsDuplex`.
    pub supports_duplex: bool,
    /// `ADFFront`.
    pub front: Option<InputCaps>,
    /// `ADFBack`.
    pub back: Option<InputCaps>,
}

/// `ScannerStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerStatus {
    /// `ScannerCurrentTime`, as written.
    pub time: Option<String>,
    /// `ScannerState`.
    pub state: ScannerState,
    /// `ScannerStateReasons/ScannerStateReason` (`None` left out).
    pub reasons: Vec<String>,
    /// `ActiveConditions/DeviceCondition`.
    pub conditions: Vec<DeviceCondition>,
}

/// `DeviceCondition`: a current condition of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCondition {
    /// `Name` (`MediaJam`, `InputTrayEmpty`, `CoverOpen`, …).
    pub name: String,
    /// `Component` (`ADF`, `Platen`, …).
    pub component: Option<String>,
}

/// `ScanTicket` (also `DefaultScanTicket`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanTicket {
    /// `JobDescription`.
    pub job: JobDescription,
    /// `DocumentParameters`.
    pub params: DocumentParameters,
}

/// `JobDescription`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobDescription {
    /// `JobName`.
    pub name: Option<String>,
    /// `JobOriginatingUserName`.
    pub user: Option<String>,
    /// `JobInformation`.
    pub info: Option<String>,
}

/// `DocumentParameters` (also `DocumentFinalParameters`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentParameters {
    /// `Format`.
    pub format: Option<Format>,
    /// `CompressionQualityFactor`, 0–100.
    pub compression_quality: Option<u32>,
    /// `ImagesToTransfer`: 0 = everything the source holds.
    pub images_to_transfer: Option<u32>,
    /// `InputSource`.
    pub input_source: Option<InputSource>,
    /// `ContentType`.
    pub content_type: Option<String>,
    /// `InputSize/InputMediaSize`, 1/1000 in.
    pub input_size: Option<Size>,
    /// `InputSize/DocumentSizeAutoDetect`.
    pub size_auto_detect: Option<bool>,
    /// `Exposure`.
    pub exposure: Option<Exposure>,
    /// `Scaling` (`ScalingWidth`/`ScalingHeight`, percent).
    pub scaling: Option<Size>,
    /// `Rotation`, degrees.
    pub rotation: Option<u32>,
    /// `MediaSides/MediaFront`.
    pub front: Option<MediaSide>,
    /// `MediaSides/MediaBack` (duplex).
    pub back: Option<MediaSide>,
    /// Local names of the elements marked `MustHonor="true"` (e.g. `Resolution`), once
    /// each, in document order.
    pub must_honor: Vec<String>,
}

/// `Exposure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exposure {
    /// `AutoExposure`.
    pub auto: Option<bool>,
    /// `ExposureSettings/Contrast`.
    pub contrast: Option<i32>,
    /// `ExposureSettings/Brightness`.
    pub brightness: Option<i32>,
    /// `ExposureSettings/Sharpness`.
    pub sharpness: Option<i32>,
}

/// `MediaFront` / `MediaBack`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaSide {
    /// `ScanRegion`, 1/1000 in.
    pub region: Option<Region>,
    /// `ColorProcessing`.
    pub color: Option<ColorEntry>,
    /// `Resolution`, dpi.
    pub resolution: Option<Size>,
}

/// `ScanRegion`, 1/1000 in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Region {
    /// `ScanRegionXOffset`.
    pub x: u32,
    /// `ScanRegionYOffset`.
    pub y: u32,
    /// `ScanRegionWidth`.
    pub width: u32,
    /// `ScanRegionHeight`.
    pub height: u32,
}

/// `CreateScanJobResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatedJob {
    /// `JobId`.
    pub job_id: u32,
    /// `JobToken`, repeated in every RetrieveImage.
    pub job_token: String,
    /// `ImageInformation/MediaFrontImageInfo`.
    pub front_image: Option<ImageInfo>,
    /// `ImageInformation/MediaBackImageInfo`.
    pub back_image: Option<ImageInfo>,
    /// `DocumentFinalParameters`.
    pub final_params: Option<DocumentParameters>,
}

/// `MediaFrontImageInfo` / `MediaBackImageInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageInfo {
    /// `PixelsPerLine`.
    pub pixels_per_line: u32,
    /// `NumberOfLines`.
    pub number_of_lines: u32,
    /// `BytesPerLine`.
    pub bytes_per_line: u32,
}

/// `JobStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// `JobId`.
    pub job_id: u32,
    /// `JobState`.
    pub state: JobState,
    /// `JobStateReasons/JobStateReason` (`None` left out).
    pub reasons: Vec<String>,
    /// `ScansCompleted`.
    pub scans_completed: Option<u32>,
}

/// `GetJobElementsResponse/JobElements`, and one `Job` of `GetActiveJobsResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobElements {
    /// `JobStatus`.
    pub status: Option<JobStatus>,
    /// `ScanTicket`.
    pub ticket: Option<ScanTicket>,
}
