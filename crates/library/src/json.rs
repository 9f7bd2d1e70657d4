//! The state directory's files: written whole to a temporary name and renamed, so a crash
//! never leaves half a file; JSON read back with the file named in any error.

use crate::error::LibraryError;
use crate::page;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub(crate) fn write_bytes(
    path: &Path,
    what: &'static str,
    bytes: &[u8],
) -> Result<u64, LibraryError> {
    page::write_atomic(path, what, |f| {
        use std::io::Write;
        f.write_all(bytes).map_err(LibraryError::io(what, path))
    })
}

pub(crate) fn write_json<T: Serialize>(
    path: &Path,
    what: &'static str,
    value: &T,
) -> Result<(), LibraryError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| LibraryError::Damaged {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_bytes(path, what, &bytes).map(drop)
}

/// `Ok(None)` when the file does not exist.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
) -> Result<Option<T>, LibraryError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| LibraryError::Damaged {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LibraryError::io("reading", path)(e)),
    }
}
