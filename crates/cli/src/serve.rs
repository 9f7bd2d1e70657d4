//! `scanwire serve`: every chosen device as an eSCL (and with `--wsd` a WS-Scan) scanner, until
//! Ctrl-C or SIGTERM.

use crate::args::ServeArgs;
use crate::devices;
use crate::exit::usage;
use crate::serve_plan::{ServePlan, PASSWORD_ENV};
use anyhow::{anyhow, Context, Result};
use scanwire_core::device::{parse_settings, Device};
use scanwire_core::transfer;
use std::collections::BTreeMap;

pub fn serve(args: &ServeArgs) -> Result<i32> {
    let plan = ServePlan::new(args, std::env::var(PASSWORD_ENV).ok())?;
    for w in &plan.warnings {
        eprintln!("{w}");
    }
    if let Some(names) = &plan.self_signed {
        eprintln!("self-signed certificate for {}", names.join(", "));
    }
    let mut config = plan.config;
    let library = match config.web.as_mut() {
        Some(web) => {
            let lib = crate::serve_library::open(args)?;
            web.library = Some(lib.clone());
            Some(lib)
        }
        None => None,
    };
    // Devices are opened last: a bad flag is reported before a scanner is touched.
    let mut devices = Vec::new();
    for id in &plan.ids {
        let mut device = devices::open(id)?;
        let options = device_settings(id, device.as_mut(), &plan.settings)?;
        // Every device takes every --set (checked above), so one map serves them all.
        config.request_options = options;
        devices.push((id.clone(), transfer::share(device)));
    }
    // Ctrl-C or SIGTERM stops it cleanly: the mDNS announcement is withdrawn (goodbye
    // packets), unfinished jobs are cancelled so their drivers stop. The handler is in place
    // before the first line that tells anyone the server is up.
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    let server = scanwire_server::BlockingServer::start(config, devices)
        .map_err(|e| anyhow!("cannot serve on {}: {e}", args.listen))?;
    eprintln!("serving {} at {}", plan.ids.join(", "), server.url());
    if args.wsd {
        eprintln!("WS-Scan (WSD) service at {}", server.wsd_url());
    }
    if args.wsd_discovery {
        eprintln!("announced over WS-Discovery (UDP 239.255.255.250:3702)");
    }
    for name in server.announced() {
        eprintln!("announced over mDNS as {name}");
    }
    if let Some(lib) = &library {
        crate::serve_library::describe(lib);
    }
    server.wait_until(stopped).map_err(|e| anyhow!("{e}"))?;
    eprintln!("stopped");
    Ok(0)
}

/// `--set` checked against one device's options by core's one parser: an option it does not
/// have, or a value it does not take, is refused at start-up (exit 2) naming the device,
/// instead of failing every job later. The server parses the same settings again per device
/// (typed values for its jobs); this check only makes the refusal a usage error.
fn device_settings(
    id: &str,
    device: &mut dyn Device,
    settings: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    parse_settings(&device.options(), settings)
        .map_err(|e| usage(format!("--set for device {id}: {e}")))?;
    Ok(settings.iter().cloned().collect())
}
