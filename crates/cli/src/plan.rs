//! `scan`'s raw arguments to what to do, in two steps (as ripgrep's `lowargs` → `hiargs`):
//! [`ScanPlan::new`] checks everything that needs no device (flags, the output file, its
//! directory and what its format can hold, the transfer's options, `--set` split into names
//! and values), and
//! [`ScanPlan::request`] resolves the rest against the open device (its area, its options, the
//! encoding its pages come in). Every error here is one the user can fix before scanning:
//! exit status 2.

use crate::args::{Paper, ScanArgs};
use crate::exit::usage;
use crate::ocr::Ocr;
use crate::processing::Processed;
use crate::queue::Output;
use crate::ui::AfterScan;
use anyhow::{anyhow, bail, Result};
use scanwire_codecs::Format;
use scanwire_core::device::{
    parse_settings, Area, Capabilities, ColorMode, DeviceOption, Encoding, Length, OptionError,
    OptionValue, ScanRequest, Source,
};
use scanwire_core::transfer::{CancelHandle, TransferOptions, VerifyMode};
use scanwire_output::OutputPlan;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Bytes queued per page between the driver and the page's encoder. The formats crate's
/// default (8 MiB) lets a fast device (the SANE test backend reads at memory speed) run
/// megabytes ahead of the encoder, which only raises peak memory and gains no time for a
/// page file; pages still overlap through the output's pipeline.
/// `bench/sane-vs-scanimage.sh` measures it.
const CLI_QUEUE_BYTES: usize = 256 * 1024;

/// What `scanwire scan` will do, before the device is asked.
pub struct ScanPlan {
    /// The device id or added name, as typed.
    pub device: String,
    /// Where the paper is (`None`: the device's, see [`Self::request`]).
    pub source: Option<Source>,
    /// Color mode and depth (`None`: the source's, see [`Self::request`]).
    pub mode: Option<ColorMode>,
    /// `--depth`, for a mode the device chooses.
    depth: Option<u8>,
    /// dpi (`None`: 300 or the nearest the source has).
    pub resolution: Option<u32>,
    /// Feeder pages (`None`: every sheet).
    pub pages: Option<u32>,
    /// `-l -t -x -y` in micrometres, as given.
    edges: [Option<Length>; 4],
    /// `--paper`.
    paper: Option<Paper>,
    /// `--set` as (name, value), in order.
    pub settings: Vec<(String, String)>,
    /// The files, checked (their directory exists) but none created yet; or the queue
    /// (`--queue`), connected.
    pub output: Output,
    /// Their format.
    format: Format,
    /// `--lossless`.
    lossless: bool,
    /// `--force`.
    force: bool,
    /// `-o` as given, for messages.
    path: String,
    /// Whether `-o` can take several pages (a pattern or a multi-page format).
    many_pages: bool,
    /// How the transfer runs.
    pub transfer: TransferOptions,
    /// `--quality` was given (the device's own JPEG is not wanted).
    quality: bool,
    /// Cancels the scan (Ctrl-C), and with it OCR under way.
    pub cancel: CancelHandle,
    /// `--ocr`: its stages are on the output's pipeline.
    pub ocr: Option<Ocr>,
    /// `--deskew`, `--crop`, `--blank`...: its stage is on the output's pipeline.
    pub processing: Option<Processed>,
    /// Progress after a page's scan (its processing), fed by the output.
    pub after: Arc<AfterScan>,
}

impl ScanPlan {
    /// Checks the arguments that need no device.
    pub fn new(args: &ScanArgs) -> Result<ScanPlan> {
        let source: Option<Source> = args
            .source
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| usage(e))?;
        let mode = match args.mode.as_deref() {
            Some(name) => {
                let mode: ColorMode = name.parse().map_err(|e: String| usage(e))?;
                Some(with_depth(mode, args.depth)?)
            }
            None => None,
        };
        let edges = [
            mm("-l", args.left)?,
            mm("-t", args.top)?,
            mm("-x", args.width)?,
            mm("-y", args.height)?,
        ];
        let settings = args
            .set
            .iter()
            .map(|s| split_setting(s))
            .collect::<Result<Vec<_>>>()?;
        let transfer = transfer_options(args)?;

