//! Element tree → model. Names are matched by namespace URI (see [`crate::ns`]); unknown
//! elements, attributes and element order are ignored; text is trimmed.

use crate::discovery::{DeviceMetadata, HostedService, Target};
use crate::envelope::{Body, Envelope, Fault, Header};
use crate::error::{Error, Limits};
use crate::ns::{qname, split, Document, Element, Ns};
use crate::scan::{
    Adf, CreatedJob, DeviceCondition, DeviceSettings, DocumentParameters, Exposure, ImageInfo,
    InputCaps, JobDescription, JobElements, JobStatus, MediaSide, Range, Region, ScanTicket,
    ScannerConfiguration, ScannerDescription, ScannerElements, ScannerStatus, Size,
};
use crate::values::{ColorEntry, Format, JobState, ScannerState};

// The reader's entry points, on the type they make (here, so that the types do not import
// their reader).
impl Envelope {
    /// Reads a message under the default [`Limits`].
    pub fn from_xml(xml: &[u8]) -> Result<Envelope, Error> {
        envelope(xml, &Limits::DEFAULT)
    }

    /// Reads a message under `limits`.
    pub fn from_xml_with_limits(xml: &[u8], limits: &Limits) -> Result<Envelope, Error> {
        envelope(xml, limits)
    }
}

pub(crate) fn envelope(xml: &[u8], limits: &Limits) -> Result<Envelope, Error> {
    let root_ok = |root: &Element| {
        if root.ns == Ns::Soap && root.local == "Envelope" {
            Ok(())
        } else {
            Err(Error::NotSoap {
                found: root.display_name(),
            })
        }
    };
    let doc = scanwire_xml::parse(xml, &limits.xml(), &root_ok)?;
    let root = &doc.root;
    let header = root.child("soap:Header").map(header).unwrap_or_default();
    let body_el = root
        .child("soap:Body")
        .ok_or(Error::NoBody { line: root.line })?;
    let body = match body_el.children.first() {
        Some(op) => body(&doc, op)?,
        // WS-Transfer Get is the one message whose body is empty: its action says it.
        None if header
            .action
            .as_deref()
            .is_some_and(|a| a.trim().ends_with("/ws/2004/09/transfer/Get")) =>
        {
            Body::TransferGet
        }
        None => return Err(Error::EmptyBody { line: body_el.line }),
    };
    Ok(Envelope { header, body })
}

fn header(h: &Element) -> Header {
    let t = |name: &str| h.text_of(name);
    Header {
        to: t("wsa:To"),
        action: t("wsa:Action"),
        message_id: t("wsa:MessageID"),
        relates_to: t("wsa:RelatesTo"),
        reply_to: h.child("wsa:ReplyTo").and_then(|r| {
            r.text_of("wsa:Address")
                .or_else(|| (!r.text.is_empty()).then(|| r.text.clone()))
        }),
        // Read when it is whole; a receiver does not depend on it.
        app_sequence: h.child("wsd:AppSequence").and_then(|a| {
            Some(crate::envelope::AppSequence {
                instance_id: a.attr("InstanceId")?.trim().parse().ok()?,
                message_number: a.attr("MessageNumber")?.trim().parse().ok()?,
            })
        }),
    }
}

