//! Every real device document in shared/fixtures/escl parses, says what the device says, and
//! survives write -> read unchanged.

mod common;

use common::{all_fixtures, fixture, kind_of, Kind};
use scanwire_escl::{
    AdfOption, AdfState, BinaryRendering, CcdChannel, ColorMode, ColorSpace, ContentRegionUnits,
    ContentType, Document, FeedDirection, ImagePosition, InputSource, Intent, JobState,
    JobStateReason, Range, Resolution, ScanImageInfo, ScanSettings, ScannerCapabilities,
    ScannerState, ScannerStatus,
};

fn caps(name: &str) -> ScannerCapabilities {
    ScannerCapabilities::from_xml(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn status(name: &str) -> ScannerStatus {
    ScannerStatus::from_xml(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn settings(name: &str) -> ScanSettings {
    ScanSettings::from_xml(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn xs(res: &[Resolution]) -> Vec<u32> {
    res.iter().map(|r| r.x).collect()
}

const FOUR_INTENTS: [Intent; 4] = [
    Intent::Document,
    Intent::Photo,
    Intent::Preview,
    Intent::TextAndGraphic,
];

fn sorted_intents(intents: &[Intent]) -> Vec<String> {
    let mut v: Vec<String> = intents.iter().map(|i| i.to_string()).collect();
    v.sort();
    v
}

#[test]
fn every_fixture_parses_and_round_trips() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    for (name, bytes) in all_fixtures() {
        match kind_of(&name) {
            Kind::Caps => round_trip::<ScannerCapabilities>(&name, &bytes),
            Kind::Settings => round_trip::<ScanSettings>(&name, &bytes),
            Kind::Status => round_trip::<ScannerStatus>(&name, &bytes),
            Kind::ImageInfo => round_trip::<ScanImageInfo>(&name, &bytes),
        }
    }
}

fn round_trip<T: Document + PartialEq + std::fmt::Debug>(name: &str, bytes: &[u8]) {
    let first = T::from_xml(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let xml = first.to_xml();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scan:"));
    assert!(!xml.contains("escl:") || xml.contains("escl:ThreeHundredthsOfInches"));
    let second =
        T::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{name} rewritten: {e}\n{xml}"));
    assert_eq!(first, second, "{name} changed on write -> read");
    // Writing is deterministic, so a second round gives the same text.
    assert_eq!(second.to_xml(), xml, "{name}: second write differs");
}

#[test]
fn a_fixture_of_one_type_is_refused_by_the_other_readers() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    for (name, bytes) in all_fixtures() {
        let kind = kind_of(&name);
        let results = [
            (Kind::Caps, ScannerCapabilities::from_xml(&bytes).err()),
            (Kind::Settings, ScanSettings::from_xml(&bytes).err()),
            (Kind::Status, ScannerStatus::from_xml(&bytes).err()),
            (Kind::ImageInfo, ScanImageInfo::from_xml(&bytes).err()),
        ];
        for (reader, err) in results {
            if reader == kind {
                assert!(err.is_none(), "{name}: {err:?}");
            } else {
                let msg = err
                    .unwrap_or_else(|| panic!("{name} accepted by {reader:?}"))
                    .to_string();
                assert!(
                    msg.starts_with("wrong root element: found <scan:"),
                    "{name}: {msg}"
                );
            }
        }
    }
}

#[test]
fn canon_d570_platen_only() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-canon-d570.xml");
    assert_eq!(c.version.as_deref(), Some("2.62"));
    assert_eq!(c.make_and_model.as_deref(), Some("CND570"));
    assert_eq!(c.serial_number.as_deref(), Some("WQL19155"));
    assert_eq!(
        c.uuid.as_deref(),
        Some("01c80000-fe7f-11de-8a39-74bfc0200d3b")
    );
    assert_eq!(
        c.icon_uri.as_deref(),
        Some("http://Canon200d3b.local/media/platen_128x128.png")
    );
    assert!(c.adf.is_none() && c.camera.is_none());
    let p = c.platen.as_ref().unwrap();
    assert_eq!(
        (p.min_width, p.max_width, p.min_height, p.max_height),
        (Some(1), 2550, Some(1), 3508)
    );
    assert_eq!(p.max_scan_regions, Some(1));
    assert_eq!(xs(&p.discrete_resolutions()), [75, 150, 300]);
    assert_eq!(p.color_modes(), [ColorMode::Grayscale8, ColorMode::Rgb24]);
    assert_eq!(
        p.setting_profiles[0].document_formats,
        ["image/jpeg", "application/pdf"]
    );
    assert_eq!(
        p.setting_profiles[0].document_format_exts,
        ["image/jpeg", "application/pdf"]
    );
    assert_eq!(p.supported_intents.len(), 4);
    assert_eq!(p.feed_directions, [FeedDirection::ShortEdgeFeed]);
    assert_eq!(c.compression_factor_support, None);
}

#[test]
fn hp_deskjet_2540_junk_identity_and_ranges_without_normal() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-hp-deskjet-2540.xml");
    assert_eq!(c.version.as_deref(), Some("2.0"));
    assert_eq!(c.make_and_model.as_deref(), Some("xxxx"));
    assert_eq!(c.serial_number.as_deref(), Some("25"));
    assert_eq!(c.uuid, None);
    assert!(c.adf.is_none());
    let p = c.platen.as_ref().unwrap();
    assert_eq!(p.max_resolution(), Some(2400));
    assert_eq!(p.max_optical_x_resolution, Some(2400));
    assert_eq!(
        (
            p.risky_left_margin,
            p.risky_right_margin,
            p.risky_top_margin,
            p.risky_bottom_margin
        ),
        (Some(34), Some(33), Some(34), Some(46))
    );
    assert_eq!(
        p.setting_profiles[0].color_spaces,
        [ColorSpace::Ycc, ColorSpace::Rgb, ColorSpace::Srgb]
    );
    assert_eq!(
        p.setting_profiles[0].content_types,
        [
            ContentType::Photo,
            ContentType::Text,
            ContentType::TextAndPhoto
        ]
    );
    assert_eq!(
        c.brightness_support,
        Some(Range {
            min: 0,
            max: 2000,
            normal: None,
            step: Some(1)
        })
    );
    assert_eq!(c.highlight_support.unwrap().normal, Some(179));
    assert_eq!(c.sharpen_support.unwrap().normal, None);
    assert_eq!(c.threshold_support.unwrap().max, 255);
}

#[test]
fn kyocera_m2040dn_quirks() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-kyocera-ecosys-m2040dn.xml");
    assert_eq!(c.make_and_model.as_deref(), Some("Kyocera ECOSYS M2040dn"));
    assert_eq!(
        c.manufacturer, None,
        "pwg:ModelName is not the manufacturer"
    );
    let p = c.platen.as_ref().unwrap();
    assert_eq!((p.max_width, p.max_height), (2551, 3508));
    assert_eq!(p.max_scan_regions, None);
    let res = p.discrete_resolutions();
    assert!(res.contains(&Resolution { x: 200, y: 100 }));
    assert!(res.contains(&Resolution { x: 200, y: 400 }));
    assert_eq!(res.len(), 6);
    // Kyocera spells the intents scan:SupportedIntent.
    assert_eq!(
        sorted_intents(&p.supported_intents),
        sorted_intents(&FOUR_INTENTS)
    );
    assert_eq!(
        p.setting_profiles[0].document_format_exts,
        Vec::<String>::new()
    );
    let adf = c.adf.as_ref().unwrap();
    let simplex = adf.simplex.as_ref().unwrap();
    // ... and misspells FeedDirection as FeedDirections inside the ADF caps.
    assert_eq!(
        simplex.feed_directions,
        [FeedDirection::ShortEdgeFeed, FeedDirection::LongEdgeFeed]
    );
    assert_eq!(simplex.max_height, 4205);
    assert!(adf.duplex.is_some() && adf.supports_duplex());
    assert_eq!(adf.feeder_capacity, Some(75));
    assert_eq!(
        adf.options,
        [
            AdfOption::DetectPaperLoaded,
            AdfOption::SelectSinglePage,
            AdfOption::Duplex
        ]
    );
    assert_eq!(
        c.compression_factor_support,
        Some(Range {
            min: 1,
            max: 5,
            normal: Some(1),
            step: Some(1)
        })
    );
    assert_eq!(
        c.sharpen_support,
        Some(Range {
            min: -3,
            max: 3,
            normal: Some(0),
            step: Some(1)
        })
    );
}

#[test]
fn hp_laserjet_m426fdn_one_line_document() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-hp-laserjet-mfp-m426fdn.xml");
    assert_eq!(c.version.as_deref(), Some("2.5"));
    assert_eq!(c.make_and_model.as_deref(), Some("HP LaserJet MFP M426fdn"));
    assert_eq!(c.uuid, None);
    let p = c.platen.as_ref().unwrap();
    assert_eq!(p.min_width, Some(576));
    assert_eq!(p.max_resolution(), Some(1200));
    assert_eq!(p.color_modes(), [ColorMode::Rgb24, ColorMode::Grayscale8]);
    assert_eq!(c.adf_simplex().unwrap().max_height, 4500);
    assert_eq!(c.adf_simplex().unwrap().max_resolution(), Some(300));
    assert_eq!(c.adf_duplex().unwrap().max_resolution(), Some(300));
    assert_eq!(c.adf.as_ref().unwrap().feeder_capacity, Some(50));
    assert_eq!(
        c.contrast_support,
        Some(Range {
            min: -127,
            max: 127,
            normal: Some(0),
            step: Some(1)
        })
    );
}

#[test]
fn canon_mf642c_wrong_namespace_content_type_and_simplex_only_adf() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-canon-mf642c-643c-644c.xml");
    assert_eq!(c.manufacturer.as_deref(), Some("Canon"));
    assert_eq!(
        c.version.as_deref(),
        Some("2.63"),
        "Certifications/Version must not win"
    );
    let p = c.platen.as_ref().unwrap();
    assert_eq!(
        p.setting_profiles[0].content_types,
        [
            ContentType::Photo,
            ContentType::Text,
            ContentType::TextAndPhoto
        ],
        "scan:ContentType is read like pwg:ContentType"
    );
    assert_eq!(
        (p.max_physical_width, p.max_physical_height),
        (Some(2551), Some(4200))
    );
    assert_eq!(xs(&p.discrete_resolutions()), [300]);
    assert_eq!(
        p.setting_profiles[0].ccd_channels,
        [CcdChannel::Red, CcdChannel::Green, CcdChannel::Blue]
    );
    let adf = c.adf.as_ref().unwrap();
    assert!(adf.simplex.is_some() && adf.duplex.is_none() && !adf.supports_duplex());
    assert_eq!(adf.feeder_capacity, Some(100));
    let j = adf.justification.as_ref().unwrap();
    assert_eq!(
        (j.x.clone(), j.y.clone()),
        (Some(ImagePosition::Center), Some(ImagePosition::Top))
    );
    assert_eq!(
        c.sharpen_support,
        Some(Range {
            min: 1,
            max: 7,
            normal: Some(4),
            step: Some(1)
        })
    );
}

