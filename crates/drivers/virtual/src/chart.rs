//! The test chart the virtual scanner "scans": deterministic, cheap to render row by row, and
//! rich enough for tests to check pixels.
//!
//! The chart is drawn on the glass (215.9 × 297 mm, the same for every source) in physical
//! units, so a page shows the same thing at every resolution, and a scan of a sub-area holds
//! exactly the pixels of the full scan's corresponding region (everything is positioned in
//! glass pixels `X = left + x`, `Y = top + y`). From the top:
//!
//! ```text
//!  0 mm  +--ruler: a tick every mm (2 mm long), 5 mm (3.5 mm), 10 mm (5 mm, numbered in cm)--+
//!        |r  PAGE 3                                                               [mark]    |
//!        |u  SHEET 2 FRONT                                                                  |
//!        |l  ADF DUPLEX 300 DPI                                                             |
//! 54 mm  |e  gray ramp black -> white, then an 11-step gray wedge                           |
//! 78 mm  |r  red, green, blue ramps from black, then a hue spectrum                         |
//!108 mm  |   8 patches: black white red green blue cyan magenta yellow                      |
//!124 mm  |   vertical line pairs, 1 / 2 / 4 px wide (phase: black where (X >> b) is even)  |
//!140 mm  |   horizontal line pairs, 1 / 2 / 4 px high (black where (Y >> b) is even)        |
//!160 mm  |   10 mm grid (dark gray) with a black diagonal and a red anti-diagonal          |
//!        +----------------------------------------------------------------------------------+
//! ```
//!
//! The ruler runs along the top and left edges of the glass, 10 mm wide; the tick for
//! millimetre `k` starts at glass pixel `Length::mm(k).to_pixels(dpi)` and is
//! `max(1, 0.2 mm)` pixels wide. The black orientation mark sits in the top-right corner,
//! 4..14 mm from the right edge and 12..22 mm from the top. Content columns run from 14 mm
//! to 4 mm before the right edge.
//!
//! Every color is computed with 16-bit channels ([`Rgb16`]); 8-bit samples are the high
//! bytes, gray is [`Rgb16::luma`], and lineart is 1 (black) where the luma is below half. The
//! chart does not name the mode, so every format shows the same picture: 8-bit gray is exactly
//! the high byte of 16-bit gray, and likewise for color.

use crate::errors::invalid_request;
use crate::feeder::{self, PageSlot};
use crate::options::{capabilities, GLASS_HEIGHT, GLASS_WIDTH};
use scanwire_core::device::{
    DeviceError, DeviceErrorKind, Length, PageData, PixelFormat, ScanRequest, Side, Source,
};

/// A color with 16-bit channels, from which every output format is derived.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rgb16 {
    /// Red.
    pub r: u16,
    /// Green.
    pub g: u16,
    /// Blue.
    pub b: u16,
}

const M: u16 = u16::MAX;

impl Rgb16 {
    /// White.
    pub const WHITE: Rgb16 = Rgb16 { r: M, g: M, b: M };
    /// Black.
    pub const BLACK: Rgb16 = Rgb16 { r: 0, g: 0, b: 0 };
    const RED: Rgb16 = Rgb16 { r: M, g: 0, b: 0 };
    const GREEN: Rgb16 = Rgb16 { r: 0, g: M, b: 0 };
    const BLUE: Rgb16 = Rgb16 { r: 0, g: 0, b: M };
    const CYAN: Rgb16 = Rgb16 { r: 0, g: M, b: M };
    const MAGENTA: Rgb16 = Rgb16 { r: M, g: 0, b: M };
    const YELLOW: Rgb16 = Rgb16 { r: M, g: M, b: 0 };
    /// The grid's gray: dark enough to stay black in lineart.
    const DARK: Rgb16 = Rgb16::gray(0x3000);

    /// A neutral gray.
    pub const fn gray(v: u16) -> Self {
        Rgb16 { r: v, g: v, b: v }
    }

    /// Luma with BT.601 weights (19595 + 38470 + 7471 = 65536), rounded; exact for grays.
    pub const fn luma(self) -> u16 {
        ((19595 * self.r as u32 + 38470 * self.g as u32 + 7471 * self.b as u32 + 32768) >> 16)
            as u16
    }

