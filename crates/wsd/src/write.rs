//! Model → XML with fixed prefixes (`soap:`, `wsa:`, `scan:`, `wsd:`, `wxf:`, `mex:`, `dpws:`,
//! `xop:`), all declared on the envelope. SOAP 1.2 and WS-Addressing 2004/08, as sane-airscan
//! writes them. Output is UTF-8 with an XML declaration, indented by two spaces.

use scanwire_xml::Writer;

use crate::discovery::{DeviceMetadata, Target};
use crate::envelope::{Body, Envelope, Fault, Header};

use crate::ns::{
    QName, DISCOVERY_NS, DPWS_NS, MEX_NS, SCAN_NS, SOAP_NS, TRANSFER_NS, WSA_NS, XOP_NS,
};
use crate::scan::{
    CreatedJob, DocumentParameters, ImageInfo, InputCaps, JobElements, JobStatus, MediaSide, Range,
    ScanTicket, ScannerElements, ScannerStatus, Size,
};

// The writer's entry point, on the type it writes (here, so that the types do not import
// their writer).
impl Envelope {
    /// Writes the message: SOAP 1.2 with the fixed prefixes of `docs/wsd.md`.
    pub fn to_xml(&self) -> String {
        envelope(self)
    }
}

/// WS-Scan's two compound values; eSCL's ranges are other elements (`Min`/`Max`/`Step`), so
/// these stay with WS-Scan.
trait WsScanWriter {
    fn size(&mut self, name: &str, s: &Size);
    fn range(&mut self, name: &str, r: Option<&Range>);
}

impl WsScanWriter for Writer {
    fn size(&mut self, name: &str, s: &Size) {
        self.open(name);
        self.leaf("scan:Width", &s.width.to_string());
        self.leaf("scan:Height", &s.height.to_string());
        self.close(name);
    }

    fn range(&mut self, name: &str, r: Option<&Range>) {
        if let Some(r) = r {
            self.open(name);
            self.leaf("scan:MinValue", &r.min.to_string());
            self.leaf("scan:MaxValue", &r.max.to_string());
            self.close(name);
        }
    }
}

pub(crate) fn envelope(env: &Envelope) -> String {
    let mut out = Writer::document(
        "soap:Envelope",
        &[
            ("xmlns:soap", SOAP_NS),
            ("xmlns:wsa", WSA_NS),
            ("xmlns:scan", SCAN_NS),
            ("xmlns:wsd", DISCOVERY_NS),
            ("xmlns:wxf", TRANSFER_NS),
            ("xmlns:mex", MEX_NS),
            ("xmlns:dpws", DPWS_NS),
            ("xmlns:xop", XOP_NS),
        ],
    );
    header(&mut out, &env.header);
    if matches!(env.body, Body::TransferGet) {
        out.empty("soap:Body", &[]);
    } else {
        out.open("soap:Body");
        body(&mut out, &env.body);
        out.close("soap:Body");
    }
    out.finish()
}

fn header(out: &mut Writer, h: &Header) {
    out.open("soap:Header");
    out.opt("wsa:To", h.to.as_deref());
    out.opt("wsa:Action", h.action.as_deref());
    out.opt("wsa:MessageID", h.message_id.as_deref());
    out.opt("wsa:RelatesTo", h.relates_to.as_deref());
    if let Some(r) = &h.reply_to {
        out.open("wsa:ReplyTo");
        out.leaf("wsa:Address", r);
        out.close("wsa:ReplyTo");
    }
    if let Some(a) = &h.app_sequence {
        out.empty(
            "wsd:AppSequence",
            &[
                ("InstanceId", &a.instance_id.to_string()),
                ("MessageNumber", &a.message_number.to_string()),
            ],
        );
    }
    out.close("soap:Header");
}