#[test]
fn brother_mfc_l2710dw_zero_physical_size() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-brother-mfc-l2710dw.xml");
    assert_eq!(
        c.make_and_model.as_deref(),
        Some("Brother MFC-L2710DW series")
    );
    let p = c.platen.as_ref().unwrap();
    assert_eq!(
        (p.max_physical_width, p.max_physical_height),
        (Some(0), Some(0))
    );
    assert_eq!(xs(&p.discrete_resolutions()), [100, 200, 300, 600]);
    assert_eq!(p.max_optical_x_resolution, Some(2400));
    let profile = &p.setting_profiles[0];
    assert_eq!(
        profile.color_spaces,
        [ColorSpace::Cmyk, ColorSpace::Ycc, ColorSpace::Srgb]
    );
    assert_eq!(
        profile.binary_renderings,
        [BinaryRendering::Halftone, BinaryRendering::Threshold]
    );
    assert_eq!(
        p.color_modes(),
        [
            ColorMode::BlackAndWhite1,
            ColorMode::Grayscale8,
            ColorMode::Rgb24
        ]
    );
    let adf = c.adf.as_ref().unwrap();
    assert!(adf.duplex.is_none());
    assert_eq!(adf.feeder_capacity, Some(20));
    assert_eq!(adf.options, [AdfOption::DetectPaperLoaded]);
}

