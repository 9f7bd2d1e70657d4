//! A small recording application callback and helpers to run the virtual scanner through the
//! core's runner in strict mode.

#![allow(dead_code)] // each test file uses a different part

use scanwire_core::device::{ColorMode, PageInfo, ScanRequest, Source};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, Outcome, PageSink, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_virtual::VirtualDevice;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the application saw, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    /// A stream was handed out for this page.
    Stream(PageInfo),
    /// The page was skipped.
    Skipped(PageInfo),
    /// `transfer_callback`.
    Msg(WiaTransferParams),
    /// `report_status` (DEVICE_STATUS) with code and percent.
    Status(HResult, i32),
}

/// A page as received.
#[derive(Clone, Debug)]
pub struct Page {
    pub info: PageInfo,
    pub data: Vec<u8>,
    pub closed: Option<HResult>,
}

/// Everything recorded.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub events: Vec<Ev>,
    pub pages: Vec<Page>,
    /// For each event, the bytes the newest page held when it arrived.
    pub held: Vec<u64>,
}

impl Log {
    fn push(&mut self, e: Ev) {
        self.held
            .push(self.pages.last().map_or(0, |p| p.data.len() as u64));
        self.events.push(e);
    }
}

impl Log {
    pub fn complete(&self) -> Vec<&Page> {
        self.pages
            .iter()
            .filter(|p| p.closed == Some(wia::S_OK))
            .collect()
    }

    pub fn statuses(&self) -> Vec<(HResult, i32)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Status(hr, pct) => Some((*hr, *pct)),
                _ => None,
            })
            .collect()
    }

    pub fn messages(&self, kind: i32) -> Vec<WiaTransferParams> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Msg(p) if p.lMessage == kind => Some(*p),
                _ => None,
            })
            .collect()
    }

    /// The page grammar and the byte counts: every stream ends with one END_OF_STREAM
    /// carrying its size, STATUS bytes are the running total of the open stream and never
    /// shrink, percent stays within 0..=100, and END_OF_TRANSFER comes once, last.
    pub fn check(&self) {
        let mut open: Option<usize> = None;
        let mut page = 0;
        let mut last_bytes = 0u64;
        let mut ended = false;
        for (i, e) in self.events.iter().enumerate() {
            assert!(!ended, "event {i} {e:?} after END_OF_TRANSFER");
            match e {
                Ev::Stream(_) => {
                    assert!(open.is_none(), "event {i}: a stream while another is open");
                    open = Some(page);
                    page += 1;
                    last_bytes = 0;
                }
                Ev::Skipped(_) => assert!(open.is_none(), "event {i}: skip with a stream open"),
                Ev::Status(_, pct) => assert!((0..=100).contains(pct), "event {i}"),
                Ev::Msg(p) => {
                    assert!((0..=100).contains(&p.lPercentComplete), "event {i}: {p:?}");
                    match p.lMessage {
                        wia::WIA_TRANSFER_MSG_STATUS => {
                            assert!(open.is_some(), "STATUS outside a page");
                            assert!(
                                p.ulTransferredBytes >= last_bytes,
                                "event {i}: bytes shrank"
                            );
                            last_bytes = p.ulTransferredBytes;
                            // Inline delivery: the stream holds exactly what STATUS says.
                            assert_eq!(p.ulTransferredBytes, self.held[i], "event {i}");
                        }
                        wia::WIA_TRANSFER_MSG_END_OF_STREAM => {
                            let o = open.take().expect("END_OF_STREAM without a stream");
                            assert_eq!(p.ulTransferredBytes, self.pages[o].data.len() as u64);
                            assert_eq!(self.pages[o].closed, Some(p.hrErrorStatus));
                        }
                        wia::WIA_TRANSFER_MSG_END_OF_TRANSFER => {
                            assert!(open.is_none(), "END_OF_TRANSFER with a stream open");
                            ended = true;
                        }
                        other => panic!("event {i}: message {other} reached the application"),
                    }
                }
            }
        }
        assert!(ended, "no END_OF_TRANSFER");
    }
}