fn body(out: &mut Writer, b: &Body) {
    let name = b.name();
    match b {
        Body::GetScannerElementsRequest(names) | Body::GetJobElementsRequest { names, .. } => {
            out.open(&name);
            if let Body::GetJobElementsRequest { job_id, .. } = b {
                out.leaf("scan:JobId", &job_id.to_string());
            }
            let qualified: Vec<String> = names.iter().map(|n| format!("scan:{n}")).collect();
            out.open("scan:RequestedElements");
            for n in &qualified {
                out.leaf("scan:Name", n);
            }
            out.close("scan:RequestedElements");
            out.close(&name);
        }
        Body::GetScannerElementsResponse(e) => {
            out.open(&name);
            scanner_elements(out, e);
            out.close(&name);
        }
        Body::ValidateScanTicketRequest(t) | Body::CreateScanJobRequest(t) => {
            out.open(&name);
            ticket(out, "scan:ScanTicket", t);
            out.close(&name);
        }
        Body::ValidateScanTicketResponse {
            valid_as_is,
            ticket: t,
        } => {
            out.open(&name);
            out.open("scan:ValidationInfo");
            out.opt_bool("scan:ValidAsIs", Some(*valid_as_is));
            if let Some(t) = t {
                ticket(out, "scan:ScanTicket", t);
            }
            out.close("scan:ValidationInfo");
            out.close(&name);
        }
        Body::CreateScanJobResponse(j) => {
            out.open(&name);
            created_job(out, j);
            out.close(&name);
        }
        Body::RetrieveImageRequest {
            job_id,
            job_token,
            document_name,
        } => {
            out.open(&name);
            if let Some(d) = document_name {
                out.open("scan:DocumentDescription");
                out.leaf("scan:DocumentName", d);
                out.close("scan:DocumentDescription");
            }
            out.leaf("scan:JobId", &job_id.to_string());
            out.leaf("scan:JobToken", job_token);
            out.close(&name);
        }
        Body::RetrieveImageResponse { href } => {
            out.open(&name);
            out.open("scan:ScanData");
            out.empty("xop:Include", &[("href", href)]);
            out.close("scan:ScanData");
            out.close(&name);
        }
        Body::CancelJobRequest { job_id } => {
            out.open(&name);
            out.leaf("scan:JobId", &job_id.to_string());
            out.close(&name);
        }
        Body::CancelJobResponse | Body::GetActiveJobsRequest => out.empty(&name, &[]),
        Body::GetJobElementsResponse(j) => {
            out.open(&name);
            out.open("scan:JobElements");
            job_elements_data(out, j);
            out.close("scan:JobElements");
            out.close(&name);
        }
        Body::GetActiveJobsResponse(jobs) => {
            out.open(&name);
            out.open("scan:ActiveJobs");
            for j in jobs {
                out.open("scan:Job");
                if let Some(s) = &j.status {
                    job_status(out, s);
                }
                if let Some(t) = &j.ticket {
                    ticket(out, "scan:ScanTicket", t);
                }
                out.close("scan:Job");
            }
            out.close("scan:ActiveJobs");
            out.close(&name);
        }
        Body::Fault(f) => fault(out, f),
        Body::Probe(types) => {
            out.open(&name);
            out.leaf("wsd:Types", &qnames(types));
            out.close(&name);
        }
        Body::ProbeMatches(matches) => {
            out.open(&name);
            for m in matches {
                target(out, "wsd:ProbeMatch", m);
            }
            out.close(&name);
        }
        Body::Resolve(address) => {
            out.open(&name);
            out.open("wsa:EndpointReference");
            out.leaf("wsa:Address", address);
            out.close("wsa:EndpointReference");
            out.close(&name);
        }
        Body::ResolveMatches(matches) => {
            out.open(&name);
            for m in matches {
                target(out, "wsd:ResolveMatch", m);
            }
            out.close(&name);
        }
        Body::Hello(t) => target(out, &name, t),
        Body::Bye(t) => target(out, &name, t),
        Body::TransferGet => {}
        Body::TransferGetResponse(m) => metadata(out, m),
        Body::Other { local, .. } => out.empty(local, &[]),
    }
}

fn fault(out: &mut Writer, f: &Fault) {
    out.open("soap:Fault");
    out.open("soap:Code");
    out.leaf("soap:Value", &format!("soap:{}", f.code));
    if let Some(s) = &f.subcode {
        out.open("soap:Subcode");
        out.leaf("soap:Value", &format!("scan:{s}"));
        out.close("soap:Subcode");
    }
    out.close("soap:Code");
    out.open("soap:Reason");
    out.leaf_attrs("soap:Text", &[("xml:lang", "en")], &f.reason);
    out.close("soap:Reason");
    out.opt("soap:Detail", f.detail.as_deref());
    out.close("soap:Fault");
}

fn element_data(out: &mut Writer, name: &str, f: impl FnOnce(&mut Writer)) {
    out.open_attrs("scan:ElementData", &[("Name", name), ("Valid", "true")]);
    f(out);
    out.close("scan:ElementData");
}

