//! A streaming TIFF writer: strips are compressed and written as rows arrive, the IFD follows
//! the page's strips, and each page's IFD offset is patched into the previous one (or the
//! header) only once the page is complete. So the height need not be known up front (the IFD
//! comes last), an incomplete page is simply cut off, and memory is one batch of strips.
//!
//! Layout: big-endian ("MM", so 16-bit samples are stored as they arrive), classic TIFF
//! (files up to 4 GiB), chunky RGB. Lineart is 1-bit WhiteIsZero, which is exactly SANE's
//! 1 = black; gray is BlackIsZero. Deflate and LZW strips use horizontal differencing
//! (Predictor 2) for 8/16-bit data. Strips are compressed in parallel, one per thread.

use crate::document_output::{DocumentOutput, Out};
use crate::options::{DeflateEffort, TiffCompression};
use crate::source::RowReader;
use crate::EncodeError;
use scanwire_core::device::PixelFormat;
use std::io::Write;

/// Uncompressed bytes per strip (rounded to whole rows). Large enough that per-strip zlib
/// overhead is nil and a strip is a meaningful unit of parallel work; small enough that
/// readers decoding one strip at a time stay cheap.
const STRIP_BYTES: usize = 128 * 1024;

const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const ASCII: u16 = 2;

/// Appends pages to one TIFF file.
pub(crate) struct TiffWriter<W> {
    out: Out<W>,
    /// Where the next page's IFD offset goes: the header's, then each IFD's "next" field.
    next_ifd_at: u64,
    pages: u32,
    multi_page: bool,
    compression: TiffCompression,
    effort: DeflateEffort,
    threads: usize,
}

/// One page's layout as the TIFF writer needs it.
pub(crate) struct TiffPage {
    pub pixel: PixelFormat,
    pub width: u32,
    pub dpi: (u32, u32),
}

