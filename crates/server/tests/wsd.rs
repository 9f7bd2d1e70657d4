//! The WS-Scan service (`ServerConfig::wsd`): its answers on the wire, and interop with a
//! real client nobody here wrote, sane-airscan's WSD client through `scanimage`, against the
//! server on 127.0.0.1 serving the virtual scanner. Every page is checked against the virtual
//! scanner's own renderer.
//!
//! Without scanimage or sane-airscan the interop tests are skipped with a note, unless
//! SCANWIRE_REQUIRE_PEERS=1 (CI), where they fail.

mod common;

use common::peers::{self, http, scanimage_ok, Pnm, Recorded, SaneConfig, Served};
use scanwire_core::device::*;
use scanwire_core::transfer::share;
use scanwire_server::{BlockingServer, ServerConfig};
use scanwire_virtual::{expected_page, VirtualDevice};
use scanwire_wsd::{
    read_message, Body, ColorEntry, DocumentParameters, Envelope, Format, Header, InputSource,
    JobState, Limits as WsdLimits, MediaSide, ScanTicket, ScannerState, Size,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The eSCL server with its WS-Scan service, on a free loopback port.
fn serve(options: &[(&str, &str)]) -> Served {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        wsd: true,
        ..ServerConfig::default()
    };
    Served::start(config, options)
}

/// What the WS-Scan tests ask of the server.
trait Wsd {
    fn soap(&self, body: Body) -> (u16, Body);
    fn wsd_state(&self) -> ScannerState;
}

impl Wsd for Served {
    /// One WS-Scan exchange: the HTTP status and the answer's body.
    fn soap(&self, body: Body) -> (u16, Body) {
        let env = Envelope::new(Header::request(&self.server.wsd_url(), &body), body);
        let (code, head, bytes) = http(self.addr(), "POST", "/WSDScanner", &env.to_xml());
        let ct = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default();
        let msg = read_message(Some(&ct), &bytes, &WsdLimits::DEFAULT)
            .unwrap_or_else(|e| panic!("{e}: {head}"));
        (code, msg.envelope.body)
    }

    fn wsd_state(&self) -> ScannerState {
        match self.soap(Body::GetScannerElementsRequest(
            vec!["ScannerStatus".into()],
        )) {
            (200, Body::GetScannerElementsResponse(e)) => e.status.expect("status").state,
            other => panic!("{other:?}"),
        }
    }
}

const AIRSCAN: &str = "airscan:w0:Scanwire";

/// Compares a scanimage PNM with page `n` of `req`, at `(x0, y0)` pixels into the page
/// (sane-airscan crops a WSD region itself when the scanner sends more). Its window may
/// differ from ours by a pixel of rounding: the offset may be off by one, and the image must
/// match exactly at one of those offsets.
fn check_page(img: &Pnm, req: &ScanRequest, n: u32, x0: u32, y0: u32) {
    let want = expected_page(req, n).unwrap();
    let caps = scanwire_virtual::options::capabilities();
    let area = req.effective_area(&caps).unwrap();
    let (w, h) = (
        area.width.to_pixels(req.resolution),
        area.height.to_pixels(req.resolution),
    );
    let pixel = PixelFormat::for_mode(req.mode);
    let want_bpl = pixel.bytes_per_line(w);
    let ch = pixel.channels() as usize;
    let candidates = |v: u32| [v, v.saturating_sub(1), v + 1];
    for dx in candidates(x0) {
        for dy in candidates(y0) {
            if img.w + dx > w + 1 || img.h + dy > h + 1 {
                continue;
            }
            let cols = img.w.min(w.saturating_sub(dx)) as usize;
            let rows = img.h.min(h.saturating_sub(dy)) as usize;
            let same = (0..rows).all(|y| {
                let got = &img.data[y * img.bpl()..][..cols * ch];
                let exp = &want[(y + dy as usize) * want_bpl + dx as usize * ch..][..cols * ch];
                got == exp
            });
            if same && img.w.abs_diff(w - dx) <= 1 + w.saturating_sub(dx + img.w) {
                return;
            }
        }
    }
    panic!(
        "page {n}: the {}x{} image is not the page ({w}x{h}) at ({x0}, {y0})",
        img.w, img.h
    );
}

