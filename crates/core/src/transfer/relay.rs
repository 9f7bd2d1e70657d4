//! The relay: the WIA service's part of a transfer.
//!
//! It sits between a driver (which calls it as `IWiaMiniDrvTransferCallback`) and an
//! application (which it calls as `IWiaTransferCallback`), and it:
//! - generates END_OF_STREAM when a stream is released and END_OF_TRANSFER once, at the end,
//!   carrying the transfer's final HRESULT (also after a cancel or an error);
//! - makes cancel sticky: after S_FALSE from anyone, every later call answers S_FALSE;
//! - routes DEVICE_STATUS through the error-handler chain (application, driver extension,
//!   default) and never to `transfer_callback` (S6);
//! - verifies the driver (see [`Rule`]): strict mode fails the transfer naming the rule,
//!   lenient mode contains the violation so the application never sees it.
//!
//! Driver state, from the relay's point of view:
//!
//! ```text
//!            S_FALSE / cancel                        error returned to driver
//!   Running ------------------> Stopped(S_FALSE)   Running ------------------> Stopped(hr)
//!      |                              |                                          |
//!      | acquire returns              | any call: S17, answer S_FALSE            | any call: S17, answer E_UNEXPECTED
//!      v                              v                                          v
//!   Finished (END_OF_TRANSFER delivered exactly once, with the final result)
//! ```

use super::callback::{
    AppStream, ErrorHandler, MiniDrvTransferCallback, NextStream, TransferCallback,
};
use super::cancel::CancelHandle;
use super::options::{TransferOptions, Tymed};
use super::progress::{Progress, ProgressCell};
use super::stream::{PageSink, StreamHandle, StreamOwner, StreamSlot};
use super::verifier::{Rule, VerifyMode, Violation};
use crate::device::{acquire_hresult, AcquireResult, DeviceError, PageInfo};
use crate::sync::{lock, Arc, AtomicBool, AtomicU64, Mutex, Ordering};
use crate::wia::{self, HResult, MessageKind, WiaTransferParams};

/// What a transfer came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The download's HRESULT: S_OK, S_FALSE (cancelled), WIA_STATUS_END_OF_MEDIA, or an error.
    pub result: HResult,
    /// The error, with what happened in words, when `result` is a failure.
    pub error: Option<DeviceError>,
    /// Pages the application received complete.
    pub pages: u32,
    /// Streams that ended incomplete (cancelled, failed, revoked).
    pub incomplete: u32,
    /// Pages the application skipped.
    pub skipped: u32,
    /// Rules the driver broke.
    pub violations: Vec<Violation>,
}

impl Outcome {
    /// Whether the transfer was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.result == wia::S_FALSE
    }

    /// The idiomatic reading of `result`.
    pub fn completion(&self) -> Result<crate::device::Completion, DeviceError> {
        use crate::device::Completion;
        match self.result {
            wia::S_FALSE => Ok(Completion::Cancelled),
            wia::WIA_STATUS_END_OF_MEDIA => Ok(Completion::EndOfMedia),
            hr if hr.is_success() => Ok(Completion::Done),
            hr => Err(self
                .error
                .clone()
                .unwrap_or_else(|| DeviceError::from_hresult(hr, ""))),
        }
    }
}

/// A handle reaches the relay's state through [`StreamOwner`] (the stream module does not
/// know the relay).
impl StreamOwner for Arc<Shared> {
    #[inline]
    fn beat(&self) {
        Shared::beat(self)
    }
    fn violate(&self, rule: Rule, detail: String) -> bool {
        Shared::violate(self, rule, detail)
    }
    #[inline]
    fn enter_app(&self) -> bool {
        Shared::enter_app(self)
    }
    #[inline]
    fn leave_app(&self, entered: bool) {
        Shared::leave_app(self, entered)
    }
    fn release(&self, slot: &Arc<StreamSlot>, finished: bool, failed: Option<HResult>) {
        Shared::release(self, slot, finished, failed)
    }
}

