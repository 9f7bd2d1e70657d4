//! Page processing in served jobs: the eSCL elements real devices advertise for it
//! (`AutoCrop`, `BlankPageDetection`, `BlankPageDetectionAndRemoval`,
//! `BlankPageSensitivitySupport`, `BrightnessSupport`, `ContrastSupport`) advertised and
//! honoured by running Scanwire's stages on the job's pipeline, and the server's own extra
//! stages (`serve --ocr`: searchable PDFs) fetched over eSCL and read by pdftotext.

mod common;

use axum::http::StatusCode;
use common::ocr::Ocr;
use common::*;
use scanwire_codecs::Format;
use scanwire_core::transfer::CancelHandle;
use scanwire_escl::{Document, Range, ScannerCapabilities};
use scanwire_ocr::{OcrConfig, OcrPool};
use scanwire_server::{
    router, JobStages, PageImage, ServerConfig, ServerState, Stage, StageError, Stages,
};
use scanwire_testkit::peer_missing;
use std::sync::Arc;

fn have(program: &str, arg: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok();
    if !ok {
        peer_missing(&format!("needs {program}"));
    }
    ok
}

/// `pdftotext -layout` of a PDF.
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&f)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A feeder job asked for as PDF over eSCL, from a server with OCR stages, comes back
/// searchable: pdftotext finds each page's printed heading ("PAGE 1", "PAGE 2" in the
/// virtual scanner's chart) on its page. Without the stages the same job has no text.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_with_ocr_serves_searchable_pdfs() {
    if !have("pdftotext", "-v") {
        return;
    }
    let pool = match OcrPool::new(&OcrConfig::new("eng").unwrap(), 2) {
        Ok(p) => Arc::new(p),
        Err(e) => return peer_missing(&format!("needs Tesseract with English ({e})")),
    };
    // The top 2 inches of the sheet, where the chart prints its page heading, at 300 dpi.
    let xml = settings_xml(
        "Feeder",
        "Grayscale8",
        300,
        "application/pdf",
        Some((0, 0, 2550, 600)),
    );
    let config = ServerConfig {
        job_stages: Some(Arc::new(Ocr(pool))),
        ..ServerConfig::default()
    };
    let app = virtual_app(&[("sheets", "2")], config);
    let loc = create(&app, "/eSCL", xml.clone()).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(pdf_pages(&docs[0]), 2);
    qpdf_check(&docs[0]);
    let text = pdftotext(&docs[0]);
    let pages: Vec<&str> = text.split('\u{c}').collect();
    for (i, page) in pages.iter().take(2).enumerate() {
        // The chart's 5x7 block font: Tesseract may read the gap as no space at all.
        let heading = format!("PAGE{}", i + 1);
        let squeezed: String = page.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            squeezed.contains(&heading),
            "page {}: {heading:?} not found in {page:?}",
            i + 1
        );
    }
    // The same job without OCR: an image-only PDF.
    let app = virtual_app(&[("sheets", "2")], ServerConfig::default());
    let loc = create(&app, "/eSCL", xml).await;
    let (docs, _) = drain_job(&app, &loc).await;
    assert!(!pdftotext(&docs[0]).contains("PAGE"));
}

/// Every device is advertised with the processing elements, in the ranges the HP and
/// Brother devices use.
#[tokio::test(flavor = "multi_thread")]
async fn capabilities_advertise_the_processing_elements() {
    let app = virtual_app(&[], ServerConfig::default());
    for root in ["/eSCL", "/eSCL/virtual"] {
        let r = get(&app, &format!("{root}/ScannerCapabilities")).await;
        let xml = text(r).await;
        let caps = ScannerCapabilities::from_xml(xml.as_bytes()).unwrap();
        assert_eq!(caps.auto_crop, Some(true));
        assert_eq!(caps.blank_page_detection_and_removal, Some(true));
        assert_eq!(caps.blank_page_detection, Some(true));
        let range = |min, max, normal| {
            Some(Range {
                min,
                max,
                normal: Some(normal),
                step: Some(1),
            })
        };
        assert_eq!(caps.blank_page_sensitivity_support, range(0, 255, 128));
        assert_eq!(caps.brightness_support, range(0, 2000, 1000));
        assert_eq!(caps.contrast_support, range(0, 2000, 1000));
        // Literal prefixes, as sane-airscan reads them.
        assert!(xml.contains("<scan:BlankPageSensitivitySupport>"), "{xml}");
        assert!(xml.contains("<scan:AutoCrop>true</scan:AutoCrop>"), "{xml}");
    }
}

