//! One served device: its identity, its capabilities document, its jobs and the feeder state
//! the server has seen.

use crate::config::Timing;
use crate::job::{CancelReason, Job, JobHost, JobSettings};
use crate::mapping::JobRequest;
use crate::served::{DeviceHealth, Health};
use scanwire_core::device::{Capabilities, DeviceErrorKind, DeviceInfo, OptionValue, Source};
use scanwire_core::transfer::{Outcome, SharedDevice, TransferOptions};
use scanwire_core::wia::{self, HResult};
use scanwire_escl::{self as escl, AdfState, Document, ScannerState};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

/// Path segment names a device must not take: they are the eSCL endpoints under `/eSCL`.
const RESERVED: [&str; 3] = ["ScannerCapabilities", "ScannerStatus", "ScanJobs"];

pub(crate) struct DeviceEntry {
    /// The device id as given (`virtual`, `sane:test:0`).
    pub id: String,
    /// Its path segment under `/eSCL/`.
    pub segment: String,
    pub caps: Capabilities,
    /// The configuration's `request_options`, parsed against this device's options.
    pub options: BTreeMap<String, OptionValue>,
    /// The ScannerCapabilities document, built once.
    pub caps_xml: String,
    /// `pwg:MakeAndModel`, as clients show the device.
    pub make_and_model: String,
    pub uuid: String,
    pub shared: SharedDevice,
    /// Its supervisor (a driver host), asked whether the device can take a job.
    pub health: Option<Arc<dyn DeviceHealth>>,
    /// Its own transfer options (watchdog), instead of the server's.
    pub transfer: Option<TransferOptions>,
    state: Mutex<DeviceState>,
    /// Bumped whenever a job or holder takes or frees the device (the web page's device
    /// events).
    changed: tokio::sync::watch::Sender<u64>,
}

/// Something other than an eSCL or WS-Scan job holding the device (a scan or preview from
/// the web page): the device is busy for everyone while it is active, exactly as with a job.
pub(crate) trait Holder: Send + Sync {
    /// Whether it still holds the device.
    fn is_active(&self) -> bool;
    /// What it is doing, for a person ("scanning page 2 for the web page").
    fn doing(&self) -> String;
}

/// What a device is doing, for the web page.
pub(crate) enum Activity {
    Idle,
    /// The last scan found it offline.
    Down,
    /// Busy, and with what.
    Busy(String),
    /// Its driver is being restarted after a failure: what happened, and when it is back.
    Restarting(String),
}

struct DeviceState {
    /// The job holding the device: pending or running.
    active: Option<Arc<Job>>,
    /// Recent jobs, newest first (including the active one).
    jobs: VecDeque<Arc<Job>>,
    /// The last paper problem (or empty feeder) a feeder job ran into.
    feeder: Option<FeederNote>,
    /// The last job found the device offline (until a job works again): real scanners say
    /// `Down` then, and a client must not see `Idle`.
    down: bool,
    /// A web scan or preview holding the device.
    held: Option<Arc<dyn Holder>>,
}

/// A feeder state a job caused. It shows only once that job has handed out its last page:
/// until then the client is still fetching the job's pages, and sane-backends' escl stops
/// fetching as soon as the feeder reads empty or jammed.
struct FeederNote {
    state: AdfState,
    job: Weak<Job>,
    /// When it first showed (the time-to-live counts from there).
    shown: Option<Instant>,
}

/// Why a job cannot be created now.
pub(crate) enum Refusal {
    /// Another job holds the device (503).
    Busy(String),
    /// The device's driver is being restarted after a failure (503 with the time to wait).
    Restarting {
        /// What happened and what is being done.
        reason: String,
        /// Seconds until it is expected back.
        retry_after: u32,
    },
}

