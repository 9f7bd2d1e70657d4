//! The mapping between Scanwire's device model and WS-Scan's, in both directions:
//! [`elements`] describes a device as `ScannerDescription`/`ScannerConfiguration`/
//! `DefaultScanTicket`, [`status`] turns the device entry's state into a `ScannerStatus`, and
//! [`job_request`] turns a client's `ScanTicket` into the same [`JobRequest`] an eSCL job runs.
//!
//! Units on the wire are thousandths of an inch (sizes, regions) and dpi.

use crate::config::Limits;
use crate::mapping::{check_limits, Geometry, JobRequest};
use scanwire_codecs::Format as Encoding;
use scanwire_core::device::{
    Area, Capabilities, ColorMode, Length, OptionValue, PixelFormat, ScanRequest, Source,
    SourceCaps,
};
use scanwire_escl as escl;
use scanwire_wsd::{
    Adf, ColorEntry, DeviceCondition, DeviceSettings, DocumentParameters, Format, ImageInfo,
    InputCaps, InputSource, JobDescription, MediaSide, Range, Region, ScanTicket,
    ScannerConfiguration, ScannerDescription, ScannerState, ScannerStatus, Size,
};
use std::collections::BTreeMap;

/// The formats every source offers; the server encodes them itself. `jfif` first: it is what
/// sane-airscan asks for. `pdf-a` holds every page of a feeder job in one document.
pub(crate) const FORMATS: [Format; 4] = [Format::Jfif, Format::Exif, Format::Png, Format::PdfA];

/// Resolution used when a ticket names none, if the source has it (else the nearest).
const DEFAULT_DPI: u32 = 300;

/// Why a ticket cannot run on this device: the fault's subcode and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TicketError {
    /// `InvalidArgs` or `ClientErrorFormatNotSupported`.
    pub subcode: &'static str,
    /// What was wrong and what is allowed.
    pub reason: String,
}

fn invalid(reason: String) -> TicketError {
    TicketError {
        subcode: "InvalidArgs",
        reason,
    }
}

/// A length in thousandths of an inch, rounded to the nearest.
pub(crate) fn to_thousandths(l: Length) -> u32 {
    ((u64::from(l.0) * 10 + 127) / 254).min(u64::from(u32::MAX)) as u32
}

/// Thousandths of an inch as a length, saturating (an absurd value is then refused as too
/// large instead of wrapping into a small one).
pub(crate) fn from_thousandths(n: u32) -> Length {
    Length(((u64::from(n) * 254 + 5) / 10).min(u64::from(u32::MAX)) as u32)
}

/// The WS-Scan color entry of a color mode.
pub(crate) fn color_entry(m: ColorMode) -> ColorEntry {
    match m {
        ColorMode::Lineart => ColorEntry::BlackAndWhite1,
        ColorMode::Gray => ColorEntry::Grayscale8,
        ColorMode::Gray16 => ColorEntry::Grayscale16,
        ColorMode::Color => ColorEntry::Rgb24,
        ColorMode::Color48 => ColorEntry::Rgb48,
    }
}

fn color_mode(c: &ColorEntry) -> Option<ColorMode> {
    Some(match c {
        ColorEntry::BlackAndWhite1 => ColorMode::Lineart,
        ColorEntry::Grayscale8 => ColorMode::Gray,
        ColorEntry::Grayscale16 => ColorMode::Gray16,
        ColorEntry::Rgb24 => ColorMode::Color,
        ColorEntry::Rgb48 => ColorMode::Color48,
        _ => return None,
    })
}

fn input_caps(s: &SourceCaps) -> InputCaps {
    let dpis = s.resolutions.to_discrete();
    let max_dpi = dpis.iter().copied().max().unwrap_or(0);
    InputCaps {
        optical_resolution: Some(Size::new(max_dpi, max_dpi)),
        widths: dpis.clone(),
        heights: dpis,
        colors: s.modes.iter().map(|m| color_entry(*m)).collect(),
        min_size: Size::new(
            to_thousandths(s.min_size.0).max(1),
            to_thousandths(s.min_size.1).max(1),
        ),
        // The far edges, not the width: a region may start at the area's origin.
        max_size: Size::new(
            to_thousandths(s.max_area.right()),
            to_thousandths(s.max_area.bottom()),
        ),
    }
}

