//! Shared helpers: the real device documents live in `shared/fixtures/wsd`, outside the repo
//! (`SCANWIRE_FIXTURES` overrides the `shared/fixtures` directory).

#![allow(dead_code)]

use std::path::PathBuf;

/// The Kyocera ECOSYS M2040dn GetScannerElementsResponse.
pub const KYOCERA: &str = "kyocera-ecosys-m2040dn-get-scanner-elements-response.xml";

/// `shared/fixtures/wsd`, or `$SCANWIRE_FIXTURES/wsd` (not checked).
pub fn fixtures_dir() -> PathBuf {
    scanwire_testkit::fixtures_path("wsd")
}

/// The bytes of a fixture; `None` (after one line saying so) when the fixtures are absent,
/// a panic when `SCANWIRE_REQUIRE_PEERS=1`.
pub fn fixture(name: &str) -> Option<Vec<u8>> {
    let dir = scanwire_testkit::fixtures_dir("wsd")?;
    Some(std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}

// ---- MTOM/XOP bodies (multipart.rs, xop_stream.rs) ----

/// An image with a boundary-like line inside, as JPEG data may hold.
pub const IMAGE: &[u8] = b"\xff\xd8\xff\xe0JFIF\r\n--not-the-boundary\r\n\xff\xd9";

/// The header of a RetrieveImage request, which a written answer relates to.
pub fn request() -> scanwire_wsd::Header {
    let body = scanwire_wsd::Body::RetrieveImageRequest {
        job_id: 1,
        job_token: "t".into(),
        document_name: None,
    };
    scanwire_wsd::Header::request("http://h/s", &body)
}

/// A body in the shape of Microsoft's example: ids with a space before `>`, `startinfo`.
pub fn microsoft(image_id_header: &str, newline: &str) -> (String, Vec<u8>) {
    let env = r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:xop="http://www.w3.org/2003/12/xop/include" xmlns:wscn="http://schemas.microsoft.com/windows/2006/01/wdp/scan"><soap:Body><wscn:RetrieveImageResponse><wscn:ScanData><xop:Include href="cid:1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid" /></wscn:ScanData></wscn:RetrieveImageResponse></soap:Body></soap:Envelope>"#;
    let n = newline;
    let mut body = format!(
        "preamble{n}--4aa7{n}Content-Type: application/xop+xml; type=\"application/soap+xml\"{n}Content-ID: <14629f74@uuid>{n}{n}{env}{n}--4aa7{n}Content-Type: image/jpeg;{n}Content-ID: {image_id_header}{n}{n}"
    )
    .into_bytes();
    body.extend_from_slice(IMAGE);
    body.extend_from_slice(format!("{n}--4aa7--{n}").as_bytes());
    (
        "multipart/related; type=application/xop+xml; boundary=4aa7; start=\"<14629f74@uuid>\"; startinfo=application/soap+xml".into(),
        body,
    )
}
