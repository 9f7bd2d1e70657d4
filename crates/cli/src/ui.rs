//! Progress on the terminal: one bar per page fed by STATUS messages, device status lines
//! (warming up, feeder empty), nothing at all when output is not a terminal or `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scanwire_core::device::PageInfo;
use scanwire_core::wia::{self, HResult};
use std::io::IsTerminal;
use std::time::Duration;

pub struct Ui {
    enabled: bool,
    bar: Option<ProgressBar>,
    /// One line for device status between pages (warming up…), updated in place.
    status: Option<ProgressBar>,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Ui {
            enabled: tty && !quiet,
            bar: None,
            status: None,
        }
    }

    pub fn start_page(&mut self, page: &PageInfo, output: &str) {
        if !self.enabled {
            return;
        }
        if let Some(s) = self.status.take() {
            s.finish_and_clear();
        }
        let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
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
        self.bar = Some(bar);
    }

    pub fn progress(&self, percent: i32) {
        if let Some(b) = &self.bar {
            b.set_position(percent.clamp(0, 100) as u64);
        }
    }

    pub fn end_page(&mut self, status: HResult) {
        if let Some(b) = self.bar.take() {
            if status == wia::S_OK {
                b.finish();
            } else {
                b.abandon_with_message(if status == wia::S_FALSE {
                    "cancelled".to_string()
                } else {
                    status.description().to_string()
                });
            }
        }
    }

    pub fn device_status(&mut self, status: HResult, percent: i32) {
        if !self.enabled {
            return;
        }
        let text = match status {
            wia::WIA_STATUS_WARMING_UP => format!("warming up… {percent}%"),
            wia::WIA_STATUS_CALIBRATING => format!("calibrating… {percent}%"),
            _ => format!("device: {}", status.description()),
        };
        if let Some(b) = &self.bar {
            b.set_message(text);
            return;
        }
        let line = self.status.get_or_insert_with(|| {
            let s = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
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
