//! The writers: literal `scan:`/`pwg:` prefixes (sane-airscan matches strings), escaping, and
//! write -> read giving back every field.

use scanwire_escl::{
    Adf, AdfOption, AdfState, BinaryRendering, CcdChannel, ColorMode, ColorSpace,
    ContentRegionUnits, ContentType, Document, FeedDirection, ImagePosition, InputCaps,
    InputSource, Intent, JobInfo, JobState, JobStateReason, Justification, Range, Resolution,
    ResolutionRange, ScanImageInfo, ScanRegion, ScanSettings, ScannerCapabilities, ScannerState,
    ScannerStatus, SettingProfile, SupportedResolutions, ESCL_NS, PWG_NS,
};

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn profile() -> SettingProfile {
    SettingProfile {
        color_modes: vec![
            ColorMode::Rgb24,
            ColorMode::Grayscale8,
            ColorMode::AutoColorDetection,
            ColorMode::Other("Sepia8".into()),
        ],
        content_types: vec![ContentType::Photo, ContentType::Text],
        document_formats: vec!["image/jpeg".into(), "image/png".into()],
        document_format_exts: vec!["application/pdf".into()],
        supported_resolutions: SupportedResolutions {
            discrete: vec![
                Resolution { x: 75, y: 75 },
                Resolution { x: 300, y: 300 },
                Resolution { x: 200, y: 100 },
            ],
            ranges: vec![ResolutionRange {
                x: Range {
                    min: 75,
                    max: 1200,
                    normal: Some(300),
                    step: Some(25),
                },
                y: Range {
                    min: 75,
                    max: 600,
                    normal: None,
                    step: None,
                },
            }],
        },
        color_spaces: vec![ColorSpace::Srgb, ColorSpace::Other("AdobeRGB".into())],
        ccd_channels: vec![CcdChannel::Ntsc, CcdChannel::GrayCcdEmulated],
        binary_renderings: vec![BinaryRendering::Threshold],
    }
}

fn input_caps(max_height: u32) -> InputCaps {
    InputCaps {
        min_width: Some(16),
        max_width: 2550,
        min_height: Some(16),
        max_height,
        min_page_width: Some(600),
        min_page_height: Some(870),
        max_x_offset: Some(100),
        max_y_offset: Some(200),
        max_physical_width: Some(2550),
        max_physical_height: Some(max_height),
        max_scan_regions: Some(1),
        max_optical_x_resolution: Some(1200),
        max_optical_y_resolution: Some(2400),
        risky_left_margin: Some(1),
        risky_right_margin: Some(2),
        risky_top_margin: Some(3),
        risky_bottom_margin: Some(4),
        setting_profiles: vec![profile(), SettingProfile::default()],
        supported_intents: vec![
            Intent::Document,
            Intent::Photo,
            Intent::Other("Whiteboard".into()),
        ],
        feed_directions: vec![FeedDirection::LongEdgeFeed],
    }
}

fn full_caps() -> ScannerCapabilities {
    let range = Some(Range {
        min: -127,
        max: 127,
        normal: Some(0),
        step: Some(1),
    });
    ScannerCapabilities {
        version: Some("2.63".into()),
        make_and_model: Some("Scanwire <Virtual> & \"Co\"".into()),
        serial_number: Some("SN-1".into()),
        manufacturer: Some("Scanwire".into()),
        uuid: Some("4509a320-00a0-008f-00b6-002507510eca".into()),
        admin_uri: Some("http://127.0.0.1:8090/?a=1&b=2".into()),
        icon_uri: Some("http://127.0.0.1:8090/eSCL/icon.png".into()),
        platen: Some(input_caps(3508)),
        adf: Some(Adf {
            simplex: Some(input_caps(4200)),
            duplex: Some(input_caps(3507)),
            feeder_capacity: Some(50),
            options: vec![
                AdfOption::DetectPaperLoaded,
                AdfOption::SelectSinglePage,
                AdfOption::Duplex,
            ],
            justification: Some(Justification {
                x: Some(ImagePosition::Center),
                y: Some(ImagePosition::NoJustification),
            }),
        }),
        camera: Some(input_caps(1000)),
        compression_factor_support: Some(Range {
            min: 0,
            max: 100,
            normal: Some(25),
            step: Some(1),
        }),
        brightness_support: range,
        contrast_support: range,
        gamma_support: range,
        highlight_support: range,
        noise_removal_support: range,
        shadow_support: range,
        sharpen_support: range,
        threshold_support: range,
        auto_crop: Some(true),
        blank_page_detection: Some(false),
        blank_page_detection_and_removal: Some(true),
        blank_page_sensitivity_support: Some(Range {
            min: 0,
            max: 255,
            normal: Some(128),
            step: Some(1),
        }),
    }
}

