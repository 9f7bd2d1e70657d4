//! Plain text in reading order: words of a line joined by spaces, a line per line, a blank
//! line between paragraphs.

use crate::engine::Recognized;

/// The page's text.
pub fn plain(page: &Recognized) -> String {
    let mut out = String::new();
    let mut prev: Option<(u32, u32)> = None;
    for w in &page.words {
        match prev {
            None => {}
            Some((_, para)) if para != w.paragraph => out.push_str("\n\n"),
            Some((line, _)) if line != w.line => out.push('\n'),
            Some(_) => out.push(' '),
        }
        out.push_str(&w.text);
        prev = Some((w.line, w.paragraph));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Several pages' text, separated by form feeds (as `pdftotext` and `tesseract` do).
pub fn plain_document(pages: &[Recognized]) -> String {
    pages.iter().map(plain).collect::<Vec<_>>().join("\u{c}")
}
