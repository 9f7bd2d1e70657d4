//! The messages on the queue, versioned JSON: [`PageMessage`] (one raw page to process, its
//! image in the Object Store), [`JobState`] (a job open, ended with its page counts, or
//! cancelled), [`AssembleMessage`] (a document whose pages are all done) and
//! [`DocumentDone`] (the `scanwire.documents.done` event).
//!
//! Every message carries `"version": 2` ([`VERSION`]). [`PageMessage::decode`] reads the version first, so a
//! message from a newer producer is rejected as such ([`WireError::Version`]) rather than as a
//! confusing missing field, then checks every field's range ([`WireError::Invalid`] names the
//! field, the value and what is allowed).

use scanwire_codecs::{EncodeOptions, Format, TextLayer, TextWord};
use scanwire_core::device::{Encoding, PageData, PageInfo, PixelFormat, Side, Source};
use scanwire_imaging::{Blank, Crop, Processing, QuarterTurns, Sensitivity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The wire version this crate writes and reads. 2: page results hold each page's image as
/// the document embeds it (`SWR2`), no longer raw rows; a version 1 worker could not
/// assemble them, so version 1 messages are refused (by a version 2 worker) and version 2
/// ones by a version 1 worker, each with a message naming both versions.
pub const VERSION: u32 = 2;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Not JSON, or not an object.
    #[error("not a scanwire queue message: {0}")]
    NotJson(String),
    /// A version this build does not read.
    #[error("message version {found} is not supported (this worker reads version {VERSION})")]
    Version {
        /// The message's `version` (0 when absent or not a number).
        found: u64,
    },
    /// A field missing, of the wrong type, or unknown (serde's words name it).
    #[error("bad message field: {0}")]
    Field(String),
    /// A field whose value is out of range.
    #[error("bad message field `{field}`: {problem}")]
    Invalid {
        /// The field's name (`image.sha256`).
        field: &'static str,
        /// What was wrong and what is allowed.
        problem: String,
    },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> WireError {
    WireError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// Reads `bytes` as a `T` after checking the version.
fn decode_versioned<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| WireError::NotJson(e.to_string()))?;
    let Some(obj) = value.as_object() else {
        return Err(WireError::NotJson("a JSON object expected".into()));
    };
    let found = obj
        .get("version")
        .and_then(|v| v.as_u64())
        .unwrap_or_default();
    if found != VERSION as u64 {
        return Err(WireError::Version { found });
    }
    serde_json::from_value(value).map_err(|e| WireError::Field(e.to_string()))
}

/// Job ids and document names become NATS subject tokens and object names: 1..=64 of
/// `A-Z a-z 0-9 - _`.
pub fn check_token(field: &'static str, s: &str) -> Result<(), WireError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{s:?} must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'"),
        ))
    }
}

/// How many pages a document has: known once the producer has scanned them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PageCount {
    /// This many pages.
    Known(u32),
    /// Still scanning: the count comes with the job's end ([`JobState`]).
    Open(OpenMarker),
}

/// The string `"open"` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenMarker {
    /// `"open"`.
    Open,
}

impl PageCount {
    /// Still open.
    pub const OPEN: PageCount = PageCount::Open(OpenMarker::Open);

    /// The count, when known.
    pub fn known(self) -> Option<u32> {
        match self {
            PageCount::Known(n) => Some(n),
            PageCount::Open(_) => None,
        }
    }
}

/// [`Processing`] on the wire (WIA's image-processing properties, the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingSettings {
    /// −1000..=1000.
    pub brightness: i32,
    /// −1000..=1000.
    pub contrast: i32,
    /// Quarter turns counterclockwise, 0..=3, applied last.
    pub rotate: u8,
    /// Auto-deskew.
    pub deskew: bool,
    /// `"off"`, `"paper"` or `"photos"`.
    pub crop: CropSetting,
    /// `"keep"`, `"skip"` or `"split"`.
    pub blank: BlankSetting,
    /// Blank-page sensitivity, 0..=100.
    pub sensitivity: u8,
}

