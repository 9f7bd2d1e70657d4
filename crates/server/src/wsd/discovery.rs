//! WS-Discovery for the WS-Scan service, so Windows and sane-airscan find it without being
//! told its address: every device is a target (`urn:uuid:` of the device, types
//! `wsdp:Device scan:ScanDeviceType`, XAddrs its service address), announced with Hello
//! when the server starts and Bye when it stops; Probes for those types (or for any type)
//! get a ProbeMatches, a Resolve for one of the endpoints a ResolveMatches, each sent back
//! to the asker. The XAddr answers the WS-Transfer Get with the metadata naming the same
//! address as the scan service (`wsd::metadata`).
//!
//! Off unless [`ServerConfig::wsd_discovery`](crate::ServerConfig::wsd_discovery) asks for
//! it, as mDNS is: it joins the multicast group 239.255.255.250:3702 on the listening
//! address's interface only (when listening on an unspecified address, on the one interface
//! the system routes the group through: the kernel's choice for a join without an address).
//! IPv4 only; tests run it in network namespaces they create.

use crate::error::ServerError;
use crate::state::ServerState;
use scanwire_wsd::{AppSequence, Body, Envelope, Header, QName, Target, DISCOVERY_TO, DPWS_NS};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The WS-Discovery port.
const PORT: u16 = 3702;
/// The IPv4 multicast group.
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// How often the responder looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);

/// The targets the server is (one per device), for a listener at `addr` whose address
/// clients reach as `host`.
pub(crate) fn targets(state: &ServerState, host: IpAddr, port: u16) -> Vec<Target> {
    let scheme = if state.config().tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = SocketAddr::new(host, port);
    let default = state.default_device();
    state
        .devices()
        .iter()
        .map(|dev| {
            let path = if Arc::ptr_eq(dev, &default) {
                super::WSD_PATH.to_string()
            } else {
                format!("{}/{}", super::WSD_PATH, dev.segment)
            };
            Target {
                address: format!("urn:uuid:{}", dev.uuid),
                types: types(),
                scopes: Vec::new(),
                xaddrs: vec![format!("{scheme}://{host}{path}")],
                metadata_version: Some(1),
            }
        })
        .collect()
}

/// What every target is: a DPWS device (what Windows and sane-airscan probe for) that scans.
fn types() -> Vec<QName> {
    vec![QName::new(DPWS_NS, "Device"), QName::scan_device_type()]
}

/// Whether a Probe for `wanted` matches: no types (any device), or one of ours.
fn matches(wanted: &[QName]) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| types().contains(w))
}

/// The order of this responder's messages (WS-Discovery's AppSequence): the instance is the
/// start time in seconds, so it grows across restarts; messages are numbered from 1.
pub(crate) struct Sequence {
    instance_id: u64,
    next: AtomicU64,
}

