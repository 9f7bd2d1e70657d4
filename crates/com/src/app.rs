//! The application side of a WIA transfer as a plain state machine: what Scanwire's COM
//! `IWiaTransferCallback` (and `IWiaAppErrorHandler`) does with each call of the WIA service,
//! over Scanwire's application-facing [`TransferCallback`]. The COM object is a thin shell
//! around [`AppAdapter`]; this module has no COM in it, so Linux tests cover it.
//!
//! What the WIA service calls, and what the application sees:
//!
//! ```text
//!  service call                          AppAdapter                      TransferCallback
//!  GetNextStream(0, name, full)   --->   close the open page (if any)  -> END_OF_STREAM
//!                                        page n+1 from the template    -> get_next_stream(page)
//!                                  <---  IStream (SinkSlot) | SKIP | S_FALSE | error
//!  IStream::Write / Seek          --->   SinkSlot (append-only)        -> PageSink::write
//!  TransferCallback(STATUS|NEW_PAGE)     forwarded unchanged           -> transfer_callback
//!  TransferCallback(END_OF_STREAM)       close the page                -> END_OF_STREAM
//!  TransferCallback(END_OF_TRANSFER)     close an open page, end       -> END_OF_TRANSFER
//!  IWiaAppErrorHandler::ReportStatus     DEVICE_STATUS                 -> report_status
//! ```
//!
//! Rules (the grammar the application gets is core's, see `Recording::check_grammar`):
//! - A page is closed exactly once, before its END_OF_STREAM reaches the application, with
//!   S_OK when it is complete, otherwise why not. END_OF_STREAM's byte count is what the page's
//!   sink received.
//! - If the service moves on without END_OF_STREAM (next `GetNextStream`, END_OF_TRANSFER),
//!   the open page is closed then: complete unless a write failed or the transfer is failing
//!   or cancelled.
//! - Cancel is sticky: after the application answered S_FALSE (or its [`CancelHandle`] was
//!   cancelled), STATUS, NEW_PAGE and `GetNextStream` answer S_FALSE without asking it again.
//!   After it answered an error, they answer that error.
//! - DEVICE_STATUS goes to `report_status`, never to `transfer_callback` (S6), also when a
//!   service passes it to `TransferCallback` by mistake.
//! - END_OF_TRANSFER is delivered exactly once: from the service, or from
//!   [`AppAdapter::end`] (the caller knows `Download`'s result), or E_ABORT when the adapter is
//!   dropped without either. Nothing reaches the application after it.

use crate::pages::{PageTemplate, STG_E_INVALIDFUNCTION, STG_E_REVERTED};
use scanwire_core::transfer::{self, AppStream, CancelHandle, PageSink, TransferCallback};
use scanwire_core::wia::{self, HResult, MessageKind, WiaTransferParams};
use std::io::SeekFrom;
use std::sync::{Arc, Mutex, MutexGuard};

/// One page's stream on the application side: the `IStream` WIA writes into, over the
/// application's [`PageSink`]. Append-only: the sink takes bytes in order, so a write anywhere
/// but the end fails with `STG_E_INVALIDFUNCTION` (and the page is incomplete).
pub struct SinkSlot {
    inner: Mutex<SinkInner>,
    page: u32,
}

struct SinkInner {
    sink: Option<Box<dyn PageSink>>,
    position: u64,
    end: u64,
    failed: Option<HResult>,
}

impl std::fmt::Debug for SinkSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("SinkSlot")
            .field("page", &self.page)
            .field("bytes", &g.end)
            .field("open", &g.sink.is_some())
            .finish()
    }
}

impl SinkSlot {
    fn new(sink: Box<dyn PageSink>, page: u32) -> Arc<Self> {
        Arc::new(SinkSlot {
            inner: Mutex::new(SinkInner {
                sink: Some(sink),
                position: 0,
                end: 0,
                failed: None,
            }),
            page,
        })
    }

