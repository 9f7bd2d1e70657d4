//! The archive folder (`serve --archive DIR`): finished documents land there as PDFs named
//! by a template, for a consumer such as paperless-ngx's consume folder.
//!
//! - Names: the template's placeholders filled in, sanitised (no path separators, no hidden
//!   names), `.pdf` added; an existing name is never overwritten: `-2`, `-3`, ... are added.
//! - Writing: through `scanwire-output`'s part file, a hidden `.NAME.XXXXXX.part` renamed to
//!   the final name only when complete (no-clobber), so a consumer never sees half a PDF.
//! - Bound: the files Scanwire wrote there (listed in `STATE_DIR/archive.json`) that are
//!   still present may use `max_bytes`; past it the oldest are removed first, never the one
//!   just written and never a `.part` file (a document being written). Files that others put
//!   there, or that a consumer already took away, are neither counted nor touched.

use crate::document::DocumentInfo;
use crate::error::LibraryError;
use crate::json::{read_json, write_json};
use crate::names::sanitize_file_name;
use scanwire_output::{Overwrite, PartFile};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The default template: `2026-12-07_19-30-00_Letters.pdf`.
pub const DEFAULT_TEMPLATE: &str = "{date}_{time}_{name}";

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 5] = ["date", "time", "preset", "n", "name"];

/// Where finished documents are archived.
#[derive(Clone, Debug)]
pub struct ArchiveConfig {
    /// The folder (created if missing).
    pub dir: PathBuf,
    /// The naming template: `{date}` (UTC, `2026-12-07`), `{time}` (UTC, `19-30-00`),
    /// `{preset}` (the preset's name, or `scan`), `{n}` (a counter kept in the state dir:
    /// 1, 2, ...), `{name}` (the document's name); `.pdf` is added.
    pub template: String,
    /// At most this many bytes of archived files, oldest removed first; `None`: no bound.
    pub max_bytes: Option<u64>,
}

impl ArchiveConfig {
    /// An archive in `dir` with the default template and no bound.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ArchiveConfig {
            dir: dir.into(),
            template: DEFAULT_TEMPLATE.into(),
            max_bytes: None,
        }
    }
}

/// Checks a template: braces balanced around known placeholders, something to name.
pub fn check_template(template: &str) -> Result<(), LibraryError> {
    parse(template).map(drop)
}

enum Part<'a> {
    Text(&'a str),
    Field(&'a str),
}

fn parse(template: &str) -> Result<Vec<Part<'_>>, LibraryError> {
    let err = |message: String| LibraryError::Template {
        template: template.to_string(),
        message,
    };
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(err("a '}' without its '{'".into()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| err("a '{' without its '}'".into()))?;
        let field = &after[..close];
        if !PLACEHOLDERS.contains(&field) {
            return Err(err(format!(
                "unknown placeholder {{{field}}}; allowed: {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            )));
        }
        if open > 0 {
            parts.push(Part::Text(&rest[..open]));
        }
        parts.push(Part::Field(field));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    if template.trim().is_empty() {
        return Err(err(format!(
            "the template is empty; e.g. {DEFAULT_TEMPLATE:?} (placeholders: {})",
            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
        )));
    }
    Ok(parts)
}

/// The file name stem (sanitised, no extension) for `doc` archived as number `n` at `now`.
pub fn render(
    template: &str,
    doc: &DocumentInfo,
    n: u64,
    now: u64,
) -> Result<String, LibraryError> {
    let mut s = String::new();
    for p in parse(template)? {
        match p {
            Part::Text(t) => s.push_str(t),
            Part::Field("date") => s.push_str(&crate::time::date(now)),
            Part::Field("time") => s.push_str(&crate::time::time_of_day(now)),
            Part::Field("preset") => s.push_str(doc.preset.as_deref().unwrap_or("scan")),
            Part::Field("n") => s.push_str(&n.to_string()),
            Part::Field(_) => s.push_str(&doc.name),
        }
    }
    Ok(sanitize_file_name(&s, "scan"))
}

/// Writes a new file `dir/stem[-k].ext` through a part file and returns its name; never
/// replaces an existing file.
pub(crate) fn write_new(
    dir: &Path,
    stem: &str,
    ext: &str,
    fill: impl FnOnce(&mut PartFile) -> Result<(), LibraryError>,
) -> Result<String, LibraryError> {
    let free = |from: u32| {
        (from..)
            .map(|k| match k {
                1 => format!("{stem}.{ext}"),
                k => format!("{stem}-{k}.{ext}"),
            })
            .find(|n| !dir.join(n).exists())
            .unwrap_or_default()
    };
    let name = free(1);
    let path = dir.join(&name);
    let mut part =
        PartFile::create(&path).map_err(LibraryError::codec("creating the archive file"))?;
    fill(&mut part)?;
    // The no-clobber rename; a name taken meanwhile (another writer) is an error rather than
    // a retry, since the part file is consumed by the attempt.
    part.persist(&path, Overwrite::Refuse, true)
        .map_err(LibraryError::codec(format!("saving {}", path.display())))?;
    Ok(name)
}

/// What Scanwire wrote to the archive folder (`STATE_DIR/archive.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ArchiveIndex {
    /// The next `{n}`.
    next_n: u64,
    /// Oldest first.
    files: Vec<ArchivedFile>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ArchivedFile {
    name: String,
    bytes: u64,
    written: u64,
}

fn index_path(state_dir: &Path) -> PathBuf {
    state_dir.join("archive.json")
}

impl ArchiveIndex {
    pub(crate) fn load(state_dir: &Path) -> Result<Self, LibraryError> {
        Ok(read_json(&index_path(state_dir))?.unwrap_or(ArchiveIndex {
            next_n: 1,
            files: Vec::new(),
        }))
    }

    /// The next `{n}` (saved at once: numbers are never reused, even after a failure).
    pub(crate) fn take_number(&mut self, state_dir: &Path) -> Result<u64, LibraryError> {
        let n = self.next_n.max(1);
        self.next_n = n + 1;
        write_json(&index_path(state_dir), "the archive index", self)?;
        Ok(n)
    }

    /// Records a written file, then applies the bound: the oldest files Scanwire wrote go
    /// first, never `name` itself. Files already gone are forgotten.
    pub(crate) fn add(
        &mut self,
        state_dir: &Path,
        cfg: &ArchiveConfig,
        name: &str,
        bytes: u64,
    ) -> Result<(), LibraryError> {
        self.files
            .retain(|f| cfg.dir.join(&f.name).is_file() && f.name != name);
        self.files.push(ArchivedFile {
            name: name.to_string(),
            bytes,
            written: crate::time::now(),
        });
        if let Some(max) = cfg.max_bytes {
            let mut total: u64 = self.files.iter().map(|f| f.bytes).sum();
            while total > max && self.files.len() > 1 {
                let f = self.files.remove(0);
                total -= f.bytes;
                let _ = std::fs::remove_file(cfg.dir.join(&f.name));
            }
        }
        write_json(&index_path(state_dir), "the archive index", self)
    }
}
