//! One eSCL scan job: created by POST `ScanJobs`, started by the first `NextDocument`, run as
//! a decoupled core transfer, and kept a while after it ends so ScannerStatus can list it.
//!
//! ```text
//!            first NextDocument            transfer ends (Event::Finished)
//!  Pending ───────────────────► Running ───────────────────────────────► Ended
//!     │                            │                                      ▲
//!     │ DELETE / timeout           │ DELETE / client gone / timeout       │
//!     └────────────────────────────┴──► cancelled (sticky) ───────────────┘
//!          (Pending: ends at once)      (Running: the driver sees S_FALSE,
//!                                        the transfer then ends)
//! ```
//!
//! Pages are *slots*: the job's page pipeline opens one per page (one per job for a
//! multi-page format) through [`JobOutput`], whose encoder fills the slot's body channel;
//! `NextDocument` hands the slots out in order, each to exactly one request.

use crate::mapping::JobRequest;
use crate::queue::{QueueProgress, QueueView, QueuedJob};
use crate::response::{self, Chunk, JobOutput, Settle, Slots};
use bytes::Bytes;
use scanwire_codecs::EncodeOptions;
use scanwire_core::device::{DeviceErrorKind, PageInfo, Source};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, Event, Outcome, SharedDevice, StreamFactory, TransferOptions,
};
use scanwire_core::wia::{self, HResult, MessageKind};
use scanwire_escl::{self as escl, JobState, JobStateReason};
use scanwire_pipeline::{Pipeline, PipelineOptions};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What a job needs from the device it runs on (the server's device entry).
pub(crate) trait JobHost: Send + Sync {
    /// The device the transfer runs on.
    fn device(&self) -> &SharedDevice;
    /// A new transfer starts.
    fn transfer_started(&self, job: &Job);
    /// A DEVICE_STATUS error from the running transfer.
    fn feeder_status(&self, job: &Arc<Job>, status: HResult);
    /// The job ended (its transfer, or the job itself before it ran): free the device.
    fn job_ended(&self, job: &Arc<Job>, outcome: &Outcome);
    /// A queue job's progress changed, or it started or stopped waiting for workers.
    fn queue_changed(&self);
}

/// Where a job is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Created; the transfer starts with the first `NextDocument`.
    Pending,
    /// The transfer runs.
    Running,
    /// The transfer is over (or never ran).
    Ended,
}

/// Who cancelled a job.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CancelReason {
    /// `DELETE {job}`.
    Client,
    /// The client closed the connection in the middle of a page.
    Disconnected,
    /// Nobody fetched the job for [`Timing::job_timeout`](crate::Timing::job_timeout).
    TimedOut,
    /// The server is shutting down.
    Shutdown,
}

/// Per-job copies of the server settings the job's threads need.
#[derive(Clone, Debug)]
pub(crate) struct JobSettings {
    pub encode: EncodeOptions,
    pub page_buffer: usize,
    pub transfer: TransferOptions,
    pub fault_settle: Duration,
    pub job_stages: Option<Arc<dyn crate::config::JobStages>>,
    pub queue: Option<Arc<dyn crate::queue::JobQueue>>,
}

pub(crate) struct Job {
    /// The id in the job's path.
    pub id: String,
    /// `pwg:JobUuid`.
    pub uuid: String,
    /// The path of the `Location` header, also `pwg:JobUri`.
    pub uri: String,
    pub created: Instant,
    pub req: JobRequest,
    pub cancel: CancelHandle,
    device: Weak<dyn JobHost>,
    settings: JobSettings,
    inner: Mutex<JobInner>,
    /// Wakes encoder threads waiting for the outcome ([`Settle`]).
    ended: Condvar,
    /// Bumped on every change `NextDocument` may wait for.
    changed: watch::Sender<u64>,
    /// Serializes `NextDocument` requests so that each page goes to exactly one of them.
    pub fetch: tokio::sync::Mutex<()>,
    /// The job's page pipeline, once the transfer starts.
    pipeline: Mutex<Option<Pipeline<JobOutput>>>,
    /// The pipeline runs stages: its outputs are opened after processing, not when the
    /// driver opens a page, and a stage may drop or split pages, so driver pages and slots
    /// no longer pair up one to one.
    staged: std::sync::atomic::AtomicBool,
    /// What the processing stages found on each page.
    report: Arc<scanwire_imaging::ProcessingReport>,
    /// `BlankPageDetection`'s verdicts, by page number.
    blank_found: crate::processing::BlankPages,
    /// With `serve --queue`: the job's pages go to workers, and its document comes back
    /// from them (see [`Job::collect`]).
    queued: Mutex<Option<Arc<dyn QueuedJob>>>,
    /// Tells the queue job when this job is cancelled.
    queue_hook: Mutex<Option<scanwire_core::transfer::HookGuard>>,
}

