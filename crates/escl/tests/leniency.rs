//! What real peers send that a strict reader would refuse: other prefixes, default namespaces,
//! undeclared prefixes, wrong namespaces, vendor values, odd layouts.

use scanwire_escl::{
    AdfState, ColorMode, ContentRegionUnits, Document, ImagePosition, InputSource, Intent,
    JobState, Range, Resolution, ScanSettings, ScannerCapabilities, ScannerState, ScannerStatus,
};

const ESCL: &str = "http://schemas.hp.com/imaging/escl/2011/05/03";
const PWG: &str = "http://www.pwg.org/schemas/2010/12/sm";

fn settings(xml: &str) -> ScanSettings {
    ScanSettings::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn caps(xml: &str) -> ScannerCapabilities {
    ScannerCapabilities::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

/// The same request in every spelling must read the same.
#[test]
fn prefixes_and_default_namespaces_do_not_matter() {
    let canonical = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="{ESCL}" xmlns:pwg="{PWG}">
  <pwg:Version>2.6</pwg:Version>
  <scan:Intent>Photo</scan:Intent>
  <pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
    <pwg:XOffset>10</pwg:XOffset><pwg:YOffset>20</pwg:YOffset><pwg:Width>300</pwg:Width><pwg:Height>600</pwg:Height>
  </pwg:ScanRegion></pwg:ScanRegions>
  <pwg:InputSource>Platen</pwg:InputSource>
  <scan:ColorMode>Grayscale8</scan:ColorMode>
  <scan:XResolution>150</scan:XResolution>
  <scan:YResolution>150</scan:YResolution>
</scan:ScanSettings>"#
    );
    let expected = settings(&canonical);
    assert_eq!(expected.intent, Some(Intent::Photo));
    assert_eq!(expected.scan_regions[0].x_offset, 10);

    let variants = [
        // Other prefixes (HP's client uses escl:).
        canonical
            .replace("scan:", "e:")
            .replace("pwg:", "p:")
            .replace("xmlns:scan=", "xmlns:e=")
            .replace("xmlns:pwg=", "xmlns:p=")
            .replace(
                ">e:ThreeHundredthsOfInches<",
                ">escl:ThreeHundredthsOfInches<",
            ),
        // A default namespace for eSCL (node-hp-scan-to, HP software templates).
        canonical.replace("scan:", "").replace(
            &format!("xmlns:scan=\"{ESCL}\""),
            &format!("xmlns=\"{ESCL}\""),
        ),
        // Undeclared scan:/pwg: prefixes, as in sane-airscan-style fragments.
        canonical.replace(&format!(" xmlns:scan=\"{ESCL}\" xmlns:pwg=\"{PWG}\""), ""),
        // No namespace at all.
        canonical
            .replace(&format!(" xmlns:scan=\"{ESCL}\" xmlns:pwg=\"{PWG}\""), "")
            .replace("scan:", "")
            .replace("pwg:", "")
            .replace(
                ">ThreeHundredthsOfInches<",
                ">escl:ThreeHundredthsOfInches<",
            ),
        // Every element redeclaring its namespace as the default.
        format!(
            r#"<ScanSettings xmlns="{ESCL}">
  <Version xmlns="{PWG}">2.6</Version>
  <Intent>Photo</Intent>
  <ScanRegions xmlns="{PWG}"><ScanRegion><Height>600</Height><Width>300</Width><YOffset>20</YOffset><XOffset>10</XOffset>
    <ContentRegionUnits>escl:ThreeHundredthsOfInches</ContentRegionUnits></ScanRegion></ScanRegions>
  <InputSource xmlns="{PWG}">Platen</InputSource>
  <YResolution>150</YResolution><XResolution>150</XResolution>
  <ColorMode>Grayscale8</ColorMode>
</ScanSettings>"#
        ),
    ];
    for (i, xml) in variants.iter().enumerate() {
        assert_ne!(xml, &canonical, "variant {i} is not a variant");
        assert_eq!(settings(xml), expected, "variant {i}:\n{xml}");
    }
}

#[test]
fn foreign_namespaces_are_skipped_even_when_first() {
    let xml = format!(
        r#"<scan:ScanSettings xmlns:scan="{ESCL}" xmlns:x="urn:example:other">
  <x:ColorMode>Sepia</x:ColorMode>
  <foo:ColorMode>Neon</foo:ColorMode>
  <scan:ColorMode x:extra="1">RGB24</scan:ColorMode>
  <x:XResolution>not a number</x:XResolution>
</scan:ScanSettings>"#
    );
    let s = settings(&xml);
    assert_eq!(s.color_mode, Some(ColorMode::Rgb24));
    assert_eq!(s.x_resolution, None);
}

#[test]
fn text_framing_bom_crlf_comments_cdata_entities() {
    let xml = format!(
        "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<!-- a comment -->\r\n<!---->\r\n\
         <scan:ScannerStatus xmlns:scan=\"{ESCL}\" xmlns:pwg=\"{PWG}\">\r\n\
         <pwg:State>\r\n\t Idle \r\n</pwg:State>\r\n\
         <scan:Jobs><scan:JobInfo>\r\n\
         <pwg:JobUri>\r\n  /eSCL/ScanJobs/a&amp;b<!-- split -->-<![CDATA[<c>]]>&#x41;&#66;\r\n  </pwg:JobUri>\r\n\
         <pwg:JobState>PendingHeld</pwg:JobState>\r\n\
         </scan:JobInfo></scan:Jobs>\r\n\
         <scan:AdfState>ScannerAdfDoorOpen</scan:AdfState>\r\n\
         </scan:ScannerStatus>\r\n"
    );
    let s = ScannerStatus::from_xml(xml.as_bytes()).unwrap();
    assert_eq!(s.state, ScannerState::Idle);
    assert_eq!(s.adf_state, Some(AdfState::DoorOpen));
    assert_eq!(s.jobs[0].job_uri, "/eSCL/ScanJobs/a&b-<c>AB");
    assert_eq!(s.jobs[0].job_state, Some(JobState::PendingHeld));
}

#[test]
fn booleans_must_honor_and_element_order() {
    for (text, expected) in [
        ("true", true),
        ("1", true),
        ("TRUE", true),
        ("false", false),
        ("0", false),
        (" False ", false),
    ] {
        let xml = format!(
            r#"<scan:ScanSettings xmlns:scan="{ESCL}" xmlns:pwg="{PWG}">
  <scan:Duplex>{text}</scan:Duplex>
  <scan:YResolution>300</scan:YResolution>
  <pwg:ScanRegions pwg:MustHonor="{text}"><pwg:ScanRegion><pwg:Width>1</pwg:Width><pwg:Height>2</pwg:Height></pwg:ScanRegion></pwg:ScanRegions>
  <pwg:InputSource>Feeder</pwg:InputSource>
  <scan:XResolution>300</scan:XResolution>
</scan:ScanSettings>"#,
            text = text.trim(),
        );
        let s = settings(&xml);
        assert_eq!(s.duplex, Some(expected), "{text}");
        assert_eq!(s.scan_regions_must_honor, Some(expected), "{text}");
        assert_eq!(s.input_source, Some(InputSource::Feeder));
        assert_eq!((s.x_resolution, s.y_resolution), (Some(300), Some(300)));
    }
}

#[test]
fn windows_style_minimal_request_is_all_defaults() {
    // No Intent, no regions, only DocumentFormatExt (Windows 11); defaults are the server's job.
    let s = settings(&format!(
        r#"<scan:ScanSettings xmlns:scan="{ESCL}"><scan:DocumentFormatExt>application/pdf</scan:DocumentFormatExt></scan:ScanSettings>"#
    ));
    assert_eq!(s.format(), Some("application/pdf"));
    assert_eq!(s.intent, None);
    assert!(s.scan_regions.is_empty());
    assert_eq!(s.duplex, None);
    // A region with neither units nor offsets gets the documented defaults.
    let s = settings(&format!(
        r#"<scan:ScanSettings xmlns:scan="{ESCL}" xmlns:pwg="{PWG}"><pwg:ScanRegions><pwg:ScanRegion><pwg:Width>850</pwg:Width><pwg:Height>1100</pwg:Height></pwg:ScanRegion></pwg:ScanRegions></scan:ScanSettings>"#
    ));
    let r = &s.scan_regions[0];
    assert_eq!(
        (r.units.clone(), r.x_offset, r.y_offset),
        (ContentRegionUnits::ThreeHundredthsOfInches, 0, 0)
    );
}

#[test]
fn unknown_values_are_kept() {
    let s = settings(&format!(
        r#"<scan:ScanSettings xmlns:scan="{ESCL}" xmlns:pwg="{PWG}">
  <scan:ColorMode>LineArt</scan:ColorMode><scan:Intent>scan:Whiteboard</scan:Intent>
  <pwg:InputSource>ADF</pwg:InputSource>
  <pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>pwg:Millimeters</pwg:ContentRegionUnits><pwg:Width>1</pwg:Width><pwg:Height>1</pwg:Height></pwg:ScanRegion></pwg:ScanRegions>
</scan:ScanSettings>"#
    ));
    assert_eq!(s.color_mode, Some(ColorMode::Other("LineArt".into())));
    assert_eq!(s.intent, Some(Intent::Other("scan:Whiteboard".into())));
    assert_eq!(s.input_source, Some(InputSource::Other("ADF".into())));
    assert_eq!(
        s.scan_regions[0].units,
        ContentRegionUnits::Other("pwg:Millimeters".into())
    );
    // Known values match without their prefix and regardless of case.
    assert_eq!(
        ColorMode::from_wire("scan:AutoColorDetection"),
        ColorMode::AutoColorDetection
    );
    assert_eq!(
        ColorMode::from_wire("AutoColorDetection"),
        ColorMode::AutoColorDetection
    );
    assert_eq!(ColorMode::from_wire("rgb24"), ColorMode::Rgb24);
    assert_eq!(
        ColorMode::AutoColorDetection.as_str(),
        "scan:AutoColorDetection"
    );
    assert_eq!(AdfState::from_wire("ScannerAdfJam"), AdfState::Jam);
}

fn platen_caps(inner: &str, top: &str) -> String {
    format!(
        r#"<scan:ScannerCapabilities xmlns:scan="{ESCL}" xmlns:pwg="{PWG}">
{top}
<scan:Platen><scan:PlatenInputCaps>
  <scan:MinWidth>16</scan:MinWidth><scan:MinHeight>16</scan:MinHeight>
  <scan:MaxWidth>2550</scan:MaxWidth><scan:MaxHeight>3508</scan:MaxHeight>
  {inner}
</scan:PlatenInputCaps></scan:Platen>
</scan:ScannerCapabilities>"#
    )
}

#[test]
fn top_level_profiles_referenced_by_name() {
    // HP Color Laser 179fnw: profiles at the top level, before Platen.
    let top = r#"<scan:SettingProfiles>
  <scan:SettingProfile name="p1"><scan:ColorModes><scan:ColorMode>RGB24</scan:ColorMode></scan:ColorModes>
    <scan:SupportedResolutions><scan:DiscreteResolutions><scan:DiscreteResolution><scan:XResolution>600</scan:XResolution><scan:YResolution>600</scan:YResolution></scan:DiscreteResolution></scan:DiscreteResolutions></scan:SupportedResolutions>
  </scan:SettingProfile>
  <scan:SettingProfile name="p2"><scan:ColorModes><scan:ColorMode>Grayscale8</scan:ColorMode></scan:ColorModes></scan:SettingProfile>
</scan:SettingProfiles>"#;
    let c = caps(&platen_caps(
        r#"<scan:SettingProfiles><scan:SettingProfile ref="p2"/><scan:SettingProfile ref="p1"/></scan:SettingProfiles>"#,
        top,
    ));
    let p = c.platen.unwrap();
    assert_eq!(p.color_modes(), [ColorMode::Grayscale8, ColorMode::Rgb24]);
    assert_eq!(p.max_resolution(), Some(600));
}

#[test]
fn xerox_layouts_per_mode_resolutions_unqualified_ranges_scan_justification() {
    let inner = r#"<scan:SettingProfiles><scan:SettingProfile>
  <scan:ColorModes><scan:ColorMode>RGB24</scan:ColorMode><scan:ColorMode>BlackAndWhite1</scan:ColorMode></scan:ColorModes>
  <scan:SupportedResolutions><scan:ColorMode>RGB24</scan:ColorMode><scan:DiscreteResolutions>
    <scan:DiscreteResolution><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution></scan:DiscreteResolution></scan:DiscreteResolutions></scan:SupportedResolutions>
  <scan:SupportedResolutions><scan:ColorMode>BlackAndWhite1</scan:ColorMode><scan:DiscreteResolutions>
    <scan:DiscreteResolution><scan:XResolution>600</scan:XResolution><scan:YResolution>600</scan:YResolution></scan:DiscreteResolution></scan:DiscreteResolutions></scan:SupportedResolutions>
</scan:SettingProfile></scan:SettingProfiles>"#;
    let top = "<scan:BrightnessSupport><Min>-100</Min><Max>100.0</Max><Normal>0</Normal><Step>1</Step></scan:BrightnessSupport>";
    let mut xml = platen_caps(inner, top);
    xml = xml.replace(
        "</scan:Platen>",
        "</scan:Platen><scan:Adf><scan:AdfSimplexInputCaps><scan:MaxWidth>2550</scan:MaxWidth><scan:MaxHeight>4200</scan:MaxHeight></scan:AdfSimplexInputCaps>\
         <scan:Justification><scan:XImagePosition>Center</scan:XImagePosition><scan:YImagePosition>Top</scan:YImagePosition></scan:Justification></scan:Adf>",
    );
    let c = caps(&xml);
    let p = c.platen.as_ref().unwrap();
    assert_eq!(
        p.discrete_resolutions(),
        [Resolution { x: 300, y: 300 }, Resolution { x: 600, y: 600 }]
    );
    assert_eq!(
        c.brightness_support,
        Some(Range {
            min: -100,
            max: 100,
            normal: Some(0),
            step: Some(1)
        })
    );
    let j = c.adf.as_ref().unwrap().justification.clone().unwrap();
    assert_eq!(
        (j.x, j.y),
        (Some(ImagePosition::Center), Some(ImagePosition::Top))
    );
    assert_eq!(c.adf_simplex().unwrap().max_height, 4200);
    assert!(c.adf_duplex().is_none());
}

#[test]
fn resolution_ranges_in_both_spellings() {
    let range = |x: &str, y: &str| {
        format!(
            r#"<scan:SettingProfiles><scan:SettingProfile><scan:SupportedResolutions><scan:ResolutionRange>
  <scan:{x}><scan:Min>75</scan:Min><scan:Max>1200</scan:Max><scan:Normal>300</scan:Normal><scan:Step>1</scan:Step></scan:{x}>
  <scan:{y}><scan:Min>75</scan:Min><scan:Max>600</scan:Max><scan:Normal>300</scan:Normal><scan:Step>1</scan:Step></scan:{y}>
</scan:ResolutionRange></scan:SupportedResolutions></scan:SettingProfile></scan:SettingProfiles>"#
        )
    };
    for (x, y) in [
        ("XResolutionRange", "YResolutionRange"),
        ("XResolution", "YResolution"),
    ] {
        let c = caps(&platen_caps(&range(x, y), ""));
        let p = c.platen.unwrap();
        let res = &p.setting_profiles[0].supported_resolutions;
        assert!(res.discrete.is_empty());
        assert_eq!(res.ranges.len(), 1);
        assert_eq!(
            res.ranges[0].x,
            Range {
                min: 75,
                max: 1200,
                normal: Some(300),
                step: Some(1)
            }
        );
        assert_eq!(res.ranges[0].y.max, 600);
        assert_eq!(p.max_resolution(), Some(1200));
        assert!(res.ranges[0].x.contains(333) && !res.ranges[0].x.contains(1201));
    }
}

#[test]
fn camera_source() {
    let xml = format!(
        r#"<scan:ScannerCapabilities xmlns:scan="{ESCL}"><scan:Camera><scan:CameraInputCaps>
  <scan:MaxWidth>1000</scan:MaxWidth><scan:MaxHeight>2000</scan:MaxHeight></scan:CameraInputCaps></scan:Camera></scan:ScannerCapabilities>"#
    );
    let c = caps(&xml);
    assert_eq!(c.camera.unwrap().max_height, 2000);
    assert!(c.platen.is_none() && c.adf.is_none());
}

#[test]
fn empty_optional_leaves_read_as_absent() {
    let s = settings(&format!(
        r#"<scan:ScanSettings xmlns:scan="{ESCL}" xmlns:pwg="{PWG}"><scan:Intent/><pwg:DocumentFormat> </pwg:DocumentFormat>
  <scan:DocumentFormatExt>image/png</scan:DocumentFormatExt></scan:ScanSettings>"#
    ));
    assert_eq!((&s.intent, &s.document_format), (&None, &None));
    assert_eq!(s.format(), Some("image/png"));
    // A number cannot be empty, though: that is an error, not a default.
    let err = ScanSettings::from_xml(
        format!(
            r#"<scan:ScanSettings xmlns:scan="{ESCL}"><scan:XResolution/></scan:ScanSettings>"#
        )
        .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad number \"\" in <scan:XResolution> (line 1): expected an integer from 0 to 4294967295"
    );
}

/// The processing elements as vendor clients send them: Foxlink's Android app for its eSCL
/// sheet feeders writes them in the default namespace (`<AutoCrop>`, `<BlankPageDetection>`,
/// `<BlankPageSensitivity>` 0..255), HP's SDK adds `BlankPageDetectionAndRemoval`.
#[test]
fn processing_elements_in_any_spelling() {
    let default_ns = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ScanSettings xmlns="{ESCL}">
  <Version xmlns="{PWG}">2.6</Version>
  <InputSource xmlns="{PWG}">Feeder</InputSource>
  <AutoCrop>true</AutoCrop>
  <BlankPageDetection>true</BlankPageDetection>
  <BlankPageSensitivity>200</BlankPageSensitivity>
  <Brightness>1200</Brightness>
</ScanSettings>"#
    );
    let s = settings(&default_ns);
    assert_eq!(s.auto_crop, Some(true));
    assert_eq!(s.blank_page_detection, Some(true));
    assert_eq!(s.blank_page_sensitivity, Some(200));
    assert_eq!(s.blank_page_detection_and_removal, None);
    assert_eq!(s.brightness, Some(1200));
    let prefixed = format!(
        r#"<escl:ScanSettings xmlns:escl="{ESCL}" xmlns:pwg="{PWG}">
  <pwg:Version>2.63</pwg:Version>
  <escl:BlankPageDetectionAndRemoval>1</escl:BlankPageDetectionAndRemoval>
  <escl:Contrast>0</escl:Contrast>
</escl:ScanSettings>"#
    );
    let s = settings(&prefixed);
    assert_eq!(s.blank_page_detection_and_removal, Some(true));
    assert_eq!(s.contrast, Some(0));
    let bad = format!(
        r#"<scan:ScanSettings xmlns:scan="{ESCL}"><scan:AutoCrop>maybe</scan:AutoCrop></scan:ScanSettings>"#
    );
    let e = ScanSettings::from_xml(bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scan:AutoCrop") && e.contains("true, false, 1 or 0"),
        "{e}"
    );
}
