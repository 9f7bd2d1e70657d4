//! `scanwire serve`: every chosen device as an eSCL scanner.

use crate::args::ServeArgs;
use crate::devices;
use anyhow::{anyhow, bail, Context, Result};
use scanwire_codecs::DeflateEffort;
use scanwire_core::transfer;
use scanwire_server::{BasicAuth, MdnsConfig, ServerConfig, TlsConfig};

pub fn serve(args: &ServeArgs) -> Result<i32> {
    let ids = if args.device.is_empty() {
        vec!["virtual".to_string()]
    } else {
        args.device.clone()
    };
    if args.max_connections == 0 {
        bail!("--max-connections 0: at least one connection must be allowed");
    }
    let mut config = ServerConfig {
        listen: args.listen,
        ..ServerConfig::default()
    };
    config.limits.max_connections = args.max_connections;
    config.wsd = args.wsd;
    config.encode.deflate = match args.deflate.as_str() {
        "wire" => DeflateEffort::Wire,
        "fastest" => DeflateEffort::Fastest,
        "fast" => DeflateEffort::Fast,
        "balanced" => DeflateEffort::Balanced,
        "high" => DeflateEffort::High,
        other => bail!("--deflate {other}: expected wire, fastest, fast, balanced or high"),
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
    config.tls = tls(args)?;
    if args.mdns {
        config.mdns = Some(MdnsConfig {
            name: args.mdns_name.clone(),
            host: None,
        });
    }
    // Devices are opened last: a bad flag is reported before a scanner is touched.
    let mut devices = Vec::new();
    for id in &ids {
        devices.push((id.clone(), transfer::share(devices::open(id)?)));
    }
    let server = scanwire_server::BlockingServer::start(config, devices)
        .map_err(|e| anyhow!("cannot serve on {}: {e}", args.listen))?;
    eprintln!("serving {} at {}", ids.join(", "), server.url());
    if args.wsd {
        eprintln!("WS-Scan (WSD) service at {}", server.wsd_url());
    }
    for name in server.announced() {
        eprintln!("announced over mDNS as {name}");
    }
    // Ctrl-C or SIGTERM stops it cleanly: the mDNS announcement is withdrawn (goodbye
    // packets), unfinished jobs are cancelled so their drivers stop.
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    server.wait_until(stopped).map_err(|e| anyhow!("{e}"))?;
    eprintln!("stopped");
    Ok(0)
}

fn tls(args: &ServeArgs) -> Result<Option<TlsConfig>> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        return Ok(Some(TlsConfig::from_pem_files(cert, key)?));
    }
    if !args.tls_self_signed {
        return Ok(None);
    }
    let names = if args.tls_name.is_empty() {
        default_names(args.listen.ip())
    } else {
        args.tls_name.clone()
    };
    let tls = TlsConfig::self_signed(&names)?;
    if let Some(path) = &args.tls_save_cert {
        std::fs::write(path, tls.certificate_pem())
            .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
    }
    eprintln!("self-signed certificate for {}", names.join(", "));
    Ok(Some(tls))
}

/// What clients may call this server: the listening address (unless it is a wildcard),
/// localhost and the host's names.
fn default_names(ip: std::net::IpAddr) -> Vec<String> {
    let mut names = Vec::new();
    if !ip.is_unspecified() {
        names.push(ip.to_string());
    }
    names.push("localhost".into());
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
            names.push(format!("{host}.local"));
        }
    }
    names
}
