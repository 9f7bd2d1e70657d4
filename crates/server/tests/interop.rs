//! Interop with real clients: `scanimage` through sane-airscan and through sane-backends'
//! escl, against the server on 127.0.0.1 (ephemeral port) serving the virtual scanner. Every
//! page is checked against the virtual scanner's own renderer.
//!
//! Without scanimage or the backends these tests are skipped with a note, unless
//! SCANWIRE_REQUIRE_PEERS=1 (CI), where they fail.

mod common;

use common::peers::{self, http, scanimage_ok, Pnm, SaneConfig, Served};
use scanwire_core::device::*;
use scanwire_escl::{JobState, ScannerState};
use scanwire_server::{ServerConfig, TlsConfig};
use scanwire_virtual::expected_page;
use std::time::{Duration, Instant};

/// The eSCL server on `listen`, with TLS when given.
fn serve(listen: &str, options: &[(&str, &str)], tls: Option<TlsConfig>) -> Served {
    let config = ServerConfig {
        listen: listen.parse().unwrap(),
        tls,
        ..ServerConfig::default()
    };
    Served::start(config, options)
}

/// sane-airscan configured for the server's eSCL root.
fn airscan(s: &Served) -> SaneConfig {
    SaneConfig::airscan(&s.server.url())
}

const AIRSCAN: &str = "airscan:e0:Scanwire";

/// Compares a scanimage PNM with page `n` of `req`. sane-airscan fits the image into the
/// window it computed itself, which may differ from ours by a pixel of rounding: the sizes
/// may differ by one, and the common part must be exact.
fn check_page(img: &Pnm, req: &ScanRequest, n: u32) {
    let want = expected_page(req, n).unwrap();
    let caps = scanwire_virtual::options::capabilities();
    let area = req.effective_area(&caps).unwrap();
    let (w, h) = (
        area.width.to_pixels(req.resolution),
        area.height.to_pixels(req.resolution),
    );
    assert!(
        img.w.abs_diff(w) <= 1 && img.h.abs_diff(h) <= 1,
        "image {}x{}, page {w}x{h}",
        img.w,
        img.h
    );
    let pixel = PixelFormat::for_mode(req.mode);
    let want_bpl = pixel.bytes_per_line(w);
    let ch = pixel.channels() as usize;
    let cols = img.w.min(w) as usize;
    for y in 0..img.h.min(h) as usize {
        let got = &img.data[y * img.bpl()..][..cols * ch];
        let exp = &want[y * want_bpl..][..cols * ch];
        if got != exp {
            let x = got.iter().zip(exp).position(|(a, b)| a != b).unwrap() / ch;
            panic!("page {n}: row {y} differs from column {x}");
        }
    }
}

#[test]
fn airscan_flatbed_color_and_gray_at_several_resolutions() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve("127.0.0.1:0", &[], None);
    let sane = airscan(&s);
    for (mode, dpi, region) in [
        ("Color", "75", None),
        ("Color", "150", Some(["-x", "120", "-y", "150"])),
        ("Color", "300", Some(["-x", "60", "-y", "40"])),
        ("Gray", "100", None),
        ("Gray", "200", Some(["-x", "80", "-y", "80"])),
        ("Gray", "600", Some(["-x", "20", "-y", "25"])),
    ] {
        let out = sane.path("page.pnm");
        let mut args = vec!["--source", "Flatbed", "--mode", mode, "--resolution", dpi];
        args.extend(region.iter().flatten());
        scanimage_ok(&sane.scan(AIRSCAN, &args, &out));
        let img = Pnm::read(&out);
        assert_eq!(
            img.kind,
            if mode == "Color" { 6 } else { 5 },
            "{mode} {dpi}"
        );
        let req = s.last_request();
        assert_eq!(req.resolution.to_string(), dpi);
        check_page(&img, &req, 1);
    }
    // Every job ended, was fetched and cleaned up: the device is idle.
    let st = s.status();
    assert_eq!(st.state, ScannerState::Idle);
    assert!(
        st.jobs
            .iter()
            .all(|j| j.job_state == Some(JobState::Completed)),
        "{st:?}"
    );
}

