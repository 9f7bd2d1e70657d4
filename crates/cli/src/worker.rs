//! `scanwire worker`: pages from the queue, processed here.

use crate::args::WorkerArgs;
use anyhow::Result;

pub fn worker(args: &WorkerArgs) -> Result<i32> {
    let _ = args;
    anyhow::bail!("scanwire worker is not implemented yet")
}
