//! The file driver on generated files of every format (exact pixels back), on bad files
//! (each error names the file; the pages before it kept), and on the real scanned pages in
//! the fixtures (`$SCANWIRE_FIXTURES/scans`).

mod common;

use common::{jpeg, png, put, request, rows, scan, tiff, tiff_by_hand};
use scanwire_codecs::decode::RowConverter;
use scanwire_codecs::TiffCompression;
use scanwire_core::device::{
    Area, ColorMode, Device, Encoding, Length, PageData, PixelFormat, Resolutions, Source,
};
use scanwire_core::wia;
use scanwire_file::FileDevice;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn spec(d: &tempfile::TempDir) -> String {
    d.path().to_str().unwrap().to_string()
}

#[test]
fn png_in_every_layout_comes_back_exactly() {
    let (w, h) = (37, 23);
    for pixel in [
        PixelFormat::BlackAndWhite1,
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Rgb16,
    ] {
        let d = tmp();
        let data = rows(pixel, w, h, 7);
        put(d.path(), "p.png", &png(pixel, w, h, &data, Some(200)));
        let mode = match pixel {
            PixelFormat::BlackAndWhite1 => ColorMode::Lineart,
            PixelFormat::Gray8 => ColorMode::Gray,
            PixelFormat::Gray16 => ColorMode::Gray16,
            PixelFormat::Rgb8 => ColorMode::Color,
            PixelFormat::Rgb16 => ColorMode::Color48,
        };
        let (o, rec) = scan(&spec(&d), &request(mode, 200, None));
        assert_eq!(o.result, wia::S_OK, "{pixel:?}: {:?}", o.error);
        let p = &rec.complete_pages()[0];
        assert_eq!(p.info.dpi, (200, 200));
        assert_eq!(p.info.source, Source::Feeder);
        assert_eq!(p.data, data, "{pixel:?}");
    }
}

#[test]
fn a_multi_page_tiff_is_one_page_per_image_in_each_compression() {
    let (w, h) = (29, 17);
    let pages = vec![
        (PixelFormat::Gray8, w, h, rows(PixelFormat::Gray8, w, h, 1)),
        (
            PixelFormat::Gray16,
            w,
            h,
            rows(PixelFormat::Gray16, w, h, 2),
        ),
        (PixelFormat::Gray8, w, h, rows(PixelFormat::Gray8, w, h, 3)),
    ];
    for c in [
        TiffCompression::None,
        TiffCompression::Lzw,
        TiffCompression::Deflate,
    ] {
        let d = tmp();
        put(d.path(), "doc.tif", &tiff(&pages, 150, c));
        let mut dev = FileDevice::open(&spec(&d)).unwrap();
        let caps = dev.capabilities().unwrap();
        let sc = caps.source(Source::Feeder).unwrap();
        assert_eq!(sc.feeder_capacity, Some(3));
        assert_eq!(sc.resolutions, Resolutions::Discrete(vec![150]));
        assert!(sc.modes.contains(&ColorMode::Gray16));
        // Gray: every page; the 16-bit one by the encoders' one rule (round(v / 257)).
        let (o, rec) = scan(&spec(&d), &request(ColorMode::Gray, 150, None));
        assert_eq!(o.result, wia::S_OK, "{c:?}: {:?}", o.error);
        assert_eq!(o.pages, 3);
        assert_eq!(rec.pages[0].data, pages[0].3, "{c:?}");
        assert_eq!(rec.pages[2].data, pages[2].3, "{c:?}");
        let conv = RowConverter::new(ColorMode::Gray, w, 1, true);
        let mut want = vec![0u8; (w * h) as usize];
        for (s, dst) in pages[1]
            .3
            .chunks_exact(conv.src_len())
            .zip(want.chunks_exact_mut(conv.dst_len()))
        {
            conv.convert(s, dst);
        }
        assert_eq!(rec.pages[1].data, want, "{c:?}");
        // 16-bit asked of 8-bit pages: the first page says what it is.
        let (o, rec) = scan(&spec(&d), &request(ColorMode::Gray16, 150, None));
        assert_eq!(o.result, wia::E_INVALIDARG);
        assert!(rec.complete_pages().is_empty());
        let e = o.error.unwrap();
        assert!(
            e.detail().contains("doc.tif page 1 is 8-bit gray"),
            "{}",
            e.detail()
        );
    }
}