#[test]
fn brother_mfc_l8690cdw_duplex_optical_resolution_differs() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-brother-mfc-l8690cdw.xml");
    assert_eq!(c.serial_number.as_deref(), Some("..."));
    let simplex = c.adf_simplex().unwrap();
    assert_eq!(simplex.max_resolution(), Some(600));
    assert_eq!(simplex.max_optical_y_resolution, Some(2400));
    let duplex = c.adf_duplex().unwrap();
    assert_eq!(duplex.max_resolution(), Some(600));
    assert_eq!(
        (
            duplex.max_optical_x_resolution,
            duplex.max_optical_y_resolution
        ),
        (Some(1200), Some(2400))
    );
    assert_eq!(
        c.adf.as_ref().unwrap().options,
        [AdfOption::DetectPaperLoaded, AdfOption::Duplex]
    );
}

#[test]
fn brother_ds_940dw_sheet_feeder_without_platen() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-brother-ds-940dw.xml");
    assert!(c.platen.is_none());
    let adf = c.adf.as_ref().unwrap();
    let simplex = adf.simplex.as_ref().unwrap();
    assert_eq!(simplex.max_height, 36600);
    assert_eq!(
        (simplex.min_page_width, simplex.min_page_height),
        (Some(600), Some(870))
    );
    assert_eq!(adf.duplex.as_ref().unwrap().max_height, 4200);
    assert_eq!(adf.feeder_capacity, Some(1));
    assert!(simplex
        .color_modes()
        .contains(&ColorMode::AutoColorDetection));
    let profile = &simplex.setting_profiles[0];
    assert_eq!(
        profile.color_spaces,
        [ColorSpace::Ycc, ColorSpace::Rgb, ColorSpace::Srgb]
    );
    assert!(profile.ccd_channels.contains(&CcdChannel::GrayCcdEmulated));
    assert_eq!(
        simplex.document_formats(),
        ["image/jpeg", "application/octet-stream", "application/pdf"]
    );
    let j = adf.justification.as_ref().unwrap();
    assert_eq!(
        (j.x.clone(), j.y.clone()),
        (
            Some(ImagePosition::Left),
            Some(ImagePosition::NoJustification)
        )
    );
    assert!(adf.options.contains(&AdfOption::MultipickDetection));
    assert_eq!(
        c.threshold_support,
        Some(Range {
            min: 0,
            max: 255,
            normal: Some(128),
            step: Some(1)
        })
    );
    assert_eq!(c.blank_page_detection, Some(true));
    assert_eq!(c.admin_uri.as_deref(), Some("http://HOSTNAME.local./"));
    // Device-side processing: auto-crop, blank detection with a sensitivity, no removal, no
    // brightness or contrast.
    assert_eq!(c.auto_crop, Some(true));
    assert_eq!(c.blank_page_detection_and_removal, None);
    assert_eq!(c.blank_page_sensitivity_support, Some(SENSITIVITY_0_255));
    assert_eq!((c.brightness_support, c.contrast_support), (None, None));
}

