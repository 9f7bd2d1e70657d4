//! mDNS (DNS-SD) announcements, checked by real browsers on a private network: the server
//! runs in one network namespace made by the test, the browser in another, joined by a veth
//! pair (see `common/netns.rs`). Nothing is ever sent on the machine's own interfaces.
//!
//! Browsers: Avahi (`avahi-daemon` with a private D-Bus, `avahi-browse`) and sane-airscan
//! with discovery on, both inside the client namespace only (their own SANE_CONFIG_DIR;
//! /etc/sane.d is untouched), and a second mdns-sd process.
//!
//! The server and the mdns-sd browser run as this test binary again (`child_*` below,
//! ignored when run directly) inside `ip netns exec`.

mod common;

use common::avahi;
use common::device::{shared, TestScanner};
use common::netns::{expect, lines, Pair, SERVER_IP};
use scanwire_core::transfer::share;
use scanwire_server::{
    announcements, BlockingServer, MdnsConfig, ServerConfig, ServerState, TlsConfig,
};
use scanwire_virtual::VirtualDevice;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PORT: u16 = 8090;

fn txt(a: &scanwire_server::Announcement) -> BTreeMap<String, String> {
    a.txt.iter().cloned().collect()
}

#[test]
fn announcements_carry_the_txt_keys_clients_need() {
    let mut flatbed_only = TestScanner::new("flat");
    flatbed_only.caps.sources.truncate(1);
    flatbed_only.caps.sources[0].modes = vec![scanwire_core::device::ColorMode::Gray];
    let state = ServerState::new(
        ServerConfig::default(),
        vec![
            ("test".into(), shared(TestScanner::new("test"))),
            ("flat bed".into(), shared(flatbed_only)),
        ],
    )
    .unwrap();
    let a = announcements(&state, 8090);
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].service_type, "_uscan._tcp.local.");
    assert_eq!(a[0].instance, "Scanwire Test Scanner test");
    assert_eq!(a[0].port, 8090);
    let t = txt(&a[0]);
    let uuid = state.endpoints()[0].uuid.clone();
    for (k, v) in [
        ("txtvers", "1"),
        ("vers", "2.63"),
        ("ty", "Scanwire Test Scanner test"),
        ("uuid", uuid.as_str()),
        ("rs", "eSCL"),
        ("pdl", "application/pdf,image/jpeg,image/png,image/tiff"),
        ("cs", "color,grayscale,binary"),
        ("is", "platen,adf"),
        ("duplex", "T"),
    ] {
        assert_eq!(t.get(k).map(String::as_str), Some(v), "TXT {k}: {t:?}");
    }
    // The second device: its own path (no slashes around it), its own capabilities.
    assert_eq!(a[1].instance, "Scanwire Test Scanner flat (flat-bed)");
    let t = txt(&a[1]);
    assert_eq!(t["rs"], "eSCL/flat-bed");
    assert_eq!(t["cs"], "grayscale");
    assert_eq!(t["is"], "platen");
    assert_eq!(t["duplex"], "F");

    // TLS: announced as _uscans, and a chosen name.
    let config = ServerConfig {
        tls: Some(TlsConfig::self_signed(&["localhost".into()]).unwrap()),
        mdns: Some(MdnsConfig {
            name: Some("Office scanner".into()),
            host: None,
        }),
        ..ServerConfig::default()
    };
    let state =
        ServerState::new(config, vec![("test".into(), shared(TestScanner::new("t")))]).unwrap();
    let a = announcements(&state, 443);
    assert_eq!(a[0].service_type, "_uscans._tcp.local.");
    assert_eq!(a[0].instance, "Office scanner");
}

// ---- helper processes, run inside a namespace by the tests below ----

#[test]
#[ignore = "a helper process: the mDNS tests run it inside a network namespace"]
fn child_server() {
    let Ok(listen) = std::env::var("SCANWIRE_CHILD_LISTEN") else {
        eprintln!("child_server: nothing to do outside the mDNS tests");
        return;
    };
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    let tls = std::env::var("SCANWIRE_CHILD_TLS").is_ok();
    let config = ServerConfig {
        listen: addr,
        mdns: Some(MdnsConfig::default()),
        tls: tls.then(|| TlsConfig::self_signed(&[addr.ip().to_string()]).unwrap()),
        ..ServerConfig::default()
    };
    let devices = vec![
        ("virtual".to_string(), share(Box::new(VirtualDevice::new()))),
        ("second".to_string(), share(Box::new(VirtualDevice::new()))),
    ];
    let server = BlockingServer::start(config, devices).expect("server starts");
    for name in server.announced() {
        println!("ANNOUNCED {name}");
    }
    println!("READY {}", server.url());
    // Until the test closes our stdin (or dies).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop().unwrap();
    println!("STOPPED");
}

