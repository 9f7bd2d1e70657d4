//! Reads a PNG file into a `PageImage` (tests, the example and the benchmark use it).

use scanwire_ocr::PageImage;
use std::path::Path;

/// Decodes any PNG into Gray8 (when every pixel is gray) or Rgb8, with its pHYs resolution.
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
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width, info.height);
    let channels = info.color_type.samples();
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Grayscale => {
            return PageImage::gray(w, h, dpi, buf).map_err(|e| e.to_string());
        }
        png::ColorType::GrayscaleAlpha => {
            let g = buf.chunks(2).map(|p| p[0]).collect();
            return PageImage::gray(w, h, dpi, g).map_err(|e| e.to_string());
        }
        _ => buf
            .chunks(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    if rgb.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
        let g = rgb.chunks(3).map(|p| p[0]).collect();
        return PageImage::gray(w, h, dpi, g).map_err(|e| e.to_string());
    }
    PageImage::rgb(w, h, dpi, rgb).map_err(|e| e.to_string())
}
