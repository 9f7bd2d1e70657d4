//! What Scanwire's WIA image processing filter and segmentation filter do, without COM: the
//! `WIA_IPS_*` property values read as a [`Processing`] (the settings type the CLI and the
//! eSCL server use too), a whole page run through [`Processing::process_image`] (the code
//! the page pipeline's stage runs, so the filter, the CLI and the server make the same pages
//! of the same page), and the photos on a preview found as child-item geometry.
//!
//! What is the filter's own: reading the properties (with WIA's names in the errors), the
//! region WIA_IPS_DESKEW_X / _Y describe (cut out straight before processing: it says what
//! part of the transfer is the item), the DESKEW_X / _Y written back from what was found,
//! the page's encoding, and the segmentation filter's child items. docs/processing.md has
//! the properties' meaning and sources, and the order (brightness and contrast, the
//! detectors, blank check, crop and deskew, rotation last).
//!
//! Pages arrive encoded in the item's `WIA_IPA_FORMAT` and leave in the same format: PNG
//! and JPEG through `scanwire-codecs` (decoded whole: deskew and rotation need the whole page,
//! as in the sample, which caches the page until END_OF_STREAM), BMP through [`crate::bmp`].

use crate::bmp;
use scanwire_codecs::{decode, encode_page, EncodeError, EncodeOptions, Format, SliceSource};
use scanwire_core::device::{PageData, PageInfo, Side, Source};
use scanwire_core::wia::{self, HResult};
use scanwire_imaging::{
    angle_from_deskew_xy, crop, extract, segment_photos, Blank, Crop, Image, ImagingError,
    PageFindings, Processing, QuarterTurns, Region, Sensitivity, SkewFinding,
};

// Property ids (wia.h / wiadef.h values; checked against the `windows` crate in `com`).
/// `WIA_IPA_ITEM_CATEGORY`.
pub const WIA_IPA_ITEM_CATEGORY: u32 = 4125;
/// `WIA_IPS_BRIGHTNESS`: −1000..1000, 0 normal.
pub const WIA_IPS_BRIGHTNESS: u32 = 6154;
/// `WIA_IPS_CONTRAST`: −1000..1000, 0 normal.
pub const WIA_IPS_CONTRAST: u32 = 6155;
/// `WIA_IPS_ROTATION`: [`PORTRAIT`], [`LANDSCAPE`], [`ROT180`], [`ROT270`].
pub const WIA_IPS_ROTATION: u32 = 6157;
/// `WIA_IPS_AUTO_DESKEW`: [`WIA_AUTO_DESKEW_ON`] / [`WIA_AUTO_DESKEW_OFF`].
pub const WIA_IPS_AUTO_DESKEW: u32 = 3107;
/// `WIA_IPS_DESKEW_X`: across the top of the bounding box to the uppermost corner.
pub const WIA_IPS_DESKEW_X: u32 = 6162;
/// `WIA_IPS_DESKEW_Y`: down the left of the bounding box to the leftmost corner.
pub const WIA_IPS_DESKEW_Y: u32 = 6163;
/// `WIA_IPS_AUTO_CROP`: `WIA_AUTO_CROP_DISABLED`, `_SINGLE`, `_MULTI`.
pub const WIA_IPS_AUTO_CROP: u32 = 4170;
/// `WIA_IPS_BLANK_PAGES`: `WIA_BLANK_PAGE_DETECTION_DISABLED`, `_DISCARD`, `_JOB_SEPARATOR`.
pub const WIA_IPS_BLANK_PAGES: u32 = 4167;
/// `WIA_IPS_BLANK_PAGES_SENSITIVITY`: a device-defined range.
pub const WIA_IPS_BLANK_PAGES_SENSITIVITY: u32 = 4192;
/// `WIA_IPS_JOB_SEPARATORS`: what a separator (here: a blank page) does.
pub const WIA_IPS_JOB_SEPARATORS: u32 = 4165;
/// `WIA_IPS_SEGMENTATION`: whether the driver's segmentation filter is to be used.
pub const WIA_IPS_SEGMENTATION: u32 = 6164;

