//! [`FileDriver`] and [`FileDevice`]: the `Driver` and `Device` implementations.
//!
//! `acquire` feeds the pages as a WIA mini-driver's feeder does:
//!
//! ```text
//! per page: mode and resolution checked (error: the file, what it is, what to ask)
//!           get_next_stream ─ Stream ─> decode, crop, (write band, STATUS pct/bytes, pace)* finish
//!                           ─ Skip ───> next page (nothing decoded)
//!                           ─ S_FALSE ─> Cancelled;  error ─> that error
//!           a file that cannot be read ends the scan with its error; the pages before it stay
//! end: S_OK, or WIA_STATUS_END_OF_MEDIA when the files ran out before `pages`
//! ```

use crate::errors::{callback_failed, FileError};
use crate::files;
use crate::image::{self, Format, PageSpec};
use crate::options::{self, FileOptions};
use scanwire_core::device::{
    AcquireResult, Capabilities, ColorMode, Completion, Device, DeviceError, DeviceErrorKind,
    DeviceInfo, DeviceOption, Driver, Encoding, PageData, PageInfo, PixelFormat, ScanRequest, Side,
};
use scanwire_core::transfer::{
    CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The driver's name and the prefix of its device ids.
pub const NAME: &str = "file";

/// Rows per band are capped by this many bytes…
const BAND_BYTES: usize = 256 * 1024;
/// …and by this many rows, so that progress moves often on small pages.
const BAND_ROWS: usize = 64;
/// A paced band takes at most about this long (progress moves smoothly; the watchdog hears).
const PACED_BAND: Duration = Duration::from_millis(250);

/// The file driver: `file:PATH` opens PATH (a file, a directory, a pattern). It lists no
/// devices: files are named, not found.
#[derive(Copy, Clone, Debug, Default)]
pub struct FileDriver;

impl FileDriver {
    /// The driver.
    pub fn new() -> Self {
        FileDriver
    }
}

impl Driver for FileDriver {
    fn name(&self) -> &'static str {
        NAME
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        Ok(Vec::new())
    }

    fn open(&self, id: &str) -> Result<Box<dyn Device>, DeviceError> {
        let spec = id
            .strip_prefix("file:")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                DeviceError::new(
                    DeviceErrorKind::InvalidRequest,
                    format!("`{id}` is no file device; give file:PATH (a file, a directory or a pattern such as file:scans/*.png)"),
                )
            })?;
        Ok(Box::new(FileDevice::open(spec)?))
    }
}

/// Image files scanned as a document feeder, one page per image (per page of a TIFF).
pub struct FileDevice {
    id: String,
    spec: String,
    files: Vec<PathBuf>,
    /// Every page of every file, or the error where a file stops being readable; read from
    /// the headers when first needed.
    pages: Option<Vec<Result<PageSpec, FileError>>>,
}

impl FileDevice {
    /// The device for `spec` (what follows `file:`): the files it names must exist; they are
    /// read when the device is first asked what it can do.
    pub fn open(spec: &str) -> Result<FileDevice, FileError> {
        let files = files::resolve(spec)?;
        Ok(FileDevice {
            id: format!("{NAME}:{spec}"),
            spec: spec.to_string(),
            files,
            pages: None,
        })
    }

    /// The files, in scanning order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Every page's description (or the error where a file stops being readable).
    pub fn pages(&mut self) -> &[Result<PageSpec, FileError>] {
        let files = &self.files;
        self.pages.get_or_insert_with(|| {
            files
                .iter()
                .flat_map(|path| match std::fs::read(path) {
                    Ok(bytes) => image::probe(path, &bytes),
                    Err(source) => vec![Err(FileError::Unreadable {
                        path: path.clone(),
                        source,
                    })],
                })
                .collect()
        })
    }

    fn model(&self) -> String {
        let n = self.files.len();
        match n {
            1 => format!("file {}", self.spec),
            _ => format!("{n} files in {}", self.spec),
        }
    }
}

impl Device for FileDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: self.id.clone(),
            vendor: "Scanwire".into(),
            model: self.model(),
            driver: NAME,
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        let model = self.model();
        let pages = self.pages();
        let good: Vec<&PageSpec> = pages.iter().filter_map(|p| p.as_ref().ok()).collect();
        if good.is_empty() {
            // Not one page to describe: the first file's own error says why.
            let first = pages.iter().find_map(|p| p.as_ref().err());
            return Err(match first {
                Some(e) => DeviceError::new(e.kind(), e.to_string()),
                None => DeviceError::new(DeviceErrorKind::InvalidRequest, "no pages"),
            });
        }
        Ok(options::capabilities(&model, &good))
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        options::device_options()
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        let opts = FileOptions::parse(&request.options)?;
        let pages = self.pages().to_vec_results();
        Feed {
            request,
            opts,
            cb,
            cancel,
            cache: None,
        }
        .run(&pages)
    }
}

