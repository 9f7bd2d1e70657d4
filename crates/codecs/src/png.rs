//! PNG, one band at a time: through the `png` crate's streaming writer on one thread, or, for
//! pages of several strips on several threads, in strips compressed in parallel (pigz's
//! technique): each strip of rows is filtered and raw-deflated on its own, ending on a byte
//! boundary (a full flush) so the strips' Deflate data simply concatenate, and the strips'
//! Adler-32 checksums are combined into the zlib stream's.
//!
//! Lineart is stored as 1-bit gray, where PNG has 0 = black: the bits are inverted. pHYs
//! carries the resolution in pixels per meter.

use crate::convert::invert;
use crate::options::DeflateEffort;
use crate::source::{rows_for, Raster, RowReader};
use crate::EncodeError;
use scanwire_core::device::PixelFormat;
use std::io::Write;

/// Bytes per IDAT chunk, which is also what the encoder buffers before writing. 12 bytes of
/// chunk overhead per 64 KiB is nil (0.02 %). Measured against 1 MiB chunks on A4 pages
/// (SANE test pattern, 300 and 600 dpi): 0.6-1.0 MB less peak RSS for `scanwire scan`, and
/// the same encoding time (`examples/convert.rs`, 32-35 ms and 380-460 ms either way).
const IDAT_BYTES: usize = 64 * 1024;

/// Uncompressed bytes per strip (whole rows) when a page is compressed on several threads.
/// Each strip starts Deflate's window afresh and ends with a flush (5 bytes). A4 300 dpi
/// color, 2 threads (`examples/convert.rs`): SANE "Color pattern" at `Wire` 15.6 -> 8.6 ms
/// and 2.5 % larger, at `Auto` 18.8 -> 11.5 ms and 0.2 % smaller; the virtual scanner's page
/// 7.9 -> 5.2 ms (+4.3 %) and 12.5 -> 8.5 ms (+2.8 %). 256 KiB strips: 3 % larger at `Wire`;
/// 1 MiB: 1 % smaller, no faster. (A preset dictionary from the previous strip made files
/// larger with zlib-rs, not smaller.)
const STRIP_BYTES: usize = 512 * 1024;

/// Filtered bytes handed to Deflate at a time.
const BATCH_BYTES: usize = 64 * 1024;

/// Pages of fewer strips than this stay on one thread: too little to share.
const MIN_STRIPS: usize = 4;

/// Dots per inch to pixels per meter, rounded.
pub(crate) fn dpi_to_ppm(dpi: u32) -> u32 {
    ((dpi as u64 * 10_000 + 127) / 254) as u32
}

fn color(pixel: PixelFormat) -> (png::ColorType, png::BitDepth) {
    use png::{BitDepth, ColorType};
    match pixel {
        PixelFormat::BlackAndWhite1 => (ColorType::Grayscale, BitDepth::One),
        PixelFormat::Gray8 => (ColorType::Grayscale, BitDepth::Eight),
        PixelFormat::Gray16 => (ColorType::Grayscale, BitDepth::Sixteen),
        PixelFormat::Rgb8 => (ColorType::Rgb, BitDepth::Eight),
        PixelFormat::Rgb16 => (ColorType::Rgb, BitDepth::Sixteen),
    }
}

/// Encodes a PNG of `r` from `rows` into `out`, on up to `threads` threads.
pub(crate) fn encode(
    r: Raster,
    rows: &mut RowReader<'_>,
    compression: DeflateEffort,
    threads: usize,
    out: &mut dyn Write,
) -> Result<(), EncodeError> {
    let strip_rows = (STRIP_BYTES / r.bytes_per_line().max(1)).max(1);
    let strips = (r.height as usize).div_ceil(strip_rows);
    let filter = RowFilter::for_effort(compression);
    match compression.zlib_level() {
        // fdeflate has no flush that ends a block on a byte boundary: one thread. The `png`
        // crate has no Up-or-Sub filter choice: `Wire` always takes the strip encoder.
        Some(level) if filter == RowFilter::UpOrSub || (threads > 1 && strips >= MIN_STRIPS) => {
            let threads = if strips >= MIN_STRIPS {
                threads.min(strips).max(1)
            } else {
                1
            };
            encode_strips(r, rows, level, filter, threads, strip_rows, out)
        }
        _ => encode_serial(r, rows, compression, out),
    }
}

/// How rows are filtered before Deflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowFilter {
    /// Per row, whichever of Up, Sub, Average and Paeth leaves the least sum of absolute
    /// values (the `png` crate's `Filter::Adaptive`, so strips compress as its files do).
    Adaptive,
    /// Per row, Up or Sub by the same measure, both costed in one pass. Flat areas and
    /// vertical structure become zero runs that Deflate collapses quickly, and a decoder
    /// undoes either filter with one addition per byte: smaller and faster than no filter
    /// for the link (BENCHMARKS.md, the eSCL driver section).
    UpOrSub,
}

