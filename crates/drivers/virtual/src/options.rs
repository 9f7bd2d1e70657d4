//! The virtual scanner's one mapping file: its [`Capabilities`] and its `--set` options (the
//! "wire settings" of a device that has no wire), parsed from [`ScanRequest::options`](scanwire_core::device::ScanRequest::options) into
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
//! | `crash-at-page` | 1..=100 | none | the process dies from a real signal mid page (tests driver hosts) |
//! | `crash-at-row` | 0.. | none (mid page) | the row of the crash; 0 = before the page's stream is asked for |
//! | `crash` | `segv`, `abort` | `segv` | the signal: SIGSEGV, or SIGABRT (`std::process::abort`) |
//! | `skew` | −30..=30 (degrees) | 0 | the sheet lies turned, counterclockwise on screen when > 0 |
//! | `paper` | `glass`, `a4`, `a5`, `a6`, `b5`, `letter`, `WxHmm` | `glass` | the sheet's size |
//! | `offset` | `center`, `X,Ymm` | `center` | where the unturned sheet's top-left corner lies |
//! | `lid` | `auto`, `dark`, `black`, `white` | `auto` | the background around the sheet or photos |
//! | `content` | `chart`, `lines`, `text` | `chart` | what is printed on the sheet |
//! | `blank-sheets` | sheet numbers `2,5` or `3-4` | none | those sheets are blank paper |
//! | `near-blank` | `nothing`, `page-number`, `one-line` | `nothing` | what the blank sheets carry |
//! | `photos` | 0..=6 | 0 | photos at different angles on the glass instead of a sheet (flatbed) |
//! | `seed` | 0..=999999999 | 0 | varies the generated sheets (noise, texture, photos) |
//!
//! The last nine generate sheets as people lay them on the glass, with known truth
//! ([`crate::sheet`]); without them the page is the exact test chart ([`crate::chart`]).
//!
//! The text a user types is parsed by scanwire-core ([`parse_settings`] against
//! [`device_options`]: one set of boolean words, `none` for the page and row options); this
//! file turns the typed values into [`VirtualOptions`]. The paper-path options (`sheets`,
//! `feeder-empty`, `jam-at-page`, `jam-at-row`, `multi-feed-at-page`) apply to the feeder
//! only: on the flatbed they are ignored, so a server-wide `jam-at-page` does not fail a
//! flatbed job.
//!
//! [`parse_settings`]: scanwire_core::device::parse_settings

use scanwire_core::device::{
    check_value, Area, Capabilities, ColorMode, Constraint, DeviceOption, Length, OptionError,
    OptionType, OptionValue, Resolutions, Source, SourceCaps,
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

/// The largest `skew` either way, degrees.
pub const MAX_SKEW_DEG: f64 = 30.0;

/// The most photos `photos=N` lays on the glass.
pub const MAX_PHOTOS: u32 = 6;

/// The highest resolution of a generated sheet: it is rendered whole in memory before its
/// first row is sent (the chart is rendered row by row at any resolution).
pub const MAX_SHEET_DPI: u32 = 600;

/// The smallest sheet side, mm.
const MIN_PAPER_MM: f64 = 20.0;

const MAX_SEED: u32 = 999_999_999;

/// Named paper sizes `paper=` takes, mm.
pub const PAPER_SIZES: [(&str, (f64, f64)); 5] = [
    ("a4", (210.0, 297.0)),
    ("a5", (148.0, 210.0)),
    ("a6", (105.0, 148.0)),
    ("b5", (176.0, 250.0)),
    ("letter", (215.9, 279.4)),
];

/// The glass in millimetres.
pub fn glass_mm() -> (f64, f64) {
    (
        f64::from(GLASS_WIDTH.0) / 1000.0,
        f64::from(GLASS_HEIGHT.0) / 1000.0,
    )
}

/// What `content=` prints on a sheet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// The test chart (edge to edge and exact when no sheet option is given).
    Chart,
    /// Paragraphs of letter-like strokes (cheap; enough for deskew and crop).
    Lines,
    /// Paragraphs of real English words set in DejaVu Serif ([`crate::text`]).
    Text,
}

