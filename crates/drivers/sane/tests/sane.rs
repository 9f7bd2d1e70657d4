//! The SANE driver against the real SANE `test` backend and scanimage: pixel-for-pixel
//! output, faults, the feeder table, cancel, and options.
//!
//! Every scan runs through `scanwire_core::transfer::run` in strict verify mode with the
//! recording application of `common`. Without libsane or the test backend the tests print a
//! note and pass, unless SCANWIRE_REQUIRE_PEERS=1.

mod common;

use common::*;
use scanwire_core::device::{
    parse_settings, ColorMode, DeviceErrorKind, Driver, OptionType, OptionValue, PageData,
    PixelFormat, Resolutions, ScanRequest, Source,
};
use scanwire_core::transfer::CancelHandle;
use scanwire_core::wia::{self, HResult};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PATTERN: (&str, &str) = ("test-picture", "Color pattern");
const GRID: (&str, &str) = ("test-picture", "Grid");

/// One scan on test:0, described once: Scanwire's request and scanimage's arguments are both
/// derived from it, so a comparison cannot drift into comparing different scans.
#[derive(Clone, Copy)]
struct Case<'a> {
    mode: ColorMode,
    dpi: u32,
    /// left, top, width, height in mm; `None` leaves the backend's default area.
    area: Option<(u32, u32, u32, u32)>,
    /// Backend options, passed as `--set` to Scanwire and `--name=value` to scanimage.
    options: &'a [(&'a str, &'a str)],
}

impl<'a> Case<'a> {
    fn new(
        mode: ColorMode,
        dpi: u32,
        area: (u32, u32, u32, u32),
        options: &'a [(&'a str, &'a str)],
    ) -> Self {
        Case {
            mode,
            dpi,
            area: Some(area),
            options,
        }
    }

    fn request(&self) -> ScanRequest {
        let mut r = request(
            self.mode,
            self.dpi,
            self.area.unwrap_or((0, 0, 0, 0)),
            self.options,
        );
        if self.area.is_none() {
            r.area = None;
        }
        r
    }

    /// scanimage's spelling of the same scan: SANE has no lineart or 16-bit modes, only
    /// Gray/Color with a depth.
    fn scanimage_args(&self) -> Vec<String> {
        let (mode, depth) = match self.mode {
            ColorMode::Lineart => ("Gray", 1),
            ColorMode::Gray => ("Gray", 8),
            ColorMode::Gray16 => ("Gray", 16),
            ColorMode::Color => ("Color", 8),
            ColorMode::Color48 => ("Color", 16),
        };
        let mut args = vec![
            format!("--mode={mode}"),
            format!("--depth={depth}"),
            format!("--resolution={}", self.dpi),
        ];
        if let Some((l, t, w, h)) = self.area {
            args.extend([
                format!("-l{l}"),
                format!("-t{t}"),
                format!("-x{w}"),
                format!("-y{h}"),
            ]);
        }
        args.extend(self.options.iter().map(|(k, v)| format!("--{k}={v}")));
        args
    }
}

/// Scans `ours` with Scanwire and `theirs` with scanimage, and compares the images.
fn compare_with(env: &Env, what: &str, ours: Case, theirs: Case) -> Log {
    let device = open(env, "sane:test:0");
    let (o, log) = scan(&device, &ours.request());
    assert_eq!(o.result, wia::S_OK, "{what}: {:?}", o.error);
    assert_eq!(log.complete().len(), 1, "{what}");
    drop(device);
    let args = theirs.scanimage_args();
    let mut image = scanimage(env, &args.iter().map(String::as_str).collect::<Vec<_>>());
    clear_pbm_padding(&mut image);
    assert_same_image(&as_pnm(log.complete()[0]), &image, what);
    log
}

/// Scans the same case with both and compares the images.
fn compare(env: &Env, what: &str, case: Case) -> Log {
    compare_with(env, what, case, case)
}

#[test]
fn lists_the_test_devices_with_sane_ids() {
    let Some(env) = env() else { return };
    let ids: Vec<String> = env
        .driver
        .devices()
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(ids.contains(&"sane:test:0".to_string()), "{ids:?}");
    assert!(ids.contains(&"sane:test:1".to_string()), "{ids:?}");
    let (path, version) = env.driver.library_info().unwrap();
    assert!(path.to_string_lossy().contains("libsane"), "{path:?}");
    assert!(version.starts_with("1."), "{version}");
}