impl RowFilter {
    /// [`DeflateEffort::Wire`] chooses only between the two cheapest filters; every other
    /// effort filters as PNG files usually are.
    fn for_effort(effort: DeflateEffort) -> RowFilter {
        match effort {
            DeflateEffort::Wire => RowFilter::UpOrSub,
            _ => RowFilter::Adaptive,
        }
    }
}

/// The `png` crate's streaming writer, on the calling thread.
fn encode_serial(
    r: Raster,
    rows: &mut RowReader<'_>,
    compression: DeflateEffort,
    out: &mut dyn Write,
) -> Result<(), EncodeError> {
    let mut enc = png::Encoder::new(out, r.width, r.height);
    let (ct, depth) = color(r.pixel);
    enc.set_color(ct);
    enc.set_depth(depth);
    enc.set_deflate_compression(compression.to_png());
    enc.set_filter(png::Filter::Adaptive);
    if r.dpi.0 > 0 && r.dpi.1 > 0 {
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: dpi_to_ppm(r.dpi.0),
            yppu: dpi_to_ppm(r.dpi.1),
            unit: png::Unit::Meter,
        }));
    }
    let mut writer = enc.write_header()?;
    {
        let mut stream = writer.stream_writer_with_size(IDAT_BYTES)?;
        let band_rows = rows_for(256 * 1024, r.bytes_per_line());
        let mut inverted = Vec::new();
        rows.for_each_run(band_rows, &mut |run| {
            let run = if r.pixel == PixelFormat::BlackAndWhite1 {
                inverted.clear();
                inverted.extend_from_slice(run);
                invert(&mut inverted);
                &inverted[..]
            } else {
                run
            };
            stream
                .write_all(run)
                .map_err(EncodeError::io("the PNG image"))
        })?;
        stream.finish()?;
    }
    writer.finish()?;
    Ok(())
}

/// A strip of raw rows, with the row above it (empty for the first strip).
#[derive(Default)]
struct StripIn {
    above: Vec<u8>,
    rows: Vec<u8>,
    last: bool,
}

/// A strip's Deflate data and the Adler-32 of its filtered bytes, and the buffers and
/// compressor kept for the next strip.
#[derive(Default)]
struct StripOut {
    deflated: Vec<u8>,
    adler: u32,
    filtered_len: u64,
    batch: Vec<u8>,
    zeros: Vec<u8>,
    inverted: Vec<u8>,
    zlib: Option<flate2::Compress>,
    last: bool,
}

/// Strips compressed on `threads` threads (see the module docs).
fn encode_strips(
    r: Raster,
    rows: &mut RowReader<'_>,
    level: u8,
    filter: RowFilter,
    threads: usize,
    strip_rows: usize,
    out: &mut dyn Write,
) -> Result<(), EncodeError> {
    let io = || EncodeError::io("the PNG image");
    let bpl = r.bytes_per_line();
    let (ct, depth) = color(r.pixel);
    let mut head = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&r.width.to_be_bytes());
    ihdr.extend_from_slice(&r.height.to_be_bytes());
    ihdr.extend_from_slice(&[depth as u8, ct as u8, 0, 0, 0]);
    chunk(&mut head, b"IHDR", &ihdr);
    if r.dpi.0 > 0 && r.dpi.1 > 0 {
        let mut phys = Vec::with_capacity(9);
        phys.extend_from_slice(&dpi_to_ppm(r.dpi.0).to_be_bytes());
        phys.extend_from_slice(&dpi_to_ppm(r.dpi.1).to_be_bytes());
        phys.push(1); // meter
        chunk(&mut head, b"pHYs", &phys);
    }
    out.write_all(&head).map_err(io())?;

    let mut idat = IdatWriter {
        out,
        buf: Vec::with_capacity(IDAT_BYTES),
    };
    idat.write(&[0x78, zlib_flags(level)])?;
    let params = StripParams {
        pixel: r.pixel,
        bpl,
        level,
        filter,
    };
    let mut above: Vec<u8> = Vec::new();
    let mut adler = 1u32;
    let mut ended = false;
    crate::par::ordered(
        threads,
        |s: &mut StripIn| {
            let n = rows.read_rows(&mut s.rows, strip_rows)?;
            if n == 0 {
                return Ok(false);
            }
            std::mem::swap(&mut s.above, &mut above);
            above.clear();
            above.extend_from_slice(&s.rows[s.rows.len() - bpl..]);
            s.last = rows.rows() >= r.height;
            Ok(true)
        },
        |s: &StripIn, o: &mut StripOut| compress_strip(&params, s, o),
        |o: &StripOut| {
            if ended {
                // Only the last strip may end the Deflate stream.
                return Err(EncodeError::ExcessData {
                    height: r.height,
                    bytes_per_line: bpl,
                });
            }
            ended = o.last;
            adler = adler32_combine(adler, o.adler, o.filtered_len);
            idat.write(&o.deflated)
        },
    )?;
    if !ended {
        return Err(EncodeError::ShortPage {
            rows: rows.rows(),
            height: r.height,
        });
    }
    idat.write(&adler.to_be_bytes())?;
    idat.flush_chunk()?;
    let mut tail = Vec::with_capacity(12);
    chunk(&mut tail, b"IEND", &[]);
    idat.out.write_all(&tail).map_err(io())?;
    idat.out.flush().map_err(io())
}

