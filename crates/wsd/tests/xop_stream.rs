//! `XopReader` (MTOM/XOP read as it arrives) against `read_message` (the whole body): for
//! every body here, split into chunks at every point and of many sizes, both accept it with
//! the same envelope and image or both refuse it; the envelope comes before any image byte.

mod common;

use common::{microsoft, request, IMAGE};
use scanwire_wsd::*;

type Read = Result<(Envelope, Option<(Option<String>, Vec<u8>)>), Error>;

fn whole(ct: &str, body: &[u8]) -> Read {
    let m = read_message(Some(ct), body, &Limits::DEFAULT)?;
    Ok((
        m.envelope,
        m.attachment.map(|p| (p.mime(), p.body.to_vec())),
    ))
}

/// Reads `body` pushed in the chunks `cuts` makes (ascending offsets).
fn streamed(ct: &str, body: &[u8], cuts: &[usize]) -> Read {
    let mut r = XopReader::new(ct, &Limits::DEFAULT, usize::MAX)?;
    let mut envelope = None;
    let mut image: Option<(Option<String>, Vec<u8>)> = None;
    let mut ended = false;
    let mut take = |r: &mut XopReader| {
        while let Some(e) = r.next_event() {
            match e {
                XopEvent::Envelope(env) => {
                    assert!(envelope.is_none(), "two envelopes");
                    envelope = Some(*env);
                }
                XopEvent::ImageStart { mime } => {
                    assert!(envelope.is_some(), "an image before the envelope");
                    assert!(image.is_none(), "two images");
                    image = Some((mime, Vec::new()));
                }
                XopEvent::Image(bytes) => {
                    assert!(!bytes.is_empty() && !ended);
                    image
                        .as_mut()
                        .expect("bytes before ImageStart")
                        .1
                        .extend(bytes);
                }
                XopEvent::ImageEnd => ended = true,
            }
        }
    };
    let mut from = 0;
    for &to in cuts.iter().chain([&body.len()]) {
        r.push(&body[from..to])?;
        take(&mut r);
        from = to;
    }
    r.finish()?;
    take(&mut r);
    assert_eq!(image.is_some(), ended, "an image that did not end");
    Ok((envelope.expect("an accepted body has an envelope"), image))
}

/// Both readers agree on `body` however it is cut; returns what they read.
fn agree(ct: &str, body: &[u8]) -> Read {
    let want = whole(ct, body);
    let mut cuttings: Vec<Vec<usize>> = vec![vec![], (1..body.len()).collect()];
    for at in 1..body.len() {
        cuttings.push(vec![at]);
    }
    for size in [2, 3, 7, 64] {
        cuttings.push((size..body.len()).step_by(size).collect());
    }
    for cuts in cuttings {
        let got = streamed(ct, body, &cuts);
        match (&want, &got) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "cuts {cuts:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!(
                "whole {want:?} but streamed {got:?} (cuts {cuts:?}) for {:?}",
                String::from_utf8_lossy(body)
            ),
        }
    }
    want
}

