//! Element tree -> model. Names are matched by namespace URI (see [`crate::ns`]); unknown
//! elements, attributes and element order are ignored.

use crate::caps::{Adf, InputCaps, Justification, ScannerCapabilities, SettingProfile};
use crate::error::Error;
use crate::ns::{local_part, Element, Ns};
use crate::settings::{ScanRegion, ScanSettings};
use crate::status::{JobInfo, ScanImageInfo, ScannerStatus};
use crate::values::{ContentRegionUnits, Range, Resolution, ResolutionRange, SupportedResolutions};
use scanwire_xml::Limits;

/// Parses `xml` and checks that its root is `expected` (`scan:Name`).
fn root(xml: &[u8], limits: &Limits, expected: &'static str) -> Result<Element, Error> {
    // The root must be in the eSCL namespace, or in none at all for clients that forget the
    // declaration; a root of another namespace is another document type.
    let root_ok = |root: &Element| {
        if matches!(root.ns, Ns::Escl | Ns::None) && root.local == local_part(expected) {
            Ok(())
        } else {
            Err(Error::WrongRoot {
                found: root.display_name(),
                expected,
            })
        }
    };
    scanwire_xml::parse(xml, limits, &root_ok).map(|doc| doc.root)
}

pub(crate) fn capabilities(xml: &[u8], limits: &Limits) -> Result<ScannerCapabilities, Error> {
    let root = root(xml, limits, "scan:ScannerCapabilities")?;
    // HP Color Laser 179fnw declares profiles at the top level; input caps may then refer to
    // them with `<scan:SettingProfile ref="name"/>`.
    let shared: Vec<&Element> = root
        .children_named("scan:SettingProfiles")
        .flat_map(|p| p.children_named("scan:SettingProfile"))
        .collect();
    let caps_of = |parent: &str, caps: &str| -> Result<Option<InputCaps>, Error> {
        root.child(parent)
            .and_then(|p| p.child(caps))
            .map(|e| input_caps(e, &shared))
            .transpose()
    };
    let platen = caps_of("scan:Platen", "scan:PlatenInputCaps")?;
    let camera = caps_of("scan:Camera", "scan:CameraInputCaps")?;
    let adf = root
        .child("scan:Adf")
        .map(|e| adf(e, &shared))
        .transpose()?;
    let has_adf_caps = adf
        .as_ref()
        .is_some_and(|a| a.simplex.is_some() || a.duplex.is_some());
    if platen.is_none() && camera.is_none() && !has_adf_caps {
        return Err(Error::NoInputSource { line: root.line });
    }
    Ok(ScannerCapabilities {
        version: root.text_of("pwg:Version"),
        make_and_model: root.text_of("pwg:MakeAndModel"),
        serial_number: root.text_of("pwg:SerialNumber"),
        manufacturer: root.text_of("scan:Manufacturer"),
        uuid: root.text_of("scan:UUID"),
        admin_uri: root.text_of("scan:AdminURI"),
        icon_uri: root.text_of("scan:IconURI"),
        platen,
        adf,
        camera,
        compression_factor_support: opt_range(&root, "scan:CompressionFactorSupport")?,
        brightness_support: opt_range(&root, "scan:BrightnessSupport")?,
        contrast_support: opt_range(&root, "scan:ContrastSupport")?,
        gamma_support: opt_range(&root, "scan:GammaSupport")?,
        highlight_support: opt_range(&root, "scan:HighlightSupport")?,
        noise_removal_support: opt_range(&root, "scan:NoiseRemovalSupport")?,
        shadow_support: opt_range(&root, "scan:ShadowSupport")?,
        sharpen_support: opt_range(&root, "scan:SharpenSupport")?,
        threshold_support: opt_range(&root, "scan:ThresholdSupport")?,
        auto_crop: opt_bool(&root, "scan:AutoCrop")?,
        blank_page_detection: opt_bool(&root, "scan:BlankPageDetection")?,
        blank_page_detection_and_removal: opt_bool(&root, "scan:BlankPageDetectionAndRemoval")?,
        blank_page_sensitivity_support: opt_range(&root, "scan:BlankPageSensitivitySupport")?,
    })
}

fn adf(e: &Element, shared: &[&Element]) -> Result<Adf, Error> {
    let caps = |name: &str| e.child(name).map(|c| input_caps(c, shared)).transpose();
    Ok(Adf {
        simplex: caps("scan:AdfSimplexInputCaps")?,
        duplex: caps("scan:AdfDuplexInputCaps")?,
        feeder_capacity: opt_u32(e, "scan:FeederCapacity")?,
        options: list(e, "scan:AdfOptions", &["scan:AdfOption"]),
        justification: e.child("scan:Justification").map(|j| Justification {
            x: value(j, "pwg:XImagePosition"),
            y: value(j, "pwg:YImagePosition"),
        }),
    })
}