/// What every strip of a page is compressed with.
struct StripParams {
    pixel: PixelFormat,
    bpl: usize,
    level: u8,
    filter: RowFilter,
}

/// Filters and deflates one strip into `o`.
fn compress_strip(p: &StripParams, s: &StripIn, o: &mut StripOut) {
    let bpl = p.bpl;
    let (rows, above) = if p.pixel == PixelFormat::BlackAndWhite1 {
        o.inverted.clear();
        o.inverted.extend_from_slice(&s.above);
        o.inverted.extend_from_slice(&s.rows);
        invert(&mut o.inverted);
        let (a, r) = o.inverted.split_at(s.above.len());
        (r, a)
    } else {
        (&s.rows[..], &s.above[..])
    };
    // The bytes of one pixel (at least 1), which Sub, Avg and Paeth look back by.
    let bpp = match p.pixel {
        PixelFormat::BlackAndWhite1 | PixelFormat::Gray8 => 1,
        PixelFormat::Gray16 => 2,
        PixelFormat::Rgb8 => 3,
        PixelFormat::Rgb16 => 6,
    };
    if above.is_empty() {
        o.zeros.resize(bpl, 0);
    }
    let mut prev: &[u8] = if above.is_empty() { &o.zeros } else { above };

    // One raw-Deflate compressor per buffer set, reset between strips (setting one up costs
    // as much as compressing a small strip).
    let z = match &mut o.zlib {
        Some(z) => {
            z.reset();
            z
        }
        slot => slot.insert(flate2::Compress::new(
            flate2::Compression::new(p.level as u32),
            false,
        )),
    };
    let mut adler = simd_adler32::Adler32::new();
    o.deflated.clear();
    // Filtered in batches of rows, so a strip's filtered bytes are never all in memory
    // (zlib-rs level 1 compresses row-sized pieces worse: 2 % on the virtual page).
    let batch_rows = (BATCH_BYTES / (bpl + 1)).max(1);
    for batch in rows.chunks(batch_rows * bpl) {
        o.batch.resize(batch.len() / bpl * (bpl + 1), 0);
        for (row, dst) in batch
            .chunks_exact(bpl)
            .zip(o.batch.chunks_exact_mut(bpl + 1))
        {
            let (kind, body) = dst.split_first_mut().expect("bpl + 1 bytes");
            *kind = filter::row(p.filter, bpp, prev, row, body);
            prev = row;
        }
        adler.write(&o.batch);
        deflate(z, &o.batch, flate2::FlushCompress::None, &mut o.deflated);
    }
    // A full flush ends on a byte boundary with no reference to earlier data, so the next
    // strip's Deflate data can follow it; the last strip finishes the stream instead.
    let flush = if s.last {
        flate2::FlushCompress::Finish
    } else {
        flate2::FlushCompress::Full
    };
    deflate(z, &[], flush, &mut o.deflated);
    o.adler = adler.finish();
    o.filtered_len = (rows.len() / bpl * (bpl + 1)) as u64;
    o.last = s.last;
}

/// Feeds `data` to `z` with `flush`, appending to `out` (grown as needed) until all of it is
/// taken and, for a flush, written out.
fn deflate(z: &mut flate2::Compress, data: &[u8], flush: flate2::FlushCompress, out: &mut Vec<u8>) {
    let start = z.total_in();
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.len().max(64 * 1024));
        }
        let taken = (z.total_in() - start) as usize;
        let status = z
            .compress_vec(&data[taken..], out, flush)
            .expect("compressing into a Vec cannot fail");
        let all_in = (z.total_in() - start) as usize == data.len();
        let done = match flush {
            flate2::FlushCompress::Finish => status == flate2::Status::StreamEnd,
            // Output left unused: nothing more is pending.
            _ => all_in && out.len() < out.capacity(),
        };
        if done {
            return;
        }
    }
}

