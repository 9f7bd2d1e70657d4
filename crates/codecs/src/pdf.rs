//! A PDF written page by page: each page's image goes to the file as it is encoded, and the
//! page tree, catalog, info and cross-reference table are written at the end. Memory holds
//! the object offsets and page references, never a page.
//!
//! `pdf-writer` serialises the small objects (pages, content streams, catalog, info); the
//! image streams are written by hand around the streamed data, with their `/Length` as an
//! indirect object written after the data, as PDF allows. An incomplete page is cut off
//! again (truncation) and its object numbers reused, so the file only holds complete pages.
//!
//! Images: DCT (JPEG, baseline) for gray and color unless lossless, Flate with PNG
//! predictors (`/Predictor 15`, the IDAT stream of a PNG of the page) for lineart and lossless
//! pages. Device JPEGs are embedded as they are. Page size = pixels * 72 / dpi points.
//!
//! A page may carry its recognised text ([`TextLayer`]): it is drawn invisibly over the image
//! (`pdf_text.rs`), in the glyphless font written once, with the first such page.

use crate::convert::eight_bit;
use crate::document_output::{Counting, DocumentOutput, Out};
use crate::jfif::{parse_header, JpegInfo};
use crate::pdf_text::{glyphless_font_objects, text_layer, GlyphlessFontRefs, TextLayer};
use crate::png::IdatOnly;
use crate::source::{with_height, ChunkSource, Raster, RowReader};
use crate::{EncodeError, EncodeOptions};
use pdf_writer::{Chunk, Content, Date, Finish, Name, Rect, Ref, Settings, TextStr};
use scanwire_core::device::PixelFormat;
use std::io::Write;

const CATALOG: Ref = Ref::new(1);
const PAGE_TREE: Ref = Ref::new(2);
const INFO: Ref = Ref::new(3);
const FIRST_FREE: i32 = 4;

/// Bytes of a device JPEG buffered while looking for its frame header.
const MAX_JPEG_HEADER: usize = 4 << 20;

/// Appends pages to one PDF.
pub(crate) struct PdfWriter<W> {
    out: Out<W>,
    /// Offset of object `i + 1`.
    offsets: Vec<Option<u64>>,
    next_id: i32,
    pages: Vec<Ref>,
    /// The glyphless font, once a page with text has been written.
    font: Option<GlyphlessFontRefs>,
    /// PDF/A-2b: metadata, output intent and ID at the end (`pdfa.rs`).
    pdfa: bool,
}

fn io() -> impl FnOnce(std::io::Error) -> EncodeError {
    EncodeError::io("the PDF file")
}

/// How the image of a page is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PdfImageKind {
    /// Baseline JPEG of the page's 8-bit form (`/DCTDecode`).
    Dct,
    /// PNG-predicted Flate (`/FlateDecode /Predictor 15`): lineart and lossless pages.
    Flate,
}

/// A page's image compressed as a PDF stores it, made apart from the document: a queue
/// worker encodes its page's image ([`PdfImage::encode`]) and the machine that assembles the
/// document only copies it in ([`crate::Document::add_pdf_image`]), so the image is encoded
/// once, where the page was processed, and travels compressed. The file is the same, byte
/// for byte, as one whose pages were added as rows with the same options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfImage {
    /// How [`PdfImage::data`] is compressed.
    pub kind: PdfImageKind,
    /// The page's pixel layout (a DCT image holds its 8-bit form).
    pub pixel: PixelFormat,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// The page's resolution (its size in points).
    pub dpi: (u32, u32),
    /// The image stream's bytes.
    pub data: Vec<u8>,
}

impl PdfImage {
    /// Encodes the raster page pulled from `src` as a PDF with `opts` would store it.
    pub fn encode(
        page: &scanwire_core::device::PageInfo,
        src: &mut dyn ChunkSource,
        opts: &EncodeOptions,
    ) -> Result<PdfImage, EncodeError> {
        opts.validate()?;
        let scanwire_core::device::PageData::Raster {
            pixel,
            width,
            height,
        } = page.data
        else {
            return Err(EncodeError::Unsupported(
                "a prepared PDF image is made from rows, not a device-encoded page".into(),
            ));
        };
        with_height(
            src,
            pixel,
            width,
            height,
            page.dpi,
            || opts.spool_file(),
            |r, rows| {
                let kind = image_kind(&r, opts)?;
                let (pixel, width, height, dpi) = (r.pixel, r.width, r.height, r.dpi);
                let mut data = Vec::new();
                encode_image(kind, r, rows, opts, &mut data)?;
                Ok(PdfImage {
                    kind,
                    pixel,
                    width,
                    height,
                    dpi,
                    data,
                })
            },
        )
    }
}

