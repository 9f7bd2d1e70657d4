//! The `wia:` driver's three vocabularies (STYLE 6): WIA item properties as read from a device
//! ([`ItemProps`]), Scanwire's [`Capabilities`] made from them, and the property values a
//! [`ScanRequest`] becomes ([`Settings`]). No COM here: the driver reads and writes
//! PROPVARIANTs, this module decides what they mean.
//!
//! Property ids and values are the SDK's (`wiadef.h`); the Windows build checks them against
//! the `windows` crate at compile time.

use scanwire_core::device::{
    Area, Capabilities, ColorMode, DeviceError, DeviceErrorKind, Encoding, Length, PageData,
    Resolutions, ScanRequest, Source, SourceCaps,
};

/// The driver's name and device-id prefix.
pub const DRIVER_NAME: &str = "wia";

/// The Scanwire id of a WIA device (`wia:` + `WIA_DIP_DEV_ID`).
pub fn device_id(wia_id: &str) -> String {
    format!("{DRIVER_NAME}:{wia_id}")
}

/// The WIA device id in a Scanwire id.
pub fn parse_device_id(id: &str) -> Result<&str, DeviceError> {
    match id.strip_prefix("wia:") {
        Some(rest) if !rest.trim().is_empty() => Ok(rest),
        _ => Err(DeviceError::new(
            DeviceErrorKind::InvalidRequest,
            format!(
                "`{id}` is not a wia: device id; expected wia:<WIA device id>, e.g. \
                 wia:{{6BDD1FC6-810F-11D0-BEC7-08002BE2092F}}\\0000 (see `devices`)"
            ),
        )),
    }
}

/// `WIA_IPA_DATATYPE`.
pub const WIA_IPA_DATATYPE: u32 = 4103;
/// `WIA_IPA_DEPTH` (bits per pixel).
pub const WIA_IPA_DEPTH: u32 = 4104;
/// `WIA_IPA_FORMAT` (a format GUID).
pub const WIA_IPA_FORMAT: u32 = 4106;
/// `WIA_IPA_TYMED`.
pub const WIA_IPA_TYMED: u32 = 4108;
/// `WIA_IPA_ITEM_NAME`.
pub const WIA_IPA_ITEM_NAME: u32 = 4098;
/// `WIA_IPA_FULL_ITEM_NAME`.
pub const WIA_IPA_FULL_ITEM_NAME: u32 = 4099;
/// `WIA_IPS_XRES`.
pub const WIA_IPS_XRES: u32 = 6147;
/// `WIA_IPS_YRES`.
pub const WIA_IPS_YRES: u32 = 6148;
/// `WIA_IPS_XPOS` (pixels at the current resolution).
pub const WIA_IPS_XPOS: u32 = 6149;
/// `WIA_IPS_YPOS`.
pub const WIA_IPS_YPOS: u32 = 6150;
/// `WIA_IPS_XEXTENT`.
pub const WIA_IPS_XEXTENT: u32 = 6151;
/// `WIA_IPS_YEXTENT`.
pub const WIA_IPS_YEXTENT: u32 = 6152;
/// `WIA_IPS_MAX_HORIZONTAL_SIZE` (1/1000 inch).
pub const WIA_IPS_MAX_HORIZONTAL_SIZE: u32 = 6165;
/// `WIA_IPS_MAX_VERTICAL_SIZE` (1/1000 inch).
pub const WIA_IPS_MAX_VERTICAL_SIZE: u32 = 6166;
/// `WIA_IPS_MIN_HORIZONTAL_SIZE` (1/1000 inch).
pub const WIA_IPS_MIN_HORIZONTAL_SIZE: u32 = 6167;
/// `WIA_IPS_MIN_VERTICAL_SIZE` (1/1000 inch).
pub const WIA_IPS_MIN_VERTICAL_SIZE: u32 = 6168;
/// `WIA_IPS_PAGES` (0 = all).
pub const WIA_IPS_PAGES: u32 = 3096;
/// `WIA_IPS_DOCUMENT_HANDLING_SELECT`.
pub const WIA_IPS_DOCUMENT_HANDLING_SELECT: u32 = 3088;
/// `WIA_DPS_DOCUMENT_HANDLING_CAPABILITIES` (also on WIA 2.0 feeder items).
pub const WIA_DPS_DOCUMENT_HANDLING_CAPABILITIES: u32 = 3086;