#[test]
fn written_and_device_shaped_answers_read_the_same_in_any_chunks() {
    let (ct, body) = write_retrieve_image_response(&request(), IMAGE, "image/jpeg");
    let (_, image) = agree(&ct, &body).unwrap();
    assert_eq!(image, Some((Some("image/jpeg".into()), IMAGE.to_vec())));
    for nl in ["\r\n", "\n"] {
        let (ct, body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid >", nl);
        let (_, image) = agree(&ct, &body).unwrap();
        assert_eq!(image.unwrap().1, IMAGE, "newline {nl:?}");
    }
    // An empty image part, an epilogue, padding after a delimiter.
    let (ct, body) = write_retrieve_image_response(&request(), b"", "image/png");
    let mut body = body;
    body.extend_from_slice(b"epilogue --uuid: whatever");
    assert_eq!(agree(&ct, &body).unwrap().1.unwrap().1, b"");
}

#[test]
fn an_image_before_its_root_is_held_and_handed_out_after_the_envelope() {
    let (ct, body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>", "\r\n");
    let (_, image) = agree(&ct, &body).unwrap();
    // Swap the two parts: the start parameter still names the root.
    let text = body.clone();
    let first = find(&text, b"--4aa7\r\n", 0);
    let second = find(&text, b"--4aa7\r\n", first + 1);
    let close = find(&text, b"--4aa7--", 0);
    let mut swapped = text[..first].to_vec();
    swapped.extend_from_slice(&text[second..close]);
    swapped.extend_from_slice(&text[first..second]);
    swapped.extend_from_slice(&text[close..]);
    let (_, again) = agree(&ct, &swapped).unwrap();
    assert_eq!(again, image);
    // Too much held before the root is refused.
    let mut r = XopReader::new(&ct, &Limits::DEFAULT, 8).unwrap();
    let e = r.push(&swapped).unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 8, .. }), "{e}");
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> usize {
    from + hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn bad_bodies_are_refused_by_both_readers_with_the_part_named() {
    let (ct, body) = microsoft("<someone-else@uuid>", "\r\n");
    let e = agree(&ct, &body).unwrap_err().to_string();
    assert!(e.contains("but no part has that Content-ID"), "{e}");
    let e = streamed(&ct, &body, &[]).unwrap_err().to_string();
    assert!(
        e.contains("(parts: <14629f74@uuid>, <someone-else@uuid>)"),
        "{e}"
    );

    // A third part with the image's id: refused when it starts, after the image.
    let (ct, mut body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>", "\r\n");
    body.truncate(body.len() - "--4aa7--\r\n".len());
    body.extend_from_slice(b"--4aa7\r\nContent-ID: <1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>\r\n\r\nother\r\n--4aa7--\r\n");
    agree(&ct, &body).unwrap_err();
    let e = streamed(&ct, &body, &[]).unwrap_err().to_string();
    assert!(
        e.contains(
            "parts 2 and 3 both have Content-ID <1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>"
        ),
        "{e}"
    );

    let (ct, body) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid>", "\r\n");
    let gone = ct.replace("<14629f74@uuid>", "<gone@uuid>");
    let e = agree(&gone, &body).unwrap_err().to_string();
    assert!(e.contains("no part has the Content-ID <gone@uuid>"), "{e}");

    let e = agree("multipart/related; boundary=elsewhere", &body)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the boundary \"elsewhere\" does not occur"),
        "{e}"
    );
    let e = XopReader::new("text/xml", &Limits::DEFAULT, 0).unwrap_err();
    assert!(e.to_string().contains("is not multipart/related"), "{e}");

    let mut many = Vec::new();
    for i in 0..100 {
        many.extend_from_slice(format!("--b\r\nContent-ID: <{i}>\r\n\r\nx\r\n").as_bytes());
    }
    many.extend_from_slice(b"--b--\r\n");
    let e = agree("multipart/related; boundary=b", &many).unwrap_err();
    assert_eq!(
        e,
        Error::Multipart(MultipartError::TooManyParts { limit: 64 })
    );

    let e = agree(
        "multipart/related; boundary=b",
        b"--b\r\nthis is not a header\r\n\r\nx\r\n--b--\r\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("part 1: bad header block"), "{e}");
    agree("multipart/related; boundary=b", b"--b--\r\n").unwrap_err();
    agree("multipart/related; boundary=b", b"--b -x\r\n").unwrap_err();
}

#[test]
fn every_truncation_is_refused_as_the_whole_reader_refuses_it() {
    let (ct, body) = write_retrieve_image_response(&request(), IMAGE, "image/jpeg");
    let complete = body.len() - 2;
    for len in 0..complete {
        let got = streamed(&ct, &body[..len], &[len / 2]);
        let e = got.expect_err("a truncated body");
        assert_eq!(e.kind(), ErrorKind::Syntax, "{len}: {e}");
        assert!(whole(&ct, &body[..len]).is_err());
    }
    agree(&ct, &body[..complete]).unwrap();
    let e = streamed(&ct, &body[..body.len() / 2], &[]).unwrap_err();
    assert!(e.to_string().contains("it is truncated"), "{e}");
}

/// Deterministic mutations of valid bodies (bytes replaced, removed, doubled): the two
/// readers never disagree.
#[test]
fn mutated_bodies_get_the_same_verdict() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (ct1, b1) = write_retrieve_image_response(&request(), IMAGE, "image/jpeg");
    let (ct2, b2) = microsoft("<1c696bd7-005a-48d9-9ee9-9adca11f8892@uuid >", "\n");
    let alphabet: &[u8] = b"-\r\n \t<>:@x";
    for (ct, body) in [(ct1, b1), (ct2, b2)] {
        for _ in 0..400 {
            let mut b = body.clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % b.len();
                match next() % 3 {
                    0 => b[at] = alphabet[(next() as usize) % alphabet.len()],
                    1 => {
                        b.remove(at);
                    }
                    _ => {
                        let end = (at + 1 + (next() as usize) % 12).min(b.len());
                        let copy = b[at..end].to_vec();
                        b.splice(at..at, copy);
                    }
                }
            }
            let want = whole(&ct, &b);
            for cuts in [
                vec![],
                vec![b.len() / 3, b.len() / 2],
                (1..b.len()).step_by(5).collect(),
            ] {
                let got = streamed(&ct, &b, &cuts);
                assert_eq!(
                    want.is_ok(),
                    got.is_ok(),
                    "whole {want:?} streamed {got:?} for {:?}",
                    String::from_utf8_lossy(&b)
                );
                if let (Ok(a), Ok(g)) = (&want, &got) {
                    assert_eq!(a, g);
                }
            }
        }
    }
}
