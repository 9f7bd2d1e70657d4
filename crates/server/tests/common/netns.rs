//! Two private network namespaces joined by a veth pair, for tests that must use multicast
//! (mDNS) without ever touching the machine's real interfaces: the "server host" has
//! 10.77.0.1/24 on `vs`, the "client host" 10.77.0.2/24 on `vc`, and neither has a route
//! anywhere else. Everything started in them is killed and both are deleted on drop, also
//! when a test fails.
//!
//! Needs root and `ip` (iproute2). Without them the test is skipped with a note, unless
//! SCANWIRE_REQUIRE_PEERS=1, where it fails.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const SERVER_IP: &str = "10.77.0.1";
pub const CLIENT_IP: &str = "10.77.0.2";

pub struct Pair {
    pub server: String,
    pub client: String,
    children: Vec<Child>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Skips (returns None) or fails (SCANWIRE_REQUIRE_PEERS=1) with `why`.
pub fn unavailable<T>(why: &str) -> Option<T> {
    scanwire_testkit::peer_missing(why);
    None
}

impl Pair {
    /// Creates the pair; `tag` keeps concurrent tests apart (names also carry the pid).
    pub fn new(tag: &str) -> Option<Pair> {
        let id = std::process::id();
        let mut pair = Pair {
            server: format!("sw-{tag}-{id}-s"),
            client: format!("sw-{tag}-{id}-c"),
            children: Vec::new(),
        };
        match pair.setup() {
            Ok(()) => Some(pair),
            // `pair` drops here and removes whatever was made.
            Err(e) => unavailable(&format!("cannot create network namespaces: {e}")),
        }
    }

    fn setup(&mut self) -> Result<(), String> {
        let (s, c) = (self.server.clone(), self.client.clone());
        ip(&["netns", "add", &s])?;
        ip(&["netns", "add", &c])?;
        ip(&[
            "-n", &s, "link", "add", "vs", "type", "veth", "peer", "name", "vc", "netns", &c,
        ])?;
        ip(&[
            "-n",
            &s,
            "addr",
            "add",
            &format!("{SERVER_IP}/24"),
            "dev",
            "vs",
        ])?;
        ip(&[
            "-n",
            &c,
            "addr",
            "add",
            &format!("{CLIENT_IP}/24"),
            "dev",
            "vc",
        ])?;
        for (ns, dev) in [(&s, "vs"), (&c, "vc")] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(())
    }

    /// `ip netns exec <ns> <program>`.
    pub fn command(&self, ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// This test binary again in namespace `ns`, running only the (ignored) test `child`:
    /// how a test starts a server or browser of its own inside a namespace.
    pub fn this_test_binary(&self, ns: &str, child: &str) -> Command {
        let exe = std::env::current_exe().unwrap();
        let mut c = self.command(ns, exe.to_str().unwrap());
        c.args([
            child,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        c
    }

    /// Starts a command whose process lives until the pair is dropped (or it exits).
    pub fn spawn(&mut self, mut c: Command) -> &mut Child {
        let child = c
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace");
        self.children.push(child);
        self.children.last_mut().unwrap()
    }

    /// Runs a command to its end, killed after `limit`. Whatever it started and left
    /// running (daemons started with `&`) is killed too: it runs in its own process group.
    pub fn run(&self, mut c: Command, limit: Duration) -> Output {
        let mut child = c
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace");
        let group = child.id();
        let start = Instant::now();
        let mut timed_out = false;
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                timed_out = true;
                kill_group(group);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Before collecting the output: a daemon left running would hold the pipes open.
        kill_group(group);
        let out = child.wait_with_output().unwrap();
        if timed_out {
            panic!(
                "timed out after {limit:?}; stdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }
}

/// Lines a child prints, as they come.
pub fn lines(out: impl Read + Send + 'static) -> mpsc::Receiver<String> {
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

/// Waits for a line starting with `prefix`; returns it without the prefix.
pub fn expect(
    rx: &mpsc::Receiver<String>,
    prefix: &str,
    limit: Duration,
    seen: &mut Vec<String>,
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                // The test harness may have printed `test child_x ... ` before it.
                if let Some((_, rest)) = line.split_once(prefix) {
                    return rest.to_string();
                }
            }
            Err(_) => panic!("no `{prefix}` line within {limit:?}; got: {seen:#?}"),
        }
    }
}

/// Kills every process of the group `pgid` (the group leader's pid).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Pair {
    fn drop(&mut self) {
        for c in &mut self.children {
            kill_group(c.id());
            let _ = c.wait();
        }
        let _ = ip(&["netns", "del", &self.server]);
        let _ = ip(&["netns", "del", &self.client]);
    }
}
