//! OCR on every PDF job, as `serve --ocr eng` sets it up (crates/cli/src/serve_plan.rs): the
//! server's opaque extra stages, for the tests that fetch searchable PDFs.

use scanwire_codecs::Format;
use scanwire_core::transfer::{CancelHandle, HookGuard};
use scanwire_ocr::{CancelFlag, OcrPool, OcrStage};
use scanwire_server::{JobStages, PageImage, Stage, StageError, Stages};
use std::sync::Arc;

/// The job stages of a server with English OCR over `pool`.
pub struct Ocr(pub Arc<OcrPool>);

impl std::fmt::Debug for Ocr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ocr")
    }
}

/// One job's OCR stage, with the hook that cancels it when the job is cancelled.
struct JobOcr(OcrStage, #[allow(dead_code)] HookGuard);

impl Stage for JobOcr {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        self.0.process(page)
    }
}

impl JobStages for Ocr {
    fn stages(&self, format: Format, cancel: &CancelHandle) -> Stages {
        if format != Format::Pdf {
            return Vec::new();
        }
        let flag = CancelFlag::new();
        let f = flag.clone();
        let hook = cancel.token().on_cancel(move || f.cancel());
        vec![Arc::new(JobOcr(OcrStage::new(self.0.clone(), flag), hook))]
    }

    fn languages(&self) -> Vec<String> {
        vec!["eng".into()]
    }
}
