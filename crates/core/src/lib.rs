//! Scanwire's core: the WIA 2.0 transfer model, exactly, and the device model every driver
//! and front end shares.
//!
//! - [`wia`]: the vocabulary: [`HResult`](wia::HResult) codes, message kinds and the 24-byte
//!   [`WiaTransferParams`](wia::WiaTransferParams).
//! - [`transfer`]: the driver-facing [`MiniDrvTransferCallback`](transfer::MiniDrvTransferCallback),
//!   the application-facing [`TransferCallback`](transfer::TransferCallback), the
//!   [`Relay`](transfer::Relay) between them (END_OF_* generation, sticky cancel, the
//!   DEVICE_STATUS handler chain, the verifier), and [`run`](transfer::run) /
//!   [`spawn`](transfer::spawn) to drive a device on its own thread.
//! - [`device`]: [`Driver`](device::Driver) and [`Device`](device::Device),
//!   [`Capabilities`](device::Capabilities), [`ScanRequest`](device::ScanRequest) and its
//!   validation, [`PageInfo`](device::PageInfo), [`DeviceError`](device::DeviceError), and
//!   the typed `--set` options ([`device::options`]).
//! - [`native`]: breadcrumbs a driver leaves before each foreign call, for a driver host's
//!   crash reports.
//!
//! `examples/third_party_driver.rs` is a complete driver scanned through the relay with the
//! strict verifier; `examples/page_consumer.rs` is the application side.
//!
//! ```
//! use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
//! # use scanwire_core::device::*;
//! # use scanwire_core::transfer::*;
//! # struct OnePage;
//! # impl Device for OnePage {
//! #   fn info(&self) -> DeviceInfo { DeviceInfo { id: "one".into(), vendor: "".into(), model: "one".into(), driver: "doc" } }
//! #   fn capabilities(&mut self) -> Result<Capabilities, DeviceError> { Ok(Capabilities { model: "one".into(), sources: vec![SourceCaps {
//! #     source: Source::Flatbed, modes: vec![ColorMode::Gray], resolutions: Resolutions::Discrete(vec![300]),
//! #     max_area: Area::sized(Length::mm(10), Length::mm(10)), min_size: (Length(1), Length(1)), encodings: vec![], raw: true, feeder_capacity: None }],
//! #     processing: Default::default() }) }
//! #   fn acquire(&mut self, _r: &ScanRequest, cb: &mut dyn MiniDrvTransferCallback, _c: &CancelToken) -> AcquireResult {
//! #     let page = PageInfo { number: 1, sheet: 1, side: Side::Front, source: Source::Flatbed,
//! #       data: PageData::Raster { pixel: PixelFormat::Gray8, width: 2, height: Some(1) }, dpi: (300, 300) };
//! #     match cb.get_next_stream(0, &page) {
//! #       NextStream::Stream(mut s) => { s.write(&[0, 255]).map_err(|hr| DeviceError::from_hresult(hr, ""))?;
//! #         cb.progress(100, 2).map_err(|hr| DeviceError::from_hresult(hr, ""))?; s.finish(); Ok(Completion::Done) }
//! #       NextStream::Skip => Ok(Completion::Done), NextStream::Cancelled => Ok(Completion::Cancelled),
//! #       NextStream::Failed(hr) => Err(DeviceError::from_hresult(hr, "")) } } }
//! let device = transfer::share(Box::new(OnePage));
//! let request = ScanRequest { mode: ColorMode::Gray, ..Default::default() };
//! let (app, log) = Recorder::new();
//! let outcome = transfer::run(&device, &request, Box::new(app), &CancelHandle::new(), &TransferOptions::strict());
//! assert_eq!(outcome.pages, 1);
//! assert_eq!(log.snapshot().pages[0].data, vec![0, 255]);
//! log.snapshot().check_grammar().unwrap();
//! ```

#![warn(missing_docs)]

pub mod device;
pub mod native;
mod sync;
pub mod transfer;
pub mod wia;
