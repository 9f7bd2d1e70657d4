//! The devices a user added (`scanwire devices add escl|wsd URL`), kept in
//! `$SCANWIRE_CONFIG_DIR/devices.toml`, else `$XDG_CONFIG_HOME/scanwire/devices.toml`, else
//! `~/.config/scanwire/devices.toml`:
//!
//! ```toml
//! [[escl]]
//! name = "office"
//! url = "http://192.168.1.20:80/eSCL"
//!
//! [[wsd]]
//! name = "hall"
//! url = "http://192.168.1.21:5358/WSDScanner"
//! ```

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The network protocols a scanner can be added with; each is a table in the file and the
/// prefix of the device ids its driver opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// eSCL (AirScan): `escl:URL`.
    Escl,
    /// WS-Scan (WSD): `wsd:URL`.
    Wsd,
}

impl Kind {
    /// Every kind, in the file's order.
    pub const ALL: [Kind; 2] = [Kind::Escl, Kind::Wsd];

    /// Its name: the `devices add` word, the table name and the device-id prefix.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Escl => "escl",
            Kind::Wsd => "wsd",
        }
    }

    /// The kind `devices add` names, or why there is none.
    pub fn parse(word: &str) -> Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(word))
            .ok_or_else(|| {
                let allowed: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
                anyhow!(
                    "devices add {word}: unknown kind; allowed: {}",
                    allowed.join(", ")
                )
            })
    }

    /// The device id of a scanner of this kind at `url`.
    pub fn id(self, url: &str) -> String {
        format!("{}:{url}", self.name())
    }
}

/// One network scanner the user added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What the user calls it; usable as `--device NAME`.
    pub name: String,
    /// Its address: the eSCL root `http://HOST:PORT/eSCL`, or the WS-Scan service
    /// `http://HOST:PORT/WSDScanner`.
    pub url: String,
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// eSCL scanners, in the order they were added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escl: Vec<Entry>,
    /// WS-Scan scanners, in the order they were added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wsd: Vec<Entry>,
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
                "{} is not a valid device list: {e}(expected [[escl]] or [[wsd]] tables with name and url)",
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

    /// The scanners of one kind.
    pub fn list(&self, kind: Kind) -> &Vec<Entry> {
        match kind {
            Kind::Escl => &self.escl,
            Kind::Wsd => &self.wsd,
        }
    }

    /// The scanners of one kind, to change.
    pub fn list_mut(&mut self, kind: Kind) -> &mut Vec<Entry> {
        match kind {
            Kind::Escl => &mut self.escl,
            Kind::Wsd => &mut self.wsd,
        }
    }

    /// Every added scanner with its kind, in the file's order.
    pub fn entries(&self) -> impl Iterator<Item = (Kind, &Entry)> {
        Kind::ALL
            .into_iter()
            .flat_map(move |k| self.list(k).iter().map(move |e| (k, e)))
    }

    /// The entry named `name` (names compare case-insensitively; they are unique across
    /// kinds).
    pub fn find(&self, name: &str) -> Option<(Kind, &Entry)> {
        self.entries()
            .find(|(_, e)| e.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_round_trip_and_an_old_escl_only_file_still_reads() {
        let config = Config {
            escl: vec![Entry {
                name: "a".into(),
                url: "http://192.0.2.1:80/eSCL".into(),
            }],
            wsd: vec![Entry {
                name: "b".into(),
                url: "http://192.0.2.2:5358/WSDScanner".into(),
            }],
        };
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("[[wsd]]"), "{text}");
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), config);
        assert_eq!(
            config.find("B").map(|(k, e)| k.id(&e.url)),
            Some("wsd:http://192.0.2.2:5358/WSDScanner".to_string())
        );
        let old: Config =
            toml::from_str("[[escl]]\nname = \"a\"\nurl = \"http://h/eSCL\"\n").unwrap();
        assert!(old.wsd.is_empty());
        assert_eq!(Kind::parse("WSD").unwrap(), Kind::Wsd);
        let e = Kind::parse("twain").unwrap_err().to_string();
        assert!(e.contains("allowed: escl, wsd"), "{e}");
    }
}