fn body(doc: &Document, op: &Element) -> Result<Body, Error> {
    let local = op.local.as_str();
    Ok(match (&op.ns, local) {
        (Ns::Soap, "Fault") => Body::Fault(fault(op)),
        (Ns::Scan, "GetScannerElementsRequest") => Body::GetScannerElementsRequest(
            op.child("scan:RequestedElements")
                .map(|r| {
                    r.children_named("scan:Name")
                        .map(|n| split(&n.text).1.to_string())
                        .collect()
                })
                .unwrap_or_default(),
        ),
        (Ns::Scan, "GetScannerElementsResponse") => Body::GetScannerElementsResponse(
            scanner_elements(op.required("scan:ScannerElements")?)?,
        ),
        (Ns::Scan, "ValidateScanTicketRequest") => {
            Body::ValidateScanTicketRequest(ticket(op.required("scan:ScanTicket")?)?)
        }
        (Ns::Scan, "ValidateScanTicketResponse") => {
            let info = op.required("scan:ValidationInfo")?;
            Body::ValidateScanTicketResponse {
                valid_as_is: req_bool(info, "scan:ValidAsIs")?,
                ticket: info.child("scan:ScanTicket").map(ticket).transpose()?,
            }
        }
        (Ns::Scan, "CreateScanJobRequest") => {
            Body::CreateScanJobRequest(ticket(op.required("scan:ScanTicket")?)?)
        }
        (Ns::Scan, "CreateScanJobResponse") => Body::CreateScanJobResponse(created_job(op)?),
        (Ns::Scan, "RetrieveImageRequest") => Body::RetrieveImageRequest {
            job_id: req_u32(op, "scan:JobId")?,
            job_token: req_text(op, "scan:JobToken")?,
            document_name: op
                .child("scan:DocumentDescription")
                .and_then(|d| d.text_of("scan:DocumentName")),
        },
        (Ns::Scan, "RetrieveImageResponse") => {
            let data = op.required("scan:ScanData")?;
            let include = data.required("xop:Include")?;
            let href = include.attr("href").ok_or_else(|| Error::Missing {
                element: "href attribute".into(),
                parent: include.display_name(),
                line: include.line,
            })?;
            Body::RetrieveImageResponse {
                href: href.trim().to_string(),
            }
        }
        (Ns::Scan, "CancelJobRequest") => Body::CancelJobRequest {
            job_id: req_u32(op, "scan:JobId")?,
        },
        (Ns::Scan, "CancelJobResponse") => Body::CancelJobResponse,
        (Ns::Scan, "GetJobElementsRequest") => Body::GetJobElementsRequest {
            job_id: req_u32(op, "scan:JobId")?,
            names: op
                .child("scan:RequestedElements")
                .map(|r| {
                    r.children_named("scan:Name")
                        .map(|n| split(&n.text).1.to_string())
                        .collect()
                })
                .unwrap_or_default(),
        },
        (Ns::Scan, "GetJobElementsResponse") => {
            Body::GetJobElementsResponse(job_elements(op.required("scan:JobElements")?)?)
        }
        (Ns::Scan, "GetActiveJobsRequest") => Body::GetActiveJobsRequest,
        (Ns::Scan, "GetActiveJobsResponse") => Body::GetActiveJobsResponse(
            op.child("scan:ActiveJobs")
                .map(|a| a.children_named("scan:Job").map(active_job).collect())
                .transpose()?
                .unwrap_or_default(),
        ),
        (Ns::Discovery, "Probe") => Body::Probe(qnames(doc, op, "wsd:Types")),
        (Ns::Discovery, "ProbeMatches") => Body::ProbeMatches(
            op.children_named("wsd:ProbeMatch")
                .map(|m| target(doc, m))
                .collect::<Result<_, _>>()?,
        ),
        (Ns::Discovery, "Hello") => Body::Hello(target(doc, op)?),
        (Ns::Discovery, "Bye") => Body::Bye(target(doc, op)?),
        (Ns::Discovery, "Resolve") => Body::Resolve(req_text(
            op.required("wsa:EndpointReference")?,
            "wsa:Address",
        )?),
        (Ns::Discovery, "ResolveMatches") => Body::ResolveMatches(
            op.children_named("wsd:ResolveMatch")
                .map(|m| target(doc, m))
                .collect::<Result<_, _>>()?,
        ),
        (Ns::Mex, "Metadata") => Body::TransferGetResponse(metadata(doc, op)),
        (ns, _) => Body::Other {
            namespace: match ns {
                Ns::Other(u) => u.clone(),
                Ns::None => String::new(),
                known => known.prefix(),
            },
            local: local.to_string(),
        },
    })
}

fn fault(f: &Element) -> Fault {
    let code = f.child("soap:Code");
    // The innermost Subcode carries the WS-Scan meaning.
    let mut subcode = None;
    let mut at = code.and_then(|c| c.child("soap:Subcode"));
    while let Some(s) = at {
        if let Some(v) = s.text_of("soap:Value") {
            subcode = Some(split(&v).1.to_string());
        }
        at = s.child("soap:Subcode");
    }
    // SOAP 1.1: faultcode / faultstring, unqualified.
    let code_text = code
        .and_then(|c| c.text_of("soap:Value"))
        .or_else(|| f.text_of("faultcode"))
        .unwrap_or_default();
    let reason = f
        .child("soap:Reason")
        .and_then(|r| r.text_of("soap:Text"))
        .or_else(|| f.text_of("faultstring"))
        .unwrap_or_default();
    let detail = f
        .child("soap:Detail")
        .map(all_text)
        .filter(|d| !d.is_empty());
    Fault {
        code: split(&code_text).1.to_string(),
        subcode,
        reason,
        detail,
    }
}

