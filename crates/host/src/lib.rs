//! A driver in its own process: a crashed or hung driver never takes the application down.
//!
//! - [`HostedDevice`] (`hosted.rs`): a [`Device`](scanwire_core::device::Device) in the
//!   application's process whose driver runs in a host process started from a
//!   [`HostCommand`]; it supervises the host ([`HostOptions`]: watchdog, cancel grace,
//!   restart back-off) and reports its [`Health`] through a shared [`HostStatus`].
//! - [`run_host`] (`child.rs`): the host process's entry, which the CLI's hidden
//!   `scanwire driver-host` calls with the registry's `open`.
//! - `protocol.rs`: the frames on the socket between the two; `shm.rs`: the shared page ring
//!   the page bytes travel through (the crate's only `unsafe` code: `mmap`).
//! - `exit.rs`: how a host ended, in words (`driver crashed: SIGSEGV in sane_start`).
//!
//! Tests run the test binary itself as the host (an environment variable makes a designated
//! `#[test]` call [`run_host`]); see `tests/common/mod.rs`. `examples/hosted_scan.rs` scans
//! through the real `scanwire driver-host`.

#![warn(missing_docs)]

mod child;
mod command;
mod exit;
mod hosted;
mod protocol;
mod shm;
mod status;

pub use child::{run_host, EXIT_AFTER_PANIC};
pub use command::{HostCommand, HostOptions, DEFAULT_WATCHDOG};
pub use exit::{describe_exit, signal_name};
pub use hosted::{CallCounts, HostedDevice};
pub use protocol::{RING_ENV, SOCKET_ENV};
pub use status::{Health, HostStatus};
