//! Seekable, truncatable outputs for multi-page documents.
//!
//! TIFF and PDF pages are appended to one file; a page that ends incomplete is cut off again
//! (truncated), so the file only ever holds complete pages, and the TIFF writer patches the
//! previous page's "next IFD" offset once a page is complete.

use std::fs::File;
use std::io::{self, Cursor, Seek, SeekFrom, Write};

/// Where a multi-page document is written: a file, or memory.
pub trait DocumentOutput: Write + Seek + Send {
    /// Cuts the output to `len` bytes (dropping an incomplete page).
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl DocumentOutput for File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

impl<T: DocumentOutput + ?Sized> DocumentOutput for &mut T {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        (**self).truncate(len)
    }
}

impl DocumentOutput for Cursor<Vec<u8>> {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.get_mut().truncate(len as usize);
        Ok(())
    }
}

impl DocumentOutput for tempfile::NamedTempFile {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.as_file().set_len(len)
    }
}

const CAP: usize = 256 * 1024;

/// A buffered writer that knows its position and can patch and roll back.
pub(crate) struct Out<W> {
    inner: W,
    buf: Vec<u8>,
    /// Logical position: bytes flushed to `inner` plus `buf.len()`.
    pos: u64,
}

impl<W: DocumentOutput> Out<W> {
    /// Starts at `inner`'s current end (it is expected to be empty).
    pub fn new(mut inner: W) -> io::Result<Self> {
        let pos = inner.seek(SeekFrom::End(0))?;
        Ok(Out {
            inner,
            buf: Vec::with_capacity(CAP),
            pos,
        })
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Overwrites bytes already written at `at` (TIFF offsets).
    pub fn patch(&mut self, at: u64, bytes: &[u8]) -> io::Result<()> {
        self.flush_buf()?;
        self.inner.seek(SeekFrom::Start(at))?;
        self.inner.write_all(bytes)?;
        self.inner.seek(SeekFrom::Start(self.pos))?;
        Ok(())
    }

    /// Drops everything after `len`.
    pub fn rollback(&mut self, len: u64) -> io::Result<()> {
        let flushed = self.pos - self.buf.len() as u64;
        if len >= flushed {
            // Still buffered: the bytes before `len` must stay.
            self.buf.truncate((len - flushed) as usize);
        } else {
            self.buf.clear();
            self.inner.truncate(len)?;
            self.inner.seek(SeekFrom::Start(len))?;
        }
        self.pos = len;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.flush_buf()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: DocumentOutput> Write for Out<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.len() + data.len() > CAP {
            self.flush_buf()?;
        }
        if data.len() >= CAP {
            self.inner.write_all(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        self.pos += data.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }
}

/// Counts what passes through.
pub(crate) struct Counting<W> {
    pub inner: W,
    pub count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.count += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.write_all(data)?;
        self.count += data.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
