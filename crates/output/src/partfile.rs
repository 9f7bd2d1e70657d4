//! The temporary file an output is written to before it gets its final name, and how it
//! gets there.
//!
//! # Why files are not `fsync`ed by default
//!
//! The guarantee is that nothing half-written is ever under a final name. Within the
//! process that is the rename: a file is renamed only once complete, so a cancel, a failed
//! page or a crash of the program leaves at most a hidden `.part` file. Across a crash of the
//! whole machine (power loss), the question is whether the rename can reach the disk before
//! the data it names. An `fsync` before the rename rules that out everywhere, but it waits
//! for the data and for a journal commit: 9-10 ms for an A4 300 dpi page (26 MB) and 31-40 ms
//! at 600 dpi on the project machine, a third of what scanning the page takes, and 5-7 ms
//! even for a 3 MB JPEG (mostly the commit). scanimage, cp and image editors do not sync.
//!
//! The default ([`OutputPlan::durable`](crate::OutputPlan::durable) off) instead starts
//! writeback as the data streams in (every [`KICK_BYTES`]) and for the rest just before the
//! rename, without waiting for it. With writeback started, the blocks are allocated and the
//! data is on its way to the disk before the rename is issued. On ext4 in its default
//! `data=ordered` mode, the journal commit that makes the rename durable first writes out the
//! data of the blocks allocated before it, so after a crash the final name holds either the
//! complete new file or what it held before. This is the protection ext4 gives a file
//! replaced by rename on its own (`auto_da_alloc` starts writeback at the rename, as done
//! here); doing it explicitly extends it to new names. It costs no waiting: the transfer does
//! not wait for the disk, so a file saved a moment before a power loss may be missing
//! afterwards, but not torn. Filesystems without ordered data (XFS logs the new size only
//! when the data write completes, ext4 with `data=writeback`) make no such promise across a
//! power loss: use `durable` there.
//!
//! Writeback is started with `posix_fadvise(POSIX_FADV_DONTNEED)`, which on Linux starts
//! asynchronous writeback of the range's dirty pages (and drops only pages already clean).
//! `sync_file_range(SYNC_FILE_RANGE_WRITE)` would be the precise call, and with
//! `SYNC_FILE_RANGE_WAIT_AFTER` could even wait for the data without a journal commit, but
//! neither rustix nor nix wraps it, and calling it through `libc` needs `unsafe`, which this
//! crate does not use.
//!
//! [`OutputPlan::durable`](crate::OutputPlan::durable) on: `fsync` of the file before the
//! rename and of the directory after it, so a file is on disk, under its name, when the
//! transfer reports it saved (archives, scan-to-folder services).

use scanwire_codecs::{DocumentOutput, EncodeError};
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Whether an existing file may be replaced.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it (atomically, with a complete file), as scanimage does.
    #[default]
    Replace,
    /// Refuse: the page (or the whole transfer, for a single file) fails instead.
    Refuse,
}

/// Writeback is started for every this many new bytes: large enough that the calls cost
/// nothing (seven for an A4 300 dpi page), small enough that little dirty data waits at the
/// end.
pub(crate) const KICK_BYTES: u64 = 4 << 20;

/// A hidden temporary file next to the final name, starting writeback as it grows; nothing
/// appears under the final name until [`PartFile::persist`]. Public for other writers of
/// finished files (the document library's archive folder).
pub struct PartFile {
    tmp: NamedTempFile,
    /// Current position and the end of the data written so far.
    pos: u64,
    end: u64,
    /// Bytes before this offset have had writeback started.
    kicked: u64,
}

