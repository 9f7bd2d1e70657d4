//! An application callback that records everything it is told and keeps pages in memory,
//! with scripted answers (skip, cancel, fail). Tests use it to see a transfer exactly as an
//! application does, and [`Recording::check_grammar`] checks the message order.

use super::callback::{AppStream, TransferCallback};
use super::stream::PageSink;
use crate::device::PageInfo;
use crate::wia::{self, HResult, MessageKind, WiaTransferParams};
use std::sync::{Arc, Mutex};

/// One thing the application saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// `get_next_stream` for a page, and what the recorder answered.
    GetNextStream(PageInfo, HResult),
    /// `transfer_callback` with these params.
    Message(WiaTransferParams),
    /// `report_status` (the DEVICE_STATUS chain) with the code and percent, and the answer.
    ReportStatus(HResult, i32, HResult),
}

/// A page as the application received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedPage {
    /// What `get_next_stream` was told.
    pub info: PageInfo,
    /// Every byte written.
    pub data: Vec<u8>,
    /// The status the sink was closed with (`None` while open).
    pub closed: Option<HResult>,
}

/// Everything recorded so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// In order.
    pub events: Vec<Recorded>,
    /// Every page a stream was opened for, in order.
    pub pages: Vec<RecordedPage>,
}

/// Scripted answers.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Answer WIA_STATUS_SKIP_ITEM to these page numbers.
    pub skip_pages: Vec<u32>,
    /// Answer S_FALSE to `get_next_stream` for this page number.
    pub cancel_at_page: Option<u32>,
    /// Answer this error to `get_next_stream` for this page number.
    pub fail_at_page: Option<(u32, HResult)>,
    /// Answer S_FALSE to the n-th STATUS (1-based, counted over the whole transfer).
    pub cancel_at_status: Option<usize>,
    /// Answer an error to the n-th STATUS.
    pub fail_at_status: Option<(usize, HResult)>,
    /// What `report_status` answers (default WIA_STATUS_NOT_HANDLED).
    pub report_status: Option<HResult>,
    /// The sink fails writes once a page holds more than this many bytes.
    pub sink_fails_after: Option<(usize, HResult)>,
}

/// The recording application callback.
pub struct Recorder {
    log: Arc<Mutex<Recording>>,
    script: Script,
    statuses: usize,
}

/// Read access to a [`Recorder`]'s log from outside the transfer.
#[derive(Clone)]
pub struct RecordingHandle(Arc<Mutex<Recording>>);