fn input_caps(e: &Element, shared: &[&Element]) -> Result<InputCaps, Error> {
    let mut setting_profiles = Vec::new();
    for p in e
        .children_named("scan:SettingProfiles")
        .flat_map(|p| p.children_named("scan:SettingProfile"))
    {
        setting_profiles.push(setting_profile(resolve_ref(p, shared)?)?);
    }
    Ok(InputCaps {
        min_width: opt_u32(e, "scan:MinWidth")?,
        max_width: req_u32(e, "scan:MaxWidth")?,
        min_height: opt_u32(e, "scan:MinHeight")?,
        max_height: req_u32(e, "scan:MaxHeight")?,
        min_page_width: opt_u32(e, "scan:MinPageWidth")?,
        min_page_height: opt_u32(e, "scan:MinPageHeight")?,
        max_x_offset: opt_u32(e, "scan:MaxXOffset")?,
        max_y_offset: opt_u32(e, "scan:MaxYOffset")?,
        max_physical_width: opt_u32(e, "scan:MaxPhysicalWidth")?,
        max_physical_height: opt_u32(e, "scan:MaxPhysicalHeight")?,
        max_scan_regions: opt_u32(e, "scan:MaxScanRegions")?,
        max_optical_x_resolution: opt_u32(e, "scan:MaxOpticalXResolution")?,
        max_optical_y_resolution: opt_u32(e, "scan:MaxOpticalYResolution")?,
        risky_left_margin: opt_u32(e, "scan:RiskyLeftMargin")?,
        risky_right_margin: opt_u32(e, "scan:RiskyRightMargin")?,
        risky_top_margin: opt_u32(e, "scan:RiskyTopMargin")?,
        risky_bottom_margin: opt_u32(e, "scan:RiskyBottomMargin")?,
        setting_profiles,
        // Devices use both spellings (Kyocera: SupportedIntent).
        supported_intents: list(
            e,
            "scan:SupportedIntents",
            &["scan:Intent", "scan:SupportedIntent"],
        ),
        // Kyocera's ADF caps misspell the children as FeedDirections.
        feed_directions: list(
            e,
            "scan:FeedDirections",
            &["scan:FeedDirection", "scan:FeedDirections"],
        ),
    })
}

/// Follows `ref="name"` of a SettingProfile to a top-level profile with that `name`.
fn resolve_ref<'a>(p: &'a Element, shared: &[&'a Element]) -> Result<&'a Element, Error> {
    let Some(wanted) = p.attr("ref") else {
        return Ok(p);
    };
    shared
        .iter()
        .copied()
        .find(|s| s.attr("name") == Some(wanted))
        .ok_or_else(|| {
            let names: Vec<String> = shared
                .iter()
                .filter_map(|s| s.attr("name"))
                .map(|n| format!("{n:?}"))
                .collect();
            Error::BadValue {
                element: format!("{}@ref", p.display_name()),
                value: wanted.to_owned(),
                expected: if names.is_empty() {
                    "the name of a top-level scan:SettingProfile (there is none)".to_owned()
                } else {
                    format!(
                        "the name of a top-level scan:SettingProfile: {}",
                        names.join(", ")
                    )
                },
                line: p.line,
            }
        })
}

fn setting_profile(e: &Element) -> Result<SettingProfile, Error> {
    let mut supported_resolutions = SupportedResolutions::default();
    for sr in e.children_named("scan:SupportedResolutions") {
        for d in sr
            .children_named("scan:DiscreteResolutions")
            .flat_map(|d| d.children_named("scan:DiscreteResolution"))
        {
            supported_resolutions.discrete.push(Resolution {
                x: req_u32(d, "scan:XResolution")?,
                y: req_u32(d, "scan:YResolution")?,
            });
        }
        for r in sr.children_named("scan:ResolutionRange") {
            // sane-airscan looks for XResolution inside ResolutionRange; accept both spellings.
            let axis = |range_name: &'static str, plain: &str| -> Result<Range, Error> {
                match r.child(range_name).or_else(|| r.child(plain)) {
                    Some(a) => range(a),
                    None => Err(Error::from(r.missing(range_name))),
                }
            };
            supported_resolutions.ranges.push(ResolutionRange {
                x: axis("scan:XResolutionRange", "scan:XResolution")?,
                y: axis("scan:YResolutionRange", "scan:YResolution")?,
            });
        }
    }
    let formats = e.child("scan:DocumentFormats");
    Ok(SettingProfile {
        color_modes: list(e, "scan:ColorModes", &["scan:ColorMode"]),
        content_types: list(e, "scan:ContentTypes", &["pwg:ContentType"]),
        document_formats: formats.map_or_else(Vec::new, |f| texts(f, "pwg:DocumentFormat")),
        document_format_exts: formats.map_or_else(Vec::new, |f| texts(f, "scan:DocumentFormatExt")),
        supported_resolutions,
        color_spaces: list(e, "scan:ColorSpaces", &["scan:ColorSpace"]),
        ccd_channels: list(e, "scan:CcdChannels", &["scan:CcdChannel"]),
        binary_renderings: list(e, "scan:BinaryRenderings", &["scan:BinaryRendering"]),
    })
}

