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

/// `eprintln!` for what a long-running command says about itself (`serve`'s address, where
/// documents go). Whoever reads those lines may go away (`scanwire serve 2>&1 | head -1`, a
/// supervisor that read the address): the server must keep serving, so a failed write is
/// ignored instead of panicking as `eprintln!` does.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod caps;
mod config;
mod devices;
mod exit;
mod isolate;
mod ocr;
mod plan;
mod processing;
mod queue;
mod scan;
mod serve;
mod serve_library;
mod serve_plan;
mod serve_queue;
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

/// `scanwire driver-host`: this process is one device's driver host (scanwire-host); the
/// application's process tells it which device to open, by id or added name.
fn driver_host() {
    let code = scanwire_host::run_host(|id| {
        devices::open(id).map_err(|e| {
            // A device that does not exist stays the user's to fix (exit 2 in the
            // application, which sees InvalidRequest); anything else is the device's failure.
            let kind = if exit::status(&e) == exit::USAGE {
                scanwire_core::device::DeviceErrorKind::InvalidRequest
            } else {
                scanwire_core::device::DeviceErrorKind::Offline
            };
            scanwire_core::device::DeviceError::new(kind, format!("{e:#}"))
        })
    });
    use std::process::ExitCode;
    std::process::exit(if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(scanwire_host::EXIT_AFTER_PANIC) {
        i32::from(scanwire_host::EXIT_AFTER_PANIC)
    } else if code == ExitCode::from(2) {
        // Started by hand, or the socket was gone.
        2
    } else {
        exit::FAILURE
    });
}

fn main() {
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Devices(a) => devices::command(a),
        args::Command::Caps(a) => caps::caps(a),
        args::Command::Scan(a) => scan::scan(a),
        args::Command::Serve(a) => serve::serve(a),
        args::Command::DriverHost => return driver_host(),
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
