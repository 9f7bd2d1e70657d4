//! The driver against the test-side WS-Scan responder on 127.0.0.1: flatbed and feeder
//! jobs, duplex, cancel, faults, malformed answers, slow and dropped connections.

mod common;

use common::{jpeg, png_gray, Answer, Plan, Responder};
use scanwire_core::device::{
    ColorMode, Device, DeviceErrorKind, Encoding, PageData, PixelFormat, ScanRequest, Side, Source,
};
use scanwire_core::transfer::Script;
use scanwire_core::wia;
use scanwire_wsd::{
    ColorEntry, DeviceCondition, Fault, Format, InputSource, JobState, ScannerState, ScannerStatus,
    Size,
};
use std::time::Duration;

fn request(source: Source, encoding: Option<Encoding>) -> ScanRequest {
    ScanRequest {
        source,
        resolution: 300,
        encoding,
        ..ScanRequest::default()
    }
}

fn images(n: usize) -> Vec<Answer> {
    (0..n)
        .map(|i| Answer::Image(jpeg(40 + i as u16, 30), "image/jpeg"))
        .collect()
}

fn status_with(condition: &str) -> ScannerStatus {
    ScannerStatus {
        time: None,
        state: ScannerState::Stopped,
        reasons: vec![],
        conditions: vec![DeviceCondition {
            name: condition.into(),
            component: Some("ADF".into()),
        }],
    }
}

#[test]
fn flatbed_jpeg_passes_through_untouched() {
    let image = jpeg(64, 48);
    let r = Responder::start(Plan {
        images: vec![Answer::Image(image.clone(), "image/jpeg")],
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Flatbed, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    let pages = rec.complete_pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].info.data, PageData::Encoded(Encoding::Jpeg));
    assert_eq!(pages[0].data, image, "the scanner's JPEG, byte for byte");
    assert_eq!(
        r.ops(),
        [
            "GetScannerElementsRequest",
            "CreateScanJobRequest",
            "RetrieveImageRequest"
        ]
    );
    // The ticket: jfif (preferred over exif), platen, one image, 300 dpi RGB24, the region in
    // thousandths of an inch within the portrait maximum (8504 × 14016).
    let t = &r.tickets()[0].params;
    assert_eq!(t.format, Some(Format::Jfif));
    assert_eq!(t.input_source, Some(InputSource::Platen));
    assert_eq!(t.images_to_transfer, Some(1));
    let front = t.front.as_ref().unwrap();
    assert_eq!(front.color, Some(ColorEntry::Rgb24));
    assert_eq!(front.resolution, Some(Size::new(300, 300)));
    let region = front.region.unwrap();
    assert_eq!((region.width, region.height), (8504, 14016));
    assert!(t.back.is_none());
    assert!(!r.busy());
}

#[test]
fn raw_rows_are_decoded_from_png_and_jpeg() {
    let r = Responder::start(Plan {
        images: vec![Answer::Image(png_gray(33, 21), "image/png")],
        ..Plan::default()
    });
    let req = ScanRequest {
        mode: ColorMode::Gray,
        ..request(Source::Flatbed, None)
    };
    let (outcome, rec) = r.scan(&req, Script::default());
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    let p = &rec.complete_pages()[0];
    assert_eq!(
        p.info.data,
        PageData::Raster {
            pixel: PixelFormat::Gray8,
            width: 33,
            height: Some(21)
        }
    );
    assert_eq!(p.data.len(), 33 * 21);
    assert_eq!(r.tickets()[0].params.format, Some(Format::Png));

    // A scanner JPEG decoded to RGB rows (a Color request with PNG would ask PNG; answer
    // JPEG anyway: the bytes decide).
    r.replan(vec![Answer::Image(jpeg(20, 10), "image/jpeg")]);
    let (outcome, rec) = r.scan(&request(Source::Flatbed, None), Script::default());
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    let p = &rec.complete_pages()[0];
    assert_eq!(p.data.len(), 20 * 10 * 3);
}

