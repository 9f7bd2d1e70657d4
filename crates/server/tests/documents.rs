//! `/api/documents` and `/api/presets` over real HTTP on 127.0.0.1: the document library's
//! routes, their errors, downloads (PDF checked by qpdf), the archive, presets kept across a
//! restart, and a web scan's pages landing in the library.

mod common;

use scanwire_codecs::{TextLayer, TextWord};
use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
use scanwire_library::{ArchiveConfig, Library, LibraryConfig, Pass};
use scanwire_pipeline::PageImage;
use scanwire_server::{BlockingServer, ServerConfig, WebConfig};
use scanwire_testkit::http::{request, Reply};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn start(lib: &Library) -> BlockingServer {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        web: Some(WebConfig {
            library: Some(lib.clone()),
            ..WebConfig::default()
        }),
        ..ServerConfig::default()
    };
    let device = scanwire_virtual::VirtualDevice::new();
    BlockingServer::start(
        config,
        vec![(
            "virtual".into(),
            scanwire_core::transfer::share(Box::new(device)),
        )],
    )
    .expect("server starts")
}

/// A reply's body as JSON.
trait Json {
    fn json(&self) -> Value;
}

impl Json for Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request (`Connection: close`); the reply read to the end. State-changing
/// requests carry the page's marker header unless `marked` is false.
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>, marked: bool) -> Reply {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = Vec::new();
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    if marked && method != "GET" {
        headers.push(("X-Scanwire-Request", "1"));
    }
    request(
        addr,
        method,
        path,
        &headers,
        body.as_bytes(),
        Duration::from_secs(60),
    )
}
fn gray_page(w: u32, h: u32, seed: u8) -> PageImage {
    PageImage {
        page: PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Feeder,
            data: PageData::Raster {
                pixel: PixelFormat::Gray8,
                width: w,
                height: Some(h),
            },
            dpi: (100, 100),
        },
        data: (0..w * h).map(|i| (i as u8).wrapping_add(seed)).collect(),
        text: None,
    }
}

