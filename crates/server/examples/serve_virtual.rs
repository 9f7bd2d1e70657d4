//! Serves the virtual scanner over eSCL until killed: what `scanwire serve` does, for
//! trying clients by hand and for `bench/airscan-vs-local.sh` until the CLI has `serve`.
//!
//! ```text
//! cargo run --release -p scanwire-server --example serve_virtual -- [--listen ADDR:PORT] [--set NAME=VALUE]... [--deflate fastest|fast|balanced|high]
//! ```

use scanwire_core::transfer::share;
use scanwire_server::{serve_blocking, ServerConfig};
use scanwire_virtual::VirtualDevice;

fn main() {
    let mut config = ServerConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => {
                let v = args.next().expect("--listen needs ADDR:PORT");
                config.listen = v.parse().unwrap_or_else(|e| panic!("--listen {v}: {e}"));
            }
            "--set" => {
                let v = args.next().expect("--set needs NAME=VALUE");
                let (k, val) = v.split_once('=').expect("--set needs NAME=VALUE");
                config.request_options.insert(k.into(), val.into());
            }
            "--deflate" => {
                use scanwire_formats::DeflateEffort::*;
                config.encode.deflate = match args.next().as_deref() {
                    Some("fastest") => Fastest,
                    Some("fast") => Fast,
                    Some("balanced") => Balanced,
                    Some("high") => High,
                    other => panic!("--deflate fastest|fast|balanced|high, not {other:?}"),
                };
            }
            other => {
                eprintln!("unknown argument {other}; usage: serve_virtual [--listen ADDR:PORT] [--set NAME=VALUE]... [--deflate fastest|fast|balanced|high]");
                std::process::exit(2);
            }
        }
    }
    eprintln!(
        "serving the virtual scanner at http://{}/eSCL",
        config.listen
    );
    let device = share(Box::new(VirtualDevice::new()));
    if let Err(e) = serve_blocking(config, vec![("virtual".into(), device)]) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
