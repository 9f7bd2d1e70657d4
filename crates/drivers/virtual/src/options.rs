//! The virtual scanner's one mapping file: its [`Capabilities`] and its `--set` options (the
//! "wire settings" of a device that has no wire), parsed from [`ScanRequest::options`] into
//! [`VirtualOptions`].
//!
//! | option | values | default | what it does |
//! |---|---|---|---|
//! | `sheets` | 0..=50 | 5 | sheets loaded in the feeder |
//! | `ppm` | 0..=1000 | 0 | pages (images) per minute; 0 = as fast as possible |
//! | `warmup-ms` | 0..=60000 | 0 | lamp warm-up, reported as WIA_STATUS_WARMING_UP |
//! | `jam-at-page` | 1..=100 | none | paper jam while scanning that page (feeder) |
//! | `jam-at-row` | 0.. | none (mid page) | the row of the jam |
//! | `feeder-empty` | bool | false | no paper in the feeder |
//! | `multi-feed-at-page` | 1..=100 | none | double feed detected as that page starts (feeder) |
//! | `cover-open` | bool | false | the cover is open when the scan starts |
//! | `offline` | bool | false | the device does not answer |
//! | `panic-at-page` | 1..=100 | none | the driver panics mid page (tests the runner) |
//! | `hang-at-page` | 1..=100 | none | the driver hangs mid page (tests the watchdog) |
//!
//! Booleans take `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`; an empty value means true.
//! The page and row options take `none` to leave the fault out.