    fn lock(&self) -> MutexGuard<'_, SinkInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The 1-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Bytes the sink has received.
    pub fn len(&self) -> u64 {
        self.lock().end
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the page is still open (not yet closed by END_OF_STREAM or the end).
    pub fn is_open(&self) -> bool {
        self.lock().sink.is_some()
    }

    /// `IStream::Write` at the current position, which must be the end.
    pub fn write(&self, data: &[u8]) -> Result<(), HResult> {
        let mut g = self.lock();
        if g.sink.is_none() {
            return Err(STG_E_REVERTED);
        }
        if g.position != g.end {
            // The sink cannot take bytes back; the page is spoiled.
            g.failed.get_or_insert(STG_E_INVALIDFUNCTION);
            return Err(STG_E_INVALIDFUNCTION);
        }
        let sink = g.sink.as_mut().expect("checked above");
        match sink.write(data) {
            Ok(()) => {
                g.end += data.len() as u64;
                g.position = g.end;
                Ok(())
            }
            Err(hr) => {
                let hr = if hr.is_failure() {
                    hr
                } else {
                    wia::WIA_ERROR_DESTINATION
                };
                g.failed.get_or_insert(hr);
                Err(hr)
            }
        }
    }

    /// `IStream::Seek` within what was written (the stream cannot grow by seeking: nothing
    /// could fill the gap).
    pub fn seek(&self, pos: SeekFrom) -> Result<u64, HResult> {
        let mut g = self.lock();
        if g.sink.is_none() {
            return Err(STG_E_REVERTED);
        }
        let t = transfer::seek_within(g.position, g.end, pos).ok_or(STG_E_INVALIDFUNCTION)?;
        g.position = t;
        Ok(t)
    }

    /// Closes the sink with `status` (or the write failure, if one happened); returns the
    /// status the page ended with, or `None` if it was already closed.
    fn close(&self, status: HResult) -> Option<(HResult, u64)> {
        let (sink, status, bytes) = {
            let mut g = self.lock();
            let sink = g.sink.take()?;
            let status = match g.failed {
                Some(f) => f,
                None => status,
            };
            (sink, status, g.end)
        };
        let kept = sink.close(status);
        let status = if status == wia::S_OK && kept.is_failure() {
            kept
        } else {
            status
        };
        Some((status, bytes))
    }
}

/// The state machine behind Scanwire's COM `IWiaTransferCallback`; see the module docs.
pub struct AppAdapter {
    app: Box<dyn TransferCallback>,
    template: PageTemplate,
    cancel: CancelHandle,
    pages: u32,
    open: Option<Arc<SinkSlot>>,
    /// The first S_FALSE or error the application answered; sticky.
    stopped: Option<HResult>,
    ended: bool,
}

impl std::fmt::Debug for AppAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAdapter")
            .field("pages", &self.pages)
            .field("stopped", &self.stopped)
            .field("ended", &self.ended)
            .finish()
    }
}

impl AppAdapter {
    /// An adapter delivering to `app`; pages are numbered from `template`. `cancel` cancels
    /// from outside (the application's `IWiaTransfer::Cancel` button, say): the next call of
    /// the service answers S_FALSE.
    pub fn new(
        app: Box<dyn TransferCallback>,
        template: PageTemplate,
        cancel: CancelHandle,
    ) -> Self {
        AppAdapter {
            app,
            template,
            cancel,
            pages: 0,
            open: None,
            stopped: None,
            ended: false,
        }
    }

    /// Whether END_OF_TRANSFER was delivered.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The sticky answer, if the transfer is stopped (S_FALSE or an error).
    fn stop_answer(&mut self) -> Option<HResult> {
        if self.stopped.is_none() && self.cancel.is_cancelled() {
            self.stopped = Some(wia::S_FALSE);
        }
        self.stopped
    }

    /// Folds an application answer in: S_FALSE and errors stop the transfer.
    fn take(&mut self, answer: HResult) -> HResult {
        if answer == wia::S_FALSE {
            self.cancel.cancel();
            self.stopped.get_or_insert(wia::S_FALSE);
        } else if answer.is_failure() {
            self.stopped.get_or_insert(answer);
        }
        answer
    }

    /// Closes the open page with `status` and delivers its END_OF_STREAM.
    fn close_open(&mut self, status: HResult, percent: i32) {
        let Some(slot) = self.open.take() else {
            return;
        };
        if let Some((status, bytes)) = slot.close(status) {
            let pct = if status == wia::S_OK { percent } else { 0 };
            let p = WiaTransferParams::raw(
                wia::WIA_TRANSFER_MSG_END_OF_STREAM,
                pct.clamp(0, 100),
                bytes,
                status,
            );
            let answer = self.app.transfer_callback(&p);
            self.take(answer);
        }
    }

    /// The status an open page gets when the service moves on without END_OF_STREAM.
    fn moving_on_status(&mut self) -> HResult {
        match self.stop_answer() {
            Some(hr) => hr,
            None => wia::S_OK,
        }
    }

