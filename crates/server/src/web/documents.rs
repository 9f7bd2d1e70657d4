//! `/api/documents` and `/api/presets`: the document library's routes (paths relative to
//! `/api`; the contract is the web API notes). Every library call blocks on files, so it
//! runs on a blocking thread; downloads are assembled in a temporary file and streamed.

use super::error::{json, json_status, parse_json};
use super::store::{NewPage, Pass as StorePass, StoreError};
use super::{MemoryStore, PageStore, Web, WebError};
use crate::config::WebConfig;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use scanwire_library::{
    content_disposition, DocumentInfo, Download, EncodedPage, ErrorKind, Library, LibraryError,
    Pass, Preset, StoredPage,
};
use serde::Deserialize;
use serde_json::{json as j, Value};
use std::io::Read;
use std::sync::Arc;

/// The library the routes use, or why there is none.
pub(crate) type Docs = Result<Library, String>;

/// The configured library, else one in a temporary directory.
pub(super) fn open(config: &WebConfig) -> Docs {
    match &config.library {
        Some(l) => Ok(l.clone()),
        None => Library::temporary().map_err(|e| format!("no document library: {e}")),
    }
}

/// The document store web scans hand their pages to: the library (in memory only if even a
/// temporary one could not be made; the documents' routes then say why).
pub(super) fn store(docs: &Docs) -> Arc<dyn PageStore> {
    match docs {
        Ok(l) => Arc::new(LibraryStore(l.clone())),
        Err(_) => Arc::new(MemoryStore::default()),
    }
}

/// The documents' and presets' routes, relative to `/api`, with their state applied.
pub(super) fn routes(web: &Arc<Web>) -> Router {
    Router::new()
        .route("/documents", get(list).post(create))
        .route(
            "/documents/{id}",
            get(show).put(rename).delete(delete_document),
        )
        .route("/documents/{id}/pages", put(reorder))
        .route(
            "/documents/{id}/pages/{file}",
            get(page_image).delete(delete_page),
        )
        .route("/documents/{id}/pages/{pid}/thumbnail.jpg", get(thumbnail))
        .route("/documents/{id}/pages/{pid}/rotate", post(rotate))
        .route("/documents/{id}/interleave", post(interleave))
        .route("/documents/{id}/download.pdf", get(download_pdf))
        .route("/documents/{id}/download.zip", get(download_zip))
        .route("/documents/{id}/archive", post(archive))
        .route("/presets", get(presets))
        .route("/presets/{name}", put(put_preset).delete(delete_preset))
        .with_state(web.clone())
}

/// The library as a web scan's page store: pages the scan encoded go in as they are.
struct LibraryStore(Library);

impl PageStore for LibraryStore {
    fn create_document(
        &self,
        name: Option<&str>,
        preset: Option<&str>,
    ) -> Result<String, StoreError> {
        self.0
            .create_document(name, preset)
            .map_err(|e| StoreError::Library(e.to_string()))
    }

    fn has_document(&self, id: &str) -> bool {
        self.0.has_document(id)
    }

    fn add_page(&self, doc: &str, page: NewPage) -> Result<String, StoreError> {
        let page = EncodedPage {
            png: page.png,
            thumbnail: page.thumbnail,
            dpi: (page.dpi, page.dpi),
            pass: page.pass.map(|p| match p {
                StorePass::Fronts => Pass::Fronts,
                StorePass::Backs => Pass::Backs,
            }),
            text: page.text,
        };
        match self.0.add_encoded_page(doc, page) {
            Ok(p) => Ok(p.id),
            Err(LibraryError::NoDocument(d)) => Err(StoreError::NoDocument(d)),
            Err(e) => Err(StoreError::Library(e.to_string())),
        }
    }

    fn preset(&self, name: &str) -> Option<Value> {
        serde_json::to_value(self.0.preset(name).ok()?).ok()
    }

    fn archive(&self) -> bool {
        self.0.has_archive()
    }

    fn scan_completed(&self, doc: &str) -> Result<Option<String>, StoreError> {
        self.0
            .scan_completed(doc)
            .map_err(|e| StoreError::Library(e.to_string()))
    }

