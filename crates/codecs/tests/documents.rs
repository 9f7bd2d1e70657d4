//! Multi-page TIFF and PDF: read back with the `tiff` crate, tiffinfo, qpdf and pdftoppm.

mod common;

use common::*;
use scanwire_codecs::*;
use scanwire_core::device::{Encoding, PageData, PixelFormat};
use scanwire_core::wia;
use std::io::Cursor;
use std::path::Path;

/// A source that delivers part of a page and then reports it incomplete (a cancel).
struct Cancelled<'a> {
    inner: SliceSource<'a>,
}

impl ChunkSource for Cancelled<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, EncodeError> {
        match self.inner.next_chunk()? {
            Some(c) => Ok(Some(c)),
            None => Err(EncodeError::Incomplete {
                status: wia::S_FALSE,
            }),
        }
    }
}

/// The pages every document test writes: each layout, odd sizes, mixed resolutions.
fn pages() -> Vec<(scanwire_core::device::PageInfo, Vec<u8>)> {
    ALL_PIXELS
        .iter()
        .enumerate()
        .map(|(i, &pixel)| {
            let (w, h) = (45 + 8 * i as u32, 30 + 5 * i as u32);
            let dpi = if i % 2 == 0 { 300 } else { 150 };
            (
                page(i as u32 + 1, pixel, w, Some(h), dpi),
                chart(pixel, w, h),
            )
        })
        .collect()
}

fn write_document(format: Format, opts: &EncodeOptions, cancel_second: bool) -> Vec<u8> {
    let mut doc = Document::new(format, Cursor::new(Vec::new()), opts, true).unwrap();
    for (i, (p, data)) in pages().iter().enumerate() {
        if cancel_second && i == 1 {
            // Half a page, then a cancel: the document must not change.
            let before = doc.pages();
            let mut src = Cancelled {
                inner: SliceSource::new(&data[..data.len() / 2], 13),
            };
            let e = doc.add_page(p, &mut src).unwrap_err();
            assert!(e.is_incomplete(), "{e}");
            assert_eq!(doc.pages(), before);
        }
        // Unknown height too, for TIFF (IFD written last) and PDF (spooled).
        let mut p = p.clone();
        if i == 3 {
            if let PageData::Raster { height, .. } = &mut p.data {
                *height = None;
            }
        }
        doc.add_page(&p, &mut SliceSource::new(data, 1000 + i))
            .unwrap();
    }
    doc.finish().unwrap().into_inner()
}

fn tmp_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

fn check_tiff(bytes: &[u8], compression: TiffCompression) {
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;
    let mut dec = Decoder::new(Cursor::new(bytes)).unwrap();
    for (i, (p, data)) in pages().iter().enumerate() {
        if i > 0 {
            assert!(dec.more_images(), "page {} missing", i + 1);
            dec.next_image().unwrap();
        }
        let PageData::Raster {
            pixel,
            width,
            height,
        } = p.data
        else {
            unreachable!()
        };
        assert_eq!(dec.dimensions().unwrap(), (width, height.unwrap()));
        let photometric = dec.get_tag_u32(Tag::PhotometricInterpretation).unwrap();
        let want = match pixel {
            PixelFormat::BlackAndWhite1 => 0,
            PixelFormat::Gray8 | PixelFormat::Gray16 => 1,
            _ => 2,
        };
        assert_eq!(photometric, want, "{pixel:?}");
        assert_eq!(dec.get_tag_u32(Tag::ResolutionUnit).unwrap(), 2);
        let xres = dec.get_tag(Tag::XResolution).unwrap();
        assert_eq!(xres, tiff::decoder::ifd::Value::Rational(p.dpi.0, 1));
        let comp = dec.get_tag_u32(Tag::Compression).unwrap();
        let want = match compression {
            TiffCompression::Deflate => 8,
            TiffCompression::Lzw => 5,
            TiffCompression::None => 1,
        };
        assert_eq!(comp, want);
        let got: Vec<u8> = match dec.read_image().unwrap() {
            DecodingResult::U8(v) => v,
            DecodingResult::U16(v) => v.iter().flat_map(|s| s.to_be_bytes()).collect(),
            other => panic!("unexpected sample type {other:?}"),
        };
        if pixel == PixelFormat::BlackAndWhite1 {
            // The tiff crate normalises WhiteIsZero to 0 = black: inverted, as it must be if
            // our 1 = black was declared correctly. Row padding bits are don't-care.
            let bpl = pixel.bytes_per_line(width);
            let mask = 0xFFu8 << ((8 - width % 8) % 8);
            for (a, b) in got.chunks_exact(bpl).zip(data.chunks_exact(bpl)) {
                let inv: Vec<u8> = a.iter().map(|x| !x).collect();
                assert_eq!(inv[..bpl - 1], b[..bpl - 1]);
                assert_eq!(inv[bpl - 1] & mask, b[bpl - 1] & mask);
            }
        } else {
            assert_eq!(&got, data, "page {} {pixel:?}", i + 1);
        }
    }
    assert!(!dec.more_images());
}