#[test]
fn capabilities_of_the_test_backend() {
    let Some(env) = env() else { return };
    let _g = lock();
    let dev = open(env, "sane:test:0");
    let caps = dev.lock().unwrap().capabilities().unwrap();
    let sources: Vec<Source> = caps.sources.iter().map(|s| s.source).collect();
    assert_eq!(sources, vec![Source::Flatbed, Source::Feeder]);
    let fb = &caps.sources[0];
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
    // geometry_max 300.0 from the private test.conf: an A4 page fits.
    assert_eq!(fb.max_area.width.as_mm(), 300.0);
    assert_eq!(fb.max_area.height.as_mm(), 300.0);
    assert!(fb.raw && fb.encodings.is_empty());
}

#[test]
fn opening_errors_say_what_is_wrong() {
    let Some(env) = env() else { return };
    let _g = lock();
    let e = env.driver.open("sane:test:9").err().expect("no test:9");
    // A device that is not there is the request's fault (the CLI exits 2), as an unknown id is.
    assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
    assert!(e.detail().contains("no SANE device `test:9`"), "{e}");
    let e = env.driver.open("test:0").err().expect("not an id");
    assert!(e.detail().contains("sane:<SANE name>"), "{e}");
    let first = open(env, "sane:test:0");
    let e = env.driver.open("sane:test:0").err().expect("busy");
    assert_eq!(e.kind(), DeviceErrorKind::Busy, "{e}");
    drop(first);
    env.driver
        .open("sane:test:0")
        .expect("free again after close");
}

// ---------------------------------------------------------------------------------------
// Pixel for pixel against scanimage

#[test]
fn gray_8_bit_pattern_matches_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "gray 8-bit 50 dpi",
        Case::new(ColorMode::Gray, 50, (0, 0, 80, 100), &[PATTERN]),
    );
}

#[test]
fn color_region_matches_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "color 8-bit 100 dpi, region",
        Case::new(ColorMode::Color, 100, (10, 20, 60, 50), &[PATTERN]),
    );
}

#[test]
fn gray_16_bit_matches_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "gray 16-bit 75 dpi",
        Case::new(ColorMode::Gray16, 75, (0, 0, 80, 100), &[PATTERN]),
    );
}

#[test]
fn color_48_bit_grid_matches_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "color 16-bit 60 dpi grid",
        Case::new(ColorMode::Color48, 60, (5, 5, 70, 90), &[GRID]),
    );
}

#[test]
fn lineart_1_bit_matches_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "lineart 150 dpi grid",
        Case::new(ColorMode::Lineart, 150, (0, 0, 83, 61), &[GRID]),
    );
    compare(
        env,
        "lineart 75 dpi pattern",
        Case::new(ColorMode::Lineart, 75, (0, 0, 80, 100), &[PATTERN]),
    );
}

#[test]
fn solid_pictures_match_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "solid black color 300 dpi",
        Case::new(
            ColorMode::Color,
            300,
            (0, 0, 50, 40),
            &[("test-picture", "Solid black")],
        ),
    );
    compare(
        env,
        "solid white gray 200 dpi",
        Case::new(
            ColorMode::Gray,
            200,
            (0, 0, 40, 30),
            &[("test-picture", "Solid white")],
        ),
    );
}

#[test]
fn a4_color_at_300_dpi_matches_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    let log = compare(
        env,
        "A4 color 300 dpi",
        Case::new(ColorMode::Color, 300, (0, 0, 210, 297), &[PATTERN]),
    );
    let page = log.complete()[0];
    assert_eq!(
        page.info.data,
        PageData::Raster {
            pixel: PixelFormat::Rgb8,
            width: 2480,
            height: Some(3507)
        }
    );
    // STATUS after the bands, with growing percent, ending at 100.
    let pcts: Vec<i32> = log.statuses.iter().map(|s| s.lPercentComplete).collect();
    assert!(pcts.windows(2).all(|w| w[0] <= w[1]), "{pcts:?}");
    assert_eq!(pcts.last(), Some(&100));
    assert!(pcts.len() > 3, "{pcts:?}");
}