impl DeviceEntry {
    pub(crate) fn new(
        id: String,
        segment: String,
        info: DeviceInfo,
        caps: Capabilities,
        options: BTreeMap<String, OptionValue>,
        shared: SharedDevice,
    ) -> Self {
        // Stable across restarts: clients remember scanners by UUID.
        let uuid = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("scanwire:device:{id}").as_bytes(),
        )
        .to_string();
        let doc = crate::mapping::capabilities(&info, &caps, &uuid);
        let make_and_model = doc.make_and_model.clone().unwrap_or(caps.model.clone());
        let caps_xml = doc.to_xml();
        DeviceEntry {
            id,
            segment,
            caps,
            options,
            caps_xml,
            make_and_model,
            uuid,
            shared,
            health: None,
            transfer: None,
            state: Mutex::new(DeviceState {
                active: None,
                jobs: VecDeque::new(),
                feeder: None,
                down: false,
                held: None,
            }),
            changed: tokio::sync::watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, DeviceState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes whoever watches the device's state.
    pub(crate) fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes of the device's state (taken or freed), from now on.
    pub(crate) fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Creates a job unless another one holds the device.
    pub(crate) fn create_job(
        self: &Arc<Self>,
        root: &str,
        req: JobRequest,
        mut settings: JobSettings,
        max_history: usize,
    ) -> Result<Arc<Job>, Refusal> {
        // Asked before the lock: a supervisor answers at once, but is not ours to hold up.
        let health = self.health();
        let mut st = self.lock();
        if let Some(j) = st.active.as_ref().filter(|j| j.is_active()) {
            return Err(Refusal::Busy(format!(
                "the scanner is busy with job {}",
                j.uri
            )));
        }
        if let Some(h) = st.held.as_ref().filter(|h| h.is_active()) {
            return Err(Refusal::Busy(format!("the scanner is busy: {}", h.doing())));
        }
        // A transfer the watchdog gave up on may still hold the device.
        match self.shared.try_lock() {
            Ok(_) | Err(TryLockError::Poisoned(_)) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Refusal::Busy(
                    "the scanner is still finishing a previous scan".into(),
                ))
            }
        }
        if let Some((reason, retry_after)) = health.restarting() {
            return Err(Refusal::Restarting {
                reason,
                retry_after,
            });
        }
        if let Some(t) = self.transfer {
            settings.transfer = t;
        }
        let host: Arc<dyn JobHost> = self.clone();
        let job = Job::new(Arc::downgrade(&host), root, req, settings);
        st.active = Some(job.clone());
        st.jobs.push_front(job.clone());
        while st.jobs.len() > max_history.max(1) {
            // Never drop a job that still holds the device.
            match st.jobs.back() {
                Some(j) if !j.is_active() => {
                    st.jobs.pop_back();
                }
                _ => break,
            }
        }
        drop(st);
        self.notify();
        Ok(job)
    }

    /// Takes the device for `holder` (a web scan or preview) unless a job or another holder
    /// has it; the sentence says who does.
    pub(crate) fn hold(&self, holder: Arc<dyn Holder>) -> Result<(), Refusal> {
        // Asked before the lock, as `create_job` does.
        let health = self.health();
        let mut st = self.lock();
        let name = &self.make_and_model;
        if st.active.as_ref().is_some_and(|j| j.is_active()) {
            return Err(Refusal::Busy(format!(
                "{name} is busy with another scan (an eSCL client); try again when it is idle"
            )));
        }
        if let Some(h) = st.held.as_ref().filter(|h| h.is_active()) {
            return Err(Refusal::Busy(format!(
                "{name} is busy with another scan ({}); try again when it is idle",
                h.doing()
            )));
        }
        match self.shared.try_lock() {
            Ok(_) | Err(TryLockError::Poisoned(_)) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Refusal::Busy(format!(
                    "{name} is still finishing a previous scan; try again in a moment"
                )))
            }
        }
        if let Some((reason, retry_after)) = health.restarting() {
            return Err(Refusal::Restarting {
                reason,
                retry_after,
            });
        }
        st.held = Some(holder);
        st.feeder = None;
        drop(st);
        self.notify();
        Ok(())
    }

    /// `holder` is done with the device (its transfer ended with `outcome`).
    pub(crate) fn release(&self, holder: &Arc<dyn Holder>, outcome: &Outcome) {
        let mut st = self.lock();
        if st.held.as_ref().is_some_and(|h| Arc::ptr_eq(h, holder)) {
            st.held = None;
        }
        match &outcome.error {
            Some(e) if e.kind() == DeviceErrorKind::Offline => st.down = true,
            None if outcome.result == wia::S_OK
                || outcome.result == wia::WIA_STATUS_END_OF_MEDIA =>
            {
                st.down = false;
            }
            _ => {}
        }
        drop(st);
        self.notify();
    }

    /// What the device is doing, in words.
    pub(crate) fn activity(&self) -> Activity {
        let health = self.health();
        let st = self.lock();
        if let Some(j) = st.active.as_ref().filter(|j| j.is_active()) {
            let done = j.info().images_completed.unwrap_or(0);
            if j.queue_view().is_some_and(|q| q.waiting) {
                return Activity::Busy(format!(
                    "waiting for workers: the queue is full (page {} scanned for another client)",
                    done
                ));
            }
            return Activity::Busy(format!(
                "scanning page {} for another client (eSCL)",
                done + 1
            ));
        }
        if let Some(h) = st.held.as_ref().filter(|h| h.is_active()) {
            return Activity::Busy(h.doing());
        }
        if matches!(self.shared.try_lock(), Err(TryLockError::WouldBlock)) {
            return Activity::Busy("finishing a scan".into());
        }
        if let Some((reason, _)) = health.restarting() {
            Activity::Restarting(reason)
        } else if st.down {
            Activity::Down
        } else {
            Activity::Idle
        }
    }

    /// Recent jobs whose pages are on the queue (`serve --queue`), newest first, with their
    /// progress: the document not yet back, or back within the job history.
    pub(crate) fn queue_jobs(&self) -> Vec<(Arc<Job>, crate::queue::QueueView)> {
        self.lock()
            .jobs
            .iter()
            .filter_map(|j| j.queue_view().map(|v| (j.clone(), v)))
            .collect()
    }

    /// The job holding the device, if any.
    pub(crate) fn active_job(&self) -> Option<Arc<Job>> {
        self.lock().active.clone().filter(|j| j.is_active())
    }

    /// A job by its path id.
    pub(crate) fn job(&self, id: &str) -> Option<Arc<Job>> {
        self.lock().jobs.iter().find(|j| j.id == id).cloned()
    }

    /// What the device's supervisor says ([`Health::Ready`] without one).
    pub(crate) fn health(&self) -> Health {
        self.health.as_ref().map_or(Health::Ready, |h| h.health())
    }

    /// The ScannerStatus document. A device whose driver is being restarted reads `Testing`
    /// (not ready yet, as a scanner running its self-test after a reset): clients retry a
    /// 503 then (sane-airscan does on Idle, Processing and Testing, not on Down or Stopped),
    /// and the reason is in [`health`](Self::health).
    pub(crate) fn status(&self, timing: &Timing) -> escl::ScannerStatus {
        let restarting = self.health().restarting().is_some();
        let mut st = self.lock();
        let busy = st.active.as_ref().is_some_and(|j| j.is_active())
            || st.held.as_ref().is_some_and(|h| h.is_active())
            || matches!(self.shared.try_lock(), Err(TryLockError::WouldBlock));
        let has_feeder = self.caps.sources.iter().any(|s| s.source.is_feeder());
        let adf_state = has_feeder.then(|| {
            let Some(note) = st.feeder.as_mut() else {
                // The server cannot sense paper: without a problem seen lately the feeder
                // is taken to be ready. Never ScannerAdfProcessing: sane-airscan reads it as
                // "no documents" and would end a batch early.
                return AdfState::Loaded;
            };
            if note.job.upgrade().is_some_and(|j| j.has_pending()) {
                return AdfState::Loaded;
            }
            let shown = *note.shown.get_or_insert_with(Instant::now);
            let ttl = if note.state == AdfState::Empty {
                timing.feeder_empty
            } else {
                timing.feeder_fault
            };
            if shown.elapsed() < ttl {
                note.state.clone()
            } else {
                AdfState::Loaded
            }
        });
        escl::ScannerStatus {
            version: Some("2.63".into()),
            state: if busy {
                ScannerState::Processing
            } else if restarting {
                ScannerState::Testing
            } else if st.down {
                ScannerState::Down
            } else {
                ScannerState::Idle
            },
            adf_state,
            jobs: st.jobs.iter().map(|j| j.info()).collect(),
        }
    }

    /// Timeouts for every job; forgets jobs past their history time.
    pub(crate) fn sweep(&self, timeout: Duration, history: Duration) {
        let jobs: Vec<Arc<Job>> = self.lock().jobs.iter().cloned().collect();
        let forget: Vec<Arc<Job>> = jobs
            .into_iter()
            .filter(|j| j.sweep(timeout, history))
            .collect();
        if !forget.is_empty() {
            let mut st = self.lock();
            st.jobs
                .retain(|j| !forget.iter().any(|f| Arc::ptr_eq(f, j)) || j.is_active());
        }
    }

    /// Cancels every job that is not over (server shutdown).
    pub(crate) fn cancel_all(&self) {
        let jobs: Vec<Arc<Job>> = self.lock().jobs.iter().cloned().collect();
        for j in jobs {
            j.cancel(CancelReason::Shutdown);
        }
    }
}