fn scanner_elements(out: &mut Writer, e: &ScannerElements) {
    out.open("scan:ScannerElements");
    if let Some(d) = &e.description {
        element_data(out, "scan:ScannerDescription", |out| {
            out.open("scan:ScannerDescription");
            out.leaf("scan:ScannerName", &d.name);
            out.opt("scan:ScannerInfo", d.info.as_deref());
            out.opt("scan:ScannerLocation", d.location.as_deref());
            out.close("scan:ScannerDescription");
        });
    }
    if let Some(c) = &e.configuration {
        element_data(out, "scan:ScannerConfiguration", |out| {
            out.open("scan:ScannerConfiguration");
            let s = &c.settings;
            out.open("scan:DeviceSettings");
            out.list("scan:FormatsSupported", "scan:FormatValue", &s.formats);
            out.range(
                "scan:CompressionQualityFactorSupported",
                s.compression_quality.as_ref(),
            );
            out.list(
                "scan:ContentTypesSupported",
                "scan:ContentTypeValue",
                &s.content_types,
            );
            out.opt_bool("scan:DocumentSizeAutoDetectSupported", s.size_auto_detect);
            out.opt_bool("scan:AutoExposureSupported", s.auto_exposure);
            out.opt_bool("scan:BrightnessSupported", s.brightness);
            out.opt_bool("scan:ContrastSupported", s.contrast);
            if s.scaling_width.is_some() || s.scaling_height.is_some() {
                out.open("scan:ScalingRangeSupported");
                out.range("scan:ScalingWidth", s.scaling_width.as_ref());
                out.range("scan:ScalingHeight", s.scaling_height.as_ref());
                out.close("scan:ScalingRangeSupported");
            }
            out.list(
                "scan:RotationsSupported",
                "scan:RotationValue",
                &s.rotations,
            );
            out.close("scan:DeviceSettings");
            if let Some(p) = &c.platen {
                out.open("scan:Platen");
                input_caps(out, "Platen", p);
                out.close("scan:Platen");
            }
            if let Some(a) = &c.adf {
                out.open("scan:ADF");
                out.opt_bool("scan:ADFSupportsDuplex", Some(a.supports_duplex));
                for (name, side) in [("scan:ADFFront", &a.front), ("scan:ADFBack", &a.back)] {
                    if let Some(side) = side {
                        out.open(name);
                        input_caps(out, "ADF", side);
                        out.close(name);
                    }
                }
                out.close("scan:ADF");
            }
            out.close("scan:ScannerConfiguration");
        });
    }
    if let Some(s) = &e.status {
        element_data(out, "scan:ScannerStatus", |out| scanner_status(out, s));
    }
    if let Some(t) = &e.default_ticket {
        element_data(out, "scan:DefaultScanTicket", |out| {
            ticket(out, "scan:DefaultScanTicket", t)
        });
    }
    out.close("scan:ScannerElements");
}

fn input_caps(out: &mut Writer, p: &str, c: &InputCaps) {
    if let Some(o) = &c.optical_resolution {
        out.size(&format!("scan:{p}OpticalResolution"), o);
    }
    let res = format!("scan:{p}Resolutions");
    out.open(&res);
    out.list("scan:Widths", "scan:Width", &c.widths);
    out.list("scan:Heights", "scan:Height", &c.heights);
    out.close(&res);
    out.list(&format!("scan:{p}Color"), "scan:ColorEntry", &c.colors);
    out.size(&format!("scan:{p}MinimumSize"), &c.min_size);
    out.size(&format!("scan:{p}MaximumSize"), &c.max_size);
}

fn scanner_status(out: &mut Writer, s: &ScannerStatus) {
    out.open("scan:ScannerStatus");
    out.opt("scan:ScannerCurrentTime", s.time.as_deref());
    out.leaf("scan:ScannerState", s.state.as_str());
    out.list(
        "scan:ScannerStateReasons",
        "scan:ScannerStateReason",
        &s.reasons,
    );
    if !s.conditions.is_empty() {
        out.open("scan:ActiveConditions");
        for c in &s.conditions {
            out.open("scan:DeviceCondition");
            out.leaf("scan:Name", &c.name);
            out.opt("scan:Component", c.component.as_deref());
            out.close("scan:DeviceCondition");
        }
        out.close("scan:ActiveConditions");
    }
    out.close("scan:ScannerStatus");
}

fn ticket(out: &mut Writer, name: &str, t: &ScanTicket) {
    out.open(name);
    let j = &t.job;
    if j.name.is_some() || j.user.is_some() || j.info.is_some() {
        out.open("scan:JobDescription");
        out.opt("scan:JobName", j.name.as_deref());
        out.opt("scan:JobOriginatingUserName", j.user.as_deref());
        out.opt("scan:JobInformation", j.info.as_deref());
        out.close("scan:JobDescription");
    }
    document_parameters(out, "scan:DocumentParameters", &t.params);
    out.close(name);
}