/// `ScannerDescription` of a device.
pub(crate) fn description(make_and_model: &str) -> ScannerDescription {
    ScannerDescription {
        name: make_and_model.to_string(),
        info: Some("Scanwire".into()),
        location: None,
    }
}

/// `ScannerConfiguration` of a device. The feeder's front side is described by the simplex
/// feeder (or the duplex one when there is only that), its back by the duplex feeder.
pub(crate) fn configuration(caps: &Capabilities) -> ScannerConfiguration {
    let simplex = caps.source(Source::Feeder);
    let duplex = caps.source(Source::FeederDuplex);
    let adf = (simplex.is_some() || duplex.is_some()).then(|| Adf {
        supports_duplex: duplex.is_some(),
        front: simplex.or(duplex).map(input_caps),
        back: duplex.map(input_caps),
    });
    ScannerConfiguration {
        settings: DeviceSettings {
            formats: FORMATS.to_vec(),
            compression_quality: None,
            content_types: vec!["Auto".into(), "Text".into(), "Photo".into(), "Mixed".into()],
            size_auto_detect: Some(false),
            auto_exposure: Some(false),
            brightness: Some(false),
            contrast: Some(false),
            scaling_width: Some(Range { min: 100, max: 100 }),
            scaling_height: Some(Range { min: 100, max: 100 }),
            rotations: vec![0],
        },
        platen: caps.source(Source::Flatbed).map(input_caps),
        adf,
    }
}

/// `DefaultScanTicket`: the device's default source, its first color mode, 300 dpi (or the
/// nearest), the whole area, JPEG.
pub(crate) fn default_ticket(caps: &Capabilities) -> ScanTicket {
    let source = caps.default_source();
    let sc = source.and_then(|s| caps.source(s));
    let side = sc.map(|sc| {
        let dpi = sc.resolutions.nearest(DEFAULT_DPI).unwrap_or(DEFAULT_DPI);
        MediaSide {
            region: Some(region_of(&sc.max_area)),
            color: sc.modes.first().map(|m| color_entry(*m)),
            resolution: Some(Size::new(dpi, dpi)),
        }
    });
    ScanTicket {
        job: JobDescription {
            name: Some("Scanwire default".into()),
            ..JobDescription::default()
        },
        params: DocumentParameters {
            format: Some(Format::Jfif),
            images_to_transfer: Some(match source {
                Some(Source::Flatbed) | None => 1,
                _ => 0,
            }),
            input_source: source.map(input_source),
            content_type: Some("Auto".into()),
            front: side.clone(),
            back: side.filter(|_| source == Some(Source::FeederDuplex)),
            ..DocumentParameters::default()
        },
    }
}

fn region_of(a: &Area) -> Region {
    Region {
        x: to_thousandths(a.left),
        y: to_thousandths(a.top),
        width: to_thousandths(a.width),
        height: to_thousandths(a.height),
    }
}

/// The WS-Scan name of a source.
pub(crate) fn input_source(s: Source) -> InputSource {
    match s {
        Source::Flatbed => InputSource::Platen,
        Source::Feeder => InputSource::Adf,
        Source::FeederDuplex => InputSource::AdfDuplex,
    }
}