fn qpdf_check(pdf: &[u8], dir: &Path) {
    if !scanwire_testkit::have("qpdf", "--version") {
        return;
    }
    let path = dir.join("check.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn error_of(r: &Reply) -> (String, String) {
    let v = r.json();
    (
        v["error"].as_str().unwrap_or_default().to_string(),
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn documents_routes_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(LibraryConfig {
        archive: Some(ArchiveConfig::new(dir.path().join("archive"))),
        ..LibraryConfig::new(dir.path().join("state"))
    })
    .unwrap();
    let doc = lib.create_document(Some("Rechnung März"), None).unwrap();
    let mut first = gray_page(200, 300, 0);
    first.text = Some(Arc::new(TextLayer {
        width: 200,
        height: 300,
        words: vec![TextWord {
            text: "Invoice".into(),
            bbox: [10, 10, 90, 30],
            line: 0,
        }],
    }));
    lib.add_page(&doc, &first, None).unwrap();
    lib.add_page(&doc, &gray_page(200, 300, 1), None).unwrap();
    lib.add_page(&doc, &gray_page(200, 300, 2), None).unwrap();
    let server = start(&lib);
    let a = server.local_addr();

    let list = call(a, "GET", "/api/documents", None, true);
    assert_eq!(list.status, 200);
    let docs = list.json();
    assert_eq!(docs["documents"][0]["id"], doc.as_str());
    assert_eq!(docs["documents"][0]["pages"], 3);
    assert_eq!(docs["documents"][0]["archived"], Value::Null);

    let d = call(a, "GET", &format!("/api/documents/{doc}"), None, true).json();
    assert_eq!(d["name"], "Rechnung März");
    let p1 = &d["pages"][0];
    assert_eq!(
        (
            p1["id"].as_str(),
            p1["width_px"].as_u64(),
            p1["dpi"].as_u64()
        ),
        (Some("p1"), Some(200), Some(100))
    );
    let thumb = call(a, "GET", p1["thumbnail"].as_str().unwrap(), None, true);
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(&thumb.body[..2], &[0xFF, 0xD8]);
    let png = call(a, "GET", p1["image"].as_str().unwrap(), None, true);
    assert_eq!((png.status, &png.body[1..4]), (200, &b"PNG"[..]));
    let jpg = call(
        a,
        "GET",
        &format!("/api/documents/{doc}/pages/p1.jpg"),
        None,
        true,
    );
    assert_eq!(
        (jpg.status, jpg.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(
        call(
            a,
            "GET",
            &format!("/api/documents/{doc}/pages/p1.gif"),
            None,
            true
        )
        .status,
        404
    );
    assert_eq!(
        call(a, "GET", "/api/documents/nope", None, true).status,
        404
    );
    assert_eq!(
        call(
            a,
            "GET",
            "/api/documents/..%2Fstate/pages/p1.png",
            None,
            true
        )
        .status,
        404
    );

    // Cross-site: a state-changing request without the page's header is refused.
    let order = json!({"order": ["p3", "p1", "p2"]});
    let r = call(
        a,
        "PUT",
        &format!("/api/documents/{doc}/pages"),
        Some(&order),
        false,
    );
    assert_eq!((r.status, error_of(&r).0.as_str()), (403, "cross-site"));
    let r = call(
        a,
        "PUT",
        &format!("/api/documents/{doc}/pages"),
        Some(&order),
        true,
    );
    assert_eq!(r.status, 200);
    let d = r.json();
    let ids: Vec<&str> = d["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p3", "p1", "p2"]);
    let r = call(
        a,
        "PUT",
        &format!("/api/documents/{doc}/pages"),
        Some(&json!({"order": ["p1", "p2"]})),
        true,
    );
    let (code, msg) = error_of(&r);
    assert_eq!((r.status, code.as_str()), (409, "invalid"));
    assert!(
        msg.contains(r#"["p1", "p2"]"#) && msg.contains(r#"["p3", "p1", "p2"]"#),
        "{msg}"
    );
    let r = call(
        a,
        "PUT",
        &format!("/api/documents/{doc}/pages"),
        Some(&json!({"order": "p1"})),
        true,
    );
    assert_eq!(r.status, 400, "{}", error_of(&r).1);

    // Rotate: clockwise quarter turns; anything else is a 400 saying what is allowed.
    let r = call(
        a,
        "POST",
        &format!("/api/documents/{doc}/pages/p2/rotate"),
        Some(&json!({"degrees": 90})),
        true,
    );
    assert_eq!(r.status, 200);
    let p = r.json();
    assert_eq!(
        (
            p["width_px"].as_u64(),
            p["height_px"].as_u64(),
            p["rotation"].as_u64()
        ),
        (Some(300), Some(200), Some(90))
    );
    let r = call(
        a,
        "POST",
        &format!("/api/documents/{doc}/pages/p2/rotate"),
        Some(&json!({"degrees": 45})),
        true,
    );
    assert_eq!(r.status, 400);
    assert!(error_of(&r).1.contains("90, 180 or 270"));

    let r = call(
        a,
        "DELETE",
        &format!("/api/documents/{doc}/pages/p2"),
        None,
        true,
    );
    assert_eq!(
        (r.status, r.json()["pages"].as_array().unwrap().len()),
        (200, 2)
    );
    assert_eq!(
        call(
            a,
            "GET",
            &format!("/api/documents/{doc}/pages/p2.png"),
            None,
            true
        )
        .status,
        404
    );

    // Renaming: a name with nothing in it is refused.
    let r = call(
        a,
        "PUT",
        &format!("/api/documents/{doc}"),
        Some(&json!({"name": " "})),
        true,
    );
    assert_eq!(r.status, 400, "{}", error_of(&r).1);
    let r = call(
        a,
        "PUT",
        &format!("/api/documents/{doc}"),
        Some(&json!({"name": "Rechnung März"})),
        true,
    );
    assert_eq!(
        (r.status, r.json()["name"].as_str()),
        (200, Some("Rechnung März"))
    );

    // Downloads: the sanitised name as ASCII and as UTF-8.
    let pdf = call(
        a,
        "GET",
        &format!("/api/documents/{doc}/download.pdf"),
        None,
        true,
    );
    assert_eq!(
        (pdf.status, pdf.header("content-type")),
        (200, Some("application/pdf"))
    );
    assert_eq!(
        pdf.header("content-disposition"),
        Some(
            "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
        )
    );
    assert_eq!(
        pdf.header("content-length"),
        Some(pdf.body.len().to_string().as_str())
    );
    assert!(pdf.body.starts_with(b"%PDF-"));
    qpdf_check(&pdf.body, dir.path());
    let again = call(
        a,
        "GET",
        &format!("/api/documents/{doc}/download.pdf"),
        None,
        true,
    );
    assert_eq!(again.body, pdf.body, "the same pages give the same PDF");
    let zip = call(
        a,
        "GET",
        &format!("/api/documents/{doc}/download.zip"),
        None,
        true,
    );
    assert_eq!(
        (zip.status, zip.header("content-type")),
        (200, Some("application/zip"))
    );
    assert!(zip.body.starts_with(b"PK\x03\x04"));

    // Archive: into the folder, named by the default template.
    let r = call(
        a,
        "POST",
        &format!("/api/documents/{doc}/archive"),
        None,
        true,
    );
    assert_eq!(r.status, 200);
    let file = r.json()["file"].as_str().unwrap().to_string();
    assert!(file.ends_with("_Rechnung März.pdf"), "{file}");
    let archived = std::fs::read(dir.path().join("archive").join(&file)).unwrap();
    assert_eq!(archived, pdf.body);
    let d = call(a, "GET", "/api/documents", None, true).json();
    assert_eq!(d["documents"][0]["archived"], file.as_str());

    // Manual duplex.
    let r = call(
        a,
        "POST",
        "/api/documents",
        Some(&json!({"name": "Duplex"})),
        true,
    );
    assert_eq!(r.status, 201);
    let dup = r.json()["id"].as_str().unwrap().to_string();
    for (pass, seed) in [
        (Pass::Fronts, 1),
        (Pass::Fronts, 2),
        (Pass::Backs, 3),
        (Pass::Backs, 4),
    ] {
        lib.add_page(&dup, &gray_page(20, 30, seed), Some(pass))
            .unwrap();
    }
    let r = call(
        a,
        "POST",
        &format!("/api/documents/{dup}/interleave"),
        None,
        true,
    );
    assert_eq!(r.status, 200);
    let d = r.json();
    let order: Vec<&str> = d["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["p1", "p4", "p2", "p3"]);
    assert_eq!(d["pages"][1]["pass"], "backs");
    lib.add_page(&dup, &gray_page(20, 30, 5), Some(Pass::Fronts))
        .unwrap();
    lib.add_page(&dup, &gray_page(20, 30, 6), Some(Pass::Fronts))
        .unwrap();
    let r = call(
        a,
        "POST",
        &format!("/api/documents/{dup}/interleave"),
        None,
        true,
    );
    assert_eq!(r.status, 409);
    assert!(
        error_of(&r)
            .1
            .contains("4 front page(s) and 2 back page(s)"),
        "{}",
        error_of(&r).1
    );
    let r = call(a, "DELETE", &format!("/api/documents/{dup}"), None, true);
    assert_eq!(r.status, 200);
    assert_eq!(
        call(a, "GET", &format!("/api/documents/{dup}"), None, true).status,
        404
    );
    let r = call(
        a,
        "POST",
        "/api/documents",
        Some(&json!({"title": "x"})),
        true,
    );
    assert_eq!(r.status, 400);
    assert!(
        error_of(&r).1.contains("unknown field"),
        "{}",
        error_of(&r).1
    );
}

#[test]
fn presets_over_http_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || LibraryConfig::new(dir.path().join("state"));
    let lib = Library::open(cfg()).unwrap();
    let server = start(&lib);
    let a = server.local_addr();
    let preset = json!({"device": "virtual", "archive": true,
        "settings": {"source": "feeder", "mode": "gray", "resolution": 300,
                     "processing": {"deskew": true, "blank": "skip"}, "ocr": true}});
    let r = call(
        a,
        "PUT",
        "/api/presets/Letters%20to%20archive",
        Some(&preset),
        true,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["name"], "Letters to archive");
    let r = call(
        a,
        "PUT",
        "/api/presets/Bad",
        Some(&json!({"settings": {"resolution": 0}})),
        true,
    );
    assert_eq!(r.status, 400);
    assert!(error_of(&r).1.contains("1..=19200"), "{}", error_of(&r).1);
    let r = call(
        a,
        "PUT",
        "/api/presets/Bad",
        Some(&json!({"settings": {"colour": "red"}})),
        true,
    );
    assert!(
        r.status == 400 && error_of(&r).1.contains("unknown field"),
        "{}",
        error_of(&r).1
    );
    let r = call(
        a,
        "PUT",
        "/api/presets/A",
        Some(&json!({"name": "B"})),
        true,
    );
    assert_eq!(r.status, 400);
    let r = call(a, "PUT", "/api/presets/Scratch", Some(&json!({})), true);
    assert_eq!(r.status, 200);
    assert_eq!(
        call(a, "DELETE", "/api/presets/Scratch", None, true).status,
        200
    );
    assert_eq!(
        call(a, "DELETE", "/api/presets/Scratch", None, true).status,
        404
    );
    drop(server);
    drop(lib);

    let lib = Library::open(cfg()).unwrap();
    let server = start(&lib);
    let list = call(server.local_addr(), "GET", "/api/presets", None, true).json();
    let presets = list["presets"].as_array().unwrap();
    assert_eq!(presets.len(), 1);
    assert_eq!(presets[0]["name"], "Letters to archive");
    assert_eq!(presets[0]["settings"]["resolution"], 300);
    assert_eq!(presets[0]["settings"]["processing"]["blank"], "skip");
    assert_eq!(presets[0]["archive"], true);
}

/// A scan run with a preset that says archive lands in the archive folder by itself, named
/// in its `done` event; archiving it again (the page's button) gives the same file.
#[test]
fn a_preset_that_archives_archives_when_the_scan_completes() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(LibraryConfig {
        archive: Some(ArchiveConfig {
            template: "{preset}-{n}".into(),
            ..ArchiveConfig::new(dir.path().join("archive"))
        }),
        ..LibraryConfig::new(dir.path().join("state"))
    })
    .unwrap();
    let server = start(&lib);
    let a = server.local_addr();
    let preset = json!({"archive": true, "settings": {"source": "flatbed", "mode": "gray", "resolution": 75}});
    assert_eq!(
        call(a, "PUT", "/api/presets/Letters", Some(&preset), true).status,
        200
    );
    let r = call(
        a,
        "POST",
        "/api/scans",
        Some(&json!({"device": "virtual", "preset": "Letters"})),
        true,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let scan = r.json();
    let doc = scan["document"].as_str().unwrap().to_string();
    let events = call(a, "GET", scan["events"].as_str().unwrap(), None, true);
    let text = String::from_utf8_lossy(&events.body);
    assert!(text.contains("\"archived\":\"Letters-1.pdf\""), "{text}");
    let pdf = std::fs::read(dir.path().join("archive/Letters-1.pdf")).unwrap();
    qpdf_check(&pdf, dir.path());
    let r = call(
        a,
        "POST",
        &format!("/api/documents/{doc}/archive"),
        None,
        true,
    );
    assert_eq!(r.json()["file"], "Letters-1.pdf");
    assert_eq!(
        std::fs::read_dir(dir.path().join("archive"))
            .unwrap()
            .count(),
        1
    );
    // A scan without such a preset archives nothing.
    let r = call(
        a,
        "POST",
        "/api/scans",
        Some(&json!({"device": "virtual", "source": "flatbed", "resolution": 75})),
        true,
    );
    let events = call(a, "GET", r.json()["events"].as_str().unwrap(), None, true);
    assert!(String::from_utf8_lossy(&events.body).contains("\"archived\":null"));
}

/// A web scan (web-live's route) hands its pages to the library: the document then has them,
/// downloads as a valid PDF, and is still there after a restart.
#[test]
fn a_web_scan_lands_in_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || LibraryConfig::new(dir.path().join("state"));
    let lib = Library::open(cfg()).unwrap();
    let server = start(&lib);
    let a = server.local_addr();
    let r = call(
        a,
        "POST",
        "/api/scans",
        Some(&json!({"device": "virtual", "source": "flatbed", "mode": "gray", "resolution": 75})),
        true,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let scan = r.json();
    let doc = scan["document"].as_str().unwrap().to_string();
    let events = call(a, "GET", scan["events"].as_str().unwrap(), None, true);
    let text = String::from_utf8_lossy(&events.body);
    assert!(text.contains("\"outcome\":\"completed\""), "{text}");
    let d = call(a, "GET", &format!("/api/documents/{doc}"), None, true).json();
    assert_eq!(d["pages"].as_array().unwrap().len(), 1, "{d}");
    let thumb = call(
        a,
        "GET",
        d["pages"][0]["thumbnail"].as_str().unwrap(),
        None,
        true,
    );
    assert_eq!(thumb.status, 200);
    let pdf = call(
        a,
        "GET",
        &format!("/api/documents/{doc}/download.pdf"),
        None,
        true,
    );
    assert_eq!(pdf.status, 200);
    qpdf_check(&pdf.body, dir.path());
    drop(server);
    drop(lib);
    let lib = Library::open(cfg()).unwrap();
    assert_eq!(lib.document(&doc).unwrap().pages.len(), 1);
}
