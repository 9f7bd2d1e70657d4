//! `scanwire serve`'s start-up checks: credentials (where the password comes from, what a
//! user name may hold) and `--set` against each device's options.

mod common;

use common::{command, exits_with, scanwire, stderr};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStderr, Command, Stdio};

/// A running `scanwire serve`, stopped with Ctrl-C when dropped.
struct Server {
    child: Child,
    err: BufReader<ChildStderr>,
    /// `host:port`.
    addr: String,
    /// The lines before and including `serving …`.
    lines: Vec<String>,
}

impl Server {
    /// `cmd serve --listen 127.0.0.1:0 ARGS`.
    fn start(cmd: &mut Command, args: &[&str]) -> Server {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let Some(pipe) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no stderr pipe");
        };
        let mut err = BufReader::new(pipe);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if !matches!(err.read_line(&mut line), Ok(n) if n > 0) {
                let status = child.wait();
                panic!("scanwire serve ended ({status:?}): {lines:?}");
            }
            lines.push(line.trim().to_string());
            if let Some(url) = line.trim().strip_prefix("serving virtual at http://") {
                let addr = url.split('/').next().unwrap().to_string();
                return Server {
                    child,
                    err,
                    addr,
                    lines,
                };
            }
        }
    }

    /// The status code of `GET /eSCL/ScannerStatus` with this `Authorization` header.
    fn status(&self, authorization: Option<&str>) -> u16 {
        self.get("/eSCL/ScannerStatus", authorization)
    }

    /// The status code of `GET path` with this `Authorization` header.
    fn get(&self, path: &str, authorization: Option<&str>) -> u16 {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        response
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{response}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let mut rest = String::new();
        let _ = self.err.read_to_string(&mut rest);
        let _ = self.child.wait();
    }
}

/// Runs `cmd`, which must end by itself within 10 s (a `serve` that starts is killed and
/// fails the test instead of hanging it).
fn refused(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("it started instead of refusing: {}", stderr(&o));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `Basic base64(scan:secret)`.
const SCAN_SECRET: &str = "Basic c2NhbjpzZWNyZXQ=";

#[test]
fn the_password_comes_from_a_file_or_the_environment_and_the_command_line_warns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "secret\nsecond line ignored\n").unwrap();
    let from_file = Server::start(
        command(dir.path()).env_remove("SCANWIRE_PASSWORD"),
        &["--user", "scan", "--password-file", "pw"],
    );
    let from_env = Server::start(
        command(dir.path()).env("SCANWIRE_PASSWORD", "secret"),
        &["--user", "scan"],
    );
    for s in [&from_file, &from_env] {
        assert_eq!(s.lines.len(), 1, "no warning: {:?}", s.lines);
        assert_eq!(s.status(None), 401);
        assert_eq!(s.status(Some("Basic c2NhbjpzZWNyZXQ")), 401);
        assert_eq!(s.status(Some(SCAN_SECRET)), 200);
    }
    let on_command_line = Server::start(
        command(dir.path()).env_remove("SCANWIRE_PASSWORD"),
        &["--user", "scan", "--password", "secret"],
    );
    assert!(
        on_command_line.lines[0].starts_with("warning: --password is visible to every user")
            && on_command_line.lines[0].contains("--password-file FILE or SCANWIRE_PASSWORD"),
        "{:?}",
        on_command_line.lines
    );
    assert_eq!(on_command_line.status(Some(SCAN_SECRET)), 200);
}