/// `PORTRAIT`: not rotated.
pub const PORTRAIT: i32 = 0;
/// `LANDSCAPE`: 90° counterclockwise.
pub const LANDSCAPE: i32 = 1;
/// `ROT180`.
pub const ROT180: i32 = 2;
/// `ROT270`: 270° counterclockwise.
pub const ROT270: i32 = 3;
/// `WIA_AUTO_DESKEW_ON` (0: note ON is the zero value).
pub const WIA_AUTO_DESKEW_ON: i32 = 0;
/// `WIA_AUTO_DESKEW_OFF`.
pub const WIA_AUTO_DESKEW_OFF: i32 = 1;
/// `WIA_AUTO_CROP_DISABLED`.
pub const WIA_AUTO_CROP_DISABLED: i32 = 0;
/// `WIA_AUTO_CROP_SINGLE`.
pub const WIA_AUTO_CROP_SINGLE: i32 = 1;
/// `WIA_AUTO_CROP_MULTI`.
pub const WIA_AUTO_CROP_MULTI: i32 = 2;
/// `WIA_BLANK_PAGE_DETECTION_DISABLED`.
pub const WIA_BLANK_PAGE_DETECTION_DISABLED: i32 = 0;
/// `WIA_BLANK_PAGE_DISCARD`.
pub const WIA_BLANK_PAGE_DISCARD: i32 = 1;
/// `WIA_BLANK_PAGE_JOB_SEPARATOR`.
pub const WIA_BLANK_PAGE_JOB_SEPARATOR: i32 = 2;
/// `WIA_SEPARATOR_DISABLED`.
pub const WIA_SEPARATOR_DISABLED: i32 = 0;
/// `WIA_SEPARATOR_DETECT_SCAN_CONTINUE`: keep the separator page, go on.
pub const WIA_SEPARATOR_DETECT_SCAN_CONTINUE: i32 = 1;
/// `WIA_SEPARATOR_DETECT_SCAN_STOP`.
pub const WIA_SEPARATOR_DETECT_SCAN_STOP: i32 = 2;
/// `WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE`: drop the separator page, go on.
pub const WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE: i32 = 3;
/// `WIA_SEPARATOR_DETECT_NOSCAN_STOP`.
pub const WIA_SEPARATOR_DETECT_NOSCAN_STOP: i32 = 4;

/// `WiaImgFmt_BMP`.
pub const WIA_IMG_FMT_BMP: u128 = 0xb96b3cab_0728_11d3_9d7b_0000f81ef32e;
/// `WIA_CATEGORY_FINISHED_FILE`: a storage item (no image to process).
pub const WIA_CATEGORY_FINISHED_FILE: u128 = 0xff2b77ca_cf84_432b_a735_3a130dde2a88;
/// `WIA_CATEGORY_FOLDER`.
pub const WIA_CATEGORY_FOLDER: u128 = 0xc692a446_6f5a_481d_85bb_92e2e86fd30a;
/// `WIA_CATEGORY_ROOT`.
pub const WIA_CATEGORY_ROOT: u128 = 0xf193526f_59b8_4a26_9888_e16e4f97ce10;

/// `HRESULT_FROM_WIN32(ERROR_INVALID_DATA)`: the page's bytes are not the image its format says.
pub const E_INVALID_DATA: HResult = HResult::from_u32(0x8007_000D);

/// The properties the image filter reads from the item a stream is for.
pub const FILTER_PROPERTIES: [u32; 10] = [
    WIA_IPS_BRIGHTNESS,
    WIA_IPS_CONTRAST,
    WIA_IPS_ROTATION,
    WIA_IPS_AUTO_DESKEW,
    WIA_IPS_DESKEW_X,
    WIA_IPS_DESKEW_Y,
    WIA_IPS_AUTO_CROP,
    WIA_IPS_BLANK_PAGES,
    WIA_IPS_BLANK_PAGES_SENSITIVITY,
    WIA_IPS_JOB_SEPARATORS,
];