/// Which link of the error-handler chain is showing a modeless status.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Link {
    App,
    Extension,
}

/// State shared by the relay, its stream handles and the runner's watchdog.
pub(crate) struct Shared {
    app: Mutex<AppSide>,
    cancel: CancelHandle,
    strict: bool,
    abandoned: AtomicBool,
    heartbeat: AtomicU64,
    in_app: AtomicBool,
}

struct AppSide {
    app: Box<dyn TransferCallback>,
    extension: Option<Box<dyn ErrorHandler>>,
    current: Option<Arc<StreamSlot>>,
    /// Why the driver was told to stop (S_FALSE or an error), for END_OF_STREAM statuses.
    stop: Option<HResult>,
    /// A failure on the application side (closing a page, an answer to END_OF_STREAM) that the
    /// driver has not been told about yet.
    pending: Option<HResult>,
    violations: Vec<Violation>,
    modeless: Option<(Link, HResult)>,
    pages: u32,
    incomplete: u32,
    skipped: u32,
    finished: Option<Outcome>,
}

impl Shared {
    /// Marks driver activity for the watchdog. A plain load and store: only the driver's
    /// threads write it, and a lost increment only delays hang detection.
    #[inline]
    pub(crate) fn beat(&self) {
        let n = self.heartbeat.load(Ordering::Relaxed);
        self.heartbeat.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    pub(crate) fn heartbeat(&self) -> (u64, bool) {
        (
            self.heartbeat.load(Ordering::Relaxed),
            self.in_app.load(Ordering::Relaxed),
        )
    }

    #[inline]
    pub(crate) fn enter_app(&self) -> bool {
        !self.in_app.swap(true, Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn leave_app(&self, entered: bool) {
        if entered {
            self.in_app.store(false, Ordering::Relaxed);
        }
        self.beat();
    }

    /// Records a violation; returns true in strict mode (the caller must fail the call).
    pub(crate) fn violate(&self, rule: Rule, detail: String) -> bool {
        let mut a = lock(&self.app);
        a.violations.push(Violation { rule, detail });
        if self.strict {
            a.stop.get_or_insert(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
        }
        self.strict
    }

    /// The stream's handle was dropped: close the sink and deliver END_OF_STREAM.
    pub(crate) fn release(&self, slot: &Arc<StreamSlot>, finished: bool, failed: Option<HResult>) {
        let Some(sink) = slot.take_sink() else {
            return; // already revoked or abandoned
        };
        let mut a = lock(&self.app);
        let status = if finished {
            wia::S_OK
        } else if let Some(hr) = failed {
            hr
        } else if self.cancel.is_cancelled() {
            wia::S_FALSE
        } else {
            // Released without `finish`: the driver gave up on the page. Say why if we know.
            a.stop.filter(|s| *s != wia::S_OK).unwrap_or(wia::E_ABORT)
        };
        self.end_stream(&mut a, slot, sink, status);
    }

    /// Closes the sink and delivers END_OF_STREAM (S13): complete pages are kept.
    fn end_stream(
        &self,
        a: &mut AppSide,
        slot: &Arc<StreamSlot>,
        sink: Box<dyn PageSink>,
        status: HResult,
    ) {
        if a.current.as_ref().is_some_and(|c| Arc::ptr_eq(c, slot)) {
            a.current = None;
        }
        let entered = self.enter_app();
        let closed = sink.close(status);
        let mut reported = status;
        if status == wia::S_OK && closed.is_failure() {
            reported = closed;
            a.pending.get_or_insert(closed);
        }
        if reported == wia::S_OK {
            a.pages += 1;
        } else {
            a.incomplete += 1;
        }
        let pct = if reported == wia::S_OK { 100 } else { 0 };
        let p = WiaTransferParams::raw(
            wia::WIA_TRANSFER_MSG_END_OF_STREAM,
            pct,
            slot.bytes(),
            reported,
        );
        let answer = a.app.transfer_callback(&p);
        self.leave_app(entered);
        self.take_answer(a, answer);
    }

    /// Folds an application answer into the transfer: S_FALSE cancels (sticky), an error
    /// becomes pending for the driver's next call.
    fn take_answer(&self, a: &mut AppSide, answer: HResult) {
        if answer == wia::S_FALSE {
            self.cancel.cancel();
        } else if answer.is_failure() {
            a.pending.get_or_insert(answer);
        }
    }

    fn revoke_current(&self, a: &mut AppSide, status: HResult) {
        if let Some(slot) = a.current.take() {
            if let Some(sink) = slot.take_sink() {
                self.end_stream(a, &slot, sink, status);
            }
        }
    }

    fn clear_modeless(&self, a: &mut AppSide) {
        if let Some((link, _)) = a.modeless.take() {
            // The proxy's WIA_STATUS_CLEAR to the handler showing a modeless status.
            let _ = match link {
                Link::App => a.app.report_status(wia::WIA_STATUS_CLEAR, 0),
                Link::Extension => match a.extension.as_mut() {
                    Some(e) => e.report_status(wia::WIA_STATUS_CLEAR, 0),
                    None => wia::S_OK,
                },
            };
        }
    }

    /// Delivers END_OF_TRANSFER exactly once and freezes the outcome.
    fn end_transfer(
        &self,
        a: &mut AppSide,
        result: HResult,
        error: Option<DeviceError>,
    ) -> Outcome {
        if let Some(done) = &a.finished {
            return done.clone();
        }
        self.clear_modeless(a);
        let incomplete_status = if result == wia::S_OK || result == wia::WIA_STATUS_END_OF_MEDIA {
            wia::E_ABORT
        } else {
            result
        };
        self.revoke_current(a, incomplete_status);
        let entered = self.enter_app();
        let _ = a.app.transfer_callback(&WiaTransferParams::raw(
            wia::WIA_TRANSFER_MSG_END_OF_TRANSFER,
            if result.is_success() { 100 } else { 0 },
            0,
            result,
        ));
        self.leave_app(entered);
        let outcome = Outcome {
            result,
            error,
            pages: a.pages,
            incomplete: a.incomplete,
            skipped: a.skipped,
            violations: a.violations.clone(),
        };
        a.finished = Some(outcome.clone());
        outcome
    }

    /// The watchdog gave up on the driver: end the transfer with `error` now. Later driver
    /// calls answer S_FALSE and reach nobody.
    pub(crate) fn abandon(&self, error: DeviceError) -> Outcome {
        self.abandoned.store(true, Ordering::SeqCst);
        self.cancel.cancel();
        let mut a = lock(&self.app);
        let hr = error.hresult();
        self.end_transfer(&mut a, hr, Some(error))
    }
}

/// The service side of one transfer: implements [`MiniDrvTransferCallback`] for the driver
/// and calls the application's [`TransferCallback`].
pub struct Relay {
    shared: Arc<Shared>,
    cancel: CancelHandle,
    strict: bool,
    tymed: Tymed,
    progress: Option<Arc<ProgressCell>>,
    /// What ended the driver's turn (S_FALSE or an error); every later call is an S17 breach.
    stopped: Option<HResult>,
    /// The open stream, for the S16 byte check without locking the application side.
    current: Option<Arc<StreamSlot>>,
    page: u32,
    streams: u32,
    modeless: bool,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("strict", &self.strict)
            .field("stopped", &self.stopped)
            .field("streams", &self.streams)
            .finish()
    }
}

impl Relay {
    /// A relay delivering inline: the application's answers are what `send_message` returns.
    pub fn new(
        app: Box<dyn TransferCallback>,
        cancel: CancelHandle,
        opts: &TransferOptions,
    ) -> Self {
        let strict = opts.verify == VerifyMode::Strict;
        Relay {
            shared: Arc::new(Shared {
                app: Mutex::new(AppSide {
                    app,
                    extension: None,
                    current: None,
                    stop: None,
                    pending: None,
                    violations: Vec::new(),
                    modeless: None,
                    pages: 0,
                    incomplete: 0,
                    skipped: 0,
                    finished: None,
                }),
                cancel: cancel.clone(),
                strict,
                abandoned: AtomicBool::new(false),
                heartbeat: AtomicU64::new(0),
                in_app: AtomicBool::new(false),
            }),
            cancel,
            strict,
            tymed: opts.tymed,
            progress: None,
            stopped: None,
            current: None,
            page: 0,
            streams: 0,
            modeless: false,
        }
    }

    /// Decoupled delivery: STATUS goes to `cell` (latest wins) instead of the application's
    /// `transfer_callback`, so a slow reader never stalls the driver.
    pub fn with_progress_cell(mut self, cell: Arc<ProgressCell>) -> Self {
        self.progress = Some(cell);
        self
    }

    /// Adds the driver extension's `IWiaErrorHandler`, second in the DEVICE_STATUS chain.
    pub fn with_error_handler(self, handler: Box<dyn ErrorHandler>) -> Self {
        lock(&self.shared.app).extension = Some(handler);
        self
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Ends the transfer with the driver's result: checks S18–S20 and S22, delivers
    /// END_OF_TRANSFER once, and says what came of it.
    pub fn finish(&mut self, result: &AcquireResult) -> Outcome {
        let driver_hr = acquire_hresult(result);
        let mut a = lock(&self.shared.app);
        if let Some(done) = &a.finished {
            return done.clone();
        }
        let mut notes: Vec<(Rule, String)> = Vec::new();
        if a.current.is_some() {
            notes.push((
                Rule::S22Release,
                "acquire returned while a stream was still open".into(),
            ));
        }
        let stop = self.stopped.or(a.stop);
        let mut final_hr = driver_hr;
        match stop {
            Some(wia::S_FALSE) if driver_hr != wia::S_FALSE => {
                notes.push((
                    Rule::S18CancelResult,
                    format!("the callback answered S_FALSE but acquire returned {driver_hr}"),
                ));
                final_hr = wia::S_FALSE;
            }
            Some(err)
                if err.is_failure()
                    && driver_hr.is_success()
                    && err != wia::WIA_ERROR_INVALID_DRIVER_RESPONSE =>
            {
                notes.push((
                    Rule::S19FailureResult,
                    format!(
                        "the callback or stream failed with {err} but acquire returned {driver_hr}"
                    ),
                ));
                final_hr = err;
            }
            _ => {}
        }
        if driver_hr == wia::WIA_STATUS_SKIP_ITEM {
            notes.push((
                Rule::S20SkipResult,
                "acquire returned WIA_STATUS_SKIP_ITEM".into(),
            ));
            final_hr = wia::S_OK;
        }
        for (rule, detail) in notes {
            a.violations.push(Violation { rule, detail });
        }
        if final_hr.is_success() && final_hr != wia::S_FALSE {
            if let Some(p) = a.pending {
                final_hr = p;
            }
        }
        if self.strict && !a.violations.is_empty() {
            final_hr = wia::WIA_ERROR_INVALID_DRIVER_RESPONSE;
        }
        let error = if final_hr.is_failure() {
            Some(match result {
                _ if final_hr == wia::WIA_ERROR_INVALID_DRIVER_RESPONSE
                    && !a.violations.is_empty() =>
                {
                    let list: Vec<String> = a.violations.iter().map(|v| v.to_string()).collect();
                    DeviceError::from_hresult(final_hr, list.join("; "))
                }
                Err(e) if e.hresult() == final_hr => e.clone(),
                _ if final_hr == wia::E_ABORT || a.pending == Some(final_hr) => {
                    DeviceError::from_hresult(final_hr, "the application could not keep the page")
                }
                _ => DeviceError::from_hresult(final_hr, ""),
            })
        } else {
            None
        };
        self.current = None;
        self.shared.end_transfer(&mut a, final_hr, error)
    }

    /// Checks the things every driver call checks first. `Some(answer)` ends the call.
    fn precheck(&mut self, what: &str, flags: i32) -> Option<HResult> {
        self.shared.beat();
        if self.shared.abandoned.load(Ordering::Relaxed) {
            return Some(wia::S_FALSE);
        }
        if let Some(stop) = self.stopped {
            let detail = format!("{what} after the relay answered {stop}");
            self.shared.violate(Rule::S17CallAfterStop, detail);
            return Some(if stop == wia::S_FALSE || self.cancel.is_cancelled() {
                wia::S_FALSE
            } else {
                wia::E_UNEXPECTED
            });
        }
        if flags != 0
            && self
                .shared
                .violate(Rule::S02Flags, format!("{what} with lFlags {flags:#x}"))
        {
            return Some(self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE));
        }
        if self.cancel.is_cancelled() {
            return Some(self.stop(wia::S_FALSE));
        }
        None
    }

    /// Records why the driver must stop and returns the answer.
    fn stop(&mut self, hr: HResult) -> HResult {
        self.stopped = Some(hr);
        let mut a = lock(&self.shared.app);
        a.stop.get_or_insert(hr);
        hr
    }

    /// Maps an application's answer (or handler's) to what the driver gets.
    fn answer(&mut self, hr: HResult) -> HResult {
        if hr == wia::S_FALSE {
            self.cancel.cancel();
            self.stop(wia::S_FALSE)
        } else if hr.is_failure() {
            self.stop(hr)
        } else {
            wia::S_OK
        }
    }

    fn status(&mut self, p: &WiaTransferParams) -> HResult {
        let mut p = *p;
        if !(0..=100).contains(&p.lPercentComplete) {
            let detail = format!("STATUS with lPercentComplete {}", p.lPercentComplete);
            if self.shared.violate(Rule::S15Percent, detail) {
                return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
            p.lPercentComplete = p.lPercentComplete.clamp(0, 100);
        }
        let written = self.current.as_ref().map_or(0, |s| s.bytes());
        if p.ulTransferredBytes != written {
            let detail = format!(
                "STATUS with ulTransferredBytes {} but {written} bytes were written to the stream",
                p.ulTransferredBytes
            );
            if self.shared.violate(Rule::S16Bytes, detail) {
                return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
            p.ulTransferredBytes = written;
        }
        if let Some(cell) = &self.progress {
            // Decoupled: the application reads the cell when it likes.
            cell.store(Progress {
                page: self.page,
                percent: p.lPercentComplete as u8,
                bytes: p.ulTransferredBytes,
            });
            if self.modeless {
                self.modeless = false;
                let mut a = lock(&self.shared.app);
                self.shared.clear_modeless(&mut a);
            }
            return wia::S_OK;
        }
        let answer = {
            let mut a = lock(&self.shared.app);
            if let Some(hr) = check_pending(&mut self.stopped, &mut a) {
                return hr;
            }
            self.modeless = false;
            self.shared.clear_modeless(&mut a);
            let entered = self.shared.enter_app();
            let r = a.app.transfer_callback(&p);
            self.shared.leave_app(entered);
            r
        };
        self.answer(answer)
    }

    fn new_page(&mut self, p: &WiaTransferParams) -> HResult {
        let mut p = *p;
        if !(0..=100).contains(&p.lPercentComplete) {
            let detail = format!("NEW_PAGE with lPercentComplete {}", p.lPercentComplete);
            if self.shared.violate(Rule::S15Percent, detail) {
                return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
            p.lPercentComplete = p.lPercentComplete.clamp(0, 100);
        }
        let answer = {
            let mut a = lock(&self.shared.app);
            if let Some(hr) = check_pending(&mut self.stopped, &mut a) {
                return hr;
            }
            let entered = self.shared.enter_app();
            let r = a.app.transfer_callback(&p);
            self.shared.leave_app(entered);
            r
        };
        self.answer(answer)
    }

    fn device_status(&mut self, p: &WiaTransferParams) -> HResult {
        let status = p.hrErrorStatus;
        if status == wia::WIA_STATUS_CLEAR {
            if self
                .shared
                .violate(Rule::S24Clear, "DEVICE_STATUS with WIA_STATUS_CLEAR".into())
            {
                return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
            return wia::S_OK;
        }
        let mut pct = p.lPercentComplete;
        if !(0..=100).contains(&pct) {
            let detail = format!("DEVICE_STATUS with lPercentComplete {pct}");
            if self.shared.violate(Rule::S15Percent, detail) {
                return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
            pct = pct.clamp(0, 100);
        }
        let answer = {
            let mut a = lock(&self.shared.app);
            if let Some(hr) = check_pending(&mut self.stopped, &mut a) {
                return hr;
            }
            if a.modeless.is_some_and(|(_, code)| code != status) {
                self.shared.clear_modeless(&mut a);
            }
            let entered = self.shared.enter_app();
            // The chain: application, driver extension, default (S6, S7, S8).
            let mut handled = None;
            let r = a.app.report_status(status, pct);
            if r != wia::WIA_STATUS_NOT_HANDLED {
                handled = Some((Link::App, r));
            } else if let Some(ext) = a.extension.as_mut() {
                let r = ext.report_status(status, pct);
                if r != wia::WIA_STATUS_NOT_HANDLED {
                    handled = Some((Link::Extension, r));
                }
            }
            self.shared.leave_app(entered);
            match handled {
                Some((link, r)) => {
                    if r == wia::S_OK && status.is_success() {
                        a.modeless = Some((link, status));
                        self.modeless = true;
                    }
                    r
                }
                // The default handler: an unhandled error comes back to the driver, an
                // unhandled informational code is fine.
                None if status.is_failure() => status,
                None => wia::S_OK,
            }
        };
        self.answer(answer)
    }
}

impl MiniDrvTransferCallback for Relay {
    fn get_next_stream(&mut self, flags: i32, page: &PageInfo) -> NextStream {
        if let Some(hr) = self.precheck("GetNextStream", flags) {
            return if hr == wia::S_FALSE {
                NextStream::Cancelled
            } else {
                NextStream::Failed(hr)
            };
        }
        let mut a = lock(&self.shared.app);
        if let Some(hr) = check_pending(&mut self.stopped, &mut a) {
            return NextStream::Failed(hr);
        }
        self.modeless = false;
        self.shared.clear_modeless(&mut a);
        if a.current.is_some() {
            drop(a);
            let strict = self.shared.violate(
                Rule::S22Release,
                format!(
                    "GetNextStream for page {} while the previous stream was open",
                    page.number
                ),
            );
            a = lock(&self.shared.app);
            // Contain it: the open page ends incomplete before the next one starts.
            self.shared.revoke_current(&mut a, wia::E_ABORT);
            if strict {
                self.stopped = Some(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
                a.stop.get_or_insert(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
                return NextStream::Failed(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
            }
        }
        if self.tymed == Tymed::MultipageFile && self.streams > 0 {
            drop(a);
            self.shared.violate(
                Rule::S23StreamsPerItem,
                format!(
                    "a second GetNextStream (page {}) in a multi-page transfer",
                    page.number
                ),
            );
            // What the WIA compatibility layer answers (spec §1, MAP).
            return NextStream::Failed(self.stop(wia::WIA_ERROR_GENERAL_ERROR));
        }
        let entered = self.shared.enter_app();
        let answer = a.app.get_next_stream(page);
        self.shared.leave_app(entered);
        match answer {
            AppStream::Stream(sink) => {
                let slot = StreamSlot::new(sink, page.number);
                a.current = Some(slot.clone());
                drop(a);
                self.current = Some(slot.clone());
                self.page = page.number;
                self.streams += 1;
                if let Some(cell) = &self.progress {
                    cell.store(Progress {
                        page: page.number,
                        percent: 0,
                        bytes: 0,
                    });
                }
                NextStream::Stream(StreamHandle::new(slot, Box::new(self.shared.clone())))
            }
            AppStream::Skip => {
                a.skipped += 1;
                self.current = None;
                NextStream::Skip
            }
            AppStream::Cancel => {
                drop(a);
                self.cancel.cancel();
                self.stop(wia::S_FALSE);
                NextStream::Cancelled
            }
            AppStream::Fail(hr) => {
                drop(a);
                let hr = if hr.is_failure() { hr } else { wia::E_FAIL };
                NextStream::Failed(self.stop(hr))
            }
        }
    }

    fn send_message(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult {
        let Some(p) = params else {
            self.shared.beat();
            self.shared.violate(
                Rule::S09NullParams,
                "SendMessage with a null params pointer".into(),
            );
            return wia::E_POINTER;
        };
        if let Some(hr) = self.precheck("SendMessage", flags) {
            return hr;
        }
        match p.kind() {
            Some(MessageKind::Status) => self.status(p),
            Some(MessageKind::DeviceStatus) => self.device_status(p),
            Some(MessageKind::NewPage) => self.new_page(p),
            Some(kind @ (MessageKind::EndOfStream | MessageKind::EndOfTransfer)) => {
                // S11: nothing reaches the application.
                self.shared.violate(
                    Rule::S11ServiceOnlyMessage,
                    format!("the driver sent {kind:?}"),
                );
                if self.strict {
                    return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
                }
                wia::E_UNEXPECTED
            }
            None => {
                let strict = self
                    .shared
                    .violate(Rule::UnknownMessage, format!("lMessage {}", p.lMessage));
                if strict {
                    return self.stop(wia::WIA_ERROR_INVALID_DRIVER_RESPONSE);
                }
                wia::E_INVALIDARG
            }
        }
    }

    /// Decoupled progress is the only place where the application's answer to STATUS is
    /// known in advance (the cell takes every value; `status` answers S_OK). Everything that
    /// makes `precheck` answer otherwise is excluded: a stop, a cancel, an abandon; and a
    /// modeless status, whose WIA_STATUS_CLEAR the application should see before the driver
    /// goes on.
    fn answers_status_at_once(&self) -> bool {
        self.progress.is_some()
            && self.stopped.is_none()
            && !self.modeless
            && !self.cancel.is_cancelled()
            && !self.shared.abandoned.load(Ordering::SeqCst)
    }

    fn posted_status(&mut self, p: &WiaTransferParams) {
        self.shared.beat();
        // The driver was answered S_OK when `answers_status_at_once` held; nothing but a
        // cancel or an abandon can have changed since (both only matter to later calls), so
        // there is no cancel check here and no S17: the call came before the stop.
        if self.shared.abandoned.load(Ordering::Relaxed) || self.stopped.is_some() {
            return;
        }
        if p.kind() != Some(MessageKind::Status) {
            // Only STATUS is ever posted; anything else is the host's bug, not the driver's.
            return;
        }
        // The host checked the form (percent, bytes) against its mirror of the stream; the
        // relay's own checks run as for any STATUS, so a disagreement is still recorded.
        let _ = self.status(p);
    }
}

/// Hands the driver an application-side failure it has not been told about yet.
fn check_pending(stopped: &mut Option<HResult>, a: &mut AppSide) -> Option<HResult> {
    let p = a.pending.take()?;
    *stopped = Some(p);
    a.stop.get_or_insert(p);
    Some(p)
}
