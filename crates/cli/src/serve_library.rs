//! `serve`'s document library flags (`--state-dir`, `--state-max-bytes`, `--archive`,
//! `--archive-template`, `--archive-max-bytes`) to a library configuration, checked before
//! the server starts: every error is one the user can fix (exit status 2).

use crate::args::ServeArgs;
use crate::exit::usage;
use anyhow::{anyhow, Result};
use scanwire_library::{check_template, ArchiveConfig, Library, LibraryConfig};
use std::path::PathBuf;

/// The library configuration; `env` reads an environment variable (XDG_STATE_HOME, HOME).
pub fn library_config(
    args: &ServeArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<LibraryConfig> {
    let state_dir = match &args.state_dir {
        Some(d) => d.clone(),
        None => default_state_dir(&env).ok_or_else(|| {
            usage(
                "no --state-dir given and neither XDG_STATE_HOME nor HOME is set: give \
                 --state-dir DIR for the web page's documents",
            )
        })?,
    };
    let max_state_bytes = parse_bytes("--state-max-bytes", &args.state_max_bytes)?;
    let archive = match &args.archive {
        Some(dir) => {
            check_template(&args.archive_template)
                .map_err(|e| usage(format!("--archive-template: {e}")))?;
            Some(ArchiveConfig {
                dir: dir.clone(),
                template: args.archive_template.clone(),
                max_bytes: args
                    .archive_max_bytes
                    .as_deref()
                    .map(|v| parse_bytes("--archive-max-bytes", v))
                    .transpose()?,
            })
        }
        None => None,
    };
    Ok(LibraryConfig {
        state_dir,
        archive,
        max_state_bytes,
    })
}

/// Opens the library the flags describe (before the server starts: a bad flag or an
/// unusable folder stops it with exit status 2).
pub fn open(args: &ServeArgs) -> Result<Library> {
    let config = library_config(args, |k| std::env::var(k).ok())?;
    let dir = config.state_dir.clone();
    Library::open(config)
        .map_err(|e| usage(format!("the web page's documents ({}): {e}", dir.display())))
}

/// Says where documents are kept and archived (after the `serving …` line, with the other
/// facts about the running server).
pub fn describe(lib: &Library) {
    note!("documents kept in {}", lib.config().state_dir.display());
    if let Some(a) = &lib.config().archive {
        note!("finished documents archived to {}", a.dir.display());
    }
}

/// `$XDG_STATE_HOME/scanwire` (when absolute, as the XDG spec requires), else
/// `~/.local/state/scanwire`.
fn default_state_dir(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(x) = env("XDG_STATE_HOME").filter(|x| x.starts_with('/')) {
        return Some(PathBuf::from(x).join("scanwire"));
    }
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state/scanwire"))
}

/// A size in bytes: digits with an optional K, M, G or T (powers of 1024; `KiB`, `MB` and
/// the like read the same).
pub fn parse_bytes(flag: &str, value: &str) -> Result<u64> {
    let v = value.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(digits);
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => u32::MAX,
    };
    let n: Option<u64> = num.parse().ok();
    match n.and_then(|n| (shift < 64).then(|| n.checked_mul(1u64 << shift)).flatten()) {
        Some(b) if b > 0 => Ok(b),
        _ => Err(usage(anyhow!(
            "{flag} {value}: expected a size in bytes above 0, optionally with K, M, G or T \
             (powers of 1024), e.g. 500M"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut v = vec!["scanwire", "serve"];
        v.extend_from_slice(extra);
        match Cli::try_parse_from(v).unwrap().command {
            Command::Serve(a) => *a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("f", "1048576").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("f", "500M").unwrap(), 500 << 20);
        assert_eq!(parse_bytes("f", "2GiB").unwrap(), 2 << 30);
        for bad in ["", "0", "-1", "5X", "1.5G", "99999999999T"] {
            let e = parse_bytes("--archive-max-bytes", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("e.g. 500M"), "{bad}: {e}");
        }
    }

    #[test]
    fn state_dir_defaults_follow_xdg() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = library_config(
            &args(&[]),
            env(&[("XDG_STATE_HOME", "/x/state"), ("HOME", "/h")]),
        );
        assert_eq!(c.unwrap().state_dir, PathBuf::from("/x/state/scanwire"));
        let c = library_config(
            &args(&[]),
            env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")]),
        );
        assert_eq!(
            c.unwrap().state_dir,
            PathBuf::from("/h/.local/state/scanwire")
        );
        let c = library_config(&args(&["--state-dir", "/s"]), env(&[])).unwrap();
        assert_eq!(
            (c.state_dir, c.max_state_bytes, c.archive.is_none()),
            (PathBuf::from("/s"), 2 << 30, true)
        );
        assert!(library_config(&args(&[]), env(&[]))
            .unwrap_err()
            .to_string()
            .contains("--state-dir DIR"));
    }

    #[test]
    fn archive_flags() {
        let none = |_: &str| None;
        let c = library_config(
            &args(&[
                "--state-dir",
                "/s",
                "--archive",
                "/a",
                "--archive-template",
                "{n}-{name}",
                "--archive-max-bytes",
                "1G",
            ]),
            none,
        )
        .unwrap();
        let a = c.archive.unwrap();
        assert_eq!(
            (a.dir, a.template.as_str(), a.max_bytes),
            (PathBuf::from("/a"), "{n}-{name}", Some(1 << 30))
        );
        let e = library_config(
            &args(&[
                "--state-dir",
                "/s",
                "--archive",
                "/a",
                "--archive-template",
                "{when}",
            ]),
            none,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("{date}, {time}, {preset}, {n}, {name}"), "{e}");
        // The archive's flags need --archive.
        assert!(Cli::try_parse_from(["scanwire", "serve", "--archive-max-bytes", "1G"]).is_err());
    }
}
