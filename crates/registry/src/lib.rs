//! The one table of Scanwire's drivers: which driver a device id names, how to list what
//! every driver can reach, and how to open a device. The CLI (`scanwire devices`, `caps`,
//! `scan`, `serve`) and anything else that takes a device id go through it.
//!
//! - [`DRIVERS`]: every driver by name, the default (`virtual`) first. A device id starts
//!   with its driver's name and a colon (`sane:test:0`, `escl:http://…`, `file:scans/`), except `virtual`
//!   (the whole id) and eSCL URLs, which are ids by themselves ([`driver_name`]).
//! - [`open`] opens a device by id, constructing only the driver the id names (the others
//!   would cost start-up time for nothing: loading libsane, say).
//! - [`list`] asks every driver for its devices; with a browse time it also runs each
//!   driver's network discovery (eSCL's mDNS browse), which is off unless asked for.
//! - [`Config`] holds the devices a user added by hand, which no driver finds by itself.
//!
//! # Adding a driver
//! 1. Write the driver crate under `crates/drivers/NAME` (`driver.rs`, `options.rs`,
//!    `errors.rs`; see ARCHITECTURE.md), implementing `scanwire_core::device::{Driver,
//!    Device}`, with device ids `NAME:…`.
//! 2. Add it to this crate's `Cargo.toml`, and one [`Entry`] to [`DRIVERS`] below: its name,
//!    a line for `--help`, the function that constructs it, and its network discovery if it
//!    has one. Nothing else changes: `scanwire devices` lists it, `--device NAME:…` opens it
//!    (for `scan`, `caps` and `serve`), and an unknown prefix names it among the choices.
//!
//! ```no_run
//! let config = scanwire_registry::Config::default();
//! let mut device = scanwire_registry::open("virtual", &config)?;
//! let caps = device.capabilities()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use scanwire_core::device::{Device, DeviceError, DeviceErrorKind, DeviceInfo, Driver};
use std::time::Duration;

/// Devices a user added by hand (the CLI keeps them in `devices.toml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// eSCL scanners by URL (`http://HOST:PORT/eSCL`), listed by the eSCL driver.
    pub escl: Vec<String>,
    /// WS-Scan scanners by service URL (`http://HOST:PORT/WSDScanner`), listed by the WSD
    /// driver.
    pub wsd: Vec<String>,
}

/// A network browse: the devices that answered within the time given.
pub type Discover = fn(Duration) -> Result<Vec<DeviceInfo>, String>;

/// One driver in the table.
pub struct Entry {
    /// Its name: the prefix of its device ids (before the first `:`).
    pub name: &'static str,
    /// What it reaches, in a few words (for help and error messages).
    pub about: &'static str,
    /// Constructs it; cheap, except for what the driver itself loads.
    pub make: fn(&Config) -> Box<dyn Driver>,
    /// Its network discovery, if it has one (run only when asked: it sends multicast).
    pub discover: Option<Discover>,
}

/// Every driver, the default (`virtual`) first.
pub const DRIVERS: &[Entry] = &[
    Entry {
        name: "virtual",
        about: "the built-in virtual scanner",
        make: |_| Box::new(scanwire_virtual::VirtualDriver::new()),
        discover: None,
    },
    Entry {
        name: "sane",
        about: "SANE backends (libsane)",
        make: |_| Box::new(scanwire_sane::SaneDriver::new()),
        discover: None,
    },
    Entry {
        name: "escl",
        about: "eSCL (AirScan) network scanners",
        make: |config| {
            Box::new(scanwire_escl_client::EsclDriver::with_devices(
                config.escl.iter().cloned(),
            ))
        },
        discover: Some(|wait| scanwire_escl_client::discover(wait).map_err(|e| e.to_string())),
    },
    Entry {
        name: "wsd",
        about: "WS-Scan (WSD) network scanners",
        make: |config| {
            Box::new(scanwire_wsd_client::WsdDriver::with_devices(
                config.wsd.iter().cloned(),
            ))
        },
        discover: Some(|wait| {
            let found = scanwire_wsd_client::discover(wait).map_err(|e| e.to_string())?;
            Ok(found
                .into_iter()
                .map(|f| DeviceInfo {
                    id: f.id,
                    vendor: f.metadata.manufacturer.unwrap_or_default(),
                    model: f.metadata.model.unwrap_or(f.endpoint),
                    driver: "wsd",
                })
                .collect())
        }),
    },
    Entry {
        name: "file",
        about: "image files scanned as a feeder (file:PATH: a file, a directory, a pattern)",
        make: |_| Box::new(scanwire_file::FileDriver::new()),
        discover: None,
    },
    #[cfg(windows)]
    Entry {
        name: "wia",
        about: "Windows WIA 2.0 devices",
        make: |_| Box::new(scanwire_com::driver::WiaDriver),
        discover: None,
    },
];

/// The name of the driver `id` names: its prefix before the first `:`, where the URL
/// schemes `http` and `https` mean eSCL (a scanner's URL is a device id by itself). The
/// driver may not exist: see [`entry`].
pub fn driver_name(id: &str) -> &str {
    match id.split(':').next().unwrap_or(id) {
        p if p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https") => "escl",
        p => p,
    }
}

/// The table entry named `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    DRIVERS.iter().find(|e| e.name == name)
}

/// Every driver's name, in table order.
pub fn names() -> Vec<&'static str> {
    DRIVERS.iter().map(|e| e.name).collect()
}