/// A flatbed ticket as a WS-Scan client sends it.
fn ticket(color: ColorEntry, dpi: u32, format: Format) -> ScanTicket {
    ScanTicket {
        params: DocumentParameters {
            format: Some(format),
            images_to_transfer: Some(1),
            input_source: Some(InputSource::Platen),
            front: Some(MediaSide {
                region: Some(scanwire_wsd::Region {
                    x: 0,
                    y: 0,
                    width: 1000,
                    height: 500,
                }),
                color: Some(color),
                resolution: Some(Size::new(dpi, dpi)),
            }),
            ..DocumentParameters::default()
        },
        ..ScanTicket::default()
    }
}

#[test]
fn the_service_is_off_unless_asked_for() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let device = share(Box::new(Recorded::new(requests)));
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let server = BlockingServer::start(config, vec![("virtual".into(), device)]).unwrap();
    let (code, _, _) = http(server.local_addr(), "POST", "/WSDScanner", "<x/>");
    assert_eq!(code, 404);
}

#[test]
fn describes_the_device_and_refuses_bad_tickets_with_a_reason() {
    let s = serve(&[]);
    let (code, body) = s.soap(Body::GetScannerElementsRequest(vec![
        "ScannerDescription".into(),
        "ScannerConfiguration".into(),
        "DefaultScanTicket".into(),
    ]));
    assert_eq!(code, 200);
    let Body::GetScannerElementsResponse(e) = body else {
        panic!("{body:?}")
    };
    let conf = e.configuration.expect("configuration");
    assert!(conf.settings.formats.contains(&Format::Jfif));
    assert!(conf.settings.formats.contains(&Format::Png));
    let platen = conf.platen.expect("platen");
    assert!(platen.widths.contains(&300) && platen.heights.contains(&300));
    assert!(platen.colors.contains(&ColorEntry::Rgb24));
    // 8.5 x 11.69 in (A4 / letter maximum of the virtual scanner), portrait.
    assert!(platen.max_size.width < platen.max_size.height, "{platen:?}");
    let adf = conf.adf.expect("adf");
    assert!(adf.supports_duplex && adf.front.is_some() && adf.back.is_some());
    assert!(e.description.is_some() && e.default_ticket.is_some());

    // WS-Transfer Get names the scan service.
    let (code, body) = s.soap(Body::TransferGet);
    assert_eq!(code, 200);
    let Body::TransferGetResponse(meta) = body else {
        panic!("{body:?}")
    };
    assert_eq!(meta.scan_service(), Some(s.server.wsd_url().as_str()));

    // The default ticket is valid as it is.
    let (_, body) = s.soap(Body::ValidateScanTicketRequest(e.default_ticket.unwrap()));
    assert!(
        matches!(
            body,
            Body::ValidateScanTicketResponse {
                valid_as_is: true,
                ..
            }
        ),
        "{body:?}"
    );

    // Refusals name what was wrong and what is allowed.
    let bad = [
        (
            ticket(ColorEntry::Rgb24, 9600, Format::Jfif),
            "InvalidArgs",
            "9600",
        ),
        (
            {
                let mut t = ticket(ColorEntry::Rgb24, 300, Format::Jfif);
                t.params.front.as_mut().unwrap().resolution = Some(Size::new(300, 150));
                t
            },
            "InvalidArgs",
            "differ",
        ),
        (
            ticket(ColorEntry::Rgba32, 300, Format::Jfif),
            "InvalidArgs",
            "allowed",
        ),
        (
            ticket(ColorEntry::Rgb24, 300, Format::Jbig),
            "ClientErrorFormatNotSupported",
            "jfif",
        ),
    ];
    for (t, subcode, says) in bad {
        let (code, body) = s.soap(Body::CreateScanJobRequest(t));
        assert_eq!(code, 400);
        let Body::Fault(f) = body else {
            panic!("{body:?}")
        };
        assert!(f.is(subcode), "{f}");
        assert!(f.reason.contains(says), "{f}");
    }
    assert!(s.requests.lock().unwrap().is_empty());
}