fn full_settings() -> ScanSettings {
    ScanSettings {
        version: Some("2.6".into()),
        intent: Some(Intent::TextAndGraphic),
        scan_regions: vec![
            ScanRegion::new(0, 0, 2550, 3300),
            ScanRegion {
                units: ContentRegionUnits::Other("pwg:Millimeters".into()),
                ..ScanRegion::new(1, 2, 3, 4)
            },
        ],
        scan_regions_must_honor: Some(true),
        input_source: Some(InputSource::Feeder),
        color_mode: Some(ColorMode::Grayscale16),
        document_format: Some("image/jpeg".into()),
        document_format_ext: Some("image/png".into()),
        x_resolution: Some(600),
        y_resolution: Some(300),
        duplex: Some(true),
        compression_factor: Some(10),
        content_type: Some(ContentType::TextAndPhoto),
        feed_direction: Some(FeedDirection::ShortEdgeFeed),
        color_space: Some(ColorSpace::Srgb),
        ccd_channel: Some(CcdChannel::Green),
        binary_rendering: Some(BinaryRendering::Halftone),
        brightness: Some(-5),
        contrast: Some(6),
        gamma: Some(7),
        highlight: Some(8),
        noise_removal: Some(9),
        shadow: Some(10),
        sharpen: Some(-3),
        threshold: Some(128),
        auto_crop: Some(false),
        blank_page_detection: Some(true),
        blank_page_detection_and_removal: Some(true),
        blank_page_sensitivity: Some(200),
        concat_if_possible: Some(false),
    }
}

fn full_status() -> ScannerStatus {
    ScannerStatus {
        version: Some("2.6".into()),
        state: ScannerState::Processing,
        adf_state: Some(AdfState::HatchOpen),
        jobs: vec![
            JobInfo {
                job_uri: "/eSCL/ScanJobs/urn:uuid:4509a320-00a0".into(),
                job_uuid: Some("urn:uuid:4509a320-00a0".into()),
                age: Some(3),
                images_completed: Some(2),
                images_to_transfer: Some(1),
                job_state: Some(JobState::Aborted),
                job_state_reasons: vec![
                    JobStateReason::AbortedBySystem,
                    JobStateReason::Other("ScannerAdfJam".into()),
                ],
            },
            JobInfo::new("/eSCL/ScanJobs/2"),
        ],
    }
}

fn round_trip<T: Document + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let xml = value.to_xml();
    let back = T::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(&back, value, "\n{xml}");
    xml
}

#[test]
fn full_values_round_trip() {
    round_trip(&full_caps());
    round_trip(&full_settings());
    round_trip(&full_status());
    round_trip(&ScanImageInfo {
        job_uri: Some("/eSCL/ScanJobs/1".into()),
        job_uuid: None,
        actual_width: 2550,
        actual_height: 3300,
        actual_bytes_per_line: Some(7650),
        blank_page_detected: Some(true),
    });
}

#[test]
fn minimal_values_round_trip() {
    round_trip(&ScanSettings::default());
    round_trip(&ScannerStatus::new(ScannerState::Idle));
    round_trip(&ScanImageInfo {
        job_uri: None,
        job_uuid: None,
        actual_width: 1,
        actual_height: 1,
        actual_bytes_per_line: None,
        blank_page_detected: None,
    });
    round_trip(&ScannerCapabilities {
        platen: Some(InputCaps {
            max_width: 2550,
            max_height: 3508,
            ..InputCaps::default()
        }),
        ..ScannerCapabilities::default()
    });
    round_trip(&ScannerCapabilities {
        adf: Some(Adf {
            duplex: Some(InputCaps {
                max_width: 1,
                max_height: 2,
                ..InputCaps::default()
            }),
            ..Adf::default()
        }),
        ..ScannerCapabilities::default()
    });
    // MustHonor without regions survives as an empty pwg:ScanRegions.
    round_trip(&ScanSettings {
        scan_regions_must_honor: Some(false),
        ..ScanSettings::default()
    });
}

#[test]
fn every_document_uses_the_literal_prefixes() {
    let docs = [
        (full_caps().to_xml(), "scan:ScannerCapabilities"),
        (full_settings().to_xml(), "scan:ScanSettings"),
        (full_status().to_xml(), "scan:ScannerStatus"),
        (
            ScanImageInfo {
                job_uri: None,
                job_uuid: None,
                actual_width: 1,
                actual_height: 2,
                actual_bytes_per_line: None,
                blank_page_detected: None,
            }
            .to_xml(),
            "scan:ScanImageInfo",
        ),
    ];
    for (xml, root) in docs {
        let start = format!("{DECL}<{root} xmlns:scan=\"{ESCL_NS}\" xmlns:pwg=\"{PWG_NS}\">\n");
        assert!(xml.starts_with(&start), "{xml}");
        assert!(xml.ends_with(&format!("</{root}>\n")), "{xml}");
        assert!(!xml.contains("xmlns=\""), "no default namespace: {xml}");
        // Every element name carries one of the two prefixes.
        for tag in xml.split('<').skip(2) {
            let name = tag.trim_start_matches('/');
            assert!(
                name.starts_with("scan:") || name.starts_with("pwg:"),
                "unprefixed element in {tag:?}"
            );
        }
    }
}