impl JobHost for DeviceEntry {
    fn device(&self) -> &SharedDevice {
        &self.shared
    }

    fn queue_changed(&self) {
        self.notify();
    }

    /// A new transfer starts: an old feeder fault no longer says anything.
    fn transfer_started(&self, _job: &Job) {
        self.lock().feeder = None;
    }

    /// A DEVICE_STATUS error from a running job.
    fn feeder_status(&self, job: &Arc<Job>, status: HResult) {
        let source = job.req.request.source;
        if let Some(state) = feeder_state(DeviceErrorKind::from_hresult(status), source) {
            self.lock().feeder = Some(FeederNote {
                state,
                job: Arc::downgrade(job),
                shown: None,
            });
        }
    }

    /// A job ended (its transfer, or the job itself before it ran): free the device and
    /// record what the feeder did.
    fn job_ended(&self, job: &Arc<Job>, outcome: &Outcome) {
        let mut st = self.lock();
        if st.active.as_ref().is_some_and(|a| Arc::ptr_eq(a, job)) {
            st.active = None;
        }
        match &outcome.error {
            Some(e) if e.kind() == DeviceErrorKind::Offline => st.down = true,
            Some(_) => {}
            None if outcome.result == wia::S_OK
                || outcome.result == wia::WIA_STATUS_END_OF_MEDIA =>
            {
                st.down = false;
            }
            None => {}
        }
        // Watchers read the state after the lock is released.
        self.notify();
        let source = job.req.request.source;
        if !source.is_feeder() {
            return;
        }
        let fault = outcome
            .error
            .as_ref()
            .and_then(|e| feeder_state(e.kind(), source));
        let note = |state| FeederNote {
            state,
            job: Arc::downgrade(job),
            shown: None,
        };
        if let Some(state) = fault {
            st.feeder = Some(note(state));
        } else if outcome.result == wia::S_OK || outcome.result == wia::WIA_STATUS_END_OF_MEDIA {
            // eSCL jobs ask for all pages: a feeder job that ended normally emptied the
            // feeder. A jam the driver reported on the way (a DEVICE_STATUS) stays.
            if st.feeder.is_none() {
                st.feeder = Some(note(AdfState::Empty));
            }
        }
    }
}

