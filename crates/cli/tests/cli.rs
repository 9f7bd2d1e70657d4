//! The `scanwire` binary as a user runs it.

mod common;

use common::{command, exits_with, sane_dir, scanwire, stderr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn png_size(path: &Path) -> (u32, u32) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let r = dec.read_info().unwrap();
    (r.info().width, r.info().height)
}

/// The default area is the whole glass: the virtual scanner's is 215.9 x 297 mm (Letter's
/// width, A4's height), not A4.
#[test]
fn the_readme_scan_covers_the_whole_glass() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(&["scan", "-o", "page.png"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&dir.path().join("page.png")), (2550, 3508));
}

#[test]
fn paper_sizes_start_at_the_top_left_corner_and_must_fit_the_glass() {
    let dir = tempfile::tempdir().unwrap();
    for (paper, size) in [
        ("a4", (2480, 3508)),
        ("letter", (2550, 3300)),
        ("a5", (1748, 2480)),
    ] {
        let o = scanwire(
            &["scan", "--mode", "gray", "--paper", paper, "-o", "p.png"],
            dir.path(),
        );
        assert!(o.status.success(), "{paper}: {}", stderr(&o));
        assert_eq!(png_size(&dir.path().join("p.png")), size, "{paper}");
    }
    // -l/-t move it; it must still fit.
    let o = scanwire(
        &[
            "scan", "--paper", "a5", "-l", "10", "-t", "10", "-o", "p.png",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = scanwire(
        &["scan", "--paper", "a4", "-l", "10", "-o", "p.png"],
        dir.path(),
    );
    exits_with(&o, 2, "right edge (-l + -x) is 220 mm");
    let o = scanwire(&["scan", "--paper", "legal", "-o", "p.png"], dir.path());
    exits_with(
        &o,
        2,
        "--paper legal (215.9 x 355.6 mm) is larger than the glass of Virtual Scanner flatbed (215.9 x 297.0 mm)",
    );
    let o = scanwire(
        &["scan", "--paper", "a4", "-x", "100", "-o", "p.png"],
        dir.path(),
    );
    exits_with(&o, 2, "cannot be used with");
    let o = scanwire(&["scan", "--paper", "b5", "-o", "p.png"], dir.path());
    exits_with(&o, 2, "a4, letter, legal, a5");
}

/// 2 for what the user can fix before scanning, 1 for what fails while scanning.
#[test]
fn one_exit_status_rule() {
    let dir = tempfile::tempdir().unwrap();
    for (args, msg) in [
        (
            vec!["scan", "--device", "nosuch", "-o", "x.png"],
            "unknown device `nosuch`: device ids start with one of virtual, sane, escl",
        ),
        (
            vec!["scan", "--device", "virtual:2", "-o", "x.png"],
            "no device \"virtual:2\" in the virtual driver",
        ),
        (vec!["caps", "nosuch"], "unknown device `nosuch`"),
        (
            vec!["scan", "-o", "/nonexistent/dir/x.png"],
            "cannot write to directory /nonexistent/dir",
        ),
        (vec!["serve", "-d", "nosuch"], "unknown device `nosuch`"),
    ] {
        let o = scanwire(&args, dir.path());
        exits_with(&o, 2, msg);
    }
    // A SANE device that is not there (the test backend has test:0 and test:1 only).
    if std::process::Command::new("scanimage")
        .arg("--version")
        .output()
        .is_ok()
    {
        let o = command(dir.path())
            .env("SANE_CONFIG_DIR", sane_dir(dir.path()))
            .args(["scan", "--device", "sane:test:9", "-o", "x.png"])
            .output()
            .unwrap();
        exits_with(&o, 2, "there is no SANE device `test:9`");
    } else {
        scanwire_testkit::peer_missing("SANE (sane-utils, libsane1) is not installed");
    }
    // A device that fails while scanning: 1.
    let o = scanwire(
        &["scan", "--set", "offline=true", "-o", "x.png"],
        dir.path(),
    );
    exits_with(&o, 1, "WIA_ERROR_OFFLINE");
}

/// A file that cannot hold what was asked is refused unless --force, saying what it holds.
#[test]
fn formats_that_cannot_hold_the_request_are_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let small = ["--resolution", "75", "-x", "20", "-y", "20"];
    for (args, msg) in [
        (
            vec!["--depth", "16", "-o", "x.jpg"],
            "JPEG holds 8-bit gray or color only, not color48 (16 bit)",
        ),
        (
            vec!["--mode", "lineart", "-o", "bw.jpg"],
            "JPEG holds 8-bit gray or color only, not lineart (1 bit)",
        ),
        (
            vec!["--mode", "gray", "--depth", "16", "-o", "x.pdf"],
            "PDF pages are JPEG (8-bit gray or color) unless --lossless",
        ),
    ] {
        let o = scanwire(&[&["scan"], &small[..], &args[..]].concat(), dir.path());
        exits_with(&o, 2, msg);
        assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
        assert!(!dir.path().join(args[args.len() - 1]).exists());
        let o = scanwire(
            &[&["scan", "--force"], &small[..], &args[..]].concat(),
            dir.path(),
        );
        assert!(o.status.success(), "{args:?} --force: {}", stderr(&o));
    }
    // What the format holds is fine without --force.
    for args in [
        &["--depth", "16", "-o", "x.png"][..],
        &["--depth", "16", "-o", "x.pdf", "--lossless"][..],
        &["--mode", "lineart", "-o", "x.pdf"][..],
        &["--depth", "16", "-o", "x.tif"][..],
    ] {
        let o = scanwire(&[&["scan"], &small[..], args].concat(), dir.path());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn a_region_in_mm_gives_the_right_pixel_size() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(
        &[
            "scan",
            "--mode",
            "gray",
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
            "-o",
            "r.png",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&dir.path().join("r.png")), (591, 295));
}

#[test]
fn bad_requests_say_what_is_allowed_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, msg) in [
        (
            vec!["scan", "--resolution", "5000", "-o", "x.png"],
            "resolution 5000 dpi is not supported by Virtual Scanner flatbed: 75..1200",
        ),
        (
            vec!["scan", "--mode", "purple", "-o", "x.png"],
            "allowed: color, gray, lineart",
        ),
        (
            vec!["scan", "--source", "adf", "-o", "x.png"],
            "use a pattern such as page-{n}.png",
        ),
        (vec!["scan", "-o", "x.bmp"], "bmp"),
        (
            vec!["scan", "-x", "300", "-o", "x.png"],
            "right edge (-l + -x) is 300 mm",
        ),
        (
            vec!["scan", "--set", "jam-at-pag=3", "-o", "x.png"],
            "did you mean jam-at-page?",
        ),
        (
            vec!["scan", "--set", "sheets", "-o", "x.png"],
            "expected NAME=VALUE",
        ),
    ] {
        let o = scanwire(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
        assert!(!dir.path().join("x.png").exists());
    }
}

/// A refused `--set` names the device once and says what is wrong in words; the WIA code
/// (E_INVALIDARG) only with --verbose and in --json.
#[test]
fn set_errors_name_the_device_once_in_words() {
    let dir = tempfile::tempdir().unwrap();
    for (set, msg) in [
        ("jam-at-pag=3", "did you mean jam-at-page?"),
        ("hang-at-page=0", "hang-at-page"),
        ("sheets=many", "sheets"),
    ] {
        let o = scanwire(&["scan", "--set", set, "-o", "x.png"], dir.path());
        exits_with(&o, 2, msg);
        let err = stderr(&o);
        assert_eq!(err.matches("virtual").count(), 1, "{err}");
        assert!(
            !err.contains("E_INVALIDARG") && !err.contains("0x8007"),
            "{err}"
        );
        let o = scanwire(
            &["scan", "--set", set, "-o", "x.png", "--verbose"],
            dir.path(),
        );
        exits_with(&o, 2, "E_INVALIDARG");
        let o = scanwire(&["scan", "--set", set, "-o", "x.png", "--json"], dir.path());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["error"]["hresult"], "0x80070057 (E_INVALIDARG)", "{v}");
        assert_eq!(v["error"]["kind"], "InvalidRequest", "{v}");
        assert_eq!(v["pages"], 0);
        assert!(!dir.path().join("x.png").exists());
    }
}