impl PartFile {
    /// A new `.name.XXXXXX.part` file in `path`'s directory, with the permissions a new file
    /// would get.
    pub fn create(path: &Path) -> Result<PartFile, EncodeError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".part");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // 0666 minus the umask, like any new file (tempfile's default is 0600).
            b.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = b
            .tempfile_in(parent(path))
            .map_err(|source| EncodeError::Save {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(PartFile {
            tmp,
            pos: 0,
            end: 0,
            kicked: 0,
        })
    }

    fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// After `n` bytes were written at the current position.
    fn advance(&mut self, n: usize) {
        self.pos += n as u64;
        self.end = self.end.max(self.pos);
        self.kick(KICK_BYTES);
    }

    /// Starts writeback of everything written since the last call, if that is at least
    /// `min` bytes.
    fn kick(&mut self, min: u64) {
        if self.end.saturating_sub(self.kicked) >= min.max(1) {
            start_writeback(self.file(), self.kicked, self.end - self.kicked);
            self.kicked = self.end;
        }
    }

    /// Gives the complete file its final name (see the module docs for what `durable`
    /// changes). Replaces an existing file, or refuses to, as `overwrite` says; the refusal
    /// is race-free (a no-clobber rename).
    pub fn persist(
        mut self,
        path: &Path,
        overwrite: Overwrite,
        durable: bool,
    ) -> Result<(), EncodeError> {
        let save = |source| EncodeError::Save {
            path: path.to_path_buf(),
            source,
        };
        self.kick(1);
        if durable {
            // Data before name: after a crash the final name never holds a torn file.
            self.file().sync_all().map_err(save)?;
        }
        match overwrite {
            Overwrite::Replace => self.tmp.persist(path).map(drop).map_err(|e| save(e.error)),
            Overwrite::Refuse => self.tmp.persist_noclobber(path).map(drop).map_err(|e| {
                if e.error.kind() == io::ErrorKind::AlreadyExists {
                    EncodeError::Exists(path.to_path_buf())
                } else {
                    save(e.error)
                }
            }),
        }?;
        if durable {
            sync_dir(&parent(path)).map_err(save)?;
        }
        Ok(())
    }
}

/// The directory a file goes to (`.` for a bare name).
pub(crate) fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Starts (does not wait for) writeback of `len` bytes at `offset`. Best effort: a
/// filesystem that ignores the advice only loses the early start.
fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let len = std::num::NonZeroU64::new(len);
        let _ = rustix::fs::fadvise(file, offset, len, rustix::fs::Advice::DontNeed);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, offset, len);
    }
}

impl Write for PartFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tmp.as_file_mut().write(buf)?;
        self.advance(n);
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.tmp.as_file_mut().write_vectored(bufs)?;
        self.advance(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.as_file_mut().flush()
    }
}

impl Seek for PartFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.tmp.as_file_mut().seek(to)?;
        Ok(self.pos)
    }
}

impl DocumentOutput for PartFile {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file().set_len(len)?;
        self.end = self.end.min(len);
        self.kicked = self.kicked.min(len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_the_end_across_seeks_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        let mut f = PartFile::create(&path).unwrap();
        f.write_all(&vec![7u8; (KICK_BYTES + 10) as usize]).unwrap();
        assert_eq!((f.end, f.kicked), (KICK_BYTES + 10, KICK_BYTES + 10));
        f.seek(SeekFrom::Start(4)).unwrap();
        f.write_all(b"xy").unwrap();
        assert_eq!(f.end, KICK_BYTES + 10);
        f.truncate(100).unwrap();
        assert_eq!((f.end, f.kicked), (100, 100));
        f.seek(SeekFrom::End(0)).unwrap();
        f.write_all(b"end").unwrap();
        f.persist(&path, Overwrite::Refuse, false).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len(), 103);
        assert_eq!(&data[3..7], b"\x07xy\x07");
        assert_eq!(&data[100..], b"end");
        // Durable: the same file, synced; the refusal to overwrite still holds.
        let mut g = PartFile::create(&path).unwrap();
        g.write_all(b"second").unwrap();
        assert!(matches!(
            g.persist(&path, Overwrite::Refuse, true),
            Err(EncodeError::Exists(_))
        ));
        let mut h = PartFile::create(&path).unwrap();
        h.write_all(b"third").unwrap();
        h.persist(&path, Overwrite::Replace, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        // Nothing left behind but the final file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
