//! The text pages of `content=text`: paragraphs of real English words set in a real font, so
//! OCR tests and benchmarks can count which printed words came back.
//!
//! The words of page N depend on N alone ([`page_text`]), never on the font, the paper or the
//! resolution; the layout (line breaks) depends on the font and the sheet's width in
//! millimetres, not on the resolution, so the truth is the same at every dpi. A page shows
//! the whole text on A4 or Letter; a smaller sheet sets it smaller (down to 7 pt) and shows
//! as many lines as fit, which [`crate::truth`] reports.
//!
//! The font is DejaVu Serif from Debian's `fonts-dejavu-core`, read at run time from
//! [`FONT_PATH`] (`SCANWIRE_TEXT_FONT` names another TrueType file), so building needs no
//! font and the words are set exactly as a real document would be.

use ab_glyph::{Font, FontVec, GlyphId, PxScale};
use scanwire_core::device::{DeviceError, DeviceErrorKind, PixelFormat};
use scanwire_imaging::synth::Rng;
use scanwire_imaging::Image;

/// Where Debian's fonts-dejavu-core puts the font the text pages are set in.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf";

/// The environment variable naming another TrueType font for the text pages.
pub const FONT_ENV: &str = "SCANWIRE_TEXT_FONT";

/// Body size on an A4 or Letter sheet, points.
const BODY_PT: f64 = 11.0;
/// The smallest size a small sheet sets the text in, points.
const MIN_PT: f64 = 7.0;
/// Baseline to baseline, in ems.
const LEADING: f64 = 1.4;
/// Extra space after a paragraph, in lines.
const PARAGRAPH_GAP: f64 = 0.6;
/// Margins of an A4 sheet, mm (scaled with the text on smaller sheets).
const MARGIN_MM: f64 = 25.0;
/// The text block width the body size is chosen for, mm (A4 less its margins).
const BLOCK_MM: (f64, f64) = (160.0, 247.0);
/// Ink of the text, 0 = black.
const INK: u8 = 24;

/// Common English words the paragraphs are made of (all letters, so every one is a word a
/// dictionary-backed OCR engine knows).
const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "that",
    "for",
    "it",
    "with",
    "as",
    "his",
    "on",
    "be",
    "at",
    "by",
    "this",
    "had",
    "not",
    "are",
    "but",
    "from",
    "or",
    "have",
    "an",
    "they",
    "which",
    "one",
    "you",
    "were",
    "her",
    "all",
    "she",
    "there",
    "would",
    "their",
    "we",
    "him",
    "been",
    "has",
    "when",
    "who",
    "will",
    "more",
    "no",
    "if",
    "out",
    "so",
    "said",
    "what",
    "up",
    "its",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "my",
    "now",
    "such",
    "like",
    "our",
    "over",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
    "house",
    "water",
    "morning",
    "garden",
    "letter",
    "window",
    "river",
    "market",
    "village",
    "number",
    "history",
    "question",
    "answer",
    "evening",
    "paper",
    "office",
    "school",
    "family",
    "country",
    "small",
    "large",
    "light",
    "night",
    "public",
    "company",
    "system",
    "program",
    "service",
    "report",
    "record",
    "station",
    "street",
    "winter",
    "summer",
    "journey",
    "bridge",
    "harbour",
    "mountain",
    "forest",
    "weather",
    "table",
    "chair",
    "kitchen",
    "doctor",
    "teacher",
    "student",
    "library",
    "museum",
    "painting",
    "music",
    "picture",
    "friend",
    "brother",
    "sister",
    "mother",
    "father",
    "children",
    "simple",
    "careful",
    "quiet",
    "early",
    "later",
    "almost",
    "always",
    "often",
    "together",
    "across",
    "around",
    "behind",
    "beyond",
    "within",
    "without",
    "although",
    "however",
    "perhaps",
    "certain",
    "several",
    "important",
    "different",
    "possible",
    "general",
    "special",
    "national",
    "local",
    "whole",
    "common",
    "natural",
    "ancient",
    "modern",
    "middle",
    "northern",
    "southern",
    "eastern",
    "western",
    "written",
    "printed",
    "scanned",
    "folded",
    "signed",
    "measured",
    "counted",
    "arrived",
    "returned",
    "opened",
    "closed",
    "carried",
    "followed",
    "remembered",
    "discovered",
    "explained",
    "described",
    "decided",
    "received",
    "delivered",
    "finished",
    "started",
    "travelled",
    "planted",
    "gathered",
    "painted",
    "borrowed",
    "answered",
    "wondered",
    "listened",
];

