//! One test per conformance statement of `spec/wia-transfer.md` §5, named after it. Each test
//! plays the driver by hand against a [`Relay`] and looks at what the application saw.

use scanwire_core::device::*;
use scanwire_core::transfer::*;
use scanwire_core::wia::*;

fn page(n: u32) -> PageInfo {
    PageInfo {
        number: n,
        sheet: n,
        side: Side::Front,
        source: Source::Feeder,
        data: PageData::Raster {
            pixel: PixelFormat::Gray8,
            width: 4,
            height: Some(2),
        },
        dpi: (300, 300),
    }
}

struct Setup {
    relay: Relay,
    log: RecordingHandle,
    cancel: CancelHandle,
}

fn setup_with(script: Script, opts: TransferOptions) -> Setup {
    let (app, log) = Recorder::scripted(script);
    let cancel = CancelHandle::new();
    let relay = Relay::new(Box::new(app), cancel.clone(), &opts);
    Setup { relay, log, cancel }
}

fn lenient(script: Script) -> Setup {
    setup_with(script, TransferOptions::default())
}

fn strict(script: Script) -> Setup {
    setup_with(script, TransferOptions::strict())
}

fn stream(r: &mut Relay, n: u32) -> StreamHandle {
    match r.get_next_stream(0, &page(n)) {
        NextStream::Stream(s) => s,
        other => panic!("expected a stream for page {n}, got {other:?}"),
    }
}

/// Writes one 8-byte page with a STATUS after each 4-byte band; returns the answers.
fn write_page(r: &mut Relay, s: &mut StreamHandle) -> Vec<HResult> {
    let mut answers = Vec::new();
    for (i, band) in [[1u8; 4], [2u8; 4]].iter().enumerate() {
        s.write(band).unwrap();
        answers.push(r.send_message(
            0,
            Some(&WiaTransferParams::status(
                50 * (i as i32 + 1),
                4 * (i as u64 + 1),
            )),
        ));
    }
    answers
}

fn rules(o: &Outcome) -> Vec<Rule> {
    o.violations.iter().map(|v| v.rule).collect()
}

fn status(pct: i32, bytes: u64) -> WiaTransferParams {
    WiaTransferParams::status(pct, bytes)
}

#[test]
fn s01_send_message_returns_ok_false_or_the_error() {
    let mut t = lenient(Script::default());
    let mut s = stream(&mut t.relay, 1);
    assert_eq!(write_page(&mut t.relay, &mut s), vec![S_OK, S_OK]);
    s.finish();
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, S_OK);

    let mut t = lenient(Script {
        cancel_at_status: Some(1),
        ..Default::default()
    });
    let _s = stream(&mut t.relay, 1);
    assert_eq!(t.relay.send_message(0, Some(&status(0, 0))), S_FALSE);

    let mut t = lenient(Script {
        fail_at_status: Some((1, WIA_ERROR_DESTINATION)),
        ..Default::default()
    });
    let _s = stream(&mut t.relay, 1);
    assert_eq!(
        t.relay.send_message(0, Some(&status(0, 0))),
        WIA_ERROR_DESTINATION
    );
}

#[test]
fn s02_lflags_is_accepted_and_the_strict_verifier_flags_it() {
    let mut t = lenient(Script::default());
    let mut s = match t.relay.get_next_stream(7, &page(1)) {
        NextStream::Stream(s) => s,
        other => panic!("{other:?}"),
    };
    s.write(&[0; 4]).unwrap();
    assert_eq!(t.relay.send_message(0x10, Some(&status(50, 4))), S_OK);
    s.finish();
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, S_OK);
    assert_eq!(o.pages, 1);
    assert_eq!(rules(&o), vec![Rule::S02Flags, Rule::S02Flags]);

    let mut t = strict(Script::default());
    let _s = stream(&mut t.relay, 1);
    assert_eq!(
        t.relay.send_message(1, Some(&status(0, 0))),
        WIA_ERROR_INVALID_DRIVER_RESPONSE
    );
    let o = t.relay.finish(&Err(DeviceError::from_hresult(
        WIA_ERROR_INVALID_DRIVER_RESPONSE,
        "",
    )));
    assert_eq!(o.result, WIA_ERROR_INVALID_DRIVER_RESPONSE);
    assert!(o.error.unwrap().to_string().contains("S2"));
}