/// `BlankPageSensitivitySupport` of the Brother DS-940DW and the HP ScanJet Pro 4500.
const SENSITIVITY_0_255: Range = Range {
    min: 0,
    max: 255,
    normal: Some(128),
    step: Some(1),
};

#[test]
fn hp_pagewide_477dw() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-hp-pagewide-pro-477dw.xml");
    assert_eq!(
        c.make_and_model.as_deref(),
        Some("HP PageWide Pro 477dw MFP")
    );
    let p = c.platen.as_ref().unwrap();
    assert_eq!(p.max_height, 4201);
    assert_eq!(p.max_resolution(), Some(1200));
    assert_eq!(c.adf_simplex().unwrap().max_resolution(), Some(300));
    assert!(c.adf.as_ref().unwrap().supports_duplex());
    assert_eq!(
        c.brightness_support,
        Some(Range {
            min: 0,
            max: 2000,
            normal: Some(1000),
            step: Some(1)
        })
    );
}

#[test]
fn hp_scanjet_4500_comment_on_declaration_line() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-hp-scanjet-pro-4500-fn1.xml");
    assert_eq!(
        c.uuid.as_deref(),
        Some("FC944F9F-3A57-4d62-82CF-2E557AF58D55")
    );
    assert_eq!(c.platen.as_ref().unwrap().max_resolution(), Some(1200));
    assert_eq!(c.adf_simplex().unwrap().max_resolution(), Some(600));
    assert_eq!(c.adf_simplex().unwrap().max_height, 36600);
    assert_eq!(c.adf_duplex().unwrap().max_height, 4200);
    let adf = c.adf.as_ref().unwrap();
    assert_eq!(adf.feeder_capacity, Some(50));
    assert_eq!(
        adf.options,
        [
            AdfOption::DetectPaperLoaded,
            AdfOption::Duplex,
            AdfOption::MultipickDetection
        ]
    );
    assert_eq!(c.compression_factor_support.unwrap().max, 11);
    assert_eq!(c.gamma_support.unwrap().normal, Some(180));
    assert_eq!(c.noise_removal_support.unwrap().normal, Some(1000));
    assert_eq!(c.shadow_support.unwrap().normal, Some(78));
    // Device-side processing.
    assert_eq!(c.auto_crop, Some(true));
    assert_eq!(c.blank_page_detection, Some(true));
    assert_eq!(c.blank_page_detection_and_removal, None);
    assert_eq!(c.blank_page_sensitivity_support, Some(SENSITIVITY_0_255));
    let level = Range {
        min: 0,
        max: 2000,
        normal: Some(1000),
        step: Some(1),
    };
    assert_eq!(
        (c.brightness_support, c.contrast_support),
        (Some(level), Some(level))
    );
}