    /// Whether lineart shows it black.
    pub const fn is_dark(self) -> bool {
        self.luma() < 0x8000
    }
}

/// The page's window on the glass, in pixels at the scan resolution, and its sample layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageGeometry {
    /// Sample layout of the rows.
    pub pixel: PixelFormat,
    /// Resolution (X and Y).
    pub dpi: u32,
    /// First glass column of the page.
    pub left: u32,
    /// First glass row of the page.
    pub top: u32,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

impl PageGeometry {
    /// The geometry a request scans: its area (or the whole glass) at its resolution, in the
    /// raster format of its mode. The request is checked against the virtual scanner's
    /// capabilities first.
    pub fn for_request(request: &ScanRequest) -> Result<Self, DeviceError> {
        let caps = capabilities();
        request.validate(&caps).map_err(invalid_request)?;
        let area = request.effective_area(&caps).ok_or_else(|| {
            DeviceError::new(
                DeviceErrorKind::InvalidRequest,
                format!("the virtual scanner has no {} source", request.source),
            )
        })?;
        let dpi = request.resolution;
        Ok(PageGeometry {
            pixel: PixelFormat::for_mode(request.mode),
            dpi,
            left: area.left.to_pixels(dpi),
            top: area.top.to_pixels(dpi),
            width: area.width.to_pixels(dpi),
            height: area.height.to_pixels(dpi),
        })
    }

    /// Bytes in one row.
    pub fn bytes_per_line(&self) -> usize {
        self.pixel.bytes_per_line(self.width)
    }

    /// Bytes in the whole page.
    pub fn page_bytes(&self) -> u64 {
        self.bytes_per_line() as u64 * u64::from(self.height)
    }

    /// The layout announced in `PageInfo`.
    pub fn page_data(&self) -> PageData {
        PageData::Raster {
            pixel: self.pixel,
            width: self.width,
            height: Some(self.height),
        }
    }
}