pub(crate) fn settings(xml: &[u8], limits: &Limits) -> Result<ScanSettings, Error> {
    let root = root(xml, limits, "scan:ScanSettings")?;
    let regions = root.child("pwg:ScanRegions");
    let scan_regions = regions
        .map(|r| {
            r.children_named("pwg:ScanRegion")
                .map(scan_region)
                .collect()
        })
        .transpose()?
        .unwrap_or_default();
    let scan_regions_must_honor = match regions.and_then(|r| r.attr("MustHonor")) {
        Some(v) => Some(parse_bool(v).ok_or_else(|| Error::BadValue {
            element: "pwg:ScanRegions@pwg:MustHonor".into(),
            value: v.to_owned(),
            expected: BOOL_VALUES.into(),
            line: regions.map_or(0, |r| r.line),
        })?),
        None => None,
    };
    Ok(ScanSettings {
        version: root.text_of("pwg:Version"),
        intent: value(&root, "scan:Intent"),
        scan_regions,
        scan_regions_must_honor,
        input_source: value(&root, "pwg:InputSource"),
        color_mode: value(&root, "scan:ColorMode"),
        document_format: root.text_of("pwg:DocumentFormat"),
        document_format_ext: root.text_of("scan:DocumentFormatExt"),
        x_resolution: opt_u32(&root, "scan:XResolution")?,
        y_resolution: opt_u32(&root, "scan:YResolution")?,
        duplex: opt_bool(&root, "scan:Duplex")?,
        compression_factor: opt_i32(&root, "scan:CompressionFactor")?,
        content_type: value(&root, "scan:ContentType"),
        feed_direction: value(&root, "scan:FeedDirection"),
        color_space: value(&root, "scan:ColorSpace"),
        ccd_channel: value(&root, "scan:CcdChannel"),
        binary_rendering: value(&root, "scan:BinaryRendering"),
        brightness: opt_i32(&root, "scan:Brightness")?,
        contrast: opt_i32(&root, "scan:Contrast")?,
        gamma: opt_i32(&root, "scan:Gamma")?,
        highlight: opt_i32(&root, "scan:Highlight")?,
        noise_removal: opt_i32(&root, "scan:NoiseRemoval")?,
        shadow: opt_i32(&root, "scan:Shadow")?,
        sharpen: opt_i32(&root, "scan:Sharpen")?,
        threshold: opt_i32(&root, "scan:Threshold")?,
        auto_crop: opt_bool(&root, "scan:AutoCrop")?,
        blank_page_detection: opt_bool(&root, "scan:BlankPageDetection")?,
        blank_page_detection_and_removal: opt_bool(&root, "scan:BlankPageDetectionAndRemoval")?,
        blank_page_sensitivity: opt_i32(&root, "scan:BlankPageSensitivity")?,
        concat_if_possible: opt_bool(&root, "scan:ConcatIfPossible")?,
    })
}

fn scan_region(e: &Element) -> Result<ScanRegion, Error> {
    Ok(ScanRegion {
        units: value(e, "pwg:ContentRegionUnits")
            .unwrap_or(ContentRegionUnits::ThreeHundredthsOfInches),
        x_offset: opt_u32(e, "pwg:XOffset")?.unwrap_or(0),
        y_offset: opt_u32(e, "pwg:YOffset")?.unwrap_or(0),
        width: req_u32(e, "pwg:Width")?,
        height: req_u32(e, "pwg:Height")?,
    })
}

pub(crate) fn status(xml: &[u8], limits: &Limits) -> Result<ScannerStatus, Error> {
    let root = root(xml, limits, "scan:ScannerStatus")?;
    let state = root.required("pwg:State")?;
    let jobs = root
        .children_named("scan:Jobs")
        .flat_map(|j| j.children_named("scan:JobInfo"))
        .map(job_info)
        .collect::<Result<_, _>>()?;
    Ok(ScannerStatus {
        version: root.text_of("pwg:Version"),
        state: state.text.as_str().into(),
        adf_state: value(&root, "scan:AdfState"),
        jobs,
    })
}

