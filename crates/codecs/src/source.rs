//! Where page bytes come from, and how arbitrary chunks become whole rows.
//!
//! Drivers write bands of any size (a SANE read is 32 KiB whatever the row length), so every
//! encoder reads through a [`RowReader`], which cuts the chunks into whole rows and checks the
//! page against its declared height.

use crate::EncodeError;
use scanwire_core::device::PixelFormat;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// A page's bytes, pulled in order.
///
/// The contract: `Ok(Some(chunk))` is the next piece (any size, possibly splitting rows),
/// `Ok(None)` means the page is complete (the driver finished it), and
/// `Err(EncodeError::Incomplete { .. })` means it ended unfinished (cancelled, failed).
pub trait ChunkSource {
    /// The next chunk; see the trait docs.
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, EncodeError>;
}

/// A complete page in memory, handed out `chunk` bytes at a time.
#[derive(Debug)]
pub struct SliceSource<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl<'a> SliceSource<'a> {
    /// `data` in pieces of `chunk` bytes (at least 1).
    pub fn new(data: &'a [u8], chunk: usize) -> Self {
        SliceSource {
            data,
            chunk: chunk.max(1),
        }
    }
}

impl ChunkSource for SliceSource<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, EncodeError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let n = self.chunk.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(Some(head))
    }
}

/// A complete page from a reader (a file, a spool): end of file is the end of the page.
#[derive(Debug)]
pub struct ReadSource<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: Read> ReadSource<R> {
    /// Reads `reader` in 256 KiB pieces.
    pub fn new(reader: R) -> Self {
        ReadSource {
            reader,
            buf: vec![0; 256 * 1024],
        }
    }
}

impl<R: Read> ChunkSource for ReadSource<R> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, EncodeError> {
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => return Ok(Some(&self.buf[..n])),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(EncodeError::io("reading the page")(e)),
            }
        }
    }
}

/// Reads a whole source into memory (device-encoded pages that must be decoded whole).
pub(crate) fn read_all(src: &mut dyn ChunkSource) -> Result<Vec<u8>, EncodeError> {
    let mut all = Vec::new();
    while let Some(c) = src.next_chunk()? {
        all.extend_from_slice(c);
    }
    Ok(all)
}

/// A raster page whose height is known: what encoders are given.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Raster {
    pub pixel: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub dpi: (u32, u32),
}

impl Raster {
    pub fn bytes_per_line(&self) -> usize {
        self.pixel.bytes_per_line(self.width)
    }
}