#[test]
fn three_pass_frames_are_assembled_like_scanimage() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    compare(
        env,
        "three-pass color 8-bit, GBR",
        Case::new(
            ColorMode::Color,
            50,
            (0, 0, 80, 100),
            &[PATTERN, ("three-pass", "yes"), ("three-pass-order", "GBR")],
        ),
    );
    // scanimage 1.1.1 cannot write 16-bit three-pass scans (it asserts `parm.depth == 8`);
    // the test backend's three-pass frames hold the same samples as its one-pass scan, so
    // compare with that.
    compare_with(
        env,
        "three-pass color 16-bit",
        Case::new(
            ColorMode::Color48,
            40,
            (0, 0, 80, 100),
            &[PATTERN, ("three-pass", "yes")],
        ),
        Case::new(ColorMode::Color48, 40, (0, 0, 80, 100), &[PATTERN]),
    );
}

/// With `ppl-loss`, bytes_per_line is larger than the pixels need. scanimage writes the
/// padded lines as they come (its header says the narrower width, so its file is not a valid
/// PNM); we strip the padding. Compare each line's pixels.
#[test]
fn ppl_loss_padding_is_stripped() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    for (mode, bytes_per_px) in [
        (ColorMode::Gray, 1usize),
        (ColorMode::Color, 3),
        (ColorMode::Gray16, 2),
    ] {
        let case = Case::new(mode, 50, (0, 0, 80, 100), &[PATTERN, ("ppl-loss", "7")]);
        let device = open(env, "sane:test:0");
        let (o, log) = scan(&device, &case.request());
        assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
        let ours = as_pnm(log.complete()[0]);
        drop(device);
        let args = case.scanimage_args();
        let theirs = scanimage(env, &args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!((ours.width, ours.height), (theirs.width, theirs.height));
        let used = theirs.width as usize * bytes_per_px;
        let padded = theirs.raster.len() / theirs.height as usize;
        assert_eq!(
            padded,
            used + 7 * bytes_per_px,
            "scanimage keeps the padding"
        );
        let stripped: Vec<u8> = theirs
            .raster
            .chunks_exact(padded)
            .flat_map(|line| line[..used].to_vec())
            .collect();
        let mut expected = Pnm {
            raster: stripped,
            ..theirs
        };
        expected.raster.truncate(used * expected.height as usize);
        assert_same_image(&ours, &expected, &format!("ppl-loss {mode:?}"));
    }
}

#[test]
fn hand_scanner_pages_have_unknown_height() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    // The hand scanner has its own fixed width: no area.
    let case = Case {
        mode: ColorMode::Gray,
        dpi: 50,
        area: None,
        options: &[PATTERN, ("hand-scanner", "yes")],
    };
    let device = open(env, "sane:test:0");
    let (o, log) = scan(&device, &case.request());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    let page = log.complete()[0];
    let PageData::Raster { height, width, .. } = page.info.data else {
        panic!("a hand scanner page is raster: {:?}", page.info.data)
    };
    assert_eq!(height, None, "hand scanners do not know the height");
    assert_eq!(width, 216, "the test backend's hand scanner is 110 mm wide");
    // Unknown height: percent stays 0 until the end.
    assert!(log
        .statuses
        .iter()
        .rev()
        .skip(1)
        .all(|s| s.lPercentComplete == 0));
    assert_eq!(log.statuses.last().unwrap().lPercentComplete, 100);
    let args = case.scanimage_args();
    let theirs = scanimage(env, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_same_image(&as_pnm(page), &theirs, "hand scanner");
}

