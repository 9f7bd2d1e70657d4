//! The processing a client asked for that the device does not do itself, as the job's
//! page stages (`scanwire-imaging`), and `BlankPageDetection`'s check.

use scanwire_imaging::{blank_score, Image, Processing, ProcessingReport, Sensitivity};
use scanwire_pipeline::{PageImage, Stage, StageError, Stages};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The stages doing `local` on every page of a job, recording what they find in `report`.
/// `local` was checked when the job was created, so it cannot be refused here.
pub(crate) fn stages(local: &Processing, report: &Arc<ProcessingReport>) -> Stages {
    local.stages(report).unwrap_or_default()
}

/// Which pages were blank, by page number, for `ScanImageInfo`.
pub(crate) type BlankPages = Arc<Mutex<BTreeMap<u32, bool>>>;

/// `BlankPageDetection`: checks every page at `sensitivity` (the stages' own measure) and
/// passes it on unchanged, recording the verdict in `found`.
pub(crate) struct DetectBlank {
    pub sensitivity: Sensitivity,
    pub found: BlankPages,
}

impl Stage for DetectBlank {
    fn name(&self) -> &str {
        "blank-detection"
    }

    fn process(&self, mut page: PageImage) -> Result<Vec<PageImage>, StageError> {
        let (pixel, width, height) = page.layout();
        let data = std::mem::take(&mut page.data);
        let img = Image::new(pixel, width, height, page.page.dpi, data)
            .map_err(|e| StageError::new(self.name(), e.to_string()))?;
        let blank = blank_score(&img)
            .map_err(|e| StageError::new(self.name(), e.to_string()))?
            .is_blank(self.sensitivity);
        page.data = img.data;
        self.found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(page.page.number, blank);
        Ok(vec![page])
    }
}
