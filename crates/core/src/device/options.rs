//! Device-specific options (`--set NAME=VALUE`), typed: a device declares each option's type
//! and constraint once ([`DeviceOption`]), and the text a user typed is parsed here, once, into
//! an [`OptionValue`] that the driver receives in [`ScanRequest::options`]. No driver parses
//! text, so every driver accepts the same words.
//!
//! The words:
//! - booleans: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0` (any case); an empty value
//!   means true (`--set cover-open=`);
//! - integers and fixed-point numbers, optionally followed by the option's unit (`300dpi`,
//!   `6 px`), checked against the range (with its step) or the list;
//! - text: anything, or for a list one of the listed values, matched without regard to case
//!   (the value the device listed is what the driver gets);
//! - `none`, only for an option with [`DeviceOption::allows_none`] (a fault page that may be
//!   left out): [`parse_settings`] then leaves the option out of the map, which is what "not
//!   set" means; [`parse_setting`] returns `Ok(None)`;
//! - `auto`, only for an option with [`DeviceOption::auto`] (the device can pick the value
//!   itself, SANE's `SANE_CAP_AUTOMATIC`): it becomes `OptionValue::Text("auto")` whatever the
//!   option's type, and the driver asks the device to choose;
//! - a button takes `press` (or nothing) and becomes `OptionValue::Bool(true)`.
//!
//! [`ScanRequest::options`]: super::ScanRequest::options

use super::Source;
use crate::wia::{self, HResult};
use std::collections::BTreeMap;
use std::fmt;

/// What kind of value an option holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OptionType {
    /// true or false.
    Bool,
    /// A whole number.
    Int,
    /// A number with a fractional part (SANE's fixed-point `SANE_Fixed`).
    Fixed,
    /// Text.
    Text,
    /// An action with no value (SANE's button): setting it presses it.
    Button,
}

impl OptionType {
    /// The name `scanwire caps` shows: `bool`, `int`, `fixed`, `string`, `button`.
    pub const fn name(self) -> &'static str {
        match self {
            OptionType::Bool => "bool",
            OptionType::Int => "int",
            OptionType::Fixed => "fixed",
            OptionType::Text => "string",
            OptionType::Button => "button",
        }
    }
}

impl fmt::Display for OptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which values an option allows beyond its type.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Constraint {
    /// Any value of the type.
    None,
    /// `min..=max`; a value must be `min + k·step` (a step of 0 or 1 allows every integer).
    IntRange {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// Step from `min`; 0 or 1 = any.
        step: i64,
    },
    /// `min..=max`. The step is shown but not enforced: devices round fixed values to their
    /// step themselves (as `scanimage` lets them).
    FixedRange {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Step (0 = any).
        step: f64,
    },
    /// One of these integers.
    IntList(Vec<i64>),
    /// One of these numbers.
    FixedList(Vec<f64>),
    /// One of these texts.
    TextList(Vec<String>),
}

