//! The runner: a driver on its own thread, contained panics and hangs, and both delivery
//! modes giving the same grammar and outcome.

use scanwire_core::device::*;
use scanwire_core::transfer::*;
use scanwire_core::wia::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Normal,
    PanicAt(u32),
    HangAt(u32),
    /// Sleep between bands so a cancel lands mid-page.
    Slow,
}

struct TestDevice {
    pages: u32,
    bands: u32,
    behaviour: Behaviour,
    acquired: Arc<AtomicBool>,
}

const WIDTH: u32 = 16;

fn test_device(pages: u32, behaviour: Behaviour) -> (SharedDevice, Arc<AtomicBool>) {
    let acquired = Arc::new(AtomicBool::new(false));
    let d = TestDevice {
        pages,
        bands: 8,
        behaviour,
        acquired: acquired.clone(),
    };
    (share(Box::new(d)), acquired)
}

impl Device for TestDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "test".into(),
            vendor: "Scanwire".into(),
            model: "test device".into(),
            driver: "test",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(Capabilities {
            model: "test device".into(),
            sources: vec![SourceCaps {
                source: Source::Feeder,
                modes: vec![ColorMode::Gray],
                resolutions: Resolutions::Discrete(vec![100, 200]),
                max_area: Area::sized(Length::mm(100), Length::mm(100)),
                min_size: (Length::mm(1), Length::mm(1)),
                encodings: vec![],
                raw: true,
                feeder_capacity: Some(10),
            }],
            processing: Default::default(),
        })
    }

    fn acquire(
        &mut self,
        _request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        self.acquired.store(true, Ordering::SeqCst);
        let fail = |hr: HResult| DeviceError::from_hresult(hr, "");
        for n in 1..=self.pages {
            let page = PageInfo {
                number: n,
                sheet: n,
                side: Side::Front,
                source: Source::Feeder,
                data: PageData::Raster {
                    pixel: PixelFormat::Gray8,
                    width: WIDTH,
                    height: Some(self.bands),
                },
                dpi: (100, 100),
            };
            let mut s = match cb.get_next_stream(0, &page) {
                NextStream::Stream(s) => s,
                NextStream::Skip => continue,
                NextStream::Cancelled => return Ok(Completion::Cancelled),
                NextStream::Failed(hr) => return Err(fail(hr)),
            };
            for band in 0..self.bands {
                if band == self.bands / 2 {
                    match self.behaviour {
                        Behaviour::PanicAt(p) if p == n => panic!("scripted driver panic"),
                        Behaviour::HangAt(p) if p == n => {
                            // A driver stuck in I/O that ignores cancel.
                            std::thread::sleep(Duration::from_secs(3600));
                        }
                        _ => {}
                    }
                }
                if self.behaviour == Behaviour::Slow {
                    cancel.sleep(Duration::from_millis(20));
                }
                s.write(&[(n * 16 + band) as u8; WIDTH as usize])
                    .map_err(fail)?;
                let pct = ((band + 1) * 100 / self.bands) as i32;
                match cb.progress(pct, s.bytes_written()).map_err(fail)? {
                    Flow::Continue => {}
                    Flow::Cancelled => return Ok(Completion::Cancelled),
                }
            }
            s.finish();
        }
        Ok(Completion::Done)
    }
}

fn request() -> ScanRequest {
    ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: 100,
        ..Default::default()
    }
}

#[test]
fn inline_run_delivers_every_page_in_grammar() {
    let (dev, _) = test_device(3, Behaviour::Normal);
    let (app, log) = Recorder::new();
    let o = run(
        &dev,
        &request(),
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!((o.result, o.pages), (S_OK, 3), "{:?}", o.violations);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[2].data.len(), (WIDTH * 8) as usize);
}

