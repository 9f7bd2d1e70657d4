//! The exit status, one rule for every command:
//!
//! - 0: done (a feeder that ran out after at least one page is done too);
//! - 2 ([`USAGE`]): a request the user can fix before anything is scanned: bad arguments, an
//!   unknown device, an option or value the device does not have, an output path that cannot
//!   be written, an output format that cannot hold what was asked;
//! - 1 ([`FAILURE`]): the device or the output failed while working (a jam, a lost
//!   connection, a full disk), or a server could not start;
//! - 130 ([`INTERRUPTED`]): Ctrl-C (completed pages are kept, the partial page removed).
//!
//! Errors carry their class: a [`Usage`] error is 2, any other error 1.

/// A request that failed while it was carried out.
pub const FAILURE: i32 = 1;
/// A request the user can fix before scanning (clap uses 2 for bad arguments as well).
pub const USAGE: i32 = 2;
/// After Ctrl-C, as shells report SIGINT.
pub const INTERRUPTED: i32 = 130;

/// A request the user can fix: printed as it is, exit status [`USAGE`].
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// `e` as a [`Usage`] error (with its causes, if it is an `anyhow` chain).
pub fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    Usage(format!("{e:#}")).into()
}

/// The status an error ends the program with.
pub fn status(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<Usage>().is_some() {
        USAGE
    } else {
        FAILURE
    }
}
