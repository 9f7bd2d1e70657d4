//! Fuzzes the MTOM/XOP reader: the first line is the Content-Type, the rest the body. An
//! accepted image is written again and must read back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanwire_wsd::{read_message, write_retrieve_image_response, Header, Limits};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(content_type) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let body = data.get(split + 1..).unwrap_or_default();
    let Ok(message) = read_message(Some(content_type), body, &Limits::DEFAULT) else {
        return;
    };
    let Some(image) = message.attachment else {
        return;
    };
    let (ct, again) = write_retrieve_image_response(&Header::default(), image.body, "image/jpeg");
    let back = read_message(Some(&ct), &again, &Limits::DEFAULT).expect("own output reads");
    assert_eq!(back.attachment.map(|p| p.body), Some(image.body));
});
