//! The one mapping between the files and the common model: the pages' headers to
//! [`Capabilities`] (a feeder whose resolutions and modes are the files'), a request to what
//! each page becomes (its mode, resolution check and crop), and the `--set` options.
//!
//! | option | values | default | what |
//! |---|---|---|---|
//! | `ppm` | 0..=1000 | 0 | pages per minute, spread over each page's rows, as a real feeder would deliver them; 0 = as fast as the files decode |

use crate::errors::FileError;
use crate::image::PageSpec;
use scanwire_core::device::{
    Area, Capabilities, ColorMode, Constraint, DeviceError, DeviceErrorKind, DeviceOption,
    Encoding, Length, OptionType, OptionValue, Resolutions, Source, SourceCaps,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// The resolution of a file that records none (PNM never does; PNG and JPEG may not): the
/// most common scanning resolution, and `scanwire scan`'s default.
pub const DEFAULT_DPI: u32 = 300;

/// The fastest pace `ppm` takes.
pub const MAX_PPM: i64 = 1000;

/// The modes a page holding `native` can be delivered in, richest first: itself and every
/// mode with fewer channels or bits (gray from color, 8 bits from 16, lineart by a 50 %
/// threshold). Never more: no colour or depth is made up.
pub fn deliverable(native: ColorMode) -> &'static [ColorMode] {
    use ColorMode::*;
    match native {
        Color48 => &[Color48, Color, Gray16, Gray, Lineart],
        Color => &[Color, Gray, Lineart],
        Gray16 => &[Gray16, Gray, Lineart],
        Gray => &[Gray, Lineart],
        Lineart => &[Lineart],
    }
}

/// A page's resolution: its file's, or [`DEFAULT_DPI`]; and which.
pub fn page_dpi(spec: &PageSpec) -> ((u32, u32), &'static str) {
    match spec.dpi {
        Some(dpi) => (dpi, "recorded in the file"),
        None => (
            (DEFAULT_DPI, DEFAULT_DPI),
            "the file records none; the driver's default",
        ),
    }
}

/// The feeder the pages make: the modes any page can be delivered in, the resolutions the
/// pages have, an area as large as the largest page, JPEG and PNG pages handed over as they
/// are when the request asks for that encoding.
pub fn capabilities(model: &str, pages: &[&PageSpec]) -> Capabilities {
    let mut modes: Vec<ColorMode> = Vec::new();
    let mut dpis: Vec<u32> = Vec::new();
    let (mut width, mut height) = (Length::ZERO, Length::ZERO);
    let mut encodings = Vec::new();
    for p in pages {
        for m in deliverable(p.native) {
            if !modes.contains(m) {
                modes.push(*m);
            }
        }
        let ((x, y), _) = page_dpi(p);
        if !dpis.contains(&x) {
            dpis.push(x);
        }
        width = width.max(Length::from_pixels(p.width, x));
        height = height.max(Length::from_pixels(p.height, y));
        let enc = match p.format {
            crate::image::Format::Jpeg => Some(Encoding::Jpeg),
            crate::image::Format::Png => Some(Encoding::Png),
            _ => None,
        };
        if let Some(e) = enc.filter(|e| !encodings.contains(e)) {
            encodings.push(e);
        }
    }
    // Common modes first, as the other drivers list them.
    let order = [
        ColorMode::Color,
        ColorMode::Gray,
        ColorMode::Lineart,
        ColorMode::Gray16,
        ColorMode::Color48,
    ];
    modes.sort_by_key(|m| order.iter().position(|o| o == m));
    dpis.sort_unstable();
    let max_dpi = dpis.last().copied().unwrap_or(DEFAULT_DPI);
    Capabilities {
        model: model.to_string(),
        sources: vec![SourceCaps {
            source: Source::Feeder,
            modes,
            resolutions: Resolutions::Discrete(dpis),
            max_area: Area::sized(width, height),
            min_size: (
                Length::from_pixels(1, max_dpi),
                Length::from_pixels(1, max_dpi),
            ),
            encodings,
            raw: true,
            feeder_capacity: Some(pages.len() as u32),
        }],
        // Files are what they are: processing runs in the page pipeline.
        processing: Default::default(),
    }
}

/// The `--set` options.
pub fn device_options() -> Vec<DeviceOption> {
    vec![DeviceOption {
        constraint: Constraint::IntRange {
            min: 0,
            max: MAX_PPM,
            step: 1,
        },
        value: Some(OptionValue::Int(0)),
        help: "pages per minute, spread over each page's rows, as a real feeder delivers them; 0 = as fast as the files decode".into(),
        ..DeviceOption::new("ppm", OptionType::Int)
    }]
}