    /// `IWiaTransferCallback::GetNextStream`. `Ok` is S_OK with the page's stream; `Err` is
    /// WIA_STATUS_SKIP_ITEM, S_FALSE or an error, with no stream.
    pub fn get_next_stream(&mut self) -> Result<Arc<SinkSlot>, HResult> {
        if self.ended {
            return Err(wia::E_UNEXPECTED);
        }
        if self.open.is_some() {
            let status = self.moving_on_status();
            self.close_open(status, 100);
        }
        if let Some(hr) = self.stop_answer() {
            return Err(hr);
        }
        self.pages += 1;
        let page = self.template.page(self.pages);
        match self.app.get_next_stream(&page) {
            AppStream::Stream(sink) => {
                let slot = SinkSlot::new(sink, page.number);
                self.open = Some(slot.clone());
                Ok(slot)
            }
            AppStream::Skip => Err(wia::WIA_STATUS_SKIP_ITEM),
            AppStream::Cancel => Err(self.take(wia::S_FALSE)),
            AppStream::Fail(hr) => {
                let hr = if hr.is_failure() { hr } else { wia::E_FAIL };
                Err(self.take(hr))
            }
        }
    }

    /// `IWiaTransferCallback::TransferCallback`. `None` is a null params pointer.
    pub fn transfer_callback(&mut self, params: Option<&WiaTransferParams>) -> HResult {
        let Some(p) = params else {
            return wia::E_POINTER;
        };
        if self.ended {
            return wia::E_UNEXPECTED;
        }
        match p.kind() {
            Some(MessageKind::Status | MessageKind::NewPage) => {
                if let Some(hr) = self.stop_answer() {
                    return hr;
                }
                let mut p = *p;
                p.lPercentComplete = p.lPercentComplete.clamp(0, 100);
                let answer = self.app.transfer_callback(&p);
                self.take(answer)
            }
            Some(MessageKind::EndOfStream) => {
                // None open: the page was skipped or never handed out; the application gets
                // END_OF_STREAM only for pages it received (core's grammar).
                let status = if p.hrErrorStatus == wia::S_OK {
                    self.moving_on_status()
                } else {
                    p.hrErrorStatus
                };
                self.close_open(status, p.lPercentComplete);
                wia::S_OK
            }
            Some(MessageKind::EndOfTransfer) => {
                self.end(p.hrErrorStatus);
                wia::S_OK
            }
            Some(MessageKind::DeviceStatus) => {
                // The proxy sends DEVICE_STATUS to the error handlers, never here (S6); if a
                // service does, answer as the first handler of the chain with the default
                // after it.
                match self.report_status(p.hrErrorStatus, p.lPercentComplete) {
                    hr if hr == wia::WIA_STATUS_NOT_HANDLED => {
                        if p.hrErrorStatus.is_failure() {
                            p.hrErrorStatus
                        } else {
                            wia::S_OK
                        }
                    }
                    hr => hr,
                }
            }
            None => wia::E_INVALIDARG,
        }
    }

    /// `IWiaAppErrorHandler::ReportStatus`: the application's answer for a DEVICE_STATUS
    /// (WIA_STATUS_NOT_HANDLED passes it down the chain). WIA_STATUS_CLEAR is passed on too:
    /// the proxy sends it to close a modeless status.
    pub fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        if self.ended {
            return wia::WIA_STATUS_NOT_HANDLED;
        }
        let answer = self.app.report_status(status, percent.clamp(0, 100));
        if answer == wia::S_FALSE {
            self.take(answer);
        }
        answer
    }

    /// Ends the transfer with `result` (`Download`'s HRESULT): closes an open page and
    /// delivers END_OF_TRANSFER, once. Later calls do nothing.
    pub fn end(&mut self, result: HResult) {
        if self.ended {
            return;
        }
        // What stopped the transfer first decides an open page's status; otherwise the result.
        let status = match self.stop_answer() {
            Some(hr) => hr,
            None if result.is_success() && result != wia::S_FALSE => wia::S_OK,
            None => result,
        };
        self.close_open(status, 100);
        self.ended = true;
        let pct = if result.is_success() && result != wia::S_FALSE {
            100
        } else {
            0
        };
        let _ = self.app.transfer_callback(&WiaTransferParams::raw(
            wia::WIA_TRANSFER_MSG_END_OF_TRANSFER,
            pct,
            0,
            result,
        ));
    }
}