        let format = args
            .format
            .as_deref()
            .map(Format::from_name)
            .transpose()
            .map_err(usage)?;
        let path = args.output.to_string_lossy().into_owned();
        let mut output = OutputPlan::new(&path, format).map_err(usage)?;
        let many_pages = output.takes_many_pages();
        if let Some(source) = source {
            one_file_for_a_feeder(source, args.pages, many_pages, &path, "")?;
        }
        if let Some(mode) = mode {
            fits_the_file(output.format, mode, args.lossless, args.force, &path)?;
        }
        if let Some(q) = args.quality {
            if !(1..=100).contains(&q) {
                bail!(usage(format!("--quality {q}: allowed 1..=100")));
            }
            output.options.jpeg_quality = q;
        }
        output.options.pdf_lossless = args.lossless;
        output.options.title = args.title.clone();
        if args.pdfa && output.format != Format::Pdf {
            bail!(usage(format!(
                "--pdfa makes a PDF/A file, but -o {path} is {}; use a .pdf file",
                output.format
            )));
        }
        output.options.pdfa = args.pdfa;
        output.all_or_nothing = args.all_or_nothing;
        output.queue_bytes = CLI_QUEUE_BYTES;
        // SOURCE_DATE_EPOCH makes the PDF's dates reproducible; a queued job always has one
        // date, its start, wherever it is assembled.
        let (created, fixed) = crate::queue::created()?;
        if fixed {
            output.options.created = Some(created);
        }
        let queue = crate::queue::plan(args, &output, created)?;
        let cancel = CancelHandle::new();
        // Tesseract and its languages are checked here, before a scanner is touched (with
        // --queue, by the workers).
        let (ocr, processing) = if queue.is_some() {
            (None, None)
        } else {
            let ocr = crate::ocr::plan(args, &mut output, &cancel)?;
            let processing = crate::processing::plan(args, &mut output, ocr.is_some())?;
            (ocr, processing)
        };
        let after = AfterScan::new(args.quiet || args.json);
        if !output.stages.is_empty() {
            after.set_staged(processing.as_ref().map(|p| p.findings()));
            let after = after.clone();
            output.page_done = Some(Arc::new(move |page, hr| after.page_done(page, hr)));
        }
        let format = output.format;
        // Checks the directory (a missing one is the user's to fix) and creates nothing.
        let files = output.start().map_err(usage)?;
        let output = match queue {
            Some(q) => {
                let shown = match (args.json, args.quiet) {
                    (true, _) => crate::queue::Shown::Json,
                    (false, true) => crate::queue::Shown::Quiet,
                    (false, false) => crate::queue::Shown::Text,
                };
                Output::Queue(q.start(&cancel, after.clone(), shown)?)
            }
            None => Output::Files(files),
        };

