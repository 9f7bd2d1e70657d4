//! Page processing a device can do itself (eSCL's `AutoCrop`, `BlankPageDetection`,
//! `BlankPageDetectionAndRemoval`, `BlankPageSensitivitySupport`, `BrightnessSupport`,
//! `ContrastSupport`), and a request asking it to.
//!
//! Values in a request are in Scanwire's (and WIA's) units, whatever the device's are:
//! brightness and contrast −1000..=1000 (0 = unchanged, WIA_IPS_BRIGHTNESS/CONTRAST), blank
//! sensitivity 0..=100 (higher = more pages called blank). A device's [`LevelRange`] is in its
//! own units; the driver maps with [`LevelRange::from_wia`] / [`LevelRange::from_percent`].
//! [`DeviceProcessingRequest::split`] decides what a device does and what is left to
//! Scanwire's own stages.

use std::fmt;

/// A device's range for a level setting, in its own units (eSCL `Min`/`Max`/`Normal`/`Step`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LevelRange {
    /// Lowest value.
    pub min: i32,
    /// Highest value.
    pub max: i32,
    /// The neutral value (no change); the middle when the device does not say (HP DeskJet
    /// 2540 sends none).
    pub normal: i32,
    /// Quantum (1 = every value).
    pub step: i32,
}

impl LevelRange {
    /// A range with `normal` in the middle when `normal` is `None`; `None` when `max < min`.
    pub fn new(min: i32, max: i32, normal: Option<i32>, step: Option<i32>) -> Option<Self> {
        (max >= min).then(|| LevelRange {
            min,
            max,
            normal: normal
                .filter(|n| (min..=max).contains(n))
                .unwrap_or(min + (max - min) / 2),
            step: step.filter(|s| *s > 0).unwrap_or(1),
        })
    }

    /// The allowed value nearest `v`.
    pub fn quantize(&self, v: i64) -> i32 {
        let step = self.step.max(1) as i64;
        let (min, max) = (self.min as i64, self.max as i64);
        let k = ((v.clamp(min, max) - min) as f64 / step as f64).round() as i64;
        (min + k * step).min(max) as i32
    }

    /// WIA's −1000..=1000 (0 = normal) in this range: `normal + wia · (max − min) / 2000`, so
    /// ±1000 spans the device's whole width around its normal (HP's 0..2000, normal 1000, is
    /// WIA's shifted by 1000), clamped and stepped.
    pub fn from_wia(&self, wia: i32) -> i32 {
        let width = (self.max as i64 - self.min as i64) as f64;
        let v = self.normal as f64 + wia.clamp(-1000, 1000) as f64 * width / 2000.0;
        self.quantize(v.round() as i64)
    }

    /// The inverse of [`from_wia`](Self::from_wia): a device value as WIA's −1000..=1000.
    pub fn to_wia(&self, v: i32) -> i32 {
        let width = (self.max as i64 - self.min as i64).max(1) as f64;
        let w = (v as f64 - self.normal as f64) * 2000.0 / width;
        (w.round() as i64).clamp(-1000, 1000) as i32
    }

    /// Scanwire's 0..=100 as a point of this range, linearly (Min → 0, Max → 100): the
    /// Brother's and HP's 0..255 with Normal 128 is Scanwire's 50.
    pub fn from_percent(&self, p: u8) -> i32 {
        let width = (self.max as i64 - self.min as i64) as f64;
        let v = self.min as f64 + p.min(100) as f64 * width / 100.0;
        self.quantize(v.round() as i64)
    }

    /// The inverse of [`from_percent`](Self::from_percent).
    pub fn to_percent(&self, v: i32) -> u8 {
        let width = (self.max as i64 - self.min as i64).max(1) as f64;
        let p = (v.clamp(self.min, self.max) as i64 - self.min as i64) as f64 * 100.0 / width;
        p.round().clamp(0.0, 100.0) as u8
    }
}

impl fmt::Display for LevelRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{} (normal {})", self.min, self.max, self.normal)?;
        if self.step > 1 {
            write!(f, " in steps of {}", self.step)?;
        }
        Ok(())
    }
}

/// What a device can do to pages itself, before they reach Scanwire. Empty by default: only
/// devices that say so (eSCL scanners advertising the elements) do anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DeviceProcessing {
    /// Finds the sheet, straightens and crops it (eSCL `AutoCrop`; WIA_AUTO_CROP_SINGLE).
    pub auto_crop: bool,
    /// Detects blank pages but still delivers them (eSCL `BlankPageDetection`).
    pub blank_detection: bool,
    /// Detects blank pages and drops them (eSCL `BlankPageDetectionAndRemoval`;
    /// WIA_BLANK_PAGE_DISCARD).
    pub blank_removal: bool,
    /// The blank detector's sensitivity range (eSCL `BlankPageSensitivitySupport`).
    pub blank_sensitivity: Option<LevelRange>,
    /// Brightness (eSCL `BrightnessSupport`).
    pub brightness: Option<LevelRange>,
    /// Contrast (eSCL `ContrastSupport`).
    pub contrast: Option<LevelRange>,
}

