//! A real NATS cluster with JetStream for tests: Debian's `nats-server`, one process per node,
//! clustered over routes on loopback, each with its own temporary store directory.
//!
//! ```no_run
//! use scanwire_testkit::nats::NatsCluster;
//! let Some(mut cluster) = NatsCluster::start(3) else { return }; // skipped: no nats-server
//! let url = cluster.url(); // "nats://127.0.0.1:P1,nats://127.0.0.1:P2,..."
//! cluster.kill_node(1);    // SIGKILL, as a crashed machine
//! cluster.restart_node(1); // same ports, same store: it rejoins
//! ```
//!
//! Every address is 127.0.0.1; ports are free loopback ports picked at start. The servers are
//! killed when the cluster is dropped (also when a test panics), and their store directories
//! removed. [`NatsCluster::start`] returns once JetStream has a meta leader (so streams can be
//! created at once) and every node answers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server program (Debian package `nats-server`).
pub const NATS_SERVER: &str = "nats-server";

/// How long a cluster may take to elect its JetStream meta leader.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One node's ports and process.
struct Node {
    name: String,
    client: u16,
    route: u16,
    monitor: u16,
    store: PathBuf,
    child: Option<Child>,
}

/// A running cluster of `nats-server` processes with JetStream on loopback.
pub struct NatsCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
    cluster_name: String,
}

/// A free TCP port on 127.0.0.1 (bound and released: another process could take it in
/// between, which on a test machine does not happen in practice).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether `nats-server` runs; if not, the test is skipped through [`crate::peer_missing`].
pub fn have_nats_server() -> bool {
    crate::have(NATS_SERVER, "--version")
}

impl NatsCluster {
    /// Starts `n` nodes (1 is a single server with JetStream, no routes) and waits until
    /// JetStream is ready; `None` (after a `skipped:` line, or a panic under
    /// `SCANWIRE_REQUIRE_PEERS=1`) when `nats-server` is not installed. Panics when the
    /// servers do not come up.
    pub fn start(n: usize) -> Option<NatsCluster> {
        assert!(n >= 1, "a cluster has at least one node");
        if !have_nats_server() {
            return None;
        }
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let unique = format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(format!("scanwire-nats-{unique}"));
        std::fs::create_dir_all(&dir).expect("the cluster's temporary directory");
        let nodes = (0..n)
            .map(|i| Node {
                name: format!("n{i}"),
                client: free_port(),
                route: free_port(),
                monitor: free_port(),
                store: dir.join(format!("n{i}")),
                child: None,
            })
            .collect();
        let mut cluster = NatsCluster {
            nodes,
            dir,
            cluster_name: format!("scanwire-{unique}"),
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster.wait_ready();
        Some(cluster)
    }

    fn spawn(&mut self, i: usize) {
        let routes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.route))
            .collect();
        let node = &self.nodes[i];
        // A configuration file rather than flags: flags cannot put the monitoring port on
        // loopback, and every listener here must be 127.0.0.1.
        let mut conf = format!(
            "server_name: {}\nlisten: 127.0.0.1:{}\nhttp: 127.0.0.1:{}\n\
             jetstream {{ store_dir: {:?} }}\n",
            node.name,
            node.client,
            node.monitor,
            node.store.display().to_string()
        );
        if self.nodes.len() > 1 {
            conf.push_str(&format!(
                "cluster {{ name: {}, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                self.cluster_name,
                node.route,
                routes.join(", ")
            ));
        }
        let conf_path = self.dir.join(format!("{}.conf", node.name));
        std::fs::write(&conf_path, conf).expect("the node's configuration file");
        let mut cmd = Command::new(NATS_SERVER);
        cmd.arg("-c").arg(&conf_path);
        let log = std::fs::File::create(self.dir.join(format!("{}.log", node.name)))
            .expect("the node's log file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = cmd.spawn().expect("nats-server starts");
        self.nodes[i].child = Some(child);
    }

    /// The client URL of every running node, comma-separated (what `async_nats::connect`
    /// and `scanwire worker --queue` take).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| format!("nats://127.0.0.1:{}", n.client))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `i`'s client URL, running or not.
    pub fn node_url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client)
    }

    /// The client URL of every node, running or not (a client that reconnects to a
    /// restarted node).
    pub fn all_urls(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.node_url(i)).collect()
    }

    /// How many nodes the cluster has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it has no nodes (never: [`NatsCluster::start`] needs one).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Kills node `i` with SIGKILL (a crashed machine: no goodbye to its peers).
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again with its ports and store, and waits until it answers and the
    /// cluster has a meta leader.
    pub fn restart_node(&mut self, i: usize) {
        self.kill_node(i);
        self.spawn(i);
        self.wait_ready();
    }

    /// The node's server log so far (for a failing test's message).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", self.nodes[i].name)))
            .unwrap_or_default()
    }

    /// Waits until every running node answers `/jsz` with a JetStream meta leader.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        for i in 0..self.nodes.len() {
            if self.nodes[i].child.is_none() {
                continue;
            }
            loop {
                if let Some(status) = self.nodes[i]
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!(
                        "nats-server node {i} exited ({status}) at start:\n{}",
                        self.log(i)
                    );
                }
                let jsz = http_get(self.nodes[i].monitor, "/jsz").unwrap_or_default();
                let ready = if self.nodes.len() == 1 {
                    jsz.contains("\"config\"")
                } else {
                    has_meta_leader(&jsz)
                };
                if ready {
                    break;
                }
                if Instant::now() > deadline {
                    panic!(
                        "nats-server node {i} has no JetStream meta leader after {READY_TIMEOUT:?}; \
                         /jsz said {jsz:?}; log:\n{}",
                        self.log(i)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Whether a `/jsz` answer names a meta leader (`"leader": "n1"`, absent or empty before the
/// election).
fn has_meta_leader(jsz: &str) -> bool {
    jsz.split_once("\"leader\":").is_some_and(|(_, rest)| {
        let rest = rest.trim_start();
        rest.starts_with('"') && !rest.starts_with("\"\"")
    })
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (the monitoring port), the body or `None`.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill_node(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meta_leader_is_a_non_empty_name() {
        assert!(has_meta_leader(
            "{\"meta_cluster\": {\"name\": \"t\", \"leader\": \"n1\"}}"
        ));
        assert!(!has_meta_leader(
            "{\"meta_cluster\": {\"name\": \"t\", \"leader\": \"\"}}"
        ));
        assert!(!has_meta_leader("{\"meta_cluster\": {\"name\": \"t\"}}"));
    }

    #[test]
    fn a_single_server_starts_with_jetstream() {
        let Some(c) = NatsCluster::start(1) else {
            return;
        };
        assert_eq!(c.len(), 1);
        assert!(http_get(c.nodes[0].monitor, "/jsz").is_some_and(|j| j.contains("\"config\"")));
    }

    #[test]
    fn a_three_node_cluster_elects_a_leader_and_survives_a_node() {
        let Some(mut c) = NatsCluster::start(3) else {
            return;
        };
        assert_eq!(c.url().matches("nats://127.0.0.1:").count(), 3);
        c.kill_node(2);
        assert_eq!(c.url().matches("nats://127.0.0.1:").count(), 2);
        c.restart_node(2);
        assert_eq!(c.url().matches("nats://127.0.0.1:").count(), 3);
    }
}