/// A copy of the page list to scan from (errors keep their message and kind).
trait ToVecResults {
    fn to_vec_results(&self) -> Vec<Result<PageSpec, (DeviceErrorKind, String)>>;
}

impl ToVecResults for [Result<PageSpec, FileError>] {
    fn to_vec_results(&self) -> Vec<Result<PageSpec, (DeviceErrorKind, String)>> {
        self.iter()
            .map(|p| match p {
                Ok(s) => Ok(s.clone()),
                Err(e) => Err((e.kind(), e.to_string())),
            })
            .collect()
    }
}

/// One acquisition in progress.
struct Feed<'a> {
    request: &'a ScanRequest,
    opts: FileOptions,
    cb: &'a mut dyn MiniDrvTransferCallback,
    cancel: &'a CancelToken,
    /// The last file read (the pages of a TIFF follow each other).
    cache: Option<(PathBuf, Arc<Vec<u8>>)>,
}

/// What one page becomes.
struct Plan {
    info: PageInfo,
    /// The file's bytes go out as they are (a JPEG or PNG the request asked for).
    pass_through: bool,
    crop: (u32, u32, u32, u32),
}

impl Feed<'_> {
    fn run(&mut self, pages: &[Result<PageSpec, (DeviceErrorKind, String)>]) -> AcquireResult {
        let wanted = self.request.pages.map_or(usize::MAX, |n| n as usize);
        let mut delivered = 0usize;
        for (i, page) in pages.iter().take(wanted).enumerate() {
            if self.cancel.is_cancelled() {
                return Ok(Completion::Cancelled);
            }
            let spec = match page {
                Ok(spec) => spec,
                Err((kind, why)) => return Err(DeviceError::new(*kind, why.clone())),
            };
            if self.page(i as u32 + 1, spec)? == Flow::Cancelled {
                return Ok(Completion::Cancelled);
            }
            delivered += 1;
        }
        Ok(if delivered < wanted && self.request.pages.is_some() {
            Completion::EndOfMedia
        } else {
            Completion::Done
        })
    }

    /// What page `number` (`spec`) becomes for this request, or why it cannot be delivered.
    fn plan(&self, number: u32, spec: &PageSpec, bytes: &[u8]) -> Result<Plan, FileError> {
        let r = self.request;
        if !options::deliverable(spec.native).contains(&r.mode) {
            return Err(FileError::Mode {
                path: spec.path.clone(),
                page: spec.page_label(),
                native: spec.native,
                asked: r.mode,
                allowed: options::deliverable(spec.native)
                    .iter()
                    .map(|m| m.cli_name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let (dpi, how) = options::page_dpi(spec);
        if dpi.0 != r.resolution {
            return Err(FileError::Resolution {
                path: spec.path.clone(),
                page: spec.page_label(),
                dpi: dpi.0,
                how,
                asked: r.resolution,
            });
        }
        let crop = options::crop(spec, r.area, dpi)?;
        let whole = crop == (0, 0, spec.width, spec.height);
        let pass_through = whole
            && spec.native == r.mode
            && match (r.encoding, spec.format) {
                (Some(Encoding::Jpeg), Format::Jpeg) => {
                    matches!(r.mode, ColorMode::Gray | ColorMode::Color)
                }
                // A PNG as a PNG file of that mode would be (not interlaced, no palette).
                (Some(Encoding::Png), Format::Png) => {
                    scanwire_codecs::decode::png_is_mode(bytes, r.mode)
                }
                _ => false,
            };
        let data = if pass_through {
            PageData::Encoded(if spec.format == Format::Jpeg {
                Encoding::Jpeg
            } else {
                Encoding::Png
            })
        } else {
            PageData::Raster {
                pixel: PixelFormat::for_mode(r.mode),
                width: crop.2,
                height: Some(crop.3),
            }
        };
        Ok(Plan {
            info: PageInfo {
                number,
                sheet: number,
                side: Side::Front,
                source: r.source,
                data,
                dpi,
            },
            pass_through,
            crop,
        })
    }

    fn bytes(&mut self, path: &Path) -> Result<Arc<Vec<u8>>, FileError> {
        if let Some((p, b)) = &self.cache {
            if p == path {
                return Ok(b.clone());
            }
        }
        let bytes = Arc::new(std::fs::read(path).map_err(|source| FileError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?);
        self.cache = Some((path.to_path_buf(), bytes.clone()));
        Ok(bytes)
    }

    fn page(&mut self, number: u32, spec: &PageSpec) -> Result<Flow, DeviceError> {
        // Read before the page starts: whether it passes through depends on its bytes.
        let bytes = self.bytes(&spec.path)?;
        let plan = self.plan(number, spec, &bytes)?;
        let mut stream = match self.cb.get_next_stream(0, &plan.info) {
            NextStream::Stream(s) => s,
            // The application does not want it: nothing to read.
            NextStream::Skip => return Ok(Flow::Continue),
            NextStream::Cancelled => return Ok(Flow::Cancelled),
            NextStream::Failed(hr) => {
                return Err(callback_failed(
                    hr,
                    format!("opening a stream for page {number}"),
                ))
            }
        };
        let (body, bpl, rows): (Vec<u8>, usize, u32) = if plan.pass_through {
            (bytes.to_vec(), 0, 0)
        } else {
            let raster = image::decode(spec, &bytes, self.request.mode)?;
            let bpl = raster.pixel.bytes_per_line(plan.crop.2);
            (cut(&raster, plan.crop), bpl, plan.crop.3)
        };
        // Bands: rows of a raster, or slices of an encoded file.
        let unit = if bpl > 0 { bpl } else { 1 };
        let mut band_units = match BAND_BYTES.checked_div(bpl) {
            Some(rows) => rows.clamp(1, BAND_ROWS),
            None => BAND_BYTES.min(body.len().div_ceil(16).max(4096)),
        };
        let total_units = if bpl > 0 { rows as usize } else { body.len() };
        if let Some(page_time) = self.opts.page_time() {
            let per_band = (total_units as u128 * PACED_BAND.as_nanos()
                / page_time.as_nanos().max(1)) as usize;
            band_units = band_units.min(per_band.max(1));
        }
        let started = Instant::now();
        let mut done = 0usize;
        while done < total_units {
            let n = band_units.min(total_units - done);
            stream
                .write(&body[done * unit..(done + n) * unit])
                .map_err(|hr| callback_failed(hr, format!("writing page {number}")))?;
            done += n;
            let pct = (done as u64 * 100 / total_units.max(1) as u64) as i32;
            match self.cb.progress(pct, stream.bytes_written()) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Cancelled) => return Ok(Flow::Cancelled),
                Err(hr) => {
                    return Err(callback_failed(
                        hr,
                        format!("reporting progress of page {number}"),
                    ))
                }
            }
            if self.pace(started, done, total_units) {
                return Ok(Flow::Cancelled);
            }
        }
        stream.finish();
        Ok(Flow::Continue)
    }

    /// Waits until `done` of `total` units of the page are due at `ppm`. True if cancelled.
    fn pace(&self, started: Instant, done: usize, total: usize) -> bool {
        let Some(page_time) = self.opts.page_time() else {
            return false;
        };
        let due = started + page_time.mul_f64(done as f64 / total.max(1) as f64);
        let now = Instant::now();
        due > now && self.cancel.sleep(due - now)
    }
}

/// The rows of `raster` inside `crop` (left, top, width, height in pixels).
fn cut(raster: &image::Raster, crop: (u32, u32, u32, u32)) -> Vec<u8> {
    let (left, top, width, height) = crop;
    if (left, top, width, height) == (0, 0, raster.width, raster.height) {
        return raster.data.clone();
    }
    let pixel = raster.pixel;
    let src_bpl = pixel.bytes_per_line(raster.width);
    let dst_bpl = pixel.bytes_per_line(width);
    let mut out = vec![0u8; dst_bpl * height as usize];
    for (y, dst) in out.chunks_exact_mut(dst_bpl.max(1)).enumerate() {
        let row = &raster.data[(top as usize + y) * src_bpl..][..src_bpl];
        if pixel == PixelFormat::BlackAndWhite1 {
            for x in 0..width as usize {
                let sx = left as usize + x;
                if row[sx / 8] & (0x80 >> (sx % 8)) != 0 {
                    dst[x / 8] |= 0x80 >> (x % 8);
                }
            }
        } else {
            let bpp = pixel.bytes_per_line(1);
            dst.copy_from_slice(&row[left as usize * bpp..][..dst_bpl]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineart_is_cut_at_any_bit() {
        let raster = image::Raster {
            pixel: PixelFormat::BlackAndWhite1,
            width: 12,
            height: 2,
            data: vec![0b1010_1010, 0b1010_0000, 0b0000_1111, 0b1111_0000],
        };
        assert_eq!(
            cut(&raster, (1, 0, 9, 2)),
            [0b0101_0101, 0, 0b0001_1111, 0b1000_0000]
        );
        let gray = image::Raster {
            pixel: PixelFormat::Gray8,
            width: 3,
            height: 2,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        assert_eq!(cut(&gray, (1, 1, 2, 1)), [5, 6]);
    }

    #[test]
    fn ids_need_a_path() {
        let e = FileDriver.open("file:").err().unwrap();
        assert!(e.detail().contains("file:PATH"), "{}", e.detail());
        let e = FileDriver.open("file:/no/such/dir/x.png").err().unwrap();
        assert_eq!(e.kind(), DeviceErrorKind::InvalidRequest);
        assert!(e.detail().contains("no such file"), "{}", e.detail());
    }
}