fn check_tiffinfo(dir: &Path, bytes: &[u8]) {
    if !peer("tiffinfo") {
        return;
    }
    let path = tmp_file(dir, "doc.tiff", bytes);
    let info = run("tiffinfo", &[&path]);
    assert_eq!(
        info.matches("TIFF Directory at offset").count(),
        5,
        "{info}"
    );
    assert!(
        info.contains("Photometric Interpretation: min-is-white"),
        "{info}"
    );
    assert!(
        info.contains("Photometric Interpretation: min-is-black"),
        "{info}"
    );
    assert!(
        info.contains("Photometric Interpretation: RGB color"),
        "{info}"
    );
    assert!(info.contains("Resolution: 300, 300 pixels/inch"), "{info}");
    assert!(info.contains("Resolution: 150, 150 pixels/inch"), "{info}");
    assert!(info.contains("multi-page document"), "{info}");
    assert!(!info.to_lowercase().contains("error"), "{info}");
    // tiffinfo -D decodes every strip: any damage shows as an error.
    let decoded = run("tiffinfo", &["-D", &path]);
    assert!(!decoded.to_lowercase().contains("error"), "{decoded}");
}

#[test]
fn multi_page_tiff_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [
        TiffCompression::Deflate,
        TiffCompression::Lzw,
        TiffCompression::None,
    ] {
        // Each Deflate effort (fdeflate, zlib-rs 2 and 6, and the per-strip choice between
        // fdeflate and zlib-rs 1, and zlib-rs 1 alone), on one and several threads.
        for (threads, deflate) in [
            (1, DeflateEffort::Fastest),
            (3, DeflateEffort::Fast),
            (2, DeflateEffort::Balanced),
            (2, DeflateEffort::Auto),
            (1, DeflateEffort::Wire),
        ] {
            let opts = EncodeOptions {
                tiff: compression,
                threads,
                deflate,
                ..Default::default()
            };
            let bytes = write_document(Format::Tiff, &opts, false);
            check_tiff(&bytes, compression);
            let with_cancel = write_document(Format::Tiff, &opts, true);
            assert_eq!(with_cancel, bytes, "a cancelled page leaves no trace");
            check_tiffinfo(dir.path(), &bytes);
        }
    }
}

/// Renders page `n` of a PDF with pdftoppm, as 8-bit gray or RGB samples at the page's
/// own resolution `dpi`.
///
/// Poppler's Splash interpolates images drawn at less than 4x their size (even at exactly
/// 1:1 it smooths 1-bit images), and replicates pixels from 4x up. So the page is rendered
/// at 4 x `dpi`, every 4x4 block is checked to be uniform, and one sample per block is the
/// rendered pixel.
fn render(dir: &Path, pdf: &str, n: usize, dpi: u32, gray: bool) -> (u32, u32, Vec<u8>) {
    let prefix = dir.join(format!("render-{n}"));
    let (r, page) = ((4 * dpi).to_string(), n.to_string());
    let mut args = vec!["-r", &r, "-f", &page, "-l", &page, "-singlefile"];
    if gray {
        args.push("-gray");
    }
    args.extend([pdf, prefix.to_str().unwrap()]);
    run("pdftoppm", &args);
    let ext = if gray { "pgm" } else { "ppm" };
    let bytes = std::fs::read(prefix.with_extension(ext)).unwrap();
    let (_, w4, h4, _, data) = parse_pnm(&bytes);
    assert!(w4 % 4 == 0 && h4 % 4 == 0, "rendered {w4}x{h4}");
    let c = if gray { 1 } else { 3 };
    let (w, h) = (w4 / 4, h4 / 4);
    let mut out = Vec::with_capacity((w * h) as usize * c);
    let at = |x: u32, y: u32| &data[((y * w4 + x) as usize) * c..][..c];
    for y in 0..h {
        for x in 0..w {
            let px = at(4 * x + 1, 4 * y + 1);
            for dy in 0..4 {
                for dx in 0..4 {
                    assert_eq!(
                        at(4 * x + dx, 4 * y + dy),
                        px,
                        "page {n}: block ({x},{y}) not uniform"
                    );
                }
            }
            out.extend_from_slice(px);
        }
    }
    (w, h, out)
}

