//! Helpers shared by the server's tests.

#![allow(dead_code)]

pub mod avahi;
pub mod device;
pub mod netns;
pub mod ocr;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use scanwire_escl::Document;
use std::time::{Duration, Instant};
use tower::ServiceExt;

pub const ESCL: &str = "http://schemas.hp.com/imaging/escl/2011/05/03";
pub const PWG: &str = "http://www.pwg.org/schemas/2010/12/sm";

/// The router over one virtual scanner (`virtual`) whose jobs all carry the device options
/// `options` (`serve --set`), with the rest of `config`.
pub fn virtual_app(options: &[(&str, &str)], config: scanwire_server::ServerConfig) -> Router {
    let config = scanwire_server::ServerConfig {
        request_options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..config
    };
    let device = scanwire_virtual::VirtualDevice::new();
    let state = scanwire_server::ServerState::new(
        config,
        vec![(
            "virtual".into(),
            scanwire_core::transfer::share(Box::new(device)),
        )],
    )
    .expect("state");
    scanwire_server::router(state)
}

/// A ScanSettings body as sane-airscan writes it.
pub fn settings_xml(
    source: &str,
    mode: &str,
    dpi: u32,
    format: &str,
    region: Option<(u32, u32, u32, u32)>,
) -> String {
    let region = region
        .map(|(x, y, w, h)| {
            format!(
                "<pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>\
                 <pwg:XOffset>{x}</pwg:XOffset><pwg:YOffset>{y}</pwg:YOffset><pwg:Width>{w}</pwg:Width><pwg:Height>{h}</pwg:Height>\
                 </pwg:ScanRegion></pwg:ScanRegions>"
            )
        })
        .unwrap_or_default();
    let duplex = if source == "Feeder" {
        "<scan:Duplex>false</scan:Duplex>"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><scan:ScanSettings xmlns:pwg=\"{PWG}\" xmlns:scan=\"{ESCL}\">\
         <pwg:Version>2.0</pwg:Version>{region}<pwg:InputSource>{source}</pwg:InputSource>\
         <scan:ColorMode>{mode}</scan:ColorMode><pwg:DocumentFormat>{format}</pwg:DocumentFormat>\
         <scan:DocumentFormatExt>{format}</scan:DocumentFormatExt>\
         <scan:XResolution>{dpi}</scan:XResolution><scan:YResolution>{dpi}</scan:YResolution>{duplex}</scan:ScanSettings>"
    )
}

pub async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone()
        .oneshot(req)
        .await
        .expect("router is infallible")
}

