//! WS-Discovery: the I/O-free collector; the WS-Transfer resolve over loopback HTTP; and
//! `discover` itself, multicasting only inside a network namespace this test creates (the
//! test binary re-runs itself there), never on the machine's interfaces.

mod common;

use common::{jpeg, listen, reply, Answer, Plan, Responder};
use scanwire_wsd::*;
use scanwire_wsd_client::discovery::{resolve, Collector, Probe, GROUP_V4, PORT};
use std::net::UdpSocket;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn target(address: &str, xaddr: &str) -> Target {
    Target {
        address: address.into(),
        types: vec![QName::scan_device_type()],
        scopes: vec![],
        xaddrs: vec![xaddr.into()],
        metadata_version: Some(1),
    }
}

fn datagram(header: Header, body: Body) -> Vec<u8> {
    Envelope::new(header, body).to_xml().into_bytes()
}

#[test]
fn the_collector_keeps_answers_and_announcements() {
    let probe = Probe::new();
    let sent = Envelope::from_xml(&probe.bytes).unwrap();
    assert_eq!(sent.body, Body::Probe(vec![QName::scan_device_type()]));
    assert_eq!(sent.header.to.as_deref(), Some(DISCOVERY_TO));
    let mut c = Collector::new(&probe);
    let answer = |relates: &str, t: Target| {
        datagram(
            Header {
                relates_to: Some(relates.into()),
                ..Header::default()
            },
            Body::ProbeMatches(vec![t]),
        )
    };
    assert!(c.add(&answer(
        &probe.message_id,
        target("urn:uuid:a", "http://192.0.2.1/")
    )));
    assert!(!c.add(&answer(
        "urn:uuid:someone-else",
        target("urn:uuid:x", "http://192.0.2.9/")
    )));
    assert!(!c.add(b"not xml at all"));
    let printer = Target {
        types: vec![QName::new(
            "http://schemas.microsoft.com/windows/2006/08/wdp/print",
            "PrintDeviceType",
        )],
        ..target("urn:uuid:p", "http://192.0.2.3/")
    };
    assert!(!c.add(&datagram(Header::default(), Body::Hello(printer))));
    assert!(c.add(&datagram(
        Header::default(),
        Body::Hello(target("urn:uuid:b", "http://192.0.2.2/"))
    )));
    assert!(c.add(&datagram(
        Header::default(),
        Body::Bye(Target {
            address: "urn:uuid:a".into(),
            ..Target::default()
        })
    )));
    let left: Vec<&str> = c.targets().iter().map(|t| t.address.as_str()).collect();
    assert_eq!(left, ["urn:uuid:b"]);
}

/// Answers a WS-Transfer Get with metadata hosting a scan service at `service`.
fn metadata_server(service: String) -> String {
    listen(Arc::new(move |body: Vec<u8>| {
        let env = Envelope::from_xml(&body).unwrap();
        assert_eq!(env.body, Body::TransferGet);
        reply(
            &env.header,
            Body::TransferGetResponse(DeviceMetadata {
                manufacturer: Some("Scanwire".into()),
                model: Some("Test MFP".into()),
                friendly_name: Some("Office".into()),
                hosted: vec![
                    HostedService {
                        addresses: vec!["http://127.0.0.1:1/printer".into()],
                        types: vec![QName::new(
                            "http://schemas.microsoft.com/windows/2006/08/wdp/print",
                            "PrinterServiceType",
                        )],
                        service_id: None,
                    },
                    HostedService {
                        addresses: vec![service.clone()],
                        types: vec![QName::scanner_service_type()],
                        service_id: Some("uri:scan".into()),
                    },
                ],
            }),
        )
    }))
}

