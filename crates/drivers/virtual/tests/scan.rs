//! The virtual scanner through the core's runner and relay in strict mode: pages, sheets,
//! duplex, every fault's outcome and HRESULT, pacing, cancel, and option errors.

mod common;

use common::*;
use scanwire_core::device::{
    parse_settings, Area, Completion, Device, DeviceErrorKind, Driver, Length, OptionValue,
    PageData, PixelFormat, ScanRequest, Side, Source,
};
use scanwire_core::transfer::{self, CancelHandle, Recorder, Relay, TransferOptions};
use scanwire_core::wia::{self, HResult};
use scanwire_virtual::{expected_page, VirtualDevice, VirtualDriver};
use std::time::{Duration, Instant};

/// `--set` pairs.
type Opts = &'static [(&'static str, &'static str)];

fn device_statuses(log: &Log) -> Vec<HResult> {
    log.statuses().into_iter().map(|(hr, _)| hr).collect()
}

#[test]
fn driver_lists_and_opens_one_device() {
    let d = VirtualDriver::new();
    assert_eq!(d.name(), "virtual");
    let list = d.devices().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, "virtual");
    assert_eq!(list[0].vendor, "Scanwire");
    assert_eq!(list[0].model, "Virtual Scanner");
    assert_eq!(list[0].driver, "virtual");
    let mut dev = d.open("virtual").unwrap();
    assert_eq!(dev.info(), list[0]);
    let caps = dev.capabilities().unwrap();
    assert_eq!(caps.default_source(), Some(Source::Flatbed));
    assert!(dev.options().iter().any(|o| o.name == "jam-at-page"));
    let e = d.open("virtual2").err().expect("unknown id refused");
    assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
    assert!(e.detail().contains("virtual2"), "{e}");
}

#[test]
fn flatbed_gives_one_page_with_the_chart_bytes() {
    let r = req(Source::Flatbed, &[]);
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(o.pages, 1);
    let page = &log.pages[0];
    assert_eq!(page.info.number, 1);
    assert_eq!((page.info.sheet, page.info.side), (1, Side::Front));
    assert_eq!(page.info.source, Source::Flatbed);
    assert_eq!(page.info.dpi, (75, 75));
    assert_eq!(
        page.info.data,
        PageData::Raster {
            pixel: PixelFormat::Rgb8,
            width: 638,
            height: Some(877)
        }
    );
    assert_eq!(page.data, expected_page(&r, 1).unwrap());
    // Bands: STATUS after each, rising to 100 %, bytes = running total of the stream.
    let st = log.messages(wia::WIA_TRANSFER_MSG_STATUS);
    assert!(st.len() >= 10, "{} STATUS messages", st.len());
    assert_eq!(st.last().unwrap().lPercentComplete, 100);
    assert_eq!(
        st.last().unwrap().ulTransferredBytes,
        page.data.len() as u64
    );
    assert!(st
        .windows(2)
        .all(|w| w[0].lPercentComplete <= w[1].lPercentComplete));
    // Nothing to report on a plain scan.
    assert!(log.statuses().is_empty());
}

#[test]
fn same_request_gives_the_same_bytes_through_the_relay() {
    let r = req(Source::Feeder, &[("sheets", "2")]);
    let (_, a) = scan(&r);
    let (_, b) = scan(&r);
    assert_eq!(a.pages.len(), 2);
    for (x, y) in a.pages.iter().zip(&b.pages) {
        assert_eq!(fnv1a(&x.data), fnv1a(&y.data));
    }
    assert_ne!(a.pages[0].data, a.pages[1].data, "the page number differs");
}

#[test]
fn feeder_scans_every_sheet_by_default() {
    let (o, log) = scan(&req(Source::Feeder, &[]));
    assert_eq!(o.result, wia::S_OK);
    assert_eq!(o.pages, 5);
    for (i, p) in log.pages.iter().enumerate() {
        let n = i as u32 + 1;
        assert_eq!(
            (p.info.number, p.info.sheet, p.info.side),
            (n, n, Side::Front)
        );
        assert_eq!(p.info.source, Source::Feeder);
    }
    // STATUS bytes restart with every stream.
    let first_status_after_second_stream = log
        .events
        .iter()
        .skip_while(|e| !matches!(e, Ev::Stream(p) if p.number == 2))
        .find_map(|e| match e {
            Ev::Msg(p) if p.lMessage == wia::WIA_TRANSFER_MSG_STATUS => Some(p.ulTransferredBytes),
            _ => None,
        })
        .unwrap();
    assert!(first_status_after_second_stream <= log.pages[1].data.len() as u64 / 2);
}

