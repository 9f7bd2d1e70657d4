//! The processing a client asked for that the device does not do itself, as the job's
//! page stages (`scanwire-imaging`).

use scanwire_imaging::{Processing, ProcessingReport};
use scanwire_pipeline::Stages;
use std::sync::Arc;

/// The stages doing `local` on every page of a job, recording what they find in `report`.
/// `local` was checked when the job was created, so it cannot be refused here.
pub(crate) fn stages(local: &Processing, report: &Arc<ProcessingReport>) -> Stages {
    local.stages(report).unwrap_or_default()
}
