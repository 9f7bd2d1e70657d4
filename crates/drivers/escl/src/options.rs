//! The one mapping file: eSCL `ScannerCapabilities` → Scanwire [`Capabilities`], and a
//! [`ScanRequest`] → eSCL [`ScanSettings`](scanwire_escl::ScanSettings) plus the MIME type to ask for.
//!
//! Lengths on the wire are 1/300 inch; Scanwire keeps micrometres, so both directions go
//! through [`Length::from_300ths`] / [`Length::to_300ths`].

use scanwire_core::device::{
    Area, BlankPages, Capabilities, ColorMode, DeviceError, DeviceErrorKind, DeviceProcessing,
    Encoding, Length, LevelRange, Resolutions, ScanRequest, Source, SourceCaps,
};
use scanwire_escl as escl;

/// Maps a scanner's capabilities document. Sources with no color mode or resolution this
/// driver understands are left out; a device left with no source at all is an error.
pub fn capabilities(doc: &escl::ScannerCapabilities) -> Result<Capabilities, DeviceError> {
    let model = doc
        .make_and_model
        .clone()
        .filter(|m| !m.trim().is_empty())
        .or_else(|| doc.manufacturer.clone())
        .unwrap_or_else(|| "eSCL scanner".into());
    let capacity = doc.adf.as_ref().and_then(|a| a.feeder_capacity);
    let mut sources = Vec::new();
    if let Some(p) = &doc.platen {
        sources.extend(source_caps(Source::Flatbed, p, None));
    }
    if let Some(s) = doc.adf_simplex() {
        sources.extend(source_caps(Source::Feeder, s, capacity));
    }
    if let Some(adf) = &doc.adf {
        if adf.supports_duplex() {
            // Duplex caps when the device lists them (they can differ: OfficeJet Pro 6978),
            // else the simplex caps with the Duplex option.
            if let Some(d) = adf.duplex.as_ref().or(adf.simplex.as_ref()) {
                sources.extend(source_caps(Source::FeederDuplex, d, capacity));
            }
        }
    }
    if sources.is_empty() {
        return Err(DeviceError::new(
            DeviceErrorKind::Unsupported,
            format!("{model} lists no input source with a color mode and resolution this driver can use"),
        ));
    }
    Ok(Capabilities {
        model,
        sources,
        processing: processing(doc),
    })
}

/// What the scanner does to pages itself: the processing elements it advertises. A range
/// whose Max is below its Min is ignored (the device cannot be asked for a value in it).
pub fn processing(doc: &escl::ScannerCapabilities) -> DeviceProcessing {
    let level =
        |r: Option<&escl::Range>| r.and_then(|r| LevelRange::new(r.min, r.max, r.normal, r.step));
    DeviceProcessing {
        auto_crop: doc.auto_crop == Some(true),
        blank_detection: doc.blank_page_detection == Some(true),
        blank_removal: doc.blank_page_detection_and_removal == Some(true),
        blank_sensitivity: level(doc.blank_page_sensitivity_support.as_ref()),
        brightness: level(doc.brightness_support.as_ref()),
        contrast: level(doc.contrast_support.as_ref()),
    }
}

/// The ScanSettings elements for the processing `request` asks the device for (validated
/// against `caps`, so every element asked for is one the scanner advertised), in its units.
fn processing_settings(request: &ScanRequest, caps: &DeviceProcessing, s: &mut escl::ScanSettings) {
    let p = &request.processing;
    if p.auto_crop {
        s.auto_crop = Some(true);
    }
    match p.blank_pages {
        BlankPages::Keep => {}
        BlankPages::Detect => s.blank_page_detection = Some(true),
        BlankPages::Remove => s.blank_page_detection_and_removal = Some(true),
    }
    if p.blank_pages != BlankPages::Keep {
        if let (Some(v), Some(r)) = (p.blank_sensitivity, caps.blank_sensitivity) {
            s.blank_page_sensitivity = Some(r.from_percent(v));
        }
    }
    if let (Some(v), Some(r)) = (p.brightness.filter(|v| *v != 0), caps.brightness) {
        s.brightness = Some(r.from_wia(v));
    }
    if let (Some(v), Some(r)) = (p.contrast.filter(|v| *v != 0), caps.contrast) {
        s.contrast = Some(r.from_wia(v));
    }
}

fn source_caps(
    source: Source,
    caps: &escl::InputCaps,
    capacity: Option<u32>,
) -> Option<SourceCaps> {
    let mut modes = Vec::new();
    for m in caps.color_modes() {
        if let Some(m) = color_mode(&m) {
            if !modes.contains(&m) {
                modes.push(m);
            }
        }
    }
    let resolutions = resolutions(caps)?;
    if modes.is_empty() {
        return None;
    }
    let mut encodings = Vec::new();
    for f in caps.document_formats() {
        if let Some(e) = encoding(&f) {
            if !encodings.contains(&e) {
                encodings.push(e);
            }
        }
    }
    // Raw rows come from decoding what the scanner sends: PNG or JPEG.
    let raw = encodings.contains(&Encoding::Png) || encodings.contains(&Encoding::Jpeg);
    Some(SourceCaps {
        source,
        modes,
        resolutions,
        max_area: Area::sized(
            Length::from_300ths(caps.max_width),
            Length::from_300ths(caps.max_height),
        ),
        min_size: (
            Length::from_300ths(caps.min_width.unwrap_or(1).max(1)),
            Length::from_300ths(caps.min_height.unwrap_or(1).max(1)),
        ),
        encodings,
        raw,
        feeder_capacity: if source.is_feeder() { capacity } else { None },
    })
}

