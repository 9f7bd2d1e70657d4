//! Which drivers exist and how a device id finds its driver; `scanwire devices add`,
//! `remove` and `--discover`.

use crate::args::{DevicesAction, DevicesArgs};
use crate::config::{Config, EsclEntry};
use anyhow::{anyhow, bail, Result};
use scanwire_core::device::{Device, DeviceInfo, Driver};
use scanwire_escl_client::protocol::Base;
use std::time::{Duration, Instant};

/// Every driver by name (its device-id prefix), the default (virtual) first.
const DRIVERS: &[&str] = &[
    "virtual",
    "sane",
    "escl",
    #[cfg(windows)]
    "wia",
];

/// The driver named `name`; the eSCL driver also lists the scanners added in `config`.
fn driver(name: &str, config: &Config) -> Option<Box<dyn Driver>> {
    Some(match name {
        "virtual" => Box::new(scanwire_virtual::VirtualDriver::new()),
        "sane" => Box::new(scanwire_sane::SaneDriver::new()),
        "escl" => Box::new(scanwire_escl_client::EsclDriver::with_devices(
            config.escl.iter().map(|e| e.url.clone()),
        )),
        #[cfg(windows)]
        "wia" => Box::new(scanwire_com::driver::WiaDriver),
        _ => return None,
    })
}