use crate::errors::OptionError;
use scanwire_core::device::{
    Area, Capabilities, ColorMode, DeviceOption, Length, Resolutions, ScanRequest, Source,
    SourceCaps,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// The device id, driver name and `DeviceInfo::driver` of the virtual scanner.
pub const DEVICE_ID: &str = "virtual";

/// The model name, in capabilities and `DeviceInfo`.
pub const MODEL: &str = "Virtual Scanner";

/// Width of the glass and the feeder path: US Letter's width, so A4 and Letter both fit.
pub const GLASS_WIDTH: Length = Length(215_900);

/// Height of the glass and the longest sheet: A4's height (Letter, 279.4 mm, fits too).
pub const GLASS_HEIGHT: Length = Length(297_000);

/// Sheets the feeder holds.
pub const FEEDER_CAPACITY: u32 = 50;

/// Sheets in the feeder unless `--set sheets=N` says otherwise.
pub const DEFAULT_SHEETS: u32 = 5;

/// The highest page number a fault can be scripted at: a full feeder in duplex.
pub const MAX_PAGE: u32 = FEEDER_CAPACITY * 2;

const MAX_PPM: u32 = 1000;
const MAX_WARMUP_MS: u32 = 60_000;

/// What the virtual scanner can do: the same modes, resolutions and area from every source.
pub fn capabilities() -> Capabilities {
    let source = |source: Source| SourceCaps {
        source,
        // Color first: the default mode a front end picks.
        modes: vec![
            ColorMode::Color,
            ColorMode::Gray,
            ColorMode::Lineart,
            ColorMode::Gray16,
            ColorMode::Color48,
        ],
        resolutions: Resolutions::Range {
            min: 75,
            max: 1200,
            step: 1,
        },
        max_area: Area::sized(GLASS_WIDTH, GLASS_HEIGHT),
        min_size: (Length::mm(1), Length::mm(1)),
        encodings: Vec::new(),
        raw: true,
        feeder_capacity: source.is_feeder().then_some(FEEDER_CAPACITY),
    };
    Capabilities {
        model: MODEL.into(),
        sources: Source::ALL.into_iter().map(source).collect(),
    }
}

#[derive(Copy, Clone)]
enum Kind {
    Int {
        min: u32,
        max: u32,
    },
    /// A page number in 1..=max, or `none`.
    Page {
        max: u32,
    },
    /// A row number, checked against the page height when the scan starts, or `none`.
    Row,
    Bool,
}

struct Spec {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
}

const PAGE: Kind = Kind::Page { max: MAX_PAGE };

/// The option table: parsing, `scanwire caps` and error messages all read it.
const SPECS: &[Spec] = &[
    Spec {
        name: "sheets",
        kind: Kind::Int {
            min: 0,
            max: FEEDER_CAPACITY,
        },
        default: "5",
        help: "sheets loaded in the feeder (duplex gives two pages per sheet)",
    },
    Spec {
        name: "ppm",
        kind: Kind::Int {
            min: 0,
            max: MAX_PPM,
        },
        default: "0",
        help: "speed in pages (images) per minute, spread over each page's rows; 0 = as fast as possible",
    },
    Spec {
        name: "warmup-ms",
        kind: Kind::Int {
            min: 0,
            max: MAX_WARMUP_MS,
        },
        default: "0",
        help: "lamp warm-up before the first page, reported as WIA_STATUS_WARMING_UP",
    },
    Spec {
        name: "jam-at-page",
        kind: PAGE,
        default: "none",
        help: "the paper jams while this page is scanned (feeder only): WIA_ERROR_PAPER_JAM",
    },
    Spec {
        name: "jam-at-row",
        kind: Kind::Row,
        default: "none",
        help: "the row of the jam (default: mid page)",
    },
    Spec {
        name: "feeder-empty",
        kind: Kind::Bool,
        default: "false",
        help: "no paper in the feeder: WIA_ERROR_PAPER_EMPTY",
    },
    Spec {
        name: "multi-feed-at-page",
        kind: PAGE,
        default: "none",
        help: "a double feed is detected as this page starts (feeder only): WIA_ERROR_MULTI_FEED",
    },
    Spec {
        name: "cover-open",
        kind: Kind::Bool,
        default: "false",
        help: "the cover is open at start: WIA_ERROR_COVER_OPEN unless the application's error handler answers S_OK (closed)",
    },
    Spec {
        name: "offline",
        kind: Kind::Bool,
        default: "false",
        help: "the device does not answer: WIA_ERROR_OFFLINE",
    },
    Spec {
        name: "panic-at-page",
        kind: PAGE,
        default: "none",
        help: "the driver panics mid page (tests the runner's containment)",
    },
    Spec {
        name: "hang-at-page",
        kind: PAGE,
        default: "none",
        help: "the driver hangs mid page, ignoring cancel (tests the watchdog); the device stays busy until the process exits",
    },
];

fn allowed_names() -> String {
    SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

impl Kind {
    fn words(self) -> String {
        match self {
            Kind::Int { min, max } => format!("a whole number in {min}..={max}"),
            Kind::Page { max } => format!("a page number in 1..={max}, or none"),
            Kind::Row => "a row number (0 or more, less than the page height), or none".into(),
            Kind::Bool => "true or false (also yes/no, on/off, 1/0)".into(),
        }
    }

    fn constraint(self) -> String {
        match self {
            Kind::Int { min, max } => format!("{min}..={max}"),
            Kind::Page { max } => format!("1..={max}|none"),
            Kind::Row => "0..height|none".into(),
            Kind::Bool => "true|false".into(),
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Kind::Int { .. } | Kind::Page { .. } | Kind::Row => "int",
            Kind::Bool => "bool",
        }
    }
}

/// The options as `scanwire caps virtual` lists them.
pub fn device_options() -> Vec<DeviceOption> {
    SPECS
        .iter()
        .map(|s| DeviceOption {
            name: s.name.into(),
            kind: s.kind.type_name().into(),
            constraint: s.kind.constraint(),
            value: s.default.into(),
            help: s.help.into(),
        })
        .collect()
}

/// The `--set` options of one request, parsed and range-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualOptions {
    /// Sheets in the feeder (0 when `feeder-empty`).
    pub sheets: u32,
    /// Pages per minute; 0 = unpaced.
    pub ppm: u32,
    /// Warm-up before the first page.
    pub warmup: Duration,
    /// Page that jams.
    pub jam_at_page: Option<u32>,
    /// Row of the jam; `None` = mid page.
    pub jam_at_row: Option<u32>,
    /// The feeder is empty.
    pub feeder_empty: bool,
    /// Page at which a multi-feed is detected.
    pub multi_feed_at_page: Option<u32>,
    /// The cover is open at start.
    pub cover_open: bool,
    /// The device is offline.
    pub offline: bool,
    /// Page at which the driver panics.
    pub panic_at_page: Option<u32>,
    /// Page at which the driver hangs.
    pub hang_at_page: Option<u32>,
}

impl Default for VirtualOptions {
    fn default() -> Self {
        VirtualOptions {
            sheets: DEFAULT_SHEETS,
            ppm: 0,
            warmup: Duration::ZERO,
            jam_at_page: None,
            jam_at_row: None,
            feeder_empty: false,
            multi_feed_at_page: None,
            cover_open: false,
            offline: false,
            panic_at_page: None,
            hang_at_page: None,
        }
    }
}

enum Value {
    Int(u32),
    Opt(Option<u32>),
    Bool(bool),
}

fn parse_value(spec: &Spec, raw: &str) -> Result<Value, OptionError> {
    let bad = || OptionError::Value {
        name: spec.name,
        value: raw.to_string(),
        expected: spec.kind.words(),
    };
    let v = raw.trim();
    match spec.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        Kind::Int { min, max } => match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Value::Int(n)),
            _ => Err(bad()),
        },
        _ if v.eq_ignore_ascii_case("none") => Ok(Value::Opt(None)),
        Kind::Page { max } => match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Value::Opt(Some(n))),
            _ => Err(bad()),
        },
        Kind::Row => v
            .parse::<u32>()
            .map(|n| Value::Opt(Some(n)))
            .map_err(|_| bad()),
    }
}

