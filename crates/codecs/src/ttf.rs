//! A TrueType font with no outlines: the glyphless font of the invisible text layer.
//!
//! Two empty glyphs (`.notdef` and glyph 1), each 500 units wide on a 1000-unit em, so a
//! character is half as wide as the font size, as in Tesseract's `pdf.ttf`. Only the tables a
//! PDF reader needs for an embedded CIDFontType2 are written (head, hhea, maxp, hmtx, loca,
//! glyf, post); every glyph is empty, so `glyf` is too.

/// Advance width of every glyph, in font units.
pub(crate) const ADVANCE: u16 = 500;
/// Units per em.
pub(crate) const UNITS_PER_EM: u16 = 1000;
const GLYPHS: u16 = 2;

/// The font file.
pub(crate) fn glyphless() -> Vec<u8> {
    let mut head = Vec::new();
    be32(&mut head, 0x0001_0000); // version
    be32(&mut head, 0x0001_0000); // fontRevision
    be32(&mut head, 0); // checkSumAdjustment, set below
    be32(&mut head, 0x5F0F_3CF5); // magicNumber
    be16(&mut head, 0x000B); // flags: baseline at y=0, lsb at x=0, integer scaling
    be16(&mut head, UNITS_PER_EM);
    head.extend_from_slice(&[0; 16]); // created, modified
    for v in [0, 0, ADVANCE, UNITS_PER_EM] {
        be16(&mut head, v); // xMin yMin xMax yMax
    }
    be16(&mut head, 0); // macStyle
    be16(&mut head, 8); // lowestRecPPEM
    be16(&mut head, 2); // fontDirectionHint
    be16(&mut head, 0); // indexToLocFormat: short
    be16(&mut head, 0); // glyphDataFormat

    let mut hhea = Vec::new();
    be32(&mut hhea, 0x0001_0000);
    be16(&mut hhea, UNITS_PER_EM); // ascender
    be16(&mut hhea, 0); // descender
    be16(&mut hhea, 0); // lineGap
    be16(&mut hhea, ADVANCE); // advanceWidthMax
    hhea.extend_from_slice(&[0; 6]); // minLeftSideBearing, minRightSideBearing, xMaxExtent
    be16(&mut hhea, 1); // caretSlopeRise
    hhea.extend_from_slice(&[0; 4 + 8]); // caretSlopeRun, caretOffset, 4 reserved
    be16(&mut hhea, 0); // metricDataFormat
    be16(&mut hhea, GLYPHS); // numberOfHMetrics

    let mut maxp = Vec::new();
    be32(&mut maxp, 0x0001_0000);
    be16(&mut maxp, GLYPHS);
    for v in [0u16, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0] {
        be16(&mut maxp, v); // maxPoints … maxComponentDepth (maxZones = 2)
    }

    let mut hmtx = Vec::new();
    for _ in 0..GLYPHS {
        be16(&mut hmtx, ADVANCE);
        be16(&mut hmtx, 0);
    }
    let loca = vec![0u8; 2 * (GLYPHS as usize + 1)];
    let glyf = Vec::new();
    let mut post = Vec::new();
    be32(&mut post, 0x0003_0000); // version 3: no glyph names
    post.extend_from_slice(&[0; 28]);

    let mut tables: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"glyf", glyf),
        (b"head", head),
        (b"hhea", hhea),
        (b"hmtx", hmtx),
        (b"loca", loca),
        (b"maxp", maxp),
        (b"post", post),
    ];
    tables.sort_by_key(|(tag, _)| **tag);
    let n = tables.len() as u16;
    let entry_selector = 15 - n.leading_zeros() as u16; // floor(log2 n)
    let search_range = 16u16 << entry_selector;
    let mut font = Vec::new();
    be32(&mut font, 0x0001_0000);
    be16(&mut font, n);
    be16(&mut font, search_range);
    be16(&mut font, entry_selector);
    be16(&mut font, n * 16 - search_range);
    let mut offset = 12 + 16 * tables.len();
    let mut head_offset = 0;
    for (tag, data) in &tables {
        font.extend_from_slice(*tag);
        be32(&mut font, checksum(data));
        be32(&mut font, offset as u32);
        be32(&mut font, data.len() as u32);
        if *tag == b"head" {
            head_offset = offset;
        }
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        font.extend_from_slice(data);
        font.resize(font.len().next_multiple_of(4), 0);
    }
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&font));
    font[head_offset + 8..head_offset + 12].copy_from_slice(&adjust.to_be_bytes());
    font
}

fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

/// The sfnt table checksum: the sum of big-endian u32s, the last one zero-padded.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(w))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_is_consistent() {
        let f = glyphless();
        assert_eq!(f.len() % 4, 0);
        // The whole file sums to the magic value once the adjustment is in.
        assert_eq!(checksum(&f), 0xB1B0_AFBA);
        assert_eq!(&f[..4], &[0, 1, 0, 0]);
        assert_eq!(u16::from_be_bytes([f[4], f[5]]), 7);
    }

    #[test]
    fn a_font_parser_reads_it() {
        use ab_glyph::{Font, FontRef, GlyphId};
        let bytes = glyphless();
        let font = FontRef::try_from_slice(&bytes).expect("ttf-parser accepts the font");
        assert_eq!(font.glyph_count(), GLYPHS as usize);
        assert_eq!(font.units_per_em(), Some(UNITS_PER_EM as f32));
        for g in 0..GLYPHS {
            assert_eq!(font.h_advance_unscaled(GlyphId(g)), ADVANCE as f32);
            assert!(font.outline(GlyphId(g)).is_none(), "glyph {g} is empty");
        }
    }
}