/// The test chart of one page, ready to render any of its rows. Holds only the layout (a few
/// hundred positions), never pixels.
#[derive(Clone, Debug)]
pub struct Chart {
    geo: PageGeometry,
    /// Tick width, ruler strip width, and tick lengths for 1, 5 and 10 mm.
    tick_w: u32,
    ruler: u32,
    tick_len: [u32; 3],
    /// Glass pixel of every whole millimetre, across and down.
    ticks_x: Vec<u32>,
    ticks_y: Vec<u32>,
    /// Content columns.
    cx0: u32,
    cx1: u32,
    /// `ramp(X) = (X - cx0) * ramp_mul >> 32`, 0..=65535 across the content.
    ramp_mul: u64,
    zones: Vec<(u32, u32, Zone)>,
    texts: Vec<Text>,
    /// Orientation mark: x0, x1, y0, y1.
    mark: [u32; 4],
    diag_w: u32,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Zone {
    GrayRamp,
    GrayWedge,
    Ramp(u8),
    Hue,
    Patches,
    VerticalPairs,
    HorizontalPairs,
    Grid,
}

/// A line of text in the built-in 5×7 font, `cell` pixels per font pixel, 6 cells per char.
#[derive(Clone, Debug)]
struct Text {
    x: u32,
    y: u32,
    cell: u32,
    glyphs: Vec<[u8; 7]>,
}

/// Zones: top and bottom in micrometres from the top of the glass.
const ZONES: [(u32, u32, Zone); 10] = [
    (54_000, 66_000, Zone::GrayRamp),
    (66_000, 74_000, Zone::GrayWedge),
    (78_000, 84_000, Zone::Ramp(0)),
    (84_000, 90_000, Zone::Ramp(1)),
    (90_000, 96_000, Zone::Ramp(2)),
    (96_000, 104_000, Zone::Hue),
    (108_000, 120_000, Zone::Patches),
    (124_000, 140_000, Zone::VerticalPairs),
    (140_000, 156_000, Zone::HorizontalPairs),
    (160_000, 291_000, Zone::Grid),
];

const PATCHES: [Rgb16; 8] = [
    Rgb16::BLACK,
    Rgb16::WHITE,
    Rgb16::RED,
    Rgb16::GREEN,
    Rgb16::BLUE,
    Rgb16::CYAN,
    Rgb16::MAGENTA,
    Rgb16::YELLOW,
];

fn px(um: u32, dpi: u32) -> u32 {
    Length(um).to_pixels(dpi)
}

impl Chart {
    /// The chart of image `page` of a scan from `source`, seen through `geometry`.
    pub fn new(geometry: PageGeometry, source: Source, page: PageSlot) -> Chart {
        let dpi = geometry.dpi.max(1);
        let glass_w = GLASS_WIDTH.to_pixels(dpi);
        let tick_w = px(200, dpi).max(1);
        let ruler = px(10_000, dpi);
        let tick_len = [px(2_000, dpi), px(3_500, dpi), px(5_000, dpi)];
        let ticks_x: Vec<u32> = (0..=GLASS_WIDTH.0 / 1000)
            .map(|k| Length::mm(k).to_pixels(dpi))
            .collect();
        let ticks_y: Vec<u32> = (0..=GLASS_HEIGHT.0 / 1000)
            .map(|k| Length::mm(k).to_pixels(dpi))
            .collect();
        let cx0 = px(14_000, dpi);
        let cx1 = px(GLASS_WIDTH.0 - 4_000, dpi);
        let n = cx1 - cx0;
        let ramp_mul = (u64::from(M) << 32) / u64::from(n.saturating_sub(1).max(1));
        let zones: Vec<(u32, u32, Zone)> = ZONES
            .iter()
            .map(|&(a, b, z)| (px(a, dpi), px(b, dpi), z))
            .collect();
        let (gy0, gy1) = (px(160_000, dpi), px(291_000, dpi));
        let diag_w = tick_w.max(n.div_ceil((gy1 - gy0).max(1)));

        let source_name = match source {
            Source::Flatbed => "FLATBED",
            Source::Feeder => "ADF",
            Source::FeederDuplex => "ADF DUPLEX",
        };
        let side = match page.side {
            Side::Front => "FRONT",
            Side::Back => "BACK",
        };
        let mut texts = vec![
            Text::new(
                cx0,
                px(12_000, dpi),
                px(2_500, dpi),
                &format!("PAGE {}", page.number),
            ),
            Text::new(
                cx0,
                px(32_000, dpi),
                px(1_500, dpi),
                &format!("SHEET {} {side}", page.sheet),
            ),
            Text::new(
                cx0,
                px(45_000, dpi),
                px(800, dpi),
                &format!("{source_name} {} DPI", geometry.dpi),
            ),
        ];
        // Ruler numbers: centimetres beside each 10 mm tick.
        let small = px(350, dpi);
        let gap = px(600, dpi);
        let across = px(5_300, dpi);
        for cm in 1..=GLASS_WIDTH.0 / 10_000 {
            let x = ticks_x[(cm * 10) as usize] + gap;
            texts.push(Text::new(x, across, small, &cm.to_string()));
        }
        for cm in 1..=GLASS_HEIGHT.0 / 10_000 {
            let y = ticks_y[(cm * 10) as usize] + gap;
            texts.push(Text::new(across, y, small, &cm.to_string()));
        }
        let mark = [
            px(GLASS_WIDTH.0 - 14_000, dpi),
            px(GLASS_WIDTH.0 - 4_000, dpi),
            px(12_000, dpi),
            px(22_000, dpi),
        ];
        debug_assert!(mark[1] <= glass_w);
        Chart {
            geo: geometry,
            tick_w,
            ruler,
            tick_len,
            ticks_x,
            ticks_y,
            cx0,
            cx1,
            ramp_mul,
            zones,
            texts,
            mark,
            diag_w,
        }
    }

    /// The chart of image `number` of what `request` scans (its source decides sheet and
    /// side). This is how tests elsewhere compute the pixels the virtual scanner delivers.
    pub fn for_page(request: &ScanRequest, number: u32) -> Result<Chart, DeviceError> {
        let geo = PageGeometry::for_request(request)?;
        Ok(Chart::new(
            geo,
            request.source,
            feeder::slot(request.source, number),
        ))
    }

    /// The page's geometry.
    pub fn geometry(&self) -> &PageGeometry {
        &self.geo
    }