/// Why a page could not be processed. Each names what was wrong and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A property holds a value WIA does not define (or Scanwire's filter does not do).
    #[error("{property} = {value} is not allowed: {allowed}")]
    BadProperty {
        /// The property's WIA name.
        property: &'static str,
        /// The value read.
        value: i32,
        /// What is allowed.
        allowed: &'static str,
    },
    /// The item's format is one the filter cannot decode.
    #[error("the item's format {0} cannot be processed; the filter processes PNG, JPEG and BMP (WiaImgFmt_PNG, _JPEG, _BMP)")]
    UnsupportedFormat(String),
    /// The page's bytes are not a valid image of the item's format.
    #[error("the page is not a valid {format} image: {detail}")]
    BadImage {
        /// The format the item declared.
        format: &'static str,
        /// What the decoder found.
        detail: String,
    },
    /// A stage refused the page.
    #[error(transparent)]
    Imaging(#[from] ImagingError),
    /// The processed page could not be encoded.
    #[error("encoding the processed page: {0}")]
    Encode(EncodeError),
}

impl FilterError {
    /// The HRESULT a COM caller gets for it.
    pub fn hresult(&self) -> HResult {
        match self {
            FilterError::BadProperty { .. } => wia::E_INVALIDARG,
            FilterError::UnsupportedFormat(_) => crate::pages::E_NOTIMPL,
            FilterError::BadImage { .. } => E_INVALID_DATA,
            FilterError::Imaging(_) | FilterError::Encode(_) => wia::E_FAIL,
        }
    }
}

/// Where the item's property values come from: by id, `None` when the item lacks it.
pub trait PropertySource {
    /// The value of property `id` as a LONG, if the item has it.
    fn long(&self, id: u32) -> Option<i32>;
    /// The valid range of property `id` (`WIA_PROP_RANGE` min and max), if it has one.
    fn range(&self, id: u32) -> Option<(i32, i32)>;
}

/// The item's `WIA_IPS_*` processing properties: the shared [`Processing`], and the region
/// DESKEW_X / _Y describe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterSettings {
    /// What to do to each page, as every front end says it.
    pub processing: Processing,
    /// WIA_IPS_DESKEW_X / _Y when auto deskew is off: the turned region inside the scanned
    /// area (a segmentation result), cut out straight before the rest; `(0, 0)` is none.
    pub deskew_xy: (u32, u32),
}

fn bad(property: &'static str, value: i32, allowed: &'static str) -> FilterError {
    FilterError::BadProperty {
        property,
        value,
        allowed,
    }
}

