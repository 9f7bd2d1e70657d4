//! `scan:ScannerStatus` (with its `scan:JobInfo` list) and `scan:ScanImageInfo`.

use crate::values::{AdfState, JobState, JobStateReason, ScannerState};

/// `scan:ScannerStatus` (GET `{root}/ScannerStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerStatus {
    /// `pwg:Version`.
    pub version: Option<String>,
    /// `pwg:State` (required: sane-airscan's precheck fails without it).
    pub state: ScannerState,
    /// `scan:AdfState`.
    pub adf_state: Option<AdfState>,
    /// `scan:Jobs/scan:JobInfo`, in document order (devices list newest first).
    pub jobs: Vec<JobInfo>,
}

impl ScannerStatus {
    /// A status with `state` and nothing else.
    pub fn new(state: ScannerState) -> Self {
        ScannerStatus {
            version: None,
            state,
            adf_state: None,
            jobs: Vec::new(),
        }
    }

    /// The job whose `pwg:JobUri` equals `uri` (NAPS2 looks jobs up this way).
    pub fn job(&self, uri: &str) -> Option<&JobInfo> {
        self.jobs.iter().find(|job| job.job_uri == uri)
    }
}

/// `scan:JobInfo`: one job in a ScannerStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// `pwg:JobUri` (required, trimmed: Brother wraps it in newlines). It must equal the path of
    /// the job's `Location` header. Kyocera's contain `urn:uuid:`.
    pub job_uri: String,
    /// `pwg:JobUuid`; often not a UUID (`166-1005` on HP, `urn:uuid:...` on Kyocera).
    pub job_uuid: Option<String>,
    /// `scan:Age` in seconds.
    pub age: Option<u32>,
    /// `pwg:ImagesCompleted`.
    pub images_completed: Option<u32>,
    /// `pwg:ImagesToTransfer` (Kyocera omits it).
    pub images_to_transfer: Option<u32>,
    /// `pwg:JobState`.
    pub job_state: Option<JobState>,
    /// `pwg:JobStateReasons/pwg:JobStateReason`.
    pub job_state_reasons: Vec<JobStateReason>,
}

impl JobInfo {
    /// A job with `uri` and nothing else.
    pub fn new(job_uri: impl Into<String>) -> Self {
        JobInfo {
            job_uri: job_uri.into(),
            job_uuid: None,
            age: None,
            images_completed: None,
            images_to_transfer: None,
            job_state: None,
            job_state_reasons: Vec::new(),
        }
    }
}

/// `scan:ScanImageInfo` (GET `{job}/ScanImageInfo`): the geometry of the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanImageInfo {
    /// `pwg:JobUri`.
    pub job_uri: Option<String>,
    /// `pwg:JobUuid`.
    pub job_uuid: Option<String>,
    /// `scan:ActualWidth` in pixels (required).
    pub actual_width: u32,
    /// `scan:ActualHeight` in pixels (required).
    pub actual_height: u32,
    /// `scan:ActualBytesPerLine`.
    pub actual_bytes_per_line: Option<u32>,
    /// `scan:BlankPageDetected`: the page is blank, when the job asked for
    /// `BlankPageDetection` (go-mfp's model of the eSCL specification).
    pub blank_page_detected: Option<bool>,
}
