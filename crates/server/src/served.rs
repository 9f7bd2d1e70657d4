//! One device to serve, and what may stand behind it: a supervisor (the driver host of
//! `scanwire serve`) that knows when the device cannot take a job because its driver is being
//! restarted after a crash. The server asks it on every ScannerStatus and job creation, so a
//! client hears "restarting, retry in N s" instead of a job that fails at once.

use scanwire_core::transfer::{SharedDevice, TransferOptions};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A device for [`ServerState::new`](crate::ServerState::new): its id and the open device,
/// and optionally its supervisor and its own transfer options.
#[derive(Clone)]
pub struct ServedDevice {
    /// The device id as given (`virtual`, `sane:test:0`).
    pub id: String,
    /// The open device.
    pub device: SharedDevice,
    /// Says when the device is not ready (its driver restarting); `None`: always ready.
    pub health: Option<Arc<dyn DeviceHealth>>,
    /// This device's transfer options (its own watchdog) instead of
    /// [`ServerConfig::transfer`](crate::ServerConfig::transfer).
    pub transfer: Option<TransferOptions>,
    /// Device options for this device's jobs only, over
    /// [`ServerConfig::request_options`](crate::ServerConfig::request_options) (`serve --set
    /// DEVICE:NAME=VALUE`); parsed against the device's options at start like those.
    pub request_options: BTreeMap<String, String>,
}

impl ServedDevice {
    /// A device with no supervisor and the server's transfer options.
    pub fn new(id: impl Into<String>, device: SharedDevice) -> Self {
        ServedDevice {
            id: id.into(),
            device,
            health: None,
            transfer: None,
            request_options: BTreeMap::new(),
        }
    }

    /// With a supervisor to ask whether the device is ready.
    pub fn with_health(mut self, health: Arc<dyn DeviceHealth>) -> Self {
        self.health = Some(health);
        self
    }

    /// With its own transfer options.
    pub fn with_transfer(mut self, transfer: TransferOptions) -> Self {
        self.transfer = Some(transfer);
        self
    }
}

impl From<(String, SharedDevice)> for ServedDevice {
    fn from((id, device): (String, SharedDevice)) -> Self {
        ServedDevice::new(id, device)
    }
}

impl std::fmt::Debug for ServedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedDevice")
            .field("id", &self.id)
            .field("supervised", &self.health.is_some())
            .field("transfer", &self.transfer)
            .field("request_options", &self.request_options)
            .finish_non_exhaustive()
    }
}

/// Whether a supervised device can take a job now. Called often (every ScannerStatus): it
/// must answer at once, without waiting for the device.
pub trait DeviceHealth: Send + Sync {
    /// The device's state as its supervisor sees it.
    fn health(&self) -> Health;
}

/// What a supervisor says about its device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// It can take a job.
    Ready,
    /// Its driver failed (or was killed) and is being restarted: no job until then.
    Restarting {
        /// For people: what happened and what is being done ("driver crashed: SIGSEGV in
        /// sane_start; restarting in 4 s").
        reason: String,
        /// How long until it is expected to take jobs again (Retry-After).
        ready_in: Duration,
    },
}

impl Health {
    /// The reason and whole seconds to wait (at least 1), when not ready.
    pub(crate) fn restarting(&self) -> Option<(String, u32)> {
        match self {
            Health::Ready => None,
            Health::Restarting { reason, ready_in } => {
                let secs = ready_in.as_secs() + u64::from(ready_in.subsec_nanos() > 0);
                Some((reason.clone(), secs.clamp(1, u64::from(u32::MAX)) as u32))
            }
        }
    }
}