impl RecordingHandle {
    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Recording {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Recorder {
    /// A recorder with no scripted answers.
    pub fn new() -> (Self, RecordingHandle) {
        Self::scripted(Script::default())
    }

    /// A recorder following `script`.
    pub fn scripted(script: Script) -> (Self, RecordingHandle) {
        let log = Arc::new(Mutex::new(Recording::default()));
        (
            Recorder {
                log: log.clone(),
                script,
                statuses: 0,
            },
            RecordingHandle(log),
        )
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct MemorySink {
    log: Arc<Mutex<Recording>>,
    index: usize,
    fail_after: Option<(usize, HResult)>,
}

impl PageSink for MemorySink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let page = &mut log.pages[self.index];
        if let Some((limit, hr)) = self.fail_after {
            if page.data.len() + data.len() > limit {
                return Err(hr);
            }
        }
        page.data.extend_from_slice(data);
        Ok(())
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.pages[self.index].closed = Some(status);
        wia::S_OK
    }
}

impl TransferCallback for Recorder {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        let s = &self.script;
        let (answer, hr) = if s.skip_pages.contains(&page.number) {
            (AppStream::Skip, wia::WIA_STATUS_SKIP_ITEM)
        } else if s.cancel_at_page == Some(page.number) {
            (AppStream::Cancel, wia::S_FALSE)
        } else if let Some((_, hr)) = s.fail_at_page.filter(|(n, _)| *n == page.number) {
            (AppStream::Fail(hr), hr)
        } else {
            let mut log = self.log();
            log.pages.push(RecordedPage {
                info: page.clone(),
                data: Vec::new(),
                closed: None,
            });
            let sink = MemorySink {
                log: self.log.clone(),
                index: log.pages.len() - 1,
                fail_after: s.sink_fails_after,
            };
            (AppStream::Stream(Box::new(sink)), wia::S_OK)
        };
        self.log()
            .events
            .push(Recorded::GetNextStream(page.clone(), hr));
        answer
    }

    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult {
        self.log().events.push(Recorded::Message(*params));
        if params.lMessage == wia::WIA_TRANSFER_MSG_STATUS {
            self.statuses += 1;
            if self.script.cancel_at_status == Some(self.statuses) {
                return wia::S_FALSE;
            }
            if let Some((_, hr)) = self
                .script
                .fail_at_status
                .filter(|(n, _)| *n == self.statuses)
            {
                return hr;
            }
        }
        wia::S_OK
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        let answer = self
            .script
            .report_status
            .unwrap_or(wia::WIA_STATUS_NOT_HANDLED);
        self.log()
            .events
            .push(Recorded::ReportStatus(status, percent, answer));
        answer
    }
}

impl Recording {
    /// The messages `transfer_callback` received, in order.
    pub fn messages(&self) -> Vec<WiaTransferParams> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Recorded::Message(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    /// Pages closed complete (status S_OK).
    pub fn complete_pages(&self) -> Vec<&RecordedPage> {
        self.pages
            .iter()
            .filter(|p| p.closed == Some(wia::S_OK))
            .collect()
    }

    /// The final result END_OF_TRANSFER carried, if it came.
    pub fn end_of_transfer(&self) -> Option<HResult> {
        self.messages()
            .iter()
            .find(|p| p.lMessage == wia::WIA_TRANSFER_MSG_END_OF_TRANSFER)
            .map(|p| p.hrErrorStatus)
    }

    /// Checks the grammar an application may rely on:
    ///
    /// ```text
    /// transfer = (STATUS | page | skipped)* END_OF_TRANSFER
    /// page     = get_next_stream->S_OK (NEW_PAGE | STATUS)* END_OF_STREAM
    /// ```
    ///
    /// plus: END_OF_STREAM's bytes equal the page's bytes; STATUS bytes never exceed what the
    /// stream holds and are 0 outside a page; percent within 0..=100; no DEVICE_STATUS or
    /// unknown kind reaches `transfer_callback`; nothing after END_OF_TRANSFER; every page
    /// sink was closed, with S_OK exactly when END_OF_STREAM said S_OK.
    pub fn check_grammar(&self) -> Result<(), String> {
        let mut open: Option<usize> = None; // index into pages
        let mut next_page = 0usize;
        let mut ended = false;
        for (i, e) in self.events.iter().enumerate() {
            if ended && !matches!(e, Recorded::ReportStatus(..)) {
                return Err(format!("event {i} ({e:?}) after END_OF_TRANSFER"));
            }
            match e {
                Recorded::GetNextStream(page, hr) => {
                    if let Some(p) = open {
                        return Err(format!(
                            "get_next_stream for page {} while page {} had no END_OF_STREAM",
                            page.number, self.pages[p].info.number
                        ));
                    }
                    if *hr == wia::S_OK {
                        open = Some(next_page);
                        next_page += 1;
                    }
                }
                Recorded::ReportStatus(..) => {}
                Recorded::Message(p) => {
                    if !(0..=100).contains(&p.lPercentComplete) {
                        return Err(format!(
                            "event {i}: percent {} out of range",
                            p.lPercentComplete
                        ));
                    }
                    match p.kind() {
                        Some(MessageKind::Status) => {
                            let held = open.map_or(0, |o| self.pages[o].data.len() as u64);
                            if open.is_none() && p.ulTransferredBytes != 0 {
                                return Err(format!(
                                    "event {i}: STATUS outside a page with bytes {}",
                                    p.ulTransferredBytes
                                ));
                            }
                            if p.ulTransferredBytes > held {
                                return Err(format!(
                                    "event {i}: STATUS reports {} bytes, the stream holds {held}",
                                    p.ulTransferredBytes
                                ));
                            }
                        }
                        Some(MessageKind::NewPage) => {
                            if open.is_none() {
                                return Err(format!("event {i}: NEW_PAGE outside a stream"));
                            }
                        }
                        Some(MessageKind::EndOfStream) => {
                            let Some(o) = open.take() else {
                                return Err(format!(
                                    "event {i}: END_OF_STREAM with no open stream"
                                ));
                            };
                            let page = &self.pages[o];
                            if p.ulTransferredBytes != page.data.len() as u64 {
                                return Err(format!(
                                    "event {i}: END_OF_STREAM says {} bytes, page {} holds {}",
                                    p.ulTransferredBytes,
                                    page.info.number,
                                    page.data.len()
                                ));
                            }
                            match page.closed {
                                None => {
                                    return Err(format!(
                                        "page {} not closed before END_OF_STREAM",
                                        page.info.number
                                    ))
                                }
                                Some(c) if (c == wia::S_OK) != (p.hrErrorStatus == wia::S_OK) => {
                                    return Err(format!(
                                        "page {} closed with {c} but END_OF_STREAM says {}",
                                        page.info.number, p.hrErrorStatus
                                    ))
                                }
                                _ => {}
                            }
                        }
                        Some(MessageKind::EndOfTransfer) => {
                            if let Some(o) = open {
                                return Err(format!(
                                    "END_OF_TRANSFER while page {} had no END_OF_STREAM",
                                    self.pages[o].info.number
                                ));
                            }
                            ended = true;
                        }
                        Some(MessageKind::DeviceStatus) => {
                            return Err(format!(
                                "event {i}: DEVICE_STATUS reached transfer_callback (S6)"
                            ))
                        }
                        None => {
                            return Err(format!("event {i}: unknown message kind {}", p.lMessage))
                        }
                    }
                }
            }
        }
        if !ended {
            return Err("no END_OF_TRANSFER".into());
        }
        Ok(())
    }
}