#[test]
fn hp_officejet_6978_duplex_differs_from_simplex() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let c = caps("caps-hp-officejet-pro-6978.xml");
    let simplex = c.adf_simplex().unwrap();
    let duplex = c.adf_duplex().unwrap();
    assert_eq!((simplex.min_width, simplex.max_height), (Some(8), 4200));
    assert_eq!((duplex.min_width, duplex.max_height), (Some(1748), 3507));
    let j = c.adf.as_ref().unwrap().justification.as_ref().unwrap();
    assert_eq!(
        (j.x.clone(), j.y.clone()),
        (Some(ImagePosition::Right), Some(ImagePosition::Top))
    );
    let p = c.platen.as_ref().unwrap();
    assert_eq!(
        (
            p.risky_left_margin,
            p.risky_right_margin,
            p.risky_top_margin,
            p.risky_bottom_margin
        ),
        (Some(50), Some(18), Some(50), Some(15))
    );
}

#[test]
fn sane_airscan_2020_settings() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = settings("settings-sane-airscan-2020-kyocera-m2040dn-platen.xml");
    assert_eq!(s.version.as_deref(), Some("2.0"));
    assert_eq!(s.intent, None);
    assert_eq!(s.scan_regions.len(), 1);
    let r = &s.scan_regions[0];
    assert_eq!(r.units, ContentRegionUnits::ThreeHundredthsOfInches);
    assert_eq!(
        (r.x_offset, r.y_offset, r.width, r.height),
        (0, 0, 2551, 3508)
    );
    assert_eq!(s.scan_regions_must_honor, None);
    assert_eq!(s.input_source, Some(InputSource::Platen));
    assert_eq!(s.color_mode, Some(ColorMode::Rgb24));
    assert_eq!(s.format(), Some("image/jpeg"));
    assert_eq!(s.document_format_ext, None);
    assert_eq!((s.x_resolution, s.y_resolution), (Some(300), Some(300)));
    assert_eq!(s.duplex, None);
}

#[test]
fn hp_client_settings_with_escl_prefix_and_must_honor() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = settings("settings-hp-client-pagewide-pro-477dw-feeder.xml");
    assert_eq!(s.version.as_deref(), Some("2.5"));
    assert_eq!(s.intent, Some(Intent::Document));
    assert_eq!(s.scan_regions_must_honor, Some(false));
    let r = &s.scan_regions[0];
    assert_eq!(
        (r.x_offset, r.y_offset, r.width, r.height),
        (0, 0, 2550, 3300)
    );
    assert_eq!(s.document_format, None);
    assert_eq!(s.format(), Some("image/jpeg"));
    assert_eq!(s.input_source, Some(InputSource::Feeder));
    assert_eq!(s.color_mode, Some(ColorMode::Rgb24));
    assert_eq!(s.compression_factor, Some(0));
}

