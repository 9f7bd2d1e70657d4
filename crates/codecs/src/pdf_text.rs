//! The invisible text layer of a searchable PDF, and the glyphless font it is set in.
//!
//! A page's text comes as a [`TextLayer`] (words with boxes in page-image pixels), which
//! OCR (`scanwire-ocr`) or any other recogniser makes; [`crate::Document::add_page_with_text`]
//! writes it over the page image. The functions here are public for writers of other PDFs.
//!
//! As Tesseract's own PDF renderer does it: each word is one run of text in render mode 3
//! (`3 Tr`, neither filled nor stroked), placed on the word's box and stretched horizontally
//! (`Tz`) to the box's width, in a Type0 font "GlyphLessFont" (Identity-H, a CIDFontType2
//! whose every CID maps to one empty glyph half an em wide). The character codes are the
//! text's UTF-16 code units and the ToUnicode CMap maps each code to itself, so copying and
//! searching give back the recognised text.
//!
//! The page image is assumed to cover the whole page, as Scanwire's PDF writer draws it
//! (page size = pixels × 72 / dpi): word boxes scale from image pixels to points by page
//! size / pixel size on each axis, so the dpi is implied by the two sizes.
//!
//! ```text
//! page resources: /Font << /OcrText  type0 >>          (any name; pass it to `text_layer`)
//! type0       /Type0 /GlyphLessFont /Identity-H  ──► cid_font, to_unicode
//! cid_font    /CIDFontType2 /DW 500 /CIDToGIDMap ──► cid_to_gid_map, descriptor
//! descriptor  /FontFile2 ──► font_file (a TrueType with empty glyphs)
//! ```

use crate::ttf;
use flate2::{write::ZlibEncoder, Compression};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode};
use pdf_writer::{Chunk, Content, Filter, Name, Rect, Ref, Settings, Str};
use std::io::Write;

/// A page's recognised text: words in reading order with their boxes in the pixels of a
/// `width` × `height` image (the page image the words were found on).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextLayer {
    /// Width of the boxes' frame in pixels.
    pub width: u32,
    /// Height of the boxes' frame in pixels.
    pub height: u32,
    /// The words, in reading order.
    pub words: Vec<TextWord>,
}

/// One word of a [`TextLayer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextWord {
    /// The text (no spaces).
    pub text: String,
    /// Left, top, right, bottom in pixels; right and bottom exclusive.
    pub bbox: [u32; 4],
    /// The line it belongs to, counted from 0 in reading order: words of one line share a
    /// baseline, so text extraction sees the line whole.
    pub line: u32,
}

impl TextLayer {
    /// The plain text: words of a line joined by spaces, lines by newlines.
    pub fn plain(&self) -> String {
        let mut s = String::new();
        let mut line = None;
        for w in &self.words {
            match line {
                Some(l) if l == w.line => s.push(' '),
                Some(_) => s.push('\n'),
                None => {}
            }
            s.push_str(&w.text);
            line = Some(w.line);
        }
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }
}

/// The font's PostScript name.
pub const FONT_NAME: Name<'static> = Name(b"GlyphLessFont");

/// Object ids of the glyphless font; one set per PDF, shared by all its pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GlyphlessFontRefs {
    /// The Type0 font: what a page's `/Font` resource points at.
    pub type0: Ref,
    /// Its CIDFontType2 descendant.
    pub cid_font: Ref,
    /// The font descriptor.
    pub descriptor: Ref,
    /// The CIDToGIDMap stream.
    pub cid_to_gid_map: Ref,
    /// The ToUnicode CMap stream.
    pub to_unicode: Ref,
    /// The embedded TrueType file.
    pub font_file: Ref,
}

impl GlyphlessFontRefs {
    /// Six consecutive ids from `first`; returns them and the next free id.
    pub fn starting_at(first: Ref) -> (GlyphlessFontRefs, Ref) {
        let mut r = first;
        let mut next = || r.bump();
        let refs = GlyphlessFontRefs {
            type0: next(),
            cid_font: next(),
            descriptor: next(),
            cid_to_gid_map: next(),
            to_unicode: next(),
            font_file: next(),
        };
        (refs, r)
    }
}

/// Writes the six font objects (a `Pdf` derefs to a `Chunk`, so `&mut pdf` works here too).
pub fn write_glyphless_font(chunk: &mut Chunk, refs: &GlyphlessFontRefs) {
    for (_, c) in glyphless_font_objects(refs) {
        chunk.extend(&c);
    }
}