impl<W: DocumentOutput> TiffWriter<W> {
    pub fn new(
        inner: W,
        compression: TiffCompression,
        effort: DeflateEffort,
        threads: usize,
        multi_page: bool,
    ) -> Result<Self, EncodeError> {
        let io = EncodeError::io("the TIFF file");
        let mut out = Out::new(inner).map_err(io)?;
        out.write_all(b"MM\0\x2a\0\0\0\0")
            .map_err(EncodeError::io("the TIFF file"))?;
        Ok(TiffWriter {
            out,
            next_ifd_at: 4,
            pages: 0,
            multi_page,
            compression,
            effort,
            threads: threads.max(1),
        })
    }

    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Writes out what is buffered; the bytes before the returned offset are final (the
    /// last "next IFD" field is patched when another page comes).
    pub fn settle(&mut self) -> Result<u64, EncodeError> {
        self.out.flush().map_err(EncodeError::io("the TIFF file"))?;
        Ok(self.next_ifd_at)
    }

    /// Adds a page; on any error the file is as it was before.
    pub fn add_page(
        &mut self,
        page: &TiffPage,
        rows: &mut RowReader<'_>,
    ) -> Result<(), EncodeError> {
        let start = self.out.position();
        match self.write_page(page, rows) {
            Ok(()) => {
                self.pages += 1;
                Ok(())
            }
            Err(e) => {
                self.out
                    .rollback(start)
                    .map_err(EncodeError::io("the TIFF file"))?;
                Err(e)
            }
        }
    }

    pub fn finish(self) -> Result<W, EncodeError> {
        self.out.finish().map_err(EncodeError::io("the TIFF file"))
    }

    fn write_page(&mut self, page: &TiffPage, rows: &mut RowReader<'_>) -> Result<(), EncodeError> {
        let io = || EncodeError::io("the TIFF file");
        let bpl = page.pixel.bytes_per_line(page.width);
        if page.width == 0 {
            return Err(EncodeError::EmptyPage);
        }
        let rows_per_strip = (STRIP_BYTES / bpl).max(1);
        let spp = page.pixel.channels() as usize;
        let bits = page.pixel.bit_depth();
        let predict = bits >= 8 && self.compression != TiffCompression::None;
        let mut offsets: Vec<u32> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        let (compression, effort) = (self.compression, self.effort);
        let out = &mut self.out;
        // Uncompressed strips are only copied: not worth a hand-off to another thread.
        let threads = if compression == TiffCompression::None {
            1
        } else {
            self.threads
        };
        crate::par::ordered(
            threads,
            |strip: &mut Vec<u8>| Ok(rows.read_rows(strip, rows_per_strip)? > 0),
            |strip: &Vec<u8>, c: &mut Compressed| {
                compress(compression, effort, predict, bits, spp, bpl, strip, c)
            },
            |c: &Compressed| {
                offsets.push(offset32(out.position())?);
                counts.push(c.bytes.len() as u32);
                out.write_all(&c.bytes).map_err(io())
            },
        )?;
        rows.finish()?;
        let height = rows.rows();
        if height == 0 {
            return Err(EncodeError::EmptyPage);
        }

        // Out-of-line values first, then the IFD itself, so the IFD is the page's last bytes.
        let mut entries: Vec<(u16, u16, u32, Vec<u8>)> = Vec::new();
        let longs = |v: &[u32]| v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let shorts = |v: &[u16]| v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let rational = |dpi: u32| longs(&[dpi.max(1), 1]);
        if self.multi_page {
            entries.push((254, LONG, 1, longs(&[2])));
        }
        entries.push((256, LONG, 1, longs(&[page.width])));
        entries.push((257, LONG, 1, longs(&[height])));
        entries.push((258, SHORT, spp as u32, shorts(&vec![bits as u16; spp])));
        let comp = match self.compression {
            TiffCompression::None => 1,
            TiffCompression::Lzw => 5,
            TiffCompression::Deflate => 8,
        };
        entries.push((259, SHORT, 1, shorts(&[comp])));
        let photometric = match page.pixel {
            PixelFormat::BlackAndWhite1 => 0, // WhiteIsZero: 1 = black, as SANE sends it
            PixelFormat::Gray8 | PixelFormat::Gray16 => 1, // BlackIsZero
            PixelFormat::Rgb8 | PixelFormat::Rgb16 => 2,
        };
        entries.push((262, SHORT, 1, shorts(&[photometric])));
        entries.push((273, LONG, offsets.len() as u32, longs(&offsets)));
        entries.push((277, SHORT, 1, shorts(&[spp as u16])));
        entries.push((
            278,
            LONG,
            1,
            longs(&[rows_per_strip.min(height as usize) as u32]),
        ));
        entries.push((279, LONG, counts.len() as u32, longs(&counts)));
        entries.push((282, RATIONAL, 1, rational(page.dpi.0)));
        entries.push((283, RATIONAL, 1, rational(page.dpi.1)));
        entries.push((284, SHORT, 1, shorts(&[1])));
        entries.push((296, SHORT, 1, shorts(&[2]))); // inches
        if self.multi_page {
            // Page number, total unknown while scanning (0 is TIFF's "unknown").
            entries.push((297, SHORT, 2, shorts(&[self.pages as u16, 0])));
        }
        let mut software = format!("Scanwire {}", env!("CARGO_PKG_VERSION")).into_bytes();
        software.push(0);
        entries.push((305, ASCII, software.len() as u32, software));
        if predict {
            entries.push((317, SHORT, 1, shorts(&[2])));
        }

        let mut fields: Vec<(u16, u16, u32, [u8; 4])> = Vec::with_capacity(entries.len());
        for (tag, ty, count, data) in &entries {
            let mut value = [0u8; 4];
            if data.len() <= 4 {
                value[..data.len()].copy_from_slice(data);
            } else {
                self.align()?;
                value = self.offset32()?.to_be_bytes();
                self.out.write_all(data).map_err(io())?;
            }
            fields.push((*tag, *ty, *count, value));
        }
        self.align()?;
        let ifd = self.offset32()?;
        let mut dir = Vec::with_capacity(2 + 12 * fields.len() + 4);
        dir.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        for (tag, ty, count, value) in &fields {
            dir.extend_from_slice(&tag.to_be_bytes());
            dir.extend_from_slice(&ty.to_be_bytes());
            dir.extend_from_slice(&count.to_be_bytes());
            dir.extend_from_slice(value);
        }
        dir.extend_from_slice(&[0; 4]);
        self.out.write_all(&dir).map_err(io())?;
        self.offset32()?;
        // The page is complete: link it in.
        self.out
            .patch(self.next_ifd_at, &ifd.to_be_bytes())
            .map_err(io())?;
        self.next_ifd_at = ifd as u64 + dir.len() as u64 - 4;
        Ok(())
    }

    /// The current position as a classic-TIFF offset.
    fn offset32(&self) -> Result<u32, EncodeError> {
        offset32(self.out.position())
    }

    /// TIFF wants IFDs and values on word boundaries.
    fn align(&mut self) -> Result<(), EncodeError> {
        if self.out.position() % 2 == 1 {
            self.out
                .write_all(&[0])
                .map_err(EncodeError::io("the TIFF file"))?;
        }
        Ok(())
    }
}

/// `pos` as a classic-TIFF offset.
fn offset32(pos: u64) -> Result<u32, EncodeError> {
    u32::try_from(pos).map_err(|_| {
        EncodeError::Unsupported(
            "the TIFF file would exceed 4 GiB (classic TIFF's limit); split the scan or use PDF"
                .into(),
        )
    })
}

/// A compressed strip, and the buffers and compressor kept for the next one.
#[derive(Default)]
struct Compressed {
    bytes: Vec<u8>,
    differenced: Vec<u8>,
    zlib: Option<(u8, flate2::Compress)>,
}

/// Compresses one strip (whole rows of `bpl` bytes) into `c.bytes`.
#[allow(clippy::too_many_arguments)]
fn compress(
    compression: TiffCompression,
    effort: DeflateEffort,
    predict: bool,
    bits: u8,
    spp: usize,
    bpl: usize,
    strip: &[u8],
    c: &mut Compressed,
) {
    let data = if predict {
        c.differenced.resize(strip.len(), 0);
        for (src, dst) in strip
            .chunks_exact(bpl)
            .zip(c.differenced.chunks_exact_mut(bpl))
        {
            difference(src, dst, bits, spp);
        }
        &c.differenced[..]
    } else {
        strip
    };
    c.bytes.clear();
    match compression {
        TiffCompression::None => c.bytes.extend_from_slice(data),
        TiffCompression::Deflate => match tiff_level(effort, data) {
            // Differenced rows look like PNG-filtered ones, which fdeflate is built for.
            None => c.bytes = fdeflate::compress_to_vec(data),
            Some(level) => {
                // One compressor per buffer set, reset between strips: setting one up
                // clears its tables, which would cost as much as compressing a small strip.
                let z = match &mut c.zlib {
                    Some((l, z)) if *l == level => {
                        z.reset();
                        z
                    }
                    slot => {
                        let z = flate2::Compress::new(flate2::Compression::new(level as u32), true);
                        &mut slot.insert((level, z)).1
                    }
                };
                // Incompressible data grows by at most a few bytes per 64 KiB block.
                c.bytes.reserve(data.len() + data.len() / 1000 + 64);
                loop {
                    let before = z.total_in() as usize;
                    let status = z
                        .compress_vec(&data[before..], &mut c.bytes, flate2::FlushCompress::Finish)
                        .expect("compressing into a Vec cannot fail");
                    if status == flate2::Status::StreamEnd {
                        break;
                    }
                    c.bytes.reserve(64 * 1024);
                }
            }
        },
        TiffCompression::Lzw => {
            let mut enc = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
            let r = enc.into_vec(&mut c.bytes).encode_all(data);
            r.status.expect("LZW into a Vec cannot fail");
        }
    }
}

/// The zlib level for a strip, or `None` for fdeflate: [`DeflateEffort::Auto`] chooses by
/// content (see its docs), the others as for every format.
fn tiff_level(effort: DeflateEffort, data: &[u8]) -> Option<u8> {
    match effort {
        DeflateEffort::Auto => {
            // Counted in bytes per 255-byte piece (vector byte adds), then summed.
            let zeros: usize = data
                .chunks(255)
                .map(|c| c.iter().fold(0u8, |n, &b| n + (b == 0) as u8) as usize)
                .sum();
            (2 * zeros >= data.len()).then_some(1)
        }
        other => other.zlib_level(),
    }
}

/// TIFF Predictor 2: each sample minus the same channel's sample to its left.
fn difference(src: &[u8], dst: &mut [u8], bits: u8, spp: usize) {
    if bits == 16 {
        let step = 2 * spp;
        dst[..step].copy_from_slice(&src[..step]);
        for ((d, cur), left) in dst[step..]
            .chunks_exact_mut(2)
            .zip(src[step..].chunks_exact(2))
            .zip(src.chunks_exact(2))
        {
            let v = u16::from_be_bytes([cur[0], cur[1]])
                .wrapping_sub(u16::from_be_bytes([left[0], left[1]]));
            d.copy_from_slice(&v.to_be_bytes());
        }
    } else {
        dst[..spp].copy_from_slice(&src[..spp]);
        // Equal-length slices, so the compiler sees one trip count and vectorises.
        let n = src.len() - spp;
        let (cur, left, out) = (&src[spp..], &src[..n], &mut dst[spp..]);
        for i in 0..n {
            out[i] = cur[i].wrapping_sub(left[i]);
        }
    }
}
