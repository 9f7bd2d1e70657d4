//! One entry point per kind of output: [`encode_page`] for the one-image formats (any
//! writer), [`Document`] for TIFF and PDF (a seekable output that can hold many pages).

use crate::out::DocumentOutput;
use crate::pdf::PdfWriter;
use crate::source::{read_all, with_height, ChunkSource, RowReader, SliceSource};
use crate::tiff::{TiffPage, TiffWriter};
use crate::{EncodeError, EncodeOptions, Format};
use scanwire_core::device::{Encoding, PageData, PageInfo, PixelFormat};
use std::io::Write;

/// Encodes one page pulled from `src` as PNM, PNG or JPEG into `out`, streaming: memory is a
/// band of rows, not the page. Pages of unknown height are spooled to a temporary file
/// first (the header holds the height). Device-encoded pages already in `format` are copied;
/// device JPEG and PNG pages are decoded (whole, in memory) and re-encoded.
///
/// TIFF and PDF need a seekable output: use [`Document`].
pub fn encode_page<W: Write>(
    format: Format,
    page: &PageInfo,
    opts: &EncodeOptions,
    src: &mut dyn ChunkSource,
    mut out: W,
) -> Result<W, EncodeError> {
    opts.validate()?;
    match page.data {
        PageData::Encoded(e) if Some(e) == format.encoding() => {
            let io = || EncodeError::io("the copied page");
            while let Some(c) = src.next_chunk()? {
                out.write_all(c).map_err(io())?;
            }
            out.flush().map_err(io())?;
            Ok(out)
        }
        PageData::Encoded(e) => {
            let decoded = decode(e, src, format)?;
            let page = PageInfo {
                data: decoded.data,
                dpi: effective_dpi(page.dpi, decoded.dpi),
                ..page.clone()
            };
            let mut src = SliceSource::new(&decoded.pixels, 1 << 20);
            encode_page(format, &page, opts, &mut src, out)
        }
        PageData::Raster {
            pixel,
            width,
            height,
        } => {
            let w: &mut dyn Write = &mut out;
            with_height(
                src,
                pixel,
                width,
                height,
                page.dpi,
                || opts.spool_file(),
                |r, rows| match format {
                    Format::Pnm => crate::pnm::encode(r, rows, w),
                    Format::Png => {
                        crate::png::encode(r, rows, opts.deflate, opts.png_thread_count(), w)
                    }
                    Format::Jpeg => {
                        crate::jpeg::encode(r, rows, opts.jpeg_quality, opts.thread_count(), w)
                    }
                    Format::Tiff | Format::Pdf => Err(EncodeError::Unsupported(format!(
                        "{format} needs a seekable output; use Document"
                    ))),
                },
            )?;
            Ok(out)
        }
    }
}

/// A TIFF or PDF file that pages are appended to as they arrive.
///
/// Each [`Document::add_page`] either adds the whole page or leaves the document exactly as
/// it was (an incomplete page is cut off again), so after any sequence of calls
/// [`Document::finish`] gives a valid file of the complete pages.
pub struct Document<W: DocumentOutput> {
    kind: Kind<W>,
    opts: EncodeOptions,
}

enum Kind<W> {
    Tiff(TiffWriter<W>),
    Pdf(PdfWriter<W>),
}

impl<W: DocumentOutput> Document<W> {
    /// Starts a `format` document (TIFF or PDF) in `out`, which should be empty.
    /// `multi_page` marks TIFF pages as pages of a multi-page document (NewSubfileType,
    /// PageNumber).
    pub fn new(
        format: Format,
        out: W,
        opts: &EncodeOptions,
        multi_page: bool,
    ) -> Result<Self, EncodeError> {
        opts.validate()?;
        let kind = match format {
            Format::Tiff => Kind::Tiff(TiffWriter::new(
                out,
                opts.tiff,
                opts.deflate,
                opts.thread_count(),
                multi_page,
            )?),
            Format::Pdf => Kind::Pdf(PdfWriter::new(out)?),
            other => {
                return Err(EncodeError::Unsupported(format!(
                    "{other} holds one image; documents are tiff or pdf"
                )))
            }
        };
        Ok(Document {
            kind,
            opts: opts.clone(),
        })
    }

    /// Complete pages so far.
    pub fn pages(&self) -> u32 {
        match &self.kind {
            Kind::Tiff(t) => t.pages(),
            Kind::Pdf(p) => p.pages(),
        }
    }

