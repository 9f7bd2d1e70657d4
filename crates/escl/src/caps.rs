//! `scan:ScannerCapabilities`: what a scanner offers, per input source.

use crate::values::{
    AdfOption, BinaryRendering, CcdChannel, ColorMode, ColorSpace, ContentType, FeedDirection,
    ImagePosition, Intent, Range, Resolution, SupportedResolutions,
};

/// `scan:ScannerCapabilities` (GET `{root}/ScannerCapabilities`).
///
/// Identity strings are kept as sent: real devices report `xxxx` as MakeAndModel and `25` as
/// serial number, and many HP devices send no UUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScannerCapabilities {
    /// `pwg:Version` (2.0 to 2.6x and 2.9 seen).
    pub version: Option<String>,
    /// `pwg:MakeAndModel`.
    pub make_and_model: Option<String>,
    /// `pwg:SerialNumber`.
    pub serial_number: Option<String>,
    /// `scan:Manufacturer` (UTAX/Kyocera put it in the pwg namespace; both are read).
    pub manufacturer: Option<String>,
    /// `scan:UUID`.
    pub uuid: Option<String>,
    /// `scan:AdminURI`: the device's web page.
    pub admin_uri: Option<String>,
    /// `scan:IconURI`: a PNG icon.
    pub icon_uri: Option<String>,
    /// `scan:Platen/scan:PlatenInputCaps`.
    pub platen: Option<InputCaps>,
    /// `scan:Adf`.
    pub adf: Option<Adf>,
    /// `scan:Camera/scan:CameraInputCaps`.
    pub camera: Option<InputCaps>,
    /// `scan:CompressionFactorSupport`.
    pub compression_factor_support: Option<Range>,
    /// `scan:BrightnessSupport`.
    pub brightness_support: Option<Range>,
    /// `scan:ContrastSupport`.
    pub contrast_support: Option<Range>,
    /// `scan:GammaSupport`.
    pub gamma_support: Option<Range>,
    /// `scan:HighlightSupport`.
    pub highlight_support: Option<Range>,
    /// `scan:NoiseRemovalSupport`.
    pub noise_removal_support: Option<Range>,
    /// `scan:ShadowSupport`.
    pub shadow_support: Option<Range>,
    /// `scan:SharpenSupport`.
    pub sharpen_support: Option<Range>,
    /// `scan:ThresholdSupport`.
    pub threshold_support: Option<Range>,
    /// `scan:AutoCrop`: the device finds the sheet, straightens and crops it (HP ScanJet Pro
    /// 4500, Brother DS-940DW).
    pub auto_crop: Option<bool>,
    /// `scan:BlankPageDetection`: the device detects blank pages (and still delivers them).
    pub blank_page_detection: Option<bool>,
    /// `scan:BlankPageDetectionAndRemoval`: the device drops blank pages.
    pub blank_page_detection_and_removal: Option<bool>,
    /// `scan:BlankPageSensitivitySupport` (0..255, Normal 128 on HP and Brother).
    pub blank_page_sensitivity_support: Option<Range>,
}

impl ScannerCapabilities {
    /// The ADF's simplex caps, if there is an ADF with them.
    pub fn adf_simplex(&self) -> Option<&InputCaps> {
        self.adf.as_ref().and_then(|adf| adf.simplex.as_ref())
    }

    /// The ADF's duplex caps, if there is an ADF with them.
    pub fn adf_duplex(&self) -> Option<&InputCaps> {
        self.adf.as_ref().and_then(|adf| adf.duplex.as_ref())
    }
}

/// `scan:Adf`: the automatic document feeder.
///
/// Simplex and duplex caps are separate and can differ (OfficeJet Pro 6978: duplex MinWidth 1748
/// against 8 for simplex). A server must always send `simplex` when it has an ADF; `duplex` is an
/// extra, not a replacement (AirSane PR #130).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adf {
    /// `scan:AdfSimplexInputCaps`.
    pub simplex: Option<InputCaps>,
    /// `scan:AdfDuplexInputCaps`.
    pub duplex: Option<InputCaps>,
    /// `scan:FeederCapacity` in sheets.
    pub feeder_capacity: Option<u32>,
    /// `scan:AdfOptions/scan:AdfOption`.
    pub options: Vec<AdfOption>,
    /// `scan:Justification`.
    pub justification: Option<Justification>,
}

impl Adf {
    /// Whether the feeder scans both sides: duplex caps are present or `Duplex` is an option.
    pub fn supports_duplex(&self) -> bool {
        self.duplex.is_some() || self.options.contains(&AdfOption::Duplex)
    }
}

/// `scan:Justification`: where a narrower sheet lies in the feeder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Justification {
    /// `pwg:XImagePosition`.
    pub x: Option<ImagePosition>,
    /// `pwg:YImagePosition`.
    pub y: Option<ImagePosition>,
}

