//! What the user asks for, and the check against what the device can do. The second of the
//! three vocabularies.

use super::{
    Area, Capabilities, ColorMode, DeviceProcessingRequest, Encoding, Length, OptionValue, Source,
};
use std::collections::BTreeMap;
use std::fmt;

/// A scan job as the user asked for it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScanRequest {
    /// Where the paper is.
    pub source: Source,
    /// Color mode and depth.
    pub mode: ColorMode,
    /// Resolution in dpi (X and Y).
    pub resolution: u32,
    /// The region; `None` scans the source's whole area.
    pub area: Option<Area>,
    /// Pages to scan from the feeder (`WIA_IPS_PAGES`); `None` means all (`ALL_PAGES` = 0).
    /// Counted in images, so duplex sheets count twice.
    pub pages: Option<u32>,
    /// The encoding the application would like from a device that can encode; `None` asks
    /// for raw rows where the device has them.
    pub encoding: Option<Encoding>,
    /// Device-specific options (`--set name=value`), parsed against the device's
    /// [`DeviceOption`](super::DeviceOption)s with [`parse_settings`](super::parse_settings).
    pub options: BTreeMap<String, OptionValue>,
    /// Page processing the device itself is asked to do (its
    /// [`Capabilities::processing`]); Scanwire's own stages are not part of the request.
    pub processing: DeviceProcessingRequest,
}

impl Default for ScanRequest {
    fn default() -> Self {
        ScanRequest {
            source: Source::Flatbed,
            mode: ColorMode::Color,
            resolution: 300,
            area: None,
            pages: None,
            encoding: None,
            options: BTreeMap::new(),
            processing: DeviceProcessingRequest::default(),
        }
    }
}

