//! WS-Discovery of `serve --wsd` (`ServerConfig::wsd_discovery`) found by a real client:
//! sane-airscan's WSD discovery, on a private network of two namespaces joined by a veth
//! pair (see `common/netns.rs`), then a scan from what it found. The server runs as this
//! test binary again (`child_wsd_server`, ignored when run directly) in the server
//! namespace; sane-airscan runs in the client namespace with its own SANE_CONFIG_DIR (the
//! only one with discovery on) and a private /run with its own D-Bus and Avahi, so it
//! reaches nothing of the machine's. Nothing is ever sent on the machine's own interfaces.

mod common;

use common::avahi;
use common::netns::{expect, lines, Pair, SERVER_IP};
use scanwire_core::transfer::share;
use scanwire_server::{BlockingServer, ServerConfig};
use scanwire_virtual::VirtualDevice;
use std::io::Read;
use std::time::Duration;

const PORT: u16 = 8091;

#[test]
#[ignore = "a helper process: the WS-Discovery test runs it inside a network namespace"]
fn child_wsd_server() {
    let Ok(listen) = std::env::var("SCANWIRE_CHILD_LISTEN") else {
        eprintln!("child_wsd_server: nothing to do outside the WS-Discovery test");
        return;
    };
    let config = ServerConfig {
        listen: listen.parse().unwrap(),
        wsd: true,
        wsd_discovery: true,
        ..ServerConfig::default()
    };
    let devices = vec![("virtual".to_string(), share(Box::new(VirtualDevice::new())))];
    let server = BlockingServer::start(config, devices).expect("server starts");
    println!("READY {}", server.wsd_url());
    // Until the test closes our stdin (or dies).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop().unwrap();
    println!("STOPPED");
}

#[test]
fn sane_airscan_finds_serve_wsd_by_ws_discovery_and_scans_from_it() {
    if !common::peers::available("airscan") || !avahi::available() {
        return;
    }
    let Some(mut pair) = Pair::new("wsdd") else {
        return;
    };
    let mut c = pair.this_test_binary(&pair.server, "child_wsd_server");
    c.env("SCANWIRE_CHILD_LISTEN", format!("{SERVER_IP}:{PORT}"));
    let server = pair.spawn(c);
    let _stdin = server.stdin.take().unwrap();
    let out = lines(server.stdout.take().unwrap());
    let url = expect(&out, "READY ", Duration::from_secs(30), &mut Vec::new());
    assert!(
        url.contains(&format!("http://{SERVER_IP}:{PORT}/WSDScanner")),
        "{url}"
    );

    // In the client namespace (see `common/avahi.rs`; the server announces nothing over
    // mDNS, so only WS-Discovery can find it): `scanimage -L`, then a scan from the WSD
    // device it lists.
    let client = avahi::Client::new("full", &avahi::list_and_scan("airscan:w[^']*"));
    let text = client.run(&pair, &[]);
    // Listed as a WSD device with the model from the metadata.
    assert!(
        text.lines()
            .any(|l| l.starts_with("device `airscan:w") && l.contains("Scanwire Virtual Scanner")),
        "{text}"
    );
    client.scanned_page(&text);
}