    fn hold_document(&self, doc: &str) -> Option<Box<dyn Send + Sync>> {
        self.0
            .hold(doc)
            .ok()
            .map(|h| Box::new(h) as Box<dyn Send + Sync>)
    }
}

/// A library error as the API's error: 404, 409, 400 or 500 by its kind.
fn web_error(e: LibraryError) -> WebError {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::NotFound => WebError::not_found(message),
        ErrorKind::Conflict => WebError::invalid(message),
        ErrorKind::Invalid => WebError::bad_request(message),
        ErrorKind::Internal => {
            WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
        }
    }
}

/// Runs `f` on the library on a blocking thread.
async fn blocking<T: Send + 'static>(
    web: &Web,
    f: impl FnOnce(&Library) -> Result<T, LibraryError> + Send + 'static,
) -> Result<T, WebError> {
    let lib = web
        .docs
        .clone()
        .map_err(|why| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", why))?;
    tokio::task::spawn_blocking(move || f(&lib))
        .await
        .map_err(|e| {
            WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the document library failed: {e}"),
            )
        })?
        .map_err(web_error)
}

fn page_json(doc: &str, p: &StoredPage) -> Value {
    j!({
        "id": p.id,
        "thumbnail": format!("/api/documents/{doc}/pages/{}/thumbnail.jpg", p.id),
        "image": format!("/api/documents/{doc}/pages/{}.png", p.id),
        "width_px": p.width_px,
        "height_px": p.height_px,
        "dpi": p.dpi.0,
        "rotation": p.rotation,
        "pass": p.pass.map(Pass::as_str),
        "text": p.text,
    })
}

fn document_json(d: &DocumentInfo) -> Value {
    j!({
        "id": d.id,
        "name": d.name,
        "preset": d.preset,
        "created": d.created_rfc3339(),
        "bytes": d.bytes(),
        "archived": d.archived,
        "pages": d.pages.iter().map(|p| page_json(&d.id, p)).collect::<Vec<_>>(),
    })
}