impl Drop for AppAdapter {
    fn drop(&mut self) {
        // Released without END_OF_TRANSFER (the service died, or nobody called `end`).
        self.end(wia::E_ABORT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::{Encoding, PageData, Source};
    use scanwire_core::transfer::{Recorded, Recorder, Script};

    fn template() -> PageTemplate {
        PageTemplate {
            source: Source::Feeder,
            data: PageData::Encoded(Encoding::Png),
            dpi: (300, 300),
        }
    }

    fn adapter(script: Script) -> (AppAdapter, scanwire_core::transfer::RecordingHandle) {
        let (app, log) = Recorder::scripted(script);
        (
            AppAdapter::new(Box::new(app), template(), CancelHandle::new()),
            log,
        )
    }

    fn eos(bytes: u64) -> WiaTransferParams {
        WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_STREAM, 100, bytes, wia::S_OK)
    }

    fn eot(hr: HResult) -> WiaTransferParams {
        WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_TRANSFER, 100, 0, hr)
    }

    /// The service's side of a two-page feeder download.
    #[test]
    fn two_pages_give_core_grammar_and_the_bytes() {
        let (mut a, log) = adapter(Script::default());
        for page in [b"one".as_slice(), b"second"] {
            let s = a.get_next_stream().unwrap();
            s.seek(SeekFrom::End(0)).unwrap();
            s.write(page).unwrap();
            let st = WiaTransferParams::status(50, page.len() as u64);
            assert_eq!(a.transfer_callback(Some(&st)), wia::S_OK);
            assert_eq!(
                a.transfer_callback(Some(&eos(page.len() as u64))),
                wia::S_OK
            );
            assert!(!s.is_open());
        }
        a.transfer_callback(Some(&eot(wia::S_OK)));
        let r = log.snapshot();
        r.check_grammar().unwrap();
        assert_eq!(r.complete_pages().len(), 2);
        assert_eq!(r.pages[1].data, b"second");
        assert_eq!(r.pages[1].info.number, 2);
        assert_eq!(r.end_of_transfer(), Some(wia::S_OK));
    }

    #[test]
    fn missing_end_of_stream_is_made_up_when_the_service_moves_on() {
        let (mut a, log) = adapter(Script::default());
        a.get_next_stream().unwrap().write(b"ab").unwrap();
        a.get_next_stream().unwrap().write(b"c").unwrap();
        a.transfer_callback(Some(&eot(wia::S_OK)));
        let r = log.snapshot();
        r.check_grammar().unwrap();
        assert_eq!(r.complete_pages().len(), 2);
    }

    #[test]
    fn open_page_at_a_failed_end_is_incomplete() {
        let (mut a, log) = adapter(Script::default());
        a.get_next_stream().unwrap().write(b"ab").unwrap();
        a.transfer_callback(Some(&eot(wia::WIA_ERROR_PAPER_JAM)));
        let r = log.snapshot();
        r.check_grammar().unwrap();
        assert_eq!(r.pages[0].closed, Some(wia::WIA_ERROR_PAPER_JAM));
        assert_eq!(r.end_of_transfer(), Some(wia::WIA_ERROR_PAPER_JAM));
    }

    #[test]
    fn cancel_by_the_application_is_sticky_and_not_asked_again() {
        let (mut a, log) = adapter(Script {
            cancel_at_status: Some(1),
            ..Default::default()
        });
        let s = a.get_next_stream().unwrap();
        s.write(b"x").unwrap();
        let st = WiaTransferParams::status(10, 1);
        assert_eq!(a.transfer_callback(Some(&st)), wia::S_FALSE);
        assert_eq!(a.transfer_callback(Some(&st)), wia::S_FALSE);
        assert_eq!(a.get_next_stream().unwrap_err(), wia::S_FALSE);
        a.transfer_callback(Some(&eot(wia::S_FALSE)));
        let r = log.snapshot();
        r.check_grammar().unwrap();
        let statuses = r
            .messages()
            .iter()
            .filter(|m| m.lMessage == wia::WIA_TRANSFER_MSG_STATUS)
            .count();
        assert_eq!(statuses, 1, "asked once, then sticky");
        assert_eq!(r.pages[0].closed, Some(wia::S_FALSE));
    }

    #[test]
    fn outside_cancel_answers_s_false_next() {
        let (app, log) = Recorder::new();
        let cancel = CancelHandle::new();
        let mut a = AppAdapter::new(Box::new(app), template(), cancel.clone());
        a.get_next_stream().unwrap();
        cancel.cancel();
        assert_eq!(
            a.transfer_callback(Some(&WiaTransferParams::status(1, 0))),
            wia::S_FALSE
        );
        drop(a);
        let r = log.snapshot();
        r.check_grammar().unwrap();
        assert_eq!(r.end_of_transfer(), Some(wia::E_ABORT));
        assert_eq!(r.pages[0].closed, Some(wia::S_FALSE));
    }