#[test]
fn lineart_tiffs_and_tiff_lineart_in_group_4() {
    let (w, h) = (45, 9);
    let bits = rows(PixelFormat::BlackAndWhite1, w, h, 9);
    let d = tmp();
    put(
        d.path(),
        "bw.tif",
        &tiff(
            &[(PixelFormat::BlackAndWhite1, w, h, bits.clone())],
            300,
            TiffCompression::Deflate,
        ),
    );
    let (o, rec) = scan(&spec(&d), &request(ColorMode::Lineart, 300, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.pages[0].data, bits);
    // WhiteIsZero by hand (1 = black, as fax TIFFs have it), uncompressed, 16 px wide.
    let strip = [0xF0, 0x0F, 0x81, 0x00];
    let file = tiff_by_hand(
        &[
            (256, 3, 16),
            (257, 3, 2),
            (258, 3, 1),
            (259, 3, 1),
            (262, 3, 0),
            (278, 3, 2),
            (279, 4, 4),
        ],
        &strip,
    );
    let d = tmp();
    put(d.path(), "fax.tif", &file);
    let (o, rec) = scan(&spec(&d), &request(ColorMode::Lineart, 300, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.pages[0].data, strip);
}

#[test]
fn pnm_p1_to_p6() {
    let d = tmp();
    put(
        d.path(),
        "1.pbm",
        b"P1\n# a comment\n4 2\n1 0 0 1\n0 1 1 0\n",
    );
    put(d.path(), "2.pgm", b"P2\n2 2\n15\n0 5\n10 15\n");
    put(d.path(), "3.ppm", b"P3 1 1 255 10 20 30\n");
    put(d.path(), "4.pbm", b"P4\n4 2\n\x90\x60");
    put(d.path(), "5.pgm", b"P5\n1 2\n65535\n\x12\x34\xab\xcd");
    put(d.path(), "6.ppm", b"P6\n1 1\n255\n\x01\x02\x03");
    let expect: [(&str, ColorMode, Vec<u8>); 6] = [
        ("1.pbm", ColorMode::Lineart, vec![0x90, 0x60]),
        ("2.pgm", ColorMode::Gray, vec![0, 85, 170, 255]),
        ("3.ppm", ColorMode::Color, vec![10, 20, 30]),
        ("4.pbm", ColorMode::Lineart, vec![0x90, 0x60]),
        ("5.pgm", ColorMode::Gray16, vec![0x12, 0x34, 0xab, 0xcd]),
        ("6.ppm", ColorMode::Color, vec![1, 2, 3]),
    ];
    for (name, mode, data) in expect {
        let file = d.path().join(name);
        let (o, rec) = scan(file.to_str().unwrap(), &request(mode, 300, None));
        assert_eq!(o.result, wia::S_OK, "{name}: {:?}", o.error);
        // PNM records no resolution: the stated default.
        assert_eq!(rec.pages[0].info.dpi, (300, 300));
        assert_eq!(rec.pages[0].data, data, "{name}");
    }
}

#[test]
fn modes_are_converted_down_never_up() {
    let (w, h) = (16, 4);
    let d = tmp();
    let rgb = rows(PixelFormat::Rgb8, w, h, 3);
    put(d.path(), "c.png", &png(PixelFormat::Rgb8, w, h, &rgb, None));
    for mode in [ColorMode::Gray, ColorMode::Lineart] {
        let (o, rec) = scan(&spec(&d), &request(mode, 300, None));
        assert_eq!(o.result, wia::S_OK, "{mode}: {:?}", o.error);
        let conv = RowConverter::new(mode, w, 3, false);
        let mut want = vec![0u8; conv.dst_len() * h as usize];
        for (s, dst) in rgb
            .chunks_exact(conv.src_len())
            .zip(want.chunks_exact_mut(conv.dst_len()))
        {
            conv.convert(s, dst);
        }
        assert_eq!(rec.pages[0].data, want, "{mode}");
    }
    let g = tmp();
    let gray = rows(PixelFormat::Gray8, w, h, 3);
    put(
        g.path(),
        "g.png",
        &png(PixelFormat::Gray8, w, h, &gray, None),
    );
    // Color is within the capabilities of a mixed directory, but not this page's to give.
    put(g.path(), "h.png", &png(PixelFormat::Rgb8, w, h, &rgb, None));
    let (o, rec) = scan(&spec(&g), &request(ColorMode::Color, 300, None));
    assert_eq!(o.result, wia::E_INVALIDARG);
    assert!(rec.pages.is_empty());
    let e = o.error.unwrap();
    assert!(
        e.detail().ends_with(
            "g.png is 8-bit gray; it can be delivered as gray, lineart, not color (ask --mode gray)"
        ),
        "{}",
        e.detail()
    );
}

#[test]
fn the_resolution_is_the_files_own() {
    let d = tmp();
    let gray = rows(PixelFormat::Gray8, 8, 8, 1);
    put(
        d.path(),
        "a.png",
        &png(PixelFormat::Gray8, 8, 8, &gray, Some(300)),
    );
    put(
        d.path(),
        "b.png",
        &png(PixelFormat::Gray8, 8, 8, &gray, Some(150)),
    );
    let mut dev = FileDevice::open(&spec(&d)).unwrap();
    let caps = dev.capabilities().unwrap();
    assert_eq!(
        caps.sources[0].resolutions,
        Resolutions::Discrete(vec![150, 300])
    );
    let (o, rec) = scan(&spec(&d), &request(ColorMode::Gray, 300, None));
    assert_eq!(o.result, wia::E_INVALIDARG);
    assert_eq!(rec.complete_pages().len(), 1, "page 1 is kept");
    let e = o.error.unwrap();
    assert!(
        e.detail().contains(
            "b.png is 150 dpi (recorded in the file); this scan asked for 300 dpi: scan it with --resolution 150"
        ),
        "{}",
        e.detail()
    );
}

#[test]
fn jpeg_and_png_pass_through_when_asked_for_and_decode_otherwise() {
    let (w, h) = (40, 24);
    let d = tmp();
    let rgb = rows(PixelFormat::Rgb8, w, h, 11);
    let j = jpeg(PixelFormat::Rgb8, w, h, &rgb, 300);
    put(d.path(), "a.jpg", &j);
    let p = png(PixelFormat::Rgb8, w, h, &rgb, Some(300));
    put(d.path(), "b.png", &p);
    let mut r = request(ColorMode::Color, 300, None);
    r.encoding = Some(Encoding::Jpeg);
    let (o, rec) = scan(&spec(&d), &r);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.pages[0].info.data, PageData::Encoded(Encoding::Jpeg));
    assert_eq!(rec.pages[0].data, j, "the file's bytes, untouched");
    // The PNG is not what was asked for: rows.
    assert!(matches!(rec.pages[1].info.data, PageData::Raster { .. }));
    assert_eq!(rec.pages[1].data, rgb);
    r.encoding = Some(Encoding::Png);
    let (_, rec) = scan(&spec(&d), &r);
    assert_eq!(rec.pages[1].info.data, PageData::Encoded(Encoding::Png));
    assert_eq!(rec.pages[1].data, p);
    // A gray request is converted, so the JPEG is decoded.
    r.mode = ColorMode::Gray;
    r.encoding = Some(Encoding::Jpeg);
    let (o, rec) = scan(&spec(&d), &r);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(rec.pages[0].data.len(), (w * h) as usize);
    let decoded = scanwire_codecs::decode::decode(&j, Some(ColorMode::Gray)).unwrap();
    assert_eq!(rec.pages[0].data, decoded.data);
}

#[test]
fn a_scan_area_crops_every_page() {
    let (w, h) = (50, 40);
    let d = tmp();
    let gray = rows(PixelFormat::Gray8, w, h, 2);
    put(
        d.path(),
        "a.png",
        &png(PixelFormat::Gray8, w, h, &gray, Some(100)),
    );
    let mut r = request(ColorMode::Gray, 100, None);
    r.area = Some(Area {
        left: Length::from_pixels(10, 100),
        top: Length::from_pixels(5, 100),
        width: Length::from_pixels(20, 100),
        height: Length::from_pixels(30, 100),
    });
    let (o, rec) = scan(&spec(&d), &r);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    let want: Vec<u8> = (5..35)
        .flat_map(|y| gray[y * 50 + 10..y * 50 + 30].to_vec())
        .collect();
    assert_eq!(
        rec.pages[0].info.data,
        PageData::Raster {
            pixel: PixelFormat::Gray8,
            width: 20,
            height: Some(30)
        }
    );
    assert_eq!(rec.pages[0].data, want);
}

/// A little-endian RGB TIFF, one row, with one strip per plane, written by hand.
fn planar_rgb_tiff(planes: &[[u8; 2]; 3]) -> Vec<u8> {
    // Header, then the arrays, then the strips, then the IFD.
    let mut out = b"II*\0".to_vec();
    let arrays_at = 8u32;
    let strips_at = arrays_at + 3 * 2 + 3 * 4 + 3 * 4; // BitsPerSample, offsets, counts
    let ifd_at = strips_at + 6;
    out.extend_from_slice(&ifd_at.to_le_bytes());
    for _ in 0..3 {
        out.extend_from_slice(&8u16.to_le_bytes());
    }
    for i in 0..3u32 {
        out.extend_from_slice(&(strips_at + 2 * i).to_le_bytes());
    }
    for _ in 0..3 {
        out.extend_from_slice(&2u32.to_le_bytes());
    }
    for p in planes {
        out.extend_from_slice(p);
    }
    let entries: [(u16, u16, u32, u32); 10] = [
        (256, 3, 1, 2),
        (257, 3, 1, 1),
        (258, 3, 3, arrays_at),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 3, arrays_at + 6),
        (277, 3, 1, 3),
        (278, 3, 1, 1),
        (279, 4, 3, arrays_at + 18),
        (284, 3, 1, 2),
    ];
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, ty, count, v) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if ty == 3 && count == 1 {
            out.extend_from_slice(&(v as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

#[test]
fn bad_files_name_themselves_and_keep_the_pages_before() {
    let (w, h) = (16, 16);
    let gray = rows(PixelFormat::Gray8, w, h, 1);
    let good = png(PixelFormat::Gray8, w, h, &gray, None);
    let j = jpeg(PixelFormat::Gray8, w, h, &gray, 300);
    let fax3 = tiff_by_hand(
        &[
            (256, 3, 16),
            (257, 3, 2),
            (258, 3, 1),
            (259, 3, 3),
            (262, 3, 0),
            (278, 3, 2),
            (279, 4, 4),
        ],
        &[0, 0, 0, 0],
    );
    // RGB in three planes (PlanarConfiguration 2): 2x1 pixels, a strip per plane.
    let planar = planar_rgb_tiff(&[[1, 2], [3, 4], [5, 6]]);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "c-notes.png",
            b"just some text".to_vec(),
            "c-notes.png is not an image the file driver reads (its first bytes are \"just som\"); allowed: PNG, JPEG, TIFF",
        ),
        ("c-cut.jpg", j[..j.len() * 2 / 3].to_vec(), "c-cut.jpg: JPEG"),
        ("c-cut.png", good[..good.len() - 30].to_vec(), "c-cut.png: PNG"),
        (
            "c-fax3.tif",
            fax3,
            "c-fax3.tif: TIFF compression CCITT Group 3 fax (3) is not supported; supported: no compression, LZW, Deflate, PackBits, JPEG, CCITT Group 4",
        ),
        ("c-cut.pgm", b"P5\n16 16\n255\n\x01\x02".to_vec(), "c-cut.pgm: PNM is cut short"),
        (
            "c-planar.tif",
            planar,
            "c-planar.tif: TIFF with one plane per channel (PlanarConfiguration 2) is not supported",
        ),
    ];
    for (name, bytes, says) in cases {
        let d = tmp();
        put(d.path(), "a.png", &good);
        put(d.path(), "b.png", &good);
        put(d.path(), name, &bytes);
        put(d.path(), "d.png", &good);
        let (o, rec) = scan(&spec(&d), &request(ColorMode::Gray, 300, None));
        assert_eq!(
            o.result,
            wia::WIA_ERROR_PAPER_PROBLEM,
            "{name}: {:?}",
            o.error
        );
        assert_eq!(rec.complete_pages().len(), 2, "{name}: pages 1-2 kept");
        let e = o.error.unwrap();
        assert!(e.detail().contains(says), "{name}: {}", e.detail());
    }
    // A single file that is not an image: the device cannot describe itself.
    let d = tmp();
    put(d.path(), "x.jpg", b"GIF89a....");
    let mut dev = FileDevice::open(&spec(&d)).unwrap();
    let e = dev.capabilities().unwrap_err();
    assert!(
        e.detail().contains("x.jpg is not an image"),
        "{}",
        e.detail()
    );
}

#[test]
fn empty_directories_and_patterns_without_a_match_do_not_open() {
    let d = tmp();
    let e = FileDevice::open(&spec(&d)).err().unwrap();
    assert!(
        e.to_string().contains("has no image files; allowed: .png"),
        "{e}"
    );
    put(d.path(), "a.png", b"x");
    let e = FileDevice::open(&format!("{}/*.tif", spec(&d)))
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("pattern "), "{e}");
    let e = FileDevice::open(&format!("{}/none.png", spec(&d)))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no such file or directory"), "{e}");
}

