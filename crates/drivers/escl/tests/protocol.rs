//! The I/O-free job protocol driven with recorded answers: 503 then success, relative,
//! absolute and `urn:uuid:` Locations, 404 ending a feeder job, DELETE on cancel.

use scanwire_core::device::Completion;
use scanwire_core::wia;
use scanwire_escl_client::protocol::{Base, Head, Job, Step};
use scanwire_escl_client::Quirks;
use std::time::Duration;

fn head(status: u16) -> Head {
    Head {
        status,
        ..Default::default()
    }
}

fn url(step: &Step) -> (&'static str, String, Duration) {
    match step {
        Step::Send { request, delay, .. } => (request.method, request.url.clone(), *delay),
        other => panic!("expected a request, got {other:?}"),
    }
}

fn start(feeder: bool, wanted: Option<u32>) -> (Job, Step) {
    Job::start(
        Base::parse("http://127.0.0.1:9/eSCL").unwrap(),
        Quirks::default(),
        "<x/>".into(),
        feeder,
        wanted,
    )
}

#[test]
fn busy_post_is_retried_after_retry_after_then_job_location_is_resolved() {
    let (mut job, step) = start(true, None);
    assert_eq!(url(&step).0, "POST");
    let step = job.on_response(
        &Head {
            retry_after: Some(2),
            ..head(503)
        },
        b"",
    );
    assert_eq!(
        url(&step),
        (
            "POST",
            "http://127.0.0.1:9/eSCL/ScanJobs".into(),
            Duration::from_secs(2)
        )
    );
    // An absolute Location naming another host: the request's host is kept (HP).
    let step = job.on_response(
        &Head {
            location: Some("http://printer.local:8080/eSCL/ScanJobs/7".into()),
            ..head(201)
        },
        b"",
    );
    assert_eq!(
        url(&step).1,
        "http://127.0.0.1:9/eSCL/ScanJobs/7/NextDocument"
    );
}

#[test]
fn locations_relative_absolute_and_urn() {
    let base = Base::parse("http://127.0.0.1:9/eSCL/").unwrap();
    let q = Quirks::default();
    assert_eq!(
        base.job_url("/eSCL/ScanJobs/a", &q).unwrap(),
        "http://127.0.0.1:9/eSCL/ScanJobs/a"
    );
    assert_eq!(
        base.job_url("ScanJobs/a", &q).unwrap(),
        "http://127.0.0.1:9/eSCL/ScanJobs/a"
    );
    // Kyocera names jobs urn:uuid:…
    assert_eq!(
        base.job_url("urn:uuid:1-2", &q).unwrap(),
        "http://127.0.0.1:9/eSCL/ScanJobs/urn:uuid:1-2"
    );
    assert_eq!(Base::parse("https://x/eSCL").unwrap().origin, "https://x");
    assert!(Base::parse("ftp://x/eSCL").is_err());
}

#[test]
fn feeder_pages_until_404_then_end_of_media_when_fewer_than_asked() {
    let (mut job, _) = start(true, Some(3));
    job.on_response(
        &Head {
            location: Some("/eSCL/ScanJobs/1".into()),
            ..head(201)
        },
        b"",
    );
    for n in 1..=2 {
        assert!(
            matches!(job.on_response(&head(200), b""), Step::Receive { number } if number == n)
        );
        assert!(url(&job.page_received()).1.ends_with("/NextDocument"));
    }
    match job.on_response(&head(404), b"") {
        Step::Finish(Ok(c)) => assert_eq!(c, Completion::EndOfMedia),
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_feeder_before_the_first_page_is_paper_empty() {
    let Some(dir) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    let (mut job, _) = start(true, None);
    job.on_response(
        &Head {
            location: Some("/eSCL/ScanJobs/1".into()),
            ..head(201)
        },
        b"",
    );
    let step = job.on_response(&head(409), b"");
    assert!(url(&step).1.ends_with("/ScannerStatus"));
    let status = std::fs::read(dir.join("status-brother-mfc-l2710dw-idle-adfempty.xml")).unwrap();
    match job.on_response(&head(200), &status) {
        Step::Finish(Err(e)) => assert_eq!(e.hresult(), wia::WIA_ERROR_PAPER_EMPTY),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_sends_delete_and_any_answer_ends_it() {
    let (mut job, _) = start(false, None);
    job.on_response(
        &Head {
            location: Some("/eSCL/ScanJobs/1".into()),
            ..head(201)
        },
        b"",
    );
    let step = job.cancel().expect("a DELETE");
    assert_eq!(
        url(&step),
        (
            "DELETE",
            "http://127.0.0.1:9/eSCL/ScanJobs/1".into(),
            Duration::ZERO
        )
    );
    assert!(matches!(
        job.on_response(&head(404), b""),
        Step::Finish(Ok(Completion::Cancelled))
    ));
}

#[test]
fn cancel_during_post_waits_for_the_job_and_deletes_it() {
    let (mut job, _) = start(false, None);
    assert!(job.cancel().is_none());
    let step = job.on_response(
        &Head {
            location: Some("/eSCL/ScanJobs/9".into()),
            ..head(201)
        },
        b"",
    );
    assert_eq!(url(&step).0, "DELETE");
}
