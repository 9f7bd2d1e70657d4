//! Whose fault a page that does not decode is. The decoding itself is the codecs crate's
//! (`scanwire_codecs::decode`: `PngRows` decodes a PNG row by row while its body arrives
//! through a `ChunkReader`), shared with the WSD driver and the encoders.

use crate::errors;
use scanwire_codecs::EncodeError;
use scanwire_core::device::DeviceError;

/// A page that does not decode is the scanner's fault.
pub fn bad_page(e: EncodeError) -> DeviceError {
    errors::bad_response(format!("a page that does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_codecs::decode::decode;
    use scanwire_core::device::ColorMode;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        let data: Vec<u8> = (0..width * height * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut w = e.write_header().unwrap();
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn a_page_that_does_not_decode_is_the_scanners_fault() {
        let bytes = png(64, 64);
        let e = decode(&bytes[..bytes.len() / 2], Some(ColorMode::Color)).unwrap_err();
        let e = bad_page(e).to_string();
        assert!(e.contains("the scanner sent") && e.contains("PNG"), "{e}");
    }
}