/// `WIA_DATA_THRESHOLD`.
pub const WIA_DATA_THRESHOLD: i32 = 0;
/// `WIA_DATA_GRAYSCALE`.
pub const WIA_DATA_GRAYSCALE: i32 = 2;
/// `WIA_DATA_COLOR`.
pub const WIA_DATA_COLOR: i32 = 3;
/// `TYMED_FILE`.
pub const TYMED_FILE: i32 = 2;
/// Document handling capability `DUP`.
pub const DUP: i32 = 0x4;
/// Document handling select `DUPLEX`.
pub const DUPLEX: i32 = 0x4;
/// Document handling select `FRONT_FIRST`.
pub const FRONT_FIRST: i32 = 0x8;
/// Document handling select `FRONT_ONLY`.
pub const FRONT_ONLY: i32 = 0x20;

/// Property attribute flag `WIA_PROP_NONE`: any value.
pub const WIA_PROP_NONE: u32 = 0x08;
/// Property attribute flag `WIA_PROP_RANGE`: min, nominal, max, step.
pub const WIA_PROP_RANGE: u32 = 0x10;
/// Property attribute flag `WIA_PROP_LIST`: count, nominal, values.
pub const WIA_PROP_LIST: u32 = 0x20;
/// Property attribute flag `WIA_PROP_FLAG`: nominal, allowed bits.
pub const WIA_PROP_FLAG: u32 = 0x40;

/// `WIA_CATEGORY_FLATBED`.
pub const WIA_CATEGORY_FLATBED: u128 = 0xfb607b1f_43f3_488b_855b_fb703ec342a6;
/// `WIA_CATEGORY_FEEDER`.
pub const WIA_CATEGORY_FEEDER: u128 = 0xfe131934_f84c_42ad_8da4_6129cddd7288;
/// `WiaImgFmt_PNG`.
pub const WIA_IMG_FMT_PNG: u128 = 0xb96b3caf_0728_11d3_9d7b_0000f81ef32e;
/// `WiaImgFmt_JPEG`.
pub const WIA_IMG_FMT_JPEG: u128 = 0xb96b3cae_0728_11d3_9d7b_0000f81ef32e;
/// `WiaImgFmt_TIFF`.
pub const WIA_IMG_FMT_TIFF: u128 = 0xb96b3cb1_0728_11d3_9d7b_0000f81ef32e;
/// `WiaImgFmt_PDFA`.
pub const WIA_IMG_FMT_PDFA: u128 = 0x9980bd5b_3463_43c7_bdca_3caa146f229f;

/// The encodings Scanwire asks a WIA device for when the request leaves it open, in order of
/// preference: lossless first. BMP and WIA RAW are not in Scanwire's page vocabulary.
pub const ENCODING_PREFERENCE: [Encoding; 3] = [Encoding::Png, Encoding::Tiff, Encoding::Jpeg];

/// The format GUID for an encoding.
pub const fn format_guid(e: Encoding) -> u128 {
    match e {
        Encoding::Png => WIA_IMG_FMT_PNG,
        Encoding::Jpeg => WIA_IMG_FMT_JPEG,
        Encoding::Tiff => WIA_IMG_FMT_TIFF,
        Encoding::Pdf => WIA_IMG_FMT_PDFA,
    }
}

/// The encoding of a format GUID, if Scanwire has one for it.
pub fn format_encoding(guid: u128) -> Option<Encoding> {
    [Encoding::Png, Encoding::Jpeg, Encoding::Tiff, Encoding::Pdf]
        .into_iter()
        .find(|e| format_guid(*e) == guid)
}

