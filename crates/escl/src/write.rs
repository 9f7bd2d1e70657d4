//! Model -> XML with the literal prefixes `scan:` and `pwg:`.
//!
//! sane-airscan matches the strings `scan:Name`/`pwg:Name`, not namespace URIs, so the writers
//! always declare and use exactly these two prefixes. Output is UTF-8, indented by two spaces,
//! with `<?xml version="1.0" encoding="UTF-8"?>`.

use scanwire_xml::Writer;

use crate::caps::{Adf, InputCaps, ScannerCapabilities, SettingProfile};
use crate::ns::{ESCL_NS, PWG_NS};
use crate::settings::ScanSettings;
use crate::status::{JobInfo, ScanImageInfo, ScannerStatus};
use crate::values::Range;

/// Starts an eSCL document: `root` declaring exactly the two prefixes.
fn document(root: &str) -> Writer {
    Writer::document(root, &[("xmlns:scan", ESCL_NS), ("xmlns:pwg", PWG_NS)])
}

/// eSCL's range element (`scan:Min`, `scan:Max`, `scan:Normal`, `scan:Step`); WS-Scan's
/// ranges are other elements (`MinValue`/`MaxValue`), so this stays with eSCL.
trait EsclWriter {
    fn range(&mut self, name: &str, range: &Range);

    fn opt_range(&mut self, name: &str, range: Option<&Range>) {
        if let Some(r) = range {
            self.range(name, r);
        }
    }
}

impl EsclWriter for Writer {
    fn range(&mut self, name: &str, range: &Range) {
        self.open(name);
        self.leaf("scan:Min", &range.min.to_string());
        self.leaf("scan:Max", &range.max.to_string());
        self.opt("scan:Normal", range.normal);
        self.opt("scan:Step", range.step);
        self.close(name);
    }
}

pub(crate) fn capabilities(caps: &ScannerCapabilities) -> String {
    let mut out = document("scan:ScannerCapabilities");
    out.opt("pwg:Version", caps.version.as_deref());
    out.opt("pwg:MakeAndModel", caps.make_and_model.as_deref());
    out.opt("pwg:SerialNumber", caps.serial_number.as_deref());
    out.opt("scan:Manufacturer", caps.manufacturer.as_deref());
    out.opt("scan:UUID", caps.uuid.as_deref());
    out.opt("scan:AdminURI", caps.admin_uri.as_deref());
    out.opt("scan:IconURI", caps.icon_uri.as_deref());
    if let Some(platen) = &caps.platen {
        out.open("scan:Platen");
        input_caps(&mut out, "scan:PlatenInputCaps", platen);
        out.close("scan:Platen");
    }
    if let Some(camera) = &caps.camera {
        out.open("scan:Camera");
        input_caps(&mut out, "scan:CameraInputCaps", camera);
        out.close("scan:Camera");
    }
    if let Some(adf) = &caps.adf {
        write_adf(&mut out, adf);
    }
    out.opt_range(
        "scan:CompressionFactorSupport",
        caps.compression_factor_support.as_ref(),
    );
    out.opt_range("scan:BrightnessSupport", caps.brightness_support.as_ref());
    out.opt_range("scan:ContrastSupport", caps.contrast_support.as_ref());
    out.opt_range("scan:GammaSupport", caps.gamma_support.as_ref());
    out.opt_range("scan:HighlightSupport", caps.highlight_support.as_ref());
    out.opt_range(
        "scan:NoiseRemovalSupport",
        caps.noise_removal_support.as_ref(),
    );
    out.opt_range("scan:ShadowSupport", caps.shadow_support.as_ref());
    out.opt_range("scan:SharpenSupport", caps.sharpen_support.as_ref());
    out.opt_range("scan:ThresholdSupport", caps.threshold_support.as_ref());
    out.opt_bool("scan:AutoCrop", caps.auto_crop);
    out.opt_bool("scan:BlankPageDetection", caps.blank_page_detection);
    out.opt_bool(
        "scan:BlankPageDetectionAndRemoval",
        caps.blank_page_detection_and_removal,
    );
    out.opt_range(
        "scan:BlankPageSensitivitySupport",
        caps.blank_page_sensitivity_support.as_ref(),
    );
    out.finish()
}