/// How `opts` store a page of `r`'s layout.
fn image_kind(r: &Raster, opts: &EncodeOptions) -> Result<PdfImageKind, EncodeError> {
    if opts.pdf_lossless || r.pixel == PixelFormat::BlackAndWhite1 {
        Ok(PdfImageKind::Flate)
    } else {
        crate::jpeg::check_size(r)?;
        Ok(PdfImageKind::Dct)
    }
}

/// The image dictionary's colour space, bits per component and filter.
fn image_dictionary(
    kind: PdfImageKind,
    pixel: PixelFormat,
    width: u32,
) -> (&'static str, u8, String) {
    match kind {
        PdfImageKind::Dct => (
            color_space(eight_bit(pixel).channels()),
            8,
            "/Filter /DCTDecode".to_string(),
        ),
        PdfImageKind::Flate => (
            color_space(pixel.channels()),
            pixel.bit_depth(),
            format!(
                "/Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors {} /BitsPerComponent {} /Columns {} >>",
                pixel.channels(),
                pixel.bit_depth(),
                width
            ),
        ),
    }
}

/// The image stream's bytes into `out`; returns how many.
fn encode_image(
    kind: PdfImageKind,
    r: Raster,
    rows: &mut RowReader<'_>,
    opts: &EncodeOptions,
    out: &mut dyn Write,
) -> Result<u64, EncodeError> {
    match kind {
        PdfImageKind::Dct => {
            let mut c = Counting {
                inner: out,
                count: 0,
            };
            crate::jpeg::encode(r, rows, opts.jpeg_quality, opts.thread_count(), &mut c)?;
            Ok(c.count)
        }
        PdfImageKind::Flate => {
            let mut idat = IdatOnly::new(out);
            crate::png::encode(r, rows, opts.deflate, opts.png_thread_count(), &mut idat)?;
            Ok(idat.written)
        }
    }
}

impl<W: DocumentOutput> PdfWriter<W> {
    pub fn new(inner: W, pdfa: bool) -> Result<Self, EncodeError> {
        let mut out = Out::new(inner).map_err(io())?;
        // The binary comment marks the file as binary for transfer programs (PDF 7.5.2).
        out.write_all(b"%PDF-1.7\n%\x80\x80\x80\x80\n")
            .map_err(io())?;
        Ok(PdfWriter {
            out,
            offsets: vec![None; (FIRST_FREE - 1) as usize],
            next_id: FIRST_FREE,
            pages: Vec::new(),
            font: None,
            pdfa,
        })
    }

    pub fn pages(&self) -> u32 {
        self.pages.len() as u32
    }

    /// Writes out what is buffered; every byte so far is final (objects are only appended;
    /// the page tree and trailer come at the end).
    pub fn settle(&mut self) -> Result<u64, EncodeError> {
        self.out.flush().map_err(io())?;
        Ok(self.out.position())
    }

    fn alloc(&mut self) -> Ref {
        let r = Ref::new(self.next_id);
        self.next_id += 1;
        self.offsets.push(None);
        r
    }

    fn mark(&mut self, id: Ref) {
        self.offsets[(id.get() - 1) as usize] = Some(self.out.position());
    }

    /// Writes a chunk holding exactly the object `id`.
    fn put(&mut self, id: Ref, chunk: &Chunk) -> Result<(), EncodeError> {
        self.mark(id);
        self.out.write_all(chunk.as_bytes()).map_err(io())
    }