#[test]
fn page_counts_follow_the_feeder_table() {
    let cases: [(Opts, Option<u32>, HResult, u32); 5] = [
        (&[("sheets", "12")], None, wia::S_OK, 12),
        (&[("sheets", "5")], Some(3), wia::S_OK, 3),
        (&[("sheets", "5")], Some(5), wia::S_OK, 5),
        (&[("sheets", "5")], Some(8), wia::WIA_STATUS_END_OF_MEDIA, 5),
        (&[("sheets", "1")], Some(2), wia::WIA_STATUS_END_OF_MEDIA, 1),
    ];
    for (opts, pages, result, delivered) in cases {
        let r = ScanRequest {
            pages,
            ..req(Source::Feeder, opts)
        };
        let (o, log) = scan(&r);
        assert_eq!(o.result, result, "{opts:?} pages {pages:?}");
        assert_eq!(o.pages, delivered, "{opts:?} pages {pages:?}");
        assert_eq!(log.complete().len() as u32, delivered);
        assert_eq!(
            o.completion().unwrap() == Completion::EndOfMedia,
            result != wia::S_OK
        );
    }
}

#[test]
fn duplex_gives_front_and_back_of_each_sheet() {
    let r = req(Source::FeederDuplex, &[("sheets", "3")]);
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::S_OK);
    assert_eq!(o.pages, 6);
    let got: Vec<(u32, u32, Side)> = log
        .pages
        .iter()
        .map(|p| (p.info.number, p.info.sheet, p.info.side))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 1, Side::Front),
            (2, 1, Side::Back),
            (3, 2, Side::Front),
            (4, 2, Side::Back),
            (5, 3, Side::Front),
            (6, 3, Side::Back)
        ]
    );
    assert_eq!(log.pages[1].info.item_name(), "sheet-1-back");
    for p in &log.pages {
        assert_eq!(p.data, expected_page(&r, p.info.number).unwrap());
    }
    // An odd page count stops after a front; more than the sheets hold is END_OF_MEDIA.
    let (o, _) = scan(&ScanRequest {
        pages: Some(3),
        ..r.clone()
    });
    assert_eq!((o.result, o.pages), (wia::S_OK, 3));
    let (o, _) = scan(&ScanRequest {
        pages: Some(7),
        ..r
    });
    assert_eq!((o.result, o.pages), (wia::WIA_STATUS_END_OF_MEDIA, 6));
}

#[test]
fn paper_jam_keeps_earlier_pages_and_reports_device_status_first() {
    let r = req(Source::Feeder, &[("jam-at-page", "3")]);
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM);
    let e = o.error.expect("error");
    assert_eq!(e.kind(), DeviceErrorKind::PaperJam);
    assert!(e.detail().contains("page 3"), "{e}");
    assert_eq!(log.complete().len(), 2);
    // Page 3 was opened and ends incomplete, with the rows before the jam (mid page).
    let p3 = &log.pages[2];
    assert_eq!(p3.closed, Some(wia::WIA_ERROR_PAPER_JAM));
    let bpl = p3.info.data.bytes_per_line().unwrap();
    assert_eq!(p3.data.len(), 877 / 2 * bpl);
    assert_eq!(p3.data[..], expected_page(&r, 3).unwrap()[..p3.data.len()]);
    // DEVICE_STATUS(PAPER_JAM) came before END_OF_TRANSFER, while page 3 was open.
    assert_eq!(log.statuses(), vec![(wia::WIA_ERROR_PAPER_JAM, 49)]);
    let pos = |f: &dyn Fn(&Ev) -> bool| log.events.iter().position(f).unwrap();
    let jam = pos(&|e| matches!(e, Ev::Status(..)));
    let eos3 = pos(&|e| {
        matches!(e, Ev::Msg(p) if p.lMessage == wia::WIA_TRANSFER_MSG_END_OF_STREAM
            && p.hrErrorStatus.is_failure())
    });
    assert!(jam < eos3);
}