/// Shortest decimal form of a fixed value (`1.5`, `42`, not `42.0000`).
fn fixed_text(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

impl fmt::Display for Constraint {
    /// In words: empty for none, `1..=100`, `4..=192, step 2`, `1|8|16`, `Gray|Color`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: Vec<String>| v.join("|");
        match self {
            Constraint::None => Ok(()),
            Constraint::IntRange { min, max, step } => {
                write!(f, "{min}..={max}")?;
                if *step > 1 {
                    write!(f, ", step {step}")?;
                }
                Ok(())
            }
            Constraint::FixedRange { min, max, step } => {
                write!(f, "{}..={}", fixed_text(*min), fixed_text(*max))?;
                if *step > 0.0 {
                    write!(f, ", step {}", fixed_text(*step))?;
                }
                Ok(())
            }
            Constraint::IntList(v) => f.write_str(&join(v.iter().map(|x| x.to_string()).collect())),
            Constraint::FixedList(v) => {
                f.write_str(&join(v.iter().map(|x| fixed_text(*x)).collect()))
            }
            Constraint::TextList(v) => f.write_str(&v.join("|")),
        }
    }
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OptionValue {
    /// A boolean (also a pressed button).
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number.
    Fixed(f64),
    /// Text (also `auto`, see the module documentation).
    Text(String),
}

impl OptionValue {
    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            OptionValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            OptionValue::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The number, if it is one (integers convert).
    pub fn as_fixed(&self) -> Option<f64> {
        match self {
            OptionValue::Fixed(v) => Some(*v),
            OptionValue::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// The text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            OptionValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Whether it is the `auto` word (see the module documentation).
    pub fn is_auto(&self) -> bool {
        matches!(self, OptionValue::Text(s) if s == AUTO)
    }
}

impl fmt::Display for OptionValue {
    /// As a user would type it back: `true`, `42`, `1.5`, `Color`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Int(n) => write!(f, "{n}"),
            OptionValue::Fixed(v) => f.write_str(&fixed_text(*v)),
            OptionValue::Text(s) => f.write_str(s),
        }
    }
}

/// A device-specific option, settable with `--set name=value` (`ScanRequest::options`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DeviceOption {
    /// The name used with `--set`.
    pub name: String,
    /// Its type.
    pub kind: OptionType,
    /// What values are allowed.
    pub constraint: Constraint,
    /// The current or default value; `None` when it has none (unset, inactive, write-only).
    pub value: Option<OptionValue>,
    /// The unit numbers are in (`mm`, `dpi`, `px`, `%`, `us`, `ms`), if any. A typed value
    /// may carry it (`300dpi`).
    pub unit: Option<String>,
    /// What it does.
    pub help: String,
    /// The sources it applies to; empty = every source. A driver ignores it on the others
    /// (a feeder fault set server-wide does not fail a flatbed job).
    pub sources: Vec<Source>,
    /// Whether `none` is accepted, meaning "leave it unset" (see the module documentation).
    pub allows_none: bool,
    /// Whether `auto` is accepted, meaning "the device chooses".
    pub auto: bool,
}

impl DeviceOption {
    /// An option of `kind` with no constraint, value, unit or help, for every source.
    pub fn new(name: impl Into<String>, kind: OptionType) -> Self {
        DeviceOption {
            name: name.into(),
            kind,
            constraint: Constraint::None,
            value: None,
            unit: None,
            help: String::new(),
            sources: Vec::new(),
            allows_none: false,
            auto: false,
        }
    }

    /// Whether it applies to `source`.
    pub fn applies_to(&self, source: Source) -> bool {
        self.sources.is_empty() || self.sources.contains(&source)
    }

    /// The type in words, with its unit: `int`, `fixed mm`.
    pub fn type_text(&self) -> String {
        match &self.unit {
            Some(u) if matches!(self.kind, OptionType::Int | OptionType::Fixed) => {
                format!("{} {u}", self.kind)
            }
            _ => self.kind.to_string(),
        }
    }

    /// What it takes, in words, for `scanwire caps` and error messages: the constraint with
    /// its unit, `none`/`auto` where accepted.
    pub fn allowed_text(&self) -> String {
        let mut s = match (self.kind, &self.constraint) {
            (OptionType::Bool, _) => "true|false".to_string(),
            (OptionType::Button, _) => "press".to_string(),
            (OptionType::Int, Constraint::None) => "any integer".to_string(),
            (OptionType::Fixed, Constraint::None) => "any number".to_string(),
            (OptionType::Text, Constraint::None) => "any text".to_string(),
            (_, c) => c.to_string(),
        };
        if let Some(u) = &self.unit {
            if matches!(self.kind, OptionType::Int | OptionType::Fixed) {
                // `4..=192, step 2` → `4..=192 px, step 2`
                match s.find(", step") {
                    Some(i) => s.insert_str(i, &format!(" {u}")),
                    None => s.push_str(&format!(" {u}")),
                }
            }
        }
        if self.allows_none {
            s.push_str("|none");
        }
        if self.auto {
            s.push_str("|auto");
        }
        s
    }
}

impl fmt::Display for DeviceOption {
    /// One line: `name  type  allowed  [value]  help (only: sources)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match &self.value {
            Some(v) => v.to_string(),
            None if self.allows_none => NONE.to_string(),
            None => String::new(),
        };
        write!(
            f,
            "{:<24} {:<8} {:<28} [{value}]  {}",
            self.name,
            self.type_text(),
            self.allowed_text(),
            self.help
        )?;
        if !self.sources.is_empty() {
            let names: Vec<&str> = self.sources.iter().map(|s| s.cli_name()).collect();
            write!(f, " (only: {})", names.join(", "))?;
        }
        Ok(())
    }
}

const NONE: &str = "none";
const AUTO: &str = "auto";