#[test]
fn feeder_batch_matches_scanimage_page_for_page() {
    let Some(env) = env_with_scanimage() else {
        return;
    };
    let _g = lock();
    let case = Case::new(ColorMode::Color, 50, (0, 0, 80, 100), &[PATTERN]);
    let device = open(env, "sane:test:0");
    let (o, log) = scan(&device, &feeder(case.request(), None));
    assert_eq!(
        o.result,
        wia::S_OK,
        "all pages asked, feeder emptied: S_OK ({:?})",
        o.error
    );
    assert_eq!(o.pages, 10);
    let dir = env.dir.join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    let pattern = dir.join("p%02d.pnm");
    let out = std::process::Command::new(env.scanimage.as_ref().unwrap())
        .env("SANE_CONFIG_DIR", &env.dir)
        .args([
            "-d",
            "test:0",
            "--format=pnm",
            "--source",
            "Automatic Document Feeder",
        ])
        .args(case.scanimage_args())
        .arg(format!("--batch={}", pattern.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, page) in log.complete().iter().enumerate() {
        assert_eq!(page.info.number, i as u32 + 1);
        assert_eq!(page.info.source, Source::Feeder);
        let theirs = parse_pnm(&std::fs::read(dir.join(format!("p{:02}.pnm", i + 1))).unwrap());
        assert_same_image(&as_pnm(page), &theirs, &format!("ADF page {}", i + 1));
    }
    assert!(
        !dir.join("p11.pnm").exists(),
        "scanimage also stops after 10"
    );
}

// ---------------------------------------------------------------------------------------
// The feeder outcome table and faults

#[test]
fn feeder_outcomes_follow_the_table() {
    let Some(env) = env() else { return };
    let _g = lock();
    let small = request(ColorMode::Gray, 30, (0, 0, 40, 40), &[]);
    // All pages: the feeder runs out after 10, S_OK.
    let device = open(env, "sane:test:0");
    let (o, _) = scan(&device, &feeder(small.clone(), None));
    assert_eq!((o.result, o.pages), (wia::S_OK, 10));
    // The test backend refills its feeder after reporting it empty: another 10.
    let (o, _) = scan(&device, &feeder(small.clone(), None));
    assert_eq!((o.result, o.pages), (wia::S_OK, 10));
    drop(device);
    // Empty before the first page: PAPER_EMPTY, nothing delivered.
    let device = open(env, "sane:test:0");
    let no_paper = feeder(
        request(
            ColorMode::Gray,
            30,
            (0, 0, 40, 40),
            &[("read-return-value", "SANE_STATUS_NO_DOCS")],
        ),
        Some(5),
    );
    let (o, log) = scan(&device, &no_paper);
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_EMPTY, "{:?}", o.error);
    assert!(log.pages.is_empty());
    drop(device);
    // 12 asked, 10 there: END_OF_MEDIA with the 10.
    let device = open(env, "sane:test:0");
    let (o, log) = scan(&device, &feeder(small.clone(), Some(12)));
    assert_eq!(
        (o.result, o.pages),
        (wia::WIA_STATUS_END_OF_MEDIA, 10),
        "{:?}",
        o.error
    );
    assert_eq!(log.complete().len(), 10);
    drop(device);
    // 3 asked: exactly 3, S_OK; the next acquisition continues with the sheets left.
    let device = open(env, "sane:test:0");
    let (o, _) = scan(&device, &feeder(small.clone(), Some(3)));
    assert_eq!((o.result, o.pages), (wia::S_OK, 3));
    let (o, _) = scan(&device, &feeder(small, Some(10)));
    assert_eq!((o.result, o.pages), (wia::WIA_STATUS_END_OF_MEDIA, 7));
}