#[test]
fn s03_after_cancel_every_call_returns_s_false() {
    let mut t = lenient(Script::default());
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    t.cancel.cancel();
    assert_eq!(t.relay.send_message(0, Some(&status(50, 4))), S_FALSE);
    // A driver that keeps calling (breaking S17) keeps getting S_FALSE.
    for _ in 0..3 {
        assert_eq!(t.relay.send_message(0, Some(&status(50, 4))), S_FALSE);
        assert_eq!(
            t.relay.send_message(
                0,
                Some(&WiaTransferParams::device_status(WIA_STATUS_WARMING_UP, 0))
            ),
            S_FALSE
        );
        assert_eq!(t.relay.get_next_stream(0, &page(2)).hresult(), S_FALSE);
    }
    drop(s);
    let o = t.relay.finish(&Ok(Completion::Cancelled));
    assert_eq!(o.result, S_FALSE);
    assert!(rules(&o).iter().all(|r| *r == Rule::S17CallAfterStop));
}

#[test]
fn s04_application_s_false_for_status_comes_back_as_s_false() {
    let mut t = lenient(Script {
        cancel_at_status: Some(2),
        ..Default::default()
    });
    let mut s = stream(&mut t.relay, 1);
    assert_eq!(write_page(&mut t.relay, &mut s), vec![S_OK, S_FALSE]);
    drop(s);
    let o = t.relay.finish(&Ok(Completion::Cancelled));
    assert_eq!(o.result, S_FALSE);
    assert!(o.violations.is_empty());
    let rec = t.log.snapshot();
    assert_eq!(
        rec.pages[0].closed,
        Some(S_FALSE),
        "the partial page is discarded"
    );
    rec.check_grammar().unwrap();
}

#[test]
fn s05_cancel_is_sticky_whatever_started_it() {
    // Started by the application's S_FALSE to STATUS.
    let mut t = lenient(Script {
        cancel_at_status: Some(1),
        ..Default::default()
    });
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    assert_eq!(t.relay.send_message(0, Some(&status(50, 4))), S_FALSE);
    assert!(t.cancel.is_cancelled());
    assert_eq!(t.relay.get_next_stream(0, &page(2)).hresult(), S_FALSE);

    // Started by the application's S_FALSE to GetNextStream.
    let mut t = lenient(Script {
        cancel_at_page: Some(1),
        ..Default::default()
    });
    assert_eq!(t.relay.get_next_stream(0, &page(1)).hresult(), S_FALSE);
    assert!(t.cancel.is_cancelled());
    assert_eq!(t.relay.send_message(0, Some(&status(0, 0))), S_FALSE);

    // Started by an error handler's S_FALSE.
    let mut t = lenient(Script {
        report_status: Some(S_FALSE),
        ..Default::default()
    });
    assert_eq!(
        t.relay.send_message(
            0,
            Some(&WiaTransferParams::device_status(WIA_STATUS_WARMING_UP, 10))
        ),
        S_FALSE
    );
    assert!(t.cancel.is_cancelled());
    assert_eq!(t.relay.get_next_stream(0, &page(1)).hresult(), S_FALSE);
}

#[test]
fn s06_device_status_goes_to_the_handlers_never_to_transfer_callback() {
    let mut t = lenient(Script {
        report_status: Some(S_OK),
        ..Default::default()
    });
    assert_eq!(
        t.relay.send_message(
            0,
            Some(&WiaTransferParams::device_status(WIA_STATUS_WARMING_UP, 30))
        ),
        S_OK
    );
    t.relay.finish(&Ok(Completion::Done));
    let rec = t.log.snapshot();
    assert!(rec
        .events
        .contains(&Recorded::ReportStatus(WIA_STATUS_WARMING_UP, 30, S_OK)));
    assert!(rec
        .messages()
        .iter()
        .all(|m| m.lMessage != WIA_TRANSFER_MSG_DEVICE_STATUS));
    rec.check_grammar().unwrap();
}