/// Why a `--set` setting was refused. The message names the option, the value and what is
/// allowed, once, in words.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OptionError {
    /// `NAME=VALUE` without the `=`.
    #[error("`{raw}`: expected NAME=VALUE (e.g. sheets=3)")]
    NoEquals {
        /// What was given.
        raw: String,
    },
    /// `=VALUE`.
    #[error("`{raw}` has an empty option name; expected NAME=VALUE (e.g. sheets=3)")]
    EmptyName {
        /// What was given.
        raw: String,
    },
    /// No such option.
    #[error("unknown option `{name}`; allowed: {allowed}{hint}")]
    Unknown {
        /// What was given.
        name: String,
        /// Every option name, comma-separated (`none` when the device has no options).
        allowed: String,
        /// ` (did you mean …?)` or empty.
        hint: String,
    },
    /// The value does not parse or is outside the constraint.
    #[error("invalid value `{value}` for option {name}: {why}; allowed: {allowed}")]
    Value {
        /// The option.
        name: String,
        /// What was given.
        value: String,
        /// What is wrong with it.
        why: String,
        /// What is allowed, in words.
        allowed: String,
    },
    /// The option does not make sense with the rest of the request (the driver says why).
    #[error("option {name}: {reason}")]
    Conflict {
        /// The option.
        name: String,
        /// Why, and what to do instead.
        reason: String,
    },
}

impl OptionError {
    /// The HRESULT for `--json` and `--verbose` output: E_INVALIDARG, always.
    pub const fn hresult(&self) -> HResult {
        wia::E_INVALIDARG
    }
}

impl From<OptionError> for super::DeviceError {
    fn from(e: OptionError) -> Self {
        super::DeviceError::new(super::DeviceErrorKind::InvalidRequest, e.to_string())
    }
}

/// Splits `NAME=VALUE` at the first `=`, trimming both sides. The one place that does.
pub fn split_setting(raw: &str) -> Result<(String, String), OptionError> {
    let Some((name, value)) = raw.split_once('=') else {
        return Err(OptionError::NoEquals { raw: raw.into() });
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(OptionError::EmptyName { raw: raw.into() });
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// Unit spellings a number may end with, per declared unit.
fn unit_spellings(unit: &str) -> &[&str] {
    match unit {
        "px" => &["px", "pel", "pixels", "pixel"],
        "bit" => &["bits", "bit"],
        "us" => &["us", "µs"],
        "mm" => &["mm"],
        "dpi" => &["dpi"],
        "%" => &["%"],
        "ms" => &["ms"],
        _ => &[],
    }
}

fn strip_unit<'a>(option: &DeviceOption, s: &'a str) -> &'a str {
    let t = s.trim();
    let Some(unit) = &option.unit else { return t };
    let lower = t.to_lowercase();
    for suffix in unit_spellings(unit)
        .iter()
        .copied()
        .chain(std::iter::once(unit.as_str()))
    {
        if lower.ends_with(suffix) && lower.len() > suffix.len() {
            // Lowercasing kept the byte length of the ASCII digits and of the suffix.
            if let Some(head) = t.get(..t.len() - suffix.len()) {
                return head.trim_end();
            }
        }
    }
    t
}

