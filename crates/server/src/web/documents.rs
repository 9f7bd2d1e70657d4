//! `/api/documents` and `/api/presets`: the library's routes (the web-docs engineer fills
//! this module; web-live only keeps the hook).

use super::Web;
use axum::Router;
use std::sync::Arc;

/// The documents' and presets' routes, relative to `/api`, with their state applied.
pub(super) fn routes(_web: &Arc<Web>) -> Router {
    Router::new()
}