#[test]
fn jam_at_a_given_row() {
    let r = req(
        Source::FeederDuplex,
        &[("jam-at-page", "2"), ("jam-at-row", "100")],
    );
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM);
    assert_eq!(log.complete().len(), 1);
    assert_eq!(log.pages[1].info.side, Side::Back);
    assert_eq!(log.pages[1].data.len(), 100 * 638 * 3);
    // Row 0 jams before any byte of the page.
    let r = req(Source::Feeder, &[("jam-at-page", "1"), ("jam-at-row", "0")]);
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM);
    assert!(log.pages[0].data.is_empty());
    // A row past the page is a bad request, before anything happens.
    let r = req(
        Source::Feeder,
        &[("jam-at-page", "1"), ("jam-at-row", "877")],
    );
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::E_INVALIDARG);
    assert!(o.error.unwrap().detail().contains("0..=876"));
    assert!(log.pages.is_empty());
}

#[test]
fn an_error_handler_cannot_clear_a_jam_but_can_cancel() {
    let r = req(Source::Feeder, &[("jam-at-page", "2")]);
    let handled = Answers {
        report: Some(wia::S_OK),
        ..Default::default()
    };
    let (o, log) = scan_with(&r, handled, &CancelHandle::new());
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM);
    assert_eq!(log.complete().len(), 1);
    let cancel = Answers {
        report: Some(wia::S_FALSE),
        ..Default::default()
    };
    let (o, log) = scan_with(&r, cancel, &CancelHandle::new());
    assert_eq!(o.result, wia::S_FALSE);
    assert_eq!(log.complete().len(), 1);
    // Another error from the handler is passed on exactly.
    let code = HResult::from_u32(0x8004_03EA);
    let other = Answers {
        report: Some(code),
        ..Default::default()
    };
    let (o, _) = scan_with(&r, other, &CancelHandle::new());
    assert_eq!(o.result, code);
}

#[test]
fn empty_feeder_fails_before_any_page() {
    for opts in [[("feeder-empty", "true")], [("sheets", "0")]] {
        for source in [Source::Feeder, Source::FeederDuplex] {
            let (o, log) = scan(&req(source, &opts));
            assert_eq!(o.result, wia::WIA_ERROR_PAPER_EMPTY, "{opts:?} {source}");
            assert_eq!(o.error.unwrap().kind(), DeviceErrorKind::FeederEmpty);
            assert!(log.pages.is_empty());
            assert!(!log
                .events
                .iter()
                .any(|e| matches!(e, Ev::Stream(_) | Ev::Skipped(_))));
        }
    }
    // The flatbed does not care what is in the feeder.
    let (o, _) = scan(&req(Source::Flatbed, &[("feeder-empty", "true")]));
    assert_eq!(o.result, wia::S_OK);
}

#[test]
fn multi_feed_fails_as_the_page_starts() {
    let (o, log) = scan(&req(Source::Feeder, &[("multi-feed-at-page", "2")]));
    assert_eq!(o.result, wia::WIA_ERROR_MULTI_FEED);
    assert_eq!(o.error.unwrap().kind(), DeviceErrorKind::MultiFeed);
    assert_eq!(log.complete().len(), 1);
    assert_eq!(log.pages.len(), 2);
    assert!(log.pages[1].data.is_empty());
    assert_eq!(device_statuses(&log), vec![wia::WIA_ERROR_MULTI_FEED]);
}

#[test]
fn cover_open_fails_unless_the_handler_says_it_was_closed() {
    let r = req(Source::Flatbed, &[("cover-open", "true")]);
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::WIA_ERROR_COVER_OPEN);
    assert_eq!(o.error.unwrap().kind(), DeviceErrorKind::CoverOpen);
    assert!(log.pages.is_empty());
    assert_eq!(log.statuses(), vec![(wia::WIA_ERROR_COVER_OPEN, 0)]);
    let closed = Answers {
        report: Some(wia::S_OK),
        ..Default::default()
    };
    let (o, log) = scan_with(&r, closed, &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK);
    assert_eq!(log.complete().len(), 1);
    let cancel = Answers {
        report: Some(wia::S_FALSE),
        ..Default::default()
    };
    let (o, log) = scan_with(&r, cancel, &CancelHandle::new());
    assert_eq!(o.result, wia::S_FALSE);
    assert!(log.pages.is_empty());
}

#[test]
fn offline_fails_without_touching_the_application() {
    let (o, log) = scan(&req(Source::Feeder, &[("offline", "1")]));
    assert_eq!(o.result, wia::WIA_ERROR_OFFLINE);
    assert_eq!(o.error.unwrap().kind(), DeviceErrorKind::Offline);
    assert_eq!(
        log.events.len(),
        1,
        "only END_OF_TRANSFER: {:?}",
        log.events
    );
}