/// A feeder ScanSettings as HP's client writes it (`escl:` prefix, DocumentFormatExt only),
/// with `extra` elements added.
fn hp_feeder_settings(format: &str, extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<escl:ScanSettings xmlns:pwg="{PWG}" xmlns:escl="{ESCL}">
    <pwg:Version>2.5</pwg:Version>
    <escl:Intent>Document</escl:Intent>
    <pwg:ScanRegions pwg:MustHonor="false"><pwg:ScanRegion>
        <pwg:Height>3300</pwg:Height><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
        <pwg:Width>2550</pwg:Width><pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset>
    </pwg:ScanRegion></pwg:ScanRegions>
    <escl:DocumentFormatExt>{format}</escl:DocumentFormatExt>
    <pwg:InputSource>Feeder</pwg:InputSource>
    <escl:XResolution>75</escl:XResolution>
    <escl:YResolution>75</escl:YResolution>
    <escl:ColorMode>Grayscale8</escl:ColorMode>
    {extra}
</escl:ScanSettings>"#
    )
}

/// Five sheets, the second and fourth blank paper (texture, noise, a punched hole): with
/// `BlankPageDetectionAndRemoval` the served PDF has three pages and a JPEG job three
/// documents; without it, five.
#[tokio::test(flavor = "multi_thread")]
async fn blank_page_removal_drops_the_blank_sheets() {
    let opts = [("sheets", "5"), ("blank-sheets", "2,4")];
    let app = virtual_app(&opts, ServerConfig::default());
    let remove = "<escl:BlankPageDetectionAndRemoval>true</escl:BlankPageDetectionAndRemoval>";
    for (extra, pages) in [("", 5), (remove, 3)] {
        let loc = create(&app, "/eSCL", hp_feeder_settings("application/pdf", extra)).await;
        let (docs, end) = drain_job(&app, &loc).await;
        assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND), "{extra}");
        assert_eq!(pdf_pages(&docs[0]), pages, "{extra}");
        qpdf_check(&docs[0]);
        let loc = create(&app, "/eSCL", hp_feeder_settings("image/jpeg", extra)).await;
        let (docs, end) = drain_job(&app, &loc).await;
        assert_eq!((docs.len(), end), (pages, StatusCode::NOT_FOUND), "{extra}");
        for d in &docs {
            let img = decode_jpeg(d);
            assert_eq!((img.w, img.h), (638, 825));
        }
        let loc = create(&app, "/eSCL", hp_feeder_settings("image/tiff", extra)).await;
        let (docs, _) = drain_job(&app, &loc).await;
        let mut tiff = tiff::decoder::Decoder::new(std::io::Cursor::new(&docs[0])).unwrap();
        let mut n = 1;
        while tiff.more_images() {
            tiff.next_image().unwrap();
            n += 1;
        }
        assert_eq!(n, pages, "TIFF {extra}");
        // The job completed, and the device is free for the next one.
        let s = status(&app, "/eSCL").await;
        assert_eq!(s.state, scanwire_escl::ScannerState::Idle);
    }
    // The most sensitive setting still keeps the printed sheets; 0 (least sensitive) too.
    for sensitivity in [0, 255] {
        let extra =
            format!("{remove}<escl:BlankPageSensitivity>{sensitivity}</escl:BlankPageSensitivity>");
        let loc = create(&app, "/eSCL", hp_feeder_settings("application/pdf", &extra)).await;
        let (docs, _) = drain_job(&app, &loc).await;
        assert_eq!(pdf_pages(&docs[0]), 3, "sensitivity {sensitivity}");
    }
}

/// `AutoCrop`: an A5 sheet lying 3° turned on the dark lid of the glass comes back as the
/// sheet, straightened, not the glass (A5 at 75 dpi is 437 x 620; the glass 638 x 877; the
/// turned sheet's bounding box 469 x 642).
#[tokio::test(flavor = "multi_thread")]
async fn auto_crop_cuts_the_sheet_out_of_the_glass() {
    let opts = [("paper", "a5"), ("lid", "dark"), ("skew", "3")];
    let app = virtual_app(&opts, ServerConfig::default());
    let xml = |extra: &str| {
        settings_xml("Platen", "Grayscale8", 75, "image/png", None).replace(
            "</scan:ScanSettings>",
            &format!("{extra}</scan:ScanSettings>"),
        )
    };
    let loc = create(&app, "/eSCL", xml("")).await;
    let (docs, _) = drain_job(&app, &loc).await;
    let glass = decode_png(&docs[0]);
    let loc = create(&app, "/eSCL", xml("<scan:AutoCrop>true</scan:AutoCrop>")).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    let sheet = decode_png(&docs[0]);
    assert!(
        glass.w >= 637 && glass.h >= 876,
        "{} x {}",
        glass.w,
        glass.h
    );
    // Within 2 % of A5 (148 x 210 mm) at 75 dpi.
    let near = |v: u32, want: f64| (v as f64 - want).abs() <= want * 0.02;
    assert!(
        near(sheet.w, 437.0) && near(sheet.h, 620.0),
        "cropped to {} x {}",
        sheet.w,
        sheet.h
    );
    // ScanImageInfo tells the size served, not the glass scanned.
    let r = get(&app, &format!("{loc}/ScanImageInfo")).await;
    let info = scanwire_escl::ScanImageInfo::from_xml(&bytes(r).await).unwrap();
    assert_eq!((info.actual_width, info.actual_height), (sheet.w, sheet.h));
}

