//! What every request handler shares: the configuration and the served devices.

use crate::config::ServerConfig;
use crate::device::{segment_for, DeviceEntry};
use crate::error::ServerError;
use crate::job::JobSettings;
use crate::served::ServedDevice;
use axum::http::HeaderValue;
use base64::Engine as _;
use scanwire_core::device::parse_settings;
use scanwire_core::transfer::SharedDevice;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The state behind a [`router`](crate::router): configuration and devices. Cheap to clone.
#[derive(Clone)]
pub struct ServerState(Arc<Inner>);

struct Inner {
    config: ServerConfig,
    devices: Vec<Arc<DeviceEntry>>,
    default: usize,
    last_sweep: Mutex<Instant>,
}

/// Handlers sweep for timeouts at most this often (a background task also does).
const SWEEP_EVERY: Duration = Duration::from_millis(200);

/// One served device, for printing where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The device id.
    pub id: String,
    /// Its model, as clients will show it.
    pub model: String,
    /// Its eSCL root path (`/eSCL/<segment>`).
    pub path: String,
    /// Whether it is also at `/eSCL`.
    pub default: bool,
    /// The UUID clients know it by (stable per device id).
    pub uuid: String,
}

impl ServerState {
    /// Reads every device's identity and capabilities (this locks each device briefly) and
    /// picks the default device.
    pub fn new(
        config: ServerConfig,
        devices: Vec<(String, SharedDevice)>,
    ) -> Result<ServerState, ServerError> {
        Self::served(config, devices.into_iter().map(Into::into).collect())
    }

    /// [`new`](Self::new) for devices that may have a supervisor or their own watchdog.
    pub fn served(
        config: ServerConfig,
        devices: Vec<ServedDevice>,
    ) -> Result<ServerState, ServerError> {
        if devices.is_empty() {
            return Err(ServerError::NoDevices);
        }
        let mut entries: Vec<Arc<DeviceEntry>> = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        for served in devices {
            let ServedDevice {
                id,
                device: shared,
                health,
                transfer,
                request_options,
            } = served;
            if entries.iter().any(|e| e.id == id) {
                return Err(ServerError::DuplicateDevice(id));
            }
            let (info, caps, options) = {
                let mut d = shared.lock().unwrap_or_else(|p| p.into_inner());
                let info = d.info();
                let caps = d
                    .capabilities()
                    .map_err(|source| ServerError::Capabilities {
                        id: id.clone(),
                        source,
                    })?;
                // Parsed once, here: a bad --set stops the start instead of failing every job.
                // The device's own settings after the server's: the later one wins.
                let settings: Vec<(String, String)> = config
                    .request_options
                    .iter()
                    .chain(&request_options)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let options = parse_settings(&d.options(), &settings).map_err(|source| {
                    ServerError::Options {
                        id: id.clone(),
                        source,
                    }
                })?;
                (info, caps, options)
            };
            let segment = segment_for(&id, &taken);
            taken.push(segment.clone());
            let mut entry = DeviceEntry::new(id, segment, info, caps, options, shared);
            entry.health = health;
            entry.transfer = transfer;
            entries.push(Arc::new(entry));
        }
        let default = match &config.default_device {
            None => 0,
            Some(want) => entries
                .iter()
                .position(|e| &e.id == want || &e.segment == want)
                .ok_or_else(|| ServerError::UnknownDevice {
                    wanted: want.clone(),
                    available: entries
                        .iter()
                        .map(|e| e.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
        };
        Ok(ServerState(Arc::new(Inner {
            config,
            devices: entries,
            default,
            last_sweep: Mutex::new(Instant::now()),
        })))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// Where each device is served.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.0
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| Endpoint {
                id: d.id.clone(),
                model: d.caps.model.clone(),
                path: format!("/eSCL/{}", d.segment),
                default: i == self.0.default,
                uuid: d.uuid.clone(),
            })
            .collect()
    }

    pub(crate) fn devices(&self) -> &[Arc<DeviceEntry>] {
        &self.0.devices
    }

    pub(crate) fn default_device(&self) -> Arc<DeviceEntry> {
        self.0.devices[self.0.default].clone()
    }

    pub(crate) fn job_settings(&self) -> JobSettings {
        let c = &self.0.config;
        JobSettings {
            encode: c.encode.clone(),
            page_buffer: c.limits.page_buffer,
            transfer: c.transfer,
            fault_settle: c.timing.fault_settle,
            job_stages: c.job_stages.clone(),
            queue: c.queue.clone(),
        }
    }

    /// Job timeouts and history, at most every [`SWEEP_EVERY`].
    pub(crate) fn sweep(&self) {
        {
            let mut last = self.0.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < SWEEP_EVERY {
                return;
            }
            *last = Instant::now();
        }
        self.sweep_now();
    }

    pub(crate) fn sweep_now(&self) {
        let t = &self.0.config.timing;
        for d in &self.0.devices {
            d.sweep(t.job_timeout, t.history);
        }
    }

    /// Cancels every unfinished job (shutdown).
    pub fn cancel_all(&self) {
        for d in &self.0.devices {
            d.cancel_all();
        }
    }

    /// Checks an `Authorization` header against the configured basic credentials.
    pub(crate) fn authorized(&self, header: Option<&HeaderValue>) -> bool {
        let Some(auth) = &self.0.config.auth else {
            return true;
        };
        let Some(value) = header.and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let Some((scheme, b64)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", auth.user, auth.password);
        constant_time_eq(&raw, expected.as_bytes())
    }
}

/// Compares without an early exit, so response timing does not reveal how much of a
/// password matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