#[test]
fn credentials_basic_auth_cannot_carry_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    for (args, msg) in [
        (
            &["--user", "", "--password", "x"][..],
            "--user: the user name is empty",
        ),
        (
            &["--user", "a:b", "--password", "x"][..],
            "--user a:b: a user name must not contain ':'",
        ),
        (
            &["--user", "scan", "--password", ""][..],
            "--user scan: the password is empty",
        ),
        (
            &["--user", "scan", "--password-file", "empty"][..],
            "--user scan: the password is empty",
        ),
        (
            &["--user", "scan", "--password-file", "missing"][..],
            "--password-file missing: No such file",
        ),
        (
            &["--user", "scan"][..],
            "--user scan needs a password: --password-file FILE, the SCANWIRE_PASSWORD environment variable, or --password",
        ),
    ] {
        let o = command(dir.path())
            .env_remove("SCANWIRE_PASSWORD")
            .arg("serve")
            .args(args)
            .output()
            .unwrap();
        exits_with(&o, 2, msg);
    }
    let o = scanwire(&["serve", "--password", "x"], dir.path());
    exits_with(&o, 2, "--user");
    let o = scanwire(
        &[
            "serve",
            "--user",
            "a",
            "--password",
            "x",
            "--password-file",
            "f",
        ],
        dir.path(),
    );
    exits_with(&o, 2, "cannot be used with");
    assert!(!stderr(&o).contains("serving"));
}

/// `--set` is checked against every served device at start-up: an option a device does not
/// have, or a value it does not take, stops `serve` with exit status 2 naming the device and
/// the option (it used to start and then fail every job with 500 InvalidScanTicket).
#[test]
fn set_is_checked_against_each_device_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    for (set, msg) in [
        ("foo=bar", "unknown option `foo`"),
        ("hang-at-page=0", "hang-at-page"),
        ("jam-at-pag=2", "did you mean jam-at-page?"),
        ("ppm", "expected NAME=VALUE"),
    ] {
        let o =
            refused(command(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--set", set]));
        exits_with(&o, 2, msg);
        let err = stderr(&o);
        assert!(
            set == "ppm" || err.contains("virtual"),
            "names the device: {err}"
        );
        assert!(!err.contains("serving"), "{err}");
    }
    // Options the device takes: it serves, and jobs get them.
    let s = Server::start(
        &mut command(dir.path()),
        &["--set", "ppm=600", "--set", "jam-at-page=none"],
    );
    assert_eq!(s.status(None), 200);
}

/// `scan` from a scanner that removes blank pages itself (here `serve`, which advertises
/// BlankPageDetectionAndRemoval and AutoCrop like the Brother and HP fixtures): `--blank skip`
/// is asked of the device, `--deskew` (no eSCL element) runs here, and `--json` says where
/// each ran. The served feeder holds five sheets, the second and fourth blank.
#[test]
fn scan_asks_an_escl_scanner_to_remove_blank_pages_and_deskews_here() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &mut command(dir.path()),
        &["--set", "sheets=5", "--set", "blank-sheets=2,4"],
    );
    let device = format!("escl:http://{}/eSCL", s.addr);
    let o = scanwire(
        &[
            "scan",
            "-d",
            &device,
            "--source",
            "adf",
            "--mode",
            "gray",
            "--resolution",
            "100",
            "--blank",
            "skip",
            "--deskew",
            "--json",
            "-o",
            "out.pdf",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pages"], 3, "{v}");
    let pages = v["processing"].as_array().expect("a processing report");
    // The device dropped the blank sheets: only the three kept pages came here.
    assert_eq!(pages.len(), 3, "{v}");
    for p in pages {
        assert_eq!(
            p["processed"],
            serde_json::json!({"blank": "device", "deskew": "local"}),
            "{p}"
        );
        assert!(p["deskew"].is_object(), "deskew ran here: {p}");
    }
}

/// The web page is served at `/` by default; `--no-web` serves eSCL only.
#[test]
fn the_web_page_is_served_unless_no_web() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let server = Server::start(&mut command(dir.path()), &["--state-dir", state]);
    assert_eq!(server.get("/", None), 200);
    assert_eq!(server.get("/api/devices", None), 200);
    drop(server);
    let server = Server::start(&mut command(dir.path()), &["--no-web"]);
    assert_eq!(server.get("/", None), 404);
    assert_eq!(server.get("/api/devices", None), 404);
    assert_eq!(server.get("/eSCL/ScannerStatus", None), 200);
}
