//! Every real device's ScannerCapabilities (read from the shared fixtures, never copied)
//! maps to the capabilities a person reading the document would expect.

use scanwire_core::device::{Capabilities, ColorMode, Encoding, Resolutions, Source};
use scanwire_escl::{Document, ScannerCapabilities};
use scanwire_escl_client::options;

fn caps(name: &str) -> Capabilities {
    let bytes = std::fs::read(scanwire_testkit::fixtures_path("escl").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let doc = ScannerCapabilities::from_xml(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    options::capabilities(&doc).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sources(c: &Capabilities) -> Vec<Source> {
    c.sources.iter().map(|s| s.source).collect()
}

/// One device's expected facts.
struct Expect {
    file: &'static str,
    model: &'static str,
    sources: &'static [Source],
    /// Highest resolution per source, in the same order.
    max_dpi: &'static [u32],
    modes: &'static [ColorMode],
    /// Flatbed (or first source) size in 1/300 inch.
    area_300ths: (u32, u32),
    feeder_capacity: Option<u32>,
}

use ColorMode::{Color, Gray, Lineart};
use Source::{Feeder, FeederDuplex, Flatbed};

const DEVICES: &[Expect] = &[
    // A sheet-fed duplex scanner with no glass; long-paper mode reaches 122 inches.
    Expect {
        file: "caps-brother-ds-940dw.xml",
        model: "DS-940DW",
        sources: &[Feeder, FeederDuplex],
        max_dpi: &[600, 600],
        modes: &[Gray, Color, Lineart],
        area_300ths: (2550, 36600),
        feeder_capacity: Some(1),
    },
    Expect {
        file: "caps-brother-mfc-l2710dw.xml",
        model: "Brother MFC-L2710DW series",
        sources: &[Flatbed, Feeder],
        max_dpi: &[600, 600],
        modes: &[Lineart, Gray, Color],
        area_300ths: (2550, 3507),
        feeder_capacity: Some(20),
    },
    Expect {
        file: "caps-brother-mfc-l8690cdw.xml",
        model: "Brother MFC-L8690CDW series",
        sources: &[Flatbed, Feeder, FeederDuplex],
        max_dpi: &[600, 600, 600],
        modes: &[Lineart, Gray, Color],
        area_300ths: (2550, 3507),
        feeder_capacity: Some(20),
    },
    Expect {
        file: "caps-canon-d570.xml",
        model: "CND570",
        sources: &[Flatbed],
        max_dpi: &[300],
        modes: &[Gray, Color],
        area_300ths: (2550, 3508),
        feeder_capacity: None,
    },
    Expect {
        file: "caps-canon-mf642c-643c-644c.xml",
        model: "MF642C/643C/644C",
        sources: &[Flatbed, Feeder],
        max_dpi: &[300, 300],
        modes: &[Gray, Color],
        area_300ths: (2551, 4200),
        feeder_capacity: Some(100),
    },
    // The device really calls itself `xxxx`.
    Expect {
        file: "caps-hp-deskjet-2540.xml",
        model: "xxxx",
        sources: &[Flatbed],
        max_dpi: &[2400],
        modes: &[Gray, Color],
        area_300ths: (2550, 3508),
        feeder_capacity: None,
    },
    Expect {
        file: "caps-hp-laserjet-mfp-m426fdn.xml",
        model: "HP LaserJet MFP M426fdn",
        sources: &[Flatbed, Feeder, FeederDuplex],
        max_dpi: &[1200, 300, 300],
        modes: &[Color, Gray],
        area_300ths: (2550, 3508),
        feeder_capacity: Some(50),
    },
    Expect {
        file: "caps-hp-officejet-pro-6978.xml",
        model: "OfficeJet Pro 6978 All-in-One",
        sources: &[Flatbed, Feeder, FeederDuplex],
        max_dpi: &[1200, 300, 300],
        modes: &[Gray, Color],
        area_300ths: (2550, 3550),
        feeder_capacity: Some(50),
    },
    Expect {
        file: "caps-hp-pagewide-pro-477dw.xml",
        model: "HP PageWide Pro 477dw MFP",
        sources: &[Flatbed, Feeder, FeederDuplex],
        max_dpi: &[1200, 300, 300],
        modes: &[Gray, Color],
        area_300ths: (2550, 4201),
        feeder_capacity: Some(50),
    },
    Expect {
        file: "caps-hp-scanjet-pro-4500-fn1.xml",
        model: "HP ScanJet Pro 4500 fn1",
        sources: &[Flatbed, Feeder, FeederDuplex],
        max_dpi: &[1200, 600, 600],
        modes: &[Gray, Color, Lineart],
        area_300ths: (2550, 4200),
        feeder_capacity: Some(50),
    },
    Expect {
        file: "caps-kyocera-ecosys-m2040dn.xml",
        model: "Kyocera ECOSYS M2040dn",
        sources: &[Flatbed, Feeder, FeederDuplex],
        max_dpi: &[600, 600, 600],
        modes: &[Lineart, Gray, Color],
        area_300ths: (2551, 3508),
        feeder_capacity: Some(75),
    },
];

#[test]
fn every_device_maps_to_what_its_document_says() {
    let Some(_) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    for e in DEVICES {
        let c = caps(e.file);
        assert_eq!(c.model, e.model, "{}", e.file);
        assert_eq!(sources(&c), e.sources, "{}", e.file);
        let dpi: Vec<u32> = c.sources.iter().map(|s| s.resolutions.max()).collect();
        assert_eq!(dpi, e.max_dpi, "{}", e.file);
        let first = &c.sources[0];
        assert_eq!(first.modes, e.modes, "{}", e.file);
        assert_eq!(
            (
                first.max_area.width.to_300ths(),
                first.max_area.height.to_300ths()
            ),
            e.area_300ths,
            "{}",
            e.file
        );
        for s in &c.sources {
            // Every device offers JPEG and PDF, so rows (decoded JPEG) and pass-through both work.
            assert!(
                s.encodings.contains(&Encoding::Jpeg) && s.encodings.contains(&Encoding::Pdf),
                "{} {:?}",
                e.file,
                s.source
            );
            assert!(s.raw, "{}", e.file);
            let expected_cap = if s.source.is_feeder() {
                e.feeder_capacity
            } else {
                None
            };
            assert_eq!(s.feeder_capacity, expected_cap, "{} {:?}", e.file, s.source);
        }
    }
}

#[test]
fn every_capabilities_fixture_is_covered() {
    let Some(dir) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("caps-"))
        .collect();
    names.sort();
    let mut covered: Vec<String> = DEVICES.iter().map(|e| e.file.to_string()).collect();
    covered.sort();
    assert_eq!(names, covered);
}

#[test]
fn officejet_duplex_caps_differ_from_simplex() {
    let Some(_) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    // The 6978 lists separate duplex caps: a duplex page must be at least 1748 x 2480 / 300 in.
    let c = caps("caps-hp-officejet-pro-6978.xml");
    let d = c.source(FeederDuplex).unwrap();
    assert_eq!(
        (d.min_size.0.to_300ths(), d.min_size.1.to_300ths()),
        (1748, 2480)
    );
    assert_eq!(d.max_area.height.to_300ths(), 3507);
    assert_eq!(c.source(Feeder).unwrap().max_area.height.to_300ths(), 4200);
}

#[test]
fn discrete_lists_are_exact() {
    let Some(_) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    assert_eq!(
        caps("caps-canon-d570.xml").sources[0].resolutions,
        Resolutions::Discrete(vec![75, 150, 300])
    );
    assert_eq!(
        caps("caps-hp-scanjet-pro-4500-fn1.xml")
            .source(Feeder)
            .unwrap()
            .resolutions,
        Resolutions::Discrete(vec![75, 150, 200, 240, 300, 400, 500, 600])
    );
}

#[test]
fn a_request_maps_to_settings_the_device_reads() {
    let Some(_) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    use scanwire_core::device::{Area, Length, ScanRequest};
    use scanwire_escl::{ColorMode as W, InputSource};
    let c = caps("caps-hp-pagewide-pro-477dw.xml");
    let r = ScanRequest {
        source: FeederDuplex,
        mode: Gray,
        resolution: 200,
        area: Some(Area::sized(
            Length::from_300ths(2550),
            Length::from_300ths(3300),
        )),
        ..Default::default()
    };
    r.validate(&c).unwrap();
    let plan = options::job_plan(&r, &c, Some("2.63"), None).unwrap();
    let s = &plan.settings;
    assert_eq!(s.input_source, Some(InputSource::Feeder));
    assert_eq!(s.duplex, Some(true));
    assert_eq!(s.color_mode, Some(W::Grayscale8));
    assert_eq!((s.x_resolution, s.y_resolution), (Some(200), Some(200)));
    assert_eq!(
        (s.scan_regions[0].width, s.scan_regions[0].height),
        (2550, 3300)
    );
    // Raw rows requested: the driver asks for JPEG (no PNG on this device) and decodes it.
    assert_eq!(plan.wire, Encoding::Jpeg);
    assert!(!plan.pass_through);
    assert_eq!(s.format(), Some("image/jpeg"));
    // And it round-trips through the wire model.
    assert_eq!(
        &scanwire_escl::ScanSettings::from_xml(s.to_xml().as_bytes()).unwrap(),
        s
    );
}

/// The HP ScanJet Pro 4500 crops, detects blank pages (0..255) and sets brightness and
/// contrast (0..2000) itself: a request for those sends the elements in its units, and a
/// request for blank-page removal, which it does not advertise, is refused (it is the
/// local stages' job: `split` keeps it local).
#[test]
fn device_processing_is_asked_of_a_device_that_advertises_it() {
    let Some(_) = scanwire_testkit::fixtures_dir("escl") else {
        return;
    };
    use scanwire_core::device::{
        BlankPages, DeviceProcessingRequest, LevelRange, RequestError, ScanRequest,
    };
    let c = caps("caps-hp-scanjet-pro-4500-fn1.xml");
    let p = &c.processing;
    assert!(p.auto_crop && p.blank_detection && !p.blank_removal);
    assert_eq!(
        p.blank_sensitivity,
        LevelRange::new(0, 255, Some(128), Some(1))
    );
    assert_eq!(p.brightness, LevelRange::new(0, 2000, Some(1000), Some(1)));
    let wanted = DeviceProcessingRequest {
        auto_crop: true,
        blank_pages: BlankPages::Detect,
        blank_sensitivity: Some(50),
        brightness: Some(-250),
        contrast: Some(500),
    };
    let (device, local) = wanted.split(p);
    assert_eq!(device, wanted);
    assert!(local.is_empty());
    let r = ScanRequest {
        source: Feeder,
        mode: Gray,
        resolution: 300,
        processing: device,
        ..Default::default()
    };
    r.validate(&c).unwrap();
    let s = options::job_plan(&r, &c, Some("2.63"), None)
        .unwrap()
        .settings;
    assert_eq!(s.auto_crop, Some(true));
    assert_eq!(s.blank_page_detection, Some(true));
    assert_eq!(s.blank_page_detection_and_removal, None);
    assert_eq!(s.blank_page_sensitivity, Some(128));
    assert_eq!((s.brightness, s.contrast), (Some(750), Some(1500)));
    let xml = s.to_xml();
    for e in [
        "<scan:AutoCrop>true</scan:AutoCrop>",
        "<scan:BlankPageDetection>true</scan:BlankPageDetection>",
        "<scan:BlankPageSensitivity>128</scan:BlankPageSensitivity>",
        "<scan:Brightness>750</scan:Brightness>",
    ] {
        assert!(xml.contains(e), "{e} missing from\n{xml}");
    }
    // Removal is not advertised: refused with what the device can do.
    let remove = ScanRequest {
        processing: DeviceProcessingRequest {
            blank_pages: BlankPages::Remove,
            ..Default::default()
        },
        ..r
    };
    let e = remove.validate(&c).unwrap_err();
    assert!(matches!(e, RequestError::Processing { .. }), "{e}");
    assert!(e.to_string().contains("blank-page removal"), "{e}");
    // The Brother DS-940DW has no brightness: a request for it stays local.
    let brother = caps("caps-brother-ds-940dw.xml");
    let (device, local) = DeviceProcessingRequest {
        brightness: Some(100),
        auto_crop: true,
        ..Default::default()
    }
    .split(&brother.processing);
    assert!(device.auto_crop && device.brightness.is_none());
    assert_eq!(local.brightness, Some(100));
}
