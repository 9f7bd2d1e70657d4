//! One Tesseract engine: a page image in, words with boxes out.

use crate::error::OcrError;
use crate::ffi::{self, RawEngine, RecognizeFailure, Tesseract, PSM_AUTO, PSM_OSD_ONLY};
use crate::image::{PageImage, Pixels};
use crate::languages::{check_installed, find_tessdata, installed_in, Languages};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What an engine needs: languages, and where Tesseract and its data are.
#[derive(Clone, Debug)]
pub struct OcrConfig {
    /// The languages to recognise.
    pub languages: Languages,
    /// The tessdata directory; `None`: `TESSDATA_PREFIX`, then the distributions' paths.
    pub tessdata: Option<PathBuf>,
    /// The libtesseract to load; `None`: `libtesseract.so.5` from the system's search path.
    pub library: Option<PathBuf>,
}

impl OcrConfig {
    /// A configuration for a language list such as `eng+deu`, everything else found.
    pub fn new(languages: &str) -> Result<OcrConfig, OcrError> {
        Ok(OcrConfig {
            languages: Languages::parse(languages)?,
            tessdata: None,
            library: None,
        })
    }
}

/// A word's box in pixels of the page image, `right` and `bottom` exclusive.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BBox {
    /// Left edge.
    pub left: u32,
    /// Top edge.
    pub top: u32,
    /// One past the right edge.
    pub right: u32,
    /// One past the bottom edge.
    pub bottom: u32,
}

impl BBox {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.right.saturating_sub(self.left)
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.bottom.saturating_sub(self.top)
    }

    /// The smallest box holding both.
    pub fn union(&self, o: &BBox) -> BBox {
        BBox {
            left: self.left.min(o.left),
            top: self.top.min(o.top),
            right: self.right.max(o.right),
            bottom: self.bottom.max(o.bottom),
        }
    }
}

/// One recognised word.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    /// The text (UTF-8, no spaces).
    pub text: String,
    /// Where it is on the page image.
    pub bbox: BBox,
    /// Tesseract's word confidence, 0..=100.
    pub confidence: f32,
    /// The line it belongs to, counted from 0 over the page in reading order.
    pub line: u32,
    /// The paragraph it belongs to, counted from 0 over the page in reading order.
    pub paragraph: u32,
}

/// A recognised page: its words in reading order.
#[derive(Clone, Debug, PartialEq)]
pub struct Recognized {
    /// The page image's width in pixels (the frame of the word boxes).
    pub width: u32,
    /// The page image's height in pixels.
    pub height: u32,
    /// The words, in reading order.
    pub words: Vec<Word>,
    /// The mean of the words' confidences (0 for a page without words).
    pub mean_confidence: f32,
    /// How long recognition took (image hand-over, layout, recognition, reading the results).
    pub elapsed: Duration,
}

/// Which way up a page is.
#[derive(Clone, Debug, PartialEq)]
pub struct Orientation {
    /// Clockwise quarter turns that make the page upright (0..=3): apply
    /// [`PageImage::rotated`] with this number.
    pub quarter_turns: u8,
    /// Tesseract's confidence in the orientation (above about 2 is usually reliable).
    pub confidence: f32,
    /// The script detected (`Latin`, `Cyrillic`, …).
    pub script: String,
}

/// A cancel flag shared between whoever cancels (Ctrl-C, a DELETE) and the recognition.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

/// How far recognition of one page is, 0..=100 (Tesseract's own estimate: its first pass over
/// the words reaches 70), readable from any thread while the page is recognised.
#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<AtomicU8>);

impl Progress {
    /// At 0.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// The percentage.
    pub fn percent(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, p: u8) {
        self.0.store(p, Ordering::Relaxed);
    }
}

impl CancelFlag {
    /// A flag not set.
    pub fn new() -> CancelFlag {
        CancelFlag::default()
    }

    /// Sets the flag: queued pages are not started, a page being recognised stops at its next
    /// word, and waiting for a result returns [`OcrError::Cancelled`] at once.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it is set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// One `TessBaseAPI`, initialised for a language list. Not `Send`: keep it on the thread that
/// made it ([`OcrPool`](crate::OcrPool) runs one per worker thread).
pub struct Engine {
    tess: &'static Tesseract,
    raw: RawEngine,
    /// Made the first time orientation is asked for.
    osd: Option<RawEngine>,
    tessdata: PathBuf,
    languages: Languages,
}

impl Engine {
    /// Loads libtesseract (once per process) and initialises an engine. Fails with a message
    /// naming the Debian packages when Tesseract is missing, and naming the missing and the
    /// installed languages when a language is missing.
    pub fn new(config: &OcrConfig) -> Result<Engine, OcrError> {
        let tess = ffi::tesseract(config.library.as_deref())?;
        let tessdata = find_tessdata(config.tessdata.as_deref())?;
        check_installed(&config.languages, &tessdata)?;
        let langs = config.languages.to_tesseract();
        let mut raw = RawEngine::new(tess, &tessdata, &langs).map_err(|code| OcrError::Init {
            languages: langs.clone(),
            tessdata: tessdata.clone(),
            code,
        })?;
        raw.set_page_seg_mode(PSM_AUTO);
        Ok(Engine {
            tess,
            raw,
            osd: None,
            tessdata,
            languages: config.languages.clone(),
        })
    }

    /// Tesseract's version (`5.3.0`).
    pub fn version(&self) -> &str {
        self.tess.version()
    }

    /// The library file loaded.
    pub fn library(&self) -> &Path {
        self.tess.path()
    }

    /// The tessdata directory in use.
    pub fn tessdata(&self) -> &Path {
        &self.tessdata
    }