#[test]
fn more_pages_than_files_is_the_end_of_media() {
    let d = tmp();
    let gray = rows(PixelFormat::Gray8, 8, 8, 1);
    put(
        d.path(),
        "a.png",
        &png(PixelFormat::Gray8, 8, 8, &gray, None),
    );
    put(
        d.path(),
        "b.png",
        &png(PixelFormat::Gray8, 8, 8, &gray, None),
    );
    let (o, rec) = scan(&spec(&d), &request(ColorMode::Gray, 300, Some(5)));
    assert_eq!(o.result, wia::WIA_STATUS_END_OF_MEDIA);
    assert_eq!(rec.complete_pages().len(), 2);
    let (o, _) = scan(
        &format!("{}/*.png", spec(&d)),
        &request(ColorMode::Gray, 300, Some(2)),
    );
    assert_eq!(o.result, wia::S_OK);
}

/// The real scanned pages (see SOURCES.md there): every one is a page, in name order, in its
/// own size; SOURCES.md beside them is not.
#[test]
fn the_real_scanned_pages() {
    let Some(dir) = scanwire_testkit::fixtures_dir("scans") else {
        return;
    };
    let spec = dir.to_str().unwrap();
    let mut dev = FileDevice::open(spec).unwrap();
    let names: Vec<String> = dev
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "ocrmypdf-typewriter.png",
            "unpaper-imgsrc002.png",
            "unpaper-imgsrc004.png",
            "unpaper-imgsrc005.png",
            "unpaper-imgsrcE002.png"
        ]
    );
    let caps = dev.capabilities().unwrap();
    let sc = &caps.sources[0];
    // One page is 8-bit gray, the others 1-bit (the typewriter's palette is black and white).
    assert_eq!(sc.modes, [ColorMode::Gray, ColorMode::Lineart]);
    assert_eq!(sc.resolutions, Resolutions::Discrete(vec![300]));
    let (o, rec) = scan(spec, &request(ColorMode::Lineart, 300, None));
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    let sizes: Vec<(u32, u32)> = rec
        .pages
        .iter()
        .map(|p| match p.info.data {
            PageData::Raster { width, height, .. } => (width, height.unwrap()),
            _ => panic!("rows expected"),
        })
        .collect();
    assert_eq!(
        sizes,
        [
            (4000, 2864),
            (1240, 1754),
            (1240, 1754),
            (1240, 1754),
            (3507, 2480)
        ]
    );
    // Mostly paper: far fewer black pixels than white on every page.
    for p in &rec.pages {
        let black: u32 = p.data.iter().map(|b| b.count_ones()).sum();
        let total = p.data.len() as u32 * 8;
        assert!(
            black * 4 < total,
            "page {}: {black} of {total} black",
            p.info.number
        );
        assert!(black > 0, "page {} has ink", p.info.number);
    }
    // Gray asks too much of the 1-bit pages: the first says what it is.
    let (o, _) = scan(spec, &request(ColorMode::Gray, 300, None));
    assert!(o
        .error
        .unwrap()
        .detail()
        .contains("ocrmypdf-typewriter.png is 1-bit black and white (lineart)"));
}

#[test]
fn sixteen_bit_tiffs_come_back_exactly() {
    let (w, h) = (21, 13);
    for (pixel, mode) in [
        (PixelFormat::Gray16, ColorMode::Gray16),
        (PixelFormat::Rgb16, ColorMode::Color48),
        (PixelFormat::Rgb8, ColorMode::Color),
    ] {
        let d = tmp();
        let data = rows(pixel, w, h, 5);
        put(
            d.path(),
            "deep.tif",
            &tiff(&[(pixel, w, h, data.clone())], 600, TiffCompression::Lzw),
        );
        let (o, rec) = scan(&spec(&d), &request(mode, 600, None));
        assert_eq!(o.result, wia::S_OK, "{pixel:?}: {:?}", o.error);
        assert_eq!(rec.pages[0].info.dpi, (600, 600));
        assert_eq!(rec.pages[0].data, data, "{pixel:?}");
    }
}
