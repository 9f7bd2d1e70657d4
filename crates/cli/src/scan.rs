//! `scanwire scan`: resolve the plan, run the transfer with files and progress, report, and
//! pick the exit status.

use crate::args::ScanArgs;
use crate::ui::Ui;
use crate::{devices, plan, EXIT_INTERRUPTED, EXIT_USAGE};
use anyhow::{anyhow, Context, Result};
use scanwire_codecs::Format;
use scanwire_core::device::{DeviceErrorKind, PageInfo};
use scanwire_core::transfer::{self, AppStream, CancelHandle, TransferCallback};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_output::{FileOutput, OutputPlan};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bytes queued per page between the driver and the page's encoder (see `scan`).
const CLI_QUEUE_BYTES: usize = 256 * 1024;

/// A bad request or bad arguments: printed as it is, exit status 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    Usage(e.to_string()).into()
}

/// The application side of the CLI's transfer: files from `scanwire-formats`, bars from `ui`.
struct CliApp {
    output: FileOutput,
    ui: Ui,
}

impl TransferCallback for CliApp {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        let s = self.output.open_page(page);
        if let AppStream::Stream(_) = s {
            self.ui.start_page(page, "");
        }
        s
    }

    fn transfer_callback(&mut self, p: &WiaTransferParams) -> HResult {
        match p.lMessage {
            wia::WIA_TRANSFER_MSG_STATUS => self.ui.progress(p.lPercentComplete),
            wia::WIA_TRANSFER_MSG_END_OF_STREAM => self.ui.end_page(p.hrErrorStatus),
            _ => {}
        }
        wia::S_OK
    }

    fn report_status(&mut self, status: HResult, percent: i32) -> HResult {
        self.ui.device_status(status, percent);
        // Let WIA's default decide: errors stop the scan, informational codes go on.
        wia::WIA_STATUS_NOT_HANDLED
    }
}

pub fn scan(args: &ScanArgs) -> Result<i32> {
    let quiet = args.quiet || args.json;
    let mut device = devices::open(&args.device)?;
    let caps = device
        .capabilities()
        .map_err(|e| anyhow!("{}: {e}", args.device))?;
    let mut request = plan::request(args, &caps).map_err(usage)?;
    let opts = plan::transfer_options(args).map_err(usage)?;

    let format = args
        .format
        .as_deref()
        .map(Format::from_name)
        .transpose()
        .map_err(usage)?;
    let path = args.output.to_string_lossy().into_owned();
    let mut out = OutputPlan::new(&path, format).map_err(usage)?;
    request.encoding = plan::device_encoding(args, out.format, &caps, &request);
    request.validate(&caps).map_err(usage)?;
    if request.source.is_feeder() && request.pages != Some(1) && !out.takes_many_pages() {
        return Err(usage(format!(
            "--source {} may scan several pages but -o {path} names one file; \
             use a pattern such as page-{{n}}.png, or a .pdf or .tif file",
            request.source
        )));
    }
    if let Some(q) = args.quality {
        if !(1..=100).contains(&q) {
            return Err(usage(format!("--quality {q}: allowed 1..=100")));
        }
        out.options.jpeg_quality = q;
    }
    out.options.pdf_lossless = args.lossless;
    out.options.title = args.title.clone();
    out.all_or_nothing = args.all_or_nothing;
    // A small queue between the driver and the encoder: the default 8 MiB lets a fast device
    // (the SANE test backend reads at memory speed) run megabytes ahead of the encoder, which
    // only raises peak memory (A4 600 dpi PNG: 26 MB RSS with 8 MiB, 13 MB with this) and
    // gains no time for a page file; pages still overlap through `pipeline`.
    // bench/sane-vs-scanimage.sh measures it.
    out.queue_bytes = CLI_QUEUE_BYTES;
    // Ctrl-C: the first cancels through the cancel handle (completed pages are kept; OCR
    // under way stops at once); a second one leaves at once.
    let cancel = CancelHandle::new();
    let ocr = crate::ocr::plan(args, &mut out, &cancel)?;
    let output = out.start().map_err(usage)?;

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let (cancel, interrupted) = (cancel.clone(), interrupted.clone());
        ctrlc::set_handler(move || {
            if interrupted.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED);
            }
            cancel.cancel();
        })
        .context("cannot install the Ctrl-C handler")?;
    }

    let app = CliApp {
        output: output.clone(),
        ui: Ui::new(quiet),
    };
    let device = transfer::share(device);
    let outcome = transfer::run(&device, &request, Box::new(app), &cancel, &opts);
    let report = output.finish(outcome.result);
    let was_interrupted = interrupted.load(Ordering::SeqCst) && outcome.is_cancelled();
    let text_written = ocr.as_ref().map(|o| o.write_text()).transpose();

    if args.json {
        let v = json!({
            "device": args.device,
            // Pages the device encoded and the files hold untouched, or null for rows
            // encoded here.
            "device_encoding": request.encoding.map(|e| e.mime()),
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
            "ocr": ocr.as_ref().map(|o| o.report()),
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
    if let Err(e) = &text_written {
        eprintln!("scanwire: {e}");
    }
    if was_interrupted {
        eprintln!(
            "scanwire: interrupted; kept {} complete page(s)",
            report.pages
        );
        return Ok(EXIT_INTERRUPTED);
    }
    if outcome.is_cancelled() {
        eprintln!("scanwire: the scan was cancelled");
        return Ok(1);
    }
    if let Some(e) = &outcome.error {
        let kept = if report.pages > 0 {
            format!(" (kept {} complete page(s))", report.pages)
        } else {
            String::new()
        };
        eprintln!("scanwire: {}: {e}{kept}", args.device);
        return Ok(if e.kind() == DeviceErrorKind::InvalidRequest {
            EXIT_USAGE
        } else {
            1
        });
    }
    if !report.is_ok() || text_written.is_err() {
        return Ok(1);
    }
    Ok(0)
}