fn document_parameters(out: &mut Writer, name: &str, p: &DocumentParameters) {
    out.open(name);
    // `MustHonor="true"` on the elements named in `must_honor`.
    let must = |local: &str| p.must_honor.iter().any(|m| m == local);
    let leaf = |out: &mut Writer, local: &str, v: Option<String>| {
        if let Some(v) = v {
            if must(local) {
                out.leaf_attrs(&format!("scan:{local}"), &[("scan:MustHonor", "true")], &v);
            } else {
                out.leaf(&format!("scan:{local}"), &v);
            }
        }
    };
    let open = |out: &mut Writer, local: &str| {
        let n = format!("scan:{local}");
        if must(local) {
            out.open_attrs(&n, &[("scan:MustHonor", "true")]);
        } else {
            out.open(&n);
        }
    };
    leaf(out, "Format", p.format.as_ref().map(|f| f.to_string()));
    leaf(
        out,
        "CompressionQualityFactor",
        p.compression_quality.map(|v| v.to_string()),
    );
    leaf(
        out,
        "ImagesToTransfer",
        p.images_to_transfer.map(|v| v.to_string()),
    );
    leaf(
        out,
        "InputSource",
        p.input_source.as_ref().map(|s| s.to_string()),
    );
    leaf(out, "ContentType", p.content_type.clone());
    if p.input_size.is_some() || p.size_auto_detect.is_some() {
        open(out, "InputSize");
        out.opt_bool("scan:DocumentSizeAutoDetect", p.size_auto_detect);
        if let Some(s) = &p.input_size {
            out.size("scan:InputMediaSize", s);
        }
        out.close("scan:InputSize");
    }
    if let Some(x) = &p.exposure {
        open(out, "Exposure");
        out.opt_bool("scan:AutoExposure", x.auto);
        if x.contrast.is_some() || x.brightness.is_some() || x.sharpness.is_some() {
            out.open("scan:ExposureSettings");
            out.opt("scan:Contrast", x.contrast);
            out.opt("scan:Brightness", x.brightness);
            out.opt("scan:Sharpness", x.sharpness);
            out.close("scan:ExposureSettings");
        }
        out.close("scan:Exposure");
    }
    if let Some(s) = &p.scaling {
        open(out, "Scaling");
        out.leaf("scan:ScalingWidth", &s.width.to_string());
        out.leaf("scan:ScalingHeight", &s.height.to_string());
        out.close("scan:Scaling");
    }
    leaf(out, "Rotation", p.rotation.map(|v| v.to_string()));
    if p.front.is_some() || p.back.is_some() {
        open(out, "MediaSides");
        for (n, side) in [("scan:MediaFront", &p.front), ("scan:MediaBack", &p.back)] {
            if let Some(side) = side {
                media_side(out, n, side, &must);
            }
        }
        out.close("scan:MediaSides");
    }
    out.close(name);
}

fn media_side(out: &mut Writer, name: &str, s: &MediaSide, must: &dyn Fn(&str) -> bool) {
    out.open(name);
    if let Some(r) = &s.region {
        out.open("scan:ScanRegion");
        out.leaf("scan:ScanRegionXOffset", &r.x.to_string());
        out.leaf("scan:ScanRegionYOffset", &r.y.to_string());
        out.leaf("scan:ScanRegionWidth", &r.width.to_string());
        out.leaf("scan:ScanRegionHeight", &r.height.to_string());
        out.close("scan:ScanRegion");
    }
    if let Some(c) = &s.color {
        if must("ColorProcessing") {
            out.leaf_attrs(
                "scan:ColorProcessing",
                &[("scan:MustHonor", "true")],
                c.as_str(),
            );
        } else {
            out.leaf("scan:ColorProcessing", c.as_str());
        }
    }
    if let Some(r) = &s.resolution {
        if must("Resolution") {
            out.open_attrs("scan:Resolution", &[("scan:MustHonor", "true")]);
        } else {
            out.open("scan:Resolution");
        }
        out.leaf("scan:Width", &r.width.to_string());
        out.leaf("scan:Height", &r.height.to_string());
        out.close("scan:Resolution");
    }
    out.close(name);
}