#[test]
fn a_job_streams_its_image_then_says_no_more_images_and_the_device_is_idle() {
    let s = serve(&[]);
    let (code, body) = s.soap(Body::CreateScanJobRequest(ticket(
        ColorEntry::Grayscale8,
        100,
        Format::Png,
    )));
    assert_eq!(code, 200, "{body:?}");
    let Body::CreateScanJobResponse(job) = body else {
        panic!("{body:?}")
    };
    assert!(!job.job_token.is_empty());
    let info = job.front_image.expect("image info");
    assert_eq!((info.pixels_per_line, info.number_of_lines), (100, 50));
    // A wrong token is refused.
    let (code, body) = s.soap(Body::RetrieveImageRequest {
        job_id: job.job_id,
        job_token: "nope".into(),
        document_name: None,
    });
    assert_eq!(code, 400);
    assert!(
        matches!(&body, Body::Fault(f) if f.is("ClientErrorInvalidJobToken")),
        "{body:?}"
    );

    let env = Envelope::new(
        Header::request(&s.server.wsd_url(), &Body::GetActiveJobsRequest),
        Body::RetrieveImageRequest {
            job_id: job.job_id,
            job_token: job.job_token.clone(),
            document_name: Some("IMAGE000.JPG".into()),
        },
    );
    let (code, head, bytes) = http(s.addr(), "POST", "/WSDScanner", &env.to_xml());
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap()
        .to_string();
    assert!(ct.starts_with("multipart/related"), "{ct}");
    let msg = read_message(Some(&ct), &bytes, &WsdLimits::DEFAULT).unwrap();
    let image = msg.attachment.expect("an image part");
    assert_eq!(image.mime().as_deref(), Some("image/png"));
    let img = common::decode_png(image.body);
    assert_eq!((img.w, img.h), (100, 50));
    assert_eq!(img.data, expected_page(&s.last_request(), 1).unwrap());

    let (code, body) = s.soap(Body::RetrieveImageRequest {
        job_id: job.job_id,
        job_token: job.job_token.clone(),
        document_name: None,
    });
    assert_eq!(code, 400);
    assert!(
        matches!(&body, Body::Fault(f) if f.is("ClientErrorNoImagesAvailable")),
        "{body:?}"
    );
    let t = Instant::now();
    while s.wsd_state() != ScannerState::Idle {
        assert!(t.elapsed() < Duration::from_secs(2), "not idle");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, body) = s.soap(Body::GetJobElementsRequest {
        job_id: job.job_id,
        names: vec!["JobStatus".into()],
    });
    let Body::GetJobElementsResponse(el) = body else {
        panic!("{body:?}")
    };
    let st = el.status.expect("status");
    assert_eq!(st.state, JobState::Completed);
    assert_eq!(st.scans_completed, Some(1));
    // CancelJob of a finished job: no such (active) job.
    let (_, body) = s.soap(Body::CancelJobRequest { job_id: job.job_id });
    assert!(
        matches!(&body, Body::Fault(f) if f.is("ClientErrorJobIdNotFound")),
        "{body:?}"
    );
}