#[test]
fn a_driver_panic_becomes_an_error_and_keeps_earlier_pages() {
    let (o, log) = scan(&req(Source::Feeder, &[("panic-at-page", "2")]));
    assert_eq!(o.result, wia::WIA_ERROR_EXCEPTION_IN_DRIVER);
    assert!(o.error.unwrap().detail().contains("panic-at-page=2"));
    assert_eq!(log.complete().len(), 1);
    assert_eq!(log.pages[1].closed.map(|c| c.is_failure()), Some(true));
}

#[test]
fn a_hang_is_ended_by_the_watchdog() {
    let r = req(Source::Feeder, &[("hang-at-page", "2")]);
    let start = Instant::now();
    let (o, log) = scan_opts(
        &r,
        Answers::default(),
        &CancelHandle::new(),
        strict(Duration::from_millis(400)),
    );
    assert_eq!(o.result, transfer::HRESULT_TIMEOUT);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(log.complete().len(), 1);
    // The hang really ignores cancel: page 2 got its first half and nothing since.
    let half = 877 / 2 * 638 * 3;
    assert_eq!(log.pages[1].data.len(), half);
}

#[test]
fn warm_up_is_reported_with_rising_percent_before_the_first_page() {
    let r = req(Source::Feeder, &[("warmup-ms", "200"), ("sheets", "2")]);
    let start = Instant::now();
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::S_OK);
    assert!(start.elapsed() >= Duration::from_millis(200));
    let st = log.statuses();
    assert_eq!(st.len(), 11);
    assert!(st.iter().all(|(hr, _)| *hr == wia::WIA_STATUS_WARMING_UP));
    let pcts: Vec<i32> = st.iter().map(|(_, p)| *p).collect();
    assert_eq!(pcts, (0..=10).map(|i| i * 10).collect::<Vec<_>>());
    let first_stream = log.events.iter().position(|e| matches!(e, Ev::Stream(_)));
    let last_warm = log.events.iter().rposition(|e| matches!(e, Ev::Status(..)));
    assert!(last_warm < first_stream);
}

#[test]
fn ppm_paces_pages() {
    // 120 pages per minute: half a second a page, spread over its rows.
    let r = req(Source::Feeder, &[("ppm", "120"), ("sheets", "2")]);
    let start = Instant::now();
    let (o, log) = scan(&r);
    let took = start.elapsed();
    assert_eq!(o.result, wia::S_OK);
    assert_eq!(o.pages, 2);
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Paced bands arrive spread out, so a progress bar moves.
    assert!(log.messages(wia::WIA_TRANSFER_MSG_STATUS).len() >= 20);
    // Even a page of 30 rows (10 mm at 75 dpi) comes in several bands of at most 1/4 s.
    let r = ScanRequest {
        area: Some(Area::sized(Length::mm(50), Length::mm(10))),
        ..req(Source::Flatbed, &[("ppm", "60")])
    };
    let start = Instant::now();
    let (o, log) = scan(&r);
    assert_eq!(o.result, wia::S_OK);
    assert!(start.elapsed() >= Duration::from_millis(1000));
    let st = log.messages(wia::WIA_TRANSFER_MSG_STATUS);
    assert!(st.len() >= 4, "{} bands", st.len());
}

#[test]
fn cancel_handle_stops_a_paced_scan_quickly() {
    let r = req(Source::Feeder, &[("ppm", "6")]); // 10 s a page
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        c2.cancel();
        Instant::now()
    });
    let (o, log) = scan_with(&r, Answers::default(), &cancel);
    let latency = t.join().unwrap().elapsed();
    assert_eq!(o.result, wia::S_FALSE);
    assert!(latency < Duration::from_millis(500), "{latency:?}");
    assert!(log.complete().is_empty());
    assert_eq!(log.pages[0].closed, Some(wia::S_FALSE));
}

#[test]
fn cancel_during_warm_up() {
    let r = req(Source::Flatbed, &[("warmup-ms", "5000")]);
    let cancel = CancelHandle::new();
    let c2 = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        c2.cancel();
    });
    let start = Instant::now();
    let (o, log) = scan_with(&r, Answers::default(), &cancel);
    assert_eq!(o.result, wia::S_FALSE);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(log.pages.is_empty());
}

