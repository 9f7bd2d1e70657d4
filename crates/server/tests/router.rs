//! In-process tests of every endpoint and error path: the router, no socket.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::device::{shared, Log, TestScanner};
use common::*;
use http_body_util::BodyExt;
use scanwire_core::device::{Resolutions, Source};
use scanwire_escl::{
    AdfState, Document, JobState, JobStateReason, ScanImageInfo, ScannerCapabilities, ScannerState,
};
use scanwire_server::{router, BasicAuth, ServerConfig, ServerState};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn app_with(config: ServerConfig, devices: Vec<TestScanner>) -> (Router, Vec<Arc<Mutex<Log>>>) {
    let logs = devices.iter().map(|d| d.log()).collect();
    let devs = devices
        .into_iter()
        .map(|d| (d.id.clone(), shared(d)))
        .collect();
    let state = ServerState::new(config, devs).expect("state");
    (router(state), logs)
}

fn one() -> (Router, Arc<Mutex<Log>>) {
    let (app, mut logs) = app_with(ServerConfig::default(), vec![TestScanner::new("test")]);
    (app, logs.remove(0))
}

fn app_opts(options: &[(&str, &str)]) -> (Router, Arc<Mutex<Log>>) {
    let config = ServerConfig {
        request_options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..ServerConfig::default()
    };
    let (app, mut logs) = app_with(config, vec![TestScanner::new("test")]);
    (app, logs.remove(0))
}

