//! Fuzzes the MTOM/XOP readers: the first line is the Content-Type, the rest the body. The
//! streaming reader (`XopReader`, fed in chunks cut where the first byte says) must give the
//! whole-body reader's verdict, envelope and image. An accepted image is written again and
//! must read back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanwire_wsd::{
    read_message, write_retrieve_image_response, Envelope, Error, Header, Limits, XopEvent,
    XopReader,
};

/// The body read in chunks of `step` bytes: the envelope and the image, if any.
fn streamed(
    content_type: &str,
    body: &[u8],
    step: usize,
) -> Result<(Envelope, Option<Vec<u8>>), Error> {
    let mut r = XopReader::new(content_type, &Limits::DEFAULT, usize::MAX)?;
    let (mut envelope, mut image) = (None, None::<Vec<u8>>);
    let mut take = |r: &mut XopReader| {
        while let Some(e) = r.next_event() {
            match e {
                XopEvent::Envelope(e) => envelope = Some(*e),
                XopEvent::ImageStart { .. } => image = Some(Vec::new()),
                XopEvent::Image(b) => image.as_mut().expect("bytes after ImageStart").extend(b),
                XopEvent::ImageEnd => {}
            }
        }
    };
    for chunk in body.chunks(step) {
        r.push(chunk)?;
        take(&mut r);
    }
    r.finish()?;
    take(&mut r);
    Ok((envelope.expect("an accepted body has an envelope"), image))
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(content_type) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let body = data.get(split + 1..).unwrap_or_default();
    let whole = read_message(Some(content_type), body, &Limits::DEFAULT);
    if content_type.to_ascii_lowercase().trim_start().starts_with("multipart/") {
        let step = 1 + usize::from(data.first().copied().unwrap_or(0)) % 97;
        let stream = streamed(content_type, body, step);
        match (&whole, &stream) {
            (Ok(w), Ok((env, image))) => {
                assert_eq!(&w.envelope, env);
                assert_eq!(w.attachment.as_ref().map(|p| p.body), image.as_deref());
            }
            (Err(_), Err(_)) => {}
            _ => panic!("whole {whole:?} but streamed {stream:?}"),
        }
    }
    let Ok(message) = whole else {
        return;
    };
    let Some(image) = message.attachment else {
        return;
    };
    let (ct, again) = write_retrieve_image_response(&Header::default(), image.body, "image/jpeg");
    let back = read_message(Some(&ct), &again, &Limits::DEFAULT).expect("own output reads");
    assert_eq!(back.attachment.map(|p| p.body), Some(image.body));
});
