//! Generated pages with known truth: a sheet laid on the glass as people do (turned by
//! `skew`, of a `paper` size at an `offset`, on a visible `lid`), blank sheets with paper
//! defects (`blank-sheets`, `near-blank`), photos at different angles (`photos`), and
//! document text (`content=text`). They are drawn by `scanwire_imaging::synth` over the whole
//! glass and the request's area is cut out of it; [`truth`] says what is on each page, in the
//! page's own pixels, for the tests and benchmarks that check the detectors and OCR.
//!
//! Only these options cost more: a page is rendered whole before its first row is sent
//! (at most [`MAX_SHEET_DPI`](crate::options::MAX_SHEET_DPI)); without them the page is the
//! test chart, rendered row by row exactly as before.

use crate::chart::{Chart, PageGeometry};
use crate::feeder::{self, PageSlot};
use crate::options::{glass_mm, Content, Lid, NearBlank, VirtualOptions};
use crate::text::{self, Layout};
use ab_glyph::FontVec;
use scanwire_core::device::{DeviceError, PixelFormat, ScanRequest, Source};
use scanwire_imaging::synth::{self, PhotosSpec, SheetSpec};
use scanwire_imaging::{Image, Region};

/// The paper's colour: a slightly warm white.
const PAPER: [u8; 3] = [238, 236, 230];
const DARK_LID: [u8; 3] = [48, 50, 52];
const BLACK_LID: [u8; 3] = [30, 30, 30];
const WHITE_LID: [u8; 3] = [246, 246, 244];

/// What a page shows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// The test chart, edge to edge ([`crate::chart`]).
    Chart,
    /// A sheet of paper on the glass.
    Sheet,
    /// Photos on the glass.
    Photos,
}

/// What is on one page, in the page's pixels (the request's area at its resolution; pixel
/// centres at +0.5, as [`Region`] counts them).
#[derive(Clone, Debug, PartialEq)]
pub struct PageTruth {
    /// Chart, sheet or photos.
    pub kind: PageKind,
    /// Where the sheet lies (its angle is the skew), for a sheet; it may reach past the
    /// page's edges.
    pub paper: Option<Region>,
    /// Each photo's place, in the order they were laid (two per row, top to bottom).
    pub photos: Vec<Region>,
    /// Whether a blank-page detector must call it blank: a blank sheet, also with a page
    /// number; not one with a line of text, text, lines or the chart.
    pub blank: bool,
    /// The text printed on a `content=text` sheet, line by line as set.
    pub text: Option<String>,
    /// Each printed word of a `content=text` sheet, in reading order, and its box (the
    /// word's advance by the font's ascent to descent), turned with the sheet.
    pub words: Vec<(String, Region)>,
}

impl PageTruth {
    /// The turn of the sheet, degrees counterclockwise; 0 for the chart and photos.
    pub fn skew_deg(&self) -> f64 {
        self.paper.map_or(0.0, |p| p.angle_deg)
    }
}