fn write_adf(out: &mut Writer, adf: &Adf) {
    out.open("scan:Adf");
    if let Some(simplex) = &adf.simplex {
        input_caps(out, "scan:AdfSimplexInputCaps", simplex);
    }
    if let Some(duplex) = &adf.duplex {
        input_caps(out, "scan:AdfDuplexInputCaps", duplex);
    }
    out.opt("scan:FeederCapacity", adf.feeder_capacity);
    if let Some(j) = &adf.justification {
        out.open("scan:Justification");
        out.opt("pwg:XImagePosition", j.x.as_ref());
        out.opt("pwg:YImagePosition", j.y.as_ref());
        out.close("scan:Justification");
    }
    out.list("scan:AdfOptions", "scan:AdfOption", &adf.options);
    out.close("scan:Adf");
}

fn input_caps(out: &mut Writer, name: &str, caps: &InputCaps) {
    out.open(name);
    out.opt("scan:MinWidth", caps.min_width);
    out.leaf("scan:MaxWidth", &caps.max_width.to_string());
    out.opt("scan:MinHeight", caps.min_height);
    out.leaf("scan:MaxHeight", &caps.max_height.to_string());
    out.opt("scan:MinPageWidth", caps.min_page_width);
    out.opt("scan:MinPageHeight", caps.min_page_height);
    out.opt("scan:MaxXOffset", caps.max_x_offset);
    out.opt("scan:MaxYOffset", caps.max_y_offset);
    out.opt("scan:MaxPhysicalWidth", caps.max_physical_width);
    out.opt("scan:MaxPhysicalHeight", caps.max_physical_height);
    out.opt("scan:MaxScanRegions", caps.max_scan_regions);
    if !caps.setting_profiles.is_empty() {
        out.open("scan:SettingProfiles");
        for profile in &caps.setting_profiles {
            setting_profile(out, profile);
        }
        out.close("scan:SettingProfiles");
    }
    out.list(
        "scan:SupportedIntents",
        "scan:Intent",
        &caps.supported_intents,
    );
    out.opt("scan:MaxOpticalXResolution", caps.max_optical_x_resolution);
    out.opt("scan:MaxOpticalYResolution", caps.max_optical_y_resolution);
    out.opt("scan:RiskyLeftMargin", caps.risky_left_margin);
    out.opt("scan:RiskyRightMargin", caps.risky_right_margin);
    out.opt("scan:RiskyTopMargin", caps.risky_top_margin);
    out.opt("scan:RiskyBottomMargin", caps.risky_bottom_margin);
    out.list(
        "scan:FeedDirections",
        "scan:FeedDirection",
        &caps.feed_directions,
    );
    out.close(name);
}

fn setting_profile(out: &mut Writer, p: &SettingProfile) {
    out.open("scan:SettingProfile");
    out.list("scan:ColorModes", "scan:ColorMode", &p.color_modes);
    out.list("scan:ContentTypes", "pwg:ContentType", &p.content_types);
    if !p.document_formats.is_empty() || !p.document_format_exts.is_empty() {
        out.open("scan:DocumentFormats");
        for f in &p.document_formats {
            out.leaf("pwg:DocumentFormat", f);
        }
        for f in &p.document_format_exts {
            out.leaf("scan:DocumentFormatExt", f);
        }
        out.close("scan:DocumentFormats");
    }
    let res = &p.supported_resolutions;
    if !res.discrete.is_empty() || !res.ranges.is_empty() {
        out.open("scan:SupportedResolutions");
        if !res.discrete.is_empty() {
            out.open("scan:DiscreteResolutions");
            for r in &res.discrete {
                out.open("scan:DiscreteResolution");
                out.leaf("scan:XResolution", &r.x.to_string());
                out.leaf("scan:YResolution", &r.y.to_string());
                out.close("scan:DiscreteResolution");
            }
            out.close("scan:DiscreteResolutions");
        }
        for r in &res.ranges {
            out.open("scan:ResolutionRange");
            out.range("scan:XResolutionRange", &r.x);
            out.range("scan:YResolutionRange", &r.y);
            out.close("scan:ResolutionRange");
        }
        out.close("scan:SupportedResolutions");
    }
    out.list("scan:ColorSpaces", "scan:ColorSpace", &p.color_spaces);
    out.list("scan:CcdChannels", "scan:CcdChannel", &p.ccd_channels);
    out.list(
        "scan:BinaryRenderings",
        "scan:BinaryRendering",
        &p.binary_renderings,
    );
    out.close("scan:SettingProfile");
}

