//! The server in front of the real virtual scanner (`scanwire-virtual`): every page checked
//! against the scanner's own renderer, and its scripted faults as eSCL states.

mod common;

use axum::http::StatusCode;
use axum::Router;
use common::*;
use scanwire_core::device::{parse_settings, ScanRequest, Source};
use scanwire_escl::{
    AdfState, Document, JobState, JobStateReason, ScanSettings, ScannerCapabilities, ScannerState,
};
use scanwire_server::{job_request, Limits, ServerConfig};
use scanwire_virtual::expected_page;
use std::time::Duration;

fn app(options: &[(&str, &str)]) -> Router {
    virtual_app(options, ServerConfig::default())
}

/// The request the server makes of the device for `xml`, to render the expected pages.
fn request_for(xml: &str, options: &[(&str, &str)]) -> ScanRequest {
    let settings = ScanSettings::from_xml(xml.as_bytes()).unwrap();
    let pairs: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts =
        parse_settings(&scanwire_virtual::options::device_options(), &pairs).expect("options");
    job_request(
        &settings,
        &scanwire_virtual::options::capabilities(),
        &opts,
        &Limits::default(),
    )
    .unwrap()
    .request
}

#[tokio::test(flavor = "multi_thread")]
async fn capabilities_list_every_mode_and_discrete_resolutions() {
    let app = app(&[]);
    let caps = ScannerCapabilities::from_xml(
        &bytes(get(&app, "/eSCL/virtual/ScannerCapabilities").await).await,
    )
    .unwrap();
    let platen = caps.platen.unwrap();
    let modes: Vec<String> = platen.color_modes().iter().map(|m| m.to_string()).collect();
    assert_eq!(
        modes,
        [
            "RGB24",
            "Grayscale8",
            "BlackAndWhite1",
            "Grayscale16",
            "RGB48"
        ]
    );
    let res: Vec<u32> = platen.discrete_resolutions().iter().map(|r| r.x).collect();
    assert_eq!(res, [75, 100, 150, 200, 240, 300, 400, 600, 1200]);
    let adf = caps.adf.unwrap();
    assert!(adf.simplex.is_some() && adf.duplex.is_some());
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("Scanwire Virtual Scanner")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flatbed_pages_are_exactly_the_charts() {
    let app = app(&[]);
    for (mode, region) in [
        ("RGB24", None),
        ("Grayscale8", Some((300, 600, 900, 450))),
        ("Grayscale16", Some((0, 0, 600, 300))),
        ("BlackAndWhite1", Some((150, 150, 1200, 1200))),
    ] {
        let xml = settings_xml("Platen", mode, 100, "image/png", region);
        let want = expected_page(&request_for(&xml, &[]), 1).unwrap();
        let loc = create(&app, "/eSCL", xml).await;
        let (docs, end) = drain_job(&app, &loc).await;
        assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND), "{mode}");
        let img = decode_png(&docs[0]);
        let mut got = img.data.clone();
        if mode == "BlackAndWhite1" {
            // PNG has 0 = black, the raw rows 1 = black.
            got.iter_mut().for_each(|b| *b = !*b);
            let bpl = img.w.div_ceil(8) as usize;
            let pad = bpl * 8 - img.w as usize;
            // Padding bits of each row are not part of the picture.
            for row in 0..img.h as usize {
                let last = row * bpl + bpl - 1;
                let mask = !((1u8 << pad) - 1);
                got[last] &= mask;
            }
            let mut w = want.clone();
            for row in 0..img.h as usize {
                let last = row * bpl + bpl - 1;
                w[last] &= !((1u8 << pad) - 1);
            }
            assert_eq!(got, w, "{mode}");
        } else {
            assert_eq!(got, want, "{mode}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn color_jpeg_stays_within_jpeg_error() {
    let app = app(&[]);
    let xml = settings_xml("Platen", "RGB24", 75, "image/jpeg", None);
    let want = expected_page(&request_for(&xml, &[]), 1).unwrap();
    let loc = create(&app, "/eSCL", xml).await;
    let (docs, _) = drain_job(&app, &loc).await;
    let img = decode_jpeg(&docs[0]);
    assert_eq!(img.data.len(), want.len());
    let mean = img
        .data
        .iter()
        .zip(&want)
        .map(|(a, b)| a.abs_diff(*b) as u64)
        .sum::<u64>() as f64
        / want.len() as f64;
    // The chart has hard edges (ruler ticks, line pairs): a few levels on average.
    assert!(mean < 6.0, "mean error {mean:.2}");
}

#[tokio::test(flavor = "multi_thread")]
async fn feeder_job_delivers_every_sheet_then_reads_empty() {
    let opts = [("sheets", "3")];
    let app = app(&opts);
    let xml = settings_xml(
        "Feeder",
        "Grayscale8",
        75,
        "image/png",
        Some((0, 0, 600, 900)),
    );
    let req = request_for(&xml, &opts);
    let loc = create(&app, "/eSCL", xml).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (3, StatusCode::NOT_FOUND));
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(
            decode_png(d).data,
            expected_page(&req, i as u32 + 1).unwrap(),
            "page {}",
            i + 1
        );
    }
    let s = status(&app, "/eSCL").await;
    assert_eq!(
        (&s.state, &s.adf_state),
        (&ScannerState::Idle, &Some(AdfState::Empty))
    );
    assert_eq!(s.job(&loc).unwrap().images_completed, Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn duplex_feeder_pdf_is_one_document_of_both_sides() {
    let opts = [("sheets", "2")];
    let app = app(&opts);
    let xml = settings_xml(
        "Feeder",
        "RGB24",
        75,
        "application/pdf",
        Some((0, 0, 600, 600)),
    )
    .replace(
        "<scan:Duplex>false</scan:Duplex>",
        "<scan:Duplex>true</scan:Duplex>",
    );
    let loc = create(&app, "/eSCL", xml).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(pdf_pages(&docs[0]), 4);
    qpdf_check(&docs[0]);
}

/// A multi-page format is the format's property, not PDF's: a 3-page feeder job asked for
/// as `image/tiff` is one TIFF of three pages, as `application/pdf` one PDF of three pages.
#[tokio::test(flavor = "multi_thread")]
async fn feeder_jobs_in_multi_page_formats_are_one_document() {
    let app = app(&[("sheets", "3")]);
    let region = Some((0, 0, 600, 600));
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "image/tiff", region),
    )
    .await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(&docs[0])).unwrap();
    let mut pages = 1;
    assert_eq!(decoder.dimensions().unwrap(), (150, 150));
    while decoder.more_images() {
        decoder.next_image().unwrap();
        assert_eq!(decoder.dimensions().unwrap(), (150, 150));
        pages += 1;
    }
    assert_eq!(pages, 3);
    tiffinfo_pages(&docs[0], 3);

    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Feeder", "RGB24", 75, "application/pdf", region),
    )
    .await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(pdf_pages(&docs[0]), 3);
    qpdf_check(&docs[0]);
}

