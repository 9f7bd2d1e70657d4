//! Reads a PNG file into a `PageImage` (tests, the example and the benchmark use it).

use scanwire_ocr::PageImage;
use std::path::Path;

/// Decodes any PNG with its pHYs resolution: a 1-bit black-and-white PNG into
/// BlackAndWhite1 (as Tesseract's command line reads it, 1 bit a pixel), else Gray8 when
/// every pixel is gray, else Rgb8.
pub fn load_png(path: &Path) -> Result<PageImage, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let open = || {
        std::fs::File::open(path)
            .map(|f| png::Decoder::new(std::io::BufReader::new(f)))
            .map_err(|e| err(&e))
    };
    // A 1-bit black-and-white PNG is taken as it is stored: packed rows, no expansion.
    let header = open()?.read_info().map_err(|e| err(&e))?;
    let info = header.info();
    let invert = match (info.bit_depth, info.color_type, info.palette.as_deref()) {
        // PNG gray: 1 = white; ours: 1 = black.
        (png::BitDepth::One, png::ColorType::Grayscale, _) => Some(true),
        (png::BitDepth::One, png::ColorType::Indexed, Some(p)) if p.len() >= 6 => {
            match (&p[..3], &p[3..6]) {
                ([0, 0, 0], [255, 255, 255]) => Some(true),
                ([255, 255, 255], [0, 0, 0]) => Some(false),
                _ => None,
            }
        }
        _ => None,
    };
    let dpi = info.pixel_dims.and_then(|d| match d.unit {
        png::Unit::Meter if d.yppu > 0 => Some((d.yppu as f64 * 0.0254).round() as u32),
        _ => None,
    });
    drop(header);
    if let Some(invert) = invert {
        let mut reader = open()?.read_info().map_err(|e| err(&e))?;
        let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
        let frame = reader.next_frame(&mut buf).map_err(|e| err(&e))?;
        let (w, h) = (frame.width, frame.height);
        let bpl = (w as usize).div_ceil(8);
        let mut bw = Vec::with_capacity(bpl * h as usize);
        for row in buf.chunks(frame.line_size).take(h as usize) {
            bw.extend(row[..bpl].iter().map(|b| if invert { !b } else { *b }));
        }
        return PageImage::black_and_white(w, h, dpi, bw).map_err(|e| e.to_string());
    }
    let mut dec = open()?;
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| err(&e))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| err(&e))?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let channels = info.color_type.samples();
    let gray = |g: Vec<u8>| PageImage::gray(w, h, dpi, g).map_err(|e| e.to_string());
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Grayscale => return gray(buf),
        png::ColorType::GrayscaleAlpha => return gray(buf.chunks(2).map(|p| p[0]).collect()),
        _ => buf
            .chunks(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    if rgb.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
        return gray(rgb.chunks(3).map(|p| p[0]).collect());
    }
    PageImage::rgb(w, h, dpi, rgb).map_err(|e| e.to_string())
}
