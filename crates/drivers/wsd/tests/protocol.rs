//! The job state machine driven with messages alone (no sockets): every step is checked by
//! the operation it sends next.

use scanwire_core::device::{Completion, DeviceErrorKind};
use scanwire_wsd::*;
use scanwire_wsd_client::errors::Operation;
use scanwire_wsd_client::protocol::{Job, Response, Service, Step, CREATE_RETRIES};
use std::time::Duration;

fn service() -> Service {
    Service::parse("http://192.0.2.5:5358/WSDScanner").unwrap()
}

fn msg(body: Body) -> Vec<u8> {
    Envelope::new(Header::default(), body).to_xml().into_bytes()
}

fn respond(job: &mut Job, body: Body) -> Step {
    let bytes = msg(body);
    job.on_response(&Response {
        status: 200,
        content_type: Some("application/soap+xml"),
        body: &bytes,
    })
}

fn op(step: &Step) -> Option<Operation> {
    match step {
        Step::Send { request, .. } => Some(request.op),
        _ => None,
    }
}

fn created() -> Body {
    Body::CreateScanJobResponse(CreatedJob {
        job_id: 5,
        job_token: "t".into(),
        ..CreatedJob::default()
    })
}

fn image(job: &mut Job) -> Step {
    let (ct, body) =
        write_retrieve_image_response(&Header::default(), b"\xff\xd8img", "image/jpeg");
    job.on_response(&Response {
        status: 200,
        content_type: Some(&ct),
        body: &body,
    })
}

#[test]
fn a_feeder_job_ends_at_no_images_available() {
    let (mut job, step) = Job::start(service(), ScanTicket::default(), true, None);
    assert_eq!(op(&step), Some(Operation::CreateJob));
    let step = respond(&mut job, created());
    assert_eq!(op(&step), Some(Operation::RetrieveImage));
    let Step::Image { number: 1 } = image(&mut job) else {
        panic!("no page")
    };
    assert_eq!(op(&job.page_received()), Some(Operation::RetrieveImage));
    let step = respond(
        &mut job,
        Body::Fault(Fault::sender("ClientErrorNoImagesAvailable", "")),
    );
    assert!(matches!(step, Step::Finish(Ok(Completion::Done))));
    assert!(job.is_finished());
}

#[test]
fn a_short_feeder_batch_is_end_of_media() {
    let (mut job, _) = Job::start(service(), ScanTicket::default(), true, Some(3));
    respond(&mut job, created());
    image(&mut job);
    job.page_received();
    let step = respond(
        &mut job,
        Body::Fault(Fault::sender("ClientErrorNoImagesAvailable", "")),
    );
    assert!(matches!(step, Step::Finish(Ok(Completion::EndOfMedia))));
}

#[test]
fn cancel_while_creating_cancels_the_job_it_creates() {
    let (mut job, _) = Job::start(service(), ScanTicket::default(), false, None);
    assert!(job.cancel().is_none(), "waits for the CreateScanJob answer");
    let step = respond(&mut job, created());
    assert_eq!(op(&step), Some(Operation::CancelJob));
    let step = respond(&mut job, Body::CancelJobResponse);
    assert!(matches!(step, Step::Finish(Ok(Completion::Cancelled))));
}

#[test]
fn a_busy_scanner_is_retried_then_busy() {
    let (mut job, _) = Job::start(service(), ScanTicket::default(), false, None);
    job.set_retry_delay(Duration::from_millis(7));
    let busy = || Body::Fault(Fault::receiver("ServerErrorNotAcceptingJobs", "busy"));
    for _ in 0..CREATE_RETRIES {
        match respond(&mut job, busy()) {
            Step::Send { request, delay, .. } => {
                assert_eq!(request.op, Operation::CreateJob);
                assert_eq!(delay, Duration::from_millis(7));
            }
            other => panic!("{other:?}"),
        }
    }
    // Out of retries: the status is read (no job to cancel), then the job ends Busy.
    let step = respond(&mut job, busy());
    assert_eq!(op(&step), Some(Operation::Status));
    let step = respond(
        &mut job,
        Body::GetScannerElementsResponse(ScannerElements::default()),
    );
    let Step::Finish(Err(e)) = step else {
        panic!("{step:?}")
    };
    assert_eq!(e.kind(), DeviceErrorKind::Busy);
}

