//! A destination in memory: encoded pages (or the document) as byte vectors, for tests,
//! examples and applications that hand pages on themselves.

use crate::Destination;
use scanwire_codecs::EncodeError;
use scanwire_core::device::PageInfo;
use scanwire_core::wia::HResult;
use std::io::Cursor;
use std::sync::Mutex;

/// Kept pages in page order (or the documents, in order), as encoded bytes.
#[derive(Debug, Default)]
pub struct Memory {
    kept: Mutex<Vec<(u32, Vec<u8>)>>,
}

impl Memory {
    /// The kept pages (for multi-page formats an entry per document), in order.
    pub fn pages(&self) -> Vec<Vec<u8>> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner()).clone();
        kept.sort_by_key(|(n, _)| *n);
        kept.into_iter().map(|(_, bytes)| bytes).collect()
    }
}

impl Destination for Memory {
    type Page = Vec<u8>;
    type Document = Cursor<Vec<u8>>;

    fn open_page(&self, _page: &PageInfo) -> Result<Vec<u8>, EncodeError> {
        Ok(Vec::new())
    }

    fn keep_page(&self, page: &PageInfo, out: Vec<u8>) -> Result<(), EncodeError> {
        self.kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((page.number, out));
        Ok(())
    }

    fn drop_page(&self, _page: &PageInfo, _out: Vec<u8>, _why: &EncodeError) {}

    fn open_document(&self) -> Result<Cursor<Vec<u8>>, EncodeError> {
        Ok(Cursor::new(Vec::new()))
    }

    fn keep_document(
        &self,
        doc: Cursor<Vec<u8>>,
        _pages: u32,
        _transfer: HResult,
    ) -> Result<bool, EncodeError> {
        self.kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((0, doc.into_inner()));
        Ok(true)
    }

    fn drop_document(&self, _why: &EncodeError) {}
}