#[test]
fn airscan_region() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve("127.0.0.1:0", &[], None);
    let sane = airscan(&s);
    let out = sane.path("region.pnm");
    scanimage_ok(&sane.scan(
        AIRSCAN,
        &[
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
        ],
        &out,
    ));
    let req = s.last_request();
    let a = req.area.expect("a region was sent");
    // sane-airscan sends 1/300 inch: 118, 236, 1181, 591.
    assert_eq!(
        (
            a.left.to_300ths(),
            a.top.to_300ths(),
            a.width.to_300ths(),
            a.height.to_300ths()
        ),
        (118, 236, 1181, 591)
    );
    check_page(&Pnm::read(&out), &req, 1);
}

#[test]
fn airscan_offers_no_lineart() {
    if !peers::available("airscan") {
        return;
    }
    // sane-airscan 0.99.27 ignores BlackAndWhite1: it offers Color and Gray only, and a
    // lineart request is refused by scanimage before anything reaches the server.
    let s = serve("127.0.0.1:0", &[], None);
    let sane = airscan(&s);
    let mut c = sane.scanimage(AIRSCAN);
    c.arg("-A");
    let help = String::from_utf8_lossy(&peers::run(c).stdout).into_owned();
    assert!(help.contains("--mode Color|Gray ["), "{help}");
    let out = sane.scan(AIRSCAN, &["--mode", "Lineart"], &sane.path("l.pnm"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mode failed"));
    assert!(s.requests.lock().unwrap().is_empty());
}

#[test]
fn airscan_feeder_batches_simplex_and_duplex() {
    if !peers::available("airscan") {
        return;
    }
    let s = serve("127.0.0.1:0", &[("sheets", "3")], None);
    let sane = airscan(&s);
    let (out, pages) = sane.batch(AIRSCAN, "ADF", "75");
    let err = scanimage_ok(&out);
    assert!(err.contains("Batch terminated, 3 pages scanned"), "{err}");
    let req = s.last_request();
    assert_eq!(req.source, Source::Feeder);
    for (i, p) in pages.iter().enumerate() {
        check_page(p, &req, i as u32 + 1);
    }
    let (out, pages) = sane.batch(AIRSCAN, "ADF Duplex", "75");
    let err = scanimage_ok(&out);
    assert!(err.contains("Batch terminated, 6 pages scanned"), "{err}");
    let req = s.last_request();
    assert_eq!(req.source, Source::FeederDuplex);
    for (i, p) in pages.iter().enumerate() {
        check_page(p, &req, i as u32 + 1);
    }
}

#[test]
fn airscan_feeder_faults() {
    if !peers::available("airscan") {
        return;
    }
    // A jam on page 2: page 1 is kept, scanimage reports the jam.
    let s = serve(
        "127.0.0.1:0",
        &[("sheets", "3"), ("jam-at-page", "2")],
        None,
    );
    let sane = airscan(&s);
    let (out, pages) = sane.batch(AIRSCAN, "ADF", "75");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Document feeder jammed"), "{err}");
    assert_eq!(pages.len(), 1, "{err}");
    check_page(&pages[0], &s.last_request(), 1);
    // The next job runs again (and jams again: the fault is scripted for every job).
    let (_, pages) = sane.batch(AIRSCAN, "ADF", "75");
    assert_eq!(pages.len(), 1);
    drop(s);

    // An empty feeder: "out of documents", no page, no I/O error.
    let s = serve("127.0.0.1:0", &[("feeder-empty", "true")], None);
    let sane = airscan(&s);
    let (out, pages) = sane.batch(AIRSCAN, "ADF", "75");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Document feeder out of documents"), "{err}");
    assert!(pages.is_empty());
}

#[test]
fn airscan_sigint_mid_page_cancels_the_job() {
    if !peers::available("airscan") {
        return;
    }
    // 20 pages per minute: 3 s per page, streamed while it is scanned.
    let s = serve("127.0.0.1:0", &[("ppm", "20")], None);
    let sane = airscan(&s);
    let mut c = sane.scanimage(AIRSCAN);
    c.args(["--resolution", "300", "--format=pnm", "-o"])
        .arg(sane.path("cut.pnm"))
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    // Wait until the page is being scanned and sent.
    let t = Instant::now();
    loop {
        let st = s.status();
        if st
            .jobs
            .first()
            .is_some_and(|j| j.job_state == Some(JobState::Processing))
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the job never started: {st:?}"
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
        let job = &st.jobs[0];
        if st.state == ScannerState::Idle && job.job_state == Some(JobState::Canceled) {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "not idle and cancelled within 1 s: {st:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("received signal"));
    // The next scan works.
    let out = sane.path("after.pnm");
    scanimage_ok(&sane.scan(
        AIRSCAN,
        &["--resolution", "75", "-x", "50", "-y", "50"],
        &out,
    ));
    check_page(&Pnm::read(&out), &s.last_request(), 1);
}

/// sane-backends' escl: form-encoded POST, DocumentFormatExt only, no DELETE, reads
/// ScannerStatus while fetching, and always delivers RGB.
#[test]
fn escl_backend_scans_color_gray_lineart_and_a_batch() {
    if !peers::available("escl") {
        return;
    }
    let s = serve("127.0.0.1:0", &[("sheets", "3")], None);
    let sane = SaneConfig::escl();
    let dev = format!("escl:http://{}", s.addr());
    for (mode, dpi) in [("Color", "150"), ("Gray", "100"), ("Lineart", "75")] {
        let out = sane.path("e.pnm");
        scanimage_ok(&sane.scan(&dev, &["--mode", mode, "--resolution", dpi], &out));
        let img = Pnm::read(&out);
        let req = s.last_request();
        assert_eq!(req.mode.to_string(), mode.to_lowercase());
        assert_eq!(img.kind, 6, "the escl backend always delivers RGB");
        let want = expected_page(&req, 1).unwrap();
        let pixel = PixelFormat::for_mode(req.mode);
        let (w, h) = match req.effective_area(&scanwire_virtual::options::capabilities()) {
            Some(a) => (
                a.width.to_pixels(req.resolution),
                a.height.to_pixels(req.resolution),
            ),
            None => unreachable!(),
        };
        assert_eq!(
            (img.w, img.h),
            (w, h),
            "{mode}: the escl backend does not pad"
        );
        // The escl backend picks the format itself (JPEG for color here), so compare
        // within JPEG's error: the mean difference, and for lineart the share of pixels
        // that flipped.
        let bpl = pixel.bytes_per_line(w);
        let (mut diff, mut flipped) = (0u64, 0u64);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let got = &img.data[(y * w as usize + x) * 3..][..3];
                let exp: [u8; 3] = match pixel {
                    PixelFormat::Rgb8 => want[y * bpl + x * 3..][..3].try_into().unwrap(),
                    PixelFormat::Gray8 => [want[y * bpl + x]; 3],
                    _ => {
                        let black = want[y * bpl + x / 8] & (0x80 >> (x % 8)) != 0;
                        [if black { 0 } else { 255 }; 3]
                    }
                };
                let d: u64 = got.iter().zip(exp).map(|(a, b)| a.abs_diff(b) as u64).sum();
                diff += d;
                flipped += u64::from(d > 300);
            }
        }
        let n = w as u64 * h as u64;
        let mean = diff as f64 / (n * 3) as f64;
        assert!(mean < 6.0, "{mode}: mean error {mean:.2}");
        assert!(
            flipped * 100 < n,
            "{mode}: {flipped} of {n} pixels inverted"
        );
    }
    let (out, pages) = sane.batch(&dev, "ADF", "75");
    let err = scanimage_ok(&out);
    assert!(err.contains("Batch terminated, 3 pages scanned"), "{err}");
    assert_eq!(pages.len(), 3);
    // It never sends DELETE; every job still ends completed.
    let st = s.status();
    assert!(
        st.jobs
            .iter()
            .all(|j| j.job_state == Some(JobState::Completed)),
        "{st:?}"
    );
}

#[test]
fn ipv6_loopback_and_title_case_headers() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        scanwire_testkit::peer_missing("no IPv6 loopback here");
        return;
    }
    let s = serve("[::1]:0", &[], None);
    assert!(s.addr().is_ipv6());
    let (code, _, caps) = http(s.addr(), "GET", "/eSCL/ScannerCapabilities", "");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&caps).contains("<scan:ScannerCapabilities"));
    let settings = common::settings_xml(
        "Platen",
        "Grayscale8",
        75,
        "image/png",
        Some((0, 0, 300, 300)),
    );
    let (code, head, _) = http(s.addr(), "POST", "/eSCL/ScanJobs", &settings);
    assert_eq!(code, 201);
    // sane-backends' escl looks for the literal "Location:".
    let loc = head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap_or_else(|| panic!("no Title-Case Location header in {head}"))
        .to_string();
    let (code, head, png) = http(s.addr(), "GET", &format!("{loc}/NextDocument"), "");
    assert_eq!(code, 200);
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let img = common::decode_png(&png);
    assert_eq!((img.w, img.h), (75, 75));
    assert_eq!(img.data, expected_page(&s.last_request(), 1).unwrap());
    // And sane-airscan scans over IPv6 too.
    if peers::available("airscan") {
        let sane = airscan(&s);
        let out = sane.path("v6.pnm");
        scanimage_ok(&sane.scan(
            AIRSCAN,
            &["--resolution", "75", "-x", "30", "-y", "30"],
            &out,
        ));
        check_page(&Pnm::read(&out), &s.last_request(), 1);
    }
}