#[test]
fn a_broken_image_asks_why_then_cancels_the_job() {
    let (mut job, _) = Job::start(service(), ScanTicket::default(), true, None);
    respond(&mut job, created());
    let step = job.on_failure(scanwire_core::device::DeviceError::new(
        DeviceErrorKind::Communication,
        "connection reset",
    ));
    assert_eq!(op(&step), Some(Operation::Status));
    let jammed = ScannerStatus {
        time: None,
        state: ScannerState::Stopped,
        reasons: vec!["MediaJam".into()],
        conditions: vec![],
    };
    let step = respond(
        &mut job,
        Body::GetScannerElementsResponse(ScannerElements {
            status: Some(jammed),
            ..ScannerElements::default()
        }),
    );
    assert_eq!(op(&step), Some(Operation::CancelJob));
    let step = respond(&mut job, Body::CancelJobResponse);
    let Step::Finish(Err(e)) = step else {
        panic!("{step:?}")
    };
    assert_eq!(e.kind(), DeviceErrorKind::PaperJam);
}

#[test]
fn service_urls_are_checked() {
    assert_eq!(
        Service::parse("HTTP://192.0.2.5:5358/WSDScanner")
            .unwrap()
            .url,
        "http://192.0.2.5:5358/WSDScanner"
    );
    for (bad, words) in [
        ("192.0.2.5/WSDScanner", "does not start with http://"),
        ("https://192.0.2.5/WSDScanner", "only http:// is supported"),
        ("http://192.0.2.5:5358", "the service path is missing"),
        ("http:///x", "the host is missing"),
    ] {
        let e = Service::parse(bad).unwrap_err();
        assert!(e.detail().contains(words), "{bad}: {e}");
    }
}

#[test]
fn a_streamed_answer_gives_its_image_and_one_that_breaks_while_delivering_asks_why() {
    let (mut job, _) = Job::start(service(), ScanTicket::default(), true, None);
    respond(&mut job, created());
    // The envelope read ahead of its image.
    let step = job.on_envelope(
        200,
        Ok(Body::RetrieveImageResponse {
            href: "cid:img".into(),
        }),
    );
    assert!(matches!(step, Step::Image { number: 1 }), "{step:?}");
    // The image breaks off while it is being handed on: the scanner is asked why, then the
    // job is cancelled.
    let step = job.on_failure(scanwire_core::device::DeviceError::new(
        DeviceErrorKind::Communication,
        "connection reset",
    ));
    assert_eq!(op(&step), Some(Operation::Status));
    let step = respond(
        &mut job,
        Body::GetScannerElementsResponse(ScannerElements::default()),
    );
    assert_eq!(op(&step), Some(Operation::JobStatus));
    let step = respond(
        &mut job,
        Body::GetJobElementsResponse(JobElements::default()),
    );
    assert_eq!(op(&step), Some(Operation::CancelJob));

    // A multipart that does not parse, from a scanner answering 500: the status says it.
    let (mut job, _) = Job::start(service(), ScanTicket::default(), false, None);
    respond(&mut job, created());
    let bad = read_message(
        Some("multipart/related; boundary=b"),
        b"--b\r\n",
        &Limits::DEFAULT,
    )
    .map(|m| m.envelope.body);
    let step = job.on_envelope(500, bad);
    assert_eq!(op(&step), Some(Operation::Status));
    // A fault in an envelope read ahead ends a feeder batch as a plain one does.
    let (mut job, _) = Job::start(service(), ScanTicket::default(), true, None);
    respond(&mut job, created());
    image(&mut job);
    job.page_received();
    let step = job.on_envelope(
        200,
        Ok(Body::Fault(Fault::sender(
            "ClientErrorNoImagesAvailable",
            "",
        ))),
    );
    assert!(
        matches!(step, Step::Finish(Ok(Completion::Done))),
        "{step:?}"
    );
}
