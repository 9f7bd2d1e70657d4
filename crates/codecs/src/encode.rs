//! One entry point per kind of output: [`encode_page`] for the one-image formats (any
//! writer), [`Document`] for TIFF and PDF (a seekable output that can hold many pages).

use crate::decode::Decoded;
use crate::document_output::DocumentOutput;
use crate::pdf::{PdfImage, PdfWriter};
use crate::pdf_text::TextLayer;
use crate::source::{read_all, with_height, ChunkSource, RowReader, SliceSource};
use crate::tiff::{TiffPage, TiffWriter};
use crate::{EncodeError, EncodeOptions, Format};
use scanwire_core::device::{Encoding, PageData, PageInfo};
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
            let page = decoded_page(page, &decoded);
            let mut src = SliceSource::new(&decoded.data, 1 << 20);
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
            Format::Pdf => Kind::Pdf(PdfWriter::new(out, opts.pdfa)?),
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
        self.add_page_with_text(page, src, None)
    }

    /// [`Document::add_page`] with the page's recognised text: a PDF draws it invisibly over
    /// the image (a searchable page); TIFF has no place for it and ignores it.
    pub fn add_page_with_text(
        &mut self,
        page: &PageInfo,
        src: &mut dyn ChunkSource,
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        match (page.data, &mut self.kind) {
            (PageData::Encoded(Encoding::Jpeg), Kind::Pdf(pdf)) => {
                pdf.add_jpeg(src, page.dpi, text)
            }
            (PageData::Encoded(e @ (Encoding::Jpeg | Encoding::Png)), _) => {
                let decoded = decode(e, src, self.format())?;
                let page = decoded_page(page, &decoded);
                self.add_page_with_text(&page, &mut SliceSource::new(&decoded.data, 1 << 20), text)
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
            ) => pdf.add_raster(src, (pixel, width, height, page.dpi), &self.opts, text),
        }
    }

    /// Appends a page whose image was encoded beforehand ([`PdfImage::encode`] with this
    /// document's options), with its recognised text: the same bytes as
    /// [`Document::add_page_with_text`] with the page's rows. PDF only; an image compressed
    /// otherwise than this document stores such pages is refused.
    pub fn add_pdf_image(
        &mut self,
        image: &PdfImage,
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        match &mut self.kind {
            Kind::Pdf(pdf) => pdf.add_image(image, &self.opts, text),
            Kind::Tiff(_) => Err(EncodeError::Unsupported(
                "a prepared PDF image goes into a PDF, not a TIFF".into(),
            )),
        }
    }

    /// Writes out what the encoder buffers and returns how many leading bytes are final:
    /// they will never be patched or cut off again, so an output that streams the document
    /// (an HTTP response) may send them. Call it between pages.
    pub fn settle(&mut self) -> Result<u64, EncodeError> {
        match &mut self.kind {
            Kind::Tiff(t) => t.settle(),
            Kind::Pdf(p) => p.settle(),
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
            Kind::Pdf(p) => p.finish(self.opts.title.as_deref(), self.opts.created),
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

/// Decodes a device-encoded page so it can be stored in another format (see
/// [`crate::decode::decode`]: the whole page is in memory, the exception path).
fn decode(e: Encoding, src: &mut dyn ChunkSource, target: Format) -> Result<Decoded, EncodeError> {
    if !matches!(e, Encoding::Jpeg | Encoding::Png) {
        return Err(EncodeError::Unsupported(format!(
            "the device sent this page as {}, which cannot be converted to {target}; \
             choose {} output",
            e.mime(),
            match e {
                Encoding::Pdf => "pdf",
                _ => "tiff",
            }
        )));
    }
    crate::decode::decode(&read_all(src)?, None)
}

/// A decoded page as a page of rows, and its data.
fn decoded_page(page: &PageInfo, decoded: &Decoded) -> PageInfo {
    PageInfo {
        data: PageData::Raster {
            pixel: decoded.pixel,
            width: decoded.width,
            height: Some(decoded.height),
        },
        dpi: effective_dpi(page.dpi, decoded.dpi),
        ..page.clone()
    }
}

/// Whether `page` can be stored as `format` (in a multi-page `document` or its own file),
/// before any of its bytes arrive: the cheap checks that would otherwise fail mid-page.
pub fn check_page(format: Format, page: &PageInfo, document: bool) -> Result<(), EncodeError> {
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