    /// The languages this engine recognises.
    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    /// The languages installed where this engine found its data (Tesseract's own list).
    pub fn available_languages(&self) -> Vec<String> {
        self.raw.available_languages()
    }

    /// Whether a page can be stopped midway (Tesseract ≥ 4.1's monitor); otherwise a cancel
    /// takes effect between pages.
    pub fn can_cancel_midpage(&self) -> bool {
        self.tess.can_cancel_midpage()
    }

    /// Recognises one page.
    pub fn recognize(
        &mut self,
        page: &PageImage,
        cancel: &CancelFlag,
    ) -> Result<Recognized, OcrError> {
        self.recognize_with_progress(page, cancel, &Progress::new())
    }

    /// Recognises one page, updating `progress` as Tesseract goes (100 when done).
    pub fn recognize_with_progress(
        &mut self,
        page: &PageImage,
        cancel: &CancelFlag,
        progress: &Progress,
    ) -> Result<Recognized, OcrError> {
        page.validate()?;
        progress.set(0);
        if cancel.is_cancelled() {
            return Err(OcrError::Cancelled);
        }
        let start = Instant::now();
        set_image(&mut self.raw, page);
        let result = self.raw.recognize(cancel.flag(), &progress.0);
        let raw_words = match result {
            Ok(()) => self.raw.words(),
            Err(_) => Vec::new(),
        };
        self.raw.clear();
        match result {
            Ok(()) => {}
            Err(RecognizeFailure::Cancelled) => return Err(OcrError::Cancelled),
            Err(RecognizeFailure::Failed(code)) => return Err(OcrError::Recognize(code)),
        }
        progress.set(100);
        let words = number_words(raw_words, page.width, page.height);
        let mean_confidence = if words.is_empty() {
            0.0
        } else {
            words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32
        };
        Ok(Recognized {
            width: page.width,
            height: page.height,
            words,
            mean_confidence,
            elapsed: start.elapsed(),
        })
    }

    /// Detects which way up the page is (Tesseract's OSD, with `osd.traineddata`).
    pub fn detect_orientation(&mut self, page: &PageImage) -> Result<Orientation, OcrError> {
        page.validate()?;
        if self.osd.is_none() {
            if !installed_in(&self.tessdata).iter().any(|l| l == "osd") {
                return Err(OcrError::NoOrientation(format!(
                    "osd.traineddata is not installed in {}; on Debian: apt-get install \
                     tesseract-ocr-osd",
                    self.tessdata.display()
                )));
            }
            let mut osd = RawEngine::new(self.tess, &self.tessdata, "osd").map_err(|code| {
                OcrError::Init {
                    languages: "osd".into(),
                    tessdata: self.tessdata.clone(),
                    code,
                }
            })?;
            osd.set_page_seg_mode(PSM_OSD_ONLY);
            self.osd = Some(osd);
        }
        let osd = self.osd.as_mut().expect("set above");
        set_image(osd, page);
        let found = osd.detect_orientation();
        osd.clear();
        let Some(o) = found else {
            return Err(OcrError::NoOrientation(
                "Tesseract found too little text on the page to tell which way up it is".into(),
            ));
        };
        // Tesseract reports how far the page is turned clockwise from upright ("orientation
        // in degrees"); the rest of a full turn makes it upright (its "Rotate:").
        let off = ((o.degrees.rem_euclid(360) + 45) / 90 % 4) as u8;
        let quarter_turns = (4 - off) % 4;
        Ok(Orientation {
            quarter_turns,
            confidence: o.confidence,
            script: o.script,
        })
    }
}

/// Hands a (validated) page to Tesseract.
fn set_image(raw: &mut RawEngine, page: &PageImage) {
    let bpl = page.pixels.bytes_per_line(page.width);
    match &page.pixels {
        // Tesseract's 1-bit images have 1 = white.
        Pixels::BlackAndWhite1(d) => {
            let inverted: Vec<u8> = d.iter().map(|b| !b).collect();
            raw.set_image(&inverted, page.width, page.height, 0, bpl, page.dpi);
        }
        Pixels::Gray8(d) => raw.set_image(d, page.width, page.height, 1, bpl, page.dpi),
        Pixels::Rgb8(d) => raw.set_image(d, page.width, page.height, 3, bpl, page.dpi),
    }
}

/// Gives each word its line and paragraph number, and clamps boxes into the page.
fn number_words(raw: Vec<ffi::RawWord>, width: u32, height: u32) -> Vec<Word> {
    let mut words = Vec::with_capacity(raw.len());
    let (mut line, mut paragraph) = (None::<u32>, None::<u32>);
    // An empty word that starts a line or paragraph passes the start on to the next word.
    let (mut new_line, mut new_paragraph) = (false, false);
    for w in raw {
        new_line |= w.new_line;
        new_paragraph |= w.new_paragraph;
        if w.text.trim().is_empty() {
            continue;
        }
        if new_paragraph || paragraph.is_none() {
            paragraph = Some(paragraph.map_or(0, |p| p + 1));
        }
        if new_line || new_paragraph || line.is_none() {
            line = Some(line.map_or(0, |l| l + 1));
        }
        (new_line, new_paragraph) = (false, false);
        let clamp = |v: i32, max: u32| (v.max(0) as u32).min(max);
        let bbox = BBox {
            left: clamp(w.bbox[0], width),
            top: clamp(w.bbox[1], height),
            right: clamp(w.bbox[2], width),
            bottom: clamp(w.bbox[3], height),
        };
        words.push(Word {
            text: w.text.trim().to_string(),
            bbox,
            confidence: w.confidence.clamp(0.0, 100.0),
            line: line.unwrap_or(0),
            paragraph: paragraph.unwrap_or(0),
        });
    }
    words
}
