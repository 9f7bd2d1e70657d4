//! Device quirks as data: each field is one behaviour a real scanner family shows, named with
//! that family. The driver reads these flags; nothing else in the crate special-cases a model.
//!
//! The defaults are tolerant (every workaround that costs nothing is on), so an unknown
//! device with one of these habits still works; [`Quirks::for_model`] adds what costs
//! something (closing the connection after every request) only for the families that need it.

/// Workarounds for one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quirks {
    /// Bodies may arrive gzip-compressed, with `Content-Encoding: gzip` or only recognisable by
    /// their magic bytes. HP DeskJet 2540 (over ippusbxd) and HP PageWide Pro 477dw send their
    /// ScannerCapabilities gzip-encoded.
    pub gzip_bodies: bool,
    /// The job `Location` is an absolute URL whose host must be ignored: HP LaserJet and
    /// OfficeJet firmware put their own host name or another interface's address there, which
    /// the client may not reach (sane-airscan keeps the request's host for the same reason).
    pub keep_request_host: bool,
    /// The job `Location` may be a bare `urn:uuid:…` id instead of a path: Kyocera ECOSYS
    /// (M2040dn) names its jobs `urn:uuid:…` in `pwg:JobUri`. Such a Location is taken as a job
    /// id under `ScanJobs/`, not as a URI with scheme `urn`.
    pub urn_uuid_job_ids: bool,
    /// Send `Connection: close` on every request. Kyocera ECOSYS (M2040dn) mishandles
    /// keep-alive connections (the sane-airscan workaround).
    pub connection_close: bool,
    /// Follow redirects (301/302/303/307/308, at most 5 per request), http to https included.
    /// HP LaserJet, OfficeJet and PageWide devices with "redirect HTTP to HTTPS" set in the web
    /// admin answer every eSCL request on port 80 with a redirect to the same path over https;
    /// each request is then repeated there (the method and body kept). A redirect from https
    /// to http is always refused: it would drop the encryption.
    pub follow_redirects: bool,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks {
            gzip_bodies: true,
            keep_request_host: true,
            urn_uuid_job_ids: true,
            connection_close: false,
            follow_redirects: true,
        }
    }
}

/// Families that need more than the defaults, matched case-insensitively against the
/// start of `pwg:MakeAndModel` or `scan:Manufacturer`.
const FAMILIES: &[(&str, Quirks)] = &[(
    // Kyocera ECOSYS M2040dn: keep-alive confuses it.
    "kyocera",
    Quirks {
        gzip_bodies: true,
        keep_request_host: true,
        urn_uuid_job_ids: true,
        connection_close: true,
        follow_redirects: true,
    },
)];

impl Quirks {
    /// The quirks for a device, from its make and model and manufacturer strings.
    pub fn for_model(make_and_model: &str, manufacturer: &str) -> Quirks {
        let names = [
            make_and_model.to_ascii_lowercase(),
            manufacturer.to_ascii_lowercase(),
        ];
        FAMILIES
            .iter()
            .find(|(family, _)| names.iter().any(|n| n.starts_with(family)))
            .map(|(_, q)| *q)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kyocera_closes_connections_and_others_do_not() {
        assert!(Quirks::for_model("ECOSYS M2040dn", "Kyocera").connection_close);
        assert!(Quirks::for_model("Kyocera ECOSYS M2040dn", "").connection_close);
        assert!(!Quirks::for_model("HP LaserJet MFP M426fdn", "HP").connection_close);
    }
}
