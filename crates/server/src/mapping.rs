//! The mapping between Scanwire's device model and eSCL's wire model, in both directions:
//! [`capabilities`] turns a device's [`Capabilities`] into `scan:ScannerCapabilities`, and
//! [`job_request`] turns a client's `scan:ScanSettings` into a [`ScanRequest`] plus the format
//! to serve, filling in what clients leave out.

use crate::config::Limits;
use scanwire_codecs::Format;
use scanwire_core::device::{
    Area, Capabilities, ColorMode, DeviceInfo, Length, LevelRange, OptionValue, PixelFormat,
    ScanRequest, Source, SourceCaps, UM_PER_INCH,
};
use scanwire_escl as escl;
use scanwire_imaging::{Blank, Crop, Processing, Sensitivity};
use std::collections::BTreeMap;

/// The formats every source offers; the server encodes them itself. PDF and TIFF hold every
/// page of a feeder job in one document.
pub const FORMATS: [&str; 4] = ["image/jpeg", "image/png", "application/pdf", "image/tiff"];

/// The format served when a client names none (every eSCL client decodes JPEG).
const DEFAULT_FORMAT: Format = Format::Jpeg;

/// Resolution used when a client names none, if the source has it (else the nearest).
const DEFAULT_DPI: u32 = 300;

/// Builds the `scan:ScannerCapabilities` document for a device.
///
/// Only discrete resolutions are written (Mopria crashes on ranges, sane-airscan cannot read
/// them); a feeder always gets `AdfSimplexInputCaps`, and duplex adds `AdfDuplexInputCaps`
/// (AirSane PR #130).
pub fn capabilities(
    info: &DeviceInfo,
    caps: &Capabilities,
    uuid: &str,
) -> escl::ScannerCapabilities {
    let make_and_model = if info.vendor.is_empty() || caps.model.starts_with(&info.vendor) {
        caps.model.clone()
    } else {
        format!("{} {}", info.vendor, caps.model)
    };
    let simplex = caps.source(Source::Feeder);
    let duplex = caps.source(Source::FeederDuplex);
    let adf = (simplex.is_some() || duplex.is_some()).then(|| escl::Adf {
        // A device with only a duplex feeder still gets simplex caps: clients look for them.
        simplex: simplex.or(duplex).map(input_caps),
        duplex: duplex.map(input_caps),
        feeder_capacity: simplex.or(duplex).and_then(|s| s.feeder_capacity),
        options: if duplex.is_some() {
            vec![escl::AdfOption::Duplex]
        } else {
            Vec::new()
        },
        justification: Some(escl::Justification {
            x: Some(escl::ImagePosition::Left),
            y: Some(escl::ImagePosition::Top),
        }),
    });
    escl::ScannerCapabilities {
        version: Some("2.63".into()),
        make_and_model: Some(make_and_model),
        // Stable per device id, like the UUID; the real serial is not part of the device model.
        serial_number: Some(uuid.split('-').next_back().unwrap_or(uuid).to_string()),
        manufacturer: (!info.vendor.is_empty()).then(|| info.vendor.clone()),
        uuid: Some(uuid.to_string()),
        platen: caps.source(Source::Flatbed).map(input_caps),
        adf,
        compression_factor_support: Some(escl::Range {
            min: COMPRESSION_LINK,
            max: COMPRESSION_STORAGE,
            normal: Some(COMPRESSION_LINK),
            step: Some(1),
        }),
        // Every device gets Scanwire's own stages (or its own, where it has them).
        auto_crop: Some(true),
        blank_page_detection: Some(true),
        blank_page_detection_and_removal: Some(true),
        blank_page_sensitivity_support: Some(wire_range(BLANK_SENSITIVITY)),
        brightness_support: Some(wire_range(LEVEL)),
        contrast_support: Some(wire_range(LEVEL)),
        ..escl::ScannerCapabilities::default()
    }
}

/// `BlankPageSensitivitySupport` as the Brother DS-940DW and HP ScanJet Pro 4500 advertise
/// it, so clients written for them send what they know; Normal is Scanwire's 50.
pub const BLANK_SENSITIVITY: LevelRange = LevelRange {
    min: 0,
    max: 255,
    normal: 128,
    step: 1,
};

/// `BrightnessSupport` and `ContrastSupport` as HP's scanners advertise them: WIA's
/// −1000..1000 shifted by 1000, so no value is lost either way.
pub const LEVEL: LevelRange = LevelRange {
    min: 0,
    max: 2000,
    normal: 1000,
    step: 1,
};