#[test]
#[ignore = "a helper process: the mDNS tests run it inside a network namespace"]
fn child_browser() {
    let Ok(ty) = std::env::var("SCANWIRE_CHILD_BROWSE") else {
        eprintln!("child_browser: nothing to do outside the mDNS tests");
        return;
    };
    let want: usize = std::env::var("SCANWIRE_CHILD_WANT")
        .unwrap()
        .parse()
        .unwrap();
    let daemon = mdns_sd::ServiceDaemon::new().unwrap();
    let events = daemon.browse(&ty).unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    let (mut found, mut removed) = (0, 0);
    while removed < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(ev) = events.recv_timeout(left) else {
            println!("TIMEOUT");
            break;
        };
        match ev {
            mdns_sd::ServiceEvent::ServiceResolved(s) if found < want => {
                found += 1;
                let mut txt: Vec<String> = s
                    .txt_properties
                    .iter()
                    .map(|p| format!("{}={}", p.key(), p.val_str()))
                    .collect();
                txt.sort();
                let mut addrs: Vec<String> = s
                    .addresses
                    .iter()
                    .map(|a| a.to_ip_addr().to_string())
                    .collect();
                addrs.sort();
                println!(
                    "FOUND\t{}\t{}\t{}\t{}\t{}",
                    s.fullname,
                    s.host,
                    addrs.join(","),
                    s.port,
                    txt.join(";")
                );
            }
            mdns_sd::ServiceEvent::ServiceRemoved(_, name) => {
                removed += 1;
                println!("REMOVED\t{name}");
            }
            _ => {}
        }
    }
    let _ = daemon.shutdown();
}

// ---- the tests ----