    #[test]
    fn skip_and_failure_answers_come_back_raw() {
        let (mut a, log) = adapter(Script {
            skip_pages: vec![1],
            fail_at_page: Some((2, wia::WIA_ERROR_DESTINATION)),
            ..Default::default()
        });
        assert_eq!(a.get_next_stream().unwrap_err(), wia::WIA_STATUS_SKIP_ITEM);
        // END_OF_STREAM for a skipped page does not reach the application.
        assert_eq!(a.transfer_callback(Some(&eos(0))), wia::S_OK);
        assert_eq!(a.get_next_stream().unwrap_err(), wia::WIA_ERROR_DESTINATION);
        assert_eq!(
            a.transfer_callback(Some(&WiaTransferParams::status(1, 0))),
            wia::WIA_ERROR_DESTINATION
        );
        a.end(wia::WIA_ERROR_DESTINATION);
        log.snapshot().check_grammar().unwrap();
    }

    #[test]
    fn device_status_never_reaches_transfer_callback() {
        let (mut a, log) = adapter(Script::default());
        let ds = WiaTransferParams::device_status(wia::WIA_ERROR_COVER_OPEN, 0);
        // Unhandled error: the status comes back; unhandled information: S_OK.
        assert_eq!(a.transfer_callback(Some(&ds)), wia::WIA_ERROR_COVER_OPEN);
        let info = WiaTransferParams::device_status(wia::WIA_STATUS_WARMING_UP, 40);
        assert_eq!(a.transfer_callback(Some(&info)), wia::S_OK);
        assert_eq!(
            a.report_status(wia::WIA_STATUS_CALIBRATING, 5),
            wia::WIA_STATUS_NOT_HANDLED
        );
        a.end(wia::S_OK);
        let r = log.snapshot();
        r.check_grammar().unwrap();
        let reports: Vec<_> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Recorded::ReportStatus(hr, pct, _) => Some((*hr, *pct)),
                _ => None,
            })
            .collect();
        assert_eq!(
            reports,
            vec![
                (wia::WIA_ERROR_COVER_OPEN, 0),
                (wia::WIA_STATUS_WARMING_UP, 40),
                (wia::WIA_STATUS_CALIBRATING, 5)
            ]
        );
    }

    #[test]
    fn null_params_unknown_kinds_and_calls_after_the_end() {
        let (mut a, log) = adapter(Script::default());
        assert_eq!(a.transfer_callback(None), wia::E_POINTER);
        let bad = WiaTransferParams::raw(4, 0, 0, wia::S_OK);
        assert_eq!(a.transfer_callback(Some(&bad)), wia::E_INVALIDARG);
        a.end(wia::S_OK);
        a.end(wia::S_OK);
        assert_eq!(a.get_next_stream().unwrap_err(), wia::E_UNEXPECTED);
        assert_eq!(
            a.transfer_callback(Some(&WiaTransferParams::status(0, 0))),
            wia::E_UNEXPECTED
        );
        let r = log.snapshot();
        r.check_grammar().unwrap();
        assert_eq!(r.messages().len(), 1, "only END_OF_TRANSFER");
    }

    #[test]
    fn out_of_order_writes_and_failed_sinks_spoil_the_page() {
        let (mut a, log) = adapter(Script {
            sink_fails_after: Some((4, wia::WIA_ERROR_DESTINATION)),
            ..Default::default()
        });
        let s = a.get_next_stream().unwrap();
        s.write(b"abc").unwrap();
        assert_eq!(s.seek(SeekFrom::Start(1)), Ok(1));
        assert_eq!(s.write(b"z"), Err(STG_E_INVALIDFUNCTION));
        assert_eq!(s.seek(SeekFrom::End(1)), Err(STG_E_INVALIDFUNCTION));
        a.transfer_callback(Some(&eos(3)));
        assert_eq!(s.write(b"late"), Err(STG_E_REVERTED));
        let s2 = a.get_next_stream().unwrap();
        assert_eq!(s2.write(b"12345"), Err(wia::WIA_ERROR_DESTINATION));
        a.end(wia::WIA_ERROR_DESTINATION);
        let r = log.snapshot();
        r.check_grammar().unwrap();
        assert_eq!(r.pages[0].closed, Some(STG_E_INVALIDFUNCTION));
        assert_eq!(r.pages[1].closed, Some(wia::WIA_ERROR_DESTINATION));
    }
}
