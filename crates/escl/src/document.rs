//! The [`Document`] trait: one read/write entry point per eSCL document type.

use crate::caps::ScannerCapabilities;
use crate::error::Error;
use crate::settings::ScanSettings;
use crate::status::{ScanImageInfo, ScannerStatus};
use crate::{read, write};
use scanwire_xml::Limits;

/// An eSCL XML document type: [`ScannerCapabilities`], [`ScanSettings`], [`ScannerStatus`] or
/// [`ScanImageInfo`].
///
/// `to_xml` followed by `from_xml` gives back an equal value, for every value a reader returns
/// (the fuzz targets check this). Reading normalizes, so a hand-built value may come back
/// slightly different: text is trimmed, an empty optional leaf reads as `None`, known enum
/// values lose a vendor prefix, and characters XML cannot carry are written as U+FFFD.
pub trait Document: Sized {
    /// The root element, with its conventional prefix.
    const ROOT: &'static str;

    /// Reads a document under the default [`Limits`].
    fn from_xml(xml: &[u8]) -> Result<Self, Error> {
        Self::from_xml_with(xml, &Limits::DEFAULT)
    }

    /// Reads a document under `limits`.
    fn from_xml_with(xml: &[u8], limits: &Limits) -> Result<Self, Error>;

    /// Writes the document with the literal prefixes `scan:` and `pwg:`.
    fn to_xml(&self) -> String;
}

impl Document for ScannerCapabilities {
    const ROOT: &'static str = "scan:ScannerCapabilities";

    fn from_xml_with(xml: &[u8], limits: &Limits) -> Result<Self, Error> {
        read::capabilities(xml, limits)
    }

    fn to_xml(&self) -> String {
        write::capabilities(self)
    }
}

impl Document for ScanSettings {
    const ROOT: &'static str = "scan:ScanSettings";

    fn from_xml_with(xml: &[u8], limits: &Limits) -> Result<Self, Error> {
        read::settings(xml, limits)
    }

    fn to_xml(&self) -> String {
        write::settings(self)
    }
}

impl Document for ScannerStatus {
    const ROOT: &'static str = "scan:ScannerStatus";

    fn from_xml_with(xml: &[u8], limits: &Limits) -> Result<Self, Error> {
        read::status(xml, limits)
    }

    fn to_xml(&self) -> String {
        write::status(self)
    }
}

impl Document for ScanImageInfo {
    const ROOT: &'static str = "scan:ScanImageInfo";

    fn from_xml_with(xml: &[u8], limits: &Limits) -> Result<Self, Error> {
        read::image_info(xml, limits)
    }

    fn to_xml(&self) -> String {
        write::image_info(self)
    }
}