#[test]
fn s07_unhandled_device_status_returns_the_error_or_s_ok() {
    let mut t = lenient(Script::default());
    assert_eq!(
        t.relay.send_message(
            0,
            Some(&WiaTransferParams::device_status(WIA_STATUS_CALIBRATING, 0))
        ),
        S_OK
    );
    assert_eq!(
        t.relay.send_message(
            0,
            Some(&WiaTransferParams::device_status(WIA_ERROR_PAPER_JAM, 0))
        ),
        WIA_ERROR_PAPER_JAM
    );
    let o = t.relay.finish(&Err(DeviceError::new(
        DeviceErrorKind::PaperJam,
        "jam at page 1",
    )));
    assert_eq!(o.result, WIA_ERROR_PAPER_JAM);
    assert_eq!(o.error.unwrap().detail(), "jam at page 1");
}

struct Ext(HResult, std::sync::Arc<std::sync::Mutex<Vec<HResult>>>);
impl ErrorHandler for Ext {
    fn report_status(&mut self, status: HResult, _percent: i32) -> HResult {
        self.1.lock().unwrap().push(status);
        self.0
    }
}

#[test]
fn s08_a_handler_s_false_cancels() {
    // The application's handler passes, the driver extension's handler cancels.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (app, log) = Recorder::new();
    let cancel = CancelHandle::new();
    let mut relay = Relay::new(Box::new(app), cancel.clone(), &TransferOptions::default())
        .with_error_handler(Box::new(Ext(S_FALSE, seen.clone())));
    assert_eq!(
        relay.send_message(
            0,
            Some(&WiaTransferParams::device_status(WIA_ERROR_COVER_OPEN, 0))
        ),
        S_FALSE
    );
    assert!(cancel.is_cancelled());
    assert_eq!(*seen.lock().unwrap(), vec![WIA_ERROR_COVER_OPEN]);
    let o = relay.finish(&Ok(Completion::Cancelled));
    assert_eq!(o.result, S_FALSE);
    let rec = log.snapshot();
    assert!(rec.events.contains(&Recorded::ReportStatus(
        WIA_ERROR_COVER_OPEN,
        0,
        WIA_STATUS_NOT_HANDLED
    )));
}

#[test]
fn s09_null_params_get_e_pointer() {
    let mut t = lenient(Script::default());
    assert_eq!(t.relay.send_message(0, None), E_POINTER);
    let o = t
        .relay
        .finish(&Err(DeviceError::from_hresult(E_POINTER, "")));
    assert_eq!(rules(&o), vec![Rule::S09NullParams]);
}

#[test]
fn s10_status_and_new_page_reach_the_application_unchanged() {
    let mut t = setup_with(
        Script::default(),
        TransferOptions {
            tymed: Tymed::MultipageFile,
            ..TransferOptions::strict()
        },
    );
    let mut s = stream(&mut t.relay, 1);
    let mut sent = Vec::new();
    for i in 0..3u64 {
        let np = WiaTransferParams::new_page(i * 4);
        assert_eq!(t.relay.send_message(0, Some(&np)), S_OK);
        sent.push(np);
        s.write(&[i as u8; 4]).unwrap();
        let st = status(((i + 1) * 33) as i32, (i + 1) * 4);
        assert_eq!(t.relay.send_message(0, Some(&st)), S_OK);
        sent.push(st);
    }
    s.finish();
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, S_OK, "{:?}", o.violations);
    let got: Vec<_> = t
        .log
        .snapshot()
        .messages()
        .into_iter()
        .filter(|m| {
            matches!(
                m.lMessage,
                WIA_TRANSFER_MSG_STATUS | WIA_TRANSFER_MSG_NEW_PAGE
            )
        })
        .collect();
    assert_eq!(got, sent);
}

