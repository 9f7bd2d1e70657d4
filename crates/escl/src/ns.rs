//! The two eSCL namespaces and how names are matched.
//!
//! Reading matches elements by namespace URI, never by prefix: devices and clients use `scan:`,
//! `escl:`, default namespaces and per-element redeclarations. Writing uses the literal prefixes
//! `scan:` and `pwg:`, because sane-airscan matches the strings `scan:Name` / `pwg:Name`.

/// The eSCL namespace (`scan:` by convention; HP's client writes `escl:`).
pub const ESCL_NS: &str = "http://schemas.hp.com/imaging/escl/2011/05/03";

use scanwire_xml::Namespace;

/// The PWG Semantic Model namespace (`pwg:` by convention).
pub const PWG_NS: &str = "http://www.pwg.org/schemas/2010/12/sm";

/// The namespace an element or attribute name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    /// [`ESCL_NS`].
    Escl,
    /// [`PWG_NS`].
    Pwg,
    /// No namespace (no prefix and no default namespace in scope).
    None,
    /// Any other namespace URI (HP LEDM, XML Schema instance, ...), or a prefix that is neither
    /// declared nor one of the conventional eSCL prefixes.
    Other(String),
}

/// eSCL's reading of names: see [`Ns::is_escl_family`] for why a family of namespaces
/// matches by local name (WS-Scan, with overlapping local names, matches exactly).
impl Namespace for Ns {
    fn unqualified() -> Ns {
        Ns::None
    }

    fn from_uri(uri: &[u8]) -> Ns {
        match uri {
            u if u == ESCL_NS.as_bytes() => Ns::Escl,
            u if u == PWG_NS.as_bytes() => Ns::Pwg,
            u => Ns::Other(String::from_utf8_lossy(u).into_owned()),
        }
    }

    /// sane-airscan and some firmware emit `scan:`/`pwg:` names in fragments without `xmlns`
    /// declarations; the conventional meaning is the only sensible reading.
    fn from_undeclared_prefix(prefix: &[u8]) -> Ns {
        match prefix {
            b"scan" | b"escl" => Ns::Escl,
            b"pwg" => Ns::Pwg,
            p => Ns::Other(format!("undeclared prefix {}:", String::from_utf8_lossy(p))),
        }
    }

    /// The conventional prefix (`scan:`/`pwg:`), or `{uri}` for a foreign namespace.
    fn display_prefix(&self) -> String {
        match self {
            Ns::Escl => "scan:".to_owned(),
            Ns::Pwg => "pwg:".to_owned(),
            Ns::None => String::new(),
            Ns::Other(uri) => format!("{{{uri}}}"),
        }
    }

    /// Whether this is the eSCL element `name` (`prefix:Local`; the prefix is documentation
    /// only).
    fn element_is(&self, local: &str, name: &str) -> bool {
        self.is_escl_family() && local == local_part(name)
    }

    /// An attribute in an eSCL namespace or none, whatever the element's.
    fn attribute_in(&self, _element: &Ns) -> bool {
        self.is_escl_family()
    }
}

impl Ns {
    /// Whether names in this namespace take part in eSCL matching.
    ///
    /// Devices put elements in the "wrong" one of the two namespaces (Canon `scan:ContentType`,
    /// Xerox `scan:XImagePosition`, Kyocera `pwg:Manufacturer`) or in none at all (Xerox's
    /// unqualified `<Min>`/`<Max>`), so both eSCL namespaces and no namespace match by local name.
    /// Elements of any other namespace are foreign and skipped.
    pub(crate) fn is_escl_family(&self) -> bool {
        matches!(self, Ns::Escl | Ns::Pwg | Ns::None)
    }
}

/// An element of an eSCL document.
pub(crate) type Element = scanwire_xml::Element<Ns>;

/// The local part of a `prefix:Local` name (the whole name if it has no prefix).
pub(crate) fn local_part(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}
