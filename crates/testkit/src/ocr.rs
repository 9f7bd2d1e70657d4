//! What the OCR tests of every crate compare against: the words printed on the shared
//! scanned pages (`$SCANWIRE_FIXTURES/scans`), word recall, and the `tesseract` command line
//! (the peer our recognition must match).

use std::path::Path;
use std::process::Command;

/// The typed recipe of `ocrmypdf-typewriter.png`, as printed on the page (read off the image).
pub const TYPEWRITER: &str = "Linzensoep à la Waterman
4 ons linzen
3 liter water
3 uien
bloem, boter
2 kopjes melk
laurier, kruidnagel, kerrie, zout
De linzen wassen en in 1 liter kokend wa-
ter 1 dag laten weken. 2 liter water bij
de linzen voegen, zonder het water waarin
ze geweekt zijn af te gieten. De helft van
de uien bakken met laurier en kruidnagel.
Alle uien, kerrie en zout bij de linzen
voegen. Alles aan de kook brengen. Van de
bloem met boter en melk een papje maken en
verder afmaken met de soep. Als de linzen
gaar zijn is de soep klaar.";

/// unpaper's `unpaper-imgsrc002.png`: five blocks of the same lines (read off the image;
/// 617 words).
pub fn imgsrc002_truth() -> String {
    let a1 =
        "Some text here, some text here, some text here, some text here, some text here, some text";
    let a2 =
        "here, some text here, some text here, some text here, some text here, some text here,";
    let a3 = "some text here, some text here, some text here, some text here, some text here, some text,";
    let end =
        "Additionally, even more text, and still some more text, some text here, some text here.
And also, besides the other text, some text here, some text here, some text here.
There is even more text here.";
    [1, 1, 8, 1, 5]
        .iter()
        .map(|n| format!("{a1}\n{a2}\n{}\n{end}\n", vec![a3; *n].join("\n")))
        .collect()
}

/// The words of a text (split at whitespace).
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Word recall: the share of `truth`'s words (punctuation at their ends ignored) that
/// `found` contains, each found word matching at most one true word.
pub fn recall(truth: &[String], found: &[String]) -> f64 {
    let norm = |w: &String| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    let mut pool: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for w in found.iter().map(norm).filter(|w| !w.is_empty()) {
        *pool.entry(w).or_default() += 1;
    }
    let truth: Vec<String> = truth.iter().map(norm).filter(|w| !w.is_empty()).collect();
    let hits = truth
        .iter()
        .filter(|w| match pool.get_mut(*w) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    hits as f64 / truth.len() as f64
}

/// What `tesseract IMAGE - -l LANG` prints (single-threaded, as our engines run), or why it
/// could not run; the caller decides whether that skips or fails its test.
pub fn tesseract_cli(image: &Path, lang: &str) -> Result<String, String> {
    let out = Command::new("tesseract")
        .arg(image)
        .arg("-")
        .args(["-l", lang])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .map_err(|e| format!("the tesseract command line (tesseract-ocr): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "the tesseract command line ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
