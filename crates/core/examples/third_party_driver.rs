//! A complete third-party driver in a few dozen lines, scanned through the real relay with the
//! strict verifier: `cargo run -p scanwire-core --example third_party_driver`.
//!
//! A driver is a [`Device`] (who it is, what it can do, its `--set` options, and `acquire`,
//! which writes each page into the stream `get_next_stream` hands out and reports STATUS as it
//! goes). Everything else (END_OF_STREAM, END_OF_TRANSFER, sticky cancel, the error-handler
//! chain, checking the driver against the WIA rules) is the relay's job.

use scanwire_core::device::*;
use scanwire_core::transfer::{
    self, CancelHandle, CancelToken, DriverCallbackExt, Flow, MiniDrvTransferCallback, NextStream,
    Recorder, TransferOptions,
};
use scanwire_core::wia;

/// A flatbed that scans a gray gradient, left to right or top to bottom.
struct Gradient;

const GLASS: Length = Length::mm(50);

impl Device for Gradient {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "gradient".into(),
            vendor: "Example".into(),
            model: "Gradient Scanner".into(),
            driver: "gradient",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(Capabilities {
            model: "Gradient Scanner".into(),
            sources: vec![SourceCaps {
                source: Source::Flatbed,
                modes: vec![ColorMode::Gray],
                resolutions: Resolutions::Discrete(vec![75, 150]),
                max_area: Area::sized(GLASS, GLASS),
                min_size: (Length::mm(1), Length::mm(1)),
                encodings: Vec::new(),
                raw: true,
                feeder_capacity: None,
            }],
            processing: Default::default(),
        })
    }

    fn options(&mut self) -> Vec<DeviceOption> {
        // `--set direction=vertical`: parsed and checked by scanwire-core, not here.
        vec![DeviceOption {
            constraint: Constraint::TextList(vec!["horizontal".into(), "vertical".into()]),
            value: Some(OptionValue::Text("horizontal".into())),
            help: "which way the gradient runs".into(),
            ..DeviceOption::new("direction", OptionType::Text)
        }]
    }

    fn acquire(
        &mut self,
        request: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        cancel: &CancelToken,
    ) -> AcquireResult {
        let vertical =
            request.options.get("direction").and_then(|v| v.as_text()) == Some("vertical");
        let area = request
            .effective_area(&self.capabilities()?)
            .ok_or_else(|| DeviceError::new(DeviceErrorKind::InvalidRequest, "no area"))?;
        let (w, h) = (
            area.width.to_pixels(request.resolution),
            area.height.to_pixels(request.resolution),
        );
        let page = PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Flatbed,
            data: PageData::Raster {
                pixel: PixelFormat::Gray8,
                width: w,
                height: Some(h),
            },
            dpi: (request.resolution, request.resolution),
        };
        let failed = |hr| DeviceError::from_hresult(hr, "the application's stream failed");
        let mut stream = match cb.get_next_stream(0, &page) {
            NextStream::Stream(s) => s,
            NextStream::Skip => return Ok(Completion::Done),
            NextStream::Cancelled => return Ok(Completion::Cancelled),
            NextStream::Failed(hr) => return Err(failed(hr)),
        };
        for y in 0..h {
            let row: Vec<u8> = (0..w)
                .map(|x| if vertical { y * 255 / h.max(1) } else { x * 255 / w.max(1) } as u8)
                .collect();
            stream.write(&row).map_err(failed)?;
            // A STATUS every 16 rows; S_FALSE (or a cancel) means stop now.
            if y % 16 == 15 || y + 1 == h {
                let percent = ((y + 1) * 100 / h) as i32;
                if cb
                    .progress(percent, stream.bytes_written())
                    .map_err(failed)?
                    == Flow::Cancelled
                    || cancel.is_cancelled()
                {
                    return Ok(Completion::Cancelled);
                }
            }
        }
        stream.finish();
        Ok(Completion::Done)
    }
}

fn main() {
    let mut device = Gradient;
    let settings = [split_setting("direction=Vertical").expect("NAME=VALUE")];
    let request = ScanRequest {
        mode: ColorMode::Gray,
        resolution: 150,
        options: parse_settings(&device.options(), &settings).expect("a valid option"),
        ..Default::default()
    };
    let (app, log) = Recorder::new();
    let outcome = transfer::run(
        &transfer::share(Box::new(device)),
        &request,
        Box::new(app),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    let recording = log.snapshot();
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    recording.check_grammar().expect("the message grammar");
    let page = &recording.pages[0];
    let (w, h) = (GLASS.to_pixels(150) as usize, GLASS.to_pixels(150) as usize);
    assert_eq!(page.data.len(), w * h);
    assert_eq!(
        (page.data[0], page.data[(h - 1) * w]),
        (0, ((h - 1) * 255 / h) as u8)
    );
    println!(
        "scanned {} page(s) of {w}x{h} gray pixels; {} messages; grammar and verifier: ok",
        outcome.pages,
        recording.events.len()
    );
}