/// The words of a boolean, the one list every driver accepts.
fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "" | "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Parses `raw` for `option`: `Ok(None)` is `none` on an option that allows it (unset).
pub fn parse_setting(option: &DeviceOption, raw: &str) -> Result<Option<OptionValue>, OptionError> {
    let text = raw.trim();
    if option.allows_none && text.eq_ignore_ascii_case(NONE) {
        return Ok(None);
    }
    if option.auto && text.eq_ignore_ascii_case(AUTO) {
        // A list that itself has an `auto` entry means that entry.
        if let Constraint::TextList(list) = &option.constraint {
            if let Some(s) = list.iter().find(|s| s.eq_ignore_ascii_case(AUTO)) {
                return Ok(Some(OptionValue::Text(s.clone())));
            }
        }
        return Ok(Some(OptionValue::Text(AUTO.into())));
    }
    let bad = |why: String| OptionError::Value {
        name: option.name.clone(),
        value: raw.to_string(),
        why,
        allowed: option.allowed_text(),
    };
    let value = match option.kind {
        OptionType::Bool => OptionValue::Bool(
            parse_bool(text)
                .ok_or_else(|| bad("not true or false (also yes/no, on/off, 1/0)".into()))?,
        ),
        OptionType::Button => match text.to_ascii_lowercase().as_str() {
            "" | "press" | "true" | "yes" | "1" => OptionValue::Bool(true),
            _ => return Err(bad("a button only takes `press`".into())),
        },
        OptionType::Int => {
            let s = strip_unit(option, text);
            let n: i64 = s
                .parse()
                .map_err(|_| bad(format!("`{s}` is not a whole number")))?;
            OptionValue::Int(n)
        }
        OptionType::Fixed => {
            let s = strip_unit(option, text);
            let v: f64 = s
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| bad(format!("`{s}` is not a number")))?;
            OptionValue::Fixed(v)
        }
        OptionType::Text => match &option.constraint {
            Constraint::TextList(list) => {
                // Exact first, then one case-insensitive match.
                let exact = list
                    .iter()
                    .find(|s| s.as_str() == raw || s.as_str() == text);
                let loose: Vec<&String> = list
                    .iter()
                    .filter(|s| s.eq_ignore_ascii_case(text))
                    .collect();
                match (exact, loose.as_slice()) {
                    (Some(s), _) => OptionValue::Text(s.clone()),
                    (None, [s]) => OptionValue::Text((*s).clone()),
                    _ => return Err(bad("not one of the allowed values".into())),
                }
            }
            _ => OptionValue::Text(raw.to_string()),
        },
    };
    check_value(option, &value)?;
    Ok(Some(value))
}

/// Checks a typed value against `option`'s type and constraint: what a driver does with the
/// values of a request built in code rather than parsed (the runner's callers may skip
/// [`parse_settings`]). `auto` passes where the option declares it.
pub fn check_value(option: &DeviceOption, value: &OptionValue) -> Result<(), OptionError> {
    let bad = |why: String| OptionError::Value {
        name: option.name.clone(),
        value: value.to_string(),
        why,
        allowed: option.allowed_text(),
    };
    if option.auto && value.is_auto() {
        return Ok(());
    }
    match (option.kind, value) {
        (OptionType::Bool | OptionType::Button, OptionValue::Bool(_)) => Ok(()),
        (OptionType::Int, OptionValue::Int(n)) => match &option.constraint {
            Constraint::IntRange { min, max, .. } if n < min || n > max => {
                Err(bad(format!("{n} is out of range")))
            }
            Constraint::IntRange { min, step, .. } if *step > 1 && (n - min) % step != 0 => {
                Err(bad(format!("{n} is not on a step")))
            }
            Constraint::IntList(list) if !list.contains(n) => {
                Err(bad(format!("{n} is not one of the allowed values")))
            }
            _ => Ok(()),
        },
        (OptionType::Fixed, OptionValue::Fixed(v)) => match &option.constraint {
            _ if !v.is_finite() => Err(bad("not a finite number".into())),
            Constraint::FixedRange { min, max, .. } if v < min || v > max => {
                Err(bad(format!("{} is out of range", fixed_text(*v))))
            }
            // Typed in decimal, a listed value may differ in the last digits.
            Constraint::FixedList(list)
                if !list
                    .iter()
                    .any(|x| (x - v).abs() <= 1e-4 * x.abs().max(1.0)) =>
            {
                Err(bad(format!(
                    "{} is not one of the allowed values",
                    fixed_text(*v)
                )))
            }
            _ => Ok(()),
        },
        (OptionType::Text, OptionValue::Text(t)) => match &option.constraint {
            Constraint::TextList(list) if !list.contains(t) => {
                Err(bad("not one of the allowed values".into()))
            }
            _ => Ok(()),
        },
        (kind, _) => Err(bad(format!("not a value of type {}", kind.name()))),
    }
}

/// Parses `raw` for `option`. `none` (where allowed) is not a value: it is refused here, and
/// [`parse_settings`] and [`parse_setting`] read it as "unset".
pub fn parse_value(option: &DeviceOption, raw: &str) -> Result<OptionValue, OptionError> {
    parse_setting(option, raw)?.ok_or_else(|| OptionError::Value {
        name: option.name.clone(),
        value: raw.to_string(),
        why: "`none` leaves the option unset; it is not a value".into(),
        allowed: option.allowed_text(),
    })
}