struct JobInner {
    phase: Phase,
    cancelled: Option<CancelReason>,
    slots: Vec<Slot>,
    /// The next slot `NextDocument` hands out.
    next: usize,
    /// Page streams the driver opened (for PDF: pages; all share slot 0).
    streams: u32,
    /// Pages the driver completed (END_OF_STREAM with S_OK).
    completed: u32,
    /// Documents fully sent to a client.
    delivered: u32,
    /// Documents handed out whose response has not ended yet.
    open_bodies: u32,
    last_page: Option<PageInfo>,
    outcome: Option<Outcome>,
    /// DEVICE_STATUS errors the driver reported.
    faults: Vec<HResult>,
    /// Requests waiting in or streaming from this job.
    live: u32,
    last_activity: Instant,
    ended_at: Option<Instant>,
    /// Documents nobody collected were dropped after the job timeout.
    expired: bool,
    /// Every page the pipeline will ever produce has its slot. Without stages, as soon as
    /// the transfer ends; with stages, once the last page is processed (a page may still be
    /// in a stage when the driver is done), so the end is not announced before it.
    settled: bool,
    /// A queue job's progress and whether it waits for workers (`serve --queue`).
    queue: Option<QueueView>,
    /// Why a queue job failed (publishing, or the workers' document).
    queue_failed: Option<String>,
}

/// One document to hand out: a page, or the whole PDF.
struct Slot {
    body: Option<tokio::sync::mpsc::Receiver<Chunk>>,
    /// Its page as served (a document: its last page so far), and whether it was blank
    /// (with `BlankPageDetection`), for `ScanImageInfo`.
    page: Option<(PageInfo, Option<bool>)>,
    /// How the driver ended the page (one-image formats; a document: how the transfer ended).
    end: Option<HResult>,
}

/// What `NextDocument` gets from a job.
pub(crate) enum Next {
    /// A document to stream.
    Document(tokio::sync::mpsc::Receiver<Chunk>),
    /// Nothing yet: wait for a change.
    Wait,
    /// No more documents: answer with this.
    End(EndReason),
}

/// Why a job has no more documents, which decides `NextDocument`'s status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// Every page was delivered (404, the normal end).
    Done,
    /// The job was cancelled (410).
    Cancelled,
    /// Its documents were dropped because nobody fetched them in time (410).
    Expired,
    /// A feeder or paper problem (409): jam, empty feeder, cover open.
    Paper(String),
    /// The device is busy or warming up (503).
    Busy(String),
    /// Any other failure (500).
    Failed(String),
}

