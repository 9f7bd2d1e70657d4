//! Every format decodes back to the pages that went in.

mod common;

use common::*;
use scanwire_codecs::*;
use scanwire_core::device::{Encoding, PageData, PixelFormat};
use scanwire_core::wia;
use std::io::Cursor;

/// Chunk sizes that split rows every way: single bytes, primes, just under and over a row.
fn chunkings(bpl: usize) -> Vec<usize> {
    vec![1, 7, bpl - 1, bpl + 1, 3 * bpl + 5, 1 << 20]
}

fn encode(
    format: Format,
    pixel: PixelFormat,
    w: u32,
    h: u32,
    known: bool,
    chunk: usize,
) -> (Vec<u8>, Vec<u8>) {
    let data = chart(pixel, w, h);
    let p = page(1, pixel, w, known.then_some(h), 300);
    let out = encode_page(
        format,
        &p,
        &EncodeOptions::default(),
        &mut SliceSource::new(&data, chunk),
        Vec::new(),
    )
    .unwrap_or_else(|e| panic!("{format} {pixel:?} chunk {chunk}: {e}"));
    (data, out)
}

#[test]
fn pnm_is_exact_for_every_layout_and_chunking() {
    for pixel in ALL_PIXELS {
        let (w, h) = (37, 23);
        for chunk in chunkings(pixel.bytes_per_line(w)) {
            for known in [true, false] {
                let (data, out) = encode(Format::Pnm, pixel, w, h, known, chunk);
                let (magic, pw, ph, maxval, body) = parse_pnm(&out);
                let (want_magic, want_max) = match pixel {
                    PixelFormat::BlackAndWhite1 => ("P4", 1),
                    PixelFormat::Gray8 => ("P5", 255),
                    PixelFormat::Gray16 => ("P5", 65535),
                    PixelFormat::Rgb8 => ("P6", 255),
                    PixelFormat::Rgb16 => ("P6", 65535),
                };
                assert_eq!(
                    (magic.as_str(), pw, ph, maxval),
                    (want_magic, w, h, want_max),
                    "{pixel:?}"
                );
                assert_eq!(body, data, "{pixel:?} chunk {chunk} known {known}");
            }
        }
    }
}

fn decode_png(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>, Option<png::PixelDimensions>) {
    let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let dims = reader.info().pixel_dims;
    (info, buf, dims)
}

#[test]
fn png_is_exact_for_every_layout_and_chunking() {
    for pixel in ALL_PIXELS {
        let (w, h) = (53, 31);
        for chunk in chunkings(pixel.bytes_per_line(w)) {
            for known in [true, false] {
                let (data, out) = encode(Format::Png, pixel, w, h, known, chunk);
                let (info, mut pixels, dims) = decode_png(&out);
                assert_eq!((info.width, info.height), (w, h));
                assert_eq!(info.bit_depth as u8, pixel.bit_depth());
                let want_color = if pixel.channels() == 3 {
                    png::ColorType::Rgb
                } else {
                    png::ColorType::Grayscale
                };
                assert_eq!(info.color_type, want_color);
                if pixel == PixelFormat::BlackAndWhite1 {
                    // PNG gray has 0 = black: the encoder inverted, invert back. Padding bits
                    // at the end of each row are don't-care.
                    for b in &mut pixels {
                        *b = !*b;
                    }
                    let bpl = pixel.bytes_per_line(w);
                    let mask = 0xFFu8 << (8 - (w % 8)) as u8;
                    for (a, b) in pixels.chunks_exact(bpl).zip(data.chunks_exact(bpl)) {
                        assert_eq!(a[..bpl - 1], b[..bpl - 1]);
                        assert_eq!(a[bpl - 1] & mask, b[bpl - 1] & mask);
                    }
                } else {
                    assert_eq!(pixels, data, "{pixel:?} chunk {chunk}");
                }
                let dims = dims.expect("pHYs");
                assert_eq!(
                    (dims.xppu, dims.yppu, dims.unit),
                    (11811, 11811, png::Unit::Meter)
                );
            }
        }
    }
}

fn decode_jpeg(bytes: &[u8]) -> (u32, u32, usize, Vec<u8>) {
    let mut d = zune_jpeg::JpegDecoder::new(bytes);
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    (
        info.width as u32,
        info.height as u32,
        info.components as usize,
        px,
    )
}

#[test]
fn png_is_exact_at_every_effort() {
    for deflate in [
        DeflateEffort::Auto,
        DeflateEffort::Fastest,
        DeflateEffort::Fast,
        DeflateEffort::Balanced,
        DeflateEffort::High,
        DeflateEffort::Wire,
    ] {
        for pixel in ALL_PIXELS {
            let (w, h) = (61, 17);
            let data = chart(pixel, w, h);
            let p = page(1, pixel, w, Some(h), 300);
            let opts = EncodeOptions {
                deflate,
                ..Default::default()
            };
            let out = encode_page(
                Format::Png,
                &p,
                &opts,
                &mut SliceSource::new(&data, 999),
                Vec::new(),
            )
            .unwrap();
            let (_, px, _) = decode_png(&out);
            if pixel != PixelFormat::BlackAndWhite1 {
                assert_eq!(px, data, "{deflate:?} {pixel:?}");
            }
        }
    }
}