#[test]
fn resolve_finds_the_scan_service_in_the_metadata() {
    let xaddr = metadata_server("http://127.0.0.1:5358/WSDScanner".into());
    let found = resolve(&target("urn:uuid:a", &xaddr)).unwrap();
    assert_eq!(found.id, "wsd:http://127.0.0.1:5358/WSDScanner");
    assert_eq!(found.endpoint, "urn:uuid:a");
    assert_eq!(found.metadata.model.as_deref(), Some("Test MFP"));
    let e = resolve(&target("urn:uuid:a", "https://192.0.2.1/")).unwrap_err();
    assert!(e.detail().contains("no http transport address"), "{e}");
}

const CHILD: &str = "SCANWIRE_WSD_NETNS_CHILD";

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A namespace with only its loopback, up and multicast-capable; deleted on drop.
struct Netns(String);

impl Netns {
    fn new() -> Result<Netns, String> {
        let ns = Netns(format!("sw-wsd-{}", std::process::id()));
        ip(&["netns", "add", &ns.0])?;
        ip(&["-n", &ns.0, "link", "set", "lo", "up"])?;
        ip(&["-n", &ns.0, "link", "set", "lo", "multicast", "on"])?;
        ip(&["-n", &ns.0, "route", "add", "224.0.0.0/4", "dev", "lo"])?;
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.0]);
    }
}

#[test]
fn discover_in_a_private_network_namespace() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let ns = match Netns::new() {
        Ok(ns) => ns,
        Err(e) => {
            scanwire_testkit::peer_missing(&format!("cannot create a network namespace ({e})"));
            return;
        }
    };
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(exe)
        .args([
            "--exact",
            "discover_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The child really ran (not filtered out).
    assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
}

/// Runs inside the namespace: a fake device answers the probe, announces a second device
/// with Hello and a third one it then withdraws with Bye; `discover` must find exactly the
/// first two, resolve their scan service, and a scan from it must work.
#[test]
fn discover_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let scanner = Responder::start(Plan {
        images: vec![Answer::Image(jpeg(16, 16), "image/jpeg")],
        ..Plan::default()
    });
    let xaddr = metadata_server(scanner.url.clone());
    let device = scanwire_wsd_client::discovery::group_listener().unwrap();
    let x = xaddr.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        let send = |d: &UdpSocket, to: std::net::SocketAddr, h: Header, b: Body| {
            d.send_to(&datagram(h, b), to).unwrap();
        };
        loop {
            let (n, from) = device.recv_from(&mut buf).unwrap();
            let Ok(env) = Envelope::from_xml(&buf[..n]) else {
                continue;
            };
            let Body::Probe(types) = &env.body else {
                continue;
            };
            assert!(types.contains(&QName::scan_device_type()));
            let matches = Body::ProbeMatches(vec![target("urn:uuid:probed", &x)]);
            send(&device, from, Header::reply(&env.header, &matches), matches);
            let group = (GROUP_V4, PORT).into();
            for (addr, bye) in [
                ("urn:uuid:hello", false),
                ("urn:uuid:gone", false),
                ("urn:uuid:gone", true),
            ] {
                let t = target(addr, &x);
                let body = if bye { Body::Bye(t) } else { Body::Hello(t) };
                let h = Header::request(DISCOVERY_TO, &body);
                send(&device, group, h, body);
            }
        }
    });
    let mut found = scanwire_wsd_client::discover(Duration::from_millis(1500)).unwrap();
    found.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    let endpoints: Vec<&str> = found.iter().map(|f| f.endpoint.as_str()).collect();
    assert_eq!(endpoints, ["urn:uuid:hello", "urn:uuid:probed"]);
    for f in &found {
        assert_eq!(f.id, format!("wsd:{}", scanner.url));
    }
    let (outcome, rec) = scanner.scan(
        &scanwire_core::device::ScanRequest {
            encoding: Some(scanwire_core::device::Encoding::Jpeg),
            ..Default::default()
        },
        scanwire_core::transfer::Script::default(),
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(rec.complete_pages().len(), 1);
    println!(
        "found {:?}",
        found.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
}
