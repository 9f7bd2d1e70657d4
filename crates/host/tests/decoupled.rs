//! Decoupled delivery (`transfer::spawn`, as `serve` runs transfers) behind a driver host,
//! where the host answers a well-formed STATUS itself while the application's answer word
//! allows it and posts the message: the same pages, the same outcomes and the same verdicts
//! as in process, a cancel that reaches the driver at its next call, and a refused write or a
//! wrong STATUS reported as in process. Each case runs in process, behind a host with the
//! shared ring (where STATUS is posted) and behind a host without it (every call waits).

mod common;

use scanwire_core::device::{ColorMode, PageInfo, ScanRequest, Source};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, Event, Outcome, PageSink, Progress, Rule, SharedDevice,
    TransferOptions,
};
use scanwire_core::wia::{self, HResult};
use scanwire_host::{CallCounts, HostOptions, HostedDevice};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn host_child() {
    common::child_main();
}

/// Where the driver runs.
#[derive(Copy, Clone, Debug)]
enum Place {
    InProcess,
    Ring,
    Socket,
}

const PLACES: [Place; 3] = [Place::InProcess, Place::Ring, Place::Socket];

fn open(place: Place, id: &str) -> (SharedDevice, Option<CallCounts>) {
    let opts = |shared_ring| HostOptions {
        watchdog: Some(Duration::from_secs(60)),
        shared_ring,
        ..HostOptions::default()
    };
    let hosted = |ring: bool| {
        let d = HostedDevice::open(common::command(), id, opts(ring)).expect("a host starts");
        assert_eq!(d.shared_ring(), ring);
        let counts = d.call_counts();
        (transfer::share(Box::new(d)), Some(counts))
    };
    match place {
        Place::InProcess => {
            let d: Box<dyn scanwire_core::device::Device> = match id {
                "virtual" => Box::new(scanwire_virtual::VirtualDevice::new()),
                "chatty" => Box::new(common::Chatty::new(false)),
                "liar" => Box::new(common::Chatty::new(true)),
                other => panic!("no test device {other}"),
            };
            (transfer::share(d), None)
        }
        Place::Ring => hosted(true),
        Place::Socket => hosted(false),
    }
}

/// What a page's sink saw: its bytes, how it was closed, how many writes it was asked.
type SinkLog = (Vec<u8>, Option<HResult>, u64);

/// What a page's sink saw, shared with the test.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<SinkLog>>);

/// Collects a page; fails the write after `fail_after` writes if set.
struct Sink(Seen, Option<u64>);

impl PageSink for Sink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        let mut g = self.0 .0.lock().unwrap();
        g.2 += 1;
        if self.1.is_some_and(|n| g.2 > n) {
            return Err(wia::WIA_ERROR_DESTINATION);
        }
        g.0.extend_from_slice(data);
        Ok(())
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        self.0 .0.lock().unwrap().1 = Some(status);
        wia::S_OK
    }
}

/// Runs a decoupled transfer in strict mode; `cancel_after` cancels from another thread that
/// long after the first page's stream opened.
fn scan(
    dev: &SharedDevice,
    req: &ScanRequest,
    fail_after: Option<u64>,
    cancel_after: Option<Duration>,
) -> (Outcome, Seen, Progress, Vec<Event>) {
    let seen = Seen::default();
    let s2 = seen.clone();
    let cancel = CancelHandle::new();
    let t = transfer::spawn(
        dev,
        req,
        Box::new(move |_: &PageInfo| AppStream::Stream(Box::new(Sink(s2.clone(), fail_after)))),
        None,
        &cancel,
        &TransferOptions::strict().watchdog(Some(Duration::from_secs(60))),
    );
    // Counted from the page's stream opening, so the cancel lands mid page.
    let canceller = cancel_after.map(|d| {
        let (c, progress) = (cancel.clone(), t.progress.clone());
        std::thread::spawn(move || {
            while progress.load().page == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(d);
            c.cancel();
        })
    });
    let mut events = Vec::new();
    let outcome = loop {
        match t.events.recv_timeout(Duration::from_secs(60)) {
            Ok(Event::Finished(o)) => break o,
            Ok(e) => events.push(e),
            Err(e) => panic!("no outcome: {e}"),
        }
    };
    if let Some(c) = canceller {
        c.join().unwrap();
    }
    (outcome, seen, t.progress.load(), events)
}

