//! MTOM/XOP bodies: written and read back; what real devices vary (preambles, bare LF, ids
//! with spaces, `start` absent) read; missing or duplicated parts, truncation and bad
//! boundaries refused with the part named.

mod common;

use common::{microsoft, request, IMAGE};
use scanwire_wsd::*;

fn read(ct: &str, body: &[u8]) -> Result<(Envelope, Option<Vec<u8>>), Error> {
    let m = read_message(Some(ct), body, &Limits::DEFAULT)?;
    Ok((m.envelope, m.attachment.map(|p| p.body.to_vec())))
}

#[test]
fn written_image_reads_back() {
    let req = request();
    let (ct, body) = write_retrieve_image_response(&req, IMAGE, "image/jpeg");
    assert!(ct.starts_with("multipart/related; type=\"application/xop+xml\""));
    let m = read_message(Some(&ct), &body, &Limits::DEFAULT).unwrap();
    assert_eq!(m.envelope.header.relates_to, req.message_id);
    let part = m.attachment.unwrap();
    assert_eq!(part.body, IMAGE);
    assert_eq!(part.mime().as_deref(), Some("image/jpeg"));
}

#[test]
fn microsofts_example_shape_reads() {
    for nl in ["\r\n", "\n"] {
        let (ct, body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid >", nl);
        let (_, image) = read(&ct, &body).unwrap();
        assert_eq!(image.as_deref(), Some(IMAGE), "newline {nl:?}");
    }
}

#[test]
fn a_plain_fault_reads_without_multipart() {
    let f = Envelope::new(
        Header::default(),
        Body::Fault(Fault::sender("ClientErrorNoImagesAvailable", "none left")),
    )
    .to_xml();
    let (env, image) = read("application/soap+xml; charset=utf-8", f.as_bytes()).unwrap();
    assert!(image.is_none());
    assert!(matches!(env.body, Body::Fault(ref f) if f.is("ClientErrorNoImagesAvailable")));
}

#[test]
fn missing_attachment_is_named() {
    let (ct, body) = microsoft("<someone-else@uuid>", "\r\n");
    let err = read(&ct, &body).unwrap_err().to_string();
    assert!(
        err.contains("xop:Include names cid:1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid, but no part has that Content-ID (parts: <14629f74@uuid>, <someone-else@uuid>)"),
        "{err}"
    );
}

#[test]
fn duplicated_content_id_is_refused() {
    let (ct, mut body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>", "\r\n");
    // A third part with the image's id.
    let cut = body.len() - "--4aa7--\r\n".len();
    body.truncate(cut);
    body.extend_from_slice(b"--4aa7\r\nContent-ID: <1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>\r\n\r\nother\r\n--4aa7--\r\n");
    let err = read(&ct, &body).unwrap_err().to_string();
    assert!(
        err.contains(
            "parts 2 and 3 both have Content-ID <1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>"
        ),
        "{err}"
    );
}

#[test]
fn missing_root_is_named() {
    let (ct, body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>", "\r\n");
    let ct = ct.replace("<14629f74@uuid>", "<gone@uuid>");
    let err = read(&ct, &body).unwrap_err().to_string();
    assert!(
        err.contains("no part has the Content-ID <gone@uuid>"),
        "{err}"
    );
}

#[test]
fn truncated_bodies_are_refused_at_every_length() {
    let (ct, body) = write_retrieve_image_response(&request(), IMAGE, "image/jpeg");
    // Complete once the closing delimiter's `--` is in.
    let complete = body.len() - 2;
    for len in 0..complete {
        let err = read(&ct, &body[..len]).expect_err("a truncated body");
        assert_eq!(err.kind(), ErrorKind::Syntax, "{len}: {err}");
    }
    assert!(read(&ct, &body[..complete]).is_ok());
    let err = read(&ct, &body[..body.len() / 2]).unwrap_err().to_string();
    assert!(err.contains("it is truncated"), "{err}");
}

#[test]
fn bad_boundaries_are_named() {
    let (_, body) = write_retrieve_image_response(&request(), IMAGE, "image/jpeg");
    let err = read("multipart/related; type=application/xop+xml", &body)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no usable boundary parameter"), "{err}");
    let err = read("multipart/related; boundary=elsewhere", &body)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the boundary \"elsewhere\" does not occur"),
        "{err}"
    );
    let long = format!("multipart/related; boundary={}", "x".repeat(71));
    assert!(read(&long, &body).is_err());
    let err = read_multipart("text/xml", &body, &Limits::DEFAULT)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not multipart/related"), "{err}");
}

#[test]
fn too_many_parts_are_refused() {
    let mut body = Vec::new();
    for i in 0..100 {
        body.extend_from_slice(format!("--b\r\nContent-ID: <{i}>\r\n\r\nx\r\n").as_bytes());
    }
    body.extend_from_slice(b"--b--\r\n");
    let err = read_multipart("multipart/related; boundary=b", &body, &Limits::DEFAULT).unwrap_err();
    assert_eq!(err, MultipartError::TooManyParts { limit: 64 });
}

#[test]
fn header_garbage_is_named() {
    let body = b"--b\r\nthis is not a header\r\n\r\nx\r\n--b--\r\n";
    let err = read_multipart("multipart/related; boundary=b", body, &Limits::DEFAULT)
        .unwrap_err()
        .to_string();
    assert!(err.contains("part 1: bad header block"), "{err}");
}
