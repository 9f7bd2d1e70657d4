//! What a device does itself and what the stages do: [`Processing::split`] against the
//! device's [`DeviceProcessing`] (eSCL's `AutoCrop`, `BlankPageDetectionAndRemoval`,
//! `BlankPageSensitivitySupport`, `BrightnessSupport`, `ContrastSupport`).

use crate::{Blank, Crop, Processing, Sensitivity};
use scanwire_core::device::{BlankPages, DeviceProcessing, DeviceProcessingRequest};

impl Processing {
    /// The part a device with `caps` does itself (for [`ScanRequest::processing`]) and the
    /// rest, for [`Processing::stages`]. A device's auto-crop (find the sheet, straighten and
    /// crop it) stands for [`Crop::Paper`] and its deskew; its blank-page removal for
    /// [`Blank::Skip`], with a sensitivity other than the default only where it has a range
    /// for one. Deskew without crop, photos, job separators and rotation have no eSCL
    /// element: always here.
    ///
    /// [`ScanRequest::processing`]: scanwire_core::device::ScanRequest::processing
    pub fn split(&self, caps: &DeviceProcessing) -> (DeviceProcessingRequest, Processing) {
        let default_sensitivity = self.sensitivity == Sensitivity::default();
        let wanted = DeviceProcessingRequest {
            auto_crop: self.crop == Crop::Paper,
            blank_pages: match self.blank {
                Blank::Skip => BlankPages::Remove,
                Blank::Keep | Blank::Split => BlankPages::Keep,
            },
            blank_sensitivity: (self.blank == Blank::Skip && !default_sensitivity)
                .then(|| self.sensitivity.get()),
            brightness: (self.brightness != 0).then_some(self.brightness),
            contrast: (self.contrast != 0).then_some(self.contrast),
        };
        let (device, _) = wanted.split(caps);
        let mut local = *self;
        if device.auto_crop {
            // The device's auto-crop straightens the sheet too ("deskew the image, and crop
            // to the detected edges", HP's eSCL SDK).
            local.crop = Crop::Off;
            local.deskew = false;
        }
        if device.blank_pages == BlankPages::Remove {
            local.blank = Blank::Keep;
            local.sensitivity = Sensitivity::default();
        }
        if device.brightness.is_some() {
            local.brightness = 0;
        }
        if device.contrast.is_some() {
            local.contrast = 0;
        }
        (device, local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::LevelRange;

    #[test]
    fn a_device_takes_what_it_advertises_and_the_rest_stays_here() {
        let p = Processing {
            brightness: 200,
            contrast: -100,
            deskew: true,
            crop: Crop::Paper,
            blank: Blank::Skip,
            sensitivity: Sensitivity::new(70).unwrap(),
            ..Processing::default()
        };
        // The HP ScanJet Pro 4500: crops and sets levels, detects but does not remove blanks.
        let hp = DeviceProcessing {
            auto_crop: true,
            blank_detection: true,
            blank_sensitivity: LevelRange::new(0, 255, Some(128), Some(1)),
            brightness: LevelRange::new(0, 2000, Some(1000), Some(1)),
            contrast: LevelRange::new(0, 2000, Some(1000), Some(1)),
            ..DeviceProcessing::default()
        };
        let (device, local) = p.split(&hp);
        assert!(device.auto_crop);
        assert_eq!(
            (device.brightness, device.contrast),
            (Some(200), Some(-100))
        );
        assert_eq!(device.blank_pages, BlankPages::Keep);
        assert_eq!(local.crop, Crop::Off);
        assert_eq!((local.brightness, local.contrast), (0, 0));
        assert!(
            !local.deskew,
            "the device's auto-crop straightens the sheet"
        );
        assert_eq!((local.blank, local.sensitivity.get()), (Blank::Skip, 70));
        // A device that removes blank pages, with a sensitivity range.
        let remover = DeviceProcessing {
            blank_removal: true,
            blank_sensitivity: LevelRange::new(0, 255, Some(128), Some(1)),
            ..DeviceProcessing::default()
        };
        let (device, local) = p.split(&remover);
        assert_eq!(device.blank_pages, BlankPages::Remove);
        assert_eq!(device.blank_sensitivity, Some(70));
        assert_eq!(local.blank, Blank::Keep);
        assert_eq!(local.crop, Crop::Paper);
        assert!(local.deskew);
        // Nothing on the device: everything stays.
        let (device, local) = p.split(&DeviceProcessing::default());
        assert!(device.is_empty());
        assert_eq!(local, p);
        // Job separators never go to a device.
        let split = Processing {
            blank: Blank::Split,
            ..Processing::default()
        };
        assert_eq!(split.split(&remover).1.blank, Blank::Split);
    }
}