#[test]
fn read_faults_map_to_their_wia_codes_and_the_handle_recovers() {
    let Some(env) = env() else { return };
    let _g = lock();
    let cases: [(&str, HResult); 11] = [
        ("SANE_STATUS_JAMMED", wia::WIA_ERROR_PAPER_JAM),
        ("SANE_STATUS_COVER_OPEN", wia::WIA_ERROR_COVER_OPEN),
        ("SANE_STATUS_IO_ERROR", wia::WIA_ERROR_DEVICE_COMMUNICATION),
        ("SANE_STATUS_DEVICE_BUSY", wia::WIA_ERROR_BUSY),
        ("SANE_STATUS_NO_DOCS", wia::WIA_ERROR_PAPER_EMPTY),
        ("SANE_STATUS_NO_MEM", wia::E_OUTOFMEMORY),
        ("SANE_STATUS_INVAL", wia::E_INVALIDARG),
        ("SANE_STATUS_UNSUPPORTED", wia::WIA_ERROR_INVALID_COMMAND),
        ("SANE_STATUS_ACCESS_DENIED", wia::WIA_ERROR_OFFLINE),
        ("SANE_STATUS_EOF", wia::WIA_ERROR_DEVICE_COMMUNICATION),
        ("SANE_STATUS_CANCELLED", wia::S_FALSE),
    ];
    let good = request(ColorMode::Gray, 50, (0, 0, 30, 30), &[PATTERN]);
    let (_, reference) = scan(&open(env, "sane:test:0"), &good);
    for (status, hr) in cases {
        for source in [Source::Flatbed, Source::Feeder] {
            // A fresh handle each time: the test backend's feeder counts every sane_start
            // of a handle and runs dry after ten.
            let device = open(env, "sane:test:0");
            let mut req = request(
                ColorMode::Gray,
                50,
                (0, 0, 30, 30),
                &[("read-return-value", status)],
            );
            req.source = source;
            let (o, log) = scan(&device, &req);
            assert_eq!(o.result, hr, "{status} on {source}: {:?}", o.error);
            assert!(log.complete().is_empty(), "{status}");
            if let Some(e) = &o.error {
                assert!(
                    e.detail()
                        .contains(status.trim_start_matches("SANE_STATUS_")),
                    "{e}"
                );
            }
            // The option went back to Default: the next scan on the same handle works.
            let (o, log) = scan(&device, &good);
            assert_eq!(o.result, wia::S_OK, "after {status}: {:?}", o.error);
            assert_eq!(log.complete()[0].data, reference.complete()[0].data);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cancel

fn slow() -> ScanRequest {
    // The test backend writes the pattern in pieces of about ten lines, pausing before each:
    // 196 lines, 100 ms apart, about 2 s. Small reads make many bands.
    request(
        ColorMode::Gray,
        50,
        (0, 0, 80, 100),
        &[
            PATTERN,
            ("read-limit", "yes"),
            ("read-limit-size", "512"),
            ("read-delay", "yes"),
            ("read-delay-duration", "100000"),
        ],
    )
}

#[test]
fn cancel_mid_page_is_prompt_and_the_next_scan_works() {
    let Some(env) = env() else { return };
    let _g = lock();
    let device = open(env, "sane:test:0");
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        c2.cancel();
        Instant::now()
    });
    let started = Instant::now();
    let (o, log) = scan_with(&device, &slow(), &cancel, None);
    let ended = Instant::now();
    let cancelled_at = t.join().unwrap();
    assert_eq!(o.result, wia::S_FALSE, "{:?}", o.error);
    let latency = ended.duration_since(cancelled_at);
    assert!(latency < Duration::from_secs(1), "cancel took {latency:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the page was not read to the end"
    );
    assert_eq!(log.pages.len(), 1, "the page had started");
    assert_eq!(log.pages[0].closed, Some(wia::S_FALSE));
    assert!(
        !log.pages[0].data.is_empty(),
        "cancelled mid-page, not before it"
    );
    eprintln!("cancel latency {latency:?}");
    // The same handle scans again, at full speed (the slow options were restored).
    let t0 = Instant::now();
    let (o, log) = scan(
        &device,
        &request(ColorMode::Gray, 50, (0, 0, 80, 100), &[PATTERN]),
    );
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(log.complete().len(), 1);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[test]
fn application_cancel_at_a_status_stops_the_scan() {
    let Some(env) = env() else { return };
    let _g = lock();
    let device = open(env, "sane:test:0");
    let t0 = Instant::now();
    let (o, log) = scan_with(&device, &slow(), &CancelHandle::new(), Some(2));
    assert_eq!(o.result, wia::S_FALSE);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(log.statuses.len(), 2, "nothing after S_FALSE");
    assert_eq!(log.pages[0].closed, Some(wia::S_FALSE));
    let (o, _) = scan(&device, &request(ColorMode::Gray, 50, (0, 0, 20, 20), &[]));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
}

#[test]
fn cancel_between_feeder_pages_keeps_the_finished_ones() {
    let Some(env) = env() else { return };
    let _g = lock();
    let device = open(env, "sane:test:0");
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    // Each page takes ~0.5 s (the pattern is written in ten-line pieces, 50 ms apart).
    let req = feeder(
        request(
            ColorMode::Gray,
            25,
            (0, 0, 80, 100),
            &[
                PATTERN,
                ("read-delay", "yes"),
                ("read-delay-duration", "50000"),
            ],
        ),
        None,
    );
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(900));
        c2.cancel();
    });
    let (o, log) = scan_with(&device, &req, &cancel, None);
    t.join().unwrap();
    assert_eq!(o.result, wia::S_FALSE);
    let complete = log.complete().len();
    assert!((1..10).contains(&complete), "{complete} pages");
    assert_eq!(o.pages as usize, complete);
}

// ---------------------------------------------------------------------------------------
// Options

