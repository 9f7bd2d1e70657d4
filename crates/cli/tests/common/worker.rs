//! `scanwire worker --json` as the queue tests run it: its JSON lines and its standard error
//! each read by a thread of their own (a chatty worker never blocks on a full pipe), Ctrl-C
//! to stop it, a kill if it is dropped first.

use super::command;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A worker process on a queue.
pub struct Worker {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Worker {
    /// Starts a worker on `url` (reporting every 0.5 s) and waits for its first report, which
    /// it makes once set up: a scan started at the same moment would create the same streams
    /// at once, which the cluster answers slowly. The report stays unread.
    pub fn start(url: &str, dir: &Path) -> Worker {
        let mut child = command(dir)
            .args(["worker", "--queue", url, "--json", "--interval", "0.5"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scanwire worker starts");
        let (tx, lines) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        let out = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = ready_tx.send(());
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut worker = Worker {
            child,
            lines,
            stderr: Some(stderr),
        };
        if ready.recv_timeout(Duration::from_secs(90)).is_err() {
            let _ = worker.child.kill();
            let _ = worker.child.wait();
            let err = worker.stderr.take().and_then(|t| t.join().ok());
            panic!(
                "the worker did not report within 90 s: {}",
                err.unwrap_or_default()
            );
        }
        worker
    }

    /// Its JSON lines until `until` holds for one, or `limit` passes: the last one read.
    pub fn wait_for(
        &self,
        limit: Duration,
        until: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        let mut last = serde_json::Value::Null;
        while start.elapsed() < limit {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
                last = parse(&l);
                if until(&last) {
                    return last;
                }
            }
        }
        last
    }

    /// Ctrl-C, which must end it with status 130 within a minute (else it is killed and the
    /// test fails, showing its standard error); then the JSON lines not read yet and its
    /// standard error.
    pub fn stop(mut self) -> (Vec<serde_json::Value>, String) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).expect("SIGINT");
        let start = Instant::now();
        let code = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s.code();
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        assert_eq!(code, Some(130), "{err}");
        let lines = self.lines.try_iter().map(|l| parse(&l)).collect();
        (lines, err)
    }
}

fn parse(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