#[test]
fn s11_drivers_sending_end_of_messages_are_refused_and_flagged() {
    let mut t = lenient(Script::default());
    let eos = WiaTransferParams::raw(WIA_TRANSFER_MSG_END_OF_STREAM, 100, 0, S_OK);
    let eot = WiaTransferParams::raw(WIA_TRANSFER_MSG_END_OF_TRANSFER, 100, 0, S_OK);
    assert_eq!(t.relay.send_message(0, Some(&eos)), E_UNEXPECTED);
    assert_eq!(t.relay.send_message(0, Some(&eot)), E_UNEXPECTED);
    t.cancel.cancel();
    assert_eq!(t.relay.send_message(0, Some(&eos)), S_FALSE);
    let o = t.relay.finish(&Ok(Completion::Cancelled));
    let r = rules(&o);
    assert_eq!(
        &r[..2],
        &[Rule::S11ServiceOnlyMessage, Rule::S11ServiceOnlyMessage]
    );
    // Only the relay's own END_OF_TRANSFER reached the application.
    let msgs = t.log.snapshot().messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].lMessage, WIA_TRANSFER_MSG_END_OF_TRANSFER);

    let mut t = strict(Script::default());
    assert_eq!(
        t.relay.send_message(0, Some(&eos)),
        WIA_ERROR_INVALID_DRIVER_RESPONSE
    );
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, WIA_ERROR_INVALID_DRIVER_RESPONSE);
    assert!(o.error.unwrap().detail().contains("S11"));
}

#[test]
fn s12_get_next_stream_answers_stream_skip_or_s_false() {
    let mut t = lenient(Script {
        skip_pages: vec![2],
        cancel_at_page: Some(3),
        ..Default::default()
    });
    let s = t.relay.get_next_stream(0, &page(1));
    assert_eq!(s.hresult(), S_OK);
    assert!(matches!(s, NextStream::Stream(_)));
    drop(s);
    let s = t.relay.get_next_stream(0, &page(2));
    assert_eq!(s.hresult().as_u32(), 0x0021_0009);
    assert!(matches!(s, NextStream::Skip));
    let s = t.relay.get_next_stream(0, &page(3));
    assert_eq!(s.hresult(), S_FALSE);
    assert!(matches!(s, NextStream::Cancelled));
}

#[test]
fn s13_end_of_stream_precedes_the_next_stream() {
    let mut t = strict(Script::default());
    for n in 1..=3 {
        let mut s = stream(&mut t.relay, n);
        write_page(&mut t.relay, &mut s);
        s.finish();
    }
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, S_OK, "{:?}", o.violations);
    let rec = t.log.snapshot();
    rec.check_grammar().unwrap();
    let order: Vec<String> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Recorded::GetNextStream(p, _) => Some(format!("GNS{}", p.number)),
            Recorded::Message(m) if m.lMessage == WIA_TRANSFER_MSG_END_OF_STREAM => {
                Some("EOS".into())
            }
            Recorded::Message(m) if m.lMessage == WIA_TRANSFER_MSG_END_OF_TRANSFER => {
                Some("EOT".into())
            }
            _ => None,
        })
        .collect();
    assert_eq!(order, ["GNS1", "EOS", "GNS2", "EOS", "GNS3", "EOS", "EOT"]);
    assert_eq!(o.pages, 3);
    assert!(rec.pages.iter().all(|p| p.data == [1, 1, 1, 1, 2, 2, 2, 2]));
}

#[test]
fn s14_end_of_transfer_once_after_the_last_end_of_stream_even_after_errors() {
    for result in [
        Ok(Completion::Done),
        Ok(Completion::Cancelled),
        Err(DeviceError::new(DeviceErrorKind::PaperJam, "")),
    ] {
        let mut t = lenient(Script::default());
        let mut s = stream(&mut t.relay, 1);
        s.write(&[0; 4]).unwrap();
        if result == Ok(Completion::Cancelled) {
            t.cancel.cancel();
        }
        drop(s);
        let o1 = t.relay.finish(&result);
        let o2 = t.relay.finish(&result);
        assert_eq!(o1, o2);
        let rec = t.log.snapshot();
        rec.check_grammar().unwrap();
        let eots: Vec<_> = rec
            .messages()
            .into_iter()
            .filter(|m| m.lMessage == WIA_TRANSFER_MSG_END_OF_TRANSFER)
            .collect();
        assert_eq!(eots.len(), 1);
        assert_eq!(eots[0].hrErrorStatus, o1.result);
        let last_two: Vec<i32> = rec
            .messages()
            .iter()
            .rev()
            .take(2)
            .map(|m| m.lMessage)
            .collect();
        assert_eq!(
            last_two,
            [
                WIA_TRANSFER_MSG_END_OF_TRANSFER,
                WIA_TRANSFER_MSG_END_OF_STREAM
            ]
        );
    }
}