/// How `crash-at-page` ends the process.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Crash {
    /// A segmentation fault (SIGSEGV), as a C backend dereferencing garbage.
    Segv,
    /// `abort()` (SIGABRT), as a failed assertion in C.
    Abort,
}

/// The background around a sheet or photos: `lid=`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lid {
    /// Dark around a sheet, white around photos.
    Auto,
    /// A dark gray lid.
    Dark,
    /// A black feeder background.
    Black,
    /// A white lid.
    White,
}

/// What the `blank-sheets` carry besides paper defects: `near-blank=`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NearBlank {
    /// Nothing: blank.
    Nothing,
    /// A small page number: still blank.
    PageNumber,
    /// One line of text: not blank.
    OneLine,
}

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
        processing: Default::default(),
    }
}

/// An option's type in the table.
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
    Fixed {
        min: f64,
        max: f64,
        unit: &'static str,
    },
    /// Text the driver parses itself (its help says what is allowed).
    Text,
    /// One of these words.
    List(&'static [&'static str]),
}

/// Where an option applies.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Only {
    Any,
    Feeder,
    Flatbed,
}

struct Spec {
    name: &'static str,
    kind: Kind,
    /// The default; `None` for the options that default to `none`.
    default: Option<OptionValue>,
    /// The sources it applies to.
    only: Only,
    help: &'static str,
}

const PAGE: Kind = Kind::Page { max: MAX_PAGE };