    /// Appends the page pulled from `src`. On error (including an incomplete page) the
    /// document is unchanged; `src` may still hold the rest of the page.
    pub fn add_page(
        &mut self,
        page: &PageInfo,
        src: &mut dyn ChunkSource,
    ) -> Result<(), EncodeError> {
        match (page.data, &mut self.kind) {
            (PageData::Encoded(Encoding::Jpeg), Kind::Pdf(pdf)) => pdf.add_jpeg(src, page.dpi),
            (PageData::Encoded(e @ (Encoding::Jpeg | Encoding::Png)), _) => {
                let decoded = decode(e, src, self.format())?;
                let page = PageInfo {
                    data: decoded.data,
                    dpi: effective_dpi(page.dpi, decoded.dpi),
                    ..page.clone()
                };
                self.add_page(&page, &mut SliceSource::new(&decoded.pixels, 1 << 20))
            }
            (PageData::Encoded(e), _) => Err(EncodeError::Unsupported(format!(
                "the device sent this page as {}, which cannot be merged into a {} document; \
                 save each page to its own file instead",
                e.mime(),
                self.format()
            ))),
            (
                PageData::Raster {
                    pixel,
                    width,
                    height,
                },
                Kind::Tiff(tiff),
            ) => {
                let mut rows = RowReader::new(src, pixel.bytes_per_line(width), height);
                let page = TiffPage {
                    pixel,
                    width,
                    dpi: page.dpi,
                };
                tiff.add_page(&page, &mut rows)
            }
            (
                PageData::Raster {
                    pixel,
                    width,
                    height,
                },
                Kind::Pdf(pdf),
            ) => pdf.add_raster(src, (pixel, width, height, page.dpi), &self.opts),
        }
    }

    /// Ends the document (PDF: page tree, catalog, info with Producer, CreationDate and the
    /// title from the options) and returns the output. A document without pages is an error.
    pub fn finish(self) -> Result<W, EncodeError> {
        if self.pages() == 0 {
            return Err(EncodeError::EmptyPage);
        }
        match self.kind {
            Kind::Tiff(t) => t.finish(),
            Kind::Pdf(p) => p.finish(self.opts.title.as_deref()),
        }
    }

    fn format(&self) -> Format {
        match self.kind {
            Kind::Tiff(_) => Format::Tiff,
            Kind::Pdf(_) => Format::Pdf,
        }
    }
}

fn effective_dpi(page: (u32, u32), file: Option<(u32, u32)>) -> (u32, u32) {
    match page {
        (x, y) if x > 0 && y > 0 => (x, y),
        _ => file.unwrap_or((72, 72)),
    }
}

struct Decoded {
    data: PageData,
    pixels: Vec<u8>,
    dpi: Option<(u32, u32)>,
}

/// Decodes a device-encoded page so it can be stored in another format. The whole page is
/// in memory here (compressed and decoded); it is the exception path, used only when the
/// device's encoding differs from the requested format and cannot be embedded as is.
fn decode(e: Encoding, src: &mut dyn ChunkSource, target: Format) -> Result<Decoded, EncodeError> {
    let data = read_all(src)?;
    match e {
        Encoding::Jpeg => decode_jpeg(&data),
        Encoding::Png => decode_png(&data),
        other => Err(EncodeError::Unsupported(format!(
            "the device sent this page as {}, which cannot be converted to {target}; \
             choose {} output",
            other.mime(),
            match other {
                Encoding::Pdf => "pdf",
                _ => "tiff",
            }
        ))),
    }
}

fn decode_jpeg(data: &[u8]) -> Result<Decoded, EncodeError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let bad = |e: zune_jpeg::errors::DecodeErrors| EncodeError::BadInput {
        what: "JPEG",
        detail: e.to_string(),
    };
    let header = crate::jfif::parse_header(data)?.ok_or_else(|| EncodeError::BadInput {
        what: "JPEG",
        detail: "it ends before its frame header".into(),
    })?;
    let gray = header.components == 1;
    let opts = DecoderOptions::default()
        .set_max_width(65_535)
        .set_max_height(65_535)
        .jpeg_set_out_colorspace(if gray {
            ColorSpace::Luma
        } else {
            ColorSpace::RGB
        });
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(data, opts);
    let pixels = dec.decode().map_err(bad)?;
    let info = dec.info().ok_or_else(|| EncodeError::BadInput {
        what: "JPEG",
        detail: "no image information after decoding".into(),
    })?;
    Ok(Decoded {
        data: PageData::Raster {
            pixel: if gray {
                PixelFormat::Gray8
            } else {
                PixelFormat::Rgb8
            },
            width: info.width as u32,
            height: Some(info.height as u32),
        },
        pixels,
        dpi: header.dpi,
    })
}