async fn list(State(web): State<Arc<Web>>) -> Result<Response, WebError> {
    let docs = blocking(&web, |lib| Ok(lib.documents())).await?;
    let docs: Vec<Value> = docs
        .iter()
        .map(|d| {
            j!({
                "id": d.id,
                "name": d.name,
                "pages": d.pages.len(),
                "created": d.created_rfc3339(),
                "bytes": d.bytes(),
                "archived": d.archived,
            })
        })
        .collect();
    Ok(json(j!({ "documents": docs })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: Option<String>,
}

async fn create(State(web): State<Arc<Web>>, body: Bytes) -> Result<Response, WebError> {
    let b: CreateBody = parse_json(&body)?;
    let id = blocking(&web, move |lib| {
        lib.create_document(b.name.as_deref(), None)
    })
    .await?;
    Ok(json_status(StatusCode::CREATED, j!({ "id": id })))
}

async fn show(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Result<Response, WebError> {
    let d = blocking(&web, move |lib| lib.document(&id)).await?;
    Ok(json(document_json(&d)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

/// `PUT /api/documents/{id}` `{"name": ...}`: renames it (the downloads' and archive's name).
async fn rename(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, WebError> {
    let b: RenameBody = parse_json(&body)?;
    let d = blocking(&web, move |lib| {
        lib.rename(&id, &b.name)?;
        lib.document(&id)
    })
    .await?;
    Ok(json(document_json(&d)))
}

async fn delete_document(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let doc = id.clone();
    blocking(&web, move |lib| lib.delete_document(&doc)).await?;
    Ok(json(j!({ "deleted": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    order: Vec<String>,
}

async fn reorder(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, WebError> {
    let b: OrderBody = parse_json(&body)?;
    let d = blocking(&web, move |lib| {
        lib.reorder(&id, &b.order)?;
        lib.document(&id)
    })
    .await?;
    Ok(json(document_json(&d)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    degrees: i64,
}

async fn rotate(
    State(web): State<Arc<Web>>,
    Path((id, pid)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, WebError> {
    let b: RotateBody = parse_json(&body)?;
    let doc = id.clone();
    let p = blocking(&web, move |lib| lib.rotate(&doc, &pid, b.degrees)).await?;
    Ok(json(page_json(&id, &p)))
}

async fn delete_page(
    State(web): State<Arc<Web>>,
    Path((id, pid)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let d = blocking(&web, move |lib| {
        lib.delete_page(&id, &pid)?;
        lib.document(&id)
    })
    .await?;
    Ok(json(document_json(&d)))
}

async fn interleave(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let d = blocking(&web, move |lib| {
        lib.interleave(&id)?;
        lib.document(&id)
    })
    .await?;
    Ok(json(document_json(&d)))
}

/// An image that may change under the same URL (a page turned): revalidated every time.
fn image(content_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        bytes,
    )
        .into_response()
}

async fn thumbnail(
    State(web): State<Arc<Web>>,
    Path((id, pid)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let b = blocking(&web, move |lib| lib.thumbnail(&id, &pid)).await?;
    Ok(image("image/jpeg", b))
}

/// `{pid}.png` (the stored page, lossless) or `{pid}.jpg`.
async fn page_image(
    State(web): State<Arc<Web>>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    if let Some(pid) = file.strip_suffix(".png") {
        let pid = pid.to_string();
        let b = blocking(&web, move |lib| lib.page_png(&id, &pid)).await?;
        Ok(image("image/png", b))
    } else if let Some(pid) = file.strip_suffix(".jpg") {
        let pid = pid.to_string();
        let b = blocking(&web, move |lib| lib.page_jpeg(&id, &pid)).await?;
        Ok(image("image/jpeg", b))
    } else {
        Err(WebError::not_found(format!(
            "{file:?} is not a page image: ask for <page id>.png or <page id>.jpg"
        )))
    }
}

/// A download: its temporary file streamed in chunks read on a blocking thread.
fn download(d: Download, content_type: &'static str) -> Response {
    let stream = futures_util::stream::unfold(Some(d.file), |file| async move {
        let mut f = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 256 * 1024];
            let n = f.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, f))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, f))) => Some((Ok(Bytes::from(buf)), Some(f))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    let disposition = HeaderValue::from_str(&content_disposition(&d.file_name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_LENGTH, HeaderValue::from(d.len)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn download_pdf(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let d = blocking(&web, move |lib| lib.pdf(&id)).await?;
    Ok(download(d, "application/pdf"))
}

async fn download_zip(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let d = blocking(&web, move |lib| lib.zip(&id)).await?;
    Ok(download(d, "application/zip"))
}

async fn archive(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let file = blocking(&web, move |lib| lib.archive(&id)).await?;
    Ok(json(j!({ "file": file })))
}

async fn presets(State(web): State<Arc<Web>>) -> Result<Response, WebError> {
    let p = blocking(&web, |lib| Ok(lib.presets())).await?;
    Ok(json(j!({ "presets": p })))
}

async fn put_preset(
    State(web): State<Arc<Web>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, WebError> {
    let mut v: Value = parse_json(&body)?;
    let Some(obj) = v.as_object_mut() else {
        return Err(WebError::bad_request(
            "a preset is a JSON object: {\"name\", \"device\", \"settings\", \"archive\"}",
        ));
    };
    match obj.get("name") {
        None => {
            obj.insert("name".into(), Value::String(name.clone()));
        }
        Some(Value::String(n)) if *n == name => {}
        Some(other) => {
            return Err(WebError::bad_request(format!(
                "the body names the preset {other}, the path {name:?}: leave \"name\" out or make \
                 them the same"
            )))
        }
    }
    let preset: Preset = serde_json::from_value(v)
        .map_err(|e| WebError::bad_request(format!("preset {name:?}: {e}")))?;
    let saved = blocking(&web, move |lib| {
        lib.put_preset(preset)?;
        lib.preset(&name)
    })
    .await?;
    Ok(json(j!(saved)))
}

async fn delete_preset(
    State(web): State<Arc<Web>>,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let n = name.clone();
    blocking(&web, move |lib| lib.delete_preset(&n)).await?;
    Ok(json(j!({ "deleted": name })))
}
