//! The WIA image and segmentation filters' decisions, on every platform: the `WIA_IPS_*`
//! properties as settings, pages processed whole against generated truth, and the image
//! filter's transfer state machine delivering to Scanwire's application adapter (whose
//! recording is checked against core's grammar).

use scanwire_com::app::{AppAdapter, SinkSlot};
use scanwire_com::filter::{Application, Begin, ImageFilter, PageSetup};
use scanwire_com::options::{WIA_IMG_FMT_JPEG, WIA_IMG_FMT_PNG};
use scanwire_com::pages::PageTemplate;
use scanwire_com::processing::*;
use scanwire_core::device::{Encoding, PageData, PageInfo, Side, Source};
use scanwire_core::transfer::{CancelHandle, Recorder, RecordingHandle, Script};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_imaging::synth::{self, Content, PhotosSpec, SheetSpec};
use scanwire_imaging::{
    detect_skew, Blank, Crop, Image, Processing, ProcessingReport, QuarterTurns, Region,
    SkewFinding,
};
use scanwire_pipeline::{PageImage, StageOutput};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
struct Props {
    values: HashMap<u32, i32>,
    ranges: HashMap<u32, (i32, i32)>,
}

impl Props {
    fn with(pairs: &[(u32, i32)]) -> Self {
        Props {
            values: pairs.iter().copied().collect(),
            ranges: HashMap::new(),
        }
    }
}

impl PropertySource for Props {
    fn long(&self, id: u32) -> Option<i32> {
        self.values.get(&id).copied()
    }
    fn range(&self, id: u32) -> Option<(i32, i32)> {
        self.ranges.get(&id).copied()
    }
}

fn settings(pairs: &[(u32, i32)]) -> FilterSettings {
    FilterSettings::from_properties(&Props::with(pairs)).unwrap()
}