#[test]
fn s15_percent_outside_0_to_100_is_a_violation() {
    let mut t = lenient(Script::default());
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    assert_eq!(t.relay.send_message(0, Some(&status(130, 4))), S_OK);
    assert_eq!(t.relay.send_message(0, Some(&status(-1, 4))), S_OK);
    s.finish();
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(rules(&o), vec![Rule::S15Percent, Rule::S15Percent]);
    let pcts: Vec<i32> = t
        .log
        .snapshot()
        .messages()
        .iter()
        .filter(|m| m.lMessage == WIA_TRANSFER_MSG_STATUS)
        .map(|m| m.lPercentComplete)
        .collect();
    assert_eq!(pcts, [100, 0], "clamped before the application sees them");

    let mut t = strict(Script::default());
    let _s = stream(&mut t.relay, 1);
    assert_eq!(
        t.relay.send_message(0, Some(&status(101, 0))),
        WIA_ERROR_INVALID_DRIVER_RESPONSE
    );
}

#[test]
fn s16_transferred_bytes_must_match_the_stream() {
    let mut t = lenient(Script::default());
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    assert_eq!(t.relay.send_message(0, Some(&status(50, 4000))), S_OK);
    s.finish();
    // A new stream starts counting from zero.
    let mut s = stream(&mut t.relay, 2);
    s.write(&[0; 3]).unwrap();
    assert_eq!(t.relay.send_message(0, Some(&status(50, 3))), S_OK);
    s.finish();
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(rules(&o), vec![Rule::S16Bytes]);
    let bytes: Vec<u64> = t
        .log
        .snapshot()
        .messages()
        .iter()
        .filter(|m| m.lMessage == WIA_TRANSFER_MSG_STATUS)
        .map(|m| m.ulTransferredBytes)
        .collect();
    assert_eq!(bytes, [4, 3]);
}

#[test]
fn s17_no_calls_after_s_false_or_an_error() {
    let mut t = lenient(Script {
        fail_at_status: Some((1, WIA_ERROR_DESTINATION)),
        ..Default::default()
    });
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    assert_eq!(
        t.relay.send_message(0, Some(&status(50, 4))),
        WIA_ERROR_DESTINATION
    );
    let before = t.log.snapshot().messages().len();
    assert_eq!(t.relay.send_message(0, Some(&status(60, 4))), E_UNEXPECTED);
    assert_eq!(t.relay.get_next_stream(0, &page(2)).hresult(), E_UNEXPECTED);
    assert_eq!(
        t.log.snapshot().messages().len(),
        before,
        "nothing reached the application"
    );
    drop(s);
    let o = t
        .relay
        .finish(&Err(DeviceError::from_hresult(WIA_ERROR_DESTINATION, "")));
    assert_eq!(
        rules(&o),
        vec![Rule::S17CallAfterStop, Rule::S17CallAfterStop]
    );
    assert_eq!(o.result, WIA_ERROR_DESTINATION);

    let mut t = strict(Script {
        cancel_at_status: Some(1),
        ..Default::default()
    });
    let _s = stream(&mut t.relay, 1);
    assert_eq!(t.relay.send_message(0, Some(&status(0, 0))), S_FALSE);
    assert_eq!(t.relay.send_message(0, Some(&status(0, 0))), S_FALSE);
    drop(_s);
    let o = t.relay.finish(&Ok(Completion::Cancelled));
    assert_eq!(o.result, WIA_ERROR_INVALID_DRIVER_RESPONSE);
    assert!(o.error.unwrap().detail().contains("S17"));
}