/// The options of a request, checked again (a request may come from code, not `--set`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// Pages per minute; 0 = unpaced.
    pub ppm: u32,
}

impl FileOptions {
    /// Reads and checks `options`.
    pub fn parse(options: &BTreeMap<String, OptionValue>) -> Result<FileOptions, DeviceError> {
        let all = device_options();
        let mut o = FileOptions::default();
        for (name, value) in options {
            let Some(opt) = all.iter().find(|d| &d.name == name) else {
                return Err(DeviceError::new(
                    DeviceErrorKind::InvalidRequest,
                    format!("unknown option `{name}`; allowed: ppm"),
                ));
            };
            scanwire_core::device::check_value(opt, value)
                .map_err(|e| DeviceError::new(DeviceErrorKind::InvalidRequest, e.to_string()))?;
            if let OptionValue::Int(n) = value {
                o.ppm = *n as u32;
            }
        }
        Ok(o)
    }

    /// How long one page takes, or `None` when unpaced.
    pub fn page_time(&self) -> Option<Duration> {
        (self.ppm > 0).then(|| Duration::from_secs(60) / self.ppm)
    }
}

/// The pixels of a page the request's area covers: `(left, top, width, height)`, clipped to
/// the page (a sheet smaller than the area is scanned to its edges, as a feeder does).
pub fn crop(
    spec: &PageSpec,
    area: Option<Area>,
    dpi: (u32, u32),
) -> Result<(u32, u32, u32, u32), FileError> {
    let Some(a) = area else {
        return Ok((0, 0, spec.width, spec.height));
    };
    let (left, top) = (a.left.to_pixels(dpi.0), a.top.to_pixels(dpi.1));
    if left >= spec.width || top >= spec.height {
        return Err(FileError::AreaOutside {
            path: spec.path.clone(),
            page: spec.page_label(),
            width: spec.width,
            height: spec.height,
            left,
            top,
        });
    }
    let width = a.width.to_pixels(dpi.0).clamp(1, spec.width - left);
    let height = a.height.to_pixels(dpi.1).clamp(1, spec.height - top);
    Ok((left, top, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Format;

    fn spec(native: ColorMode, dpi: Option<(u32, u32)>, format: Format) -> PageSpec {
        PageSpec {
            path: "p".into(),
            format,
            index: 0,
            pages_in_file: 1,
            width: 600,
            height: 300,
            native,
            dpi,
        }
    }

    #[test]
    fn capabilities_are_the_files() {
        let a = spec(ColorMode::Gray, Some((150, 150)), Format::Png);
        let b = spec(ColorMode::Color, None, Format::Jpeg);
        let caps = capabilities("files", &[&a, &b]);
        let sc = &caps.sources[0];
        assert_eq!(sc.source, Source::Feeder);
        assert_eq!(
            sc.modes,
            [ColorMode::Color, ColorMode::Gray, ColorMode::Lineart]
        );
        assert_eq!(sc.resolutions, Resolutions::Discrete(vec![150, 300]));
        // 600 px at 150 dpi is 4 inches.
        assert_eq!(sc.max_area.width, Length(101_600));
        assert_eq!(sc.encodings, [Encoding::Png, Encoding::Jpeg]);
        assert_eq!(sc.feeder_capacity, Some(2));
    }

    #[test]
    fn areas_are_clipped_to_the_page() {
        let s = spec(ColorMode::Gray, Some((100, 100)), Format::Png);
        let area = Area {
            left: Length::from_pixels(10, 100),
            top: Length::from_pixels(20, 100),
            width: Length::mm(1000),
            height: Length::from_pixels(30, 100),
        };
        assert_eq!(crop(&s, Some(area), (100, 100)).unwrap(), (10, 20, 590, 30));
        let outside = Area {
            left: Length::mm(500),
            ..area
        };
        assert!(crop(&s, Some(outside), (100, 100)).is_err());
    }

    #[test]
    fn ppm_is_checked() {
        let mut o = BTreeMap::new();
        o.insert("ppm".to_string(), OptionValue::Int(30));
        assert_eq!(
            FileOptions::parse(&o).unwrap().page_time(),
            Some(Duration::from_secs(2))
        );
        o.insert("ppm".to_string(), OptionValue::Int(5000));
        assert!(FileOptions::parse(&o).is_err());
        let mut o = BTreeMap::new();
        o.insert("speed".to_string(), OptionValue::Int(1));
        assert!(FileOptions::parse(&o).unwrap_err().detail().contains("ppm"));
    }
}
