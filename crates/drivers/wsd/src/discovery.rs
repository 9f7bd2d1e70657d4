//! WS-Discovery: finds WS-Scan scanners on the local network and resolves their scan
//! service address with a WS-Transfer `Get` of the device's metadata.
//!
//! [`Probe`] and [`Collector`] do no I/O (a probe message; datagrams in, targets out);
//! [`discover`] multicasts the probe (UDP 239.255.255.250:3702 and `[ff02::c]:3702`), listens
//! for ProbeMatches and Hello/Bye for `wait`, then asks each device for its metadata over
//! HTTP. Nothing in Scanwire calls it unless asked: multicast happens only when a user (or a
//! test in its own network namespace) wants it.

use crate::errors::Operation;
use crate::http::Client;
use crate::protocol::{self, Request, Response};
use scanwire_core::device::DeviceError;
use scanwire_wsd::{Body, DeviceMetadata, Envelope, Header, QName, Target, DISCOVERY_TO};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The WS-Discovery port.
pub const PORT: u16 = 3702;
/// The IPv4 multicast group.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The IPv6 (link-local) multicast group.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xc);
/// Largest datagram read.
const DATAGRAM: usize = 65_536;

/// A Probe for scanners (`scan:ScanDeviceType`).
#[derive(Clone, Debug)]
pub struct Probe {
    /// Its MessageID; ProbeMatches relate to it.
    pub message_id: String,
    /// The datagram.
    pub bytes: Vec<u8>,
}

impl Probe {
    /// A new probe with a fresh MessageID.
    pub fn new() -> Probe {
        let body = Body::Probe(vec![QName::scan_device_type()]);
        let mut header = Header::request(DISCOVERY_TO, &body);
        header.reply_to = None;
        let message_id = header.message_id.clone().unwrap_or_default();
        Probe {
            message_id,
            bytes: Envelope::new(header, body).to_xml().into_bytes(),
        }
    }
}

impl Default for Probe {
    fn default() -> Self {
        Probe::new()
    }
}

/// Collects scanners from datagrams: ProbeMatches answering our probe, Hello announcing a
/// scanner, Bye withdrawing one. Anything else (other probes, garbage) is ignored.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    probe_id: String,
    targets: Vec<Target>,
}

impl Collector {
    /// A collector for the answers to `probe`.
    pub fn new(probe: &Probe) -> Collector {
        Collector {
            probe_id: probe.message_id.clone(),
            targets: Vec::new(),
        }
    }

    /// Takes one datagram; returns whether it changed the list.
    pub fn add(&mut self, datagram: &[u8]) -> bool {
        let Ok(env) = Envelope::from_xml(datagram) else {
            return false;
        };
        match env.body {
            Body::ProbeMatches(matches)
                if env.header.relates_to.as_deref() == Some(self.probe_id.as_str()) =>
            {
                let mut changed = false;
                for m in matches {
                    changed |= self.insert(m);
                }
                changed
            }
            Body::Hello(t) if t.is_scanner() => self.insert(t),
            Body::Bye(t) => {
                let before = self.targets.len();
                self.targets.retain(|x| x.address != t.address);
                before != self.targets.len()
            }
            _ => false,
        }
    }

    fn insert(&mut self, t: Target) -> bool {
        match self.targets.iter_mut().find(|x| x.address == t.address) {
            Some(x) if *x == t => false,
            Some(x) => {
                *x = t;
                true
            }
            None => {
                self.targets.push(t);
                true
            }
        }
    }

    /// The scanners found so far.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }
}

/// A scanner found on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The device id: `wsd:` + the scan service address.
    pub id: String,
    /// The scan service address (POSTed to for WS-Scan).
    pub service: String,
    /// The device's endpoint address (`urn:uuid:…`), stable across restarts.
    pub endpoint: String,
    /// From the metadata: manufacturer, model and friendly name.
    pub metadata: DeviceMetadata,
}

