//! The application side: a [`TransferCallback`] that receives pages, shows progress and keeps
//! only the pages that arrived complete. `cargo run -p scanwire-core --example page_consumer`.
//!
//! The relay calls `get_next_stream` once per page (answer a sink, skip, cancel or fail), then
//! `transfer_callback` with STATUS while the page arrives and END_OF_STREAM when it ends (its
//! `hrErrorStatus` says whether the page is complete), and END_OF_TRANSFER once at the end. The
//! sink's `close(status)` gets the same verdict, so it can keep or drop the page itself.

use scanwire_core::device::*;
use scanwire_core::transfer::{
    self, AppStream, CancelHandle, CancelToken, DriverCallbackExt, MiniDrvTransferCallback,
    NextStream, PageSink, TransferCallback, TransferOptions,
};
use scanwire_core::wia::{self, HResult, MessageKind, WiaTransferParams};
use std::sync::{Arc, Mutex};

/// Complete pages, shared with the sinks that fill them.
type Kept = Arc<Mutex<Vec<(u32, Vec<u8>)>>>;

struct Consumer {
    kept: Kept,
}

/// One page on its way in.
struct PageBuffer {
    number: u32,
    data: Vec<u8>,
    kept: Kept,
}

impl PageSink for PageBuffer {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.data.extend_from_slice(data);
        Ok(())
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        // S_OK: the driver finished the page. Anything else (S_FALSE, an error): drop it.
        if status == wia::S_OK {
            self.kept.lock().unwrap().push((self.number, self.data));
        }
        wia::S_OK
    }
}

impl TransferCallback for Consumer {
    fn get_next_stream(&mut self, page: &PageInfo) -> AppStream {
        println!("page {} ({:?}) starts", page.number, page.side);
        AppStream::Stream(Box::new(PageBuffer {
            number: page.number,
            data: Vec::new(),
            kept: self.kept.clone(),
        }))
    }

    fn transfer_callback(&mut self, p: &WiaTransferParams) -> HResult {
        match p.kind() {
            Some(MessageKind::Status) => {
                println!("  {}% ({} bytes)", p.lPercentComplete, p.ulTransferredBytes)
            }
            Some(MessageKind::EndOfStream) => println!("  page ends: {}", p.hrErrorStatus),
            Some(MessageKind::EndOfTransfer) => println!("transfer ends: {}", p.hrErrorStatus),
            _ => {}
        }
        wia::S_OK // S_FALSE here would cancel the transfer
    }
}

/// Something to consume: a feeder with three 8x4 gray sheets, page k filled with k.
struct ThreeSheets;

impl Device for ThreeSheets {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "three".into(),
            vendor: String::new(),
            model: "Three Sheets".into(),
            driver: "example",
        }
    }

    fn capabilities(&mut self) -> Result<Capabilities, DeviceError> {
        let area = Area::sized(Length(8 * 25_400 / 75), Length(4 * 25_400 / 75));
        Ok(Capabilities {
            model: "Three Sheets".into(),
            sources: vec![SourceCaps {
                source: Source::Feeder,
                modes: vec![ColorMode::Gray],
                resolutions: Resolutions::Discrete(vec![75]),
                max_area: area,
                min_size: (Length(1), Length(1)),
                encodings: Vec::new(),
                raw: true,
                feeder_capacity: Some(3),
            }],
            processing: Default::default(),
        })
    }

    fn acquire(
        &mut self,
        _: &ScanRequest,
        cb: &mut dyn MiniDrvTransferCallback,
        _: &CancelToken,
    ) -> AcquireResult {
        let failed = |hr| DeviceError::from_hresult(hr, "the application failed");
        for number in 1..=3 {
            let data = PageData::Raster {
                pixel: PixelFormat::Gray8,
                width: 8,
                height: Some(4),
            };
            let page = PageInfo {
                number,
                sheet: number,
                side: Side::Front,
                source: Source::Feeder,
                data,
                dpi: (75, 75),
            };
            let mut stream = match cb.get_next_stream(0, &page) {
                NextStream::Stream(s) => s,
                NextStream::Skip => continue,
                NextStream::Cancelled => return Ok(Completion::Cancelled),
                NextStream::Failed(hr) => return Err(failed(hr)),
            };
            for row in 1..=4 {
                stream.write(&[number as u8; 8]).map_err(failed)?;
                cb.progress(row * 25, stream.bytes_written())
                    .map_err(failed)?;
            }
            stream.finish();
        }
        Ok(Completion::Done)
    }
}

fn main() {
    let kept = Kept::default();
    let request = ScanRequest {
        source: Source::Feeder,
        mode: ColorMode::Gray,
        resolution: 75,
        ..Default::default()
    };
    let outcome = transfer::run(
        &transfer::share(Box::new(ThreeSheets)),
        &request,
        Box::new(Consumer { kept: kept.clone() }),
        &CancelHandle::new(),
        &TransferOptions::strict(),
    );
    assert_eq!(outcome.result, wia::S_OK, "{:?}", outcome.error);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    let kept = kept.lock().unwrap();
    assert_eq!(
        kept.iter()
            .map(|(n, d)| (*n, d.len(), d[0]))
            .collect::<Vec<_>>(),
        [(1, 32, 1), (2, 32, 2), (3, 32, 3)]
    );
    println!("kept {} complete pages", kept.len());
}
