//! `scanwire serve`: every chosen device as an eSCL scanner.

use crate::args::ServeArgs;
use crate::devices;
use anyhow::{anyhow, bail, Result};
use scanwire_core::transfer;
use scanwire_server::{BasicAuth, ServerConfig};

pub fn serve(args: &ServeArgs) -> Result<i32> {
    let ids = if args.device.is_empty() {
        vec!["virtual".to_string()]
    } else {
        args.device.clone()
    };
    let mut devices = Vec::new();
    for id in &ids {
        devices.push((id.clone(), transfer::share(devices::open(id)?)));
    }
    let mut config = ServerConfig {
        listen: args.listen,
        ..ServerConfig::default()
    };
    for s in &args.set {
        let Some((k, v)) = s.split_once('=') else {
            bail!("--set {s}: expected NAME=VALUE, e.g. --set ppm=10");
        };
        config
            .request_options
            .insert(k.trim().into(), v.trim().into());
    }
    if let (Some(user), Some(password)) = (&args.user, &args.password) {
        config.auth = Some(BasicAuth {
            user: user.clone(),
            password: password.clone(),
        });
    }
    let server = scanwire_server::BlockingServer::start(config, devices)
        .map_err(|e| anyhow!("cannot serve on {}: {e}", args.listen))?;
    eprintln!("serving {} at {}", ids.join(", "), server.url());
    server.wait().map_err(|e| anyhow!("{e}"))?;
    Ok(0)
}
