//! `scanwire scan`: open the device, resolve the plan, run the transfer into files with
//! progress, report, and pick the exit status (see `exit.rs`).
//!
//! Ctrl-C (SIGINT, SIGTERM): the first cancels the transfer through its cancel handle, and the
//! files are finished as after any cancel (complete pages kept, the partial page removed). A
//! second one hurries: the scan stops waiting for the driver (which may be slow to notice a
//! cancel), no further page is opened, the output is finished at once (the same rule: whole
//! pages kept, partial ones removed), and the program exits 130. Further ones are ignored:
//! the cleanup always runs to its end, so no hidden `.part` file is ever left.

use crate::args::ScanArgs;
use crate::devices;
use crate::exit;
use crate::isolate;
use crate::plan::ScanPlan;
use crate::queue::Output;
use crate::ui::Ui;
use anyhow::{anyhow, Context, Result};
use scanwire_core::device::{DeviceError, DeviceErrorKind, Encoding, PageInfo};
use scanwire_core::transfer::{self, AppStream, Outcome, ProgressCell, Relay, TransferCallback};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_output::OutputReport;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// How often the progress watcher moves the page's bar.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// The application side of the CLI's transfer: files from `scanwire-formats`, bars from `ui`.
struct CliApp {
    output: Output,
    ui: Ui,
    /// Closed (false) once the scan was told to hurry: no page opens after that. Held while
    /// a page opens, so the output is never finished in the middle of opening one.
    open: Arc<Mutex<bool>>,
}

impl TransferCallback for CliApp {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if !*open {
            return AppStream::Cancel;
        }
        let s = self.output.open_page(page);
        drop(open);
        if let AppStream::Stream(_) = s {
            self.ui.start_page(page, "");
        }
        s
    }

    fn transfer_callback(&mut self, p: &WiaTransferParams) -> HResult {
        // STATUS goes to the progress cell (see `scan`), not here.
        if p.lMessage == wia::WIA_TRANSFER_MSG_END_OF_STREAM {
            self.ui.end_page(p.hrErrorStatus);
        }
        wia::S_OK
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        self.ui.device_status(status, percent);
        // Let WIA's default decide: errors stop the scan, informational codes go on.
        wia::WIA_STATUS_NOT_HANDLED
    }
}

/// What the main thread waits for: the transfer's end, or a second Ctrl-C.
enum Stop {
    Done(Outcome),
    Hurry,
}