impl FilterSettings {
    /// Reads the settings from an item's properties. A property the item lacks has WIA's
    /// default (normal brightness and contrast, PORTRAIT, deskew off, crop and blank
    /// detection disabled).
    ///
    /// WIA_IPS_BLANK_PAGES_SENSITIVITY has no range fixed by WIA \[BS\]: with the item's
    /// `WIA_PROP_RANGE` min..max it maps linearly onto Scanwire's 0..100
    /// (`round(100 (v − min) / (max − min))`, as eSCL's is mapped); without a range the value
    /// must already be 0..100.
    pub fn from_properties(p: &dyn PropertySource) -> Result<Self, FilterError> {
        let level = |id, name| -> Result<i32, FilterError> {
            match p.long(id) {
                None => Ok(0),
                Some(v) if (-1000..=1000).contains(&v) => Ok(v),
                Some(v) => Err(bad(name, v, "-1000..=1000")),
            }
        };
        let brightness = level(WIA_IPS_BRIGHTNESS, "WIA_IPS_BRIGHTNESS")?;
        let contrast = level(WIA_IPS_CONTRAST, "WIA_IPS_CONTRAST")?;
        let rotate = match p.long(WIA_IPS_ROTATION).unwrap_or(PORTRAIT) {
            PORTRAIT => QuarterTurns::None,
            LANDSCAPE => QuarterTurns::Ccw90,
            ROT180 => QuarterTurns::Half,
            ROT270 => QuarterTurns::Ccw270,
            v => {
                return Err(bad(
                    "WIA_IPS_ROTATION",
                    v,
                    "PORTRAIT (0), LANDSCAPE (1), ROT180 (2), ROT270 (3)",
                ))
            }
        };
        let deskew = match p.long(WIA_IPS_AUTO_DESKEW) {
            None | Some(WIA_AUTO_DESKEW_OFF) => false,
            Some(WIA_AUTO_DESKEW_ON) => true,
            Some(v) => {
                return Err(bad(
                    "WIA_IPS_AUTO_DESKEW",
                    v,
                    "WIA_AUTO_DESKEW_ON (0), WIA_AUTO_DESKEW_OFF (1)",
                ))
            }
        };
        let offset = |id, name| -> Result<u32, FilterError> {
            match p.long(id) {
                None => Ok(0),
                Some(v) if v >= 0 => Ok(v as u32),
                Some(v) => Err(bad(name, v, "0 or more (pixels; 0 = no deskew)")),
            }
        };
        let deskew_xy = (
            offset(WIA_IPS_DESKEW_X, "WIA_IPS_DESKEW_X")?,
            offset(WIA_IPS_DESKEW_Y, "WIA_IPS_DESKEW_Y")?,
        );
        let crop = match p.long(WIA_IPS_AUTO_CROP).unwrap_or(WIA_AUTO_CROP_DISABLED) {
            WIA_AUTO_CROP_DISABLED => Crop::Off,
            WIA_AUTO_CROP_SINGLE => Crop::Paper,
            WIA_AUTO_CROP_MULTI => Crop::Photos,
            v => {
                return Err(bad(
                    "WIA_IPS_AUTO_CROP",
                    v,
                    "WIA_AUTO_CROP_DISABLED (0), _SINGLE (1), _MULTI (2)",
                ))
            }
        };
        let blank = match p
            .long(WIA_IPS_BLANK_PAGES)
            .unwrap_or(WIA_BLANK_PAGE_DETECTION_DISABLED)
        {
            WIA_BLANK_PAGE_DETECTION_DISABLED => Blank::Keep,
            WIA_BLANK_PAGE_DISCARD => Blank::Skip,
            WIA_BLANK_PAGE_JOB_SEPARATOR => {
                match p
                    .long(WIA_IPS_JOB_SEPARATORS)
                    .unwrap_or(WIA_SEPARATOR_DISABLED)
                {
                    // The separator page is kept: every page is delivered, so there is
                    // nothing to check (a filter delivers pages, not documents).
                    WIA_SEPARATOR_DISABLED | WIA_SEPARATOR_DETECT_SCAN_CONTINUE => Blank::Keep,
                    WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE => Blank::Split,
                    v => {
                        return Err(bad(
                            "WIA_IPS_JOB_SEPARATORS",
                            v,
                            "with blank pages as separators: WIA_SEPARATOR_DISABLED (0), \
                             _DETECT_SCAN_CONTINUE (1), _DETECT_NOSCAN_CONTINUE (3) (a filter \
                             cannot stop a driver's feeder, so the _STOP values are refused)",
                        ))
                    }
                }
            }
            v => {
                return Err(bad(
                    "WIA_IPS_BLANK_PAGES",
                    v,
                    "WIA_BLANK_PAGE_DETECTION_DISABLED (0), _DISCARD (1), _JOB_SEPARATOR (2)",
                ))
            }
        };
        let sensitivity = match p.long(WIA_IPS_BLANK_PAGES_SENSITIVITY) {
            None => Sensitivity::default(),
            Some(v) => sensitivity(v, p.range(WIA_IPS_BLANK_PAGES_SENSITIVITY))?,
        };
        Ok(FilterSettings {
            processing: Processing {
                brightness,
                contrast,
                rotate,
                deskew,
                crop,
                blank,
                sensitivity,
            },
            deskew_xy,
        })
    }

    /// Whether the page passes unchanged (the filter then hands the application's stream
    /// straight to the driver, as the sample suggests).
    pub fn is_identity(&self) -> bool {
        // With nothing else asked, auto deskew is off: DESKEW_X / _Y, if both set, are input.
        self.processing.is_none() && (self.deskew_xy.0 == 0 || self.deskew_xy.1 == 0)
    }

    /// The region DESKEW_X / _Y describe in a `width` x `height` transfer, when they are
    /// input (auto deskew off; with it on they are what the filter writes back).
    fn region(&self, width: u32, height: u32) -> Option<Region> {
        if self.processing.deskew {
            return None;
        }
        deskew_region(width, height, self.deskew_xy.0, self.deskew_xy.1)
    }
}

