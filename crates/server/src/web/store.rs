//! Where a web scan's finished pages go: the document store's side of a scan, as a trait so
//! the scan does not care whether pages land in memory or in the library's folder.

use scanwire_codecs::TextLayer;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Manual duplex: which pass of the stack a page came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// The fronts, scanned first.
    Fronts,
    /// The backs, the stack turned over (they come in reverse order).
    Backs,
}

/// One finished, processed page.
// The in-memory store keeps pages without reading them; the library reads every field.
#[allow(dead_code)]
pub(crate) struct NewPage {
    /// The page as PNG.
    pub png: Vec<u8>,
    /// A small JPEG of it, for the page's list.
    pub thumbnail: Vec<u8>,
    pub width_px: u32,
    pub height_px: u32,
    pub dpi: u32,
    pub pass: Option<Pass>,
    /// OCR's words in the page's pixels, for a searchable PDF.
    pub text: Option<Arc<TextLayer>>,
}

/// Why the store refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// No such document.
    #[error("there is no document {0}")]
    NoDocument(String),
    /// The library could not do it (its message says why).
    #[error("{0}")]
    Library(String),
}

/// The document store as a web scan uses it.
pub(crate) trait PageStore: Send + Sync {
    /// A new, empty document; its id.
    fn create_document(
        &self,
        name: Option<&str>,
        preset: Option<&str>,
    ) -> Result<String, StoreError>;
    /// Whether `id` names a document.
    fn has_document(&self, id: &str) -> bool;
    /// Appends a page to `doc`; the page's id.
    fn add_page(&self, doc: &str, page: NewPage) -> Result<String, StoreError>;
    /// A preset as GET /api/presets lists it, by name.
    fn preset(&self, name: &str) -> Option<serde_json::Value>;
    /// Whether finished documents can be archived (`serve --archive DIR`).
    fn archive(&self) -> bool;
    /// Keeps `doc` from being evicted while the guard lives (a scan adding pages to it).
    fn hold_document(&self, _doc: &str) -> Option<Box<dyn Send + Sync>> {
        None
    }
    /// A scan into `doc` completed: the store archives it if its preset asks for that (file
    /// I/O: call it on a blocking thread). The archived file's name, if one was written.
    fn scan_completed(&self, _doc: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// Documents in memory, until the library is mounted.
#[derive(Default)]
pub(crate) struct MemoryStore {
    docs: Mutex<BTreeMap<String, Vec<(String, NewPage)>>>,
    next: Mutex<u64>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<(String, NewPage)>>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A page's thumbnail (tests).
    #[allow(dead_code)]
    pub(crate) fn thumbnail(&self, doc: &str, page: &str) -> Option<Vec<u8>> {
        let docs = self.lock();
        let pages = docs.get(doc)?;
        pages
            .iter()
            .find(|(id, _)| id == page)
            .map(|(_, p)| p.thumbnail.clone())
    }
}

impl PageStore for MemoryStore {
    fn create_document(
        &self,
        _name: Option<&str>,
        _preset: Option<&str>,
    ) -> Result<String, StoreError> {
        let n = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            *next
        };
        let id = format!("d{n}");
        self.lock().insert(id.clone(), Vec::new());
        Ok(id)
    }

    fn has_document(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    fn add_page(&self, doc: &str, page: NewPage) -> Result<String, StoreError> {
        let mut docs = self.lock();
        let pages = docs
            .get_mut(doc)
            .ok_or_else(|| StoreError::NoDocument(doc.to_string()))?;
        let id = format!("p{}", pages.len() + 1);
        pages.push((id.clone(), page));
        Ok(id)
    }

    fn preset(&self, _name: &str) -> Option<serde_json::Value> {
        None
    }

    fn archive(&self) -> bool {
        false
    }
}
