//! Ctrl-C as it really arrives: twice in a row (as `timeout -s INT` sends it, to the process
//! and then to its group), and right after `serve` says it is up. Each case runs several
//! times, since what it guards against is a race.

mod common;

use common::command;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::io::{BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// SIGINT to the process `pid`.
fn interrupt(pid: u32) {
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
}

/// SIGINT to the process group `pgid`.
fn interrupt_group(pgid: u32) {
    killpg(Pid::from_raw(pgid as i32), Signal::SIGINT).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "sane.d")
        .collect();
    v.sort();
    v
}

fn png_is_whole(path: &Path) {
    let dec = png::Decoder::new(BufReader::new(std::fs::File::open(path).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    r.next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Waits for the child; panics if it takes longer than `limit`.
fn wait_for(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let mut err = String::new();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        pipe.read_to_string(&mut err).unwrap();
        err
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (status.code(), reader.join().unwrap())
}

/// Two SIGINTs back to back, the second to the process group, at different moments of a
/// page: the exit status is 130, the "interrupted" line is there, the pages scanned whole
/// are kept and no hidden `.part` file is left. (The second Ctrl-C used to exit at once,
/// skipping the cleanup, about one time in three.)
#[test]
fn two_ctrl_c_in_a_row_still_remove_partial_files() {
    for round in 0..10u64 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        // 60 pages per minute: one page a second.
        let child = command(dir.path())
            .args(["scan", "--source", "adf", "--set", "sheets=6", "--set"])
            .args(["ppm=60", "--resolution", "75", "-o", "out/p-{n}.png"])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = dir.path().join("out");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !out.join("p-1.png").exists() {
            assert!(Instant::now() < deadline, "page 1 never arrived");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Somewhere in page 2 (or 3), and the second signal 0..4 ms after the first.
        std::thread::sleep(Duration::from_millis(100 * round));
        interrupt(child.id());
        std::thread::sleep(Duration::from_millis(round % 5));
        interrupt_group(child.id());
        let (code, err) = wait_for(child, Duration::from_secs(10));
        assert_eq!(code, Some(130), "round {round}: {err}");
        assert!(
            err.contains("scanwire: interrupted; kept"),
            "round {round}: {err}"
        );
        let files = names(&out);
        assert!(
            files.iter().all(|n| !n.ends_with(".part")),
            "round {round}: a partial file was left: {files:?}"
        );
        assert!(files.contains(&"p-1.png".to_string()), "round {round}");
        for f in &files {
            png_is_whole(&out.join(f));
        }
    }
}

/// A driver that ignores the cancel (the virtual scanner's `hang-at-page`): the first Ctrl-C
/// cannot end the scan, the second stops waiting for it, still keeps page 1 and removes the
/// partial page 2.
#[test]
fn a_second_ctrl_c_stops_waiting_for_a_hung_driver() {
    let dir = tempfile::tempdir().unwrap();
    let child = command(dir.path())
        .args(["scan", "--source", "adf", "--set", "hang-at-page=2"])
        .args(["--resolution", "75", "-o", "p-{n}.png"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("p-1.png").exists() {
        assert!(Instant::now() < deadline, "page 1 never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    interrupt(child.id());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        names(dir.path()).iter().any(|n| n.ends_with(".part")),
        "page 2 is still open after the first Ctrl-C: {:?}",
        names(dir.path())
    );
    let t0 = Instant::now();
    interrupt(child.id());
    let (code, err) = wait_for(child, Duration::from_secs(10));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("scanwire: interrupted; kept 1 complete page(s)"),
        "{err}"
    );
    assert_eq!(names(dir.path()), ["p-1.png"]);
    png_is_whole(&dir.path().join("p-1.png"));
}

/// SIGINT the moment `serve` is up, while it writes `serving …`: it stops cleanly (exit 0,
/// `stopped`) instead of being killed by the signal, because its handler is installed before
/// the server starts. The test holds it at that line: its stderr is a one-page pipe filled
/// up to a few bytes, so the line cannot be written until the test reads, and the signal is
/// sent once the server accepts connections.
#[test]
fn serve_handles_ctrl_c_right_after_it_starts() {
    use nix::fcntl::{fcntl, FcntlArg};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (read, write) = nix::unistd::pipe().unwrap();
    let size = fcntl(&write, FcntlArg::F_SETPIPE_SZ(4096)).unwrap() as usize;
    let mut fill = std::fs::File::from(write.try_clone().unwrap());
    fill.write_all(&vec![b'.'; size - 4]).unwrap();
    let mut server = command(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::from(write))
        .spawn()
        .unwrap();
    drop(fill);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || server.try_wait().unwrap().is_some() {
            let _ = server.kill();
            panic!("serve never listened on {port}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    interrupt(server.id());
    let mut err = String::new();
    std::fs::File::from(read).read_to_string(&mut err).unwrap();
    let err = err.trim_start_matches('.');
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}: {err}");
    assert!(err.starts_with("serving "), "{err}");
    assert!(err.contains("stopped"), "{err}");
}
