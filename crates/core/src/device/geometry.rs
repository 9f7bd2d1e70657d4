//! Lengths and areas, kept in integer micrometres so that every conversion (mm on the command
//! line, 1/300 inch in eSCL, pixels at a resolution) is exact or rounds the same way everywhere.

use std::fmt;

/// Micrometres per inch.
pub const UM_PER_INCH: u64 = 25_400;

/// A length on the scan glass, in micrometres.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Length(pub u32);

impl Length {
    /// Zero.
    pub const ZERO: Length = Length(0);

    /// From millimetres (rounded to the nearest micrometre; negative and NaN become 0).
    pub fn from_mm(mm: f64) -> Self {
        if mm.is_nan() || mm <= 0.0 {
            Length(0)
        } else {
            Length((mm * 1000.0).round().min(u32::MAX as f64) as u32)
        }
    }

    /// From whole millimetres.
    pub const fn mm(mm: u32) -> Self {
        Length(mm * 1000)
    }

    /// From 1/300 inch, eSCL's unit.
    pub const fn from_300ths(n: u32) -> Self {
        Length(((n as u64 * UM_PER_INCH + 150) / 300) as u32)
    }

    /// In 1/300 inch, rounded to nearest.
    pub const fn to_300ths(self) -> u32 {
        ((self.0 as u64 * 300 + UM_PER_INCH / 2) / UM_PER_INCH) as u32
    }

    /// In millimetres.
    pub fn as_mm(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Pixels at `dpi`, rounded to nearest: 297 mm at 300 dpi is 3508 lines, as scanners and
    /// sane-airscan count them.
    pub const fn to_pixels(self, dpi: u32) -> u32 {
        ((self.0 as u64 * dpi as u64 + UM_PER_INCH / 2) / UM_PER_INCH) as u32
    }

    /// The length of `px` pixels at `dpi`.
    pub const fn from_pixels(px: u32, dpi: u32) -> Self {
        if dpi == 0 {
            return Length(0);
        }
        Length(((px as u64 * UM_PER_INCH + dpi as u64 / 2) / dpi as u64) as u32)
    }
}

impl fmt::Debug for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}mm", self.as_mm())
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mm = self.as_mm();
        if (mm - mm.round()).abs() < 1e-9 {
            write!(f, "{mm:.0} mm")
        } else {
            write!(f, "{mm:.1} mm")
        }
    }
}

/// A rectangle on the glass, measured from the top-left corner of the source's area.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Area {
    /// Distance from the left edge (scanimage `-l`).
    pub left: Length,
    /// Distance from the top edge (scanimage `-t`).
    pub top: Length,
    /// Width (scanimage `-x`).
    pub width: Length,
    /// Height (scanimage `-y`).
    pub height: Length,
}

impl Area {
    /// A rectangle at the origin.
    pub const fn sized(width: Length, height: Length) -> Self {
        Area {
            left: Length::ZERO,
            top: Length::ZERO,
            width,
            height,
        }
    }

    /// Right edge.
    pub const fn right(&self) -> Length {
        Length(self.left.0.saturating_add(self.width.0))
    }

    /// Bottom edge.
    pub const fn bottom(&self) -> Length {
        Length(self.top.0.saturating_add(self.height.0))
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1}x{:.1} mm at ({:.1}, {:.1})",
            self.width.as_mm(),
            self.height.as_mm(),
            self.left.as_mm(),
            self.top.as_mm()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a4_at_300_dpi_is_2480_by_3508() {
        assert_eq!(Length::mm(210).to_pixels(300), 2480);
        assert_eq!(Length::mm(297).to_pixels(300), 3508);
        assert_eq!(Length::mm(210).to_pixels(600), 4961);
    }

    #[test]
    fn escl_units_round_trip() {
        assert_eq!(Length::from_300ths(2550), Length(215_900));
        assert_eq!(Length(215_900).to_300ths(), 2550);
        assert_eq!(Length::from_mm(10.0).to_300ths(), 118);
    }

    #[test]
    fn bad_mm_values_become_zero_not_garbage() {
        assert_eq!(Length::from_mm(f64::NAN), Length(0));
        assert_eq!(Length::from_mm(-3.0), Length(0));
    }
}