/// A property's valid values, from `IWiaPropertyStorage::GetPropertyAttributes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidValues {
    /// `WIA_PROP_RANGE`.
    Range {
        /// Lowest.
        min: i32,
        /// Nominal (default).
        nom: i32,
        /// Highest.
        max: i32,
        /// Step.
        step: i32,
    },
    /// `WIA_PROP_LIST`.
    List {
        /// Nominal.
        nom: i32,
        /// Allowed values.
        values: Vec<i32>,
    },
    /// `WIA_PROP_FLAG`: any combination of the bits.
    Flags {
        /// Nominal.
        nom: i32,
        /// Allowed bits.
        mask: i32,
    },
    /// `WIA_PROP_NONE`: anything (or read-only): the current value is all we know.
    Any,
}

impl ValidValues {
    /// Reads the attribute flags and the `VT_VECTOR | VT_I4` of valid values.
    pub fn from_attributes(flags: u32, v: &[i32]) -> Result<Self, String> {
        let need = |n: usize, what: &str| {
            if v.len() < n {
                Err(format!(
                    "{what} attribute has {} values, at least {n} expected",
                    v.len()
                ))
            } else {
                Ok(())
            }
        };
        if flags & WIA_PROP_RANGE != 0 {
            need(4, "a range")?;
            Ok(ValidValues::Range {
                min: v[0],
                nom: v[1],
                max: v[2],
                step: v[3],
            })
        } else if flags & WIA_PROP_LIST != 0 {
            need(2, "a list")?;
            let count = usize::try_from(v[0]).unwrap_or(0).min(v.len() - 2);
            Ok(ValidValues::List {
                nom: v[1],
                values: v[2..2 + count].to_vec(),
            })
        } else if flags & WIA_PROP_FLAG != 0 {
            need(2, "a flag")?;
            Ok(ValidValues::Flags {
                nom: v[0],
                mask: v[1],
            })
        } else {
            Ok(ValidValues::Any)
        }
    }

    /// Whether `value` is allowed (`Any` allows everything).
    pub fn allows(&self, value: i32) -> bool {
        match self {
            ValidValues::Range { min, max, step, .. } => {
                value >= *min && value <= *max && (value - min) % (*step).max(1) == 0
            }
            ValidValues::List { values, .. } => values.contains(&value),
            ValidValues::Flags { mask, .. } => value & !mask == 0,
            ValidValues::Any => true,
        }
    }
}

/// Which WIA item a source is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ItemCategory {
    /// `WIA_CATEGORY_FLATBED`.
    Flatbed,
    /// `WIA_CATEGORY_FEEDER`.
    Feeder,
    /// Anything else (film, folders, imprinters): not a Scanwire source.
    Other(u128),
}

impl ItemCategory {
    /// From `IWiaItem2::GetItemCategory`.
    pub fn from_guid(g: u128) -> Self {
        match g {
            WIA_CATEGORY_FLATBED => ItemCategory::Flatbed,
            WIA_CATEGORY_FEEDER => ItemCategory::Feeder,
            other => ItemCategory::Other(other),
        }
    }
}

/// What the driver read from one child item of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemProps {
    /// Its category.
    pub category: ItemCategory,
    /// `WIA_IPA_ITEM_NAME`, to find the item again.
    pub name: String,
    /// Valid `WIA_IPS_XRES`.
    pub xres: ValidValues,
    /// Valid `WIA_IPA_DATATYPE`.
    pub datatypes: ValidValues,
    /// Valid `WIA_IPA_DEPTH` (for the current data type: WIA's depth depends on it).
    pub depths: ValidValues,
    /// `WIA_IPS_MAX_HORIZONTAL_SIZE` / `..._VERTICAL_SIZE` in 1/1000 inch.
    pub max_size: (i32, i32),
    /// `WIA_IPS_MIN_HORIZONTAL_SIZE` / `..._VERTICAL_SIZE` in 1/1000 inch (0 if absent).
    pub min_size: (i32, i32),
    /// `WIA_DPS_DOCUMENT_HANDLING_CAPABILITIES` (feeder items), if present.
    pub handling_caps: Option<i32>,
    /// The TYMED_FILE formats the item offers that Scanwire can name.
    pub encodings: Vec<Encoding>,
}

/// 1/1000 inch as a [`Length`] (25.4 µm each).
pub fn thousandths(n: i32) -> Length {
    Length((u64::try_from(n).unwrap_or(0) * 254 / 10) as u32)
}