#[test]
fn jpeg_decodes_within_the_stated_bound() {
    for pixel in ALL_PIXELS {
        let (w, h) = (203, 141);
        for chunk in [5, pixel.bytes_per_line(w) + 3, 1 << 20] {
            for known in [true, false] {
                let (data, out) = encode(Format::Jpeg, pixel, w, h, known, chunk);
                let (dw, dh, comps, px) = decode_jpeg(&out);
                assert_eq!((dw, dh), (w, h));
                assert_eq!(comps, pixel.channels() as usize, "{pixel:?}");
                let want = to8(pixel, w, &data);
                let (mean, max) = diff(&px, &want);
                let bound = if pixel.channels() == 3 {
                    JPEG_COLOR
                } else {
                    JPEG_GRAY
                };
                assert!(
                    mean <= bound.0 && max <= bound.1,
                    "{pixel:?}: mean {mean:.2} max {max}"
                );
                let info = parse_jpeg_header(&out).unwrap().unwrap();
                assert_eq!(info.dpi, Some((300, 300)));
            }
        }
    }
}

#[test]
fn jpeg_lineart_is_black_and_white() {
    let (data, out) = encode(Format::Jpeg, PixelFormat::BlackAndWhite1, 64, 64, true, 100);
    let (_, _, _, px) = decode_jpeg(&out);
    let want = to8(PixelFormat::BlackAndWhite1, 64, &data);
    // Most samples stay near their black or white value.
    let close = px
        .iter()
        .zip(&want)
        .filter(|(a, b)| a.abs_diff(**b) < 64)
        .count();
    assert!(close * 100 / px.len() >= 95, "{close} of {}", px.len());
}

#[test]
fn encoded_pages_pass_through_or_convert() {
    // A device JPEG saved as JPEG is copied byte for byte.
    let (_, jpeg) = encode(Format::Jpeg, PixelFormat::Rgb8, 40, 30, true, 1000);
    let mut p = page(1, PixelFormat::Rgb8, 40, Some(30), 200);
    p.data = PageData::Encoded(Encoding::Jpeg);
    let copy = encode_page(
        Format::Jpeg,
        &p,
        &EncodeOptions::default(),
        &mut SliceSource::new(&jpeg, 9),
        Vec::new(),
    )
    .unwrap();
    assert_eq!(copy, jpeg);
    // Saved as PNG it is decoded and re-encoded: the PNG holds the decoded pixels.
    let png_bytes = encode_page(
        Format::Png,
        &p,
        &EncodeOptions::default(),
        &mut SliceSource::new(&jpeg, 9),
        Vec::new(),
    )
    .unwrap();
    let (info, px, _) = decode_png(&png_bytes);
    assert_eq!((info.width, info.height), (40, 30));
    assert_eq!(px, decode_jpeg(&jpeg).3);
    // A device PDF cannot become a PNG: the error says what to do.
    p.data = PageData::Encoded(Encoding::Pdf);
    let e = encode_page(
        Format::Png,
        &p,
        &EncodeOptions::default(),
        &mut SliceSource::new(b"%PDF", 9),
        Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("application/pdf") && e.contains("choose pdf"),
        "{e}"
    );
}

#[test]
fn malformed_pages_are_named_errors() {
    let p = page(1, PixelFormat::Gray8, 10, Some(4), 300);
    let opts = EncodeOptions::default();
    for format in [Format::Pnm, Format::Png, Format::Jpeg] {
        let e = encode_page(
            format,
            &p,
            &opts,
            &mut SliceSource::new(&[0; 30], 7),
            Vec::new(),
        )
        .unwrap_err();
        assert!(
            matches!(e, EncodeError::ShortPage { rows: 3, height: 4 }),
            "{format}: {e}"
        );
        let e = encode_page(
            format,
            &p,
            &opts,
            &mut SliceSource::new(&[0; 41], 7),
            Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(e, EncodeError::ExcessData { .. }), "{format}: {e}");
        assert_eq!(e.hresult(), wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
        let unknown = page(1, PixelFormat::Gray8, 10, None, 300);
        let e = encode_page(
            format,
            &unknown,
            &opts,
            &mut SliceSource::new(&[0; 35], 7),
            Vec::new(),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                EncodeError::PartialRow {
                    row: 4,
                    extra: 5,
                    ..
                }
            ),
            "{format}: {e}"
        );
    }
    let bad = EncodeOptions {
        jpeg_quality: 0,
        ..Default::default()
    };
    let e = encode_page(
        Format::Jpeg,
        &p,
        &bad,
        &mut SliceSource::new(&[0; 40], 7),
        Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("between 1 and 100"), "{e}");
}
