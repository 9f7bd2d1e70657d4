//! sane-airscan (and avahi-browse) with discovery on, in the client namespace of a
//! [`Pair`]: a private /run (a tmpfs in a mount namespace of its own) with a D-Bus system
//! bus and avahi-daemon of its own on `vc` only, and a SANE_CONFIG_DIR whose dll.conf lists
//! only `airscan`. sane-airscan starts no discovery without Avahi, also not its
//! WS-Discovery. Nothing reaches the machine's own bus, daemons or interfaces.

use super::netns::{self, Pair};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Starts the daemons; `$D` is the client directory. Every script begins with it.
const DAEMONS: &str = r#"
set -u
D=$1
mount -t tmpfs tmpfs /run || exit 10
mkdir -p /run/avahi-daemon /run/dbus
dbus-daemon --config-file="$D/bus.conf" --nofork --nopidfile --nosyslog >"$D/dbus.log" 2>&1 &
DB=$!
AV=
# Stop and reap the daemons on every way out (the test also kills the process group).
trap 'kill $AV $DB 2>/dev/null; wait' EXIT
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/bus"
i=0; while [ ! -S "$D/bus" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
avahi-daemon -f "$D/avahi.conf" --no-drop-root --no-chroot --no-rlimits --no-proc-title >"$D/avahi.log" 2>&1 &
AV=$!
i=0; until avahi-browse -at >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
"#;

/// `scanimage -L`, then a 50 x 40 mm gray scan at 75 dpi from the first device matching
/// `@DEVICE@` (a sed pattern) into `$D/page.pnm`. Prints the list between LIST-BEGIN and
/// LIST-END, `DEVICE <name>` and `SCAN-RC <code>`.
const LIST_AND_SCAN: &str = r#"
export SANE_CONFIG_DIR="$D/sane"
scanimage -L >"$D/list.txt" 2>&1
echo LIST-BEGIN; cat "$D/list.txt"; echo LIST-END
dev=$(sed -n "s/^device \`\(@DEVICE@\)' is a .*/\1/p" "$D/list.txt" | head -n 1)
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
# sane-airscan's protocol trace, when the scan failed.
[ $rc = 0 ] || tail -n 60 "$D"/trace/*.log
"#;

/// The private system bus.
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

/// Only the veth end; no publishing of its own (a browser needs none).
const AVAHI_CONF: &str =
    "[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=vc\nenable-dbus=yes\n\
[wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n";

/// The shell fragment that lists the devices and scans from the first one matching
/// `device` (a sed pattern); goes after whatever a test's script does first.
pub fn list_and_scan(device: &str) -> String {
    LIST_AND_SCAN.replace("@DEVICE@", device)
}

/// Whether the programs are installed; if not, skips with a note (or fails under
/// SCANWIRE_REQUIRE_PEERS=1).
pub fn available() -> bool {
    let have = |p: &str| {
        Command::new("sh")
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
    netns::unavailable::<()>(&format!(
        "sane-airscan's and Avahi's discovery need {} (Debian avahi-daemon, avahi-utils, dbus-daemon, util-linux)",
        missing.join(", ")
    ));
    false
}

/// The client's directory: configuration, the script, logs, the scanned page.
pub struct Client {
    dir: tempfile::TempDir,
}

impl Client {
    /// Writes the configuration and `script` (run after the daemons are up, with `$D` the
    /// directory and the arguments of [`Client::run`] from `$2` on). `ws_discovery` is
    /// sane-airscan's `ws-discovery` setting (`off`, `fast`, `full`).
    pub fn new(ws_discovery: &str, script: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("bus.conf"),
            BUS_CONF.replace("@BUS@", d.join("bus").to_str().unwrap()),
        )
        .unwrap();
        std::fs::write(d.join("avahi.conf"), AVAHI_CONF).unwrap();
        std::fs::write(d.join("run.sh"), format!("{DAEMONS}{script}")).unwrap();
        let sane = d.join("sane");
        std::fs::create_dir_all(sane.join("dll.d")).unwrap();
        std::fs::write(sane.join("dll.conf"), "airscan\n").unwrap();
        // Discovery on: this configuration is only ever used inside the client namespace.
        std::fs::write(
            sane.join("airscan.conf"),
            format!(
                "[options]\ndiscovery = enable\nws-discovery = {ws_discovery}\n[debug]\ntrace = {}\n",
                d.join("trace").display()
            ),
        )
        .unwrap();
        Client { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the script in the client namespace (two minutes at most); fails the test if it
    /// fails. Returns its stdout and stderr.
    pub fn run(&self, pair: &Pair, args: &[&str]) -> String {
        let d = self.path();
        let mut c = pair.command(&pair.client, "unshare");
        c.args(["-m", "--propagation", "private", "sh"])
            .arg(d.join("run.sh"))
            .arg(d)
            .args(args)
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
        text
    }

    /// Checks what [`list_and_scan`] reports: the scan succeeded and wrote a gray page of
    /// 50 x 40 mm at 75 dpi, which it returns.
    pub fn scanned_page(&self, text: &str) -> super::peers::Pnm {
        assert!(
            text.contains("SCAN-RC 0"),
            "sane-airscan did not scan:\n{text}"
        );
        let img = super::peers::Pnm::read(&self.path().join("page.pnm"));
        assert_eq!(img.kind, 5, "gray");
        assert!(
            img.w.abs_diff(148) <= 1 && img.h.abs_diff(118) <= 1,
            "{}x{}",
            img.w,
            img.h
        );
        img
    }
}