fn modes(p: &ItemProps) -> Vec<ColorMode> {
    let mut out = Vec::new();
    let depth_ok = |bits: i32| p.depths.allows(bits) || matches!(p.depths, ValidValues::Any);
    if p.datatypes.allows(WIA_DATA_THRESHOLD) {
        out.push(ColorMode::Lineart);
    }
    if p.datatypes.allows(WIA_DATA_GRAYSCALE) {
        out.push(ColorMode::Gray);
        // WIA lists the depths of the current data type only; 16 shows when it is gray now.
        if matches!(
            p.depths,
            ValidValues::List { .. } | ValidValues::Range { .. }
        ) && depth_ok(16)
        {
            out.push(ColorMode::Gray16);
        }
    }
    if p.datatypes.allows(WIA_DATA_COLOR) {
        out.push(ColorMode::Color);
        if matches!(
            p.depths,
            ValidValues::List { .. } | ValidValues::Range { .. }
        ) && depth_ok(48)
        {
            out.push(ColorMode::Color48);
        }
    }
    out
}

fn resolutions(v: &ValidValues) -> Result<Resolutions, String> {
    let dpi = |x: i32| u32::try_from(x).map_err(|_| format!("negative resolution {x}"));
    match v {
        ValidValues::Range { min, max, step, .. } => Ok(Resolutions::Range {
            min: dpi(*min)?,
            max: dpi(*max)?,
            step: dpi(*step)?.max(1),
        }),
        ValidValues::List { values, .. } => {
            let mut r: Vec<u32> = values.iter().map(|x| dpi(*x)).collect::<Result<_, _>>()?;
            r.sort_unstable();
            r.dedup();
            Ok(Resolutions::Discrete(r))
        }
        ValidValues::Flags { .. } | ValidValues::Any => {
            Err("WIA_IPS_XRES has no list or range of values".into())
        }
    }
}

/// The Scanwire sources of one item: a flatbed, or a feeder (plus duplex if the item says
/// `DUP`). Items of other categories give none.
pub fn source_caps(p: &ItemProps) -> Result<Vec<SourceCaps>, String> {
    let sources: &[Source] = match p.category {
        ItemCategory::Flatbed => &[Source::Flatbed],
        ItemCategory::Feeder if p.handling_caps.is_some_and(|c| c & DUP != 0) => {
            &[Source::Feeder, Source::FeederDuplex]
        }
        ItemCategory::Feeder => &[Source::Feeder],
        ItemCategory::Other(_) => &[],
    };
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let resolutions = resolutions(&p.xres).map_err(|e| format!("item {}: {e}", p.name))?;
    let modes = modes(p);
    if modes.is_empty() {
        return Err(format!(
            "item {}: no data type Scanwire knows (threshold, grayscale, color)",
            p.name
        ));
    }
    let max_area = Area::sized(thousandths(p.max_size.0), thousandths(p.max_size.1));
    Ok(sources
        .iter()
        .map(|&source| SourceCaps {
            source,
            modes: modes.clone(),
            resolutions: resolutions.clone(),
            max_area,
            min_size: (thousandths(p.min_size.0), thousandths(p.min_size.1)),
            encodings: p.encodings.clone(),
            // WIA's RAW and BMP are not translated to raw rows (yet).
            raw: false,
            feeder_capacity: None,
        })
        .collect())
}

/// The device's capabilities from its items.
pub fn capabilities(model: &str, items: &[ItemProps]) -> Result<Capabilities, String> {
    let mut sources = Vec::new();
    for item in items {
        for s in source_caps(item)? {
            if !sources.iter().any(|o: &SourceCaps| o.source == s.source) {
                sources.push(s);
            }
        }
    }
    sources.sort_by_key(|s| s.source);
    Ok(Capabilities {
        model: model.to_string(),
        sources,
        processing: Default::default(),
    })
}

/// A WIA property value to write.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PropValue {
    /// `VT_I4`.
    I4(i32),
    /// `VT_CLSID`.
    Guid(u128),
}

/// What a request becomes on a WIA item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Property writes, in the order WIA wants them (resolution before the extents that are
    /// counted in its pixels; data type before depth).
    pub writes: Vec<(u32, PropValue)>,
    /// The encoding the pages will arrive in.
    pub data: PageData,
}