    /// Runs `write` as one page; on error, cuts the file back and forgets its objects.
    fn transaction(
        &mut self,
        write: impl FnOnce(&mut Self) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let start = self.out.position();
        let first = self.next_id;
        let pages = self.pages.len();
        match write(self) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.out.rollback(start).map_err(io())?;
                self.next_id = first;
                self.offsets.truncate((first - 1) as usize);
                self.pages.truncate(pages);
                if self.font.is_some_and(|f| f.type0.get() >= first) {
                    self.font = None;
                }
                Err(e)
            }
        }
    }

    /// Adds a raster page; pages of unknown height are spooled first (the image dictionary
    /// and JPEG's frame header come before the data).
    pub fn add_raster(
        &mut self,
        src: &mut dyn ChunkSource,
        page: (PixelFormat, u32, Option<u32>, (u32, u32)),
        opts: &EncodeOptions,
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        let (pixel, width, height, dpi) = page;
        // The page's end is checked (nothing after its last row) inside the transaction too.
        self.transaction(|pdf| {
            with_height(
                src,
                pixel,
                width,
                height,
                dpi,
                || opts.spool_file(),
                |r, rows| pdf.raster(r, rows, opts, text),
            )
        })
    }

    fn raster(
        &mut self,
        r: Raster,
        rows: &mut RowReader<'_>,
        opts: &EncodeOptions,
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        let kind = image_kind(&r, opts)?;
        let img = self.alloc();
        let len = self.alloc();
        let (space, bpc, filter) = image_dictionary(kind, r.pixel, r.width);
        self.begin_image(img, len, r.width, r.height, space, bpc, &filter, "")?;
        let (width, height, dpi) = (r.width, r.height, r.dpi);
        let written = encode_image(kind, r, rows, opts, &mut self.out)?;
        self.end_image(len, written)?;
        self.page(img, width, height, dpi, text)
    }

    /// Adds a page whose image [`PdfImage::encode`] made beforehand (elsewhere, say on a
    /// queue worker): the same objects, byte for byte, as [`PdfWriter::add_raster`] writes
    /// for that page with those options.
    pub fn add_image(
        &mut self,
        image: &PdfImage,
        opts: &EncodeOptions,
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        let want = if opts.pdf_lossless || image.pixel == PixelFormat::BlackAndWhite1 {
            PdfImageKind::Flate
        } else {
            PdfImageKind::Dct
        };
        if image.kind != want {
            return Err(EncodeError::BadInput {
                what: "prepared PDF image",
                detail: format!(
                    "it is {:?}-compressed, but this document stores such pages as {want:?}",
                    image.kind
                ),
            });
        }
        self.transaction(|pdf| {
            let img = pdf.alloc();
            let len = pdf.alloc();
            let (space, bpc, filter) = image_dictionary(image.kind, image.pixel, image.width);
            pdf.begin_image(img, len, image.width, image.height, space, bpc, &filter, "")?;
            pdf.out.write_all(&image.data).map_err(io())?;
            pdf.end_image(len, image.data.len() as u64)?;
            pdf.page(img, image.width, image.height, image.dpi, text)
        })
    }

    /// Adds a device JPEG as it is.
    pub fn add_jpeg(
        &mut self,
        src: &mut dyn ChunkSource,
        dpi: (u32, u32),
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        self.transaction(|pdf| {
            let mut head = Vec::new();
            let info: JpegInfo = loop {
                match src.next_chunk()? {
                    Some(c) => head.extend_from_slice(c),
                    None => {
                        return Err(EncodeError::BadInput {
                            what: "JPEG",
                            detail: format!(
                                "it ended after {} bytes, before its frame header",
                                head.len()
                            ),
                        })
                    }
                }
                if let Some(info) = parse_header(&head)? {
                    break info;
                }
                if head.len() > MAX_JPEG_HEADER {
                    return Err(EncodeError::BadInput {
                        what: "JPEG",
                        detail: "no frame header in its first 4 MiB".into(),
                    });
                }
            };
            if pdf.pdfa && info.components == 4 {
                return Err(EncodeError::Unsupported(
                    "PDF/A with an sRGB output intent cannot hold a CMYK JPEG page; leave out --pdfa or ask for color".into(),
                ));
            }
            if info.bits != 8 {
                return Err(EncodeError::Unsupported(format!(
                    "PDF embeds 8-bit JPEGs only; this one has {}-bit samples",
                    info.bits
                )));
            }
            // Adobe CMYK JPEGs are stored inverted (PDF 8.9.5.3's note on DCTDecode).
            let decode = if info.components == 4 && info.adobe {
                "/Decode [1 0 1 0 1 0 1 0]"
            } else {
                ""
            };
            let img = pdf.alloc();
            let len = pdf.alloc();
            let space = color_space(info.components);
            pdf.begin_image(
                img,
                len,
                info.width,
                info.height,
                space,
                8,
                "/Filter /DCTDecode",
                decode,
            )?;
            pdf.out.write_all(&head).map_err(io())?;
            let mut written = head.len() as u64;
            while let Some(c) = src.next_chunk()? {
                pdf.out.write_all(c).map_err(io())?;
                written += c.len() as u64;
            }
            pdf.end_image(len, written)?;
            let dpi = match dpi {
                (x, y) if x > 0 && y > 0 => (x, y),
                _ => info.dpi.unwrap_or((72, 72)),
            };
            pdf.page(img, info.width, info.height, dpi, text)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_image(
        &mut self,
        img: Ref,
        len: Ref,
        width: u32,
        height: u32,
        space: &str,
        bpc: u8,
        filter: &str,
        extra: &str,
    ) -> Result<(), EncodeError> {
        self.mark(img);
        let head = format!(
            "{} 0 obj\n<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /{space} /BitsPerComponent {bpc} {filter} {extra} /Length {} 0 R >>\nstream\n",
            img.get(),
            len.get()
        );
        self.out.write_all(head.as_bytes()).map_err(io())
    }

    fn end_image(&mut self, len: Ref, written: u64) -> Result<(), EncodeError> {
        self.out.write_all(b"\nendstream\nendobj\n").map_err(io())?;
        // By hand: pdf-writer's integers are i32, an image stream may pass 2 GiB.
        self.mark(len);
        let obj = format!("{} 0 obj\n{written}\nendobj\n", len.get());
        self.out.write_all(obj.as_bytes()).map_err(io())
    }

    /// The glyphless font's objects, written with the first page that has text.
    fn font(&mut self) -> Result<GlyphlessFontRefs, EncodeError> {
        if let Some(f) = self.font {
            return Ok(f);
        }
        let first = self.alloc();
        for _ in 1..6 {
            self.alloc();
        }
        let (refs, _) = GlyphlessFontRefs::starting_at(first);
        for (id, c) in glyphless_font_objects(&refs) {
            self.put(id, &c)?;
        }
        self.font = Some(refs);
        Ok(refs)
    }

    /// The content stream and the page object for an image of `w`x`h` pixels, with the
    /// invisible text over it.
    fn page(
        &mut self,
        img: Ref,
        w: u32,
        h: u32,
        dpi: (u32, u32),
        text: Option<&TextLayer>,
    ) -> Result<(), EncodeError> {
        // Just under the exact size (by less than 1/10000 pt, invisible): renderers compute
        // pixels as points * (dpi / 72) and round up, so the exact 33.12 pt at 600 dpi gives
        // 276.00000000000006 and pdftoppm adds a blank column.
        let pt = |px: u32, dpi: u32| {
            let exact = px as f64 * 72.0 / dpi.max(1) as f64;
            (((exact * 10_000.0).ceil() - 1.0) / 10_000.0) as f32
        };
        let (wpt, hpt) = (pt(w, dpi.0), pt(h, dpi.1));
        let mut content = Content::new();
        content
            .save_state()
            .transform([wpt, 0.0, 0.0, hpt, 0.0, 0.0])
            .x_object(Name(b"Im0"))
            .restore_state();
        let text = text.filter(|t| !t.words.is_empty());
        let font = match text {
            Some(t) => {
                text_layer(&mut content, t, (wpt, hpt), Name(b"OcrText"));
                Some(self.font()?)
            }
            None => None,
        };
        let data = content.finish();
        let contents = self.alloc();
        let mut c = chunk();
        c.stream(contents, &data);
        self.put(contents, &c)?;
        let page = self.alloc();
        let mut c = chunk();
        {
            let mut p = c.page(page);
            p.parent(PAGE_TREE)
                .media_box(Rect::new(0.0, 0.0, wpt, hpt))
                .contents(contents);
            let mut res = p.resources();
            res.x_objects().pair(Name(b"Im0"), img);
            if let Some(f) = font {
                res.fonts().pair(Name(b"OcrText"), f.type0);
            }
            res.finish();
            p.finish();
        }
        self.put(page, &c)?;
        self.pages.push(page);
        Ok(())
    }

    /// Writes the page tree, catalog, info and cross-reference table.
    pub fn finish(mut self, title: Option<&str>, created: Option<u64>) -> Result<W, EncodeError> {
        let mut c = chunk();
        c.pages(PAGE_TREE)
            .kids(self.pages.iter().copied())
            .count(self.pages.len() as i32);
        self.put(PAGE_TREE, &c)?;
        let secs = created.unwrap_or_else(unix_now);
        let producer = format!("Scanwire {}", env!("CARGO_PKG_VERSION"));
        let id = self
            .pdfa
            .then(|| crate::pdfa::document_id(&[self.out.position(), self.pages.len() as u64]));
        let pdfa = match id {
            Some(id) => {
                let (profile, metadata) = (self.alloc(), self.alloc());
                let mut c = chunk();
                let icc = deflate(&crate::pdfa::srgb_profile());
                c.icc_profile(profile, &icc)
                    .n(3)
                    .filter(pdf_writer::Filter::FlateDecode);
                self.put(profile, &c)?;
                let xmp =
                    crate::pdfa::xmp(&producer, &xmp_date(secs), title, &crate::pdfa::uuid(&id));
                let mut c = chunk();
                c.metadata(metadata, xmp.as_bytes());
                self.put(metadata, &c)?;
                Some((profile, metadata))
            }
            None => None,
        };
        let mut c = chunk();
        {
            let mut catalog = c.indirect(CATALOG).start::<pdf_writer::writers::Catalog>();
            catalog.pages(PAGE_TREE);
            if let Some((profile, metadata)) = pdfa {
                catalog.metadata(metadata);
                catalog
                    .output_intents()
                    .push()
                    .subtype(pdf_writer::types::OutputIntentSubtype::PDFA)
                    .output_condition_identifier(TextStr(crate::pdfa::OUTPUT_CONDITION))
                    .info(TextStr(crate::pdfa::OUTPUT_CONDITION))
                    .dest_output_profile(profile);
            }
        }
        self.put(CATALOG, &c)?;
        let mut c = chunk();
        {
            let mut info = c
                .indirect(INFO)
                .start::<pdf_writer::writers::DocumentInfo>();
            info.producer(TextStr(&producer))
                .creation_date(pdf_date(secs));
            if pdfa.is_some() {
                info.modified_date(pdf_date(secs));
            }
            if let Some(t) = title {
                info.title(TextStr(t));
            }
        }
        self.put(INFO, &c)?;

        let xref = self.out.position();
        let mut x = format!("xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len() + 1);
        for (i, off) in self.offsets.iter().enumerate() {
            let off = off.ok_or_else(|| {
                EncodeError::Unsupported(format!(
                    "internal: PDF object {} was never written",
                    i + 1
                ))
            })?;
            x.push_str(&format!("{off:010} 00000 n\r\n"));
        }
        // PDF/A needs the file identifier (two equal halves for a new file).
        let id = id.map_or(String::new(), |id| {
            let hex: String = id.iter().map(|b| format!("{b:02X}")).collect();
            format!(" /ID [<{hex}> <{hex}>]")
        });
        x.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R{id} >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1,
            CATALOG.get(),
            INFO.get()
        ));
        self.out.write_all(x.as_bytes()).map_err(io())?;
        self.out.finish().map_err(io())
    }
}

fn chunk() -> Chunk {
    Chunk::with_settings(Settings { pretty: false })
}

fn color_space(components: u8) -> &'static str {
    match components {
        1 => "DeviceGray",
        4 => "DeviceCMYK",
        _ => "DeviceRGB",
    }
}

/// Seconds since 1970 (UTC).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Zlib-compressed bytes (the ICC profile's stream).
fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// `secs` in XMP's form, the same instant as [`pdf_date`]'s.
fn xmp_date(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// `secs` (UTC) as a PDF date.
fn pdf_date(secs: u64) -> Date {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    Date::new(y as u16)
        .month(m)
        .day(d)
        .hour((t / 3600) as u8)
        .minute((t / 60 % 60) as u8)
        .second((t % 60) as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
    }
}