    /// Renders row `y` of the page (0 = the page's top row) into `out`, which must hold at
    /// least [`PageGeometry::bytes_per_line`] bytes (only those are written).
    ///
    /// # Panics
    /// If `out` is shorter than one row.
    pub fn render_row(&self, y: u32, out: &mut [u8]) {
        let out = &mut out[..self.geo.bytes_per_line()];
        match self.geo.pixel {
            PixelFormat::Rgb8 => self.paint(y, &mut Rgb8(out)),
            PixelFormat::Rgb16 => self.paint(y, &mut Rgb16Be(out)),
            PixelFormat::Gray8 => self.paint(y, &mut Gray8(out)),
            PixelFormat::Gray16 => self.paint(y, &mut Gray16Be(out)),
            PixelFormat::BlackAndWhite1 => {
                // Padding bits after the last pixel are 0 too.
                out.fill(0);
                self.paint(y, &mut Bits(out))
            }
        }
    }

    /// Renders consecutive rows from `y0` into `out`, one row per
    /// [`PageGeometry::bytes_per_line`] bytes (a trailing partial row is left alone).
    pub fn render_rows(&self, y0: u32, out: &mut [u8]) {
        let bpl = self.geo.bytes_per_line();
        if bpl == 0 {
            return;
        }
        for (i, row) in out.chunks_exact_mut(bpl).enumerate() {
            self.render_row(y0 + i as u32, row);
        }
    }

    /// The whole page in memory (tests; the driver renders band by band).
    pub fn render_page(&self) -> Vec<u8> {
        let mut page = vec![0; self.geo.page_bytes() as usize];
        self.render_rows(0, &mut page);
        page
    }

    fn ramp(&self, x: u32) -> u16 {
        ((u64::from(x.saturating_sub(self.cx0)) * self.ramp_mul) >> 32).min(u64::from(M)) as u16
    }

    fn tick_len(&self, k: usize) -> u32 {
        if k % 10 == 0 {
            self.tick_len[2]
        } else if k % 5 == 0 {
            self.tick_len[1]
        } else {
            self.tick_len[0]
        }
    }

    /// The millimetre whose tick (across the left ruler or a grid line) covers row `y`.
    fn tick_at_row(&self, y: u32) -> Option<usize> {
        let k = self.ticks_y.partition_point(|&t| t <= y).checked_sub(1)?;
        (y < self.ticks_y[k] + self.tick_w).then_some(k)
    }

    fn paint<C: Canvas>(&self, y: u32, canvas: &mut C) {
        let g = &self.geo;
        let row = g.top + y;
        let mut p = Painter {
            canvas,
            left: g.left,
            right: g.left + g.width,
        };
        p.fill(0, u32::MAX, Rgb16::WHITE);
        if let Some(&(z0, z1, zone)) = self.zones.iter().find(|(a, b, _)| (*a..*b).contains(&row)) {
            self.paint_zone(zone, row, z0, z1, &mut p);
        }
        for t in &self.texts {
            t.paint(row, &mut p);
        }
        let [mx0, mx1, my0, my1] = self.mark;
        if (my0..my1).contains(&row) {
            p.fill(mx0, mx1, Rgb16::BLACK);
        }
        // Rulers last, so nothing covers them.
        if row < self.ruler {
            for (k, &x) in self.ticks_x.iter().enumerate() {
                if row < self.tick_len(k) {
                    p.fill(x, x + self.tick_w, Rgb16::BLACK);
                }
            }
        }
        if let Some(k) = self.tick_at_row(row) {
            p.fill(0, self.tick_len(k), Rgb16::BLACK);
        }
    }

