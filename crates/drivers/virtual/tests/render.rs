//! The test chart: determinism, known pixels, formats, cropping.

mod common;

use common::*;
use scanwire_core::device::{Area, ColorMode, Length, ScanRequest, Source};
use scanwire_virtual::{expected_page, render_row, Chart, PageGeometry};

fn request(mode: ColorMode, dpi: u32) -> ScanRequest {
    ScanRequest {
        mode,
        resolution: dpi,
        ..Default::default()
    }
}

fn px(mm: f64, dpi: u32) -> u32 {
    Length::from_mm(mm).to_pixels(dpi)
}

/// RGB of pixel `x` in an RGB8 row.
fn rgb(row: &[u8], x: u32) -> [u8; 3] {
    let i = x as usize * 3;
    [row[i], row[i + 1], row[i + 2]]
}

fn bit(row: &[u8], x: u32) -> u8 {
    row[x as usize / 8] >> (7 - x % 8) & 1
}

fn row_of(chart: &Chart, y: u32) -> Vec<u8> {
    let mut row = vec![0xAA; chart.geometry().bytes_per_line()];
    chart.render_row(y, &mut row);
    row
}

#[test]
fn same_request_same_bytes() {
    let r = request(ColorMode::Color, 150);
    let a = expected_page(&r, 1).unwrap();
    let b = expected_page(&r, 1).unwrap();
    assert_eq!(a.len(), 1275 * 1754 * 3);
    assert_eq!(fnv1a(&a), fnv1a(&b));
    assert_eq!(a, b);
    // Rendering row by row into a dirty buffer gives the same bytes as a whole page.
    let chart = Chart::for_page(&r, 1).unwrap();
    let bpl = chart.geometry().bytes_per_line();
    for y in [0, 1, 500, 1753] {
        assert_eq!(
            row_of(&chart, y),
            a[y as usize * bpl..(y as usize + 1) * bpl]
        );
    }
}

/// A golden hash per format: any change to the chart shows up here, and must be deliberate
/// (other crates' tests compare against these pixels).
#[test]
fn golden_hashes() {
    let golden = [
        (ColorMode::Lineart, 0x4eae_9a55_01e7_ee24_u64),
        (ColorMode::Gray, 0x798f_0a44_a384_87a2),
        (ColorMode::Gray16, 0x8975_20c5_f92e_f7b6),
        (ColorMode::Color, 0x01ab_fd11_3d6a_7189),
        (ColorMode::Color48, 0x2e75_6250_4684_77c2),
    ];
    let mut got = Vec::new();
    for (mode, _) in golden {
        got.push((mode, fnv1a(&expected_page(&request(mode, 75), 1).unwrap())));
    }
    for ((mode, want), (_, have)) in golden.iter().zip(&got) {
        assert_eq!(*want, *have, "{mode}: all hashes: {got:#x?}");
    }
}

#[test]
fn ruler_ticks_sit_on_whole_millimetres() {
    let dpi = 300;
    let chart = Chart::for_page(&request(ColorMode::Color, dpi), 1).unwrap();
    let x10 = px(10.0, dpi);
    assert_eq!(x10, 118);
    // Top edge: every tick is present in row 0, 0.2 mm (2 px) wide.
    let top = row_of(&chart, 0);
    for k in [0, 1, 5, 10, 37, 215] {
        let x = px(k as f64, dpi);
        assert_eq!(rgb(&top, x), [0; 3], "tick {k} mm at x {x}");
    }
    assert_eq!(rgb(&top, x10 + 1), [0; 3]);
    assert_eq!(rgb(&top, x10 + 2), [255; 3]);
    assert_eq!(rgb(&top, x10 - 1), [255; 3]);
    // 4.5 mm down only the 10 mm ticks (5 mm long) remain; 1 and 5 mm ticks are shorter.
    let low = row_of(&chart, px(4.5, dpi));
    assert_eq!(rgb(&low, x10), [0; 3]);
    assert_eq!(rgb(&low, px(11.0, dpi)), [255; 3]);
    assert_eq!(rgb(&low, px(15.0, dpi)), [255; 3]);
    let mid = row_of(&chart, px(3.0, dpi));
    assert_eq!(rgb(&mid, px(15.0, dpi)), [0; 3]);
    assert_eq!(rgb(&mid, px(16.0, dpi)), [255; 3]);
    // Left edge: the 20 mm tick is a 5 mm long horizontal line.
    let y20 = row_of(&chart, px(20.0, dpi));
    assert_eq!(rgb(&y20, 0), [0; 3]);
    assert_eq!(rgb(&y20, px(5.0, dpi) - 1), [0; 3]);
    assert_eq!(rgb(&y20, px(5.0, dpi)), [255; 3]);
}

