//! eSCL (AirScan / Mopria) wire model and XML read/write. No HTTP, no drivers.
//!
//! Four document types implement [`Document`] (`from_xml` / `to_xml`):
//! [`ScannerCapabilities`] (GET `ScannerCapabilities`), [`ScanSettings`] (the POST `ScanJobs`
//! body), [`ScannerStatus`] with its [`JobInfo`] list (GET `ScannerStatus`) and
//! [`ScanImageInfo`] (GET `{job}/ScanImageInfo`).
//!
//! - **Reading** matches names by namespace URI, not prefix (`scan:`, `escl:`, default
//!   namespaces and undeclared `scan:`/`pwg:` prefixes all work), ignores unknown elements,
//!   attributes and element order, trims text, and keeps unknown enum values as `Other(String)`.
//!   It enforces [`Limits`] (by default 1 MiB, depth 32, 20 000 elements, 128 attributes on an
//!   element) because a server reads client XML, and fails with an [`Error`] that names the
//!   element and line; [`Error::kind`] tells limit, syntax and content errors apart.
//! - **Writing** uses the literal prefixes `scan:` and `pwg:` that sane-airscan requires.
//!
//! ```
//! use scanwire_escl::{ColorMode, Document, InputSource, ScanRegion, ScanSettings};
//!
//! let request = ScanSettings {
//!     input_source: Some(InputSource::Platen),
//!     color_mode: Some(ColorMode::Rgb24),
//!     document_format_ext: Some("image/png".into()),
//!     x_resolution: Some(300),
//!     y_resolution: Some(300),
//!     scan_regions: vec![ScanRegion::new(0, 0, 2550, 3300)],
//!     ..ScanSettings::default()
//! };
//! let xml = request.to_xml();
//! assert!(xml.contains("<scan:ColorMode>RGB24</scan:ColorMode>"));
//! assert_eq!(ScanSettings::from_xml(xml.as_bytes()).unwrap(), request);
//! ```

mod caps;
mod document;
mod error;
mod ns;
mod read;
mod settings;
mod status;
mod values;
mod write;

pub use caps::{Adf, InputCaps, Justification, ScannerCapabilities, SettingProfile};
pub use document::Document;
pub use error::{Error, ErrorKind};
pub use ns::{ESCL_NS, PWG_NS};
/// The bounds every eSCL reader enforces (the XML layer's, shared with WS-Scan).
pub use scanwire_xml::Limits;
pub use settings::{ScanRegion, ScanSettings};
pub use status::{JobInfo, ScanImageInfo, ScannerStatus};
pub use values::{
    AdfOption, AdfState, BinaryRendering, CcdChannel, ColorMode, ColorSpace, ContentRegionUnits,
    ContentType, FeedDirection, ImagePosition, InputSource, Intent, JobState, JobStateReason,
    Range, Resolution, ResolutionRange, ScannerState, SupportedResolutions,
};