    fn paint_zone<C: Canvas>(&self, zone: Zone, row: u32, z0: u32, z1: u32, p: &mut Painter<C>) {
        let (cx0, cx1) = (self.cx0, self.cx1);
        let n = cx1 - cx0;
        match zone {
            Zone::GrayRamp => p.each(cx0, cx1, |x| Rgb16::gray(self.ramp(x))),
            Zone::GrayWedge => {
                for i in 0..11u32 {
                    let v = (i * u32::from(M) / 10) as u16;
                    p.fill(cx0 + i * n / 11, cx0 + (i + 1) * n / 11, Rgb16::gray(v));
                }
            }
            Zone::Ramp(channel) => p.each(cx0, cx1, |x| {
                let v = self.ramp(x);
                match channel {
                    0 => Rgb16 { r: v, g: 0, b: 0 },
                    1 => Rgb16 { r: 0, g: v, b: 0 },
                    _ => Rgb16 { r: 0, g: 0, b: v },
                }
            }),
            Zone::Hue => p.each(cx0, cx1, |x| hue(self.ramp(x))),
            Zone::Patches => {
                for (i, c) in PATCHES.iter().enumerate() {
                    let i = i as u32;
                    p.fill(cx0 + i * n / 8, cx0 + (i + 1) * n / 8, *c);
                }
            }
            Zone::VerticalPairs => {
                for b in 0..3u32 {
                    p.each(cx0 + b * n / 3, cx0 + (b + 1) * n / 3, |x| {
                        if (x >> b) & 1 == 0 {
                            Rgb16::BLACK
                        } else {
                            Rgb16::WHITE
                        }
                    });
                }
            }
            Zone::HorizontalPairs => {
                for b in 0..3u32 {
                    if (row >> b) & 1 == 0 {
                        p.fill(cx0 + b * n / 3, cx0 + (b + 1) * n / 3, Rgb16::BLACK);
                    }
                }
            }
            Zone::Grid => {
                if self.tick_at_row(row).is_some_and(|k| k % 10 == 0) {
                    p.fill(cx0, cx1, Rgb16::DARK);
                } else {
                    for (k, &x) in self.ticks_x.iter().enumerate() {
                        if k % 10 == 0 && x >= cx0 && x < cx1 {
                            p.fill(x, x + self.tick_w, Rgb16::DARK);
                        }
                    }
                }
                let t = u64::from(row - z0);
                let span = u64::from((z1 - z0).saturating_sub(1).max(1));
                let run = u64::from(n.saturating_sub(self.diag_w));
                let d = (t * run / span) as u32;
                p.fill(cx0 + d, cx0 + d + self.diag_w, Rgb16::BLACK);
                let a = cx0 + (run as u32).saturating_sub(d);
                p.fill(a, a + self.diag_w, Rgb16::RED);
            }
        }
    }
}

/// Fully saturated hue at `t` of the way round R → Y → G → C → B → M → R.
fn hue(t: u16) -> Rgb16 {
    let h = u32::from(t) * 6;
    let f = (h & 0xFFFF) as u16;
    match h >> 16 {
        0 => Rgb16 { r: M, g: f, b: 0 },
        1 => Rgb16 {
            r: M - f,
            g: M,
            b: 0,
        },
        2 => Rgb16 { r: 0, g: M, b: f },
        3 => Rgb16 {
            r: 0,
            g: M - f,
            b: M,
        },
        4 => Rgb16 { r: f, g: 0, b: M },
        _ => Rgb16 {
            r: M,
            g: 0,
            b: M - f,
        },
    }
}

impl Text {
    fn new(x: u32, y: u32, cell: u32, s: &str) -> Text {
        Text {
            x,
            y,
            cell: cell.max(1),
            glyphs: s.chars().map(glyph).collect(),
        }
    }

    fn paint<C: Canvas>(&self, row: u32, p: &mut Painter<C>) {
        if row < self.y || row >= self.y + 7 * self.cell {
            return;
        }
        let r = ((row - self.y) / self.cell) as usize;
        for (i, g) in self.glyphs.iter().enumerate() {
            let bits = g[r];
            let base = self.x + i as u32 * 6 * self.cell;
            let mut col = 0;
            // One fill per run of set bits.
            while col < 5 {
                if bits >> (4 - col) & 1 == 1 {
                    let start = col;
                    while col < 5 && bits >> (4 - col) & 1 == 1 {
                        col += 1;
                    }
                    p.fill(
                        base + start * self.cell,
                        base + col * self.cell,
                        Rgb16::BLACK,
                    );
                } else {
                    col += 1;
                }
            }
        }
    }
}

/// The built-in 5×7 font: digits, capitals, space and hyphen; rows top to bottom, bit 4 is
/// the leftmost pixel. Anything else draws as a hollow box.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        ' ' => [0; 7],
        _ => [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F],
    }
}

/// Draws in glass coordinates, clipped to the page's window.
struct Painter<'a, C> {
    canvas: &'a mut C,
    left: u32,
    right: u32,
}

