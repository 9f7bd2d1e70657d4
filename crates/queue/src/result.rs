//! A processed page as stored in the results bucket: what the stages made of one scanned page
//! (none, one or several pages, and job separators), each page's image and text layer, and
//! the document settings the assembler needs.
//!
//! Layout: `SWR2`, the header's length (u32 little-endian), the header (JSON), then each
//! page's image bytes one after the other. For a PDF document a page's image is already in
//! its final form, the image stream the PDF embeds (`PdfImage`: the worker encoded it with
//! the job's options, exactly as a local scan's encoder would), so it crosses the network
//! compressed and the assembler only copies it; for a TIFF document it is the raw rows,
//! which the assembler encodes. Either way the document's bytes are a local scan's.
//!
//! `SWR1` (version 1's raw results) is refused with a message saying so: the workers of a
//! queue are upgraded together.

use crate::wire::{OutputSettings, PixelSetting, WireError, WireText};
use scanwire_codecs::{EncodeOptions, Format, PdfImage, PdfImageKind, SliceSource, TextLayer};
use scanwire_core::device::{PageData, PageInfo, Side, Source};
use scanwire_pipeline::{PageImage, StageOutput};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"SWR2";
const OLD_MAGIC: &[u8; 4] = b"SWR1";

/// How a stored page's image bytes hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stored {
    /// Rows, top first.
    Raw,
    /// A PDF's DCT image stream (baseline JPEG).
    Dct,
    /// A PDF's Flate image stream with PNG predictors.
    Flate,
}

/// One stage output, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum Item {
    Page {
        pixel: PixelSetting,
        width: u32,
        height: u32,
        dpi: (u32, u32),
        stored: Stored,
        bytes: u64,
        text: Option<WireText>,
    },
    Separator,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    job: String,
    document: u32,
    name: String,
    page: u32,
    output: OutputSettings,
    items: Vec<Item>,
}

/// One output of a processed page, as the assembler takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultOutput {
    /// A page as rows (for a TIFF document).
    Rows(PageImage),
    /// A page whose image is already the PDF's image stream, with its recognised text.
    Pdf {
        /// The image, as the document embeds it.
        image: PdfImage,
        /// The text layer (OCR), if any.
        text: Option<Arc<TextLayer>>,
    },
    /// A job separator (a blank page with `Blank::Split`): the next page starts a new file.
    Separator,
}

/// One scanned page, processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageResult {
    /// The job.
    pub job: String,
    /// The producer's document.
    pub document: u32,
    /// The document's name.
    pub name: String,
    /// The scanned page's number in the document.
    pub page: u32,
    /// How the document is written.
    pub output: OutputSettings,
    /// What the stages handed on, in order.
    pub outputs: Vec<ResultOutput>,
}

fn bad(problem: impl Into<String>) -> WireError {
    WireError::Invalid {
        field: "result",
        problem: problem.into(),
    }
}

