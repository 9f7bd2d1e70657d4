//! Language lists (`eng+deu`) and where Tesseract's language data lives.

use crate::error::OcrError;
use std::path::{Path, PathBuf};

/// Where distributions put `*.traineddata`, tried in order after `TESSDATA_PREFIX`
/// (Debian and Ubuntu: the first two, from `dpkg -L tesseract-ocr-eng`).
const TESSDATA_DIRS: &[&str] = &[
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
];

/// A parsed language list, in Tesseract's order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Languages(Vec<String>);

impl Languages {
    /// Parses `eng`, `eng+deu`, `chi_sim+eng`: names of letters, digits, `_` and `-`
    /// joined by `+`, each at most once.
    pub fn parse(list: &str) -> Result<Languages, OcrError> {
        let bad = |reason: String| OcrError::BadLanguageList {
            list: list.to_string(),
            reason,
        };
        if list.trim().is_empty() {
            return Err(bad("it is empty".into()));
        }
        let mut out: Vec<String> = Vec::new();
        for name in list.split('+') {
            if name.is_empty() {
                return Err(bad("an empty name between '+' signs".into()));
            }
            if name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad(format!(
                    "{name:?} is not a language name (letters, digits, '_' and '-')"
                )));
            }
            if out.iter().any(|n| n == name) {
                return Err(bad(format!("{name} is listed twice")));
            }
            out.push(name.to_string());
        }
        Ok(Languages(out))
    }

    /// The names.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Tesseract's form, `eng+deu`.
    pub fn to_tesseract(&self) -> String {
        self.0.join("+")
    }
}

impl std::fmt::Display for Languages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_tesseract())
    }
}

impl std::str::FromStr for Languages {
    type Err = OcrError;
    fn from_str(s: &str) -> Result<Self, OcrError> {
        Languages::parse(s)
    }
}

/// The tessdata directory: `explicit` if given, else `TESSDATA_PREFIX`, else the first of the
/// distributions' directories that holds any `*.traineddata`.
pub fn find_tessdata(explicit: Option<&Path>) -> Result<PathBuf, OcrError> {
    let mut searched = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = explicit {
        candidates.push(p.to_path_buf());
    } else {
        if let Some(prefix) = std::env::var_os("TESSDATA_PREFIX") {
            let prefix = PathBuf::from(prefix);
            // Tesseract 5 reads the directory itself; 3.x and some installs point at its parent.
            candidates.push(prefix.clone());
            candidates.push(prefix.join("tessdata"));
        }
        candidates.extend(TESSDATA_DIRS.iter().map(PathBuf::from));
    }
    for c in candidates {
        if !installed_in(&c).is_empty() {
            return Ok(c);
        }
        searched.push(c);
    }
    Err(OcrError::NoLanguageData { searched })
}

/// The languages installed in `dir` (`osd` included), sorted.
pub fn installed_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".traineddata").map(str::to_string)
        })
        .collect();
    out.sort();
    out
}

/// Checks that every language of `langs` is installed in `tessdata`, naming the missing ones
/// and the installed ones otherwise.
pub fn check_installed(langs: &Languages, tessdata: &Path) -> Result<(), OcrError> {
    let installed = installed_in(tessdata);
    let missing: Vec<String> = langs
        .names()
        .iter()
        .filter(|l| !installed.contains(l))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(OcrError::MissingLanguages {
            missing,
            installed,
            tessdata: tessdata.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        assert_eq!(Languages::parse("eng").unwrap().names(), ["eng"]);
        assert_eq!(
            Languages::parse("chi_sim+eng").unwrap().to_tesseract(),
            "chi_sim+eng"
        );
        for bad in [
            "", "eng+", "+eng", "eng++deu", "eng deu", "../eng", "eng+eng",
        ] {
            let e = Languages::parse(bad).unwrap_err().to_string();
            assert!(e.contains("eng+deu"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn missing_language_names_the_installed_ones() {
        let dir = std::env::temp_dir().join(format!("scanwire-ocr-langs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("eng.traineddata"), b"x").unwrap();
        std::fs::write(dir.join("osd.traineddata"), b"x").unwrap();
        let e = check_installed(&Languages::parse("eng+nld+chi_sim").unwrap(), &dir)
            .unwrap_err()
            .to_string();
        assert!(e.contains("languages not installed: nld, chi_sim"), "{e}");
        assert!(e.contains("eng, osd"), "{e}");
        assert!(e.contains("tesseract-ocr-nld tesseract-ocr-chi-sim"), "{e}");
        assert!(find_tessdata(Some(&dir.join("nothing"))).is_err());
        assert_eq!(find_tessdata(Some(&dir)).unwrap(), dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