/// The option table: `scanwire caps`, parsing and error messages all read it.
fn specs() -> [Spec; 23] {
    let int = |n: u32| Some(OptionValue::Int(n.into()));
    let no = Some(OptionValue::Bool(false));
    let text = |t: &str| Some(OptionValue::Text(t.into()));
    [
        Spec {
            name: "sheets",
            kind: Kind::Int { min: 0, max: FEEDER_CAPACITY },
            default: int(DEFAULT_SHEETS),
            only: Only::Feeder,
            help: "sheets loaded in the feeder (duplex gives two pages per sheet)",
        },
        Spec {
            name: "ppm",
            kind: Kind::Int { min: 0, max: MAX_PPM },
            default: int(0),
            only: Only::Any,
            help: "speed in pages (images) per minute, spread over each page's rows; 0 = as fast as possible",
        },
        Spec {
            name: "warmup-ms",
            kind: Kind::Int { min: 0, max: MAX_WARMUP_MS },
            default: int(0),
            only: Only::Any,
            help: "lamp warm-up before the first page, reported as WIA_STATUS_WARMING_UP",
        },
        Spec {
            name: "jam-at-page",
            kind: PAGE,
            default: None,
            only: Only::Feeder,
            help: "the paper jams while this page is scanned: WIA_ERROR_PAPER_JAM",
        },
        Spec {
            name: "jam-at-row",
            kind: Kind::Row,
            default: None,
            only: Only::Feeder,
            help: "the row of the jam (default: mid page)",
        },
        Spec {
            name: "feeder-empty",
            kind: Kind::Bool,
            default: no.clone(),
            only: Only::Feeder,
            help: "no paper in the feeder: WIA_ERROR_PAPER_EMPTY",
        },
        Spec {
            name: "multi-feed-at-page",
            kind: PAGE,
            default: None,
            only: Only::Feeder,
            help: "a double feed is detected as this page starts: WIA_ERROR_MULTI_FEED",
        },
        Spec {
            name: "cover-open",
            kind: Kind::Bool,
            default: no.clone(),
            only: Only::Any,
            help: "the cover is open at start: WIA_ERROR_COVER_OPEN unless the application's error handler answers S_OK (closed)",
        },
        Spec {
            name: "offline",
            kind: Kind::Bool,
            default: no,
            only: Only::Any,
            help: "the device does not answer: WIA_ERROR_OFFLINE",
        },
        Spec {
            name: "panic-at-page",
            kind: PAGE,
            default: None,
            only: Only::Any,
            help: "the driver panics mid page (tests the runner's containment)",
        },
        Spec {
            name: "hang-at-page",
            kind: PAGE,
            default: None,
            only: Only::Any,
            help: "the driver hangs mid page, ignoring cancel (tests the watchdog); the device stays busy until the process exits",
        },
        Spec {
            name: "crash-at-page",
            kind: PAGE,
            default: None,
            only: Only::Any,
            help: "the whole process dies from a real SIGSEGV (or `crash=abort`: SIGABRT) mid page; only for a driver in its own process (scanwire-host)",
        },
        Spec {
            name: "crash-at-row",
            kind: Kind::Row,
            default: None,
            only: Only::Any,
            help: "the row of the crash (default: mid page; 0: before the page's stream is asked for, between pages)",
        },
        Spec {
            name: "crash",
            kind: Kind::List(&["segv", "abort"]),
            default: text("segv"),
            only: Only::Any,
            help: "how crash-at-page dies: segv (SIGSEGV) or abort (SIGABRT)",
        },
        Spec {
            name: "skew",
            kind: Kind::Fixed { min: -MAX_SKEW_DEG, max: MAX_SKEW_DEG, unit: "deg" },
            default: Some(OptionValue::Fixed(0.0)),
            only: Only::Any,
            help: "the sheet lies turned by this many degrees, counterclockwise on screen when positive (docs/processing.md)",
        },
        Spec {
            name: "paper",
            kind: Kind::Text,
            default: text("glass"),
            only: Only::Any,
            help: "the sheet's size: glass (the whole scan area), a4, a5, a6, b5, letter, or WxHmm (e.g. 150x200mm; 20 mm up to the glass, 215.9x297mm)",
        },
        Spec {
            name: "offset",
            kind: Kind::Text,
            default: text("center"),
            only: Only::Any,
            help: "where the unturned sheet's top-left corner lies on the glass: center, or X,Ymm (e.g. 20,30mm; 0..215.9 and 0..297)",
        },
        Spec {
            name: "lid",
            kind: Kind::List(&["auto", "dark", "black", "white"]),
            default: text("auto"),
            only: Only::Any,
            help: "the background around the sheet or photos: auto (dark around a sheet, white around photos), dark, black or white",
        },
        Spec {
            name: "content",
            kind: Kind::List(&["chart", "lines", "text"]),
            default: text("chart"),
            only: Only::Any,
            help: "what the sheet shows: chart (the test chart), lines (letter-like strokes), text (real words in DejaVu Serif; needs fonts-dejavu-core)",
        },
        Spec {
            name: "blank-sheets",
            kind: Kind::Text,
            default: None,
            only: Only::Any,
            help: "these sheets are blank paper with texture, noise, punched holes and bleed-through, both sides: sheet numbers 1..50 like 2,5 or 3-4, or none",
        },
        Spec {
            name: "near-blank",
            kind: Kind::List(&["nothing", "page-number", "one-line"]),
            default: text("nothing"),
            only: Only::Any,
            help: "what the blank-sheets carry: nothing, page-number (still blank) or one-line (one line of text: not blank)",
        },
        Spec {
            name: "photos",
            kind: Kind::Int { min: 0, max: MAX_PHOTOS },
            default: int(0),
            only: Only::Flatbed,
            help: "lay this many photos at different angles on the glass instead of a sheet (0 = a sheet)",
        },
        Spec {
            name: "seed",
            kind: Kind::Int { min: 0, max: MAX_SEED },
            default: int(0),
            only: Only::Any,
            help: "varies the generated sheets and photos (texture, noise, photo places); the same seed gives the same pages",
        },
    ]
}