/// The zlib header's FLG byte for a level (FLEVEL, and FCHECK making the header a multiple
/// of 31 after CMF 0x78: deflate, 32 KiB window).
fn zlib_flags(level: u8) -> u8 {
    match level {
        0 | 1 => 0x01,
        2..=5 => 0x5e,
        6 => 0x9c,
        _ => 0xda,
    }
}

/// The Adler-32 of `A` followed by `B` from their checksums and `B`'s length (zlib's
/// `adler32_combine`).
fn adler32_combine(a: u32, b: u32, len_b: u64) -> u32 {
    const BASE: u64 = 65521;
    let rem = len_b % BASE;
    let (a1, a2) = (u64::from(a & 0xffff), u64::from(a >> 16));
    let (b1, b2) = (u64::from(b & 0xffff), u64::from(b >> 16));
    // B's sums start from 1 and 0: s1 = a1 + b1 - 1, s2 = a2 + b2 + len_b * (a1 - 1).
    let s1 = (a1 + b1 + BASE - 1) % BASE;
    let s2 = (a2 + b2 + rem * a1 + BASE - rem) % BASE;
    (s1 | (s2 << 16)) as u32
}

/// Appends a chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// Cuts the zlib stream into IDAT chunks of [`IDAT_BYTES`].
struct IdatWriter<'a> {
    out: &'a mut dyn Write,
    buf: Vec<u8>,
}

impl IdatWriter<'_> {
    fn write(&mut self, mut data: &[u8]) -> Result<(), EncodeError> {
        while !data.is_empty() {
            let n = (IDAT_BYTES - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == IDAT_BYTES {
                self.flush_chunk()?;
            }
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> Result<(), EncodeError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&(self.buf.len() as u32).to_be_bytes());
        head[4..].copy_from_slice(b"IDAT");
        let mut crc = crc32fast::Hasher::new();
        crc.update(b"IDAT");
        crc.update(&self.buf);
        let io = || EncodeError::io("the PNG image");
        self.out.write_all(&head).map_err(io())?;
        self.out.write_all(&self.buf).map_err(io())?;
        self.out
            .write_all(&crc.finalize().to_be_bytes())
            .map_err(io())?;
        self.buf.clear();
        Ok(())
    }
}

/// PNG row filters (what the `png` crate does, which keeps them private): the same choice
/// per row for [`png::Filter::Adaptive`] (least sum of absolute values as signed bytes), so
/// files compress as the single-threaded ones do.
mod filter {
    use super::RowFilter;

