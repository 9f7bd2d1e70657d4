//! The `bad/` corpus: every file is refused with an error that names the problem.

use scanwire_wsd::{Envelope, ErrorKind};
use std::path::PathBuf;

const EXPECTED: &[(&str, &str, ErrorKind)] = &[
    (
        "not-soap-root.xml",
        "not a SOAP message: the root is <scan:CancelJobRequest>",
        ErrorKind::Content,
    ),
    (
        "soap-undeclared-prefix.xml",
        "undeclared prefix soap:",
        ErrorKind::Content,
    ),
    ("no-body.xml", "has no <soap:Body>", ErrorKind::Content),
    (
        "empty-body.xml",
        "SOAP body (line 1) is empty",
        ErrorKind::Content,
    ),
    (
        "create-job-response-without-token.xml",
        "missing required element <scan:JobToken> in <scan:CreateScanJobResponse>",
        ErrorKind::Content,
    ),
    (
        "job-id-not-a-number.xml",
        "bad number \"abc\" in <scan:JobId>",
        ErrorKind::Content,
    ),
    (
        "job-id-negative.xml",
        "bad number \"-1\" in <scan:JobId>",
        ErrorKind::Content,
    ),
    (
        "platen-without-maximum-size.xml",
        "missing required element <scan:PlatenMaximumSize> in <scan:Platen>",
        ErrorKind::Content,
    ),
    (
        "adf-duplex-not-boolean.xml",
        "bad value \"yes\" in <scan:ADFSupportsDuplex>",
        ErrorKind::Content,
    ),
    (
        "quality-range-inverted.xml",
        "MinValue <= MaxValue",
        ErrorKind::Content,
    ),
    (
        "truncated.xml",
        "document ends inside <scan:CreateScanJobResponse> (opened on line 1); it is truncated",
        ErrorKind::Syntax,
    ),
    (
        "unknown-entity.xml",
        "unknown entity &one;",
        ErrorKind::Syntax,
    ),
    ("two-roots.xml", "a second root element", ErrorKind::Syntax),
    (
        "retrieve-image-response-without-include.xml",
        "missing required element <xop:Include> in <scan:ScanData>",
        ErrorKind::Content,
    ),
    (
        "include-without-href.xml",
        "missing required element <href attribute> in <xop:Include>",
        ErrorKind::Content,
    ),
    (
        "hello-without-address.xml",
        "missing required element <wsa:Address> in <wsa:EndpointReference>",
        ErrorKind::Content,
    ),
    (
        "validate-response-without-valid-as-is.xml",
        "missing required element <scan:ValidAsIs>",
        ErrorKind::Content,
    ),
    (
        "scanner-status-without-state.xml",
        "missing required element <scan:ScannerState> in <scan:ScannerStatus>",
        ErrorKind::Content,
    ),
    (
        "resolution-overflow.xml",
        "bad number \"99999999999\" in <scan:Width>",
        ErrorKind::Content,
    ),
    ("utf16.xml", "UTF-16 byte order mark", ErrorKind::Syntax),
    (
        "control-character.xml",
        "character U+0001 is not allowed",
        ErrorKind::Syntax,
    ),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

#[test]
fn every_bad_message_is_refused_with_a_clear_error() {
    for (name, words, kind) in EXPECTED {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        let err = Envelope::from_xml(&bytes).expect_err(name);
        let text = err.to_string();
        assert!(text.contains(words), "{name}: {text}");
        assert_eq!(err.kind(), *kind, "{name}: {text}");
    }
}

#[test]
fn every_file_in_bad_has_a_row() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        assert!(
            EXPECTED.iter().any(|(n, _, _)| *n == name),
            "tests/bad/{name} has no row in EXPECTED"
        );
    }
}
