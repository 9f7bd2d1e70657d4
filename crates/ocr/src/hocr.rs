//! hOCR: XHTML with `ocr_page`, `ocr_par`, `ocr_line` and `ocrx_word` elements whose titles
//! carry `bbox` (pixels) and `x_wconf` (confidence), for tools that read Tesseract's hOCR.

use crate::engine::{BBox, Recognized, Word};
use std::fmt::Write;

/// A whole hOCR document for `pages` (numbered from 1).
pub fn document(pages: &[Recognized]) -> String {
    let mut out = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n",
        "    \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n",
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n",
        "<head>\n",
        "  <title></title>\n",
        "  <meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n",
        "  <meta name=\"ocr-system\" content=\"scanwire with tesseract\"/>\n",
        "  <meta name=\"ocr-capabilities\" content=\"ocr_page ocr_par ocr_line ocrx_word\"/>\n",
        "</head>\n",
        "<body>\n",
    ));
    for (i, p) in pages.iter().enumerate() {
        out.push_str(&page(p, i as u32 + 1));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// One page's `<div class="ocr_page">`, for embedding in a document of several pages.
pub fn page(rec: &Recognized, number: u32) -> String {
    let mut out = String::new();
    let page_box = BBox {
        left: 0,
        top: 0,
        right: rec.width,
        bottom: rec.height,
    };
    let _ = writeln!(
        out,
        "  <div class=\"ocr_page\" id=\"page_{number}\" title=\"{}; ppageno {}\">",
        bbox(&page_box),
        number.saturating_sub(1)
    );
    let mut index = 0;
    for (pi, para) in group(&rec.words, |w| w.paragraph).into_iter().enumerate() {
        let _ = writeln!(
            out,
            "    <p class=\"ocr_par\" id=\"par_{number}_{}\" title=\"{}\">",
            pi + 1,
            bbox(&extent(para))
        );
        for line in group(para, |w| w.line) {
            let _ = writeln!(
                out,
                "      <span class=\"ocr_line\" id=\"line_{number}_{}\" title=\"{}\">",
                line[0].line + 1,
                bbox(&extent(line))
            );
            for w in line {
                index += 1;
                let _ = writeln!(
                    out,
                    "        <span class=\"ocrx_word\" id=\"word_{number}_{index}\" title=\"{}; x_wconf {}\">{}</span>",
                    bbox(&w.bbox),
                    w.confidence.round() as i32,
                    escape(&w.text)
                );
            }
            out.push_str("      </span>\n");
        }
        out.push_str("    </p>\n");
    }
    out.push_str("  </div>\n");
    out
}

/// Consecutive runs of words with the same key.
fn group(words: &[Word], key: impl Fn(&Word) -> u32) -> Vec<&[Word]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=words.len() {
        if i == words.len() || key(&words[i]) != key(&words[start]) {
            if i > start {
                out.push(&words[start..i]);
            }
            start = i;
        }
    }
    out
}

fn extent(words: &[Word]) -> BBox {
    words
        .iter()
        .skip(1)
        .fold(words[0].bbox, |b, w| b.union(&w.bbox))
}

fn bbox(b: &BBox) -> String {
    format!("bbox {} {} {} {}", b.left, b.top, b.right, b.bottom)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 forbids are dropped rather than producing an invalid file.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}
