//! The COM layer under test as COM code sees it: every call goes through the vtables (the
//! `raw` module), the way a WIA mini-driver or the WIA service calls. Runs on Windows and
//! under wine (`crates/com/run-wine-tests.sh`).
//!
//! Reference counts: every object a test obtains is released with `raw::release`, which
//! returns the count COM's `Release` reported; 0 means the object was destroyed, so nothing
//! leaked.
#![cfg(windows)]
// COM harness code: calls through raw pointers, each with a `// SAFETY:` line.
#![allow(unsafe_code)]

use scanwire_com::com::{self, app_callback, raw, relay_callback, AppSession, Session};
use scanwire_com::driver::{acquire_with, WiaDriver};
use scanwire_com::pages::{ItemNames, PageTemplate};
use scanwire_core::device::*;
use scanwire_core::transfer::{
    self, CancelHandle, CancelToken, DriverCallbackExt, MiniDrvTransferCallback, NextStream,
    Recorded, Recorder, RecordingHandle, Rule, Script, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use windows::Win32::Devices::ImageAcquisition as ia;
use windows::Win32::Devices::ImageAcquisition::{
    IEnumWIA_FORMAT_INFO, IWiaAppErrorHandler, IWiaMiniDrvTransferCallback, IWiaTransfer,
    IWiaTransferCallback, IWiaTransfer_Impl,
};
use windows::Win32::System::Com::{IStream, STREAM_SEEK_END, STREAM_SEEK_SET};
use windows_core::{implement, IUnknown, Interface, Ref, BSTR};

// ---------------------------------------------------------------------------------------------
// helpers

fn template() -> PageTemplate {
    PageTemplate {
        source: Source::Feeder,
        data: PageData::Encoded(Encoding::Png),
        dpi: (300, 300),
    }
}

fn names() -> (BSTR, BSTR) {
    (BSTR::from("Feeder"), BSTR::from("0000\\Root\\Feeder"))
}

fn session(script: Script) -> (IWiaMiniDrvTransferCallback, Session, RecordingHandle) {
    session_with(script, &TransferOptions::strict())
}

fn session_with(
    script: Script,
    opts: &TransferOptions,
) -> (IWiaMiniDrvTransferCallback, Session, RecordingHandle) {
    let (app, log) = Recorder::scripted(script);
    let (cb, s) = relay_callback(Box::new(app), CancelHandle::new(), opts, template());
    (cb, s, log)
}

/// Waits (up to 5 s) for the scripted service to be destroyed: after a cancel, the thread
/// that called `IWiaTransfer::Cancel` may hold its reference for a moment.
fn wait_destroyed(state: &ServiceState) -> bool {
    let start = Instant::now();
    while !state.destroyed.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    state.destroyed.load(Ordering::SeqCst)
}

/// `IStream::Seek(0, END)` then `Write`, as the sample drivers do; the raw HRESULT of Write.
fn append(s: &IStream, data: &[u8]) -> HResult {
    // SAFETY: live stream; null new-position pointer allowed.
    unsafe { s.Seek(0, STREAM_SEEK_END, None) }.unwrap();
    let mut written = 0u32;
    // SAFETY: `data` is readable for its length; `written` is a valid out-pointer.
    let hr = unsafe { s.Write(data.as_ptr().cast(), data.len() as u32, Some(&mut written)) };
    HResult(hr.0)
}

fn next_stream(cb: &IWiaMiniDrvTransferCallback) -> (HResult, Option<IStream>) {
    let (n, f) = names();
    raw::get_next_stream(cb, 0, &n, &f)
}

fn status(pct: i32, bytes: u64) -> WiaTransferParams {
    WiaTransferParams::status(pct, bytes)
}

// ---------------------------------------------------------------------------------------------
// WiaTransferParams

#[test]
fn wia_transfer_params_layout_matches_the_windows_crate() {
    type W = ia::WiaTransferParams;
    assert_eq!(size_of::<W>(), 24);
    assert_eq!(
        [
            offset_of!(W, lMessage),
            offset_of!(W, lPercentComplete),
            offset_of!(W, ulTransferredBytes),
            offset_of!(W, hrErrorStatus)
        ],
        [0, 4, 8, 16]
    );
    assert_eq!(size_of::<WiaTransferParams>(), size_of::<W>());
    assert_eq!(
        [
            offset_of!(WiaTransferParams, lMessage),
            offset_of!(WiaTransferParams, lPercentComplete),
            offset_of!(WiaTransferParams, ulTransferredBytes),
            offset_of!(WiaTransferParams, hrErrorStatus)
        ],
        [0, 4, 8, 16]
    );
    // The same bytes read as either type give the same fields.
    let w = W {
        lMessage: ia::WIA_TRANSFER_MSG_DEVICE_STATUS as i32,
        lPercentComplete: 42,
        ulTransferredBytes: 0x1122_3344_5566_7788,
        hrErrorStatus: ia::WIA_ERROR_COVER_OPEN,
    };
    // SAFETY: both are plain repr(C) structs of the same size and layout (asserted above).
    let c: WiaTransferParams = unsafe { std::mem::transmute(w) };
    assert_eq!(
        c,
        WiaTransferParams::raw(
            wia::WIA_TRANSFER_MSG_DEVICE_STATUS,
            42,
            0x1122_3344_5566_7788,
            wia::WIA_ERROR_COVER_OPEN
        )
    );
}

// ---------------------------------------------------------------------------------------------
// IWiaMiniDrvTransferCallback over a relay (COM code drives a Scanwire transfer)

#[test]
fn a_com_driver_delivers_two_pages_and_every_object_ends_at_zero() {
    let (cb, s, log) = session(Script::default());
    // Drivers reach the callback by QueryInterface (spec §1).
    let unknown: IUnknown = cb.cast().unwrap();
    let cb2: IWiaMiniDrvTransferCallback = unknown.cast().unwrap();
    assert_eq!(raw::release(unknown), 2, "cb and cb2 remain");
    for page in [b"first page".as_slice(), b"second"] {
        let (hr, stream) = next_stream(&cb2);
        assert_eq!(hr, wia::S_OK);
        let stream = stream.expect("S_OK comes with a stream");
        assert_eq!(append(&stream, &page[..3]), wia::S_OK);
        assert_eq!(append(&stream, &page[3..]), wia::S_OK);
        let p = status(100, page.len() as u64);
        assert_eq!(raw::send_message(&cb2, 0, Some(&p)), wia::S_OK);
        assert_eq!(
            raw::release(stream),
            0,
            "the driver's release destroys the stream"
        );
    }
    let out = s.finish(wia::S_OK);
    assert_eq!(out.result, wia::S_OK);
    assert_eq!(out.pages, 2);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].data, b"first page");
    assert_eq!(rec.pages[1].data, b"second");
    assert_eq!(raw::release(cb2), 1);
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn cancel_by_the_application_returns_s_false_raw_and_sticky() {
    // Lenient: this driver breaks S17 on purpose to show the sticky answer; strict mode would
    // (rightly) fail the transfer for it.
    let (cb, s, log) = session_with(
        Script {
            cancel_at_status: Some(1),
            ..Default::default()
        },
        &TransferOptions::default(),
    );
    let (_, stream) = next_stream(&cb);
    let stream = stream.unwrap();
    assert_eq!(append(&stream, b"abc"), wia::S_OK);
    let hr = raw::send_message(&cb, 0, Some(&status(50, 3)));
    assert_eq!(hr.as_u32(), 0x0000_0001, "S_FALSE, not folded into S_OK");
    assert_eq!(raw::release(stream), 0);
    // Sticky (statement 3): a driver that goes on anyway keeps getting S_FALSE.
    assert_eq!(
        raw::send_message(&cb, 0, Some(&status(60, 0))),
        wia::S_FALSE
    );
    let (hr, stream) = next_stream(&cb);
    assert_eq!(hr, wia::S_FALSE);
    assert!(stream.is_none());
    let out = s.finish(wia::S_FALSE);
    assert_eq!(out.result, wia::S_FALSE);
    assert!(out
        .violations
        .iter()
        .any(|v| v.rule == Rule::S17CallAfterStop));
    // The page released after the cancel is incomplete (the release rule).
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].closed, Some(wia::S_FALSE));
    assert_eq!(out.pages, 0);
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn iwiatransfer_cancel_from_another_thread_reaches_the_next_call() {
    let (cb, s, log) = session(Script::default());
    let (_, stream) = next_stream(&cb);
    let stream = stream.unwrap();
    let canceller = s.clone();
    std::thread::spawn(move || canceller.cancel())
        .join()
        .unwrap();
    assert_eq!(
        raw::send_message(&cb, 0, Some(&status(10, 0))),
        wia::S_FALSE
    );
    assert_eq!(raw::release(stream), 0);
    assert_eq!(s.finish(wia::S_FALSE).result, wia::S_FALSE);
    log.snapshot().check_grammar().unwrap();
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn skip_returns_0x00210009_with_no_stream_and_the_next_page_goes_on() {
    let (cb, s, log) = session(Script {
        skip_pages: vec![1],
        ..Default::default()
    });
    let (hr, stream) = next_stream(&cb);
    assert_eq!(hr.as_u32(), 0x0021_0009);
    assert!(stream.is_none());
    let (hr, stream) = next_stream(&cb);
    assert_eq!(hr, wia::S_OK);
    let stream = stream.unwrap();
    assert_eq!(append(&stream, b"p2"), wia::S_OK);
    assert_eq!(raw::release(stream), 0);
    let out = s.finish(wia::S_OK);
    assert_eq!((out.result, out.pages, out.skipped), (wia::S_OK, 1, 1));
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].info.number, 2);
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn null_params_pointer_is_e_pointer() {
    let (cb, s, _log) = session(Script::default());
    assert_eq!(raw::send_message(&cb, 0, None).as_u32(), 0x8000_4003);
    let out = s.finish(wia::S_OK);
    assert!(out.violations.iter().any(|v| v.rule == Rule::S09NullParams));
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn device_status_goes_to_the_error_handler_never_to_transfer_callback() {
    let (cb, s, log) = session(Script::default());
    // Unhandled error: comes back as itself (statement 7).
    let ds = WiaTransferParams::device_status(wia::WIA_ERROR_COVER_OPEN, 0);
    assert_eq!(
        raw::send_message(&cb, 0, Some(&ds)),
        wia::WIA_ERROR_COVER_OPEN
    );
    s.finish(wia::WIA_ERROR_COVER_OPEN);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert!(rec.events.iter().any(
        |e| matches!(e, Recorded::ReportStatus(hr, 0, _) if *hr == wia::WIA_ERROR_COVER_OPEN)
    ));
    assert!(rec
        .messages()
        .iter()
        .all(|m| m.lMessage != wia::WIA_TRANSFER_MSG_DEVICE_STATUS));
    assert_eq!(raw::release(cb), 0);

    // Unhandled information: S_OK; a handler's S_FALSE: S_FALSE (statement 8).
    let (cb, s, _log) = session(Script::default());
    let info = WiaTransferParams::device_status(wia::WIA_STATUS_WARMING_UP, 30);
    assert_eq!(raw::send_message(&cb, 0, Some(&info)), wia::S_OK);
    s.finish(wia::S_OK);
    assert_eq!(raw::release(cb), 0);
    let (cb, s, _log) = session(Script {
        report_status: Some(wia::S_FALSE),
        ..Default::default()
    });
    assert_eq!(raw::send_message(&cb, 0, Some(&info)), wia::S_FALSE);
    assert_eq!(s.finish(wia::S_FALSE).result, wia::S_FALSE);
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn the_generated_wrappers_would_lose_the_cancel() {
    // Why everything above calls through the vtable (spec §6).
    let (cb, s, _log) = session(Script::default());
    s.cancel();
    let p = status(0, 0);
    // SAFETY: live interface; valid params pointer.
    let wrapped = unsafe { cb.SendMessage(0, std::ptr::from_ref(&p).cast()) };
    assert!(wrapped.is_ok(), "HRESULT::ok() folds S_FALSE into Ok(())");
    assert_eq!(raw::send_message(&cb, 0, Some(&p)), wia::S_FALSE);
    s.finish(wia::S_FALSE);
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn a_failing_application_stream_fails_the_com_write_raw() {
    let (cb, s, log) = session(Script {
        sink_fails_after: Some((4, wia::WIA_ERROR_DESTINATION)),
        ..Default::default()
    });
    let (_, stream) = next_stream(&cb);
    let stream = stream.unwrap();
    assert_eq!(append(&stream, b"1234"), wia::S_OK);
    assert_eq!(append(&stream, b"5"), wia::WIA_ERROR_DESTINATION);
    // Reading the page back is not possible: it belongs to the application.
    let mut buf = [0u8; 4];
    let mut read = 7u32;
    // SAFETY: `buf` and `read` are valid for the call.
    let hr = unsafe { stream.Read(buf.as_mut_ptr().cast(), 4, Some(&mut read)) };
    assert_eq!(hr.0 as u32, 0x8003_0005);
    assert_eq!(read, 0);
    assert_eq!(raw::release(stream), 0);
    let out = s.finish(wia::WIA_ERROR_DESTINATION);
    assert_eq!(out.result, wia::WIA_ERROR_DESTINATION);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].closed, Some(wia::WIA_ERROR_DESTINATION));
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn seek_and_stat_on_the_driver_stream() {
    let (cb, s, _log) = session(Script::default());
    let (_, stream) = next_stream(&cb);
    let stream = stream.unwrap();
    assert_eq!(append(&stream, b"0123456789"), wia::S_OK);
    let mut pos = 0u64;
    // SAFETY: live stream; `pos` is a valid out-pointer.
    unsafe { stream.Seek(4, STREAM_SEEK_SET, Some(&mut pos)) }.unwrap();
    assert_eq!(pos, 4);
    // SAFETY: live stream.
    let past = unsafe { stream.Seek(11, STREAM_SEEK_SET, None) };
    assert!(past.is_err());
    let mut stat = Default::default();
    // SAFETY: `stat` is a valid out-pointer.
    unsafe { stream.Stat(&mut stat, windows::Win32::System::Com::STATFLAG_NONAME) }.unwrap();
    assert_eq!(stat.cbSize, 10);
    // A write away from the end is S21's breach: strict mode fails it.
    let mut n = 0u32;
    // SAFETY: valid buffer and out-pointer.
    let hr = unsafe { stream.Write(b"x".as_ptr().cast(), 1, Some(&mut n)) };
    assert!(hr.is_err());
    assert_eq!(raw::release(stream), 0);
    let out = s.finish(wia::S_OK);
    assert!(out.violations.iter().any(|v| v.rule == Rule::S21Append));
    assert_eq!(raw::release(cb), 0);
}

// ---------------------------------------------------------------------------------------------
// IWiaTransferCallback over application sinks (the WIA service calls Scanwire)

fn app(script: Script) -> (IWiaTransferCallback, AppSession, RecordingHandle) {
    let (rec, log) = Recorder::scripted(script);
    let (cb, s) = app_callback(Box::new(rec), template(), CancelHandle::new());
    (cb, s, log)
}

fn app_stream(cb: &IWiaTransferCallback) -> (HResult, Option<IStream>) {
    let (n, f) = names();
    raw::app_get_next_stream(cb, 0, &n, &f)
}

fn end_of_stream(bytes: u64) -> WiaTransferParams {
    WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_STREAM, 100, bytes, wia::S_OK)
}

fn end_of_transfer(hr: HResult) -> WiaTransferParams {
    WiaTransferParams::raw(wia::WIA_TRANSFER_MSG_END_OF_TRANSFER, 100, 0, hr)
}

#[test]
fn the_message_grammar_as_seen_by_a_com_iwiatransfercallback() {
    let (cb, s, log) = app(Script::default());
    for (i, page) in [b"alpha".as_slice(), b"beta"].iter().enumerate() {
        let (hr, stream) = app_stream(&cb);
        assert_eq!(hr, wia::S_OK);
        let stream = stream.unwrap();
        assert_eq!(append(&stream, page), wia::S_OK);
        let st = status(100, page.len() as u64);
        assert_eq!(raw::transfer_callback(&cb, 0, Some(&st)), wia::S_OK);
        if i == 0 {
            // NEW_PAGE passes through to the application unchanged.
            let np = WiaTransferParams::new_page(page.len() as u64);
            assert_eq!(raw::transfer_callback(&cb, 0, Some(&np)), wia::S_OK);
        }
        assert_eq!(
            raw::release(stream),
            0,
            "the COM stream goes; the page stays open until END_OF_STREAM"
        );
        let eos = end_of_stream(page.len() as u64);
        assert_eq!(raw::transfer_callback(&cb, 0, Some(&eos)), wia::S_OK);
    }
    // The proxy's DEVICE_STATUS chain: IWiaAppErrorHandler on the same object.
    let handler: IWiaAppErrorHandler = cb.cast().unwrap();
    let hr = raw::report_status(&handler, 0, None, wia::WIA_STATUS_WARMING_UP, 20);
    assert_eq!(hr, wia::WIA_STATUS_NOT_HANDLED, "the recorder passes it on");
    let (hr, hwnd) = raw::get_window(&handler);
    assert_eq!((hr, hwnd.0.is_null()), (wia::S_OK, true));
    assert_eq!(raw::release(handler), 1);
    assert_eq!(
        raw::transfer_callback(&cb, 0, Some(&end_of_transfer(wia::S_OK))),
        wia::S_OK
    );
    assert!(s.is_ended());
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.complete_pages().len(), 2);
    assert_eq!(rec.pages[1].data, b"beta");
    let kinds: Vec<i32> = rec.messages().iter().map(|m| m.lMessage).collect();
    assert_eq!(kinds, vec![1, 6, 2, 1, 2, 3]);
    assert!(rec.events.iter().any(
        |e| matches!(e, Recorded::ReportStatus(hr, 20, _) if *hr == wia::WIA_STATUS_WARMING_UP)
    ));
    assert_eq!(raw::release(cb), 0);
}

