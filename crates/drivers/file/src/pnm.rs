//! Netpbm files, P1 to P6, as SANE's `pnm` backend reads them: the header (magic, width,
//! height, maxval; `#` comments anywhere between its fields), then ASCII (P1–P3) or binary
//! (P4–P6) samples. P1 and P4 are bitmaps with 1 = black, which is exactly Scanwire's lineart
//! layout; other maxvals than 255 and 65535 are scaled to them.

/// A PNM header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// 1..=6.
    pub kind: u8,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// The largest sample value (1 for bitmaps).
    pub maxval: u32,
    /// Where the samples start.
    pub data_offset: usize,
}

impl Header {
    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        if matches!(self.kind, 3 | 6) {
            3
        } else {
            1
        }
    }

    /// Whether the samples are 16-bit.
    pub fn depth16(&self) -> bool {
        self.maxval > 255
    }
}

/// Reads the header, or says what is wrong with it.
pub fn header(bytes: &[u8]) -> Result<Header, String> {
    if bytes.len() < 2 || bytes[0] != b'P' || !(b'1'..=b'6').contains(&bytes[1]) {
        return Err("does not start with P1..P6".into());
    }
    let kind = bytes[1] - b'0';
    let mut pos = 2;
    let fields = if matches!(kind, 1 | 4) { 2 } else { 3 };
    let mut values = [0u32; 3];
    for (i, value) in values.iter_mut().enumerate().take(fields) {
        let name = ["width", "height", "maxval"][i];
        *value = number(bytes, &mut pos).ok_or_else(|| format!("header has no valid {name}"))?;
    }
    let maxval = if fields == 2 { 1 } else { values[2] };
    if values[0] == 0 || values[1] == 0 {
        return Err(format!("has an empty size ({}x{})", values[0], values[1]));
    }
    // Exactly one whitespace byte ends the header.
    if pos >= bytes.len() {
        return Err("ends after its header".into());
    }
    pos += 1;
    if !(1..=65535).contains(&maxval) {
        return Err(format!("has maxval {maxval} (allowed 1..=65535)"));
    }
    Ok(Header {
        kind,
        width: values[0],
        height: values[1],
        maxval,
        data_offset: pos,
    })
}

/// Skips whitespace and comments, then reads a decimal number.
fn number(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    loop {
        match bytes.get(*pos)? {
            b'#' => {
                while *bytes.get(*pos)? != b'\n' && bytes[*pos] != b'\r' {
                    *pos += 1;
                }
            }
            c if c.is_ascii_whitespace() => *pos += 1,
            _ => break,
        }
    }
    let start = *pos;
    while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
        *pos += 1;
    }
    std::str::from_utf8(&bytes[start..*pos]).ok()?.parse().ok()
}

/// The samples of a PNM: for P1/P4 packed rows with 1 = black (padded to whole bytes); for
/// the others `channels` samples per pixel, 8-bit, or 16-bit big-endian when maxval > 255,
/// scaled to 255 or 65535.
pub fn samples(bytes: &[u8], h: &Header) -> Result<Vec<u8>, String> {
    let (w, rows) = (h.width as usize, h.height as usize);
    let data = &bytes[h.data_offset.min(bytes.len())..];
    match h.kind {
        4 => {
            let need = w.div_ceil(8) * rows;
            let got = data.get(..need).ok_or_else(|| short(need, data.len()))?;
            let mut out = got.to_vec();
            clear_padding(&mut out, w);
            Ok(out)
        }
        1 => {
            let bpl = w.div_ceil(8);
            let mut out = vec![0u8; bpl * rows];
            let mut bits = data
                .iter()
                .filter(|c| !c.is_ascii_whitespace())
                .copied()
                .peekable();
            for y in 0..rows {
                for x in 0..w {
                    match bits.next() {
                        Some(b'1') => out[y * bpl + x / 8] |= 0x80 >> (x % 8),
                        Some(b'0') => {}
                        Some(c) => return Err(format!("has `{}` among its bits", c as char)),
                        None => return Err(format!("ends at row {} of {rows}", y + 1)),
                    }
                }
            }
            Ok(out)
        }
        5 | 6 => {
            let bytes_per = if h.depth16() { 2 } else { 1 };
            let need = w * rows * h.channels() * bytes_per;
            let got = data.get(..need).ok_or_else(|| short(need, data.len()))?;
            let mut out = got.to_vec();
            scale(&mut out, h);
            Ok(out)
        }
        _ => {
            let count = w * rows * h.channels();
            let bytes_per = if h.depth16() { 2 } else { 1 };
            let mut out = Vec::with_capacity(count * bytes_per);
            let mut pos = 0;
            for i in 0..count {
                let v = number(data, &mut pos)
                    .ok_or_else(|| format!("ends after {i} of its {count} samples"))?;
                if v > h.maxval {
                    return Err(format!("has sample {v} above its maxval {}", h.maxval));
                }
                if bytes_per == 2 {
                    out.extend_from_slice(&(v as u16).to_be_bytes());
                } else {
                    out.push(v as u8);
                }
            }
            scale(&mut out, h);
            Ok(out)
        }
    }
}