fn refused(pairs: &[(u32, i32)]) -> String {
    FilterSettings::from_properties(&Props::with(pairs))
        .unwrap_err()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// properties → settings

#[test]
fn an_item_without_processing_properties_passes_through() {
    let s = settings(&[]);
    assert_eq!(s, FilterSettings::default());
    assert!(s.is_identity());
    // AUTO_DESKEW_OFF is 1 and ON is 0: a missing property is off, an explicit 0 is on.
    assert!(settings(&[(WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_OFF)]).is_identity());
    assert!(
        settings(&[(WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON)])
            .processing
            .deskew
    );
}

#[test]
fn every_property_maps_to_its_stage_setting() {
    let s = settings(&[
        (WIA_IPS_BRIGHTNESS, -300),
        (WIA_IPS_CONTRAST, 1000),
        (WIA_IPS_ROTATION, ROT270),
        (WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_MULTI),
        (WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_DISCARD),
        (WIA_IPS_BLANK_PAGES_SENSITIVITY, 70),
        (WIA_IPS_DESKEW_X, 120),
        (WIA_IPS_DESKEW_Y, 9),
    ]);
    let p = &s.processing;
    assert_eq!((p.brightness, p.contrast), (-300, 1000));
    assert_eq!(p.rotate, QuarterTurns::Ccw270);
    assert_eq!(p.crop, Crop::Photos);
    assert_eq!(p.blank, Blank::Skip);
    assert_eq!(p.sensitivity.get(), 70);
    assert!(!p.deskew);
    assert_eq!(s.deskew_xy, (120, 9));
    assert_eq!(
        settings(&[(WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_SINGLE)])
            .processing
            .crop,
        Crop::Paper
    );
    for (rot, turns) in [
        (PORTRAIT, QuarterTurns::None),
        (LANDSCAPE, QuarterTurns::Ccw90),
        (ROT180, QuarterTurns::Half),
    ] {
        assert_eq!(
            settings(&[(WIA_IPS_ROTATION, rot)]).processing.rotate,
            turns
        );
    }
    // Blank pages as job separators: kept or not as WIA_IPS_JOB_SEPARATORS says.
    let sep = |v| {
        settings(&[
            (WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_JOB_SEPARATOR),
            (WIA_IPS_JOB_SEPARATORS, v),
        ])
        .processing
        .blank
    };
    // NOSCAN_CONTINUE is the CLI's `--blank split`; a separator page that is kept is a page
    // like any other.
    assert_eq!(sep(WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE), Blank::Split);
    assert_eq!(sep(WIA_SEPARATOR_DETECT_SCAN_CONTINUE), Blank::Keep);
    assert_eq!(sep(WIA_SEPARATOR_DISABLED), Blank::Keep);
}

#[test]
fn a_device_sensitivity_range_is_scaled_to_0_100() {
    let mut p = Props::with(&[(WIA_IPS_BLANK_PAGES_SENSITIVITY, 128)]);
    p.ranges.insert(WIA_IPS_BLANK_PAGES_SENSITIVITY, (0, 255));
    let s = FilterSettings::from_properties(&p).unwrap();
    assert_eq!(s.processing.sensitivity.get(), 50);
    p.values.insert(WIA_IPS_BLANK_PAGES_SENSITIVITY, 300);
    let e = FilterSettings::from_properties(&p).unwrap_err();
    assert!(e.to_string().contains("valid range"), "{e}");
}

#[test]
fn values_wia_does_not_define_are_refused_by_name() {
    let e = refused(&[(WIA_IPS_BRIGHTNESS, 1001)]);
    assert!(
        e.contains("WIA_IPS_BRIGHTNESS = 1001") && e.contains("-1000..=1000"),
        "{e}"
    );
    assert!(refused(&[(WIA_IPS_ROTATION, 4)]).contains("ROT270 (3)"));
    assert!(refused(&[(WIA_IPS_AUTO_CROP, 3)]).contains("_MULTI (2)"));
    assert!(refused(&[(WIA_IPS_AUTO_DESKEW, 2)]).contains("WIA_AUTO_DESKEW_ON (0)"));
    assert!(refused(&[(WIA_IPS_DESKEW_X, -1)]).contains("0 or more"));
    assert!(refused(&[(WIA_IPS_BLANK_PAGES_SENSITIVITY, 101)]).contains("0..=100"));
    let e = refused(&[
        (WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_JOB_SEPARATOR),
        (WIA_IPS_JOB_SEPARATORS, WIA_SEPARATOR_DETECT_SCAN_STOP),
    ]);
    assert!(
        e.contains("WIA_IPS_JOB_SEPARATORS = 2") && e.contains("_STOP"),
        "{e}"
    );
    let e =
        FilterSettings::from_properties(&Props::with(&[(WIA_IPS_CONTRAST, -5000)])).unwrap_err();
    assert_eq!(e.hresult(), wia::E_INVALIDARG);
}

#[test]
fn a_format_the_filter_cannot_decode_is_an_error_only_when_processing_is_asked_for() {
    let tiff = scanwire_com::options::WIA_IMG_FMT_TIFF;
    let flatbed = scanwire_com::options::WIA_CATEGORY_FLATBED;
    assert_eq!(
        PageSetup::for_item(flatbed, Ok(FilterSettings::default()), tiff, (300, 300)).unwrap(),
        None
    );
    let rotate = settings(&[(WIA_IPS_ROTATION, ROT180)]);
    let e = PageSetup::for_item(flatbed, Ok(rotate.clone()), tiff, (300, 300)).unwrap_err();
    assert!(e.to_string().contains("PNG, JPEG and BMP"), "{e}");
    assert_eq!(e.hresult(), scanwire_com::pages::E_NOTIMPL);
    // Storage items pass through untouched, as in Microsoft's sample.
    assert_eq!(
        PageSetup::for_item(WIA_CATEGORY_FINISHED_FILE, Ok(rotate), tiff, (300, 300)).unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// DESKEW_X / _Y

#[test]
fn deskew_xy_describes_a_region_the_filter_can_rebuild() {
    for angle in [-14.0, -6.5, -0.8, 0.8, 3.0, 11.0] {
        let r = Region {
            center: (400.0, 300.0),
            size: (500.0, 350.0),
            angle_deg: angle,
        };
        let b = r.bounding_rect(10_000, 10_000);
        let (dx, dy) = r.deskew_xy();
        let back = deskew_region(b.width, b.height, dx, dy).expect("turned");
        assert!((back.angle_deg - angle).abs() < 0.3, "{angle}: {back:?}");
        assert!(
            (back.size.0 - 500.0).abs() < 3.0 && (back.size.1 - 350.0).abs() < 3.0,
            "{angle}: {back:?}"
        );
    }
    assert_eq!(deskew_region(100, 100, 0, 7), None, "0 means no deskew");
}

// ---------------------------------------------------------------------------------------------
// whole pages

fn png(img: &Image) -> Vec<u8> {
    encode(img, PageFormat::Png).unwrap()
}

fn text_page(skew: f64, seed: u64) -> Image {
    let mut spec = SheetSpec::a4_feeder(100, seed);
    spec.skew_deg = skew;
    synth::sheet(&spec).image
}

fn blank_page(seed: u64) -> Image {
    let mut spec = SheetSpec::a4_feeder(100, seed);
    spec.content = Content::Blank;
    spec.bleed_through = true;
    synth::sheet(&spec).image
}

#[test]
fn auto_deskew_straightens_the_page_and_reports_the_angle() {
    for skew in [-7.0, 4.0] {
        let s = settings(&[(WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON)]);
        let out = process_page(&png(&text_page(skew, 3)), PageFormat::Png, (100, 100), &s).unwrap();
        assert_eq!(out.pages.len(), 1);
        let found = out.report.findings.skew.unwrap().angle_deg().unwrap();
        assert!((found - skew).abs() < 0.2, "found {found} for {skew}");
        let (dx, dy) = out.report.deskew_xy.unwrap();
        assert!(dx > 0 && dy > 0);
        let page = decode_page(&out.pages[0], PageFormat::Png, (1, 1)).unwrap();
        let residual = detect_skew(&page).unwrap().angle_deg;
        assert!(residual.abs() < 0.2, "residual {residual} after {skew}");
    }
}

#[test]
fn a_page_without_lines_is_left_alone_and_says_so() {
    let s = settings(&[(WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON)]);
    let blank = blank_page(4);
    let out = process_page(&png(&blank), PageFormat::Png, (100, 100), &s).unwrap();
    assert_eq!(
        out.report.findings.skew,
        Some(SkewFinding::NotEnoughStructure)
    );
    assert_eq!(out.report.deskew_xy, None);
    let back = decode_page(&out.pages[0], PageFormat::Png, (1, 1)).unwrap();
    assert!(back.data == blank.data, "the page is unchanged");
}

#[test]
fn blank_pages_are_discarded_and_text_pages_kept() {
    let s = settings(&[(WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_DISCARD)]);
    let out = process_page(&png(&blank_page(5)), PageFormat::Png, (100, 100), &s).unwrap();
    assert!(out.pages.is_empty() && out.report.discarded());
    assert!(!out.report.findings.separator);
    let out = process_page(&png(&text_page(0.0, 6)), PageFormat::Png, (100, 100), &s).unwrap();
    assert_eq!(out.pages.len(), 1);
    assert!(!out.report.discarded());
    assert!(out.report.findings.blank.unwrap().coverage > 0.001);
}

#[test]
fn rotation_turns_counterclockwise_in_every_format() {
    let img = text_page(0.0, 7);
    for (format, bytes) in [
        (PageFormat::Png, png(&img)),
        (PageFormat::Bmp, encode(&img, PageFormat::Bmp).unwrap()),
        (PageFormat::Jpeg, encode(&img, PageFormat::Jpeg).unwrap()),
    ] {
        let s = settings(&[(WIA_IPS_ROTATION, LANDSCAPE)]);
        let out = process_page(&bytes, format, (100, 100), &s).unwrap();
        let page = decode_page(&out.pages[0], format, (1, 1)).unwrap();
        assert_eq!(
            (page.width, page.height),
            (img.height, img.width),
            "{format:?}"
        );
        if format != PageFormat::Jpeg {
            // Exact: the top-right pixel becomes the top-left one.
            assert_eq!(page.luma(0, 0), img.luma(img.width - 1, 0), "{format:?}");
        }
    }
}

#[test]
fn a_page_that_is_not_its_format_fails_with_invalid_data() {
    let s = settings(&[(WIA_IPS_ROTATION, ROT180)]);
    let e = process_page(b"not a png at all", PageFormat::Png, (100, 100), &s).unwrap_err();
    assert_eq!(e.hresult(), E_INVALID_DATA);
    assert!(e.to_string().contains("not a valid PNG"), "{e}");
}

#[test]
fn auto_crop_multi_delivers_each_photo_as_a_page() {
    let truth = synth::photos(&PhotosSpec::on_a4(75, 3, 11));
    // Straightened with AUTO_DESKEW, as the CLI's `--crop photos --deskew`.
    let s = settings(&[
        (WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_MULTI),
        (WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON),
    ]);
    let out = process_page(&png(&truth.image), PageFormat::Png, (75, 75), &s).unwrap();
    assert_eq!(out.report.findings.photos.as_ref().unwrap().len(), 3);
    assert_eq!(out.pages.len(), 3);
    for (bytes, t) in out.pages.iter().zip(&truth.photos) {
        let p = decode_page(bytes, PageFormat::Png, (1, 1)).unwrap();
        assert!(
            (p.width as f64 - t.size.0).abs() <= 3.0 && (p.height as f64 - t.size.1).abs() <= 3.0,
            "photo {}x{} for {t:?}",
            p.width,
            p.height
        );
    }
    // Without AUTO_DESKEW each photo is cut by its upright bounding box.
    let s = settings(&[(WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_MULTI)]);
    let out = process_page(&png(&truth.image), PageFormat::Png, (75, 75), &s).unwrap();
    let photos = out.report.findings.photos.unwrap();
    assert_eq!(out.pages.len(), photos.len());
    for (bytes, r) in out.pages.iter().zip(&photos) {
        let p = decode_page(bytes, PageFormat::Png, (1, 1)).unwrap();
        let b = r.bounding_rect(truth.image.width, truth.image.height);
        assert_eq!((p.width, p.height), (b.width, b.height));
    }
}

/// DetectRegions' geometry: each photo's bounding box and DESKEW_X/Y, offset by the item's
/// position, within 3 px of the truth; and the image filter rebuilds each photo from a
/// transfer of just that box.
#[test]
fn detected_regions_match_the_photos_and_cut_them_out_straight() {
    for (seed, count) in [(21, 2), (22, 4), (23, 6)] {
        let truth = synth::photos(&PhotosSpec::on_a4(100, count, seed));
        let img = &truth.image;
        let found = detect_regions(&png(img), PageFormat::Png, (100, 100), (10, 20)).unwrap();
        assert_eq!(found.len(), count, "seed {seed}");
        for t in &truth.photos {
            let dist = |c: &ChildRegion| {
                (c.region.center.0 - t.center.0).hypot(c.region.center.1 - t.center.1)
            };
            let c = found
                .iter()
                .min_by(|a, b| dist(a).total_cmp(&dist(b)))
                .expect("some");
            let b = t.bounding_rect(img.width, img.height);
            for (got, want) in [
                (c.xpos, 10 + b.x as i32),
                (c.ypos, 20 + b.y as i32),
                (c.xextent, b.width as i32),
                (c.yextent, b.height as i32),
            ] {
                assert!((got - want).abs() <= 3, "seed {seed}: {c:?} vs {t:?}");
            }
            let (dx, dy) = t.deskew_xy();
            assert!(
                (c.deskew_x - dx as i32).abs() <= 4 && (c.deskew_y - dy as i32).abs() <= 4,
                "seed {seed}: deskew {c:?} vs ({dx}, {dy})"
            );
            // A transfer of the child's box, filtered with its DESKEW_X/Y: the photo, straight.
            let boxed = scanwire_imaging::crop(
                img,
                scanwire_imaging::Rect {
                    x: (c.xpos - 10) as u32,
                    y: (c.ypos - 20) as u32,
                    width: c.xextent as u32,
                    height: c.yextent as u32,
                },
            )
            .unwrap();
            let s = settings(&[
                (WIA_IPS_DESKEW_X, c.deskew_x),
                (WIA_IPS_DESKEW_Y, c.deskew_y),
            ]);
            let out = process_page(&png(&boxed), PageFormat::Png, (100, 100), &s).unwrap();
            let p = decode_page(&out.pages[0], PageFormat::Png, (1, 1)).unwrap();
            if t.angle_deg.abs() > 1.0 {
                assert!(
                    (p.width as f64 - t.size.0).abs() <= 4.0
                        && (p.height as f64 - t.size.1).abs() <= 4.0,
                    "seed {seed}: straight photo {}x{} for {t:?}",
                    p.width,
                    p.height
                );
            }
        }
    }
}

#[test]
fn auto_crop_single_cuts_the_sheet_out_straight_from_the_lid() {
    let mut spec = SheetSpec::a4_on_platen(100, 8);
    spec.skew_deg = 3.0;
    let sheet = synth::sheet(&spec);
    let s = settings(&[
        (WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_SINGLE),
        (WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON),
    ]);
    let out = process_page(&png(&sheet.image), PageFormat::Png, (100, 100), &s).unwrap();
    let found = out
        .report
        .findings
        .crop
        .expect("the sheet against the dark lid");
    assert!((found.angle_deg - 3.0).abs() < 0.2, "{found:?}");
    assert_eq!(out.report.deskew_xy, Some(found.deskew_xy()));
    let p = decode_page(&out.pages[0], PageFormat::Png, (1, 1)).unwrap();
    assert!(
        (p.width as f64 - sheet.paper.size.0).abs() <= 3.0
            && (p.height as f64 - sheet.paper.size.1).abs() <= 3.0,
        "{}x{} for {:?}",
        p.width,
        p.height,
        sheet.paper
    );
    // Without deskew the crop is the sheet's upright bounding box.
    let s = settings(&[(WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_SINGLE)]);
    let out = process_page(&png(&sheet.image), PageFormat::Png, (100, 100), &s).unwrap();
    let p = decode_page(&out.pages[0], PageFormat::Png, (1, 1)).unwrap();
    let b = found.bounding_rect(sheet.image.width, sheet.image.height);
    assert_eq!((p.width, p.height), (b.width, b.height));
}

/// One page as the pipeline hands it to a stage.
fn pipeline_page(img: &Image, number: u32) -> PageImage {
    PageImage {
        page: PageInfo {
            number,
            sheet: 1,
            side: Side::Front,
            source: Source::Flatbed,
            data: PageData::Raster {
                pixel: img.pixel,
                width: img.width,
                height: Some(img.height),
            },
            dpi: img.dpi,
        },
        data: img.data.clone(),
        text: None,
    }
}

/// The image filter and the page pipeline's stage (what the CLI and the eSCL server run)
/// make the same pages of the same page: the WIA properties read as the settings the CLI
/// asks with, and one implementation processes both. PNG is lossless, so the pages the
/// filter encodes decode to exactly the stage's.
#[test]
fn the_filter_and_the_pipeline_stage_make_identical_pages() {
    let mut spec = SheetSpec::a4_on_platen(100, 61);
    spec.skew_deg = -4.0;
    let skewed = synth::sheet(&spec).image;
    let mut spec = SheetSpec::a4_on_platen(100, 62);
    spec.content = Content::Blank;
    let blank = synth::sheet(&spec).image;
    let mut spec = SheetSpec::a4_feeder(100, 63);
    spec.skew_deg = 3.0;
    let feeder = synth::sheet(&spec).image;
    let glass = synth::photos(&PhotosSpec::on_a4(100, 3, 64)).image;
    let cases: [(&[(u32, i32)], Processing); 4] = [
        // `--crop --deskew --blank split --rotate 90 --brightness 100 --contrast 150`
        (
            &[
                (WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_SINGLE),
                (WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON),
                (WIA_IPS_BRIGHTNESS, 100),
                (WIA_IPS_CONTRAST, 150),
                (WIA_IPS_ROTATION, LANDSCAPE),
                (WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_JOB_SEPARATOR),
                (WIA_IPS_JOB_SEPARATORS, WIA_SEPARATOR_DETECT_NOSCAN_CONTINUE),
            ],
            Processing {
                brightness: 100,
                contrast: 150,
                rotate: QuarterTurns::Ccw90,
                deskew: true,
                crop: Crop::Paper,
                blank: Blank::Split,
                ..Processing::default()
            },
        ),
        // `--crop` alone: the sheet's bounding box.
        (
            &[(WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_SINGLE)],
            Processing {
                crop: Crop::Paper,
                ..Processing::default()
            },
        ),
        // `--deskew --blank skip --rotate 180`: the text lines' angle, the whole page turned.
        (
            &[
                (WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON),
                (WIA_IPS_ROTATION, ROT180),
                (WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_DISCARD),
            ],
            Processing {
                deskew: true,
                rotate: QuarterTurns::Half,
                blank: Blank::Skip,
                ..Processing::default()
            },
        ),
        // `--crop photos --deskew --contrast -100`
        (
            &[
                (WIA_IPS_AUTO_CROP, WIA_AUTO_CROP_MULTI),
                (WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON),
                (WIA_IPS_CONTRAST, -100),
            ],
            Processing {
                contrast: -100,
                deskew: true,
                crop: Crop::Photos,
                ..Processing::default()
            },
        ),
    ];
    let mut separators = 0;
    for (props, cli) in cases {
        let s = settings(props);
        assert_eq!(s.processing, cli, "{props:?}");
        let report = ProcessingReport::new();
        let stages = cli.stages(&report).unwrap();
        assert_eq!(stages.len(), 1);
        for (n, page) in [&skewed, &blank, &feeder, &glass].into_iter().enumerate() {
            let number = n as u32 + 1;
            let bytes = png(page);
            let filtered = process_page(&bytes, PageFormat::Png, page.dpi, &s).unwrap();
            // The stage gets the page the filter decodes (the same pixels; pHYs holds the
            // resolution in whole pixels per metre, so it may come back one dpi lower).
            let input = decode_page(&bytes, PageFormat::Png, page.dpi).unwrap();
            assert!(input.data == page.data);
            let staged = stages[0]
                .process_outputs(pipeline_page(&input, number))
                .unwrap();
            let staged_pages: Vec<&PageImage> = staged
                .iter()
                .filter_map(|o| match o {
                    StageOutput::Page(p) => Some(p),
                    StageOutput::Separator => None,
                })
                .collect();
            let what = format!("{props:?}, page {number}");
            assert_eq!(filtered.pages.len(), staged_pages.len(), "{what}");
            for (bytes, staged) in filtered.pages.iter().zip(&staged_pages) {
                let f = decode_page(bytes, PageFormat::Png, page.dpi).unwrap();
                let (pixel, width, height) = staged.layout();
                assert_eq!(
                    (f.pixel, f.width, f.height, f.dpi),
                    (pixel, width, height, staged.page.dpi),
                    "{what}"
                );
                assert!(f.data == staged.data, "{what}: the pixels differ");
            }
            // The same findings, the filter's page number aside.
            let mut found = filtered.report.findings.clone();
            found.scanned = number;
            assert_eq!(Some(found), report.page(number), "{what}");
            let separator = staged.contains(&StageOutput::Separator);
            assert_eq!(filtered.report.findings.separator, separator, "{what}");
            separators += separator as u32;
        }
    }
    assert_eq!(
        separators, 1,
        "the blank sheet separates with JOB_SEPARATOR"
    );
}

#[test]
fn the_page_buffer_is_a_memory_stream() {
    use scanwire_com::filter::PageBuffer;
    use std::io::SeekFrom;
    let b = PageBuffer::default();
    b.write(b"BM....data").unwrap();
    // Drivers seek back to patch a header.
    assert_eq!(b.seek(SeekFrom::Start(2)).unwrap(), 2);
    b.write(b"1234").unwrap();
    assert_eq!(b.seek(SeekFrom::End(0)).unwrap(), 10);
    assert_eq!(b.seek(SeekFrom::Current(2)).unwrap(), 12);
    b.write(b"!").unwrap();
    b.seek(SeekFrom::Start(0)).unwrap();
    let mut out = [0u8; 32];
    assert_eq!(b.read(&mut out), 13);
    assert_eq!(&out[..13], b"BM1234data\0\0!");
    assert!(b.seek(SeekFrom::Current(-100)).is_err());
    b.set_size(4).unwrap();
    assert_eq!(b.take(), b"BM12");
    assert!(b.is_empty());
}

// ---------------------------------------------------------------------------------------------
// the image filter's transfer, delivering to Scanwire's application adapter

struct Adapter(AppAdapter);

impl Application for Adapter {
    type Stream = Arc<SinkSlot>;
    fn get_next_stream(&mut self, _: i32, _: &str, _: &str) -> Result<Arc<SinkSlot>, HResult> {
        self.0.get_next_stream()
    }
    fn write(&mut self, s: &mut Arc<SinkSlot>, data: &[u8]) -> Result<(), HResult> {
        s.write(data)
    }
    fn transfer_callback(&mut self, _: i32, p: &WiaTransferParams) -> HResult {
        self.0.transfer_callback(Some(p))
    }
}

fn filter(script: Script) -> (ImageFilter<Adapter>, RecordingHandle) {
    let (rec, log) = Recorder::scripted(script);
    let template = PageTemplate {
        source: Source::Feeder,
        data: PageData::Encoded(Encoding::Png),
        dpi: (100, 100),
    };
    let mut f = ImageFilter::default();
    f.initialize(Adapter(AppAdapter::new(
        Box::new(rec),
        template,
        CancelHandle::new(),
    )));
    (f, log)
}

fn setup(pairs: &[(u32, i32)]) -> Option<PageSetup> {
    PageSetup::for_item(
        scanwire_com::options::WIA_CATEGORY_FEEDER,
        FilterSettings::from_properties(&Props::with(pairs)),
        WIA_IMG_FMT_PNG,
        (100, 100),
    )
    .unwrap()
}

/// What a driver does for one page: a stream, the bytes in two writes, STATUS, END_OF_STREAM.
fn drive_page(f: &mut ImageFilter<Adapter>, bytes: &[u8], s: Option<PageSetup>) -> HResult {
    match f.get_next_stream(0, "Feeder", "0000\\Root\\Feeder", s) {
        Ok(Begin::Buffer(b)) => {
            let half = bytes.len() / 2;
            b.write(&bytes[..half]).unwrap();
            assert_eq!(
                f.transfer_callback(0, Some(&WiaTransferParams::status(50, half as u64))),
                wia::S_OK
            );
            b.write(&bytes[half..]).unwrap();
            let eos = WiaTransferParams::raw(
                wia::WIA_TRANSFER_MSG_END_OF_STREAM,
                100,
                bytes.len() as u64,
                wia::S_OK,
            );
            f.transfer_callback(0, Some(&eos))
        }
        Ok(Begin::Direct(slot)) => {
            slot.write(bytes).unwrap();
            let eos = WiaTransferParams::raw(
                wia::WIA_TRANSFER_MSG_END_OF_STREAM,
                100,
                bytes.len() as u64,
                wia::S_OK,
            );
            f.transfer_callback(0, Some(&eos))
        }
        Err(hr) => hr,
    }
}

fn end(f: &mut ImageFilter<Adapter>, hr: HResult) -> HResult {
    let eot = WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_TRANSFER, 100, 0, hr);
    f.transfer_callback(0, Some(&eot))
}

#[test]
fn the_filter_deskews_rotates_and_drops_blank_pages_with_a_valid_grammar() {
    let (mut f, log) = filter(Script::default());
    let props = [
        (WIA_IPS_AUTO_DESKEW, WIA_AUTO_DESKEW_ON),
        (WIA_IPS_ROTATION, ROT180),
        (WIA_IPS_BLANK_PAGES, WIA_BLANK_PAGE_DISCARD),
    ];
    let sheets = [text_page(5.0, 31), blank_page(32), text_page(-3.0, 33)];
    for s in &sheets {
        assert_eq!(drive_page(&mut f, &png(s), setup(&props)), wia::S_OK);
    }
    assert_eq!(end(&mut f, wia::S_OK), wia::S_OK);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(
        rec.pages.len(),
        2,
        "the blank page is not the application's"
    );
    for (page, (sheet, skew)) in rec
        .pages
        .iter()
        .zip([(&sheets[0], 5.0), (&sheets[2], -3.0)])
    {
        assert_eq!(page.closed, Some(wia::S_OK));
        let img = decode_page(&page.data, PageFormat::Png, (1, 1)).unwrap();
        assert_eq!((img.width, img.height), (sheet.width, sheet.height));
        let residual = detect_skew(&img).unwrap().angle_deg;
        assert!(residual.abs() < 0.2, "residual {residual} after {skew}");
    }
    assert_eq!(
        rec.pages[1].info.number, 2,
        "pages numbered as the application keeps them"
    );
    let reports = f.reports();
    assert_eq!(reports.len(), 3);
    assert!(reports[1].as_ref().unwrap().discarded());
    assert_eq!(reports[2].as_ref().unwrap().findings.scanned, 3);
    assert!(f.found_deskew_xy().is_some());
}

#[test]
fn an_item_with_nothing_to_do_gets_the_applications_stream_itself() {
    let (mut f, log) = filter(Script::default());
    let bytes = png(&text_page(0.0, 41));
    assert_eq!(drive_page(&mut f, &bytes, setup(&[])), wia::S_OK);
    assert_eq!(end(&mut f, wia::S_OK), wia::S_OK);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].data, bytes, "untouched");
}

