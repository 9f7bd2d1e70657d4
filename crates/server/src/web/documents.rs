//! `/api/documents` and `/api/presets`: the library's routes (the web-docs engineer fills
//! this module; web-live only keeps the hooks).

use super::{MemoryStore, PageStore, Web, WebConfig};
use axum::Router;
use std::sync::Arc;

/// The document store web scans hand their pages to.
pub(super) fn store(_config: &WebConfig) -> Arc<dyn PageStore> {
    Arc::new(MemoryStore::default())
}

/// The documents' and presets' routes, relative to `/api`, with their state applied.
pub(super) fn routes(_web: &Arc<Web>) -> Router {
    Router::new()
}
