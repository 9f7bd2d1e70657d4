//! Where a pipeline's encoded pages go: the one thing a front end supplies.
//!
//! A destination takes one-image formats (PNM, PNG, JPEG) a page at a time, each page in a
//! writer of its own ([`Destination::open_page`] … [`Destination::keep_page`] or
//! [`Destination::drop_page`]), and multi-page formats (TIFF, PDF) as one document that pages
//! are appended to ([`Destination::open_document`] … [`Destination::keep_document`]). Which
//! of the two is the format's property ([`Format::is_multi_page`](scanwire_codecs::Format)),
//! never the destination's choice. Files (`scanwire-output`), HTTP responses (the eSCL
//! server) and memory ([`Memory`](crate::Memory)) are destinations.

use crate::Report;
use scanwire_codecs::{DocumentOutput, EncodeError};
use scanwire_core::device::PageInfo;
use scanwire_core::wia::HResult;
use std::io::Write;

/// See the module docs. Every method may be called from the driver's thread or a worker
/// thread; pages are opened in page order.
pub trait Destination: Send + Sync + 'static {
    /// One page's output (one-image formats).
    type Page: Write + Send + 'static;
    /// The multi-page document's output.
    type Document: DocumentOutput + 'static;

    /// Opens the output of `page` before its bytes arrive. An error fails the page, and the
    /// transfer with it (refusing to overwrite a file, a second page for a one-page file).
    fn open_page(&self, page: &PageInfo) -> Result<Self::Page, EncodeError>;

    /// `page` is complete in `out`: keep it (rename the file, end the response).
    fn keep_page(&self, page: &PageInfo, out: Self::Page) -> Result<(), EncodeError>;

    /// `page` did not complete (`why`: cancelled, failed, not encodable); `out` holds at most
    /// a fragment and must not be kept.
    fn drop_page(&self, page: &PageInfo, out: Self::Page, why: &EncodeError);

    /// Whether a multi-page format's pages go into one document (the default) or each into
    /// a document of its own (files named by a page-number pattern).
    fn one_document(&self) -> bool {
        true
    }

    /// A page output as a seekable document output, for a multi-page format stored a page
    /// per output (see [`Destination::one_document`]); `None` if it cannot seek.
    fn page_document(_out: &mut Self::Page) -> Option<&mut dyn DocumentOutput> {
        None
    }

    /// Opens the document, when its first page starts. After a job separator it is called
    /// again, after [`Destination::start_document`], for the next document.
    fn open_document(&self) -> Result<Self::Document, EncodeError>;

    /// A job separator (a stage's [`StageOutput::Separator`](crate::StageOutput)): the pages
    /// from now on belong to document `n` (2, 3, ...). Called in page order, only before a
    /// page follows (no document is ever empty), and for a multi-page format after the
    /// previous document was kept and before the next is opened. One-output-per-page
    /// destinations name pages by it (`{doc}`); the default ignores it.
    fn start_document(&self, _n: u32) {}

    /// `page` was added to the document, whose first `stable` bytes are now final: a
    /// destination that streams the document may send them.
    fn page_added(&self, _page: &PageInfo, _stable: u64) -> Result<(), EncodeError> {
        Ok(())
    }

    /// The transfer ended with `transfer` and the document, finished, holds `pages`
    /// complete pages. `Ok(false)`: the destination discarded it on purpose (all or
    /// nothing after a failed transfer). A document that a job separator ended is kept
    /// when the separator is reached, with `transfer` S_OK (a destination keeping all or
    /// nothing holds it back until [`Destination::finish`]).
    fn keep_document(
        &self,
        doc: Self::Document,
        pages: u32,
        transfer: HResult,
    ) -> Result<bool, EncodeError>;

    /// The document cannot be kept: it has no complete page, or failed (`why`).
    fn drop_document(&self, why: &EncodeError);

    /// Every page is settled; the destination may still change the report (pages it held
    /// back until the transfer's result was known).
    fn finish(&self, _transfer: HResult, _report: &mut Report) {}
}
