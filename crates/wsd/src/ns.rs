//! The namespaces WS-Scan messages use, and how names are matched.
//!
//! Reading matches by namespace URI, never by prefix (Kyocera writes `SOAP-ENV:` and
//! `addressing:`, Microsoft `soap:`/`wsa:`/`wscn:`, sane-airscan `s:`/`a:`/`scan:`). Older or
//! newer revisions of a namespace that devices still send map to the same [`Ns`]. Writing
//! uses the fixed prefixes of `docs/wsd.md`.

use scanwire_xml::Namespace;

/// SOAP 1.2 envelope.
pub const SOAP_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope (read only; sane-airscan accepts it too).
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// WS-Addressing 2004/08, what WS-Scan devices and sane-airscan use.
pub const WSA_NS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// WS-Addressing 1.0 (2005/08, DPWS 1.1 devices; read only).
pub const WSA10_NS: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Scan.
pub const SCAN_NS: &str = "http://schemas.microsoft.com/windows/2006/08/wdp/scan";
/// The WS-Scan namespace of Microsoft's older examples (read only).
pub const SCAN_2006_01_NS: &str = "http://schemas.microsoft.com/windows/2006/01/wdp/scan";
/// WS-Discovery 2005/04.
pub const DISCOVERY_NS: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
/// WS-Transfer 2004/09.
pub const TRANSFER_NS: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// WS-MetadataExchange 2004/09.
pub const MEX_NS: &str = "http://schemas.xmlsoap.org/ws/2004/09/mex";
/// Devices Profile for Web Services 2006/02.
pub const DPWS_NS: &str = "http://schemas.xmlsoap.org/ws/2006/02/devprof";
/// XOP include.
pub const XOP_NS: &str = "http://www.w3.org/2004/08/xop/include";
/// XOP include as in Microsoft's RetrieveImageResponse example (read only).
pub const XOP_2003_NS: &str = "http://www.w3.org/2003/12/xop/include";

/// WS-Addressing's anonymous endpoint: "reply on this connection".
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// The `To` of a WS-Discovery multicast message.
pub const DISCOVERY_TO: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
/// The Action of a fault.
pub const FAULT_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";

/// The namespace a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    Soap,
    Wsa,
    Scan,
    Discovery,
    Transfer,
    Mex,
    Dpws,
    Xop,
    /// No namespace.
    None,
    /// Anything else (vendor namespaces, `xml:`), or an undeclared prefix.
    Other(String),
}

/// WS-Scan's reading of names: the exact namespace, as its eight namespaces share local names
/// (`wsa:Address`, `scan:Address`); eSCL, with one family, matches by local name instead.
impl Namespace for Ns {
    /// WS-Discovery's `Types` hold QNames in text, resolved against the message's declarations.
    const KEEP_DECLARATIONS: bool = true;

    fn unqualified() -> Ns {
        Ns::None
    }

    fn from_uri(uri: &[u8]) -> Ns {
        Ns::from_uri(uri)
    }

    fn from_undeclared_prefix(prefix: &[u8]) -> Ns {
        Ns::Other(format!(
            "undeclared prefix {}:",
            String::from_utf8_lossy(prefix)
        ))
    }

    fn display_prefix(&self) -> String {
        self.prefix()
    }

    /// Whether this is `name`, written with this crate's prefixes (`scan:JobId`, `soap:Body`;
    /// see [`Ns::of_prefix`]).
    fn element_is(&self, local: &str, name: &str) -> bool {
        let (prefix, name_local) = split(name);
        local == name_local && *self == Ns::of_prefix(prefix)
    }

    /// Unqualified or in the element's own namespace (`Name`, `Valid`, `href`,
    /// `scan:MustHonor`).
    fn attribute_in(&self, element: &Ns) -> bool {
        *self == Ns::None || self == element
    }
}

/// An element of a WS-Scan message.
pub(crate) type Element = scanwire_xml::Element<Ns>;

/// A parsed WS-Scan message: its root and namespace declarations.
pub(crate) type Document = scanwire_xml::Document<Ns>;

