//! Times scans through the SANE driver, for comparison with `scanimage`.
//!
//! ```text
//! cargo run --release -p scanwire-sane --example scan_bench -- \
//!     --config-dir /tmp/sane.d --device sane:test:0 --mode color --dpi 300 \
//!     --area 210x297 --set "test-picture=Color pattern" --runs 10 --sink memory
//! ```
//!
//! `--sink memory` keeps each page in a `Vec` (as an application holding the image would);
//! `--sink null` counts and drops the bytes (as `scanimage > /dev/null`). Prints one line per
//! run and the median, then the process's peak RSS.

use scanwire_core::device::{
    parse_settings, split_setting, Area, ColorMode, Driver, Length, PageInfo, ScanRequest,
};
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, NullSink, PageSink, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use scanwire_sane::{SaneConfig, SaneDriver};
use std::time::Instant;

struct App {
    memory: bool,
}

struct MemorySink(Vec<u8>);

impl PageSink for MemorySink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.0.extend_from_slice(data);
        Ok(())
    }
    fn close(self: Box<Self>, _status: HResult) -> HResult {
        std::hint::black_box(&self.0);
        wia::S_OK
    }
}

impl TransferCallback for App {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        if self.memory {
            let size = page.data.expected_bytes().unwrap_or(0) as usize;
            AppStream::Stream(Box::new(MemorySink(Vec::with_capacity(size))))
        } else {
            AppStream::Stream(Box::new(NullSink::default()))
        }
    }
    fn transfer_callback(&mut self, _params: &WiaTransferParams) -> HResult {
        wia::S_OK
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<(), String> {
    let mut config_dir = None;
    let mut device = "sane:test:0".to_string();
    let mut mode = ColorMode::Color;
    let mut dpi = 300;
    let mut area = (210u32, 297u32);
    let mut settings = Vec::new();
    let mut runs = 5;
    let mut memory = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--config-dir" => config_dir = Some(value()?.into()),
            "--device" => device = value()?,
            "--mode" => mode = value()?.parse()?,
            "--dpi" => dpi = value()?.parse().map_err(|e| format!("--dpi: {e}"))?,
            "--area" => {
                let v = value()?;
                let (w, h) = v.split_once('x').ok_or("--area WxH in mm")?;
                area = (
                    w.parse().map_err(|e| format!("--area: {e}"))?,
                    h.parse().map_err(|e| format!("--area: {e}"))?,
                );
            }
            "--set" => {
                settings.push(split_setting(&value()?).map_err(|e| format!("--set {e}"))?);
            }
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--sink" => memory = value()? == "memory",
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let driver = SaneDriver::with_config(SaneConfig {
        config_dir,
        library: None,
        ..Default::default()
    });
    let t = Instant::now();
    driver.library_info().map_err(|e| e.to_string())?;
    let t_init = t.elapsed();
    let mut opened = driver.open(&device).map_err(|e| e.to_string())?;
    let t_open = t.elapsed();
    opened.capabilities().map_err(|e| e.to_string())?;
    let t_caps = t.elapsed();
    eprintln!(
        "load+sane_init {:.2} ms, sane_open {:.2} ms, capabilities {:.2} ms",
        t_init.as_secs_f64() * 1e3,
        (t_open - t_init).as_secs_f64() * 1e3,
        (t_caps - t_open).as_secs_f64() * 1e3
    );
    let options = parse_settings(&opened.options(), &settings).map_err(|e| e.to_string())?;
    let dev = transfer::share(opened);
    let request = ScanRequest {
        mode,
        resolution: dpi,
        area: Some(Area::sized(Length::mm(area.0), Length::mm(area.1))),
        options,
        ..Default::default()
    };
    let mut times = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let outcome = transfer::run(
            &dev,
            &request,
            Box::new(App { memory }),
            &CancelHandle::new(),
            &TransferOptions::default(),
        );
        let secs = t.elapsed().as_secs_f64();
        if outcome.result != wia::S_OK {
            return Err(format!("run {i}: {:?}", outcome.error));
        }
        println!("run {i}: {secs:.4} s, {} page(s)", outcome.pages);
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    if let Some(m) = times.get(times.len() / 2) {
        println!("median {m:.4} s, min {:.4} s over {runs} runs", times[0]);
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS {kib} KiB");
    }
    Ok(())
}
