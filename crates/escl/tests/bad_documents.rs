//! tests/bad: every document is refused with a message that names the problem; plus the limits
//! a server needs against hostile clients.

use std::path::PathBuf;

use scanwire_escl::{
    Document, Error, ErrorKind, Limits, ScanImageInfo, ScanSettings, ScannerCapabilities,
    ScannerStatus,
};

/// (file, what the message must contain, error kind).
const CASES: &[(&str, &[&str], ErrorKind)] = &[
    ("caps-wrong-root.xml", &["wrong root element: found <scan:ScannerStatus>, expected <scan:ScannerCapabilities>"], ErrorKind::Content),
    ("caps-bad-max-width.xml", &["bad number \"A4\" in <scan:MaxWidth> (line 6)", "expected an integer from 0"], ErrorKind::Content),
    ("caps-missing-max-height.xml", &["missing required element <scan:MaxHeight> in <scan:PlatenInputCaps> (line 5)"], ErrorKind::Content),
    ("caps-no-input-source.xml", &["<scan:ScannerCapabilities> (line 2) describes no input source", "scan:Platen/scan:PlatenInputCaps"], ErrorKind::Content),
    ("caps-negative-resolution.xml", &["bad number \"-300\" in <scan:XResolution> (line 13)", "from 0 to"], ErrorKind::Content),
    ("caps-range-without-max.xml", &["missing required element <scan:Max> in <scan:BrightnessSupport>"], ErrorKind::Content),
    ("caps-dangling-profile-ref.xml", &["bad value \"Color\" in <scan:SettingProfile@ref>", "\"Gray\""], ErrorKind::Content),
    ("caps-unclosed-comment.xml", &["malformed XML at line 2", "comment"], ErrorKind::Syntax),
    ("settings-mismatched-end-tag.xml", &["malformed XML at line 4", "</scan:ColorMode>", "</scan:ColorModes>"], ErrorKind::Syntax),
    ("settings-truncated.xml", &["document ends inside <scan:ScanSettings>", "truncated"], ErrorKind::Syntax),
    ("settings-foreign-root.xml", &["wrong root element: found <{urn:example:not-escl}ScanSettings>, expected <scan:ScanSettings>"], ErrorKind::Content),
    ("settings-bad-duplex.xml", &["bad value \"yes\" in <scan:Duplex> (line 5)", "true, false, 1 or 0"], ErrorKind::Content),
    ("settings-bad-must-honor.xml", &["bad value \"maybe\" in <pwg:ScanRegions@pwg:MustHonor>", "true, false, 1 or 0"], ErrorKind::Content),
    ("settings-region-without-width.xml", &["missing required element <pwg:Width> in <pwg:ScanRegion>"], ErrorKind::Content),
    ("settings-resolution-overflow.xml", &["bad number \"99999999999\" in <scan:XResolution>"], ErrorKind::Content),
    ("settings-fractional-resolution.xml", &["bad number \"300.5\" in <scan:XResolution>"], ErrorKind::Content),
    ("settings-unknown-entity.xml", &["malformed XML at line 4", "unknown entity &nbsp;"], ErrorKind::Syntax),
    ("settings-control-character.xml", &["malformed XML at line 4", "&#1; is not a character allowed in XML"], ErrorKind::Syntax),
    ("settings-two-roots.xml", &["malformed XML at line 6", "second root element"], ErrorKind::Syntax),
    ("settings-text-after-root.xml", &["malformed XML at line 6, column 1", "text after the root element"], ErrorKind::Syntax),
    ("settings-no-root.xml", &["no root element"], ErrorKind::Syntax),
    ("settings-duplicate-attribute.xml", &["malformed XML at line 2, column 141: duplicate attribute (first given at line 2, column 129)"], ErrorKind::Syntax),
    ("settings-latin1.xml", &["not UTF-8", "0xE9", "line 4"], ErrorKind::Syntax),
    ("status-utf16.xml", &["not UTF-8", "UTF-16"], ErrorKind::Syntax),
    ("status-missing-state.xml", &["missing required element <pwg:State> in <scan:ScannerStatus> (line 2)"], ErrorKind::Content),
    ("status-job-without-uri.xml", &["missing required element <pwg:JobUri> in <scan:JobInfo> (line 6)"], ErrorKind::Content),
    ("status-bad-age.xml", &["bad number \"soon\" in <scan:Age> (line 8)"], ErrorKind::Content),
    ("imageinfo-missing-height.xml", &["missing required element <scan:ActualHeight> in <scan:ScanImageInfo>"], ErrorKind::Content),
];

fn bad_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

fn read_with_prefix_reader(name: &str, bytes: &[u8]) -> Result<(), Error> {
    let prefix = name.split('-').next().unwrap();
    match prefix {
        "caps" => ScannerCapabilities::from_xml(bytes).map(drop),
        "settings" => ScanSettings::from_xml(bytes).map(drop),
        "status" => ScannerStatus::from_xml(bytes).map(drop),
        "imageinfo" => ScanImageInfo::from_xml(bytes).map(drop),
        other => panic!("{name}: unknown reader prefix {other:?}"),
    }
}