impl Sequence {
    pub(crate) fn new() -> Sequence {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        Sequence {
            instance_id: now,
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> AppSequence {
        AppSequence {
            instance_id: self.instance_id,
            message_number: self.next.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// The answer to one datagram, if it asks for us: ProbeMatches for a matching Probe,
/// ResolveMatches for a Resolve of one of `targets`. Anything else (Hello, Bye, our own
/// announcements looped back, garbage) gets none.
pub(crate) fn answer(datagram: &[u8], targets: &[Target], seq: &Sequence) -> Option<Vec<u8>> {
    let env = Envelope::from_xml(datagram).ok()?;
    let body = match &env.body {
        Body::Probe(wanted) if matches(wanted) => Body::ProbeMatches(targets.to_vec()),
        Body::Resolve(address) => Body::ResolveMatches(vec![targets
            .iter()
            .find(|t| &t.address == address)?
            .clone()]),
        _ => return None,
    };
    let mut header = Header::reply(&env.header, &body);
    header.app_sequence = Some(seq.next());
    Some(Envelope::new(header, body).to_xml().into_bytes())
}

/// A Hello or Bye for `target`, to the group.
fn announcement(target: &Target, hello: bool, seq: &Sequence) -> Vec<u8> {
    let body = if hello {
        Body::Hello(target.clone())
    } else {
        Body::Bye(Target {
            address: target.address.clone(),
            types: target.types.clone(),
            ..Target::default()
        })
    };
    let mut header = Header::request(DISCOVERY_TO, &body);
    header.reply_to = None;
    header.app_sequence = Some(seq.next());
    Envelope::new(header, body).to_xml().into_bytes()
}

/// The running responder: says Bye and stops when dropped.
pub(crate) struct Discovery {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Discovery {
    /// Joins the group on the interface of `addr` (the listening address), says Hello for
    /// every device and answers Probe and Resolve until dropped.
    pub(crate) fn start(state: &ServerState, addr: SocketAddr) -> Result<Discovery, ServerError> {
        let err = |what: &str, e: std::io::Error| ServerError::WsDiscovery(format!("{what}: {e}"));
        let interface = match addr.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) if ip.is_unspecified() => Ipv4Addr::UNSPECIFIED,
            IpAddr::V6(ip) => {
                return Err(ServerError::WsDiscovery(format!(
                    "the listening address {ip} is IPv6; WS-Discovery is announced on IPv4 only \
                     (listen on an IPv4 address or 0.0.0.0)"
                )))
            }
        };
        let socket = (|| {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            // Other WS-Discovery peers on this host (wsdd, a client) share the port.
            s.set_reuse_address(true)?;
            s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT)).into())?;
            s.join_multicast_v4(&GROUP, &interface)?;
            if !interface.is_unspecified() {
                s.set_multicast_if_v4(&interface)?;
            }
            s.set_multicast_ttl_v4(1)?;
            s.set_read_timeout(Some(POLL))?;
            Ok::<UdpSocket, std::io::Error>(s.into())
        })()
        .map_err(|e| err(&format!("cannot join {GROUP}:{PORT} on {interface}"), e))?;
        // The address clients reach: the listening one, else the interface's that the group
        // is routed through.
        let host = if interface.is_unspecified() {
            route_to(SocketAddr::from((GROUP, PORT))).unwrap_or(IpAddr::V4(interface))
        } else {
            IpAddr::V4(interface)
        };
        let targets = targets(state, host, addr.port());
        let seq = Sequence::new();
        for t in &targets {
            socket
                .send_to(&announcement(t, true, &seq), (GROUP, PORT))
                .map_err(|e| err("cannot send Hello", e))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ws-discovery".into())
            .spawn(move || respond(&socket, &targets, &seq, &flag))
            .map_err(|e| err("cannot start the responder", e))?;
        Ok(Discovery {
            stop,
            thread: Some(thread),
        })
    }
}

/// The local address the system would use to reach `to`.
fn route_to(to: SocketAddr) -> Option<IpAddr> {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect(to).ok()?;
    Some(s.local_addr().ok()?.ip())
}

/// Answers until `stop`, then says Bye.
fn respond(socket: &UdpSocket, targets: &[Target], seq: &Sequence, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if let Some(reply) = answer(&buf[..n], targets, seq) {
            let _ = socket.send_to(&reply, from);
        }
    }
    for t in targets {
        let _ = socket.send_to(&announcement(t, false, seq), (GROUP, PORT));
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerConfig;
    use scanwire_core::transfer::share;
    use scanwire_virtual::VirtualDevice;

    fn state() -> ServerState {
        ServerState::new(
            ServerConfig {
                wsd: true,
                wsd_discovery: true,
                ..ServerConfig::default()
            },
            vec![
                ("virtual".into(), share(Box::new(VirtualDevice::new()))),
                ("second".into(), share(Box::new(VirtualDevice::new()))),
            ],
        )
        .unwrap()
    }

    fn probe(types: Vec<QName>) -> Vec<u8> {
        let body = Body::Probe(types);
        Envelope::new(Header::request(DISCOVERY_TO, &body), body)
            .to_xml()
            .into_bytes()
    }

    #[test]
    fn probes_for_devices_or_scanners_are_answered_with_every_service_address() {
        let state = state();
        let targets = targets(&state, "192.0.2.7".parse().unwrap(), 8090);
        let seq = Sequence::new();
        let xaddrs: Vec<&str> = targets.iter().map(|t| t.xaddrs[0].as_str()).collect();
        assert_eq!(
            xaddrs,
            [
                "http://192.0.2.7:8090/WSDScanner",
                "http://192.0.2.7:8090/WSDScanner/second"
            ]
        );
        for wanted in [
            vec![],
            vec![QName::scan_device_type()],
            vec![QName::new(DPWS_NS, "Device")],
        ] {
            let request = probe(wanted.clone());
            let reply = answer(&request, &targets, &seq).unwrap_or_else(|| panic!("{wanted:?}"));
            let env = Envelope::from_xml(&reply).unwrap();
            let sent = Envelope::from_xml(&request).unwrap();
            assert_eq!(env.header.relates_to, sent.header.message_id);
            // Numbered in order, one instance.
            let a = env.header.app_sequence.expect("an AppSequence");
            assert_eq!(a.instance_id, seq.instance_id);
            assert!(a.message_number >= 1);
            assert_eq!(env.body, Body::ProbeMatches(targets.clone()));
            let Body::ProbeMatches(m) = env.body else {
                unreachable!()
            };
            assert!(m.iter().all(Target::is_scanner));
        }
        let printers = QName::new(
            "http://schemas.microsoft.com/windows/2006/08/wdp/print",
            "PrintDeviceType",
        );
        assert!(answer(&probe(vec![printers]), &targets, &seq).is_none());
        assert!(answer(b"<not xml", &targets, &seq).is_none());
        // Our own Hello, looped back, is not answered.
        assert!(answer(&announcement(&targets[0], true, &seq), &targets, &seq).is_none());
    }

    #[test]
    fn a_resolve_of_one_of_ours_gets_its_addresses() {
        let state = state();
        let targets = targets(&state, "192.0.2.7".parse().unwrap(), 8090);
        let seq = Sequence::new();
        let body = Body::Resolve(targets[1].address.clone());
        let request = Envelope::new(Header::request(DISCOVERY_TO, &body), body)
            .to_xml()
            .into_bytes();
        let env = Envelope::from_xml(&answer(&request, &targets, &seq).unwrap()).unwrap();
        assert_eq!(env.body, Body::ResolveMatches(vec![targets[1].clone()]));
        let body = Body::Resolve("urn:uuid:someone-else".into());
        let request = Envelope::new(Header::request(DISCOVERY_TO, &body), body)
            .to_xml()
            .into_bytes();
        assert!(answer(&request, &targets, &seq).is_none());
        // Bye carries the address (and types), no transport addresses.
        let bye = Envelope::from_xml(&announcement(&targets[0], false, &seq)).unwrap();
        let Body::Bye(t) = bye.body else {
            panic!("{bye:?}")
        };
        assert_eq!(t.address, targets[0].address);
        assert!(t.xaddrs.is_empty());
    }
}
