//! What a device can do, per source. The first of the three vocabularies (capabilities,
//! request, wire settings); each driver maps its native description into these types in its
//! own `options.rs`.

use super::{Area, DeviceProcessing, Encoding, Length};
use std::fmt;
use std::str::FromStr;

/// Where the paper is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Source {
    /// The glass.
    Flatbed,
    /// The automatic document feeder, front sides only.
    Feeder,
    /// The feeder, both sides of every sheet.
    FeederDuplex,
}

impl Source {
    /// All sources, in display order.
    pub const ALL: [Source; 3] = [Source::Flatbed, Source::Feeder, Source::FeederDuplex];

    /// The command-line name (`flatbed`, `adf`, `adf-duplex`).
    pub const fn cli_name(self) -> &'static str {
        match self {
            Source::Flatbed => "flatbed",
            Source::Feeder => "adf",
            Source::FeederDuplex => "adf-duplex",
        }
    }

    /// Whether pages come from the feeder (and the feeder outcome table applies).
    pub const fn is_feeder(self) -> bool {
        matches!(self, Source::Feeder | Source::FeederDuplex)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "flatbed" | "platen" => Ok(Source::Flatbed),
            "adf" | "feeder" => Ok(Source::Feeder),
            "adf-duplex" | "duplex" | "feeder-duplex" => Ok(Source::FeederDuplex),
            _ => Err(format!(
                "unknown source `{s}`; allowed: flatbed, adf, adf-duplex"
            )),
        }
    }
}

/// Color mode and depth together, as eSCL names them (BlackAndWhite1, Grayscale8, …).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ColorMode {
    /// 1-bit black and white.
    Lineart,
    /// 8-bit gray.
    Gray,
    /// 16-bit gray.
    Gray16,
    /// 24-bit color.
    Color,
    /// 48-bit color.
    Color48,
}

impl ColorMode {
    /// The command-line name.
    pub const fn cli_name(self) -> &'static str {
        match self {
            ColorMode::Lineart => "lineart",
            ColorMode::Gray => "gray",
            ColorMode::Gray16 => "gray16",
            ColorMode::Color => "color",
            ColorMode::Color48 => "color48",
        }
    }

    /// Bits per channel.
    pub const fn depth(self) -> u8 {
        match self {
            ColorMode::Lineart => 1,
            ColorMode::Gray | ColorMode::Color => 8,
            ColorMode::Gray16 | ColorMode::Color48 => 16,
        }
    }

    /// The same mode at another depth, if it exists (`--mode gray --depth 16`).
    pub const fn with_depth(self, depth: u8) -> Option<Self> {
        match (self, depth) {
            (ColorMode::Lineart, 1) => Some(ColorMode::Lineart),
            (ColorMode::Gray | ColorMode::Gray16, 8) => Some(ColorMode::Gray),
            (ColorMode::Gray | ColorMode::Gray16, 16) => Some(ColorMode::Gray16),
            (ColorMode::Gray | ColorMode::Gray16, 1) => Some(ColorMode::Lineart),
            (ColorMode::Color | ColorMode::Color48, 8) => Some(ColorMode::Color),
            (ColorMode::Color | ColorMode::Color48, 16) => Some(ColorMode::Color48),
            _ => None,
        }
    }
}

impl fmt::Display for ColorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl FromStr for ColorMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "lineart" | "bw" | "binary" | "blackandwhite" => Ok(ColorMode::Lineart),
            "gray" | "grey" | "grayscale" => Ok(ColorMode::Gray),
            "gray16" => Ok(ColorMode::Gray16),
            "color" | "colour" | "rgb" => Ok(ColorMode::Color),
            "color48" => Ok(ColorMode::Color48),
            _ => Err(format!(
                "unknown mode `{s}`; allowed: color, gray, lineart (use --depth 16 for 16-bit)"
            )),
        }
    }
}

/// Supported resolutions in dpi (the same for X and Y).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Resolutions {
    /// Exactly these values, ascending.
    Discrete(Vec<u32>),
    /// `min..=max` in steps of `step` from `min`.
    Range {
        /// Lowest.
        min: u32,
        /// Highest.
        max: u32,
        /// Quantum (1 = every value).
        step: u32,
    },
}

impl Resolutions {
    /// Whether `dpi` is allowed.
    pub fn contains(&self, dpi: u32) -> bool {
        match self {
            Resolutions::Discrete(v) => v.contains(&dpi),
            Resolutions::Range { min, max, step } => {
                dpi >= *min && dpi <= *max && (dpi - min) % (*step).max(1) == 0
            }
        }
    }

    /// The highest allowed value.
    pub fn max(&self) -> u32 {
        match self {
            Resolutions::Discrete(v) => v.iter().copied().max().unwrap_or(0),
            Resolutions::Range { max, .. } => *max,
        }
    }

    /// The allowed value closest to `dpi`.
    pub fn nearest(&self, dpi: u32) -> Option<u32> {
        match self {
            Resolutions::Discrete(v) => v.iter().copied().min_by_key(|r| r.abs_diff(dpi)),
            Resolutions::Range { min, max, step } => {
                let step = (*step).max(1);
                let clamped = dpi.clamp(*min, *max);
                let k = (clamped - min + step / 2) / step;
                Some((min + k * step).min(*max))
            }
        }
    }

    /// A discrete list (eSCL clients handle only those), picking the common values
    /// that fall in a range.
    pub fn to_discrete(&self) -> Vec<u32> {
        match self {
            Resolutions::Discrete(v) => v.clone(),
            Resolutions::Range { .. } => [75, 100, 150, 200, 240, 300, 400, 600, 1200, 2400]
                .into_iter()
                .filter(|d| self.contains(*d))
                .collect(),
        }
    }
}

impl fmt::Display for Resolutions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolutions::Discrete(v) => {
                let s: Vec<String> = v.iter().map(u32::to_string).collect();
                f.write_str(&s.join(", "))
            }
            Resolutions::Range { min, max, step } if *step <= 1 => write!(f, "{min}..{max}"),
            Resolutions::Range { min, max, step } => write!(f, "{min}..{max} in steps of {step}"),
        }
    }
}

/// What one source can do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceCaps {
    /// Which source.
    pub source: Source,
    /// Color modes, in the device's preferred order.
    pub modes: Vec<ColorMode>,
    /// Resolutions.
    pub resolutions: Resolutions,
    /// The largest scan area (width and height from the origin).
    pub max_area: Area,
    /// The smallest width and height a scan may have.
    pub min_size: (Length, Length),
    /// Encodings the device can deliver besides raw rows (empty for SANE and the virtual
    /// scanner, which deliver rows).
    pub encodings: Vec<Encoding>,
    /// Whether the device delivers raw rows.
    pub raw: bool,
    /// Sheets the feeder holds, if known.
    pub feeder_capacity: Option<u32>,
}

/// What a device can do: a model name and one entry per source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Capabilities {
    /// How the device calls itself, for messages ("virtual", "HP OfficeJet Pro 6978").
    pub model: String,
    /// One entry per source, in the device's order; the first is the default.
    pub sources: Vec<SourceCaps>,
    /// Page processing the device does itself (none for most devices).
    pub processing: DeviceProcessing,
}

impl Capabilities {
    /// The capabilities of `source`, if the device has it.
    pub fn source(&self, source: Source) -> Option<&SourceCaps> {
        self.sources.iter().find(|s| s.source == source)
    }

    /// The default source (the first listed).
    pub fn default_source(&self) -> Option<Source> {
        self.sources.first().map(|s| s.source)
    }
}
