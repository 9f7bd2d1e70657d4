//! Presets: named scan settings kept in `STATE_DIR/presets.json`, checked before they are
//! kept. The settings are the fields of `POST /api/scans` except device, document and preset
//! (docs: the web API contract); a field left out is not set by the preset.

use crate::document::Pass;
use crate::error::LibraryError;
use crate::json::{read_json, write_json};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A named set of scan settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Its name (1 to 64 characters, no control characters, no `/`).
    pub name: String,
    /// The device it scans with, or any.
    #[serde(default)]
    pub device: Option<String>,
    /// The settings.
    #[serde(default)]
    pub settings: ScanSettings,
    /// Whether documents scanned with it go to the archive folder when finished.
    #[serde(default)]
    pub archive: bool,
}

/// Scan settings as `POST /api/scans` has them; `None` leaves a field to the request or the
/// device's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// `flatbed`, `feeder` or `duplex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceName>,
    /// `color`, `gray` or `lineart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ModeName>,
    /// Dots per inch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<u32>,
    /// The region to scan in millimetres from the top left; `null`: the whole glass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_mm: Option<AreaMm>,
    /// Processing of each page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing: Option<Processing>,
    /// Recognise the text (a searchable PDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<bool>,
    /// Manual duplex: which pass this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplex_pass: Option<Pass>,
}

/// Where the paper is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum SourceName {
    Flatbed,
    Feeder,
    Duplex,
}

/// The color mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum ModeName {
    Color,
    Gray,
    Lineart,
}

/// A rectangle in millimetres.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct AreaMm {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// Per-page processing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processing {
    /// Straighten the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deskew: Option<bool>,
    /// `off`, `paper` or `photos`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<Crop>,
    /// `keep` or `skip` blank pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank: Option<Blank>,
    /// Blank page sensitivity, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<u32>,
    /// Quarter turns in degrees: 0, 90, 180, 270.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<u32>,
}

/// Auto-crop.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Crop {
    Off,
    Paper,
    Photos,
}

/// What happens to blank pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Blank {
    Keep,
    Skip,
}

/// The largest resolution a preset may ask for (the device's own list is checked when it
/// scans).
pub const MAX_RESOLUTION: u32 = 19_200;

impl Preset {
    /// The preset if its values are in range, else an error naming the field and the range.
    pub fn validated(mut self) -> Result<Preset, LibraryError> {
        let name = self.name.trim().to_string();
        let bad = |message: String| LibraryError::BadPreset {
            name: name.clone(),
            message,
        };
        if name.is_empty()
            || name.chars().count() > 64
            || name.chars().any(|c| c.is_control() || c == '/')
        {
            return Err(LibraryError::BadName(format!(
                "preset name {:?} is not allowed: 1 to 64 characters, no control characters \
                 and no '/'",
                self.name
            )));
        }
        let s = &self.settings;
        if let Some(r) = s.resolution {
            if !(1..=MAX_RESOLUTION).contains(&r) {
                return Err(bad(format!(
                    "resolution {r} dpi is out of range: 1..={MAX_RESOLUTION}"
                )));
            }
        }
        if let Some(a) = s.area_mm {
            let ok = [a.x, a.y, a.w, a.h].iter().all(|v| v.is_finite())
                && a.x >= 0.0
                && a.y >= 0.0
                && a.w > 0.0
                && a.h > 0.0
                && a.x + a.w <= 2000.0
                && a.y + a.h <= 2000.0;
            if !ok {
                return Err(bad(format!(
                    "area_mm {{x: {}, y: {}, w: {}, h: {}}} is not a region: x and y at least \
                     0, w and h more than 0, all within 2000 mm",
                    a.x, a.y, a.w, a.h
                )));
            }
        }
        if let Some(p) = &s.processing {
            if let Some(v) = p.sensitivity {
                if v > 100 {
                    return Err(bad(format!("sensitivity {v} is out of range: 0..=100")));
                }
            }
            if let Some(r) = p.rotate {
                if !matches!(r, 0 | 90 | 180 | 270) {
                    return Err(bad(format!("rotate {r} is not allowed: 0, 90, 180 or 270")));
                }
            }
        }
        if let Some(d) = &self.device {
            if !crate::names::is_id(d)
                && !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(bad(format!(
                    "device {d:?} is not a device id: letters, digits, '-', '_' and '.'"
                )));
            }
        }
        self.name = name;
        Ok(self)
    }
}

fn path(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("presets.json")
}

#[derive(Serialize, Deserialize)]
struct File {
    presets: Vec<Preset>,
}

pub(crate) fn load(state_dir: &Path) -> Result<Vec<Preset>, LibraryError> {
    Ok(read_json::<File>(&path(state_dir))?
        .map(|f| f.presets)
        .unwrap_or_default())
}

pub(crate) fn save(state_dir: &Path, presets: &[Preset]) -> Result<(), LibraryError> {
    write_json(
        &path(state_dir),
        "the presets",
        &File {
            presets: presets.to_vec(),
        },
    )
}