/// Levenshtein distance, for "did you mean" (option names are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggestion(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace('_', "-");
    SPECS
        .iter()
        .map(|s| (distance(&lower, s.name), s.name))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, n)| format!(" (did you mean {n}?)"))
        .unwrap_or_default()
}

impl VirtualOptions {
    /// Parses `--set` options. Unknown names and bad values are refused with the allowed names
    /// or values; nothing is ignored silently.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<Self, OptionError> {
        let mut o = VirtualOptions::default();
        let mut sheets_given = None;
        for (name, raw) in options {
            let Some(spec) = SPECS.iter().find(|s| s.name == name.trim()) else {
                return Err(OptionError::Unknown {
                    name: name.clone(),
                    allowed: allowed_names(),
                    hint: suggestion(name),
                });
            };
            let value = parse_value(spec, raw)?;
            match (spec.name, value) {
                ("sheets", Value::Int(n)) => {
                    o.sheets = n;
                    sheets_given = Some(n);
                }
                ("ppm", Value::Int(n)) => o.ppm = n,
                ("warmup-ms", Value::Int(n)) => o.warmup = Duration::from_millis(n.into()),
                ("jam-at-page", Value::Opt(n)) => o.jam_at_page = n,
                ("jam-at-row", Value::Opt(n)) => o.jam_at_row = n,
                ("feeder-empty", Value::Bool(b)) => o.feeder_empty = b,
                ("multi-feed-at-page", Value::Opt(n)) => o.multi_feed_at_page = n,
                ("cover-open", Value::Bool(b)) => o.cover_open = b,
                ("offline", Value::Bool(b)) => o.offline = b,
                ("panic-at-page", Value::Opt(n)) => o.panic_at_page = n,
                ("hang-at-page", Value::Opt(n)) => o.hang_at_page = n,
                // The table and this match list the same names with the same kinds.
                _ => unreachable!("option table and parser disagree on {}", spec.name),
            }
        }
        if o.feeder_empty {
            if let Some(n) = sheets_given.filter(|n| *n > 0) {
                return Err(OptionError::Conflict {
                    name: "feeder-empty",
                    reason: format!(
                        "an empty feeder cannot hold sheets={n}; give one or the other"
                    ),
                });
            }
            o.sheets = 0;
        }
        if o.jam_at_row.is_some() && o.jam_at_page.is_none() {
            return Err(OptionError::Conflict {
                name: "jam-at-row",
                reason: "needs jam-at-page=K to say which page jams".into(),
            });
        }
        Ok(o)
    }

    /// Checks the options against the request they came with: paper-path faults need the
    /// feeder, and the jam row must lie on the page.
    pub fn check(&self, request: &ScanRequest, page_height: u32) -> Result<(), OptionError> {
        if !request.source.is_feeder() {
            for (name, set) in [
                ("jam-at-page", self.jam_at_page.is_some()),
                ("multi-feed-at-page", self.multi_feed_at_page.is_some()),
            ] {
                if set {
                    return Err(OptionError::Conflict {
                        name,
                        reason: format!(
                            "needs the feeder (--source adf or adf-duplex); the {} has no paper path",
                            request.source
                        ),
                    });
                }
            }
        }
        if let Some(row) = self.jam_at_row {
            if row >= page_height {
                return Err(OptionError::Value {
                    name: "jam-at-row",
                    value: row.to_string(),
                    expected: format!(
                        "a row of the page, 0..={} at this resolution and area",
                        page_height.saturating_sub(1)
                    ),
                });
            }
        }
        Ok(())
    }

    /// How long one page takes at `ppm`, or `None` when unpaced.
    pub fn page_time(&self) -> Option<Duration> {
        (self.ppm > 0).then(|| Duration::from_secs(60) / self.ppm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_options() {
        assert_eq!(
            VirtualOptions::parse(&BTreeMap::new()).unwrap(),
            VirtualOptions::default()
        );
    }

    #[test]
    fn every_option_parses() {
        let o = VirtualOptions::parse(&set(&[
            ("sheets", "12"),
            ("ppm", "30"),
            ("warmup-ms", "250"),
            ("jam-at-page", "3"),
            ("jam-at-row", "7"),
            ("multi-feed-at-page", "4"),
            ("cover-open", "yes"),
            ("offline", "0"),
            ("panic-at-page", "5"),
            ("hang-at-page", "6"),
        ]))
        .unwrap();
        assert_eq!(o.sheets, 12);
        assert_eq!(o.page_time(), Some(Duration::from_secs(2)));
        assert_eq!(o.warmup, Duration::from_millis(250));
        assert_eq!(o.jam_at_page, Some(3));
        assert_eq!(o.jam_at_row, Some(7));
        assert_eq!(o.multi_feed_at_page, Some(4));
        assert!(o.cover_open && !o.offline);
        assert_eq!((o.panic_at_page, o.hang_at_page), (Some(5), Some(6)));
    }

    #[test]
    fn unknown_option_lists_the_allowed_ones_and_suggests() {
        let e = VirtualOptions::parse(&set(&[("jam-at-pag", "3")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unknown option \"jam-at-pag\" for virtual; allowed: sheets, ppm, warmup-ms, jam-at-page, jam-at-row, feeder-empty, multi-feed-at-page, cover-open, offline, panic-at-page, hang-at-page"),
            "{e}"
        );
        assert!(e.ends_with("(did you mean jam-at-page?)"), "{e}");
        let e = VirtualOptions::parse(&set(&[("colour", "1")]))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn bad_values_name_the_option_and_the_range() {
        let e = VirtualOptions::parse(&set(&[("sheets", "51")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"51\" for option sheets of virtual; expected a whole number in 0..=50"
        );
        let e = VirtualOptions::parse(&set(&[("cover-open", "maybe")])).unwrap_err();
        assert!(e.to_string().contains("true or false"), "{e}");
        let e = VirtualOptions::parse(&set(&[("jam-at-page", "0")])).unwrap_err();
        assert!(e.to_string().contains("1..=100"), "{e}");
        let o = VirtualOptions::parse(&set(&[("jam-at-page", "None")])).unwrap();
        assert_eq!(o.jam_at_page, None);
        let e = VirtualOptions::parse(&set(&[("ppm", "-3")])).unwrap_err();
        assert!(e.to_string().contains("ppm"), "{e}");
    }

    #[test]
    fn contradictions_are_refused() {
        let e =
            VirtualOptions::parse(&set(&[("feeder-empty", "true"), ("sheets", "3")])).unwrap_err();
        assert!(e.to_string().contains("sheets=3"), "{e}");
        let o = VirtualOptions::parse(&set(&[("feeder-empty", ""), ("sheets", "0")])).unwrap();
        assert_eq!(o.sheets, 0);
        let e = VirtualOptions::parse(&set(&[("jam-at-row", "3")])).unwrap_err();
        assert!(e.to_string().contains("needs jam-at-page"), "{e}");
    }

    #[test]
    fn paper_path_faults_need_the_feeder_and_rows_must_fit() {
        let o = VirtualOptions::parse(&set(&[("jam-at-page", "1")])).unwrap();
        let flatbed = ScanRequest::default();
        let e = o.check(&flatbed, 100).unwrap_err().to_string();
        assert!(e.contains("needs the feeder"), "{e}");
        let adf = ScanRequest {
            source: Source::Feeder,
            ..Default::default()
        };
        o.check(&adf, 100).unwrap();
        let o =
            VirtualOptions::parse(&set(&[("jam-at-page", "1"), ("jam-at-row", "100")])).unwrap();
        let e = o.check(&adf, 100).unwrap_err().to_string();
        assert!(e.contains("0..=99"), "{e}");
    }

    #[test]
    fn every_listed_default_parses_to_the_default() {
        for o in device_options() {
            let parsed = VirtualOptions::parse(&set(&[(&o.name, &o.value)]));
            assert_eq!(
                parsed,
                Ok(VirtualOptions::default()),
                "{}={}",
                o.name,
                o.value
            );
            assert!(!o.help.is_empty() && !o.constraint.is_empty());
        }
    }

    #[test]
    fn caps_fit_a4_and_letter_on_every_source() {
        let caps = capabilities();
        assert_eq!(caps.sources.len(), 3);
        for s in &caps.sources {
            assert!(s.max_area.width >= Length::mm(210) && s.max_area.width >= Length(215_900));
            assert!(s.max_area.height >= Length::mm(297) && s.max_area.height >= Length(279_400));
            assert_eq!(s.feeder_capacity.is_some(), s.source.is_feeder());
            assert!(s.resolutions.contains(75) && s.resolutions.contains(1200));
            assert!(s.resolutions.contains(301) && !s.resolutions.contains(1201));
        }
        assert_eq!(device_options().len(), SPECS.len());
    }
}
