//! `scanwire devices add | remove | --discover` and added devices as `--device NAME`, as a
//! user runs them. Each test keeps its device list in its own directory
//! (`SCANWIRE_CONFIG_DIR`). Discovery runs only inside a network namespace the test creates,
//! never on the machine's interfaces.

mod common;

use common::{exits_with, sane_dir, scanwire, stderr};
use scanwire_core::transfer;
use scanwire_server::{BlockingServer, ServerConfig, TlsConfig};
use scanwire_virtual::VirtualDevice;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_devices(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "{}", stderr(o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["devices"].as_array().unwrap().clone()
}

/// The virtual scanner served over eSCL on 127.0.0.1.
fn server() -> BlockingServer {
    server_with(None)
}

/// [`server`], over HTTPS with `tls`.
fn server_with(tls: Option<TlsConfig>) -> BlockingServer {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls,
        ..Default::default()
    };
    let device = transfer::share(Box::new(VirtualDevice::new()));
    BlockingServer::start(config, vec![("virtual".into(), device)]).unwrap()
}

/// A scanner added as `office`: listed by `driver` as `driver:url` with its name, and usable
/// as `--device office` for caps and for a scan.
fn listed_and_usable_as_office(dir: &Path, driver: &str, url: &str) {
    let list = json_devices(&scanwire(&["devices", "--json"], dir));
    let entry = list
        .iter()
        .find(|d| d["id"] == format!("{driver}:{url}"))
        .unwrap_or_else(|| panic!("{list:?}"));
    assert_eq!(entry["driver"], driver);
    assert!(
        entry["model"].as_str().unwrap().contains("`office`"),
        "{entry}"
    );
    let o = scanwire(&["caps", "office", "--json"], dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let caps: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(caps["model"], "Scanwire Virtual Scanner");
    let o = scanwire(
        &[
            "scan",
            "-d",
            "office",
            "--mode",
            "gray",
            "--resolution",
            "75",
            "-x",
            "50",
            "-y",
            "20",
            "-o",
            "p.png",
            "--quiet",
        ],
        dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let png = std::fs::read(dir.join("p.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}

#[test]
fn an_added_scanner_is_listed_usable_by_name_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let s = server();
    let url = s.url();
    let o = scanwire(
        &["devices", "add", "escl", &url, "--name", "office"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text(&o.stdout).contains(&format!("added office = {url}")));
    let file = std::fs::read_to_string(dir.path().join("config/devices.toml")).unwrap();
    assert!(
        file.contains("name = \"office\"") && file.contains(&url),
        "{file}"
    );

    listed_and_usable_as_office(dir.path(), "escl", &url);

    // The same URL or name twice is refused.
    let o = scanwire(
        &["devices", "add", "escl", &url, "--name", "other"],
        dir.path(),
    );
    exits_with(&o, 2, "already added as office");

    // Removed by URL (in another spelling: trailing slash).
    let o = scanwire(&["devices", "remove", &format!("{url}/")], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let list = json_devices(&scanwire(&["devices", "--json"], dir.path()));
    assert!(list.iter().all(|d| d["driver"] != "escl"), "{list:?}");
    let o = scanwire(&["caps", "office"], dir.path());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown device `office`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_added_wsd_scanner_is_listed_usable_by_name_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        wsd: true,
        ..Default::default()
    };
    let device = transfer::share(Box::new(VirtualDevice::new()));
    let s = BlockingServer::start(config, vec![("virtual".into(), device)]).unwrap();
    let url = s.wsd_url();
    // The id form is accepted too; what is kept is the service URL.
    let o = scanwire(
        &[
            "devices",
            "add",
            "wsd",
            &format!("wsd:{url}"),
            "--name",
            "office",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text(&o.stdout).contains(&format!("added office = {url} (wsd)")),
        "{}",
        text(&o.stdout)
    );
    let file = std::fs::read_to_string(dir.path().join("config/devices.toml")).unwrap();
    assert!(
        file.contains("[[wsd]]") && file.contains(&format!("url = \"{url}\"")),
        "{file}"
    );
    assert!(!file.contains("[[escl]]"), "{file}");

    listed_and_usable_as_office(dir.path(), "wsd", &url);

    // A name is unique across kinds; the same service twice is refused.
    let escl = s.url();
    let o = scanwire(
        &["devices", "add", "escl", &escl, "--name", "OFFICE"],
        dir.path(),
    );
    exits_with(&o, 2, "a device named office is already added (wsd:");
    let o = scanwire(
        &["devices", "add", "wsd", &url, "--name", "other"],
        dir.path(),
    );
    exits_with(&o, 2, "already added as office");
    // An eSCL scanner beside it, then each removed by its own id.
    let o = scanwire(
        &["devices", "add", "escl", &escl, "--name", "e"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = scanwire(&["devices", "remove", &format!("escl:{url}")], dir.path());
    exits_with(&o, 2, "added: e, office");
    let o = scanwire(&["devices", "remove", &format!("wsd:{url}")], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text(&o.stdout).contains(&format!("removed office = {url} (wsd)")),
        "{}",
        text(&o.stdout)
    );
    let o = scanwire(&["devices", "remove", "e"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let list = json_devices(&scanwire(&["devices", "--json"], dir.path()));
    assert!(
        list.iter()
            .all(|d| d["driver"] != "wsd" && d["driver"] != "escl"),
        "{list:?}"
    );
    let o = scanwire(&["caps", "office"], dir.path());
    exits_with(&o, 2, "unknown device `office`");

    // Bad WS-Scan addresses say what is allowed.
    for (bad, msg) in [
        (
            "https://127.0.0.1:9/WSDScanner",
            "only http:// is supported",
        ),
        ("http://127.0.0.1:9", "the service path is missing"),
    ] {
        let o = scanwire(&["devices", "add", "wsd", bad], dir.path());
        exits_with(&o, 2, msg);
    }
}

#[test]
fn an_https_scanner_with_a_self_signed_certificate_is_added_and_scans() {
    let dir = tempfile::tempdir().unwrap();
    let s = server_with(Some(
        TlsConfig::self_signed(&["127.0.0.1".to_string()]).unwrap(),
    ));
    let url = s.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    // Any spelling of the scheme; the name defaults to host and port.
    let o = scanwire(
        &["devices", "add", "escl", &url.replace("https:", "HTTPS:")],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let port = s.local_addr().port();
    let name = format!("127.0.0.1-{port}");
    assert!(
        text(&o.stdout).contains(&format!("added {name} = {url}")),
        "{}",
        text(&o.stdout)
    );
    let list = json_devices(&scanwire(&["devices", "--json"], dir.path()));
    assert!(
        list.iter().any(|d| d["id"] == format!("escl:{url}")),
        "{list:?}"
    );
    let o = scanwire(
        &[
            "scan",
            "-d",
            &name,
            "--mode",
            "gray",
            "--resolution",
            "75",
            "-o",
            "p.png",
            "--quiet",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let png = std::fs::read(dir.path().join("p.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let o = scanwire(&["devices", "remove", &format!("escl:{url}")], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn names_default_to_host_and_port_and_remove_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = scanwire(
        &["devices", "add", "escl", "http://127.0.0.1:9/eSCL"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text(&o.stdout).contains("added 127.0.0.1-9 = http://127.0.0.1:9/eSCL"));
    let o = scanwire(&["devices", "remove", "127.0.0.1-9"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let file = std::fs::read_to_string(dir.path().join("config/devices.toml")).unwrap();
    assert!(!file.contains("127.0.0.1"), "{file}");
}

#[test]
fn bad_input_says_what_is_allowed_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, msg) in [
        (
            vec!["devices", "add", "escl", "ftp://x/eSCL"],
            "expected http://HOST:PORT/eSCL, https://HOST:PORT/eSCL",
        ),
        (
            vec!["devices", "add", "twain", "http://127.0.0.1:9/eSCL"],
            "unknown kind; allowed: escl, wsd",
        ),
        (
            vec![
                "devices",
                "add",
                "escl",
                "http://127.0.0.1:9/eSCL",
                "--name",
                "a:b",
            ],
            "must not contain ':'",
        ),
        (vec!["devices", "remove", "nothing"], "added: none"),
    ] {
        let o = scanwire(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
    }
    // A broken file is reported with its path, not ignored.
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/devices.toml"),
        "[[escl]]\nname = 3\n",
    )
    .unwrap();
    let o = scanwire(
        &["devices", "add", "escl", "http://127.0.0.1:9/eSCL"],
        dir.path(),
    );
    exits_with(&o, 2, "devices.toml is not a valid device list");
}

#[test]
fn the_list_lives_under_xdg_config_home_without_an_override() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_scanwire"))
        .args([
            "devices",
            "add",
            "escl",
            "http://127.0.0.1:9/eSCL",
            "--name",
            "x",
        ])
        .env_remove("SCANWIRE_CONFIG_DIR")
        .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
        .env("HOME", dir.path().join("home"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("xdg/scanwire/devices.toml").is_file());
    assert!(!dir.path().join("home").exists());
}

// ---------------------------------------------------------------------------------------
// Discovery, inside a network namespace this test creates.

/// A network namespace with only `lo` (up, multicast on, a route for 224.0.0.0/4), deleted
/// when dropped, even if the test fails.
struct Netns(String);

impl Netns {
    fn create(tag: &str) -> Result<Netns, String> {
        let name = format!("scanwire-{tag}-{}", std::process::id());
        run(&["ip", "netns", "add", &name])?;
        let ns = Netns(name);
        run(&["ip", "-n", &ns.0, "link", "set", "lo", "up"])?;
        run(&["ip", "-n", &ns.0, "link", "set", "lo", "multicast", "on"])?;
        run(&[
            "ip",
            "-n",
            &ns.0,
            "route",
            "add",
            "224.0.0.0/4",
            "dev",
            "lo",
        ])?;
        Ok(ns)
    }

    fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(args: &[&str]) -> Result<(), String> {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{}: {}", args.join(" "), stderr(&o).trim()))
    }
}

/// Kills the announcer when the test ends.
struct Announcer(Child);

impl Drop for Announcer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run as a helper process inside the namespace (`SCANWIRE_TEST_ANNOUNCE=PORT`): announces an
/// eSCL scanner at 127.0.0.1:PORT (`_uscan`) and PORT + 1 (`_uscans`) over mDNS on loopback
/// for a few seconds. Without that variable (a normal test run) it has nothing to do.
#[test]
fn announce_helper() {
    let Ok(port) = std::env::var("SCANWIRE_TEST_ANNOUNCE") else {
        return;
    };
    use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
    let daemon = ServiceDaemon::new().unwrap();
    daemon.enable_interface(IfKind::LoopbackV4).unwrap();
    // The same scanner over plain HTTP on PORT and over HTTPS on PORT + 1.
    let port: u16 = port.parse().unwrap();
    for (ty, port) in [
        ("_uscan._tcp.local.", port),
        ("_uscans._tcp.local.", port + 1),
    ] {
        let info = ServiceInfo::new(
            ty,
            "Scanwire Test",
            "scanwire-test.local.",
            "127.0.0.1",
            port,
            &[
                ("rs", "eSCL"),
                ("ty", "Scanwire Test Scanner"),
                ("txtvers", "1"),
            ][..],
        )
        .unwrap();
        daemon.register(info).unwrap();
    }
    println!("announcing");
    std::thread::sleep(Duration::from_secs(20));
}

#[test]
fn discover_finds_a_scanner_announced_in_a_private_network_namespace() {
    let ns = match Netns::create("mdns") {
        Ok(ns) => ns,
        Err(e) => {
            scanwire_testkit::peer_missing(&format!(
                "cannot create a network namespace ({e}); run as root"
            ));
            return;
        }
    };
    let port = "8765";
    let announcer = ns
        .exec(std::env::current_exe().unwrap().to_str().unwrap())
        .args([
            "--exact",
            "announce_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SCANWIRE_TEST_ANNOUNCE", port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _announcer = Announcer(announcer);
    let dir = tempfile::tempdir().unwrap();
    let o = ns
        .exec(env!("CARGO_BIN_EXE_scanwire"))
        .args(["devices", "--discover", "--discover-time", "4", "--json"])
        .env("SCANWIRE_CONFIG_DIR", dir.path().join("config"))
        .env("SANE_CONFIG_DIR", sane_dir(dir.path()))
        .output()
        .unwrap();
    let list = json_devices(&o);
    let found = list
        .iter()
        .find(|d| d["id"] == format!("escl:http://127.0.0.1:{port}/eSCL"))
        .unwrap_or_else(|| panic!("not discovered: {list:?}\n{}", stderr(&o)));
    assert_eq!(found["model"], "Scanwire Test Scanner");
    assert_eq!(found["driver"], "escl");
    // `_uscans` is a usable https id.
    let found = list
        .iter()
        .find(|d| d["id"] == "escl:https://127.0.0.1:8766/eSCL")
        .unwrap_or_else(|| panic!("_uscans not discovered: {list:?}\n{}", stderr(&o)));
    assert_eq!(found["model"], "Scanwire Test Scanner");

    // Without --discover nothing is browsed.
    let o = ns
        .exec(env!("CARGO_BIN_EXE_scanwire"))
        .args(["devices", "--json"])
        .env("SCANWIRE_CONFIG_DIR", dir.path().join("config"))
        .env("SANE_CONFIG_DIR", sane_dir(dir.path()))
        .output()
        .unwrap();
    assert!(json_devices(&o).iter().all(|d| d["driver"] != "escl"));
}

/// Run as a helper process inside the namespace (`SCANWIRE_TEST_WSD_LISTEN=1`): prints the
/// WS-Discovery Hello and Bye it hears on the group (`HELLO address xaddr`, `BYE address`)
/// for a while. Without that variable (a normal test run) it has nothing to do.
#[test]
fn wsd_listen_helper() {
    if std::env::var_os("SCANWIRE_TEST_WSD_LISTEN").is_none() {
        return;
    }
    use scanwire_wsd::{Body, Envelope};
    let socket = scanwire_wsd_client::discovery::group_listener().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    println!("LISTENING");
    let end = std::time::Instant::now() + Duration::from_secs(40);
    let mut buf = vec![0u8; 65536];
    while std::time::Instant::now() < end {
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            continue;
        };
        match Envelope::from_xml(&buf[..n]).map(|e| e.body) {
            Ok(Body::Hello(t)) if t.is_scanner() => {
                println!("HELLO {} {}", t.address, t.xaddrs.join(" "))
            }
            Ok(Body::Bye(t)) => println!("BYE {}", t.address),
            _ => {}
        }
    }
}

/// Lines of a child's output, as they come.
fn lines(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line containing `needle` within 30 s.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) -> String {
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            Err(_) => panic!("no line with {needle:?} within 30 s; got {seen:#?}"),
        }
    }
}

#[test]
fn discover_finds_serve_wsd_announced_in_a_private_network_namespace_and_scans_from_it() {
    let ns = match Netns::create("wsd") {
        Ok(ns) => ns,
        Err(e) => {
            scanwire_testkit::peer_missing(&format!(
                "cannot create a network namespace ({e}); run as root"
            ));
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let sane = sane_dir(dir.path());
    // Someone listening for announcements before the server starts.
    let mut listener = ns
        .exec(std::env::current_exe().unwrap().to_str().unwrap())
        .args([
            "--exact",
            "wsd_listen_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SCANWIRE_TEST_WSD_LISTEN", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let heard = lines(listener.stdout.take().unwrap());
    let _listener = Announcer(listener);
    let mut seen = Vec::new();
    wait_for(&heard, "LISTENING", &mut seen);

    let port = 8767;
    let mut server = ns
        .exec(env!("CARGO_BIN_EXE_scanwire"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--wsd",
            "--wsd-discovery",
        ])
        .env("SANE_CONFIG_DIR", &sane)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let server_pid = server.id();
    let said = lines(server.stderr.take().unwrap());
    let _server = Announcer(server);
    let mut server_seen = Vec::new();
    wait_for(&said, "announced over WS-Discovery", &mut server_seen);
    let service = format!("http://127.0.0.1:{port}/WSDScanner");
    let hello = wait_for(&heard, "HELLO ", &mut seen);
    let endpoint = hello.split(' ').nth(1).unwrap().to_string();
    assert!(endpoint.starts_with("urn:uuid:"), "{hello}");
    assert!(hello.ends_with(&format!(" {service}")), "{hello}");

    // Probed: found, named from the metadata, and a usable id.
    let scanwire_in_ns = |args: &[&str]| {
        ns.exec(env!("CARGO_BIN_EXE_scanwire"))
            .args(args)
            .current_dir(dir.path())
            .env("SCANWIRE_CONFIG_DIR", dir.path().join("config"))
            .env("SANE_CONFIG_DIR", &sane)
            .output()
            .unwrap()
    };
    let o = scanwire_in_ns(&["devices", "--discover", "--discover-time", "2", "--json"]);
    let list = json_devices(&o);
    let id = format!("wsd:{service}");
    let found = list
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("not discovered: {list:?}\n{}", stderr(&o)));
    assert_eq!(found["driver"], "wsd");
    assert_eq!(found["vendor"], "Scanwire");
    assert_eq!(found["model"], "Scanwire Virtual Scanner");
    let o = scanwire_in_ns(&[
        "scan",
        "-d",
        &id,
        "--mode",
        "gray",
        "--resolution",
        "75",
        "-x",
        "40",
        "-y",
        "30",
        "-o",
        "found.png",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let png = std::fs::read(dir.path().join("found.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // Stopping the server says Bye for the same endpoint.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server_pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    wait_for(&said, "stopped", &mut server_seen);
    let bye = wait_for(&heard, "BYE ", &mut seen);
    assert_eq!(bye, format!("BYE {endpoint}"));

    // Without --wsd-discovery nothing is announced or answered.
    let quiet = ns
        .exec(env!("CARGO_BIN_EXE_scanwire"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--wsd"])
        .env("SANE_CONFIG_DIR", &sane)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut quiet = Announcer(quiet);
    let said = lines(quiet.0.stderr.take().unwrap());
    wait_for(&said, "WS-Scan (WSD) service at", &mut Vec::new());
    let o = scanwire_in_ns(&["devices", "--discover", "--discover-time", "1", "--json"]);
    let list = json_devices(&o);
    assert!(list.iter().all(|d| d["driver"] != "wsd"), "{list:?}");
    assert!(
        heard.try_iter().all(|l| !l.starts_with("HELLO")),
        "a Hello without --wsd-discovery"
    );
}