/// Resolves a QName found in text: the last declaration of its prefix in the message
/// (QNames in WS-Discovery `Types` use prefixes declared on the envelope).
pub(crate) fn qname(doc: &Document, text: &str) -> QName {
    let (prefix, local) = split(text);
    let namespace = doc
        .prefixes
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, uri)| uri.clone());
    QName {
        namespace,
        local: local.to_string(),
    }
}

impl Ns {
    pub(crate) fn from_uri(uri: &[u8]) -> Ns {
        let u = String::from_utf8_lossy(uri);
        // sane-airscan matches `http*://`: a few devices write https in namespace URIs.
        let norm = u.strip_prefix("https://").map(|r| format!("http://{r}"));
        let s = norm.as_deref().unwrap_or(&u).trim_end_matches('/');
        match s {
            x if x == SOAP_NS || x == SOAP11_NS.trim_end_matches('/') => Ns::Soap,
            x if x == WSA_NS || x == WSA10_NS => Ns::Wsa,
            x if x == SCAN_NS || x == SCAN_2006_01_NS => Ns::Scan,
            x if x == DISCOVERY_NS => Ns::Discovery,
            x if x == TRANSFER_NS => Ns::Transfer,
            x if x == MEX_NS => Ns::Mex,
            x if x == DPWS_NS => Ns::Dpws,
            x if x == XOP_NS || x == XOP_2003_NS => Ns::Xop,
            _ => Ns::Other(u.into_owned()),
        }
    }

    /// The prefix this crate writes (for error messages too).
    pub(crate) fn prefix(&self) -> String {
        match self {
            Ns::Soap => "soap:".into(),
            Ns::Wsa => "wsa:".into(),
            Ns::Scan => "scan:".into(),
            Ns::Discovery => "wsd:".into(),
            Ns::Transfer => "wxf:".into(),
            Ns::Mex => "mex:".into(),
            Ns::Dpws => "dpws:".into(),
            Ns::Xop => "xop:".into(),
            Ns::None => String::new(),
            Ns::Other(uri) => format!("{{{uri}}}"),
        }
    }

    /// The namespace a conventional prefix (`scan:Name`) names in this crate's look-ups.
    pub(crate) fn of_prefix(prefix: &str) -> Ns {
        match prefix {
            "soap" => Ns::Soap,
            "wsa" => Ns::Wsa,
            "scan" => Ns::Scan,
            "wsd" => Ns::Discovery,
            "wxf" => Ns::Transfer,
            "mex" => Ns::Mex,
            "dpws" => Ns::Dpws,
            "xop" => Ns::Xop,
            "" => Ns::None,
            p => Ns::Other(p.to_string()),
        }
    }
}

/// A qualified name as found in element text (`scan:ScanDeviceType`), resolved against the
/// document's namespace declarations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QName {
    /// The namespace URI; `None` when the prefix was not declared anywhere in the document.
    pub namespace: Option<String>,
    /// The local part.
    pub local: String,
}

impl QName {
    /// A name in `namespace`.
    pub fn new(namespace: &str, local: &str) -> QName {
        QName {
            namespace: Some(namespace.to_string()),
            local: local.to_string(),
        }
    }

    /// The WS-Discovery type of a scanner device, `scan:ScanDeviceType`.
    pub fn scan_device_type() -> QName {
        QName::new(SCAN_NS, "ScanDeviceType")
    }

    /// The DPWS type of a hosted scan service, `scan:ScannerServiceType`.
    pub fn scanner_service_type() -> QName {
        QName::new(SCAN_NS, "ScannerServiceType")
    }

    /// Whether this is `local` in the WS-Scan namespace (any revision of it).
    pub fn is_scan(&self, local: &str) -> bool {
        self.local == local
            && self
                .namespace
                .as_deref()
                .is_some_and(|n| Ns::from_uri(n.as_bytes()) == Ns::Scan)
    }
}

/// `prefix:Local` → (prefix, local); no prefix → ("", name).
pub(crate) fn split(name: &str) -> (&str, &str) {
    name.split_once(':').unwrap_or(("", name))
}