/// The WS-Transfer Get of `target`'s metadata.
pub fn metadata_request(target: &Target) -> Request {
    let body = Body::TransferGet;
    let mut header = Header::request(&target.address, &body);
    header.reply_to = Some(scanwire_wsd::ANONYMOUS.to_string());
    Request {
        op: Operation::Metadata,
        body: Envelope::new(header, body).to_xml().into_bytes(),
    }
}

/// Asks `target` for its metadata at each of its http transport addresses in turn; the
/// first that names a scan service wins.
pub fn resolve(target: &Target) -> Result<Found, DeviceError> {
    let mut last = None;
    for xaddr in target
        .xaddrs
        .iter()
        .filter(|x| x.to_ascii_lowercase().starts_with("http://"))
    {
        let client = Client::new(xaddr);
        let result = client
            .fetch(&metadata_request(target))
            .and_then(|(head, body)| {
                let r = Response {
                    status: head.status,
                    content_type: head.content_type.as_deref(),
                    body: &body,
                };
                match protocol::decode(Operation::Metadata, xaddr, &r)? {
                    (Body::TransferGetResponse(m), _) => Ok(m),
                    (other, _) => Err(crate::errors::bad_response(
                        Operation::Metadata,
                        format!("an unexpected <{}>", other.name()),
                    )),
                }
            });
        match result {
            Ok(m) => match m.scan_service().map(str::to_string) {
                Some(service) => {
                    return Ok(Found {
                        id: format!("wsd:{service}"),
                        service,
                        endpoint: target.address.clone(),
                        metadata: m,
                    })
                }
                None => {
                    last = Some(crate::errors::bad_response(
                        Operation::Metadata,
                        format!("metadata hosting no scan service (at {xaddr})"),
                    ))
                }
            },
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        crate::errors::bad_response(
            Operation::Metadata,
            format!(
                "no http transport address for {} (XAddrs: {:?})",
                target.address, target.xaddrs
            ),
        )
    }))
}

/// A socket on the WS-Discovery port in the IPv4 group, sharing the port with other
/// listeners (SO_REUSEADDR: each gets every multicast datagram).
pub fn group_listener() -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT)).into())?;
    let s: UdpSocket = s.into();
    s.join_multicast_v4(&GROUP_V4, &Ipv4Addr::UNSPECIFIED)?;
    Ok(s)
}

/// Probes for scanners, listens `wait` for answers and announcements, and resolves each
/// scanner's scan service. Devices that do not answer their metadata request are left out.
/// Fails only when no socket could be opened at all.
pub fn discover(wait: Duration) -> Result<Vec<Found>, DeviceError> {
    let probe = Probe::new();
    let mut collector = Collector::new(&probe);
    // Hello and Bye go to the group's port; listening there is best effort, and starts
    // before the probe so announcements it provokes are heard.
    let listener = group_listener().ok();
    let mut sockets = Vec::new();
    if let Ok(s) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)) {
        let _ = s.set_multicast_ttl_v4(1);
        if s.send_to(&probe.bytes, (GROUP_V4, PORT)).is_ok() {
            sockets.push(s);
        }
    }
    if let Ok(s) = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)) {
        if s.send_to(&probe.bytes, SocketAddr::from((GROUP_V6, PORT)))
            .is_ok()
        {
            sockets.push(s);
        }
    }
    if sockets.is_empty() {
        return Err(DeviceError::new(
            scanwire_core::device::DeviceErrorKind::Communication,
            "WS-Discovery: could not send a probe on IPv4 or IPv6 (no multicast route?)",
        ));
    }
    // Hello and Bye go to the group's port; listening there is best effort (another
    // WS-Discovery client may hold it).
    if let Ok(s) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)) {
        if s.join_multicast_v4(&GROUP_V4, &Ipv4Addr::UNSPECIFIED)
            .is_ok()
        {
            sockets.push(s);
        }
    }
    sockets.extend(listener);
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; DATAGRAM];
    while Instant::now() < deadline {
        for s in &sockets {
            let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                collector.add(&buf[..n]);
            }
        }
    }
    Ok(collector
        .targets()
        .iter()
        .filter_map(|t| resolve(t).ok())
        .collect())
}