impl<C: Canvas> Painter<'_, C> {
    #[inline]
    fn fill(&mut self, x0: u32, x1: u32, c: Rgb16) {
        let (a, b) = (x0.max(self.left), x1.min(self.right));
        if a < b {
            self.canvas
                .fill((a - self.left) as usize, (b - self.left) as usize, c);
        }
    }

    #[inline]
    fn each(&mut self, x0: u32, x1: u32, f: impl Fn(u32) -> Rgb16) {
        let (a, b) = (x0.max(self.left), x1.min(self.right));
        for x in a..b {
            self.canvas.put((x - self.left) as usize, f(x));
        }
    }
}

/// One output row in one sample format; `x` counts pixels from the row's start.
trait Canvas {
    fn fill(&mut self, x0: usize, x1: usize, c: Rgb16);
    fn put(&mut self, x: usize, c: Rgb16);
}

struct Rgb8<'a>(&'a mut [u8]);
struct Rgb16Be<'a>(&'a mut [u8]);
struct Gray8<'a>(&'a mut [u8]);
struct Gray16Be<'a>(&'a mut [u8]);
struct Bits<'a>(&'a mut [u8]);

fn rgb8(c: Rgb16) -> [u8; 3] {
    [(c.r >> 8) as u8, (c.g >> 8) as u8, (c.b >> 8) as u8]
}

fn rgb16(c: Rgb16) -> [u8; 6] {
    let (r, g, b) = (c.r.to_be_bytes(), c.g.to_be_bytes(), c.b.to_be_bytes());
    [r[0], r[1], g[0], g[1], b[0], b[1]]
}

impl Canvas for Rgb8<'_> {
    #[inline]
    fn fill(&mut self, x0: usize, x1: usize, c: Rgb16) {
        let v = rgb8(c);
        let s = &mut self.0[x0 * 3..x1 * 3];
        if v[0] == v[1] && v[1] == v[2] {
            s.fill(v[0]);
        } else {
            for p in s.chunks_exact_mut(3) {
                p.copy_from_slice(&v);
            }
        }
    }

    #[inline]
    fn put(&mut self, x: usize, c: Rgb16) {
        self.0[x * 3..x * 3 + 3].copy_from_slice(&rgb8(c));
    }
}

impl Canvas for Rgb16Be<'_> {
    #[inline]
    fn fill(&mut self, x0: usize, x1: usize, c: Rgb16) {
        let v = rgb16(c);
        for p in self.0[x0 * 6..x1 * 6].chunks_exact_mut(6) {
            p.copy_from_slice(&v);
        }
    }

    #[inline]
    fn put(&mut self, x: usize, c: Rgb16) {
        self.0[x * 6..x * 6 + 6].copy_from_slice(&rgb16(c));
    }
}

impl Canvas for Gray8<'_> {
    #[inline]
    fn fill(&mut self, x0: usize, x1: usize, c: Rgb16) {
        self.0[x0..x1].fill((c.luma() >> 8) as u8);
    }

    #[inline]
    fn put(&mut self, x: usize, c: Rgb16) {
        self.0[x] = (c.luma() >> 8) as u8;
    }
}

impl Canvas for Gray16Be<'_> {
    #[inline]
    fn fill(&mut self, x0: usize, x1: usize, c: Rgb16) {
        let v = c.luma().to_be_bytes();
        for p in self.0[x0 * 2..x1 * 2].chunks_exact_mut(2) {
            p.copy_from_slice(&v);
        }
    }

    #[inline]
    fn put(&mut self, x: usize, c: Rgb16) {
        self.0[x * 2..x * 2 + 2].copy_from_slice(&c.luma().to_be_bytes());
    }
}

impl Bits<'_> {
    #[inline]
    fn set(&mut self, x: usize, black: bool) {
        let mask = 0x80u8 >> (x % 8);
        if black {
            self.0[x / 8] |= mask;
        } else {
            self.0[x / 8] &= !mask;
        }
    }
}

impl Canvas for Bits<'_> {
    fn fill(&mut self, x0: usize, x1: usize, c: Rgb16) {
        let black = c.is_dark();
        let mut x = x0;
        while x < x1 && x % 8 != 0 {
            self.set(x, black);
            x += 1;
        }
        let whole = (x1 - x) / 8;
        self.0[x / 8..x / 8 + whole].fill(if black { 0xFF } else { 0 });
        x += whole * 8;
        while x < x1 {
            self.set(x, black);
            x += 1;
        }
    }

    #[inline]
    fn put(&mut self, x: usize, c: Rgb16) {
        self.set(x, c.is_dark());
    }
}

