//! The web page of `scanwire serve`, in a real browser: Debian's `chromium`, headless, driven by
//! `chromedriver` over WebDriver (fantoccini), against the real `scanwire` binary on 127.0.0.1.
//!
//! One browser session runs every scenario in turn (starting chromium costs more than most of
//! them), so they share one server whose virtual scanner is paced (`ppm`) to make a page last
//! long enough to watch its progress and to cancel it mid-page. Each step says what it checks
//! in its failure message.
//!
//! `SCANWIRE_WEB_SCREENSHOTS=DIR` also saves the page at desktop (1280×900) and phone (390×844)
//! width as `DIR/web-desktop.png` and `DIR/web-phone.png` (docs/ holds the committed ones).

mod common;

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Pages per minute of the served virtual scanner: 2 s a page.
const PPM: &str = "30";

/// A running `scanwire serve`, killed when dropped; its stderr is kept for failure messages.
struct Serve {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    fn start(dir: &Path, args: &[&str]) -> Serve {
        Serve::try_start(dir, args)
            .unwrap_or_else(|log| panic!("scanwire serve did not start: {log}"))
    }

    /// `scanwire serve ARGS` on a free loopback port; what it said when it did not start.
    fn try_start(dir: &Path, args: &[&str]) -> Result<Serve, String> {
        let mut child = common::command(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(dir.join("state"))
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("run scanwire serve");
        let err = BufReader::new(child.stderr.take().expect("stderr pipe"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                if let Some(url) = line.trim().strip_prefix("serving virtual at http://") {
                    let _ = tx.send(url.split('/').next().unwrap_or_default().to_string());
                }
                keep.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => Ok(Serve { child, addr, log }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let said = log.lock().unwrap().join("\n");
                Err(said)
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `chromedriver` on a loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether every program the test needs is here; if not, it is skipped (or fails under
/// SCANWIRE_REQUIRE_PEERS=1).
fn peers_present() -> bool {
    use scanwire_testkit::have;
    have("chromium", "--version")
        && have("chromedriver", "--version")
        && have("qpdf", "--version")
        && have("pdfinfo", "-v")
}

#[test]
fn the_page_scans_previews_cancels_and_downloads_in_chromium() {
    if !peers_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    let serve = Serve::start(
        dir.path(),
        &[
            "--set",
            &format!("ppm={PPM}"),
            "--set",
            "sheets=3",
            "--archive",
            archive.to_str().unwrap(),
        ],
    );
    let driver = Driver::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let client = browser(driver.port, dir.path(), &downloads).await;
        let r = scenarios(&client, &serve, &downloads, &archive).await;
        let _ = client.close().await;
        r
    });
    if let Err(e) = outcome {
        panic!("{e}\n--- scanwire serve said:\n{}", serve.log());
    }
}

/// A new headless chromium with its own empty profile, downloading into `downloads`.
async fn browser(port: u16, dir: &Path, downloads: &Path) -> Client {
    let profile = dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1280,900", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session from chromedriver")
}

type Step = Result<(), String>;

/// Runs `js` (an expression) in the page.
async fn js(c: &Client, expr: &str) -> Result<Value, String> {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .map_err(|e| format!("running {expr:?} in the page: {e}"))
}

/// How long the page may take to show a state a step leads to (a list refreshed, a dialog
/// closed). A wait returns as soon as the state shows; 5 s was once too short on a loaded CI
/// machine (the workspace's other tests running beside this one).
const SHOWN_WITHIN: u64 = 20;

/// Waits until `expr` is truthy in the page, up to `secs`; says `what` and what the page
/// shows if it never is.
async fn wait(c: &Client, what: &str, expr: &str, secs: u64) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = js(c, expr).await?;
        let truthy =
            !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
        if truthy {
            return Ok(v);
        }
        if Instant::now() > deadline {
            let shown = js(
                c,
                "[document.getElementById('alert').hidden ? '' : document.getElementById('alert-text').textContent, document.getElementById('scan-status').textContent].join(' | ')",
            )
            .await
            .unwrap_or_default();
            return Err(format!(
                "{what}: not within {secs} s (the page shows: {shown})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Clicks the element `css` finds. The page redraws a list when the server's answer comes and
/// shows or hides a message, so an element found just before a redraw, or covered for a
/// moment while the layout moves, is tried again for up to a second rather than failing.
async fn click(c: &Client, css: &str) -> Step {
    let mut tries = 0;
    loop {
        let e = match c.find(Locator::Css(css)).await {
            Ok(el) => match el.click().await {
                Ok(()) => return Ok(()),
                Err(e) => format!("clicking {css}: {e}"),
            },
            Err(e) => format!("finding {css}: {e}"),
        };
        tries += 1;
        let transient = ["stale element", "not interactable", "click intercepted"]
            .iter()
            .any(|t| e.contains(t));
        if !transient || tries == 20 {
            return Err(e);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Chooses `value` in the select `#id` as a person does (the change event fires).
async fn choose(c: &Client, id: &str, value: &str) -> Step {
    let ok = js(
        c,
        &format!(
            "(() => {{ const s = document.getElementById({id:?}); if (![...s.options].some(o => o.value === {value:?})) return false; s.value = {value:?}; s.dispatchEvent(new Event('change')); return true; }})()"
        ),
    )
    .await?;
    if ok != json!(true) {
        return Err(format!("#{id} offers no {value:?}"));
    }
    Ok(())
}

/// The current document as the API gives it.
async fn document(c: &Client) -> Result<Value, String> {
    c.execute_async(
        "const done = arguments[0]; fetch('/api/documents/' + encodeURIComponent(state.doc.id)).then(r => r.json()).then(done, e => done({error: String(e)}));",
        vec![],
    )
    .await
    .map_err(|e| format!("reading the document: {e}"))
}

/// Starts recording every value the progress bars take, and clears the scan's status line
/// (so that [`scan_done`] waits for the next scan's end, not the last one's). Call it before
/// every scan.
async fn record_progress(c: &Client) -> Step {
    js(
        c,
        "(() => { window.seen = []; if (window.seenObs) window.seenObs.disconnect(); window.seenObs = new MutationObserver(() => { for (const p of document.querySelectorAll('#progress progress')) window.seen.push(p.value); }); window.seenObs.observe(document.getElementById('progress'), {subtree: true, childList: true, attributes: true}); const st = document.getElementById('scan-status'); st.className = 'status'; st.textContent = ''; return true; })()",
    )
    .await
    .map(|_| ())
}

/// Waits for the scan the page runs to end; returns the status line.
async fn scan_done(c: &Client, what: &str, secs: u64) -> Result<String, String> {
    wait(
        c,
        what,
        "state.scan === null && !document.getElementById('scan-btn').disabled && document.getElementById('cancel-btn').hidden && document.getElementById('scan-status').textContent",
        secs,
    )
    .await
    .map(|v| v.as_str().unwrap_or_default().to_string())
}

async fn scenarios(c: &Client, serve: &Serve, downloads: &Path, archive: &Path) -> Step {
    open_page(c, serve).await?;
    preview_and_region(c).await?;
    feeder_three_pages(c).await?;
    edit_pages(c).await?;
    download_pdf(c, downloads).await?;
    cancel_mid_page(c).await?;
    preset(c, archive).await?;
    manual_duplex(c).await?;
    recent_delete(c).await?;
    searchable_pdf(c, downloads).await?;
    device_trouble(c).await?;
    basic_auth(c).await?;
    if let Some(dir) = std::env::var_os("SCANWIRE_WEB_SCREENSHOTS") {
        screenshots(c, Path::new(&dir)).await?;
    }
    Ok(())
}

/// The page loads, lists the virtual scanner with its sources, and its first load stays
/// under 100 KB transferred.
async fn open_page(c: &Client, serve: &Serve) -> Step {
    c.goto(&serve.url("/"))
        .await
        .map_err(|e| format!("opening the page: {e}"))?;
    wait(
        c,
        "the page gets ready",
        "document.body.dataset.ready === '1'",
        10,
    )
    .await?;
    let devices = js(
        c,
        "[...document.getElementById('device').options].map(o => o.value)",
    )
    .await?;
    if !devices
        .as_array()
        .is_some_and(|d| d.contains(&json!("virtual")))
    {
        return Err(format!("the device list has no virtual scanner: {devices}"));
    }
    let sources = js(
        c,
        "[...document.getElementById('source').options].map(o => o.value)",
    )
    .await?;
    for s in ["flatbed", "feeder", "duplex", "manual"] {
        if !sources.as_array().is_some_and(|d| d.contains(&json!(s))) {
            return Err(format!("the source list lacks {s}: {sources}"));
        }
    }
    let bytes = js(
        c,
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).filter(e => !e.name.includes('/api/')).reduce((n, e) => n + e.transferSize, 0)",
    )
    .await?;
    let bytes = bytes.as_f64().unwrap_or(f64::MAX);
    eprintln!("first load: {bytes} bytes transferred");
    if bytes > 100.0 * 1024.0 {
        return Err(format!(
            "the first load transferred {bytes} bytes, over 100 KB"
        ));
    }
    Ok(())
}

/// A preview of the glass shows; dragging on it selects a region, and a scan of that region
/// has the region's size.
async fn preview_and_region(c: &Client) -> Step {
    choose(c, "source", "flatbed").await?;
    choose(c, "resolution", "75").await?;
    choose(c, "mode", "color").await?;
    choose(c, "paper", "").await?;
    click(c, "#preview-btn").await?;
    wait(
        c,
        "the preview image shows",
        "state.preview && !document.getElementById('preview-img').hidden && document.getElementById('preview-img').naturalWidth > 0",
        20,
    )
    .await?;
    let overlay = c
        .find(Locator::Css("#overlay"))
        .await
        .map_err(|e| format!("the preview has no overlay: {e}"))?;
    // From left of and above the centre to right of and below it.
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: overlay.clone(),
            duration: None,
            x: -60.0,
            y: -80.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveToElement {
            element: overlay.clone(),
            duration: Some(Duration::from_millis(150)),
            x: 20.0,
            y: 10.0,
        })
        .then(PointerAction::MoveToElement {
            element: overlay,
            duration: Some(Duration::from_millis(150)),
            x: 60.0,
            y: 40.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    c.perform_actions(drag)
        .await
        .map_err(|e| format!("dragging on the preview: {e}"))?;
    let region = wait(
        c,
        "dragging selects a region",
        "document.getElementById('paper').value === 'custom' && state.region && document.getElementById('rw').value && state.region",
        SHOWN_WITHIN,
    )
    .await?;
    let w_mm = region["w"].as_f64().unwrap_or(0.0);
    let h_mm = region["h"].as_f64().unwrap_or(0.0);
    if !(w_mm > 20.0 && h_mm > 20.0) {
        return Err(format!("the dragged region is too small: {region}"));
    }
    let drawn = js(c, "document.querySelectorAll('#overlay rect.sel').length").await?;
    if drawn != json!(1) {
        return Err("the selected region is not drawn on the preview".into());
    }
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    let status = scan_done(c, "the region scan ends", 30).await?;
    if !js(
        c,
        "document.getElementById('scan-status').classList.contains('ok')",
    )
    .await?
    .as_bool()
    .unwrap_or(false)
    {
        return Err(format!("the region scan did not complete: {status}"));
    }
    let doc = document(c).await?;
    let page = &doc["pages"][0];
    let (w, h) = (
        page["width_px"].as_f64().unwrap_or(0.0),
        page["height_px"].as_f64().unwrap_or(0.0),
    );
    let (ew, eh) = (w_mm / 25.4 * 75.0, h_mm / 25.4 * 75.0);
    if (w - ew).abs() > 3.0 || (h - eh).abs() > 3.0 {
        return Err(format!(
            "the region {w_mm}×{h_mm} mm at 75 dpi should be about {ew:.0}×{eh:.0} px, the page is {w}×{h}"
        ));
    }
    Ok(())
}

/// Three feeder pages: each page's bar moves through values between 0 and 100, and three
/// thumbnails appear, then three pages in the document.
async fn feeder_three_pages(c: &Client) -> Step {
    click(c, "#new-doc").await?;
    choose(c, "source", "feeder").await?;
    choose(c, "mode", "gray").await?;
    choose(c, "resolution", "150").await?;
    choose(c, "paper", "").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    wait(
        c,
        "three thumbnails appear",
        "[...document.querySelectorAll('#progress img.prog-thumb')].filter(i => i.complete && i.naturalWidth > 0).length === 3",
        40,
    )
    .await?;
    let status = scan_done(c, "the feeder scan ends", 20).await?;
    let seen = js(c, "window.seen").await?;
    let between = seen
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(Value::as_f64)
                .filter(|p| *p > 0.0 && *p < 100.0)
                .count()
        })
        .unwrap_or(0);
    if between < 3 {
        return Err(format!(
            "the progress bars did not move through the pages (values seen: {seen})"
        ));
    }
    let rows = js(c, "document.querySelectorAll('#progress li.prog').length").await?;
    if rows != json!(3) {
        return Err(format!("{rows} progress rows for three pages ({status})"));
    }
    wait(
        c,
        "three pages in the document",
        "document.querySelectorAll('#pages li.page').length === 3",
        SHOWN_WITHIN,
    )
    .await?;
    Ok(())
}

/// Moving a page with its button, rotating one, dragging one onto another and renaming the
/// document reach the server.
async fn edit_pages(c: &Client) -> Step {
    let before = js(c, "state.doc.pages.map(p => p.id)").await?;
    click(
        c,
        "#pages li.page:first-child button[aria-label='Move page 1 later']",
    )
    .await?;
    let want = json!([before[1], before[0], before[2]]);
    wait(
        c,
        "moving page 1 later reorders the document",
        &format!(
            "JSON.stringify(state.doc.pages.map(p => p.id)) === {:?}",
            want.to_string()
        ),
        SHOWN_WITHIN,
    )
    .await?;
    click(
        c,
        "#pages li.page:first-child button[aria-label='Rotate page 1 clockwise']",
    )
    .await?;
    wait(
        c,
        "rotating page 1 reaches the server",
        "state.doc.pages[0].rotation === 90",
        SHOWN_WITHIN,
    )
    .await?;
    // Drag and drop: the third page onto the first (the page's own drag handlers, with the
    // events a browser sends; WebDriver's pointer actions do not start HTML drag and drop).
    js(
        c,
        "(() => { const li = document.querySelectorAll('#pages li.page'); const dt = new DataTransfer(); li[2].dispatchEvent(new DragEvent('dragstart', {dataTransfer: dt, bubbles: true})); li[0].dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true})); li[0].dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); return true; })()",
    )
    .await?;
    let want = json!([before[2], before[1], before[0]]);
    wait(
        c,
        "dropping page 3 on page 1 reorders the document",
        &format!(
            "JSON.stringify(state.doc.pages.map(p => p.id)) === {:?}",
            want.to_string()
        ),
        SHOWN_WITHIN,
    )
    .await?;
    click(c, "#rename-btn").await?;
    let input = c
        .find(Locator::Css("#rename-input"))
        .await
        .map_err(|e| format!("the rename field: {e}"))?;
    input
        .clear()
        .await
        .map_err(|e| format!("clearing the name: {e}"))?;
    input
        .send_keys("Letters, 7 December")
        .await
        .map_err(|e| format!("typing a name: {e}"))?;
    click(c, "#rename-form button[type=submit]").await?;
    wait(
        c,
        "renaming the document",
        "state.doc.name === 'Letters, 7 December' && document.getElementById('rename-form').hidden",
        SHOWN_WITHIN,
    )
    .await?;
    let doc = document(c).await?;
    let ids: Vec<&Value> = doc["pages"]
        .as_array()
        .map(|p| p.iter().map(|p| &p["id"]).collect())
        .unwrap_or_default();
    if doc["name"] != json!("Letters, 7 December")
        || doc["pages"][1]["rotation"] != json!(90)
        || ids != [&before[2], &before[1], &before[0]]
    {
        return Err(format!(
            "the server's document after move and rotate: {doc}"
        ));
    }
    Ok(())
}

/// The PDF the page downloads passes `qpdf --check` and has the document's three pages.
async fn download_pdf(c: &Client, downloads: &Path) -> Step {
    choose(c, "format", "pdf").await?;
    click(c, "#dl-main").await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let pdf: PathBuf = loop {
        let found = std::fs::read_dir(downloads)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "pdf"));
        if let Some(p) = found {
            break p;
        }
        if Instant::now() > deadline {
            return Err("no PDF was downloaded within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&pdf)
        .output()
        .map_err(|e| e.to_string())?;
    if !check.status.success() {
        return Err(format!(
            "qpdf --check {}: {}{}",
            pdf.display(),
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    let info = Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .map_err(|e| e.to_string())?;
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().to_string());
    if pages.as_deref() != Some("3") {
        return Err(format!("pdfinfo says {pages:?} pages, want 3:\n{info}"));
    }
    Ok(())
}

/// Saves the page at desktop and phone width, on a server of its own whose virtual scanner
/// lays a turned A5 sheet of text on the glass (what people scan, rather than the test chart):
/// a preview with the paper found, a region, and a document of three feeder pages.
async fn screenshots(c: &Client, dir: &Path) -> Step {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(&archive).map_err(|e| e.to_string())?;
    let serve = Serve::start(
        tmp.path(),
        &[
            "--set",
            "sheets=3",
            "--set",
            "paper=a5",
            "--set",
            "skew=3",
            "--set",
            "offset=30,40mm",
            "--set",
            "content=text",
            "--archive",
            archive.to_str().unwrap_or_default(),
        ],
    );
    c.goto(&serve.url("/"))
        .await
        .map_err(|e| format!("opening the page: {e}"))?;
    wait(
        c,
        "the page gets ready",
        "document.body.dataset.ready === '1'",
        10,
    )
    .await?;
    choose(c, "source", "feeder").await?;
    choose(c, "mode", "gray").await?;
    choose(c, "resolution", "100").await?;
    choose(c, "paper", "").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    scan_done(c, "the screenshot's feeder scan ends", 60).await?;
    click(c, "#rename-btn").await?;
    js(
        c,
        "(() => { document.getElementById('rename-input').value = 'Letters, 7 December'; return true; })()",
    )
    .await?;
    click(c, "#rename-form button[type=submit]").await?;
    wait(
        c,
        "the screenshot's document is renamed",
        "state.doc.name === 'Letters, 7 December'",
        SHOWN_WITHIN,
    )
    .await?;
    choose(c, "source", "flatbed").await?;
    choose(c, "resolution", "300").await?;
    click(c, "#preview-btn").await?;
    wait(
        c,
        "the preview shows",
        "state.preview && !document.getElementById('preview-img').hidden && document.getElementById('preview-img').naturalWidth > 0",
        30,
    )
    .await?;
    click(c, "#use-paper").await?;
    js(c, "(() => { document.getElementById('preset-name').value = 'Letters to archive'; document.getElementById('preset-archive').checked = true; return true; })()").await?;
    click(c, "#preset-form button[type=submit]").await?;
    wait(
        c,
        "the preset is listed",
        "document.querySelectorAll('#presets li').length === 1",
        SHOWN_WITHIN,
    )
    .await?;
    click(c, "#alert-close").await?;
    // The pointer away from the buttons (no hover border), nothing focused.
    let away = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
        duration: None,
        x: 1.0,
        y: 1.0,
    });
    c.perform_actions(away)
        .await
        .map_err(|e| format!("moving the pointer: {e}"))?;
    js(
        c,
        "(() => { window.scrollTo(0, 0); document.activeElement.blur(); return true; })()",
    )
    .await?;
    viewport(c, 1280, 900).await?;
    let shot = c
        .screenshot()
        .await
        .map_err(|e| format!("screenshot: {e}"))?;
    std::fs::write(dir.join("web-desktop.png"), shot).map_err(|e| e.to_string())?;
    // On a phone the panels stack: the shot shows the last scan and the document.
    viewport(c, 390, 844).await?;
    js(c, "(() => { const b = document.getElementById('scan-box'); window.scrollTo(0, b.getBoundingClientRect().top + window.scrollY - 12); return true; })()").await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shot = c
        .screenshot()
        .await
        .map_err(|e| format!("screenshot: {e}"))?;
    std::fs::write(dir.join("web-phone.png"), shot).map_err(|e| e.to_string())?;
    viewport(c, 1280, 900).await
}

/// Makes the page's viewport `w`×`h` CSS pixels (the window is larger by its frame).
async fn viewport(c: &Client, w: u32, h: u32) -> Step {
    c.set_window_size(w, h)
        .await
        .map_err(|e| format!("window size: {e}"))?;
    let inner = js(c, "[window.innerWidth, window.innerHeight]").await?;
    let (iw, ih) = (
        inner[0].as_u64().unwrap_or(0) as u32,
        inner[1].as_u64().unwrap_or(0) as u32,
    );
    c.set_window_size(w + w.saturating_sub(iw), h + h.saturating_sub(ih))
        .await
        .map_err(|e| format!("window size: {e}"))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

/// A 1200 dpi scan cancelled mid-page: the device is idle within a second, and the next scan
/// works (and its page is deleted again).
async fn cancel_mid_page(c: &Client) -> Step {
    click(c, "#new-doc").await?;
    choose(c, "source", "flatbed").await?;
    choose(c, "mode", "gray").await?;
    choose(c, "resolution", "1200").await?;
    choose(c, "paper", "").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    wait(
        c,
        "the 1200 dpi page is under way",
        "(() => { const p = document.querySelector('#progress progress'); return p && p.value > 0 && p.value < 60; })()",
        30,
    )
    .await?;
    let idle_ms = c
        .execute_async(
            "const done = arguments[0]; const t0 = performance.now(); document.getElementById('cancel-btn').click();
             (async () => { for (;;) {
               const d = (await (await fetch('/api/devices')).json()).devices.find(d => d.id === 'virtual');
               if (d.state === 'idle') return done(performance.now() - t0);
               if (performance.now() - t0 > 5000) return done(-1);
               await new Promise(r => setTimeout(r, 10)); } })();",
            vec![],
        )
        .await
        .map_err(|e| format!("cancelling: {e}"))?;
    let idle_ms = idle_ms.as_f64().unwrap_or(-1.0);
    eprintln!("cancel to idle: {idle_ms:.0} ms");
    if !(0.0..=1000.0).contains(&idle_ms) {
        return Err(format!(
            "the device was not idle within a second of Cancel ({idle_ms} ms)"
        ));
    }
    let status = scan_done(c, "the cancelled scan ends", 10).await?;
    if !status.to_lowercase().contains("cancel") {
        return Err(format!("the cancelled scan says: {status}"));
    }
    choose(c, "resolution", "75").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    let status = scan_done(c, "the scan after a cancel ends", 20).await?;
    if !js(
        c,
        "document.getElementById('scan-status').classList.contains('ok')",
    )
    .await?
    .as_bool()
    .unwrap_or(false)
    {
        return Err(format!(
            "the scan after a cancel did not complete: {status}"
        ));
    }
    click(c, "#pages li.page button[aria-label='Delete page 1']").await?;
    wait(
        c,
        "deleting the only page empties the document",
        "state.doc.pages.length === 0 && document.getElementById('dl-main').getAttribute('aria-disabled') === 'true'",
        SHOWN_WITHIN,
    )
    .await?;
    Ok(())
}

/// A preset saved from the page runs into a new document and is archived; meanwhile a second
/// tab is told the device is busy.
async fn preset(c: &Client, archive: &Path) -> Step {
    choose(c, "source", "feeder").await?;
    choose(c, "mode", "gray").await?;
    choose(c, "resolution", "100").await?;
    choose(c, "paper", "").await?;
    js(c, "(() => { document.getElementById('preset-name').value = 'Letters to archive'; document.getElementById('preset-archive').checked = true; return true; })()").await?;
    click(c, "#preset-form button[type=submit]").await?;
    wait(
        c,
        "the saved preset is listed",
        "[...document.querySelectorAll('#presets li strong')].some(s => s.textContent === 'Letters to archive')",
        SHOWN_WITHIN,
    )
    .await?;
    let before = js(c, "state.doc && state.doc.id").await?;
    // Another source on the form: the preset's own settings must win.
    choose(c, "source", "flatbed").await?;
    record_progress(c).await?;
    click(
        c,
        "#presets button[aria-label='Run preset Letters to archive']",
    )
    .await?;
    busy_elsewhere(c).await?;
    let status = scan_done(c, "the preset's scan ends", 30).await?;
    let doc = document(c).await?;
    if doc["id"] == before || doc["pages"].as_array().map(Vec::len) != Some(3) {
        return Err(format!(
            "the preset (feeder, 3 sheets) made: {doc} ({status})"
        ));
    }
    wait(
        c,
        "the document is archived",
        "document.getElementById('alert-text').textContent.startsWith('Archived as')",
        10,
    )
    .await?;
    let files = std::fs::read_dir(archive)
        .map_err(|e| e.to_string())?
        .count();
    if files == 0 {
        return Err(format!(
            "nothing was written to the archive {}",
            archive.display()
        ));
    }
    Ok(())
}

/// Manual duplex: three fronts, then three backs, interleaved with the backs reversed.
async fn manual_duplex(c: &Client) -> Step {
    click(c, "#new-doc").await?;
    choose(c, "source", "manual").await?;
    choose(c, "resolution", "75").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    wait(
        c,
        "the page asks for the backs",
        "!document.getElementById('duplex-box').hidden",
        30,
    )
    .await?;
    let fronts = js(c, "state.doc.pages.map(p => p.id)").await?;
    record_progress(c).await?;
    click(c, "#backs-btn").await?;
    let status = scan_done(c, "the backs pass ends", 30).await?;
    if !status.contains("put in order") {
        return Err(format!(
            "the backs pass ended without interleaving: {status}"
        ));
    }
    let doc = document(c).await?;
    let pages = doc["pages"].as_array().cloned().unwrap_or_default();
    let passes: Vec<&str> = pages
        .iter()
        .map(|p| p["pass"].as_str().unwrap_or(""))
        .collect();
    if passes != ["fronts", "backs", "fronts", "backs", "fronts", "backs"] {
        return Err(format!("the duplex document's passes: {passes:?}"));
    }
    let ids: Vec<&Value> = pages.iter().map(|p| &p["id"]).collect();
    if *ids[0] != fronts[0] || *ids[2] != fronts[1] || *ids[4] != fronts[2] {
        return Err(format!(
            "the fronts are not in order: {ids:?}, fronts {fronts}"
        ));
    }
    Ok(())
}

/// A recent document is deleted with two presses of its Delete.
async fn recent_delete(c: &Client) -> Step {
    let n = js(c, "document.querySelectorAll('#recent li').length").await?;
    let n = n.as_u64().unwrap_or(0);
    if n < 4 {
        return Err(format!("{n} recent documents, want at least 4"));
    }
    let del = "#recent li:last-child button.danger-quiet";
    click(c, del).await?;
    click(c, del).await?;
    wait(
        c,
        "the deleted document leaves the list",
        &format!(
            "document.querySelectorAll('#recent li').length === {}",
            n - 1
        ),
        SHOWN_WITHIN,
    )
    .await?;
    Ok(())
}

/// While this tab's scan runs, a second tab shows the device busy and, asked to scan, says
/// so in a sentence; then this tab is back.
async fn busy_elsewhere(c: &Client) -> Step {
    wait(
        c,
        "the scan is under way",
        "document.querySelectorAll('#progress progress').length > 0",
        20,
    )
    .await?;
    let first = c.window().await.map_err(|e| format!("this tab: {e}"))?;
    let url = c
        .current_url()
        .await
        .map_err(|e| format!("this tab's URL: {e}"))?;
    let other = c
        .new_window(true)
        .await
        .map_err(|e| format!("a second tab: {e}"))?;
    c.switch_to_window(other.handle)
        .await
        .map_err(|e| format!("to the second tab: {e}"))?;
    let result = async {
        c.goto(url.as_str())
            .await
            .map_err(|e| format!("opening the page again: {e}"))?;
        wait(c, "the second tab gets ready", "document.body.dataset.ready === '1'", 10).await?;
        let shown = js(
            c,
            "[document.getElementById('device').selectedOptions[0].textContent, document.getElementById('device-status').textContent]",
        )
        .await?;
        if !shown.to_string().to_lowercase().contains("busy") {
            return Err(format!("the second tab does not show the device busy: {shown}"));
        }
        choose(c, "source", "flatbed").await?;
        choose(c, "resolution", "75").await?;
        click(c, "#scan-btn").await?;
        wait(
            c,
            "the second tab is told the device is busy",
            "!document.getElementById('alert').hidden && /busy/i.test(document.getElementById('alert-text').textContent) && !document.getElementById('scan-btn').disabled",
            10,
        )
        .await?;
        Ok(())
    }
    .await;
    let _ = c.close_window().await;
    c.switch_to_window(first)
        .await
        .map_err(|e| format!("back to the first tab: {e}"))?;
    result
}

/// The device's status in words: on a server whose feeder warms up and jams on page 2, the
/// page says "Warming up" while it does, then the jam with its page, in the warning style,
/// and keeps page 1.
async fn device_trouble(c: &Client) -> Step {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let serve = Serve::start(
        tmp.path(),
        &[
            "--set",
            "sheets=3",
            "--set",
            "jam-at-page=2",
            "--set",
            "warmup-ms=600",
        ],
    );
    c.goto(&serve.url("/"))
        .await
        .map_err(|e| format!("opening the page: {e}"))?;
    wait(
        c,
        "the page gets ready",
        "document.body.dataset.ready === '1'",
        10,
    )
    .await?;
    choose(c, "source", "feeder").await?;
    choose(c, "resolution", "75").await?;
    record_progress(c).await?;
    js(
        c,
        "(() => { window.said = []; new MutationObserver(() => window.said.push(document.getElementById('scan-status').textContent)).observe(document.getElementById('scan-status'), {childList: true, characterData: true, subtree: true}); return true; })()",
    )
    .await?;
    click(c, "#scan-btn").await?;
    let status = scan_done(c, "the jammed scan ends", 30).await?;
    let said = js(c, "window.said").await?;
    if !said.to_string().contains("Warming up") {
        return Err(format!(
            "the page never said the scanner was warming up: {said}"
        ));
    }
    let warn = js(
        c,
        "document.getElementById('scan-status').classList.contains('warn')",
    )
    .await?;
    if !status.contains("jam on page 2") || warn != json!(true) {
        return Err(format!(
            "the jam is not told as a warning: {status:?} (said: {said})"
        ));
    }
    let thumbs = js(
        c,
        "document.querySelectorAll('#progress img.prog-thumb').length",
    )
    .await?;
    if thumbs != json!(1) {
        return Err(format!(
            "{thumbs} thumbnails after a jam on page 2, want 1 ({status})"
        ));
    }
    Ok(())
}

/// Behind `serve --user`, the page opened with the login in its URL scans, and its
/// thumbnails and document load (every request of the page carries the login the browser
/// keeps for the origin).
async fn basic_auth(c: &Client) -> Step {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(tmp.path().join("pw"), "secret\n").map_err(|e| e.to_string())?;
    let serve = Serve::start(tmp.path(), &["--user", "scan", "--password-file", "pw"]);
    c.goto(&format!("http://scan:secret@{}/", serve.addr))
        .await
        .map_err(|e| format!("opening the page with a login: {e}"))?;
    wait(
        c,
        "the page gets ready",
        "document.body.dataset.ready === '1' && state.info !== null",
        10,
    )
    .await?;
    choose(c, "source", "flatbed").await?;
    choose(c, "resolution", "75").await?;
    choose(c, "paper", "").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    let status = scan_done(c, "the scan behind basic auth ends", 30).await?;
    wait(
        c,
        "the page's thumbnail loads behind basic auth",
        "[...document.querySelectorAll('#pages li.page img')].filter(i => i.complete && i.naturalWidth > 0).length === 1",
        10,
    )
    .await
    .map_err(|e| format!("{e} ({status})"))?;
    Ok(())
}

/// With `serve --ocr eng`, the page offers a searchable PDF; a page of text scanned with it
/// downloads as a PDF whose text `pdftotext` reads.
async fn searchable_pdf(c: &Client, downloads: &Path) -> Step {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let args = ["--ocr", "eng", "--set", "content=text", "--set", "paper=a5"];
    let serve = match Serve::try_start(tmp.path(), &args) {
        Ok(s) => s,
        Err(said) if common::tesseract_missing(&said) => return Ok(()),
        Err(said) => return Err(format!("scanwire serve --ocr eng did not start: {said}")),
    };
    c.goto(&serve.url("/"))
        .await
        .map_err(|e| format!("opening the page: {e}"))?;
    wait(
        c,
        "the page gets ready",
        "document.body.dataset.ready === '1'",
        10,
    )
    .await?;
    if js(c, "document.getElementById('f-ocr').hidden").await? != json!(false) {
        return Err("the page offers no searchable PDF on a server with --ocr".into());
    }
    choose(c, "source", "flatbed").await?;
    choose(c, "mode", "gray").await?;
    choose(c, "resolution", "150").await?;
    choose(c, "paper", "").await?;
    choose(c, "format", "pdf").await?;
    click(c, "#proc summary").await?;
    click(c, "#ocr").await?;
    record_progress(c).await?;
    click(c, "#scan-btn").await?;
    let status = scan_done(c, "the OCR scan ends", 60).await?;
    wait(
        c,
        "the page offers the searchable PDF",
        "document.getElementById('dl-main').textContent === 'Download searchable PDF'",
        SHOWN_WITHIN,
    )
    .await
    .map_err(|e| format!("{e} ({status})"))?;
    let before: Vec<PathBuf> = pdfs(downloads)?;
    click(c, "#dl-main").await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let pdf = loop {
        if let Some(p) = pdfs(downloads)?.into_iter().find(|p| !before.contains(p)) {
            break p;
        }
        if Instant::now() > deadline {
            return Err("the searchable PDF was not downloaded within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .map_err(|e| format!("pdftotext: {e}"))?;
    let text = String::from_utf8_lossy(&text.stdout);
    let words = text.split_whitespace().filter(|w| w.len() > 2).count();
    if words < 20 {
        return Err(format!(
            "pdftotext reads {words} words from the searchable PDF: {text:?}"
        ));
    }
    Ok(())
}

/// The finished PDFs in `dir` (not Chromium's `.crdownload` files).
fn pdfs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect())
}