#[test]
fn a_jam_keeps_the_pages_before_it_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(
        &[
            "scan",
            "--source",
            "adf",
            "--set",
            "sheets=5",
            "--set",
            "jam-at-page=3",
            "-o",
            "p-{n}.png",
        ],
        dir.path(),
    );
    exits_with(&o, 1, "WIA_ERROR_PAPER_JAM");
    assert!(dir.path().join("p-1.png").exists() && dir.path().join("p-2.png").exists());
    assert!(!dir.path().join("p-3.png").exists());
}

#[test]
fn json_report_for_a_duplex_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(
        &[
            "scan",
            "--source",
            "adf-duplex",
            "--set",
            "sheets=2",
            "--resolution",
            "100",
            "-o",
            "b.pdf",
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pages"], 4);
    assert_eq!(v["files"][0], "b.pdf");
    assert_eq!(v["result"], "0x00000000 (S_OK)");
}

#[test]
fn a_driver_panic_and_a_hang_end_the_scan_not_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(
        &["scan", "--set", "panic-at-page=1", "-o", "x.png"],
        dir.path(),
    );
    exits_with(&o, 1, "WIA_ERROR_EXCEPTION_IN_DRIVER");
    let start = Instant::now();
    let o = scanwire(
        &[
            "scan",
            "--set",
            "hang-at-page=1",
            "--watchdog",
            "1",
            "-o",
            "x.png",
        ],
        dir.path(),
    );
    exits_with(&o, 1, "stopped responding");
    // The hung driver thread never ends; the process must not wait for it (nor for the
    // device's 600 s release). The bound leaves room for a loaded machine.
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(!dir.path().join("x.png").exists());
}