#[test]
fn settings_look_like_sane_airscans() {
    let s = ScanSettings {
        version: Some("2.0".into()),
        scan_regions: vec![ScanRegion::new(0, 0, 2551, 3508)],
        input_source: Some(InputSource::Platen),
        color_mode: Some(ColorMode::Rgb24),
        document_format: Some("image/jpeg".into()),
        x_resolution: Some(300),
        y_resolution: Some(300),
        duplex: Some(false),
        ..ScanSettings::default()
    };
    let expected = format!(
        "{DECL}<scan:ScanSettings xmlns:scan=\"{ESCL_NS}\" xmlns:pwg=\"{PWG_NS}\">
  <pwg:Version>2.0</pwg:Version>
  <pwg:ScanRegions>
    <pwg:ScanRegion>
      <pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
      <pwg:XOffset>0</pwg:XOffset>
      <pwg:YOffset>0</pwg:YOffset>
      <pwg:Width>2551</pwg:Width>
      <pwg:Height>3508</pwg:Height>
    </pwg:ScanRegion>
  </pwg:ScanRegions>
  <pwg:InputSource>Platen</pwg:InputSource>
  <scan:ColorMode>RGB24</scan:ColorMode>
  <pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>
  <scan:XResolution>300</scan:XResolution>
  <scan:YResolution>300</scan:YResolution>
  <scan:Duplex>false</scan:Duplex>
</scan:ScanSettings>
"
    );
    assert_eq!(s.to_xml(), expected);
}

#[test]
fn status_and_caps_shape() {
    let xml = full_status().to_xml();
    assert!(xml.contains("  <pwg:State>Processing</pwg:State>\n  <scan:AdfState>ScannerAdfHatchOpen</scan:AdfState>\n"));
    assert!(xml.contains(
        "<pwg:JobStateReasons>\n        <pwg:JobStateReason>AbortedBySystem</pwg:JobStateReason>"
    ));
    let xml = full_caps().to_xml();
    assert!(xml.contains(
        "<scan:Platen>\n    <scan:PlatenInputCaps>\n      <scan:MinWidth>16</scan:MinWidth>"
    ));
    assert!(xml.contains(
        "<scan:DiscreteResolution>\n                <scan:XResolution>75</scan:XResolution>"
    ));
    assert!(xml.contains("<scan:SupportedIntents>\n        <scan:Intent>Document</scan:Intent>"));
    assert!(xml.contains("<scan:ColorMode>scan:AutoColorDetection</scan:ColorMode>"));
    // Simplex caps come before duplex caps inside scan:Adf.
    let simplex = xml.find("<scan:AdfSimplexInputCaps>").unwrap();
    let duplex = xml.find("<scan:AdfDuplexInputCaps>").unwrap();
    assert!(simplex < duplex);
    assert!(xml.contains("<pwg:YImagePosition>None</pwg:YImagePosition>"));
}

#[test]
fn text_is_escaped_and_kept() {
    let caps = full_caps();
    let xml = caps.to_xml();
    assert!(
        xml.contains("<pwg:MakeAndModel>Scanwire &lt;Virtual&gt; &amp; \"Co\"</pwg:MakeAndModel>"),
        "{xml}"
    );
    assert!(xml.contains("<scan:AdminURI>http://127.0.0.1:8090/?a=1&amp;b=2</scan:AdminURI>"));
    let tricky = ScannerStatus {
        jobs: vec![JobInfo::new("/a]]>b\t&c\r\nd<!--e-->&#1;")],
        ..ScannerStatus::new(ScannerState::Idle)
    };
    let xml = round_trip(&tricky);
    assert!(
        xml.contains("&#13;"),
        "carriage returns survive parsing as &#13;: {xml}"
    );
}

#[test]
fn characters_xml_cannot_carry_are_replaced() {
    let status = ScannerStatus {
        jobs: vec![JobInfo::new("/job\u{1}\u{0}\u{FFFF}/1")],
        ..ScannerStatus::new(ScannerState::Idle)
    };
    let xml = status.to_xml();
    let back = ScannerStatus::from_xml(xml.as_bytes()).unwrap();
    assert_eq!(back.jobs[0].job_uri, "/job\u{FFFD}\u{FFFD}\u{FFFD}/1");
}

#[test]
fn status_lookup_and_adf_helpers() {
    let status = full_status();
    assert_eq!(
        status.job("/eSCL/ScanJobs/2"),
        Some(&JobInfo::new("/eSCL/ScanJobs/2"))
    );
    assert!(status.job("/eSCL/ScanJobs/3").is_none());
    let caps = full_caps();
    assert!(caps.adf.as_ref().unwrap().supports_duplex());
    assert_eq!(caps.platen.as_ref().unwrap().max_resolution(), Some(1200));
    assert_eq!(
        caps.platen.as_ref().unwrap().document_formats(),
        ["image/jpeg", "image/png", "application/pdf"]
    );
}