#[test]
fn status_answers_end_the_scan_with_exactly_their_code() {
    let r = req(Source::Feeder, &[]);
    let cancel = Answers {
        cancel_at_status: Some(3),
        ..Default::default()
    };
    let (o, log) = scan_with(&r, cancel, &CancelHandle::new());
    assert_eq!(o.result, wia::S_FALSE);
    assert_eq!(log.messages(wia::WIA_TRANSFER_MSG_STATUS).len(), 3);
    let disk_full = HResult::from_u32(0x8007_0070);
    let fail = Answers {
        fail_at_status: Some((20, disk_full)),
        ..Default::default()
    };
    let (o, log) = scan_with(&r, fail, &CancelHandle::new());
    assert_eq!(o.result, disk_full);
    assert_eq!(o.error.unwrap().hresult(), disk_full);
    assert_eq!(log.messages(wia::WIA_TRANSFER_MSG_STATUS).len(), 20);
    let sink = Answers {
        sink_fails: Some(wia::WIA_ERROR_DESTINATION),
        ..Default::default()
    };
    let (o, _) = scan_with(&r, sink, &CancelHandle::new());
    assert_eq!(o.result, wia::WIA_ERROR_DESTINATION);
}

#[test]
fn skipped_pages_are_scanned_and_the_rest_arrive() {
    let r = req(Source::Feeder, &[("sheets", "4")]);
    let skip = Answers {
        skip: vec![1, 3],
        ..Default::default()
    };
    let (o, log) = scan_with(&r, skip, &CancelHandle::new());
    assert_eq!(o.result, wia::S_OK);
    assert_eq!((o.pages, o.skipped), (2, 2));
    let numbers: Vec<u32> = log.pages.iter().map(|p| p.info.number).collect();
    assert_eq!(numbers, vec![2, 4]);
    assert_eq!(log.pages[1].data, expected_page(&r, 4).unwrap());
    // A fault on a skipped page still happens: the paper jams whether or not it is kept.
    let r = req(Source::Feeder, &[("jam-at-page", "1")]);
    let skip = Answers {
        skip: vec![1],
        ..Default::default()
    };
    let (o, _) = scan_with(&r, skip, &CancelHandle::new());
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM);
}

#[test]
fn option_errors_are_clear_and_stop_before_the_driver_does_anything() {
    // Typed `--set` text is refused by scanwire-core's parser against the device's options…
    let options = VirtualDevice::new().options();
    let cases: [(Opts, &str); 4] = [
        (
            &[("jam-at-pag", "3")],
            "unknown option `jam-at-pag`; allowed: sheets, ppm, warmup-ms, jam-at-page",
        ),
        (
            &[("sheets", "lots")],
            "invalid value `lots` for option sheets",
        ),
        (&[("sheets", "51")], "0..=50"),
        (&[("offline", "perhaps")], "true or false"),
    ];
    for (opts, text) in cases {
        let pairs: Vec<(String, String)> = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let e = parse_settings(&options, &pairs).unwrap_err();
        assert!(e.to_string().contains(text), "{opts:?}: {e}");
        assert_eq!(e.hresult(), wia::E_INVALIDARG);
    }
    // …and typed values built in code are checked by the driver before it does anything.
    let typed: [(&str, OptionValue, &str); 3] = [
        (
            "jam-at-pag",
            OptionValue::Int(3),
            "did you mean jam-at-page?",
        ),
        ("sheets", OptionValue::Int(51), "0..=50"),
        (
            "offline",
            OptionValue::Text("perhaps".into()),
            "not a value of type bool",
        ),
    ];
    for (name, value, text) in typed {
        let mut r = req(Source::Feeder, &[]);
        r.options.insert(name.into(), value.clone());
        let (o, log) = scan(&r);
        assert_eq!(o.result, wia::E_INVALIDARG, "{name}={value}");
        let e = o.error.unwrap();
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
        assert!(e.detail().contains(text), "{name}={value}: {e}");
        assert_eq!(log.events.len(), 1, "{name}: {:?}", log.events);
    }
}

#[test]
fn feeder_only_options_leave_a_flatbed_scan_alone() {
    // Set server-wide, a feeder fault must not fail flatbed jobs (issue 18): the flatbed
    // scans its page as if the options were not there, and the feeder still jams.
    let opts: Opts = &[
        ("jam-at-page", "1"),
        ("multi-feed-at-page", "1"),
        ("jam-at-row", "3"),
        ("feeder-empty", "false"),
        ("sheets", "2"),
    ];
    let flatbed = req(Source::Flatbed, opts);
    let (o, log) = scan(&flatbed);
    assert_eq!(o.result, wia::S_OK, "{:?}", o.error);
    assert_eq!(log.complete().len(), 1);
    assert_eq!(log.pages[0].data, expected_page(&flatbed, 1).unwrap());
    let (o, _) = scan(&req(Source::Feeder, opts));
    assert_eq!(o.result, wia::WIA_ERROR_MULTI_FEED);
    let (o, _) = scan(&req(Source::Feeder, &[("jam-at-page", "1")]));
    assert_eq!(o.result, wia::WIA_ERROR_PAPER_JAM);
}

