//! Running an application-side transfer (something that calls a [`TransferCallback`], such as
//! WIA's `IWiaTransfer::Download`) inside a Scanwire driver's `acquire`, which holds a
//! driver-side [`MiniDrvTransferCallback`].
//!
//! The `wia:` driver is a Scanwire driver whose device is a WIA device. Its `acquire` gets a
//! `&mut dyn MiniDrvTransferCallback` (the relay) that lives only for the call and stays on
//! the calling thread, while WIA calls the application's callback during `Download`, on
//! threads of its choosing. [`bridge`] runs the download on a thread of its own and serves its
//! callback calls on the calling thread through a channel:
//!
//! ```text
//!  acquire thread                               download thread (WIA, COM)
//!  bridge(cb, work) ── spawn ─────────────────> work(BridgeApp)
//!    loop:  recv request  <── GetNextStream ──   app.get_next_stream(page)
//!           cb.get_next_stream(0, page)            -> PageSink over the StreamHandle
//!           reply         ──────────────────>    (writes go straight to the handle)
//!           recv request  <── STATUS/NEW_PAGE ── app.transfer_callback(p)
//!           cb.send_message(0, p) ── reply ──>
//!           recv request  <── DEVICE_STATUS ──   app.report_status(hr, pct)
//!           recv Done(result) <──────────────    work returns
//! ```
//!
//! END_OF_STREAM and END_OF_TRANSFER are not forwarded: the relay behind `cb` makes its own
//! when the stream handle is released and when `acquire` returns. A page ends complete when
//! the application side closes its sink with S_OK (the handle is finished), otherwise it is
//! dropped incomplete.

use scanwire_core::device::PageInfo;
use scanwire_core::transfer::{
    panic_message, AppStream, MiniDrvTransferCallback, NextStream, PageSink, StreamHandle,
    TransferCallback,
};
use scanwire_core::wia::{self, HResult, MessageKind, WiaTransferParams};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

enum Request {
    NextStream(PageInfo, Sender<NextStream>),
    Message(WiaTransferParams, Sender<HResult>),
    Done,
}

/// What the driver side answered that ends a transfer: the first S_FALSE or error.
#[derive(Clone, Debug, Default)]
pub struct StopRecord(Arc<Mutex<Option<HResult>>>);

impl StopRecord {
    fn note(&self, hr: HResult) {
        if hr == wia::S_FALSE || hr.is_failure() {
            let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
            g.get_or_insert(hr);
        }
    }

    /// The first S_FALSE or error the driver-side callback answered, if any.
    pub fn get(&self) -> Option<HResult> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The [`TransferCallback`] `work` gets: forwards to the driver-side callback on the
/// acquire thread.
struct BridgeApp {
    tx: Sender<Request>,
    stop: StopRecord,
}

impl BridgeApp {
    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Request) -> Option<T> {
        let (reply, answer) = channel();
        self.tx.send(make(reply)).ok()?;
        answer.recv().ok()
    }
}

/// The application-side sink over a driver-side stream handle.
struct HandleSink(Option<StreamHandle>);

impl PageSink for HandleSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        match self.0.as_mut() {
            Some(h) => h.write(data),
            None => Err(wia::E_UNEXPECTED),
        }
    }

    fn close(mut self: Box<Self>, status: HResult) -> HResult {
        if let Some(h) = self.0.take() {
            if status == wia::S_OK {
                h.finish();
            }
            // Otherwise dropped unfinished: the page ends incomplete.
        }
        wia::S_OK
    }
}

