//! From what was typed to what to do: resolves `ScanArgs` against the device's capabilities
//! into a `ScanRequest` and output settings, with errors that say what is allowed.

use crate::args::ScanArgs;
use anyhow::{anyhow, bail, Result};
use scanwire_codecs::Format;
use scanwire_core::device::{
    parse_settings, split_setting, Area, Capabilities, ColorMode, DeviceOption, Encoding, Length,
    ScanRequest, Source,
};
use scanwire_core::transfer::{TransferOptions, VerifyMode};
use std::time::Duration;

/// The request a scan command makes.
pub fn request(
    args: &ScanArgs,
    caps: &Capabilities,
    device_options: &[DeviceOption],
) -> Result<ScanRequest> {
    let source: Source = args.source.parse().map_err(|e: String| anyhow!(e))?;
    let mut mode: ColorMode = args.mode.parse().map_err(|e: String| anyhow!(e))?;
    if let Some(depth) = args.depth {
        mode = mode.with_depth(depth).ok_or_else(|| {
            anyhow!(
                "--depth {depth} does not go with --mode {}; allowed: lineart 1, gray 8 or 16, color 8 or 16",
                args.mode
            )
        })?;
    }
    let area = area(args, caps, source)?;
    let settings = args
        .set
        .iter()
        .map(|s| split_setting(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("--set {e}"))?;
    let options = parse_settings(device_options, &settings).map_err(|e| anyhow!("--set {e}"))?;
    Ok(ScanRequest {
        source,
        mode,
        resolution: args.resolution,
        area,
        pages: args.pages,
        encoding: None,
        options,
    })
}

/// The encoding to ask the device for so that its pages go into the file untouched: PNG for
/// a PNG file (lossless either way; a page not in the requested mode is still converted),
/// JPEG for a JPEG file or a PDF's DCT pages when the mode is 8-bit gray or color and no
/// `--quality` asks for Scanwire's own encoding; each only when the source sends it (eSCL
/// scanners do). `None`: raw rows, encoded here.
pub fn device_encoding(
    args: &ScanArgs,
    format: Format,
    caps: &Capabilities,
    request: &ScanRequest,
) -> Option<Encoding> {
    let wanted = match format {
        Format::Png => Encoding::Png,
        Format::Jpeg | Format::Pdf
            if args.quality.is_none()
                && !(format == Format::Pdf && args.lossless)
                && matches!(request.mode, ColorMode::Color | ColorMode::Gray) =>
        {
            Encoding::Jpeg
        }
        _ => return None,
    };
    caps.source(request.source)
        .is_some_and(|sc| sc.encodings.contains(&wanted))
        .then_some(wanted)
}

fn mm(flag: &str, v: Option<f64>) -> Result<Option<Length>> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(Length::from_mm(x))),
        Some(x) => bail!("{flag} {x}: a length in mm must be a number >= 0"),
    }
}

/// scanimage's rules: -l/-t default to 0, -x/-y default to the rest of the glass.
fn area(args: &ScanArgs, caps: &Capabilities, source: Source) -> Result<Option<Area>> {
    let (l, t, x, y) = (
        mm("-l", args.left)?,
        mm("-t", args.top)?,
        mm("-x", args.width)?,
        mm("-y", args.height)?,
    );
    if l.is_none() && t.is_none() && x.is_none() && y.is_none() {
        return Ok(None);
    }
    // Without the source the validator reports the source; any max will do here.
    let max = caps.source(source).map(|s| s.max_area).unwrap_or_default();
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

/// How the transfer runs.
pub fn transfer_options(args: &ScanArgs) -> Result<TransferOptions> {
    if !args.watchdog.is_finite() || args.watchdog < 0.0 {
        bail!(
            "--watchdog {}: seconds must be a number >= 0 (0 turns it off)",
            args.watchdog
        );
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
