//! Finding eSCL scanners on the network: an mDNS (DNS-SD) browse for `_uscan._tcp` (plain
//! HTTP) and `_uscans._tcp` (HTTPS), and the eSCL TXT keys that turn an answer into a device
//! id (`rs`: the root path, `ty`: the model).
//!
//! Browsing sends multicast queries on every interface (loopback included, where a local
//! `scanwire serve --mdns` announces), so it runs only when a user asks for it.

use scanwire_core::device::DeviceInfo;
use std::time::{Duration, Instant};

/// Why a browse could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The mDNS responder could not start (no multicast socket).
    #[error("mDNS: {0}")]
    Daemon(String),
    /// A service type could not be browsed.
    #[error("mDNS browse {ty}: {reason}")]
    Browse {
        /// The DNS-SD service type.
        ty: &'static str,
        /// Why.
        reason: String,
    },
}

/// The DNS-SD service types of eSCL: plain HTTP, then HTTPS.
pub const SERVICE_TYPES: [&str; 2] = ["_uscan._tcp.local.", "_uscans._tcp.local."];

/// One scanner as its announcement describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement<'a> {
    /// The service type it answered for (one of [`SERVICE_TYPES`]).
    pub service_type: &'a str,
    /// The instance's full name (`Front desk._uscan._tcp.local.`).
    pub fullname: &'a str,
    /// An IPv4 address it resolved to.
    pub address: std::net::Ipv4Addr,
    /// Its port.
    pub port: u16,
    /// TXT `rs`: the eSCL root without slashes; missing means `eSCL`.
    pub rs: Option<&'a str>,
    /// TXT `ty`: the model, as clients show it.
    pub ty: Option<&'a str>,
}

/// The device an announcement stands for: `escl:http(s)://ADDR:PORT/ROOT`, named by its `ty`
/// key or else by its instance name.
pub fn device_info(a: &Announcement<'_>) -> DeviceInfo {
    let tls = a.service_type.starts_with("_uscans");
    let scheme = if tls { "https" } else { "http" };
    let rs = a.rs.unwrap_or("eSCL").trim_matches('/');
    let instance = a
        .fullname
        .strip_suffix(&format!(".{}", a.service_type))
        .unwrap_or(a.fullname);
    DeviceInfo {
        id: format!("escl:{scheme}://{}:{}/{rs}", a.address, a.port),
        vendor: String::new(),
        model: a.ty.unwrap_or(instance).to_string(),
        driver: "escl",
    }
}

/// eSCL scanners that announce themselves within `wait`, sorted by id, each once.
pub fn discover(wait: Duration) -> Result<Vec<DeviceInfo>, DiscoveryError> {
    use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};
    let daemon = ServiceDaemon::new().map_err(|e| DiscoveryError::Daemon(e.to_string()))?;
    let _ = daemon.enable_interface(IfKind::LoopbackV4);
    let mut receivers = Vec::new();
    for ty in SERVICE_TYPES {
        let rx = daemon.browse(ty).map_err(|e| DiscoveryError::Browse {
            ty,
            reason: e.to_string(),
        })?;
        receivers.push((ty, rx));
    }
    let mut found: Vec<DeviceInfo> = Vec::new();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        for (ty, rx) in &receivers {
            while let Ok(event) = rx.try_recv() {
                let ServiceEvent::ServiceResolved(s) = event else {
                    continue;
                };
                let Some(address) = s.get_addresses_v4().into_iter().min() else {
                    continue;
                };
                let d = device_info(&Announcement {
                    service_type: ty,
                    fullname: &s.fullname,
                    address,
                    port: s.port,
                    rs: s.get_property_val_str("rs"),
                    ty: s.get_property_val_str("ty"),
                });
                if !found.iter().any(|f| f.id == d.id) {
                    found.push(d);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.shutdown();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announcement<'a>(
        ty: &'a str,
        rs: Option<&'a str>,
        model: Option<&'a str>,
    ) -> Announcement<'a> {
        Announcement {
            service_type: ty,
            fullname: if ty.starts_with("_uscans") {
                "Front desk._uscans._tcp.local."
            } else {
                "Front desk._uscan._tcp.local."
            },
            address: [192, 0, 2, 7].into(),
            port: 8080,
            rs,
            ty: model,
        }
    }

    #[test]
    fn txt_keys_make_the_device_id_and_model() {
        let d = device_info(&announcement(
            SERVICE_TYPES[0],
            Some("/eSCL/"),
            Some("Acme 9000"),
        ));
        assert_eq!(d.id, "escl:http://192.0.2.7:8080/eSCL");
        assert_eq!(d.model, "Acme 9000");
        assert_eq!(d.driver, "escl");
        let d = device_info(&announcement(SERVICE_TYPES[1], Some("scan"), None));
        assert_eq!(d.id, "escl:https://192.0.2.7:8080/scan");
        assert_eq!(d.model, "Front desk", "the instance name without a ty key");
        let d = device_info(&announcement(SERVICE_TYPES[0], None, None));
        assert_eq!(
            d.id, "escl:http://192.0.2.7:8080/eSCL",
            "no rs key means /eSCL"
        );
    }
}
