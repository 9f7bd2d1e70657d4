//! The virtual scanner: Scanwire's default device (`virtual`), needing no hardware.
//!
//! It has a flatbed, a 50-sheet feeder and a duplex feeder, scans 75–1200 dpi in lineart,
//! gray, 16-bit gray, color and 48-bit color, and delivers raw rows band by band exactly as a
//! WIA mini-driver would: one stream per page, STATUS after every band, DEVICE_STATUS for
//! warm-up and faults, and the feeder outcomes of the spec's table.
//!
//! - [`VirtualDriver`] / [`VirtualDevice`] (`driver.rs`): the `Driver` and `Device` impls.
//! - [`options`]: the capabilities and the `--set` options (pacing, sheets, scripted faults,
//!   generated sheets).
//! - [`errors`]: each fault and option error mapped to its kind and WIA HRESULT.
//! - [`chart`]: the deterministic test chart, rendered row by row; [`expected_page`] and
//!   [`render_row`] give tests elsewhere the exact bytes of page N of a request.
//! - [`feeder`]: the paper model (sheets, sides, end of media).
//! - [`sheet`]: generated pages with known truth (a sheet turned and placed on the lid, blank
//!   sheets, photos, text); [`truth`] says what page N of a request shows.
//! - [`text`]: the words of the `content=text` pages ([`page_text`]) and how they are set.
//!
//! ```
//! use scanwire_core::device::{OptionValue, ScanRequest, Source};
//! use scanwire_core::transfer::{self, CancelHandle, Recorder, TransferOptions};
//! use scanwire_virtual::{expected_page, VirtualDevice};
//!
//! let device = transfer::share(Box::new(VirtualDevice::new()));
//! let mut request = ScanRequest { source: Source::FeederDuplex, resolution: 75, ..Default::default() };
//! request.options.insert("sheets".into(), OptionValue::Int(2));
//! let (app, log) = Recorder::new();
//! let outcome = transfer::run(&device, &request, Box::new(app), &CancelHandle::new(), &TransferOptions::strict());
//! assert_eq!(outcome.pages, 4); // two sheets, both sides
//! assert_eq!(log.snapshot().pages[3].data, expected_page(&request, 4).unwrap());
//! ```

#![warn(missing_docs)]

pub mod chart;
mod driver;
pub mod errors;
pub mod feeder;
pub mod options;
pub mod sheet;
pub mod text;

pub use chart::{render_row, Chart, PageGeometry};
pub use driver::{VirtualDevice, VirtualDriver};
pub use errors::{Fault, OptionError};
pub use options::VirtualOptions;
pub use sheet::{expected_page, truth, PageKind, PageTruth};
pub use text::{page_text, words};