#[test]
fn cancel_job_frees_the_device_at_once() {
    // 6 pages a minute: the page takes 10 s.
    let s = serve(&[("ppm", "6")]);
    let (_, body) = s.soap(Body::CreateScanJobRequest(ticket(
        ColorEntry::Rgb24,
        75,
        Format::Jfif,
    )));
    let Body::CreateScanJobResponse(job) = body else {
        panic!("{body:?}")
    };
    let addr = s.addr();
    let env = Envelope::new(
        Header::default(),
        Body::RetrieveImageRequest {
            job_id: job.job_id,
            job_token: job.job_token.clone(),
            document_name: None,
        },
    )
    .to_xml();
    let fetch = std::thread::spawn(move || http(addr, "POST", "/WSDScanner", &env));
    let t = Instant::now();
    while s.wsd_state() != ScannerState::Processing {
        assert!(t.elapsed() < Duration::from_secs(5), "never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (code, body) = s.soap(Body::CancelJobRequest { job_id: job.job_id });
    assert_eq!(code, 200);
    assert!(matches!(body, Body::CancelJobResponse), "{body:?}");
    let t = Instant::now();
    while s.wsd_state() != ScannerState::Idle {
        assert!(t.elapsed() < Duration::from_secs(1), "not idle within 1 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, body) = s.soap(Body::GetJobElementsRequest {
        job_id: job.job_id,
        names: vec![],
    });
    let Body::GetJobElementsResponse(el) = body else {
        panic!("{body:?}")
    };
    assert_eq!(el.status.unwrap().state, JobState::Canceled);
    // The image under way was cut off: not a complete multipart answer.
    let (_, _, cut) = fetch.join().unwrap();
    assert!(
        !cut.ends_with(b"--\r\n"),
        "the cut image must not look complete"
    );
}

#[test]
fn airscan_wsd_flatbed_color_and_gray() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve(&[]);
    let sane = SaneConfig::airscan_wsd(&s.server.wsd_url());
    for (mode, dpi) in [("Color", "75"), ("Gray", "150"), ("Color", "300")] {
        let out = sane.path("page.pnm");
        let args = [
            "--source",
            "Flatbed",
            "--mode",
            mode,
            "--resolution",
            dpi,
            "-x",
            "60",
            "-y",
            "40",
        ];
        scanimage_ok(&sane.scan(AIRSCAN, &args, &out));
        let img = Pnm::read(&out);
        assert_eq!(
            img.kind,
            if mode == "Color" { 6 } else { 5 },
            "{mode} {dpi}"
        );
        let req = s.last_request();
        assert_eq!(req.resolution.to_string(), dpi);
        assert_eq!(
            req.mode,
            if mode == "Color" {
                ColorMode::Color
            } else {
                ColorMode::Gray
            }
        );
        check_page(&img, &req, 1, 0, 0);
    }
    let st = s.status();
    assert_eq!(st.state, scanwire_escl::ScannerState::Idle);
}

#[test]
fn airscan_wsd_region() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve(&[]);
    let sane = SaneConfig::airscan_wsd(&s.server.wsd_url());
    let out = sane.path("region.pnm");
    let args = [
        "--mode",
        "Color",
        "--resolution",
        "150",
        "-l",
        "10",
        "-t",
        "20",
        "-x",
        "100",
        "-y",
        "50",
    ];
    scanimage_ok(&sane.scan(AIRSCAN, &args, &out));
    let img = Pnm::read(&out);
    let req = s.last_request();
    // 100 x 50 mm at 150 dpi.
    assert!(
        img.w.abs_diff(591) <= 1 && img.h.abs_diff(295) <= 1,
        "{}x{}",
        img.w,
        img.h
    );
    // Whatever part of the page the client asked the scanner for, the picture is the
    // page's at 10, 20 mm.
    let (l, t) = req
        .area
        .map_or((0, 0), |a| (a.left.to_pixels(150), a.top.to_pixels(150)));
    let (x0, y0) = (Length(10_000).to_pixels(150), Length(20_000).to_pixels(150));
    check_page(&img, &req, 1, x0.saturating_sub(l), y0.saturating_sub(t));
}

