//! The library end to end on a temporary state directory: pages stored losslessly, edits,
//! manual duplex, PDF (checked by qpdf and poppler), ZIP, archive, presets.

use scanwire_codecs::{TextLayer, TextWord};
use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use scanwire_library::*;
use scanwire_pipeline::PageImage;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// A `w`×`h` page whose every pixel encodes its position and `seed`.
fn page(pixel: PixelFormat, w: u32, h: u32, seed: u8) -> PageImage {
    let bpl = pixel.bytes_per_line(w);
    let mut data = vec![0u8; bpl * h as usize];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i as u32)
            .wrapping_mul(31)
            .wrapping_add(u32::from(seed) * 7) as u8;
    }
    PageImage {
        page: PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Feeder,
            data: PageData::Raster {
                pixel,
                width: w,
                height: Some(h),
            },
            dpi: (150, 150),
        },
        data,
        text: None,
    }
}

fn gray(seed: u8) -> PageImage {
    page(PixelFormat::Gray8, 60, 80, seed)
}

fn open(dir: &Path) -> Library {
    Library::open(LibraryConfig::new(dir.join("state"))).unwrap()
}

fn decode(png: &[u8], pixel: PixelFormat) -> Vec<u8> {
    let mode = match pixel {
        PixelFormat::BlackAndWhite1 => scanwire_core::device::ColorMode::Lineart,
        PixelFormat::Gray8 => scanwire_core::device::ColorMode::Gray,
        PixelFormat::Gray16 => scanwire_core::device::ColorMode::Gray16,
        PixelFormat::Rgb8 => scanwire_core::device::ColorMode::Color,
        PixelFormat::Rgb16 => scanwire_core::device::ColorMode::Color48,
    };
    scanwire_codecs::decode::decode(png, Some(mode))
        .unwrap()
        .data
}

/// Whether a peer program is there; without it the test skips (fails under
/// SCANWIRE_REQUIRE_PEERS=1).
fn peer(program: &str) -> bool {
    scanwire_testkit::have(program, "-v")
}

#[test]
fn pages_are_stored_losslessly_with_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("Letters"), None).unwrap();
    for (i, pixel) in [
        PixelFormat::BlackAndWhite1,
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Rgb16,
    ]
    .into_iter()
    .enumerate()
    {
        let img = page(pixel, 600, 333, i as u8);
        let p = lib.add_page(&doc, &img, None).unwrap();
        assert_eq!((p.width_px, p.height_px, p.dpi), (600, 333, (150, 150)));
        assert_eq!(
            decode(&lib.page_png(&doc, &p.id).unwrap(), pixel),
            img.data,
            "{pixel:?}"
        );
        let thumb = lib.thumbnail(&doc, &p.id).unwrap();
        let info = scanwire_codecs::parse_jpeg_header(&thumb).unwrap().unwrap();
        // A whole-pixel box filter: 600 / 3 = 200 wide, within the 256 px bound.
        assert_eq!((info.width, info.height), (200, 111), "{pixel:?}");
        assert_eq!(&lib.page_jpeg(&doc, &p.id).unwrap()[..2], &[0xFF, 0xD8]);
    }
    let d = lib.document(&doc).unwrap();
    assert_eq!(d.pages.len(), 5);
    assert_eq!(d.name, "Letters");
    // The same documents after a restart.
    drop(lib);
    let lib = open(dir.path());
    assert_eq!(lib.document(&doc).unwrap().pages, d.pages);
    assert_eq!(lib.documents().len(), 1);
}