#[test]
fn the_com_iwiatransfercallback_answers_cancel_skip_and_null_raw() {
    let (cb, _s, log) = app(Script {
        skip_pages: vec![1],
        cancel_at_status: Some(1),
        ..Default::default()
    });
    assert_eq!(raw::transfer_callback(&cb, 0, None).as_u32(), 0x8000_4003);
    let (hr, stream) = app_stream(&cb);
    assert_eq!((hr.as_u32(), stream.is_none()), (0x0021_0009, true));
    let (hr, stream) = app_stream(&cb);
    assert_eq!(hr, wia::S_OK);
    let stream = stream.unwrap();
    assert_eq!(append(&stream, b"x"), wia::S_OK);
    assert_eq!(
        raw::transfer_callback(&cb, 0, Some(&status(5, 1))).as_u32(),
        0x0000_0001
    );
    // DEVICE_STATUS passed to TransferCallback by mistake still goes to the handler.
    let ds = WiaTransferParams::device_status(wia::WIA_ERROR_PAPER_JAM, 0);
    assert_eq!(
        raw::transfer_callback(&cb, 0, Some(&ds)),
        wia::WIA_ERROR_PAPER_JAM
    );
    assert_eq!(raw::release(stream), 0);
    assert_eq!(
        raw::transfer_callback(&cb, 0, Some(&end_of_transfer(wia::S_FALSE))),
        wia::S_OK
    );
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].closed, Some(wia::S_FALSE));
    assert_eq!(raw::release(cb), 0);
}