/// [`Crop`] on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum CropSetting {
    Off,
    Paper,
    Photos,
}

/// [`Blank`] on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum BlankSetting {
    Keep,
    Skip,
    Split,
}

impl From<&Processing> for ProcessingSettings {
    fn from(p: &Processing) -> Self {
        ProcessingSettings {
            brightness: p.brightness,
            contrast: p.contrast,
            rotate: match p.rotate {
                QuarterTurns::None => 0,
                QuarterTurns::Ccw90 => 1,
                QuarterTurns::Half => 2,
                QuarterTurns::Ccw270 => 3,
            },
            deskew: p.deskew,
            crop: match p.crop {
                Crop::Off => CropSetting::Off,
                Crop::Paper => CropSetting::Paper,
                Crop::Photos => CropSetting::Photos,
            },
            blank: match p.blank {
                Blank::Keep => BlankSetting::Keep,
                Blank::Skip => BlankSetting::Skip,
                Blank::Split => BlankSetting::Split,
            },
            sensitivity: p.sensitivity.get(),
        }
    }
}

impl ProcessingSettings {
    /// The stages' settings, checked.
    pub fn processing(&self) -> Result<Processing, WireError> {
        let rotate = match self.rotate {
            0 => QuarterTurns::None,
            1 => QuarterTurns::Ccw90,
            2 => QuarterTurns::Half,
            3 => QuarterTurns::Ccw270,
            n => {
                return Err(invalid(
                    "settings.processing.rotate",
                    format!("{n} quarter turns; 0 to 3 allowed"),
                ))
            }
        };
        let sensitivity = Sensitivity::new(self.sensitivity as u32)
            .map_err(|e| invalid("settings.processing.sensitivity", e.to_string()))?;
        let p = Processing {
            brightness: self.brightness,
            contrast: self.contrast,
            rotate,
            deskew: self.deskew,
            crop: match self.crop {
                CropSetting::Off => Crop::Off,
                CropSetting::Paper => Crop::Paper,
                CropSetting::Photos => Crop::Photos,
            },
            blank: match self.blank {
                BlankSetting::Keep => Blank::Keep,
                BlankSetting::Skip => Blank::Skip,
                BlankSetting::Split => Blank::Split,
            },
            sensitivity,
        };
        p.validate()
            .map_err(|e| invalid("settings.processing", e.to_string()))?;
        Ok(p)
    }
}

/// How the document is written: what makes its bytes (with the same pages) the same on every
/// machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSettings {
    /// `"pdf"` or `"tiff"`.
    pub format: String,
    /// JPEG quality of PDF pages, 1..=100.
    pub jpeg_quality: u8,
    /// PDF pages stored losslessly.
    pub lossless: bool,
    /// PDF/A-2b.
    pub pdfa: bool,
    /// The PDF's title.
    pub title: Option<String>,
    /// The PDF's creation date, Unix seconds: the job's start, so that the document does not
    /// depend on when or where it was assembled.
    pub created: u64,
}

impl OutputSettings {
    /// PDF output as `opts` says, created at `created` (Unix seconds).
    pub fn pdf(opts: &EncodeOptions, created: u64) -> OutputSettings {
        OutputSettings {
            format: "pdf".into(),
            jpeg_quality: opts.jpeg_quality,
            lossless: opts.pdf_lossless,
            pdfa: opts.pdfa,
            title: opts.title.clone(),
            created,
        }
    }

    /// The document format, checked (a multi-page one).
    pub fn format(&self) -> Result<Format, WireError> {
        match self.format.as_str() {
            "pdf" => Ok(Format::Pdf),
            "tiff" => Ok(Format::Tiff),
            other => Err(invalid(
                "settings.output.format",
                format!("{other:?}; \"pdf\" or \"tiff\" allowed"),
            )),
        }
    }