/// The six font objects, each in its own chunk (a streaming writer records each offset).
pub(crate) fn glyphless_font_objects(refs: &GlyphlessFontRefs) -> Vec<(Ref, Chunk)> {
    let em = ttf::UNITS_PER_EM as f32;
    let advance = ttf::ADVANCE as f32;
    let mut out = Vec::with_capacity(6);
    let mut one = |id: Ref, write: &mut dyn FnMut(&mut Chunk)| {
        let mut c = Chunk::with_settings(Settings { pretty: false });
        write(&mut c);
        out.push((id, c));
    };
    one(refs.type0, &mut |chunk| {
        chunk
            .type0_font(refs.type0)
            .base_font(FONT_NAME)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(refs.cid_font)
            .to_unicode(refs.to_unicode);
    });
    one(refs.cid_font, &mut |chunk| {
        chunk
            .cid_font(refs.cid_font)
            .subtype(CidFontType::Type2)
            .base_font(FONT_NAME)
            .system_info(SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            })
            .font_descriptor(refs.descriptor)
            .default_width(advance * 1000.0 / em)
            .cid_to_gid_map_stream(refs.cid_to_gid_map);
    });
    one(refs.descriptor, &mut |chunk| {
        chunk
            .font_descriptor(refs.descriptor)
            .name(FONT_NAME)
            .flags(FontFlags::FIXED_PITCH | FontFlags::SYMBOLIC)
            .bbox(Rect::new(0.0, 0.0, advance * 1000.0 / em, 1000.0))
            .italic_angle(0.0)
            .ascent(1000.0)
            // Must be negative (PDF 32000 9.8.1); -1 keeps the text box on the word's box.
            .descent(-1.0)
            .cap_height(1000.0)
            .stem_v(80.0)
            .font_file2(refs.font_file);
    });
    let map = cid_to_gid_map();
    one(refs.cid_to_gid_map, &mut |chunk| {
        chunk
            .stream(refs.cid_to_gid_map, &map)
            .filter(Filter::FlateDecode);
    });
    let cmap = to_unicode_cmap();
    one(refs.to_unicode, &mut |chunk| {
        chunk.stream(refs.to_unicode, &cmap);
    });
    let font = ttf::glyphless();
    one(refs.font_file, &mut |chunk| {
        chunk
            .stream(refs.font_file, &font)
            .pair(Name(b"Length1"), font.len() as i32);
    });
    out
}

/// Every one of the 65536 CIDs to glyph 1, zlib-compressed.
fn cid_to_gid_map() -> Vec<u8> {
    let raw: Vec<u8> = [0u8, 1].repeat(1 << 16);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&raw).expect("writing to a Vec");
    z.finish().expect("writing to a Vec")
}

/// A ToUnicode CMap that maps each 2-byte code to the same UTF-16 code unit, in ranges that
/// vary only in the last byte and blocks of at most 100 (PDF 32000 9.10.3, 9.7.5).
fn to_unicode_cmap() -> Vec<u8> {
    let mut s = String::from(concat!(
        "/CIDInit /ProcSet findresource begin\n",
        "12 dict begin\n",
        "begincmap\n",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n",
        "/CMapName /Adobe-Identity-UCS def\n",
        "/CMapType 2 def\n",
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    ));
    let highs: Vec<u32> = (0..=0xFF).collect();
    for block in highs.chunks(100) {
        s.push_str(&format!("{} beginbfrange\n", block.len()));
        for h in block {
            s.push_str(&format!("<{h:02X}00> <{h:02X}FF> <{h:02X}00>\n"));
        }
        s.push_str("endbfrange\n");
    }
    s.push_str(concat!(
        "endcmap\n",
        "CMapName currentdict /CMap defineresource pop\n",
        "end\n",
        "end\n",
    ));
    s.into_bytes()
}