        Ok(ScanPlan {
            device: args.device.clone(),
            source,
            mode,
            depth: args.depth,
            resolution: args.resolution,
            pages: args.pages,
            edges,
            paper: args.paper,
            settings,
            output,
            format,
            lossless: args.lossless,
            force: args.force,
            path,
            many_pages,
            transfer,
            quality: args.quality.is_some(),
            cancel,
            ocr,
            processing,
            after,
        })
    }

    /// `--set` parsed against the open device's options (core's one parser): typed values, or
    /// what is wrong in words.
    pub fn options(
        &self,
        device_options: &[DeviceOption],
    ) -> Result<BTreeMap<String, OptionValue>, OptionError> {
        parse_settings(device_options, &self.settings)
    }

    /// The request for the open device: its area rules, its options (see [`Self::options`]),
    /// the encoding its pages should come in; validated against its capabilities.
    pub fn request(
        &self,
        caps: &Capabilities,
        options: BTreeMap<String, OptionValue>,
    ) -> Result<ScanRequest> {
        let source = self.source(caps)?;
        let sc = caps.source(source);
        let mode = match self.mode {
            Some(mode) => mode,
            None => {
                // Color, as scanimage's backends mostly default to, unless the source has
                // none (a gray image file): then its own first mode.
                let native = sc
                    .filter(|sc| !sc.modes.contains(&ColorMode::Color))
                    .and_then(|sc| sc.modes.first().copied())
                    .unwrap_or(ColorMode::Color);
                let mode = with_depth(native, self.depth)?;
                fits_the_file(self.format, mode, self.lossless, self.force, &self.path)?;
                mode
            }
        };
        let resolution = self.resolution.unwrap_or_else(|| {
            sc.and_then(|sc| sc.resolutions.nearest(DEFAULT_DPI))
                .unwrap_or(DEFAULT_DPI)
        });
        let area = self.area(caps, source)?;
        let mut request = ScanRequest {
            source,
            mode,
            resolution,
            area,
            pages: self.pages,
            encoding: None,
            options,
            processing: Default::default(),
        };
        if let Some(p) = &self.processing {
            request.processing = p.split(&caps.processing);
        }
        request.encoding = self.device_encoding(caps, &request);
        request.validate(caps).map_err(usage)?;
        Ok(request)
    }

    /// `--source`, or the flatbed when the device has one, else the device's own (first)
    /// source: a `file:` device is a feeder only.
    fn source(&self, caps: &Capabilities) -> Result<Source> {
        if let Some(source) = self.source {
            return Ok(source);
        }
        let source = match caps.source(Source::Flatbed) {
            Some(_) => Source::Flatbed,
            None => caps.default_source().unwrap_or(Source::Flatbed),
        };
        let chosen = format!(" (the default of {}, which has no flatbed)", caps.model);
        one_file_for_a_feeder(source, self.pages, self.many_pages, &self.path, &chosen)?;
        Ok(source)
    }

    /// The encoding to ask the device for so that its pages go into the file untouched: PNG
    /// for a PNG file (lossless either way; a page not in the requested mode is still
    /// converted), JPEG for a JPEG file or a PDF's DCT pages when the mode is 8-bit gray or
    /// color and no `--quality` asks for Scanwire's own encoding; each only when the source
    /// sends it (eSCL scanners do). `None`: raw rows, encoded here.
    fn device_encoding(&self, caps: &Capabilities, request: &ScanRequest) -> Option<Encoding> {
        let format = self.format;
        let own_encoding = self.quality || (format == Format::Pdf && self.lossless);
        let wanted = match format {
            Format::Png => Encoding::Png,
            Format::Jpeg | Format::Pdf
                if !own_encoding && matches!(request.mode, ColorMode::Color | ColorMode::Gray) =>
            {
                Encoding::Jpeg
            }
            _ => return None,
        };
        caps.source(request.source)
            .is_some_and(|sc| sc.encodings.contains(&wanted))
            .then_some(wanted)
    }

    /// scanimage's rules: -l/-t default to 0, -x/-y to the rest of the glass; `--paper`
    /// sets -x/-y (clap keeps them apart) and must fit on the glass. No flag: `None`, the
    /// whole glass.
    fn area(&self, caps: &Capabilities, source: Source) -> Result<Option<Area>> {
        let [l, t, mut x, mut y] = self.edges;
        // Without the source the validator reports the source; any max will do here.
        let sc = caps.source(source);
        let max = sc.map(|s| s.max_area).unwrap_or_default();
        if let Some(paper) = self.paper {
            let (w, h) = paper.size();
            if sc.is_some() && (w > max.width || h > max.height) {
                bail!(usage(format!(
                    "--paper {} ({:.1} x {:.1} mm) is larger than the glass of {} {} ({:.1} x {:.1} mm)",
                    paper.name(),
                    w.as_mm(),
                    h.as_mm(),
                    caps.model,
                    source,
                    max.width.as_mm(),
                    max.height.as_mm()
                )));
            }
            (x, y) = (Some(w), Some(h));
        }
        if l.is_none() && t.is_none() && x.is_none() && y.is_none() {
            return Ok(None);
        }
        let left = l.unwrap_or(Length::ZERO);
        let top = t.unwrap_or(Length::ZERO);
        let width = x.unwrap_or(Length(max.right().0.saturating_sub(left.0)));
        let height = y.unwrap_or(Length(max.bottom().0.saturating_sub(top.0)));
        Ok(Some(Area {
            left,
            top,
            width,
            height,
        }))
    }
}

/// `--set NAME=VALUE` split by core's `split_setting` (the one place that splits it), as a
/// usage error for `scan` and `serve`.
pub fn split_setting(s: &str) -> Result<(String, String)> {
    scanwire_core::device::split_setting(s).map_err(|e| usage(format!("--set {e}")))
}

/// The resolution asked for when `--resolution` is not given (scanimage's backends mostly
/// default to it too), or the nearest the source has.
const DEFAULT_DPI: u32 = 300;

