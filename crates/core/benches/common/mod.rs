//! A device that writes a ready buffer in bands, for the relay benchmarks.

use scanwire_core::device::*;
use scanwire_core::transfer::*;

/// A4 at 300 dpi, RGB.
pub const WIDTH: u32 = 2480;
pub const HEIGHT: u32 = 3508;
pub const BAND_ROWS: u32 = 64;

pub struct BufferDevice {
    pub page: Vec<u8>,
    /// Keep going page after page until cancelled (cancel-latency bench).
    pub endless: bool,
}

impl BufferDevice {
    pub fn a4(endless: bool) -> Self {
        let n = (WIDTH * 3 * HEIGHT) as usize;
        BufferDevice {
            page: (0..n).map(|i| (i % 251) as u8).collect(),
            endless,
        }
    }
}

impl Device for BufferDevice {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "bench".into(),
            vendor: "".into(),
            model: "bench".into(),
            driver: "bench",
        }
    }
    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        Ok(Capabilities {
            model: "bench".into(),
            sources: vec![SourceCaps {
                source: Source::Flatbed,
                modes: vec![ColorMode::Color],
                resolutions: Resolutions::Discrete(vec![300]),
                max_area: Area::sized(Length::mm(210), Length::mm(297)),
                min_size: (Length(1), Length(1)),
                encodings: vec![],
                raw: true,
                feeder_capacity: None,
            }],
            processing: Default::default(),
        })
    }
    fn acquire(
        &mut self,
        _r: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        _c: &CancelToken,
    ) -> AcquireResult {
        let fail = |hr| DeviceError::from_hresult(hr, "");
        let band = (WIDTH * 3 * BAND_ROWS) as usize;
        let mut n = 0;
        loop {
            n += 1;
            let info = PageInfo {
                number: n,
                sheet: n,
                side: Side::Front,
                source: Source::Flatbed,
                data: PageData::Raster {
                    pixel: PixelFormat::Rgb8,
                    width: WIDTH,
                    height: Some(HEIGHT),
                },
                dpi: (300, 300),
            };
            let mut s = match cb.get_next_stream(0, &info) {
                NextStream::Stream(s) => s,
                NextStream::Cancelled => return Ok(Completion::Cancelled),
                NextStream::Skip => continue,
                NextStream::Failed(hr) => return Err(fail(hr)),
            };
            for chunk in self.page.chunks(band) {
                s.write(chunk).map_err(fail)?;
                let pct = (s.bytes_written() * 100 / self.page.len() as u64) as i32;
                if cb.progress(pct, s.bytes_written()).map_err(fail)? == Flow::Cancelled {
                    return Ok(Completion::Cancelled);
                }
            }
            s.finish();
            if !self.endless {
                return Ok(Completion::Done);
            }
        }
    }
}

/// An application that accepts every page into a null or copying sink.
pub struct App {
    pub copy: bool,
}

pub struct CopySink(pub Vec<u8>);

impl PageSink for CopySink {
    fn write(&mut self, d: &[u8]) -> Result<(), scanwire_core::wia::HResult> {
        self.0.extend_from_slice(d);
        Ok(())
    }
    fn close(self: Box<Self>, _: scanwire_core::wia::HResult) -> scanwire_core::wia::HResult {
        scanwire_core::wia::S_OK
    }
}

impl TransferCallback for App {
    fn get_next_stream(&mut self, _p: &PageInfo) -> AppStream {
        if self.copy {
            AppStream::Stream(Box::new(CopySink(Vec::with_capacity(
                (WIDTH * 3 * HEIGHT) as usize,
            ))))
        } else {
            AppStream::Stream(Box::<NullSink>::default())
        }
    }
    fn transfer_callback(
        &mut self,
        _p: &scanwire_core::wia::WiaTransferParams,
    ) -> scanwire_core::wia::HResult {
        scanwire_core::wia::S_OK
    }
}