/// The text of an element and its descendants, joined by spaces.
fn all_text(e: &Element) -> String {
    let mut parts = Vec::new();
    fn walk<'a>(e: &'a Element, parts: &mut Vec<&'a str>) {
        if !e.text.is_empty() {
            parts.push(&e.text);
        }
        for c in &e.children {
            walk(c, parts);
        }
    }
    walk(e, &mut parts);
    parts.join(" ")
}

/// `ScannerElements/ElementData*`: each by its `Name` attribute (a QName), or by the element
/// inside when a device leaves the attribute out; `Valid="false"` entries are skipped.
pub(crate) fn scanner_elements(e: &Element) -> Result<ScannerElements, Error> {
    let mut out = ScannerElements::default();
    for data in e.children_named("scan:ElementData") {
        if data
            .attr("Valid")
            .is_some_and(|v| matches!(v.trim(), "false" | "0"))
        {
            continue;
        }
        let Some(inner) = data.children.first() else {
            continue;
        };
        match inner.local.as_str() {
            "ScannerDescription" if inner.ns == Ns::Scan => {
                out.description = Some(description(inner))
            }
            "ScannerConfiguration" if inner.ns == Ns::Scan => {
                out.configuration = Some(configuration(inner)?)
            }
            "ScannerStatus" if inner.ns == Ns::Scan => out.status = Some(status(inner)?),
            "DefaultScanTicket" if inner.ns == Ns::Scan => {
                out.default_ticket = Some(ticket(inner)?)
            }
            _ => {}
        }
    }
    Ok(out)
}

fn description(e: &Element) -> ScannerDescription {
    ScannerDescription {
        name: e.text_of("scan:ScannerName").unwrap_or_default(),
        info: e.text_of("scan:ScannerInfo"),
        location: e.text_of("scan:ScannerLocation"),
    }
}

fn configuration(e: &Element) -> Result<ScannerConfiguration, Error> {
    let settings = e
        .child("scan:DeviceSettings")
        .map(device_settings)
        .transpose()?
        .unwrap_or_default();
    let platen = e
        .child("scan:Platen")
        .map(|p| input_caps(p, "Platen"))
        .transpose()?;
    let adf = e
        .child("scan:ADF")
        .map(|a| -> Result<Adf, Error> {
            Ok(Adf {
                supports_duplex: opt_bool(a, "scan:ADFSupportsDuplex")?.unwrap_or(false),
                front: a
                    .child("scan:ADFFront")
                    .map(|f| input_caps(f, "ADF"))
                    .transpose()?,
                back: a
                    .child("scan:ADFBack")
                    .map(|b| input_caps(b, "ADF"))
                    .transpose()?,
            })
        })
        .transpose()?;
    Ok(ScannerConfiguration {
        settings,
        platen,
        adf,
    })
}

