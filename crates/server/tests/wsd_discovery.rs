//! WS-Discovery of `serve --wsd` (`ServerConfig::wsd_discovery`) found by a real client:
//! sane-airscan's WSD discovery, on a private network of two namespaces joined by a veth
//! pair (see `common/netns.rs`), then a scan from what it found. The server runs as this
//! test binary again (`child_wsd_server`, ignored when run directly) in the server
//! namespace; sane-airscan runs in the client namespace with its own SANE_CONFIG_DIR (the
//! only one with discovery on) and a private /run with its own D-Bus and Avahi, so it
//! reaches nothing of the machine's. Nothing is ever sent on the machine's own interfaces.

mod common;

use common::netns::{Pair, SERVER_IP};
use common::peers::Pnm;
use scanwire_core::transfer::share;
use scanwire_server::{BlockingServer, ServerConfig};
use scanwire_virtual::VirtualDevice;
use std::io::{BufRead, BufReader, Read};
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

/// In the client namespace: a private /run with a D-Bus and Avahi of its own on `vc` only
/// (sane-airscan does not start its discovery without Avahi; the server announces nothing
/// over mDNS, so only WS-Discovery can find it), `scanimage -L`, then a scan from the WSD
/// device it lists.
const SCRIPT: &str = r#"
set -u
D=$1
mount -t tmpfs tmpfs /run || exit 10
mkdir -p /run/avahi-daemon /run/dbus
dbus-daemon --config-file="$D/bus.conf" --nofork --nopidfile --nosyslog >"$D/dbus.log" 2>&1 &
DB=$!
AV=
trap 'kill $AV $DB 2>/dev/null; wait' EXIT
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/bus"
i=0; while [ ! -S "$D/bus" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
avahi-daemon -f "$D/avahi.conf" --no-drop-root --no-chroot --no-rlimits --no-proc-title >"$D/avahi.log" 2>&1 &
AV=$!
i=0; until avahi-browse -at >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
export SANE_CONFIG_DIR="$D/sane"
scanimage -L >"$D/list.txt" 2>&1
echo LIST-BEGIN; cat "$D/list.txt"; echo LIST-END
dev=$(sed -n "s/^device \`\(airscan:w[^']*\)' is a .*/\1/p" "$D/list.txt" | head -n 1)
[ -n "$dev" ] || { tail -n 80 "$D"/trace/*.log; exit 4; }
echo "DEVICE $dev"
timeout -s KILL 60 scanimage -d "$dev" --mode Gray --resolution 75 -l 0 -t 0 -x 50 -y 40 --format=pnm -o "$D/page.pnm" 2>"$D/scan.err"
rc=$?
# sane-airscan's close race (see common/peers.rs): a hang in sane_close after the whole
# exchange; the page it wrote is checked like any other.
if [ $rc = 137 ] && tail -n 5 "$D"/trace/*.log | grep -q 'DEVICE_STM_DONE->DEVICE_STM_CANCEL_DELAYED'; then
    echo "sane-airscan hung in sane_close after the page (its close race)"
    rc=0
fi
echo "SCAN-RC $rc"
cat "$D/scan.err"
[ $rc = 0 ] || tail -n 60 "$D"/trace/*.log
"#;

/// The private system bus (as in tests/mdns.rs).
const BUS_CONF: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=@BUS@</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#;

/// Only the veth end; no publishing of its own.
const AVAHI_CONF: &str =
    "[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=vc\nenable-dbus=yes\n\
[wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n";

fn avahi_available() -> bool {
    let have = |p: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&str> = ["avahi-daemon", "avahi-browse", "dbus-daemon", "unshare"]
        .into_iter()
        .filter(|p| !have(p))
        .collect();
    if missing.is_empty() {
        return true;
    }
    common::netns::unavailable::<()>(&format!(
        "sane-airscan's discovery needs {} (Debian avahi-daemon, avahi-utils, dbus-daemon, util-linux)",
        missing.join(", ")
    ));
    false
}

#[test]
fn sane_airscan_finds_serve_wsd_by_ws_discovery_and_scans_from_it() {
    if !common::peers::available("airscan") || !avahi_available() {
        return;
    }
    let Some(mut pair) = Pair::new("wsdd") else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let mut c = pair.command(&pair.server.clone(), exe.to_str().unwrap());
    c.args([
        "child_wsd_server",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("SCANWIRE_CHILD_LISTEN", format!("{SERVER_IP}:{PORT}"));
    let server = pair.spawn(c);
    let _stdin = server.stdin.take().unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("READY ") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the server ended before it was ready"
        );
    }
    assert!(
        line.contains(&format!("http://{SERVER_IP}:{PORT}/WSDScanner")),
        "{line}"
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sane = d.join("sane");
    std::fs::create_dir_all(sane.join("dll.d")).unwrap();
    std::fs::write(sane.join("dll.conf"), "airscan\n").unwrap();
    // Discovery on (WS-Discovery included): this configuration is only ever used inside the
    // client namespace.
    std::fs::write(
        sane.join("airscan.conf"),
        format!(
            "[options]\ndiscovery = enable\nws-discovery = full\n[debug]\ntrace = {}\n",
            d.join("trace").display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("run.sh"), SCRIPT).unwrap();
    std::fs::write(
        d.join("bus.conf"),
        BUS_CONF.replace("@BUS@", d.join("bus").to_str().unwrap()),
    )
    .unwrap();
    std::fs::write(d.join("avahi.conf"), AVAHI_CONF).unwrap();
    let mut c = pair.command(&pair.client, "unshare");
    c.args(["-m", "--propagation", "private", "sh"])
        .arg(d.join("run.sh"))
        .arg(d)
        .env_remove("SANE_DEBUG_AIRSCAN");
    let out = pair.run(c, Duration::from_secs(120));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the client script failed ({}):\n{text}",
        out.status
    );
    // Listed as a WSD device with the model from the metadata.
    assert!(
        text.lines()
            .any(|l| l.starts_with("device `airscan:w") && l.contains("Scanwire Virtual Scanner")),
        "{text}"
    );
    assert!(
        text.contains("SCAN-RC 0"),
        "sane-airscan did not scan:\n{text}"
    );
    let img = Pnm::read(&d.join("page.pnm"));
    assert_eq!(img.kind, 5, "gray");
    // 50 x 40 mm at 75 dpi.
    assert!(
        img.w.abs_diff(148) <= 1 && img.h.abs_diff(118) <= 1,
        "{}x{}",
        img.w,
        img.h
    );
}