/// Why a request does not fit a device. Every variant says what was asked and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The device has no such source.
    #[error("source {input} is not available on {model}; available: {available}")]
    Source {
        /// The device.
        model: String,
        /// What was asked.
        input: Source,
        /// What the device has.
        available: String,
    },
    /// The source does not scan in that mode.
    #[error("mode {mode} is not supported by {model} {input}; allowed: {allowed}")]
    Mode {
        /// The device.
        model: String,
        /// The source.
        input: Source,
        /// What was asked.
        mode: ColorMode,
        /// What is allowed.
        allowed: String,
    },
    /// The resolution is out of range.
    #[error("resolution {dpi} dpi is not supported by {model} {input}: {allowed}")]
    Resolution {
        /// The device.
        model: String,
        /// The source.
        input: Source,
        /// What was asked.
        dpi: u32,
        /// What is allowed.
        allowed: String,
    },
    /// The region reaches past the source's area.
    #[error("the scan area {what} is {value} but {model} {input} allows at most {max}")]
    AreaTooLarge {
        /// The device.
        model: String,
        /// The source.
        input: Source,
        /// Which edge or size (`right edge (-l + -x)`, …).
        what: &'static str,
        /// What was asked.
        value: Length,
        /// The limit.
        max: Length,
    },
    /// The region is smaller than the device can scan.
    #[error("the scan area {what} is {value} but {model} {input} needs at least {min}")]
    AreaTooSmall {
        /// The device.
        model: String,
        /// The source.
        input: Source,
        /// Which size.
        what: &'static str,
        /// What was asked.
        value: Length,
        /// The limit.
        min: Length,
    },
    /// A page count for the flatbed, or zero pages.
    #[error("{0}")]
    Pages(String),
    /// The device cannot deliver that encoding.
    #[error("{model} {input} cannot deliver {encoding}; it delivers: {allowed}")]
    Encoding {
        /// The device.
        model: String,
        /// The source.
        input: Source,
        /// What was asked.
        encoding: &'static str,
        /// What it delivers.
        allowed: String,
    },
    /// A device-specific option is unknown or its value is invalid.
    #[error("{0}")]
    Option(String),
    /// The device cannot do the processing asked of it, or a value is out of range.
    #[error("{model}: {why}")]
    Processing {
        /// The device.
        model: String,
        /// What it cannot do and what it can.
        why: String,
    },
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ScanRequest {
    /// The area this request scans: its own, or the whole area of its source.
    pub fn effective_area(&self, caps: &Capabilities) -> Option<Area> {
        self.area
            .or_else(|| caps.source(self.source).map(|s| s.max_area))
    }

    /// Checks the request against `caps`. Device-specific `options` are left to the device.
    pub fn validate(&self, caps: &Capabilities) -> Result<(), RequestError> {
        let model = caps.model.clone();
        let Some(sc) = caps.source(self.source) else {
            return Err(RequestError::Source {
                model,
                input: self.source,
                available: join(caps.sources.iter().map(|s| s.source)),
            });
        };
        if !sc.modes.contains(&self.mode) {
            return Err(RequestError::Mode {
                model,
                input: self.source,
                mode: self.mode,
                allowed: join(&sc.modes),
            });
        }
        if !sc.resolutions.contains(self.resolution) {
            return Err(RequestError::Resolution {
                model,
                input: self.source,
                dpi: self.resolution,
                allowed: sc.resolutions.to_string(),
            });
        }
        if let Some(a) = self.area {
            let max = sc.max_area;
            let checks: [(&'static str, Length, Length); 4] = [
                ("left offset (-l)", a.left, max.right()),
                ("top offset (-t)", a.top, max.bottom()),
                ("right edge (-l + -x)", a.right(), max.right()),
                ("bottom edge (-t + -y)", a.bottom(), max.bottom()),
            ];
            for (what, value, max) in checks {
                if value > max {
                    return Err(RequestError::AreaTooLarge {
                        model,
                        input: self.source,
                        what,
                        value,
                        max,
                    });
                }
            }
            let (min_w, min_h) = sc.min_size;
            for (what, value, min) in [
                ("width (-x)", a.width, min_w),
                ("height (-y)", a.height, min_h),
            ] {
                if value < min.max(Length(1)) {
                    return Err(RequestError::AreaTooSmall {
                        model,
                        input: self.source,
                        what,
                        value,
                        min: min.max(Length(1)),
                    });
                }
            }
            // A region must cover at least one pixel each way at the chosen resolution.
            if a.width.to_pixels(self.resolution) == 0 || a.height.to_pixels(self.resolution) == 0 {
                return Err(RequestError::AreaTooSmall {
                    model,
                    input: self.source,
                    what: "size in pixels",
                    value: a.width.min(a.height),
                    min: Length::from_pixels(1, self.resolution),
                });
            }
        }
        match (self.source.is_feeder(), self.pages) {
            (false, Some(n)) if n > 1 => {
                return Err(RequestError::Pages(format!(
                    "--pages {n} needs the feeder; the {} scans one page (use --source adf)",
                    self.source
                )))
            }
            (_, Some(0)) => {
                return Err(RequestError::Pages(
                    "--pages must be at least 1 (leave it out to scan every sheet in the feeder)"
                        .into(),
                ))
            }
            _ => {}
        }
        if let Err(why) = self.processing.check(&caps.processing) {
            return Err(RequestError::Processing { model, why });
        }
        if let Some(e) = self.encoding {
            if !sc.encodings.contains(&e) {
                let mut allowed: Vec<&str> = sc.encodings.iter().map(|e| e.mime()).collect();
                if sc.raw {
                    allowed.push("raw rows");
                }
                return Err(RequestError::Encoding {
                    model,
                    input: self.source,
                    encoding: e.mime(),
                    allowed: allowed.join(", "),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Resolutions, SourceCaps};

    fn caps() -> Capabilities {
        Capabilities {
            model: "virtual".into(),
            sources: vec![SourceCaps {
                source: Source::Flatbed,
                modes: vec![ColorMode::Color, ColorMode::Gray, ColorMode::Lineart],
                resolutions: Resolutions::Range {
                    min: 75,
                    max: 1200,
                    step: 1,
                },
                max_area: Area::sized(Length(215_900), Length(297_000)),
                min_size: (Length::mm(1), Length::mm(1)),
                encodings: vec![],
                raw: true,
                feeder_capacity: None,
            }],
            processing: Default::default(),
        }
    }

    #[test]
    fn resolution_error_names_value_device_and_range() {
        let r = ScanRequest {
            resolution: 5000,
            ..Default::default()
        };
        assert_eq!(
            r.validate(&caps()).unwrap_err().to_string(),
            "resolution 5000 dpi is not supported by virtual flatbed: 75..1200"
        );
    }

    #[test]
    fn missing_source_lists_available_ones() {
        let r = ScanRequest {
            source: Source::Feeder,
            ..Default::default()
        };
        assert_eq!(
            r.validate(&caps()).unwrap_err().to_string(),
            "source adf is not available on virtual; available: flatbed"
        );
    }

    #[test]
    fn area_past_the_glass_is_refused_with_the_edge_named() {
        let r = ScanRequest {
            area: Some(Area {
                left: Length::mm(100),
                top: Length::ZERO,
                width: Length::mm(200),
                height: Length::mm(100),
            }),
            ..Default::default()
        };
        let e = r.validate(&caps()).unwrap_err().to_string();
        assert!(e.contains("right edge (-l + -x) is 300 mm"), "{e}");
        assert!(e.contains("at most 215.9 mm"), "{e}");
    }

    #[test]
    fn pages_on_flatbed_and_zero_pages_are_refused() {
        let r = ScanRequest {
            pages: Some(3),
            ..Default::default()
        };
        assert!(matches!(r.validate(&caps()), Err(RequestError::Pages(_))));
    }
}
