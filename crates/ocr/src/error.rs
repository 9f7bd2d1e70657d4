//! Everything that can go wrong, by who is at fault.

use std::path::PathBuf;

/// The Debian packages that bring Tesseract, English and orientation detection.
pub const DEBIAN_PACKAGES: &str = "tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd";

/// Why OCR could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// libtesseract could not be loaded.
    #[error(
        "OCR needs Tesseract 5, but {} could not be loaded ({reason}); on Debian or Ubuntu \
         install it with: apt-get install {DEBIAN_PACKAGES}",
        display_paths(.tried)
    )]
    LibraryMissing {
        /// The names or paths tried.
        tried: Vec<PathBuf>,
        /// The loader's last error.
        reason: String,
    },
    /// The library lacks a function of the C API (not Tesseract 4.1 or newer).
    #[error("{} is not a usable Tesseract (no {symbol}); Tesseract 5 is needed: apt-get install {DEBIAN_PACKAGES}", .library.display())]
    LibrarySymbol {
        /// The library loaded.
        library: PathBuf,
        /// The missing symbol.
        symbol: &'static str,
    },
    /// No tessdata directory was found.
    #[error(
        "no Tesseract language data found (looked in {}); set TESSDATA_PREFIX to the directory \
         holding the *.traineddata files, or install: apt-get install {DEBIAN_PACKAGES}",
        display_paths(.searched)
    )]
    NoLanguageData {
        /// The directories tried.
        searched: Vec<PathBuf>,
    },
    /// A language list was not of the form `eng+deu`.
    #[error("bad OCR language list {list:?}: {reason} (expected Tesseract language names joined by '+', such as eng+deu)")]
    BadLanguageList {
        /// The list as given.
        list: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Languages asked for are not installed.
    #[error(
        "OCR language{} not installed: {} (installed in {}: {}); on Debian install {}",
        if .missing.len() == 1 { "" } else { "s" },
        .missing.join(", "),
        .tessdata.display(),
        if .installed.is_empty() { "none".to_string() } else { .installed.join(", ") },
        .missing.iter().map(|l| debian_package(l)).collect::<Vec<_>>().join(" ")
    )]
    MissingLanguages {
        /// The names not found.
        missing: Vec<String>,
        /// The names that are installed.
        installed: Vec<String>,
        /// Where they were looked for.
        tessdata: PathBuf,
    },
    /// `TessBaseAPIInit3` failed although the data files exist.
    #[error("Tesseract could not load the languages {languages} from {} (Init returned {code}; Tesseract's reason, if it gave one, is printed above)", .tessdata.display())]
    Init {
        /// The language list.
        languages: String,
        /// The tessdata directory.
        tessdata: PathBuf,
        /// Tesseract's return code.
        code: i32,
    },
    /// The page image is not what it says it is.
    #[error("bad page image: {0}")]
    BadImage(String),
    /// Orientation detection needs `osd.traineddata` or a Tesseract with its legacy engine.
    #[error("orientation detection is not available: {0}")]
    NoOrientation(String),
    /// `TessBaseAPIRecognize` failed.
    #[error("Tesseract failed to recognise the page (Recognize returned {0})")]
    Recognize(i32),
    /// The job was cancelled.
    #[error("OCR cancelled")]
    Cancelled,
    /// A worker thread of the pool died (a panic inside recognition).
    #[error("an OCR worker stopped unexpectedly: {0}")]
    Worker(String),
}

impl OcrError {
    /// Whether this is a cancellation rather than a failure.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, OcrError::Cancelled)
    }
}

/// The Debian package of a Tesseract language (`chi_sim` → `tesseract-ocr-chi-sim`).
pub fn debian_package(language: &str) -> String {
    format!(
        "tesseract-ocr-{}",
        language.to_ascii_lowercase().replace('_', "-")
    )
}

fn display_paths(p: &[PathBuf]) -> String {
    p.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