/// Paragraphs of page `page`: four to six paragraphs of three to six sentences, each of six
/// to sixteen words, capitalised and ended with a full stop (a comma now and then).
pub fn page_paragraphs(page: u32) -> Vec<String> {
    let mut rng = Rng::new(0x7E47_0000 ^ u64::from(page).wrapping_mul(0x9E37_79B9));
    let pick = |rng: &mut Rng| WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
    let paragraphs = 4 + (rng.next_u64() % 3) as usize;
    (0..paragraphs)
        .map(|_| {
            let sentences = 3 + (rng.next_u64() % 4) as usize;
            let mut para = Vec::new();
            for _ in 0..sentences {
                let n = 6 + (rng.next_u64() % 11) as usize;
                for i in 0..n {
                    let mut w = pick(&mut rng).to_string();
                    if i == 0 {
                        w[..1].make_ascii_uppercase();
                    }
                    if i + 1 == n {
                        w.push('.');
                    } else if i > 2 && i + 3 < n && rng.chance(0.08) {
                        w.push(',');
                    }
                    para.push(w);
                }
            }
            para.join(" ")
        })
        .collect()
}

/// The whole text of page `page`: its paragraphs separated by blank lines.
pub fn page_text(page: u32) -> String {
    page_paragraphs(page).join("\n\n")
}

/// The words of a text as OCR recall counts them: split at white space, punctuation at
/// either end removed, lower case; empty words dropped.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The font the text pages are set in, or why it cannot be read.
pub fn load_font() -> Result<FontVec, DeviceError> {
    match std::env::var_os(FONT_ENV) {
        Some(p) => font_at(std::path::Path::new(&p), true),
        None => font_at(std::path::Path::new(FONT_PATH), false),
    }
}

/// The font at `path`; the error says how to get it (`named_by_env`: the user chose it).
fn font_at(path: &std::path::Path, named_by_env: bool) -> Result<FontVec, DeviceError> {
    let bytes = std::fs::read(path).map_err(|e| {
        let hint = if named_by_env {
            format!(" (named by {FONT_ENV})")
        } else {
            "; install it with `apt-get install fonts-dejavu-core`".to_string()
        };
        DeviceError::new(
            DeviceErrorKind::Unsupported,
            format!("content=text needs the font {}: {e}{hint}", path.display()),
        )
    })?;
    FontVec::try_from_vec(bytes).map_err(|e| {
        DeviceError::new(
            DeviceErrorKind::Unsupported,
            format!(
                "content=text: {} is not a font ab_glyph can read: {e}",
                path.display()
            ),
        )
    })
}

/// One set line: its words and where each starts, mm from the sheet's left edge.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Baseline, mm from the sheet's top edge.
    pub baseline_mm: f64,
    /// Each word and its left edge, mm.
    pub words: Vec<(String, f64)>,
}

/// Page `page` set on a sheet `paper_mm` wide and high.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Size of an em, mm.
    pub em_mm: f64,
    /// The lines that fit on the sheet, top to bottom.
    pub lines: Vec<Line>,
}