/// What each driver found, or why it found nothing; with `discover`, also the eSCL scanners
/// that answered an mDNS browse within that time.
pub fn list(discover: Option<Duration>) -> Vec<(&'static str, Result<Vec<DeviceInfo>, String>)> {
    let config = Config::load();
    let added = config.as_ref().cloned().unwrap_or_default();
    let mut found: Vec<(&'static str, Result<Vec<DeviceInfo>, String>)> = DRIVERS
        .iter()
        .filter_map(|name| driver(name, &added))
        .map(|d| (d.name(), d.devices().map_err(|e| e.to_string())))
        .collect();
    // Added scanners show their name.
    for (_, list) in found.iter_mut() {
        for d in list.iter_mut().flatten() {
            if let Some(e) = added
                .escl
                .iter()
                .find(|e| d.id == format!("escl:{}", e.url))
            {
                d.model = format!("{} (added as `{}`)", d.model, e.name);
            }
        }
    }
    if let Err(e) = config {
        found.push(("config", Err(format!("{e:#}"))));
    }
    if let Some(wait) = discover {
        found.push(("escl (mDNS)", discover_escl(wait)));
    }
    found
}

/// Opens a device by id: `virtual`, `sane:<name>`, `escl:<url>`, an eSCL URL itself
/// (`http://HOST:PORT/eSCL`), or the name of an added scanner. Only the driver the id names
/// is constructed: the others would cost start-up time for nothing.
pub fn open(id: &str) -> Result<Box<dyn Device>> {
    let config = Config::load()?;
    let id = match config.find(id) {
        Some(e) => format!("escl:{}", e.url),
        None => id.to_string(),
    };
    let prefix = match id.split(':').next().unwrap_or(&id) {
        "http" | "https" => "escl",
        p => p,
    };
    let Some(driver) = driver(prefix, &config) else {
        return Err(anyhow!(
            "unknown device `{id}`: device ids start with one of {}, or name an added scanner (see `scanwire devices`)",
            DRIVERS.join(", ")
        ));
    };
    driver
        .open(&id)
        .map_err(|e| anyhow!("cannot open {id}: {e}"))
}

/// `scanwire devices [add|remove] ...`.
pub fn command(args: &DevicesArgs) -> Result<i32> {
    match &args.action {
        None => crate::caps::devices(args),
        Some(DevicesAction::Add(a)) => {
            if a.kind != "escl" {
                return Err(crate::scan::Usage(format!(
                    "devices add {}: unknown kind; allowed: escl",
                    a.kind
                ))
                .into());
            }
            let entry = add(&a.url, a.name.as_deref()).map_err(usage)?;
            outln!("added {} = {}", entry.name, entry.url);
            Ok(0)
        }
        Some(DevicesAction::Remove(a)) => {
            let entry = remove(&a.device).map_err(usage)?;
            outln!("removed {} = {}", entry.name, entry.url);
            Ok(0)
        }
    }
}

fn usage(e: anyhow::Error) -> anyhow::Error {
    crate::scan::Usage(format!("{e:#}")).into()
}

/// The canonical form of an eSCL URL (`http(s)://HOST:PORT/ROOT`), or why it is not one.
fn canonical(url: &str) -> Result<String> {
    let base = Base::parse(scanwire_escl_client::url_of(url)).map_err(|e| anyhow!("{e}"))?;
    Ok(format!("{}{}", base.origin, base.root))
}

/// Adds a scanner; the name defaults to its host and port.
fn add(url: &str, name: Option<&str>) -> Result<EsclEntry> {
    let url = canonical(url)?;
    let name = match name {
        Some(n) => n.trim().to_string(),
        None => url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or("escl")
            .replace(':', "-"),
    };
    let bad = |why: &str| anyhow!("--name {name:?}: {why}");
    if name.is_empty() {
        return Err(bad("a name must not be empty"));
    }
    if name.contains(':') || name.contains('/') || name.chars().any(char::is_whitespace) {
        return Err(bad(
            "a name must not contain ':', '/' or spaces (device ids use them)",
        ));
    }
    if name.eq_ignore_ascii_case("virtual") {
        return Err(bad("`virtual` is the virtual scanner's id"));
    }
    let mut config = Config::load()?;
    if let Some(e) = config.find(&name) {
        bail!(
            "a device named {} is already added ({}); remove it first or pick another --name",
            e.name,
            e.url
        );
    }
    if let Some(e) = config.escl.iter().find(|e| e.url == url) {
        bail!("{url} is already added as {}", e.name);
    }
    let entry = EsclEntry { name, url };
    config.escl.push(entry.clone());
    config.save()?;
    Ok(entry)
}

/// Removes a scanner by name or URL.
fn remove(which: &str) -> Result<EsclEntry> {
    let mut config = Config::load()?;
    let url = canonical(which).ok();
    let Some(i) = config
        .escl
        .iter()
        .position(|e| e.name.eq_ignore_ascii_case(which) || Some(&e.url) == url.as_ref())
    else {
        let names: Vec<&str> = config.escl.iter().map(|e| e.name.as_str()).collect();
        bail!(
            "no added device is named or located at `{which}`; added: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let entry = config.escl.remove(i);
    config.save()?;
    Ok(entry)
}

/// eSCL scanners announcing themselves over mDNS (`_uscan._tcp`, plain HTTP, and
/// `_uscans._tcp`, HTTPS: `escl:https://…` ids), browsed for `wait`. Only when asked (`--discover`): browsing
/// sends multicast queries on every interface, including loopback (a local `scanwire serve`
/// announces there).
fn discover_escl(wait: Duration) -> Result<Vec<DeviceInfo>, String> {
    use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};
    let daemon = ServiceDaemon::new().map_err(|e| format!("mDNS: {e}"))?;
    let _ = daemon.enable_interface(IfKind::LoopbackV4);
    let mut found: Vec<DeviceInfo> = Vec::new();
    let mut receivers = Vec::new();
    for ty in ["_uscan._tcp.local.", "_uscans._tcp.local."] {
        receivers.push((
            ty,
            daemon
                .browse(ty)
                .map_err(|e| format!("mDNS browse {ty}: {e}"))?,
        ));
    }
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        for (ty, rx) in &receivers {
            while let Ok(event) = rx.try_recv() {
                let ServiceEvent::ServiceResolved(s) = event else {
                    continue;
                };
                let tls = ty.starts_with("_uscans");
                let Some(addr) = s.get_addresses_v4().into_iter().min() else {
                    continue;
                };
                // TXT `rs` is the root without slashes ("eSCL"); missing means /eSCL.
                let rs = s
                    .get_property_val_str("rs")
                    .unwrap_or("eSCL")
                    .trim_matches('/')
                    .to_string();
                let scheme = if tls { "https" } else { "http" };
                let id = format!("escl:{scheme}://{addr}:{}/{rs}", s.port);
                if found.iter().any(|d| d.id == id) {
                    continue;
                }
                let instance = s
                    .fullname
                    .strip_suffix(&format!(".{ty}"))
                    .unwrap_or(&s.fullname)
                    .to_string();
                let model = s
                    .get_property_val_str("ty")
                    .map(str::to_string)
                    .unwrap_or_else(|| instance.clone());
                found.push(DeviceInfo {
                    id,
                    vendor: String::new(),
                    model,
                    driver: "escl",
                });
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.shutdown();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}