impl TransferCallback for BridgeApp {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        let answer = self.ask(|r| Request::NextStream(page.clone(), r));
        match answer {
            Some(NextStream::Stream(h)) => AppStream::Stream(Box::new(HandleSink(Some(h)))),
            Some(NextStream::Skip) => AppStream::Skip,
            Some(NextStream::Cancelled) => {
                self.stop.note(wia::S_FALSE);
                AppStream::Cancel
            }
            Some(NextStream::Failed(hr)) => {
                self.stop.note(hr);
                AppStream::Fail(hr)
            }
            // The acquire side is gone (the transfer is over): nothing may be delivered.
            None => AppStream::Fail(wia::E_UNEXPECTED),
        }
    }

    fn transfer_callback(&mut self, params: &WiaTransferParams) -> HResult {
        match params.kind() {
            Some(MessageKind::Status | MessageKind::NewPage) => {
                let hr = self
                    .ask(|r| Request::Message(*params, r))
                    .unwrap_or(wia::E_UNEXPECTED);
                self.stop.note(hr);
                hr
            }
            // The relay behind the driver-side callback makes its own.
            Some(MessageKind::EndOfStream | MessageKind::EndOfTransfer) => wia::S_OK,
            Some(MessageKind::DeviceStatus) | None => wia::E_INVALIDARG,
        }
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        if status == wia::WIA_STATUS_CLEAR {
            // The proxy closing a modeless status; drivers never send CLEAR (S24).
            return wia::S_OK;
        }
        let p = WiaTransferParams::device_status(status, percent);
        let hr = self
            .ask(|r| Request::Message(p, r))
            .unwrap_or(wia::E_UNEXPECTED);
        self.stop.note(hr);
        hr
    }
}

/// What [`bridge`] came to.
#[derive(Debug)]
pub struct Bridged<R> {
    /// `work`'s result, or the panic message if it panicked.
    pub result: Result<R, String>,
    /// The first S_FALSE or error the driver-side callback answered.
    pub stopped: Option<HResult>,
}

/// Runs `work` on a thread of its own with a [`TransferCallback`] that forwards to `cb`, and
/// serves those calls here until `work` returns. See the module docs.
pub fn bridge<R: Send>(
    cb: &mut dyn MiniDrvTransferCallback,
    work: impl FnOnce(Box<dyn TransferCallback>) -> R + Send,
) -> Bridged<R> {
    let (tx, rx) = channel::<Request>();
    let stop = StopRecord::default();
    let app = BridgeApp {
        tx: tx.clone(),
        stop: stop.clone(),
    };
    let result = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| work(Box::new(app))));
            // Always wake the serving loop, even when `work` leaked its callback.
            let _ = tx.send(Request::Done);
            r
        });
        serve(cb, &rx);
        // Requests after Done find the receiver gone and answer E_UNEXPECTED.
        drop(rx);
        match worker.join() {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(panic)) | Err(panic) => Err(panic_message(panic.as_ref())),
        }
    });
    Bridged {
        result,
        stopped: stop.get(),
    }
}

