//! `scanwire serve`: every chosen device as an eSCL (and with `--wsd` a WS-Scan) scanner, until
//! Ctrl-C or SIGTERM.

use crate::args::ServeArgs;
use crate::devices;
use crate::exit::usage;
use crate::isolate;
use crate::serve_plan::{settings_for, ServePlan, PASSWORD_ENV};
use anyhow::{anyhow, Context, Result};
use scanwire_core::device::{parse_settings, Device};
use scanwire_core::transfer::{self, TransferOptions};
use scanwire_server::ServedDevice;

pub fn serve(args: &ServeArgs) -> Result<i32> {
    let plan = ServePlan::new(args, std::env::var(PASSWORD_ENV).ok())?;
    for w in &plan.warnings {
        note!("{w}");
    }
    if let Some(names) = &plan.self_signed {
        note!("self-signed certificate for {}", names.join(", "));
    }
    let mut config = plan.config;
    if let Some(queue) = plan.queue {
        let queue = queue.connect(args.ocr.clone())?;
        note!(
            "PDF and TIFF jobs are processed by workers through the queue at {}",
            queue.describe()
        );
        config.queue = Some(queue);
    }
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
        let watchdog = plan.watchdogs.of(id);
        // Isolated (the default): the driver runs in its own host process, which is killed
        // after `watchdog` without progress; the transfer's own watchdog is only a safety net.
        let (mut device, health, transfer_watchdog) = if args.no_isolate {
            (devices::open(id)?, None, watchdog)
        } else {
            let (device, health) = isolate::open(id, watchdog)?;
            (device, Some(health), isolate::transfer_watchdog(watchdog))
        };
        let own = settings_for(&plan.settings, id);
        device_settings(id, device.as_mut(), &own)?;
        // Every device takes every --set without a device (checked above), so one map serves
        // them all; `--set DEVICE:NAME=VALUE` goes to its device only.
        config.request_options = plan
            .settings
            .iter()
            .filter(|(d, _, _)| d.is_none())
            .map(|(_, n, v)| (n.clone(), v.clone()))
            .collect();
        let transfer = TransferOptions {
            watchdog: transfer_watchdog,
            ..config.transfer
        };
        let mut served =
            ServedDevice::new(id.clone(), transfer::share(device)).with_transfer(transfer);
        served.health = health;
        served.request_options = plan
            .settings
            .iter()
            .filter(|(d, _, _)| d.as_deref() == Some(id.as_str()))
            .map(|(_, n, v)| (n.clone(), v.clone()))
            .collect();
        devices.push(served);
    }
    // Ctrl-C or SIGTERM stops it cleanly: the mDNS announcement is withdrawn (goodbye
    // packets), unfinished jobs are cancelled so their drivers stop. The handler is in place
    // before the first line that tells anyone the server is up.
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    let server = scanwire_server::BlockingServer::start_served(config, devices)
        .map_err(|e| anyhow!("cannot serve on {}: {e}", args.listen))?;
    note!("serving {} at {}", plan.ids.join(", "), server.url());
    if args.wsd {
        note!("WS-Scan (WSD) service at {}", server.wsd_url());
    }
    if args.wsd_discovery {
        note!("announced over WS-Discovery (UDP 239.255.255.250:3702)");
    }
    for name in server.announced() {
        note!("announced over mDNS as {name}");
    }
    if let Some(lib) = &library {
        crate::serve_library::describe(lib);
    }
    server.wait_until(stopped).map_err(|e| anyhow!("{e}"))?;
    note!("stopped");
    Ok(0)
}

/// `--set` checked against one device's options by core's one parser: an option it does not
/// have, or a value it does not take, is refused at start-up (exit 2) naming the device,
/// instead of failing every job later. The server parses the same settings again per device
/// (typed values for its jobs); this check only makes the refusal a usage error.
fn device_settings(id: &str, device: &mut dyn Device, settings: &[(String, String)]) -> Result<()> {
    parse_settings(&device.options(), settings)
        .map_err(|e| usage(format!("--set for device {id}: {e}")))?;
    Ok(())
}
