//! The devices a user added (`scanwire devices add escl URL`), kept in
//! `$SCANWIRE_CONFIG_DIR/devices.toml`, else `$XDG_CONFIG_HOME/scanwire/devices.toml`, else
//! `~/.config/scanwire/devices.toml`:
//!
//! ```toml
//! [[escl]]
//! name = "office"
//! url = "http://192.168.1.20:80/eSCL"
//! ```

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One network scanner the user added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsclEntry {
    /// What the user calls it; usable as `--device NAME`.
    pub name: String,
    /// Its eSCL root, `http://HOST:PORT/eSCL`.
    pub url: String,
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// eSCL scanners, in the order they were added.
    #[serde(default)]
    pub escl: Vec<EsclEntry>,
}

/// The configuration directory (see the module documentation).
pub fn dir() -> Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = var("SCANWIRE_CONFIG_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("scanwire"));
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home).join(".config").join("scanwire"));
    }
    bail!("cannot find a configuration directory: set SCANWIRE_CONFIG_DIR, XDG_CONFIG_HOME or HOME")
}

/// `devices.toml` in [`dir`].
pub fn path() -> Result<PathBuf> {
    Ok(dir()?.join("devices.toml"))
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load() -> Result<Config> {
        let path = path()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        toml::from_str(&text).map_err(|e| {
            anyhow!(
                "{} is not a valid device list: {e}(expected [[escl]] tables with name and url)",
                path.display()
            )
        })
    }

    /// Writes the file (through a temporary file, so a crash never leaves half of it).
    pub fn save(&self) -> Result<PathBuf> {
        let path = path()?;
        let dir = path.parent().expect("a file in a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let text = format!(
            "# Devices added with `scanwire devices add`; `scanwire devices remove NAME` forgets one.\n{}",
            toml::to_string(self).context("writing the device list")?
        );
        let tmp = dir.join(".devices.toml.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The entry named `name` (names compare case-insensitively).
    pub fn find(&self, name: &str) -> Option<&EsclEntry> {
        self.escl.iter().find(|e| e.name.eq_ignore_ascii_case(name))
    }
}