fn decode_png(data: &[u8]) -> Result<Decoded, EncodeError> {
    let bad = |detail: String| EncodeError::BadInput {
        what: "PNG",
        detail,
    };
    let mut dec = png::Decoder::new(std::io::Cursor::new(data));
    // Palette and low-bit gray expand to 8 bits; 16 bits stay (big-endian, as ours).
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().map_err(|e| bad(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("image too large".into()))?;
    let mut buf = vec![0; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    buf.truncate(frame.buffer_size());
    let (w, h) = (frame.width, frame.height);
    let sixteen = frame.bit_depth == png::BitDepth::Sixteen;
    let bps = if sixteen { 2 } else { 1 };
    // Drop alpha: scanners have none, and the formats here store none.
    let (pixels, pixel) = match frame.color_type {
        png::ColorType::Grayscale => (
            buf,
            if sixteen {
                PixelFormat::Gray16
            } else {
                PixelFormat::Gray8
            },
        ),
        png::ColorType::Rgb => (
            buf,
            if sixteen {
                PixelFormat::Rgb16
            } else {
                PixelFormat::Rgb8
            },
        ),
        png::ColorType::GrayscaleAlpha => (
            buf.chunks_exact(2 * bps)
                .flat_map(|p| p[..bps].to_vec())
                .collect(),
            if sixteen {
                PixelFormat::Gray16
            } else {
                PixelFormat::Gray8
            },
        ),
        png::ColorType::Rgba => (
            buf.chunks_exact(4 * bps)
                .flat_map(|p| p[..3 * bps].to_vec())
                .collect(),
            if sixteen {
                PixelFormat::Rgb16
            } else {
                PixelFormat::Rgb8
            },
        ),
        png::ColorType::Indexed => return Err(bad("palette image was not expanded".into())),
    };
    let dpi = reader.info().pixel_dims.and_then(|d| match d.unit {
        png::Unit::Meter => Some((
            (d.xppu as u64 * 254 / 10_000) as u32,
            (d.yppu as u64 * 254 / 10_000) as u32,
        )),
        png::Unit::Unspecified => None,
    });
    Ok(Decoded {
        data: PageData::Raster {
            pixel,
            width: w,
            height: Some(h),
        },
        pixels,
        dpi,
    })
}

/// Whether `page` can be stored as `format` (in a multi-page `document` or its own file),
/// before any of its bytes arrive: the cheap checks that would otherwise fail mid-page.
pub(crate) fn check_page(
    format: Format,
    page: &PageInfo,
    document: bool,
) -> Result<(), EncodeError> {
    match page.data {
        PageData::Raster { width, height, .. } => {
            if width == 0 || height == Some(0) {
                return Err(EncodeError::EmptyPage);
            }
            let dct = format == Format::Jpeg;
            if dct
                && (width > crate::jpeg::MAX_SIDE
                    || height.is_some_and(|h| h > crate::jpeg::MAX_SIDE))
            {
                return Err(EncodeError::Unsupported(format!(
                    "JPEG holds at most {0}x{0} pixels; this page is {width} pixels wide{1} (use PNG or TIFF)",
                    crate::jpeg::MAX_SIDE,
                    height.map(|h| format!(" and {h} high")).unwrap_or_default()
                )));
            }
            Ok(())
        }
        PageData::Encoded(e) if !document && Some(e) == format.encoding() => Ok(()),
        PageData::Encoded(Encoding::Jpeg | Encoding::Png) => Ok(()),
        PageData::Encoded(e) => Err(EncodeError::Unsupported(format!(
            "the device sends {} pages, which cannot be {}; save them as {} files, one per page",
            e.mime(),
            if document {
                format!("merged into one {format} file")
            } else {
                format!("converted to {format}")
            },
            match e {
                Encoding::Pdf => "pdf",
                _ => "tiff",
            }
        ))),
    }
}