impl Layout {
    /// The printed text: lines joined by newlines, paragraphs not marked.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| {
                l.words
                    .iter()
                    .map(|(w, _)| w.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Advance of `s` in ems (no kerning: the layout and the drawing use the same advances).
fn advance_em(font: &FontVec, s: &str, units: f64) -> f64 {
    s.chars()
        .map(|c| f64::from(font.h_advance_unscaled(font.glyph_id(c))))
        .sum::<f64>()
        / units
}

fn units_per_em(font: &FontVec) -> f64 {
    f64::from(font.units_per_em().unwrap_or(2048.0))
}

/// Sets page `page` on a sheet of `paper_mm`: ragged right, the body size scaled down with a
/// sheet smaller than A4 (not below 7 pt), as many lines as fit inside the margins.
pub fn layout(font: &FontVec, page: u32, paper_mm: (f64, f64)) -> Layout {
    let scale = ((paper_mm.0 - 2.0 * MARGIN_MM) / BLOCK_MM.0)
        .min((paper_mm.1 - 2.0 * MARGIN_MM) / BLOCK_MM.1)
        .clamp(0.0, 1.0);
    let pt = (BODY_PT * scale).max(MIN_PT);
    let margin = MARGIN_MM * scale.max(0.3);
    let em_mm = pt * 25.4 / 72.0;
    let units = units_per_em(font);
    let ascent = f64::from(font.ascent_unscaled()) / units * em_mm;
    let (left, right) = (margin, paper_mm.0 - margin);
    let bottom = paper_mm.1 - margin;
    let space = advance_em(font, " ", units) * em_mm;
    let step = em_mm * LEADING;
    let mut lines = Vec::new();
    let mut baseline = margin + ascent;
    'page: for para in page_paragraphs(page) {
        let mut line = Vec::new();
        let mut x = left;
        for word in para.split(' ') {
            let w = advance_em(font, word, units) * em_mm;
            if !line.is_empty() && x + w > right {
                if baseline > bottom {
                    break 'page;
                }
                lines.push(Line {
                    baseline_mm: baseline,
                    words: std::mem::take(&mut line),
                });
                baseline += step;
                x = left;
            }
            line.push((word.to_string(), x));
            x += w + space;
        }
        if baseline > bottom {
            break;
        }
        lines.push(Line {
            baseline_mm: baseline,
            words: line,
        });
        baseline += step * (1.0 + PARAGRAPH_GAP);
    }
    Layout { em_mm, lines }
}

/// The layout drawn at `dpi` on a sheet `size` pixels: 8-bit gray, 255 where there is no ink,
/// the print [`scanwire_imaging::synth::sheet_printed`] takes.
pub fn render(font: &FontVec, layout: &Layout, dpi: u32, size: (u32, u32)) -> Image {
    let (w, h) = (size.0 as usize, size.1 as usize);
    let mut data = vec![255u8; w * h];
    let px = |mm: f64| mm * f64::from(dpi) / 25.4;
    let units = units_per_em(font);
    let em_px = px(layout.em_mm);
    // ab_glyph's scale is the font's height (ascent − descent) in pixels.
    let height = f64::from(font.height_unscaled()) / units;
    let scale = PxScale::from((em_px * height) as f32);
    for line in &layout.lines {
        let y = px(line.baseline_mm);
        for (word, x_mm) in &line.words {
            let mut x = px(*x_mm);
            for c in word.chars() {
                let id: GlyphId = font.glyph_id(c);
                let glyph = id.with_scale_and_position(scale, ab_glyph::point(x as f32, y as f32));
                if let Some(outline) = font.outline_glyph(glyph) {
                    let b = outline.px_bounds();
                    outline.draw(|gx, gy, cover| {
                        let (xx, yy) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                        if xx < 0 || yy < 0 || xx as usize >= w || yy as usize >= h {
                            return;
                        }
                        let p = &mut data[yy as usize * w + xx as usize];
                        let v = 255.0 - f32::from(255 - INK) * cover.clamp(0.0, 1.0);
                        *p = (*p).min(v.round() as u8);
                    });
                }
                // The same advance the layout used, so words land where the truth says.
                x += f64::from(font.h_advance_unscaled(id)) / units * em_px;
            }
        }
    }
    Image {
        pixel: PixelFormat::Gray8,
        width: size.0,
        height: size.1,
        dpi: (dpi, dpi),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_the_same_words_every_time_and_pages_differ() {
        assert_eq!(page_text(3), page_text(3));
        assert_ne!(page_text(3), page_text(4));
        let w = words(&page_text(1));
        assert!(w.len() > 150, "{}", w.len());
        assert!(w.iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn a_missing_font_names_the_package() {
        let e = font_at(std::path::Path::new("/nonexistent/DejaVuSerif.ttf"), false).unwrap_err();
        assert_eq!(e.kind(), DeviceErrorKind::Unsupported);
        assert!(
            e.detail().contains("apt-get install fonts-dejavu-core"),
            "{e}"
        );
        let e = font_at(std::path::Path::new("/nonexistent/x.ttf"), true).unwrap_err();
        assert!(e.detail().contains(FONT_ENV), "{e}");
        let e = font_at(std::path::Path::new("/etc/hostname"), true).unwrap_err();
        assert!(e.detail().contains("not a font"), "{e}");
    }

    #[test]
    fn layout_fits_the_whole_text_on_a4_and_a_prefix_on_a_small_sheet() {
        let Ok(font) = load_font() else {
            scanwire_testkit::peer_missing("needs DejaVu Serif (fonts-dejavu-core)");
            return;
        };
        let all = words(&page_text(2));
        let a4 = layout(&font, 2, (210.0, 297.0));
        assert_eq!(words(&a4.text()), all);
        let small = layout(&font, 2, (60.0, 80.0));
        let some = words(&small.text());
        assert!(!some.is_empty() && some.len() < all.len());
        assert_eq!(some[..], all[..some.len()]);
        // Lines stay inside the sheet and go down the page.
        for l in &a4.lines {
            assert!(l.baseline_mm < 297.0 - 20.0);
            let (last, x) = l.words.last().unwrap();
            assert!(x + advance_em(&font, last, units_per_em(&font)) * a4.em_mm <= 210.0 - 24.9);
        }
    }

    #[test]
    fn words_drop_punctuation_and_case() {
        assert_eq!(
            words("The river, opened.  Garden"),
            ["the", "river", "opened", "garden"]
        );
    }
}
