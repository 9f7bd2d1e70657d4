//! Just enough JPEG parsing to embed a device's JPEG in a PDF without decoding it: the frame
//! header (SOF) gives the size and components; an Adobe APP14 segment says CMYK is inverted.

use crate::EncodeError;

/// What a PDF image dictionary needs to know about a JPEG.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct JpegInfo {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
    pub components: u8,
    /// Sample precision (8 for anything a PDF can hold).
    pub bits: u8,
    /// An Adobe APP14 segment is present (Adobe CMYK JPEGs store inverted values).
    pub adobe: bool,
    /// JFIF density in dots per inch, when the file states one.
    pub dpi: Option<(u32, u32)>,
}

fn bad(detail: impl Into<String>) -> EncodeError {
    EncodeError::BadInput {
        what: "JPEG",
        detail: detail.into(),
    }
}

/// Reads the header of `data`, a JPEG's first bytes. `Ok(None)`: the frame header is not in
/// `data` yet (give it more bytes).
pub fn parse_header(data: &[u8]) -> Result<Option<JpegInfo>, EncodeError> {
    if data.len() < 2 {
        return Ok(None);
    }
    if data[..2] != [0xFF, 0xD8] {
        return Err(bad("it does not start with a JPEG SOI marker (FF D8)"));
    }
    let mut adobe = false;
    let mut dpi = None;
    let mut i = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while i < data.len() && data[i] == 0xFF && data.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 4 > data.len() {
            return Ok(None);
        }
        if data[i] != 0xFF {
            return Err(bad(format!("expected a marker at byte {i}")));
        }
        let marker = data[i + 1];
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            return Err(bad("no frame header (SOF) before the image data"));
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        if len < 2 {
            return Err(bad(format!("segment FF{marker:02X} has length {len}")));
        }
        let body_start = i + 4;
        let end = i + 2 + len;
        if end > data.len() {
            return Ok(None);
        }
        let body = &data[body_start..end];
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if body.len() < 6 {
                    return Err(bad("truncated frame header"));
                }
                let bits = body[0];
                let height = u16::from_be_bytes([body[1], body[2]]) as u32;
                let width = u16::from_be_bytes([body[3], body[4]]) as u32;
                let components = body[5];
                if width == 0 || height == 0 {
                    return Err(bad(format!(
                        "frame size {width}x{height} (a height given later by DNL is not supported)"
                    )));
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(bad(format!("{components} components (allowed: 1, 3, 4)")));
                }
                return Ok(Some(JpegInfo {
                    width,
                    height,
                    components,
                    bits,
                    adobe,
                    dpi,
                }));
            }
            0xE0 if body.len() >= 12 && &body[..5] == b"JFIF\0" => {
                let unit = body[7];
                let x = u16::from_be_bytes([body[8], body[9]]) as u32;
                let y = u16::from_be_bytes([body[10], body[11]]) as u32;
                dpi = match unit {
                    1 if x > 0 && y > 0 => Some((x, y)),
                    2 if x > 0 && y > 0 => Some(((x * 254 + 50) / 100, (y * 254 + 50) / 100)),
                    _ => None,
                };
            }
            0xEE if body.starts_with(b"Adobe") => adobe = true,
            _ => {}
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_frame_after_segments() {
        let mut j = vec![0xFF, 0xD8];
        j.extend([0xFF, 0xE0, 0, 16]);
        j.extend(b"JFIF\0\x01\x02\x01\x01\x2c\x01\x2c\0\0");
        j.extend([0xFF, 0xEE, 0, 7]);
        j.extend(b"Adobe");
        j.extend([0xFF, 0xFF, 0xC0, 0, 17, 8, 0x01, 0x00, 0x02, 0x00, 3]);
        j.extend([0; 9]);
        for n in 0..j.len() {
            assert_eq!(parse_header(&j[..n]).unwrap(), None, "prefix {n}");
        }
        let info = parse_header(&j).unwrap().unwrap();
        assert_eq!(
            info,
            JpegInfo {
                width: 512,
                height: 256,
                components: 3,
                bits: 8,
                adobe: true,
                dpi: Some((300, 300)),
            }
        );
        assert!(parse_header(b"\x89PNG").is_err());
    }
}