/// Appends the invisible text of `words` to a page's content stream: each word on its box
/// horizontally, on its line's box vertically (baseline at the line's bottom, the font as
/// tall as the line), so text extraction finds the words in place and the lines whole.
///
/// The layer's frame (`layer.width` × `layer.height` pixels) is stretched over the whole
/// page, `page_size` in points; `font` is the name the page's resources give the Type0 font
/// of [`write_glyphless_font`].
pub fn text_layer(content: &mut Content, layer: &TextLayer, page_size: (f32, f32), font: Name) {
    let words = &layer.words;
    if words.is_empty() || layer.width == 0 || layer.height == 0 {
        return;
    }
    let sx = page_size.0 / layer.width as f32;
    let sy = page_size.1 / layer.height as f32;
    let char_width = ttf::ADVANCE as f32 / ttf::UNITS_PER_EM as f32;
    content.save_state();
    content.begin_text();
    content.set_text_rendering_mode(TextRenderingMode::Invisible);
    let mut size = f32::NAN;
    let mut start = 0;
    while start < words.len() {
        // The words of one line share its baseline (the line's bottom) and font size (its
        // height): text extraction then sees one line, in order, not words at odd heights.
        let line = words[start].line;
        let end = start + words[start..].iter().take_while(|w| w.line == line).count();
        let (top, bottom) = words[start..end].iter().fold((u32::MAX, 0), |(t, b), w| {
            (t.min(w.bbox[1]), b.max(w.bbox[3]))
        });
        let fs = round2((bottom.saturating_sub(top)) as f32 * sy);
        let y = round2(page_size.1 - bottom as f32 * sy);
        for (i, w) in words[start..end].iter().enumerate() {
            let mut codes: Vec<u16> = w.text.encode_utf16().collect();
            let bw = w.bbox[2].saturating_sub(w.bbox[0]) as f32 * sx;
            if codes.is_empty() || bw <= 0.0 || fs <= 0.0 {
                continue;
            }
            if fs != size {
                content.set_font(font, fs);
                size = fs;
            }
            let x = round2(w.bbox[0] as f32 * sx);
            content.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
            let natural = codes.len() as f32 * fs * char_width;
            content.set_horizontal_scaling(round2(100.0 * bw / natural));
            // A space after every word but the line's last, beyond its box (as Tesseract's
            // renderer does): extraction then separates words whose boxes touch.
            if start + i + 1 < end {
                codes.push(u16::from(b' '));
            }
            let bytes: Vec<u8> = codes.iter().flat_map(|c| c.to_be_bytes()).collect();
            content.show(Str(&bytes));
        }
        start = end;
    }
    content.end_text();
    content.restore_state();
}

fn round2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_per_word_stretched_to_its_box() {
        let layer = TextLayer {
            width: 3000,
            height: 3000,
            words: vec![TextWord {
                text: "Hé".into(),
                bbox: [300, 100, 600, 200],
                line: 0,
            }],
        };
        let mut c = Content::new();
        text_layer(&mut c, &layer, (720.0, 720.0), Name(b"F"));
        let s = String::from_utf8_lossy(&c.finish()).into_owned();
        // 300 px wide at 0.24 pt/px = 72 pt; two half-em characters at 24 pt = 24 pt: 300 %.
        assert!(s.contains("3 Tr"), "{s}");
        assert!(s.contains("/F 24 Tf"), "{s}");
        assert!(s.contains("1 0 0 1 72 672 Tm"), "{s}");
        assert!(s.contains("300 Tz"), "{s}");
        // UTF-16BE code units: H, é.
        assert!(s.contains("<004800E9> Tj"), "{s}");
    }

    #[test]
    fn words_of_a_line_are_separated_by_a_space_after_all_but_the_last() {
        let w = |t: &str, x: u32, line| TextWord {
            text: t.into(),
            bbox: [x, 0, x + 10, 10],
            line,
        };
        let layer = TextLayer {
            width: 100,
            height: 100,
            words: vec![w("a", 0, 0), w("b", 10, 0), w("c", 0, 1)],
        };
        let mut c = Content::new();
        text_layer(&mut c, &layer, (100.0, 100.0), Name(b"F"));
        let s = String::from_utf8_lossy(&c.finish()).into_owned();
        // UTF-16BE: a, space; b; c (pdf-writer writes them as literal strings).
        assert!(s.contains(r"(\000a\000 ) Tj"), "{s}");
        assert!(
            s.contains(r"(\000b) Tj") && s.contains(r"(\000c) Tj"),
            "{s}"
        );
    }

    #[test]
    fn plain_text_joins_lines() {
        let w = |t: &str, line| TextWord {
            text: t.into(),
            bbox: [0, 0, 1, 1],
            line,
        };
        let layer = TextLayer {
            width: 1,
            height: 1,
            words: vec![w("a", 0), w("b", 0), w("c", 1)],
        };
        assert_eq!(layer.plain(), "a b\nc\n");
        assert_eq!(TextLayer::default().plain(), "");
    }

    #[test]
    fn cmap_blocks_hold_at_most_100_ranges() {
        let s = String::from_utf8(to_unicode_cmap()).unwrap();
        assert!(s.contains("100 beginbfrange") && s.contains("56 beginbfrange"));
        assert!(s.contains("<D800> <D8FF> <D800>"));
        assert!(cid_to_gid_map().len() < 1024);
    }
}