#[test]
fn ctrl_c_keeps_complete_pages_removes_the_partial_one_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    // 20 images per minute: 3 s per page.
    let child = command(dir.path())
        .args([
            "scan",
            "--source",
            "adf",
            "--set",
            "sheets=4",
            "--set",
            "ppm=20",
            "--resolution",
            "75",
            "-o",
            "p-{n}.png",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("p-1.png").exists() {
        assert!(Instant::now() < deadline, "page 1 never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(800)); // page 2 is under way
    let t0 = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "sane.d")
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["p-1.png"],
        "only the complete page, no partial or temporary file"
    );
}

#[test]
fn devices_and_caps_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(&["devices", "--json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["devices"][0]["id"], "virtual");
    let o = scanwire(&["caps", "virtual", "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sources"][0]["source"], "flatbed");
    assert_eq!(v["sources"][0]["resolutions"]["max"], 1200);
    assert!(v["options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["name"] == "jam-at-page"));
}

#[test]
fn help_teaches_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(&["scan", "--help"], dir.path());
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "Examples:",
        "--resolution",
        "-l <MM>",
        "--source",
        "130",
        "page-%02d.png",
        "page-%d.png",
        "--paper",
        "the whole glass",
        "--force",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    // The default area is the glass, not A4 (the virtual scanner's glass is wider).
    assert!(!out.contains("one A4 page"), "{out}");
}

#[test]
fn serve_then_scan_from_it_by_url() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = command(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/eSCL"),
        "{line}"
    );
    let o = scanwire(
        &[
            "scan",
            "--device",
            &url,
            "--resolution",
            "100",
            "-o",
            "net.png",
        ],
        dir.path(),
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&dir.path().join("net.png")), (850, 1169));
}

#[test]
fn pages_a_scanner_encodes_go_into_files_untouched() {
    use std::io::BufReader;
    let dir = tempfile::tempdir().unwrap();
    let mut server = command(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--set", "sheets=2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (url, _) = serving_url(&mut BufReader::new(server.stderr.take().unwrap()));
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--device", &url, "--resolution", "75", "--json"];
        args.extend_from_slice(extra);
        let o = scanwire(&args, dir.path());
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["device_encoding"].clone()
    };
    // The scanner's JPEG as it sent it, then the same page inside a PDF, byte for byte.
    assert_eq!(scan(&["-o", "device.jpg"]), "image/jpeg");
    assert_eq!(scan(&["-o", "device.pdf"]), "image/jpeg");
    // --quality asks for Scanwire's own encoding; lossless PDFs and PNG take rows.
    assert_eq!(
        scan(&["-o", "own.jpg", "--quality", "60"]),
        serde_json::Value::Null
    );
    assert_eq!(
        scan(&["-o", "own.pdf", "--lossless"]),
        serde_json::Value::Null
    );
    assert_eq!(scan(&["-o", "device.png"]), "image/png");
    assert_eq!(scan(&["-o", "rows.tif"]), serde_json::Value::Null);
    let _ = server.kill();
    let _ = server.wait();

    let jpeg = std::fs::read(dir.path().join("device.jpg")).unwrap();
    assert!(jpeg.starts_with(&[0xff, 0xd8]) && jpeg.ends_with(&[0xff, 0xd9]));
    let pdf = std::fs::read(dir.path().join("device.pdf")).unwrap();
    assert!(
        pdf.windows(jpeg.len()).any(|w| w == jpeg),
        "the PDF holds the scanner's JPEG unchanged"
    );
    let own = std::fs::read(dir.path().join("own.jpg")).unwrap();
    assert_ne!(own, jpeg, "quality 60 is our own encoding");
    // The server compressed the PNG for storage (CompressionFactor 1) as a local scan does:
    // the same file, byte for byte.
    let o = scanwire(
        &["scan", "--resolution", "75", "-o", "local.png"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.path().join("device.png")).unwrap(),
        std::fs::read(dir.path().join("local.png")).unwrap()
    );
}

/// Reads `scanwire serve`'s stderr until the `serving ... at URL` line; returns the URL and
/// every line read.
fn serving_url(err: &mut impl std::io::BufRead) -> (String, Vec<String>) {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("scanwire serve ended: {lines:?}");
        }
        lines.push(line.trim().to_string());
        if line.starts_with("serving ") {
            return (line.trim().rsplit(' ').next().unwrap().to_string(), lines);
        }
    }
}