    /// The encoder's options (one thread: a worker machine runs one page per core).
    pub fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            jpeg_quality: self.jpeg_quality,
            pdf_lossless: self.lossless,
            pdfa: self.pdfa,
            title: self.title.clone(),
            created: Some(self.created),
            ..EncodeOptions::default()
        }
    }

    fn validate(&self) -> Result<(), WireError> {
        self.format()?;
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(invalid(
                "settings.output.jpeg_quality",
                format!("{}; 1 to 100 allowed", self.jpeg_quality),
            ));
        }
        Ok(())
    }
}

/// What a worker does to every page of the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// The image stages.
    pub processing: ProcessingSettings,
    /// OCR languages (`"eng+deu"`), `None`: no OCR.
    pub ocr: Option<String>,
    /// The assembled document.
    pub output: OutputSettings,
}

/// The page image's pixel layout on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum PixelSetting {
    Lineart,
    Gray8,
    Gray16,
    Rgb8,
    Rgb16,
}

impl PixelSetting {
    /// The core's pixel format.
    pub fn pixel(self) -> PixelFormat {
        match self {
            PixelSetting::Lineart => PixelFormat::BlackAndWhite1,
            PixelSetting::Gray8 => PixelFormat::Gray8,
            PixelSetting::Gray16 => PixelFormat::Gray16,
            PixelSetting::Rgb8 => PixelFormat::Rgb8,
            PixelSetting::Rgb16 => PixelFormat::Rgb16,
        }
    }

    /// The wire name of `p`.
    pub fn of(p: PixelFormat) -> PixelSetting {
        match p {
            PixelFormat::BlackAndWhite1 => PixelSetting::Lineart,
            PixelFormat::Gray8 => PixelSetting::Gray8,
            PixelFormat::Gray16 => PixelSetting::Gray16,
            PixelFormat::Rgb8 => PixelSetting::Rgb8,
            PixelFormat::Rgb16 => PixelSetting::Rgb16,
        }
    }
}

/// How the object's bytes hold the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageEncoding {
    /// Rows, top first, `pixel.bytes_per_line(width) * height` bytes.
    Raw,
    /// A PNG file (the device's, or the producer's to save bandwidth).
    Png,
    /// A JPEG file from the device.
    Jpeg,
}

/// The page image in the Object Store, and how to check and read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRef {
    /// The object's name in the pages bucket ([`crate::names::PAGES_BUCKET`]).
    pub object: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// How the bytes hold the page.
    pub encoding: ImageEncoding,
    /// Pixel layout (of the decoded page for PNG and JPEG).
    pub pixel: PixelSetting,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Horizontal and vertical resolution.
    pub dpi: (u32, u32),
    /// The sheet it was scanned from (feeder: 1, 2, ...).
    pub sheet: u32,
    /// `"front"` or `"back"`.
    pub side: SideSetting,
}

/// [`Side`] on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum SideSetting {
    Front,
    Back,
}

impl ImageRef {
    /// The page as the pipeline describes it, numbered `number`.
    pub fn page_info(&self, number: u32) -> PageInfo {
        PageInfo {
            number,
            sheet: self.sheet,
            side: match self.side {
                SideSetting::Front => Side::Front,
                SideSetting::Back => Side::Back,
            },
            source: if self.side == SideSetting::Back {
                Source::FeederDuplex
            } else {
                Source::Feeder
            },
            data: match self.encoding {
                ImageEncoding::Raw => PageData::Raster {
                    pixel: self.pixel.pixel(),
                    width: self.width,
                    height: Some(self.height),
                },
                ImageEncoding::Png => PageData::Encoded(Encoding::Png),
                ImageEncoding::Jpeg => PageData::Encoded(Encoding::Jpeg),
            },
            dpi: self.dpi,
        }
    }

