//! Every body written and read back unchanged; messages written with other prefixes (and the
//! other namespace revisions devices use) read the same.

use scanwire_wsd::*;

fn caps() -> InputCaps {
    InputCaps {
        optical_resolution: Some(Size::new(600, 600)),
        widths: vec![150, 300, 600],
        heights: vec![150, 300, 600],
        colors: vec![ColorEntry::Grayscale8, ColorEntry::Rgb24],
        min_size: Size::new(500, 500),
        max_size: Size::new(8500, 11690),
    }
}

fn ticket() -> ScanTicket {
    ScanTicket {
        job: JobDescription {
            name: Some("Scanwire <scan> & co".into()),
            user: Some("scanwire".into()),
            info: None,
        },
        params: DocumentParameters {
            format: Some(Format::Jfif),
            compression_quality: Some(85),
            images_to_transfer: Some(0),
            input_source: Some(InputSource::AdfDuplex),
            content_type: Some("Auto".into()),
            input_size: Some(Size::new(8268, 11693)),
            size_auto_detect: None,
            exposure: Some(Exposure {
                auto: Some(false),
                contrast: Some(-10),
                brightness: Some(5),
                sharpness: Some(0),
            }),
            scaling: Some(Size::new(100, 100)),
            rotation: Some(0),
            front: Some(MediaSide {
                region: Some(Region {
                    x: 0,
                    y: 10,
                    width: 8268,
                    height: 11693,
                }),
                color: Some(ColorEntry::Rgb24),
                resolution: Some(Size::new(300, 300)),
            }),
            back: Some(MediaSide {
                region: None,
                color: Some(ColorEntry::Other("Vendor16".into())),
                resolution: Some(Size::new(300, 300)),
            }),
            must_honor: vec!["InputSource".into(), "Resolution".into()],
        },
    }
}

fn target() -> Target {
    Target {
        address: "urn:uuid:4509a320-00a0-008f-00b6-002507510eca".into(),
        types: vec![QName::new(DPWS_NS, "Device"), QName::scan_device_type()],
        scopes: vec!["ldap:///ou=engineering".into()],
        xaddrs: vec![
            "http://192.0.2.5:5358/wsd".into(),
            "http://[fe80::1]:5358/wsd".into(),
        ],
        metadata_version: Some(3),
    }
}