#[test]
fn a_bad_request_never_reaches_the_driver() {
    let (dev, acquired) = test_device(1, Behaviour::Normal);
    let (app, log) = Recorder::new();
    let req = ScanRequest {
        resolution: 5000,
        ..request()
    };
    let o = run(
        &dev,
        &req,
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!(o.result, E_INVALIDARG);
    let e = o.error.unwrap();
    assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
    assert_eq!(
        e.detail(),
        "resolution 5000 dpi is not supported by test device adf: 100, 200"
    );
    assert!(!acquired.load(Ordering::SeqCst));
    assert_eq!(log.snapshot().end_of_transfer(), Some(E_INVALIDARG));
}

#[test]
fn a_driver_panic_ends_the_transfer_not_the_process() {
    let (dev, _) = test_device(3, Behaviour::PanicAt(2));
    let (app, log) = Recorder::new();
    let o = run(
        &dev,
        &request(),
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!(o.result, WIA_ERROR_EXCEPTION_IN_DRIVER);
    assert!(o.error.unwrap().detail().contains("scripted driver panic"));
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.complete_pages().len(), 1, "page 1 is kept");
    assert_ne!(
        rec.pages[1].closed,
        Some(S_OK),
        "the partial page 2 is discarded"
    );
    // The device is usable again.
    let (app, _) = Recorder::new();
    let _ = run(
        &dev,
        &request(),
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
}

#[test]
fn a_hung_driver_is_abandoned_by_the_watchdog() {
    let (dev, _) = test_device(3, Behaviour::HangAt(2));
    let (app, log) = Recorder::new();
    let opts = TransferOptions::strict().watchdog(Some(Duration::from_millis(300)));
    let start = Instant::now();
    let o = run(&dev, &request(), Box::new(app), &CancelHandle::new(), &opts);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(o.result, HRESULT_TIMEOUT);
    assert_eq!(o.error.unwrap().kind(), DeviceErrorKind::Communication);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.complete_pages().len(), 1);
    assert_eq!(rec.pages[1].closed, Some(HRESULT_TIMEOUT));
    // The hung thread still holds the device: the next transfer says busy instead of hanging.
    let (app, _) = Recorder::new();
    let o = run(&dev, &request(), Box::new(app), &CancelHandle::new(), &opts);
    assert_eq!(o.error.unwrap().kind(), DeviceErrorKind::Busy);
}

#[test]
fn cancel_from_another_thread_stops_the_driver_promptly() {
    let (dev, _) = test_device(5, Behaviour::Slow);
    let (app, log) = Recorder::new();
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(250));
        c2.cancel();
        Instant::now()
    });
    let o = run(
        &dev,
        &request(),
        Box::new(app),
        &cancel,
        &TransferOptions::strict(),
    );
    let latency = t.join().unwrap().elapsed();
    assert_eq!(o.result, S_FALSE, "{:?}", o.violations);
    assert!(latency < Duration::from_millis(200), "{latency:?}");
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert!(rec.complete_pages().len() < 5);
    assert_eq!(rec.pages.last().unwrap().closed, Some(S_FALSE));
}

type Pages = Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

fn collect_pages() -> (Box<dyn StreamFactory>, Pages) {
    struct Mem(Pages, usize);
    impl PageSink for Mem {
        fn write(&mut self, d: &[u8]) -> Result<(), HResult> {
            self.0.lock().unwrap()[self.1].extend_from_slice(d);
            Ok(())
        }
        fn close(self: Box<Self>, _: HResult) -> HResult {
            S_OK
        }
    }
    let pages = Arc::new(std::sync::Mutex::new(Vec::new()));
    let p2 = pages.clone();
    let f = move |_: &PageInfo| {
        let mut g = p2.lock().unwrap();
        g.push(Vec::new());
        AppStream::Stream(Box::new(Mem(p2.clone(), g.len() - 1)))
    };
    (Box::new(f), pages)
}

#[test]
fn decoupled_gives_the_same_grammar_and_outcome_as_inline() {
    let (dev, _) = test_device(4, Behaviour::Normal);
    let (app, log) = Recorder::new();
    let inline = run(
        &dev,
        &request(),
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    let inline_msgs: Vec<WiaTransferParams> = log
        .snapshot()
        .messages()
        .into_iter()
        .filter(|m| m.lMessage != WIA_TRANSFER_MSG_STATUS)
        .collect();

    let (streams, pages) = collect_pages();
    let t = spawn(
        &dev,
        &request(),
        streams,
        None,
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    let mut msgs = Vec::new();
    let mut opened = 0;
    let outcome = loop {
        match t.events.recv().unwrap() {
            Event::Stream(_) => opened += 1,
            Event::Message(m) => msgs.push(m),
            Event::Finished(o) => break o,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(outcome, inline);
    assert_eq!(msgs, inline_msgs);
    assert_eq!(opened, 4);
    assert_eq!(
        t.progress.load(),
        Progress {
            page: 4,
            percent: 100,
            bytes: (WIDTH * 8) as u64
        }
    );
    assert_eq!(pages.lock().unwrap().len(), 4);
}

#[test]
fn a_reader_that_never_reads_does_not_stall_the_driver() {
    // 40 pages x 64 bands = 2560 STATUS messages; nobody reads until the driver is done.
    let dev = share(Box::new(TestDevice {
        pages: 40,
        bands: 64,
        behaviour: Behaviour::Normal,
        acquired: Arc::new(AtomicBool::new(false)),
    }));
    let (streams, pages) = collect_pages();
    let t = spawn(
        &dev,
        &request(),
        streams,
        None,
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    // Wait for the driver to finish without touching the queue.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pages.lock().unwrap().len() < 40 || t.progress.load().percent < 100 {
        assert!(Instant::now() < deadline, "driver stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
    let events: Vec<Event> = t.events.iter().collect();
    let eos = events
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if m.lMessage == WIA_TRANSFER_MSG_END_OF_STREAM))
        .count();
    assert_eq!(eos, 40, "lossless");
    assert!(matches!(events.last(), Some(Event::Finished(o)) if o.result == S_OK));
}

#[test]
fn back_to_back_transfers_never_see_the_device_busy() {
    let (dev, _) = test_device(1, Behaviour::Normal);
    for _ in 0..200 {
        let (app, _) = Recorder::new();
        let o = run(
            &dev,
            &request(),
            Box::new(app),
            &CancelHandle::new(),
            &TransferOptions::strict(),
        );
        assert_eq!(o.result, S_OK, "{:?}", o.error);
    }
}