fn job_of<'a>(s: &'a scanwire_escl::ScannerStatus, uri: &str) -> &'a scanwire_escl::JobInfo {
    s.job(uri)
        .unwrap_or_else(|| panic!("job {uri} not in status: {s:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn capabilities_are_what_clients_need() {
    let (app, _) = one();
    let r = get(&app, "/eSCL/ScannerCapabilities").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/xml");
    let xml = text(r).await;
    // sane-airscan matches literal prefixes.
    assert!(
        xml.contains("<scan:ScannerCapabilities xmlns:scan="),
        "{xml}"
    );
    assert!(xml.contains("<pwg:MakeAndModel>Scanwire Test Scanner test</pwg:MakeAndModel>"));
    assert!(!xml.contains("ResolutionRange"));
    let caps = ScannerCapabilities::from_xml(xml.as_bytes()).unwrap();
    let platen = caps.platen.as_ref().unwrap();
    assert_eq!((platen.max_width, platen.max_height), (2550, 3508));
    let res: Vec<u32> = platen.discrete_resolutions().iter().map(|r| r.x).collect();
    assert_eq!(res, vec![75, 150, 300, 600]);
    assert_eq!(
        platen.document_formats(),
        vec!["image/jpeg", "image/png", "application/pdf", "image/tiff"]
    );
    let adf = caps.adf.as_ref().unwrap();
    assert!(adf.simplex.is_some(), "simplex caps are always there");
    assert!(adf.duplex.is_some());
    assert!(caps.serial_number.is_some());
    let uuid = caps.uuid.clone().unwrap();
    // Stable per device id, different between ids.
    let (again, _) = one();
    let caps2 =
        ScannerCapabilities::from_xml(&bytes(get(&again, "/eSCL/ScannerCapabilities").await).await)
            .unwrap();
    assert_eq!(caps2.uuid.unwrap(), uuid);
    let (other, _) = app_with(ServerConfig::default(), vec![TestScanner::new("other")]);
    let caps3 =
        ScannerCapabilities::from_xml(&bytes(get(&other, "/eSCL/ScannerCapabilities").await).await)
            .unwrap();
    assert_ne!(caps3.uuid.unwrap(), uuid);
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_become_discrete_and_duplex_only_feeders_get_simplex_caps() {
    let mut d = TestScanner::new("range");
    d.caps.sources[0].resolutions = Resolutions::Range {
        min: 100,
        max: 1200,
        step: 1,
    };
    d.caps.sources.retain(|s| s.source != Source::Feeder);
    let (app, _) = app_with(ServerConfig::default(), vec![d]);
    let caps =
        ScannerCapabilities::from_xml(&bytes(get(&app, "/eSCL/ScannerCapabilities").await).await)
            .unwrap();
    let res: Vec<u32> = caps
        .platen
        .unwrap()
        .discrete_resolutions()
        .iter()
        .map(|r| r.x)
        .collect();
    assert_eq!(res, vec![100, 150, 200, 240, 300, 400, 600, 1200]);
    let adf = caps.adf.unwrap();
    assert!(adf.simplex.is_some() && adf.duplex.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_status() {
    let (app, _) = one();
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::Loaded));
    assert!(s.jobs.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn flatbed_png_job_from_post_to_404() {
    let (app, log) = one();
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
    assert!(loc.starts_with("/eSCL/ScanJobs/"), "{loc}");
    let s = status(&app, "/eSCL").await;
    assert_eq!(
        s.state,
        ScannerState::Processing,
        "a pending job holds the device"
    );
    let j = job_of(&s, &loc);
    assert_eq!(j.job_state, Some(JobState::Pending));
    assert_eq!(j.images_to_transfer, Some(1));

    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers().get("content-length").is_none(),
        "streamed, not buffered"
    );
    let img = decode_png(&bytes(r).await);
    assert_eq!((img.w, img.h), (638, 877));
    check_picture(&img, 1, 0, 0, 0.0);

    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        bytes(r).await.is_empty(),
        "sane-backends' escl would read a body as the image"
    );
    // The platen's 404 comes as soon as its page is complete; the transfer winds down
    // right after.
    wait_status(&app, "/eSCL", Duration::from_millis(500), |s| {
        s.state == ScannerState::Idle
    })
    .await;
    let s = status(&app, "/eSCL").await;
    let j = job_of(&s, &loc);
    assert_eq!(j.job_state, Some(JobState::Completed));
    assert_eq!(
        j.job_state_reasons,
        vec![JobStateReason::JobCompletedSuccessfully]
    );
    assert_eq!(
        (j.images_completed, j.images_to_transfer),
        (Some(1), Some(0))
    );
    assert!(j.job_uuid.is_some() && j.age.is_some());

    let r = get(&app, &format!("{loc}/ScanImageInfo")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let info = ScanImageInfo::from_xml(&bytes(r).await).unwrap();
    assert_eq!((info.actual_width, info.actual_height), (638, 877));
    assert_eq!(info.actual_bytes_per_line, Some(638 * 3));
    assert_eq!(info.job_uri.as_deref(), Some(loc.as_str()));

    assert_eq!(delete(&app, &loc).await.status(), StatusCode::OK);
    assert_eq!(log.lock().unwrap().acquires, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn compression_factor_one_compresses_for_storage_others_are_refused() {
    let (app, _) = one();
    let caps =
        ScannerCapabilities::from_xml(&bytes(get(&app, "/eSCL/ScannerCapabilities").await).await)
            .unwrap();
    let support = caps.compression_factor_support.expect("advertised");
    assert_eq!((support.min, support.max, support.normal), (0, 1, Some(0)));
    let with_factor = |f: i32| {
        settings_xml("Platen", "RGB24", 75, "image/png", None).replace(
            "</scan:ScanSettings>",
            &format!("<scan:CompressionFactor>{f}</scan:CompressionFactor></scan:ScanSettings>"),
        )
    };
    let mut pages = Vec::new();
    for f in [0, 1] {
        let loc = create(&app, "/eSCL", with_factor(f)).await;
        let r = get(&app, &format!("{loc}/NextDocument")).await;
        assert_eq!(r.status(), StatusCode::OK);
        pages.push(bytes(r).await);
        assert_eq!(
            get(&app, &format!("{loc}/NextDocument")).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    // The zlib header of the first IDAT says the level: 1 for the link, 2 for storage.
    let zlib_flags = |png: &[u8]| {
        let i = png.windows(4).position(|w| w == b"IDAT").unwrap();
        (png[i + 4], png[i + 5])
    };
    assert_eq!(zlib_flags(&pages[0]), (0x78, 0x01));
    assert_eq!(zlib_flags(&pages[1]), (0x78, 0x5e));
    assert!(
        pages[1].len() < pages[0].len(),
        "{} vs {}",
        pages[1].len(),
        pages[0].len()
    );
    let (a, b) = (decode_png(&pages[0]), decode_png(&pages[1]));
    assert_eq!(
        ((a.w, a.h), &a.data),
        ((b.w, b.h), &b.data),
        "the same pixels"
    );

    let r = post(&app, "/eSCL/ScanJobs", "text/xml", with_factor(5)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let t = text(r).await;
    assert!(
        t.contains("CompressionFactor 5") && t.contains("allowed: 0"),
        "{t}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gray_jpeg_region_within_jpeg_error() {
    let (app, log) = one();
    // 10 mm, 20 mm, 100 x 50 mm at 150 dpi, as sane-airscan sends it.
    let loc = create(
        &app,
        "/eSCL",
        settings_xml(
            "Platen",
            "Grayscale8",
            150,
            "image/jpeg",
            Some((118, 236, 1181, 591)),
        ),
    )
    .await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let img = decode_jpeg(&bytes(r).await);
    assert_eq!(img.channels, 1);
    let req = log.lock().unwrap().last_request.clone().unwrap();
    let a = req.area.unwrap();
    assert_eq!(
        (img.w, img.h),
        (a.width.to_pixels(150), a.height.to_pixels(150))
    );
    check_picture(&img, 1, a.left.to_pixels(150), a.top.to_pixels(150), 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn color_jpeg_and_lineart_png() {
    let (app, _) = one();
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 150, "image/jpeg", None),
    )
    .await;
    let img = decode_jpeg(&bytes(get(&app, &format!("{loc}/NextDocument")).await).await);
    assert_eq!((img.w, img.h, img.channels), (1275, 1754, 3));
    check_picture(&img, 1, 0, 0, 3.0);
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::NOT_FOUND
    );

    let loc = create(
        &app,
        "/eSCL",
        settings_xml(
            "Platen",
            "BlackAndWhite1",
            75,
            "image/png",
            Some((300, 300, 600, 900)),
        ),
    )
    .await;
    let img = decode_png(&bytes(get(&app, &format!("{loc}/NextDocument")).await).await);
    assert_eq!((img.w, img.h), (150, 225));
    check_lineart(&img, 1, 75, 75);
}

/// What sane-backends' escl sends: form-encoded, pretty-printed, DocumentFormatExt only,
/// no Intent; and the Duplex spellings clients use.
#[tokio::test(flavor = "multi_thread")]
async fn lenient_settings_are_defaulted() {
    let (app, log) = one();
    let escl_style = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scan:ScanSettings xmlns:pwg=\"{PWG}\" xmlns:scan=\"{ESCL}\">\n   \
         <pwg:Version>2.63</pwg:Version>\n   <pwg:ScanRegions>\n      <pwg:ScanRegion>\n          \
         <pwg:Height>300</pwg:Height>\n          <pwg:Width>300</pwg:Width>\n          <pwg:XOffset>0</pwg:XOffset>\n          \
         <pwg:YOffset>0</pwg:YOffset>\n      </pwg:ScanRegion>\n   </pwg:ScanRegions>\n   \
         <scan:DocumentFormatExt>image/png</scan:DocumentFormatExt>\n   <scan:ColorMode>Grayscale8</scan:ColorMode>\n   \
         <scan:XResolution>75</scan:XResolution>\n   <scan:YResolution>75</scan:YResolution>\n   \
         <pwg:InputSource>Platen</pwg:InputSource>\n</scan:ScanSettings>\n"
    );
    let r = post(
        &app,
        "/eSCL/ScanJobs",
        "application/x-www-form-urlencoded",
        escl_style,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", reason(&r));
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    let img = decode_png(&bytes(r).await);
    assert_eq!((img.w, img.h, img.channels), (75, 75, 1));
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::NOT_FOUND
    );

    // An empty ScanSettings (default namespace, no prefixes): every default.
    let bare = format!("<ScanSettings xmlns=\"{ESCL}\"/>");
    let loc = create(&app, "/eSCL", bare).await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let img = decode_jpeg(&bytes(r).await);
    assert_eq!((img.w, img.h), (2550, 3508));
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::NOT_FOUND
    );

    for (duplex, source) in [
        ("", Source::Feeder),
        ("<scan:Duplex>false</scan:Duplex>", Source::Feeder),
        ("<scan:Duplex>0</scan:Duplex>", Source::Feeder),
        ("<scan:Duplex>true</scan:Duplex>", Source::FeederDuplex),
        ("<scan:Duplex>1</scan:Duplex>", Source::FeederDuplex),
    ] {
        let loc = create(&app, "/eSCL", format!(
            "<scan:ScanSettings xmlns:pwg=\"{PWG}\" xmlns:scan=\"{ESCL}\"><pwg:InputSource>Feeder</pwg:InputSource>\
             <scan:XResolution>75</scan:XResolution><scan:YResolution>75</scan:YResolution>{duplex}\
             <pwg:ScanRegions><pwg:ScanRegion><pwg:Width>30</pwg:Width><pwg:Height>30</pwg:Height></pwg:ScanRegion></pwg:ScanRegions></scan:ScanSettings>"
        )).await;
        let (_, end) = drain_job(&app, &loc).await;
        assert_eq!(end, StatusCode::NOT_FOUND);
        let req = log.lock().unwrap().last_request.clone().unwrap();
        assert_eq!(req.source, source, "{duplex}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_400_409_413_with_reasons() {
    let mut big = TestScanner::new("big");
    big.caps.sources[0].resolutions = Resolutions::Range {
        min: 50,
        max: 9600,
        step: 1,
    };
    let (app, logs) = app_with(ServerConfig::default(), vec![big]);
    let post_xml = |body: String| {
        let app = app.clone();
        async move {
            let r = post(&app, "/eSCL/ScanJobs", "text/xml", body).await;
            let code = r.status();
            (code, text(r).await)
        }
    };
    let (c, t) = post_xml(format!(
        "<scan:ScanSettings xmlns:scan=\"{ESCL}\"><scan:Intent>Photo</scan:ScanSettings>"
    ))
    .await;
    assert_eq!(c, StatusCode::BAD_REQUEST);
    assert!(t.contains("malformed XML"), "{t}");
    let (c, t) = post_xml(format!("<scan:ScannerStatus xmlns:scan=\"{ESCL}\"/>")).await;
    assert_eq!(c, StatusCode::BAD_REQUEST);
    assert!(t.contains("wrong root element"), "{t}");
    let (c, t) = post_xml(settings_xml("Platen", "RGB24", 9601, "image/png", None)).await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(
        t.contains("resolution 9601 dpi is not supported") && t.contains("50..9600"),
        "{t}"
    );
    let (c, t) = post_xml(settings_xml("Platen", "RGB24", 300, "image/bmp", None)).await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(
        t.contains("image/bmp") && t.contains("image/jpeg, image/png, application/pdf, image/tiff"),
        "{t}"
    );
    let (c, t) = post_xml(settings_xml("Platen", "RGB48", 300, "image/png", None)).await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(
        t.contains("RGB48") && t.contains("allowed: RGB24, Grayscale8, BlackAndWhite1"),
        "{t}"
    );
    let (c, t) = post_xml(settings_xml(
        "Platen",
        "RGB24",
        300,
        "image/png",
        Some((2000, 0, 1000, 100)),
    ))
    .await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(t.contains("right edge"), "{t}");
    let (c, t) = post_xml(settings_xml("Camera", "RGB24", 300, "image/png", None)).await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(t.contains("Camera"), "{t}");
    let xy = settings_xml("Platen", "RGB24", 300, "image/png", None)
        .replace("<scan:YResolution>300", "<scan:YResolution>150");
    let (c, t) = post_xml(xy).await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(t.contains("differ"), "{t}");
    // The whole glass at 9600 dpi: 27 GB raw. Refused before anything is allocated.
    let (c, t) = post_xml(settings_xml("Platen", "RGB24", 9600, "image/png", None)).await;
    assert_eq!(c, StatusCode::CONFLICT);
    assert!(
        t.contains("81600 x 112252 pixels") && t.contains("limit of 1073 MB"),
        "{t}"
    );
    // A body past the limit (64 KiB).
    let huge = format!(
        "<scan:ScanSettings xmlns:scan=\"{ESCL}\">{}</scan:ScanSettings>",
        " ".repeat(70_000)
    );
    let (c, _) = post_xml(huge).await;
    assert_eq!(c, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        logs[0].lock().unwrap().acquires,
        0,
        "no bad request reached the driver"
    );
    // No job was created by any of them.
    assert_eq!(status(&app, "/eSCL").await.state, ScannerState::Idle);
    assert!(status(&app, "/eSCL").await.jobs.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_jobs_are_404() {
    let (app, _) = one();
    for r in [
        get(&app, "/eSCL/ScanJobs/nope/NextDocument").await,
        get(&app, "/eSCL/ScanJobs/nope/ScanImageInfo").await,
        delete(&app, "/eSCL/ScanJobs/nope").await,
    ] {
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_device_answers_503_then_works_again() {
    let (app, _) = one();
    let first = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
    let r = post(
        &app,
        "/eSCL/ScanJobs",
        "text/xml",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "2");
    assert!(text(r).await.contains("busy"));
    let _ = bytes(get(&app, &format!("{first}/NextDocument")).await).await;
    assert_eq!(
        get(&app, &format!("{first}/NextDocument")).await.status(),
        StatusCode::NOT_FOUND
    );
    create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_job_may_be_posted_while_the_last_one_winds_down() {
    // The driver returns 1 s after its page (long enough to be seen winding down on a
    // loaded machine): the 404 comes at once (the page is all a flatbed job gives), and a
    // POST right after it waits for the device (up to 2 s) instead of 503.
    let (app, log) = app_opts(&[("end_delay_ms", "1000")]);
    let xml = || settings_xml("Platen", "Grayscale8", 75, "image/png", None);
    let first = create(&app, "/eSCL", xml()).await;
    let (docs, end) = drain_job(&app, &first).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(log.lock().unwrap().running, 1, "still winding down");
    let second = create(&app, "/eSCL", xml()).await;
    // Created once the first transfer had returned from the driver, not before.
    assert_eq!(log.lock().unwrap().running, 0);
    let (docs, _) = drain_job(&app, &second).await;
    assert_eq!(docs.len(), 1);
    // A job that has not delivered its page (here: not even started) is refused at once.
    let (app, _) = app_opts(&[("band_delay_ms", "200")]);
    let _busy = create(&app, "/eSCL", xml()).await;
    let t = std::time::Instant::now();
    let r = post(&app, "/eSCL/ScanJobs", "text/xml", xml()).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(t.elapsed() < Duration::from_millis(100));
}

#[tokio::test(flavor = "multi_thread")]
async fn feeder_job_serves_every_page_then_404_with_feeder_empty() {
    let (app, _) = one();
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "image/png", Some((0, 0, 600, 600))),
    )
    .await;
    for page in 1..=3 {
        let r = get(&app, &format!("{loc}/NextDocument")).await;
        assert_eq!(r.status(), StatusCode::OK, "page {page}");
        let img = decode_png(&bytes(r).await);
        check_picture(&img, page, 0, 0, 0.0);
    }
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // sane-airscan reads status right after the 404: Idle and the feeder empty.
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::Empty));
    let j = job_of(&s, &loc);
    assert_eq!(j.job_state, Some(JobState::Completed));
    assert_eq!(
        (j.images_completed, j.images_to_transfer),
        (Some(3), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn duplex_job_serves_both_sides_in_order() {
    let (app, _) = app_opts(&[("feeder_pages", "2")]);
    let xml = settings_xml(
        "Feeder",
        "Grayscale8",
        75,
        "image/png",
        Some((0, 0, 300, 300)),
    )
    .replace(
        "<scan:Duplex>false</scan:Duplex>",
        "<scan:Duplex>true</scan:Duplex>",
    );
    let loc = create(&app, "/eSCL", xml).await;
    for page in 1..=4 {
        let r = get(&app, &format!("{loc}/NextDocument")).await;
        assert_eq!(r.status(), StatusCode::OK, "page {page}");
        check_picture(&decode_png(&bytes(r).await), page, 0, 0, 0.0);
    }
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn feeder_pdf_is_one_document() {
    let (app, _) = one();
    let loc = create(
        &app,
        "/eSCL",
        settings_xml(
            "Feeder",
            "RGB24",
            75,
            "application/pdf",
            Some((0, 0, 900, 1200)),
        ),
    )
    .await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = bytes(r).await;
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
    assert_eq!(pdf_pages(&pdf), 3);
    qpdf_check(&pdf);
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::NOT_FOUND
    );
    let s = status(&app, "/eSCL").await;
    assert_eq!(job_of(&s, &loc).images_completed, Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_feeder_at_start_is_409_with_adf_empty_and_the_next_job_works() {
    let (app, _) = app_opts(&[("feeder_pages", "0")]);
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "image/png", None),
    )
    .await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(reason(&r).contains("empty"), "{}", reason(&r));
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::Empty));
    assert_eq!(job_of(&s, &loc).job_state, Some(JobState::Aborted));
    // The flatbed still works.
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
}

#[tokio::test(flavor = "multi_thread")]
async fn jam_keeps_completed_pages_downloadable() {
    let (app, log) = app_opts(&[("jam_at", "3")]);
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "image/png", Some((0, 0, 300, 300))),
    )
    .await;
    // Start the job, take page 1, and let the driver run into the jam before fetching more.
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    check_picture(&decode_png(&bytes(r).await), 1, 0, 0, 0.0);
    wait_status(&app, "/eSCL", Duration::from_secs(5), |s| {
        s.state == ScannerState::Idle && s.job(&loc).unwrap().images_completed == Some(2)
    })
    .await;
    // The scan is over, but page 2 waits for the client: the job goes on for it, and the
    // jam shows only once the client has had every page (sane-backends' escl stops fetching
    // as soon as the feeder reads jammed).
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.adf_state, Some(AdfState::Loaded));
    let j = job_of(&s, &loc);
    assert_eq!(j.job_state, Some(JobState::Processing));
    assert_eq!(j.job_state_reasons, vec![JobStateReason::JobTransferring]);
    assert_eq!(j.images_to_transfer, Some(1));
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "page 2 survives the jam on page 3"
    );
    check_picture(&decode_png(&bytes(r).await), 2, 0, 0, 0.0);
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(reason(&r).contains("jammed"), "{}", reason(&r));
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.adf_state, Some(AdfState::Jam));
    assert_eq!(job_of(&s, &loc).job_state, Some(JobState::Aborted));
    assert_eq!(job_of(&s, &loc).images_to_transfer, Some(0));
    // The next job works.
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(log.lock().unwrap().acquires, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn jam_while_streaming_cuts_the_response_after_status_says_jam() {
    // Noise, so that encoded bytes flow (and the 200 goes out) before the jam halfway.
    let (app, _) = app_opts(&[("jam_at", "1"), ("band_delay_ms", "5"), ("noise", "1")]);
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "Grayscale8", 150, "image/jpeg", None),
    )
    .await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let err = r.into_body().collect().await;
    assert!(err.is_err(), "an incomplete page must not look complete");
    // By the time the response is cut, the status already says why.
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.adf_state, Some(AdfState::Jam));
    assert_eq!(s.state, ScannerState::Idle);
}

#[tokio::test(flavor = "multi_thread")]
async fn device_status_jam_stops_the_feeder_job() {
    let (app, _) = app_opts(&[("status_jam_at", "2")]);
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!(docs.len(), 1);
    check_picture(&decode_png(&docs[0]), 1, 0, 0, 0.0);
    assert_eq!(end, StatusCode::CONFLICT);
    let s = status(&app, "/eSCL").await;
    assert_eq!(
        s.adf_state,
        Some(AdfState::Jam),
        "reported by DEVICE_STATUS"
    );
    assert_eq!(job_of(&s, &loc).job_state, Some(JobState::Aborted));
    assert_eq!(
        job_of(&s, &loc).job_state_reasons,
        vec![JobStateReason::ErrorsDetected]
    );
}

/// Starts a slow job and returns its NextDocument response after the first bytes arrived.
async fn slow_page(app: &Router) -> (String, axum::body::Body) {
    let loc = create(
        app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 300, "image/jpeg", None),
    )
    .await;
    let r = get(app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body();
    let first = body.frame().await.expect("a first chunk").expect("data");
    assert!(first.is_data());
    (loc, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_mid_page_cancels_the_driver() {
    let (app, log) = app_opts(&[("band_delay_ms", "20")]);
    let (loc, body) = slow_page(&app).await;
    assert_eq!(delete(&app, &loc).await.status(), StatusCode::OK);
    assert!(
        body.collect().await.is_err(),
        "the cancelled page is cut off"
    );
    let took = wait_status(&app, "/eSCL", Duration::from_secs(1), |s| {
        s.state == ScannerState::Idle
    })
    .await;
    assert!(took < Duration::from_secs(1));
    let s = status(&app, "/eSCL").await;
    let j = job_of(&s, &loc);
    assert_eq!(j.job_state, Some(JobState::Canceled));
    assert_eq!(j.job_state_reasons, vec![JobStateReason::JobCanceledByUser]);
    assert_eq!(log.lock().unwrap().saw_cancel, 1, "the driver saw S_FALSE");
    assert_eq!(log.lock().unwrap().running, 0);
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::GONE
    );
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    assert_eq!(delete(&app, &loc).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_disconnect_mid_page_cancels_the_job() {
    let (app, log) = app_opts(&[("band_delay_ms", "20")]);
    let (loc, body) = slow_page(&app).await;
    drop(body);
    wait_status(&app, "/eSCL", Duration::from_secs(1), |s| {
        s.state == ScannerState::Idle
    })
    .await;
    let s = status(&app, "/eSCL").await;
    assert_eq!(job_of(&s, &loc).job_state, Some(JobState::Canceled));
    assert_eq!(log.lock().unwrap().saw_cancel, 1);
    create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unfetched_jobs_time_out_and_free_the_device() {
    let mut config = ServerConfig::default();
    config.timing.job_timeout = Duration::from_millis(300);
    config.request_options.insert("noise".into(), "1".into());
    let (app, logs) = app_with(config, vec![TestScanner::new("t")]);
    // Never fetched at all.
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
    let r = post(
        &app,
        "/eSCL/ScanJobs",
        "text/xml",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.state, ScannerState::Idle);
    // The server ended it: Aborted by the system (PWG's pair), not Canceled.
    assert_eq!(job_of(&s, &loc).job_state, Some(JobState::Aborted));
    assert_eq!(
        job_of(&s, &loc).job_state_reasons,
        vec![JobStateReason::AbortedBySystem]
    );
    // Started, then the client stopped reading in the middle of a big page.
    // (Noise: the page cannot fit in the server's buffers.)
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "Grayscale8", 300, "image/png", None),
    )
    .await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let _stalled = r; // held, never read
    wait_status(&app, "/eSCL", Duration::from_secs(3), |s| {
        s.state == ScannerState::Idle
    })
    .await;
    let s = status(&app, "/eSCL").await;
    assert_eq!(job_of(&s, &loc).job_state, Some(JobState::Aborted));
    assert_eq!(
        logs[0].lock().unwrap().running,
        0,
        "the driver was released"
    );
    create(
        &app,
        "/eSCL",
        settings_xml("Platen", "RGB24", 75, "image/png", None),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_next_document_requests_get_distinct_pages() {
    let (app, _) = one();
    let loc = create(
        &app,
        "/eSCL",
        settings_xml(
            "Feeder",
            "Grayscale8",
            75,
            "image/png",
            Some((0, 0, 300, 300)),
        ),
    )
    .await;
    let a = tokio::spawn({
        let app = app.clone();
        let loc = loc.clone();
        async move { bytes(get(&app, &format!("{loc}/NextDocument")).await).await }
    });
    let b = tokio::spawn({
        let app = app.clone();
        let loc = loc.clone();
        async move { bytes(get(&app, &format!("{loc}/NextDocument")).await).await }
    });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_ne!(a, b);
    let c = bytes(get(&app, &format!("{loc}/NextDocument")).await).await;
    let mut pages: Vec<u32> = [a, b, c]
        .iter()
        .map(|p| {
            let img = decode_png(p);
            (1..=3)
                .find(|n| img.data[0] == common::device::gray_at(*n, 0, 0))
                .unwrap()
        })
        .collect();
    pages.sort();
    assert_eq!(pages, vec![1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn next_document_waits_for_a_slow_start_then_503() {
    let mut config = ServerConfig::default();
    config.timing.hold = Duration::from_millis(200);
    config
        .request_options
        .insert("band_delay_ms".into(), "400".into());
    let mut d = TestScanner::new("slow");
    d.band_rows = 10_000; // one band per page: the page's bytes come after 400 ms
    let (app, _) = app_with(config, vec![d]);
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    // Page 1 starts at once.
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let _ = bytes(r).await;
    // Page 2 starts only after page 1's 400 ms delay: longer than the hold.
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    if r.status() == StatusCode::SERVICE_UNAVAILABLE {
        assert_eq!(r.headers()["retry-after"], "2");
        let r = get(&app, &format!("{loc}/NextDocument")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn several_devices_each_under_its_path_and_the_default_at_escl() {
    let config = ServerConfig {
        default_device: Some("sane:b".into()),
        ..ServerConfig::default()
    };
    let (app, logs) = app_with(
        config,
        vec![TestScanner::new("a"), TestScanner::new("sane:b")],
    );
    let model = |app: Router, path: &'static str| async move {
        let c = ScannerCapabilities::from_xml(&bytes(get(&app, path).await).await).unwrap();
        c.make_and_model.unwrap()
    };
    assert_eq!(
        model(app.clone(), "/eSCL/a/ScannerCapabilities").await,
        "Scanwire Test Scanner a"
    );
    assert_eq!(
        model(app.clone(), "/eSCL/sane-b/ScannerCapabilities").await,
        "Scanwire Test Scanner sane:b"
    );
    assert_eq!(
        model(app.clone(), "/eSCL/ScannerCapabilities").await,
        "Scanwire Test Scanner sane:b"
    );
    // One job on each device at the same time.
    let la = create(
        &app,
        "/eSCL/a",
        settings_xml("Platen", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    let lb = create(
        &app,
        "/eSCL/sane-b",
        settings_xml("Platen", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
    )
    .await;
    assert!(la.starts_with("/eSCL/a/ScanJobs/") && lb.starts_with("/eSCL/sane-b/ScanJobs/"));
    for l in [&la, &lb] {
        let (docs, end) = drain_job(&app, l).await;
        assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    }
    assert_eq!(logs[0].lock().unwrap().acquires, 1);
    assert_eq!(logs[1].lock().unwrap().acquires, 1);
    // The JobUri matches the Location path the client got.
    let s = status(&app, "/eSCL/a").await;
    assert_eq!(s.jobs[0].job_uri, la);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_default_device_is_refused() {
    let config = ServerConfig {
        default_device: Some("nope".into()),
        ..ServerConfig::default()
    };
    let e = ServerState::new(config, vec![("a".into(), shared(TestScanner::new("a")))])
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "default device `nope` is not among the served devices: a"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_when_configured() {
    let config = ServerConfig {
        auth: Some(BasicAuth {
            user: "scan".into(),
            password: "s3cret".into(),
        }),
        ..ServerConfig::default()
    };
    let (app, _) = app_with(config, vec![TestScanner::new("a")]);
    let r = get(&app, "/eSCL/ScannerCapabilities").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let with = |v: &'static str| {
        Request::get("/eSCL/ScannerCapabilities")
            .header("authorization", v)
            .body(Body::empty())
            .unwrap()
    };
    // "scan:wrong"
    assert_eq!(
        send(&app, with("Basic c2Nhbjp3cm9uZw==")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // "scan:s3cret"
    assert_eq!(
        send(&app, with("Basic c2NhbjpzM2NyZXQ=")).await.status(),
        StatusCode::OK
    );
}