fn job_info(e: &Element) -> Result<JobInfo, Error> {
    Ok(JobInfo {
        job_uri: e.required("pwg:JobUri")?.text.clone(),
        job_uuid: e.text_of("pwg:JobUuid"),
        age: opt_u32(e, "scan:Age")?,
        images_completed: opt_u32(e, "pwg:ImagesCompleted")?,
        images_to_transfer: opt_u32(e, "pwg:ImagesToTransfer")?,
        job_state: value(e, "pwg:JobState"),
        job_state_reasons: list(e, "pwg:JobStateReasons", &["pwg:JobStateReason"]),
    })
}

pub(crate) fn image_info(xml: &[u8], limits: &Limits) -> Result<ScanImageInfo, Error> {
    let root = root(xml, limits, "scan:ScanImageInfo")?;
    Ok(ScanImageInfo {
        job_uri: root.text_of("pwg:JobUri"),
        job_uuid: root.text_of("pwg:JobUuid"),
        actual_width: req_u32(&root, "scan:ActualWidth")?,
        actual_height: req_u32(&root, "scan:ActualHeight")?,
        actual_bytes_per_line: opt_u32(&root, "scan:ActualBytesPerLine")?,
        blank_page_detected: opt_bool(&root, "scan:BlankPageDetected")?,
    })
}

// ---- helpers ---------------------------------------------------------------------------------

fn texts(parent: &Element, name: &str) -> Vec<String> {
    parent
        .children_named(name)
        .map(|e| e.text.clone())
        .collect()
}

/// An optional enumerated leaf; empty counts as absent, like [`text`].
fn value<T: for<'a> From<&'a str>>(parent: &Element, name: &str) -> Option<T> {
    parent
        .child(name)
        .filter(|e| !e.text.is_empty())
        .map(|e| T::from(e.text.as_str()))
}

/// Values of `container/item` for every `item` spelling, in document order.
fn list<T: for<'a> From<&'a str>>(parent: &Element, container: &str, items: &[&str]) -> Vec<T> {
    parent
        .children_named(container)
        .flat_map(|c| c.children.iter())
        .filter(|c| items.iter().any(|name| c.is(name)))
        .map(|c| T::from(c.text.as_str()))
        .collect()
}

/// An integer; an integral decimal such as `25.0` is accepted too (Brother and HP write ranges
/// that way).
fn parse_int(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let looks_decimal = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
    let f: f64 = text.parse().ok().filter(|_| looks_decimal)?;
    // 2^53: beyond it f64 no longer holds every integer.
    (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then_some(f as i64)
}

fn number<T: TryFrom<i64>>(e: &Element, expected: &'static str) -> Result<T, Error> {
    parse_int(&e.text)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| Error::BadNumber {
            element: e.display_name(),
            value: e.text.clone(),
            expected,
            line: e.line,
        })
}

const U32_EXPECTED: &str = "an integer from 0 to 4294967295";
const I32_EXPECTED: &str = "an integer from -2147483648 to 2147483647";

fn req_u32(parent: &Element, name: &str) -> Result<u32, Error> {
    number(parent.required(name)?, U32_EXPECTED)
}

fn opt_u32(parent: &Element, name: &str) -> Result<Option<u32>, Error> {
    parent
        .child(name)
        .map(|e| number(e, U32_EXPECTED))
        .transpose()
}

fn opt_i32(parent: &Element, name: &str) -> Result<Option<i32>, Error> {
    parent
        .child(name)
        .map(|e| number(e, I32_EXPECTED))
        .transpose()
}

const BOOL_VALUES: &str = "true, false, 1 or 0";

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        t if t.eq_ignore_ascii_case("true") || t == "1" => Some(true),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Some(false),
        _ => None,
    }
}

fn opt_bool(parent: &Element, name: &str) -> Result<Option<bool>, Error> {
    parent
        .child(name)
        .map(|e| {
            parse_bool(&e.text).ok_or_else(|| Error::BadValue {
                element: e.display_name(),
                value: e.text.clone(),
                expected: BOOL_VALUES.into(),
                line: e.line,
            })
        })
        .transpose()
}

fn range(e: &Element) -> Result<Range, Error> {
    Ok(Range {
        min: number(e.required("scan:Min")?, I32_EXPECTED)?,
        max: number(e.required("scan:Max")?, I32_EXPECTED)?,
        normal: opt_i32(e, "scan:Normal")?,
        step: opt_i32(e, "scan:Step")?,
    })
}

fn opt_range(parent: &Element, name: &str) -> Result<Option<Range>, Error> {
    parent.child(name).map(range).transpose()
}
