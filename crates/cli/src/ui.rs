//! Progress on the terminal: one bar per page fed by STATUS messages, device status lines
//! (warming up, feeder empty), nothing at all when output is not a terminal or `--quiet`.
//!
//! With processing stages (`--deskew`, `--ocr`...) a page is done only once it is processed:
//! its scan fills the bar to [`SCAN_SHARE`] percent, and the pipeline's word that the page
//! is settled ([`AfterScan::page_done`]) fills the rest, so the percent never goes back and
//! reaches 100 only when the page is in its file. Pages scanned while earlier ones are still
//! processed get bars of their own below them.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use scanwire_core::device::PageInfo;
use scanwire_core::wia::{self, HResult};
use scanwire_imaging::ProcessingReport;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The share of a page's bar its scan fills when the page is processed afterwards.
pub const SCAN_SHARE: i32 = 90;

/// Pages scanned and still being processed: their bars wait here for the pipeline.
pub struct AfterScan {
    enabled: bool,
    multi: MultiProgress,
    state: Mutex<AfterState>,
    /// What processing found, to say why a page left no file (a blank page).
    report: OnceLock<Arc<ProcessingReport>>,
}

#[derive(Default)]
struct AfterState {
    /// Stages run after the scan.
    staged: bool,
    /// Bars of scanned pages whose processing is under way.
    bars: HashMap<u32, ProgressBar>,
    /// Pages settled before their scan's end was shown.
    done: HashMap<u32, HResult>,
}

impl AfterScan {
    /// Progress for a scan (`quiet`: none at all).
    pub fn new(quiet: bool) -> Arc<Self> {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Arc::new(AfterScan {
            enabled: tty && !quiet,
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            state: Mutex::new(AfterState::default()),
            report: OnceLock::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AfterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line of its own below the page bars (the queue's status), drawn with them.
    pub fn add_line(&self, bar: ProgressBar) -> ProgressBar {
        self.multi.add(bar)
    }

    /// Pages are processed after their scan (stages on the pipeline).
    pub fn set_staged(&self, report: Option<Arc<ProcessingReport>>) {
        self.state().staged = true;
        if let Some(r) = report {
            let _ = self.report.set(r);
        }
    }

    /// The pipeline settled the driver's page (the hook on the file output).
    pub fn page_done(&self, page: &PageInfo, hr: HResult) {
        if !self.enabled {
            return;
        }
        let bar = {
            let mut st = self.state();
            match st.bars.remove(&page.number) {
                Some(b) => b,
                None => {
                    st.done.insert(page.number, hr);
                    return;
                }
            }
        };
        self.finish(page.number, bar, hr);
    }

    fn finish(&self, number: u32, bar: ProgressBar, hr: HResult) {
        if hr != wia::S_OK {
            bar.abandon_with_message(if hr == wia::S_FALSE {
                "cancelled".to_string()
            } else {
                hr.description().to_string()
            });
            return;
        }
        let found = self.report.get().and_then(|r| r.page(number));
        let msg = match found {
            Some(f) if f.outputs == 0 && f.separator => "blank: a new document starts".into(),
            Some(f) if f.outputs == 0 => "blank: skipped".into(),
            Some(f) if f.outputs > 1 => format!("{} pages", f.outputs),
            _ => String::new(),
        };
        bar.set_position(100);
        bar.finish_with_message(msg);
    }
}

pub struct Ui {
    after: Arc<AfterScan>,
    /// The page being scanned, and its bar.
    bar: Option<(u32, ProgressBar)>,
    /// One line for device status between pages (warming up…), updated in place.
    status: Option<ProgressBar>,
    /// The page's bar for a [`ProgressView`] (the same bar, while the page is scanned).
    shown: Arc<Mutex<Option<(u32, ProgressBar)>>>,
}

/// Moves the scanned page's bar from another thread: the transfer's STATUS goes into a
/// progress cell, which the scan's watcher shows through this.
#[derive(Clone)]
pub struct ProgressView {
    after: Arc<AfterScan>,
    shown: Arc<Mutex<Option<(u32, ProgressBar)>>>,
}

impl ProgressView {
    /// Shows `percent` on page `page`'s bar, if that page is the one being scanned.
    pub fn show(&self, page: u32, percent: i32) {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = shown.as_ref().filter(|(n, _)| *n == page) {
            b.set_position(scaled(&self.after, percent));
        }
    }
}

/// The bar position for `percent` of the scan (the scan's share when stages follow).
fn scaled(after: &AfterScan, percent: i32) -> u64 {
    let p = percent.clamp(0, 100);
    (if after.state().staged {
        p * SCAN_SHARE / 100
    } else {
        p
    }) as u64
}

impl Ui {
    pub fn new(after: Arc<AfterScan>) -> Self {
        Ui {
            after,
            bar: None,
            status: None,
            shown: Arc::default(),
        }
    }

    pub fn start_page(&mut self, page: &PageInfo, output: &str) {
        if !self.after.enabled {
            return;
        }
        if let Some(s) = self.status.take() {
            s.finish_and_clear();
        }
        let bar = self.after.multi.add(ProgressBar::new(100));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let label = match page.side {
            scanwire_core::device::Side::Back => format!("page {} (back)", page.number),
            _ => format!("page {}", page.number),
        };
        bar.set_prefix(label);
        bar.set_message(output.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.shown.lock().unwrap_or_else(|p| p.into_inner()) = Some((page.number, bar.clone()));
        self.bar = Some((page.number, bar));
    }

    /// A handle that moves the scanned page's bar from another thread.
    pub fn progress_view(&self) -> ProgressView {
        ProgressView {
            after: self.after.clone(),
            shown: self.shown.clone(),
        }
    }

    pub fn end_page(&mut self, status: HResult) {
        // The watcher lets go of the bar before it is finished.
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some((number, b)) = self.bar.take() else {
            return;
        };
        if status != wia::S_OK {
            b.abandon_with_message(if status == wia::S_FALSE {
                "cancelled".to_string()
            } else {
                status.description().to_string()
            });
            return;
        }
        let mut st = self.after.state();
        if !st.staged {
            drop(st);
            b.finish();
            return;
        }
        match st.done.remove(&number) {
            Some(hr) => {
                drop(st);
                self.after.finish(number, b, hr);
            }
            None => {
                b.set_position(SCAN_SHARE as u64);
                b.set_message("processing…");
                st.bars.insert(number, b);
            }
        }
    }

    pub fn device_status(&mut self, status: HResult, percent: i32) {
        if !self.after.enabled {
            return;
        }
        let text = match status {
            wia::WIA_STATUS_WARMING_UP => format!("warming up… {percent}%"),
            wia::WIA_STATUS_CALIBRATING => format!("calibrating… {percent}%"),
            _ => format!("device: {}", status.description()),
        };
        if let Some((_, b)) = &self.bar {
            b.set_message(text);
            return;
        }
        let multi = &self.after.multi;
        let line = self.status.get_or_insert_with(|| {
            let s = multi.add(ProgressBar::new_spinner());
            s.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
        line.set_message(text);
    }
}