    /// Whether `bytes` are this object: size and checksum.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), WireError> {
        if bytes.len() as u64 != self.size {
            return Err(invalid(
                "image.size",
                format!(
                    "the object holds {} bytes, the message says {}",
                    bytes.len(),
                    self.size
                ),
            ));
        }
        let sum = sha256_hex(bytes);
        if sum != self.sha256 {
            return Err(invalid(
                "image.sha256",
                format!(
                    "the object's SHA-256 is {sum}, the message says {}",
                    self.sha256
                ),
            ));
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), WireError> {
        if self.object.is_empty() {
            return Err(invalid("image.object", "empty; an object name is needed"));
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid(
                "image.sha256",
                format!("{:?}; 64 lowercase hex digits allowed", self.sha256),
            ));
        }
        if self.width == 0 || self.height == 0 {
            return Err(invalid(
                "image.width",
                format!(
                    "{}×{} pixels; both must be at least 1",
                    self.width, self.height
                ),
            ));
        }
        if self.dpi.0 == 0 || self.dpi.1 == 0 {
            return Err(invalid(
                "image.dpi",
                format!("{:?}; both must be at least 1", self.dpi),
            ));
        }
        if self.encoding == ImageEncoding::Raw {
            let expected =
                self.pixel.pixel().bytes_per_line(self.width) as u64 * self.height as u64;
            if expected != self.size {
                return Err(invalid(
                    "image.size",
                    format!(
                        "{} bytes, but raw {:?} {}×{} is {expected}",
                        self.size, self.pixel, self.width, self.height
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One raw page to process: on subject [`crate::names::page_subject`] of the work stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageMessage {
    /// [`VERSION`].
    pub version: u32,
    /// The job (a scan), unique per producer: a subject token ([`check_token`]).
    pub job: String,
    /// The document within the job, from 1 (a job separator starts the next).
    pub document: u32,
    /// The document's name: the assembled file is `<name>.pdf` (a token).
    pub name: String,
    /// The page within the document, from 1.
    pub page: u32,
    /// The document's pages, or open while scanning.
    pub pages: PageCount,
    /// What to do to it.
    pub settings: JobSettings,
    /// Where its image is.
    pub image: ImageRef,
}

impl PageMessage {
    /// Reads and checks a message: the version first, then every field.
    pub fn decode(bytes: &[u8]) -> Result<PageMessage, WireError> {
        let m: PageMessage = decode_versioned(bytes)?;
        m.validate()?;
        Ok(m)
    }

    /// The message's JSON.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of plain fields always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), WireError> {
        if self.version != VERSION {
            return Err(WireError::Version {
                found: self.version as u64,
            });
        }
        check_token("job", &self.job)?;
        check_token("name", &self.name)?;
        if self.document == 0 {
            return Err(invalid("document", "0; documents count from 1"));
        }
        if self.page == 0 {
            return Err(invalid("page", "0; pages count from 1"));
        }
        if let Some(n) = self.pages.known() {
            if self.page > n {
                return Err(invalid(
                    "page",
                    format!("page {} of a {n}-page document", self.page),
                ));
            }
        }
        self.settings.processing.processing()?;
        if let Some(l) = &self.settings.ocr {
            scanwire_ocr::Languages::parse(l)
                .map_err(|e| invalid("settings.ocr", e.to_string()))?;
        }
        self.settings.output.validate()?;
        self.image.validate()
    }
}

/// Where a job is: written by the producer to the jobs bucket ([`crate::names::JOBS_BUCKET`],
/// key = job id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobState {
    /// [`VERSION`].
    pub version: u32,
    /// Open, ended or cancelled.
    pub state: JobPhase,
    /// With `Ended`: each document's page count (document number, pages), in order.
    pub documents: Vec<(u32, u32)>,
}

/// A job's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobPhase {
    /// Still scanning.
    Open,
    /// Scanned: the page counts are final.
    Ended,
    /// Cancelled: workers drop its pages.
    Cancelled,
}

impl JobState {
    /// Reads and checks one.
    pub fn decode(bytes: &[u8]) -> Result<JobState, WireError> {
        decode_versioned(bytes)
    }

    /// Its JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Document `doc`'s page count, once the job has ended.
    pub fn pages_of(&self, doc: u32) -> Option<u32> {
        (self.state == JobPhase::Ended)
            .then(|| self.documents.iter().find(|d| d.0 == doc).map(|d| d.1))
            .flatten()
    }
}

/// A document whose pages are all done: on [`crate::names::assemble_subject`], once (the
/// publisher's message id deduplicates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssembleMessage {
    /// [`VERSION`].
    pub version: u32,
    /// The job.
    pub job: String,
    /// The document.
    pub document: u32,
    /// Its pages.
    pub pages: u32,
}

impl AssembleMessage {
    /// Reads and checks one.
    pub fn decode(bytes: &[u8]) -> Result<AssembleMessage, WireError> {
        let m: AssembleMessage = decode_versioned(bytes)?;
        check_token("job", &m.job)?;
        if m.document == 0 || m.pages == 0 {
            return Err(invalid(
                "document",
                "document and pages count from 1".to_string(),
            ));
        }
        Ok(m)
    }

    /// Its JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The `scanwire.documents.done` event: a document was written to the documents bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDone {
    /// [`VERSION`].
    pub version: u32,
    /// The job.
    pub job: String,
    /// The producer's document number.
    pub document: u32,
    /// The file's name (`<name>.pdf`; `<name>-2.pdf`... when blank pages split it).
    pub name: String,
    /// The object in the documents bucket ([`crate::names::DOCUMENTS_BUCKET`]).
    pub object: String,
    /// Pages in the file.
    pub pages: u32,
    /// Bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

impl DocumentDone {
    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<DocumentDone, WireError> {
        decode_versioned(bytes)
    }

    /// Its JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A [`TextLayer`] word on the wire (the codecs type has no serde).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireWord {
    pub text: String,
    pub bbox: [u32; 4],
    pub line: u32,
}

/// A [`TextLayer`] on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireText {
    pub width: u32,
    pub height: u32,
    pub words: Vec<WireWord>,
}

impl From<&TextLayer> for WireText {
    fn from(t: &TextLayer) -> Self {
        WireText {
            width: t.width,
            height: t.height,
            words: t
                .words
                .iter()
                .map(|w| WireWord {
                    text: w.text.clone(),
                    bbox: w.bbox,
                    line: w.line,
                })
                .collect(),
        }
    }
}

impl From<WireText> for TextLayer {
    fn from(t: WireText) -> Self {
        TextLayer {
            width: t.width,
            height: t.height,
            words: t
                .words
                .into_iter()
                .map(|w| TextWord {
                    text: w.text,
                    bbox: w.bbox,
                    line: w.line,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> PageMessage {
        let data = vec![255u8; 4 * 3];
        PageMessage {
            version: VERSION,
            job: "job-1".into(),
            document: 1,
            name: "scan".into(),
            page: 2,
            pages: PageCount::Known(3),
            settings: JobSettings {
                processing: ProcessingSettings::from(&Processing {
                    deskew: true,
                    blank: Blank::Skip,
                    ..Processing::default()
                }),
                ocr: None,
                output: OutputSettings::pdf(&EncodeOptions::default(), 1_700_000_000),
            },
            image: ImageRef {
                object: "job-1/1/2".into(),
                size: data.len() as u64,
                sha256: sha256_hex(&data),
                encoding: ImageEncoding::Raw,
                pixel: PixelSetting::Gray8,
                width: 4,
                height: 3,
                dpi: (300, 300),
                sheet: 2,
                side: SideSetting::Front,
            },
        }
    }

    #[test]
    fn a_message_round_trips() {
        let m = sample();
        assert_eq!(PageMessage::decode(&m.encode()).unwrap(), m);
        let open = PageMessage {
            pages: PageCount::OPEN,
            ..sample()
        };
        let json = String::from_utf8(open.encode()).unwrap();
        assert!(json.contains("\"pages\":\"open\""), "{json}");
        assert_eq!(PageMessage::decode(json.as_bytes()).unwrap(), open);
    }

    fn edit(f: impl FnOnce(&mut serde_json::Value)) -> Result<PageMessage, WireError> {
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        f(&mut v);
        PageMessage::decode(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn bad_messages_say_what_was_wrong() {
        // A newer producer's message.
        assert_eq!(
            edit(|v| v["version"] = (VERSION + 1).into()),
            Err(WireError::Version {
                found: VERSION as u64 + 1
            })
        );
        assert_eq!(
            edit(|v| {
                v.as_object_mut().unwrap().remove("version");
            }),
            Err(WireError::Version { found: 0 })
        );
        let e = edit(|v| {
            v.as_object_mut().unwrap().remove("job");
        })
        .unwrap_err();
        assert!(e.to_string().contains("missing field `job`"), "{e}");
        let e = edit(|v| v["job"] = "a.b".into()).unwrap_err();
        assert!(
            e.to_string().contains("`job`") && e.to_string().contains("\"a.b\""),
            "{e}"
        );
        let e = edit(|v| v["page"] = 4.into()).unwrap_err();
        assert!(e.to_string().contains("page 4 of a 3-page document"), "{e}");
        let e = edit(|v| v["image"]["sha256"] = "xyz".into()).unwrap_err();
        assert!(e.to_string().contains("image.sha256"), "{e}");
        let e = edit(|v| v["image"]["size"] = 5.into()).unwrap_err();
        assert!(e.to_string().contains("image.size"), "{e}");
        let e = edit(|v| v["settings"]["processing"]["rotate"] = 7.into()).unwrap_err();
        assert!(e.to_string().contains("0 to 3"), "{e}");
        let e = edit(|v| v["settings"]["output"]["format"] = "png".into()).unwrap_err();
        assert!(e.to_string().contains("\"pdf\" or \"tiff\""), "{e}");
        let e = edit(|v| v["pages"] = "closed".into()).unwrap_err();
        assert!(matches!(e, WireError::Field(_)), "{e}");
        let e = edit(|v| v["surprise"] = 1.into()).unwrap_err();
        assert!(e.to_string().contains("unknown field `surprise`"), "{e}");
        assert!(matches!(
            PageMessage::decode(b"\x00garbage"),
            Err(WireError::NotJson(_))
        ));
    }

    #[test]
    fn an_old_version_is_refused_by_name() {
        for old in [1, 3] {
            let e = edit(|v| v["version"] = old.into()).unwrap_err();
            assert_eq!(e, WireError::Version { found: old });
            assert_eq!(
                e.to_string(),
                format!("message version {old} is not supported (this worker reads version 2)")
            );
        }
        let mut v: serde_json::Value = serde_json::to_value(AssembleMessage {
            version: VERSION,
            job: "j".into(),
            document: 1,
            pages: 2,
        })
        .unwrap();
        v["version"] = 1.into();
        assert_eq!(
            AssembleMessage::decode(&serde_json::to_vec(&v).unwrap()),
            Err(WireError::Version { found: 1 })
        );
    }

    #[test]
    fn the_checksum_is_checked() {
        let m = sample();
        assert!(m.image.verify(&[255u8; 12]).is_ok());
        let e = m.image.verify(&[0u8; 12]).unwrap_err();
        assert!(e.to_string().contains("SHA-256"), "{e}");
        let e = m.image.verify(&[255u8; 11]).unwrap_err();
        assert!(e.to_string().contains("holds 11 bytes"), "{e}");
    }

    #[test]
    fn processing_round_trips() {
        let p = Processing {
            brightness: 10,
            rotate: QuarterTurns::Half,
            crop: Crop::Paper,
            blank: Blank::Split,
            sensitivity: Sensitivity::new(40).unwrap(),
            ..Processing::default()
        };
        assert_eq!(ProcessingSettings::from(&p).processing().unwrap(), p);
    }
}