/// `Brightness` at its maximum (WIA +1000) turns the chart's mid-gray to white: the page
/// is brighter than the same page at Normal; `Contrast` 0 (WIA −1000) flattens it to
/// mid-gray. Values outside the advertised range are a 409 naming it.
#[tokio::test(flavor = "multi_thread")]
async fn brightness_and_contrast_change_the_page_and_are_range_checked() {
    let app = virtual_app(&[], ServerConfig::default());
    let region = Some((0, 0, 600, 600));
    let page = |extra: &'static str| {
        let app = app.clone();
        async move {
            let xml = settings_xml("Platen", "Grayscale8", 75, "image/png", region).replace(
                "</scan:ScanSettings>",
                &format!("{extra}</scan:ScanSettings>"),
            );
            let loc = create(&app, "/eSCL", xml).await;
            let (docs, _) = drain_job(&app, &loc).await;
            decode_png(&docs[0])
        }
    };
    let mean =
        |img: &Image| img.data.iter().map(|&v| v as f64).sum::<f64>() / img.data.len() as f64;
    let normal = page("<scan:Brightness>1000</scan:Brightness>").await;
    let bright = page("<scan:Brightness>2000</scan:Brightness>").await;
    let flat = page("<scan:Contrast>0</scan:Contrast>").await;
    assert!(
        mean(&bright) > mean(&normal) + 20.0,
        "{} vs {}",
        mean(&bright),
        mean(&normal)
    );
    assert!(
        flat.data.iter().all(|&v| (126..=129).contains(&v)),
        "flattened to mid-gray"
    );
    for bad in [
        "<scan:Brightness>2001</scan:Brightness>",
        "<scan:Contrast>-1</scan:Contrast>",
        "<scan:BlankPageDetectionAndRemoval>true</scan:BlankPageDetectionAndRemoval><scan:BlankPageSensitivity>300</scan:BlankPageSensitivity>",
    ] {
        let xml = settings_xml("Platen", "Grayscale8", 75, "image/png", region)
            .replace("</scan:ScanSettings>", &format!("{bad}</scan:ScanSettings>"));
        let r = post(&app, "/eSCL/ScanJobs", "text/xml", xml).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{bad}");
        assert!(reason(&r).contains("out of range; allowed: 0.."), "{}", reason(&r));
    }
}

/// A served device that does processing itself (an eSCL scanner behind `serve`) is asked
/// for its part in the request; only the rest runs as the job's stages.
#[tokio::test(flavor = "multi_thread")]
async fn what_the_served_device_does_itself_goes_into_its_request() {
    use scanwire_core::device::{BlankPages, DeviceProcessing, LevelRange};
    let mut scanner = device::TestScanner::new("hp");
    scanner.caps.processing = DeviceProcessing {
        blank_removal: true,
        brightness: LevelRange::new(0, 2000, Some(1000), Some(1)),
        ..DeviceProcessing::default()
    };
    let log = scanner.log();
    let state = ServerState::new(
        ServerConfig::default(),
        vec![("hp".into(), device::shared(scanner))],
    )
    .expect("state");
    let app = router(state);
    let extra = "<escl:BlankPageDetectionAndRemoval>true</escl:BlankPageDetectionAndRemoval>\
                 <escl:Brightness>1200</escl:Brightness><escl:Contrast>1500</escl:Contrast>";
    let loc = create(&app, "/eSCL", hp_feeder_settings("image/jpeg", extra)).await;
    let (docs, end) = drain_job(&app, &loc).await;
    // The test scanner's three sheets: it removes nothing itself (none is blank).
    assert_eq!((docs.len(), end), (3, StatusCode::NOT_FOUND));
    let request = log.lock().unwrap().last_request.clone().unwrap();
    assert_eq!(request.processing.blank_pages, BlankPages::Remove);
    assert_eq!(request.processing.brightness, Some(200));
    // Contrast is not the device's: it ran here.
    assert_eq!(request.processing.contrast, None);
}

