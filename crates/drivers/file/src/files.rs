//! Which files a `file:PATH` device scans, in order: PATH itself when it is a file; a
//! directory's image files in name order; or a pattern's matches (`scans/*.png`,
//! `inbox/**/*.tif`) in name order. Directories and patterns take only files with an image
//! extension ([`EXTENSIONS`], any case) and skip hidden ones (`.name`: half-written files of
//! other programs), so a `README` or `SOURCES.md` beside the scans is no page. A file named
//! on its own is taken whatever its name; its first bytes decide its format.

use crate::errors::FileError;
use std::path::{Path, PathBuf};

/// The extensions a directory or pattern takes, lower case.
pub const EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "jpe", "tif", "tiff", "pnm", "pbm", "pgm", "ppm",
];

/// Whether `path` has an image extension and is not hidden.
fn is_image_name(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

/// Whether `spec` is a pattern rather than a path (it has `*`, `?` or `[`, and no file of
/// that very name exists).
fn is_pattern(spec: &str) -> bool {
    spec.contains(['*', '?', '[']) && !Path::new(spec).exists()
}

/// The files `spec` names, in scanning order; never empty.
pub fn resolve(spec: &str) -> Result<Vec<PathBuf>, FileError> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| FileError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| FileError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
            let p = entry.path();
            if p.is_file() && is_image_name(&p) {
                files.push(p);
            }
        }
        files
    } else if is_pattern(spec) {
        let paths = glob::glob(spec).map_err(|e| FileError::BadPattern {
            pattern: spec.to_string(),
            why: e.to_string(),
        })?;
        // Unreadable directories along the way are not matches.
        paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file() && is_image_name(p))
            .collect()
    } else {
        return Err(FileError::NoSuchPath(path.to_path_buf()));
    };
    if files.is_empty() {
        return Err(FileError::NoImages {
            what: if path.is_dir() {
                "directory"
            } else {
                "pattern"
            },
            path: spec.to_string(),
            allowed: EXTENSIONS,
        });
    }
    // Name order: by the path's bytes, so `p-02` comes before `p-10` only when numbered so,
    // exactly as `ls` and shell patterns order them in the C locale.
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_patterns_take_image_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.PNG",
            "a.tif",
            "c.jpg",
            "notes.md",
            ".hidden.png",
            "d.pgm",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.png")).unwrap();
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            names(resolve(d).unwrap()),
            ["a.tif", "b.PNG", "c.jpg", "d.pgm"]
        );
        assert_eq!(
            names(resolve(&format!("{d}/*.[jt]*")).unwrap()),
            ["a.tif", "c.jpg"]
        );
        // A file named on its own is taken whatever its name.
        assert_eq!(
            names(resolve(&format!("{d}/notes.md")).unwrap()),
            ["notes.md"]
        );
        let e = resolve(&format!("{d}/*.gif")).unwrap_err();
        assert!(e.to_string().contains("pattern"), "{e}");
        let e = resolve(&format!("{d}/nothing-here")).unwrap_err();
        assert!(e.to_string().contains("no such file or directory"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = resolve(empty.path().to_str().unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("directory "), "{e}");
        assert!(
            e.to_string().contains("has no image files; allowed: .png"),
            "{e}"
        );
    }
}
