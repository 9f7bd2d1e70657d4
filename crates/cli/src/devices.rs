//! `scanwire devices` (list, `add`, `remove`, `--discover`) and [`open`]: a device id or the
//! name of an added scanner to an open device, through the driver registry
//! (`scanwire-registry`, where the drivers are).

use crate::args::{DevicesAction, DevicesArgs};
use crate::config::{Config, Entry, Kind};
use crate::exit::usage;
use anyhow::{anyhow, bail, Result};
use scanwire_core::device::Device;
use scanwire_escl_client::protocol::Base;
use scanwire_wsd_client::protocol::Service;
use serde_json::{json, Value};
use std::time::Duration;

/// The registry's view of the added devices.
fn registry_config(config: &Config) -> scanwire_registry::Config {
    scanwire_registry::Config {
        escl: config.escl.iter().map(|e| e.url.clone()).collect(),
        wsd: config.wsd.iter().map(|e| e.url.clone()).collect(),
    }
}

/// Refuses (usage error, 2) an id that is neither an added scanner's name nor taken by any
/// driver, without opening anything: what a driver host would only find out in its own
/// process.
pub fn check_driver(id: &str) -> Result<()> {
    let config = Config::load().map_err(usage)?;
    if config.find(id).is_some()
        || scanwire_registry::entry(scanwire_registry::driver_name(id)).is_some()
    {
        return Ok(());
    }
    Err(usage(format!(
        "{}, or name an added scanner (see `scanwire devices`)",
        scanwire_registry::OpenError::UnknownDriver { id: id.to_string() }
    )))
}

/// Opens a device by id (see `scanwire_registry::open`) or by the name of an added scanner.
/// An id no driver knows, or a device its driver says does not exist, is a usage error (2);
/// a device that fails to open (unreachable, libsane missing) is a failure (1).
pub fn open(id: &str) -> Result<Box<dyn Device>> {
    let config = Config::load().map_err(usage)?;
    let id = match config.find(id) {
        Some((kind, e)) => kind.id(&e.url),
        None => id.to_string(),
    };
    scanwire_registry::open(&id, &registry_config(&config)).map_err(|e| {
        if e.is_bad_id() {
            let hint = match e {
                scanwire_registry::OpenError::UnknownDriver { .. } => {
                    ", or name an added scanner (see `scanwire devices`)"
                }
                _ => "",
            };
            usage(format!("{e}{hint}"))
        } else {
            anyhow!("{e}")
        }
    })
}

/// `scanwire devices`: what every driver found (and, with `--discover`, the network).
fn list(args: &DevicesArgs) -> Result<i32> {
    if args.discover && !(args.discover_time.is_finite() && args.discover_time > 0.0) {
        return Err(usage(format!(
            "--discover-time {}: seconds must be a number > 0",
            args.discover_time
        )));
    }
    let config = Config::load();
    let added = config.as_ref().cloned().unwrap_or_default();
    let wait = args
        .discover
        .then(|| Duration::from_secs_f64(args.discover_time));
    let mut found = scanwire_registry::list(&registry_config(&added), wait);
    // Added scanners show their name.
    for d in found
        .iter_mut()
        .flat_map(|f| f.devices.iter_mut().flatten())
    {
        if let Some((_, e)) = added.entries().find(|(k, e)| d.id == k.id(&e.url)) {
            d.model = format!("{} (added as `{}`)", d.model, e.name);
        }
    }
    if let Err(e) = config {
        found.push(scanwire_registry::Found {
            driver: "config".into(),
            devices: Err(format!("{e:#}")),
        });
    }
    if args.json {
        let list: Vec<Value> = found
            .iter()
            .flat_map(|f| f.devices.iter().flatten())
            .map(|d| json!({"id": d.id, "vendor": d.vendor, "model": d.model, "driver": d.driver}))
            .collect();
        let problems: Vec<Value> = found
            .iter()
            .filter_map(|f| {
                f.devices
                    .as_ref()
                    .err()
                    .map(|e| json!({"driver": f.driver, "error": e}))
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"devices": list, "unavailable": problems}))?
        );
        return Ok(0);
    }
    outln!("{:<28} {:<10} {:<12} MODEL", "DEVICE", "DRIVER", "VENDOR");
    for f in &found {
        match &f.devices {
            Ok(list) => {
                for d in list {
                    outln!("{:<28} {:<10} {:<12} {}", d.id, d.driver, d.vendor, d.model);
                }
                if list.is_empty() && args.verbose {
                    eprintln!("{}: no devices found", f.driver);
                }
            }
            Err(e) if args.verbose => eprintln!("{}: {e}", f.driver),
            Err(_) => {}
        }
    }
    if !args.verbose && found.iter().any(|f| f.devices.is_err()) {
        eprintln!("(some drivers are unavailable; `scanwire devices --verbose` says why)");
    }
    Ok(0)
}