impl DeviceProcessing {
    /// Whether the device can do nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == DeviceProcessing::default()
    }

    /// What it can do, in words (`auto-crop, blank-page removal, brightness 0..2000 (normal
    /// 1000)`), or `nothing`.
    pub fn describe(&self) -> String {
        let mut v: Vec<String> = Vec::new();
        if self.auto_crop {
            v.push("auto-crop".into());
        }
        if self.blank_removal {
            v.push("blank-page removal".into());
        }
        if self.blank_detection {
            v.push("blank-page detection".into());
        }
        if let Some(r) = &self.blank_sensitivity {
            v.push(format!("blank-page sensitivity {r}"));
        }
        if let Some(r) = &self.brightness {
            v.push(format!("brightness {r}"));
        }
        if let Some(r) = &self.contrast {
            v.push(format!("contrast {r}"));
        }
        if v.is_empty() {
            "nothing".into()
        } else {
            v.join(", ")
        }
    }
}

/// What a device is asked to do with blank pages.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BlankPages {
    /// Nothing (WIA_BLANK_PAGE_DETECTION_DISABLED).
    #[default]
    Keep,
    /// Detect them and say so, but deliver them (eSCL `BlankPageDetection`).
    Detect,
    /// Drop them (eSCL `BlankPageDetectionAndRemoval`; WIA_BLANK_PAGE_DISCARD).
    Remove,
}

/// Processing a request asks the device itself to do; see the module docs for the units.
/// Empty by default. [`ScanRequest::validate`](super::ScanRequest::validate) refuses what
/// the device cannot do; [`split`](Self::split) keeps a request to what it can.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DeviceProcessingRequest {
    /// Find the sheet, straighten and crop it.
    pub auto_crop: bool,
    /// Blank pages.
    pub blank_pages: BlankPages,
    /// The blank detector's sensitivity, 0..=100; `None` is the device's normal.
    pub blank_sensitivity: Option<u8>,
    /// Brightness, −1000..=1000; `None` (or 0) leaves it alone.
    pub brightness: Option<i32>,
    /// Contrast, −1000..=1000; `None` (or 0) leaves it alone.
    pub contrast: Option<i32>,
}

impl DeviceProcessingRequest {
    /// Whether nothing is asked.
    pub fn is_empty(&self) -> bool {
        *self == DeviceProcessingRequest::default()
    }

    /// The part `caps` can do (the first) and the rest (the second), which Scanwire's own
    /// stages then do. Blank removal goes to a device that removes blank pages, with the
    /// sensitivity only if the device has a range for it (an explicit sensitivity the device
    /// cannot take keeps removal local); detection alone to one that detects; brightness and
    /// contrast to a device with a range for them.
    pub fn split(
        &self,
        caps: &DeviceProcessing,
    ) -> (DeviceProcessingRequest, DeviceProcessingRequest) {
        let mut device = DeviceProcessingRequest::default();
        let mut local = DeviceProcessingRequest::default();
        if self.auto_crop {
            if caps.auto_crop {
                device.auto_crop = true;
            } else {
                local.auto_crop = true;
            }
        }
        let sensitivity_ok = self.blank_sensitivity.is_none() || caps.blank_sensitivity.is_some();
        let blank_on_device = match self.blank_pages {
            BlankPages::Keep => None,
            BlankPages::Remove => Some(caps.blank_removal && sensitivity_ok),
            BlankPages::Detect => Some(caps.blank_detection && sensitivity_ok),
        };
        if let Some(on_device) = blank_on_device {
            let part = if on_device { &mut device } else { &mut local };
            part.blank_pages = self.blank_pages;
            part.blank_sensitivity = self.blank_sensitivity;
        }
        for (asked, range, dev, loc) in [
            (
                self.brightness,
                caps.brightness,
                &mut device.brightness,
                &mut local.brightness,
            ),
            (
                self.contrast,
                caps.contrast,
                &mut device.contrast,
                &mut local.contrast,
            ),
        ] {
            match asked {
                None | Some(0) => {}
                Some(v) if range.is_some() => *dev = Some(v),
                Some(v) => *loc = Some(v),
            }
        }
        (device, local)
    }