fn short(need: usize, got: usize) -> String {
    format!("is cut short: {got} of {need} sample bytes")
}

/// Padding bits past the width are zero (white), as Scanwire's rows have them.
fn clear_padding(rows: &mut [u8], width: usize) {
    let bpl = width.div_ceil(8);
    if width % 8 != 0 {
        let mask = 0xffu8 << (8 - width % 8);
        for row in rows.chunks_exact_mut(bpl) {
            row[bpl - 1] &= mask;
        }
    }
}

/// Samples of any maxval to the full 8- or 16-bit range.
fn scale(samples: &mut [u8], h: &Header) {
    let m = h.maxval;
    if h.depth16() {
        if m != 65535 {
            for s in samples.chunks_exact_mut(2) {
                let v = u32::from(u16::from_be_bytes([s[0], s[1]])).min(m);
                s.copy_from_slice(&((v * 65535 + m / 2) / m).to_be_bytes()[2..]);
            }
        }
    } else if m != 255 {
        for s in samples {
            *s = ((u32::from(*s).min(m) * 255 + m / 2) / m) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_with_comments_and_odd_maxvals() {
        let h = header(b"P1\n# made by hand\n3 2\n1 0 1\n0 1 0\n").unwrap();
        assert_eq!((h.kind, h.width, h.height, h.maxval), (1, 3, 2, 1));
        assert_eq!(
            samples(b"P1\n# made by hand\n3 2\n1 0 1\n0 1 0\n", &h).unwrap(),
            [0b1010_0000, 0b0100_0000]
        );
        let p2 = b"P2 2 1 15 0 15";
        assert_eq!(samples(p2, &header(p2).unwrap()).unwrap(), [0, 255]);
        let p5 = b"P5\n2 1\n1000\n\x00\x00\x03\xe8";
        let h = header(p5).unwrap();
        assert!(h.depth16());
        assert_eq!(samples(p5, &h).unwrap(), [0, 0, 0xff, 0xff]);
        let p4 = b"P4\n10 1\n\xff\xff";
        assert_eq!(samples(p4, &header(p4).unwrap()).unwrap(), [0xff, 0xc0]);
        let p6 = b"P6 1 1 255\n\x01\x02\x03";
        assert_eq!(samples(p6, &header(p6).unwrap()).unwrap(), [1, 2, 3]);
    }

    #[test]
    fn damage_is_described() {
        assert!(header(b"GIF89a").is_err());
        assert!(header(b"P5\n0 3 255\n").unwrap_err().contains("empty size"));
        assert!(header(b"P5\n3 3 70000\n").unwrap_err().contains("maxval"));
        let cut = b"P6\n4 4\n255\n\x00\x00";
        let e = samples(cut, &header(cut).unwrap()).unwrap_err();
        assert!(e.contains("cut short: 2 of 48"), "{e}");
        let bad = b"P1 2 1 1 x";
        assert!(samples(bad, &header(bad).unwrap())
            .unwrap_err()
            .contains("`x`"));
    }
}
