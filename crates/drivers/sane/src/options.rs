//! SANE options ↔ the device model: the SANE driver's one mapping file.
//!
//! - [`capabilities`]: SANE options → [`Capabilities`] and the [`Wire`] values that produce
//!   each source and color mode (probing each source and mode, then restoring them).
//! - [`apply`]: a [`ScanRequest`] → option settings (source, mode, depth, resolution, area),
//!   then the request's `--set name=value` options on top.
//! - [`describe`]: every option as a typed [`DeviceOption`] (type, unit, constraint, value),
//!   which `caps` lists and scanwire-core parses `--set` text against.
//! - [`set_value`]: a typed value → a SANE value, checked again against the option as it is
//!   now (another option may have changed its constraint).
//!
//! None of this does I/O itself: it talks to the device through [`OptionAccess`], which the
//! worker implements over a SANE handle and unit tests implement over a table.

use crate::errors::{self, Status};
use crate::ffi::{
    Constraint, OptionDescriptor, OptionValue, Unit, ValueType, CAP_ADVANCED, CAP_AUTOMATIC,
    CAP_EMULATED, CAP_SOFT_DETECT,
};
use scanwire_core::device::{
    self as core, check_value, parse_value, Area, Capabilities, ColorMode, DeviceError,
    DeviceErrorKind, DeviceOption, Length, OptionError, OptionType, Resolutions, ScanRequest,
    Source, SourceCaps,
};
use std::collections::BTreeMap;

// Well-known option names (`saneopts.h`).
const SOURCE: &str = "source";
const MODE: &str = "mode";
const DEPTH: &str = "depth";
const RESOLUTION: &str = "resolution";
const X_RESOLUTION: &str = "x-resolution";
const Y_RESOLUTION: &str = "y-resolution";
const TL_X: &str = "tl-x";
const TL_Y: &str = "tl-y";
const BR_X: &str = "br-x";
const BR_Y: &str = "br-y";

/// The resolution reported for a device without any resolution option (rare: some video and
/// hand-held backends); requests at other resolutions are refused by validation.
const DPI_WITHOUT_OPTION: u32 = 300;

/// One option as read from the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SaneOption {
    /// Its number for `sane_control_option`.
    pub index: i32,
    /// Its descriptor.
    pub desc: OptionDescriptor,
    /// Its value; `None` when inactive, valueless or unreadable.
    pub value: Option<OptionValue>,
}

/// What to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SetValue {
    /// `SANE_ACTION_SET_VALUE` (`Nothing` presses a button).
    Value(OptionValue),
    /// `SANE_ACTION_SET_AUTO`.
    Auto,
}

/// How the mapping reaches a device's options.
pub(crate) trait OptionAccess {
    /// Every option with its current value (read again after any change).
    fn options(&mut self) -> Result<&[SaneOption], DeviceError>;
    /// Sets option `index`; returns the `SANE_INFO_*` bits.
    fn set(&mut self, index: i32, value: &SetValue) -> Result<i32, Status>;
    /// The SANE device name, for messages.
    fn device_name(&self) -> &str;
}

/// The option values behind each source and mode the capabilities list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Wire {
    sources: Vec<SourceWire>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SourceWire {
    source: Source,
    /// The `source` value, if the device has that option.
    sane: Option<String>,
    modes: Vec<ModeWire>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ModeWire {
    mode: ColorMode,
    /// The `mode` value, if the device has that option.
    sane: Option<String>,
    /// The `depth` value, if that option is active in this mode.
    depth: Option<i32>,
    /// Lower is better when two SANE modes give the same color mode.
    rank: u8,
}

fn find<'a>(opts: &'a [SaneOption], name: &str) -> Option<&'a SaneOption> {
    opts.iter().find(|o| o.desc.name == name)
}

/// An option that is there, active and settable.
fn usable<'a>(opts: &'a [SaneOption], name: &str) -> Option<&'a SaneOption> {
    find(opts, name).filter(|o| o.desc.is_active() && o.desc.is_settable())
}

fn words(o: &SaneOption) -> Option<&[i32]> {
    match &o.value {
        Some(OptionValue::Words(w)) => Some(w),
        _ => None,
    }
}

fn fixed_to_f64(w: i32) -> f64 {
    w as f64 / 65536.0
}