#[test]
fn stopping_the_server_cancels_jobs_and_closes_the_port() {
    // 6 pages per minute: the page is still being scanned when the server stops.
    let s = serve("127.0.0.1:0", &[("ppm", "6")], None);
    let addr = s.addr();
    let settings = common::settings_xml("Platen", "RGB24", 75, "image/png", None);
    let (code, head, _) = http(addr, "POST", "/eSCL/ScanJobs", &settings);
    assert_eq!(code, 201, "{head}");
    let loc = head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    // Start the page (the response streams for 10 s), then stop the server under it.
    let fetch = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        write!(
            c,
            "GET {loc}/NextDocument HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        buf
    });
    let t = Instant::now();
    while s.requests.lock().unwrap().is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let requests = s.requests.clone();
    let t = Instant::now();
    s.server.stop().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "stopping took {:?}",
        t.elapsed()
    );
    let got = fetch.join().unwrap();
    assert!(
        !got.ends_with(b"0\r\n\r\n"),
        "the cut page must not look complete"
    );
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
    assert_eq!(requests.lock().unwrap().len(), 1);
}

/// Over HTTPS with a self-signed certificate: both real clients accept it (as they must:
/// real eSCL scanners present self-signed certificates), and scan exactly what they would
/// over HTTP.
#[test]
fn airscan_and_escl_over_https_with_a_self_signed_certificate() {
    if !peers::available("airscan") || !peers::available("escl") {
        return;
    }
    let tls = TlsConfig::self_signed(&["127.0.0.1".into()]).unwrap();
    let s = serve("127.0.0.1:0", &[], Some(tls));
    let url = s.server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let sane = SaneConfig::airscan(&url);
    let out = sane.path("tls.pnm");
    scanimage_ok(&sane.scan(
        AIRSCAN,
        &[
            "--mode",
            "Color",
            "--resolution",
            "150",
            "-x",
            "60",
            "-y",
            "40",
        ],
        &out,
    ));
    check_page(&Pnm::read(&out), &s.last_request(), 1);

    let sane = SaneConfig::escl();
    let out = sane.path("tls-escl.pnm");
    let dev = format!("escl:https://{}", s.addr());
    scanimage_ok(&sane.scan(&dev, &["--mode", "Gray", "--resolution", "75"], &out));
    let img = Pnm::read(&out);
    let req = s.last_request();
    assert_eq!(req.mode.to_string(), "gray");
    assert_eq!(req.resolution, 75);
    assert!(img.w > 600 && img.h > 800, "{}x{}", img.w, img.h);
}