fn wire_range(r: LevelRange) -> escl::Range {
    escl::Range {
        min: r.min,
        max: r.max,
        normal: Some(r.normal),
        step: Some(r.step),
    }
}

/// `ceil(length in 1/300 inch)`, for minimums.
fn ceil_300ths(l: Length) -> u32 {
    (l.0 as u64 * 300).div_ceil(UM_PER_INCH) as u32
}

fn input_caps(s: &SourceCaps) -> escl::InputCaps {
    // Rounded to nearest, as clients compute pixels (297 mm: 3508/300 in, 3508 lines at
    // 300 dpi); `region` takes back the fraction a full-size request overshoots.
    let max_w = s.max_area.right().to_300ths();
    let max_h = s.max_area.bottom().to_300ths();
    let min_w = ceil_300ths(s.min_size.0).max(1);
    let min_h = ceil_300ths(s.min_size.1).max(1);
    let dpis = s.resolutions.to_discrete();
    let max_dpi = dpis.iter().copied().max().unwrap_or(0);
    escl::InputCaps {
        min_width: Some(min_w),
        max_width: max_w,
        min_height: Some(min_h),
        max_height: max_h,
        max_x_offset: Some(max_w.saturating_sub(min_w)),
        max_y_offset: Some(max_h.saturating_sub(min_h)),
        max_physical_width: Some(max_w),
        max_physical_height: Some(max_h),
        max_scan_regions: Some(1),
        max_optical_x_resolution: Some(max_dpi),
        max_optical_y_resolution: Some(max_dpi),
        setting_profiles: vec![escl::SettingProfile {
            color_modes: s.modes.iter().filter_map(|m| wire_mode(*m)).collect(),
            content_types: vec![
                escl::ContentType::Photo,
                escl::ContentType::Text,
                escl::ContentType::TextAndPhoto,
            ],
            document_formats: FORMATS.iter().map(|f| f.to_string()).collect(),
            // Listing DocumentFormatExt too makes sane-airscan send both elements and
            // sane-backends' escl send only this one: both are handled.
            document_format_exts: FORMATS.iter().map(|f| f.to_string()).collect(),
            supported_resolutions: escl::SupportedResolutions {
                discrete: dpis
                    .iter()
                    .map(|&d| escl::Resolution { x: d, y: d })
                    .collect(),
                ranges: Vec::new(),
            },
            color_spaces: vec![escl::ColorSpace::Srgb],
            ..escl::SettingProfile::default()
        }],
        supported_intents: vec![
            escl::Intent::Document,
            escl::Intent::TextAndGraphic,
            escl::Intent::Photo,
            escl::Intent::Preview,
        ],
        ..escl::InputCaps::default()
    }
}

/// The eSCL name of a color mode.
pub fn wire_mode(m: ColorMode) -> Option<escl::ColorMode> {
    Some(match m {
        ColorMode::Lineart => escl::ColorMode::BlackAndWhite1,
        ColorMode::Gray => escl::ColorMode::Grayscale8,
        ColorMode::Gray16 => escl::ColorMode::Grayscale16,
        ColorMode::Color => escl::ColorMode::Rgb24,
        ColorMode::Color48 => escl::ColorMode::Rgb48,
    })
}

/// `scan:CompressionFactor` 0 (the default): PNG and lossless PDF pages compressed for the
/// link, at the server's `--deflate` effort (cheapest to encode and decode).
pub const COMPRESSION_LINK: i32 = 0;
/// `scan:CompressionFactor` 1: compressed as Scanwire stores files (zlib level 2 with
/// per-row filters), for a client that keeps the page as it comes. JPEG quality is the
/// server's either way.
pub const COMPRESSION_STORAGE: i32 = 1;

/// A job as the server will run it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRequest {
    /// What the device is asked for.
    pub request: ScanRequest,
    /// What the client gets.
    pub format: Format,
    /// Expected page size in pixels (width, height) and the raw layout.
    pub geometry: Geometry,
    /// Deflate for storage (`CompressionFactor` 1) rather than for the link.
    pub for_storage: bool,
    /// The processing the client asked for that the device does not do itself: the job's
    /// own stages do it. (What the device does is in `request.processing`.)
    pub local: Processing,
    /// `BlankPageDetection` without removal: each page is checked at this sensitivity and
    /// still delivered; `ScanImageInfo` says whether it was blank.
    pub detect_blank: Option<Sensitivity>,
}