#[test]
fn airscan_wsd_feeder_simplex_and_duplex() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve(&[("sheets", "3")]);
    let sane = SaneConfig::airscan_wsd(&s.server.wsd_url());
    let (out, pages) = sane.batch(AIRSCAN, "ADF", "75");
    let err = scanimage_ok(&out);
    assert!(err.contains("Batch terminated, 3 pages scanned"), "{err}");
    let req = s.last_request();
    assert_eq!(req.source, Source::Feeder);
    for (i, p) in pages.iter().enumerate() {
        check_page(p, &req, i as u32 + 1, 0, 0);
    }
    let (out, pages) = sane.batch(AIRSCAN, "ADF Duplex", "75");
    let err = scanimage_ok(&out);
    assert!(err.contains("Batch terminated, 6 pages scanned"), "{err}");
    let req = s.last_request();
    assert_eq!(req.source, Source::FeederDuplex);
    for (i, p) in pages.iter().enumerate() {
        check_page(p, &req, i as u32 + 1, 0, 0);
    }
}

#[test]
fn airscan_wsd_sigint_mid_page_cancels_the_job() {
    if !peers::available("airscan") {
        return;
    }
    // 20 pages per minute: 3 s per page, streamed while it is scanned.
    let s = serve(&[("ppm", "20")]);
    let sane = SaneConfig::airscan_wsd(&s.server.wsd_url());
    let mut c = sane.scanimage(AIRSCAN);
    c.args(["--resolution", "300", "--format=pnm", "-o"])
        .arg(sane.path("cut.pnm"))
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let t = Instant::now();
    while s.wsd_state() != ScannerState::Processing {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(800));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let sent = Instant::now();
    loop {
        let st = s.status();
        if s.wsd_state() == ScannerState::Idle
            && st.jobs[0].job_state == Some(scanwire_escl::JobState::Canceled)
        {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "not idle and cancelled within 2 s: {st:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    // The next scan works.
    let out = sane.path("after.pnm");
    scanimage_ok(&sane.scan(
        AIRSCAN,
        &["--resolution", "75", "-x", "50", "-y", "50"],
        &out,
    ));
    check_page(&Pnm::read(&out), &s.last_request(), 1, 0, 0);
}

#[test]
fn basic_auth_covers_the_service() {
    let device = share(Box::new(VirtualDevice::new()));
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        wsd: true,
        auth: Some(scanwire_server::BasicAuth {
            user: "scan".into(),
            password: "secret".into(),
        }),
        ..ServerConfig::default()
    };
    let server = BlockingServer::start(config, vec![("virtual".into(), device)]).unwrap();
    let body = Body::GetScannerElementsRequest(vec!["ScannerStatus".into()]);
    let env = Envelope::new(Header::request(&server.wsd_url(), &body), body).to_xml();
    let (code, _, _) = http(server.local_addr(), "POST", "/WSDScanner", &env);
    assert_eq!(code, 401);
}

#[test]
fn airscan_wsd_feeder_jam_keeps_the_pages_before_it() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve(&[("sheets", "3"), ("jam-at-page", "2")]);
    let sane = SaneConfig::airscan_wsd(&s.server.wsd_url());
    let (out, pages) = sane.batch(AIRSCAN, "ADF", "75");
    let err = String::from_utf8_lossy(&out.stderr);
    // sane-airscan reads the ScannerStatus condition after the failed RetrieveImage.
    assert!(err.contains("Document feeder jammed"), "{err}");
    assert_eq!(pages.len(), 1, "{err}");
    check_page(&pages[0], &s.last_request(), 1, 0, 0);
    // The scanner reports the jam to WS-Scan clients that ask.
    match s.soap(Body::GetScannerElementsRequest(
        vec!["ScannerStatus".into()],
    )) {
        (200, Body::GetScannerElementsResponse(e)) => {
            let st = e.status.unwrap();
            assert!(st.conditions.iter().any(|c| c.name == "MediaJam"), "{st:?}");
        }
        other => panic!("{other:?}"),
    }
    // The next job runs (and jams again: the fault is scripted for every job).
    let (_, pages) = sane.batch(AIRSCAN, "ADF", "75");
    assert_eq!(pages.len(), 1);
}
