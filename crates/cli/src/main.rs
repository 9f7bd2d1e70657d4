//! `scanwire`: parse, build a plan, run, pick an exit code. Everything else lives in the
//! library crates (the drivers are found through `scanwire-registry`).
//!
//! `args.rs` is the command line as typed (clap); `plan.rs` (scan) and `serve_plan.rs` turn
//! it into what to do; `scan.rs`, `serve.rs`, `caps.rs` and `devices.rs` do it; `exit.rs`
//! holds the one exit-status rule.

/// `println!` for results. A closed pipe (`scanwire caps | head`) ends the program quietly,
/// as it ends any Unix filter, instead of panicking as `println!` does.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_out(format_args!($($arg)*))
    };
}

mod args;
mod caps;
mod config;
mod devices;
mod exit;
mod ocr;
mod plan;
mod processing;
mod queue;
mod scan;
mod serve;
mod serve_plan;
mod ui;
mod worker;

use clap::Parser;

/// Writes one line of results to standard output (see [`outln!`]).
pub fn write_out(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("scanwire: writing to standard output: {e}");
        std::process::exit(exit::FAILURE);
    }
}

fn main() {
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Devices(a) => devices::command(a),
        args::Command::Caps(a) => caps::caps(a),
        args::Command::Scan(a) => scan::scan(a),
        args::Command::Serve(a) => serve::serve(a),
        args::Command::Worker(a) => worker::worker(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scanwire: {e:#}");
            exit::status(&e)
        }
    };
    std::process::exit(code);
}