fn f64_to_fixed(v: f64) -> i32 {
    (v * 65536.0)
        .round()
        .clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// A word of a number-typed option as a plain number.
fn word_to_f64(desc: &OptionDescriptor, w: i32) -> f64 {
    match desc.kind {
        ValueType::Fixed => fixed_to_f64(w),
        _ => w as f64,
    }
}

fn f64_to_word(desc: &OptionDescriptor, v: f64) -> i32 {
    match desc.kind {
        ValueType::Fixed => f64_to_fixed(v),
        _ => v.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32,
    }
}

/// Sets an option by name, mapping a refusal to an error that says what was set.
fn set_named(
    access: &mut dyn OptionAccess,
    name: &str,
    value: OptionValue,
    shown: &str,
) -> Result<(), DeviceError> {
    let index = {
        let opts = access.options()?;
        let Some(o) = usable(opts, name) else {
            return Err(DeviceError::new(
                DeviceErrorKind::Unsupported,
                format!(
                    "{} has no settable `{name}` option now (needed for {shown})",
                    access.device_name()
                ),
            ));
        };
        o.index
    };
    access
        .set(index, &SetValue::Value(value))
        .map(|_| ())
        .map_err(|s| {
            errors::error(
                s,
                &format!("{} refused {name}={shown}", access.device_name()),
            )
        })
}

// ---------------------------------------------------------------------------------------
// Capabilities

/// Which model source a SANE `source` value is; `None` for transparency units, film holders
/// and back-only feeder modes, which stay reachable with `--set source=...`.
fn classify_source(s: &str) -> Option<Source> {
    let l = s.to_ascii_lowercase();
    let has = |w: &str| l.contains(w);
    if has("transparen")
        || has("film")
        || has("slide")
        || has("negative")
        || has("positive")
        || has("tma")
        || has("back")
    {
        return None;
    }
    if has("duplex") {
        return Some(Source::FeederDuplex);
    }
    if has("adf") || has("feeder") || has("simplex") || has("front") {
        return Some(Source::Feeder);
    }
    if has("flatbed") || has("platen") || has("normal") || has("glass") || has("document table") {
        return Some(Source::Flatbed);
    }
    None
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Family {
    Lineart { rank: u8 },
    Gray { deep: bool },
    Color { deep: bool },
}

/// Which family a SANE `mode` value belongs to ("Color", "Gray", "Lineart", "Halftone" and
/// the variants backends use).
fn classify_mode(s: &str) -> Option<Family> {
    let l = s.to_ascii_lowercase();
    let has = |w: &str| l.contains(w);
    let bw = has("lineart")
        || has("line art")
        || has("binary")
        || has("black & white")
        || has("black and white")
        || has("black&white")
        || l == "bw"
        || l == "b&w"
        || has("threshold");
    let halftone = has("halftone") || has("dither");
    let color = has("color") || has("colour") || l == "rgb" || has("rgb ");
    if color {
        // "Color Lineart" and "Color Halftone" are 1 bit per channel: not a model mode.
        return (!bw && !halftone).then_some(Family::Color { deep: has("48") });
    }
    if bw {
        return Some(Family::Lineart { rank: 0 });
    }
    if halftone {
        return Some(Family::Lineart { rank: 2 });
    }
    if has("gray") || has("grey") {
        return Some(Family::Gray { deep: has("16") });
    }
    None
}

/// The depths the `depth` option allows now, if it is active.
fn depths(opts: &[SaneOption]) -> Option<Vec<i32>> {
    let o = usable(opts, DEPTH)?;
    Some(match &o.desc.constraint {
        Constraint::WordList(v) => v.clone(),
        Constraint::Range { min, max, quant } => [1, 8, 16]
            .into_iter()
            .filter(|d| d >= min && d <= max && (*quant <= 0 || (d - min) % quant == 0))
            .collect(),
        _ => words(o).map(|w| w.to_vec()).unwrap_or_default(),
    })
}

/// The model modes one SANE mode gives, with the depth that selects each.
fn modes_of(family: Family, sane: Option<&str>, depths: Option<&[i32]>) -> Vec<ModeWire> {
    let wire = |mode, depth, rank| ModeWire {
        mode,
        sane: sane.map(str::to_string),
        depth,
        rank,
    };
    match (family, depths) {
        (Family::Lineart { rank }, Some(d)) if d.contains(&1) => {
            vec![wire(ColorMode::Lineart, Some(1), rank)]
        }
        (Family::Lineart { rank }, _) => vec![wire(ColorMode::Lineart, None, rank)],
        (Family::Gray { .. }, Some(d)) => d
            .iter()
            .filter_map(|&depth| match depth {
                1 => Some(wire(ColorMode::Lineart, Some(1), 1)),
                8 => Some(wire(ColorMode::Gray, Some(8), 0)),
                16 => Some(wire(ColorMode::Gray16, Some(16), 0)),
                _ => None,
            })
            .collect(),
        (Family::Gray { deep }, None) => {
            vec![wire(
                if deep {
                    ColorMode::Gray16
                } else {
                    ColorMode::Gray
                },
                None,
                0,
            )]
        }
        (Family::Color { .. }, Some(d)) => d
            .iter()
            .filter_map(|&depth| match depth {
                8 => Some(wire(ColorMode::Color, Some(8), 0)),
                16 => Some(wire(ColorMode::Color48, Some(16), 0)),
                _ => None,
            })
            .collect(),
        (Family::Color { deep }, None) => {
            vec![wire(
                if deep {
                    ColorMode::Color48
                } else {
                    ColorMode::Color
                },
                None,
                0,
            )]
        }
    }
}

/// Keeps the best-ranked wire per color mode, in order of first appearance.
fn merge_modes(candidates: Vec<ModeWire>) -> Vec<ModeWire> {
    let mut out: Vec<ModeWire> = Vec::new();
    for c in candidates {
        match out.iter_mut().find(|m| m.mode == c.mode) {
            Some(m) if c.rank < m.rank => *m = c,
            Some(_) => {}
            None => out.push(c),
        }
    }
    out
}

/// Probes every `mode` value (setting it and reading `depth`).
fn probe_modes(access: &mut dyn OptionAccess) -> Result<Vec<ModeWire>, DeviceError> {
    let opts = access.options()?;
    let list = usable(opts, MODE).and_then(|o| match &o.desc.constraint {
        Constraint::StringList(v) => Some(v.clone()),
        _ => None,
    });
    let Some(list) = list else {
        // No mode option: the depth option alone decides (gray at each depth).
        let d = depths(opts);
        return Ok(merge_modes(modes_of(
            Family::Gray { deep: false },
            None,
            d.as_deref(),
        )));
    };
    let mut candidates = Vec::new();
    for value in &list {
        let Some(family) = classify_mode(value) else {
            continue;
        };
        if set_named(access, MODE, OptionValue::Text(value.clone()), value).is_err() {
            continue;
        }
        let d = depths(access.options()?);
        candidates.extend(modes_of(family, Some(value), d.as_deref()));
    }
    Ok(merge_modes(candidates))
}

fn resolution_option(opts: &[SaneOption]) -> Option<&SaneOption> {
    usable(opts, RESOLUTION).or_else(|| usable(opts, X_RESOLUTION))
}

/// The resolutions the resolution option allows.
fn resolutions(opts: &[SaneOption]) -> Resolutions {
    let Some(o) = resolution_option(opts) else {
        return Resolutions::Discrete(vec![DPI_WITHOUT_OPTION]);
    };
    let d = &o.desc;
    let dpi = |w: i32| word_to_f64(d, w);
    match &d.constraint {
        Constraint::WordList(v) => {
            let mut list: Vec<u32> = v
                .iter()
                .map(|w| dpi(*w).round())
                .filter(|x| *x >= 1.0 && *x <= u32::MAX as f64)
                .map(|x| x as u32)
                .collect();
            list.sort_unstable();
            list.dedup();
            Resolutions::Discrete(list)
        }
        Constraint::Range { min, max, quant } => {
            let lo = dpi(*min).ceil().max(1.0) as u32;
            let hi = dpi(*max).floor().max(0.0) as u32;
            let step = dpi(*quant).round().max(1.0) as u32;
            Resolutions::Range {
                min: lo,
                max: hi.max(lo),
                step,
            }
        }
        _ => Resolutions::Discrete(
            words(o)
                .and_then(|w| w.first())
                .map(|w| dpi(*w).round().max(1.0) as u32)
                .into_iter()
                .collect(),
        ),
    }
}

/// How a geometry option's numbers become lengths.
fn um_per_unit(desc: &OptionDescriptor, base_dpi: u32) -> Option<f64> {
    match desc.unit {
        Unit::Mm => Some(1000.0),
        // Pixel geometry counts pixels at the device's base (highest) resolution.
        Unit::Pixel if base_dpi > 0 => Some(25_400.0 / base_dpi as f64),
        _ => None,
    }
}

fn to_length(desc: &OptionDescriptor, w: i32, base_dpi: u32) -> Option<Length> {
    let um = word_to_f64(desc, w) * um_per_unit(desc, base_dpi)?;
    Some(Length::from_mm(um / 1000.0))
}

fn from_length(desc: &OptionDescriptor, len: Length, base_dpi: u32) -> Option<i32> {
    let units = len.0 as f64 / um_per_unit(desc, base_dpi)?;
    Some(f64_to_word(desc, units))
}

/// The range of a geometry option, in its own words; the current value when unconstrained.
fn word_range(o: &SaneOption) -> Option<(i32, i32, i32)> {
    match &o.desc.constraint {
        Constraint::Range { min, max, quant } => Some((*min, *max, *quant)),
        Constraint::WordList(v) if !v.is_empty() => Some((*v.iter().min()?, *v.iter().max()?, 0)),
        _ => words(o).and_then(|w| w.first()).map(|w| (*w, *w, 0)),
    }
}

struct Geometry<'a> {
    tl: [&'a SaneOption; 2],
    br: [&'a SaneOption; 2],
    base_dpi: u32,
}

fn geometry(opts: &[SaneOption]) -> Option<Geometry<'_>> {
    let g = Geometry {
        tl: [usable(opts, TL_X)?, usable(opts, TL_Y)?],
        br: [usable(opts, BR_X)?, usable(opts, BR_Y)?],
        base_dpi: resolutions(opts).max(),
    };
    for o in g.tl.iter().chain(&g.br) {
        if !matches!(o.desc.kind, ValueType::Int | ValueType::Fixed)
            || um_per_unit(&o.desc, g.base_dpi).is_none()
        {
            return None;
        }
    }
    Some(g)
}

impl Geometry<'_> {
    /// Origin and far edge of axis `i` (0 = x, 1 = y).
    fn bounds(&self, i: usize) -> Option<(Length, Length)> {
        let (tl_min, _, _) = word_range(self.tl[i])?;
        let (_, br_max, _) = word_range(self.br[i])?;
        Some((
            to_length(&self.tl[i].desc, tl_min, self.base_dpi)?,
            to_length(&self.br[i].desc, br_max, self.base_dpi)?,
        ))
    }

    fn max_area(&self) -> Area {
        let size = |i| {
            self.bounds(i)
                .map(|(lo, hi)| Length(hi.0.saturating_sub(lo.0)))
                .unwrap_or(Length::ZERO)
        };
        Area::sized(size(0), size(1))
    }

    fn min_size(&self) -> (Length, Length) {
        let q = |i: usize| {
            word_range(self.br[i])
                .and_then(|(_, _, quant)| to_length(&self.br[i].desc, quant, self.base_dpi))
                .unwrap_or(Length::ZERO)
                .max(Length(1))
        };
        (q(0), q(1))
    }
}

/// One source's capabilities, from the options as they are now.
fn probe_source(
    access: &mut dyn OptionAccess,
    source: Source,
    sane: Option<String>,
) -> Result<(SourceCaps, SourceWire), DeviceError> {
    let (resolutions, max_area, min_size) = {
        let opts = access.options()?;
        let res = resolutions(opts);
        let g = geometry(opts);
        (
            res,
            g.as_ref().map(Geometry::max_area).unwrap_or_default(),
            g.as_ref()
                .map(Geometry::min_size)
                .unwrap_or((Length(1), Length(1))),
        )
    };
    let modes = probe_modes(access)?;
    Ok((
        SourceCaps {
            source,
            modes: modes.iter().map(|m| m.mode).collect(),
            resolutions,
            max_area,
            min_size,
            encodings: Vec::new(),
            raw: true,
            feeder_capacity: None,
        },
        SourceWire {
            source,
            sane,
            modes,
        },
    ))
}

/// SANE options → capabilities, probing each source and mode. The source, mode and depth
/// options are restored afterwards.
pub(crate) fn capabilities(
    access: &mut dyn OptionAccess,
    model: &str,
) -> Result<(Capabilities, Wire), DeviceError> {
    let (originals, sources) = {
        let opts = access.options()?;
        let originals: Vec<(String, OptionValue)> = [SOURCE, MODE, DEPTH]
            .into_iter()
            .filter_map(|n| {
                let o = usable(opts, n)?;
                Some((n.to_string(), o.value.clone()?))
            })
            .collect();
        let mut sources: Vec<(Source, Option<String>)> = Vec::new();
        if let Some(Constraint::StringList(list)) = usable(opts, SOURCE).map(|o| &o.desc.constraint)
        {
            for v in list {
                if let Some(s) = classify_source(v) {
                    if !sources.iter().any(|(x, _)| *x == s) {
                        sources.push((s, Some(v.clone())));
                    }
                }
            }
        }
        if sources.is_empty() {
            // No source option (or only film units): whatever the device scans from now.
            sources.push((Source::Flatbed, None));
        }
        (originals, sources)
    };
    let mut caps = Capabilities {
        model: model.to_string(),
        sources: Vec::new(),
        processing: Default::default(),
    };
    let mut wire = Wire::default();
    let mut result = Ok(());
    for (source, sane) in sources {
        if let Some(v) = &sane {
            if set_named(access, SOURCE, OptionValue::Text(v.clone()), v).is_err() {
                continue;
            }
        }
        match probe_source(access, source, sane) {
            Ok((sc, sw)) if !sc.modes.is_empty() => {
                caps.sources.push(sc);
                wire.sources.push(sw);
            }
            Ok(_) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    for (name, value) in originals {
        // Best effort: the probe changed only these, and a backend that refuses its own
        // previous value has nothing better to go back to.
        let _ = set_named(access, &name, value, "its previous value");
    }
    result?;
    if caps.sources.is_empty() {
        return Err(DeviceError::new(
            DeviceErrorKind::Unsupported,
            format!(
                "{model}: none of its scan modes is one Scanwire knows (color, gray, lineart); \
                 use --set mode=... to pick one"
            ),
        ));
    }
    Ok((caps, wire))
}

// ---------------------------------------------------------------------------------------
// Request → options

fn set_resolution(access: &mut dyn OptionAccess, dpi: u32) -> Result<(), DeviceError> {
    let opts = access.options()?;
    let names: Vec<&str> = if usable(opts, RESOLUTION).is_some() {
        // A separate y-resolution (some backends have one, bound or not) follows.
        [RESOLUTION, Y_RESOLUTION]
            .into_iter()
            .filter(|n| usable(opts, n).is_some())
            .collect()
    } else {
        [X_RESOLUTION, Y_RESOLUTION]
            .into_iter()
            .filter(|n| usable(opts, n).is_some())
            .collect()
    };
    for name in names {
        let desc = match usable(access.options()?, name) {
            Some(o) => o.desc.clone(),
            None => continue,
        };
        let w = f64_to_word(&desc, dpi as f64);
        set_named(
            access,
            name,
            OptionValue::Words(vec![w]),
            &format!("{dpi} dpi"),
        )?;
    }
    Ok(())
}

fn read_dpi(opts: &[SaneOption], fallback: u32) -> (u32, u32) {
    let get = |o: Option<&SaneOption>| {
        o.and_then(|o| {
            let w = *words(o)?.first()?;
            let v = word_to_f64(&o.desc, w).round();
            (v >= 1.0).then_some(v as u32)
        })
    };
    let x = get(resolution_option(opts)).unwrap_or(fallback);
    let y = get(usable(opts, Y_RESOLUTION)).unwrap_or(x);
    (x, y)
}

fn set_area(access: &mut dyn OptionAccess, area: Option<Area>) -> Result<(), DeviceError> {
    // Targets per axis: (tl name, tl word, br name, br word, current br word), and how each
    // word reads as a length, for messages.
    let (plan, shown) = {
        let opts = access.options()?;
        let Some(g) = geometry(opts) else {
            // No usable geometry (a hand scanner, or options in units we cannot convert):
            // the device scans its own area.
            return Ok(());
        };
        let mut plan = Vec::new();
        let mut shown = Vec::new();
        for (i, (tl_name, br_name)) in [(TL_X, BR_X), (TL_Y, BR_Y)].into_iter().enumerate() {
            let (tl, br) = (g.tl[i], g.br[i]);
            let (tl_min, tl_max, _) = word_range(tl).unwrap_or((i32::MIN, i32::MAX, 0));
            let (br_min, br_max, _) = word_range(br).unwrap_or((i32::MIN, i32::MAX, 0));
            let (tl_w, br_w) = match area {
                None => (tl_min, br_max),
                Some(a) => {
                    let (origin, _) = g.bounds(i).unwrap_or_default();
                    let (start, size) = if i == 0 {
                        (a.left, a.width)
                    } else {
                        (a.top, a.height)
                    };
                    let from = Length(origin.0.saturating_add(start.0));
                    let to = Length(from.0.saturating_add(size.0));
                    (
                        from_length(&tl.desc, from, g.base_dpi).unwrap_or(tl_min),
                        from_length(&br.desc, to, g.base_dpi).unwrap_or(br_max),
                    )
                }
            };
            let current_br = words(br).and_then(|w| w.first().copied()).unwrap_or(br_max);
            let tl_w = tl_w.clamp(tl_min, tl_max.max(tl_min));
            let br_w = br_w.clamp(br_min, br_max.max(br_min));
            for (o, w) in [(tl, tl_w), (br, br_w)] {
                let text = to_length(&o.desc, w, g.base_dpi)
                    .map(|l| format!("{:.2} mm", l.as_mm()))
                    .unwrap_or_else(|| fmt_number(&o.desc, w));
                shown.push((o.desc.name.clone(), w, text));
            }
            plan.push((tl_name, tl_w, br_name, br_w, current_br));
        }
        (plan, shown)
    };
    for (tl_name, tl_w, br_name, br_w, current_br) in plan {
        let shown = |name: &str, w: i32| {
            shown
                .iter()
                .find(|(n, x, _)| n == name && *x == w)
                .map(|(_, _, t)| t.clone())
                .unwrap_or_default()
        };
        // Never leave top-left past bottom-right in between: some backends refuse it.
        let order = if tl_w > current_br {
            [(br_name, br_w), (tl_name, tl_w)]
        } else {
            [(tl_name, tl_w), (br_name, br_w)]
        };
        for (name, w) in order {
            set_named(access, name, OptionValue::Words(vec![w]), &shown(name, w))?;
        }
    }
    Ok(())
}

/// Sets the request's source, mode, depth, resolution and area, then its `--set` options,
/// and returns the resolution (x, y) the device took.
///
/// The request was validated against the capabilities `wire` came with. Every option `--set`
/// changed is appended to `touched` as it is set, so the caller can restore them even when a
/// later one fails.
pub(crate) fn apply(
    access: &mut dyn OptionAccess,
    request: &ScanRequest,
    wire: &Wire,
    touched: &mut Vec<i32>,
) -> Result<(u32, u32), DeviceError> {
    let sw = wire
        .sources
        .iter()
        .find(|s| s.source == request.source)
        .ok_or_else(|| {
            DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!("{} has no source {}", access.device_name(), request.source),
            )
        })?;
    if let Some(v) = &sw.sane {
        set_named(access, SOURCE, OptionValue::Text(v.clone()), v)?;
    }
    let mw = sw
        .modes
        .iter()
        .find(|m| m.mode == request.mode)
        .ok_or_else(|| {
            DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!(
                    "{} {} cannot scan in mode {}",
                    access.device_name(),
                    request.source,
                    request.mode
                ),
            )
        })?;
    if let Some(m) = &mw.sane {
        set_named(access, MODE, OptionValue::Text(m.clone()), m)?;
    }
    if let Some(d) = mw.depth {
        if usable(access.options()?, DEPTH).is_some() {
            set_named(access, DEPTH, OptionValue::Words(vec![d]), &d.to_string())?;
        }
    }
    set_resolution(access, request.resolution)?;
    set_area(access, request.area)?;
    apply_user_options(access, &request.options, touched)?;
    Ok(read_dpi(access.options()?, request.resolution))
}

/// Applies `--set` options in name order, retrying those that are inactive until another one
/// activates them (`read-delay-duration` needs `read-delay=yes`). Appends each changed
/// option's index to `touched`.
pub(crate) fn apply_user_options(
    access: &mut dyn OptionAccess,
    options: &BTreeMap<String, core::OptionValue>,
    touched: &mut Vec<i32>,
) -> Result<(), DeviceError> {
    let invalid = |msg: String| DeviceError::new(DeviceErrorKind::InvalidRequest, msg);
    let mut pending: Vec<(&String, &core::OptionValue)> = options.iter().collect();
    while !pending.is_empty() {
        let mut deferred = Vec::new();
        for (name, typed) in pending.iter().copied() {
            let (index, value) = {
                let device = access.device_name().to_string();
                let opts = access.options()?;
                let Some(o) = find(opts, name).filter(|o| !o.desc.name.is_empty()) else {
                    let names: Vec<&str> = opts
                        .iter()
                        .filter(|o| !o.desc.name.is_empty() && o.desc.kind != ValueType::Group)
                        .map(|o| o.desc.name.as_str())
                        .collect();
                    return Err(invalid(format!(
                        "{device} has no option `{name}`; its options: {} \
                         (`scanwire caps sane:{device}` lists them with their values)",
                        names.join(", ")
                    )));
                };
                if o.desc.kind == ValueType::Group {
                    return Err(invalid(format!(
                        "`{name}` is an option group, not an option"
                    )));
                }
                if !o.desc.is_settable() {
                    return Err(invalid(format!("`{name}` is read-only on {device}")));
                }
                if !o.desc.is_active() {
                    deferred.push((name, typed));
                    continue;
                }
                (o.index, set_value(o, typed)?)
            };
            let device = access.device_name().to_string();
            access.set(index, &value).map_err(|s| {
                let mut e = errors::error(s, &format!("{name}={typed}: {device} refused it"));
                if s == Status::Inval {
                    e = DeviceError::new(DeviceErrorKind::InvalidRequest, e.detail().to_string());
                }
                e
            })?;
            touched.push(index);
        }
        if deferred.len() == pending.len() {
            let (name, _) = deferred[0];
            return Err(invalid(format!(
                "`{name}` is inactive with the current settings on {} \
                 (it depends on another option: a mode, a source or a switch such as \
                 read-delay=yes; set that too)",
                access.device_name()
            )));
        }
        pending = deferred;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Values in words, and words into values

fn unit_word(unit: Unit) -> String {
    match unit {
        Unit::None => String::new(),
        Unit::Pixel => "px".into(),
        Unit::Bit => "bit".into(),
        Unit::Mm => "mm".into(),
        Unit::Dpi => "dpi".into(),
        Unit::Percent => "%".into(),
        Unit::Microsecond => "us".into(),
        Unit::Other(n) => format!("(unit {n})"),
    }
}

fn fmt_number(desc: &OptionDescriptor, w: i32) -> String {
    match desc.kind {
        ValueType::Fixed => {
            let s = format!("{:.4}", fixed_to_f64(w));
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" {
                "0".into()
            } else {
                s.to_string()
            }
        }
        _ => w.to_string(),
    }
}

fn with_unit(desc: &OptionDescriptor, s: String) -> String {
    let u = unit_word(desc.unit);
    if u.is_empty() {
        s
    } else {
        format!("{s} {u}")
    }
}

/// The type in words: `int`, `fixed mm`, `int[6] dpi`, `string`.
fn kind_text(desc: &OptionDescriptor) -> String {
    let base = match desc.kind {
        ValueType::Bool => "bool".to_string(),
        ValueType::Int => "int".to_string(),
        ValueType::Fixed => "fixed".to_string(),
        ValueType::String => return "string".to_string(),
        ValueType::Button => return "button".to_string(),
        ValueType::Group => return "group".to_string(),
        ValueType::Other(n) => return format!("type {n}"),
    };
    let n = desc.words();
    let base = if n > 1 { format!("{base}[{n}]") } else { base };
    with_unit(desc, base)
}

/// Array values longer than this are shortened in listings.
const LISTED_VALUES: usize = 8;

fn value_text(o: &SaneOption) -> String {
    if !o.desc.is_active() {
        return "inactive".into();
    }
    match (&o.value, o.desc.kind) {
        (Some(OptionValue::Words(w)), ValueType::Bool) => {
            if w.first().copied().unwrap_or(0) != 0 {
                "yes".into()
            } else {
                "no".into()
            }
        }
        (Some(OptionValue::Words(w)), _) => {
            let n = |x: &i32| fmt_number(&o.desc, *x);
            if w.len() <= LISTED_VALUES {
                w.iter().map(n).collect::<Vec<_>>().join(",")
            } else {
                // Gamma tables have hundreds of entries: show the ends.
                let head: Vec<String> = w[..LISTED_VALUES - 2].iter().map(n).collect();
                let last = w.last().map(n).unwrap_or_default();
                format!("{},…,{last} ({} values)", head.join(","), w.len())
            }
        }
        (Some(OptionValue::Text(s)), _) => s.clone(),
        (Some(OptionValue::Nothing), _) => String::new(),
        (None, ValueType::Button | ValueType::Group) => String::new(),
        (None, _) if o.desc.cap & CAP_SOFT_DETECT == 0 => "(write-only)".into(),
        (None, _) => "(unreadable)".into(),
    }
}

/// Which common option sets a SANE option, for the listing.
fn covered_by(name: &str) -> Option<&'static str> {
    Some(match name {
        SOURCE => "--source",
        MODE => "--mode",
        DEPTH => "--mode/--depth",
        RESOLUTION | X_RESOLUTION | Y_RESOLUTION => "--resolution",
        TL_X | TL_Y | BR_X | BR_Y => "-l -t -x -y",
        _ => return None,
    })
}

/// The unit of a number option, as a typed value may carry it.
fn unit_name(desc: &OptionDescriptor) -> Option<String> {
    let u = unit_word(desc.unit);
    (!u.is_empty() && matches!(desc.kind, ValueType::Int | ValueType::Fixed)).then_some(u)
}

/// Whether an option holds several numbers (a gamma table, SANE's `int[6]`).
fn is_array(desc: &OptionDescriptor) -> bool {
    matches!(desc.kind, ValueType::Int | ValueType::Fixed) && desc.words() > 1
}

/// The typed option one value of `desc` is: its type, constraint, unit and `auto`. An
/// array's elements are each this.
fn scalar(desc: &OptionDescriptor) -> DeviceOption {
    use core::Constraint as C;
    let kind = match desc.kind {
        ValueType::Bool => OptionType::Bool,
        ValueType::Int => OptionType::Int,
        ValueType::Fixed => OptionType::Fixed,
        ValueType::Button => OptionType::Button,
        ValueType::String | ValueType::Group | ValueType::Other(_) => OptionType::Text,
    };
    let fx = |w: i32| word_to_f64(desc, w);
    let constraint = match (&desc.constraint, desc.kind) {
        (Constraint::Range { min, max, quant }, ValueType::Int) => C::IntRange {
            min: (*min).into(),
            max: (*max).into(),
            step: (*quant).into(),
        },
        (Constraint::Range { min, max, quant }, ValueType::Fixed) => C::FixedRange {
            min: fx(*min),
            max: fx(*max),
            step: fx(*quant).max(0.0),
        },
        (Constraint::WordList(v), ValueType::Int) => {
            C::IntList(v.iter().map(|w| (*w).into()).collect())
        }
        (Constraint::WordList(v), ValueType::Fixed) => {
            C::FixedList(v.iter().map(|w| fx(*w)).collect())
        }
        (Constraint::StringList(v), ValueType::String) => C::TextList(v.clone()),
        _ => C::None,
    };
    DeviceOption {
        constraint,
        unit: unit_name(desc),
        auto: desc.cap & CAP_AUTOMATIC != 0,
        ..DeviceOption::new(desc.name.clone(), kind)
    }
}

/// The current value, typed; arrays as their comma-separated text.
fn typed_value(o: &SaneOption) -> Option<core::OptionValue> {
    use core::OptionValue as V;
    if !o.desc.is_active() {
        return None;
    }
    if is_array(&o.desc) {
        return o.value.as_ref().map(|_| V::Text(value_text(o)));
    }
    match (&o.value, o.desc.kind) {
        (Some(OptionValue::Words(w)), ValueType::Bool) => Some(V::Bool(*w.first()? != 0)),
        (Some(OptionValue::Words(w)), ValueType::Int) => Some(V::Int((*w.first()?).into())),
        (Some(OptionValue::Words(w)), ValueType::Fixed) => {
            Some(V::Fixed(fixed_to_f64(*w.first()?)))
        }
        (Some(OptionValue::Text(s)), _) => Some(V::Text(s.clone())),
        _ => None,
    }
}

/// Every option (groups left out), typed, with its current value. An array option is listed
/// as text (`1,2,3,4,5,6`, or one value for all) with its element type and constraint in
/// the help.
pub(crate) fn describe(opts: &[SaneOption]) -> Vec<DeviceOption> {
    opts.iter()
        .filter(|o| !o.desc.name.is_empty() && o.desc.kind != ValueType::Group)
        .map(|o| {
            let d = &o.desc;
            let mut help = d.title.clone();
            let mut tags = Vec::new();
            if !d.is_active() {
                tags.push("inactive".to_string());
            }
            if !d.is_settable() {
                tags.push("read-only".to_string());
            }
            if d.is_active() && o.value.is_none() && d.kind != ValueType::Button {
                // "(write-only)" or "(unreadable)"
                tags.push(value_text(o).trim_matches(['(', ')']).to_string());
            }
            if d.cap & CAP_AUTOMATIC != 0 {
                tags.push("auto possible".to_string());
            }
            if d.cap & CAP_EMULATED != 0 {
                tags.push("emulated".to_string());
            }
            if d.cap & CAP_ADVANCED != 0 {
                tags.push("advanced".to_string());
            }
            if let Some(by) = covered_by(&d.name) {
                tags.push(format!("set by {by}"));
            }
            if !tags.is_empty() {
                help = format!("{help} [{}]", tags.join(", "));
            }
            let mut option = scalar(d);
            if is_array(d) {
                help = format!(
                    "{} values, comma-separated or one for all: {} {}; {help}",
                    d.words(),
                    kind_text(d),
                    option.allowed_text()
                );
                option = DeviceOption {
                    auto: option.auto,
                    ..DeviceOption::new(d.name.clone(), OptionType::Text)
                };
            } else if d.kind == ValueType::String && matches!(d.constraint, Constraint::None) {
                help = format!(
                    "{help} (up to {} characters)",
                    d.size.saturating_sub(1).max(0)
                );
            }
            DeviceOption {
                value: typed_value(o),
                help,
                ..option
            }
        })
        .collect()
}

/// A typed value → what to set on option `o`, checked against `o` as it is now. An array
/// option takes text (`1,2,3,4,5,6`) or one number for every element.
pub(crate) fn set_value(
    o: &SaneOption,
    value: &core::OptionValue,
) -> Result<SetValue, OptionError> {
    use core::OptionValue as V;
    let d = &o.desc;
    let element = scalar(d);
    let bad = |why: String| OptionError::Value {
        name: d.name.clone(),
        value: value.to_string(),
        why,
        allowed: if is_array(d) {
            format!("{} values, each {}", d.words(), element.allowed_text())
        } else {
            element.allowed_text()
        },
    };
    if element.auto && value.is_auto() {
        if let Constraint::StringList(list) = &d.constraint {
            if list.iter().any(|s| s == "auto") {
                return Ok(SetValue::Value(OptionValue::Text("auto".into())));
            }
        }
        return Ok(SetValue::Auto);
    }
    // One number → one word, checked against the element's type and constraint.
    let word = |v: &V| -> Result<i32, OptionError> {
        let v = match (d.kind, v) {
            // A fixed option takes a whole number too.
            (ValueType::Fixed, V::Int(i)) => V::Fixed(*i as f64),
            _ => v.clone(),
        };
        check_value(&element, &v)?;
        match v {
            V::Int(n) => i32::try_from(n).map_err(|_| bad(format!("{n} is too large"))),
            V::Fixed(x) if x.abs() < 32768.0 => Ok(f64_to_fixed(x)),
            V::Fixed(x) => Err(bad(format!("{x} is too large"))),
            _ => Err(bad(format!("not a value of type {}", element.kind))),
        }
    };
    let set = match (d.kind, value) {
        (ValueType::Bool, V::Bool(b)) => OptionValue::Words(vec![i32::from(*b)]),
        (ValueType::Button, V::Bool(true)) => OptionValue::Nothing,
        (ValueType::Button, _) => return Err(bad("a button only takes `press`".into())),
        (ValueType::Int | ValueType::Fixed, V::Text(text)) if is_array(d) => {
            let n = d.words();
            let parts: Vec<&str> = text.split(',').collect();
            if parts.len() != n && parts.len() != 1 {
                return Err(bad(format!(
                    "{} values given, the option has {n} (give {n} comma-separated values, or one for all)",
                    parts.len()
                )));
            }
            let mut ws = Vec::with_capacity(n);
            for p in parts {
                ws.push(word(&parse_value(&element, p)?)?);
            }
            if ws.len() == 1 {
                ws = vec![ws[0]; n];
            }
            OptionValue::Words(ws)
        }
        (ValueType::Int | ValueType::Fixed, V::Int(_) | V::Fixed(_)) => {
            OptionValue::Words(vec![word(value)?; d.words()])
        }
        (ValueType::String, V::Text(t)) => {
            check_value(&element, value)?;
            let max = d.size.saturating_sub(1).max(0) as usize;
            if t.contains('\0') {
                return Err(bad("contains a NUL character".into()));
            }
            if t.len() > max {
                return Err(bad(format!(
                    "{} characters is too long (up to {max})",
                    t.len()
                )));
            }
            OptionValue::Text(t.clone())
        }
        (ValueType::Group | ValueType::Other(_), _) => return Err(bad("it cannot be set".into())),
        _ => return Err(bad(format!("not a value of type {}", element.kind))),
    };
    // Integers must be on the step; fixed values may be off it (the backend rounds them, as
    // scanimage lets it); list values are compared in words.
    if let OptionValue::Words(ws) = &set {
        for w in ws {
            check_word(d, *w).map_err(&bad)?;
        }
    }
    Ok(SetValue::Value(set))
}

/// Whether a word fits the constraint. Fixed values may be off the step (the backend rounds
/// them, as scanimage lets it); integers must be on it.
fn check_word(d: &OptionDescriptor, w: i32) -> Result<(), String> {
    let shown = fmt_number(d, w);
    match &d.constraint {
        Constraint::Range { min, max, quant } => {
            if w < *min || w > *max {
                return Err(format!("{shown} is out of range"));
            }
            if d.kind == ValueType::Int && *quant > 1 && (w - min) % quant != 0 {
                return Err(format!("{shown} is not on a step"));
            }
            Ok(())
        }
        Constraint::WordList(list) => {
            // Fixed values typed in decimal may be off by one 1/65536 unit.
            let tolerance = if d.kind == ValueType::Fixed { 1 } else { 0 };
            if list
                .iter()
                .any(|x| (*x as i64 - w as i64).abs() <= tolerance)
            {
                Ok(())
            } else {
                Err(format!("{shown} is not one of the allowed values"))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{CAP_INACTIVE, CAP_SOFT_SELECT};

    fn opt(
        index: i32,
        name: &str,
        kind: ValueType,
        unit: Unit,
        constraint: Constraint,
        value: OptionValue,
    ) -> SaneOption {
        let size = match &value {
            OptionValue::Words(w) => 4 * w.len() as i32,
            OptionValue::Text(_) => 32,
            OptionValue::Nothing => 0,
        };
        SaneOption {
            index,
            desc: OptionDescriptor {
                name: name.into(),
                title: format!("{name} title"),
                desc: String::new(),
                kind,
                unit,
                size,
                cap: CAP_SOFT_SELECT | CAP_SOFT_DETECT,
                constraint,
            },
            value: Some(value),
        }
    }

    fn fx(v: f64) -> i32 {
        f64_to_fixed(v)
    }

    /// `--set` pairs parsed by scanwire-core against the fake device's listing.
    fn typed(f: &Fake, pairs: &[(&str, &str)]) -> BTreeMap<String, core::OptionValue> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        core::parse_settings(&describe(&f.opts), &pairs).unwrap()
    }

    /// Text → typed (core) → SANE value, as `--set` goes; errors as the user sees them.
    fn parse(f: &Fake, name: &str, text: &str) -> Result<SetValue, String> {
        let o = find(&f.opts, name).unwrap();
        let listed = describe(std::slice::from_ref(o)).remove(0);
        let v = parse_value(&listed, text).map_err(|e| e.to_string())?;
        set_value(o, &v).map_err(|e| e.to_string())
    }

    /// A device that behaves like the SANE test backend: modes Gray/Color, depths 1/8/16,
    /// fixed resolution 1..1200, fixed mm geometry 0..300, a flatbed and an ADF.
    struct Fake {
        opts: Vec<SaneOption>,
        sets: Vec<(String, SetValue)>,
    }

    impl Fake {
        fn test_backend() -> Self {
            let s = |v: &str| OptionValue::Text(v.into());
            let w = |v: i32| OptionValue::Words(vec![v]);
            let list =
                |v: &[&str]| Constraint::StringList(v.iter().map(|s| s.to_string()).collect());
            let mm = Constraint::Range {
                min: 0,
                max: fx(300.0),
                quant: fx(1.0),
            };
            Fake {
                opts: vec![
                    opt(
                        1,
                        "mode",
                        ValueType::String,
                        Unit::None,
                        list(&["Gray", "Color"]),
                        s("Gray"),
                    ),
                    opt(
                        2,
                        "depth",
                        ValueType::Int,
                        Unit::None,
                        Constraint::WordList(vec![1, 8, 16]),
                        w(8),
                    ),
                    opt(
                        3,
                        "resolution",
                        ValueType::Fixed,
                        Unit::Dpi,
                        Constraint::Range {
                            min: fx(1.0),
                            max: fx(1200.0),
                            quant: fx(1.0),
                        },
                        w(fx(50.0)),
                    ),
                    opt(
                        4,
                        "source",
                        ValueType::String,
                        Unit::None,
                        list(&["Flatbed", "Automatic Document Feeder"]),
                        s("Flatbed"),
                    ),
                    opt(5, "tl-x", ValueType::Fixed, Unit::Mm, mm.clone(), w(0)),
                    opt(6, "tl-y", ValueType::Fixed, Unit::Mm, mm.clone(), w(0)),
                    opt(
                        7,
                        "br-x",
                        ValueType::Fixed,
                        Unit::Mm,
                        mm.clone(),
                        w(fx(80.0)),
                    ),
                    opt(8, "br-y", ValueType::Fixed, Unit::Mm, mm, w(fx(100.0))),
                    opt(
                        9,
                        "int-constraint-range",
                        ValueType::Int,
                        Unit::Pixel,
                        Constraint::Range {
                            min: 4,
                            max: 192,
                            quant: 2,
                        },
                        w(26),
                    ),
                    opt(
                        10,
                        "fixed-constraint-word-list",
                        ValueType::Fixed,
                        Unit::None,
                        Constraint::WordList(vec![fx(-32.7), fx(12.1), fx(42.0), fx(129.5)]),
                        w(fx(42.0)),
                    ),
                    opt(
                        11,
                        "int-array",
                        ValueType::Int,
                        Unit::Mm,
                        Constraint::None,
                        OptionValue::Words(vec![1, 2, 3, 4, 5, 6]),
                    ),
                    opt(
                        12,
                        "read-delay",
                        ValueType::Bool,
                        Unit::None,
                        Constraint::None,
                        w(0),
                    ),
                    {
                        let mut o = opt(
                            13,
                            "read-delay-duration",
                            ValueType::Int,
                            Unit::Microsecond,
                            Constraint::Range {
                                min: 1000,
                                max: 200_000,
                                quant: 1000,
                            },
                            w(1000),
                        );
                        o.desc.cap |= CAP_INACTIVE;
                        o
                    },
                    opt(
                        14,
                        "button",
                        ValueType::Button,
                        Unit::None,
                        Constraint::None,
                        OptionValue::Nothing,
                    ),
                    opt(
                        15,
                        "test-picture",
                        ValueType::String,
                        Unit::None,
                        list(&["Solid black", "Color pattern"]),
                        s("Solid black"),
                    ),
                ],
                sets: Vec::new(),
            }
        }
    }

    impl OptionAccess for Fake {
        fn options(&mut self) -> Result<&[SaneOption], DeviceError> {
            Ok(&self.opts)
        }
        fn set(&mut self, index: i32, value: &SetValue) -> Result<i32, Status> {
            let o = self
                .opts
                .iter_mut()
                .find(|o| o.index == index)
                .ok_or(Status::Inval)?;
            if let SetValue::Value(v) = value {
                if !matches!(v, OptionValue::Nothing) {
                    o.value = Some(v.clone());
                }
            }
            let name = o.desc.name.clone();
            self.sets.push((name.clone(), value.clone()));
            if index == 12 {
                let on = value == &SetValue::Value(OptionValue::Words(vec![1]));
                let d = self
                    .opts
                    .iter_mut()
                    .find(|o| o.desc.name == "read-delay-duration")
                    .unwrap();
                if on {
                    d.desc.cap &= !CAP_INACTIVE
                } else {
                    d.desc.cap |= CAP_INACTIVE
                }
            }
            Ok(0)
        }
        fn device_name(&self) -> &str {
            "test:0"
        }
    }

    #[test]
    fn test_backend_capabilities() {
        let mut f = Fake::test_backend();
        let (caps, wire) = capabilities(&mut f, "Noname frontend-tester").unwrap();
        assert_eq!(caps.sources.len(), 2);
        let fb = caps.source(Source::Flatbed).unwrap();
        assert_eq!(
            fb.modes,
            vec![
                ColorMode::Lineart,
                ColorMode::Gray,
                ColorMode::Gray16,
                ColorMode::Color,
                ColorMode::Color48
            ]
        );
        assert_eq!(
            fb.resolutions,
            Resolutions::Range {
                min: 1,
                max: 1200,
                step: 1
            }
        );
        assert_eq!(fb.max_area, Area::sized(Length::mm(300), Length::mm(300)));
        assert_eq!(fb.min_size, (Length::mm(1), Length::mm(1)));
        assert!(caps.source(Source::Feeder).is_some());
        assert_eq!(
            wire.sources[1].sane.as_deref(),
            Some("Automatic Document Feeder")
        );
        // The probe restored what it changed.
        let get = |n: &str| find(&f.opts, n).unwrap().value.clone().unwrap();
        assert_eq!(get("mode"), OptionValue::Text("Gray".into()));
        assert_eq!(get("source"), OptionValue::Text("Flatbed".into()));
        assert_eq!(get("depth"), OptionValue::Words(vec![8]));
    }

    #[test]
    fn request_becomes_options() {
        let mut f = Fake::test_backend();
        let (_, wire) = capabilities(&mut f, "t").unwrap();
        f.sets.clear();
        let request = ScanRequest {
            source: Source::Feeder,
            mode: ColorMode::Color48,
            resolution: 150,
            area: Some(Area {
                left: Length::mm(10),
                top: Length::mm(20),
                width: Length::mm(60),
                height: Length::mm(50),
            }),
            options: typed(&f, &[("test-picture", "color pattern")]),
            ..Default::default()
        };
        let mut touched = Vec::new();
        let dpi = apply(&mut f, &request, &wire, &mut touched).unwrap();
        assert_eq!(dpi, (150, 150));
        assert_eq!(touched, vec![15]);
        let get = |n: &str| find(&f.opts, n).unwrap().value.clone().unwrap();
        assert_eq!(
            get("source"),
            OptionValue::Text("Automatic Document Feeder".into())
        );
        assert_eq!(get("mode"), OptionValue::Text("Color".into()));
        assert_eq!(get("depth"), OptionValue::Words(vec![16]));
        assert_eq!(get("tl-x"), OptionValue::Words(vec![fx(10.0)]));
        assert_eq!(get("br-x"), OptionValue::Words(vec![fx(70.0)]));
        assert_eq!(get("tl-y"), OptionValue::Words(vec![fx(20.0)]));
        assert_eq!(get("br-y"), OptionValue::Words(vec![fx(70.0)]));
        assert_eq!(
            get("test-picture"),
            OptionValue::Text("Color pattern".into())
        );
    }

    #[test]
    fn top_left_past_bottom_right_sets_bottom_right_first() {
        let mut f = Fake::test_backend();
        let (_, wire) = capabilities(&mut f, "t").unwrap();
        f.sets.clear();
        let request = ScanRequest {
            mode: ColorMode::Gray,
            area: Some(Area {
                left: Length::mm(150),
                top: Length::ZERO,
                width: Length::mm(10),
                height: Length::mm(10),
            }),
            ..Default::default()
        };
        apply(&mut f, &request, &wire, &mut Vec::new()).unwrap();
        let order: Vec<&str> = f
            .sets
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| n.starts_with("tl-x") || n.starts_with("br-x"))
            .collect();
        assert_eq!(order, vec!["br-x", "tl-x"]);
    }

    #[test]
    fn set_options_wait_for_the_option_that_activates_them() {
        let mut f = Fake::test_backend();
        // Named so that it sorts after the option it activates: the first pass defers
        // `read-delay-duration`, the second sets it.
        f.opts[11].desc.name = "zz-read-delay".into();
        let opts = typed(
            &f,
            &[("read-delay-duration", "200000"), ("zz-read-delay", "yes")],
        );
        let mut touched = Vec::new();
        apply_user_options(&mut f, &opts, &mut touched).unwrap();
        assert_eq!(touched, vec![12, 13]);
        let mut f = Fake::test_backend();
        let only = typed(&f, &[("read-delay-duration", "2000")]);
        let e = apply_user_options(&mut f, &only, &mut Vec::new()).unwrap_err();
        assert!(e.detail().contains("inactive"), "{e}");
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
    }

    #[test]
    fn bad_values_name_the_constraint() {
        let f = Fake::test_backend();
        let e = parse(&f, "int-constraint-range", "5").unwrap_err();
        assert_eq!(
            e,
            "invalid value `5` for option int-constraint-range: 5 is not on a step; allowed: 4..=192 px, step 2"
        );
        let e = parse(&f, "int-constraint-range", "400").unwrap_err();
        assert!(
            e.contains("400 is out of range") && e.contains("4..=192 px"),
            "{e}"
        );
        let e = parse(&f, "mode", "Lineart").unwrap_err();
        assert!(e.ends_with("allowed: Gray|Color"), "{e}");
        let e = parse(&f, "depth", "12").unwrap_err();
        assert!(e.ends_with("allowed: 1|8|16"), "{e}");
        let e = parse(&f, "read-delay", "maybe").unwrap_err();
        assert!(e.ends_with("allowed: true|false"), "{e}");
        let e = parse(&f, "fixed-constraint-word-list", "13").unwrap_err();
        assert!(e.contains("-32.7|12.1|42|129.5"), "{e}");
        let e = parse(&f, "resolution", "abc").unwrap_err();
        assert!(
            e.contains("not a number") && e.contains("1..=1200 dpi"),
            "{e}"
        );
        let e = parse(&f, "int-array", "1,2").unwrap_err();
        assert!(e.contains("has 6"), "{e}");
        // A typed value built in code is checked against the option as it is now.
        let depth = find(&f.opts, "depth").unwrap();
        let e = set_value(depth, &core::OptionValue::Int(12)).unwrap_err();
        assert!(e.to_string().ends_with("allowed: 1|8|16"), "{e}");
        let e = set_value(depth, &core::OptionValue::Text("8".into())).unwrap_err();
        assert!(e.to_string().contains("not a value of type int"), "{e}");
    }

    #[test]
    fn good_values_parse() {
        let f = Fake::test_backend();
        let v = |x: Vec<i32>| SetValue::Value(OptionValue::Words(x));
        assert_eq!(
            parse(&f, "int-constraint-range", "6px").unwrap(),
            v(vec![6])
        );
        assert_eq!(
            parse(&f, "resolution", "300dpi").unwrap(),
            v(vec![fx(300.0)])
        );
        assert_eq!(
            parse(&f, "fixed-constraint-word-list", "12.1").unwrap(),
            v(vec![fx(12.1)])
        );
        assert_eq!(parse(&f, "read-delay", "Yes").unwrap(), v(vec![1]));
        assert_eq!(parse(&f, "int-array", "7").unwrap(), v(vec![7; 6]));
        assert_eq!(
            parse(&f, "int-array", "1,2,3,4,5,6mm").unwrap(),
            v(vec![1, 2, 3, 4, 5, 6])
        );
        assert_eq!(
            parse(&f, "mode", "color").unwrap(),
            SetValue::Value(OptionValue::Text("Color".into()))
        );
        assert_eq!(
            parse(&f, "button", "press").unwrap(),
            SetValue::Value(OptionValue::Nothing)
        );
    }

    #[test]
    fn listing_shows_type_unit_constraint_and_value() {
        let f = Fake::test_backend();
        let list = describe(&f.opts);
        let get = |n: &str| list.iter().find(|o| o.name == n).unwrap().clone();
        let r = get("resolution");
        assert_eq!(
            (
                r.type_text().as_str(),
                r.allowed_text().as_str(),
                r.value.clone()
            ),
            (
                "fixed dpi",
                "1..=1200 dpi, step 1",
                Some(core::OptionValue::Fixed(50.0))
            )
        );
        assert!(r.help.contains("set by --resolution"), "{}", r.help);
        let a = get("int-array");
        assert_eq!(a.kind, OptionType::Text);
        assert!(
            a.help
                .starts_with("6 values, comma-separated or one for all: int[6] mm"),
            "{}",
            a.help
        );
        assert_eq!(a.value, Some(core::OptionValue::Text("1,2,3,4,5,6".into())));
        let mut long = f.opts[10].clone();
        long.desc.size = 4 * 256;
        long.value = Some(OptionValue::Words((0..256).collect()));
        assert_eq!(value_text(&long), "0,1,2,3,4,5,…,255 (256 values)");
        let d = get("read-delay-duration");
        assert_eq!(d.value, None);
        assert!(d.help.contains("inactive"), "{}", d.help);
        assert_eq!(d.allowed_text(), "1000..=200000 us, step 1000");
        assert_eq!(get("button").kind, OptionType::Button);
    }

    #[test]
    fn mode_names_backends_use() {
        assert_eq!(classify_mode("Color"), Some(Family::Color { deep: false }));
        assert_eq!(
            classify_mode("24bit Color"),
            Some(Family::Color { deep: false })
        );
        assert_eq!(
            classify_mode("48 bit Color"),
            Some(Family::Color { deep: true })
        );
        assert_eq!(classify_mode("Gray"), Some(Family::Gray { deep: false }));
        assert_eq!(
            classify_mode("Grayscale"),
            Some(Family::Gray { deep: false })
        );
        assert_eq!(classify_mode("Lineart"), Some(Family::Lineart { rank: 0 }));
        assert_eq!(
            classify_mode("Black & White"),
            Some(Family::Lineart { rank: 0 })
        );
        assert_eq!(classify_mode("Halftone"), Some(Family::Lineart { rank: 2 }));
        assert_eq!(classify_mode("Color Lineart"), None);
        assert_eq!(classify_mode("Infrared"), None);
    }

    #[test]
    fn source_names_backends_use() {
        assert_eq!(classify_source("Flatbed"), Some(Source::Flatbed));
        assert_eq!(classify_source("FlatBed"), Some(Source::Flatbed));
        assert_eq!(
            classify_source("Automatic Document Feeder"),
            Some(Source::Feeder)
        );
        assert_eq!(classify_source("ADF"), Some(Source::Feeder));
        assert_eq!(classify_source("ADF Front"), Some(Source::Feeder));
        assert_eq!(classify_source("ADF Duplex"), Some(Source::FeederDuplex));
        assert_eq!(classify_source("Duplex"), Some(Source::FeederDuplex));
        assert_eq!(classify_source("ADF Back"), None);
        assert_eq!(classify_source("Transparency Adapter"), None);
    }

    #[test]
    fn discrete_int_resolutions_and_pixel_geometry() {
        let w = |v: i32| OptionValue::Words(vec![v]);
        let px = Constraint::Range {
            min: 0,
            max: 2550,
            quant: 0,
        };
        let opts = vec![
            opt(
                1,
                "resolution",
                ValueType::Int,
                Unit::Dpi,
                Constraint::WordList(vec![300, 75, 150]),
                w(150),
            ),
            opt(2, "tl-x", ValueType::Int, Unit::Pixel, px.clone(), w(0)),
            opt(3, "tl-y", ValueType::Int, Unit::Pixel, px.clone(), w(0)),
            opt(4, "br-x", ValueType::Int, Unit::Pixel, px.clone(), w(2550)),
            opt(
                5,
                "br-y",
                ValueType::Int,
                Unit::Pixel,
                Constraint::Range {
                    min: 0,
                    max: 3508,
                    quant: 0,
                },
                w(3508),
            ),
        ];
        assert_eq!(
            resolutions(&opts),
            Resolutions::Discrete(vec![75, 150, 300])
        );
        let g = geometry(&opts).unwrap();
        assert_eq!(g.max_area(), Area::sized(Length(215_900), Length(297_011)));
    }
}