/// Renders row `y` of image `number` of what `request` scans into `out` (see
/// [`Chart::render_row`]). Builds the chart each call: for many rows, use [`Chart::for_page`].
pub fn render_row(
    request: &ScanRequest,
    number: u32,
    y: u32,
    out: &mut [u8],
) -> Result<(), DeviceError> {
    let chart = Chart::for_page(request, number)?;
    let need = chart.geometry().bytes_per_line();
    if out.len() < need {
        return Err(DeviceError::new(
            DeviceErrorKind::InvalidRequest,
            format!(
                "a row of this page takes {need} bytes; the buffer holds {}",
                out.len()
            ),
        ));
    }
    chart.render_row(y, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::{Area, ColorMode};

    #[test]
    fn luma_is_exact_for_grays_and_weights_green_most() {
        for v in [0, 1, 0x7FFF, 0x8000, 0xFFFF] {
            assert_eq!(Rgb16::gray(v).luma(), v);
        }
        assert!(Rgb16::GREEN.luma() > Rgb16::RED.luma());
        assert!(Rgb16::RED.luma() > Rgb16::BLUE.luma());
        assert!(Rgb16::DARK.is_dark() && !Rgb16::YELLOW.is_dark());
    }

    #[test]
    fn hue_is_continuous_at_the_segment_edges() {
        assert_eq!(hue(0), Rgb16::RED);
        assert_eq!(hue(M), Rgb16 { r: M, g: 0, b: 5 });
        // Steps of one unit of t never jump more than 6 units per channel.
        let mut prev = hue(0);
        for t in 1..=M {
            let c = hue(t);
            for (a, b) in [(prev.r, c.r), (prev.g, c.g), (prev.b, c.b)] {
                assert!(a.abs_diff(b) <= 6, "t={t}: {prev:?} -> {c:?}");
            }
            prev = c;
        }
    }

    #[test]
    fn every_glyph_fits_five_columns() {
        for c in ('0'..='9').chain('A'..='Z').chain([' ', '-', '?']) {
            assert!(glyph(c).iter().all(|r| *r < 32), "{c}");
        }
        assert_ne!(glyph('?'), glyph(' '));
    }

    #[test]
    fn lineart_fill_sets_exactly_the_range() {
        for (a, b) in [(0, 0), (0, 1), (3, 5), (5, 21), (8, 16), (7, 33), (0, 40)] {
            let mut row = [0u8; 5];
            Bits(&mut row).fill(a, b, Rgb16::BLACK);
            for x in 0..40 {
                let bit = row[x / 8] >> (7 - x % 8) & 1;
                assert_eq!(bit == 1, (a..b).contains(&x), "fill {a}..{b}, x {x}");
            }
            Bits(&mut row).fill(a, b, Rgb16::WHITE);
            assert_eq!(row, [0; 5]);
        }
    }

    #[test]
    fn geometry_follows_area_and_resolution() {
        let r = ScanRequest {
            resolution: 300,
            mode: ColorMode::Gray,
            area: Some(Area {
                left: Length::mm(10),
                top: Length::mm(20),
                width: Length::mm(50),
                height: Length::mm(30),
            }),
            ..Default::default()
        };
        let g = PageGeometry::for_request(&r).unwrap();
        assert_eq!((g.left, g.top, g.width, g.height), (118, 236, 591, 354));
        assert_eq!(g.bytes_per_line(), 591);
        let full = PageGeometry::for_request(&ScanRequest::default()).unwrap();
        assert_eq!((full.width, full.height), (2550, 3508));
        let bad = ScanRequest {
            resolution: 50,
            ..Default::default()
        };
        let e = PageGeometry::for_request(&bad).unwrap_err();
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
        assert!(e.detail().contains("50 dpi"), "{e}");
    }

    #[test]
    fn render_row_refuses_a_short_buffer() {
        let mut short = [0u8; 10];
        let e = render_row(&ScanRequest::default(), 1, 0, &mut short).unwrap_err();
        assert!(e.detail().contains("7650 bytes"), "{e}");
    }
}