/// The elements in the default namespace, as Foxlink's client for its eSCL sheet feeders
/// writes them: honoured the same.
#[tokio::test(flavor = "multi_thread")]
async fn default_namespace_requests_are_honoured() {
    let app = virtual_app(
        &[("sheets", "3"), ("blank-sheets", "2")],
        ServerConfig::default(),
    );
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ScanSettings xmlns="{ESCL}"><Version xmlns="{PWG}">2.6</Version><XResolution>75</XResolution><YResolution>75</YResolution><DocumentFormatExt>application/pdf</DocumentFormatExt><InputSource xmlns="{PWG}">Feeder</InputSource><ColorMode>Grayscale8</ColorMode><Duplex>false</Duplex><BlankPageDetectionAndRemoval>true</BlankPageDetectionAndRemoval><BlankPageSensitivity>128</BlankPageSensitivity></ScanSettings>"#
    );
    let loc = create(&app, "/eSCL", xml).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (1, StatusCode::NOT_FOUND));
    assert_eq!(pdf_pages(&docs[0]), 2);
}

/// `BlankPageDetection` alone: every page is delivered, and `ScanImageInfo` after each says
/// whether it was blank (go-mfp's `BlankPageDetected`).
#[tokio::test(flavor = "multi_thread")]
async fn blank_page_detection_delivers_every_page_and_says_which_were_blank() {
    let app = virtual_app(
        &[("sheets", "3"), ("blank-sheets", "2")],
        ServerConfig::default(),
    );
    let xml = hp_feeder_settings(
        "image/jpeg",
        "<escl:BlankPageDetection>true</escl:BlankPageDetection>",
    );
    let loc = create(&app, "/eSCL", xml).await;
    let mut blank = Vec::new();
    loop {
        let r = get(&app, &format!("{loc}/NextDocument")).await;
        if r.status() != StatusCode::OK {
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            break;
        }
        decode_jpeg(&bytes(r).await);
        let r = get(&app, &format!("{loc}/ScanImageInfo")).await;
        let xml = text(r).await;
        assert!(xml.contains("<scan:BlankPageDetected>"), "{xml}");
        let info = scanwire_escl::ScanImageInfo::from_xml(xml.as_bytes()).unwrap();
        blank.push(info.blank_page_detected.unwrap());
    }
    assert_eq!(blank, [false, true, false]);
}

/// A job stage that holds one page (driver page `page`) for `hold`, as a slow stage (OCR
/// on a busy machine) would.
#[derive(Debug)]
struct SlowPage {
    page: u32,
    hold: std::time::Duration,
}

struct HoldPage {
    page: u32,
    hold: std::time::Duration,
}

impl Stage for HoldPage {
    fn name(&self) -> &str {
        "hold-page"
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        if page.page.number == self.page {
            std::thread::sleep(self.hold);
        }
        Ok(vec![page])
    }
}

impl JobStages for SlowPage {
    fn stages(&self, _format: Format, _cancel: &CancelHandle) -> Stages {
        vec![Arc::new(HoldPage {
            page: self.page,
            hold: self.hold,
        })]
    }
}

/// A staged job's last page still in its stage when the client asks for it, while the driver
/// winds down: it is served, in order, before the 404. Every `NextDocument` of a running job
/// used to build the job a new page pipeline, so the job waited on one that held none of
/// its pages and announced the end while the last page was still being processed.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_last_page_of_a_staged_job_is_served_before_the_end() {
    let scanner = device::TestScanner::new("hp");
    let config = ServerConfig {
        // The driver takes a while to end after the last page: the client's third
        // `NextDocument` comes while the job is still running.
        request_options: [("end_delay_ms".to_string(), "1000".to_string())]
            .into_iter()
            .collect(),
        // The last page leaves its stage only after the transfer has ended.
        job_stages: Some(Arc::new(SlowPage {
            page: 3,
            hold: std::time::Duration::from_millis(2000),
        })),
        ..ServerConfig::default()
    };
    let state =
        ServerState::new(config, vec![("hp".into(), device::shared(scanner))]).expect("state");
    let app = router(state);
    let loc = create(&app, "/eSCL", hp_feeder_settings("image/png", "")).await;
    let (docs, end) = drain_job(&app, &loc).await;
    assert_eq!((docs.len(), end), (3, StatusCode::NOT_FOUND));
    for (i, doc) in docs.iter().enumerate() {
        check_picture(&decode_png(doc), i as u32 + 1, 0, 0, 0.0);
    }
}