fn check_qpdf(path: &str, pages: usize) {
    let out = run("qpdf", &["--check", path]);
    assert!(
        out.contains("No syntax or stream encoding errors found"),
        "{out}"
    );
    let n = run("qpdf", &["--show-npages", path]);
    assert_eq!(n.trim(), pages.to_string());
}

#[test]
fn lossless_pdf_renders_to_the_source_pixels() {
    lossless_pdf_renders_exactly(DeflateEffort::Auto);
}

/// The eSCL server's effort: PNG rows stored unfiltered, still `/Predictor 15`.
#[test]
fn lossless_pdf_without_row_filters_renders_to_the_source_pixels() {
    lossless_pdf_renders_exactly(DeflateEffort::Wire);
}

fn lossless_pdf_renders_exactly(deflate: DeflateEffort) {
    let dir = tempfile::tempdir().unwrap();
    let opts = EncodeOptions {
        pdf_lossless: true,
        title: Some("Lossless test".into()),
        deflate,
        ..Default::default()
    };
    let bytes = write_document(Format::Pdf, &opts, true);
    // (The document has a cancelled half page in it: cut off again, so it is invisible.)
    let path = tmp_file(dir.path(), "doc.pdf", &bytes);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&format!("Scanwire {}", env!("CARGO_PKG_VERSION"))),
        "producer"
    );
    assert!(text.contains("/CreationDate(D:"), "creation date");
    assert!(text.contains("Lossless test"), "title");
    let (qpdf, pdftoppm) = (peer("qpdf"), peer("pdftoppm"));
    if qpdf {
        check_qpdf(&path, 5);
    }
    if !pdftoppm {
        return;
    }
    for (i, (p, data)) in pages().iter().enumerate() {
        let PageData::Raster {
            pixel,
            width,
            height,
        } = p.data
        else {
            unreachable!()
        };
        let gray = pixel.channels() == 1;
        let (w, h, px) = render(dir.path(), &path, i + 1, p.dpi.0, gray);
        assert_eq!((w, h), (width, height.unwrap()), "page {} size", i + 1);
        // Poppler renders 16-bit samples by their high byte.
        let want: Vec<u8> = match pixel {
            PixelFormat::Gray16 | PixelFormat::Rgb16 => data.iter().step_by(2).copied().collect(),
            _ => to8(pixel, width, data),
        };
        assert_eq!(px, want, "page {} {pixel:?}", i + 1);
        if qpdf {
            // All 16 bits, and lineart as stored (0 = black), straight from the stream.
            let img = format!("--show-object={}", 4 + 4 * i);
            let out = std::process::Command::new("qpdf")
                .args([img.as_str(), "--filtered-stream-data", &path])
                .output()
                .unwrap();
            assert!(out.status.success());
            let stream = out.stdout;
            if pixel == PixelFormat::BlackAndWhite1 {
                let bpl = pixel.bytes_per_line(width);
                let mask = 0xFFu8 << ((8 - width % 8) % 8);
                for (a, b) in stream.chunks_exact(bpl).zip(data.chunks_exact(bpl)) {
                    let inv: Vec<u8> = a.iter().map(|x| !x).collect();
                    assert_eq!(inv[..bpl - 1], b[..bpl - 1]);
                    assert_eq!(inv[bpl - 1] & mask, b[bpl - 1] & mask);
                }
            } else {
                assert_eq!(&stream, data, "page {} {pixel:?} stream", i + 1);
            }
        }
    }
}