/// The size of the pages a request produces.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Raw sample layout.
    pub pixel: PixelFormat,
}

impl Geometry {
    /// Raw bytes of one page.
    pub fn raw_bytes(&self) -> u64 {
        self.pixel.bytes_per_line(self.width) as u64 * self.height as u64
    }
}

/// Why a ScanSettings request cannot run on this device: eSCL's 409 Conflict.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Conflict(pub String);

/// 1/300 inch to micrometres, saturating instead of wrapping, so an absurd region is reported
/// as too large rather than folded into a small one.
fn from_300ths(n: u32) -> Length {
    Length(((n as u64 * UM_PER_INCH + 150) / 300).min(u32::MAX as u64) as u32)
}

/// Turns a client's ScanSettings into a request for `caps`, defaulting what is missing:
/// no source → the device's first; no color mode → the source's first; no resolution → 300
/// dpi (or the nearest the source has); no region → the whole area; no format → JPEG;
/// `Duplex` only matters for the feeder. Then checks the request against the device
/// ([`ScanRequest::validate`]) and the server's `limits`.
pub fn job_request(
    s: &escl::ScanSettings,
    caps: &Capabilities,
    options: &BTreeMap<String, OptionValue>,
    limits: &Limits,
) -> Result<JobRequest, Conflict> {
    let source = match (&s.input_source, s.duplex) {
        (None, Some(true)) => Source::FeederDuplex,
        (None, _) => caps
            .default_source()
            .ok_or_else(|| Conflict(format!("{} has no input source", caps.model)))?,
        (Some(escl::InputSource::Platen), _) => Source::Flatbed,
        (Some(escl::InputSource::Feeder), Some(true)) => Source::FeederDuplex,
        (Some(escl::InputSource::Feeder), _) => Source::Feeder,
        (Some(other), _) => {
            return Err(Conflict(format!(
                "input source {other} is not supported; allowed: {}",
                sources_list(caps)
            )))
        }
    };
    let Some(sc) = caps.source(source) else {
        return Err(Conflict(format!(
            "input source {} is not available on {}; available: {}",
            wire_source(source),
            caps.model,
            sources_list(caps)
        )));
    };
    let mode = match &s.color_mode {
        None => *sc
            .modes
            .first()
            .ok_or_else(|| Conflict(format!("{} offers no color mode", caps.model)))?,
        Some(m) => core_mode(m, sc).ok_or_else(|| {
            Conflict(format!(
                "color mode {m} is not supported by {} {}; allowed: {}",
                caps.model,
                wire_source(source),
                modes_list(sc)
            ))
        })?,
    };
    let dpi = match (s.x_resolution, s.y_resolution) {
        (Some(x), Some(y)) if x != y => {
            return Err(Conflict(format!(
                "XResolution {x} and YResolution {y} differ; this scanner needs equal values"
            )))
        }
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => sc.resolutions.nearest(DEFAULT_DPI).unwrap_or(DEFAULT_DPI),
    };
    let area = match s.scan_regions.as_slice() {
        [] => None,
        [r] => Some(region(r, sc)?),
        more => {
            return Err(Conflict(format!(
                "{} scan regions were sent; this scanner scans one (MaxScanRegions 1)",
                more.len()
            )))
        }
    };
    let format = match s.format() {
        None => DEFAULT_FORMAT,
        Some(mime) => format_for(mime).ok_or_else(|| {
            Conflict(format!(
                "document format {mime:?} is not supported; allowed: {}",
                FORMATS.join(", ")
            ))
        })?,
    };
    let for_storage = match s.compression_factor {
        None | Some(COMPRESSION_LINK) => false,
        Some(COMPRESSION_STORAGE) => true,
        Some(n) => {
            return Err(Conflict(format!(
                "CompressionFactor {n} is not supported; allowed: {COMPRESSION_LINK} (pages \
                 compressed for the network) or {COMPRESSION_STORAGE} (compressed for storage)"
            )))
        }
    };
    let wanted = processing(s)?;
    let (on_device, local) = wanted.split(&caps.processing);
    let request = ScanRequest {
        source,
        mode,
        resolution: dpi,
        area,
        pages: None,
        encoding: None,
        options: options.clone(),
        processing: on_device,
    };
    request
        .validate(caps)
        .map_err(|e| Conflict(e.to_string()))?;
    let a = request.effective_area(caps).unwrap_or_default();
    let geometry = Geometry {
        width: a.width.to_pixels(dpi),
        height: a.height.to_pixels(dpi),
        pixel: PixelFormat::for_mode(mode),
    };
    check_limits(&geometry, format, dpi, limits)?;
    Ok(JobRequest {
        request,
        format,
        geometry,
        for_storage,
        local,
        detect_blank: blank_detection(s)?,
    })
}