#[test]
fn kyocera_status_processing() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = status("status-kyocera-ecosys-m2040dn-processing-adfprocessing.xml");
    assert_eq!(s.version.as_deref(), Some("2.62"));
    assert_eq!(s.state, ScannerState::Processing);
    assert_eq!(s.adf_state, Some(AdfState::Processing));
    assert_eq!(s.jobs.len(), 5);
    let running = &s.jobs[0];
    assert_eq!(
        running.job_uri,
        "/eSCL/ScanJobs/urn:uuid:4509a320-00a0-008f-00b6-00559a327d32"
    );
    assert_eq!(
        running.job_uuid.as_deref(),
        Some("urn:uuid:4509a320-00a0-008f-00b6-00559a327d32")
    );
    assert_eq!(running.job_state, Some(JobState::Processing));
    assert_eq!(
        running.job_state_reasons,
        [JobStateReason::JobScanningAndTransferring]
    );
    assert_eq!(running.images_completed, Some(0));
    assert_eq!(running.images_to_transfer, None);
    let ages: Vec<_> = s.jobs.iter().map(|j| j.age.unwrap()).collect();
    assert_eq!(ages, [2, 19, 35, 60, 72]);
    assert!(s.jobs[1..]
        .iter()
        .all(|j| j.job_state == Some(JobState::Completed)));
}

#[test]
fn hp_m426fdn_status_idle_adf_empty() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = status("status-hp-laserjet-mfp-m426fdn-idle-adfempty.xml");
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::Empty));
    assert_eq!(s.jobs.len(), 2);
    let j = &s.jobs[0];
    assert_eq!(j.job_uri, "/eSCL/ScanJobs/1005");
    assert_eq!(j.job_uuid.as_deref(), Some("166-1005"));
    assert_eq!(
        (j.age, j.images_completed, j.images_to_transfer),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(
        j.job_state_reasons,
        [JobStateReason::JobCompletedSuccessfully]
    );
}

#[test]
fn hp_477dw_status_idle_adf_loaded() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = status("status-hp-pagewide-pro-477dw-idle-adfloaded.xml");
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::Loaded));
    let done: Vec<_> = s.jobs.iter().map(|j| j.images_completed.unwrap()).collect();
    assert_eq!(done, [9, 8]);
    assert_eq!(s.jobs[1].age, Some(100_247));
}

#[test]
fn hp_scanjet_4500_status_with_ledm_namespaces() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = status("status-hp-scanjet-pro-4500-fn1-processing.xml");
    assert_eq!(s.state, ScannerState::Processing);
    assert_eq!(s.adf_state, Some(AdfState::Empty));
    assert_eq!(s.jobs[0].job_uri, "/eSCL/ScanJobs/2");
    assert_eq!(s.jobs[0].job_uuid.as_deref(), Some("1876-0002"));
    assert_eq!(s.jobs[0].job_state, Some(JobState::Processing));
    assert_eq!(s.jobs[0].job_state_reasons, [JobStateReason::JobScanning]);
    assert_eq!(s.jobs[0].age, Some(0));
    assert_eq!(s.jobs[1].job_state, Some(JobState::Completed));
}

#[test]
fn brother_status_job_uri_is_trimmed() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let s = status("status-brother-mfc-l2710dw-idle-adfempty.xml");
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::Empty));
    assert_eq!(s.jobs.len(), 3);
    let uri = "/eSCL/ScanJobs/71af3a90-8d5b-11ee-80cb-3c2af4493199";
    assert_eq!(s.jobs[0].job_uri, uri);
    let job = s.job(uri).expect("lookup by JobUri");
    assert_eq!(
        job.job_uuid.as_deref(),
        Some("urn:uuid:71af3a90-8d5b-11ee-80cb-3c2af4493199")
    );
    assert_eq!(job.age, Some(289_564));
}

#[test]
fn hp_scan_image_info() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let info =
        ScanImageInfo::from_xml(&fixture("scanimageinfo-hp-pagewide-pro-477dw.xml")).unwrap();
    assert_eq!(
        info.job_uri.as_deref(),
        Some("/eSCL/ScanJobs/1ca435c6-3c75-1f09-99ab-3822e23ba011")
    );
    assert_eq!(
        info.job_uuid.as_deref(),
        Some("1ca435c6-3c75-1f09-99ab-3822e23ba011")
    );
    assert_eq!((info.actual_width, info.actual_height), (2550, 3300));
    assert_eq!(info.actual_bytes_per_line, Some(7650));
}