#[test]
fn lossless_pdf_strips_decode_exactly() {
    // Pages of several 512 KiB strips, compressed on two threads and joined into one zlib
    // stream: qpdf must inflate it (checking the combined Adler-32) and undo the predictor
    // to the source bytes, and poppler must render it.
    let dir = tempfile::tempdir().unwrap();
    let sizes = [
        (PixelFormat::BlackAndWhite1, 4001, 4300),
        (PixelFormat::Gray8, 1001, 2200),
        (PixelFormat::Gray16, 701, 1700),
        (PixelFormat::Rgb8, 641, 1190),
        (PixelFormat::Rgb16, 403, 1001),
    ];
    for deflate in [DeflateEffort::Auto, DeflateEffort::Wire] {
        let opts = EncodeOptions {
            pdf_lossless: true,
            deflate,
            png_threads: 2,
            ..Default::default()
        };
        let mut doc = Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
        let mut datas = Vec::new();
        for (i, &(pixel, w, h)) in sizes.iter().enumerate() {
            let data = chart(pixel, w, h);
            assert!(data.len() > 4 * 512 * 1024, "{pixel:?}: too few strips");
            doc.add_page(
                &page(i as u32 + 1, pixel, w, Some(h), 300),
                &mut SliceSource::new(&data, 65536),
            )
            .unwrap();
            datas.push(data);
        }
        let bytes = doc.finish().unwrap().into_inner();
        let path = tmp_file(dir.path(), "strips.pdf", &bytes);
        if !peer("qpdf") {
            return;
        }
        check_qpdf(&path, sizes.len());
        for (i, (&(pixel, w, _), data)) in sizes.iter().zip(&datas).enumerate() {
            let img = format!("--show-object={}", 4 + 4 * i);
            // qpdf and poppler do not check the Adler-32: inflate the raw stream here.
            let raw = std::process::Command::new("qpdf")
                .args([img.as_str(), "--raw-stream-data", &path])
                .output()
                .unwrap();
            assert!(raw.status.success(), "{deflate:?} {pixel:?}");
            let mut z = flate2::Decompress::new(true);
            let mut filtered = Vec::with_capacity(data.len() * 2);
            let status = z
                .decompress_vec(&raw.stdout, &mut filtered, flate2::FlushDecompress::Finish)
                .unwrap();
            assert_eq!(status, flate2::Status::StreamEnd, "{deflate:?} {pixel:?}");
            assert_eq!(z.total_in(), raw.stdout.len() as u64);
            let out = std::process::Command::new("qpdf")
                .args([img.as_str(), "--filtered-stream-data", &path])
                .output()
                .unwrap();
            assert!(out.status.success(), "{deflate:?} {pixel:?}");
            let mut want = data.clone();
            if pixel == PixelFormat::BlackAndWhite1 {
                // Stored with 0 = black; the pad bits of each row are whatever came in.
                want.iter_mut().for_each(|b| *b = !*b);
                let bpl = pixel.bytes_per_line(w);
                assert_eq!(out.stdout.len(), want.len());
                let mask = 0xFFu8 << ((8 - w % 8) % 8);
                for (a, b) in out.stdout.chunks_exact(bpl).zip(want.chunks_exact(bpl)) {
                    assert_eq!(a[..bpl - 1], b[..bpl - 1]);
                    assert_eq!(a[bpl - 1] & mask, b[bpl - 1] & mask);
                }
            } else {
                assert!(out.stdout == want, "{deflate:?} {pixel:?} stream");
            }
        }
        if !peer("pdftoppm") {
            continue;
        }
        // Rendering at 4x is costly: the two 8-bit layouts.
        for i in [1, 3] {
            let (pixel, w, h) = sizes[i];
            let gray = pixel.channels() == 1;
            let (rw, rh, px) = render(dir.path(), &path, i + 1, 300, gray);
            assert_eq!((rw, rh), (w, h));
            assert!(px == datas[i], "{deflate:?} {pixel:?} rendered");
        }
    }
}