/// `BlankPageDetection` without `BlankPageDetectionAndRemoval`: the sensitivity to check
/// pages at (removal includes detection, and drops the pages instead).
pub fn blank_detection(s: &escl::ScanSettings) -> Result<Option<Sensitivity>, Conflict> {
    if s.blank_page_detection != Some(true) || s.blank_page_detection_and_removal == Some(true) {
        return Ok(None);
    }
    let p = processing(&escl::ScanSettings {
        blank_page_detection_and_removal: Some(true),
        ..s.clone()
    })?;
    Ok(Some(p.sensitivity))
}

/// The processing elements of a ScanSettings as Scanwire's [`Processing`] (see [`LEVEL`]
/// and [`BLANK_SENSITIVITY`] for the advertised ranges); a value outside them is a 409
/// naming the range. `AutoCrop` is the sheet found, straightened and cropped
/// ([`Crop::Paper`] with deskew); `BlankPageDetectionAndRemoval` drops blank pages ([`Blank::Skip`]) at
/// `BlankPageSensitivity`. `BlankPageDetection` alone (pages checked, still delivered,
/// reported in `ScanImageInfo`) is [`blank_detection`]'s. A brightness or contrast at Normal
/// asks for nothing.
pub fn processing(s: &escl::ScanSettings) -> Result<Processing, Conflict> {
    let in_range = |name: &str, v: i32, r: LevelRange| {
        if (r.min..=r.max).contains(&v) {
            Ok(v)
        } else {
            Err(Conflict(format!(
                "{name} {v} is out of range; allowed: {}..{} (normal {})",
                r.min, r.max, r.normal
            )))
        }
    };
    let blank = if s.blank_page_detection_and_removal == Some(true) {
        Blank::Skip
    } else {
        Blank::Keep
    };
    let sensitivity = match s.blank_page_sensitivity {
        Some(v) => {
            let v = in_range("BlankPageSensitivity", v, BLANK_SENSITIVITY)?;
            Sensitivity::new(BLANK_SENSITIVITY.to_percent(v) as u32)
                .map_err(|e| Conflict(e.to_string()))?
        }
        None => Sensitivity::default(),
    };
    let level = |name: &str, v: Option<i32>| -> Result<i32, Conflict> {
        v.map_or(Ok(0), |v| in_range(name, v, LEVEL).map(|v| LEVEL.to_wia(v)))
    };
    Ok(Processing {
        brightness: level("Brightness", s.brightness)?,
        contrast: level("Contrast", s.contrast)?,
        // "The scanner should deskew the image, and crop to the detected edges" (HP's eSCL
        // SDK): the sheet's own edges give the angle.
        crop: if s.auto_crop == Some(true) {
            Crop::Paper
        } else {
            Crop::Off
        },
        deskew: s.auto_crop == Some(true),
        blank,
        sensitivity: if blank == Blank::Keep {
            Sensitivity::default()
        } else {
            sensitivity
        },
        ..Processing::default()
    })
}

/// Refuses pages the server will not produce, before anything is allocated or scanned.
pub(crate) fn check_limits(
    g: &Geometry,
    format: Format,
    dpi: u32,
    limits: &Limits,
) -> Result<(), Conflict> {
    let raw = g.raw_bytes();
    if raw > limits.max_page_bytes {
        return Err(Conflict(format!(
            "the page would be {} x {} pixels at {dpi} dpi ({} MB raw), more than this \
             server's limit of {} MB per page; scan a smaller region or at a lower resolution",
            g.width,
            g.height,
            raw.div_ceil(1_000_000),
            limits.max_page_bytes / 1_000_000
        )));
    }
    // Baseline JPEG stores sizes in 16 bits.
    const JPEG_MAX: u32 = 65_535;
    if matches!(format, Format::Jpeg | Format::Pdf) && (g.width > JPEG_MAX || g.height > JPEG_MAX) {
        return Err(Conflict(format!(
            "the page would be {} x {} pixels, but JPEG holds at most {JPEG_MAX} x {JPEG_MAX}; \
             choose image/png or a lower resolution",
            g.width, g.height
        )));
    }
    Ok(())
}

