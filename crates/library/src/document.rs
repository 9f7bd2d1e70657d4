//! What a document is, as `document.json` stores it: its pages and where each came from. The
//! library, the archive and the presets share these types.

use crate::error::LibraryError;
use serde::{Deserialize, Serialize};

/// Which pass of a manual duplex scan a page came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    /// The fronts, scanned first, in order.
    Fronts,
    /// The backs, scanned after turning the stack over: last sheet first.
    Backs,
}

impl Pass {
    /// `fronts` or `backs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Pass::Fronts => "fronts",
            Pass::Backs => "backs",
        }
    }
}

/// One page of a document, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPage {
    /// Unique within its document (`p1`, `p2`, ... in the order pages arrived).
    pub id: String,
    /// Pixels per row, after any rotation.
    pub width_px: u32,
    /// Rows, after any rotation.
    pub height_px: u32,
    /// Horizontal and vertical resolution.
    pub dpi: (u32, u32),
    /// Quarter turns applied so far, in degrees clockwise (0, 90, 180, 270).
    pub rotation: u32,
    /// The manual duplex pass it came from.
    pub pass: Option<Pass>,
    /// Its place within its pass, counted from 1 in the order scanned.
    #[serde(default)]
    pub pass_seq: u32,
    /// Whether it has a text layer (it was OCRed).
    pub text: bool,
    /// Bytes on disk: image, thumbnail and text.
    pub bytes: u64,
    /// The stored sample layout (`lineart`, `gray`, `gray16`, `color`, `color48`).
    pub pixel: String,
}

/// A document's metadata (`document.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DocumentInfo {
    /// Its id (`[a-z0-9-]`).
    pub id: String,
    /// Its name as given.
    pub name: String,
    /// When it was created, seconds since 1970 (UTC).
    pub created: u64,
    /// The preset it was scanned with, if any (the archive template's `{preset}`).
    pub preset: Option<String>,
    /// The pages, in document order.
    pub pages: Vec<StoredPage>,
    /// The archive file it was last written to.
    pub archived: Option<String>,
    /// The next page number for a page id.
    pub(crate) next_page: u32,
    /// Counts changes (pages added, moved, turned, removed; renames).
    #[serde(default)]
    pub(crate) revision: u64,
    /// The revision `archived` was written from.
    #[serde(default)]
    pub(crate) archived_revision: Option<u64>,
}

impl DocumentInfo {
    /// Bytes its pages use on disk.
    pub fn bytes(&self) -> u64 {
        self.pages.iter().map(|p| p.bytes).sum()
    }

    /// `created` as RFC 3339.
    pub fn created_rfc3339(&self) -> String {
        crate::time::rfc3339(self.created)
    }

    pub(crate) fn page_ids(&self) -> Vec<String> {
        self.pages.iter().map(|p| p.id.clone()).collect()
    }

    pub(crate) fn page_index(&self, page: &str) -> Result<usize, LibraryError> {
        self.pages
            .iter()
            .position(|p| p.id == page)
            .ok_or_else(|| LibraryError::NoPage {
                doc: self.id.clone(),
                page: page.to_string(),
                pages: self.page_ids(),
            })
    }
}