fn serve(cb: &mut dyn MiniDrvTransferCallback, rx: &Receiver<Request>) {
    while let Ok(req) = rx.recv() {
        match req {
            Request::NextStream(page, reply) => {
                let next = cb.get_next_stream(0, &page);
                // If the asker is gone the handle drops here: the page ends incomplete.
                let _ = reply.send(next);
            }
            Request::Message(p, reply) => {
                let _ = reply.send(cb.send_message(0, Some(&p)));
            }
            Request::Done => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppAdapter;
    use crate::pages::PageTemplate;
    use scanwire_core::device::{Completion, Encoding, PageData, Source};
    use scanwire_core::transfer::{CancelHandle, Recorder, Relay, Script, TransferOptions};

    fn template() -> PageTemplate {
        PageTemplate {
            source: Source::Feeder,
            data: PageData::Encoded(Encoding::Png),
            dpi: (300, 300),
        }
    }

    /// What WIA's service does during a download, against the application-side adapter.
    fn service(a: &mut AppAdapter, pages: &[&[u8]]) -> HResult {
        for data in pages {
            let s = match a.get_next_stream() {
                Ok(s) => s,
                Err(hr) if hr == wia::WIA_STATUS_SKIP_ITEM => continue,
                Err(hr) => return hr,
            };
            if let Err(hr) = s.write(data) {
                return hr;
            }
            let st = WiaTransferParams::status(100, data.len() as u64);
            let hr = a.transfer_callback(Some(&st));
            if hr != wia::S_OK {
                return hr;
            }
            let eos = WiaTransferParams::raw(
                wia::WIA_TRANSFER_MSG_END_OF_STREAM,
                100,
                data.len() as u64,
                wia::S_OK,
            );
            a.transfer_callback(Some(&eos));
        }
        wia::S_OK
    }

    fn run(
        script: Script,
        pages: &'static [&'static [u8]],
    ) -> (
        HResult,
        Bridged<HResult>,
        scanwire_core::transfer::Outcome,
        scanwire_core::transfer::Recording,
    ) {
        let (app, log) = Recorder::scripted(script);
        let cancel = CancelHandle::new();
        let mut relay = Relay::new(Box::new(app), cancel.clone(), &TransferOptions::strict());
        let bridged = bridge(&mut relay, |app| {
            let mut a = AppAdapter::new(app, template(), CancelHandle::new());
            let hr = service(&mut a, pages);
            a.end(hr);
            hr
        });
        let hr = *bridged.result.as_ref().unwrap();
        let acquired = match bridged.stopped {
            Some(wia::S_FALSE) => Ok(Completion::Cancelled),
            Some(e) => Err(scanwire_core::device::DeviceError::from_hresult(e, "")),
            None => crate::pages::acquire_result(hr),
        };
        let out = relay.finish(&acquired);
        (hr, bridged, out, log.snapshot())
    }

    #[test]
    fn pages_cross_the_bridge_complete_and_in_order() {
        let (hr, bridged, out, rec) = run(Script::default(), &[b"page-one", b"page-two"]);
        assert_eq!(hr, wia::S_OK);
        assert_eq!(bridged.stopped, None);
        assert_eq!(out.result, wia::S_OK, "{out:?}");
        assert_eq!(out.pages, 2);
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        rec.check_grammar().unwrap();
        assert_eq!(rec.pages[1].data, b"page-two");
        assert_eq!(rec.pages[1].info.number, 2);
    }

    #[test]
    fn an_application_cancel_reaches_the_download_as_s_false() {
        let (hr, bridged, out, rec) = run(
            Script {
                cancel_at_status: Some(1),
                ..Default::default()
            },
            &[b"a", b"b"],
        );
        assert_eq!(hr, wia::S_FALSE);
        assert_eq!(bridged.stopped, Some(wia::S_FALSE));
        assert_eq!(out.result, wia::S_FALSE);
        assert_eq!(out.pages, 0);
        rec.check_grammar().unwrap();
    }

    #[test]
    fn skip_and_errors_come_back_raw() {
        let (hr, _, out, rec) = run(
            Script {
                skip_pages: vec![1],
                fail_at_page: Some((3, wia::WIA_ERROR_DESTINATION)),
                ..Default::default()
            },
            &[b"a", b"b", b"c"],
        );
        assert_eq!(hr, wia::WIA_ERROR_DESTINATION);
        assert_eq!(out.result, wia::WIA_ERROR_DESTINATION);
        assert_eq!((out.pages, out.skipped), (1, 1));
        rec.check_grammar().unwrap();
    }

    #[test]
    fn device_status_goes_through_the_relay_chain() {
        let (app, log) = Recorder::scripted(Script {
            report_status: Some(wia::S_FALSE),
            ..Default::default()
        });
        let mut relay = Relay::new(
            Box::new(app),
            CancelHandle::new(),
            &TransferOptions::strict(),
        );
        let b = bridge(&mut relay, |app| {
            let mut a = AppAdapter::new(app, template(), CancelHandle::new());
            a.report_status(wia::WIA_STATUS_WARMING_UP, 10)
        });
        assert_eq!(b.result, Ok(wia::S_FALSE));
        assert_eq!(b.stopped, Some(wia::S_FALSE));
        relay.finish(&Ok(Completion::Cancelled));
        log.snapshot().check_grammar().unwrap();
    }

    #[test]
    fn a_panicking_download_is_reported_not_propagated() {
        let (app, _log) = Recorder::new();
        let mut relay = Relay::new(
            Box::new(app),
            CancelHandle::new(),
            &TransferOptions::default(),
        );
        let b: Bridged<()> = bridge(&mut relay, |_app| panic!("service exploded"));
        assert_eq!(b.result, Err("service exploded".to_string()));
    }

    #[test]
    fn calls_after_the_bridge_closed_answer_e_unexpected() {
        let (app, _log) = Recorder::new();
        let mut relay = Relay::new(
            Box::new(app),
            CancelHandle::new(),
            &TransferOptions::default(),
        );
        // The callback outlives the download (a service that keeps a reference).
        let b = bridge(&mut relay, |app| app);
        let mut leaked = b.result.unwrap();
        assert_eq!(
            leaked.transfer_callback(&WiaTransferParams::status(1, 0)),
            wia::E_UNEXPECTED
        );
        let page = template().page(1);
        assert!(matches!(
            leaked.get_next_stream(&page),
            AppStream::Fail(hr) if hr == wia::E_UNEXPECTED
        ));
    }
}