#[test]
fn page_label_differs_between_pages_and_nothing_else_does() {
    let r = ScanRequest {
        source: Source::FeederDuplex,
        mode: ColorMode::Gray,
        resolution: 100,
        ..Default::default()
    };
    let p1 = expected_page(&r, 1).unwrap();
    let p2 = expected_page(&r, 2).unwrap();
    let bpl = PageGeometry::for_request(&r).unwrap().bytes_per_line();
    let differing: Vec<usize> = (0..p1.len() / bpl)
        .filter(|y| p1[y * bpl..(y + 1) * bpl] != p2[y * bpl..(y + 1) * bpl])
        .collect();
    assert!(!differing.is_empty());
    // Only the label lines (12..51 mm) change: PAGE n and SHEET s FRONT/BACK.
    let (lo, hi) = (px(12.0, 100) as usize, px(51.0, 100) as usize);
    assert!(
        differing.iter().all(|y| (lo..hi).contains(y)),
        "rows {:?}..{:?} differ",
        differing.first(),
        differing.last()
    );
}

#[test]
fn lineart_is_packed_msb_first_with_1_for_black() {
    let dpi = 75;
    let chart = Chart::for_page(&request(ColorMode::Lineart, dpi), 1).unwrap();
    let g = *chart.geometry();
    assert_eq!(g.width, 638);
    assert_eq!(g.bytes_per_line(), 80);
    let top = row_of(&chart, 0);
    let x10 = px(10.0, dpi);
    assert_eq!(bit(&top, x10), 1, "a ruler tick is black");
    assert_eq!(bit(&top, x10 + 1), 0, "paper is white");
    assert_eq!(
        top[0] >> 7,
        1,
        "the 0 mm tick is the first, most significant bit"
    );
    // The two padding bits after pixel 637 are 0, even in a dirty buffer.
    for y in [0, 100, g.height - 1] {
        assert_eq!(row_of(&chart, y)[79] & 0b11, 0, "row {y}");
    }
    // 1-px vertical line pairs: black on even glass columns.
    let pairs = row_of(&chart, px(130.0, dpi));
    let x = px(20.0, dpi);
    assert_eq!(
        (bit(&pairs, x), bit(&pairs, x + 1)),
        (1 - (x % 2) as u8, (x % 2) as u8)
    );
}

#[test]
fn formats_agree_with_each_other() {
    let dpi = 75;
    let pages: Vec<Vec<u8>> = [
        ColorMode::Gray,
        ColorMode::Gray16,
        ColorMode::Color,
        ColorMode::Color48,
    ]
    .iter()
    .map(|m| expected_page(&request(*m, dpi), 1).unwrap())
    .collect();
    let (g8, g16, c8, c48) = (&pages[0], &pages[1], &pages[2], &pages[3]);
    assert_eq!(g16.len(), g8.len() * 2);
    assert_eq!(c48.len(), c8.len() * 2);
    // 8-bit samples are the high bytes of the 16-bit ones (big-endian).
    assert!(g8.iter().zip(g16.chunks_exact(2)).all(|(a, b)| *a == b[0]));
    assert!(c8.iter().zip(c48.chunks_exact(2)).all(|(a, b)| *a == b[0]));
    // The 16-bit ramp really has 16-bit steps: low bytes are not all zero.
    assert!(g16.chunks_exact(2).any(|s| s[1] != 0 && s[1] != 255));
}