#[test]
fn bad_ids_and_pages_are_errors_that_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    for id in ["../state", "", "D1", "nope"] {
        let e = lib.thumbnail(id, "p1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }
    let doc = lib.create_document(None, None).unwrap();
    assert!(lib.document(&doc).unwrap().name.starts_with("Scan "));
    lib.add_page(&doc, &gray(1), None).unwrap();
    let e = lib.thumbnail(&doc, "../../x").unwrap_err();
    assert!(e.to_string().contains("[\"p1\"]"), "{e}");
    let mut short = gray(1);
    short.data.pop();
    let e = lib.add_page(&doc, &short, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    assert!(lib.create_document(Some(" \n"), None).is_err());
}

#[test]
fn reorder_takes_only_a_permutation() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("r"), None).unwrap();
    for s in 0..3 {
        lib.add_page(&doc, &gray(s), None).unwrap();
    }
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    lib.reorder(&doc, &ids(&["p3", "p1", "p2"])).unwrap();
    let order: Vec<String> = lib
        .document(&doc)
        .unwrap()
        .pages
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(order, ids(&["p3", "p1", "p2"]));
    for bad in [
        &["p1", "p2"][..],
        &["p1", "p1", "p2"],
        &["p1", "p2", "p4"],
        &["p1", "p2", "p3", "p3"],
    ] {
        let e = lib.reorder(&doc, &ids(bad)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let msg = e.to_string();
        assert!(msg.contains(&format!("{:?}", ids(bad))), "{msg}");
        assert!(msg.contains(r#"["p3", "p1", "p2"]"#), "{msg}");
    }
    // Unchanged by the refusals.
    let order: Vec<String> = lib
        .document(&doc)
        .unwrap()
        .pages
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(order, ids(&["p3", "p1", "p2"]));
    lib.delete_page(&doc, "p1").unwrap();
    assert_eq!(lib.document(&doc).unwrap().pages.len(), 2);
    assert!(!dir
        .path()
        .join("state/documents")
        .join(&doc)
        .join("p1.png")
        .exists());
    assert_eq!(
        lib.delete_page(&doc, "p1").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn rotation_turns_pixels_thumbnail_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("rot"), None).unwrap();
    let mut img = page(PixelFormat::Rgb8, 4, 2, 0);
    img.page.dpi = (100, 200);
    img.text = Some(Arc::new(TextLayer {
        width: 4,
        height: 2,
        words: vec![TextWord {
            text: "Hi".into(),
            bbox: [0, 0, 2, 1],
            line: 0,
        }],
    }));
    let p = lib.add_page(&doc, &img, None).unwrap();
    let r = lib.rotate(&doc, &p.id, 90).unwrap();
    assert_eq!(
        (r.width_px, r.height_px, r.dpi, r.rotation),
        (2, 4, (200, 100), 90)
    );
    let px = decode(&lib.page_png(&doc, &p.id).unwrap(), PixelFormat::Rgb8);
    // Clockwise: the bottom-left source pixel (0, 1) is now the top-left one.
    assert_eq!(&px[..3], &img.data[12..15]);
    // And the top-left source pixel (0, 0) is the top-right one.
    assert_eq!(&px[3..6], &img.data[..3]);
    let t = lib.page_text(&doc, &p.id).unwrap().unwrap();
    assert_eq!((t.width, t.height, t.words[0].bbox), (2, 4, [1, 0, 2, 2]));
    lib.rotate(&doc, &p.id, -90).unwrap();
    assert_eq!(
        decode(&lib.page_png(&doc, &p.id).unwrap(), PixelFormat::Rgb8),
        img.data
    );
    assert_eq!(lib.page(&doc, &p.id).unwrap().rotation, 0);
    for bad in [0, 45, 360, 100] {
        let e = lib.rotate(&doc, &p.id, bad).unwrap_err();
        assert!(e.to_string().contains("90, 180 or 270"), "{e}");
    }
}

#[test]
fn manual_duplex_interleaves_the_turned_stack() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("duplex"), None).unwrap();
    let id = |pass, s| lib.add_page(&doc, &gray(s), Some(pass)).unwrap().id;
    // Fronts f1 f2 f3, then the backs of the turned stack: sheet 3's first.
    let f: Vec<String> = (1..=3).map(|s| id(Pass::Fronts, s)).collect();
    let b: Vec<String> = (1..=3).map(|s| id(Pass::Backs, 10 + s)).collect();
    let want = vec![&f[0], &b[2], &f[1], &b[1], &f[2], &b[0]];
    let got = lib.interleave(&doc).unwrap();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    // Twice is the same.
    assert_eq!(lib.interleave(&doc).unwrap(), got);
    let stored: Vec<String> = lib
        .document(&doc)
        .unwrap()
        .pages
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(stored, got);

    // One back fewer (the last sheet's blank back skipped): the last front ends alone.
    let doc2 = lib.create_document(Some("odd"), None).unwrap();
    let id2 = |pass, s| lib.add_page(&doc2, &gray(s), Some(pass)).unwrap().id;
    let f: Vec<String> = (1..=3).map(|s| id2(Pass::Fronts, s)).collect();
    let b: Vec<String> = (1..=2).map(|s| id2(Pass::Backs, s)).collect();
    let extra = lib.add_page(&doc2, &gray(9), None).unwrap().id;
    assert_eq!(
        lib.interleave(&doc2).unwrap(),
        vec![
            f[0].clone(),
            b[1].clone(),
            f[1].clone(),
            b[0].clone(),
            f[2].clone(),
            extra
        ]
    );

    // Two fewer: an error naming both counts.
    let doc3 = lib.create_document(Some("bad"), None).unwrap();
    for s in 0..3 {
        lib.add_page(&doc3, &gray(s), Some(Pass::Fronts)).unwrap();
    }
    lib.add_page(&doc3, &gray(5), Some(Pass::Backs)).unwrap();
    let e = lib.interleave(&doc3).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        e.to_string().contains("3 front page(s) and 1 back page(s)"),
        "{e}"
    );
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pdf_is_valid_searchable_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("Rechnung März"), None).unwrap();
    let mut img = page(PixelFormat::Gray8, 300, 400, 1);
    img.text = Some(Arc::new(TextLayer {
        width: 300,
        height: 400,
        words: vec![
            TextWord {
                text: "Invoice".into(),
                bbox: [20, 20, 120, 40],
                line: 0,
            },
            TextWord {
                text: "4711".into(),
                bbox: [130, 20, 180, 40],
                line: 0,
            },
        ],
    }));
    lib.add_page(&doc, &img, None).unwrap();
    lib.add_page(&doc, &page(PixelFormat::BlackAndWhite1, 300, 400, 2), None)
        .unwrap();
    lib.add_page(&doc, &page(PixelFormat::Rgb8, 400, 300, 3), None)
        .unwrap();
    let read = |d: Download| {
        let mut v = Vec::new();
        let mut f = d.file;
        f.read_to_end(&mut v).unwrap();
        assert_eq!(v.len() as u64, d.len);
        (v, d.file_name)
    };
    let (a, name) = read(lib.pdf(&doc).unwrap());
    assert_eq!(name, "Rechnung März.pdf");
    let (b, _) = read(lib.pdf(&doc).unwrap());
    assert_eq!(a, b, "the same pages give the same bytes");
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, &a).unwrap();
    if peer("qpdf") {
        run(Command::new("qpdf").arg("--check").arg(&path));
    }
    if peer("pdfinfo") {
        let info = run(Command::new("pdfinfo").arg(&path));
        let field = |k: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
                .unwrap_or_default()
        };
        assert_eq!(field("Pages:"), "3", "{info}");
        assert_eq!(field("Title:"), "Rechnung März", "{info}");
        let text = run(Command::new("pdftotext")
            .args(["-f", "1", "-l", "1"])
            .arg(&path)
            .arg("-"));
        assert!(text.contains("Invoice 4711"), "{text:?}");
    }
    let empty = lib.create_document(Some("empty"), None).unwrap();
    assert_eq!(lib.pdf(&empty).unwrap_err().kind(), ErrorKind::Conflict);
}