/// The closest option name to a mistyped one, if it is close enough to be a likely typo.
fn did_you_mean<'a>(options: &'a [DeviceOption], name: &str) -> Option<&'a str> {
    let wanted = name.to_ascii_lowercase().replace('_', "-");
    options
        .iter()
        .map(|o| {
            (
                strsim::levenshtein(&wanted, &o.name.to_ascii_lowercase()),
                o.name.as_str(),
            )
        })
        // About one typo in three letters: `shets` → sheets, but not `foo` → ppm.
        .filter(|(d, _)| *d <= (wanted.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Parses `settings` (name, text) against a device's `options`: unknown names are refused
/// with the allowed names and one "did you mean", bad values with what is allowed. `none`
/// leaves an option out of the map. A name given twice keeps the last value.
pub fn parse_settings(
    options: &[DeviceOption],
    settings: &[(String, String)],
) -> Result<BTreeMap<String, OptionValue>, OptionError> {
    let mut out = BTreeMap::new();
    for (name, raw) in settings {
        let name = name.trim();
        let Some(option) = options.iter().find(|o| o.name == name) else {
            let allowed = if options.is_empty() {
                "none (the device has no options)".to_string()
            } else {
                options
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(OptionError::Unknown {
                name: name.to_string(),
                allowed,
                hint: did_you_mean(options, name)
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default(),
            });
        };
        match parse_setting(option, raw)? {
            Some(v) => {
                out.insert(option.name.clone(), v);
            }
            None => {
                out.remove(&option.name);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: &str, min: i64, max: i64, step: i64) -> DeviceOption {
        DeviceOption {
            constraint: Constraint::IntRange { min, max, step },
            ..DeviceOption::new(name, OptionType::Int)
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn split_setting_is_name_equals_value() {
        assert_eq!(
            split_setting(" a = b=c ").unwrap(),
            ("a".into(), "b=c".into())
        );
        assert_eq!(split_setting("a=").unwrap(), ("a".into(), String::new()));
        let e = split_setting("sheets").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`sheets`: expected NAME=VALUE (e.g. sheets=3)"
        );
        let e = split_setting(" =3").unwrap_err();
        assert!(e.to_string().contains("empty option name"), "{e}");
        assert_eq!(e.hresult(), wia::E_INVALIDARG);
    }

    #[test]
    fn one_set_of_boolean_words() {
        let o = DeviceOption::new("b", OptionType::Bool);
        for w in ["true", "YES", "on", "1", ""] {
            assert_eq!(parse_value(&o, w).unwrap(), OptionValue::Bool(true), "{w}");
        }
        for w in ["false", "No", "OFF", "0"] {
            assert_eq!(parse_value(&o, w).unwrap(), OptionValue::Bool(false), "{w}");
        }
        let e = parse_value(&o, "maybe").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value `maybe` for option b: not true or false (also yes/no, on/off, 1/0); allowed: true|false"
        );
        assert!(!e.contains("0x8007"), "{e}");
    }

    #[test]
    fn ranges_steps_and_units() {
        let mut o = int("r", 4, 192, 2);
        o.unit = Some("px".into());
        assert_eq!(parse_value(&o, "6px").unwrap(), OptionValue::Int(6));
        assert_eq!(parse_value(&o, "6 pixels").unwrap(), OptionValue::Int(6));
        let e = parse_value(&o, "5").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value `5` for option r: 5 is not on a step; allowed: 4..=192 px, step 2"
        );
        assert!(parse_value(&o, "400")
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(parse_value(&o, "x")
            .unwrap_err()
            .to_string()
            .contains("not a whole number"));
        let f = DeviceOption {
            constraint: Constraint::FixedRange {
                min: 1.0,
                max: 1200.0,
                step: 1.0,
            },
            unit: Some("dpi".into()),
            ..DeviceOption::new("res", OptionType::Fixed)
        };
        assert_eq!(
            parse_value(&f, "300dpi").unwrap(),
            OptionValue::Fixed(300.0)
        );
        assert!(parse_value(&f, "5000")
            .unwrap_err()
            .to_string()
            .contains("1..=1200 dpi"));
        let l = DeviceOption {
            constraint: Constraint::FixedList(vec![-32.7, 12.1, 42.0]),
            ..DeviceOption::new("l", OptionType::Fixed)
        };
        assert_eq!(parse_value(&l, "12.1").unwrap(), OptionValue::Fixed(12.1));
        assert!(parse_value(&l, "13")
            .unwrap_err()
            .to_string()
            .contains("-32.7|12.1|42"));
        let d = DeviceOption {
            constraint: Constraint::IntList(vec![1, 8, 16]),
            ..DeviceOption::new("depth", OptionType::Int)
        };
        assert!(check_value(&d, &OptionValue::Int(8)).is_ok());
        assert!(check_value(&d, &OptionValue::Int(9)).is_err());
        let e = check_value(&d, &OptionValue::Text("8".into())).unwrap_err();
        assert!(e.to_string().contains("not a value of type int"), "{e}");
        assert!(parse_value(&d, "12")
            .unwrap_err()
            .to_string()
            .ends_with("allowed: 1|8|16"));
    }

    #[test]
    fn text_lists_match_without_case_and_give_the_listed_value() {
        let o = DeviceOption {
            constraint: Constraint::TextList(vec!["Gray".into(), "Color".into()]),
            ..DeviceOption::new("mode", OptionType::Text)
        };
        assert_eq!(
            parse_value(&o, "color").unwrap(),
            OptionValue::Text("Color".into())
        );
        let e = parse_value(&o, "Lineart").unwrap_err().to_string();
        assert!(e.ends_with("allowed: Gray|Color"), "{e}");
        let free = DeviceOption::new("s", OptionType::Text);
        assert_eq!(
            parse_value(&free, "hello").unwrap(),
            OptionValue::Text("hello".into())
        );
    }

    #[test]
    fn none_only_where_declared_and_auto_only_where_declared() {
        let mut o = int("jam-at-page", 1, 100, 1);
        assert!(parse_value(&o, "none").is_err());
        o.allows_none = true;
        assert_eq!(parse_setting(&o, "None").unwrap(), None);
        assert!(parse_value(&o, "none").is_err());
        assert!(o.allowed_text().ends_with("|none"));
        let set = parse_settings(
            std::slice::from_ref(&o),
            &pairs(&[("jam-at-page", "3"), ("jam-at-page", "none")]),
        )
        .unwrap();
        assert!(set.is_empty());
        let mut a = DeviceOption::new("x", OptionType::Bool);
        assert!(parse_value(&a, "auto").is_err());
        a.auto = true;
        assert!(parse_value(&a, "auto").unwrap().is_auto());
    }

    #[test]
    fn unknown_names_list_the_allowed_ones_and_suggest_one() {
        let opts = [int("sheets", 0, 50, 1), int("jam-at-page", 1, 100, 1)];
        let e = parse_settings(&opts, &pairs(&[("jam-at-pag", "3")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown option `jam-at-pag`; allowed: sheets, jam-at-page (did you mean jam-at-page?)"
        );
        let e = parse_settings(&opts, &pairs(&[("colour", "1")])).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
        let e = parse_settings(&opts, &pairs(&[("shets", "1")])).unwrap_err();
        assert!(e.to_string().ends_with("(did you mean sheets?)"), "{e}");
        let ppm = [int("ppm", 0, 10, 1)];
        let e = parse_settings(&ppm, &pairs(&[("foo", "1")])).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
        let e = parse_settings(&[], &pairs(&[("x", "1")])).unwrap_err();
        assert!(e.to_string().contains("has no options"), "{e}");
        let ok = parse_settings(&opts, &pairs(&[(" sheets ", "3")])).unwrap();
        assert_eq!(ok["sheets"], OptionValue::Int(3));
    }

    #[test]
    fn display_in_words() {
        assert_eq!(
            Constraint::IntRange {
                min: 1,
                max: 100,
                step: 1
            }
            .to_string(),
            "1..=100"
        );
        assert_eq!(
            Constraint::TextList(vec!["A".into(), "B".into(), "C".into()]).to_string(),
            "A|B|C"
        );
        assert_eq!(OptionValue::Fixed(1.5).to_string(), "1.5");
        assert_eq!(OptionValue::Bool(true).to_string(), "true");
        let mut o = int("sheets", 0, 50, 1);
        o.value = Some(OptionValue::Int(5));
        o.help = "sheets loaded".into();
        let line = o.to_string();
        assert!(
            line.starts_with("sheets ") && line.contains("0..=50") && line.contains("[5]"),
            "{line}"
        );
        assert!(o.applies_to(Source::Flatbed));
        o.sources = vec![Source::Feeder, Source::FeederDuplex];
        assert!(!o.applies_to(Source::Flatbed) && o.applies_to(Source::Feeder));
        assert!(o
            .to_string()
            .ends_with("sheets loaded (only: adf, adf-duplex)"));
    }
}