impl PageResult {
    /// The result of the stages' `outputs` for scanned page `page`: for a PDF document each
    /// page's image is encoded here, with the document's options (the work a local scan's
    /// encoder does for it), for a TIFF document the rows are kept.
    pub fn new(
        job: &str,
        document: u32,
        name: &str,
        page: u32,
        output: &OutputSettings,
        outputs: Vec<StageOutput>,
    ) -> Result<PageResult, WireError> {
        let pdf = output.format()? == Format::Pdf;
        let opts: EncodeOptions = output.encode_options();
        let outputs = outputs
            .into_iter()
            .map(|o| match o {
                StageOutput::Separator => Ok(ResultOutput::Separator),
                StageOutput::Page(p) if pdf => {
                    let image =
                        PdfImage::encode(&p.page, &mut SliceSource::new(&p.data, 1 << 20), &opts)
                            .map_err(|e| bad(format!("encoding page {page}'s image: {e}")))?;
                    Ok(ResultOutput::Pdf {
                        image,
                        text: p.text,
                    })
                }
                StageOutput::Page(p) => Ok(ResultOutput::Rows(p)),
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        Ok(PageResult {
            job: job.to_string(),
            document,
            name: name.to_string(),
            page,
            output: output.clone(),
            outputs,
        })
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let items = self
            .outputs
            .iter()
            .map(|o| match o {
                ResultOutput::Separator => Item::Separator,
                ResultOutput::Rows(p) => {
                    let (pixel, width, height) = p.layout();
                    Item::Page {
                        pixel: PixelSetting::of(pixel),
                        width,
                        height,
                        dpi: p.page.dpi,
                        stored: Stored::Raw,
                        bytes: p.data.len() as u64,
                        text: p.text.as_deref().map(WireText::from),
                    }
                }
                ResultOutput::Pdf { image, text } => Item::Page {
                    pixel: PixelSetting::of(image.pixel),
                    width: image.width,
                    height: image.height,
                    dpi: image.dpi,
                    stored: match image.kind {
                        PdfImageKind::Dct => Stored::Dct,
                        PdfImageKind::Flate => Stored::Flate,
                    },
                    bytes: image.data.len() as u64,
                    text: text.as_deref().map(WireText::from),
                },
            })
            .collect();
        let header = Header {
            job: self.job.clone(),
            document: self.document,
            name: self.name.clone(),
            page: self.page,
            output: self.output.clone(),
            items,
        };
        let json = serde_json::to_vec(&header).unwrap_or_default();
        fn data(o: &ResultOutput) -> Option<&[u8]> {
            match o {
                ResultOutput::Rows(p) => Some(&p.data),
                ResultOutput::Pdf { image, .. } => Some(&image.data),
                ResultOutput::Separator => None,
            }
        }
        let total: usize = self.outputs.iter().filter_map(data).map(<[u8]>::len).sum();
        let mut out = Vec::with_capacity(8 + json.len() + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for d in self.outputs.iter().filter_map(data) {
            out.extend_from_slice(d);
        }
        out
    }

    /// Reads the stored form back.
    pub fn decode(bytes: &[u8]) -> Result<PageResult, WireError> {
        if bytes.len() >= 4 && &bytes[..4] == OLD_MAGIC {
            return Err(bad(
                "a version 1 result (SWR1, raw rows) from an older worker; this worker reads \
                 SWR2: upgrade every worker of the queue together",
            ));
        }
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(bad("not a stored page result (no SWR2 header)"));
        }
        let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let json = bytes
            .get(8..8 + len)
            .ok_or_else(|| bad("the header is cut short"))?;
        let header: Header =
            serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
        let mut rest = &bytes[8 + len..];
        let mut outputs = Vec::with_capacity(header.items.len());
        for item in header.items {
            match item {
                Item::Separator => outputs.push(ResultOutput::Separator),
                Item::Page {
                    pixel,
                    width,
                    height,
                    dpi,
                    stored,
                    bytes,
                    text,
                } => {
                    let n = bytes as usize;
                    let raw = pixel.pixel().bytes_per_line(width) * height as usize;
                    if (stored == Stored::Raw && n != raw) || rest.len() < n {
                        return Err(bad(format!(
                            "a {width}×{height} {stored:?} page of {n} bytes ({} left{})",
                            rest.len(),
                            if stored == Stored::Raw {
                                format!(", {raw} expected")
                            } else {
                                String::new()
                            }
                        )));
                    }
                    let (data, tail) = rest.split_at(n);
                    rest = tail;
                    let text = text.map(|t| Arc::new(TextLayer::from(t)));
                    let kind = match stored {
                        Stored::Raw => {
                            outputs.push(ResultOutput::Rows(PageImage {
                                page: PageInfo {
                                    number: header.page,
                                    sheet: header.page,
                                    side: Side::Front,
                                    source: Source::Feeder,
                                    data: PageData::Raster {
                                        pixel: pixel.pixel(),
                                        width,
                                        height: Some(height),
                                    },
                                    dpi,
                                },
                                data: data.to_vec(),
                                text,
                            }));
                            continue;
                        }
                        Stored::Dct => PdfImageKind::Dct,
                        Stored::Flate => PdfImageKind::Flate,
                    };
                    outputs.push(ResultOutput::Pdf {
                        image: PdfImage {
                            kind,
                            pixel: pixel.pixel(),
                            width,
                            height,
                            dpi,
                            data: data.to_vec(),
                        },
                        text,
                    });
                }
            }
        }
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes after the last page", rest.len())));
        }
        Ok(PageResult {
            job: header.job,
            document: header.document,
            name: header.name,
            page: header.page,
            output: header.output,
            outputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_codecs::{EncodeOptions, TextWord};
    use scanwire_core::device::PixelFormat;

    fn page() -> PageImage {
        PageImage {
            page: PageInfo {
                number: 3,
                sheet: 3,
                side: Side::Front,
                source: Source::Feeder,
                data: PageData::Raster {
                    pixel: PixelFormat::Gray8,
                    width: 3,
                    height: Some(2),
                },
                dpi: (150, 150),
            },
            data: vec![1, 2, 3, 4, 5, 6],
            text: Some(Arc::new(TextLayer {
                width: 3,
                height: 2,
                words: vec![TextWord {
                    text: "hi".into(),
                    bbox: [0, 0, 2, 1],
                    line: 0,
                }],
            })),
        }
    }

    #[test]
    fn a_result_round_trips() {
        for format in ["pdf", "tiff"] {
            let output = OutputSettings {
                format: format.into(),
                ..OutputSettings::pdf(&EncodeOptions::default(), 5)
            };
            let outputs = vec![
                StageOutput::Separator,
                StageOutput::Page(page()),
                StageOutput::Page(page()),
            ];
            let r = PageResult::new("j", 1, "scan", 3, &output, outputs).unwrap();
            match (&r.outputs[1], format) {
                (ResultOutput::Pdf { image, text }, "pdf") => {
                    assert_eq!(image.kind, PdfImageKind::Dct);
                    assert!(text.is_some());
                }
                (ResultOutput::Rows(_), "tiff") => {}
                (o, _) => panic!("{format}: {o:?}"),
            }
            let bytes = r.encode();
            assert_eq!(PageResult::decode(&bytes).unwrap(), r);
            assert!(PageResult::decode(&bytes[..bytes.len() - 1]).is_err());
        }
        assert!(PageResult::decode(b"nope").is_err());
    }

    #[test]
    fn an_old_result_is_refused_as_such() {
        let mut old = b"SWR1".to_vec();
        old.extend_from_slice(&2u32.to_le_bytes());
        old.extend_from_slice(b"{}");
        let e = PageResult::decode(&old).unwrap_err().to_string();
        assert!(
            e.contains("version 1 result") && e.contains("upgrade"),
            "{e}"
        );
    }
}