impl Job {
    pub(crate) fn new(
        device: Weak<dyn JobHost>,
        root: &str,
        req: JobRequest,
        settings: JobSettings,
    ) -> Arc<Job> {
        let uuid = uuid::Uuid::new_v4();
        let id = uuid.simple().to_string();
        let (changed, _) = watch::channel(0);
        Arc::new(Job {
            uri: format!("{root}/ScanJobs/{id}"),
            id,
            uuid: uuid.to_string(),
            created: Instant::now(),
            req,
            cancel: CancelHandle::new(),
            device,
            settings,
            inner: Mutex::new(JobInner {
                phase: Phase::Pending,
                cancelled: None,
                slots: Vec::new(),
                next: 0,
                streams: 0,
                completed: 0,
                delivered: 0,
                open_bodies: 0,
                last_page: None,
                outcome: None,
                faults: Vec::new(),
                live: 0,
                last_activity: Instant::now(),
                ended_at: None,
                expired: false,
                settled: false,
                queue: None,
                queue_failed: None,
            }),
            ended: Condvar::new(),
            changed,
            fetch: tokio::sync::Mutex::new(()),
            pipeline: Mutex::new(None),
            staged: std::sync::atomic::AtomicBool::new(false),
            report: scanwire_imaging::ProcessingReport::new(),
            blank_found: Default::default(),
            queued: Mutex::new(None),
            queue_hook: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, JobInner> {
        // A panic while holding the lock leaves consistent-enough bookkeeping behind.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the job's pages go into one document (a multi-page format) rather than a
    /// response each.
    fn document(&self) -> bool {
        self.req.format.is_multi_page()
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Subscribes to changes (before checking the state, so none is missed).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Marks client activity (a request, bytes read).
    pub(crate) fn touch(&self) {
        self.lock().last_activity = Instant::now();
    }

    /// Counts a request or response body as present until the guard drops.
    pub(crate) fn live(self: &Arc<Self>) -> LiveGuard {
        let mut g = self.lock();
        g.live += 1;
        g.last_activity = Instant::now();
        LiveGuard(self.clone())
    }

    /// Starts the transfer if the job is still pending. Errors only when the device cannot
    /// be used.
    /// Must be called on the server's runtime.
    pub(crate) fn start(self: &Arc<Self>) {
        let Some(device) = self.device.upgrade() else {
            return;
        };
        {
            let mut g = self.lock();
            if g.phase != Phase::Pending || g.cancelled.is_some() {
                return;
            }
            g.phase = Phase::Running;
        }
        // Once per job, never for a later `NextDocument`: the driver opens its pages in this
        // pipeline, and `finish` ends and waits for the same one. A new one per request
        // would take the next pages in another turnstile (out of order) and let `finish`
        // wait on a pipeline that holds none of the pages still in a stage, announcing the
        // end before their slots open.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            match self.pipeline(runtime) {
                Ok(p) => *self.pipeline.lock().unwrap_or_else(|p| p.into_inner()) = p,
                Err(why) => {
                    // The queue is not there (`serve --queue`): the job fails before the
                    // device scans a page nobody could process.
                    self.finish(Outcome {
                        result: wia::E_FAIL,
                        error: Some(scanwire_core::device::DeviceError::new(
                            DeviceErrorKind::Internal,
                            why,
                        )),
                        pages: 0,
                        incomplete: 0,
                        skipped: 0,
                        violations: Vec::new(),
                    });
                    return;
                }
            }
        }
        device.transfer_started(self);
        let factory = JobStreams { job: self.clone() };
        let t = transfer::spawn(
            device.device(),
            &self.req.request,
            Box::new(factory),
            None,
            &self.cancel,
            &self.settings.transfer,
        );
        let job = self.clone();
        let pumped = std::thread::Builder::new()
            .name("scanwire-job".into())
            .spawn(move || job.pump(t.events));
        if let Err(e) = pumped {
            // Without a reader the transfer would stall on a full queue: stop it.
            self.cancel.cancel();
            self.finish(Outcome {
                result: wia::E_OUTOFMEMORY,
                error: Some(scanwire_core::device::DeviceError::new(
                    DeviceErrorKind::Internal,
                    format!("cannot start the job thread: {e}"),
                )),
                pages: 0,
                incomplete: 0,
                skipped: 0,
                violations: Vec::new(),
            });
        }
    }

    /// Reads the transfer's events until it ends.
    fn pump(self: Arc<Self>, events: std::sync::mpsc::Receiver<Event>) {
        for ev in events.iter() {
            match ev {
                Event::Message(p) if p.kind() == Some(MessageKind::EndOfStream) => {
                    self.page_ended(p.hrErrorStatus);
                }
                Event::DeviceStatus { status, .. } => self.device_status(status),
                Event::Finished(outcome) => {
                    self.finish(outcome);
                    return;
                }
                _ => {}
            }
        }
        // The queue closed without Finished: the transfer thread died.
        self.finish(Outcome {
            result: wia::E_UNEXPECTED,
            error: Some(scanwire_core::device::DeviceError::new(
                DeviceErrorKind::Internal,
                "the transfer ended without an outcome",
            )),
            pages: 0,
            incomplete: 0,
            skipped: 0,
            violations: Vec::new(),
        });
    }

    fn page_ended(&self, hr: HResult) {
        {
            let mut g = self.lock();
            if hr == wia::S_OK {
                g.completed += 1;
            }
            // With stages, a page's slot is opened after processing (or never, for a page
            // a stage dropped): the body itself carries the page's verdict.
            if !self.document() && !self.staged.load(std::sync::atomic::Ordering::Relaxed) {
                let i = g.streams as usize;
                if let Some(slot) = i.checked_sub(1).and_then(|i| g.slots.get_mut(i)) {
                    slot.end = Some(hr);
                }
            }
        }
        self.notify();
    }

    fn device_status(self: &Arc<Self>, status: HResult) {
        if status.is_failure() {
            self.lock().faults.push(status);
            if let Some(d) = self.device.upgrade() {
                d.feeder_status(self, status);
            }
        }
    }

    /// The transfer is over (or never ran): record the outcome, free the device, finish a
    /// PDF, wake everyone.
    pub(crate) fn finish(self: &Arc<Self>, outcome: Outcome) {
        if self.lock().phase == Phase::Ended {
            return;
        }
        // Free the device first, so a client reading ScannerStatus after the last 404 sees
        // it Idle.
        if let Some(d) = self.device.upgrade() {
            d.job_ended(self, &outcome);
        }
        let outcome_result = outcome.result;
        {
            let mut g = self.lock();
            if self.document() {
                if let Some(slot) = g.slots.first_mut() {
                    slot.end = Some(outcome.result);
                }
            }
            g.outcome = Some(outcome);
            g.phase = Phase::Ended;
            g.ended_at = Some(Instant::now());
        }
        self.ended.notify_all();
        let pipeline = self
            .pipeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let staged = self.staged.load(std::sync::atomic::Ordering::Relaxed);
        match pipeline {
            Some(p) if staged => {
                p.end(outcome_result);
                // Pages still in a stage get their slots later: the job has ended once they
                // have. Waiting takes as long as the client takes to read the pages.
                let job = self.clone();
                let queued = self
                    .queued
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let waiter = std::thread::Builder::new()
                    .name("scanwire-job-settle".into())
                    .spawn(move || {
                        let report = p.wait();
                        if let Some(q) = queued {
                            job.collect(&q, &report);
                        }
                        job.lock().settled = true;
                        job.notify();
                    });
                if waiter.is_err() {
                    self.lock().settled = true;
                }
            }
            Some(p) => {
                // Completes a document in the background; the job does not wait for its client.
                p.end(outcome_result);
                self.lock().settled = true;
            }
            None => self.lock().settled = true,
        }
        self.notify();
    }

    /// Cancels the job (idempotent; the first reason sticks). A pending job ends at once; a
    /// running one when its driver has seen S_FALSE. Undelivered documents are dropped.
    pub(crate) fn cancel(self: &Arc<Self>, why: CancelReason) {
        let pending = {
            let mut g = self.lock();
            if g.phase == Phase::Ended {
                // Only buffered pages are left: free them.
                g.slots.iter_mut().for_each(|s| s.body = None);
                if g.settled {
                    return;
                }
                // Pages are still in stages, or on the queue's workers: stop them (a queue
                // job is cancelled, so the workers drop its pages).
                g.cancelled.get_or_insert(why);
                drop(g);
                self.cancel.cancel();
                self.notify();
                return;
            }
            g.cancelled.get_or_insert(why);
            g.slots.iter_mut().for_each(|s| s.body = None);
            g.phase == Phase::Pending
        };
        self.cancel.cancel();
        if pending {
            self.finish(Outcome {
                result: wia::S_FALSE,
                error: None,
                pages: 0,
                incomplete: 0,
                skipped: 0,
                violations: Vec::new(),
            });
        } else {
            self.notify();
        }
    }

    /// The next document for `NextDocument`, if any.
    pub(crate) fn next_document(&self) -> Next {
        let mut g = self.lock();
        g.last_activity = Instant::now();
        if g.cancelled.is_some() {
            return Next::End(EndReason::Cancelled);
        }
        let ended = g.phase == Phase::Ended && g.settled;
        if g.expired {
            return Next::End(EndReason::Expired);
        }
        let i = g.next;
        let platen_done = self.req.request.source == Source::Flatbed
            && !self.document()
            && g.slots.first().is_some_and(|s| s.end == Some(wia::S_OK));
        match g.slots.get_mut(i) {
            // A page that failed is not handed out; once the job knows why, say it.
            Some(slot) if !self.document() && slot.end.is_some_and(|hr| hr != wia::S_OK) => {
                if ended {
                    Next::End(end_reason(&g))
                } else {
                    Next::Wait
                }
            }
            Some(slot) => match slot.body.take() {
                Some(rx) => {
                    g.next += 1;
                    g.open_bodies += 1;
                    Next::Document(rx)
                }
                // Dropped by a cancel (answered above) or by expiry: nothing to give.
                None => Next::End(EndReason::Expired),
            },
            None if ended => Next::End(end_reason(&g)),
            // The platen gives one page: once it is complete, nothing else can come, so the
            // end is said at once rather than when the transfer has wound down. sane-airscan
            // 0.99.27 hangs in sane_close when its own cancel (scanimage's sane_cancel after
            // the last page) is processed after this 404 and its DELETE have both completed
            // (`device_stm_cancel_event_callback` turns DONE into CANCEL_DELAYED); answering
            // at once keeps the 404 well ahead of the client's cancel.
            None if platen_done => Next::End(EndReason::Done),
            None => Next::Wait,
        }
    }

    /// Why the job has ended, once it has.
    pub(crate) fn end_reason(&self) -> Option<EndReason> {
        let g = self.lock();
        (g.phase == Phase::Ended || g.cancelled.is_some()).then(|| end_reason(&g))
    }

    /// A document was sent completely.
    pub(crate) fn delivered(&self) {
        {
            let mut g = self.lock();
            g.delivered += 1;
            g.open_bodies = g.open_bodies.saturating_sub(1);
            g.last_activity = Instant::now();
        }
        self.notify();
    }

    /// A document's response ended without it (cut off, or the client left).
    pub(crate) fn body_gone(&self) {
        {
            let mut g = self.lock();
            g.open_bodies = g.open_bodies.saturating_sub(1);
        }
        self.notify();
    }

    /// Whether the job still has documents for the client: one being sent, or a page
    /// waiting (not one that failed).
    pub(crate) fn has_pending(&self) -> bool {
        let g = self.lock();
        has_pending(&g, self.document())
    }

    /// The job as ScannerStatus lists it.
    pub(crate) fn info(&self) -> escl::JobInfo {
        let g = self.lock();
        let (state, reasons) = escl_state(&g, self.document());
        // Documents the client can still get: not the page that failed.
        let docs = g
            .slots
            .iter()
            .filter(|s| self.document() || s.end.is_none_or(|hr| hr == wia::S_OK))
            .count() as u32;
        // A queue job's document is on its way from the workers until it is here.
        let docs = match &g.queue {
            Some(q) if !q.finished && g.cancelled.is_none() => docs.max(1),
            _ => docs,
        };
        escl::JobInfo {
            job_uri: self.uri.clone(),
            job_uuid: Some(self.uuid.clone()),
            age: Some(self.created.elapsed().as_secs().min(u32::MAX as u64) as u32),
            images_completed: Some(g.completed),
            images_to_transfer: Some(match g.phase {
                // Nothing scanned yet: the job's one page (flatbed) is still to come.
                Phase::Pending if self.req.request.source == Source::Flatbed => 1,
                _ if g.cancelled.is_some() => 0,
                _ => docs.saturating_sub(g.delivered),
            }),
            job_state: Some(state),
            job_state_reasons: reasons,
        }
    }

    /// `scan:ScanImageInfo` for the last page started (or the expected one). With stages,
    /// the page last handed to the client, as served (a cropped page's size, not the scanned
    /// one's; with `BlankPageDetection`, whether it was blank): stages let later pages be
    /// ready before the client fetches them.
    pub(crate) fn image_info(&self) -> escl::ScanImageInfo {
        let g = self.lock();
        let geo = self.req.geometry;
        let staged = self.staged.load(std::sync::atomic::Ordering::Relaxed);
        let served = g
            .next
            .checked_sub(1)
            .and_then(|i| g.slots.get(i))
            .and_then(|s| s.page.as_ref());
        let page = if staged {
            served.map(|(p, _)| p)
        } else {
            g.last_page.as_ref()
        };
        let (width, height, bpl) = match page.map(|p| p.data) {
            Some(scanwire_core::device::PageData::Raster {
                pixel,
                width,
                height,
            }) => (
                width,
                height.unwrap_or(geo.height),
                pixel.bytes_per_line(width),
            ),
            _ => (geo.width, geo.height, geo.pixel.bytes_per_line(geo.width)),
        };
        escl::ScanImageInfo {
            job_uri: Some(self.uri.clone()),
            job_uuid: Some(self.uuid.clone()),
            actual_width: width,
            actual_height: height,
            actual_bytes_per_line: Some(bpl.min(u32::MAX as usize) as u32),
            blank_page_detected: self.req.detect_blank.and(served.and_then(|(_, b)| *b)),
        }
    }

    /// The kind of error the transfer ended with, once it has (WS-Scan names the fault after
    /// it).
    pub(crate) fn error_kind(&self) -> Option<DeviceErrorKind> {
        let g = self.lock();
        g.outcome.as_ref()?.completion().err().map(|e| e.kind())
    }

    /// Whether the job holds the device (pending or running).
    pub(crate) fn is_active(&self) -> bool {
        self.lock().phase != Phase::Ended
    }

    /// A flatbed job whose one page was scanned and delivered, waiting only for its
    /// transfer to wind down (milliseconds): the client already got its 404 (see
    /// `next_document`) and may post the next job at once.
    pub(crate) fn is_winding_down(&self) -> bool {
        let g = self.lock();
        g.phase == Phase::Running
            && g.cancelled.is_none()
            && self.req.request.source == Source::Flatbed
            && !self.document()
            && g.delivered >= 1
            && g.slots.first().is_some_and(|s| s.end == Some(wia::S_OK))
    }

    /// Timeouts: cancels a job nobody fetches; frees the pages of an ended job nobody
    /// collects. Returns whether the job may be forgotten (ended before `history`).
    pub(crate) fn sweep(self: &Arc<Self>, timeout: Duration, history: Duration) -> bool {
        let (idle, phase, ended_at) = {
            let g = self.lock();
            (
                g.live == 0 && g.last_activity.elapsed() >= timeout,
                g.phase,
                g.ended_at,
            )
        };
        match phase {
            Phase::Pending | Phase::Running if idle => self.cancel(CancelReason::TimedOut),
            // Pages still in stages or with the queue's workers, for a client that left.
            Phase::Ended if idle && !self.lock().settled => self.cancel(CancelReason::TimedOut),
            Phase::Ended if idle => {
                let mut g = self.lock();
                let next = g.next;
                if g.slots.iter().skip(next).any(|s| s.body.is_some()) {
                    g.expired = true;
                }
                g.slots.iter_mut().for_each(|s| s.body = None);
            }
            _ => {}
        }
        ended_at.is_some_and(|t| t.elapsed() >= history)
    }

    /// The job's format's MIME type.
    pub(crate) fn mime(&self) -> &'static str {
        self.req.format.mime()
    }

    /// The encoder settings of the job's pages.
    fn encode_options(&self) -> EncodeOptions {
        let mut encode: EncodeOptions = self.settings.encode.clone();
        if self.req.for_storage {
            encode.deflate = encode.deflate.for_storage();
        }
        encode
    }

    /// The job's page pipeline: pages into response bodies, encoded as the job's format;
    /// with `serve --queue` and a document format, pages to the queue instead. `None` when
    /// the pipeline could not be made (the driver's first page then fails); an error when
    /// the queue job could not be opened.
    fn pipeline(
        self: &Arc<Self>,
        runtime: tokio::runtime::Handle,
    ) -> Result<Option<Pipeline<JobOutput>>, String> {
        let encode = self.encode_options();
        let slots: Arc<dyn Slots + Send + Sync> = self.clone();
        let output = JobOutput::new(
            Arc::downgrade(&slots),
            runtime,
            self.cancel.clone(),
            self.settings.page_buffer,
        );
        if let Some(queued) = self.start_queue()? {
            self.staged
                .store(true, std::sync::atomic::Ordering::Relaxed);
            // Raw pages, each to the queue's stage as it completes, which passes nothing
            // on: the document comes from the workers (`collect`), never from this
            // pipeline, so it makes no document of its own (a document format would open
            // one, empty, at the first page).
            let mut opts = PipelineOptions::new(scanwire_codecs::Format::Pnm);
            opts.stages = vec![queued.stage()];
            // What waits for a full queue is bounded: then the driver waits, and the
            // feeder pauses.
            opts.pages_in_flight = Some(2);
            opts.queue_bytes = response::QUEUE_BYTES;
            opts.cancel = Some(self.cancel.clone());
            return Ok(Pipeline::new(output, opts).ok());
        }
        let stages = self.stages();
        let staged = !stages.is_empty();
        self.staged
            .store(staged, std::sync::atomic::Ordering::Relaxed);
        let opts = PipelineOptions {
            encode,
            stages,
            // Each page waits for its client, not for the page before it. With stages a
            // page is held whole while processed, so their number is bounded (one per core,
            // and one more being scanned): a client that reads slowly makes the driver wait
            // instead of the server holding the whole batch.
            pages_in_flight: if staged {
                Some(std::thread::available_parallelism().map_or(1, |n| n.get()) + 1)
            } else {
                None
            },
            queue_bytes: response::QUEUE_BYTES,
            coalesce: response::COALESCE,
            cancel: Some(self.cancel.clone()),
            direct: false,
            ..PipelineOptions::new(self.req.format)
        };
        Ok(Pipeline::new(output, opts).ok())
    }

    /// Opens the job's queue job when the server has a queue that takes the job's format
    /// (`serve --queue`); the processing the device does not do, and the server's own
    /// stages, then run on the workers.
    fn start_queue(self: &Arc<Self>) -> Result<Option<Arc<dyn QueuedJob>>, String> {
        let Some(queue) = self.settings.queue.clone() else {
            return Ok(None);
        };
        if !queue.takes(self.req.format) {
            return Ok(None);
        }
        let weak = Arc::downgrade(self);
        let on_wait = Arc::new(move |waiting: bool| {
            if let Some(job) = weak.upgrade() {
                job.lock()
                    .queue
                    .get_or_insert_with(QueueView::default)
                    .waiting = waiting;
                job.notify();
                if let Some(d) = job.device.upgrade() {
                    d.queue_changed();
                }
            }
        });
        let (format, local, encode) = (self.req.format, &self.req.local, self.encode_options());
        // The queue's client blocks on a runtime of its own, which cannot run inside the
        // server's: a plain thread opens the job.
        let queued = std::thread::scope(|s| {
            s.spawn(|| queue.start(format, local, &encode, on_wait))
                .join()
                .unwrap_or_else(|_| Err("the queue's client failed".into()))
        })?;
        let q = queued.clone();
        // DELETE, a client gone, the job timeout: the workers drop the job's pages. The
        // hook may run on the server's runtime, where the queue's client cannot block.
        let hook = self.cancel.token().on_cancel(move || {
            let _ = std::thread::Builder::new()
                .name("scanwire-queue-cancel".into())
                .spawn(move || q.cancel());
        });
        *self.queue_hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
        *self.queued.lock().unwrap_or_else(|p| p.into_inner()) = Some(queued.clone());
        self.lock().queue = Some(QueueView::default());
        Ok(Some(queued))
    }

    /// After the scan, a queue job's end: the page count is recorded and the workers'
    /// document fetched, then handed out as the job's documents (a slot each, complete). A
    /// scan cancelled, with no page, or whose pages could not all be published cancels the
    /// queue job instead. Runs on the job's settle thread; `NextDocument` meanwhile answers
    /// as for a page not started yet (held, then 503 with `Retry-After`).
    fn collect(self: &Arc<Self>, q: &Arc<dyn QueuedJob>, report: &scanwire_pipeline::Report) {
        let cancelled = {
            let g = self.lock();
            g.cancelled.is_some()
                || matches!(
                    g.outcome.as_ref().map(|o| o.completion()),
                    Some(Ok(scanwire_core::device::Completion::Cancelled))
                )
        };
        let failed = report.errors.first().map(|e| e.error.to_string());
        let fail = |why: Option<String>| {
            q.cancel();
            let mut g = self.lock();
            g.queue_failed = why;
            if let Some(v) = g.queue.as_mut() {
                v.finished = true;
            }
        };
        if cancelled || self.cancel.is_cancelled() || failed.is_some() {
            return fail(failed);
        }
        match q.end() {
            Ok(0) => return fail(None),
            Ok(_) => {}
            Err(e) => return fail(Some(e)),
        }
        let cancel = self.cancel.clone();
        let stop = move || cancel.is_cancelled();
        let mut progress = |p: QueueProgress| {
            self.lock()
                .queue
                .get_or_insert_with(QueueView::default)
                .progress = p;
            self.notify();
            if let Some(d) = self.device.upgrade() {
                d.queue_changed();
            }
        };
        let documents = match q.wait_documents(&stop, &mut progress) {
            Ok(docs) => docs,
            Err(e) => {
                let why = (!self.cancel.is_cancelled()).then_some(e);
                return fail(why);
            }
        };
        let mut g = self.lock();
        for bytes in documents {
            // The whole document is here: its chunks fill a channel made to hold them all.
            let all = Bytes::from(bytes);
            let chunks: Vec<Bytes> = (0..all.len())
                .step_by(response::BODY_CHUNK)
                .map(|i| all.slice(i..(i + response::BODY_CHUNK).min(all.len())))
                .collect();
            let (tx, rx) = tokio::sync::mpsc::channel(chunks.len() + 1);
            for c in chunks {
                let _ = tx.try_send(Chunk::Data(c));
            }
            let _ = tx.try_send(Chunk::End);
            let page = g.last_page.clone().map(|p| (p, None));
            g.slots.push(Slot {
                body: Some(rx),
                page,
                end: Some(wia::S_OK),
            });
        }
        if let Some(v) = g.queue.as_mut() {
            v.finished = true;
        }
        drop(g);
        if let Some(d) = self.device.upgrade() {
            d.queue_changed();
        }
    }

    /// The job's queue progress (`serve --queue`), while it has one.
    pub(crate) fn queue_view(&self) -> Option<QueueView> {
        self.lock().queue.clone()
    }

    /// The job's stages: the processing the client asked for that the device does not do
    /// itself, then the server's own ([`ServerConfig::job_stages`](crate::ServerConfig)).
    fn stages(&self) -> scanwire_pipeline::Stages {
        let mut stages = crate::processing::stages(&self.req.local, &self.report);
        if let Some(sensitivity) = self.req.detect_blank {
            stages.push(Arc::new(crate::processing::DetectBlank {
                sensitivity,
                found: self.blank_found.clone(),
            }));
        }
        if let Some(extra) = &self.settings.job_stages {
            stages.extend(extra.stages(self.req.format, &self.cancel));
        }
        stages
    }

    /// Opens the slot for a page the driver is about to write (driver thread).
    fn open_page(self: &Arc<Self>, page: &PageInfo) -> AppStream {
        if self.cancel.is_cancelled() {
            return AppStream::Cancel;
        }
        let pipeline = self
            .pipeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(pipeline) = pipeline else {
            return AppStream::Fail(wia::E_UNEXPECTED);
        };
        {
            let mut g = self.lock();
            g.streams += 1;
            g.last_page = Some(page.clone());
        }
        let stream = pipeline.open_page(page);
        if let AppStream::Fail(_) = stream {
            if self.cancel.is_cancelled() {
                return AppStream::Cancel;
            }
        }
        self.notify();
        stream
    }
}

impl Slots for Job {
    fn push_slot(&self, body: tokio::sync::mpsc::Receiver<Chunk>) {
        self.lock().slots.push(Slot {
            body: Some(body),
            page: None,
            end: None,
        });
    }

    fn page_out(&self, page: &PageInfo) {
        let blank = self
            .blank_found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&page.number)
            .copied();
        if let Some(slot) = self.lock().slots.last_mut() {
            slot.page = Some((page.clone(), blank));
        }
    }
}

impl Settle for Job {
    fn settle(&self) {
        let deadline = Instant::now() + self.settings.fault_settle;
        let mut g = self.lock();
        while g.phase != Phase::Ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            g = match self.ended.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// Keeps a job counted as attended while a request or response body holds it.
pub(crate) struct LiveGuard(Arc<Job>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let mut g = self.0.lock();
        g.live = g.live.saturating_sub(1);
        g.last_activity = Instant::now();
    }
}

/// The driver side of a job: opens page slots on the driver's thread.
struct JobStreams {
    job: Arc<Job>,
}

impl StreamFactory for JobStreams {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        self.job.open_page(page)
    }
}

/// The paper problems a feeder reports, as DeviceErrorKinds.
pub(crate) fn is_paper_problem(kind: DeviceErrorKind) -> bool {
    matches!(
        kind,
        DeviceErrorKind::PaperJam
            | DeviceErrorKind::FeederEmpty
            | DeviceErrorKind::MultiFeed
            | DeviceErrorKind::PaperProblem
            | DeviceErrorKind::CoverOpen
    )
}

fn has_pending(g: &JobInner, document: bool) -> bool {
    if g.cancelled.is_some() || g.expired {
        return false;
    }
    if g.phase == Phase::Ended && !g.settled {
        return true;
    }
    g.open_bodies > 0
        || g.slots.get(g.next).is_some_and(|s| {
            s.body.is_some() && (document || s.end.is_none_or(|hr| hr == wia::S_OK))
        })
}

fn end_reason(g: &JobInner) -> EndReason {
    if g.cancelled.is_some() {
        return EndReason::Cancelled;
    }
    if let Some(why) = &g.queue_failed {
        return EndReason::Failed(why.clone());
    }
    let Some(o) = &g.outcome else {
        return EndReason::Failed("the job ended without an outcome".into());
    };
    match o.completion() {
        Ok(scanwire_core::device::Completion::Cancelled) => EndReason::Cancelled,
        Ok(_) => EndReason::Done,
        Err(e) => {
            let kind = e.kind();
            let why = e.to_string();
            if is_paper_problem(kind) {
                EndReason::Paper(why)
            } else if matches!(kind, DeviceErrorKind::Busy | DeviceErrorKind::WarmingUp) {
                EndReason::Busy(why)
            } else {
                EndReason::Failed(why)
            }
        }
    }
}

fn escl_state(g: &JobInner, document: bool) -> (JobState, Vec<JobStateReason>) {
    // The pairs of PWG 5100.7's job model: a job its client ended is Canceled by the user; one
    // the server ended (nobody fetched it in time, shutdown) was Aborted by the system.
    // A job whose scan failed stays Aborted when its client deletes it afterwards
    // (sane-airscan deletes as soon as NextDocument fails, which can come before the job has
    // settled): the verdict below, from the outcome, stands.
    let failed = g.outcome.as_ref().is_some_and(|o| o.completion().is_err());
    if let Some(why) = g.cancelled {
        match why {
            CancelReason::Client | CancelReason::Disconnected if failed => {}
            CancelReason::Client | CancelReason::Disconnected => {
                return (JobState::Canceled, vec![JobStateReason::JobCanceledByUser])
            }
            CancelReason::TimedOut | CancelReason::Shutdown => {
                return (JobState::Aborted, vec![JobStateReason::AbortedBySystem])
            }
        }
    }
    // Scanned pages nobody fetched were dropped after the job timeout: not a completed job.
    if g.expired {
        return (JobState::Aborted, vec![JobStateReason::AbortedBySystem]);
    }
    match g.phase {
        Phase::Pending => (JobState::Pending, vec![JobStateReason::JobQueued]),
        Phase::Running => {
            let mut reasons = vec![if g.slots.len() > g.next {
                JobStateReason::JobScanningAndTransferring
            } else {
                JobStateReason::JobScanning
            }];
            // `serve --queue` with the queue full: the scan waits for workers (PWG 5100.7's
            // resources-are-not-ready; the job goes on by itself once they take pages).
            if g.queue.as_ref().is_some_and(|q| q.waiting) {
                reasons.push(JobStateReason::ResourcesAreNotReady);
            }
            (JobState::Processing, reasons)
        }
        // Scanned, but the client is still fetching pages: the job goes on for it
        // (sane-backends' escl fetches the next page only while the job is Processing).
        Phase::Ended if has_pending(g, document) => {
            (JobState::Processing, vec![JobStateReason::JobTransferring])
        }
        Phase::Ended => match g.outcome.as_ref().map(|o| o.completion()) {
            Some(Ok(scanwire_core::device::Completion::Cancelled)) => {
                (JobState::Canceled, vec![JobStateReason::JobCanceledByUser])
            }
            Some(Ok(_)) if g.faults.is_empty() => (
                JobState::Completed,
                vec![JobStateReason::JobCompletedSuccessfully],
            ),
            Some(Ok(_)) => (
                JobState::Completed,
                vec![JobStateReason::JobCompletedWithErrors],
            ),
            Some(Err(e)) => {
                let reason = match e.kind() {
                    DeviceErrorKind::InvalidRequest | DeviceErrorKind::Unsupported => {
                        JobStateReason::InvalidScanTicket
                    }
                    DeviceErrorKind::Busy
                    | DeviceErrorKind::WarmingUp
                    | DeviceErrorKind::Offline => JobStateReason::ResourcesAreNotReady,
                    k if is_paper_problem(k) => JobStateReason::ErrorsDetected,
                    _ => JobStateReason::AbortedBySystem,
                };
                (JobState::Aborted, vec![reason])
            }
            None => (JobState::Aborted, vec![JobStateReason::AbortedBySystem]),
        },
    }
}