#[test]
fn feeder_fetches_images_until_no_images_available() {
    let r = Responder::start(Plan {
        images: images(3),
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Feeder, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!(rec.complete_pages().len(), 3);
    assert_eq!(
        r.count("RetrieveImageRequest"),
        4,
        "three images and the end"
    );
    assert_eq!(
        r.count("CancelJobRequest"),
        0,
        "the job ended at the device"
    );
    let t = &r.tickets()[0].params;
    assert_eq!(t.input_source, Some(InputSource::Adf));
    assert_eq!(t.images_to_transfer, Some(0));
    assert!(!r.busy());
}

#[test]
fn duplex_images_alternate_sides() {
    let r = Responder::start(Plan {
        images: images(4),
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::FeederDuplex, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    let sides: Vec<(u32, Side)> = rec
        .complete_pages()
        .iter()
        .map(|p| (p.info.sheet, p.info.side))
        .collect();
    assert_eq!(
        sides,
        [
            (1, Side::Front),
            (1, Side::Back),
            (2, Side::Front),
            (2, Side::Back)
        ]
    );
    let t = &r.tickets()[0].params;
    assert_eq!(t.input_source, Some(InputSource::AdfDuplex));
    assert!(t.back.is_some(), "MediaBack for duplex");
}

#[test]
fn enough_pages_stop_the_feeder_with_cancel_job() {
    let r = Responder::start(Plan {
        images: images(5),
        ..Plan::default()
    });
    let req = ScanRequest {
        pages: Some(2),
        ..request(Source::Feeder, Some(Encoding::Jpeg))
    };
    let (outcome, rec) = r.scan(&req, Script::default());
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!(rec.complete_pages().len(), 2);
    assert_eq!(r.count("CancelJobRequest"), 1);
    assert_eq!(r.tickets()[0].params.images_to_transfer, Some(2));
    assert!(!r.busy(), "the device is idle after the job");
}

#[test]
fn cancel_sends_cancel_job_and_the_next_scan_works() {
    let r = Responder::start(Plan {
        images: images(4),
        ..Plan::default()
    });
    let script = Script {
        cancel_at_page: Some(2),
        ..Script::default()
    };
    let (outcome, rec) = r.scan(&request(Source::Feeder, Some(Encoding::Jpeg)), script);
    assert_eq!(outcome.result, wia::S_FALSE, "{:?}", outcome.error);
    assert_eq!(
        rec.complete_pages().len(),
        1,
        "the page before the cancel is kept"
    );
    assert_eq!(r.count("CancelJobRequest"), 1);
    assert!(!r.busy(), "CancelJob left the device idle");
    let (outcome, rec) = r.scan(
        &request(Source::Feeder, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!(rec.complete_pages().len(), 4);
}

#[test]
fn a_jam_mid_batch_keeps_the_pages_before() {
    let mut answers = images(1);
    answers.push(Answer::Fault(Fault::receiver(
        "ServerErrorInternalError",
        "scan failed",
    )));
    let r = Responder::start(Plan {
        images: answers,
        status: Some(status_with("MediaJam")),
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Feeder, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(
        outcome.result,
        wia::WIA_ERROR_PAPER_JAM,
        "{:?}",
        outcome.error
    );
    assert_eq!(rec.complete_pages().len(), 1);
    assert_eq!(r.count("CancelJobRequest"), 1);
    assert!(!r.busy());
}

#[test]
fn an_empty_feeder_is_feeder_empty() {
    let r = Responder::start(Plan {
        status: Some(status_with("InputTrayEmpty")),
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Feeder, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(
        outcome.result,
        wia::WIA_ERROR_PAPER_EMPTY,
        "{:?}",
        outcome.error
    );
    assert!(rec.complete_pages().is_empty());
    assert!(!r.busy());
}

#[test]
fn a_rejected_ticket_names_the_devices_reason() {
    let r = Responder::start(Plan {
        create_faults: vec![Fault::sender(
            "InvalidArgs",
            "Resolution 300 is not valid with ADFDuplex",
        )],
        ..Plan::default()
    });
    let (outcome, _) = r.scan(
        &request(Source::Flatbed, Some(Encoding::Jpeg)),
        Script::default(),
    );
    let e = outcome.error.unwrap();
    assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
    assert!(
        e.detail()
            .contains("Sender/InvalidArgs: Resolution 300 is not valid with ADFDuplex"),
        "{e}"
    );
}

#[test]
fn a_busy_scanner_is_retried() {
    let r = Responder::start(Plan {
        create_faults: vec![Fault::receiver("ServerErrorNotAcceptingJobs", "busy")],
        images: images(1),
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Flatbed, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!(rec.complete_pages().len(), 1);
    assert_eq!(r.count("CreateScanJobRequest"), 2);
}

#[test]
fn a_job_cancelled_at_the_panel_is_a_cancel() {
    let r = Responder::start(Plan {
        images: vec![Answer::Fault(Fault::receiver(
            "ServerErrorInternalError",
            "stopped",
        ))],
        job_state: Some((JobState::Canceled, vec!["JobCanceledAtDevice".into()])),
        ..Plan::default()
    });
    let (outcome, _) = r.scan(
        &request(Source::Flatbed, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_FALSE, "{:?}", outcome.error);
}

fn broken_second_image(second: Answer, words: &str) {
    let mut answers = images(1);
    answers.push(second);
    let r = Responder::start(Plan {
        images: answers,
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Feeder, Some(Encoding::Jpeg)),
        Script::default(),
    );
    let e = outcome.error.expect("an error");
    assert_eq!(e.kind(), DeviceErrorKind::Communication, "{e}");
    assert!(e.detail().contains(words), "{e}");
    assert_eq!(rec.complete_pages().len(), 1, "the page before is kept");
    assert_eq!(r.count("CancelJobRequest"), 1, "the job is cancelled");
    assert!(!r.busy());
}

#[test]
fn malformed_soap_is_a_clear_error() {
    broken_second_image(
        Answer::Raw(
            "application/soap+xml".into(),
            b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>".to_vec(),
        ),
        "a message that does not parse: malformed XML",
    );
}

fn multipart(parts: &[(&str, &[u8])], close: bool) -> Vec<u8> {
    let mut b = Vec::new();
    for (id, body) in parts {
        b.extend_from_slice(format!("--B\r\nContent-ID: <{id}>\r\n\r\n").as_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(b"\r\n");
    }
    if close {
        b.extend_from_slice(b"--B--\r\n");
    }
    b
}

const ROOT: &[u8] = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:scan="http://schemas.microsoft.com/windows/2006/08/wdp/scan" xmlns:xop="http://www.w3.org/2004/08/xop/include"><s:Body><scan:RetrieveImageResponse><scan:ScanData><xop:Include href="cid:img"/></scan:ScanData></scan:RetrieveImageResponse></s:Body></s:Envelope>"#;
const CT: &str = "multipart/related; type=\"application/xop+xml\"; boundary=B; start=\"<root>\"";

#[test]
fn a_missing_xop_part_is_a_clear_error() {
    let img = jpeg(8, 8);
    broken_second_image(
        Answer::Raw(
            CT.into(),
            multipart(&[("root", ROOT), ("other", &img)], true),
        ),
        "xop:Include names cid:img, but no part has that Content-ID",
    );
}

#[test]
fn a_duplicated_xop_part_is_a_clear_error() {
    let img = jpeg(8, 8);
    broken_second_image(
        Answer::Raw(
            CT.into(),
            multipart(&[("root", ROOT), ("img", &img), ("img", &img)], true),
        ),
        "parts 2 and 3 both have Content-ID <img>",
    );
}

#[test]
fn a_truncated_multipart_is_a_clear_error() {
    let img = jpeg(8, 8);
    broken_second_image(
        Answer::Raw(
            CT.into(),
            multipart(&[("root", ROOT), ("img", &img)], false),
        ),
        "it is truncated",
    );
}

#[test]
fn a_dropped_connection_is_a_clear_error() {
    let img = jpeg(200, 200);
    let cut = img.len() / 2;
    broken_second_image(Answer::Dropped(img, cut), "broke off");
}

#[test]
fn rows_go_on_while_the_image_arrives_and_a_broken_one_is_not_kept() {
    let (w, h) = (1000u32, 1200u32);
    let big = png_gray(w, h);
    let r = Responder::start(Plan {
        images: vec![
            Answer::Image(png_gray(40, 30), "image/png"),
            Answer::Dropped(big.clone(), big.len() / 2),
        ],
        ..Plan::default()
    });
    let req = ScanRequest {
        mode: ColorMode::Gray,
        ..request(Source::Feeder, None)
    };
    let (outcome, rec) = r.scan(&req, Script::default());
    let e = outcome.error.expect("an error");
    assert_eq!(e.kind(), DeviceErrorKind::Communication, "{e}");
    assert!(e.detail().contains("broke off"), "{e}");
    assert_eq!(rec.complete_pages().len(), 1, "the page before is kept");
    // The broken image's page was opened and got rows before its answer broke off: they
    // were decoded as they arrived, not after the whole answer.
    let broken = &rec.pages[1];
    assert_ne!(broken.closed, Some(wia::S_OK));
    let full = (w * h) as usize;
    assert!(
        !broken.data.is_empty() && broken.data.len() < full,
        "{} of {full} bytes",
        broken.data.len()
    );
    assert_eq!(r.count("CancelJobRequest"), 1, "the job is cancelled");
    assert!(!r.busy());
    rec.check_grammar().unwrap();
}

#[test]
fn a_duplicated_xop_part_after_a_png_is_refused_and_its_page_not_kept() {
    let img = png_gray(64, 48);
    let mut answers = vec![Answer::Image(png_gray(40, 30), "image/png")];
    answers.push(Answer::Raw(
        CT.into(),
        multipart(&[("root", ROOT), ("img", &img), ("img", b"x")], true),
    ));
    let r = Responder::start(Plan {
        images: answers,
        ..Plan::default()
    });
    let req = ScanRequest {
        mode: ColorMode::Gray,
        ..request(Source::Feeder, None)
    };
    let (outcome, rec) = r.scan(&req, Script::default());
    let e = outcome.error.expect("an error");
    assert!(
        e.detail()
            .contains("parts 2 and 3 both have Content-ID <img>"),
        "{e}"
    );
    // Image 2's rows may have gone on before the third part came (when the answer arrives
    // in pieces), but its page is not kept: the answer was refused.
    assert_eq!(rec.complete_pages().len(), 1);
    assert!(rec.pages.get(1).is_none_or(|p| p.closed != Some(wia::S_OK)));
    assert_eq!(r.count("CancelJobRequest"), 1);
    assert!(!r.busy());
}

#[test]
fn a_slow_answer_still_arrives() {
    let r = Responder::start(Plan {
        images: vec![Answer::Slow(
            Duration::from_secs(2),
            Box::new(Answer::Image(jpeg(16, 16), "image/jpeg")),
        )],
        ..Plan::default()
    });
    let (outcome, rec) = r.scan(
        &request(Source::Flatbed, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!(rec.complete_pages().len(), 1);
}

#[test]
fn an_unreachable_scanner_fails_at_open() {
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = scanwire_wsd_client::WsdDevice::open(&format!("http://127.0.0.1:{port}/WSDScanner"))
        .unwrap_err();
    assert_eq!(e.kind(), DeviceErrorKind::Offline, "{e}");
    let e = scanwire_wsd_client::WsdDevice::open("https://127.0.0.1/WSDScanner").unwrap_err();
    assert!(e.detail().contains("only http:// is supported"), "{e}");
}

#[test]
fn the_kyocera_elements_map_right() {
    let Some(xml) = common::kyocera() else {
        return;
    };
    let image = jpeg(32, 32);
    let r = Responder::start(Plan {
        elements_xml: Some(xml),
        images: vec![Answer::Image(image.clone(), "image/jpeg")],
        ..Plan::default()
    });
    let mut device = r.open();
    let caps = device.capabilities().unwrap();
    assert_eq!(caps.model, "ECOSYS M2040dn");
    let sources: Vec<Source> = caps.sources.iter().map(|s| s.source).collect();
    assert_eq!(
        sources,
        [Source::Flatbed, Source::Feeder, Source::FeederDuplex]
    );
    let flatbed = caps.source(Source::Flatbed).unwrap();
    // 14016 × 8504 thousandths written landscape: 8.504 × 14.016 in, portrait.
    assert_eq!(flatbed.max_area.width.0, 216_002);
    assert_eq!(flatbed.max_area.height.0, 356_006);
    assert_eq!(
        flatbed.resolutions,
        scanwire_core::device::Resolutions::Discrete(vec![200, 300, 400, 600])
    );
    assert_eq!(
        flatbed.modes,
        [ColorMode::Lineart, ColorMode::Gray, ColorMode::Color]
    );
    assert!(flatbed.encodings.contains(&Encoding::Jpeg));
    assert!(flatbed.encodings.contains(&Encoding::Pdf));
    assert!(!flatbed.encodings.contains(&Encoding::Png));
    // It sends no PNG: raw lineart cannot be had from it, and says so.
    let req = ScanRequest {
        mode: ColorMode::Lineart,
        ..request(Source::Flatbed, None)
    };
    let (outcome, _) = r.scan(&req, Script::default());
    assert_eq!(outcome.error.unwrap().kind(), DeviceErrorKind::Unsupported);
    let (outcome, rec) = r.scan(
        &request(Source::Flatbed, Some(Encoding::Jpeg)),
        Script::default(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert_eq!(rec.complete_pages()[0].data, image);
    assert_eq!(r.tickets()[0].params.format, Some(Format::Jfif));
}