/// How one page is made.
#[derive(Clone, Debug)]
enum Plan {
    Chart,
    Sheet {
        spec: SheetSpec,
        print: Print,
        blank: bool,
    },
    Photos(PhotosSpec),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Print {
    Nothing,
    Chart,
    Text,
}

fn lid_color(lid: Lid, photos: bool) -> [u8; 3] {
    match lid {
        Lid::Auto if photos => WHITE_LID,
        Lid::Auto | Lid::Dark => DARK_LID,
        Lid::Black => BLACK_LID,
        Lid::White => WHITE_LID,
    }
}

fn plan(geo: &PageGeometry, slot: PageSlot, opts: &VirtualOptions) -> Plan {
    let seed = (u64::from(opts.seed) << 32) ^ u64::from(slot.number);
    let color = matches!(geo.pixel, PixelFormat::Rgb8 | PixelFormat::Rgb16);
    let glass = glass_mm();
    if opts.photos > 0 {
        let mut spec = PhotosSpec::on_a4(geo.dpi, opts.photos as usize, seed);
        spec.platen_mm = glass;
        spec.lid = lid_color(opts.lid, true);
        return Plan::Photos(spec);
    }
    let blank = opts.blank_sheets.binary_search(&slot.sheet).is_ok();
    if !blank && !opts.places_a_sheet() && opts.content == Content::Chart {
        return Plan::Chart;
    }
    let paper_mm = opts.paper_mm.unwrap_or(glass);
    let corner = opts
        .offset_mm
        .unwrap_or(((glass.0 - paper_mm.0) / 2.0, (glass.1 - paper_mm.1) / 2.0));
    let spec = SheetSpec {
        dpi: geo.dpi,
        color,
        platen_mm: glass,
        paper_mm,
        center_mm: (corner.0 + paper_mm.0 / 2.0, corner.1 + paper_mm.1 / 2.0),
        skew_deg: opts.skew_deg,
        content: synth::Content::Blank,
        texture: true,
        noise: 3.0,
        hole_punch: false,
        bleed_through: false,
        page_number: false,
        justified: false,
        lid: lid_color(opts.lid, false),
        paper: PAPER,
        seed,
    };
    if blank {
        let spec = SheetSpec {
            content: if opts.near_blank == NearBlank::OneLine {
                synth::Content::OneLine
            } else {
                synth::Content::Blank
            },
            noise: 5.0,
            hole_punch: true,
            bleed_through: true,
            page_number: opts.near_blank == NearBlank::PageNumber,
            ..spec
        };
        return Plan::Sheet {
            spec,
            print: Print::Nothing,
            blank: opts.near_blank != NearBlank::OneLine,
        };
    }
    let (content, print) = match opts.content {
        Content::Chart => (synth::Content::Blank, Print::Chart),
        Content::Lines => (synth::Content::Text, Print::Nothing),
        Content::Text => (synth::Content::Blank, Print::Text),
    };
    Plan::Sheet {
        spec: SheetSpec { content, ..spec },
        print,
        blank: false,
    }
}

/// The text laid out on a sheet of `spec`, for page `number`.
fn text_layout(font: &FontVec, spec: &SheetSpec, number: u32) -> Layout {
    text::layout(font, number, spec.paper_mm)
}

/// Region in glass pixels → the page's pixels.
fn on_page(r: Region, geo: &PageGeometry) -> Region {
    Region {
        center: (
            r.center.0 - f64::from(geo.left),
            r.center.1 - f64::from(geo.top),
        ),
        ..r
    }
}

/// One page as the driver sends it: the chart row by row, or a generated glass cut to the
/// request's area and converted to its pixel format.
pub(crate) enum Painter {
    Chart(Chart),
    Glass { geo: PageGeometry, glass: Image },
}

impl Painter {
    /// Makes page `slot` of a scan; `font` is needed for `content=text` sheets
    /// ([`fonts_needed`]).
    pub(crate) fn new(
        geo: PageGeometry,
        source: Source,
        slot: PageSlot,
        opts: &VirtualOptions,
        font: Option<&FontVec>,
    ) -> Result<Painter, DeviceError> {
        let glass = match plan(&geo, slot, opts) {
            Plan::Chart => return Ok(Painter::Chart(Chart::new(geo, source, slot))),
            Plan::Photos(spec) => synth::photos(&spec).image,
            Plan::Sheet { spec, print, .. } => {
                let (pw, ph) = synth::paper_pixels(&spec);
                let print = match print {
                    Print::Nothing => None,
                    Print::Chart => {
                        let paper = PageGeometry {
                            pixel: PixelFormat::Rgb8,
                            dpi: geo.dpi,
                            left: 0,
                            top: 0,
                            width: pw,
                            height: ph,
                        };
                        let data = Chart::new(paper, source, slot).render_page();
                        Some(Image {
                            pixel: PixelFormat::Rgb8,
                            width: pw,
                            height: ph,
                            dpi: (geo.dpi, geo.dpi),
                            data,
                        })
                    }
                    Print::Text => {
                        let font = match font {
                            Some(f) => f,
                            None => &text::load_font()?,
                        };
                        let layout = text_layout(font, &spec, slot.number);
                        Some(text::render(font, &layout, geo.dpi, (pw, ph)))
                    }
                };
                synth::sheet_printed(&spec, print.as_ref()).image
            }
        };
        let gray = !matches!(geo.pixel, PixelFormat::Rgb8 | PixelFormat::Rgb16);
        let glass = if gray && glass.pixel == PixelFormat::Rgb8 {
            to_gray(glass)
        } else {
            glass
        };
        Ok(Painter::Glass { geo, glass })
    }

