//! Which drivers exist and how a device id finds its driver.

use anyhow::{anyhow, Result};
use scanwire_core::device::{Device, DeviceInfo, Driver};

/// Every driver, the default (virtual) first.
pub fn drivers() -> Vec<Box<dyn Driver>> {
    vec![
        Box::new(scanwire_virtual::VirtualDriver::new()),
        Box::new(scanwire_sane::SaneDriver::new()),
        Box::new(scanwire_escl_client::EsclDriver::new()),
        #[cfg(windows)]
        Box::new(scanwire_com::driver::WiaDriver),
    ]
}

/// What each driver found, or why it found nothing.
pub fn list() -> Vec<(&'static str, Result<Vec<DeviceInfo>, String>)> {
    drivers()
        .into_iter()
        .map(|d| (d.name(), d.devices().map_err(|e| e.to_string())))
        .collect()
}

/// Opens a device by id: `virtual`, `sane:<name>`, `escl:<url>`, or an eSCL URL itself
/// (`http://HOST:PORT/eSCL`).
pub fn open(id: &str) -> Result<Box<dyn Device>> {
    let prefix = match id.split(':').next().unwrap_or(id) {
        "http" | "https" => "escl",
        p => p,
    };
    let drivers = drivers();
    let Some(driver) = drivers.iter().find(|d| d.name() == prefix) else {
        let known: Vec<&str> = drivers.iter().map(|d| d.name()).collect();
        return Err(anyhow!(
            "unknown device `{id}`: device ids start with one of {} (see `scanwire devices`)",
            known.join(", ")
        ));
    };
    driver
        .open(id)
        .map_err(|e| anyhow!("cannot open {id}: {e}"))
}