fn flatbed() -> ScanRequest {
    ScanRequest {
        source: Source::Flatbed,
        mode: ColorMode::Color,
        resolution: 150,
        ..Default::default()
    }
}

#[test]
fn a_decoupled_page_is_the_same_in_process_and_behind_a_host() {
    let mut pages = Vec::new();
    for place in PLACES {
        let (dev, counts) = open(place, "virtual");
        let (o, seen, progress, _) = scan(&dev, &flatbed(), None, None);
        assert_eq!(o.result, wia::S_OK, "{place:?}: {:?}", o.error);
        assert!(o.violations.is_empty(), "{place:?}: {:?}", o.violations);
        assert_eq!(o.pages, 1);
        let g = seen.0.lock().unwrap();
        assert_eq!(g.1, Some(wia::S_OK));
        assert_eq!(progress.percent, 100, "{place:?}");
        assert_eq!(progress.bytes, g.0.len() as u64, "{place:?}");
        pages.push(g.0.clone());
        match (place, counts) {
            (Place::Ring, Some(c)) => {
                // Every STATUS of the page was answered by the host.
                assert!(c.posted() > 10, "{place:?}: {} posted", c.posted());
                assert_eq!(c.waited(), 0, "{place:?}");
            }
            (Place::Socket, Some(c)) => {
                assert_eq!(c.posted(), 0, "{place:?}: no answer word without the ring");
                assert!(c.waited() > 10, "{place:?}");
            }
            _ => {}
        }
    }
    assert!(pages.iter().all(|p| p == &pages[0]), "the pages differ");
}

/// A sink that keeps lent pieces (as the page pipeline's queue does) and gives them back out
/// of order: it holds up to four, then reads and drops them third, first, fourth, second.
/// Each piece is read only when it is dropped. (That the host never writes where a piece is
/// still lent is pinned by the ring's own unit test; this is the whole path.)
struct Keeper {
    held: Vec<(usize, scanwire_core::transfer::LentBytes)>,
    pieces: Vec<(usize, Vec<u8>)>,
    next: usize,
    lent: Arc<Mutex<(usize, Vec<u8>)>>,
}

impl Keeper {
    fn give_back(&mut self) {
        for i in [2, 0, 1, 0] {
            if i < self.held.len() {
                let (n, piece) = self.held.remove(i);
                self.pieces.push((n, piece.to_vec()));
            }
        }
        for (n, piece) in self.held.drain(..) {
            self.pieces.push((n, piece.to_vec()));
        }
    }
}

impl PageSink for Keeper {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.pieces.push((self.next, data.to_vec()));
        self.next += 1;
        Ok(())
    }

    fn write_lent(&mut self, data: scanwire_core::transfer::LentBytes) -> Result<(), HResult> {
        self.lent.lock().unwrap().0 += 1;
        self.held.push((self.next, data));
        self.next += 1;
        if self.held.len() == 4 {
            self.give_back();
        }
        Ok(())
    }

    fn close(mut self: Box<Self>, status: HResult) -> HResult {
        assert_eq!(status, wia::S_OK);
        self.give_back();
        self.pieces.sort_by_key(|(n, _)| *n);
        let page = self
            .pieces
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        self.lent.lock().unwrap().1 = page;
        wia::S_OK
    }
}