#[test]
fn every_option_type_lists_without_panicking() {
    let Some(env) = env() else { return };
    let _g = lock();
    drop(open(env, "sane:test:0")); // waits until the previous test's handle is closed
    let mut dev = env.driver.open_device("sane:test:0").unwrap();
    dev.set_options(&BTreeMap::from([(
        "enable-test-options".to_string(),
        OptionValue::Bool(true),
    )]))
    .unwrap();
    let list = dev.option_list().unwrap();
    let get = |n: &str| {
        list.iter()
            .find(|o| o.name == n)
            .unwrap_or_else(|| panic!("{n} missing from {list:#?}"))
            .clone()
    };
    let o = get("int-constraint-array-constraint-range");
    assert_eq!(o.kind, OptionType::Text);
    assert!(
        o.help.contains("int[6] dpi 4..=192 dpi, step 2"),
        "{}",
        o.help
    );
    let o = get("fixed-constraint-word-list");
    assert_eq!(
        (o.type_text().as_str(), o.allowed_text().as_str()),
        ("fixed", "-32.7|12.1|42|129.5")
    );
    let o = get("string-constraint-long-string-list");
    assert_eq!(o.value, Some(OptionValue::Text("First entry".into())));
    assert!(
        o.allowed_text()
            .starts_with("First entry|Second entry|3|4|"),
        "{}",
        o.allowed_text()
    );
    assert_eq!(get("button").kind, OptionType::Button);
    assert_eq!(
        get("bool-soft-select-soft-detect").allowed_text(),
        "true|false"
    );
    assert!(get("bool-soft-detect").help.contains("read-only"));
    assert!(get("red-gamma-table").help.contains("int["));
    assert_eq!(get("mode").allowed_text(), "Gray|Color");
    let delay = get("read-delay-duration");
    assert!(delay.value.is_none() && delay.help.contains("inactive"));
    // Every type settable through --set, and scanning still works.
    let req = request(
        ColorMode::Gray,
        50,
        (0, 0, 20, 20),
        &[
            ("int", "-7"),
            ("fixed", "1.5"),
            ("string", "hello"),
            ("button", "press"),
            ("int-constraint-array", "1,2,3,4,5,6"),
            ("int-constraint-range", "8"),
            ("bool-soft-select-soft-detect-auto", "auto"),
            ("string-constraint-long-string-list", "46"),
            ("gamma-table", "128"),
        ],
    );
    let shared = scanwire_core::transfer::share(Box::new(dev));
    let (o, _) = scan(&shared, &req);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    // And they were restored afterwards.
    let list = shared.lock().unwrap().options();
    let int = list.iter().find(|o| o.name == "int").unwrap();
    assert_eq!(int.value, Some(OptionValue::Int(42)));
}

#[test]
fn bad_set_values_name_the_constraint() {
    let Some(env) = env() else { return };
    let _g = lock();
    let device = open(env, "sane:test:0");
    // Text is refused by scanwire-core's parser against the listed options…
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("depth", "12")],
            "invalid value `12` for option depth: 12 is not one of the allowed values; allowed: 1|8|16",
        ),
        (
            &[("resolution", "5000")],
            "5000 is out of range; allowed: 1..=1200 dpi",
        ),
        (
            &[("test-picture", "Plaid")],
            "allowed: Solid black|Solid white|Color pattern|Grid",
        ),
        (
            &[("no-such-option", "1")],
            "unknown option `no-such-option`; allowed: ",
        ),
        (
            &[("int-constraint-range", "5")],
            "5 is not on a step; allowed: 4..=192 px, step 2",
        ),
    ];
    for (set, want) in cases {
        let pairs: Vec<(String, String)> = set
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let e = parse_settings(&env.options, &pairs).unwrap_err();
        assert!(e.to_string().contains(want), "{set:?}: {e}");
    }
    // …and the driver refuses what only the device can judge, and typed values built in
    // code, before scanning.
    let base = || request(ColorMode::Gray, 50, (0, 0, 20, 20), &[]);
    let typed: [(&str, OptionValue, &str); 4] = [
        (
            "read-delay-duration",
            OptionValue::Int(2000),
            "`read-delay-duration` is inactive",
        ),
        ("depth", OptionValue::Int(12), "allowed: 1|8|16"),
        (
            "no-such-option",
            OptionValue::Int(1),
            "test:0 has no option `no-such-option`",
        ),
        (
            "depth",
            OptionValue::Text("8".into()),
            "not a value of type int",
        ),
    ];
    for (name, value, want) in typed {
        let mut r = base();
        r.options.insert(name.into(), value.clone());
        let (o, log) = scan(&device, &r);
        assert_eq!(o.result, wia::E_INVALIDARG, "{name}={value}");
        let e = o.error.unwrap();
        assert!(e.detail().contains(want), "{name}={value}: {e}");
        assert!(log.pages.is_empty());
    }
    // None of it stuck.
    let (o, _) = scan(&device, &base());
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
}