/// Starts the server (two devices) in the server namespace; returns its stdin (close it to
/// stop the server) and its output lines.
fn start_server(
    pair: &mut Pair,
    tls: bool,
) -> (std::process::ChildStdin, mpsc::Receiver<String>, String) {
    let mut c = pair.this_test_binary(&pair.server, "child_server");
    c.env("SCANWIRE_CHILD_LISTEN", format!("{SERVER_IP}:{PORT}"));
    if tls {
        c.env("SCANWIRE_CHILD_TLS", "1");
    }
    let child = pair.spawn(c);
    let stdin = child.stdin.take().unwrap();
    let out = lines(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let url = expect(&out, "READY ", Duration::from_secs(30), &mut seen);
    (stdin, out, url)
}

#[test]
fn announced_in_a_namespace_found_by_mdns_sd_and_withdrawn_on_stop() {
    let Some(mut pair) = Pair::new("sd") else {
        return;
    };
    let (stdin, server_out, url) = start_server(&mut pair, false);
    assert_eq!(url, format!("http://{SERVER_IP}:{PORT}/eSCL"));
    let mut c = pair.this_test_binary(&pair.client, "child_browser");
    c.env("SCANWIRE_CHILD_BROWSE", "_uscan._tcp.local.")
        .env("SCANWIRE_CHILD_WANT", "2");
    let browser = pair.spawn(c);
    let out = lines(browser.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut found: Vec<Vec<String>> = (0..2)
        .map(|_| {
            expect(&out, "FOUND\t", Duration::from_secs(30), &mut seen)
                .split('\t')
                .map(String::from)
                .collect()
        })
        .collect();
    found.sort();
    let host = format!(
        "scanwire-{}.local.",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .split('.')
            .next()
            .unwrap()
    );
    let first = &found[0];
    assert_eq!(
        first[0],
        "Scanwire Virtual Scanner (second)._uscan._tcp.local."
    );
    assert_eq!(first[1], host);
    assert_eq!(
        first[2], SERVER_IP,
        "only the listening address is announced"
    );
    assert_eq!(first[3], PORT.to_string());
    assert!(first[4].contains("rs=eSCL/second;"), "{}", first[4]);
    let default = &found[1];
    assert_eq!(default[0], "Scanwire Virtual Scanner._uscan._tcp.local.");
    for kv in [
        "txtvers=1",
        "ty=Scanwire Virtual Scanner",
        "rs=eSCL",
        "pdl=application/pdf,image/jpeg,image/png,image/tiff",
        "is=platen,adf",
        "duplex=T",
    ] {
        assert!(
            default[4].split(';').any(|x| x == kv),
            "{kv} missing from {}",
            default[4]
        );
    }
    assert!(default[4].contains("uuid="), "{}", default[4]);

    // Stopping the server withdraws both (goodbye packets).
    drop(stdin);
    let mut server_seen = Vec::new();
    expect(
        &server_out,
        "STOPPED",
        Duration::from_secs(20),
        &mut server_seen,
    );
    let mut gone: Vec<String> = (0..2)
        .map(|_| expect(&out, "REMOVED\t", Duration::from_secs(20), &mut seen))
        .collect();
    gone.sort();
    assert_eq!(
        gone,
        [
            "Scanwire Virtual Scanner (second)._uscan._tcp.local.",
            "Scanwire Virtual Scanner._uscan._tcp.local."
        ]
    );
}

/// The Avahi side (see `common/avahi.rs`): avahi-browse until it resolves both
/// announcements, then, when asked, sane-airscan with discovery on scans from what it finds.
const AVAHI_SCRIPT: &str = r#"
TYPE=$2; MODE=${3:-browse}
found=
i=0
while [ $i -lt 30 ]; do
    avahi-browse -rtp "$TYPE" >"$D/browse.txt" 2>"$D/browse.err"
    if [ "$(grep -c '^=' "$D/browse.txt")" -ge 2 ]; then found=1; break; fi
    sleep 0.5; i=$((i+1))
done
echo BROWSE-BEGIN; cat "$D/browse.txt"; echo BROWSE-END
[ -n "$found" ] || { cat "$D/browse.err" "$D/avahi.log"; exit 3; }
[ "$MODE" = scan ] || exit 0
"#;

/// Runs the Avahi script in the client namespace against a server in the server namespace.
fn avahi_run(tag: &str, tls: bool, scan: bool) -> Option<(String, avahi::Client)> {
    if !avahi::available() || (scan && !common::peers::available("airscan")) {
        return None;
    }
    let mut pair = Pair::new(tag)?;
    let (_stdin, _out, _url) = start_server(&mut pair, tls);
    let script = format!(
        "{AVAHI_SCRIPT}{}",
        avahi::list_and_scan("airscan:[^']*Virtual Scanner")
    );
    let client = avahi::Client::new("off", &script);
    let ty = if tls { "_uscans._tcp" } else { "_uscan._tcp" };
    let text = client.run(&pair, &[ty, if scan { "scan" } else { "browse" }]);
    Some((text, client))
}

/// avahi-browse -p writes some characters of names as `\DDD` (decimal): `\032` is a space.
fn avahi_name(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let code = b
            .get(i + 1..i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| b[i] == b'\\' && d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u8>().ok());
        match code {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn avahi_browse_resolves_the_announcement_with_its_txt() {
    let Some((text, _dir)) = avahi_run("av", false, false) else {
        return;
    };
    // =;vc;IPv4;<instance>;_uscan._tcp;local;<host>;<address>;<port>;"k=v" "k=v" ...
    let resolved: Vec<Vec<String>> = text
        .lines()
        .filter(|l| l.starts_with("=;"))
        .map(|l| l.splitn(10, ';').map(String::from).collect())
        .collect();
    let default = resolved
        .iter()
        .find(|r| avahi_name(&r[3]) == "Scanwire Virtual Scanner")
        .unwrap_or_else(|| panic!("not resolved:\n{text}"));
    assert_eq!(default[4], "_uscan._tcp");
    assert_eq!(default[7], SERVER_IP);
    assert_eq!(default[8], PORT.to_string());
    for kv in [
        "\"rs=eSCL\"",
        "\"ty=Scanwire Virtual Scanner\"",
        "\"txtvers=1\"",
    ] {
        assert!(default[9].contains(kv), "{kv} not in {}", default[9]);
    }
    assert!(
        resolved
            .iter()
            .any(|r| avahi_name(&r[3]) == "Scanwire Virtual Scanner (second)"
                && r[9].contains("\"rs=eSCL/second\"")),
        "{text}"
    );
}

fn check_discovered_scan(text: &str, client: &avahi::Client) {
    let img = client.scanned_page(text);
    // Not a blank page: the virtual scanner's page has dark marks on white there. (The
    // pixels themselves are checked against the virtual scanner by the interop tests, over
    // the same server path; this test is about finding the server.)
    let dark = img.data.iter().filter(|&&v| v < 64).count();
    let light = img.data.iter().filter(|&&v| v > 192).count();
    assert!(
        dark > 0 && light > dark,
        "{dark} dark and {light} light pixels"
    );
}

#[test]
fn sane_airscan_discovers_the_server_and_scans_from_it() {
    let Some((text, client)) = avahi_run("sa", false, true) else {
        return;
    };
    assert!(text.contains("DEVICE airscan:"), "{text}");
    check_discovered_scan(&text, &client);
}

#[test]
fn sane_airscan_discovers_the_tls_server_as_uscans_and_scans_over_https() {
    let Some((text, client)) = avahi_run("st", true, true) else {
        return;
    };
    assert!(text.contains("_uscans._tcp"), "{text}");
    check_discovered_scan(&text, &client);
}