/// `scanwire devices [add|remove] ...`.
pub fn command(args: &DevicesArgs) -> Result<i32> {
    match &args.action {
        None => list(args),
        Some(DevicesAction::Add(a)) => {
            let kind = Kind::parse(&a.kind).map_err(usage)?;
            let entry = add(kind, &a.url, a.name.as_deref()).map_err(usage)?;
            outln!("added {} = {} ({})", entry.name, entry.url, kind.name());
            Ok(0)
        }
        Some(DevicesAction::Remove(a)) => {
            let (kind, entry) = remove(&a.device).map_err(usage)?;
            outln!("removed {} = {} ({})", entry.name, entry.url, kind.name());
            Ok(0)
        }
    }
}

/// The canonical form of a scanner's URL (with or without its `escl:`/`wsd:` prefix), or
/// why it is not one: an eSCL root `http(s)://HOST:PORT/ROOT`, a WS-Scan service
/// `http://HOST[:PORT]/PATH`.
fn canonical(kind: Kind, url: &str) -> Result<String> {
    match kind {
        Kind::Escl => {
            let base =
                Base::parse(scanwire_escl_client::url_of(url)).map_err(|e| anyhow!("{e}"))?;
            Ok(format!("{}{}", base.origin, base.root))
        }
        Kind::Wsd => {
            let service = Service::parse(scanwire_wsd_client::url_of(url))
                .map_err(|e| anyhow!("{}", e.detail()))?;
            Ok(service.url)
        }
    }
}

/// Adds a scanner; the name defaults to its host and port.
fn add(kind: Kind, url: &str, name: Option<&str>) -> Result<Entry> {
    let url = canonical(kind, url)?;
    let name = match name {
        Some(n) => n.trim().to_string(),
        None => url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or(kind.name())
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
    if let Some((k, e)) = config.find(&name) {
        bail!(
            "a device named {} is already added ({}); remove it first or pick another --name",
            e.name,
            k.id(&e.url)
        );
    }
    if let Some(e) = config.list(kind).iter().find(|e| e.url == url) {
        bail!("{} is already added as {}", kind.id(&url), e.name);
    }
    let entry = Entry { name, url };
    config.list_mut(kind).push(entry.clone());
    config.save()?;
    Ok(entry)
}

/// Removes a scanner by name, URL or device id (`wsd:URL` only among the WS-Scan ones,
/// `escl:URL` only among the eSCL ones).
fn remove(which: &str) -> Result<(Kind, Entry)> {
    let mut config = Config::load()?;
    let prefixed = Kind::ALL
        .into_iter()
        .find(|k| which.starts_with(&format!("{}:", k.name())));
    let found = Kind::ALL.into_iter().find_map(|kind| {
        let url = canonical(kind, which)
            .ok()
            .filter(|_| prefixed.is_none_or(|p| p == kind));
        config
            .list(kind)
            .iter()
            .position(|e| e.name.eq_ignore_ascii_case(which) || Some(&e.url) == url.as_ref())
            .map(|i| (kind, i))
    });
    let Some((kind, i)) = found else {
        let names: Vec<&str> = config.entries().map(|(_, e)| e.name.as_str()).collect();
        bail!(
            "no added device is named or located at `{which}`; added: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let entry = config.list_mut(kind).remove(i);
    config.save()?;
    Ok((kind, entry))
}
