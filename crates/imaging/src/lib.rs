//! Finished pages: the WIA 2.0 image-processing stages (docs/processing.md), as plain
//! functions on one page in memory.
//!
//! An [`Image`] is one whole page (any [`scanwire_core::device::PixelFormat`]); each stage
//! takes it by reference and returns a new one or a typed finding, so the page pipeline can run
//! them per page while the next page scans, holding one page plus scratch. The detectors work on
//! a [`Thumbnail`] (~100 dpi block means) that the pipeline can make once and share:
//!
//! | WIA property | stage |
//! |---|---|
//! | WIA_IPS_BRIGHTNESS / _CONTRAST | [`brightness_contrast`] |
//! | WIA_IPS_ROTATION | [`rotate`] by [`QuarterTurns`] |
//! | WIA_IPS_AUTO_DESKEW (+ DESKEW_X/Y) | [`detect_skew`] then [`deskew`]; [`Region::deskew_xy`] |
//! | WIA_IPS_AUTO_CROP SINGLE | [`detect_paper`] then [`extract`] (crop and deskew in one pass) or [`crop`] |
//! | WIA_IPS_AUTO_CROP MULTI, IWiaSegmentationFilter | [`segment_photos`] then [`extract`] each |
//! | WIA_IPS_BLANK_PAGES (+ _SENSITIVITY) | [`blank_score`] and [`BlankResult::is_blank`] |
//!
//! In the page pipeline: [`Processing`] (the settings every front end shares) gives the
//! stages ([`Processing::stages`]), which record what they find per page in a
//! [`ProcessingReport`]; [`Processing::process_image`] is the same on one page outside a
//! pipeline (the COM image filter); [`Processing::split`] leaves to a device what it does itself.
//!
//! ```
//! use scanwire_imaging::{synth, detect_paper, detect_skew, extract, blank_score, Sensitivity};
//! let mut spec = synth::SheetSpec::a4_on_platen(100, 7);
//! spec.skew_deg = 3.0;
//! let page = synth::sheet(&spec).image;
//! let sheet = detect_paper(&page).unwrap().expect("a sheet on a dark lid");
//! let straight = extract(&page, &sheet).unwrap();
//! assert!(detect_skew(&straight).unwrap().angle_deg.abs() < 0.2);
//! assert!(!blank_score(&straight).unwrap().is_blank(Sensitivity::default()));
//! ```
//!
//! Pixel formats: 8-bit gray and RGB are processed as they are; 16-bit samples are resampled
//! at full depth and measured by their high byte; lineart (1 bit) is rotated and cropped
//! exactly, and resampled as 8-bit gray then thresholded back at mid-gray.

#![warn(missing_docs)]

mod adjust;
mod blank;
mod device;
mod geometry;
mod image;
mod paper;
mod resample;
mod rotate;
mod segment;
mod skew;
mod stages;
pub mod synth;

pub use adjust::brightness_contrast;
pub use blank::{blank_score, blank_score_in, BlankResult, Sensitivity};
pub use image::{angle_from_deskew_xy, Image, ImagingError, Rect, Region, Thumbnail};
pub use paper::{detect_paper, detect_paper_in};
pub use resample::{deskew, extract, paper_color, MAX_ANGLE_DEG};
pub use rotate::{crop, rotate, QuarterTurns};
pub use segment::segment_photos;
pub use skew::{detect_skew, detect_skew_in, SkewError, SkewResult};
pub use stages::{
    Blank, BlankFinding, Crop, PageFindings, PageReport, Processing, ProcessingReport, SkewFinding,
};