    /// Filters `cur` into `out` (both one row) by `method`; returns the filter type byte.
    /// Compiled for AVX2 too, and run so where the CPU has it (`pulp` checks at run time):
    /// costing Up and Sub for an A4 300 dpi color page took 1.3 ms instead of 3.2 in a
    /// standalone timing of that loop.
    pub(super) fn row(
        method: RowFilter,
        bpp: usize,
        prev: &[u8],
        cur: &[u8],
        out: &mut [u8],
    ) -> u8 {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            return simd.vectorize(
                #[inline(always)]
                || row_portable(method, bpp, prev, cur, out),
            );
        }
        row_portable(method, bpp, prev, cur, out)
    }

    #[inline(always)]
    fn row_portable(method: RowFilter, bpp: usize, prev: &[u8], cur: &[u8], out: &mut [u8]) -> u8 {
        match method {
            RowFilter::UpOrSub => {
                let kind = up_or_sub(bpp, prev, cur);
                apply(kind, bpp, prev, cur, out)
            }
            RowFilter::Adaptive => {
                let (mut best, mut best_cost) = (0, u64::MAX);
                for kind in [UP, SUB, AVG, PAETH] {
                    apply(kind, bpp, prev, cur, out);
                    let cost = cost(out);
                    if cost <= best_cost {
                        (best, best_cost) = (kind, cost);
                        if cost == 0 {
                            return kind;
                        }
                    }
                }
                if best != PAETH {
                    apply(best, bpp, prev, cur, out);
                }
                best
            }
        }
    }

    /// Up or Sub, whichever leaves the smaller [`cost`] (Up on a tie), without filtering.
    #[inline(always)]
    fn up_or_sub(bpp: usize, prev: &[u8], cur: &[u8]) -> u8 {
        let len = cur.len();
        let bpp = bpp.min(len);
        let abs = |b: u8| u16::from(b.min(b.wrapping_neg()));
        // The first pixel: Sub leaves it as it is.
        let (mut up, mut sub) = (0u64, 0u64);
        for i in 0..bpp {
            up += u64::from(abs(cur[i].wrapping_sub(prev[i])));
            sub += u64::from(abs(cur[i]));
        }
        let n = len - bpp;
        let (c, a, b) = (&cur[bpp..], &cur[..n], &prev[bpp..len]);
        // 16-bit sums over 256 bytes (at most 256 * 128) vectorise.
        for ((c, a), b) in c.chunks(256).zip(a.chunks(256)).zip(b.chunks(256)) {
            let (mut u, mut s) = (0u16, 0u16);
            for i in 0..c.len().min(a.len()).min(b.len()) {
                u += abs(c[i].wrapping_sub(b[i]));
                s += abs(c[i].wrapping_sub(a[i]));
            }
            up += u64::from(u);
            sub += u64::from(s);
        }
        if up <= sub {
            UP
        } else {
            SUB
        }
    }

    const SUB: u8 = 1;
    const UP: u8 = 2;
    const AVG: u8 = 3;
    const PAETH: u8 = 4;

    #[inline(always)]
    fn apply(kind: u8, bpp: usize, prev: &[u8], cur: &[u8], out: &mut [u8]) -> u8 {
        let len = cur.len();
        let bpp = bpp.min(len);
        let (prev, out) = (&prev[..len], &mut out[..len]);
        let n = len - bpp;
        // Slices of one length `n`, so the compiler drops the bounds checks and vectorises.
        let (c, a, b, ul) = (&cur[bpp..], &cur[..n], &prev[bpp..], &prev[..n]);
        let (head, o) = out.split_at_mut(bpp);
        match kind {
            SUB => {
                for i in 0..n {
                    o[i] = c[i].wrapping_sub(a[i]);
                }
                head.copy_from_slice(&cur[..bpp]);
            }
            UP => {
                for i in 0..len {
                    out[i] = cur[i].wrapping_sub(prev[i]);
                }
            }
            AVG => {
                for i in 0..n {
                    o[i] = c[i].wrapping_sub((a[i] & b[i]) + ((a[i] ^ b[i]) >> 1));
                }
                for i in 0..bpp {
                    head[i] = cur[i].wrapping_sub(prev[i] / 2);
                }
            }
            _ => {
                for i in 0..n {
                    o[i] = c[i].wrapping_sub(paeth(a[i], b[i], ul[i]));
                }
                for i in 0..bpp {
                    head[i] = cur[i].wrapping_sub(prev[i]);
                }
            }
        }
        kind
    }

    /// Paeth's predictor in 8-bit arithmetic (FPNGE's form, as the `png` crate has it).
    #[inline(always)]
    fn paeth(a: u8, b: u8, c: u8) -> u8 {
        let pa = b.max(c) - c.min(b);
        let pb = a.max(c) - c.min(a);
        let pc = if (a < c) == (c < b) {
            pa.max(pb) - pa.min(pb)
        } else {
            255
        };
        if pa <= pb && pa <= pc {
            a
        } else if pb <= pc {
            b
        } else {
            c
        }
    }

    /// Sum of the bytes' absolute values as signed bytes.
    #[inline(always)]
    fn cost(buf: &[u8]) -> u64 {
        // |b as i8| is min(b, -b) in unsigned bytes; 16-bit sums over 256 bytes (at most
        // 256 * 128) vectorise, 64-bit ones do not.
        buf.chunks(256)
            .map(|c| {
                let s = c
                    .iter()
                    .fold(0u16, |s, &b| s + u16::from(b.min(b.wrapping_neg())));
                u64::from(s)
            })
            .sum()
    }
}

/// Passes on only the payload of a PNG's IDAT chunks: the zlib stream of PNG-filtered rows,
/// which is exactly what a PDF `FlateDecode` image with `/Predictor 15` holds.
pub(crate) struct IdatOnly<W> {
    inner: W,
    /// Bytes of the 8-byte signature still to skip.
    skip_signature: usize,
    header: [u8; 8],
    header_len: usize,
    /// Bytes left in the current chunk's data, and whether they are IDAT.
    data_left: u32,
    is_idat: bool,
    crc_left: usize,
    pub written: u64,
}

impl<W: Write> IdatOnly<W> {
    pub fn new(inner: W) -> Self {
        IdatOnly {
            inner,
            skip_signature: 8,
            header: [0; 8],
            header_len: 0,
            data_left: 0,
            is_idat: false,
            crc_left: 0,
            written: 0,
        }
    }
}