fn mode_props(mode: ColorMode) -> (i32, i32) {
    match mode {
        ColorMode::Lineart => (WIA_DATA_THRESHOLD, 1),
        ColorMode::Gray => (WIA_DATA_GRAYSCALE, 8),
        ColorMode::Gray16 => (WIA_DATA_GRAYSCALE, 16),
        ColorMode::Color => (WIA_DATA_COLOR, 24),
        ColorMode::Color48 => (WIA_DATA_COLOR, 48),
    }
}

/// The encoding to ask for: the request's, or the first of [`ENCODING_PREFERENCE`] the item
/// offers.
pub fn choose_encoding(request: &ScanRequest, item: &ItemProps) -> Result<Encoding, DeviceError> {
    if let Some(e) = request.encoding {
        if item.encodings.contains(&e) {
            return Ok(e);
        }
    } else if let Some(e) = ENCODING_PREFERENCE
        .into_iter()
        .find(|e| item.encodings.contains(e))
    {
        return Ok(e);
    }
    let offered: Vec<&str> = item.encodings.iter().map(|e| e.mime()).collect();
    let asked = request.encoding.map_or("raw rows", |e| e.mime());
    Err(DeviceError::new(
        DeviceErrorKind::Unsupported,
        format!(
            "the WIA item {} cannot deliver {asked}; it delivers: {} (the wia: driver does not \
             translate WIA's BMP or RAW formats)",
            item.name,
            if offered.is_empty() {
                "nothing Scanwire can name".to_string()
            } else {
                offered.join(", ")
            }
        ),
    ))
}

/// The property writes for `request` on `item` (already validated against the capabilities
/// made from it). Positions and extents are pixels at the request's resolution.
pub fn settings(request: &ScanRequest, item: &ItemProps) -> Result<Settings, DeviceError> {
    let encoding = choose_encoding(request, item)?;
    let dpi = request.resolution;
    let dpi_i = i32::try_from(dpi).map_err(|_| {
        DeviceError::new(
            DeviceErrorKind::InvalidRequest,
            format!("resolution {dpi} dpi is out of WIA's range"),
        )
    })?;
    let area = request
        .area
        .unwrap_or_else(|| Area::sized(thousandths(item.max_size.0), thousandths(item.max_size.1)));
    let px = |l: Length| l.to_pixels(dpi).min(i32::MAX as u32) as i32;
    let (datatype, depth) = mode_props(request.mode);
    let mut writes = vec![
        (WIA_IPA_TYMED, PropValue::I4(TYMED_FILE)),
        (WIA_IPA_FORMAT, PropValue::Guid(format_guid(encoding))),
        (WIA_IPA_DATATYPE, PropValue::I4(datatype)),
        (WIA_IPA_DEPTH, PropValue::I4(depth)),
        (WIA_IPS_XRES, PropValue::I4(dpi_i)),
        (WIA_IPS_YRES, PropValue::I4(dpi_i)),
        (WIA_IPS_XPOS, PropValue::I4(px(area.left))),
        (WIA_IPS_YPOS, PropValue::I4(px(area.top))),
        (WIA_IPS_XEXTENT, PropValue::I4(px(area.width))),
        (WIA_IPS_YEXTENT, PropValue::I4(px(area.height))),
    ];
    if request.source.is_feeder() {
        let select = if request.source == Source::FeederDuplex {
            DUPLEX | FRONT_FIRST
        } else {
            FRONT_ONLY
        };
        writes.push((WIA_IPS_DOCUMENT_HANDLING_SELECT, PropValue::I4(select)));
        let pages = request.pages.unwrap_or(0).min(i32::MAX as u32) as i32;
        writes.push((WIA_IPS_PAGES, PropValue::I4(pages)));
    }
    Ok(Settings {
        writes,
        data: PageData::Encoded(encoding),
    })
}