#[test]
fn s18_a_cancelled_transfer_returns_s_false() {
    let mut t = lenient(Script {
        cancel_at_status: Some(1),
        ..Default::default()
    });
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    assert_eq!(t.relay.send_message(0, Some(&status(50, 4))), S_FALSE);
    drop(s);
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, S_FALSE, "corrected to the cancel");
    assert_eq!(rules(&o), vec![Rule::S18CancelResult]);
}

#[test]
fn s19_a_failed_callback_or_stream_makes_the_transfer_fail() {
    let mut t = lenient(Script {
        fail_at_page: Some((1, WIA_ERROR_DESTINATION)),
        ..Default::default()
    });
    assert_eq!(
        t.relay.get_next_stream(0, &page(1)).hresult(),
        WIA_ERROR_DESTINATION
    );
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(o.result, WIA_ERROR_DESTINATION);
    assert_eq!(rules(&o), vec![Rule::S19FailureResult]);

    // A failing stream write (disk full) is the driver's failure to return.
    let disk_full = HResult::from_u32(0x8007_0070);
    let mut t = lenient(Script {
        sink_fails_after: Some((4, disk_full)),
        ..Default::default()
    });
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    assert_eq!(s.write(&[0; 4]), Err(disk_full));
    drop(s);
    let o = t
        .relay
        .finish(&Err(DeviceError::from_hresult(disk_full, "writing page 1")));
    assert_eq!(o.result, disk_full);
    assert!(o.violations.is_empty());
    assert_eq!(t.log.snapshot().pages[0].closed, Some(disk_full));
}

#[test]
fn s20_after_skip_the_rest_transfers_and_skip_is_never_the_result() {
    let mut t = strict(Script {
        skip_pages: vec![2],
        ..Default::default()
    });
    for n in 1..=3 {
        match t.relay.get_next_stream(0, &page(n)) {
            NextStream::Stream(mut s) => {
                write_page(&mut t.relay, &mut s);
                s.finish();
            }
            NextStream::Skip => assert_eq!(n, 2),
            other => panic!("{other:?}"),
        }
    }
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!((o.result, o.pages, o.skipped), (S_OK, 2, 1));
    t.log.snapshot().check_grammar().unwrap();

    let mut t = lenient(Script {
        skip_pages: vec![1],
        ..Default::default()
    });
    assert!(matches!(
        t.relay.get_next_stream(0, &page(1)),
        NextStream::Skip
    ));
    let o = t
        .relay
        .finish(&Err(DeviceError::from_hresult(WIA_STATUS_SKIP_ITEM, "")));
    assert_eq!(o.result, S_OK);
    assert_eq!(rules(&o), vec![Rule::S20SkipResult]);

    // After S_FALSE from GetNextStream every remaining item is aborted.
    let mut t = lenient(Script {
        cancel_at_page: Some(2),
        ..Default::default()
    });
    drop(stream(&mut t.relay, 1));
    assert_eq!(t.relay.get_next_stream(0, &page(2)).hresult(), S_FALSE);
    assert_eq!(t.relay.get_next_stream(0, &page(3)).hresult(), S_FALSE);
}

#[test]
fn s21_data_is_appended_at_the_end() {
    use std::io::SeekFrom;
    let mut t = lenient(Script::default());
    let mut s = stream(&mut t.relay, 1);
    s.write(&[1; 4]).unwrap();
    assert_eq!(s.seek(SeekFrom::Start(0)), Ok(0));
    s.write(&[2; 4]).unwrap();
    assert_eq!(s.seek(SeekFrom::End(0)), Ok(8));
    s.write(&[3; 4]).unwrap();
    s.finish();
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(rules(&o), vec![Rule::S21Append]);
    assert_eq!(
        t.log.snapshot().pages[0].data,
        [[1u8; 4], [2; 4], [3; 4]].concat()
    );

    let mut t = strict(Script::default());
    let mut s = stream(&mut t.relay, 1);
    s.write(&[1; 4]).unwrap();
    s.seek(SeekFrom::Current(-2)).unwrap();
    assert_eq!(s.write(&[2; 4]), Err(WIA_ERROR_INVALID_DRIVER_RESPONSE));
}

