//! The `scanwire` binary as a user runs it.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn scanwire(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanwire"))
        .args(args)
        .current_dir(dir)
        // Never let SANE load the system backends here: they probe USB and the network.
        .env("SANE_CONFIG_DIR", sane_dir(dir))
        .output()
        .expect("run scanwire")
}

fn sane_dir(dir: &Path) -> std::path::PathBuf {
    let d = dir.join("sane.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("dll.conf"), "test\n").unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn png_size(path: &Path) -> (u32, u32) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let r = dec.read_info().unwrap();
    (r.info().width, r.info().height)
}

#[test]
fn the_readme_scan_writes_an_a4_page() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(&["scan", "-o", "page.png"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&dir.path().join("page.png")), (2550, 3508));
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
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("WIA_ERROR_PAPER_JAM"), "{}", stderr(&o));
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
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("WIA_ERROR_EXCEPTION_IN_DRIVER"),
        "{}",
        stderr(&o)
    );
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
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("stopped responding"), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!dir.path().join("x.png").exists());
}

#[test]
fn ctrl_c_keeps_complete_pages_removes_the_partial_one_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    // 20 images per minute: 3 s per page.
    let child = Command::new(env!("CARGO_BIN_EXE_scanwire"))
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
        .current_dir(dir.path())
        .env("SANE_CONFIG_DIR", sane_dir(dir.path()))
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
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn serve_then_scan_from_it_by_url() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_scanwire"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SANE_CONFIG_DIR", sane_dir(dir.path()))
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