#[test]
fn zip_holds_each_page_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("a/b"), None).unwrap();
    for s in 0..3 {
        lib.add_page(&doc, &gray(s), None).unwrap();
    }
    lib.reorder(&doc, &["p2".into(), "p1".into(), "p3".into()])
        .unwrap();
    let d = lib.zip(&doc).unwrap();
    assert_eq!(d.file_name, "a_b.zip");
    let mut z = zip::ZipArchive::new(d.file).unwrap();
    assert_eq!(z.len(), 3);
    for (i, pid) in ["p2", "p1", "p3"].into_iter().enumerate() {
        let mut e = z.by_index(i).unwrap();
        assert_eq!(e.name(), format!("a_b-{:03}.png", i + 1));
        let mut v = Vec::new();
        e.read_to_end(&mut v).unwrap();
        assert_eq!(v, lib.page_png(&doc, pid).unwrap());
    }
    let again = lib.zip(&doc).unwrap();
    let bytes = |mut f: std::fs::File| {
        use std::io::Seek;
        f.rewind().unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        v
    };
    assert_eq!(bytes(again.file), bytes(lib.zip(&doc).unwrap().file));
}

#[test]
fn archive_names_never_overwrite_and_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let cfg = |max| LibraryConfig {
        archive: Some(ArchiveConfig {
            dir: archive.clone(),
            template: "{preset}-{name}".into(),
            max_bytes: max,
        }),
        ..LibraryConfig::new(dir.path().join("state"))
    };
    let lib = Library::open(cfg(None)).unwrap();
    let doc = lib
        .create_document(Some("Tax: 2026/Q4"), Some("Letters"))
        .unwrap();
    lib.add_page(&doc, &gray(1), None).unwrap();
    assert_eq!(lib.archive(&doc).unwrap(), "Letters-Tax_ 2026_Q4.pdf");
    // Unchanged: the same file again, not a second copy for the consumer.
    assert_eq!(lib.archive(&doc).unwrap(), "Letters-Tax_ 2026_Q4.pdf");
    let change = |lib: &Library| lib.rename(&doc, "Tax: 2026/Q4").unwrap();
    change(&lib);
    assert_eq!(lib.archive(&doc).unwrap(), "Letters-Tax_ 2026_Q4-2.pdf");
    change(&lib);
    assert_eq!(lib.archive(&doc).unwrap(), "Letters-Tax_ 2026_Q4-3.pdf");
    assert_eq!(
        lib.document(&doc).unwrap().archived.as_deref(),
        Some("Letters-Tax_ 2026_Q4-3.pdf")
    );
    let size = std::fs::metadata(archive.join("Letters-Tax_ 2026_Q4.pdf"))
        .unwrap()
        .len();
    // Nothing but the finished files (no part files left).
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&archive).len(), 3);
    // Someone else's file is never counted or removed.
    std::fs::write(archive.join("mine.txt"), vec![0u8; 10 * size as usize]).unwrap();
    drop(lib);
    // Bound to two and a half files: when the fourth lands, the oldest two go.
    let lib = Library::open(cfg(Some(size * 5 / 2))).unwrap();
    change(&lib);
    assert_eq!(lib.archive(&doc).unwrap(), "Letters-Tax_ 2026_Q4-4.pdf");
    assert_eq!(
        names(&archive),
        [
            "Letters-Tax_ 2026_Q4-3.pdf",
            "Letters-Tax_ 2026_Q4-4.pdf",
            "mine.txt"
        ]
    );
    // The freed first name is used again; the bound keeps the newest two.
    change(&lib);
    assert_eq!(lib.archive(&doc).unwrap(), "Letters-Tax_ 2026_Q4.pdf");
    assert_eq!(
        names(&archive),
        [
            "Letters-Tax_ 2026_Q4-4.pdf",
            "Letters-Tax_ 2026_Q4.pdf",
            "mine.txt"
        ]
    );
    // No archive configured: a conflict that says how to set one.
    let plain = open(&dir.path().join("other"));
    let d2 = plain.create_document(Some("x"), None).unwrap();
    plain.add_page(&d2, &gray(1), None).unwrap();
    let e = plain.archive(&d2).unwrap_err();
    assert!(e.to_string().contains("--archive DIR"), "{e}");
}

