//! A small scripted scanner for the server's tests: flatbed and feeder (simplex, duplex),
//! a known picture per page, pacing, and faults at chosen points.
//!
//! Every pixel is a function of the page number and its position on the glass in pixels at
//! the scan's resolution ([`color_at`], [`gray_at`], [`black_at`]), so a test can check any
//! region of any page. The picture is made of slow ramps so JPEG's error stays small.
//!
//! Request options (`ScanRequest::options`, set per server with `request_options`):
//! - `band_delay_ms=N`: sleep N ms after each band (a slow scanner);
//! - `feeder_pages=N`: sheets in the feeder for this job (default: the device's);
//! - `jam_at=N`: page N jams halfway through;
//! - `noise=1`: incompressible pixels instead of the picture (for buffer and timeout tests);
//! - `end_delay_ms=N`: sleep N ms after the last page before `acquire` returns (a driver
//!   that takes its time to wind down);
//! - `status_jam_at=N`: report PAPER_JAM as DEVICE_STATUS before page N, and stop with the
//!   answer (an error, when nobody handles it).

#![allow(dead_code)]

use scanwire_core::device::*;
use scanwire_core::transfer::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the device saw, for assertions.
#[derive(Default, Debug, Clone)]
pub struct Log {
    /// `acquire` calls.
    pub acquires: u32,
    /// Acquires that ended because a callback answered S_FALSE.
    pub saw_cancel: u32,
    /// Acquires currently running.
    pub running: u32,
    /// The last request.
    pub last_request: Option<ScanRequest>,
}

/// The test scanner.
pub struct TestScanner {
    pub id: String,
    pub caps: Capabilities,
    /// Sheets in the feeder per job.
    pub feeder_pages: u32,
    /// Rows per band.
    pub band_rows: u32,
    pub log: Arc<Mutex<Log>>,
}

pub fn flatbed_caps(res: Resolutions) -> SourceCaps {
    SourceCaps {
        source: Source::Flatbed,
        modes: vec![ColorMode::Color, ColorMode::Gray, ColorMode::Lineart],
        resolutions: res,
        max_area: Area::sized(Length(215_900), Length(297_000)),
        min_size: (Length::mm(1), Length::mm(1)),
        encodings: vec![],
        raw: true,
        feeder_capacity: None,
    }
}

impl TestScanner {
    /// Flatbed and a duplex feeder, 75/150/300/600 dpi, 3 sheets in the feeder.
    pub fn new(id: &str) -> Self {
        let flatbed = flatbed_caps(Resolutions::Discrete(vec![75, 150, 300, 600]));
        let feeder = SourceCaps {
            source: Source::Feeder,
            feeder_capacity: Some(50),
            ..flatbed.clone()
        };
        let duplex = SourceCaps {
            source: Source::FeederDuplex,
            ..feeder.clone()
        };
        TestScanner {
            id: id.into(),
            caps: Capabilities {
                model: format!("Test Scanner {id}"),
                sources: vec![flatbed, feeder, duplex],
                processing: Default::default(),
            },
            feeder_pages: 3,
            band_rows: 64,
            log: Arc::new(Mutex::new(Log::default())),
        }
    }

    pub fn log(&self) -> Arc<Mutex<Log>> {
        self.log.clone()
    }
}

fn tri(v: u32) -> u8 {
    let v = v % 510;
    if v < 255 {
        v as u8
    } else {
        (509 - v) as u8
    }
}

/// The color at glass pixel (x, y) of page `page` (1-based).
pub fn color_at(page: u32, x: u32, y: u32) -> [u8; 3] {
    [
        tri(x / 2 + 37 * page),
        tri(y / 2 + 91 * page),
        tri((x + y) / 4 + 150 * page),
    ]
}

/// The gray value at glass pixel (x, y).
pub fn gray_at(page: u32, x: u32, y: u32) -> u8 {
    tri((x + 2 * y) / 3 + 60 * page)
}

/// Whether glass pixel (x, y) is black in lineart: 16-pixel checks, shifted per page.
pub fn black_at(page: u32, x: u32, y: u32) -> bool {
    (x / 16 + y / 16 + page) % 2 == 0
}

/// The options above, as the device declares them (whole numbers ≥ 0).
const OPTIONS: [&str; 6] = [
    "band_delay_ms",
    "feeder_pages",
    "jam_at",
    "status_jam_at",
    "noise",
    "end_delay_ms",
];

fn opt(r: &ScanRequest, name: &str) -> Result<Option<u32>, DeviceError> {
    match r.options.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_int()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                DeviceError::new(
                    DeviceErrorKind::InvalidRequest,
                    format!("option {name}={v} is not a number"),
                )
            }),
    }
}

impl Device for TestScanner {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: self.id.clone(),
            vendor: "Scanwire".into(),
            model: self.caps.model.clone(),
            driver: "test",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(self.caps.clone())
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        OPTIONS
            .iter()
            .map(|name| DeviceOption {
                constraint: Constraint::IntRange {
                    min: 0,
                    max: u32::MAX.into(),
                    step: 1,
                },
                ..DeviceOption::new(*name, OptionType::Int)
            })
            .collect()
    }

    fn acquire(
        &mut self,
        r: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        {
            let mut l = self.log.lock().unwrap();
            l.acquires += 1;
            l.running += 1;
            l.last_request = Some(r.clone());
        }
        let result = self.scan(r, cb, cancel);
        let mut l = self.log.lock().unwrap();
        l.running -= 1;
        if matches!(result, Ok(Completion::Cancelled)) {
            l.saw_cancel += 1;
        }
        result
    }
}