#[test]
fn every_bad_document_fails_with_a_clear_error() {
    let mut failures = Vec::new();
    for (name, needles, kind) in CASES {
        let bytes = std::fs::read(bad_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        match read_with_prefix_reader(name, &bytes) {
            Ok(()) => failures.push(format!("{name}: accepted")),
            Err(e) => {
                let msg = e.to_string();
                for needle in *needles {
                    if !msg.contains(needle) {
                        failures.push(format!("{name}: message {msg:?} lacks {needle:?}"));
                    }
                }
                if e.kind() != *kind {
                    failures.push(format!(
                        "{name}: kind {:?}, expected {kind:?} ({msg})",
                        e.kind()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_file_in_tests_bad_has_a_case() {
    let listed: Vec<&str> = CASES.iter().map(|(name, _, _)| *name).collect();
    for entry in std::fs::read_dir(bad_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".xml") {
            assert!(
                listed.contains(&name.as_str()),
                "tests/bad/{name} has no entry in CASES"
            );
        }
    }
}

fn nested(depth: usize) -> String {
    let mut xml = String::from(
        "<scan:ScanSettings xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\">",
    );
    for _ in 1..depth {
        xml.push_str("<scan:X>");
    }
    for _ in 1..depth {
        xml.push_str("</scan:X>");
    }
    xml.push_str("</scan:ScanSettings>");
    xml
}

#[test]
fn size_limit_is_checked_before_parsing() {
    let mut xml = nested(2).into_bytes();
    xml.resize(Limits::DEFAULT.max_bytes + 1, b' ');
    let err = ScanSettings::from_xml(&xml).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.to_string(),
        "document is 1048577 bytes; the limit is 1048576 bytes"
    );
    // Exactly at the limit it is accepted (trailing whitespace is allowed).
    xml.pop();
    assert!(ScanSettings::from_xml(&xml).is_ok());
}

#[test]
fn nesting_limit() {
    assert!(ScanSettings::from_xml(nested(32).as_bytes()).is_ok());
    let err = ScanSettings::from_xml(nested(33).as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.to_string(),
        "elements are nested deeper than 32 levels (line 1)"
    );
    // A billion-levels-deep document dies at the limit, not with a stack overflow.
    let err = ScanSettings::from_xml(nested(200_000).as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { .. } | Error::TooDeep { .. }),
        "{err}"
    );
}

#[test]
fn element_count_limit() {
    let mut xml = String::from(
        "<scan:ScannerStatus xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\" \
         xmlns:pwg=\"http://www.pwg.org/schemas/2010/12/sm\"><pwg:State>Idle</pwg:State>\n",
    );
    for _ in 0..25_000 {
        xml.push_str("<a/>");
    }
    xml.push_str("</scan:ScannerStatus>");
    let err = ScannerStatus::from_xml(xml.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.to_string(),
        "document has more than 20000 elements (line 2)"
    );
    let roomy = Limits {
        max_elements: 30_000,
        ..Limits::DEFAULT
    };
    let status = ScannerStatus::from_xml_with(xml.as_bytes(), &roomy).unwrap();
    assert!(status.jobs.is_empty());
}

#[test]
fn custom_limits_apply() {
    let tight = Limits {
        max_bytes: 100,
        max_depth: 3,
        max_elements: 5,
        max_attributes: 2,
    };
    let xml = b"<scan:ScannerStatus xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\"><State>Idle</State></scan:ScannerStatus>";
    let err = ScannerStatus::from_xml_with(xml, &tight).unwrap_err();
    assert_eq!(
        err,
        Error::TooLarge {
            size: xml.len(),
            limit: 100
        }
    );
    let deep = Limits {
        max_bytes: 1000,
        ..tight
    };
    let err = ScannerStatus::from_xml_with(nested(4).as_bytes(), &deep).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wrong root element: found <scan:ScanSettings>, expected <scan:ScannerStatus>"
    );
    let err = ScanSettings::from_xml_with(nested(4).as_bytes(), &deep).unwrap_err();
    assert_eq!(err, Error::TooDeep { limit: 3, line: 1 });
    let ok = Limits {
        max_bytes: 200,
        ..tight
    };
    assert_eq!(
        ScannerStatus::from_xml_with(xml, &ok)
            .unwrap()
            .state
            .as_str(),
        "Idle"
    );
}

#[test]
fn entities_are_never_expanded() {
    // The classic "billion laughs": a DOCTYPE is ignored and custom entities are refused.
    let xml = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<scan:ScannerStatus xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"><State>&lol2;</State></scan:ScannerStatus>"#;
    let err = ScannerStatus::from_xml(xml).unwrap_err().to_string();
    assert!(err.contains("unknown entity &lol2;"), "{err}");
}

#[test]
fn attribute_count_limit() {
    // 100 000 attributes on one element would make quick-xml's duplicate check quadratic.
    let mut xml = String::from(
        "<scan:ScannerStatus xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\"",
    );
    for i in 0..100_000 {
        xml.push_str(&format!(" a{i}=\"\""));
    }
    xml.push_str("><State>Idle</State></scan:ScannerStatus>");
    assert!(xml.len() < Limits::DEFAULT.max_bytes);
    let err = ScannerStatus::from_xml(xml.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.to_string(),
        "<scan:ScannerStatus> has more than 128 attributes (line 1)"
    );
    // The real HP ScanJet 4500 status root with its 27 attributes is fine (tests/fixtures.rs).
}