/// The area of one `pwg:ScanRegion`. An edge that lies less than 1/300 inch past the
/// source's area is clamped to it: clients compute regions from the advertised maximum in
/// whole 1/300 inch and may round up.
fn region(r: &escl::ScanRegion, sc: &SourceCaps) -> Result<Area, Conflict> {
    if r.units != escl::ContentRegionUnits::ThreeHundredthsOfInches {
        return Err(Conflict(format!(
            "region units {} are not supported; allowed: escl:ThreeHundredthsOfInches",
            r.units
        )));
    }
    let tolerance = from_300ths(1).0;
    let clamp = |value: Length, max: Length| {
        if value > max && value.0 - max.0 < tolerance {
            max
        } else {
            value
        }
    };
    let left = from_300ths(r.x_offset);
    let top = from_300ths(r.y_offset);
    let right = clamp(
        Length((left.0 as u64 + from_300ths(r.width).0 as u64).min(u32::MAX as u64) as u32),
        sc.max_area.right(),
    );
    let bottom = clamp(
        Length((top.0 as u64 + from_300ths(r.height).0 as u64).min(u32::MAX as u64) as u32),
        sc.max_area.bottom(),
    );
    Ok(Area {
        left,
        top,
        width: Length(right.0.saturating_sub(left.0)),
        height: Length(bottom.0.saturating_sub(top.0)),
    })
}

fn core_mode(m: &escl::ColorMode, sc: &SourceCaps) -> Option<ColorMode> {
    let wanted = match m {
        escl::ColorMode::BlackAndWhite1 => ColorMode::Lineart,
        escl::ColorMode::Grayscale8 => ColorMode::Gray,
        escl::ColorMode::Grayscale16 => ColorMode::Gray16,
        escl::ColorMode::Rgb24 => ColorMode::Color,
        escl::ColorMode::Rgb48 => ColorMode::Color48,
        // The device cannot detect color: scan in color when it can.
        escl::ColorMode::AutoColorDetection => {
            return [ColorMode::Color, ColorMode::Gray]
                .into_iter()
                .find(|m| sc.modes.contains(m))
        }
        escl::ColorMode::Other(_) => return None,
    };
    sc.modes.contains(&wanted).then_some(wanted)
}

/// The format for a MIME type (parameters such as `;charset` are ignored).
pub fn format_for(mime: &str) -> Option<Format> {
    let base = mime.split(';').next().unwrap_or("").trim();
    match base.to_ascii_lowercase().as_str() {
        "image/jpeg" | "image/jpg" => Some(Format::Jpeg),
        "image/png" => Some(Format::Png),
        "application/pdf" => Some(Format::Pdf),
        "image/tiff" => Some(Format::Tiff),
        _ => None,
    }
}

fn wire_source(s: Source) -> &'static str {
    match s {
        Source::Flatbed => "Platen",
        Source::Feeder => "Feeder",
        Source::FeederDuplex => "Feeder (duplex)",
    }
}

fn sources_list(caps: &Capabilities) -> String {
    caps.sources
        .iter()
        .map(|s| wire_source(s.source))
        .collect::<Vec<_>>()
        .join(", ")
}

