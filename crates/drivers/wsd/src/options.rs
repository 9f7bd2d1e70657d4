//! The one mapping file: WS-Scan `ScannerElements` → Scanwire [`Capabilities`], and a
//! [`ScanRequest`] → a WS-Scan [`ScanTicket`] plus the format asked for.
//!
//! Lengths on the wire are thousandths of an inch; Scanwire keeps micrometres
//! ([`from_thousandths`], [`to_thousandths`]).

use scanwire_core::device::{
    Area, Capabilities, ColorMode, DeviceError, DeviceErrorKind, Encoding, Length, Resolutions,
    ScanRequest, Source, SourceCaps,
};
use scanwire_wsd::{
    ColorEntry, DocumentParameters, Format, InputCaps, InputSource, JobDescription, MediaSide,
    Region, ScanTicket, ScannerElements, Size,
};

/// A length in thousandths of an inch.
pub fn from_thousandths(n: u32) -> Length {
    Length(((u64::from(n) * 254 + 5) / 10).min(u64::from(u32::MAX)) as u32)
}

/// A length in thousandths of an inch, rounded to the nearest.
pub fn to_thousandths(l: Length) -> u32 {
    ((u64::from(l.0) * 10 + 127) / 254).min(u64::from(u32::MAX)) as u32
}

/// A wire color entry in Scanwire's terms (`None` for 4-bit gray and alpha entries).
pub fn color_mode(c: &ColorEntry) -> Option<ColorMode> {
    Some(match c {
        ColorEntry::BlackAndWhite1 => ColorMode::Lineart,
        ColorEntry::Grayscale8 => ColorMode::Gray,
        ColorEntry::Grayscale16 => ColorMode::Gray16,
        ColorEntry::Rgb24 => ColorMode::Color,
        ColorEntry::Rgb48 => ColorMode::Color48,
        _ => return None,
    })
}

fn wire_color(m: ColorMode) -> ColorEntry {
    match m {
        ColorMode::Lineart => ColorEntry::BlackAndWhite1,
        ColorMode::Gray => ColorEntry::Grayscale8,
        ColorMode::Gray16 => ColorEntry::Grayscale16,
        ColorMode::Color => ColorEntry::Rgb24,
        ColorMode::Color48 => ColorEntry::Rgb48,
    }
}

/// The encoding a WS-Scan format delivers, for the ones Scanwire hands on: JPEG (`jfif`,
/// `exif`), PNG, PDF (`pdf-a`) and single-image TIFF.
pub fn encoding(f: &Format) -> Option<Encoding> {
    Some(match f {
        Format::Jfif | Format::Exif => Encoding::Jpeg,
        Format::Png => Encoding::Png,
        Format::PdfA => Encoding::Pdf,
        Format::TiffSingleUncompressed
        | Format::TiffSingleG4
        | Format::TiffSingleG3Mh
        | Format::TiffSingleJpegTn2 => Encoding::Tiff,
        _ => return None,
    })
}

/// The format to ask for to get `e`, among `offered`, in order of preference: `jfif` before
/// `exif` (sane-airscan's order), uncompressed TIFF before the compressed ones.
pub fn format_for(e: Encoding, offered: &[Format]) -> Option<Format> {
    let prefs: &[Format] = match e {
        Encoding::Jpeg => &[Format::Jfif, Format::Exif],
        Encoding::Png => &[Format::Png],
        Encoding::Pdf => &[Format::PdfA],
        Encoding::Tiff => &[
            Format::TiffSingleUncompressed,
            Format::TiffSingleG4,
            Format::TiffSingleJpegTn2,
            Format::TiffSingleG3Mh,
        ],
    };
    prefs.iter().find(|f| offered.contains(f)).cloned()
}

/// Maps a scanner's elements. Sources with no color mode or square resolution this driver
/// understands are left out; a scanner left with no source is an error.
pub fn capabilities(elements: &ScannerElements) -> Result<Capabilities, DeviceError> {
    let model = elements
        .description
        .as_ref()
        .map(|d| d.name.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "WS-Scan scanner".into());
    let config = elements.configuration.as_ref().ok_or_else(|| {
        DeviceError::new(
            DeviceErrorKind::Communication,
            format!("{model} sent no ScannerConfiguration"),
        )
    })?;
    let formats = &config.settings.formats;
    let mut encodings: Vec<Encoding> = Vec::new();
    for e in formats.iter().filter_map(encoding) {
        if !encodings.contains(&e) {
            encodings.push(e);
        }
    }
    let mut sources = Vec::new();
    if let Some(p) = &config.platen {
        sources.extend(source_caps(Source::Flatbed, p, &encodings));
    }
    if let Some(adf) = &config.adf {
        if let Some(front) = &adf.front {
            sources.extend(source_caps(Source::Feeder, front, &encodings));
            if adf.supports_duplex {
                // ADFFront applies to both sides; ADFBack, when given, narrows the back side
                // (sane-airscan merges them the same way).
                let both = match &adf.back {
                    Some(back) => merge(front, back),
                    None => front.clone(),
                };
                sources.extend(source_caps(Source::FeederDuplex, &both, &encodings));
            }
        }
    }
    if sources.is_empty() {
        return Err(DeviceError::new(
            DeviceErrorKind::Unsupported,
            format!("{model} lists no platen or feeder with a color mode and resolution this driver can use"),
        ));
    }
    Ok(Capabilities {
        model,
        sources,
        processing: Default::default(),
    })
}