impl Spec {
    fn option(&self) -> DeviceOption {
        let (kind, constraint, allows_none) = match self.kind {
            Kind::Int { min, max } => (
                OptionType::Int,
                Constraint::IntRange {
                    min: min.into(),
                    max: max.into(),
                    step: 1,
                },
                false,
            ),
            Kind::Page { max } => (
                OptionType::Int,
                Constraint::IntRange {
                    min: 1,
                    max: max.into(),
                    step: 1,
                },
                true,
            ),
            // The tallest page; checked against the page's height when the scan starts.
            Kind::Row => (
                OptionType::Int,
                Constraint::IntRange {
                    min: 0,
                    max: i64::from(GLASS_HEIGHT.to_pixels(1200)) - 1,
                    step: 1,
                },
                true,
            ),
            Kind::Bool => (OptionType::Bool, Constraint::None, false),
            Kind::Fixed { min, max, .. } => (
                OptionType::Fixed,
                Constraint::FixedRange {
                    min,
                    max,
                    step: 0.0,
                },
                false,
            ),
            Kind::Text => (OptionType::Text, Constraint::None, self.default.is_none()),
            Kind::List(words) => (
                OptionType::Text,
                Constraint::TextList(words.iter().map(|w| w.to_string()).collect()),
                false,
            ),
        };
        let unit = match self.kind {
            Kind::Fixed { unit, .. } => Some(unit.to_string()),
            _ => None,
        };
        DeviceOption {
            constraint,
            value: self.default.clone(),
            help: self.help.into(),
            sources: match self.only {
                Only::Any => Vec::new(),
                Only::Feeder => vec![Source::Feeder, Source::FeederDuplex],
                Only::Flatbed => vec![Source::Flatbed],
            },
            allows_none,
            unit,
            ..DeviceOption::new(self.name, kind)
        }
    }
}

/// The options as `scanwire caps virtual` lists them and `--set` is parsed against.
pub fn device_options() -> Vec<DeviceOption> {
    specs().iter().map(Spec::option).collect()
}

/// The `--set` options of one request, checked and applied where they apply.
#[derive(Clone, Debug, PartialEq)]
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
    /// Page at which the process crashes.
    pub crash_at_page: Option<u32>,
    /// Row of the crash; `None` = mid page, 0 = before the page's stream.
    pub crash_at_row: Option<u32>,
    /// The signal of the crash.
    pub crash: Crash,
    /// Turn of the sheet, degrees counterclockwise (on screen, y down).
    pub skew_deg: f64,
    /// Size of the sheet, mm; `None` = the whole glass.
    pub paper_mm: Option<(f64, f64)>,
    /// Top-left corner of the unturned sheet on the glass, mm; `None` = centred.
    pub offset_mm: Option<(f64, f64)>,
    /// The background around a sheet or photos.
    pub lid: Lid,
    /// What the sheets show.
    pub content: Content,
    /// Sheets (1-based) that are blank paper, both sides; sorted, no repeats.
    pub blank_sheets: Vec<u32>,
    /// What the blank sheets carry.
    pub near_blank: NearBlank,
    /// Photos on the glass (flatbed); 0 = a sheet.
    pub photos: u32,
    /// Varies the generated sheets.
    pub seed: u32,
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
            crash_at_page: None,
            crash_at_row: None,
            crash: Crash::Segv,
            skew_deg: 0.0,
            paper_mm: None,
            offset_mm: None,
            lid: Lid::Auto,
            content: Content::Chart,
            blank_sheets: Vec::new(),
            near_blank: NearBlank::Nothing,
            photos: 0,
            seed: 0,
        }
    }
}

fn bad_value(name: &str, value: &str, why: impl Into<String>, allowed: &str) -> OptionError {
    OptionError::Value {
        name: name.into(),
        value: value.into(),
        why: why.into(),
        allowed: allowed.into(),
    }
}