fn device_settings(e: &Element) -> Result<DeviceSettings, Error> {
    let scaling = e.child("scan:ScalingRangeSupported");
    Ok(DeviceSettings {
        formats: list(e, "scan:FormatsSupported", "scan:FormatValue")
            .iter()
            .map(|s| Format::from(s.as_str()))
            .collect(),
        compression_quality: opt_range(e, "scan:CompressionQualityFactorSupported")?,
        content_types: list(e, "scan:ContentTypesSupported", "scan:ContentTypeValue"),
        size_auto_detect: opt_bool(e, "scan:DocumentSizeAutoDetectSupported")?,
        auto_exposure: opt_bool(e, "scan:AutoExposureSupported")?,
        brightness: opt_bool(e, "scan:BrightnessSupported")?,
        contrast: opt_bool(e, "scan:ContrastSupported")?,
        scaling_width: scaling
            .map(|s| opt_range(s, "scan:ScalingWidth"))
            .transpose()?
            .flatten(),
        scaling_height: scaling
            .map(|s| opt_range(s, "scan:ScalingHeight"))
            .transpose()?
            .flatten(),
        rotations: match e.child("scan:RotationsSupported") {
            Some(r) => r
                .children_named("scan:RotationValue")
                .map(|v| number(v, "a rotation in degrees"))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
    })
}

/// `Platen` or `ADFFront`/`ADFBack`: the same content with `Platen…` or `ADF…` names.
fn input_caps(e: &Element, p: &str) -> Result<InputCaps, Error> {
    let name = |n: &str| format!("scan:{p}{n}");
    let resolutions = e.child(&name("Resolutions"));
    let dpis = |container: &str, item: &str| -> Result<Vec<u32>, Error> {
        match resolutions.and_then(|r| r.child(container)) {
            Some(c) => c
                .children_named(item)
                .map(|v| number(v, "a resolution in dpi"))
                .collect(),
            None => Ok(Vec::new()),
        }
    };
    let size = |n: &str| -> Result<Size, Error> { self::size(e.required(&name(n))?) };
    Ok(InputCaps {
        optical_resolution: e
            .child(&name("OpticalResolution"))
            .map(self::size)
            .transpose()?,
        widths: dpis("scan:Widths", "scan:Width")?,
        heights: dpis("scan:Heights", "scan:Height")?,
        colors: list(e, &name("Color"), "scan:ColorEntry")
            .iter()
            .map(|s| ColorEntry::from(s.as_str()))
            .collect(),
        min_size: size("MinimumSize")?,
        max_size: size("MaximumSize")?,
    })
}

fn size(e: &Element) -> Result<Size, Error> {
    Ok(Size {
        width: req_u32(e, "scan:Width")?,
        height: req_u32(e, "scan:Height")?,
    })
}

pub(crate) fn status(e: &Element) -> Result<ScannerStatus, Error> {
    let state = e.required("scan:ScannerState")?;
    Ok(ScannerStatus {
        time: e.text_of("scan:ScannerCurrentTime"),
        state: ScannerState::from(state.text.as_str()),
        reasons: list(e, "scan:ScannerStateReasons", "scan:ScannerStateReason")
            .into_iter()
            .filter(|r| r != "None")
            .collect(),
        conditions: e
            .child("scan:ActiveConditions")
            .map(|a| {
                a.children_named("scan:DeviceCondition")
                    .map(|c| {
                        Ok(DeviceCondition {
                            name: req_text(c, "scan:Name")?,
                            component: c.text_of("scan:Component"),
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()
            })
            .transpose()?
            .unwrap_or_default(),
    })
}

pub(crate) fn ticket(e: &Element) -> Result<ScanTicket, Error> {
    let job = e
        .child("scan:JobDescription")
        .map(|j| JobDescription {
            name: j.text_of("scan:JobName"),
            user: j.text_of("scan:JobOriginatingUserName"),
            info: j.text_of("scan:JobInformation"),
        })
        .unwrap_or_default();
    let params = e
        .child("scan:DocumentParameters")
        .map(document_parameters)
        .transpose()?
        .unwrap_or_default();
    Ok(ScanTicket { job, params })
}

fn document_parameters(e: &Element) -> Result<DocumentParameters, Error> {
    let input_size = e.child("scan:InputSize");
    let exposure = e
        .child("scan:Exposure")
        .map(|x| -> Result<Exposure, Error> {
            let s = x.child("scan:ExposureSettings");
            let setting = |n: &str| s.map(|s| opt_i32(s, n)).transpose().map(Option::flatten);
            Ok(Exposure {
                auto: opt_bool(x, "scan:AutoExposure")?,
                contrast: setting("scan:Contrast")?,
                brightness: setting("scan:Brightness")?,
                sharpness: setting("scan:Sharpness")?,
            })
        })
        .transpose()?;
    let sides = e.child("scan:MediaSides");
    let side = |n: &str| sides.and_then(|s| s.child(n)).map(media_side).transpose();
    let mut must_honor = Vec::new();
    collect_must_honor(e, &mut must_honor);
    Ok(DocumentParameters {
        format: e.text_of("scan:Format").map(|f| Format::from(f.as_str())),
        compression_quality: opt_u32(e, "scan:CompressionQualityFactor")?,
        images_to_transfer: opt_u32(e, "scan:ImagesToTransfer")?,
        input_source: e.text_of("scan:InputSource").map(|s| s.as_str().into()),
        content_type: e.text_of("scan:ContentType"),
        input_size: input_size
            .and_then(|i| i.child("scan:InputMediaSize"))
            .map(size)
            .transpose()?,
        size_auto_detect: input_size
            .map(|i| opt_bool(i, "scan:DocumentSizeAutoDetect"))
            .transpose()?
            .flatten(),
        exposure,
        scaling: e
            .child("scan:Scaling")
            .map(|s| -> Result<Size, Error> {
                Ok(Size {
                    width: req_u32(s, "scan:ScalingWidth")?,
                    height: req_u32(s, "scan:ScalingHeight")?,
                })
            })
            .transpose()?,
        rotation: opt_u32(e, "scan:Rotation")?,
        front: side("scan:MediaFront")?,
        back: side("scan:MediaBack")?,
        must_honor,
    })
}

fn collect_must_honor(e: &Element, out: &mut Vec<String>) {
    for c in &e.children {
        if c.attr("MustHonor")
            .is_some_and(|v| matches!(v.trim(), "true" | "1"))
            && !out.contains(&c.local)
        {
            out.push(c.local.clone());
        }
        collect_must_honor(c, out);
    }
}

fn media_side(e: &Element) -> Result<MediaSide, Error> {
    Ok(MediaSide {
        region: e
            .child("scan:ScanRegion")
            .map(|r| -> Result<Region, Error> {
                Ok(Region {
                    x: opt_u32(r, "scan:ScanRegionXOffset")?.unwrap_or(0),
                    y: opt_u32(r, "scan:ScanRegionYOffset")?.unwrap_or(0),
                    width: req_u32(r, "scan:ScanRegionWidth")?,
                    height: req_u32(r, "scan:ScanRegionHeight")?,
                })
            })
            .transpose()?,
        color: e
            .text_of("scan:ColorProcessing")
            .map(|c| ColorEntry::from(c.as_str())),
        resolution: e.child("scan:Resolution").map(resolution).transpose()?,
    })
}

/// `Resolution`: a Height may be left out (Microsoft's own example), meaning the Width.
fn resolution(e: &Element) -> Result<Size, Error> {
    let width = req_u32(e, "scan:Width")?;
    Ok(Size {
        width,
        height: opt_u32(e, "scan:Height")?.unwrap_or(width),
    })
}

fn created_job(e: &Element) -> Result<CreatedJob, Error> {
    let info = e.child("scan:ImageInformation");
    let image = |n: &str| {
        info.and_then(|i| i.child(n))
            .map(|m| -> Result<ImageInfo, Error> {
                Ok(ImageInfo {
                    pixels_per_line: req_u32(m, "scan:PixelsPerLine")?,
                    number_of_lines: req_u32(m, "scan:NumberOfLines")?,
                    bytes_per_line: req_u32(m, "scan:BytesPerLine")?,
                })
            })
            .transpose()
    };
    Ok(CreatedJob {
        job_id: req_u32(e, "scan:JobId")?,
        job_token: req_text(e, "scan:JobToken")?,
        front_image: image("scan:MediaFrontImageInfo")?,
        back_image: image("scan:MediaBackImageInfo")?,
        final_params: e
            .child("scan:DocumentFinalParameters")
            .map(document_parameters)
            .transpose()?,
    })
}

fn job_status(e: &Element) -> Result<JobStatus, Error> {
    Ok(JobStatus {
        job_id: req_u32(e, "scan:JobId")?,
        state: JobState::from(e.required("scan:JobState")?.text.as_str()),
        reasons: list(e, "scan:JobStateReasons", "scan:JobStateReason")
            .into_iter()
            .filter(|r| r != "None")
            .collect(),
        scans_completed: opt_u32(e, "scan:ScansCompleted")?,
    })
}

fn job_elements(e: &Element) -> Result<JobElements, Error> {
    let mut out = JobElements::default();
    for data in e.children_named("scan:ElementData") {
        for inner in &data.children {
            if inner.is("scan:JobStatus") {
                out.status = Some(job_status(inner)?);
            } else if inner.is("scan:ScanTicket") {
                out.ticket = Some(ticket(inner)?);
            }
        }
    }
    Ok(out)
}

fn active_job(e: &Element) -> Result<JobElements, Error> {
    Ok(JobElements {
        status: e.child("scan:JobStatus").map(job_status).transpose()?,
        ticket: e.child("scan:ScanTicket").map(ticket).transpose()?,
    })
}

fn qnames(doc: &Document, e: &Element, name: &str) -> Vec<crate::QName> {
    e.text_of(name)
        .map(|t| t.split_ascii_whitespace().map(|q| qname(doc, q)).collect())
        .unwrap_or_default()
}

fn target(doc: &Document, e: &Element) -> Result<Target, Error> {
    let epr = e.required("wsa:EndpointReference")?;
    Ok(Target {
        address: req_text(epr, "wsa:Address")?,
        types: qnames(doc, e, "wsd:Types"),
        scopes: e
            .text_of("wsd:Scopes")
            .map(|t| t.split_ascii_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        xaddrs: e
            .text_of("wsd:XAddrs")
            .map(|t| t.split_ascii_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        metadata_version: opt_u32(e, "wsd:MetadataVersion")?,
    })
}

fn metadata(doc: &Document, e: &Element) -> DeviceMetadata {
    let mut out = DeviceMetadata::default();
    for section in e.children_named("mex:MetadataSection") {
        for inner in &section.children {
            if inner.is("dpws:ThisModel") {
                out.manufacturer = inner.text_of("dpws:Manufacturer");
                out.model = inner.text_of("dpws:ModelName");
            } else if inner.is("dpws:ThisDevice") {
                out.friendly_name = inner.text_of("dpws:FriendlyName");
            } else if inner.is("dpws:Relationship") {
                for hosted in inner.children_named("dpws:Hosted") {
                    out.hosted.push(HostedService {
                        addresses: hosted
                            .children_named("wsa:EndpointReference")
                            .filter_map(|r| r.text_of("wsa:Address"))
                            .collect(),
                        types: qnames(doc, hosted, "dpws:Types"),
                        service_id: hosted.text_of("dpws:ServiceId"),
                    });
                }
            }
        }
    }
    out
}

fn req_text(parent: &Element, name: &str) -> Result<String, Error> {
    parent
        .text_of(name)
        .ok_or_else(|| Error::from(parent.missing(name)))
}

fn list(parent: &Element, container: &str, item: &str) -> Vec<String> {
    parent
        .child(container)
        .map(|c| {
            c.children_named(item)
                .map(|i| i.text.clone())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn number<T: TryFrom<i64>>(e: &Element, expected: &'static str) -> Result<T, Error> {
    let t = e.text.as_str();
    let digits = t.strip_prefix('+').unwrap_or(t);
    let parsed = if !digits.is_empty()
        && digits.len() <= 18
        && digits
            .strip_prefix('-')
            .unwrap_or(digits)
            .bytes()
            .all(|b| b.is_ascii_digit())
        && digits != "-"
    {
        digits.parse::<i64>().ok()
    } else {
        None
    };
    parsed
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| Error::BadNumber {
            element: e.display_name(),
            value: t.to_string(),
            expected,
            line: e.line,
        })
}

fn req_u32(parent: &Element, name: &str) -> Result<u32, Error> {
    number(
        parent.required(name)?,
        "a whole number from 0 to 4294967295",
    )
}

fn opt_u32(parent: &Element, name: &str) -> Result<Option<u32>, Error> {
    parent
        .child(name)
        .map(|e| number(e, "a whole number from 0 to 4294967295"))
        .transpose()
}

fn opt_i32(parent: &Element, name: &str) -> Result<Option<i32>, Error> {
    parent
        .child(name)
        .map(|e| number(e, "a whole number from -2147483648 to 2147483647"))
        .transpose()
}

fn opt_bool(parent: &Element, name: &str) -> Result<Option<bool>, Error> {
    parent
        .child(name)
        .map(|e| match e.text.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(Error::BadValue {
                element: e.display_name(),
                value: other.to_string(),
                expected: "true, false, 1 or 0".into(),
                line: e.line,
            }),
        })
        .transpose()
}

fn req_bool(parent: &Element, name: &str) -> Result<bool, Error> {
    opt_bool(parent, name)?.ok_or_else(|| Error::from(parent.missing(name)))
}

fn opt_range(parent: &Element, name: &str) -> Result<Option<Range>, Error> {
    parent
        .child(name)
        .map(|r| -> Result<Range, Error> {
            let min = number(r.required("scan:MinValue")?, "a whole number")?;
            let max = number(r.required("scan:MaxValue")?, "a whole number")?;
            if min > max {
                return Err(Error::BadValue {
                    element: r.display_name(),
                    value: format!("{min}..{max}"),
                    expected: "MinValue <= MaxValue".into(),
                    line: r.line,
                });
            }
            Ok(Range { min, max })
        })
        .transpose()
}
