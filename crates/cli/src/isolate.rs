//! Drivers in their own processes: `serve` opens every device in a driver host (unless
//! `--no-isolate`), `scan --isolate` its one device. The host is this program re-executed as
//! `scanwire driver-host` (scanwire-host supervises it); here is only the glue: which
//! supervision timings, and the host's health as the server's [`DeviceHealth`].
//!
//! Hosts start eagerly, when the device is opened (as an in-process device is opened at
//! start-up): `serve` reads every device's capabilities before it listens, and a host costs
//! one process start. A host that crashed or was killed is replaced at the device's next job
//! (the first time at once, then after a back-off while it keeps failing); during a back-off
//! the server answers 503 with Retry-After and its ScannerStatus reads Testing with the reason.

use crate::devices;
use crate::exit::usage;
use anyhow::{anyhow, Context, Result};
use scanwire_core::device::{Device, DeviceErrorKind};
use scanwire_host::{HostCommand, HostOptions, HostStatus, HostedDevice};
use scanwire_server::{DeviceHealth, Health};
use std::sync::Arc;
use std::time::Duration;

/// How long past the host's own watchdog the in-process transfer's watchdog waits: the host's
/// kill (which names where the driver hung) is the one that ends a hung job; the transfer's
/// is only a safety net.
pub const TRANSFER_MARGIN: Duration = Duration::from_secs(10);

/// Opens `id` in a new driver host whose driver is stopped after `watchdog` without
/// progress. Returns the device and its health for the server.
pub fn open(
    id: &str,
    watchdog: Option<Duration>,
) -> Result<(Box<dyn Device>, Arc<dyn DeviceHealth>)> {
    // A device id no driver takes is the user's to fix (exit 2), said before any process
    // starts; the host opens added names (devices.toml) the same way `devices::open` does.
    devices::check_driver(id)?;
    let command =
        HostCommand::current_exe().context("cannot find this program to start a driver host")?;
    let opts = HostOptions {
        watchdog,
        ..HostOptions::default()
    };
    let device = HostedDevice::open(command, id, opts).map_err(|e| {
        if e.kind() == DeviceErrorKind::InvalidRequest {
            // No such device (said by its driver, in the host): the user's to fix.
            usage(e.detail())
        } else {
            anyhow!("{id}: {e}")
        }
    })?;
    let health: Arc<dyn DeviceHealth> = Arc::new(HostHealth(device.status()));
    Ok((Box::new(device), health))
}

/// The in-process transfer watchdog for a hosted device whose host has `watchdog`.
pub fn transfer_watchdog(watchdog: Option<Duration>) -> Option<Duration> {
    watchdog.map(|w| w + TRANSFER_MARGIN)
}

/// A host's health as the server asks for it: restarting while a back-off runs; ready
/// otherwise (a failed host with no back-off left is replaced by the next job).
struct HostHealth(HostStatus);

impl DeviceHealth for HostHealth {
    fn health(&self) -> Health {
        let h = self.0.health();
        match &h {
            scanwire_host::Health::Failed { restart_in, .. } if !restart_in.is_zero() => {
                Health::Restarting {
                    reason: h.to_string(),
                    ready_in: *restart_in,
                }
            }
            _ => Health::Ready,
        }
    }
}