/// A device sensitivity `v` in `range` as Scanwire's 0..100.
fn sensitivity(v: i32, range: Option<(i32, i32)>) -> Result<Sensitivity, FilterError> {
    let scaled = match range {
        Some((min, max)) if max > min => {
            if v < min || v > max {
                return Err(bad(
                    "WIA_IPS_BLANK_PAGES_SENSITIVITY",
                    v,
                    "a value within the property's valid range",
                ));
            }
            (100.0 * (v - min) as f64 / (max - min) as f64).round() as u32
        }
        _ => {
            if !(0..=100).contains(&v) {
                return Err(bad(
                    "WIA_IPS_BLANK_PAGES_SENSITIVITY",
                    v,
                    "0..=100 (the property has no range to scale from)",
                ));
            }
            v as u32
        }
    };
    Ok(Sensitivity::new(scaled)?)
}

/// The encodings a page can come in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PageFormat {
    /// `WiaImgFmt_PNG`.
    Png,
    /// `WiaImgFmt_JPEG`.
    Jpeg,
    /// `WiaImgFmt_BMP` (a BMP file: BITMAPFILEHEADER first).
    Bmp,
}

impl PageFormat {
    /// From `WIA_IPA_FORMAT`.
    pub fn from_guid(guid: u128) -> Result<Self, FilterError> {
        match guid {
            crate::options::WIA_IMG_FMT_PNG => Ok(PageFormat::Png),
            crate::options::WIA_IMG_FMT_JPEG => Ok(PageFormat::Jpeg),
            WIA_IMG_FMT_BMP => Ok(PageFormat::Bmp),
            other => Err(FilterError::UnsupportedFormat(format!(
                "{{{:08x}-...}}",
                (other >> 96) as u32
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            PageFormat::Png => "PNG",
            PageFormat::Jpeg => "JPEG",
            PageFormat::Bmp => "BMP",
        }
    }
}

/// Decodes a page in `format`; `fallback_dpi` when the file states none.
pub fn decode_page(
    bytes: &[u8],
    format: PageFormat,
    fallback_dpi: (u32, u32),
) -> Result<Image, FilterError> {
    let bad_image = |detail: String| FilterError::BadImage {
        format: format.name(),
        detail,
    };
    let (pixel, width, height, dpi, data) = match format {
        PageFormat::Png | PageFormat::Jpeg => {
            let want = match format {
                PageFormat::Png => scanwire_core::device::Encoding::Png,
                _ => scanwire_core::device::Encoding::Jpeg,
            };
            if decode::sniff(bytes) != Some(want) {
                return Err(bad_image(
                    "its first bytes are not this format's signature".into(),
                ));
            }
            let d = decode::decode(bytes, None).map_err(|e| bad_image(e.to_string()))?;
            (d.pixel, d.width, d.height, d.dpi, d.data)
        }
        PageFormat::Bmp => {
            let d = bmp::decode(bytes).map_err(|e| bad_image(e.to_string()))?;
            (d.pixel, d.width, d.height, d.dpi, d.data)
        }
    };
    let dpi = dpi.filter(|d| d.0 > 0 && d.1 > 0).unwrap_or(fallback_dpi);
    Ok(Image::new(pixel, width, height, dpi, data)?)
}

/// Encodes a page in `format`.
pub fn encode(img: &Image, format: PageFormat) -> Result<Vec<u8>, FilterError> {
    if format == PageFormat::Bmp {
        return bmp::encode(img)
            .map_err(|e| FilterError::Encode(EncodeError::Unsupported(e.to_string())));
    }
    let page = PageInfo {
        number: 1,
        sheet: 1,
        side: Side::Front,
        source: Source::Flatbed,
        data: PageData::Raster {
            pixel: img.pixel,
            width: img.width,
            height: Some(img.height),
        },
        dpi: img.dpi,
    };
    let f = match format {
        PageFormat::Png => Format::Png,
        _ => Format::Jpeg,
    };
    let mut src = SliceSource::new(&img.data, 1 << 20);
    encode_page(f, &page, &EncodeOptions::default(), &mut src, Vec::new())
        .map_err(FilterError::Encode)
}

/// What processing found on one page: for the report and for `ApplyProperties`.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterReport {
    /// What the shared processing found (the sheet, the angle, the blank check, photos,
    /// pages made, separator), as the CLI's `--json` reports it.
    pub findings: PageFindings,
    /// WIA_IPS_DESKEW_X / _Y of what was straightened, in the processed page's pixels (the
    /// sheet, or the whole page turned by its text lines), for `ApplyProperties`.
    pub deskew_xy: Option<(u32, u32)>,
}

impl FilterReport {
    /// Whether the page was blank and is not delivered (discarded, or a job separator).
    pub fn discarded(&self) -> bool {
        self.findings.outputs == 0
    }
}

/// A processed page: zero (discarded), one, or several (auto-crop MULTI) images to deliver.
#[derive(Debug)]
pub struct Processed {
    /// Each image to deliver, encoded in the page's format.
    pub pages: Vec<Vec<u8>>,
    /// What was found.
    pub report: FilterReport,
}

/// The rectangle, turned by `angle_deg`, whose bounding box is `width` x `height`: the
/// content of a whole page found skewed by that angle.
fn inscribed(width: u32, height: u32, angle_deg: f64) -> Region {
    let (w, h) = (width as f64, height as f64);
    let (s, c) = angle_deg.abs().to_radians().sin_cos();
    let d = c * c - s * s;
    let (rw, rh) = if d > 1e-6 {
        ((w * c - h * s) / d, (h * c - w * s) / d)
    } else {
        (w, h)
    };
    Region {
        center: (w / 2.0, h / 2.0),
        size: (rw.max(1.0), rh.max(1.0)),
        angle_deg,
    }
}

/// The region WIA_IPS_DESKEW_X / _Y describe inside a `width` x `height` scanned area, by the
/// rule of Microsoft's sample filter: the larger of the two runs along the region's top; the
/// other side follows from the box. `None` when either is 0 (no deskew).
pub fn deskew_region(width: u32, height: u32, deskew_x: u32, deskew_y: u32) -> Option<Region> {
    if deskew_x == 0 || deskew_y == 0 {
        return None;
    }
    let angle = angle_from_deskew_xy(deskew_x, deskew_y);
    let c = angle.to_radians().cos();
    let (x, y) = (deskew_x as f64, deskew_y as f64);
    let hyp = (x * x + y * y).sqrt();
    let (w, h) = if deskew_x > deskew_y {
        (hyp, (height as f64 - y) / c)
    } else {
        ((width as f64 - x) / c, hyp)
    };
    Some(Region {
        center: (width as f64 / 2.0, height as f64 / 2.0),
        size: (w.max(1.0), h.max(1.0)),
        angle_deg: angle,
    })
}

/// Processes one decoded page as `settings` ask: the region DESKEW_X / _Y describe cut out
/// straight, then [`Processing::process_image`]. Each image returned is one page to deliver
/// (none: the page was blank, discarded or a job separator).
pub fn process_image(
    img: Image,
    settings: &FilterSettings,
) -> Result<(Vec<Image>, FilterReport), FilterError> {
    let img = match settings.region(img.width, img.height) {
        Some(r) => extract(&img, &r)?,
        None => img,
    };
    // One page at a time: the caller that counts them numbers it. WIA tells a filter neither
    // the sheet nor the side: they stay sheet 1, front.
    let mut findings = PageFindings::new(1, 1, Side::Front, (img.width, img.height));
    let images = settings.processing.process_image(img, &mut findings)?;
    let deskew_xy = match findings.skew {
        Some(SkewFinding::Sheet { .. }) => findings.crop.map(|sheet| sheet.deskew_xy()),
        Some(SkewFinding::Text { angle_deg, .. }) => {
            Some(inscribed(findings.size.0, findings.size.1, angle_deg).deskew_xy())
        }
        Some(SkewFinding::NotEnoughStructure) | None => None,
    };
    Ok((
        images,
        FilterReport {
            findings,
            deskew_xy,
        },
    ))
}

/// Decodes, processes and re-encodes one page in `format`.
pub fn process_page(
    bytes: &[u8],
    format: PageFormat,
    dpi: (u32, u32),
    settings: &FilterSettings,
) -> Result<Processed, FilterError> {
    let img = decode_page(bytes, format, dpi)?;
    let (images, report) = process_image(img, settings)?;
    let pages = images
        .iter()
        .map(|i| encode(i, format))
        .collect::<Result<_, _>>()?;
    Ok(Processed { pages, report })
}

/// One photo found by the segmentation filter, as the child item's properties: the bounding
/// rectangle in the parent item's pixel coordinates, and the turn inside it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildRegion {
    /// `WIA_IPS_XPOS`.
    pub xpos: i32,
    /// `WIA_IPS_YPOS`.
    pub ypos: i32,
    /// `WIA_IPS_XEXTENT`.
    pub xextent: i32,
    /// `WIA_IPS_YEXTENT`.
    pub yextent: i32,
    /// `WIA_IPS_DESKEW_X` (0 for an unturned photo).
    pub deskew_x: i32,
    /// `WIA_IPS_DESKEW_Y`.
    pub deskew_y: i32,
    /// The photo as found, in the preview's pixels.
    pub region: Region,
}

/// The photos on a preview image (`DetectRegions`), in reading order. The preview was
/// acquired for the item whose `WIA_IPS_XPOS` / `YPOS` are `origin`, so a photo at (x, y) of
/// the preview lies at `origin + (x, y)` in the item's coordinates, as in Microsoft's example
/// segmentation filter.
pub fn detect_regions(
    bytes: &[u8],
    format: PageFormat,
    dpi: (u32, u32),
    origin: (i32, i32),
) -> Result<Vec<ChildRegion>, FilterError> {
    let img = decode_page(bytes, format, dpi)?;
    Ok(segment_photos(&img)?
        .into_iter()
        .map(|region| {
            let r = region.bounding_rect(img.width, img.height);
            let (dx, dy) = region.deskew_xy();
            ChildRegion {
                xpos: origin.0 + r.x as i32,
                ypos: origin.1 + r.y as i32,
                xextent: r.width as i32,
                yextent: r.height as i32,
                deskew_x: dx.min(r.width.saturating_sub(1)) as i32,
                deskew_y: dy.min(r.height.saturating_sub(1)) as i32,
                region,
            }
        })
        .collect())
}

/// `FilterPreviewImage`: the child item's area cut out of the preview image the WIA Preview
/// Component cached, then processed as a download of that item would be (blank pages are
/// not checked: a preview is always shown). `extents` is where the cached image lies on the
/// platen (left, top, right, bottom); `area` the child's `XPOS`, `YPOS`, `XEXTENT`, `YEXTENT`
/// (extents of 0: the whole image, as in Microsoft's sample).
pub fn filter_preview(
    bytes: &[u8],
    format: PageFormat,
    dpi: (u32, u32),
    extents: (i32, i32, i32, i32),
    area: (i32, i32, i32, i32),
    settings: &FilterSettings,
) -> Result<Vec<u8>, FilterError> {
    let (left, top, right, bottom) = extents;
    if right == 0 || bottom == 0 || left >= right || top >= bottom {
        return Err(FilterError::BadProperty {
            property: "InputImageExtents",
            value: right - left,
            allowed: "a rectangle with left < right and top < bottom, right and bottom not 0",
        });
    }
    let img = decode_page(bytes, format, dpi)?;
    let (xpos, ypos, xext, yext) = area;
    let img = if xext == 0 || yext == 0 {
        img
    } else {
        let (x, y) = (xpos - left, ypos - top);
        if x < 0 || y < 0 || xext < 0 || yext < 0 {
            return Err(FilterError::BadProperty {
                property: "WIA_IPS_XPOS/YPOS",
                value: x.min(y),
                allowed: "the child's area inside the cached preview image",
            });
        }
        crop(
            &img,
            scanwire_imaging::Rect {
                x: x as u32,
                y: y as u32,
                width: xext as u32,
                height: yext as u32,
            },
        )?
    };
    let mut settings = settings.clone();
    settings.processing.blank = Blank::Keep;
    let (mut images, _) = process_image(img, &settings)?;
    encode(&images.swap_remove(0), format)
}