#[test]
fn gradients_rise_and_patches_have_their_colors() {
    let dpi = 200;
    let chart = Chart::for_page(&request(ColorMode::Color, dpi), 1).unwrap();
    let (x0, x1) = (px(14.0, dpi), px(211.9, dpi));
    let ramp = row_of(&chart, px(60.0, dpi));
    assert_eq!(rgb(&ramp, x0), [0; 3]);
    assert_eq!(rgb(&ramp, x1 - 1), [255; 3]);
    let vals: Vec<u8> = (x0..x1).map(|x| rgb(&ramp, x)[0]).collect();
    assert!(vals.windows(2).all(|w| w[0] <= w[1]), "gray ramp rises");
    let red = row_of(&chart, px(80.0, dpi));
    assert_eq!(rgb(&red, x1 - 1), [255, 0, 0]);
    let patches = row_of(&chart, px(114.0, dpi));
    let w = (x1 - x0) / 8;
    let centre = |i: u32| rgb(&patches, x0 + i * w + w / 2);
    assert_eq!(
        (0..8).map(centre).collect::<Vec<_>>(),
        vec![
            [0, 0, 0],
            [255, 255, 255],
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [0, 255, 255],
            [255, 0, 255],
            [255, 255, 0]
        ]
    );
    // Horizontal 1-px line pairs: black on even glass rows, white on odd ones.
    let y = px(145.0, dpi) & !1;
    assert_eq!(rgb(&row_of(&chart, y), x0 + 5), [0; 3]);
    assert_eq!(rgb(&row_of(&chart, y + 1), x0 + 5), [255; 3]);
}

#[test]
fn a_sub_area_is_the_same_region_of_the_full_page() {
    let dpi = 150;
    let full_req = request(ColorMode::Color, dpi);
    let full = expected_page(&full_req, 1).unwrap();
    let full_bpl = PageGeometry::for_request(&full_req)
        .unwrap()
        .bytes_per_line();
    let area = Area {
        left: Length::from_mm(3.3),
        top: Length::from_mm(101.7),
        width: Length::from_mm(150.0),
        height: Length::from_mm(40.0),
    };
    let part_req = ScanRequest {
        area: Some(area),
        ..full_req
    };
    let g = PageGeometry::for_request(&part_req).unwrap();
    let part = expected_page(&part_req, 1).unwrap();
    assert_eq!(part.len() as u64, g.page_bytes());
    for y in 0..g.height as usize {
        let src = (g.top as usize + y) * full_bpl + g.left as usize * 3;
        assert_eq!(
            part[y * g.bytes_per_line()..(y + 1) * g.bytes_per_line()],
            full[src..src + g.bytes_per_line()],
            "row {y}"
        );
    }
}

#[test]
fn every_resolution_and_mode_renders_without_panicking() {
    for dpi in [75, 76, 99, 150, 301, 600, 1200] {
        for mode in [
            ColorMode::Lineart,
            ColorMode::Gray,
            ColorMode::Gray16,
            ColorMode::Color,
            ColorMode::Color48,
        ] {
            let chart = Chart::for_page(&request(mode, dpi), 7).unwrap();
            let g = *chart.geometry();
            let mut row = vec![0; g.bytes_per_line()];
            // A sample of rows across every zone, plus rows past the page (still defined).
            for y in (0..g.height + 3).step_by((g.height / 97).max(1) as usize) {
                chart.render_row(y, &mut row);
            }
        }
    }
    // A 1 mm square at the far corner of the glass.
    let corner = ScanRequest {
        resolution: 1200,
        area: Some(Area {
            left: Length(214_900),
            top: Length(296_000),
            width: Length::mm(1),
            height: Length::mm(1),
        }),
        ..Default::default()
    };
    assert_eq!(expected_page(&corner, 1).unwrap().len(), 47 * 47 * 3);
}

#[test]
fn render_row_helper_matches_the_chart() {
    let r = request(ColorMode::Gray, 75);
    let chart = Chart::for_page(&r, 2).unwrap();
    let mut row = vec![0; chart.geometry().bytes_per_line()];
    render_row(&r, 2, 40, &mut row).unwrap();
    assert_eq!(row, row_of(&chart, 40));
    let bad = ScanRequest {
        mode: ColorMode::Gray,
        resolution: 2400,
        ..Default::default()
    };
    assert!(render_row(&bad, 1, 0, &mut row)
        .unwrap_err()
        .detail()
        .contains("2400 dpi"));
}