/// `scan:PlatenInputCaps`, `scan:AdfSimplexInputCaps`, `scan:AdfDuplexInputCaps` or
/// `scan:CameraInputCaps`: what one input source can do.
///
/// Lengths are in 1/300 inch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputCaps {
    /// `scan:MinWidth`.
    pub min_width: Option<u32>,
    /// `scan:MaxWidth` (required).
    pub max_width: u32,
    /// `scan:MinHeight`.
    pub min_height: Option<u32>,
    /// `scan:MaxHeight` (required; 36600 on a DS-940DW in long-paper mode).
    pub max_height: u32,
    /// `scan:MinPageWidth`.
    pub min_page_width: Option<u32>,
    /// `scan:MinPageHeight`.
    pub min_page_height: Option<u32>,
    /// `scan:MaxXOffset`.
    pub max_x_offset: Option<u32>,
    /// `scan:MaxYOffset`.
    pub max_y_offset: Option<u32>,
    /// `scan:MaxPhysicalWidth` (0 on Brother L2710DW).
    pub max_physical_width: Option<u32>,
    /// `scan:MaxPhysicalHeight`.
    pub max_physical_height: Option<u32>,
    /// `scan:MaxScanRegions` (absent on Kyocera M2040dn).
    pub max_scan_regions: Option<u32>,
    /// `scan:MaxOpticalXResolution`.
    pub max_optical_x_resolution: Option<u32>,
    /// `scan:MaxOpticalYResolution`.
    pub max_optical_y_resolution: Option<u32>,
    /// `scan:RiskyLeftMargin`.
    pub risky_left_margin: Option<u32>,
    /// `scan:RiskyRightMargin`.
    pub risky_right_margin: Option<u32>,
    /// `scan:RiskyTopMargin`.
    pub risky_top_margin: Option<u32>,
    /// `scan:RiskyBottomMargin`.
    pub risky_bottom_margin: Option<u32>,
    /// `scan:SettingProfiles/scan:SettingProfile`, with `ref` references resolved.
    pub setting_profiles: Vec<SettingProfile>,
    /// `scan:SupportedIntents`, read from `scan:Intent` and `scan:SupportedIntent` children
    /// (Kyocera uses the latter); written as `scan:Intent`.
    pub supported_intents: Vec<Intent>,
    /// `scan:FeedDirections/scan:FeedDirection` (Kyocera's misspelled `scan:FeedDirections`
    /// children are read too).
    pub feed_directions: Vec<FeedDirection>,
}

impl InputCaps {
    /// Color modes of all profiles, first occurrence first.
    pub fn color_modes(&self) -> Vec<ColorMode> {
        union(
            self.setting_profiles
                .iter()
                .flat_map(|p| p.color_modes.iter()),
        )
    }

    /// MIME types of all profiles, from both `pwg:DocumentFormat` and `scan:DocumentFormatExt`.
    pub fn document_formats(&self) -> Vec<String> {
        union(self.setting_profiles.iter().flat_map(|p| {
            p.document_formats
                .iter()
                .chain(p.document_format_exts.iter())
        }))
    }

    /// Discrete resolutions of all profiles, sorted and without duplicates.
    pub fn discrete_resolutions(&self) -> Vec<Resolution> {
        let mut all: Vec<Resolution> = self
            .setting_profiles
            .iter()
            .flat_map(|p| p.supported_resolutions.discrete.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The highest X resolution offered by any profile, discrete or range.
    pub fn max_resolution(&self) -> Option<u32> {
        self.setting_profiles
            .iter()
            .flat_map(|p| {
                let res = &p.supported_resolutions;
                res.discrete.iter().map(|r| r.x).chain(
                    res.ranges
                        .iter()
                        .filter_map(|r| u32::try_from(r.x.max).ok()),
                )
            })
            .max()
    }
}

fn union<'a, T: Clone + PartialEq + 'a>(items: impl Iterator<Item = &'a T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// `scan:SettingProfile`: combinations a source supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingProfile {
    /// `scan:ColorModes/scan:ColorMode`.
    pub color_modes: Vec<ColorMode>,
    /// `scan:ContentTypes/pwg:ContentType` (Canon uses `scan:ContentType`; both are read).
    pub content_types: Vec<ContentType>,
    /// `scan:DocumentFormats/pwg:DocumentFormat` (MIME types).
    pub document_formats: Vec<String>,
    /// `scan:DocumentFormats/scan:DocumentFormatExt` (MIME types).
    pub document_format_exts: Vec<String>,
    /// `scan:SupportedResolutions`. Xerox B235 repeats the element once per color mode; the
    /// reader merges all of them here.
    pub supported_resolutions: SupportedResolutions,
    /// `scan:ColorSpaces/scan:ColorSpace`.
    pub color_spaces: Vec<ColorSpace>,
    /// `scan:CcdChannels/scan:CcdChannel`.
    pub ccd_channels: Vec<CcdChannel>,
    /// `scan:BinaryRenderings/scan:BinaryRendering`.
    pub binary_renderings: Vec<BinaryRendering>,
}