    /// Renders rows from `y0` into `out`, one row per `bytes_per_line` (a trailing partial
    /// row is left alone).
    pub(crate) fn render_rows(&self, y0: u32, out: &mut [u8]) {
        match self {
            Painter::Chart(chart) => chart.render_rows(y0, out),
            Painter::Glass { geo, glass } => {
                let bpl = geo.bytes_per_line();
                if bpl == 0 {
                    return;
                }
                for (i, row) in out.chunks_exact_mut(bpl).enumerate() {
                    cut_row(geo, glass, y0 + i as u32, row);
                }
            }
        }
    }
}

/// An Rgb8 image as Gray8 (BT.601 luma, as the chart's gray is).
fn to_gray(img: Image) -> Image {
    let data = img
        .data
        .chunks_exact(3)
        .map(|p| {
            ((19595 * u32::from(p[0]) + 38470 * u32::from(p[1]) + 7471 * u32::from(p[2]) + 32768)
                >> 16) as u8
        })
        .collect();
    Image {
        pixel: PixelFormat::Gray8,
        data,
        ..img
    }
}

/// Row `y` of the page from the generated glass (Rgb8 for the colour modes, Gray8 for the
/// others), in the page's format. A glass a pixel short of the geometry (rounding) repeats
/// its last column or row.
fn cut_row(geo: &PageGeometry, glass: &Image, y: u32, out: &mut [u8]) {
    let gy = (geo.top + y).min(glass.height.saturating_sub(1));
    let channels: usize = if glass.pixel == PixelFormat::Rgb8 {
        3
    } else {
        1
    };
    let row = glass.row(gy);
    let (left, width) = (geo.left as usize, geo.width as usize);
    let inside = (glass.width as usize).saturating_sub(left).min(width);
    let src = &row[left.min(glass.width as usize) * channels..][..inside * channels];
    // The last column, for the pixels past the glass's width.
    let edge = &row[row.len().saturating_sub(channels)..];
    let samples = src
        .chunks_exact(channels)
        .chain(std::iter::repeat(edge))
        .take(width);
    match geo.pixel {
        // The glass is drawn in these layouts: a copy.
        PixelFormat::Rgb8 | PixelFormat::Gray8 => {
            out[..src.len()].copy_from_slice(src);
            for o in out[src.len()..width * channels].chunks_exact_mut(channels) {
                o.copy_from_slice(edge);
            }
        }
        // 16-bit samples: v · 257, big-endian, is the byte twice.
        PixelFormat::Rgb16 | PixelFormat::Gray16 => {
            for (o, s) in out.chunks_exact_mut(2 * channels).zip(samples) {
                for (pair, &v) in o.chunks_exact_mut(2).zip(s) {
                    pair[0] = v;
                    pair[1] = v;
                }
            }
        }
        PixelFormat::BlackAndWhite1 => {
            out[..width.div_ceil(8)].fill(0);
            for (x, s) in samples.enumerate() {
                if s[0] < 128 {
                    out[x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
    }
}

/// Whether a scan with these options sets text, so the driver loads the font before the
/// first page (and fails before any callback when it is missing).
pub(crate) fn fonts_needed(opts: &VirtualOptions) -> bool {
    opts.content == Content::Text && opts.photos == 0
}

/// What page `number` of what `request` scans shows: the kind, the sheet's place and skew,
/// the photos' places, blank or not, and the printed text. The same options, checked the
/// same way, as the scan itself.
pub fn truth(request: &ScanRequest, number: u32) -> Result<PageTruth, DeviceError> {
    let geo = PageGeometry::for_request(request)?;
    let opts = VirtualOptions::parse(&request.options, request.source)?;
    opts.check_dpi(geo.dpi)?;
    let slot = feeder::slot(request.source, number);
    Ok(match plan(&geo, slot, &opts) {
        Plan::Chart => PageTruth {
            kind: PageKind::Chart,
            paper: None,
            photos: Vec::new(),
            blank: false,
            text: None,
            words: Vec::new(),
        },
        Plan::Photos(spec) => PageTruth {
            kind: PageKind::Photos,
            paper: None,
            photos: synth::photos(&spec)
                .photos
                .into_iter()
                .map(|r| on_page(r, &geo))
                .collect(),
            blank: false,
            text: None,
            words: Vec::new(),
        },
        Plan::Sheet { spec, print, blank } => {
            let (pw, ph) = synth::paper_pixels(&spec);
            let px = |mm: f64| mm * f64::from(spec.dpi) / 25.4;
            // As synth places it.
            let paper = Region {
                center: (px(spec.center_mm.0), px(spec.center_mm.1)),
                size: (f64::from(pw), f64::from(ph)),
                angle_deg: spec.skew_deg,
            };
            let (text, words) = match print {
                Print::Text => {
                    let font = text::load_font()?;
                    let layout = text_layout(&font, &spec, number);
                    let words = text::word_boxes(&font, &layout)
                        .into_iter()
                        .map(|(word, [x0, y0, x1, y1])| {
                            // The print's pixels start at the sheet's top-left corner.
                            let u = px((x0 + x1) / 2.0) - f64::from(pw) / 2.0;
                            let v = px((y0 + y1) / 2.0) - f64::from(ph) / 2.0;
                            let place = Region {
                                center: paper.to_image(u, v),
                                size: (px(x1 - x0), px(y1 - y0)),
                                angle_deg: paper.angle_deg,
                            };
                            (word, on_page(place, &geo))
                        })
                        .collect();
                    (Some(layout.text()), words)
                }
                _ => (None, Vec::new()),
            };
            PageTruth {
                kind: PageKind::Sheet,
                paper: Some(on_page(paper, &geo)),
                photos: Vec::new(),
                blank,
                text,
                words,
            }
        }
    })
}

/// Every byte of image `number` of what `request` scans: exactly what the virtual scanner
/// writes to that page's stream, the chart's or a generated page's as the options ask.
pub fn expected_page(request: &ScanRequest, number: u32) -> Result<Vec<u8>, DeviceError> {
    match VirtualOptions::parse(&request.options, request.source) {
        Ok(o) if o.generates_pages() => expected_bytes(request, number),
        _ => Ok(Chart::for_page(request, number)?.render_page()),
    }
}

/// Every byte of generated page `number` of what `request` scans.
fn expected_bytes(request: &ScanRequest, number: u32) -> Result<Vec<u8>, DeviceError> {
    let geo = PageGeometry::for_request(request)?;
    let opts = VirtualOptions::parse(&request.options, request.source)?;
    opts.check_dpi(geo.dpi)?;
    let slot = feeder::slot(request.source, number);
    let painter = Painter::new(geo, request.source, slot, &opts, None)?;
    let mut page = vec![0; geo.page_bytes() as usize];
    painter.render_rows(0, &mut page);
    Ok(page)
}