// ---------------------------------------------------------------------------------------------
// The other direction: a Scanwire driver inside a WIA mini-driver (foreign callback)

/// A Scanwire driver: `pages` pages of 6 bytes, two bands each.
struct TwoBandDevice {
    pages: u32,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Device for TwoBandDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "test".into(),
            vendor: "".into(),
            model: "two-band".into(),
            driver: "test",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(Capabilities {
            model: "two-band".into(),
            sources: vec![SourceCaps {
                source: Source::Feeder,
                modes: vec![ColorMode::Gray],
                resolutions: Resolutions::Discrete(vec![300]),
                max_area: Area::sized(Length::mm(210), Length::mm(297)),
                min_size: (Length(1), Length(1)),
                encodings: vec![Encoding::Png],
                raw: false,
                feeder_capacity: None,
            }],
            processing: Default::default(),
        })
    }

    fn acquire(
        &mut self,
        _r: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        _c: &CancelToken,
    ) -> AcquireResult {
        let t = template();
        for n in 1..=self.pages {
            let mut s = match cb.get_next_stream(0, &t.page(n)) {
                NextStream::Stream(s) => s,
                NextStream::Skip => {
                    self.seen.lock().unwrap().push(format!("skip {n}"));
                    continue;
                }
                NextStream::Cancelled => {
                    self.seen.lock().unwrap().push(format!("cancelled at {n}"));
                    return Ok(Completion::Cancelled);
                }
                NextStream::Failed(hr) => return Err(DeviceError::from_hresult(hr, "")),
            };
            for band in [b"abc", b"def"] {
                s.write(band)
                    .map_err(|hr| DeviceError::from_hresult(hr, ""))?;
                match cb.progress(50, s.bytes_written()) {
                    Ok(transfer::Flow::Continue) => {}
                    Ok(transfer::Flow::Cancelled) => {
                        self.seen
                            .lock()
                            .unwrap()
                            .push(format!("S_FALSE on page {n}"));
                        return Ok(Completion::Cancelled);
                    }
                    Err(hr) => return Err(DeviceError::from_hresult(hr, "")),
                }
            }
            s.finish();
        }
        Ok(Completion::Done)
    }
}