/// Ctrl-C stops `scanwire serve` cleanly: exit status 0 and `stopped`.
fn interrupt(mut server: std::process::Child, mut err: impl std::io::Read) -> String {
    Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}: {rest}");
    assert!(rest.contains("stopped"), "{rest}");
    rest
}

#[test]
fn serve_over_https_with_a_self_signed_certificate_then_ctrl_c() {
    use std::io::BufReader;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let mut server = command(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-self-signed"])
        .args(["--tls-name", "127.0.0.1", "--tls-save-cert"])
        .arg(&cert)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    let (url, lines) = serving_url(&mut err);
    assert!(url.starts_with("https://127.0.0.1:"), "{lines:?}");
    assert_eq!(lines[0], "self-signed certificate for 127.0.0.1");
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    if Command::new("curl").arg("--version").output().is_ok() {
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&cert)
            .arg(format!("{url}/ScannerCapabilities"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("scan:ScannerCapabilities"));
    }
    // Our own eSCL driver takes the self-signed certificate, as scanners need, and scans.
    let o = scanwire(&["caps", &url, "--json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let caps: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(caps["model"], "Scanwire Virtual Scanner");
    assert_eq!(caps["sources"][0]["source"], "flatbed");
    let o = scanwire(
        &[
            "scan",
            "-d",
            &url,
            "--mode",
            "gray",
            "--resolution",
            "75",
            "-x",
            "40",
            "-y",
            "30",
            "-o",
            "tls.png",
            "--quiet",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&dir.path().join("tls.png")), (118, 89));
    // The plain-HTTP URL of the same port is refused clearly.
    let plain = url.replace("https://", "http://");
    let o = scanwire(&["caps", &plain], dir.path());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&plain) && stderr(&o).contains("this port speaks HTTPS"),
        "{}",
        stderr(&o)
    );
    interrupt(server, err);
}

/// Bad flags, certificate files included, are requests the user can fix: exit status 2 (they
/// were 1 before the one exit-status rule).
#[test]
fn serve_refuses_bad_tls_and_limit_flags_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(&["serve", "--tls-cert", "c.pem"], dir.path());
    exits_with(&o, 2, "--tls-key");
    let o = scanwire(
        &[
            "serve",
            "--tls-cert",
            "missing.pem",
            "--tls-key",
            "missing.key",
        ],
        dir.path(),
    );
    exits_with(&o, 2, "cannot read the certificate file missing.pem");
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    let o = scanwire(
        &["serve", "--tls-cert", "junk.pem", "--tls-key", "junk.pem"],
        dir.path(),
    );
    exits_with(&o, 2, "no certificate found");
    let o = scanwire(&["serve", "--max-connections", "0"], dir.path());
    exits_with(&o, 2, "at least one connection");
    let o = scanwire(&["serve", "--deflate", "turbo"], dir.path());
    exits_with(
        &o,
        2,
        "--deflate turbo: expected wire, fastest, fast, balanced or high",
    );
    let o = scanwire(&["serve", "--mdns-name", "x"], dir.path());
    assert_eq!(o.status.code(), Some(2), "--mdns-name needs --mdns");
}

/// `--mdns` wiring, inside a network namespace of its own (only `lo`, nothing reaches the
/// machine's interfaces); what the announcement holds and that real browsers find it is
/// tested in crates/server/tests/mdns.rs.
#[test]
fn serve_mdns_announces_and_withdraws_in_a_private_namespace() {
    use std::io::BufReader;
    let ns = format!("sw-cli-{}", std::process::id());
    let made = Command::new("ip")
        .args(["netns", "add", &ns])
        .output()
        .is_ok_and(|o| o.status.success());
    if !made {
        scanwire_testkit::peer_missing(
            "no network namespace could be made (root and iproute2 `ip` needed)",
        );
        return;
    }
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _cleanup = Cleanup(ns.clone());
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "set", "lo", "multicast", "on"][..],
    ] {
        let ok = Command::new("ip").args(["-n", &ns]).args(args).status();
        assert!(ok.unwrap().success(), "ip {args:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new("ip")
        .args(["netns", "exec", &ns, env!("CARGO_BIN_EXE_scanwire")])
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mdns",
            "--mdns-name",
            "Front desk",
        ])
        .env("SANE_CONFIG_DIR", sane_dir(dir.path()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    let (url, _) = serving_url(&mut err);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert_eq!(
        line.trim(),
        "announced over mDNS as Front desk._uscan._tcp.local."
    );
    interrupt(server, err);
}

/// `scanwire caps | head -1`: a reader that stops early is not an error.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(dir.path())
        .args(["caps", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end before the program writes: its write meets a closed pipe.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "status {status:?}, stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