fn sources_list(caps: &Capabilities) -> String {
    caps.sources
        .iter()
        .map(|s| input_source(s.source).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ScannerStatus` from the eSCL status the device entry keeps (one truth for both
/// protocols): busy → Processing; a feeder fault → its condition and, except for an empty
/// feeder, Stopped.
pub(crate) fn status(st: &escl::ScannerStatus) -> ScannerStatus {
    use escl::AdfState as A;
    let condition = match &st.adf_state {
        Some(A::Jam) => Some("MediaJam"),
        Some(A::Empty) => Some("InputTrayEmpty"),
        Some(A::MultipickDetected) => Some("MultipleFeedError"),
        Some(A::DoorOpen | A::HatchOpen) => Some("CoverOpen"),
        Some(A::Mispick | A::InputTrayFailed | A::InputTrayOverloaded) => Some("AttentionRequired"),
        _ => None,
    };
    let stopped = condition.is_some_and(|c| c != "InputTrayEmpty");
    // A device whose driver is restarting (eSCL Testing) takes no job yet, as a busy one.
    let state = if matches!(
        st.state,
        escl::ScannerState::Processing | escl::ScannerState::Testing
    ) {
        ScannerState::Processing
    } else if stopped {
        ScannerState::Stopped
    } else {
        ScannerState::Idle
    };
    ScannerStatus {
        time: None,
        state,
        reasons: condition
            .filter(|_| stopped)
            .map(String::from)
            .into_iter()
            .collect(),
        conditions: condition
            .map(|name| DeviceCondition {
                name: name.into(),
                component: Some("ADF".into()),
            })
            .into_iter()
            .collect(),
    }
}

/// The image sizes a job will produce, for `CreateScanJobResponse`.
pub(crate) fn image_info(g: &Geometry) -> ImageInfo {
    ImageInfo {
        pixels_per_line: g.width,
        number_of_lines: g.height,
        bytes_per_line: g.pixel.bytes_per_line(g.width).min(u32::MAX as usize) as u32,
    }
}

/// The ticket's parameters as the job applies them (`DocumentFinalParameters`).
pub(crate) fn final_params(req: &JobRequest, ticket: &ScanTicket) -> DocumentParameters {
    let r = &req.request;
    let side = MediaSide {
        region: r.area.as_ref().map(region_of),
        color: Some(color_entry(r.mode)),
        resolution: Some(Size::new(r.resolution, r.resolution)),
    };
    DocumentParameters {
        format: Some(ticket.params.format.clone().unwrap_or(Format::Jfif)),
        images_to_transfer: Some(r.pages.unwrap_or(match r.source {
            Source::Flatbed => 1,
            _ => 0,
        })),
        input_source: Some(input_source(r.source)),
        content_type: ticket.params.content_type.clone(),
        front: Some(side.clone()),
        back: (r.source == Source::FeederDuplex).then_some(side),
        ..DocumentParameters::default()
    }
}

/// Turns a client's ScanTicket into a request for `caps`, defaulting what is missing (no
/// source → the device's default; no color → the source's first mode; no resolution → 300
/// dpi or the nearest; no region → the `InputMediaSize` from the origin, else the whole
/// area; no format → JPEG), then checks it against the device and the server's `limits`.
/// Exposure, scaling and rotation are not offered: a value other than the neutral one is
/// refused rather than ignored.
pub(crate) fn job_request(
    t: &ScanTicket,
    caps: &Capabilities,
    options: &BTreeMap<String, OptionValue>,
    limits: &Limits,
) -> Result<JobRequest, TicketError> {
    let p = &t.params;
    let source = match &p.input_source {
        None => caps
            .default_source()
            .ok_or_else(|| invalid(format!("{} has no input source", caps.model)))?,
        Some(InputSource::Platen) => Source::Flatbed,
        Some(InputSource::Adf) => Source::Feeder,
        Some(InputSource::AdfDuplex) => Source::FeederDuplex,
        Some(other) => {
            return Err(invalid(format!(
                "InputSource {other} is not supported; allowed: {}",
                sources_list(caps)
            )))
        }
    };
    let Some(sc) = caps.source(source) else {
        return Err(invalid(format!(
            "InputSource {} is not available on {}; available: {}",
            input_source(source),
            caps.model,
            sources_list(caps)
        )));
    };
    let front = p.front.clone().unwrap_or_default();
    let mode = match &front.color {
        None => *sc
            .modes
            .first()
            .ok_or_else(|| invalid(format!("{} offers no color mode", caps.model)))?,
        Some(c) => color_mode(c)
            .filter(|m| sc.modes.contains(m))
            .ok_or_else(|| {
                invalid(format!(
                    "ColorProcessing {c} is not supported by {} {}; allowed: {}",
                    caps.model,
                    input_source(source),
                    sc.modes
                        .iter()
                        .map(|m| color_entry(*m).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
    };
    let dpi = match front.resolution {
        Some(r) if r.width != r.height => {
            return Err(invalid(format!(
                "Resolution Width {} and Height {} differ; this scanner needs equal values",
                r.width, r.height
            )))
        }
        Some(r) => r.width,
        None => sc.resolutions.nearest(DEFAULT_DPI).unwrap_or(DEFAULT_DPI),
    };
    let region = front.region.or(p.input_size.map(|s| Region {
        x: 0,
        y: 0,
        width: s.width,
        height: s.height,
    }));
    let area = region.map(|r| area(&r, sc));
    let encoding = match &p.format {
        None => Encoding::Jpeg,
        Some(f) if f.is_jpeg() => Encoding::Jpeg,
        Some(Format::Png) => Encoding::Png,
        Some(Format::PdfA) => Encoding::Pdf,
        Some(other) => {
            return Err(TicketError {
                subcode: "ClientErrorFormatNotSupported",
                reason: format!(
                    "Format {other} is not supported; allowed: {}",
                    FORMATS.map(|f| f.to_string()).join(", ")
                ),
            })
        }
    };
    if let Some(s) = p.scaling.filter(|s| s.width != 100 || s.height != 100) {
        return Err(invalid(format!(
            "Scaling {}% x {}% is not supported; allowed: 100% x 100%",
            s.width, s.height
        )));
    }
    if let Some(r) = p.rotation.filter(|&r| r != 0) {
        return Err(invalid(format!(
            "Rotation {r} is not supported; allowed: 0"
        )));
    }
    if let Some(e) = p.exposure.filter(|e| {
        e.auto == Some(true)
            || e.contrast.is_some_and(|v| v != 0)
            || e.brightness.is_some_and(|v| v != 0)
            || e.sharpness.is_some_and(|v| v != 0)
    }) {
        if p.must_honor
            .iter()
            .any(|n| n.contains("Exposure") || n == "AutoExposure")
        {
            return Err(invalid(format!(
                "Exposure {e:?} must be honored, but this scanner offers no exposure control"
            )));
        }
    }
    let pages = match (source, p.images_to_transfer) {
        (Source::Flatbed, _) | (_, None | Some(0)) => None,
        (_, Some(n)) => Some(n),
    };
    let request = ScanRequest {
        source,
        mode,
        resolution: dpi,
        area,
        pages,
        encoding: None,
        options: options.clone(),
        processing: Default::default(),
    };
    request.validate(caps).map_err(|e| invalid(e.to_string()))?;
    let a = request.effective_area(caps).unwrap_or_default();
    let geometry = Geometry {
        width: a.width.to_pixels(dpi),
        height: a.height.to_pixels(dpi),
        pixel: PixelFormat::for_mode(mode),
    };
    check_limits(&geometry, encoding, dpi, limits).map_err(|e| invalid(e.0))?;
    Ok(JobRequest {
        request,
        format: encoding,
        geometry,
        for_storage: false,
        local: Default::default(),
        detect_blank: None,
    })
}

/// A region as an area, taking back the rounding of a full-size region (thousandths of an
/// inch do not land on micrometres): an edge past the source's by less than 1/1000 inch is
/// the source's edge.
fn area(r: &Region, sc: &SourceCaps) -> Area {
    let tolerance = from_thousandths(1).0;
    let clamp = |value: Length, max: Length| {
        if value > max && value.0 - max.0 <= tolerance {
            max
        } else {
            value
        }
    };
    let left = from_thousandths(r.x);
    let top = from_thousandths(r.y);
    let right = clamp(
        Length(
            (u64::from(left.0) + u64::from(from_thousandths(r.width).0)).min(u32::MAX as u64)
                as u32,
        ),
        sc.max_area.right(),
    );
    let bottom = clamp(
        Length(
            (u64::from(top.0) + u64::from(from_thousandths(r.height).0)).min(u32::MAX as u64)
                as u32,
        ),
        sc.max_area.bottom(),
    );
    Area {
        left,
        top,
        width: Length(right.0.saturating_sub(left.0)),
        height: Length(bottom.0.saturating_sub(top.0)),
    }
}