#[test]
fn templates_are_checked_and_rendered() {
    for bad in ["{nope}", "{date", "x}", ""] {
        let e = check_template(bad).unwrap_err();
        assert!(e.to_string().contains("archive template"), "{e}");
    }
    let e = check_template("{when}").unwrap_err().to_string();
    assert!(e.contains("{date}, {time}, {preset}, {n}, {name}"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some(".hidden/../x"), None).unwrap();
    let d = lib.document(&doc).unwrap();
    assert_eq!(
        render_template("{date}_{time}_{n}_{preset}_{name}", &d, 7, 1_796_671_800).unwrap(),
        "2026-12-07_19-30-00_7_scan_.hidden_.._x"
    );
    assert_eq!(render_template("{name}", &d, 1, 0).unwrap(), "hidden_.._x");
    assert_eq!(lib.archive(&doc).unwrap_err().kind(), ErrorKind::Conflict);
}

#[test]
fn presets_are_checked_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let json = r#"{"name":"Letters to archive","device":"virtual","archive":true,
        "settings":{"source":"feeder","mode":"gray","resolution":300,"ocr":true,
        "processing":{"deskew":true,"blank":"skip","sensitivity":50}}}"#;
    let p: Preset = serde_json::from_str(json).unwrap();
    lib.put_preset(p.clone()).unwrap();
    lib.put_preset(Preset {
        name: "Photos".into(),
        ..p.clone()
    })
    .unwrap();
    drop(lib);
    let lib = open(dir.path());
    let names: Vec<String> = lib.presets().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Letters to archive", "Photos"]);
    assert_eq!(lib.preset("Letters to archive").unwrap(), p);
    lib.delete_preset("Photos").unwrap();
    assert_eq!(
        lib.delete_preset("Photos").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    drop(lib);
    assert_eq!(open(dir.path()).presets().len(), 1);

    // Out of range or unknown: errors that name the field and what is allowed.
    let bad = |json: &str| -> String {
        match serde_json::from_str::<Preset>(json) {
            Err(e) => e.to_string(),
            Ok(p) => p.validated().unwrap_err().to_string(),
        }
    };
    assert!(bad(r#"{"name":"x","settings":{"resolution":0}}"#).contains("1..=19200"));
    assert!(bad(r#"{"name":"x","settings":{"mode":"sepia"}}"#).contains("expected one of"));
    assert!(bad(r#"{"name":"x","settings":{"colour":1}}"#).contains("unknown field"));
    assert!(
        bad(r#"{"name":"x","settings":{"processing":{"rotate":45}}}"#)
            .contains("0, 90, 180 or 270")
    );
    assert!(
        bad(r#"{"name":"x","settings":{"area_mm":{"x":0,"y":0,"w":-1,"h":5}}}"#)
            .contains("area_mm")
    );
    assert!(bad(r#"{"name":"a/b"}"#).contains("no '/'"));
}

#[test]
fn state_dir_is_bounded_oldest_first_never_held() {
    let dir = tempfile::tempdir().unwrap();
    let probe = open(&dir.path().join("probe"));
    let d = probe.create_document(Some("p"), None).unwrap();
    let one = probe.add_page(&d, &gray(1), None).unwrap().bytes;
    let lib = Library::open(LibraryConfig {
        max_state_bytes: one * 5 / 2,
        ..LibraryConfig::new(dir.path().join("state"))
    })
    .unwrap();
    let a = lib.create_document(Some("a"), None).unwrap();
    lib.add_page(&a, &gray(1), None).unwrap();
    let hold = lib.hold(&a).unwrap();
    let b = lib.create_document(Some("b"), None).unwrap();
    lib.add_page(&b, &gray(1), None).unwrap();
    let c = lib.create_document(Some("c"), None).unwrap();
    lib.add_page(&c, &gray(1), None).unwrap();
    // a is held: b (the oldest not held) went.
    assert!(lib.has_document(&a) && !lib.has_document(&b) && lib.has_document(&c));
    assert!(!dir.path().join("state/documents").join(&b).exists());
    let busy = lib.delete_document(&a).unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Conflict);
    assert!(busy.to_string().contains("being scanned into"), "{busy}");
    drop(hold);
    let e = lib.create_document(Some("e"), None).unwrap();
    lib.add_page(&e, &gray(1), None).unwrap();
    assert!(!lib.has_document(&a) && lib.has_document(&c) && lib.has_document(&e));
    // The document receiving a page is never the one removed, even alone over the bound.
    lib.add_page(&e, &gray(2), None).unwrap();
    lib.add_page(&e, &gray(3), None).unwrap();
    assert!(lib.has_document(&e));
    let docs: Vec<String> = lib.documents().into_iter().map(|d| d.name).collect();
    assert_eq!(docs, ["e"]);
}

#[test]
fn encoded_pages_are_kept_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("enc"), None).unwrap();
    let img = page(PixelFormat::BlackAndWhite1, 100, 50, 4);
    let png = scanwire_codecs::encode_page(
        scanwire_codecs::Format::Png,
        &img.page,
        &Default::default(),
        &mut scanwire_codecs::SliceSource::new(&img.data, 4096),
        Vec::new(),
    )
    .unwrap();
    let other = lib.create_document(Some("src"), None).unwrap();
    let pid = lib.add_page(&other, &img, None).unwrap().id;
    let thumbnail = lib.thumbnail(&other, &pid).unwrap();
    let p = lib
        .add_encoded_page(
            &doc,
            EncodedPage {
                png: png.clone(),
                thumbnail,
                dpi: (150, 150),
                pass: Some(Pass::Backs),
                text: None,
            },
        )
        .unwrap();
    assert_eq!(
        (p.width_px, p.height_px, p.pixel.as_str(), p.pass),
        (100, 50, "lineart", Some(Pass::Backs))
    );
    assert_eq!(lib.page_png(&doc, &p.id).unwrap(), png);
    let e = lib
        .add_encoded_page(
            &doc,
            EncodedPage {
                png: b"GIF89a".to_vec(),
                thumbnail: vec![],
                dpi: (1, 1),
                pass: None,
                text: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
}

#[test]
fn a_completed_scan_is_archived_when_its_preset_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(LibraryConfig {
        archive: Some(ArchiveConfig::new(dir.path().join("archive"))),
        ..LibraryConfig::new(dir.path().join("state"))
    })
    .unwrap();
    let p: Preset = serde_json::from_str(r#"{"name":"Letters","archive":true}"#).unwrap();
    lib.put_preset(p).unwrap();
    lib.put_preset(serde_json::from_str(r#"{"name":"Keep"}"#).unwrap())
        .unwrap();
    let a = lib.create_document(Some("a"), Some("Letters")).unwrap();
    // Nothing to archive yet.
    assert_eq!(lib.scan_completed(&a).unwrap(), None);
    lib.add_page(&a, &gray(1), None).unwrap();
    let name = lib.scan_completed(&a).unwrap().unwrap();
    assert!(dir.path().join("archive").join(&name).is_file());
    let b = lib.create_document(Some("b"), Some("Keep")).unwrap();
    lib.add_page(&b, &gray(1), None).unwrap();
    assert_eq!(lib.scan_completed(&b).unwrap(), None);
    let c = lib.create_document(Some("c"), None).unwrap();
    lib.add_page(&c, &gray(1), None).unwrap();
    assert_eq!(lib.scan_completed(&c).unwrap(), None);
}

#[test]
fn a_temporary_library_goes_with_its_last_clone() {
    let lib = Library::temporary().unwrap();
    let dir = lib.config().state_dir.clone();
    let doc = lib.create_document(Some("t"), None).unwrap();
    lib.add_page(&doc, &gray(1), None).unwrap();
    let clone = lib.clone();
    drop(lib);
    assert!(dir.is_dir());
    drop(clone);
    assert!(!dir.exists());
}

#[test]
fn a_page_rescanned_after_a_delete_keeps_its_place_in_the_pass() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let doc = lib.create_document(Some("d"), None).unwrap();
    let id = |pass, s| lib.add_page(&doc, &gray(s), Some(pass)).unwrap().id;
    let f1 = id(Pass::Fronts, 1);
    let f2 = id(Pass::Fronts, 2);
    lib.delete_page(&doc, &f2).unwrap();
    // The second front again, then the backs (sheet 2's first).
    let f2 = id(Pass::Fronts, 3);
    let b2 = id(Pass::Backs, 4);
    let b1 = id(Pass::Backs, 5);
    assert_eq!(lib.interleave(&doc).unwrap(), [f1, b1, f2, b2]);
}

#[test]
fn unreadable_metadata_is_left_alone_and_a_half_made_document_goes() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let keep = lib.create_document(Some("k"), None).unwrap();
    lib.add_page(&keep, &gray(1), None).unwrap();
    let bad = lib.create_document(Some("b"), None).unwrap();
    lib.add_page(&bad, &gray(1), None).unwrap();
    drop(lib);
    let docs = dir.path().join("state/documents");
    std::fs::write(docs.join(&bad).join("document.json"), b"{not json").unwrap();
    std::fs::create_dir(docs.join("dhalf-1")).unwrap();
    std::fs::write(docs.join(&keep).join(".tmp-x"), b"partial").unwrap();
    let lib = open(dir.path());
    assert!(lib.has_document(&keep) && !lib.has_document(&bad));
    assert!(docs.join(&bad).join("p1.png").is_file(), "pages are kept");
    assert!(!docs.join("dhalf-1").exists());
    assert!(!docs.join(&keep).join(".tmp-x").exists());
}