#[test]
fn jpeg_pdf_renders_within_the_jpeg_bound_and_embeds_device_jpegs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EncodeOptions::default();
    // Raster pages (DCT) plus a device JPEG page, which must be embedded byte for byte.
    let (w, h) = (120, 80);
    let rgb = chart(PixelFormat::Rgb8, w, h);
    let device_jpeg = encode_page(
        Format::Jpeg,
        &page(1, PixelFormat::Rgb8, w, Some(h), 200),
        &opts,
        &mut SliceSource::new(&rgb, 4096),
        Vec::new(),
    )
    .unwrap();
    let mut doc = Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
    let gray = chart(PixelFormat::Gray8, w, h);
    doc.add_page(
        &page(1, PixelFormat::Gray8, w, Some(h), 300),
        &mut SliceSource::new(&gray, 333),
    )
    .unwrap();
    doc.add_page(
        &page(2, PixelFormat::Rgb8, w, None, 300),
        &mut SliceSource::new(&rgb, 1000),
    )
    .unwrap();
    let mut jp = page(3, PixelFormat::Rgb8, w, Some(h), 200);
    jp.data = PageData::Encoded(Encoding::Jpeg);
    doc.add_page(&jp, &mut SliceSource::new(&device_jpeg, 100))
        .unwrap();
    // A device JPEG that is not one: a named error, and the document is unchanged.
    let e = doc
        .add_page(&jp, &mut SliceSource::new(b"GIF89a....", 4))
        .unwrap_err();
    assert!(e.to_string().contains("SOI"), "{e}");
    assert_eq!(doc.pages(), 3);
    let bytes = doc.finish().unwrap().into_inner();
    assert!(
        bytes
            .windows(device_jpeg.len())
            .any(|win| win == &device_jpeg[..]),
        "the device JPEG is embedded unchanged"
    );
    let path = tmp_file(dir.path(), "jpeg.pdf", &bytes);
    if peer("qpdf") {
        check_qpdf(&path, 3);
    }
    if !peer("pdftoppm") {
        return;
    }
    for (n, data, gray_page, dpi) in [
        (1, &gray, true, 300),
        (2, &rgb, false, 300),
        (3, &rgb, false, 200),
    ] {
        check_jpeg_page(dir.path(), &path, n, dpi, gray_page, (w, h), data);
    }
}

/// Page `n` of the PDF at `path`, rendered by poppler at `dpi`, has the size `(w, h)` and
/// stays within the JPEG error bound of `data`.
fn check_jpeg_page(
    dir: &Path,
    path: &str,
    n: usize,
    dpi: u32,
    gray: bool,
    (w, h): (u32, u32),
    data: &[u8],
) {
    let (rw, rh, px) = render(dir, path, n, dpi, gray);
    assert_eq!((rw, rh), (w, h), "page {n}");
    let (mean, max) = diff(&px, data);
    let bound = if gray { JPEG_GRAY } else { JPEG_COLOR };
    assert!(
        mean <= bound.0 && max <= bound.1,
        "page {n}: mean {mean:.2} max {max}"
    );
}

#[test]
fn jpeg_strips_render_in_poppler() {
    // Pages tall enough for several restart intervals (the JPEG encoder's strips, encoded on
    // two threads): poppler's libjpeg must decode the joined strips.
    let dir = tempfile::tempdir().unwrap();
    let opts = EncodeOptions {
        threads: 2,
        ..Default::default()
    };
    let (w, h) = (640, 700);
    let rgb = chart(PixelFormat::Rgb8, w, h);
    let gray = chart(PixelFormat::Gray8, w, h);
    let mut doc = Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
    doc.add_page(
        &page(1, PixelFormat::Rgb8, w, Some(h), 300),
        &mut SliceSource::new(&rgb, 65536),
    )
    .unwrap();
    doc.add_page(
        &page(2, PixelFormat::Gray8, w, Some(h), 300),
        &mut SliceSource::new(&gray, 65536),
    )
    .unwrap();
    let bytes = doc.finish().unwrap().into_inner();
    // Restart markers (RST0..RST7) are there.
    assert!(
        bytes.windows(2).any(|m| m == [0xFF, 0xD3]),
        "no RST3 marker"
    );
    let path = tmp_file(dir.path(), "strips.pdf", &bytes);
    if peer("qpdf") {
        check_qpdf(&path, 2);
    }
    if !peer("pdftoppm") {
        return;
    }
    for (n, data, gray_page) in [(1, &rgb, false), (2, &gray, true)] {
        check_jpeg_page(dir.path(), &path, n, 300, gray_page, (w, h), data);
    }
}