/// Why a device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No driver has the id's prefix.
    #[error("unknown device `{id}`: device ids start with one of {}", names().join(", "))]
    UnknownDriver {
        /// The id as given.
        id: String,
    },
    /// The driver could not open it (no such device, unreachable, not installed).
    #[error("cannot open {id}: {}", .source.detail())]
    Device {
        /// The id as given.
        id: String,
        /// The driver's error (its HRESULT is kept here).
        source: DeviceError,
    },
}

impl OpenError {
    /// Whether the user can fix it by naming another device (an unknown prefix, or a device
    /// the driver says does not exist), as opposed to a device that failed (unreachable,
    /// a library missing).
    pub fn is_bad_id(&self) -> bool {
        match self {
            OpenError::UnknownDriver { .. } => true,
            OpenError::Device { source, .. } => source.kind() == DeviceErrorKind::InvalidRequest,
        }
    }
}

/// Opens the device `id` (`virtual`, `sane:NAME`, `escl:URL`, an eSCL URL itself, …),
/// constructing only the driver it names.
pub fn open(id: &str, config: &Config) -> Result<Box<dyn Device>, OpenError> {
    let Some(entry) = entry(driver_name(id)) else {
        return Err(OpenError::UnknownDriver { id: id.to_string() });
    };
    (entry.make)(config)
        .open(id)
        .map_err(|source| OpenError::Device {
            id: id.to_string(),
            source,
        })
}

/// What one driver found, or why it found nothing.
#[derive(Debug)]
pub struct Found {
    /// The driver's name; a discovery's is the driver's with ` (discovery)`.
    pub driver: String,
    /// Its devices, or why it could not list them (in words).
    pub devices: Result<Vec<DeviceInfo>, String>,
}

/// What every driver found, in table order; with `discover`, every driver's network
/// discovery (eSCL's mDNS, WS-Discovery) also runs, all at once, for that long.
pub fn list(config: &Config, discover: Option<Duration>) -> Vec<Found> {
    let mut found: Vec<Found> = DRIVERS
        .iter()
        .map(|e| Found {
            driver: e.name.to_string(),
            devices: (e.make)(config).devices().map_err(|e| e.to_string()),
        })
        .collect();
    if let Some(wait) = discover {
        // Every browse listens at the same time, so the wait is `wait`, not one per driver.
        std::thread::scope(|scope| {
            let browses: Vec<_> = DRIVERS
                .iter()
                .filter_map(|e| {
                    e.discover
                        .map(|browse| (e.name, scope.spawn(move || browse(wait))))
                })
                .collect();
            for (name, browse) in browses {
                found.push(Found {
                    driver: format!("{name} (discovery)"),
                    devices: browse
                        .join()
                        .unwrap_or_else(|_| Err("the browse stopped unexpectedly".into())),
                });
            }
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_driver_and_urls_mean_escl() {
        assert_eq!(driver_name("virtual"), "virtual");
        assert_eq!(driver_name("sane:test:0"), "sane");
        assert_eq!(driver_name("escl:http://h/eSCL"), "escl");
        assert_eq!(driver_name("http://192.0.2.1/eSCL"), "escl");
        assert_eq!(driver_name("HTTPS://192.0.2.1/eSCL"), "escl");
        assert_eq!(driver_name("nosuch"), "nosuch");
    }

    #[test]
    fn the_virtual_scanner_opens_and_unknown_ids_say_what_exists() {
        let config = Config::default();
        let mut d = open("virtual", &config).unwrap();
        assert!(!d.capabilities().unwrap().sources.is_empty());
        let e = open("nosuch", &config).err().unwrap();
        assert!(e.is_bad_id());
        assert!(
            e.to_string()
                .contains("start with one of virtual, sane, escl"),
            "{e}"
        );
        let e = open("virtual:2", &config).err().unwrap();
        assert!(e.is_bad_id(), "{e}");
    }

    #[test]
    fn file_ids_open_the_file_driver() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.pgm"), b"P5 2 1 255\n\x00\xff").unwrap();
        let config = Config::default();
        let id = format!("file:{}", dir.path().display());
        assert_eq!(driver_name(&id), "file");
        let mut d = open(&id, &config).unwrap();
        assert_eq!(d.info().driver, "file");
        let caps = d.capabilities().unwrap();
        assert_eq!(caps.sources[0].feeder_capacity, Some(1));
        let e = open(&format!("file:{}/*.tif", dir.path().display()), &config)
            .err()
            .unwrap();
        assert!(e.is_bad_id(), "{e}");
        assert!(e.to_string().contains("has no image files"), "{e}");
    }

    #[test]
    fn every_name_is_unique_and_virtual_comes_first() {
        let names = names();
        assert_eq!(names[0], "virtual");
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} twice");
        }
    }

    #[test]
    fn list_has_one_row_per_driver() {
        // SANE lists only its test backend: the system's would probe USB and the network.
        let sane = tempfile::tempdir().unwrap();
        std::fs::write(sane.path().join("dll.conf"), "test\n").unwrap();
        std::env::set_var("SANE_CONFIG_DIR", sane.path());
        let found = list(&Config::default(), None);
        assert_eq!(found.len(), DRIVERS.len());
        assert_eq!(found[0].driver, "virtual");
        assert_eq!(found[0].devices.as_ref().unwrap()[0].id, "virtual");
        // With libsane installed its test backend is there; without, the row says why.
        match &found[1].devices {
            Ok(d) => assert!(d.iter().any(|d| d.id.starts_with("sane:test")), "{d:?}"),
            Err(why) => assert!(why.contains("libsane"), "{why}"),
        }
    }
}