pub(crate) fn settings(s: &ScanSettings) -> String {
    let mut out = document("scan:ScanSettings");
    out.opt("pwg:Version", s.version.as_deref());
    out.opt("scan:Intent", s.intent.as_ref());
    if !s.scan_regions.is_empty() || s.scan_regions_must_honor.is_some() {
        let must_honor = s
            .scan_regions_must_honor
            .map(|v| ("pwg:MustHonor", if v { "true" } else { "false" }));
        out.open_attrs("pwg:ScanRegions", must_honor.as_slice());
        for r in &s.scan_regions {
            out.open("pwg:ScanRegion");
            out.leaf("pwg:ContentRegionUnits", r.units.as_str());
            out.leaf("pwg:XOffset", &r.x_offset.to_string());
            out.leaf("pwg:YOffset", &r.y_offset.to_string());
            out.leaf("pwg:Width", &r.width.to_string());
            out.leaf("pwg:Height", &r.height.to_string());
            out.close("pwg:ScanRegion");
        }
        out.close("pwg:ScanRegions");
    }
    out.opt("pwg:InputSource", s.input_source.as_ref());
    out.opt("scan:ColorMode", s.color_mode.as_ref());
    out.opt("pwg:DocumentFormat", s.document_format.as_deref());
    out.opt("scan:DocumentFormatExt", s.document_format_ext.as_deref());
    out.opt("scan:XResolution", s.x_resolution);
    out.opt("scan:YResolution", s.y_resolution);
    out.opt_bool("scan:Duplex", s.duplex);
    out.opt("scan:CompressionFactor", s.compression_factor);
    out.opt("scan:ContentType", s.content_type.as_ref());
    out.opt("scan:FeedDirection", s.feed_direction.as_ref());
    out.opt("scan:ColorSpace", s.color_space.as_ref());
    out.opt("scan:CcdChannel", s.ccd_channel.as_ref());
    out.opt("scan:BinaryRendering", s.binary_rendering.as_ref());
    out.opt("scan:Brightness", s.brightness);
    out.opt("scan:Contrast", s.contrast);
    out.opt("scan:Gamma", s.gamma);
    out.opt("scan:Highlight", s.highlight);
    out.opt("scan:NoiseRemoval", s.noise_removal);
    out.opt("scan:Shadow", s.shadow);
    out.opt("scan:Sharpen", s.sharpen);
    out.opt("scan:Threshold", s.threshold);
    out.opt_bool("scan:AutoCrop", s.auto_crop);
    out.opt_bool("scan:BlankPageDetection", s.blank_page_detection);
    out.opt_bool(
        "scan:BlankPageDetectionAndRemoval",
        s.blank_page_detection_and_removal,
    );
    out.opt("scan:BlankPageSensitivity", s.blank_page_sensitivity);
    out.opt_bool("scan:ConcatIfPossible", s.concat_if_possible);
    out.finish()
}

pub(crate) fn status(s: &ScannerStatus) -> String {
    let mut out = document("scan:ScannerStatus");
    out.opt("pwg:Version", s.version.as_deref());
    out.leaf("pwg:State", s.state.as_str());
    out.opt("scan:AdfState", s.adf_state.as_ref());
    if !s.jobs.is_empty() {
        out.open("scan:Jobs");
        for job in &s.jobs {
            job_info(&mut out, job);
        }
        out.close("scan:Jobs");
    }
    out.finish()
}

fn job_info(out: &mut Writer, job: &JobInfo) {
    out.open("scan:JobInfo");
    out.leaf("pwg:JobUri", &job.job_uri);
    out.opt("pwg:JobUuid", job.job_uuid.as_deref());
    out.opt("scan:Age", job.age);
    out.opt("pwg:ImagesCompleted", job.images_completed);
    out.opt("pwg:ImagesToTransfer", job.images_to_transfer);
    out.opt("pwg:JobState", job.job_state.as_ref());
    out.list(
        "pwg:JobStateReasons",
        "pwg:JobStateReason",
        &job.job_state_reasons,
    );
    out.close("scan:JobInfo");
}

pub(crate) fn image_info(info: &ScanImageInfo) -> String {
    let mut out = document("scan:ScanImageInfo");
    out.opt("pwg:JobUri", info.job_uri.as_deref());
    out.opt("pwg:JobUuid", info.job_uuid.as_deref());
    out.leaf("scan:ActualWidth", &info.actual_width.to_string());
    out.leaf("scan:ActualHeight", &info.actual_height.to_string());
    out.opt("scan:ActualBytesPerLine", info.actual_bytes_per_line);
    out.opt_bool("scan:BlankPageDetected", info.blank_page_detected);
    out.finish()
}