fn created_job(out: &mut Writer, j: &CreatedJob) {
    out.leaf("scan:JobId", &j.job_id.to_string());
    out.leaf("scan:JobToken", &j.job_token);
    if j.front_image.is_some() || j.back_image.is_some() {
        out.open("scan:ImageInformation");
        for (n, i) in [
            ("scan:MediaFrontImageInfo", &j.front_image),
            ("scan:MediaBackImageInfo", &j.back_image),
        ] {
            if let Some(i) = i {
                image_info(out, n, i);
            }
        }
        out.close("scan:ImageInformation");
    }
    if let Some(p) = &j.final_params {
        document_parameters(out, "scan:DocumentFinalParameters", p);
    }
}

fn image_info(out: &mut Writer, name: &str, i: &ImageInfo) {
    out.open(name);
    out.leaf("scan:PixelsPerLine", &i.pixels_per_line.to_string());
    out.leaf("scan:NumberOfLines", &i.number_of_lines.to_string());
    out.leaf("scan:BytesPerLine", &i.bytes_per_line.to_string());
    out.close(name);
}

fn job_status(out: &mut Writer, s: &JobStatus) {
    out.open("scan:JobStatus");
    out.leaf("scan:JobId", &s.job_id.to_string());
    out.leaf("scan:JobState", s.state.as_str());
    out.list("scan:JobStateReasons", "scan:JobStateReason", &s.reasons);
    out.opt("scan:ScansCompleted", s.scans_completed);
    out.close("scan:JobStatus");
}

fn job_elements_data(out: &mut Writer, j: &JobElements) {
    if let Some(s) = &j.status {
        element_data(out, "scan:JobStatus", |out| job_status(out, s));
    }
    if let Some(t) = &j.ticket {
        element_data(out, "scan:ScanTicket", |out| {
            ticket(out, "scan:ScanTicket", t)
        });
    }
}

/// QNames in text use this crate's prefixes; a namespace without one is written as the
/// local name alone (no prefix can be declared for it here).
fn qnames(types: &[QName]) -> String {
    types
        .iter()
        .map(|q| {
            let prefix = match q.namespace.as_deref() {
                Some(SCAN_NS) => "scan:",
                Some(DPWS_NS) => "dpws:",
                Some(DISCOVERY_NS) => "wsd:",
                _ => "",
            };
            format!("{prefix}{}", q.local)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn target(out: &mut Writer, name: &str, t: &Target) {
    out.open(name);
    out.open("wsa:EndpointReference");
    out.leaf("wsa:Address", &t.address);
    out.close("wsa:EndpointReference");
    if !t.types.is_empty() {
        out.leaf("wsd:Types", &qnames(&t.types));
    }
    if !t.scopes.is_empty() {
        out.leaf("wsd:Scopes", &t.scopes.join(" "));
    }
    if !t.xaddrs.is_empty() {
        out.leaf("wsd:XAddrs", &t.xaddrs.join(" "));
    }
    out.opt("wsd:MetadataVersion", t.metadata_version);
    out.close(name);
}

fn metadata(out: &mut Writer, m: &DeviceMetadata) {
    out.open("mex:Metadata");
    if m.manufacturer.is_some() || m.model.is_some() {
        out.open_attrs(
            "mex:MetadataSection",
            &[("Dialect", &format!("{DPWS_NS}/ThisModel"))],
        );
        out.open("dpws:ThisModel");
        out.opt("dpws:Manufacturer", m.manufacturer.as_deref());
        out.opt("dpws:ModelName", m.model.as_deref());
        out.close("dpws:ThisModel");
        out.close("mex:MetadataSection");
    }
    if let Some(f) = &m.friendly_name {
        out.open_attrs(
            "mex:MetadataSection",
            &[("Dialect", &format!("{DPWS_NS}/ThisDevice"))],
        );
        out.open("dpws:ThisDevice");
        out.leaf("dpws:FriendlyName", f);
        out.close("dpws:ThisDevice");
        out.close("mex:MetadataSection");
    }
    out.open_attrs(
        "mex:MetadataSection",
        &[("Dialect", &format!("{DPWS_NS}/Relationship"))],
    );
    out.open_attrs("dpws:Relationship", &[("Type", &format!("{DPWS_NS}/host"))]);
    for h in &m.hosted {
        out.open("dpws:Hosted");
        for a in &h.addresses {
            out.open("wsa:EndpointReference");
            out.leaf("wsa:Address", a);
            out.close("wsa:EndpointReference");
        }
        if !h.types.is_empty() {
            out.leaf("dpws:Types", &qnames(&h.types));
        }
        out.opt("dpws:ServiceId", h.service_id.as_deref());
        out.close("dpws:Hosted");
    }
    out.close("dpws:Relationship");
    out.close("mex:MetadataSection");
    out.close("mex:Metadata");
}