/// Square resolutions (X = Y; Scanwire has one resolution for both), discrete first; a range
/// when the device only lists ranges.
fn resolutions(caps: &escl::InputCaps) -> Option<Resolutions> {
    let mut square: Vec<u32> = caps
        .discrete_resolutions()
        .into_iter()
        .filter(|r| r.x == r.y && r.x > 0)
        .map(|r| r.x)
        .collect();
    square.sort_unstable();
    square.dedup();
    if !square.is_empty() {
        return Some(Resolutions::Discrete(square));
    }
    let range = caps
        .setting_profiles
        .iter()
        .flat_map(|p| p.supported_resolutions.ranges.iter())
        .next()?;
    let min = u32::try_from(range.x.min.max(range.y.min)).ok()?.max(1);
    let max = u32::try_from(range.x.max.min(range.y.max)).ok()?;
    let step = range
        .x
        .step
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(1)
        .max(1);
    (max >= min).then_some(Resolutions::Range { min, max, step })
}

/// A wire color mode in Scanwire's terms (`None` for AutoColorDetection and vendor values).
pub fn color_mode(m: &escl::ColorMode) -> Option<ColorMode> {
    Some(match m {
        escl::ColorMode::BlackAndWhite1 => ColorMode::Lineart,
        escl::ColorMode::Grayscale8 => ColorMode::Gray,
        escl::ColorMode::Grayscale16 => ColorMode::Gray16,
        escl::ColorMode::Rgb24 => ColorMode::Color,
        escl::ColorMode::Rgb48 => ColorMode::Color48,
        _ => return None,
    })
}

fn wire_mode(m: ColorMode) -> escl::ColorMode {
    match m {
        ColorMode::Lineart => escl::ColorMode::BlackAndWhite1,
        ColorMode::Gray => escl::ColorMode::Grayscale8,
        ColorMode::Gray16 => escl::ColorMode::Grayscale16,
        ColorMode::Color => escl::ColorMode::Rgb24,
        ColorMode::Color48 => escl::ColorMode::Rgb48,
    }
}

/// The encoding a MIME type names (parameters such as `; charset` ignored): the drivers'
/// shared reading.
pub use scanwire_network::encoding_of_mime as encoding;

/// What to ask the scanner for, and what the driver then hands on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPlan {
    /// The POST body.
    pub settings: escl::ScanSettings,
    /// The format requested from the scanner.
    pub wire: Encoding,
    /// Pass pages through as they arrive (`true`) or decode them to rows (`false`).
    pub pass_through: bool,
}

/// Maps a validated request to the job to post. What to receive is the drivers' shared choice
/// ([`mod@scanwire_network::wire`]): raw rows decoded from PNG when the source offers it, else from
/// JPEG; an asked-for encoding passed through. A PNG the
/// application keeps as it comes is asked for at the scanner's highest `CompressionFactor`
/// (`compression`, from its capabilities): lossless either way, so the most compact. Other
/// requests leave the factor to the scanner.
pub fn job_plan(
    request: &ScanRequest,
    caps: &Capabilities,
    version: Option<&str>,
    compression: Option<&escl::Range>,
) -> Result<JobPlan, DeviceError> {
    let scanwire_network::Wire {
        source: sc,
        encoding: wire,
        pass_through,
    } = scanwire_network::wire(request, caps)?;
    let area = request.effective_area(caps).unwrap_or(sc.max_area);
    // Rounded to the nearest 1/300 inch, clamped to the source so a full-page request
    // never overshoots by a rounding step.
    let max_w = sc.max_area.right().to_300ths();
    let max_h = sc.max_area.bottom().to_300ths();
    let x = area.left.to_300ths().min(max_w);
    let y = area.top.to_300ths().min(max_h);
    let w = area
        .width
        .to_300ths()
        .clamp(1, max_w.saturating_sub(x).max(1));
    let h = area
        .height
        .to_300ths()
        .clamp(1, max_h.saturating_sub(y).max(1));
    let mime = wire.mime().to_string();
    let mut settings = escl::ScanSettings {
        version: Some(version.unwrap_or("2.0").to_string()),
        intent: Some(match request.mode {
            ColorMode::Color | ColorMode::Color48 => escl::Intent::Photo,
            _ => escl::Intent::Document,
        }),
        scan_regions: vec![escl::ScanRegion::new(x, y, w, h)],
        input_source: Some(if request.source.is_feeder() {
            escl::InputSource::Feeder
        } else {
            escl::InputSource::Platen
        }),
        color_mode: Some(wire_mode(request.mode)),
        // Both elements, as sane-airscan sends them: older devices read only the first,
        // Windows-era servers only the second.
        document_format: Some(mime.clone()),
        document_format_ext: Some(mime),
        x_resolution: Some(request.resolution),
        y_resolution: Some(request.resolution),
        duplex: request
            .source
            .is_feeder()
            .then_some(request.source == Source::FeederDuplex),
        compression_factor: compression
            .filter(|_| pass_through && wire == Encoding::Png)
            .map(|r| r.max),
        ..escl::ScanSettings::default()
    };
    processing_settings(request, &caps.processing, &mut settings);
    Ok(JobPlan {
        settings,
        wire,
        pass_through,
    })
}
