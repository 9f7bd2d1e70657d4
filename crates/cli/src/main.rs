//! `scanwire`: parse, build a plan, run, pick an exit code. Everything else lives in the
//! library crates.

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
mod ocr;
mod plan;
mod scan;
mod serve;
mod ui;

use clap::Parser;

/// Exit status for a bad request or bad arguments (clap uses 2 as well).
pub const EXIT_USAGE: i32 = 2;
/// Exit status after Ctrl-C, as shells report SIGINT.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Writes one line of results to standard output (see [`outln!`]).
pub fn write_out(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("scanwire: writing to standard output: {e}");
        std::process::exit(1);
    }
}

fn main() {
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Devices(a) => devices::command(a),
        args::Command::Caps(a) => caps::caps(a),
        args::Command::Scan(a) => scan::scan(a),
        args::Command::Serve(a) => serve::serve(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scanwire: {e:#}");
            if e.downcast_ref::<scan::Usage>().is_some() {
                EXIT_USAGE
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}