/// Behind a host with the ring the page reaches the sink as lent pieces, which it keeps and
/// gives back out of order; the page is several times the ring, so the ring's space is
/// reused only as pieces come back. The page is the one scanned in process, byte for byte.
#[test]
fn pieces_lent_to_the_application_and_kept_give_the_same_page() {
    let mut pages = Vec::new();
    for place in PLACES {
        let (dev, _) = open(place, "virtual");
        let lent = Arc::new(Mutex::new((0, Vec::new())));
        let l2 = lent.clone();
        let t = transfer::spawn(
            &dev,
            &flatbed(),
            Box::new(move |_: &PageInfo| {
                AppStream::Stream(Box::new(Keeper {
                    held: Vec::new(),
                    pieces: Vec::new(),
                    next: 0,
                    lent: l2.clone(),
                }))
            }),
            None,
            &CancelHandle::new(),
            &TransferOptions::strict().watchdog(Some(Duration::from_secs(60))),
        );
        let outcome = loop {
            match t.events.recv_timeout(Duration::from_secs(60)) {
                Ok(Event::Finished(o)) => break o,
                Ok(_) => {}
                Err(e) => panic!("{place:?}: no outcome: {e}"),
            }
        };
        assert_eq!(outcome.result, wia::S_OK, "{place:?}: {:?}", outcome.error);
        assert!(
            outcome.violations.is_empty(),
            "{place:?}: {:?}",
            outcome.violations
        );
        let (count, page) = std::mem::take(&mut *lent.lock().unwrap());
        match place {
            // The page is several times the ring: its space was reused while pieces were kept.
            Place::Ring => assert!(count > 8, "{place:?}: {count} pieces lent"),
            Place::InProcess | Place::Socket => assert_eq!(count, 0, "{place:?}"),
        }
        assert_eq!(outcome.pages, 1, "{place:?}");
        assert_eq!(page.len() as u64, t.progress.load().bytes, "{place:?}");
        pages.push(page);
    }
    assert!(pages.iter().all(|p| p == &pages[0]), "the pages differ");
}