#[test]
fn a_cancel_reaches_the_driver_and_stays() {
    let (mut f, log) = filter(Script {
        cancel_at_status: Some(1),
        ..Default::default()
    });
    let props = [(WIA_IPS_ROTATION, LANDSCAPE)];
    let hr = match f.get_next_stream(0, "Feeder", "F", setup(&props)).unwrap() {
        Begin::Buffer(b) => {
            b.write(&png(&text_page(0.0, 51))).unwrap();
            f.transfer_callback(0, Some(&WiaTransferParams::status(50, 10)))
        }
        Begin::Direct(_) => panic!("processing was asked for"),
    };
    assert_eq!(hr, wia::S_FALSE);
    let eos = WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_STREAM, 50, 10, wia::S_FALSE);
    assert_eq!(f.transfer_callback(0, Some(&eos)), wia::S_FALSE);
    assert!(matches!(
        f.get_next_stream(0, "Feeder", "F", setup(&props)),
        Err(wia::S_FALSE)
    ));
    end(&mut f, wia::S_FALSE);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert!(
        rec.pages.is_empty(),
        "the cancelled page never reached the application"
    );
}

#[test]
fn a_page_that_cannot_be_processed_fails_the_transfer() {
    let (mut f, log) = filter(Script::default());
    let props = [(WIA_IPS_ROTATION, LANDSCAPE)];
    assert_eq!(
        drive_page(&mut f, b"garbage", setup(&props)),
        E_INVALID_DATA
    );
    assert!(f.reports()[0]
        .as_ref()
        .unwrap_err()
        .contains("not a valid PNG"));
    end(&mut f, E_INVALID_DATA);
    log.snapshot().check_grammar().unwrap();
    assert_eq!(f.transfer_callback(0, None), wia::E_POINTER);
    let _ = WIA_IMG_FMT_JPEG;
}