pub async fn get(app: &Router, path: &str) -> Response<Body> {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

pub async fn delete(app: &Router, path: &str) -> Response<Body> {
    send(app, Request::delete(path).body(Body::empty()).unwrap()).await
}

pub async fn post(app: &Router, path: &str, content_type: &str, body: String) -> Response<Body> {
    send(
        app,
        Request::post(path)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// POSTs ScanSettings and returns the Location path.
pub async fn create(app: &Router, root: &str, xml: String) -> String {
    let r = post(app, &format!("{root}/ScanJobs"), "text/xml", xml).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", reason(&r));
    r.headers()["location"].to_str().unwrap().to_string()
}

pub fn reason<B>(r: &Response<B>) -> String {
    r.headers()
        .get("x-scanwire-reason")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

pub async fn bytes(r: Response<Body>) -> Vec<u8> {
    r.into_body()
        .collect()
        .await
        .expect("complete body")
        .to_bytes()
        .to_vec()
}

pub async fn text(r: Response<Body>) -> String {
    String::from_utf8(bytes(r).await).unwrap()
}

pub async fn status(app: &Router, root: &str) -> scanwire_escl::ScannerStatus {
    let r = get(app, &format!("{root}/ScannerStatus")).await;
    assert_eq!(r.status(), StatusCode::OK);
    scanwire_escl::ScannerStatus::from_xml(&bytes(r).await).expect("status parses")
}

/// Polls ScannerStatus until `pred` holds (or fails after `limit`); returns the time taken.
pub async fn wait_status(
    app: &Router,
    root: &str,
    limit: Duration,
    pred: impl Fn(&scanwire_escl::ScannerStatus) -> bool,
) -> Duration {
    let t = Instant::now();
    loop {
        let s = status(app, root).await;
        if pred(&s) {
            return t.elapsed();
        }
        assert!(t.elapsed() < limit, "status never got there: {s:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A decoded image: width, height, channels, 8-bit samples.
pub struct Image {
    pub w: u32,
    pub h: u32,
    pub channels: u32,
    pub bit_depth: u8,
    pub data: Vec<u8>,
}

pub fn decode_png(bytes: &[u8]) -> Image {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    buf.truncate(info.buffer_size());
    Image {
        w: info.width,
        h: info.height,
        channels: info.color_type.samples() as u32,
        bit_depth: info.bit_depth as u8,
        data: buf,
    }
}

pub fn decode_jpeg(bytes: &[u8]) -> Image {
    let mut dec = zune_jpeg::JpegDecoder::new(bytes);
    let data = dec.decode().expect("JPEG data");
    let info = dec.info().unwrap();
    let channels = data.len() as u32 / (info.width as u32 * info.height as u32);
    Image {
        w: info.width as u32,
        h: info.height as u32,
        channels,
        bit_depth: 8,
        data,
    }
}

/// Compares an 8-bit color or gray image with the test scanner's page `page`, scanned from
/// glass pixel (x0, y0). `tolerance`: the largest mean absolute error allowed (0 = exact).
pub fn check_picture(img: &Image, page: u32, x0: u32, y0: u32, tolerance: f64) {
    use device::{color_at, gray_at};
    let mut sum = 0u64;
    let mut worst = 0u8;
    let n = img.channels as usize;
    for y in 0..img.h {
        for x in 0..img.w {
            let i = (y * img.w + x) as usize * n;
            let want: Vec<u8> = if n == 3 {
                color_at(page, x0 + x, y0 + y).to_vec()
            } else {
                vec![gray_at(page, x0 + x, y0 + y)]
            };
            for (c, w) in want.iter().enumerate() {
                let d = img.data[i + c].abs_diff(*w);
                sum += d as u64;
                worst = worst.max(d);
                if tolerance == 0.0 {
                    assert_eq!(d, 0, "page {page}: pixel ({x}, {y}) channel {c} differs");
                }
            }
        }
    }
    let mean = sum as f64 / (img.w as f64 * img.h as f64 * n as f64);
    assert!(
        mean <= tolerance,
        "page {page}: mean error {mean:.2} > {tolerance} (worst {worst})"
    );
}

/// Checks a 1-bit PNG (0 = black in PNG) against the test scanner's lineart.
pub fn check_lineart(img: &Image, page: u32, x0: u32, y0: u32) {
    assert_eq!((img.channels, img.bit_depth), (1, 1));
    let bpl = img.w.div_ceil(8) as usize;
    for y in 0..img.h {
        for x in 0..img.w {
            let byte = img.data[y as usize * bpl + (x / 8) as usize];
            let black = byte & (0x80 >> (x % 8)) == 0;
            assert_eq!(black, device::black_at(page, x0 + x, y0 + y), "({x}, {y})");
        }
    }
}

/// Counts the pages of a PDF (`/Type /Page` objects, written with or without the space).
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let s = String::from_utf8_lossy(pdf);
    ["/Type/Page", "/Type /Page"]
        .iter()
        .map(|pat| {
            s.match_indices(pat)
                .filter(|(i, _)| s.as_bytes().get(i + pat.len()) != Some(&b's'))
                .count()
        })
        .sum()
}

/// Runs `qpdf --check` on a PDF if qpdf is installed; panics if it finds errors.
pub fn qpdf_check(pdf: &[u8]) {
    if std::process::Command::new("qpdf")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qpdf: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Fetches every document of a job; returns them and the final status code.
pub async fn drain_job(app: &Router, loc: &str) -> (Vec<Vec<u8>>, StatusCode) {
    let mut docs = Vec::new();
    loop {
        let r = get(app, &format!("{loc}/NextDocument")).await;
        if r.status() != StatusCode::OK {
            return (docs, r.status());
        }
        docs.push(bytes(r).await);
    }
}

pub mod peers;