/// libtiff's own reading of a TIFF: `tiffinfo` lists one directory per page.
fn tiffinfo_pages(tiff: &[u8], pages: usize) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.tif");
    std::fs::write(&f, tiff).unwrap();
    let out = match std::process::Command::new("tiffinfo").arg(&f).output() {
        Ok(out) => out,
        Err(e) => {
            scanwire_testkit::peer_missing(&format!(
                "the tiffinfo check needs tiffinfo (libtiff-tools): {e}"
            ));
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tiffinfo: {text}");
    assert_eq!(
        text.matches("TIFF Directory at offset").count(),
        pages,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_faults_become_escl_states() {
    // (options, source, pages delivered, final NextDocument status, AdfState, JobState,
    // ScannerState after the job)
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static str,
        usize,
        StatusCode,
        Option<AdfState>,
        JobState,
        ScannerState,
    );
    let cases: [Case; 5] = [
        (
            &[("jam-at-page", "2")],
            "Feeder",
            1,
            StatusCode::CONFLICT,
            Some(AdfState::Jam),
            JobState::Aborted,
            ScannerState::Idle,
        ),
        (
            &[("feeder-empty", "true")],
            "Feeder",
            0,
            StatusCode::CONFLICT,
            Some(AdfState::Empty),
            JobState::Aborted,
            ScannerState::Idle,
        ),
        (
            &[("multi-feed-at-page", "2")],
            "Feeder",
            1,
            StatusCode::CONFLICT,
            Some(AdfState::MultipickDetected),
            JobState::Aborted,
            ScannerState::Idle,
        ),
        (
            &[("cover-open", "true")],
            "Platen",
            0,
            StatusCode::CONFLICT,
            Some(AdfState::Loaded),
            JobState::Aborted,
            ScannerState::Idle,
        ),
        (
            &[("offline", "true")],
            "Platen",
            0,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(AdfState::Loaded),
            JobState::Aborted,
            ScannerState::Down,
        ),
    ];
    for (opts, source, pages, code, adf, state, scanner) in cases {
        let app = app(opts);
        let loc = create(
            &app,
            "/eSCL",
            settings_xml(source, "RGB24", 75, "image/png", Some((0, 0, 300, 300))),
        )
        .await;
        let (docs, end) = drain_job(&app, &loc).await;
        assert_eq!((docs.len(), end), (pages, code), "{opts:?}");
        let s = status(&app, "/eSCL").await;
        // An offline device is Down, as real scanners report it, not Idle.
        assert_eq!(s.state, scanner, "{opts:?}");
        assert_eq!(s.adf_state, adf, "{opts:?}");
        assert_eq!(s.job(&loc).unwrap().job_state, Some(state), "{opts:?}");
        // The device works again afterwards (without the fault, on the flatbed).
        let loc = create(
            &app,
            "/eSCL",
            settings_xml("Platen", "RGB24", 75, "image/png", Some((0, 0, 60, 60))),
        )
        .await;
        let _ = drain_job(&app, &loc).await;
    }
}

/// A feeder job whose client fetched page 1 and walked away is not Completed: its pages were
/// dropped untransferred, so it is Aborted by the system and says how many were left.
#[tokio::test(flavor = "multi_thread")]
async fn a_feeder_job_left_with_pages_unfetched_is_aborted_not_completed() {
    let mut config = ServerConfig::default();
    config.timing.job_timeout = Duration::from_millis(300);
    let app = virtual_app(&[("sheets", "5")], config);
    let xml = settings_xml(
        "Feeder",
        "Grayscale8",
        75,
        "image/png",
        Some((0, 0, 150, 150)),
    );
    let loc = create(&app, "/eSCL", xml).await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let _ = bytes(r).await;
    // The scan ends, the client does not come back.
    wait_status(&app, "/eSCL", Duration::from_secs(5), |s| {
        s.job(&loc).unwrap().images_completed == Some(5)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let s = status(&app, "/eSCL").await;
    let job = s.job(&loc).unwrap();
    assert_eq!(job.job_state, Some(JobState::Aborted), "{job:?}");
    assert_eq!(job.job_state_reasons, vec![JobStateReason::AbortedBySystem]);
    assert_eq!(job.images_to_transfer, Some(4), "{job:?}");
    assert_eq!(
        get(&app, &format!("{loc}/NextDocument")).await.status(),
        StatusCode::GONE
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn paced_page_is_streamed_while_scanned_and_delete_stops_it() {
    // 6 pages per minute: 10 s per page.
    let app = app(&[("ppm", "6")]);
    let loc = create(
        &app,
        "/eSCL",
        settings_xml("Platen", "Grayscale8", 300, "image/jpeg", None),
    )
    .await;
    let r = get(&app, &format!("{loc}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body();
    use http_body_util::BodyExt;
    let t = std::time::Instant::now();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.is_data());
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "bytes arrive before the page is done"
    );
    assert_eq!(delete(&app, &loc).await.status(), StatusCode::OK);
    let took = wait_status(&app, "/eSCL", Duration::from_secs(1), |s| {
        s.state == ScannerState::Idle
    })
    .await;
    assert!(took < Duration::from_secs(1));
    assert!(body.collect().await.is_err());
    let s = status(&app, "/eSCL").await;
    assert_eq!(s.job(&loc).unwrap().job_state, Some(JobState::Canceled));
    let _ = Source::Flatbed;
}
