//! The web page of `scanwire serve`: the page itself at `/` (embedded files), and the JSON
//! API under `/api` it drives (/work/notes/web-api.md is the contract):
//!
//! - [`assets`]: `GET /` and `/web/<file>`, embedded, with ETag, Cache-Control and gzip;
//! - [`devices`]: `GET /api/devices`, from the served devices' capabilities and state;
//! - [`preview`]: a fast low-resolution whole-glass scan with the paper and photos found;
//! - [`scans`]: `POST /api/scans`, a transfer on the device through the same busy state as
//!   eSCL jobs, its pages handed to the document store, its live events as SSE;
//! - [`documents`]: the documents and presets (the library's routes);
//! - [`csrf`]: what every state-changing request must carry.
//!
//! The routes sit behind the same basic auth as eSCL (the server's router adds it).

mod assets;
mod csrf;
mod devices;
mod documents;
mod error;
mod preview;
mod scans;
mod store;

pub(crate) use error::WebError;
pub(crate) use store::{MemoryStore, PageStore};

use crate::config::WebConfig;
use crate::state::ServerState;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;

/// A body over the server's limit is refused with 413 before any handler, after it has
/// been read (up to a bound: see [`crate::requests::linger`]), so the client gets the
/// answer rather than a reset connection.
async fn refuse_large_bodies(
    axum::extract::State(state): axum::extract::State<ServerState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = state.config().limits.max_body;
    let Some(n) = crate::requests::declared_length(&req).filter(|&n| n > limit as u64) else {
        return next.run(req).await;
    };
    crate::requests::linger(req, state.config().timing.header_timeout).await;
    WebError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the request body ({n} bytes) is larger than the limit of {limit} bytes"),
    )
    .into_response()
}

/// What every web handler shares: the server's devices and settings, the scans and
/// previews, and the document store.
pub(crate) struct Web {
    pub server: ServerState,
    pub config: WebConfig,
    /// Where a web scan's finished pages go (the library).
    pub library: Arc<dyn PageStore>,
    /// The same library for the documents' routes, or why there is none.
    pub docs: documents::Docs,
    pub scans: scans::Scans,
    pub previews: preview::Previews,
}

/// The page and its API for every device of `state`, without auth (the caller's router
/// adds it around everything).
pub(crate) fn routes(state: &ServerState, config: &WebConfig) -> Router {
    let docs = documents::open(config);
    let web = Arc::new(Web {
        server: state.clone(),
        config: config.clone(),
        library: documents::store(&docs),
        docs,
        scans: scans::Scans::default(),
        previews: preview::Previews::default(),
    });
    let api = Router::new()
        .merge(devices::routes(&web))
        .merge(preview::routes(&web))
        .merge(scans::routes(&web))
        .merge(documents::routes(&web))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(csrf::protect))
        .layer(DefaultBodyLimit::max(state.config().limits.max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_large_bodies,
        ));
    Router::new().nest("/api", api).merge(assets::routes())
}