/// A length in mm, with or without the `mm` suffix.
fn mm(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix("mm").unwrap_or(t).trim();
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

const PAPER_ALLOWED: &str = "glass, a4, a5, a6, b5, letter, or WxHmm (20 mm up to 215.9x297mm)";

/// `paper=`: `None` for the whole glass.
fn parse_paper(value: &str) -> Result<Option<(f64, f64)>, OptionError> {
    let t = value.trim().to_ascii_lowercase();
    if t == "glass" {
        return Ok(None);
    }
    let bad = |why: &str| bad_value("paper", value, why, PAPER_ALLOWED);
    let size = match PAPER_SIZES.iter().find(|(name, _)| *name == t) {
        Some((_, size)) => *size,
        None => {
            let t = t.strip_suffix("mm").unwrap_or(&t);
            let (w, h) = t
                .split_once('x')
                .ok_or_else(|| bad("not a paper name or a size WxHmm"))?;
            match (mm(w), mm(h)) {
                (Some(w), Some(h)) => (w, h),
                _ => return Err(bad("not a paper name or a size WxHmm")),
            }
        }
    };
    let (gw, gh) = glass_mm();
    if size.0 < MIN_PAPER_MM || size.1 < MIN_PAPER_MM {
        return Err(bad("a side is shorter than 20 mm"));
    }
    if size.0 > gw + 1e-9 || size.1 > gh + 1e-9 {
        return Err(bad("larger than the glass (215.9 x 297 mm)"));
    }
    Ok(Some(size))
}

const OFFSET_ALLOWED: &str = "center, or X,Ymm with X in 0..215.9 and Y in 0..297";

/// `offset=`: `None` for centred.
fn parse_offset(value: &str) -> Result<Option<(f64, f64)>, OptionError> {
    let t = value.trim().to_ascii_lowercase();
    if t == "center" || t == "centre" {
        return Ok(None);
    }
    let bad = |why: &str| bad_value("offset", value, why, OFFSET_ALLOWED);
    let t = t.strip_suffix("mm").unwrap_or(&t);
    let (x, y) = t.split_once(',').ok_or_else(|| bad("not X,Ymm"))?;
    let (Some(x), Some(y)) = (mm(x), mm(y)) else {
        return Err(bad("not X,Ymm"));
    };
    let (gw, gh) = glass_mm();
    if !(0.0..=gw).contains(&x) || !(0.0..=gh).contains(&y) {
        return Err(bad("the corner is off the glass"));
    }
    Ok(Some((x, y)))
}

const SHEETS_ALLOWED: &str = "sheet numbers 1..=50 separated by commas, ranges like 3-4, or none";

/// `blank-sheets=`: sorted sheet numbers.
fn parse_sheet_list(value: &str) -> Result<Vec<u32>, OptionError> {
    let bad = |why: String| bad_value("blank-sheets", value, why, SHEETS_ALLOWED);
    let number = |s: &str| -> Result<u32, OptionError> {
        let n: u32 = s
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{}` is not a sheet number", s.trim())))?;
        if (1..=FEEDER_CAPACITY).contains(&n) {
            Ok(n)
        } else {
            Err(bad(format!("sheet {n} is not in 1..=50")))
        }
    };
    let mut out = Vec::new();
    for part in value.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(bad(format!("the range {a}-{b} runs backwards")));
                }
                out.extend(a..=b);
            }
            None => out.push(number(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn conflict(name: &str, reason: impl Into<String>) -> OptionError {
    OptionError::Conflict {
        name: name.into(),
        reason: reason.into(),
    }
}

impl VirtualOptions {
    /// The options of a request for `source`. Values are checked again against the table
    /// (a request built in code may skip `parse_settings`); unknown names are refused with
    /// the allowed names. Options that do not apply to `source` are left out.
    pub fn parse(
        options: &BTreeMap<String, OptionValue>,
        source: Source,
    ) -> Result<Self, OptionError> {
        let table = device_options();
        let mut o = VirtualOptions::default();
        let mut sheets_given = None;
        for (name, value) in options {
            let Some(option) = table.iter().find(|s| &s.name == name) else {
                // The same message as `parse_settings` gives.
                return Err(scanwire_core::device::parse_settings(
                    &table,
                    &[(name.clone(), String::new())],
                )
                .unwrap_err());
            };
            check_value(option, value)?;
            if !option.applies_to(source) {
                continue;
            }
            // In range after check_value: every Int is within u32.
            let n = value.as_int().and_then(|n| u32::try_from(n).ok());
            let b = value.as_bool().unwrap_or(false);
            let t = value.as_text().unwrap_or_default();
            match name.as_str() {
                "sheets" => {
                    o.sheets = n.unwrap_or(DEFAULT_SHEETS);
                    sheets_given = n;
                }
                "ppm" => o.ppm = n.unwrap_or(0),
                "warmup-ms" => o.warmup = Duration::from_millis(n.unwrap_or(0).into()),
                "jam-at-page" => o.jam_at_page = n,
                "jam-at-row" => o.jam_at_row = n,
                "feeder-empty" => o.feeder_empty = b,
                "multi-feed-at-page" => o.multi_feed_at_page = n,
                "cover-open" => o.cover_open = b,
                "offline" => o.offline = b,
                "panic-at-page" => o.panic_at_page = n,
                "hang-at-page" => o.hang_at_page = n,
                "crash-at-page" => o.crash_at_page = n,
                "crash-at-row" => o.crash_at_row = n,
                "crash" => {
                    o.crash = match t {
                        "abort" => Crash::Abort,
                        _ => Crash::Segv,
                    }
                }
                "skew" => o.skew_deg = value.as_fixed().unwrap_or(0.0),
                "paper" => o.paper_mm = parse_paper(t)?,
                "offset" => o.offset_mm = parse_offset(t)?,
                "lid" => {
                    o.lid = match t {
                        "dark" => Lid::Dark,
                        "black" => Lid::Black,
                        "white" => Lid::White,
                        _ => Lid::Auto,
                    }
                }
                "content" => {
                    o.content = match t {
                        "lines" => Content::Lines,
                        "text" => Content::Text,
                        _ => Content::Chart,
                    }
                }
                "blank-sheets" => o.blank_sheets = parse_sheet_list(t)?,
                "near-blank" => {
                    o.near_blank = match t {
                        "page-number" => NearBlank::PageNumber,
                        "one-line" => NearBlank::OneLine,
                        _ => NearBlank::Nothing,
                    }
                }
                "photos" => o.photos = n.unwrap_or(0),
                "seed" => o.seed = n.unwrap_or(0),
                // The table and this match list the same names.
                other => unreachable!("option table and parser disagree on {other}"),
            }
        }
        if o.feeder_empty {
            if let Some(n) = sheets_given.filter(|n| *n > 0) {
                return Err(conflict(
                    "feeder-empty",
                    format!("an empty feeder cannot hold sheets={n}; give one or the other"),
                ));
            }
            o.sheets = 0;
        }
        if o.jam_at_row.is_some() && o.jam_at_page.is_none() {
            return Err(conflict(
                "jam-at-row",
                "needs jam-at-page=K to say which page jams",
            ));
        }
        if o.crash_at_row.is_some() && o.crash_at_page.is_none() {
            return Err(conflict(
                "crash-at-row",
                "needs crash-at-page=K to say which page crashes",
            ));
        }
        if o.photos > 0 && o.places_a_sheet() {
            return Err(conflict(
                "photos",
                "lays photos on the glass instead of a sheet, and skew, paper and offset describe a sheet; give one or the other",
            ));
        }
        Ok(o)
    }

    /// Whether skew, paper or offset place a sheet other than the chart edge to edge.
    pub fn places_a_sheet(&self) -> bool {
        self.skew_deg != 0.0 || self.paper_mm.is_some() || self.offset_mm.is_some()
    }

    /// Whether some page of this scan is generated ([`crate::sheet`]) rather than the chart.
    pub fn generates_pages(&self) -> bool {
        self.places_a_sheet()
            || self.content != Content::Chart
            || !self.blank_sheets.is_empty()
            || self.photos > 0
    }

    /// Checks the resolution of a scan with generated pages: they are rendered whole.
    pub fn check_dpi(&self, dpi: u32) -> Result<(), OptionError> {
        if self.generates_pages() && dpi > MAX_SHEET_DPI {
            return Err(conflict(
                self.generating_option(),
                format!(
                    "generated sheets are rendered whole in memory, at most {MAX_SHEET_DPI} dpi; the scan asks {dpi} dpi"
                ),
            ));
        }
        Ok(())
    }

    /// The first option that makes pages generated, to name in an error.
    fn generating_option(&self) -> &'static str {
        if self.skew_deg != 0.0 {
            "skew"
        } else if self.paper_mm.is_some() {
            "paper"
        } else if self.offset_mm.is_some() {
            "offset"
        } else if self.content != Content::Chart {
            "content"
        } else if !self.blank_sheets.is_empty() {
            "blank-sheets"
        } else {
            "photos"
        }
    }

    /// Checks the options against the page: the jam and crash rows must lie on it.
    pub fn check(&self, page_height: u32) -> Result<(), OptionError> {
        for (name, row) in [
            ("jam-at-row", self.jam_at_row),
            ("crash-at-row", self.crash_at_row),
        ] {
            let Some(row) = row else { continue };
            if row >= page_height {
                return Err(OptionError::Value {
                    name: name.into(),
                    value: row.to_string(),
                    why: "the row is past the end of the page".into(),
                    allowed: format!(
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
    use scanwire_core::device::parse_settings;

    fn parse_for(source: Source, pairs: &[(&str, &str)]) -> Result<VirtualOptions, OptionError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        VirtualOptions::parse(&parse_settings(&device_options(), &pairs)?, source)
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<VirtualOptions, OptionError> {
        parse_for(Source::Feeder, pairs)
    }

    #[test]
    fn defaults_without_options() {
        assert_eq!(
            VirtualOptions::parse(&BTreeMap::new(), Source::Feeder).unwrap(),
            VirtualOptions::default()
        );
    }

    #[test]
    fn every_option_parses() {
        let o = parse(&[
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
        ])
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
        let e = parse(&[("jam-at-pag", "3")]).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown option `jam-at-pag`; allowed: sheets, ppm, warmup-ms, jam-at-page, jam-at-row, feeder-empty, multi-feed-at-page, cover-open, offline, panic-at-page, hang-at-page"),
            "{e}"
        );
        assert!(e.ends_with("(did you mean jam-at-page?)"), "{e}");
        let e = parse(&[("colour", "1")]).unwrap_err().to_string();
        assert!(!e.contains("did you mean"), "{e}");
        // A request built in code gets the same answer from the driver.
        let typed: BTreeMap<String, OptionValue> =
            [("jam-at-pag".to_string(), OptionValue::Int(3))].into();
        let e = VirtualOptions::parse(&typed, Source::Feeder).unwrap_err();
        assert!(
            e.to_string().ends_with("(did you mean jam-at-page?)"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_option_and_the_range() {
        let e = parse(&[("sheets", "51")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value `51` for option sheets: 51 is out of range; allowed: 0..=50"
        );
        let e = parse(&[("cover-open", "maybe")]).unwrap_err();
        assert!(e.to_string().contains("true or false"), "{e}");
        let e = parse(&[("jam-at-page", "0")]).unwrap_err();
        assert!(e.to_string().contains("1..=100|none"), "{e}");
        let o = parse(&[("jam-at-page", "None")]).unwrap();
        assert_eq!(o.jam_at_page, None);
        let e = parse(&[("ppm", "-3")]).unwrap_err();
        assert!(e.to_string().contains("ppm"), "{e}");
        // Typed values from code are checked too.
        let typed: BTreeMap<String, OptionValue> =
            [("sheets".to_string(), OptionValue::Int(51))].into();
        let e = VirtualOptions::parse(&typed, Source::Feeder).unwrap_err();
        assert!(e.to_string().contains("0..=50"), "{e}");
        let typed: BTreeMap<String, OptionValue> =
            [("offline".to_string(), OptionValue::Int(1))].into();
        let e = VirtualOptions::parse(&typed, Source::Feeder).unwrap_err();
        assert!(e.to_string().contains("not a value of type bool"), "{e}");
    }

    #[test]
    fn contradictions_are_refused() {
        let e = parse(&[("feeder-empty", "true"), ("sheets", "3")]).unwrap_err();
        assert!(e.to_string().contains("sheets=3"), "{e}");
        let o = parse(&[("feeder-empty", ""), ("sheets", "0")]).unwrap();
        assert_eq!(o.sheets, 0);
        let e = parse(&[("jam-at-row", "3")]).unwrap_err();
        assert!(e.to_string().contains("needs jam-at-page"), "{e}");
    }

    #[test]
    fn crash_options() {
        let o = parse(&[("crash-at-page", "2")]).unwrap();
        assert_eq!(
            (o.crash_at_page, o.crash_at_row, o.crash),
            (Some(2), None, Crash::Segv)
        );
        let o = parse(&[
            ("crash-at-page", "3"),
            ("crash-at-row", "0"),
            ("crash", "abort"),
        ])
        .unwrap();
        assert_eq!(
            (o.crash_at_page, o.crash_at_row, o.crash),
            (Some(3), Some(0), Crash::Abort)
        );
        let e = parse(&[("crash-at-row", "3")]).unwrap_err();
        assert!(e.to_string().contains("needs crash-at-page"), "{e}");
        let e = parse(&[("crash", "bus")]).unwrap_err().to_string();
        assert!(e.contains("segv") && e.contains("abort"), "{e}");
        assert!(o.check(10).is_ok());
        let mut o = o;
        o.crash_at_row = Some(10);
        let e = o.check(10).unwrap_err().to_string();
        assert!(e.contains("crash-at-row"), "{e}");
    }

    #[test]
    fn paper_path_options_apply_to_the_feeder_only() {
        let all = [
            ("jam-at-page", "1"),
            ("jam-at-row", "5"),
            ("multi-feed-at-page", "2"),
            ("feeder-empty", "true"),
            ("sheets", "0"),
            ("ppm", "60"),
        ];
        let flatbed = parse_for(Source::Flatbed, &all).unwrap();
        assert_eq!(
            flatbed,
            VirtualOptions {
                ppm: 60,
                ..Default::default()
            }
        );
        let adf = parse_for(Source::FeederDuplex, &all).unwrap();
        assert_eq!(
            (adf.jam_at_page, adf.multi_feed_at_page, adf.sheets),
            (Some(1), Some(2), 0)
        );
        for o in device_options() {
            let feeder_only = [
                "sheets",
                "feeder-empty",
                "jam-at-page",
                "jam-at-row",
                "multi-feed-at-page",
            ]
            .contains(&o.name.as_str());
            assert_eq!(!o.applies_to(Source::Flatbed), feeder_only, "{}", o.name);
        }
    }

    #[test]
    fn sheet_options_parse() {
        let o = parse_for(
            Source::Flatbed,
            &[
                ("skew", "-2.5deg"),
                ("paper", "Letter"),
                ("offset", "0, 10.5 mm"),
                ("lid", "white"),
                ("content", "text"),
                ("blank-sheets", "5,2,3-4,2"),
                ("near-blank", "one-line"),
                ("seed", "42"),
            ],
        )
        .unwrap();
        assert_eq!(o.skew_deg, -2.5);
        assert_eq!(o.paper_mm, Some((215.9, 279.4)));
        assert_eq!(o.offset_mm, Some((0.0, 10.5)));
        assert_eq!((o.lid, o.content), (Lid::White, Content::Text));
        assert_eq!(o.blank_sheets, [2, 3, 4, 5]);
        assert_eq!((o.near_blank, o.seed), (NearBlank::OneLine, 42));
        assert!(o.places_a_sheet() && o.generates_pages());
        assert_eq!(parse_paper("150 x 200 mm").unwrap(), Some((150.0, 200.0)));
        assert_eq!(parse_paper("glass").unwrap(), None);
        assert_eq!(parse_offset("Center").unwrap(), None);
        // Photos apply to the flatbed only.
        assert_eq!(
            parse_for(Source::Flatbed, &[("photos", "3")])
                .unwrap()
                .photos,
            3
        );
        assert_eq!(
            parse_for(Source::Feeder, &[("photos", "3")])
                .unwrap()
                .photos,
            0
        );
        // Generated pages are rendered whole: the resolution is bounded, the chart's is not.
        let e = o.check_dpi(601).unwrap_err().to_string();
        assert!(e.contains("skew") && e.contains("at most 600 dpi"), "{e}");
        VirtualOptions::default().check_dpi(1200).unwrap();
    }

    #[test]
    fn rows_must_fit() {
        let adf = parse(&[("jam-at-page", "1")]).unwrap();
        adf.check(100).unwrap();
        let o = parse(&[("jam-at-page", "1"), ("jam-at-row", "100")]).unwrap();
        let e = o.check(100).unwrap_err().to_string();
        assert!(e.contains("0..=99"), "{e}");
    }

    #[test]
    fn every_listed_default_parses_to_the_default() {
        for o in device_options() {
            let shown = o
                .value
                .as_ref()
                .map_or("none".to_string(), |v| v.to_string());
            assert_eq!(
                parse(&[(&o.name, &shown)]),
                Ok(VirtualOptions::default()),
                "{}={shown}",
                o.name,
            );
            assert!(!o.help.is_empty() && !o.allowed_text().is_empty());
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
        assert_eq!(device_options().len(), specs().len());
    }
}