/// A text layer on a PDF page, with a page cut off between: the glyphless font goes with the
/// page that failed and is written again with the next, and every page's text comes back.
#[test]
fn pdf_text_layers_survive_a_page_cut_off_between_them() {
    let (pdftotext, qpdf) = (peer("pdftotext"), peer("qpdf"));
    let (w, h) = (400u32, 200u32);
    let data = chart(PixelFormat::Gray8, w, h);
    let layer = |word: &str| TextLayer {
        width: w,
        height: h,
        words: vec![
            TextWord {
                text: word.into(),
                bbox: [20, 20, 200, 60],
                line: 0,
            },
            TextWord {
                text: "end".into(),
                bbox: [240, 20, 320, 60],
                line: 0,
            },
        ],
    };
    let mut doc = Document::new(
        Format::Pdf,
        Cursor::new(Vec::new()),
        &EncodeOptions::default(),
        true,
    )
    .unwrap();
    let info = page(1, PixelFormat::Gray8, w, Some(h), 100);
    // Half a page: incomplete, cut off again with its text and the font.
    let half = &data[..data.len() / 2];
    let e = doc
        .add_page_with_text(
            &info,
            &mut SliceSource::new(half, 4096),
            Some(&layer("lost")),
        )
        .unwrap_err();
    assert!(matches!(e, EncodeError::ShortPage { .. }), "{e}");
    for word in ["first", "second"] {
        doc.add_page_with_text(
            &info,
            &mut SliceSource::new(&data, 4096),
            Some(&layer(word)),
        )
        .unwrap();
    }
    // A page without text between pages with text.
    doc.add_page(&info, &mut SliceSource::new(&data, 4096))
        .unwrap();
    let pdf = doc.finish().unwrap().into_inner();
    let dir = tempfile::tempdir().unwrap();
    let path = tmp_file(dir.path(), "text.pdf", &pdf);
    if qpdf {
        check_qpdf(&path, 3);
    }
    if pdftotext {
        let text = run("pdftotext", &[&path, "-"]);
        let pages: Vec<String> = text
            .split('\u{c}')
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(&pages[..3], ["first end", "second end", ""], "{text:?}");
    }
    assert_eq!(
        String::from_utf8_lossy(&pdf)
            .matches("/GlyphLessFont")
            .count(),
        3,
        "one font (Type0, CIDFont, descriptor name) for the document"
    );
}

/// Pages whose images were encoded beforehand (a queue worker's) make the same PDF, byte for
/// byte, as the same pages added as rows, with and without text, lossy and lossless; an image
/// compressed otherwise than the document stores it is refused and leaves it unchanged.
#[test]
fn prepared_pdf_images_make_the_same_file() {
    let text = TextLayer {
        width: 10,
        height: 10,
        words: vec![TextWord {
            text: "scan".into(),
            bbox: [1, 1, 8, 4],
            line: 0,
        }],
    };
    for lossless in [false, true] {
        let opts = EncodeOptions {
            pdf_lossless: lossless,
            created: Some(1_700_000_000),
            ..EncodeOptions::default()
        };
        let mut rows = Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
        let mut prepared =
            Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
        for (i, (p, data)) in pages().iter().enumerate() {
            let t = (i % 2 == 0).then_some(&text);
            rows.add_page_with_text(p, &mut SliceSource::new(data, 7), t)
                .unwrap();
            let image = PdfImage::encode(p, &mut SliceSource::new(data, 7), &opts).unwrap();
            prepared.add_pdf_image(&image, t).unwrap();
        }
        let other = EncodeOptions {
            pdf_lossless: !lossless,
            ..opts.clone()
        };
        let (p, data) = &pages()[1];
        let wrong = PdfImage::encode(p, &mut SliceSource::new(data, 7), &other).unwrap();
        let before = prepared.pages();
        let e = prepared.add_pdf_image(&wrong, None).unwrap_err();
        assert!(e.to_string().contains("stores such pages"), "{e}");
        assert_eq!(prepared.pages(), before);
        let a = rows.finish().unwrap().into_inner();
        let b = prepared.finish().unwrap().into_inner();
        assert!(a == b, "lossless {lossless}: the files differ");
    }
}