pub fn scan(args: &ScanArgs) -> Result<i32> {
    // Everything that needs no device first: a bad flag never touches a scanner.
    let mut plan = ScanPlan::new(args)?;
    let mut device = if args.isolate {
        let watchdog = plan.transfer.watchdog;
        plan.transfer.watchdog = isolate::transfer_watchdog(watchdog);
        isolate::open(&plan.device, watchdog)?.0
    } else {
        devices::open(&plan.device)?
    };
    let caps = device
        .capabilities()
        .map_err(|e| anyhow!("{}: {}", plan.device, describe(&e, args.verbose)))?;
    let options = match plan.options(&device.options()) {
        Ok(o) => o,
        Err(e) => {
            // Refused before scanning: reported as a refused request (exit 2), with its
            // WIA code in --json and --verbose.
            let e = DeviceError::with_hresult(
                DeviceErrorKind::InvalidRequest,
                e.hresult(),
                format!("{}: {e}", plan.device),
            );
            let outcome = Outcome {
                result: e.hresult(),
                error: Some(e),
                pages: 0,
                incomplete: 0,
                skipped: 0,
                violations: Vec::new(),
            };
            return report(
                args,
                None,
                &outcome,
                OutputReport::default(),
                false,
                None,
                None,
                serde_json::Value::Null,
            );
        }
    };
    let request = plan.request(&caps, options)?;

    // Ctrl-C handling is in place before the first file exists (a Ctrl-C earlier leaves
    // nothing behind); see the module documentation. The cancel also stops OCR under way.
    let cancel = plan.cancel.clone();
    let presses = Arc::new(AtomicU32::new(0));
    let (stop, stopped) = mpsc::channel::<Stop>();
    {
        let (cancel, presses, stop) = (cancel.clone(), presses.clone(), stop.clone());
        ctrlc::set_handler(move || match presses.fetch_add(1, Ordering::SeqCst) {
            0 => cancel.cancel(),
            1 => {
                let _ = stop.send(Stop::Hurry);
            }
            _ => {}
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    let output = plan.output.clone();

    let open = Arc::new(Mutex::new(true));
    let ui = Ui::new(plan.after.clone());
    let view = ui.progress_view();
    let app = CliApp {
        output: output.clone(),
        ui,
        open: open.clone(),
    };
    let device = transfer::share(device);
    {
        let (request, cancel, opts) = (request.clone(), cancel.clone(), plan.transfer);
        std::thread::Builder::new()
            .name("scanwire-scan".into())
            .spawn(move || {
                // STATUS lands in a progress cell that a watcher shows, so the driver never
                // waits for the terminal; the relay then answers a well-formed STATUS S_OK
                // unless the scan was stopped, which lets a driver host (`--isolate`) answer
                // it without a round trip. Everything else reaches `CliApp` inline.
                let cell = Arc::new(ProgressCell::new());
                let (done, finished) = mpsc::channel::<()>();
                let watcher = {
                    let cell = cell.clone();
                    std::thread::Builder::new()
                        .name("scanwire-progress".into())
                        .spawn(move || loop {
                            let p = cell.load();
                            view.show(p.page, i32::from(p.percent));
                            match finished.recv_timeout(PROGRESS_EVERY) {
                                Err(mpsc::RecvTimeoutError::Timeout) => {}
                                _ => return,
                            }
                        })
                };
                let relay =
                    Relay::new(Box::new(app), cancel.clone(), &opts).with_progress_cell(cell);
                let outcome = transfer::run_relay(&device, &request, relay, &cancel, &opts);
                let _ = done.send(());
                if let Ok(w) = watcher {
                    let _ = w.join();
                }
                let _ = stop.send(Stop::Done(outcome));
            })
            .context("cannot start the scan thread")?;
    }
    let outcome = match stopped.recv() {
        Ok(Stop::Done(outcome)) => outcome,
        Ok(Stop::Hurry) | Err(_) => {
            // The driver has not stopped after the first Ctrl-C: leave it (the process ends
            // with it) and finish the files now.
            *open.lock().unwrap_or_else(|p| p.into_inner()) = false;
            let report = output.finish(wia::S_FALSE);
            for e in &report.errors {
                eprintln!("scanwire: {e}");
            }
            interrupted(&report);
            return Ok(exit::INTERRUPTED);
        }
    };
    let files = output.finish(outcome.result);
    // With --queue, a Ctrl-C may also come while the workers make the document.
    let was_interrupted =
        presses.load(Ordering::SeqCst) > 0 && (outcome.is_cancelled() || output.interrupted());
    let ocr = plan.ocr.as_ref();
    let text_written = ocr.map(|o| o.write_text()).transpose();
    if let Err(e) = &text_written {
        eprintln!("scanwire: {e:#}");
    }
    let code = report(
        args,
        request.encoding,
        &outcome,
        files,
        was_interrupted,
        ocr.map(|o| o.report()),
        plan.processing.as_ref().map(|p| p.report()),
        output.queue_report(),
    )?;
    let blank = plan.processing.as_ref().map_or(0, |p| p.blank_pages());
    if blank > 0 && !args.quiet && !args.json {
        eprintln!(
            "{blank} blank page{} left out",
            if blank == 1 { "" } else { "s" }
        );
    }
    Ok(if code == 0 && text_written.is_err() {
        exit::FAILURE
    } else {
        code
    })
}

/// Prints what the scan came to (files, the JSON report, errors) and picks the exit status.
// The report's sections each come from their own module (OCR, processing, the queue).
#[allow(clippy::too_many_arguments)]
fn report(
    args: &ScanArgs,
    encoding: Option<Encoding>,
    outcome: &Outcome,
    report: OutputReport,
    was_interrupted: bool,
    ocr: Option<serde_json::Value>,
    processing: Option<serde_json::Value>,
    queue: serde_json::Value,
) -> Result<i32> {
    if args.json {
        let v = json!({
            "device": args.device,
            // Pages the device encoded and the files hold untouched, or null for rows
            // encoded here.
            "device_encoding": encoding.map(|e| e.mime()),
            "result": outcome.result.to_string(),
            "cancelled": outcome.is_cancelled(),
            "pages": report.pages,
            "files": report.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "discarded": report.discarded,
            "error": outcome.error.as_ref().map(|e| json!({
                "kind": format!("{:?}", e.kind()),
                "hresult": e.hresult().to_string(),
                "message": e.to_string(),
            })),
            "output_errors": report.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "violations": outcome.violations.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            // Per page: words, mean word confidence, recognition time (with --ocr).
            "ocr": ocr,
            // Per scanned page: where it was processed, the pages it became, the angle
            // found, the crop box, blank or not and its coverage, the photos (with
            // --deskew, --crop, --blank, --split-photos...).
            "processing": processing,
            // With --queue: the server, the job, how long the scan waited for workers,
            // the document they assembled, and its pages' progress while it was made.
            "queue": queue,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else if !args.quiet {
        for v in &outcome.violations {
            eprintln!("warning: {v}");
        }
        for f in &report.files {
            outln!("{}", f.display());
        }
        if outcome.result == wia::WIA_STATUS_END_OF_MEDIA {
            eprintln!(
                "the feeder ran out after {} page{}",
                report.pages,
                if report.pages == 1 { "" } else { "s" }
            );
        }
    }

    for e in &report.errors {
        eprintln!("scanwire: {e}");
    }
    if was_interrupted {
        interrupted(&report);
        return Ok(exit::INTERRUPTED);
    }
    if outcome.is_cancelled() {
        eprintln!("scanwire: the scan was cancelled");
        return Ok(exit::FAILURE);
    }
    if let Some(e) = &outcome.error {
        let kept = if report.pages > 0 {
            format!(" (kept {} complete page(s))", report.pages)
        } else {
            String::new()
        };
        // A request the device refused before scanning: its message names the device.
        if e.kind() == DeviceErrorKind::InvalidRequest && report.pages == 0 {
            eprintln!("scanwire: {}{kept}", describe(e, args.verbose));
            return Ok(exit::USAGE);
        }
        eprintln!("scanwire: {}: {e}{kept}", args.device);
        return Ok(exit::FAILURE);
    }
    if !report.is_ok() {
        return Ok(exit::FAILURE);
    }
    Ok(0)
}

/// A device error as the user reads it: a request the device refused in words only (the
/// WIA code, E_INVALIDARG, says nothing more), with `--verbose` also its code; any other
/// error with its WIA code, which names the fault (WIA_ERROR_PAPER_JAM).
fn describe(e: &DeviceError, verbose: bool) -> String {
    if verbose || e.kind() != DeviceErrorKind::InvalidRequest || e.detail().is_empty() {
        e.to_string()
    } else {
        e.detail().to_string()
    }
}

fn interrupted(report: &OutputReport) {
    eprintln!(
        "scanwire: interrupted; kept {} complete page(s)",
        report.pages
    );
}