/// The item category a source is scanned from.
pub fn category_for(source: Source) -> ItemCategory {
    match source {
        Source::Flatbed => ItemCategory::Flatbed,
        Source::Feeder | Source::FeederDuplex => ItemCategory::Feeder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flatbed() -> ItemProps {
        ItemProps {
            category: ItemCategory::Flatbed,
            name: "Flatbed".into(),
            xres: ValidValues::List {
                nom: 300,
                values: vec![600, 75, 150, 300, 300],
            },
            datatypes: ValidValues::List {
                nom: WIA_DATA_COLOR,
                values: vec![WIA_DATA_THRESHOLD, WIA_DATA_GRAYSCALE, WIA_DATA_COLOR],
            },
            depths: ValidValues::List {
                nom: 24,
                values: vec![24, 48],
            },
            max_size: (8500, 11690),
            min_size: (0, 0),
            handling_caps: None,
            encodings: vec![Encoding::Jpeg, Encoding::Png],
        }
    }

    fn feeder() -> ItemProps {
        ItemProps {
            category: ItemCategory::Feeder,
            name: "Feeder".into(),
            xres: ValidValues::Range {
                min: 100,
                nom: 300,
                max: 600,
                step: 100,
            },
            handling_caps: Some(1 | DUP),
            encodings: vec![Encoding::Tiff],
            ..flatbed()
        }
    }

    #[test]
    fn attributes_read_as_wia_lays_them_out() {
        assert_eq!(
            ValidValues::from_attributes(WIA_PROP_RANGE, &[50, 300, 1200, 50]),
            Ok(ValidValues::Range {
                min: 50,
                nom: 300,
                max: 1200,
                step: 50
            })
        );
        assert_eq!(
            ValidValues::from_attributes(WIA_PROP_LIST, &[2, 300, 150, 300]),
            Ok(ValidValues::List {
                nom: 300,
                values: vec![150, 300]
            })
        );
        // A count larger than the vector is cut to what is there.
        assert_eq!(
            ValidValues::from_attributes(WIA_PROP_LIST, &[9, 1, 1]),
            Ok(ValidValues::List {
                nom: 1,
                values: vec![1]
            })
        );
        let f = ValidValues::from_attributes(WIA_PROP_FLAG, &[0x20, 0x2d]).unwrap();
        assert!(f.allows(0x4 | 0x8) && !f.allows(0x2));
        assert_eq!(
            ValidValues::from_attributes(WIA_PROP_NONE, &[]),
            Ok(ValidValues::Any)
        );
        let e = ValidValues::from_attributes(WIA_PROP_RANGE, &[1, 2]).unwrap_err();
        assert!(e.contains("at least 4"), "{e}");
    }

    #[test]
    fn capabilities_from_a_flatbed_and_a_duplex_feeder() {
        let caps = capabilities("Test Scanner", &[feeder(), flatbed()]).unwrap();
        let sources: Vec<Source> = caps.sources.iter().map(|s| s.source).collect();
        assert_eq!(
            sources,
            vec![Source::Flatbed, Source::Feeder, Source::FeederDuplex]
        );
        let fb = caps.source(Source::Flatbed).unwrap();
        assert_eq!(
            fb.resolutions,
            Resolutions::Discrete(vec![75, 150, 300, 600])
        );
        assert_eq!(
            fb.modes,
            vec![
                ColorMode::Lineart,
                ColorMode::Gray,
                ColorMode::Color,
                ColorMode::Color48
            ]
        );
        // 8.5 in = 215.9 mm.
        assert_eq!(fb.max_area.width, Length(215_900));
        assert!(!fb.raw);
        let adf = caps.source(Source::Feeder).unwrap();
        assert_eq!(
            adf.resolutions,
            Resolutions::Range {
                min: 100,
                max: 600,
                step: 100
            }
        );
        assert_eq!(adf.encodings, vec![Encoding::Tiff]);
    }

    #[test]
    fn items_that_are_not_sources_are_left_out_and_bad_ones_named() {
        let film = ItemProps {
            category: ItemCategory::Other(1),
            ..flatbed()
        };
        assert!(source_caps(&film).unwrap().is_empty());
        let broken = ItemProps {
            xres: ValidValues::Any,
            ..flatbed()
        };
        let e = source_caps(&broken).unwrap_err();
        assert!(e.contains("Flatbed") && e.contains("WIA_IPS_XRES"), "{e}");
    }

    #[test]
    fn a_request_becomes_property_writes_in_pixels() {
        let req = ScanRequest {
            source: Source::FeederDuplex,
            mode: ColorMode::Gray,
            resolution: 200,
            area: Some(Area {
                left: Length::mm(10),
                top: Length::mm(0),
                width: Length::mm(100),
                height: Length::mm(254),
            }),
            pages: Some(4),
            ..Default::default()
        };
        let s = settings(&req, &feeder()).unwrap();
        assert_eq!(s.data, PageData::Encoded(Encoding::Tiff));
        let get = |id| s.writes.iter().find(|(p, _)| *p == id).map(|(_, v)| *v);
        assert_eq!(
            get(WIA_IPA_DATATYPE),
            Some(PropValue::I4(WIA_DATA_GRAYSCALE))
        );
        assert_eq!(get(WIA_IPA_DEPTH), Some(PropValue::I4(8)));
        assert_eq!(get(WIA_IPS_XPOS), Some(PropValue::I4(79))); // 10 mm at 200 dpi = 78.7
        assert_eq!(get(WIA_IPS_XEXTENT), Some(PropValue::I4(787)));
        assert_eq!(get(WIA_IPS_YEXTENT), Some(PropValue::I4(2000)));
        assert_eq!(
            get(WIA_IPS_DOCUMENT_HANDLING_SELECT),
            Some(PropValue::I4(DUPLEX | FRONT_FIRST))
        );
        assert_eq!(get(WIA_IPS_PAGES), Some(PropValue::I4(4)));
        assert_eq!(get(WIA_IPA_FORMAT), Some(PropValue::Guid(WIA_IMG_FMT_TIFF)));
        // Resolution is written before the extents counted in its pixels.
        let pos = |id| s.writes.iter().position(|(p, _)| *p == id).unwrap();
        assert!(pos(WIA_IPS_XRES) < pos(WIA_IPS_XEXTENT));
        assert!(pos(WIA_IPA_DATATYPE) < pos(WIA_IPA_DEPTH));
    }

    #[test]
    fn flatbed_defaults_to_the_whole_glass_and_png() {
        let s = settings(&ScanRequest::default(), &flatbed()).unwrap();
        assert_eq!(s.data, PageData::Encoded(Encoding::Png));
        assert!(s.writes.contains(&(WIA_IPS_XEXTENT, PropValue::I4(2550)))); // 8.5 in at 300 dpi
        assert!(!s.writes.iter().any(|(p, _)| *p == WIA_IPS_PAGES));
    }

    #[test]
    fn an_encoding_the_item_lacks_is_refused_with_what_it_offers() {
        let req = ScanRequest {
            encoding: Some(Encoding::Pdf),
            ..Default::default()
        };
        let e = settings(&req, &flatbed()).unwrap_err();
        assert_eq!(e.kind(), DeviceErrorKind::Unsupported);
        assert!(e.detail().contains("application/pdf"), "{e}");
        assert!(e.detail().contains("image/jpeg, image/png"), "{e}");
        let bmp_only = ItemProps {
            encodings: vec![],
            ..flatbed()
        };
        let e = settings(&ScanRequest::default(), &bmp_only).unwrap_err();
        assert!(e.detail().contains("nothing Scanwire can name"), "{e}");
    }

    #[test]
    fn device_ids_round_trip_and_bad_ones_say_what_is_expected() {
        let wia_id = "{6BDD1FC6-810F-11D0-BEC7-08002BE2092F}\\0001";
        assert_eq!(parse_device_id(&device_id(wia_id)).unwrap(), wia_id);
        for bad in ["wia:", "escl:http://x", "wia:  "] {
            let e = parse_device_id(bad).unwrap_err();
            assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
            assert!(e.detail().contains("expected wia:<WIA device id>"), "{e}");
        }
    }

    #[test]
    fn format_guids_round_trip() {
        for e in [Encoding::Png, Encoding::Jpeg, Encoding::Tiff, Encoding::Pdf] {
            assert_eq!(format_encoding(format_guid(e)), Some(e));
        }
        assert_eq!(format_encoding(0), None);
    }
}
