//! DNS-SD over mDNS: each served device announced as `_uscan._tcp` (`_uscans._tcp` with
//! TLS), so clients find it without being told its URL. Off unless
//! [`ServerConfig::mdns`](crate::ServerConfig::mdns) asks for it.
//!
//! The TXT keys are the set AirSane publishes, which works with Apple, Windows, Mopria and
//! sane-airscan (which reads `ty`, `uuid` and `rs`; NAPS2 requires the same three):
//! `txtvers`, `vers`, `ty`, `uuid`, `rs` (no leading slash: Windows), `pdl`, `cs`, `is`,
//! `duplex`. `adminurl` and `representation` are left out: this server has no web page and
//! no icon, and a key pointing at nothing is worse than none.
//!
//! Where it is announced: on the interface of the listening address only; listening on an
//! unspecified address (`0.0.0.0`, `[::]`) announces on every interface with every address.

use crate::config::MdnsConfig;
use crate::error::ServerError;
use crate::mapping::FORMATS;
use crate::state::ServerState;
use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
use scanwire_core::device::{ColorMode, Source};
use std::net::SocketAddr;
use std::time::Duration;

/// One DNS-SD service the server announces (one per device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// `_uscan._tcp.local.` or `_uscans._tcp.local.`.
    pub service_type: String,
    /// The instance name (at most 63 bytes).
    pub instance: String,
    /// The port.
    pub port: u16,
    /// TXT key/value pairs, in order.
    pub txt: Vec<(String, String)>,
}

/// DNS-SD instance names are one DNS label.
const MAX_LABEL: usize = 63;

/// What the server would announce for its devices on `port`.
pub fn announcements(state: &ServerState, port: u16) -> Vec<Announcement> {
    let config = state.config();
    let service_type = if config.tls.is_some() {
        "_uscans._tcp.local."
    } else {
        "_uscan._tcp.local."
    };
    let base_name = config.mdns.as_ref().and_then(|m| m.name.clone());
    state
        .devices()
        .iter()
        .zip(state.endpoints())
        .map(|(dev, ep)| {
            let model = dev.make_and_model.clone();
            let base = base_name.clone().unwrap_or_else(|| model.clone());
            // The default device is at /eSCL, the path clients try first.
            let (instance, rs) = if ep.default {
                (base, "eSCL".to_string())
            } else {
                (
                    format!("{base} ({})", dev.segment),
                    format!("eSCL/{}", dev.segment),
                )
            };
            let sources: Vec<Source> = dev.caps.sources.iter().map(|s| s.source).collect();
            let mut is = Vec::new();
            if sources.contains(&Source::Flatbed) {
                is.push("platen");
            }
            if sources.iter().any(|s| s.is_feeder()) {
                is.push("adf");
            }
            let modes: Vec<ColorMode> = dev
                .caps
                .sources
                .iter()
                .flat_map(|s| s.modes.iter().copied())
                .collect();
            let mut cs = Vec::new();
            for (mode, name) in [
                (ColorMode::Color, "color"),
                (ColorMode::Gray, "grayscale"),
                (ColorMode::Lineart, "binary"),
            ] {
                if modes.contains(&mode) {
                    cs.push(name);
                }
            }
            let duplex = sources.contains(&Source::FeederDuplex);
            let mut pdl: Vec<&str> = FORMATS.to_vec();
            pdl.sort_unstable();
            Announcement {
                service_type: service_type.to_string(),
                instance: truncate_label(&instance),
                port,
                txt: vec![
                    ("txtvers".into(), "1".into()),
                    ("vers".into(), "2.63".into()),
                    ("ty".into(), model),
                    ("uuid".into(), ep.uuid.clone()),
                    ("rs".into(), rs),
                    ("pdl".into(), pdl.join(",")),
                    ("cs".into(), cs.join(",")),
                    ("is".into(), is.join(",")),
                    ("duplex".into(), if duplex { "T" } else { "F" }.into()),
                ],
            }
        })
        .collect()
}

fn truncate_label(s: &str) -> String {
    let mut end = s.len().min(MAX_LABEL);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The host name to announce, as a `.local.` name.
fn host_name(config: &MdnsConfig) -> String {
    let host = config.host.clone().unwrap_or_else(|| {
        let system = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .unwrap_or_default();
        let system: String = system
            .trim()
            .split('.')
            .next()
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        if system.is_empty() {
            "scanwire".to_string()
        } else {
            format!("scanwire-{system}")
        }
    });
    format!(
        "{}.local.",
        host.trim_end_matches('.').trim_end_matches(".local")
    )
}

/// The running announcement: withdrawn (DNS-SD goodbye packets) when dropped.
pub(crate) struct Announcer {
    daemon: ServiceDaemon,
    names: Vec<String>,
}

/// How long withdrawing waits for the goodbye packets to go out.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

impl Announcer {
    /// Announces every device of `state`, reachable at `addr`.
    pub(crate) fn start(state: &ServerState, addr: SocketAddr) -> Result<Announcer, ServerError> {
        let config = state.config().mdns.clone().unwrap_or_default();
        let err = |what: &str, e: mdns_sd::Error| ServerError::Mdns(format!("{what}: {e}"));
        let daemon = ServiceDaemon::new().map_err(|e| err("cannot start the responder", e))?;
        let ip = addr.ip();
        if !ip.is_unspecified() {
            // Only where the server can be reached.
            daemon
                .disable_interface(IfKind::All)
                .map_err(|e| err("cannot select interfaces", e))?;
            daemon
                .enable_interface(IfKind::Addr(ip))
                .map_err(|e| err("cannot select interfaces", e))?;
        }
        let host = host_name(&config);
        let mut announcer = Announcer {
            daemon,
            names: Vec::new(),
        };
        for a in announcements(state, addr.port()) {
            let info = if ip.is_unspecified() {
                ServiceInfo::new(&a.service_type, &a.instance, &host, "", a.port, &a.txt[..])
                    .map(ServiceInfo::enable_addr_auto)
            } else {
                ServiceInfo::new(&a.service_type, &a.instance, &host, ip, a.port, &a.txt[..])
            }
            .map_err(|e| err(&format!("bad service record for {}", a.instance), e))?;
            let name = info.get_fullname().to_string();
            announcer
                .daemon
                .register(info)
                .map_err(|e| err(&format!("cannot announce {}", a.instance), e))?;
            announcer.names.push(name);
        }
        Ok(announcer)
    }

    /// The announced service names (`<instance>._uscan._tcp.local.`).
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        for name in self.names.drain(..) {
            if let Ok(done) = self.daemon.unregister(&name) {
                let _ = done.recv_timeout(GOODBYE_WAIT);
            }
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(GOODBYE_WAIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_host_names() {
        let long = "é".repeat(40);
        let t = truncate_label(&long);
        assert!(t.len() <= MAX_LABEL && long.starts_with(&t));
        let c = MdnsConfig {
            name: None,
            host: Some("scanner".into()),
        };
        assert_eq!(host_name(&c), "scanner.local.");
        let c = MdnsConfig {
            name: None,
            host: Some("scanner.local".into()),
        };
        assert_eq!(host_name(&c), "scanner.local.");
        assert!(host_name(&MdnsConfig::default()).ends_with(".local."));
    }
}