impl TestScanner {
    fn scan(
        &mut self,
        r: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        for k in r.options.keys() {
            if !OPTIONS.contains(&k.as_str()) {
                return Err(DeviceError::new(
                    DeviceErrorKind::InvalidRequest,
                    format!("unknown option {k}"),
                ));
            }
        }
        let delay = Duration::from_millis(opt(r, "band_delay_ms")?.unwrap_or(0) as u64);
        let sheets = opt(r, "feeder_pages")?.unwrap_or(self.feeder_pages);
        let jam_at = opt(r, "jam_at")?;
        let status_jam_at = opt(r, "status_jam_at")?;
        let noise = opt(r, "noise")?.unwrap_or(0) != 0;
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let area = r.effective_area(&self.caps).expect("validated");
        let dpi = r.resolution;
        let (w, h) = (area.width.to_pixels(dpi), area.height.to_pixels(dpi));
        let (x0, y0) = (area.left.to_pixels(dpi), area.top.to_pixels(dpi));
        let pixel = PixelFormat::for_mode(r.mode);
        let count = match r.source {
            Source::Flatbed => 1,
            Source::Feeder => sheets,
            Source::FeederDuplex => sheets * 2,
        };
        if r.source.is_feeder() && count == 0 {
            return Err(DeviceError::new(
                DeviceErrorKind::FeederEmpty,
                "the feeder is empty",
            ));
        }
        let bpl = pixel.bytes_per_line(w);
        for n in 1..=count {
            if status_jam_at == Some(n) {
                // Nobody handles it, so the error comes back (WIA's default handler).
                if let Err(hr) = cb.device_status(scanwire_core::wia::WIA_ERROR_PAPER_JAM, 0) {
                    return Err(DeviceError::from_hresult(
                        hr,
                        format!("paper jam before page {n}"),
                    ));
                }
                return Ok(Completion::EndOfMedia);
            }
            let page = PageInfo {
                number: n,
                sheet: if r.source == Source::FeederDuplex {
                    n.div_ceil(2)
                } else {
                    n
                },
                side: if r.source == Source::FeederDuplex && n % 2 == 0 {
                    Side::Back
                } else {
                    Side::Front
                },
                source: r.source,
                data: PageData::Raster {
                    pixel,
                    width: w,
                    height: Some(h),
                },
                dpi: (dpi, dpi),
            };
            let mut s = match cb.get_next_stream(0, &page) {
                NextStream::Stream(s) => s,
                NextStream::Skip => continue,
                NextStream::Cancelled => return Ok(Completion::Cancelled),
                NextStream::Failed(hr) => {
                    return Err(DeviceError::from_hresult(hr, "get_next_stream"))
                }
            };
            let mut buf = Vec::with_capacity(bpl * self.band_rows as usize);
            let mut y = 0;
            while y < h {
                let rows = self.band_rows.min(h - y);
                buf.clear();
                if noise {
                    buf.resize(bpl * rows as usize, 0);
                    for b in buf.iter_mut() {
                        // xorshift64: cheap bytes no encoder can shrink.
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        *b = seed as u8;
                    }
                } else {
                    for yy in y..y + rows {
                        render_row(&mut buf, pixel, n, x0, y0 + yy, w);
                    }
                }
                if let Err(hr) = s.write(&buf) {
                    return Err(DeviceError::from_hresult(hr, "write"));
                }
                y += rows;
                if jam_at == Some(n) && y >= h / 2 {
                    drop(s);
                    return Err(DeviceError::new(
                        DeviceErrorKind::PaperJam,
                        format!("page {n} jammed"),
                    ));
                }
                let pct = (y as u64 * 100 / h as u64) as i32;
                match cb.progress(pct, s.bytes_written()) {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Cancelled) => return Ok(Completion::Cancelled),
                    Err(hr) => return Err(DeviceError::from_hresult(hr, "progress")),
                }
                if !delay.is_zero() {
                    // Woken early by a cancel; the next callback then answers S_FALSE.
                    cancel.sleep(delay);
                }
            }
            s.finish();
        }
        if let Some(ms) = opt(r, "end_delay_ms")? {
            std::thread::sleep(Duration::from_millis(ms as u64));
        }
        Ok(Completion::Done)
    }
}

/// Appends glass row `y` (pixels `x0..x0+w`) of page `n`.
pub fn render_row(buf: &mut Vec<u8>, pixel: PixelFormat, n: u32, x0: u32, y: u32, w: u32) {
    match pixel {
        PixelFormat::Rgb8 => {
            for x in x0..x0 + w {
                buf.extend_from_slice(&color_at(n, x, y));
            }
        }
        PixelFormat::Gray8 => {
            for x in x0..x0 + w {
                buf.push(gray_at(n, x, y));
            }
        }
        PixelFormat::BlackAndWhite1 => {
            let mut byte = 0u8;
            for i in 0..w {
                if black_at(n, x0 + i, y) {
                    byte |= 0x80 >> (i % 8);
                }
                if i % 8 == 7 {
                    buf.push(byte);
                    byte = 0;
                }
            }
            if w % 8 != 0 {
                buf.push(byte);
            }
        }
        other => panic!("the test scanner does not deliver {other:?}"),
    }
}

/// Shares a test scanner as the server takes it.
pub fn shared(s: TestScanner) -> SharedDevice {
    share(Box::new(s))
}