fn bodies() -> Vec<Body> {
    vec![
        Body::GetScannerElementsRequest(vec![
            "ScannerDescription".into(),
            "ScannerConfiguration".into(),
            "DefaultScanTicket".into(),
        ]),
        Body::GetScannerElementsResponse(ScannerElements {
            description: Some(ScannerDescription {
                name: "Virtual".into(),
                info: Some("test".into()),
                location: None,
            }),
            configuration: Some(ScannerConfiguration {
                settings: DeviceSettings {
                    formats: vec![Format::Png, Format::Jfif, Format::Other("x-raw".into())],
                    compression_quality: Some(Range { min: 1, max: 100 }),
                    content_types: vec!["Auto".into()],
                    size_auto_detect: Some(false),
                    auto_exposure: Some(true),
                    brightness: None,
                    contrast: Some(false),
                    scaling_width: Some(Range { min: 100, max: 100 }),
                    scaling_height: None,
                    rotations: vec![0, 90],
                },
                platen: Some(caps()),
                adf: Some(Adf {
                    supports_duplex: true,
                    front: Some(caps()),
                    back: None,
                }),
            }),
            status: Some(ScannerStatus {
                time: Some("2026-12-07T14:00:00Z".into()),
                state: ScannerState::Stopped,
                reasons: vec!["MediaJam".into()],
                conditions: vec![DeviceCondition {
                    name: "MediaJam".into(),
                    component: Some("ADF".into()),
                }],
            }),
            default_ticket: Some(ticket()),
        }),
        Body::ValidateScanTicketRequest(ticket()),
        Body::ValidateScanTicketResponse {
            valid_as_is: false,
            ticket: Some(ticket()),
        },
        Body::CreateScanJobRequest(ticket()),
        Body::CreateScanJobResponse(CreatedJob {
            job_id: 42,
            job_token: "tok-42".into(),
            front_image: Some(ImageInfo {
                pixels_per_line: 2480,
                number_of_lines: 3508,
                bytes_per_line: 7440,
            }),
            back_image: None,
            final_params: Some(ticket().params),
        }),
        Body::RetrieveImageRequest {
            job_id: 42,
            job_token: "tok-42".into(),
            document_name: Some("IMAGE000.JPG".into()),
        },
        Body::RetrieveImageResponse {
            href: "cid:image.1@scanwire".into(),
        },
        Body::CancelJobRequest { job_id: 42 },
        Body::CancelJobResponse,
        Body::GetJobElementsRequest {
            job_id: 42,
            names: vec!["JobStatus".into()],
        },
        Body::GetJobElementsResponse(JobElements {
            status: Some(JobStatus {
                job_id: 42,
                state: JobState::Aborted,
                reasons: vec!["ImageTransferError".into()],
                scans_completed: Some(1),
            }),
            ticket: Some(ticket()),
        }),
        Body::GetActiveJobsRequest,
        Body::GetActiveJobsResponse(vec![JobElements {
            status: Some(JobStatus {
                job_id: 1,
                state: JobState::Processing,
                reasons: vec![],
                scans_completed: None,
            }),
            ticket: None,
        }]),
        Body::Fault(Fault {
            code: "Sender".into(),
            subcode: Some("ClientErrorNoImagesAvailable".into()),
            reason: "The server has no images available to acquire.".into(),
            detail: Some("JobId 42".into()),
        }),
        Body::Probe(vec![QName::scan_device_type()]),
        Body::ProbeMatches(vec![target()]),
        Body::Hello(target()),
        Body::Bye(Target {
            address: target().address,
            ..Target::default()
        }),
        Body::Resolve(target().address),
        Body::ResolveMatches(vec![target()]),
        Body::TransferGet,
        Body::TransferGetResponse(DeviceMetadata {
            manufacturer: Some("Kyocera".into()),
            model: Some("ECOSYS M2040dn".into()),
            friendly_name: Some("Office".into()),
            hosted: vec![HostedService {
                addresses: vec!["http://192.0.2.5:5358/WSDScanner".into()],
                types: vec![QName::scanner_service_type()],
                service_id: Some("uri:scan".into()),
            }],
        }),
    ]
}