#[test]
fn a_scanwire_driver_runs_against_a_foreign_minidriver_callback() {
    // The "WIA service" is a COM IWiaMiniDrvTransferCallback (ours, over a strict relay that
    // would flag any END_OF_* a driver sent, S11).
    let (service, s, log) = session(Script {
        skip_pages: vec![2],
        ..Default::default()
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut dev = TwoBandDevice {
        pages: 3,
        seen: seen.clone(),
    };
    let out = com::acquire_into(
        &mut dev,
        &ScanRequest::default(),
        service.clone(),
        ItemNames::under_root("Feeder"),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!(out.result, wia::S_OK, "{out:?}");
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    assert_eq!(*seen.lock().unwrap(), vec!["skip 2".to_string()]);
    let service_out = s.finish(out.result);
    assert!(
        service_out.violations.is_empty(),
        "{:?}",
        service_out.violations
    );
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    assert_eq!(rec.complete_pages().len(), 2);
    assert_eq!(rec.pages[1].data, b"abcdef");
    assert_eq!(raw::release(service), 0);
}

#[test]
fn a_foreign_cancel_reaches_the_scanwire_driver_as_s_false() {
    let (service, s, _log) = session(Script {
        cancel_at_status: Some(3),
        ..Default::default()
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut dev = TwoBandDevice {
        pages: 3,
        seen: seen.clone(),
    };
    let out = com::acquire_into(
        &mut dev,
        &ScanRequest::default(),
        service.clone(),
        ItemNames::under_root("Feeder"),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!(out.result, wia::S_FALSE);
    assert_eq!(*seen.lock().unwrap(), vec!["S_FALSE on page 2".to_string()]);
    assert_eq!(s.finish(out.result).result, wia::S_FALSE);
    assert_eq!(raw::release(service), 0);
}

// ---------------------------------------------------------------------------------------------
// The wia: driver

#[test]
fn listing_wia_devices_without_a_wia_service_is_a_clear_error() {
    use scanwire_core::device::Driver;
    // Wine has no WIA 2.0 device manager; on Windows this lists the scanners.
    match WiaDriver.devices() {
        Ok(devices) => {
            for d in devices {
                assert!(d.id.starts_with("wia:"), "{d:?}");
            }
        }
        Err(e) => {
            eprintln!("wia: devices: {e} ({:?})", e.kind());
            assert!(
                e.detail()
                    .contains("connecting to the WIA 2.0 service failed"),
                "{e}"
            );
        }
    }
    let e = WiaDriver.open("escl:http://127.0.0.1").err().unwrap();
    assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
}

/// What the scripted service does and saw.
#[derive(Default)]
struct ServiceState {
    cancel_calls: AtomicU32,
    destroyed: AtomicBool,
    /// Wait for Cancel after this many pages instead of going on.
    hold_after: Option<usize>,
    /// Send this DEVICE_STATUS through the application's IWiaAppErrorHandler first.
    device_status: Option<HResult>,
    answers: Mutex<Vec<HResult>>,
    /// What `Release` returned for each page stream the service let go of (0: destroyed).
    stream_releases: Mutex<Vec<u32>>,
    /// References to the application's callback besides the caller's, at the end of Download.
    callback_refs_at_end: Mutex<Option<u32>>,
}

/// A scripted WIA service behind `IWiaTransfer`: what `Download` does on Windows, as far as
/// the application's callback can tell (spec §1).
#[implement(IWiaTransfer)]
struct ScriptedService {
    pages: Vec<Vec<u8>>,
    state: Arc<ServiceState>,
}

impl Drop for ScriptedService {
    fn drop(&mut self) {
        self.state.destroyed.store(true, Ordering::SeqCst);
    }
}

impl ScriptedService {
    fn note(&self, hr: HResult) -> HResult {
        self.state.answers.lock().unwrap().push(hr);
        hr
    }

    fn run(&self, cb: &IWiaTransferCallback) -> HResult {
        if let Some(st) = self.state.device_status {
            let h: IWiaAppErrorHandler = cb.cast().unwrap();
            let r = self.note(raw::report_status(&h, 0, None, st, 50));
            if r == wia::S_FALSE || r.is_failure() {
                return r;
            }
        }
        for (i, page) in self.pages.iter().enumerate() {
            if self.state.cancel_calls.load(Ordering::SeqCst) > 0 {
                return wia::S_FALSE;
            }
            let (n, f) = names();
            let (hr, stream) = raw::app_get_next_stream(cb, 0, &n, &f);
            self.note(hr);
            match (hr, stream) {
                (wia::S_OK, Some(s)) => {
                    let mut written = 0u64;
                    for band in page.chunks(4) {
                        let w = append(&s, band);
                        if w != wia::S_OK {
                            return w;
                        }
                        written += band.len() as u64;
                        let pct = (written * 100 / page.len() as u64) as i32;
                        let r =
                            self.note(raw::transfer_callback(cb, 0, Some(&status(pct, written))));
                        if r != wia::S_OK {
                            return r;
                        }
                    }
                    self.state
                        .stream_releases
                        .lock()
                        .unwrap()
                        .push(raw::release(s));
                    raw::transfer_callback(cb, 0, Some(&end_of_stream(written)));
                }
                (wia::WIA_STATUS_SKIP_ITEM, _) => continue,
                (hr, _) => return hr,
            }
            if self.state.hold_after == Some(i + 1) {
                let start = Instant::now();
                while self.state.cancel_calls.load(Ordering::SeqCst) == 0 {
                    if start.elapsed() > Duration::from_secs(20) {
                        return wia::HRESULT_TIMEOUT;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                return wia::S_FALSE;
            }
        }
        wia::S_OK
    }
}

impl IWiaTransfer_Impl for ScriptedService_Impl {
    fn Download(&self, _lflags: i32, cb: Ref<IWiaTransferCallback>) -> windows_core::Result<()> {
        let cb = cb.ok()?;
        let hr = self.run(cb);
        raw::transfer_callback(cb, 0, Some(&end_of_transfer(hr)));
        *self.state.callback_refs_at_end.lock().unwrap() = Some(raw::other_references(cb));
        com::com_result(hr)
    }

    fn Upload(
        &self,
        _lflags: i32,
        _s: Ref<IStream>,
        _cb: Ref<IWiaTransferCallback>,
    ) -> windows_core::Result<()> {
        com::com_result(scanwire_com::pages::E_NOTIMPL)
    }

    fn Cancel(&self) -> windows_core::Result<()> {
        self.state.cancel_calls.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn EnumWIA_FORMAT_INFO(&self) -> windows_core::Result<IEnumWIA_FORMAT_INFO> {
        Err(windows_core::Error::from_hresult(com::to_hresult(
            scanwire_com::pages::E_NOTIMPL,
        )))
    }
}

/// A `wia:` device whose item is the scripted service.
struct ScriptedWiaDevice {
    pages: Vec<Vec<u8>>,
    state: Arc<ServiceState>,
}

impl Device for ScriptedWiaDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "wia:scripted".into(),
            vendor: "".into(),
            model: "scripted".into(),
            driver: "wia",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        TwoBandDevice {
            pages: 0,
            seen: Default::default(),
        }
        .capabilities()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        let pages = self.pages.clone();
        let state = self.state.clone();
        let template = PageTemplate::for_request(request, PageData::Encoded(Encoding::Png));
        acquire_with(cb, cancel, template, move || {
            Ok(ScriptedService { pages, state }.into())
        })
    }
}

fn feeder_request() -> ScanRequest {
    ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        ..Default::default()
    }
}

fn run_scripted(
    pages: &[&[u8]],
    state: Arc<ServiceState>,
    script: Script,
    cancel: &CancelHandle,
) -> (transfer::Outcome, transfer::Recording) {
    let device = transfer::share(Box::new(ScriptedWiaDevice {
        pages: pages.iter().map(|p| p.to_vec()).collect(),
        state,
    }));
    let (app, log) = Recorder::scripted(script);
    let out = transfer::run(
        &device,
        &feeder_request(),
        Box::new(app),
        cancel,
        &TransferOptions::strict(),
    );
    (out, log.snapshot())
}

#[test]
fn the_wia_driver_downloads_through_iwiatransfer_with_its_com_callback() {
    let state = Arc::new(ServiceState {
        device_status: Some(wia::WIA_STATUS_WARMING_UP),
        ..Default::default()
    });
    let (out, rec) = run_scripted(
        &[b"first page bytes", b"second"],
        state.clone(),
        Script::default(),
        &CancelHandle::new(),
    );
    assert_eq!(out.result, wia::S_OK, "{out:?}");
    assert_eq!(out.pages, 2);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    rec.check_grammar().unwrap();
    assert_eq!(rec.pages[0].data, b"first page bytes");
    assert_eq!(rec.pages[1].info.number, 2);
    // DEVICE_STATUS went through IWiaAppErrorHandler to the application's report_status.
    assert!(rec.events.iter().any(
        |e| matches!(e, Recorded::ReportStatus(hr, 50, _) if *hr == wia::WIA_STATUS_WARMING_UP)
    ));
    assert!(
        state.destroyed.load(Ordering::SeqCst),
        "the service object was released"
    );
    assert_eq!(*state.stream_releases.lock().unwrap(), vec![0, 0]);
    assert_eq!(
        *state.callback_refs_at_end.lock().unwrap(),
        Some(0),
        "only the driver's own reference to its callback"
    );
}

#[test]
fn an_application_cancel_reaches_the_wia_service_as_s_false() {
    let state = Arc::new(ServiceState::default());
    let (out, rec) = run_scripted(
        &[b"0123456789", b"abcdefgh"],
        state.clone(),
        Script {
            cancel_at_status: Some(2),
            ..Default::default()
        },
        &CancelHandle::new(),
    );
    assert_eq!(out.result, wia::S_FALSE, "{out:?}");
    rec.check_grammar().unwrap();
    let answers = state.answers.lock().unwrap().clone();
    assert_eq!(answers.last(), Some(&wia::S_FALSE), "{answers:?}");
    assert_eq!(out.pages, 0);
    // The relay's cancel also fired the driver's hook: IWiaTransfer::Cancel was called.
    assert!(wait_destroyed(&state), "the service object was released");
    assert_eq!(state.cancel_calls.load(Ordering::SeqCst), 1);
}

#[test]
fn cancel_calls_iwiatransfer_cancel_while_the_device_is_silent() {
    let state = Arc::new(ServiceState {
        hold_after: Some(1),
        ..Default::default()
    });
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    let watcher = state.clone();
    // Cancel once the first page is done and the service has gone quiet.
    let canceller = std::thread::spawn(move || {
        let start = Instant::now();
        while watcher.answers.lock().unwrap().len() < 3 && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        c2.cancel();
    });
    let (out, rec) = run_scripted(
        &[b"abcdefgh", b"never"],
        state.clone(),
        Script::default(),
        &cancel,
    );
    canceller.join().unwrap();
    assert_eq!(out.result, wia::S_FALSE, "{out:?}");
    assert_eq!(state.cancel_calls.load(Ordering::SeqCst), 1);
    assert_eq!(out.pages, 1, "the page before the cancel was complete");
    rec.check_grammar().unwrap();
    assert!(wait_destroyed(&state), "the service object was released");
}

#[test]
fn a_service_failure_maps_through_errors_rs() {
    let state = Arc::new(ServiceState {
        device_status: Some(wia::WIA_ERROR_PAPER_JAM),
        ..Default::default()
    });
    let (out, rec) = run_scripted(&[b"x"], state, Script::default(), &CancelHandle::new());
    assert_eq!(out.result, wia::WIA_ERROR_PAPER_JAM);
    let e = out.error.expect("an error");
    assert_eq!(e.kind(), DeviceErrorKind::PaperJam);
    rec.check_grammar().unwrap();
}