/// `mode` at `--depth`, or what is wrong.
fn with_depth(mode: ColorMode, depth: Option<u8>) -> Result<ColorMode> {
    let Some(depth) = depth else { return Ok(mode) };
    mode.with_depth(depth).ok_or_else(|| {
        usage(format!(
            "--depth {depth} does not go with --mode {mode}; allowed: lineart 1, gray 8 or 16, color 8 or 16"
        ))
    })
}

/// A feeder may scan several pages: refuses one named file for them. `chosen` says why the
/// source is what it is when the user did not name it.
fn one_file_for_a_feeder(
    source: Source,
    pages: Option<u32>,
    many_pages: bool,
    path: &str,
    chosen: &str,
) -> Result<()> {
    if source.is_feeder() && pages != Some(1) && !many_pages {
        bail!(usage(format!(
            "--source {source}{chosen} may scan several pages but -o {path} names one file; \
             use a pattern such as page-{{n}}.png, or a .pdf or .tif file"
        )));
    }
    Ok(())
}

/// Refuses a mode the output format cannot hold, unless `--force`.
fn fits_the_file(
    format: Format,
    mode: ColorMode,
    lossless: bool,
    force: bool,
    path: &str,
) -> Result<()> {
    if !force {
        if let Err(why) = holds(format, mode, lossless) {
            bail!(usage(format!(
                "-o {path}: {why} (--force writes it anyway, converted)"
            )));
        }
    }
    Ok(())
}

/// Whether a file in `format` holds pages in `mode` as they are scanned; if not, what it can
/// hold. The encoders would convert (16 bits to 8, lineart to gray), silently losing what
/// was asked for.
pub fn holds(format: Format, mode: ColorMode, lossless: bool) -> Result<(), String> {
    let sixteen = mode.depth() == 16;
    match format {
        Format::Jpeg if sixteen || mode == ColorMode::Lineart => Err(format!(
            "JPEG holds 8-bit gray or color only, not {} ({} bit); use .png, .tif or .pnm",
            mode,
            mode.depth()
        )),
        Format::Pdf if sixteen && !lossless => Err(format!(
            "PDF pages are JPEG (8-bit gray or color) unless --lossless, not {} (16 bit); \
             add --lossless, or use .png or .tif",
            mode
        )),
        _ => Ok(()),
    }
}

fn mm(flag: &str, v: Option<f64>) -> Result<Option<Length>> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(Length::from_mm(x))),
        Some(x) => Err(usage(format!(
            "{flag} {x}: a length in mm must be a number >= 0"
        ))),
    }
}

/// How the transfer runs.
fn transfer_options(args: &ScanArgs) -> Result<TransferOptions> {
    if !args.watchdog.is_finite() || args.watchdog < 0.0 {
        return Err(usage(anyhow!(
            "--watchdog {}: seconds must be a number >= 0 (0 turns it off)",
            args.watchdog
        )));
    }
    Ok(TransferOptions {
        verify: if args.verify {
            VerifyMode::Strict
        } else {
            VerifyMode::Lenient
        },
        watchdog: (args.watchdog > 0.0).then(|| Duration::from_secs_f64(args.watchdog)),
        ..TransferOptions::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_splits_at_the_first_equals_sign() {
        assert_eq!(
            split_setting(" test-picture = Color pattern=x ").unwrap(),
            ("test-picture".into(), "Color pattern=x".into())
        );
        assert!(split_setting("sheets").is_err());
        assert!(split_setting("=3").is_err());
    }

    #[test]
    fn what_each_format_holds() {
        assert!(holds(Format::Jpeg, ColorMode::Color48, false).is_err());
        assert!(holds(Format::Jpeg, ColorMode::Lineart, false).is_err());
        assert!(holds(Format::Jpeg, ColorMode::Gray, false).is_ok());
        assert!(holds(Format::Pdf, ColorMode::Gray16, false).is_err());
        assert!(holds(Format::Pdf, ColorMode::Gray16, true).is_ok());
        assert!(holds(Format::Pdf, ColorMode::Lineart, false).is_ok());
        for f in [Format::Png, Format::Tiff, Format::Pnm] {
            for m in [ColorMode::Lineart, ColorMode::Gray16, ColorMode::Color48] {
                assert!(holds(f, m, false).is_ok(), "{f:?} {m:?}");
            }
        }
    }
}