fn modes_list(sc: &SourceCaps) -> String {
    sc.modes
        .iter()
        .filter_map(|m| wire_mode(*m))
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::Resolutions;

    fn caps() -> Capabilities {
        let flatbed = SourceCaps {
            source: Source::Flatbed,
            modes: vec![ColorMode::Color, ColorMode::Gray, ColorMode::Lineart],
            resolutions: Resolutions::Range {
                min: 50,
                max: 9600,
                step: 1,
            },
            max_area: Area::sized(Length(215_900), Length(297_000)),
            min_size: (Length::mm(1), Length::mm(1)),
            encodings: vec![],
            raw: true,
            feeder_capacity: None,
        };
        let feeder = SourceCaps {
            source: Source::FeederDuplex,
            feeder_capacity: Some(50),
            ..flatbed.clone()
        };
        Capabilities {
            model: "test".into(),
            sources: vec![flatbed, feeder],
            processing: Default::default(),
        }
    }

    fn settings() -> escl::ScanSettings {
        escl::ScanSettings::default()
    }

    #[test]
    fn everything_left_out_gets_a_default() {
        let j = job_request(&settings(), &caps(), &BTreeMap::new(), &Limits::default()).unwrap();
        assert_eq!(j.request.source, Source::Flatbed);
        assert_eq!(j.request.mode, ColorMode::Color);
        assert_eq!(j.request.resolution, 300);
        assert_eq!(j.request.area, None);
        assert_eq!(j.format, Format::Jpeg);
        assert_eq!((j.geometry.width, j.geometry.height), (2550, 3508));
    }

    #[test]
    fn duplex_true_without_source_means_the_duplex_feeder() {
        let s = escl::ScanSettings {
            duplex: Some(true),
            ..settings()
        };
        let j = job_request(&s, &caps(), &BTreeMap::new(), &Limits::default()).unwrap();
        assert_eq!(j.request.source, Source::FeederDuplex);
    }

    #[test]
    fn a_region_rounded_up_past_the_edge_is_clamped() {
        // 297 mm = 3507.87/300 in; a client rounding to 3508 must not be refused.
        let s = escl::ScanSettings {
            scan_regions: vec![escl::ScanRegion::new(0, 0, 2550, 3508)],
            ..settings()
        };
        let j = job_request(&s, &caps(), &BTreeMap::new(), &Limits::default()).unwrap();
        assert_eq!(j.request.area.unwrap().bottom(), Length(297_000));
    }

    #[test]
    fn absurd_regions_are_refused_not_wrapped() {
        let s = escl::ScanSettings {
            scan_regions: vec![escl::ScanRegion::new(0, 0, u32::MAX, u32::MAX)],
            ..settings()
        };
        let e = job_request(&s, &caps(), &BTreeMap::new(), &Limits::default()).unwrap_err();
        assert!(e.0.contains("at most"), "{e}");
    }

    #[test]
    fn a_huge_page_is_refused_by_the_memory_limit() {
        let s = escl::ScanSettings {
            x_resolution: Some(9600),
            y_resolution: Some(9600),
            ..settings()
        };
        let e = job_request(&s, &caps(), &BTreeMap::new(), &Limits::default()).unwrap_err();
        assert!(e.0.contains("81600 x 112252 pixels"), "{e}");
        assert!(e.0.contains("limit of 1073 MB"), "{e}");
    }

    #[test]
    fn processing_elements_become_processing_in_wia_units() {
        let s = escl::ScanSettings {
            auto_crop: Some(true),
            blank_page_detection_and_removal: Some(true),
            blank_page_sensitivity: Some(255),
            brightness: Some(1250),
            contrast: Some(1000),
            ..settings()
        };
        let p = processing(&s).unwrap();
        assert_eq!((p.crop, p.deskew), (Crop::Paper, true));
        assert_eq!((p.blank, p.sensitivity.get()), (Blank::Skip, 100));
        assert_eq!((p.brightness, p.contrast), (250, 0));
        // The test device does nothing itself: everything runs as the job's stages.
        let j = job_request(&s, &caps(), &BTreeMap::new(), &Limits::default()).unwrap();
        assert!(j.request.processing.is_empty());
        assert_eq!(j.local, p);
        // A sensitivity without removal asks for nothing.
        let only = escl::ScanSettings {
            blank_page_sensitivity: Some(3),
            ..settings()
        };
        assert!(processing(&only).unwrap().is_none());
    }

    #[test]
    fn caps_are_discrete_with_simplex_and_duplex_feeder_caps() {
        let info = DeviceInfo {
            id: "t".into(),
            vendor: "Acme".into(),
            model: "test".into(),
            driver: "test",
        };
        let c = capabilities(&info, &caps(), "00000000-0000-0000-0000-000000000001");
        let adf = c.adf.as_ref().unwrap();
        assert!(adf.simplex.is_some() && adf.duplex.is_some());
        let p = &c.platen.as_ref().unwrap().setting_profiles[0];
        assert!(p.supported_resolutions.ranges.is_empty());
        assert!(p
            .supported_resolutions
            .discrete
            .contains(&escl::Resolution { x: 300, y: 300 }));
        assert_eq!(c.platen.as_ref().unwrap().max_height, 3508);
        assert_eq!(c.make_and_model.as_deref(), Some("Acme test"));
    }
}