impl<W: Write> Write for IdatOnly<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.skip_signature > 0 {
                let n = self.skip_signature.min(rest.len());
                self.skip_signature -= n;
                rest = &rest[n..];
            } else if self.data_left > 0 {
                let n = (self.data_left as usize).min(rest.len());
                if self.is_idat {
                    self.inner.write_all(&rest[..n])?;
                    self.written += n as u64;
                }
                self.data_left -= n as u32;
                if self.data_left == 0 {
                    self.crc_left = 4;
                }
                rest = &rest[n..];
            } else if self.crc_left > 0 {
                let n = self.crc_left.min(rest.len());
                self.crc_left -= n;
                rest = &rest[n..];
            } else {
                let n = (8 - self.header_len).min(rest.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&rest[..n]);
                self.header_len += n;
                rest = &rest[n..];
                if self.header_len == 8 {
                    self.header_len = 0;
                    let len = u32::from_be_bytes(self.header[..4].try_into().expect("4 bytes"));
                    self.is_idat = &self.header[4..] == b"IDAT";
                    self.data_left = len;
                    if len == 0 {
                        self.crc_left = 4;
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SliceSource;

    const ALL_PIXELS: [PixelFormat; 5] = [
        PixelFormat::BlackAndWhite1,
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Rgb16,
    ];
    const ALL_EFFORTS: [DeflateEffort; 6] = [
        DeflateEffort::Auto,
        DeflateEffort::Fastest,
        DeflateEffort::Fast,
        DeflateEffort::Balanced,
        DeflateEffort::High,
        DeflateEffort::Wire,
    ];

    /// Smooth gradients with noise and flat runs, so every filter wins somewhere.
    fn page(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                match (i / 97) % 3 {
                    0 => (i / 5) as u8,
                    1 => 0xff,
                    _ => (i / 3) as u8 ^ (x as u8 & 7),
                }
            })
            .collect()
    }

    fn raster(pixel: PixelFormat, w: u32, h: u32) -> Raster {
        Raster {
            pixel,
            width: w,
            height: h,
            dpi: (300, 300),
        }
    }

    /// Encodes through the dispatcher (`strips` = `None`) or straight through the strip
    /// encoder with strips of `rows` rows.
    fn encode_with(
        data: &[u8],
        r: Raster,
        effort: DeflateEffort,
        threads: usize,
        strip_rows: Option<usize>,
    ) -> Vec<u8> {
        let mut src = SliceSource::new(data, 1000);
        let mut rows = RowReader::new(&mut src, r.bytes_per_line(), Some(r.height));
        let mut out = Vec::new();
        match strip_rows {
            None => encode(r, &mut rows, effort, threads, &mut out),
            Some(n) => encode_strips(
                r,
                &mut rows,
                effort.zlib_level().unwrap_or(2),
                RowFilter::for_effort(effort),
                threads,
                n,
                &mut out,
            ),
        }
        .unwrap();
        rows.finish().unwrap();
        out
    }

    /// Decodes with the `png` crate, checking CRCs and the Adler-32; returns the pixels as
    /// stored (16-bit big-endian, lineart with 0 = black) and the IDAT chunk count.
    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut opts = png::DecodeOptions::default();
        opts.set_ignore_adler32(false);
        opts.set_ignore_crc(false);
        let mut reader = png::Decoder::new_with_options(std::io::Cursor::new(bytes), opts)
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    /// The zlib stream of the IDAT chunks, after checking every chunk's CRC.
    fn zlib_stream(png: &[u8]) -> Vec<u8> {
        let mut pos = 8;
        let mut z = Vec::new();
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            let body = &png[pos + 4..pos + 8 + len];
            let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            assert_eq!(crc32fast::hash(body), crc, "chunk CRC");
            if &body[..4] == b"IDAT" {
                z.extend_from_slice(&body[4..]);
            }
            pos += 12 + len;
        }
        z
    }

    fn inflate(z: &[u8]) -> Result<Vec<u8>, flate2::DecompressError> {
        let mut d = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(z.len() * 20 + 1024);
        loop {
            let before = d.total_in() as usize;
            let status =
                d.decompress_vec(&z[before..], &mut out, flate2::FlushDecompress::Finish)?;
            if status == flate2::Status::StreamEnd {
                return Ok(out);
            }
            out.reserve(out.capacity());
        }
    }

    #[test]
    fn adler32_combine_matches_the_concatenation() {
        let data = page(300_000, 7);
        let adler = |d: &[u8]| {
            let mut a = simd_adler32::Adler32::new();
            a.write(d);
            a.finish()
        };
        for cut in [
            0, 1, 2, 5551, 65520, 65521, 65522, 131_043, 299_999, 300_000,
        ] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                adler32_combine(adler(a), adler(b), b.len() as u64),
                adler(&data),
                "cut at {cut}"
            );
        }
        // Three pieces, folded from the empty stream's checksum, as the encoder does.
        let pieces = [&data[..70_000], &data[70_000..70_001], &data[70_001..]];
        let folded = pieces
            .iter()
            .fold(1, |acc, p| adler32_combine(acc, adler(p), p.len() as u64));
        assert_eq!(folded, adler(&data));
    }

    #[test]
    fn zlib_header_checks() {
        for level in 0..=9 {
            let flg = zlib_flags(level);
            assert_eq!((0x78u16 << 8 | flg as u16) % 31, 0, "level {level}");
        }
    }

    #[test]
    fn strips_decode_to_the_same_pixels_as_one_stream() {
        for pixel in ALL_PIXELS {
            for (w, h) in [(1, 1), (1, 9), (2, 7), (3, 5), (7, 13), (33, 11), (64, 4)] {
                let r = raster(pixel, w, h);
                let data = page(r.bytes_per_line() * h as usize, w * 31 + h);
                let mut want = data.clone();
                if pixel == PixelFormat::BlackAndWhite1 {
                    invert(&mut want);
                }
                for effort in ALL_EFFORTS {
                    let serial = encode_with(&data, r, effort, 1, None);
                    let (info, px) = decode(&serial);
                    assert_eq!(px, want, "{pixel:?} {w}x{h} {effort:?} serial");
                    for strip_rows in [1, 2, 3, h as usize, h as usize + 1] {
                        for threads in 1..=4 {
                            let what = format!(
                                "{pixel:?} {w}x{h} {effort:?} {strip_rows} rows/strip, {threads} threads"
                            );
                            let png = encode_with(&data, r, effort, threads, Some(strip_rows));
                            let (i, p) = decode(&png);
                            assert_eq!(p, want, "{what}");
                            assert_eq!(
                                (i.width, i.height, i.color_type, i.bit_depth),
                                (info.width, info.height, info.color_type, info.bit_depth),
                                "{what}"
                            );
                            inflate(&zlib_stream(&png)).unwrap();
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn many_strips_make_one_valid_stream() {
        // 700 strips, over 11 IDAT chunks: CRCs, the Adler-32 and the pHYs as the png
        // crate writes them.
        let r = raster(PixelFormat::Rgb8, 301, 700);
        let data = page(r.bytes_per_line() * 700, 3);
        for effort in [
            DeflateEffort::Auto,
            DeflateEffort::Wire,
            DeflateEffort::High,
        ] {
            let png = encode_with(&data, r, effort, 3, Some(1));
            let z = zlib_stream(&png);
            assert!(z.len() > 2 * IDAT_BYTES, "{} bytes", z.len());
            let filtered = inflate(&z).unwrap();
            assert_eq!(filtered.len(), 700 * (r.bytes_per_line() + 1));
            let serial = encode_with(&data, r, effort, 1, None);
            assert_eq!(decode(&png).1, decode(&serial).1);
            let phys = |p: &[u8]| {
                let i = p.windows(4).position(|w| w == b"pHYs").unwrap();
                p[i - 4..i + 17].to_vec()
            };
            assert_eq!(phys(&png), phys(&serial));
            // A wrong checksum is caught, so the check above means something.
            let mut bad = z.clone();
            let n = bad.len();
            bad[n - 1] ^= 1;
            assert!(inflate(&bad).is_err());
        }
    }

    #[test]
    fn strips_of_any_size_and_wide_rows() {
        // Strips shorter and longer than the window, rows wider than it, every filter choice
        // (the row above each strip is the previous strip's last).
        for (pixel, w, h) in [
            (PixelFormat::Rgb8, 301, 90),
            (PixelFormat::Gray16, 2000, 40),
            (PixelFormat::Rgb8, 12_001, 9),
            (PixelFormat::BlackAndWhite1, 3001, 200),
        ] {
            let r = raster(pixel, w, h);
            let data = page(r.bytes_per_line() * h as usize, w);
            for effort in [DeflateEffort::Auto, DeflateEffort::Wire] {
                let want = decode(&encode_with(&data, r, effort, 1, None)).1;
                for strip_rows in [1, 2, 7, 37, 50] {
                    let png = encode_with(&data, r, effort, 2, Some(strip_rows));
                    assert_eq!(
                        decode(&png).1,
                        want,
                        "{pixel:?} {w}x{h} {effort:?} {strip_rows}"
                    );
                }
            }
        }
    }

    #[test]
    fn pages_of_enough_strips_use_the_threads() {
        let r = raster(
            PixelFormat::Gray8,
            1000,
            4 * STRIP_BYTES.div_ceil(1000) as u32,
        );
        let data = page(r.bytes_per_line() * r.height as usize, 5);
        for effort in ALL_EFFORTS {
            for threads in 1..=3 {
                let png = encode_with(&data, r, effort, threads, None);
                assert_eq!(decode(&png).1, data, "{effort:?} {threads} threads");
                // The strip encoder's output, and only it, holds full flushes: 00 00 ff ff.
                let z = zlib_stream(&png);
                let flushes = z.windows(4).filter(|w| w == &[0, 0, 0xff, 0xff]).count();
                // `Wire` always takes the strip encoder (its filter choice is ours).
                let strips = effort == DeflateEffort::Wire
                    || (threads > 1 && effort != DeflateEffort::Fastest);
                assert_eq!(flushes >= 3, strips, "{effort:?} {threads} threads");
            }
        }
    }

    #[test]
    fn wire_rows_are_up_or_sub_whichever_costs_less() {
        for pixel in ALL_PIXELS {
            let r = raster(pixel, 45, 40);
            let bpl = r.bytes_per_line();
            // Rows of noise, each followed by a copy of itself (Up costs nothing) or by a
            // smooth ramp (Sub costs least).
            let noise = page(bpl * 40, 4);
            let mut data = Vec::with_capacity(bpl * 40);
            for y in 0..40 {
                match y % 3 {
                    0 => data.extend_from_slice(&noise[y * bpl..(y + 1) * bpl]),
                    1 => data.extend_from_within((y - 1) * bpl..y * bpl),
                    _ => data.extend((0..bpl).map(|i| (i / 2 + y) as u8)),
                }
            }
            let png = encode_with(&data, r, DeflateEffort::Wire, 1, None);
            let fast = encode_with(&data, r, DeflateEffort::Fast, 1, None);
            assert_eq!(decode(&png).1, decode(&fast).1, "{pixel:?}");
            let filtered = inflate(&zlib_stream(&png)).unwrap();
            let stored = if pixel == PixelFormat::BlackAndWhite1 {
                let mut v = data.clone();
                invert(&mut v);
                v
            } else {
                data.clone()
            };
            let bpp = match pixel {
                PixelFormat::BlackAndWhite1 | PixelFormat::Gray8 => 1,
                PixelFormat::Gray16 => 2,
                PixelFormat::Rgb8 => 3,
                PixelFormat::Rgb16 => 6,
            };
            let zeros = vec![0; bpl];
            let (mut ups, mut subs) = (0, 0);
            for (y, row) in filtered.chunks_exact(bpl + 1).enumerate() {
                let cur = &stored[y * bpl..(y + 1) * bpl];
                let prev = if y == 0 {
                    &zeros[..]
                } else {
                    &stored[(y - 1) * bpl..y * bpl]
                };
                let up: u64 = cur
                    .iter()
                    .zip(prev)
                    .map(|(c, p)| abs(c.wrapping_sub(*p)))
                    .sum();
                let sub: u64 = (0..bpl)
                    .map(|i| abs(cur[i].wrapping_sub(if i >= bpp { cur[i - bpp] } else { 0 })))
                    .sum();
                match row[0] {
                    2 => {
                        assert!(up <= sub, "{pixel:?} row {y}: Up {up} > Sub {sub}");
                        ups += 1;
                    }
                    1 => {
                        assert!(sub < up, "{pixel:?} row {y}: Sub {sub} >= Up {up}");
                        subs += 1;
                    }
                    k => panic!("{pixel:?} row {y}: filter {k}"),
                }
            }
            assert!(ups > 0 && subs > 0, "{pixel:?}: {ups} Up, {subs} Sub rows");
        }
    }

    fn abs(b: u8) -> u64 {
        u64::from(b.min(b.wrapping_neg()))
    }

    #[test]
    fn filters_match_the_png_crate_choice() {
        // Same rows through both encoders with one strip: the filtered bytes are identical.
        for pixel in ALL_PIXELS {
            let r = raster(pixel, 45, 20);
            let data = page(r.bytes_per_line() * 20, 9);
            for effort in [DeflateEffort::Fast, DeflateEffort::Balanced] {
                let ours = inflate(&zlib_stream(&encode_with(&data, r, effort, 1, Some(20))));
                let theirs = inflate(&zlib_stream(&encode_with(&data, r, effort, 1, None)));
                assert_eq!(ours.unwrap(), theirs.unwrap(), "{pixel:?} {effort:?}");
            }
        }
    }

    #[test]
    fn ppm_rounding() {
        assert_eq!(dpi_to_ppm(300), 11811);
        assert_eq!(dpi_to_ppm(72), 2835);
    }
}