#[test]
fn bad_requests_are_refused_even_when_acquire_is_called_directly() {
    // The runner validates first; acquire checks again so a caller that skips the runner
    // cannot make the driver panic or render nonsense.
    let bad = ScanRequest {
        resolution: 0,
        ..Default::default()
    };
    let (app, log) = Recorder::new();
    let mut relay = Relay::new(
        Box::new(app),
        CancelHandle::new(),
        &TransferOptions::strict(),
    );
    let result = VirtualDevice::new().acquire(&bad, &mut relay, &CancelHandle::new().token());
    let e = result.clone().unwrap_err();
    assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
    assert!(e.detail().contains("0 dpi"), "{e}");
    let o = relay.finish(&result);
    assert!(o.violations.is_empty());
    log.snapshot().check_grammar().unwrap();
}

#[test]
fn driven_by_hand_through_a_relay_in_strict_mode() {
    let r = req(
        Source::FeederDuplex,
        &[("sheets", "2"), ("warmup-ms", "10")],
    );
    let (app, log) = Recorder::new();
    let cancel = CancelHandle::new();
    let mut relay = Relay::new(Box::new(app), cancel.clone(), &TransferOptions::strict());
    let result = VirtualDevice::new().acquire(&r, &mut relay, &cancel.token());
    assert_eq!(result, Ok(Completion::Done));
    let o = relay.finish(&result);
    assert_eq!((o.result, o.pages), (wia::S_OK, 4));
    assert!(o.violations.is_empty(), "{:?}", o.violations);
    let rec = log.snapshot();
    rec.check_grammar().unwrap();
    for p in &rec.pages {
        assert_eq!(p.data, expected_page(&r, p.info.number).unwrap());
    }
}

#[test]
fn every_outcome_passes_the_core_grammar_check() {
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("jam-at-page", "2")],
        vec![("multi-feed-at-page", "1")],
        vec![("feeder-empty", "yes")],
        vec![("cover-open", "on")],
        vec![("offline", "true")],
        vec![("panic-at-page", "1")],
        vec![("warmup-ms", "30"), ("sheets", "1")],
        vec![("bogus", "1")],
    ];
    for opts in cases {
        for source in [Source::Feeder, Source::FeederDuplex] {
            let device = transfer::share(Box::new(VirtualDevice::new()));
            let (app, log) = Recorder::new();
            // `bogus` cannot be parsed: it goes in as a request built in code would carry it.
            let base = if opts == [("bogus", "1")] {
                let mut r = req(source, &[]);
                r.options.insert("bogus".into(), OptionValue::Int(1));
                r
            } else {
                req(source, &opts)
            };
            let r = ScanRequest {
                pages: Some(3),
                ..base
            };
            let o = transfer::run(
                &device,
                &r,
                Box::new(app),
                &CancelHandle::new(),
                &TransferOptions::strict(),
            );
            assert!(o.violations.is_empty(), "{opts:?}: {:?}", o.violations);
            let rec = log.snapshot();
            rec.check_grammar()
                .unwrap_or_else(|e| panic!("{opts:?} {source}: {e}"));
            assert_eq!(rec.end_of_transfer(), Some(o.result));
        }
    }
}

#[test]
fn sixteen_bit_and_lineart_pages_have_the_announced_size() {
    for (mode, pixel) in [
        (
            scanwire_core::device::ColorMode::Gray16,
            PixelFormat::Gray16,
        ),
        (
            scanwire_core::device::ColorMode::Color48,
            PixelFormat::Rgb16,
        ),
        (
            scanwire_core::device::ColorMode::Lineart,
            PixelFormat::BlackAndWhite1,
        ),
    ] {
        let r = ScanRequest {
            mode,
            ..req(Source::Flatbed, &[])
        };
        let (o, log) = scan(&r);
        assert_eq!(o.result, wia::S_OK);
        let p = &log.pages[0];
        assert!(matches!(p.info.data, PageData::Raster { pixel: px, .. } if px == pixel));
        assert_eq!(p.data.len() as u64, p.info.data.expected_bytes().unwrap());
    }
}