#[test]
fn every_body_round_trips() {
    for body in bodies() {
        let env = Envelope::new(
            Header::request("http://192.0.2.5:5358/WSDScanner", &body),
            body,
        );
        let xml = env.to_xml();
        let back = Envelope::from_xml(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{} does not read back: {e}\n{xml}", env.body.name()));
        assert_eq!(back, env, "{xml}");
    }
}

#[test]
fn an_app_sequence_round_trips_and_a_broken_one_is_ignored() {
    let body = Body::Hello(target());
    let mut header = Header::request(DISCOVERY_TO, &body);
    header.app_sequence = Some(AppSequence {
        instance_id: 1_765_000_000,
        message_number: 7,
    });
    let env = Envelope::new(header, body);
    let xml = env.to_xml();
    assert!(
        xml.contains("<wsd:AppSequence InstanceId=\"1765000000\" MessageNumber=\"7\"/>"),
        "{xml}"
    );
    assert_eq!(Envelope::from_xml(xml.as_bytes()).unwrap(), env);
    let broken = xml.replace("MessageNumber=\"7\"", "MessageNumber=\"seven\"");
    let back = Envelope::from_xml(broken.as_bytes()).unwrap();
    assert_eq!(back.header.app_sequence, None);
    assert_eq!(back.body, env.body);
}

#[test]
fn actions_follow_the_operation_names() {
    assert_eq!(
        Body::CreateScanJobRequest(ticket()).action(),
        format!("{SCAN_NS}/CreateScanJob")
    );
    assert_eq!(
        Body::CancelJobResponse.action(),
        format!("{SCAN_NS}/CancelJobResponse")
    );
    assert_eq!(
        Body::Probe(vec![]).action(),
        "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
    );
    assert_eq!(
        Body::TransferGet.action(),
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
    );
    assert_eq!(Body::Fault(Fault::default()).action(), FAULT_ACTION);
}

#[test]
fn replies_relate_to_their_request() {
    let body = Body::CancelJobRequest { job_id: 1 };
    let req = Header::request("http://h/s", &body);
    let reply = Header::reply(&req, &Body::CancelJobResponse);
    assert_eq!(reply.relates_to, req.message_id);
    assert_ne!(reply.message_id, req.message_id);
    assert!(req.message_id.as_deref().unwrap().starts_with("urn:uuid:"));
}

#[test]
fn other_prefixes_and_namespace_revisions_read_the_same() {
    // sane-airscan's prefixes (s:, a:, scan:), ReplyTo as text.
    let airscan = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:scan="http://schemas.microsoft.com/windows/2006/08/wdp/scan"><s:Header><a:MessageID>urn:uuid:1</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:ReplyTo>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:ReplyTo><a:Action>http://schemas.microsoft.com/windows/2006/08/wdp/scan/CancelJob</a:Action></s:Header><s:Body><scan:CancelJobRequest><scan:JobId>9</scan:JobId></scan:CancelJobRequest></s:Body></s:Envelope>"#;
    // Microsoft's examples: soap:/wsa:/wscn:, the 2006/01 scan namespace, whitespace in text.
    let microsoft = r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wscn="http://schemas.microsoft.com/windows/2006/01/wdp/scan">
  <soap:Header><wsa:MessageID>urn:uuid:1</wsa:MessageID></soap:Header>
  <soap:Body><wscn:CancelJobRequest><wscn:JobId>
     9
  </wscn:JobId></wscn:CancelJobRequest></soap:Body></soap:Envelope>"#;
    // Default namespaces everywhere, SOAP 1.1, WS-Addressing 1.0.
    let defaults = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:1</MessageID></Header><Body><CancelJobRequest xmlns="http://schemas.microsoft.com/windows/2006/08/wdp/scan"><JobId>9</JobId></CancelJobRequest></Body></Envelope>"#;
    for xml in [airscan, microsoft, defaults] {
        let env = Envelope::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(env.body, Body::CancelJobRequest { job_id: 9 }, "{xml}");
        assert_eq!(env.header.message_id.as_deref(), Some("urn:uuid:1"));
    }
    let env = Envelope::from_xml(airscan.as_bytes()).unwrap();
    assert_eq!(env.header.reply_to.as_deref(), Some(ANONYMOUS));
}

#[test]
fn faults_read_their_innermost_subcode() {
    let xml = r#"<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.microsoft.com/windows/2006/08/wdp/scan"><S:Body><S:Fault><S:Code><S:Value>S:Receiver</S:Value><S:Subcode><S:Value>w:ServerErrorNotAcceptingJobs</S:Value></S:Subcode></S:Code><S:Reason><S:Text xml:lang="en">busy</S:Text></S:Reason></S:Fault></S:Body></S:Envelope>"#;
    let env = Envelope::from_xml(xml.as_bytes()).unwrap();
    let err = env.into_result().unwrap_err();
    let Error::Fault(f) = &err else {
        panic!("{err}")
    };
    assert_eq!(f.code, "Receiver");
    assert!(f.is("ServerErrorNotAcceptingJobs"));
    assert_eq!(err.kind(), ErrorKind::Fault);
    assert!(err
        .to_string()
        .contains("Receiver/ServerErrorNotAcceptingJobs: busy"));
}

#[test]
fn probe_types_resolve_declared_prefixes() {
    let xml = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:sc="http://schemas.microsoft.com/windows/2006/08/wdp/scan"><s:Body><d:Probe><d:Types>sc:ScanDeviceType</d:Types></d:Probe></s:Body></s:Envelope>"#;
    let env = Envelope::from_xml(xml.as_bytes()).unwrap();
    assert_eq!(env.body, Body::Probe(vec![QName::scan_device_type()]));
}
