//! A processed page as stored in the results bucket: what the stages made of one scanned page
//! (none, one or several pages, and job separators), each page's rows and text layer, and the
//! document settings the assembler needs.
//!
//! Layout: `SWR1`, the header's length (u32 little-endian), the header (JSON), then each
//! page's rows one after the other. Rows stay raw: the assembler encodes them exactly as a
//! local scan's encoder would, so the document's bytes are the same.

use crate::wire::{OutputSettings, PixelSetting, WireError, WireText};
use scanwire_codecs::TextLayer;
use scanwire_core::device::{PageData, PageInfo, Side, Source};
use scanwire_pipeline::{PageImage, StageOutput};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"SWR1";

/// One stage output, without its rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Item {
    Page {
        pixel: PixelSetting,
        width: u32,
        height: u32,
        dpi: (u32, u32),
        bytes: u64,
        text: Option<WireText>,
    },
    Separator,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    job: String,
    document: u32,
    name: String,
    page: u32,
    output: OutputSettings,
    items: Vec<Item>,
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
    pub outputs: Vec<StageOutput>,
}

fn bad(problem: impl Into<String>) -> WireError {
    WireError::Invalid {
        field: "result",
        problem: problem.into(),
    }
}

impl PageResult {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let items = self
            .outputs
            .iter()
            .map(|o| match o {
                StageOutput::Separator => Item::Separator,
                StageOutput::Page(p) => {
                    let (pixel, width, height) = p.layout();
                    Item::Page {
                        pixel: PixelSetting::of(pixel),
                        width,
                        height,
                        dpi: p.page.dpi,
                        bytes: p.data.len() as u64,
                        text: p.text.as_deref().map(WireText::from),
                    }
                }
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
        let rows: usize = self
            .outputs
            .iter()
            .map(|o| match o {
                StageOutput::Page(p) => p.data.len(),
                StageOutput::Separator => 0,
            })
            .sum();
        let mut out = Vec::with_capacity(8 + json.len() + rows);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for o in &self.outputs {
            if let StageOutput::Page(p) = o {
                out.extend_from_slice(&p.data);
            }
        }
        out
    }

    /// Reads the stored form back.
    pub fn decode(bytes: &[u8]) -> Result<PageResult, WireError> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(bad("not a stored page result (no SWR1 header)"));
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
                Item::Separator => outputs.push(StageOutput::Separator),
                Item::Page {
                    pixel,
                    width,
                    height,
                    dpi,
                    bytes,
                    text,
                } => {
                    let n = bytes as usize;
                    let expected = pixel.pixel().bytes_per_line(width) * height as usize;
                    if n != expected || rest.len() < n {
                        return Err(bad(format!(
                            "a {width}×{height} page of {n} bytes ({expected} expected, {} left)",
                            rest.len()
                        )));
                    }
                    let (data, tail) = rest.split_at(n);
                    rest = tail;
                    outputs.push(StageOutput::Page(PageImage {
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
                        text: text.map(|t| Arc::new(TextLayer::from(t))),
                    }));
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

    #[test]
    fn a_result_round_trips() {
        let page = PageImage {
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
        };
        let r = PageResult {
            job: "j".into(),
            document: 1,
            name: "scan".into(),
            page: 3,
            output: OutputSettings::pdf(&EncodeOptions::default(), 5),
            outputs: vec![
                StageOutput::Separator,
                StageOutput::Page(page.clone()),
                StageOutput::Page(page),
            ],
        };
        let bytes = r.encode();
        assert_eq!(PageResult::decode(&bytes).unwrap(), r);
        assert!(PageResult::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(PageResult::decode(b"nope").is_err());
    }
}