fn merge(a: &InputCaps, b: &InputCaps) -> InputCaps {
    let both = |x: &[u32], y: &[u32]| x.iter().filter(|v| y.contains(v)).copied().collect();
    InputCaps {
        optical_resolution: a.optical_resolution,
        widths: both(&a.widths, &b.widths),
        heights: both(&a.heights, &b.heights),
        colors: a
            .colors
            .iter()
            .filter(|c| b.colors.contains(c))
            .cloned()
            .collect(),
        min_size: Size::new(
            a.min_size.width.max(b.min_size.width),
            a.min_size.height.max(b.min_size.height),
        ),
        max_size: Size::new(
            a.max_size.width.min(b.max_size.width),
            a.max_size.height.min(b.max_size.height),
        ),
    }
}

/// Width and height as a portrait page: the Kyocera ECOSYS M2040dn writes its maximum as
/// 14016 × 8504 (legal paper, width and height swapped); sane-airscan swaps a maximum whose
/// width exceeds its height, and the minimum with it.
fn portrait(c: &InputCaps) -> (Size, Size) {
    if c.max_size.width > c.max_size.height {
        (
            Size::new(c.min_size.height, c.min_size.width),
            Size::new(c.max_size.height, c.max_size.width),
        )
    } else {
        (c.min_size, c.max_size)
    }
}

fn source_caps(source: Source, c: &InputCaps, encodings: &[Encoding]) -> Option<SourceCaps> {
    let mut modes = Vec::new();
    for m in c.colors.iter().filter_map(color_mode) {
        if !modes.contains(&m) {
            modes.push(m);
        }
    }
    // Square resolutions: the widths that are also heights.
    let mut square: Vec<u32> = c
        .widths
        .iter()
        .filter(|w| **w > 0 && c.heights.contains(w))
        .copied()
        .collect();
    square.sort_unstable();
    square.dedup();
    if modes.is_empty() || square.is_empty() {
        return None;
    }
    let (min, max) = portrait(c);
    Some(SourceCaps {
        source,
        modes,
        resolutions: Resolutions::Discrete(square),
        max_area: Area::sized(from_thousandths(max.width), from_thousandths(max.height)),
        min_size: (
            from_thousandths(min.width.max(1)),
            from_thousandths(min.height.max(1)),
        ),
        encodings: encodings.to_vec(),
        raw: encodings.contains(&Encoding::Png) || encodings.contains(&Encoding::Jpeg),
        feeder_capacity: None,
    })
}

/// What to ask the scanner for, and what the driver then hands on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPlan {
    /// The CreateScanJob ticket.
    pub ticket: ScanTicket,
    /// The encoding asked for.
    pub wire: Encoding,
    /// Pass images through as they come (`true`) or decode them to rows (`false`).
    pub pass_through: bool,
}

/// Maps a validated request to the ticket to send. What to receive is the drivers' shared
/// choice ([`mod@scanwire_network::wire`]): raw rows decoded from PNG when the scanner offers it,
/// else from JPEG (`jfif`, else `exif`); an asked-for encoding passed through untouched.
pub fn job_plan(
    request: &ScanRequest,
    caps: &Capabilities,
    formats: &[Format],
) -> Result<JobPlan, DeviceError> {
    let scanwire_network::Wire {
        source: sc,
        encoding: wire,
        pass_through,
    } = scanwire_network::wire(request, caps)?;
    let format = format_for(wire, formats).ok_or_else(|| {
        DeviceError::new(
            DeviceErrorKind::Unsupported,
            format!("{} cannot send {}", caps.model, wire.mime()),
        )
    })?;
    let area = request.effective_area(caps).unwrap_or(sc.max_area);
    // Rounded to the nearest 1/1000 inch, clamped to the source so a full-page request never
    // overshoots by a rounding step.
    let max_w = to_thousandths(sc.max_area.right());
    let max_h = to_thousandths(sc.max_area.bottom());
    let x = to_thousandths(area.left).min(max_w);
    let y = to_thousandths(area.top).min(max_h);
    let w = to_thousandths(area.width).clamp(1, max_w.saturating_sub(x).max(1));
    let h = to_thousandths(area.height).clamp(1, max_h.saturating_sub(y).max(1));
    let side = MediaSide {
        region: Some(Region {
            x,
            y,
            width: w,
            height: h,
        }),
        color: Some(wire_color(request.mode)),
        resolution: Some(Size::new(request.resolution, request.resolution)),
    };
    let duplex = request.source == Source::FeederDuplex;
    let ticket = ScanTicket {
        job: JobDescription {
            name: Some("Scanwire scan".into()),
            user: Some("scanwire".into()),
            info: None,
        },
        params: DocumentParameters {
            format: Some(format),
            images_to_transfer: Some(if request.source.is_feeder() {
                request.pages.unwrap_or(0)
            } else {
                1
            }),
            input_source: Some(match request.source {
                Source::Flatbed => InputSource::Platen,
                Source::Feeder => InputSource::Adf,
                Source::FeederDuplex => InputSource::AdfDuplex,
            }),
            // sane-airscan sends the region's size as the media size.
            input_size: Some(Size::new(w, h)),
            back: duplex.then(|| side.clone()),
            front: Some(side),
            ..DocumentParameters::default()
        },
    };
    Ok(JobPlan {
        ticket,
        wire,
        pass_through,
    })
}