/// Cuts a source's chunks into whole rows and checks them against the declared height.
pub(crate) struct RowReader<'s> {
    src: &'s mut dyn ChunkSource,
    bpl: usize,
    height: Option<u32>,
    rows: u32,
    /// The unread tail of the last chunk (only ever less than one band).
    pending: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl<'s> RowReader<'s> {
    pub fn new(src: &'s mut dyn ChunkSource, bpl: usize, height: Option<u32>) -> Self {
        RowReader {
            src,
            bpl,
            height,
            rows: 0,
            pending: Vec::new(),
            pos: 0,
            ended: false,
        }
    }

    /// Rows handed out so far.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Replaces `out` with up to `max_rows` whole rows; returns how many. 0 means the page's
    /// rows are all read (its declared height reached, or its end for unknown height).
    pub fn read_rows(&mut self, out: &mut Vec<u8>, max_rows: usize) -> Result<usize, EncodeError> {
        out.clear();
        let mut want_rows = max_rows.max(1);
        if let Some(h) = self.height {
            want_rows = want_rows.min((h - self.rows) as usize);
        }
        let want = want_rows * self.bpl;
        let take = want.min(self.pending.len() - self.pos);
        out.extend_from_slice(&self.pending[self.pos..self.pos + take]);
        self.pos += take;
        while out.len() < want && !self.ended {
            match self.src.next_chunk()? {
                None => self.ended = true,
                Some(c) => {
                    let take = (want - out.len()).min(c.len());
                    out.extend_from_slice(&c[..take]);
                    if take < c.len() {
                        self.pending.clear();
                        self.pending.extend_from_slice(&c[take..]);
                        self.pos = 0;
                    }
                }
            }
        }
        let n = out.len() / self.bpl;
        self.rows += n as u32;
        if self.ended {
            self.check_end(out.len() % self.bpl)?;
        }
        Ok(n)
    }

    /// The page's source has ended with `partial` bytes of a row after the rows counted so
    /// far: an error if that row is incomplete or rows are missing. The one place both ways
    /// of reading rows check a page's end.
    fn check_end(&self, partial: usize) -> Result<(), EncodeError> {
        if partial != 0 {
            return Err(EncodeError::PartialRow {
                row: self.rows + 1,
                extra: partial,
                bytes_per_line: self.bpl,
            });
        }
        match self.height {
            Some(h) if self.rows < h => Err(EncodeError::ShortPage {
                rows: self.rows,
                height: h,
            }),
            _ => Ok(()),
        }
    }

    /// Passes every remaining row to `f`, in runs of at most `max_rows` whole rows, checking
    /// the page as [`RowReader::read_rows`] does. Rows are passed straight out of the
    /// source's chunks; only a row split across two chunks is copied, so an encoder that
    /// only needs to see rows (PNM, PNG) costs no copy of the page and no band buffer.
    pub fn for_each_run(
        &mut self,
        max_rows: usize,
        f: &mut dyn FnMut(&[u8]) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let bpl = self.bpl;
        let max_rows = max_rows.max(1);
        // Bytes `read_rows` left over go first, as a chunk of their own.
        let left = std::mem::take(&mut self.pending);
        let mut first = Some(left.get(self.pos..).unwrap_or_default().to_vec());
        self.pos = 0;
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let rows_left = self.height.map_or(u64::MAX, |h| u64::from(h - self.rows));
            if rows_left == 0 && carry.is_empty() {
                return Ok(());
            }
            let owned;
            let mut c: &[u8] = match first.take() {
                Some(v) => {
                    owned = v;
                    &owned
                }
                None if self.ended => &[],
                None => match self.src.next_chunk()? {
                    Some(c) => c,
                    None => {
                        self.ended = true;
                        &[]
                    }
                },
            };
            if self.ended && c.is_empty() {
                return self.check_end(carry.len());
            }
            if !carry.is_empty() {
                let take = (bpl - carry.len()).min(c.len());
                carry.extend_from_slice(&c[..take]);
                c = &c[take..];
                if carry.len() < bpl {
                    continue;
                }
                f(&carry)?;
                carry.clear();
                self.rows += 1;
            }
            let rows_left = self.height.map_or(u64::MAX, |h| u64::from(h - self.rows));
            let whole = ((c.len() / bpl) as u64).min(rows_left) as usize;
            for run in c[..whole * bpl].chunks(max_rows * bpl) {
                f(run)?;
                self.rows += (run.len() / bpl) as u32;
            }
            let rest = &c[whole * bpl..];
            if self.height.is_some_and(|h| self.rows == h) {
                // Whatever follows the last row is for `finish` to report.
                self.pending = rest.to_vec();
                if !self.pending.is_empty() {
                    return Ok(());
                }
            } else {
                carry.extend_from_slice(rest);
            }
        }
    }

    /// After the last row: waits for the page's end and checks nothing follows it.
    pub fn finish(&mut self) -> Result<(), EncodeError> {
        let excess = |h: Option<u32>, bpl| EncodeError::ExcessData {
            height: h.unwrap_or(0),
            bytes_per_line: bpl,
        };
        if self.pos < self.pending.len() {
            return Err(excess(self.height, self.bpl));
        }
        while !self.ended {
            match self.src.next_chunk()? {
                None => self.ended = true,
                Some([]) => {}
                Some(_) => return Err(excess(self.height, self.bpl)),
            }
        }
        Ok(())
    }
}