/// The ADF state a device error means, for feeder jobs.
fn feeder_state(kind: DeviceErrorKind, source: Source) -> Option<AdfState> {
    if !source.is_feeder() {
        return None;
    }
    Some(match kind {
        DeviceErrorKind::PaperJam => AdfState::Jam,
        DeviceErrorKind::FeederEmpty => AdfState::Empty,
        DeviceErrorKind::MultiFeed => AdfState::MultipickDetected,
        DeviceErrorKind::PaperProblem => AdfState::Mispick,
        // sane-airscan and sane-backends' escl both read ScannerAdfDoorOpen as "cover open";
        // neither knows ScannerAdfHatchOpen.
        DeviceErrorKind::CoverOpen => AdfState::DoorOpen,
        _ => return None,
    })
}

/// The path segment for a device id: letters, digits, `.`, `_` and `-` kept, anything else
/// (`:`, `/`, spaces) becomes `-`; unique among `taken`; never an eSCL endpoint name.
pub(crate) fn segment_for(id: &str, taken: &[String]) -> String {
    let mut s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let mut s = s.trim_matches('-').to_string();
    if s.is_empty() || s == "." || s == ".." || RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&s))
    {
        s = format!("device-{s}").trim_end_matches('-').to_string();
    }
    let base = s.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&s)) {
        s = format!("{base}-{n}");
        n += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_safe_and_unique() {
        assert_eq!(segment_for("virtual", &[]), "virtual");
        assert_eq!(segment_for("sane:test:0", &[]), "sane-test-0");
        assert_eq!(
            segment_for("escl:http://10.0.0.5/eSCL", &[]),
            "escl-http-10.0.0.5-eSCL"
        );
        assert_eq!(segment_for("ScanJobs", &[]), "device-ScanJobs");
        assert_eq!(segment_for("::", &[]), "device");
        assert_eq!(segment_for("a b", &["a-b".into()]), "a-b-2");
    }
}