    /// Checks that `caps` can do all of it and that the values are in range; the error names
    /// what the device can do.
    pub fn check(&self, caps: &DeviceProcessing) -> Result<(), String> {
        for (name, v) in [("brightness", self.brightness), ("contrast", self.contrast)] {
            if let Some(v) = v {
                if !(-1000..=1000).contains(&v) {
                    return Err(format!("{name} {v} is out of range; allowed: -1000..1000"));
                }
            }
        }
        if let Some(s) = self.blank_sensitivity {
            if s > 100 {
                return Err(format!(
                    "blank-page sensitivity {s} is out of range; allowed: 0..100"
                ));
            }
        }
        let (_, local) = self.split(caps);
        if local.is_empty() {
            return Ok(());
        }
        let mut missing = Vec::new();
        if local.auto_crop {
            missing.push("auto-crop");
        }
        match local.blank_pages {
            BlankPages::Keep => {}
            BlankPages::Remove if caps.blank_removal => missing.push("a blank-page sensitivity"),
            BlankPages::Detect if caps.blank_detection => missing.push("a blank-page sensitivity"),
            BlankPages::Remove => missing.push("blank-page removal"),
            BlankPages::Detect => missing.push("blank-page detection"),
        }
        if local.brightness.is_some() {
            missing.push("brightness");
        }
        if local.contrast.is_some() {
            missing.push("contrast");
        }
        Err(format!(
            "the device cannot do {} itself; it can do: {}",
            missing.join(", "),
            caps.describe()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp() -> DeviceProcessing {
        // HP ScanJet Pro 4500 fn1 (../shared/fixtures/escl).
        DeviceProcessing {
            auto_crop: true,
            blank_detection: true,
            blank_removal: false,
            blank_sensitivity: LevelRange::new(0, 255, Some(128), Some(1)),
            brightness: LevelRange::new(0, 2000, Some(1000), Some(1)),
            contrast: LevelRange::new(0, 2000, Some(1000), Some(1)),
        }
    }

    #[test]
    fn wia_levels_map_onto_device_ranges() {
        let hp = LevelRange::new(0, 2000, Some(1000), Some(1)).unwrap();
        assert_eq!(
            (hp.from_wia(-1000), hp.from_wia(0), hp.from_wia(250)),
            (0, 1000, 1250)
        );
        assert_eq!(hp.to_wia(1250), 250);
        // HP LaserJet M426fdn: contrast -127..127, normal 0.
        let m426 = LevelRange::new(-127, 127, Some(0), Some(1)).unwrap();
        assert_eq!((m426.from_wia(1000), m426.from_wia(-1000)), (127, -127));
        // No Normal (HP DeskJet 2540): the middle.
        assert_eq!(
            LevelRange::new(0, 2000, None, Some(1)).unwrap().normal,
            1000
        );
        let s = LevelRange::new(0, 255, Some(128), Some(1)).unwrap();
        assert_eq!(
            (s.from_percent(0), s.from_percent(50), s.from_percent(100)),
            (0, 128, 255)
        );
        assert_eq!(s.to_percent(128), 50);
    }

    #[test]
    fn split_sends_what_the_device_can_do_and_keeps_the_rest() {
        let r = DeviceProcessingRequest {
            auto_crop: true,
            blank_pages: BlankPages::Remove,
            blank_sensitivity: Some(60),
            brightness: Some(200),
            contrast: Some(0),
        };
        let (device, local) = r.split(&hp());
        assert!(device.auto_crop && !local.auto_crop);
        // The HP only detects blank pages: removal stays local, with its sensitivity.
        assert_eq!(local.blank_pages, BlankPages::Remove);
        assert_eq!(local.blank_sensitivity, Some(60));
        assert_eq!(device.blank_pages, BlankPages::Keep);
        assert_eq!(device.brightness, Some(200));
        assert_eq!(device.contrast, None);
        assert!(r.check(&hp()).unwrap_err().contains("blank-page removal"));
        assert!(device.check(&hp()).is_ok());
        let (d, l) = r.split(&DeviceProcessing::default());
        assert!(d.is_empty());
        assert_eq!(l.contrast, None);
        assert!(l.auto_crop && l.brightness == Some(200));
    }

    #[test]
    fn removal_with_a_sensitivity_needs_the_devices_range() {
        let caps = DeviceProcessing {
            blank_removal: true,
            ..DeviceProcessing::default()
        };
        let r = DeviceProcessingRequest {
            blank_pages: BlankPages::Remove,
            ..Default::default()
        };
        assert_eq!(r.split(&caps).0.blank_pages, BlankPages::Remove);
        let r = DeviceProcessingRequest {
            blank_sensitivity: Some(70),
            ..r
        };
        assert_eq!(r.split(&caps).1.blank_pages, BlankPages::Remove);
        assert!(r.check(&caps).unwrap_err().contains("sensitivity"));
    }
}