/// Runs `encode` over a page whose height is known, spooling the rows to a temporary file
/// first when it is not (hand scanners): formats that put the height in their header need it
/// before the first row. Checks the page's end afterwards.
pub(crate) fn with_height<T>(
    src: &mut dyn ChunkSource,
    pixel: PixelFormat,
    width: u32,
    height: Option<u32>,
    dpi: (u32, u32),
    spool: impl FnOnce() -> Result<File, EncodeError>,
    encode: impl FnOnce(Raster, &mut RowReader<'_>) -> Result<T, EncodeError>,
) -> Result<T, EncodeError> {
    let bpl = pixel.bytes_per_line(width);
    if width == 0 {
        return Err(EncodeError::EmptyPage);
    }
    let raster = |height| Raster {
        pixel,
        width,
        height,
        dpi,
    };
    match height {
        Some(0) => Err(EncodeError::EmptyPage),
        Some(h) => encode_known(src, raster(h), encode),
        None => {
            let (file, h) = spool_rows(src, bpl, spool()?)?;
            let mut replay = ReadSource::new(BufReader::new(file));
            encode_known(&mut replay, raster(h), encode)
        }
    }
}

fn encode_known<T>(
    src: &mut dyn ChunkSource,
    r: Raster,
    encode: impl FnOnce(Raster, &mut RowReader<'_>) -> Result<T, EncodeError>,
) -> Result<T, EncodeError> {
    let mut rows = RowReader::new(src, r.bytes_per_line(), Some(r.height));
    let out = encode(r, &mut rows)?;
    rows.finish()?;
    Ok(out)
}

/// Copies a page of unknown height into `file`; returns it rewound, and the row count.
fn spool_rows(
    src: &mut dyn ChunkSource,
    bpl: usize,
    file: File,
) -> Result<(File, u32), EncodeError> {
    let mut rows = RowReader::new(src, bpl, None);
    let mut w = BufWriter::with_capacity(256 * 1024, file);
    let mut band = Vec::new();
    let band_rows = (1 << 20) / bpl.max(1) + 1;
    while rows.read_rows(&mut band, band_rows)? > 0 {
        w.write_all(&band)
            .map_err(EncodeError::io("the spool file"))?;
    }
    rows.finish()?;
    if rows.rows() == 0 {
        return Err(EncodeError::EmptyPage);
    }
    let mut file = w
        .into_inner()
        .map_err(|e| EncodeError::io("the spool file")(e.into_error()))?;
    file.seek(SeekFrom::Start(0))
        .map_err(EncodeError::io("the spool file"))?;
    Ok((file, rows.rows()))
}

/// How many rows make a band of about `bytes` (at least one row).
pub(crate) fn rows_for(bytes: usize, bpl: usize) -> usize {
    (bytes / bpl.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all_rows(
        data: &[u8],
        chunk: usize,
        bpl: usize,
        h: Option<u32>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut src = SliceSource::new(data, chunk);
        let mut r = RowReader::new(&mut src, bpl, h);
        let mut all = Vec::new();
        let mut band = Vec::new();
        while r.read_rows(&mut band, 3)? > 0 {
            assert_eq!(band.len() % bpl, 0);
            all.extend_from_slice(&band);
        }
        r.finish()?;
        Ok(all)
    }

    /// As `read_all_rows`, through `for_each_run`.
    fn run_all_rows(
        data: &[u8],
        chunk: usize,
        bpl: usize,
        h: Option<u32>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut src = SliceSource::new(data, chunk);
        let mut r = RowReader::new(&mut src, bpl, h);
        let mut all = Vec::new();
        r.for_each_run(3, &mut |run| {
            assert!(!run.is_empty() && run.len() % bpl == 0 && run.len() <= 3 * bpl);
            all.extend_from_slice(run);
            Ok(())
        })?;
        r.finish()?;
        Ok(all)
    }

    #[test]
    fn runs_are_the_same_rows_and_errors() {
        let data: Vec<u8> = (0..7 * 10).map(|i| i as u8).collect();
        for chunk in [1, 2, 3, 6, 7, 8, 13, 70, 1000] {
            assert_eq!(run_all_rows(&data, chunk, 7, Some(10)).unwrap(), data);
            assert_eq!(run_all_rows(&data, chunk, 7, None).unwrap(), data);
            let err = |r: Result<Vec<u8>, EncodeError>| format!("{:?}", r.unwrap_err());
            for (d, h) in [
                (&data[..], Some(11)),
                (&data[..], Some(9)),
                (&data[..68], None),
            ] {
                assert_eq!(
                    err(run_all_rows(d, chunk, 7, h)),
                    err(read_all_rows(d, chunk, 7, h)),
                    "chunk {chunk} height {h:?}"
                );
            }
        }
    }

    #[test]
    fn rows_survive_any_chunking() {
        let data: Vec<u8> = (0..7 * 10).map(|i| i as u8).collect();
        for chunk in [1, 2, 3, 6, 7, 8, 13, 70, 1000] {
            assert_eq!(read_all_rows(&data, chunk, 7, Some(10)).unwrap(), data);
            assert_eq!(read_all_rows(&data, chunk, 7, None).unwrap(), data);
        }
    }

    #[test]
    fn bad_lengths_are_named() {
        let data = vec![0u8; 7 * 10];
        assert!(matches!(
            read_all_rows(&data, 5, 7, Some(11)),
            Err(EncodeError::ShortPage {
                rows: 10,
                height: 11
            })
        ));
        assert!(matches!(
            read_all_rows(&data, 5, 7, Some(9)),
            Err(EncodeError::ExcessData { height: 9, .. })
        ));
        assert!(matches!(
            read_all_rows(&data[..68], 5, 7, None),
            Err(EncodeError::PartialRow {
                row: 10,
                extra: 5,
                bytes_per_line: 7
            })
        ));
    }
}
