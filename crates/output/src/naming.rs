//! File names for one-file-per-page output: `page-{n}.png`, `scan-%03d.jpg`, and with job
//! separators (`--blank split`) the document number: `scan-{doc}-{n}.png`, `out-{doc}.pdf`.

use std::fmt;
use std::path::PathBuf;

/// A file name with page-number placeholders: `{n}`, or printf-style `%d`, `%Nd`, `%0Nd`
/// (`%%` is a literal `%`); `{doc}` is the document's number (1 unless job separators
/// split the job).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    parts: Vec<Part>,
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    /// The page number, padded to `width` with zeros or spaces.
    Number {
        width: usize,
        zero: bool,
    },
    /// The document number.
    Document,
}

/// A pattern that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad file name pattern '{pattern}': {detail}; page numbers are written {{n}}, %d, %Nd or %0Nd, the document number {{doc}}, and %% is a literal %")]
pub struct PatternError {
    /// The pattern.
    pub pattern: String,
    /// What is wrong.
    pub detail: String,
}

impl NamePattern {
    /// Parses `text`. A pattern without placeholders is valid (it names one file).
    pub fn parse(text: &str) -> Result<NamePattern, PatternError> {
        let err = |detail: String| PatternError {
            pattern: text.to_string(),
            detail,
        };
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("{doc}") {
                parts.push(Part::Text(std::mem::take(&mut lit)));
                parts.push(Part::Document);
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{n}") {
                parts.push(Part::Text(std::mem::take(&mut lit)));
                parts.push(Part::Number {
                    width: 0,
                    zero: false,
                });
                rest = after;
            } else if c == '%' {
                let spec = &rest[1..];
                if let Some(after) = spec.strip_prefix('%') {
                    lit.push('%');
                    rest = after;
                    continue;
                }
                let zero = spec.starts_with('0');
                let digits = spec.bytes().take_while(u8::is_ascii_digit).count();
                let width: usize = if digits == 0 {
                    0
                } else {
                    spec[..digits]
                        .parse()
                        .ok()
                        .filter(|w| *w <= 20)
                        .ok_or_else(|| err(format!("width '{}' is too large", &spec[..digits])))?
                };
                match spec[digits..].chars().next() {
                    Some('d') | Some('u') | Some('i') => {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                        parts.push(Part::Number { width, zero });
                        rest = &spec[digits + 1..];
                    }
                    Some(other) => {
                        return Err(err(format!(
                            "'%{}{other}' is not a page-number placeholder",
                            &spec[..digits]
                        )))
                    }
                    None => return Err(err("it ends with a lone '%'".into())),
                }
            } else {
                lit.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        parts.push(Part::Text(lit));
        parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
        Ok(NamePattern {
            parts,
            text: text.to_string(),
        })
    }

    /// Whether the pattern numbers its files (otherwise it names exactly one file).
    pub fn has_number(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Number { .. }))
    }

    /// Whether the pattern has a document number (`{doc}`).
    pub fn has_document(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Document))
    }

    /// The file name for page `n` (of document 1).
    pub fn render(&self, n: u32) -> PathBuf {
        self.render_in(1, n)
    }

    /// The file name for page `n` of document `doc`.
    pub fn render_in(&self, doc: u32, n: u32) -> PathBuf {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Document => s.push_str(&doc.to_string()),
                Part::Number { width, zero: true } => s.push_str(&format!("{n:0width$}")),
                Part::Number { width, zero: false } => s.push_str(&format!("{n:width$}")),
            }
        }
        PathBuf::from(s)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let r = |p: &str, n| NamePattern::parse(p).unwrap().render(n);
        assert_eq!(r("page-{n}.png", 3), PathBuf::from("page-3.png"));
        assert_eq!(r("scan%02d.png", 7), PathBuf::from("scan07.png"));
        assert_eq!(r("scan%3d.png", 7), PathBuf::from("scan  7.png"));
        assert_eq!(r("a%d-%%-{n}.tiff", 12), PathBuf::from("a12-%-12.tiff"));
        assert_eq!(r("dir/é{n}.pnm", 1), PathBuf::from("dir/é1.pnm"));
        assert!(!NamePattern::parse("one.png").unwrap().has_number());
        assert!(NamePattern::parse("%d.png").unwrap().has_number());
        let doc = NamePattern::parse("s-{doc}-{n}.png").unwrap();
        assert!(doc.has_document() && doc.has_number());
        assert_eq!(doc.render_in(3, 12), PathBuf::from("s-3-12.png"));
        assert_eq!(doc.render(2), PathBuf::from("s-1-2.png"));
        let only = NamePattern::parse("out-{doc}.pdf").unwrap();
        assert!(only.has_document() && !only.has_number());
    }

    #[test]
    fn bad_patterns_say_what_is_allowed() {
        for (p, what) in [
            ("x%s.png", "'%s'"),
            ("x%.png", "'%.'"),
            ("x%", "lone '%'"),
            ("x%0999d", "too large"),
        ] {
            let e = NamePattern::parse(p).unwrap_err().to_string();
            assert!(e.contains(what) && e.contains("{n}, %d"), "{p}: {e}");
        }
    }
}