/// Scripted answers.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    /// `report_status` answer (default WIA_STATUS_NOT_HANDLED).
    pub report: Option<HResult>,
    /// Answer S_FALSE to the n-th STATUS (1-based).
    pub cancel_at_status: Option<usize>,
    /// Answer this error to the n-th STATUS.
    pub fail_at_status: Option<(usize, HResult)>,
    /// Skip these pages.
    pub skip: Vec<u32>,
    /// The sink's writes fail with this code.
    pub sink_fails: Option<HResult>,
}

pub struct Rec {
    log: Arc<Mutex<Log>>,
    answers: Answers,
    statuses: usize,
}

struct Sink {
    log: Arc<Mutex<Log>>,
    index: usize,
    fail: Option<HResult>,
}

impl PageSink for Sink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Some(hr) = self.fail {
            return Err(hr);
        }
        self.log.lock().unwrap().pages[self.index]
            .data
            .extend_from_slice(data);
        Ok(())
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        self.log.lock().unwrap().pages[self.index].closed = Some(status);
        wia::S_OK
    }
}

impl TransferCallback for Rec {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        let mut log = self.log.lock().unwrap();
        if self.answers.skip.contains(&page.number) {
            log.push(Ev::Skipped(page.clone()));
            return AppStream::Skip;
        }
        log.push(Ev::Stream(page.clone()));
        log.pages.push(Page {
            info: page.clone(),
            data: Vec::new(),
            closed: None,
        });
        AppStream::Stream(Box::new(Sink {
            log: self.log.clone(),
            index: log.pages.len() - 1,
            fail: self.answers.sink_fails,
        }))
    }

    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult {
        self.log.lock().unwrap().push(Ev::Msg(*params));
        if params.lMessage == wia::WIA_TRANSFER_MSG_STATUS {
            self.statuses += 1;
            if self.answers.cancel_at_status == Some(self.statuses) {
                return wia::S_FALSE;
            }
            if let Some((n, hr)) = self.answers.fail_at_status {
                if n == self.statuses {
                    return hr;
                }
            }
        }
        wia::S_OK
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        self.log.lock().unwrap().push(Ev::Status(status, percent));
        self.answers.report.unwrap_or(wia::WIA_STATUS_NOT_HANDLED)
    }
}

/// A recording application and the handle to read its log.
pub fn recorder(answers: Answers) -> (Rec, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    (
        Rec {
            log: log.clone(),
            answers,
            statuses: 0,
        },
        log,
    )
}

/// Strict verification, with a watchdog short enough for a hang test to finish.
pub fn strict(watchdog: Duration) -> TransferOptions {
    TransferOptions::strict().watchdog(Some(watchdog))
}

/// Runs `request` on a fresh virtual device through `transfer::run` in strict mode, checks
/// that the verifier found nothing and the log is well formed, and returns both.
pub fn scan_with(request: &ScanRequest, answers: Answers, cancel: &CancelHandle) -> (Outcome, Log) {
    scan_opts(request, answers, cancel, strict(Duration::from_secs(30)))
}

pub fn scan_opts(
    request: &ScanRequest,
    answers: Answers,
    cancel: &CancelHandle,
    opts: TransferOptions,
) -> (Outcome, Log) {
    let device = transfer::share(Box::new(VirtualDevice::new()));
    let (app, log) = recorder(answers);
    let outcome = transfer::run(&device, request, Box::new(app), cancel, &opts);
    let log = log.lock().unwrap().clone();
    assert!(
        outcome.violations.is_empty(),
        "the verifier found violations: {:?}",
        outcome.violations
    );
    log.check();
    (outcome, log)
}

pub fn scan(request: &ScanRequest) -> (Outcome, Log) {
    scan_with(request, Answers::default(), &CancelHandle::new())
}

/// A request with `--set` pairs, which must be valid.
pub fn request(source: Source, mode: ColorMode, dpi: u32, set: &[(&str, &str)]) -> ScanRequest {
    ScanRequest {
        source,
        mode,
        resolution: dpi,
        options: scanwire_testkit::set(&scanwire_virtual::options::device_options(), set),
        ..Default::default()
    }
}

/// A quick request: 75 dpi keeps pages small.
pub fn req(source: Source, options: &[(&str, &str)]) -> ScanRequest {
    let mut r = ScanRequest {
        source,
        resolution: 75,
        ..Default::default()
    };
    r.options = scanwire_testkit::set(&scanwire_virtual::options::device_options(), options);
    r
}

/// FNV-1a 64: a fixed hash for golden values (std's hasher may change between releases).
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