/// A posted STATUS travels with the next frame, or, when the driver pauses after it (a paced
/// scanner waiting for its next band), is sent by the host's flusher: the application's
/// progress never trails the bytes it has by a whole band.
#[test]
fn a_status_posted_before_a_pause_reaches_the_application_during_it() {
    let (dev, counts) = open(Place::Ring, "virtual");
    // 20 pages a minute: a band every 250 ms, the driver idle in between.
    let req = common::request(Source::Flatbed, &[("ppm", "20")], None);
    let seen = Seen::default();
    let s2 = seen.clone();
    let t = transfer::spawn(
        &dev,
        &req,
        Box::new(move |_: &PageInfo| AppStream::Stream(Box::new(Sink(s2.clone(), None)))),
        None,
        &CancelHandle::new(),
        &TransferOptions::strict().watchdog(Some(Duration::from_secs(60))),
    );
    let mut behind_since: Option<std::time::Instant> = None;
    let mut longest = Duration::ZERO;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let outcome = loop {
        match t.events.try_recv() {
            Ok(Event::Finished(o)) => break o,
            Ok(_) => {}
            Err(_) => assert!(std::time::Instant::now() < deadline, "no outcome"),
        }
        let had = seen.0.lock().unwrap().0.len() as u64;
        if t.progress.load().bytes < had {
            let since = *behind_since.get_or_insert_with(std::time::Instant::now);
            longest = longest.max(since.elapsed());
        } else {
            behind_since = None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    let c = counts.expect("hosted");
    assert!(c.posted() >= 8, "{} posted", c.posted());
    assert!(
        longest < Duration::from_millis(150),
        "the progress trailed the page's bytes for {longest:?} (a band is 250 ms)"
    );
}

/// The driver sends STATUS after STATUS while the application cancels at some moment: the
/// driver is told S_FALSE at its next call once it has heard of the cancel (Chatty fails
/// otherwise), nothing posted is lost (the progress cell holds the last STATUS answered S_OK,
/// which counted every byte but the one written just before the S_FALSE), and no rule is
/// reported broken (a posted STATUS processed after the cancel is not a call after a stop).
#[test]
fn a_cancel_while_status_is_posted_reaches_the_driver_at_its_next_call() {
    for place in PLACES {
        let (dev, counts) = open(place, "chatty");
        for round in 0..12u64 {
            let delay = Duration::from_millis(3 + round * 7 % 40);
            let (o, seen, progress, events) = scan(&dev, &flatbed(), None, Some(delay));
            assert_eq!(
                o.result,
                wia::S_FALSE,
                "{place:?} round {round}: {:?}",
                o.error
            );
            assert!(o.violations.is_empty(), "{place:?}: {:?}", o.violations);
            assert_eq!((o.pages, o.incomplete), (0, 1), "{place:?}");
            let g = seen.0.lock().unwrap();
            assert_eq!(
                g.1,
                Some(wia::S_FALSE),
                "{place:?}: the page ends cancelled"
            );
            let written = g.0.len() as u64;
            assert!(
                (1..common::CHATTY_CALLS).contains(&written),
                "{place:?}: {written} bytes"
            );
            assert_eq!(
                progress.bytes,
                written - 1,
                "{place:?} round {round}: the last STATUS answered S_OK counted every byte before the refused one"
            );
            assert_eq!(progress.percent as u64, (written - 1) % 101);
            let ends: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Message(m) => Some((m.lMessage, m.hrErrorStatus)),
                    _ => None,
                })
                .collect();
            assert_eq!(
                ends,
                vec![
                    (wia::WIA_TRANSFER_MSG_END_OF_STREAM, wia::S_FALSE),
                    (wia::WIA_TRANSFER_MSG_END_OF_TRANSFER, wia::S_FALSE)
                ],
                "{place:?}"
            );
        }
        if let (Place::Ring, Some(c)) = (place, counts) {
            assert!(c.posted() > 1000, "{place:?}: only {} posted", c.posted());
            // A round trip is left only for the calls after each cancel.
            assert!(c.waited() <= 12 * 2, "{place:?}: {} waited", c.waited());
        }
    }
}

/// The application's stream refuses a write while the host is answering STATUS itself: the
/// transfer fails with the stream's error, the page is incomplete, and the STATUS messages
/// posted after the refused write (whose byte counts include it) are not reported as lies.
#[test]
fn a_refused_write_fails_the_transfer_without_false_violations() {
    for place in PLACES {
        for after in [0, 1, 3] {
            let (dev, _) = open(place, "virtual");
            let (o, seen, _, _) = scan(&dev, &flatbed(), Some(after), None);
            assert_eq!(
                o.result,
                wia::WIA_ERROR_DESTINATION,
                "{place:?} after {after}: {:?}",
                o.error
            );
            assert!(o.violations.is_empty(), "{place:?}: {:?}", o.violations);
            assert_eq!((o.pages, o.incomplete), (0, 1), "{place:?}");
            assert_ne!(seen.0.lock().unwrap().1, Some(wia::S_OK));
        }
    }
}

/// A STATUS whose byte count is wrong is never answered by the host: the strict verifier
/// refuses it on that very call, as in process (the driver would otherwise make one more call,
/// an S17).
#[test]
fn the_strict_verifier_refuses_a_wrong_status_on_the_same_call() {
    for place in PLACES {
        let (dev, _) = open(place, "liar");
        let (o, _, _, _) = scan(&dev, &flatbed(), None, None);
        assert_eq!(
            o.result,
            wia::WIA_ERROR_INVALID_DRIVER_RESPONSE,
            "{place:?}"
        );
        let rules: Vec<Rule> = o.violations.iter().map(|v| v.rule).collect();
        assert_eq!(rules, vec![Rule::S16Bytes], "{place:?}: {:?}", o.violations);
    }
}
