//! WS-Discovery and WS-Transfer message contents: who a device is, where it listens, and the
//! services it hosts.

use crate::ns::QName;

/// The content of a `ProbeMatch`, `Hello` or `Bye`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// `EndpointReference/Address`: the device's stable id (usually `urn:uuid:…`).
    pub address: String,
    /// `Types`.
    pub types: Vec<QName>,
    /// `Scopes`.
    pub scopes: Vec<String>,
    /// `XAddrs`: the device's transport addresses (where to send the WS-Transfer Get).
    pub xaddrs: Vec<String>,
    /// `MetadataVersion`.
    pub metadata_version: Option<u32>,
}

impl Target {
    /// Whether the target lists `scan:ScanDeviceType`.
    pub fn is_scanner(&self) -> bool {
        self.types.iter().any(|t| t.is_scan("ScanDeviceType"))
    }
}

/// What a WS-Transfer `Get` of a device's metadata tells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceMetadata {
    /// `ThisModel/Manufacturer`.
    pub manufacturer: Option<String>,
    /// `ThisModel/ModelName`.
    pub model: Option<String>,
    /// `ThisDevice/FriendlyName`.
    pub friendly_name: Option<String>,
    /// `Relationship/Hosted`: the services.
    pub hosted: Vec<HostedService>,
}

impl DeviceMetadata {
    /// The address of the first hosted service of type `scan:ScannerServiceType`.
    pub fn scan_service(&self) -> Option<&str> {
        self.hosted
            .iter()
            .find(|h| h.types.iter().any(|t| t.is_scan("ScannerServiceType")))
            .and_then(|h| h.addresses.first())
            .map(String::as_str)
    }
}

/// One `Hosted` service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostedService {
    /// `EndpointReference/Address` (one per reference; usually one).
    pub addresses: Vec<String>,
    /// `Types`.
    pub types: Vec<QName>,
    /// `ServiceId`.
    pub service_id: Option<String>,
}
