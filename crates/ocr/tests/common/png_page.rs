//! Reads a PNG file into a `PageImage` (tests, the example and the benchmark use it).

use scanwire_ocr::PageImage;
use std::path::Path;

/// Decodes any PNG with its pHYs resolution: a 1-bit black-and-white PNG into
/// BlackAndWhite1 (as Tesseract's command line reads it, 1 bit a pixel), else Gray8 when
/// every pixel is gray, else Rgb8.
pub fn load_png(path: &Path) -> Result<PageImage, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec
        .read_info()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let dpi = reader.info().pixel_dims.and_then(|d| match d.unit {
        png::Unit::Meter if d.yppu > 0 => Some((d.yppu as f64 * 0.0254).round() as u32),
        _ => None,
    });
    let one_bit = reader.info().bit_depth == png::BitDepth::One;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let channels = info.color_type.samples();
    let gray = |g: Vec<u8>| -> Result<PageImage, String> {
        if one_bit && g.iter().all(|v| *v == 0 || *v == 255) {
            let bpl = (w as usize).div_ceil(8);
            let mut bw = vec![0u8; bpl * h as usize];
            for (i, v) in g.iter().enumerate() {
                let (x, y) = (i % w as usize, i / w as usize);
                if *v == 0 {
                    bw[y * bpl + x / 8] |= 0x80 >> (x % 8);
                }
            }
            return PageImage::black_and_white(w, h, dpi, bw).map_err(|e| e.to_string());
        }
        PageImage::gray(w, h, dpi, g).map_err(|e| e.to_string())
    };
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