#[test]
fn s22_streams_are_released_before_the_next_and_before_returning() {
    let mut t = lenient(Script::default());
    let mut s1 = stream(&mut t.relay, 1);
    s1.write(&[0; 4]).unwrap();
    let mut s2 = stream(&mut t.relay, 2); // s1 still open
    assert_eq!(
        s1.write(&[0; 4]),
        Err(E_UNEXPECTED),
        "the revoked stream is dead"
    );
    s2.write(&[0; 4]).unwrap();
    let o = t.relay.finish(&Ok(Completion::Done)); // s2 still open
    drop((s1, s2));
    assert_eq!(rules(&o), vec![Rule::S22Release, Rule::S22Release]);
    let rec = t.log.snapshot();
    rec.check_grammar().unwrap();
    assert!(
        rec.pages.iter().all(|p| p.closed == Some(E_ABORT)),
        "{:?}",
        rec.pages
    );

    let mut t = strict(Script::default());
    let _s1 = stream(&mut t.relay, 1);
    assert_eq!(
        t.relay.get_next_stream(0, &page(2)).hresult(),
        WIA_ERROR_INVALID_DRIVER_RESPONSE
    );
}

#[test]
fn s23_one_stream_per_item_and_one_for_a_multipage_file() {
    let mut t = setup_with(
        Script::default(),
        TransferOptions {
            tymed: Tymed::MultipageFile,
            ..Default::default()
        },
    );
    drop(stream(&mut t.relay, 1));
    assert_eq!(
        t.relay.get_next_stream(0, &page(2)).hresult(),
        WIA_ERROR_GENERAL_ERROR
    );
    let o = t
        .relay
        .finish(&Err(DeviceError::from_hresult(WIA_ERROR_GENERAL_ERROR, "")));
    assert_eq!(rules(&o), vec![Rule::S23StreamsPerItem]);

    // TYMED_FILE: one stream per page, as many as there are pages.
    let mut t = strict(Script::default());
    for n in 1..=4 {
        let mut s = stream(&mut t.relay, n);
        write_page(&mut t.relay, &mut s);
        s.finish();
    }
    assert_eq!(t.relay.finish(&Ok(Completion::Done)).pages, 4);
}

#[test]
fn s24_drivers_never_send_status_clear() {
    let mut t = lenient(Script {
        report_status: Some(S_OK),
        ..Default::default()
    });
    assert_eq!(
        t.relay.send_message(
            0,
            Some(&WiaTransferParams::device_status(WIA_STATUS_CLEAR, 0))
        ),
        S_OK
    );
    let o = t.relay.finish(&Ok(Completion::Done));
    assert_eq!(rules(&o), vec![Rule::S24Clear]);
    assert!(
        !t.log
            .snapshot()
            .events
            .iter()
            .any(|e| matches!(e, Recorded::ReportStatus(..))),
        "the handler never saw the driver's CLEAR"
    );
}

#[test]
fn modeless_status_is_cleared_by_the_next_message() {
    // The proxy sends WIA_STATUS_CLEAR to a modeless handler when a STATUS follows.
    let mut t = lenient(Script {
        report_status: Some(S_OK),
        ..Default::default()
    });
    for pct in [0, 50] {
        assert_eq!(
            t.relay.send_message(
                0,
                Some(&WiaTransferParams::device_status(
                    WIA_STATUS_WARMING_UP,
                    pct
                ))
            ),
            S_OK
        );
    }
    let mut s = stream(&mut t.relay, 1);
    s.write(&[0; 4]).unwrap();
    t.relay.send_message(0, Some(&status(50, 4)));
    s.finish();
    t.relay.finish(&Ok(Completion::Done));
    let statuses: Vec<HResult> = t
        .log
        .snapshot()
        .events
        .iter()
        .filter_map(|e| match e {
            Recorded::ReportStatus(hr, ..) => Some(*hr),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            WIA_STATUS_WARMING_UP,
            WIA_STATUS_WARMING_UP,
            WIA_STATUS_CLEAR
        ]
    );
}
